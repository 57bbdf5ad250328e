#pragma once

#include "kdcore/config.h"
#include "kdcore/trainer.h"

#include <optional>
#include <string>

namespace kd {

// (err_baseline - err_student) / (err_baseline - err_teacher): the share of the teacher-baseline gap the
// distilled student closed. Empty when the teacher is not better than the baseline (the ratio means nothing).
std::optional<double> gapRecovered(double teacherAccuracy, double baselineAccuracy, double studentAccuracy);

// {"teacher": {...}, "baseline": {...}, "student": {...}, "config": {...}, "timing": {...}, ...}
std::string summaryJson(const ExperimentConfig& config, const ExperimentResult& result);

// One row per model per epoch.
std::string metricsCsv(const ExperimentResult& result);

// Writes `text` to `path` atomically (temporary file, then rename). Throws kd::Error naming the path.
void writeTextFile(const std::string& path, const std::string& text);

// Creates `dir` and its parents if missing; throws kd::Error if that fails or it is not writable.
void ensureWritableDirectory(const std::string& dir);

} // namespace kd
