// Export of a kdlab checkpoint to TorchScript and ONNX. LibTorch cannot script a C++ nn::Module, so both
// exporters read the trained network as a list of layers (the few kinds kdlab's architectures use) and
// write each format from that list: TorchScript as a torch::jit::Module with the weights as parameters and
// forward() defined in TorchScript source; ONNX as a ModelProto built with ONNX's own protobuf classes and
// validated with onnx::checker. Every export is then run by its runtime and compared with the checkpoint's
// model before it replaces the target.
#include "checkpointio.h"
#include "models.h"

#include <torch/script.h>

#include <onnx/checker.h>
#include <onnx/onnx_pb.h>

#include <opencv2/dnn.hpp>

#include "kdcore/error.h"
#include "kdcore/export.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>

#ifndef KDLAB_VERSION
#define KDLAB_VERSION "unknown"
#endif

namespace kd {
namespace {

// One layer of a kdlab network in inference form (dropout is the identity and left out).
struct Layer {
    enum class Kind { Flatten, Linear, Conv, Relu, MaxPool } kind;
    torch::Tensor weight, bias; // Linear: [out, in], [out]; Conv: [out, in, k, k], [out]
    std::int64_t kernel = 0, stride = 1, padding = 0;
};

template <std::size_t D> bool allEqual(const torch::ExpandingArray<D>& a, std::int64_t* value) {
    for (std::size_t i = 1; i < D; ++i)
        if ((*a)[i] != (*a)[0])
            return false;
    *value = (*a)[0];
    return true;
}

std::vector<Layer> layersOf(KdNetImpl& net, const std::string& source) {
    std::vector<Layer> layers;
    int index = 0;
    for (const auto& module : net.layers()->children()) {
        ++index;
        auto unsupported = [&](const std::string& why) {
            return Error(source + ": layer " + std::to_string(index) + " (" + module->name() +
                         ") cannot be exported: " + why);
        };
        Layer layer{};
        if (module->as<torch::nn::Flatten>()) {
            const auto& o = module->as<torch::nn::Flatten>()->options;
            if (o.start_dim() != 1 || o.end_dim() != -1)
                throw unsupported("only flatten(1) is supported");
            layer.kind = Layer::Kind::Flatten;
        } else if (auto* linear = module->as<torch::nn::Linear>()) {
            layer.kind = Layer::Kind::Linear;
            layer.weight = linear->weight.detach().to(torch::kCPU).contiguous();
            if (!linear->options.bias())
                throw unsupported("a linear layer without bias");
            layer.bias = linear->bias.detach().to(torch::kCPU).contiguous();
        } else if (auto* conv = module->as<torch::nn::Conv2d>()) {
            const auto& o = conv->options;
            const auto* pad = c10::get_if<torch::ExpandingArray<2>>(&o.padding());
            std::int64_t dilation = 0;
            if (!pad || !allEqual<2>(*pad, &layer.padding) || !allEqual<2>(o.kernel_size(), &layer.kernel) ||
                !allEqual<2>(o.stride(), &layer.stride) || !allEqual<2>(o.dilation(), &dilation) ||
                dilation != 1 || o.groups() != 1 || !o.bias() ||
                !c10::get_if<torch::enumtype::kZeros>(&o.padding_mode()))
                throw unsupported(
                    "only square, undilated, ungrouped convolutions with bias and zero padding");
            layer.kind = Layer::Kind::Conv;
            layer.weight = conv->weight.detach().to(torch::kCPU).contiguous();
            layer.bias = conv->bias.detach().to(torch::kCPU).contiguous();
        } else if (module->as<torch::nn::ReLU>()) {
            layer.kind = Layer::Kind::Relu;
        } else if (auto* pool = module->as<torch::nn::MaxPool2d>()) {
            const auto& o = pool->options;
            std::int64_t dilation = 0;
            if (!allEqual<2>(o.kernel_size(), &layer.kernel) || !allEqual<2>(o.stride(), &layer.stride) ||
                !allEqual<2>(o.padding(), &layer.padding) || !allEqual<2>(o.dilation(), &dilation) ||
                dilation != 1 || o.ceil_mode())
                throw unsupported("only square max-pooling without dilation or ceil mode");
            layer.kind = Layer::Kind::MaxPool;
        } else if (module->as<torch::nn::Dropout>()) {
            continue; // the identity at inference
        } else {
            throw unsupported("kdlab's exporters know flatten, linear, conv2d, relu, max-pool and dropout");
        }
        layers.push_back(std::move(layer));
    }
    return layers;
}

std::string fileError(const std::string& path, const std::string& what) {
    return path + ": cannot export (" + what + ")";
}

// ---- TorchScript ----

torch::jit::Module torchScriptModule(const KdNetImpl& net, const std::vector<Layer>& layers) {
    torch::jit::Module module("KdlabModel");
    // The same float scalars as KdNetImpl::forward, so the exported model computes the same numbers.
    module.register_attribute("mean", c10::FloatType::get(), double(net.mean()));
    module.register_attribute("stddev", c10::FloatType::get(), double(net.stddev()));
    std::ostringstream code;
    code << "def forward(self, x: Tensor) -> Tensor:\n";
    code << "    x = (x - self.mean) / self.stddev\n";
    int n = 0;
    for (const Layer& layer : layers) {
        const std::string w = "layer" + std::to_string(n) + "_weight",
                          b = "layer" + std::to_string(n) + "_bias";
        ++n;
        switch (layer.kind) {
        case Layer::Kind::Flatten:
            code << "    x = torch.flatten(x, 1)\n";
            break;
        case Layer::Kind::Linear:
            module.register_parameter(w, layer.weight, /*is_buffer=*/false);
            module.register_parameter(b, layer.bias, /*is_buffer=*/false);
            code << "    x = torch.linear(x, self." << w << ", self." << b << ")\n";
            break;
        case Layer::Kind::Conv:
            module.register_parameter(w, layer.weight, /*is_buffer=*/false);
            module.register_parameter(b, layer.bias, /*is_buffer=*/false);
            code << "    x = torch.conv2d(x, self." << w << ", self." << b << ", [" << layer.stride << ", "
                 << layer.stride << "], [" << layer.padding << ", " << layer.padding << "])\n";
            break;
        case Layer::Kind::Relu:
            code << "    x = torch.relu(x)\n";
            break;
        case Layer::Kind::MaxPool:
            code << "    x = torch.max_pool2d(x, [" << layer.kernel << ", " << layer.kernel << "], ["
                 << layer.stride << ", " << layer.stride << "], [" << layer.padding << ", " << layer.padding
                 << "])\n";
            break;
        }
    }
    code << "    return x\n";
    module.define(code.str());
    module.eval();
    for (const auto& p : module.parameters())
        p.set_requires_grad(false);
    return module;
}

// ---- ONNX ----

class OnnxGraph {
public:
    explicit OnnxGraph(onnx::GraphProto* graph)
        : m_graph(graph) {}

