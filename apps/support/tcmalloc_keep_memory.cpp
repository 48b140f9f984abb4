// Linked into every app with tcmalloc (CMakeLists.txt, COCOMIX_TCMALLOC): sets
// tcmalloc's memory release rate to 0 before main, so the pages freed between
// training steps are reused rather than handed back to the kernel and
// page-faulted in again next step (the small CoCoMix step made ~1.4 M page
// faults per cocomix-bench run at the default rate, 1.0, against ~1.0 M at 0).
// The process keeps its high-water mark, as PyTorch's CUDA caching allocator
// does.
#include <gperftools/malloc_extension.h>

namespace {

const bool kReleaseRateSet = [] {
  MallocExtension::instance()->SetMemoryReleaseRate(0.0);
  return true;
}();

}  // namespace
