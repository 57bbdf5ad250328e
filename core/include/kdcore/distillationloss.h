#pragma once

#include <cstdint>
#include <vector>

namespace kd {

// L = alpha * T^2 * KL(softmax(t/T) || softmax(s/T)) + (1 - alpha) * CE(s, y), batch-mean.
// soft = T^2 * KL (the soft term before alpha), hard = CE.
struct LossParts {
    double total = 0;
    double soft = 0;
    double hard = 0;
};

// Plain-C++ entry to the same LibTorch implementation the trainer uses. Logits are row-major
// [batch x classes]; when gradStudent is given it receives dL/d(student logits), same layout.
LossParts distillationLoss(const std::vector<float>& studentLogits, const std::vector<float>& teacherLogits,
                           const std::vector<std::int64_t>& labels, int classes, double temperature,
                           double alpha, std::vector<float>* gradStudent = nullptr);

// An ensemble teacher's soft targets, as the trainer computes them (method ensemble): member logits
// [members x batch x classes] row-major in, logits [batch x classes] out whose softmax at `temperature` is
// the mean of the members' softmaxes at that temperature. Throws kd::Error on mismatched sizes or T <= 0.
std::vector<float> ensembleTargetLogits(const std::vector<float>& memberLogits, int members, int classes,
                                        double temperature);

} // namespace kd
