# c10d for data parallelism (src/dist/): LibTorch ships ProcessGroupGloo's
# header but not the Gloo headers it includes, so they come from Debian's
# libgloo-dev (scripts/setup.sh installs it); only declarations are used, the
# code is the Gloo inside libtorch_cpu. NCCL's header comes from the nvidia-nccl
# wheel beside the CUDA LibTorch. Only the c10d translation unit needs these.
find_path(COCOMIX_GLOO_INCLUDE_DIR gloo/rendezvous/store.h)
if(NOT COCOMIX_GLOO_INCLUDE_DIR)
  message(FATAL_ERROR "cocomix: Gloo headers (gloo/rendezvous/store.h) not found; run scripts/setup.sh "
                      "(apt-get install libgloo-dev)")
endif()
# Torch's CMake package already defines USE_C10D_GLOO / USE_C10D_NCCL for its users.
set(COCOMIX_C10D_SOURCES "${CMAKE_CURRENT_SOURCE_DIR}/src/dist/process_group.cpp")
set(_cocomix_c10d_includes "")
if(NOT COCOMIX_GLOO_INCLUDE_DIR STREQUAL "/usr/include")  # a system directory must stay last
  list(APPEND _cocomix_c10d_includes "${COCOMIX_GLOO_INCLUDE_DIR}")
endif()
if(COCOMIX_WITH_CUDA)
  get_filename_component(_cocomix_site_packages "${Torch_DIR}/../../../.." ABSOLUTE)
  find_path(COCOMIX_NCCL_INCLUDE_DIR nccl.h HINTS "${_cocomix_site_packages}/nvidia/nccl/include" /usr/local/cuda/include)
  if(NOT COCOMIX_NCCL_INCLUDE_DIR)
    message(FATAL_ERROR "cocomix: nccl.h not found beside the CUDA LibTorch (nvidia/nccl/include)")
  endif()
  list(APPEND _cocomix_c10d_includes "${COCOMIX_NCCL_INCLUDE_DIR}")
endif()
if(_cocomix_c10d_includes)
  set_source_files_properties(${COCOMIX_C10D_SOURCES} PROPERTIES INCLUDE_DIRECTORIES "${_cocomix_c10d_includes}")
endif()
