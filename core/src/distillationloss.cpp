#include "losstensors.h"

#include "kdcore/distillationloss.h"
#include "kdcore/error.h"

#include <cmath>

namespace kd {

LossTensors distillationLossTensors(const torch::Tensor& student, const torch::Tensor& teacher,
                                    const torch::Tensor& labels, double temperature, double alpha) {
    const torch::Tensor logStudent = torch::log_softmax(student / temperature, /*dim=*/1);
    const torch::Tensor logTeacher = torch::log_softmax(teacher / temperature, /*dim=*/1);
    // KL(p_t || p_s) = sum p_t (log p_t - log p_s); p_t may underflow to 0, but log p_t stays finite.
    const torch::Tensor kl = (logTeacher.exp() * (logTeacher - logStudent)).sum(/*dim=*/1).mean();
    LossTensors loss;
    loss.soft = kl * (temperature * temperature);
    loss.hard = torch::nn::functional::cross_entropy(student, labels);
    loss.total = alpha * loss.soft + (1.0 - alpha) * loss.hard;
    return loss;
}

torch::Tensor ensembleTargetLogits(const torch::Tensor& memberLogits, double temperature) {
    if (memberLogits.size(0) == 1)
        return memberLogits[0];
    // log mean_k p_k = logsumexp_k(log p_k) - log K, stable for any logits.
    const torch::Tensor logP = torch::log_softmax(memberLogits / temperature, /*dim=*/2);
    return (torch::logsumexp(logP, /*dim=*/0) - std::log(double(memberLogits.size(0)))) * temperature;
}

LossParts distillationLoss(const std::vector<float>& studentLogits, const std::vector<float>& teacherLogits,
                           const std::vector<std::int64_t>& labels, int classes, double temperature,
                           double alpha, std::vector<float>* gradStudent) {
    const auto batch = static_cast<std::int64_t>(labels.size());
    if (classes < 1 || batch < 1 || studentLogits.size() != std::size_t(batch * classes) ||
        teacherLogits.size() != studentLogits.size())
        throw Error("distillationLoss: logits must be [batch x classes] and match the labels");
    for (std::int64_t y : labels)
        if (y < 0 || y >= classes)
            throw Error("distillationLoss: label " + std::to_string(y) + " out of range");
    if (!(temperature > 0))
        throw Error("distillationLoss: temperature must be > 0");

    // from_blob does not copy: clone so the tensors own their data (and s is a leaf for autograd).
    auto* sData = const_cast<float*>(studentLogits.data());
    auto* tData = const_cast<float*>(teacherLogits.data());
    auto* yData = const_cast<std::int64_t*>(labels.data());
    torch::Tensor s = torch::from_blob(sData, {batch, classes}, torch::kFloat32).clone().requires_grad_(true);
    torch::Tensor t = torch::from_blob(tData, {batch, classes}, torch::kFloat32).clone();
    torch::Tensor y = torch::from_blob(yData, {batch}, torch::kInt64).clone();
    LossTensors loss = distillationLossTensors(s, t, y, temperature, alpha);
    if (gradStudent) {
        loss.total.backward();
        torch::Tensor g = s.grad().contiguous();
        gradStudent->assign(g.data_ptr<float>(), g.data_ptr<float>() + g.numel());
    }
    return {loss.total.item<double>(), loss.soft.item<double>(), loss.hard.item<double>()};
}

std::vector<float> ensembleTargetLogits(const std::vector<float>& memberLogits, int members, int classes,
                                        double temperature) {
    if (members < 1 || classes < 1 || memberLogits.empty() ||
        memberLogits.size() % std::size_t(members * classes) != 0)
        throw Error("ensembleTargetLogits: logits must be [members x batch x classes]");
    if (!(temperature > 0))
        throw Error("ensembleTargetLogits: temperature must be > 0");
    const auto batch = std::int64_t(memberLogits.size() / std::size_t(members * classes));
    auto* data = const_cast<float*>(memberLogits.data());
    const torch::Tensor z =
        ensembleTargetLogits(torch::from_blob(data, {members, batch, classes}, torch::kFloat32), temperature)
            .contiguous();
    return std::vector<float>(z.data_ptr<float>(), z.data_ptr<float>() + z.numel());
}

} // namespace kd
