// Model cards: what an exported model is, how it was trained, and how well it and its run's models did.
// Plain C++ (no LibTorch), so it compiles quickly and the CLI and the app can build cards themselves.
#include "kdcore/config.h"
#include "kdcore/error.h"
#include "kdcore/export.h"
#include "kdcore/trainer.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <ctime>

#ifndef KDLAB_VERSION
#define KDLAB_VERSION "unknown"
#endif

namespace kd {

ExportFormat parseExportFormat(const std::string& name) {
    std::string lower = name;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    if (lower == "torchscript")
        return ExportFormat::TorchScript;
    if (lower == "onnx")
        return ExportFormat::Onnx;
    if (lower == "checkpoint")
        return ExportFormat::Checkpoint;
    throw Error("format: unknown export format '" + name + "' (expected torchscript, onnx or checkpoint)");
}

const char* exportFormatName(ExportFormat format) {
    switch (format) {
    case ExportFormat::Onnx:
        return "onnx";
    case ExportFormat::Checkpoint:
        return "checkpoint";
    case ExportFormat::TorchScript:
        break;
    }
    return "torchscript";
}

const char* exportFormatExtension(ExportFormat format) {
    return format == ExportFormat::Onnx ? ".onnx" : ".pt";
}

std::string isoTimeNow() {
    const std::time_t now = std::time(nullptr);
    std::tm utc{};
    gmtime_r(&now, &utc);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &utc);
    return buf;
}

namespace {

const ModelResult* findModel(const ExperimentResult& result, const std::string& model,
                             const StageResult** stage) {
    *stage = nullptr;
    if (model == "teacher")
        return &result.teacher;
    if (model == "baseline")
        return &result.baseline;
    if (model == "student")
        return &result.student;
    for (const StageResult& st : result.stages)
        if (st.id == model) {
            *stage = &st;
            return &st.model;
        }
    return nullptr;
}

// What the model learned from, in a person's words.
std::string learnedFrom(const ExperimentConfig& c, const std::string& model, const StageResult* stage) {
    const std::string soft = " at temperature T with weight alpha, and the labels";
    if (model == "teacher")
        return c.teacherCheckpoint.empty() ? "the labels" : "(loaded from " + c.teacherCheckpoint + ")";
    if (model == "baseline")
        return "the labels only (no teacher)";
    if (stage) {
        if (stage->kind == "member")
            return "the labels (an ensemble member)";
        if (stage->kind == "assistant")
            return "the teacher's soft targets" + soft;
        if (stage->kind == "direct")
            return "the teacher's soft targets" + soft + " (directly, for comparison with the assistant)";
        if (stage->kind == "generation") {
            const std::string n = stage->id.substr(stage->id.find('-') + 1);
            return n == "1" ? "the teacher's soft targets" + soft
                            : "generation " + std::to_string(std::stoi(n) - 1) + "'s soft targets" + soft;
        }
    }
    if (c.method == "ensemble")
        return "the mean of the ensemble members' probabilities" + soft;
    if (c.method == "assistant")
        return "the teacher assistant's soft targets" + soft;
    if (c.method == "born-again")
        return "generation " + std::to_string(std::max(1, c.generations - 1)) + "'s soft targets" + soft;
    return "the teacher's soft targets" + soft;
}

template <typename T> nlohmann::ordered_json orNull(const std::optional<T>& v) {
    return v ? nlohmann::ordered_json(*v) : nlohmann::ordered_json(nullptr);
}

template <typename T> std::optional<T> optionalAt(const nlohmann::json& j, const char* key) {
    const auto it = j.find(key);
    if (it == j.end() || it->is_null())
        return std::nullopt;
    return it->get<T>();
}

std::string stringAt(const nlohmann::json& j, const char* key) {
    const auto it = j.find(key);
    return it == j.end() || it->is_null() ? std::string() : it->get<std::string>();
}

} // namespace

ModelCard makeModelCard(const ExperimentConfig& config, const ExperimentResult& result,
                        const std::string& model, const std::vector<std::string>& classNames,
                        std::int64_t testImages) {
    const StageResult* stage = nullptr;
    const ModelResult* m = findModel(result, model, &stage);
    if (!m)
        throw Error("model card: the run has no model '" + model + "'");
    ModelCard card;
    card.model = model;
    card.spec = m->spec;
    card.stats = m->stats;
    card.classNames = classNames;
    card.input.classes = int(classNames.size());
    card.dataset = config.dataset;
    card.method = config.method;
    card.teacherSpec = result.teacher.spec;
    card.learnedFrom = learnedFrom(config, model, stage);
    const bool distilled = model != "teacher" && model != "baseline" && !(stage && stage->kind == "member");
    if (distilled) {
        card.temperature = config.temperature;
        card.alpha = config.alpha;
    }
    card.seed =
        model == "teacher" || (stage && stage->kind == "member")
            ? (config.teacherSeed ? config.teacherSeed : config.seed) +
                  (stage ? std::uint64_t(std::stoi(stage->id.substr(stage->id.find('-') + 1)) - 1) : 0)
            : config.seed;
    if (m->epochsTrained > 0)
        card.epochs = m->epochsTrained;
    card.trainedAt = isoTimeNow();
    auto accuracy = [](const ModelResult& r) {
        return r.spec.empty() && r.epochsTrained == 0 ? std::optional<double>() : r.testAccuracy;
    };
    card.accuracy = accuracy(*m);
    card.studentAccuracy = accuracy(result.student);
    card.teacherAccuracy = accuracy(result.teacher);
    card.baselineAccuracy = accuracy(result.baseline);
    if (testImages > 0)
        card.testImages = testImages;
    return card;
}

