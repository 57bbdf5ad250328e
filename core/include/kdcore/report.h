#pragma once

#include "kdcore/config.h"
#include "kdcore/trainer.h"

#include <optional>
#include <string>
#include <vector>

namespace kd {

// (err_baseline - err_student) / (err_baseline - err_teacher): the share of the teacher-baseline gap the
// distilled student closed. Empty when the teacher is not better than the baseline (the ratio means nothing).
std::optional<double> gapRecovered(double teacherAccuracy, double baselineAccuracy, double studentAccuracy);

// One model of a run in the order a method's comparison reads: kd gives teacher, baseline, student;
// ensemble gives its members, the ensemble, baseline, student; born-again gives teacher, baseline, each
// generation; assistant gives teacher, assistant, baseline, direct KD, student via the assistant. Models a
// stopped run did not reach are left out.
struct ComparisonRow {
    std::string label; // "member 2", "ensemble", "teacher", "baseline", "generation 3", "direct KD", ...
    std::string key;   // "teacher" | "baseline" | "student" | a stage id ("member-2", "direct", ...)
    ModelResult model;
};
std::vector<ComparisonRow> methodComparison(const ExperimentResult& result);

// One sentence that reads the comparison for a person, e.g. "The ensemble (91.2%) beats its best member
// (90.4%); its student reaches 88.9% against 88.1% for the baseline." Empty for kd (the gap line says it).
std::string methodVerdict(const ExperimentResult& result);

// {"teacher": {...}, "baseline": {...}, "student": {...}, "config": {...}, "timing": {...}, ...}
std::string summaryJson(const ExperimentConfig& config, const ExperimentResult& result);

// One row per model per epoch.
std::string metricsCsv(const ExperimentResult& result);

// Writes `text` to `path` atomically (temporary file, then rename). Throws kd::Error naming the path.
void writeTextFile(const std::string& path, const std::string& text);

// Creates `dir` and its parents if missing; throws kd::Error if that fails or it is not writable.
void ensureWritableDirectory(const std::string& dir);

} // namespace kd
