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

} // namespace kd
