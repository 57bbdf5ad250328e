#pragma once
// Internal: a Conv2d layer whose forward and backward passes run on oneDNN's convolution primitives when
// libdnnl is available. Include before any Qt header.
#include <torch/torch.h>

namespace kd {

// Same parameters (weight [out, in, kh, kw], bias [out]), initialisation and checkpoint names as
// torch::nn::Conv2d; only forward() differs. LibTorch's own path (through ideep) reorders the activations
// and weights to oneDNN's blocked layouts and back on every call; here the activations stay channels-last
// (NHWC), which oneDNN's AVX-512 kernels take as they are, the primitives are built once per shape, and the
// first layer skips the gradient of its input (the images). The default CNN teacher trains ~2x faster on
// these 2-core machines (bench/, README "Speed").
class FastConv2dImpl : public torch::nn::Conv2dImpl {
public:
    using torch::nn::Conv2dImpl::Conv2dImpl;
    torch::Tensor forward(const torch::Tensor& input);
};
TORCH_MODULE(FastConv2d);

// A stride-1, dilation-1, ungrouped convolution with `padding` on each side (the only kind kdlab's models
// have), x [N, C, H, W]: on oneDNN for float CPU tensors (the output channels-last), else torch::conv2d.
torch::Tensor fastConv2d(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
                         std::int64_t padding);

// True when fastConv2d() (and FastMaxPool2d) use oneDNN: in this build, unless KDLAB_CONV=torch (onednn.h).
bool fastConvUsesOneDnn();

} // namespace kd
