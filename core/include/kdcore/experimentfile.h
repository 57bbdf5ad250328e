#pragma once

#include "kdcore/config.h"
#include "kdcore/trainer.h"

#include <map>
#include <string>
#include <vector>

namespace kd {

// One point of a model's per-batch training loss curve. x counts epochs of that model: batch b of epoch e (of
// B batches) is at e - 1 + b / B, so the three models share one axis. Losses are smoothed for display.
struct BatchPoint {
    Role role = Role::Teacher;
    double x = 0;
    double loss = 0, soft = 0, hard = 0; // soft/hard: distilled student only
};

// A change of T or alpha during a run, at position x of the model then training.
struct ParameterMarker {
    Role role = Role::Teacher;
    double x = 0;
    double temperature = 0, alpha = 0;
};

// One run of an experiment, as the app keeps it (run list, overlays) and saves it in a .kdlab file.
struct RunRecord {
    std::string name;           // e.g. "T=2 a=0.5 mlp:128"
    std::string created;        // ISO 8601 local time when the run started
    std::string status = "new"; // new | running | done | stopped | failed
    std::string error;          // failed: the one-line message
    ExperimentConfig config;
    ExperimentResult result;         // result.history holds the per-epoch metrics (filled live)
    std::vector<BatchPoint> batches; // per-batch curve points; a loaded run lists teacher, baseline, then
                                     // student points (saved grouped by role, the order training makes them)
    std::vector<ParameterMarker> markers;
    std::map<std::string, std::string> checkpoints; // "teacher" | "baseline" | "student" -> .pt path
    // The run's folder: its per-epoch checkpoints are in checkpointDir/checkpoints
    // (Trainer::setCheckpointDir), what an interrupted run resumes from. Empty: none (e.g. runs saved before
    // kdlab kept them).
    std::string checkpointDir;
};

// .kdlab files: JSON {"format": "kdlab-experiment", "version": 1, "runs": [...]}. Writing is atomic (a
// temporary file, then rename). Reading throws kd::Error naming the file and, where it applies, the field
// (e.g. "x.kdlab: runs[1].config.alpha: must be in [0, 1]"); a file from a newer version, a truncated file or
// a different format is refused with a message that says so. A failed read changes nothing. Saving refuses
// (kd::Error naming the field) what reading would: a NaN or infinite number, an unknown status, an invalid
// config; the file on disk is then left as it was.
constexpr int kExperimentFileVersion = 1;
void saveExperimentFile(const std::string& path, const std::vector<RunRecord>& runs);
std::vector<RunRecord> loadExperimentFile(const std::string& path);

// The same as JSON text (what the file holds), for tests and the autosave. They throw as the file functions
// do; experimentToJson's messages start "experiment: " where saving names the file.
std::string experimentToJson(const std::vector<RunRecord>& runs);
std::vector<RunRecord> experimentFromJson(const std::string& jsonText, const std::string& source);

} // namespace kd
