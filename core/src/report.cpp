#include "kdcore/report.h"
#include "kdcore/error.h"

#include <nlohmann/json.hpp>

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
            {"trained", m.trained}};
}

} // namespace

std::optional<double> gapRecovered(double teacherAccuracy, double baselineAccuracy, double studentAccuracy) {
    const double gap = (1 - baselineAccuracy) - (1 - teacherAccuracy);
    if (!(gap > 1e-9))
        return std::nullopt;
    return ((1 - baselineAccuracy) - (1 - studentAccuracy)) / gap;
}

std::string summaryJson(const ExperimentConfig& config, const ExperimentResult& r) {
    nlohmann::json doc;
    doc["teacher"] = modelJson(r.teacher);
    doc["baseline"] = modelJson(r.baseline);
    doc["student"] = modelJson(r.student);
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
    for (const EpochMetrics& e : r.history)
        out << roleName(e.role) << ',' << e.epoch << ',' << e.trainLoss << ',' << e.trainSoft << ','
            << e.trainHard << ',' << e.testLoss << ',' << e.testAccuracy << ',' << e.temperature << ','
            << e.alpha << ',' << e.epochSeconds << ',' << e.samplesPerSecond << '\n';
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
