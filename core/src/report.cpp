#include "kdcore/report.h"
#include "kdcore/error.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

namespace kd {
namespace {

// null when the comparison was not made (a model not reached).
nlohmann::json comparisonJson(const PairedTest& t) {
    if (!t.valid())
        return nullptr;
    return {{"n", t.n},
            {"both", t.both},
            {"only_a", t.onlyA},
            {"only_b", t.onlyB},
            {"difference", t.difference},
            {"ci_low", t.low},
            {"ci_high", t.high},
            {"p_value", t.pValue},
            {"significant", t.significant()}};
}

nlohmann::json modelJson(const ModelResult& m) {
    return {{"spec", m.spec},
            {"test_accuracy", m.testAccuracy},
            {"test_loss", m.testLoss},
            {"params", m.stats.params},
            {"flops_per_sample", m.stats.flopsPerSample},
            {"size_bytes", m.stats.bytes},
            {"epochs_trained", m.epochsTrained},
            {"trained", m.trained},
            {"diverged", m.divergence.empty() ? nlohmann::json(nullptr) : nlohmann::json(m.divergence)}};
}

} // namespace

std::optional<double> gapRecovered(double teacherAccuracy, double baselineAccuracy, double studentAccuracy) {
    const double gap = (1 - baselineAccuracy) - (1 - teacherAccuracy);
    if (!(gap > 1e-9))
        return std::nullopt;
    return ((1 - baselineAccuracy) - (1 - studentAccuracy)) / gap;
}

GapVerdict gapVerdict(const PairedTest& teacherVsBaseline, double teacherAccuracy, double baselineAccuracy) {
    const bool teacherLeads = teacherAccuracy - baselineAccuracy > 1e-9;
    if (!teacherVsBaseline.valid())
        return teacherLeads ? GapVerdict::Real : GapVerdict::TeacherNotBetter;
    if (!teacherLeads || !(teacherVsBaseline.difference > 0))
        return GapVerdict::TeacherNotBetter;
    // A lead the test set cannot tell from noise makes the ratio's denominator noise too: with a 0.2-point
    // lead, a 2-point student gain read as "1000% recovered".
    return teacherVsBaseline.significant() ? GapVerdict::Real : GapVerdict::WithinNoise;
}

std::optional<double> gapRecovered(const PairedTest& teacherVsBaseline, double teacherAccuracy,
                                   double baselineAccuracy, double studentAccuracy) {
    if (gapVerdict(teacherVsBaseline, teacherAccuracy, baselineAccuracy) != GapVerdict::Real)
        return std::nullopt;
    return gapRecovered(teacherAccuracy, baselineAccuracy, studentAccuracy);
}

bool studentsUntrained(const ExperimentResult& r) {
    return r.studentsUntrained;
}

std::string nothingToCompareReason(const ExperimentConfig& c) {
    if (c.epochs == 0)
        return "epochs: 0 student epochs leave both students untrained: nothing to compare; set at least 1";
    return {};
}

std::optional<double> gapRecovered(const ExperimentResult& r) {
    if (studentsUntrained(r))
        return std::nullopt;
    return gapRecovered(r.teacherVsBaseline, r.teacher.testAccuracy, r.baseline.testAccuracy,
                        r.student.testAccuracy);
}

namespace {

// "10,000".
std::string thousands(std::int64_t n) {
    std::string digits = std::to_string(n);
    for (int i = int(digits.size()) - 3; i > 0; i -= 3)
        digits.insert(std::size_t(i), ",");
    return digits;
}

// "+0.20 points, 95% CI -0.35 to +0.75, p = 0.52 on 1,000 test images".
std::string testFigures(const PairedTest& t) {
    return formatPoints(t.difference) + " points, 95% CI " + formatPoints(t.low) + " to " +
           formatPoints(t.high) + ", " + formatPValue(t.pValue) + " on " + thousands(t.n) +
           (t.n == 1 ? " test image" : " test images");
}

} // namespace

std::string noGapReason(const PairedTest& teacherVsBaseline, double teacherAccuracy,
                        double baselineAccuracy) {
    const std::string advice =
        "so there is no gap to recover: train the teacher longer or pick a stronger one";
    switch (gapVerdict(teacherVsBaseline, teacherAccuracy, baselineAccuracy)) {
    case GapVerdict::Real:
        return {};
    case GapVerdict::WithinNoise:
        return "the teacher's lead (" + testFigures(teacherVsBaseline) +
               ") is within the test set's noise, so there is no gap to speak of";
    case GapVerdict::TeacherNotBetter:
        break;
    }
    if (teacherVsBaseline.valid()) {
        const bool worse = teacherVsBaseline.significant() && teacherVsBaseline.difference < 0;
        return std::string(worse ? "the teacher is worse than" : "the teacher is not better than") +
               " the baseline (" + testFigures(teacherVsBaseline) + "), " + advice;
    }
    return "the teacher is not better than the baseline, " + advice;
}

std::string noGapReason(const ExperimentResult& r) {
    if (studentsUntrained(r))
        return "the students were not trained (0 epochs), so there is nothing to compare";
    return noGapReason(r.teacherVsBaseline, r.teacher.testAccuracy, r.baseline.testAccuracy);
}

namespace {

bool reached(const ModelResult& m) {
    return m.trained || m.epochsTrained > 0 || !m.spec.empty();
}

std::string percent(double accuracy) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f%%", accuracy * 100);
    return buf;
}

} // namespace

