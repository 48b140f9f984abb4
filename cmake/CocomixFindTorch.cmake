# Finds LibTorch from the PyPI torch wheel in the project's venv (scripts/setup.sh
# makes it) unless Torch_DIR / CMAKE_PREFIX_PATH already point at one. Sets
# COCOMIX_WITH_CUDA when that LibTorch carries CUDA, so the CUDA code paths are
# compiled and linked even on machines with no GPU to run them.
if(NOT Torch_DIR AND COCOMIX_PYTHON)
  execute_process(
    COMMAND "${COCOMIX_PYTHON}" -c "import torch.utils; print(torch.utils.cmake_prefix_path)"
    OUTPUT_VARIABLE _cocomix_torch_prefix OUTPUT_STRIP_TRAILING_WHITESPACE
    RESULT_VARIABLE _cocomix_torch_result)
  if(NOT _cocomix_torch_result EQUAL 0)
    message(FATAL_ERROR "COCOMIX_PYTHON=${COCOMIX_PYTHON} cannot import torch; run scripts/setup.sh")
  endif()
  list(APPEND CMAKE_PREFIX_PATH "${_cocomix_torch_prefix}")
endif()
if(EXISTS /usr/local/cuda AND NOT CUDAToolkit_ROOT)
  set(CUDAToolkit_ROOT /usr/local/cuda)
endif()
find_package(Torch REQUIRED)
if(TARGET torch_cuda OR TORCH_CUDA_LIBRARIES)
  set(COCOMIX_WITH_CUDA ON)
else()
  set(COCOMIX_WITH_CUDA OFF)
endif()
message(STATUS "cocomix: LibTorch ${Torch_VERSION} at ${Torch_DIR}, CUDA paths: ${COCOMIX_WITH_CUDA}")

# The torch wheel's CUDA build needs the CUDA libraries of the nvidia-* wheels
# (newer than /usr/local/cuda's: NCCL especially). Python preloads them; a C++
# binary must find them through its run path, ahead of /usr/local/cuda/lib.
set(COCOMIX_TORCH_LIBRARY_DIRS "")
set(COCOMIX_TORCH_LINK_OPTIONS "")
if(COCOMIX_WITH_CUDA)
  get_filename_component(_cocomix_site_packages "${Torch_DIR}/../../../.." ABSOLUTE)
  file(GLOB _cocomix_nvidia_libs LIST_DIRECTORIES true "${_cocomix_site_packages}/nvidia/*/lib"
       "${_cocomix_site_packages}/nvidia/cu*/lib")
  list(REMOVE_DUPLICATES _cocomix_nvidia_libs)
  set(COCOMIX_TORCH_LIBRARY_DIRS ${_cocomix_nvidia_libs})
endif()
if(COCOMIX_TORCH_LIBRARY_DIRS)
  list(JOIN COCOMIX_TORCH_LIBRARY_DIRS ":" _cocomix_rpath)
  set(COCOMIX_TORCH_LINK_OPTIONS "LINKER:-rpath-link,${_cocomix_rpath}" "LINKER:-rpath,${_cocomix_rpath}")
endif()

# Some LibTorch builds (the 2.11 wheel) export a copy of libstdc++'s
# std::filesystem from libtorch.so, and that copy crashes (remove_all jumps to
# address 0). A program finds a symbol in the first loaded library that has it,
# in the order of its DT_NEEDED entries, so libstdc++ is made the first of them.
list(APPEND COCOMIX_TORCH_LINK_OPTIONS "LINKER:--push-state,--no-as-needed" "-lstdc++" "LINKER:--pop-state")
