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
    const auto gap = gapRecovered(r.teacher.testAccuracy, r.baseline.testAccuracy, r.student.testAccuracy);
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
