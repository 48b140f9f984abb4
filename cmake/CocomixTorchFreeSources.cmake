# cocomix_skip_pch_without_torch(SOURCES...): the precompiled LibTorch header
# costs every translation unit that is forced to load it several seconds, and
# about half of the sources never include LibTorch (tokenizer, data, config,
# util, evaluation task readers). This marks each source that includes no
# <torch/...>, <ATen/...> or <c10/...> header, directly or through the
# project's own headers ("cocomix/..." under include/, others beside the
# including file), with SKIP_PRECOMPILE_HEADERS.
#
# The scan runs at configure time. A source that gains a LibTorch include
# later still builds (it parses the headers itself, without the PCH's speed)
# until the next configure marks it again.

# The project root (this file's parent directory), where "cocomix/..." headers
# are looked up: the fuzz targets' project includes this module too.
get_filename_component(_COCOMIX_ROOT "${CMAKE_CURRENT_LIST_DIR}/.." ABSOLUTE)

# Sets ${out} to TRUE when `file` reaches a LibTorch header. Results are kept in
# global properties so every project header is read once per configure.
function(_cocomix_reaches_torch file out)
  get_property(known GLOBAL PROPERTY "_cocomix_torch_${file}" SET)
  if(known)
    get_property(result GLOBAL PROPERTY "_cocomix_torch_${file}")
    set(${out} ${result} PARENT_SCOPE)
    return()
  endif()
  set_property(GLOBAL PROPERTY "_cocomix_torch_${file}" FALSE)  # include cycles end here
  set(result FALSE)
  if(EXISTS "${file}")
    file(STRINGS "${file}" includes REGEX "^[ \t]*#[ \t]*include[ \t]*[<\"]")
    foreach(line IN LISTS includes)
      string(REGEX REPLACE "^[ \t]*#[ \t]*include[ \t]*[<\"]([^>\"]+)[>\"].*$" "\\1" header "${line}")
      if(header MATCHES "^(torch|ATen|c10|c10d)/")
        set(result TRUE)
        break()
      endif()
      # The project's headers: "cocomix/..." under include/, anything else beside the including file.
      if(header MATCHES "^cocomix/")
        set(path "${_COCOMIX_ROOT}/include/${header}")
      else()
        get_filename_component(dir "${file}" DIRECTORY)
        set(path "${dir}/${header}")
      endif()
      if(EXISTS "${path}")
        _cocomix_reaches_torch("${path}" nested)
        if(nested)
          set(result TRUE)
          break()
        endif()
      endif()
    endforeach()
  endif()
  set_property(GLOBAL PROPERTY "_cocomix_torch_${file}" ${result})
  set(${out} ${result} PARENT_SCOPE)
endfunction()

# Sets ${out} to those of the sources after `out` that reach no LibTorch header.
function(cocomix_torch_free_sources out)
  set(result "")
  foreach(source IN LISTS ARGN)
    _cocomix_reaches_torch("${source}" uses_torch)
    if(NOT uses_torch)
      list(APPEND result "${source}")
    endif()
  endforeach()
  set(${out} ${result} PARENT_SCOPE)
endfunction()

function(cocomix_skip_pch_without_torch)
  foreach(source IN LISTS ARGN)
    _cocomix_reaches_torch("${source}" uses_torch)
    if(NOT uses_torch)
      set_source_files_properties("${source}" PROPERTIES SKIP_PRECOMPILE_HEADERS ON)
    endif()
  endforeach()
endfunction()