std::vector<ComparisonRow> methodComparison(const ExperimentResult& r) {
    std::vector<ComparisonRow> rows;
    auto add = [&rows](const std::string& label, const std::string& key, const ModelResult& m) {
        if (reached(m))
            rows.push_back({label, key, m});
    };
    auto addStages = [&](const std::string& kind) {
        for (const StageResult& st : r.stages)
            if (st.kind == kind)
                add(st.name, st.id, st.model);
    };
    if (r.method == "ensemble") {
        addStages("member");
        add("ensemble", "teacher", r.teacher);
        add("baseline", "baseline", r.baseline);
        add("student", "student", r.student);
    } else if (r.method == "born-again") {
        add("teacher", "teacher", r.teacher);
        add("baseline", "baseline", r.baseline);
        addStages("generation");
        int generations = 1;
        for (const StageResult& st : r.stages)
            generations += st.kind == "generation";
        add("generation " + std::to_string(generations), "student", r.student);
    } else if (r.method == "assistant") {
        add("teacher", "teacher", r.teacher);
        addStages("assistant");
        add("baseline", "baseline", r.baseline);
        addStages("direct");
        add("via assistant", "student", r.student);
    } else {
        add("teacher", "teacher", r.teacher);
        add("baseline", "baseline", r.baseline);
        add("student", "student", r.student);
    }
    return rows;
}

std::string methodVerdict(const ExperimentResult& r) {
    if (r.stopped || !r.student.trained)
        return {};
    const std::string baseline =
        reached(r.baseline) ? " (baseline " + percent(r.baseline.testAccuracy) + ")" : std::string();
    if (r.method == "ensemble") {
        double best = -1;
        for (const StageResult& st : r.stages)
            best = std::max(best, st.model.testAccuracy);
        return "The ensemble scores " + percent(r.teacher.testAccuracy) +
               (r.teacher.testAccuracy > best ? ", better than" : ", not better than") +
               " its best member (" + percent(best) + "); the student distilled from it scores " +
               percent(r.student.testAccuracy) + baseline + ".";
    }
    if (r.method == "born-again") {
        std::string list;
        for (const StageResult& st : r.stages)
            if (st.kind == "generation")
                list += percent(st.model.testAccuracy) + ", ";
        list += percent(r.student.testAccuracy);
        return "Teacher " + percent(r.teacher.testAccuracy) + "; generations 1.." +
               std::to_string(r.stages.size() + 1) + ": " + list + baseline + ".";
    }
    if (r.method == "assistant") {
        const StageResult* direct = nullptr;
        const StageResult* assistant = nullptr;
        for (const StageResult& st : r.stages) {
            direct = st.kind == "direct" ? &st : direct;
            assistant = st.kind == "assistant" ? &st : assistant;
        }
        if (!direct || !assistant)
            return {};
        char delta[32];
        std::snprintf(delta, sizeof delta, "%+.2f",
                      (r.student.testAccuracy - direct->model.testAccuracy) * 100);
        return "Taught by the assistant (" + percent(assistant->model.testAccuracy) +
               "), the student scores " + percent(r.student.testAccuracy) + "; taught by the teacher (" +
               percent(r.teacher.testAccuracy) + ") directly, " + percent(direct->model.testAccuracy) + ": " +
               delta + " points" + baseline + ".";
    }
    return {};
}

