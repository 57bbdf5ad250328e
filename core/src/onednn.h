#pragma once
// Internal: what kdlab's oneDNN layers (fastconv.cpp, fastpool.cpp) share. Include before any Qt header.
#include <torch/torch.h>

#ifdef KDLAB_HAVE_DNNL
#include <oneapi/dnnl/dnnl.hpp>
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

} // namespace onednn
#endif

} // namespace kd