std::string modelCardJson(const ModelCard& c, int indent) {
    nlohmann::ordered_json j;
    j["kdlab_model_card"] = 1;
    j["model"] = c.model;
    j["spec"] = c.spec;
    j["params"] = c.stats.params;
    j["flops_per_image"] = c.stats.flopsPerSample;
    j["parameter_bytes"] = c.stats.bytes;
    j["format"] = c.format;
    j["file"] = c.file;
    j["file_bytes"] = c.fileBytes;
    j["input"] = {{"shape", {"N", c.input.channels, c.input.height, c.input.width}},
                  {"dtype", "float32"},
                  {"pixel_range", {0, 1}},
                  {"normalisation_inside_model", {{"mean", c.mean}, {"stddev", c.stddev}}}};
    j["output"] = {{"shape", {"N", c.input.classes}}, {"meaning", "logits (softmax gives probabilities)"}};
    j["classes"] = c.classNames;
    j["dataset"] = c.dataset;
    j["method"] = c.method;
    j["learned_from"] = c.learnedFrom;
    j["teacher"] = c.teacherSpec;
    j["temperature"] = orNull(c.temperature);
    j["alpha"] = orNull(c.alpha);
    j["seed"] = orNull(c.seed);
    j["epochs"] = orNull(c.epochs);
    j["test_accuracy"] = {{"this_model", orNull(c.accuracy)},
                          {"student", orNull(c.studentAccuracy)},
                          {"teacher", orNull(c.teacherAccuracy)},
                          {"baseline", orNull(c.baselineAccuracy)}};
    j["test_images"] = orNull(c.testImages);
    j["trained_at"] = c.trainedAt;
    j["exported_at"] = c.exportedAt;
    j["kdlab_version"] = KDLAB_VERSION;
    return j.dump(indent);
}

ModelCard modelCardFromJson(const std::string& json, const std::string& source) {
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(json);
    } catch (const nlohmann::json::exception& e) {
        throw Error(source + ": model card is not valid JSON (" + e.what() + ")");
    }
    if (!j.is_object() || !j.contains("kdlab_model_card"))
        throw Error(source + ": not a kdlab model card (no \"kdlab_model_card\" key)");
    ModelCard c;
    try {
        c.model = stringAt(j, "model");
        c.spec = stringAt(j, "spec");
        c.stats.params = j.value("params", std::int64_t(0));
        c.stats.flopsPerSample = j.value("flops_per_image", std::int64_t(0));
        c.stats.bytes = j.value("parameter_bytes", std::int64_t(0));
        c.format = stringAt(j, "format");
        c.file = stringAt(j, "file");
        c.fileBytes = j.value("file_bytes", std::int64_t(0));
        if (j.contains("input")) {
            const auto& in = j.at("input");
            const auto& shape = in.at("shape");
            if (shape.size() == 4) {
                c.input.channels = shape.at(1).get<int>();
                c.input.height = shape.at(2).get<int>();
                c.input.width = shape.at(3).get<int>();
            }
            if (in.contains("normalisation_inside_model")) {
                c.mean = in.at("normalisation_inside_model").value("mean", 0.f);
                c.stddev = in.at("normalisation_inside_model").value("stddev", 1.f);
            }
        }
        if (j.contains("classes") && j.at("classes").is_array())
            c.classNames = j.at("classes").get<std::vector<std::string>>();
        c.input.classes = int(c.classNames.size());
        if (j.contains("output") && j.at("output").contains("shape") &&
            j.at("output").at("shape").size() == 2)
            c.input.classes = j.at("output").at("shape").at(1).get<int>();
        c.dataset = stringAt(j, "dataset");
        c.method = stringAt(j, "method");
        c.learnedFrom = stringAt(j, "learned_from");
        c.teacherSpec = stringAt(j, "teacher");
        c.temperature = optionalAt<double>(j, "temperature");
        c.alpha = optionalAt<double>(j, "alpha");
        c.seed = optionalAt<std::uint64_t>(j, "seed");
        c.epochs = optionalAt<int>(j, "epochs");
        if (j.contains("test_accuracy")) {
            const auto& a = j.at("test_accuracy");
            c.accuracy = optionalAt<double>(a, "this_model");
            c.studentAccuracy = optionalAt<double>(a, "student");
            c.teacherAccuracy = optionalAt<double>(a, "teacher");
            c.baselineAccuracy = optionalAt<double>(a, "baseline");
        }
        c.testImages = optionalAt<std::int64_t>(j, "test_images");
        c.trainedAt = stringAt(j, "trained_at");
        c.exportedAt = stringAt(j, "exported_at");
    } catch (const nlohmann::json::exception& e) {
        throw Error(source + ": model card has a field of the wrong type (" + e.what() + ")");
    }
    return c;
}

} // namespace kd
