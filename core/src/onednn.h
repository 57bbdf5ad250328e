#pragma once
// Internal: what kdlab's oneDNN layers (fastconv.cpp, fastpool.cpp) share. Include before any Qt header.
#include <torch/torch.h>

#ifdef KDLAB_HAVE_DNNL
#include <oneapi/dnnl/dnnl.hpp>

#include <map>
#include <memory>
#include <mutex>
#endif

namespace kd {

// True when the convolution and pooling layers run on oneDNN: in this build, unless the environment says
// KDLAB_CONV=torch (LibTorch's own layers: the bench's side-by-side figures, and figures measured before
// these layers). Read on every call (nanoseconds against a layer's milliseconds), so that the bench can
// switch within a process.
bool oneDnnLayersEnabled();

#ifdef KDLAB_HAVE_DNNL
namespace onednn {

dnnl::engine& cpuEngine();

// A oneDNN memory over a tensor's data (the tensor must outlive its use).
dnnl::memory over(const dnnl::memory::desc& desc, const torch::Tensor& t);

// Bytes for a memory descriptor, as a tensor (freed with it): a scratchpad, a workspace, reordered weights.
torch::Tensor bytesFor(const dnnl::memory::desc& desc);

// The primitives for one shape, built by `build(shape)` on first use and kept for the process (building
// JIT-compiles their kernels: milliseconds). Thread-safe; one cache per (Shape, Primitives) pair.
template <class Primitives, class Shape, class Build>
const Primitives& primitivesFor(const Shape& shape, Build build) {
    static std::mutex mutex;
    static std::map<Shape, std::unique_ptr<Primitives>> cache;
    std::lock_guard<std::mutex> lock(mutex);
    std::unique_ptr<Primitives>& slot = cache[shape];
    if (!slot)
        slot = build(shape);
    return *slot;
}

} // namespace onednn
#endif

} // namespace kd
