#pragma once

#include "kdcore/config.h"
#include "kdcore/stats.h"
#include "kdcore/trainer.h"

#include <optional>
#include <string>
#include <vector>

namespace kd {

// (err_baseline - err_student) / (err_baseline - err_teacher): the share of the teacher-baseline gap the
// distilled student closed. Empty when the teacher is not better than the baseline (the ratio means nothing).
// The sweep's reading (means over seeds have no paired test).
std::optional<double> gapRecovered(double teacherAccuracy, double baselineAccuracy, double studentAccuracy);

// Whether a run's teacher-baseline gap is there to recover: Real (the teacher is significantly better on
// the test images or, without that test, simply better), WithinNoise (it leads, but not significantly) or
// TeacherNotBetter. The one place that decides; teacherVsBaseline: A = teacher, B = baseline. Where that
// test is missing (a run in progress, a file from before it was kept) the accuracies alone decide.
enum class GapVerdict { Real, WithinNoise, TeacherNotBetter };
GapVerdict gapVerdict(const PairedTest& teacherVsBaseline, double teacherAccuracy, double baselineAccuracy);

// The gap recovered of one run, shown only where the gap is real: empty unless the teacher is significantly
// better than the baseline (gapVerdict gives Real). The CLI, summary.json and the app all read the gap
// through this.
std::optional<double> gapRecovered(const PairedTest& teacherVsBaseline, double teacherAccuracy,
                                   double baselineAccuracy, double studentAccuracy);
std::optional<double> gapRecovered(const ExperimentResult& result);

// Why there is no gap, for people, where gapRecovered gives none (empty where it gives one), e.g. "the
// teacher's lead (+0.20 points, 95% CI -0.35 to +0.75, p = 0.52 on 1,000 test images) is within the test
// set's noise, so there is no gap to speak of", or "the teacher is not better than the baseline (...), so
// there is no gap to recover: train the teacher longer or pick a stronger one" ("worse than" where it is
// significantly worse). Lower case, no full stop.
std::string noGapReason(const PairedTest& teacherVsBaseline, double teacherAccuracy, double baselineAccuracy);
// The same for a run; first, where its students did not train (0 epochs: "the students were not trained (0
// epochs), so there is nothing to compare"), no gap and that reason.
std::string noGapReason(const ExperimentResult& result);

// A run whose students learned nothing (0 student epochs, ExperimentResult::studentsUntrained): their
// accuracies are their initial weights', not results to compare.
bool studentsUntrained(const ExperimentResult& result);
// Why a config gives nothing to compare, before it runs ("epochs: 0 student epochs leave both students
// untrained: nothing to compare; set at least 1"), else empty. The app refuses such a run; the CLI trains
// the teacher alone (a teacher-only run) and says so.
std::string nothingToCompareReason(const ExperimentConfig& config);

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

// {"teacher": {...}, "baseline": {...}, "student": {...}, "config": {...}, "timing": {...},
//  "comparisons": {"student_vs_baseline": {...} or null, "teacher_vs_baseline": ...}, "gap_recovered": ...}
std::string summaryJson(const ExperimentConfig& config, const ExperimentResult& result);

// One row per model per epoch.
std::string metricsCsv(const ExperimentResult& result);

// Writes `text` to `path` atomically (temporary file, then rename). Throws kd::Error naming the path.
void writeTextFile(const std::string& path, const std::string& text);

// Creates `dir` and its parents if missing; throws kd::Error if that fails or it is not writable.
void ensureWritableDirectory(const std::string& dir);

} // namespace kd