std::string summaryJson(const ExperimentConfig& config, const ExperimentResult& r) {
    nlohmann::json doc;
    doc["teacher"] = modelJson(r.teacher);
    doc["baseline"] = modelJson(r.baseline);
    doc["student"] = modelJson(r.student);
    doc["method"] = r.method;
    doc["stages"] = nlohmann::json::array();
    for (const StageResult& st : r.stages) {
        nlohmann::json stage = modelJson(st.model);
        stage["id"] = st.id;
        stage["name"] = st.name;
        stage["kind"] = st.kind;
        doc["stages"].push_back(stage);
    }
    doc["config"] = nlohmann::json::parse(configToJson(config));
    doc["timing"] = {{"teacher_seconds_per_epoch", r.teacher.secondsPerEpoch},
                     {"baseline_seconds_per_epoch", r.baseline.secondsPerEpoch},
                     {"student_seconds_per_epoch", r.student.secondsPerEpoch},
                     {"teacher_logits_seconds", r.teacherLogitsSeconds},
                     {"total_seconds", r.totalSeconds}};
    // A = the first named model, B = the baseline: difference = accuracy(A) - accuracy(B).
    doc["comparisons"] = {{"student_vs_baseline", comparisonJson(r.studentVsBaseline)},
                          {"teacher_vs_baseline", comparisonJson(r.teacherVsBaseline)}};
    const auto gap = gapRecovered(r);
    doc["gap_recovered"] = gap ? nlohmann::json(*gap) : nlohmann::json(nullptr);
    doc["stopped"] = r.stopped;
    doc["device"] = r.device;
    doc["threads"] = r.threads;
    return doc.dump(2) + "\n";
}

std::string metricsCsv(const ExperimentResult& r) {
    std::ostringstream out;
    out.precision(6);
    out << "model,epoch,train_loss,train_soft,train_hard,test_loss,test_accuracy,temperature,alpha,epoch_"
           "seconds,"
           "samples_per_second\n";
    auto row = [&out](const std::string& model, const EpochMetrics& e) {
        out << model << ',' << e.epoch << ',' << e.trainLoss << ',' << e.trainSoft << ',' << e.trainHard
            << ',' << e.testLoss << ',' << e.testAccuracy << ',' << e.temperature << ',' << e.alpha << ','
            << e.epochSeconds << ',' << e.samplesPerSecond << '\n';
    };
    // A method's extra models first, in training order (an ensemble's members come before its students).
    for (const StageResult& st : r.stages)
        for (const EpochMetrics& e : st.history)
            row(st.id, e);
    for (const EpochMetrics& e : r.history)
        row(roleName(e.role), e);
    return out.str();
}

void writeTextFile(const std::string& path, const std::string& text) {
    const std::string tmp = path + ".tmp";
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        if (!out)
            throw Error(path + ": cannot write (" + std::strerror(errno) + ")");
        out << text;
        out.flush();
        if (!out) {
            std::remove(tmp.c_str());
            throw Error(path + ": write failed (disk full?)");
        }
    }
    if (std::rename(tmp.c_str(), path.c_str()) != 0) {
        const std::string why = std::strerror(errno);
        std::remove(tmp.c_str());
        throw Error(path + ": cannot write (" + why + ")");
    }
}

void ensureWritableDirectory(const std::string& dir) {
    if (dir.empty())
        throw Error("output folder: empty path");
    std::string partial;
    std::stringstream ss(dir);
    std::string part;
    if (dir[0] == '/')
        partial = "/";
    while (std::getline(ss, part, '/')) {
        if (part.empty())
            continue;
        partial += part;
        struct stat st {};
        if (::stat(partial.c_str(), &st) != 0) {
            if (::mkdir(partial.c_str(), 0777) != 0 && errno != EEXIST)
                throw Error(dir + ": cannot create folder " + partial + " (" + std::strerror(errno) + ")");
        } else if (!S_ISDIR(st.st_mode)) {
            throw Error(dir + ": " + partial + " exists and is not a folder");
        }
        partial += "/";
    }
    if (::access(dir.c_str(), W_OK) != 0)
        throw Error(dir + ": folder is not writable (" + std::strerror(errno) + ")");
}

} // namespace kd
