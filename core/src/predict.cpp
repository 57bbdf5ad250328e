// Predictor: TorchScript exports and kdlab checkpoints run on LibTorch; ONNX exports on OpenCV DNN (an
// independent runtime, the one deployments without LibTorch would use).
#include "checkpointio.h"
#include "models.h"

#include <torch/script.h>

#include <onnx/onnx_pb.h>

#include <opencv2/dnn.hpp>

#include "kdcore/error.h"
#include "kdcore/export.h"
#include "kdcore/predict.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <numeric>

namespace kd {

struct Predictor::Impl {
    std::string path;
    std::string runtime;
    InputShape input;
    std::vector<std::string> classNames;
    torch::jit::Module script;
    bool isScript = false;
    KdNet net{nullptr};
    mutable cv::dnn::Net onnx;
    bool isOnnx = false;

    void applyCard(const std::string& json) {
        if (json.empty())
            return;
        const ModelCard card = modelCardFromJson(json, path);
        input = card.input;
        classNames = card.classNames;
    }
};

namespace {

bool endsWith(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() &&
           std::equal(suffix.rbegin(), suffix.rend(), s.rbegin(),
                      [](char a, char b) { return std::tolower(a) == std::tolower(b); });
}

} // namespace

Predictor::Predictor(const std::string& modelPath)
    : d(std::make_unique<Impl>()) {
    d->path = modelPath;
    {
        std::ifstream probe(modelPath, std::ios::binary);
        if (!probe)
            throw Error(modelPath + ": cannot open model (" + std::strerror(errno) + ")");
    }
    if (endsWith(modelPath, ".onnx")) {
        onnx::ModelProto model;
        {
            std::ifstream in(modelPath, std::ios::binary);
            if (!model.ParseFromIstream(&in) || !model.has_graph())
                throw Error(modelPath + ": not an ONNX model (cannot parse it)");
        }
        const auto& graph = model.graph();
        if (graph.input_size() < 1 || graph.output_size() < 1)
            throw Error(modelPath + ": the ONNX model has no input or output");
        // The input shape from the graph ([N, C, H, W]); the card, when present, adds the class names.
        const auto& shape = graph.input(0).type().tensor_type().shape();
        if (shape.dim_size() == 4) {
            d->input.channels = int(shape.dim(1).dim_value());
            d->input.height = int(shape.dim(2).dim_value());
            d->input.width = int(shape.dim(3).dim_value());
        }
        const auto& outShape = graph.output(0).type().tensor_type().shape();
        if (outShape.dim_size() == 2)
            d->input.classes = int(outShape.dim(1).dim_value());
        for (const auto& prop : model.metadata_props())
            if (prop.key() == "kdlab_model_card")
                d->applyCard(prop.value());
        if (d->input.channels < 1 || d->input.height < 1 || d->input.width < 1)
            throw Error(modelPath + ": the ONNX model's input is not a fixed-size image [N, C, H, W]");
        try {
            d->onnx = cv::dnn::readNetFromONNX(modelPath);
        } catch (const cv::Exception& e) {
            throw Error(modelPath + ": OpenCV DNN cannot load the ONNX model (" + e.msg + ")");
        }
        d->isOnnx = true;
        d->runtime = "ONNX (OpenCV DNN " CV_VERSION ")";
    } else {
        torch::jit::Module module;
        torch::jit::ExtraFilesMap extra{{"model_card.json", ""}};
        try {
            module = torch::jit::load(modelPath, torch::kCPU, extra);
        } catch (const c10::Error&) {
            throw Error(modelPath +
                        ": not a TorchScript model or kdlab checkpoint (expected .pt from kdlab, or "
                        ".onnx)");
        }
        if (module.find_method("forward")) {
            d->script = module;
            d->script.eval();
            d->isScript = true;
            d->applyCard(extra["model_card.json"]);
            d->runtime = "TorchScript (LibTorch " TORCH_VERSION ")";
        } else {
            // A kdlab checkpoint is a LibTorch archive with weights and metadata but no code.
            CheckpointInfo info;
            d->net = loadNet(modelPath, &info);
            d->net->eval();
            d->input = info.input;
            d->applyCard(info.card);
            d->input = info.input; // the checkpoint's own shape wins over a card's
            d->runtime = "kdlab checkpoint (LibTorch " TORCH_VERSION ")";
        }
    }
    if (int(d->classNames.size()) != d->input.classes) {
        d->classNames.clear();
        for (int c = 0; c < d->input.classes; ++c)
            d->classNames.push_back("class " + std::to_string(c));
    }
}

Predictor::~Predictor() = default;

const InputShape& Predictor::input() const {
    return d->input;
}

const std::vector<std::string>& Predictor::classNames() const {
    return d->classNames;
}

const std::string& Predictor::runtime() const {
    return d->runtime;
}

std::vector<float> Predictor::logits(const std::vector<float>& images, std::size_t count) const {
    const InputShape& in = d->input;
    const std::size_t perImage = std::size_t(in.channels) * std::size_t(in.height) * std::size_t(in.width);
    if (images.size() != count * perImage)
        throw Error(d->path + ": expected " + std::to_string(count) + " image(s) of " +
                    std::to_string(perImage) + " values, got " + std::to_string(images.size()) + " values");
    if (count == 0)
        return {};
    std::vector<float> result;
    try {
        if (d->isOnnx) {
            const int dims[] = {int(count), in.channels, in.height, in.width};
            d->onnx.setInput(cv::Mat(4, dims, CV_32F, const_cast<float*>(images.data())));
            const cv::Mat out = d->onnx.forward();
            if (out.total() != count * std::size_t(in.classes))
                throw Error(d->path + ": the model returned " + std::to_string(out.total()) + " values for " +
                            std::to_string(count) + " image(s) of " + std::to_string(in.classes) +
                            " classes");
            const cv::Mat flat = out.isContinuous() ? out : out.clone();
            result.assign(flat.ptr<float>(), flat.ptr<float>() + out.total());
        } else {
            torch::NoGradGuard noGrad;
            const torch::Tensor x =
                torch::from_blob(const_cast<float*>(images.data()),
                                 {std::int64_t(count), in.channels, in.height, in.width}, torch::kFloat32);
            const torch::Tensor y = (d->isScript ? d->script.forward({x}).toTensor() : d->net->forward(x))
                                        .to(torch::kFloat32)
                                        .contiguous();
            if (y.dim() != 2 || y.size(0) != std::int64_t(count) || y.size(1) != in.classes)
                throw Error(d->path + ": the model returned shape " + c10::str(y.sizes()) + ", expected [" +
                            std::to_string(count) + ", " + std::to_string(in.classes) + "]");
            result.assign(y.data_ptr<float>(), y.data_ptr<float>() + y.numel());
        }
    } catch (const c10::Error& e) {
        throw Error(d->path + ": the model failed: " + e.what_without_backtrace());
    } catch (const cv::Exception& e) {
        throw Error(d->path + ": the model failed in OpenCV DNN: " + e.msg);
    }
    return result;
}

std::vector<std::pair<int, double>> topClasses(const float* logits, int classes, int k) {
    std::vector<std::pair<int, double>> probs;
    if (classes <= 0)
        return probs;
    const float maxLogit = *std::max_element(logits, logits + classes);
    double sum = 0;
    for (int c = 0; c < classes; ++c) {
        const double e = std::exp(double(logits[c]) - maxLogit);
        probs.emplace_back(c, e);
        sum += e;
    }
    for (auto& p : probs)
        p.second /= sum;
    std::stable_sort(probs.begin(), probs.end(),
                     [](const auto& a, const auto& b) { return a.second > b.second; });
    probs.resize(std::size_t(std::clamp(k, 0, classes)));
    return probs;
}

} // namespace kd
