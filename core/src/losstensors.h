#pragma once
// Internal: the distillation loss on tensors. Include before any Qt header.
#include <torch/torch.h>

namespace kd {

struct LossTensors {
    torch::Tensor total, soft, hard;
};

// student/teacher logits [B, C], labels [B] (int64). log_softmax throughout, so the loss stays finite for
// large logits and temperatures; soft = T^2 * KL(softmax(t/T) || softmax(s/T)), hard = CE(s, y).
LossTensors distillationLossTensors(const torch::Tensor& student, const torch::Tensor& teacher,
                                    const torch::Tensor& labels, double temperature, double alpha);

// An ensemble's soft targets as logits: for member logits [K, B, C], z = T * log(mean_k softmax(l_k / T)), so
// that softmax(z / T) is exactly the mean of the members' probabilities at T and the loss above applies
// unchanged. With K = 1 it returns the member's logits themselves.
torch::Tensor ensembleTargetLogits(const torch::Tensor& memberLogits, double temperature);

} // namespace kd
