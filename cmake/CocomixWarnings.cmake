# Warning flags for cocomix's own code. LibTorch and other dependencies come in
# as SYSTEM includes through their imported targets, so these stay clean.
set(COCOMIX_WARNING_FLAGS -Wall -Wextra -Wpedantic -Wshadow=local -Wno-unused-parameter)
if(COCOMIX_WERROR)
  list(APPEND COCOMIX_WARNING_FLAGS -Werror)
endif()