    std::string initializer(const std::string& name, const torch::Tensor& t) {
        const torch::Tensor c = t.to(torch::kFloat32).contiguous();
        auto* init = m_graph->add_initializer();
        init->set_name(name);
        init->set_data_type(onnx::TensorProto::FLOAT);
        for (auto d : c.sizes())
            init->add_dims(d);
        init->set_raw_data(std::string(static_cast<const char*>(c.data_ptr()), std::size_t(c.nbytes())));
        return name;
    }

    onnx::NodeProto* node(const std::string& op, const std::vector<std::string>& inputs,
                          const std::string& output) {
        auto* n = m_graph->add_node();
        n->set_op_type(op);
        n->set_name(output);
        for (const std::string& in : inputs)
            n->add_input(in);
        n->add_output(output);
        return n;
    }

    static void intAttribute(onnx::NodeProto* n, const char* name, std::int64_t v) {
        auto* a = n->add_attribute();
        a->set_name(name);
        a->set_type(onnx::AttributeProto::INT);
        a->set_i(v);
    }
    static void intsAttribute(onnx::NodeProto* n, const char* name, const std::vector<std::int64_t>& v) {
        auto* a = n->add_attribute();
        a->set_name(name);
        a->set_type(onnx::AttributeProto::INTS);
        for (std::int64_t x : v)
            a->add_ints(x);
    }

