#pragma once
// Internal: a Linear layer whose matrix products run on oneDNN's sgemm when it is available.
// Include before any Qt header.
#include <torch/torch.h>

namespace kd {

// Same parameters (weight [out, in], bias [out]), initialisation and checkpoint names as torch::nn::Linear;
// only forward() differs. Measured on this project's 2-core AVX-512 machines for the MLP shapes at batch 128:
// oneDNN's sgemm ran at 270-375 GFLOP/s on 2 threads where Debian's OpenBLAS (which LibTorch calls) ran at
// 140-165 (bench/, README "Speed").
class FastLinearImpl : public torch::nn::LinearImpl {
public:
    using torch::nn::LinearImpl::LinearImpl;
    torch::Tensor forward(const torch::Tensor& input);
};
TORCH_MODULE(FastLinear);

// y = x W^T + b for x [N, in]; on oneDNN for contiguous float CPU tensors, else torch::linear.
torch::Tensor fastLinear(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias);

// True when fastLinear() uses oneDNN in this build.
bool fastLinearUsesOneDnn();

// Matrix products of the rest of LibTorch go to OpenBLAS, whose own thread pool competes with OpenMP's for
// the same cores; gives OpenBLAS `threads` threads (when LibTorch calls OpenBLAS; no-op otherwise).
void setOpenBlasThreads(int threads);

} // namespace kd
