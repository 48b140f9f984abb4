# -DCOCOMIX_VENDORED_DEPS=ON: every dependency but LibTorch and CUDA comes from
# third_party/ (filled by scripts/vendor_deps.sh, which says which versions),
# for machines with no network and none of the Debian -dev packages, such as a
# lent GPU box with only CUDA, a compiler and the torch wheel.
#
# It defines the targets the rest of the build links (nlohmann_json::nlohmann_json,
# spdlog::spdlog, fmt::fmt, CLI11::CLI11, utf8proc::utf8proc, ZLIB::ZLIB,
# zstd::libzstd_shared, BZip2::BZip2, GTest::gtest, GTest::gtest_main) and puts
# a Find module for each package first on CMAKE_MODULE_PATH, so the ordinary
# find_package() calls succeed on these targets without searching the system.
# The compiled libraries are static, built at -O2/-O3 like the rest; the header-only
# ones are imported INTERFACE targets, which keep their headers SYSTEM (no warnings).
#
# The Debian path's arrangements are kept: spdlog runs on a separate {fmt}
# (a different major version from the {fmt} inside LibTorch, so neither shadows
# the other) and is compiled only into src/util/log.cpp, without torch's include
# path. tcmalloc (gperftools) is off unless asked for.
#
# install() still works, but the installed package expects the Debian packages
# (cmake/cocomixConfig.cmake.in), so find_package(cocomix) from it is for the
# Debian path only.
set(COCOMIX_THIRD_PARTY_DIR "${PROJECT_SOURCE_DIR}/third_party" CACHE PATH
    "The vendored dependency sources (scripts/vendor_deps.sh)")
set(_tp "${COCOMIX_THIRD_PARTY_DIR}")
foreach(dep json CLI11 fmt spdlog utf8proc zlib zstd bzip2 gloo googletest)
  if(NOT EXISTS "${_tp}/${dep}/VENDORED_FROM")
    message(FATAL_ERROR "cocomix: ${_tp}/${dep} is missing; run scripts/vendor_deps.sh")
  endif()
endforeach()
enable_language(C)  # zlib, zstd, bzip2 and utf8proc are C

