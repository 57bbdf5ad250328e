#pragma once
// Internal: LibTorch modules built from a ModelSpec. Include before any Qt header.
#include <torch/torch.h>

#include "kdcore/modelspec.h"

#include <cstdint>

namespace kd {

// Input: normalised images [N, C, H, W]; output: logits [N, classes].
class KdNetImpl : public torch::nn::Module {
public:
    KdNetImpl(const ModelSpec& spec, const InputShape& input);
    torch::Tensor forward(const torch::Tensor& x);

    const ModelSpec& spec() const { return m_spec; }
    const InputShape& input() const { return m_input; }

private:
    ModelSpec m_spec;
    InputShape m_input;
    torch::nn::Sequential m_layers{nullptr};
};
TORCH_MODULE(KdNet);

// FNV-1a over all parameter bytes: equal hashes mean identical weights.
std::uint64_t parameterHash(torch::nn::Module& module);
std::int64_t parameterCount(torch::nn::Module& module);

} // namespace kd
