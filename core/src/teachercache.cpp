#include "teachercache.h"
#include "checkpointio.h"

#include "kdcore/error.h"
#include "kdcore/experimentfile.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>

namespace kd {
namespace {

constexpr const char* kKeyEntry = "kdlab.teacher_cache.key";
constexpr const char* kResultEntry = "kdlab.teacher_cache.result";

std::uint64_t fnv1a(const std::string& text) {
    std::uint64_t h = 0xcbf29ce484222325ull;
    for (unsigned char ch : text) {
        h ^= ch;
        h *= 0x100000001b3ull;
    }
    return h;
}

} // namespace

std::string teacherCacheKey(const ExperimentConfig& c, const std::string& dataFingerprint,
                            const std::string& device, int threads) {
    // Everything train() reads for a teacher, by name: the data, the architecture, its epochs and seed, the
    // optimiser, the batch size, the augmentation, and where and how it ran. Nothing else (the students'
    // settings, or other settings' defaults) may change the key.
    const std::string augment = teacherAugmentation(c);
    const nlohmann::json key = {
        {"dataset", c.dataset},
        {"data", dataFingerprint},
        {"train_limit", c.trainLimit},
        {"test_limit", c.testLimit}, // its reported accuracy and per-epoch history are on these test images
        {"teacher", c.teacher},
        {"teacher_epochs", c.teacherEpochs},
        {"teacher_seed", c.teacherSeed != 0 ? c.teacherSeed : c.seed},
        {"batch_size", c.batchSize},
        {"lr", c.lr},
        {"lr_schedule", c.lrSchedule},
        {"optimizer", c.optimizer},
        {"momentum", c.optimizer == "sgd" ? c.momentum : 0.0},
        {"weight_decay", c.weightDecay},
        {"augment", augment},
        {"shift_pixels", augment == "none" ? 0 : c.shiftPixels},
        {"device", device},
        {"threads", threads},
        {"linear_backend", linearBackendName()},
        {"conv_backend", convBackendName()}};
    return "kdlab teacher cache 1\n" + key.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string teacherCachePath(const std::string& dir, const std::string& key) {
    char name[40];
    std::snprintf(name, sizeof name, "teacher-%016llx.pt", static_cast<unsigned long long>(fnv1a(key)));
    return dir + "/" + name;
}

bool loadCachedTeacher(const std::string& path, const std::string& key, KdNet& net, ModelResult& result) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec))
        return false;
    std::string storedKey, json;
    try {
        net = loadNet(path, nullptr, [&](torch::serialize::InputArchive& archive) {
            c10::IValue k, r;
            if (!archive.try_read(kKeyEntry, k) || !k.isString() || !archive.try_read(kResultEntry, r) ||
                !r.isString())
                throw Error(path + ": not a kdlab teacher-cache file (no key or result)");
            storedKey = k.toStringRef();
            json = r.toStringRef();
        });
    } catch (const c10::Error& e) {
        throw Error(path + ": damaged (" + std::string(e.what_without_backtrace()) + ")");
    }
    if (storedKey != key)
        throw Error(path + ": written for other settings (a hash collision or an edited file)");
    const std::vector<RunRecord> records = experimentFromJson(json, path);
    if (records.size() != 1 || records.front().result.teacher.spec != net->spec().toString())
        throw Error(path + ": damaged (its result does not match its weights)");
    result = records.front().result.teacher;
    result.trained = false;
    return true;
}

void storeCachedTeacher(const std::string& path, const std::string& key, KdNetImpl& net,
                        const ModelResult& result) {
    std::error_code ec;
    std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
    RunRecord record;
    record.name = "cached teacher";
    record.status = "done";
    record.result.teacher = result;
    const std::string json = experimentToJson({record});
    saveNet(net, path, {}, [&](torch::serialize::OutputArchive& archive) {
        archive.write(kKeyEntry, c10::IValue(key));
        archive.write(kResultEntry, c10::IValue(json));
    });
}

} // namespace kd