# Imported targets do not appear in the export's error checks and only carry usage
# requirements; `real` (a static library built here) does the work when given.
function(_cocomix_vendored_target name include_dir real)
  add_library(${name} INTERFACE IMPORTED GLOBAL)
  set_target_properties(${name} PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${include_dir}")
  if(real)
    set_target_properties(${name} PROPERTIES INTERFACE_LINK_LIBRARIES ${real})
  endif()
endfunction()

# ---- header-only ---------------------------------------------------------------
_cocomix_vendored_target(nlohmann_json::nlohmann_json "${_tp}/json/single_include" "")
_cocomix_vendored_target(CLI11::CLI11 "${_tp}/CLI11/include" "")

# ---- {fmt} and spdlog (compiled, as Debian's are) ---------------------------------
# Real targets: CMakeLists.txt links their files with $<TARGET_FILE:...>.
add_library(cocomix_vendored_fmt STATIC "${_tp}/fmt/src/format.cc" "${_tp}/fmt/src/os.cc")
target_include_directories(cocomix_vendored_fmt SYSTEM PUBLIC "${_tp}/fmt/include")
add_library(fmt::fmt ALIAS cocomix_vendored_fmt)
file(GLOB _cocomix_spdlog_sources "${_tp}/spdlog/src/*.cpp")
list(FILTER _cocomix_spdlog_sources EXCLUDE REGEX "bundled_fmtlib_format\\.cpp$")
add_library(cocomix_vendored_spdlog STATIC ${_cocomix_spdlog_sources})
target_include_directories(cocomix_vendored_spdlog SYSTEM PUBLIC "${_tp}/spdlog/include")
target_compile_definitions(cocomix_vendored_spdlog PUBLIC SPDLOG_COMPILED_LIB SPDLOG_FMT_EXTERNAL)
target_link_libraries(cocomix_vendored_spdlog PUBLIC cocomix_vendored_fmt Threads::Threads)
add_library(spdlog::spdlog ALIAS cocomix_vendored_spdlog)

# ---- C libraries -----------------------------------------------------------------
# No UTF8PROC_STATIC: it only drops a visibility attribute that is harmless in a
# static library, and as a usage requirement it would reach the library's sources
# but not the apps', so the apps could not reuse the library's precompiled header.
add_library(cocomix_vendored_utf8proc STATIC "${_tp}/utf8proc/utf8proc.c")
_cocomix_vendored_target(utf8proc::utf8proc "${_tp}/utf8proc" cocomix_vendored_utf8proc)

file(GLOB _cocomix_zlib_sources "${_tp}/zlib/*.c")
add_library(cocomix_vendored_zlib STATIC ${_cocomix_zlib_sources})
target_compile_definitions(cocomix_vendored_zlib PRIVATE HAVE_UNISTD_H HAVE_STDARG_H)
_cocomix_vendored_target(ZLIB::ZLIB "${_tp}/zlib" cocomix_vendored_zlib)

# The library only: no multithreading, no legacy formats, no assembly (the
# project enables no ASM language; the C decoder is the fallback zstd ships).
file(GLOB _cocomix_zstd_sources "${_tp}/zstd/lib/common/*.c" "${_tp}/zstd/lib/compress/*.c"
     "${_tp}/zstd/lib/decompress/*.c")
add_library(cocomix_vendored_zstd STATIC ${_cocomix_zstd_sources})
target_compile_definitions(cocomix_vendored_zstd PRIVATE ZSTD_DISABLE_ASM)
_cocomix_vendored_target(zstd::libzstd_shared "${_tp}/zstd/lib" cocomix_vendored_zstd)

add_library(cocomix_vendored_bzip2 STATIC "${_tp}/bzip2/blocksort.c" "${_tp}/bzip2/huffman.c"
  "${_tp}/bzip2/crctable.c" "${_tp}/bzip2/randtable.c" "${_tp}/bzip2/compress.c"
  "${_tp}/bzip2/decompress.c" "${_tp}/bzip2/bzlib.c")
_cocomix_vendored_target(BZip2::BZip2 "${_tp}/bzip2" cocomix_vendored_bzip2)

# ---- GoogleTest (tests/) ------------------------------------------------------------
if(COCOMIX_BUILD_TESTS)
  add_library(cocomix_vendored_gtest STATIC "${_tp}/googletest/googletest/src/gtest-all.cc")
  target_include_directories(cocomix_vendored_gtest SYSTEM PUBLIC "${_tp}/googletest/googletest/include")
  target_include_directories(cocomix_vendored_gtest PRIVATE "${_tp}/googletest/googletest")
  target_link_libraries(cocomix_vendored_gtest PUBLIC Threads::Threads)
  add_library(cocomix_vendored_gtest_main STATIC "${_tp}/googletest/googletest/src/gtest_main.cc")
  target_link_libraries(cocomix_vendored_gtest_main PUBLIC cocomix_vendored_gtest)
  add_library(GTest::gtest ALIAS cocomix_vendored_gtest)
  add_library(GTest::gtest_main ALIAS cocomix_vendored_gtest_main)
endif()

# ---- Gloo headers (cmake/CocomixDist.cmake skips its search when this is set) ------
set(COCOMIX_GLOO_INCLUDE_DIR "${_tp}/gloo")

# ---- find_package() answers -----------------------------------------------------------
set(_cocomix_find_dir "${CMAKE_BINARY_DIR}/cocomix-vendored-find")
foreach(package nlohmann_json spdlog fmt CLI11 Utf8proc ZLIB zstd BZip2 GTest)
  file(CONFIGURE OUTPUT "${_cocomix_find_dir}/Find${package}.cmake"
       CONTENT "# Written by cmake/CocomixVendoredDeps.cmake: the targets already exist.\nset(${package}_FOUND TRUE)\n")
endforeach()
list(PREPEND CMAKE_MODULE_PATH "${_cocomix_find_dir}")
find_package(Threads REQUIRED)  # used above, before CMakeLists.txt looks for it

# tcmalloc comes from gperftools, a system library: off unless asked for.
if(NOT DEFINED CACHE{COCOMIX_TCMALLOC})
  set(COCOMIX_TCMALLOC OFF CACHE BOOL "Link the apps against tcmalloc_minimal (gperftools)")
endif()
unset(_tp)
