#pragma once
// Internal: a max-pooling layer on oneDNN for channels-last activations. Include before any Qt header.
#include <torch/torch.h>

namespace kd {

// Same options and results as torch::nn::MaxPool2d; only forward() differs. For an unpadded, undilated
// window over a float CPU tensor it runs oneDNN's pooling on the channels-last layout the convolutions
// leave (fastconv.h), with a one-byte workspace per output where LibTorch keeps an 8-byte index and zeroes,
// scatters and converts layouts in its backward pass (README "Speed"). Other options go to
// torch::nn::MaxPool2d.
class FastMaxPool2dImpl : public torch::nn::MaxPool2dImpl {
public:
    using torch::nn::MaxPool2dImpl::MaxPool2dImpl;
    torch::Tensor forward(const torch::Tensor& input);
};
TORCH_MODULE(FastMaxPool2d);

} // namespace kd
