#include "kdcore/memory.h"

#include "kdcore/error.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <string>
#include <unistd.h>
#include <vector>

namespace kd {

namespace {

constexpr std::int64_t kFloat = 4;

// Memory still free in this process's cgroup (v2, then v1), or -1.
std::int64_t cgroupRoom() {
    auto readNumber = [](const char* path) -> std::int64_t {
        std::ifstream in(path);
        std::string text;
        if (!(in >> text) || text == "max")
            return -1;
        try {
            return std::stoll(text);
        } catch (...) {
            return -1;
        }
    };
    const std::int64_t limit = readNumber("/sys/fs/cgroup/memory.max");
    if (limit > 0) {
        const std::int64_t used = readNumber("/sys/fs/cgroup/memory.current");
        return used >= 0 ? std::max<std::int64_t>(limit - used, 0) : limit;
    }
    const std::int64_t v1 = readNumber("/sys/fs/cgroup/memory/memory.limit_in_bytes");
    if (v1 > 0 && v1 < (std::int64_t(1) << 60)) {
        const std::int64_t used = readNumber("/sys/fs/cgroup/memory/memory.usage_in_bytes");
        return used >= 0 ? std::max<std::int64_t>(v1 - used, 0) : v1;
    }
    return -1;
}

} // namespace

MemoryEstimate estimateRunMemory(const ExperimentConfig& c, const InputShape& input, std::int64_t trainImages,
                                 std::int64_t testImages) {
    MemoryEstimate e;
    const std::int64_t pixels = std::int64_t(input.channels) * input.height * input.width;
    e.dataBytes = (trainImages + testImages) * (pixels * kFloat + 8);

    // The models the run builds, by role, each with whether it trains here.
    struct Model {
        std::string role, spec;
        bool trains;
    };
    std::vector<Model> models;
    const bool teacherTrains = c.teacherCheckpoint.empty();
    if (c.method == "ensemble") {
        int k = 1;
        for (const std::string& spec : ensembleMemberSpecs(c))
            models.push_back({"ensemble member " + std::to_string(k++), spec, true});
    } else {
        models.push_back({"teacher", teacherTrains ? c.teacher : std::string(), teacherTrains});
    }
    const std::string studentSpec = c.method == "born-again" ? c.teacher : c.student;
    models.push_back({"baseline", studentSpec, true});
    const int students = c.method == "born-again" ? std::max(c.generations, 1) : 1;
    for (int g = 0; g < students; ++g)
        models.push_back({"student", studentSpec, true});
    if (c.method == "assistant") {
        models.push_back({"assistant", c.assistant, true});
        models.push_back({"direct KD student", c.student, true});
    }

    const std::int64_t optimizerCopies = c.optimizer == "sgd" ? 1 : 2; // momentum buffer; Adam's m and v
    std::int64_t weights = 0, peakTraining = 0;
    for (const Model& m : models) {
        ModelStats s;
        try {
            s = modelStats(parseModelSpec(m.spec), input);
        } catch (const Error&) {
            continue; // a teacher given as a checkpoint: its spec is not read (and the check is a guard)
        }
        weights += s.bytes;
        if (!m.trains)
            continue;
        // Gradients and optimizer state per weight; activations (output, ReLU, dropout mask) per image of a
        // batch, kept for the backward pass.
        const std::int64_t training =
            s.bytes * (1 + optimizerCopies) + 3 * s.activationsPerSample * std::max(c.batchSize, 1) * kFloat;
        if (training + s.bytes > e.largestModelBytes) {
            e.largestModelBytes = training + s.bytes;
            e.largestModel = m.role + " " + m.spec;
        }
        peakTraining = std::max(peakTraining, training);
    }
    // The teacher's logits on every training image (an ensemble: each member's) and every model's on the
    // test images.
    const std::int64_t logitSets = c.method == "ensemble" ? std::int64_t(ensembleMemberSpecs(c).size()) : 1;
    const std::int64_t logits =
        (logitSets * trainImages + std::int64_t(models.size()) * testImages) * input.classes * kFloat;
    e.bytes = e.dataBytes + weights + peakTraining + logits;
    return e;
}

std::int64_t availableMemoryBytes() {
    std::int64_t available = -1;
    std::ifstream meminfo("/proc/meminfo");
    std::string key;
    std::int64_t value = 0;
    std::string unit;
    while (meminfo >> key >> value >> unit)
        if (key == "MemAvailable:") {
            available = value * 1024;
            break;
        }
    if (available < 0) {
        const long pages = sysconf(_SC_AVPHYS_PAGES), pageSize = sysconf(_SC_PAGESIZE);
        if (pages > 0 && pageSize > 0)
            available = std::int64_t(pages) * pageSize;
    }
    const std::int64_t room = cgroupRoom();
    if (room >= 0 && (available < 0 || room < available))
        available = room;
    return std::max<std::int64_t>(available, 0);
}

std::string memoryText(std::int64_t bytes) {
    char text[32];
    const double mb = double(bytes) / (1024.0 * 1024.0);
    if (mb >= 1024)
        std::snprintf(text, sizeof text, "%.1f GB", mb / 1024.0);
    else
        std::snprintf(text, sizeof text, "%.0f MB", std::max(mb, 1.0));
    return text;
}

std::string checkRunMemory(const MemoryEstimate& e, std::int64_t available) {
    if (available <= 0)
        return {}; // unknown: no check rather than a false refusal
    const std::string figures = "the run needs about " + memoryText(e.bytes) + " of memory (the " +
                                e.largestModel + " alone " + memoryText(e.largestModelBytes) + ") and " +
                                memoryText(available) + " is available";
    if (e.bytes > available)
        throw Error("not enough memory: " + figures +
                    "; pick a smaller model or batch size, or fewer training images");
    if (double(e.bytes) > kMemoryWarnShare * double(available))
        return "memory is tight: " + figures + "; other programs may slow down or be stopped";
    return {};
}

} // namespace kd
