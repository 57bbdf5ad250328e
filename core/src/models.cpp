#include "models.h"

#include "fastconv.h"
#include "fastlinear.h"
#include "fastpool.h"

namespace kd {

KdNetImpl::KdNetImpl(const ModelSpec& spec, const InputShape& input, float mean, float stddev)
    : m_spec(spec)
    , m_input(input)
    , m_mean(mean)
    , m_stddev(stddev) {
    modelStats(spec, input); // throws if the architecture does not fit the input size
    torch::nn::Sequential seq;
    const bool dropout = spec.dropout > 0;
    auto addDropout = [&] {
        if (dropout)
            seq->push_back(torch::nn::Dropout(torch::nn::DropoutOptions(spec.dropout)));
    };
    auto relu = [] { return torch::nn::ReLU(torch::nn::ReLUOptions(/*inplace=*/true)); };
    switch (spec.kind) {
    case ModelSpec::Kind::Mlp: {
        seq->push_back(torch::nn::Flatten());
        std::int64_t features = std::int64_t(input.channels) * input.height * input.width;
        for (int width : spec.layers) {
            seq->push_back(FastLinear(features, width));
            seq->push_back(relu());
            addDropout();
            features = width;
        }
        seq->push_back(FastLinear(features, input.classes));
        break;
    }
    case ModelSpec::Kind::Cnn: {
        std::int64_t channels = input.channels, h = input.height, w = input.width;
        for (int out : spec.layers) {
            // Pooling before the ReLU: the same numbers and gradients (max and ReLU commute; the window's
            // winner is the same), with the ReLU on a quarter of the values. Module indices, and so
            // checkpoint names, are as before.
            seq->push_back(FastConv2d(torch::nn::Conv2dOptions(channels, out, /*kernel_size=*/3).padding(1)));
            seq->push_back(FastMaxPool2d(torch::nn::MaxPool2dOptions(/*kernel_size=*/2)));
            seq->push_back(relu());
            channels = out;
            h /= 2;
            w /= 2;
        }
        seq->push_back(torch::nn::Flatten());
        addDropout();
        seq->push_back(FastLinear(channels * h * w, input.classes));
        break;
    }
    case ModelSpec::Kind::LeNet5: {
        std::int64_t h = input.height / 2 - 4, w = input.width / 2 - 4;
        seq->push_back(FastConv2d(torch::nn::Conv2dOptions(input.channels, 6, /*kernel_size=*/5).padding(2)));
        seq->push_back(FastMaxPool2d(torch::nn::MaxPool2dOptions(/*kernel_size=*/2))); // as above
        seq->push_back(relu());
        seq->push_back(FastConv2d(torch::nn::Conv2dOptions(6, 16, /*kernel_size=*/5)));
        seq->push_back(FastMaxPool2d(torch::nn::MaxPool2dOptions(/*kernel_size=*/2)));
        seq->push_back(relu());
        seq->push_back(torch::nn::Flatten());
        seq->push_back(FastLinear(16 * (h / 2) * (w / 2), 120));
        seq->push_back(relu());
        addDropout();
        seq->push_back(FastLinear(120, 84));
        seq->push_back(relu());
        addDropout();
        seq->push_back(FastLinear(84, input.classes));
        break;
    }
    }
    m_layers = register_module("layers", seq);
}

torch::Tensor KdNetImpl::forward(const torch::Tensor& x) {
    return m_layers->forward((x - m_mean) / m_stddev);
}

std::uint64_t parameterHash(torch::nn::Module& module) {
    std::uint64_t h = 1469598103934665603ull;
    for (const auto& p : module.parameters()) {
        const torch::Tensor t = p.detach().to(torch::kCPU).contiguous();
        const auto* bytes = static_cast<const unsigned char*>(t.data_ptr());
        const std::size_t n = t.numel() * t.element_size();
        for (std::size_t i = 0; i < n; ++i) {
            h ^= bytes[i];
            h *= 1099511628211ull;
        }
    }
    return h;
}

std::int64_t parameterCount(torch::nn::Module& module) {
    std::int64_t n = 0;
    for (const auto& p : module.parameters())
        n += p.numel();
    return n;
}

} // namespace kd
