#pragma once
// Internal: LibTorch modules built from a ModelSpec. Include before any Qt header.
#include <torch/torch.h>

#include "kdcore/modelspec.h"

#include <cstdint>

namespace kd {

// Input: images [N, C, H, W] with pixel values in [0, 1]; output: logits [N, classes]. The normalisation
// (x - mean) / stddev of the training set is part of the model, so a checkpoint (and later an export) is
// self-contained and a teacher loaded from one sees its own normalisation whatever the current dataset's.
class KdNetImpl : public torch::nn::Module {
public:
    KdNetImpl(const ModelSpec& spec, const InputShape& input, float mean = 0.f, float stddev = 1.f);
    torch::Tensor forward(const torch::Tensor& x);

    const ModelSpec& spec() const { return m_spec; }
    const InputShape& input() const { return m_input; }
    float mean() const { return m_mean; }
    float stddev() const { return m_stddev; }
    const torch::nn::Sequential& layers() const { return m_layers; } // for export: flatten, linear, conv, ...

private:
    ModelSpec m_spec;
    InputShape m_input;
    float m_mean;
    float m_stddev;
    torch::nn::Sequential m_layers{nullptr};
};
TORCH_MODULE(KdNet);

// FNV-1a over all parameter bytes: equal hashes mean identical weights.
std::uint64_t parameterHash(torch::nn::Module& module);
std::int64_t parameterCount(torch::nn::Module& module);

} // namespace kd