    static void tensorValue(onnx::ValueInfoProto* v, const std::string& name,
                            const std::vector<std::int64_t>& dims) {
        v->set_name(name);
        auto* type = v->mutable_type()->mutable_tensor_type();
        type->set_elem_type(onnx::TensorProto::FLOAT);
        auto* shape = type->mutable_shape();
        shape->add_dim()->set_dim_param("N"); // any batch size
        for (std::int64_t d : dims)
            shape->add_dim()->set_dim_value(d);
    }

private:
    onnx::GraphProto* m_graph;
};

onnx::ModelProto onnxModel(const KdNetImpl& net, const std::vector<Layer>& layers, const std::string& card) {
    onnx::ModelProto model;
    model.set_ir_version(onnx::IR_VERSION);
    model.set_producer_name("kdlab");
    model.set_producer_version(KDLAB_VERSION);
    model.set_doc_string(
        "kdlab " + net.spec().toString() +
        ": input float [N,C,H,W] with pixel values in [0,1] (normalisation inside), output logits");
    auto* opset = model.add_opset_import();
    opset->set_domain("");
    opset->set_version(13); // every operator used here is unchanged since opset 13
    auto* meta = model.add_metadata_props();
    meta->set_key("kdlab_model_card");
    meta->set_value(card);

    auto* graph = model.mutable_graph();
    graph->set_name("kdlab_" + net.spec().toString());
    OnnxGraph g(graph);
    const InputShape& in = net.input();
    OnnxGraph::tensorValue(graph->add_input(), "input", {in.channels, in.height, in.width});

    std::string x = "input";
    x = g.node("Sub", {x, g.initializer("mean", torch::tensor({net.mean()}))}, "centred")->output(0);
    x = g.node("Div", {x, g.initializer("stddev", torch::tensor({net.stddev()}))}, "normalised")->output(0);
    for (std::size_t i = 0; i < layers.size(); ++i) {
        const Layer& layer = layers[i];
        const std::string id = "layer" + std::to_string(i);
        const std::string out = i + 1 == layers.size() ? "logits" : id;
        // Conv and Gemm take the layer's weight and bias; Conv and MaxPool a square window.
        auto weighted = [&](const char* op) {
            return g.node(
                op, {x, g.initializer(id + "_weight", layer.weight), g.initializer(id + "_bias", layer.bias)},
                out);
        };
        auto window = [&](onnx::NodeProto* n) {
            OnnxGraph::intsAttribute(n, "kernel_shape", {layer.kernel, layer.kernel});
            OnnxGraph::intsAttribute(n, "strides", {layer.stride, layer.stride});
            OnnxGraph::intsAttribute(n, "pads", {layer.padding, layer.padding, layer.padding, layer.padding});
        };
        switch (layer.kind) {
        case Layer::Kind::Flatten:
            OnnxGraph::intAttribute(g.node("Flatten", {x}, out), "axis", 1);
            break;
        case Layer::Kind::Linear:
            OnnxGraph::intAttribute(weighted("Gemm"), "transB", 1); // weight is [out, in], as in torch
            break;
        case Layer::Kind::Conv:
            window(weighted("Conv"));
            break;
        case Layer::Kind::Relu:
            g.node("Relu", {x}, out);
            break;
        case Layer::Kind::MaxPool:
            window(g.node("MaxPool", {x}, out));
            break;
        }
        x = out;
    }
    OnnxGraph::tensorValue(graph->add_output(), "logits", {in.classes});
    return model;
}

// ---- checks and files ----

// Probe images: uniform pixels, fixed seed (the same probes every time).
torch::Tensor probeImages(const InputShape& in) {
    torch::Generator gen = at::detail::createCPUGenerator(/*seed_in=*/20261124);
    return torch::rand({8, in.channels, in.height, in.width}, gen);
}

double maxDifference(const torch::Tensor& a, const torch::Tensor& b) {
    if (a.sizes() != b.sizes())
        return INFINITY;
    return (a - b).abs().max().item<double>();
}

// The exported logits may differ from LibTorch's by float rounding only.
void requireClose(double diff, const torch::Tensor& reference, const std::string& path,
                  const std::string& runtime) {
    const double scale = std::max(1.0, reference.abs().max().item<double>());
    if (!(diff <= 1e-4 * scale))
        throw Error(fileError(
            path, runtime + " computes different logits from the checkpoint's model (max difference " +
                      std::to_string(diff) + "); nothing was written"));
}

void removeQuietly(const std::string& path) {
    std::error_code ec;
    std::filesystem::remove(path, ec);
}

// Writes bytes to `path` (a temporary name); throws naming `target` when the write is incomplete.
void writeBytes(const std::string& path, const std::string& bytes, const std::string& target) {
    const std::string why = writeWholeFile(path, bytes);
    if (!why.empty())
        throw Error(fileError(target, why));
}

void renameOver(const std::string& from, const std::string& to) {
    std::error_code ec;
    std::filesystem::rename(from, to, ec);
    if (ec) {
        removeQuietly(from);
        throw Error(fileError(to, ec.message()));
    }
}

std::string baseName(const std::string& path) {
    return std::filesystem::path(path).filename().string();
}

} // namespace

ExportResult exportCheckpoint(const std::string& checkpointPath, ExportFormat format,
                              const std::string& outPath, const ModelCard* overrides) {
    if (outPath.empty())
        throw Error("export: no output file given");
    {
        std::error_code ec;
        if (std::filesystem::is_directory(outPath, ec))
            throw Error(fileError(outPath, "it is a folder; give a file name"));
    }
    CheckpointInfo info;
    KdNet net = loadNet(checkpointPath, &info);
    net->eval();
    // A checkpoint copy keeps the bytes: only the two other formats are written from the layers.
    const std::vector<Layer> layers =
        format == ExportFormat::Checkpoint ? std::vector<Layer>() : layersOf(*net, checkpointPath);

    ExportResult result;
    result.modelPath = outPath;
    result.cardPath = outPath + ".json";
    ModelCard& card = result.card;
    if (overrides)
        card = *overrides;
    else if (!info.card.empty())
        card = modelCardFromJson(info.card, checkpointPath);
    // What the file itself says wins over any card: it is what was exported.
    card.spec = net->spec().toString();
    card.stats = modelStats(net->spec(), net->input());
    card.input = net->input();
    card.mean = net->mean();
    card.stddev = net->stddev();
    if (int(card.classNames.size()) != card.input.classes)
        card.classNames.clear(); // unknown (or from another dataset): better none than wrong ones
    card.format = exportFormatName(format);
    card.file = baseName(outPath);
    card.exportedAt = isoTimeNow();

    const std::string tmp = outPath + ".tmp";
    const std::string cardTmp = result.cardPath + ".tmp";
    const torch::Tensor probes = probeImages(net->input());
    torch::Tensor reference;
    {
        torch::NoGradGuard noGrad;
        reference = net->forward(probes);
    }
    try {
        if (format == ExportFormat::TorchScript) {
            torch::jit::Module module = torchScriptModule(*net, layers);
            // The card goes inside too, so a .pt alone says what it is (predict reads its class names).
            torch::jit::ExtraFilesMap extra{{"model_card.json", modelCardJson(card)}};
            std::ostringstream bytes;
            module.save(bytes, extra);
            writeBytes(tmp, bytes.str(), outPath);
            torch::jit::Module reloaded = torch::jit::load(tmp);
            torch::NoGradGuard noGrad;
            const torch::Tensor out = reloaded.forward({probes}).toTensor();
            result.maxLogitDifference = maxDifference(out, reference);
            result.checkedWith = "LibTorch " TORCH_VERSION " (torch::jit::load)";
            requireClose(result.maxLogitDifference, reference, outPath, "the TorchScript module");
        } else if (format == ExportFormat::Onnx) {
            onnx::ModelProto model = onnxModel(*net, layers, modelCardJson(card));
            try {
                onnx::checker::check_model(model);
            } catch (const std::exception& e) {
                throw Error(
                    fileError(outPath, std::string("the ONNX checker rejects the model: ") + e.what()));
            }
            std::string bytes;
            if (!model.SerializeToString(&bytes))
                throw Error(fileError(outPath, "the ONNX model does not serialise (over 2 GB?)"));
            writeBytes(tmp, bytes, outPath);
            // An independent runtime reads the written file back: OpenCV's DNN module.
            cv::dnn::Net dnn = cv::dnn::readNetFromONNX(tmp);
            const torch::Tensor in = probes.contiguous();
            const int dims[] = {int(in.size(0)), int(in.size(1)), int(in.size(2)), int(in.size(3))};
            dnn.setInput(cv::Mat(4, dims, CV_32F, in.data_ptr<float>()));
            const cv::Mat out = dnn.forward();
            const torch::Tensor outTensor =
                out.total() == std::size_t(reference.numel())
                    ? torch::from_blob(const_cast<float*>(out.ptr<float>()), reference.sizes()).clone()
                    : torch::zeros({1});
            result.maxLogitDifference = maxDifference(outTensor, reference);
            result.checkedWith = "onnx::checker, OpenCV DNN " CV_VERSION;
            requireClose(result.maxLogitDifference, reference, outPath, "OpenCV DNN");
        } else {
            // The checkpoint's own bytes (it already holds the card), reloaded to check the copy.
            std::ifstream in(checkpointPath, std::ios::binary);
            const std::string bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
            if (!in && !in.eof())
                throw Error(checkpointPath + ": cannot read the checkpoint");
            writeBytes(tmp, bytes, outPath);
            KdNet copy = loadNet(tmp);
            copy->eval();
            torch::NoGradGuard noGrad;
            result.maxLogitDifference = maxDifference(copy->forward(probes), reference);
            result.checkedWith = "kdlab (the copy reloaded)";
            requireClose(result.maxLogitDifference, reference, outPath, "the copied checkpoint");
        }
        std::error_code ec;
        card.fileBytes = std::int64_t(std::filesystem::file_size(tmp, ec));
        writeBytes(cardTmp, modelCardJson(card) + "\n", result.cardPath);
    } catch (const Error&) {
        removeQuietly(tmp);
        removeQuietly(cardTmp);
        throw;
    } catch (const std::exception& e) {
        removeQuietly(tmp);
        removeQuietly(cardTmp);
        throw Error(fileError(outPath, e.what()));
    }
    renameOver(tmp, outPath);
    renameOver(cardTmp, result.cardPath);
    return result;
}

} // namespace kd
