#pragma once
// Exporting a trained model for deployment outside kdlab: TorchScript (.pt) and ONNX (.onnx), each with a
// model card (.json) beside it. Both formats share one contract: input float [N, C, H, W] (1 x 28 x 28 for
// the MNIST-style datasets) with pixel values in [0, 1]; the training set's normalisation is inside the
// model; output logits [N, classes]. Dropout is left out (inference).

#include "kdcore/modelspec.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace kd {

struct ExperimentConfig;
struct ExperimentResult;

// Checkpoint: a copy of the kdlab checkpoint itself (for kdlab), with the card beside it.
enum class ExportFormat { TorchScript, Onnx, Checkpoint };
// "torchscript" | "onnx" | "checkpoint" (case-insensitive); throws kd::Error listing them.
ExportFormat parseExportFormat(const std::string& name);
const char* exportFormatName(ExportFormat format);      // "torchscript" | "onnx" | "checkpoint"
const char* exportFormatExtension(ExportFormat format); // ".pt" | ".onnx" | ".pt"

// What a deployed model needs to be understood and trusted: what it is, what it was trained on and how, and
// how well it and its teacher and baseline did. Unknown values are empty / nullopt (a checkpoint written
// before kdlab recorded them, or a model loaded rather than trained).
struct ModelCard {
    // The model.
    std::string model; // "student" | "baseline" | "teacher", or a method's stage id ("assistant", ...)
    std::string spec;
    ModelStats stats; // params, FLOPs per image, float32 parameter bytes
    InputShape input;
    float mean = 0.f, stddev = 1.f; // the normalisation inside the model
    std::vector<std::string> classNames;
    // Its training.
    std::string dataset;
    std::string method;
    std::string
        learnedFrom; // e.g. "the teacher's soft targets at temperature T with weight alpha, and the labels"
    std::string teacherSpec;
    std::optional<double> temperature, alpha;
    std::optional<std::uint64_t> seed;
    std::optional<int> epochs;
    std::string trainedAt; // ISO 8601 UTC, when the checkpoint was written
    // Test accuracy (0..1): this model's, and the run's student, teacher and baseline.
    std::optional<double> accuracy, studentAccuracy, teacherAccuracy, baselineAccuracy;
    std::optional<std::int64_t> testImages;
    // The exported file (set by exportCheckpoint).
    std::string format;
    std::string file;
    std::int64_t fileBytes = 0;
    std::string exportedAt;
};

// The card of model `model` ("teacher" | "baseline" | "student" | a stage id) of a finished run.
ModelCard makeModelCard(const ExperimentConfig& config, const ExperimentResult& result,
                        const std::string& model, const std::vector<std::string>& classNames,
                        std::int64_t testImages);
std::string modelCardJson(const ModelCard& card, int indent = 2);
// Throws kd::Error "<source>: ..." when `json` is not a model card.
ModelCard modelCardFromJson(const std::string& json, const std::string& source);
// The current time as ISO 8601 UTC ("2026-11-24T10:00:00Z").
std::string isoTimeNow();

struct ExportResult {
    std::string modelPath;
    std::string cardPath; // modelPath + ".json"
    ModelCard card;
    // The check every export passes before it is kept: the exported file, run by its runtime (TorchScript:
    // LibTorch's interpreter; ONNX: OpenCV DNN; checkpoint: reloaded by kdlab), against the checkpoint's
    // model on probe images.
    std::string checkedWith;
    double maxLogitDifference = 0;
};

// Exports the model in a kdlab checkpoint to `outPath` and writes its card to `outPath + ".json"`. The
// card's training details come from the checkpoint (kdlab writes them into every checkpoint it saves);
// `overrides`, when given, replaces them (the app passes what it knows of the run). Both files are written
// beside their targets and renamed over them only when complete and checked (ONNX: onnx::checker;
// TorchScript: reloaded and run), so a failure (unwritable folder, disk full, a layer the format cannot
// express) throws kd::Error naming the file and leaves no half-written file and any earlier export intact.
ExportResult exportCheckpoint(const std::string& checkpointPath, ExportFormat format,
                              const std::string& outPath, const ModelCard* overrides = nullptr);

} // namespace kd
