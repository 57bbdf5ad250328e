#include "checkpointio.h"
#include "fastconv.h"
#include "fastlinear.h"
#include "losstensors.h"
#include "models.h"
#include "teachercache.h"

#include "kdcore/analysis.h"
#include "kdcore/augment.h"
#include "kdcore/error.h"
#include "kdcore/memory.h"
#include "kdcore/experimentfile.h"
#include "kdcore/export.h"
#include "kdcore/trainer.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <mutex>
#include <random>
#include <sstream>
#ifdef __linux__
#include <sched.h>
#endif
#include <thread>

namespace kd {
namespace {

using Clock = std::chrono::steady_clock;

double secondsSince(Clock::time_point t0) {
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Seeds for each random stream, so changing one model's settings does not shift another's randomness.
enum Stream : std::uint64_t {
    kTeacherInit = 1,
    kStudentInit = 2,
    kTeacherTrain = 3,
    kStudentTrain = 4,
    kAssistantInit = 5,
    kDropout = 6, // added to the train stream: each epoch's dropout masks
    kAugment = 20 // added to the train stream: each batch's augmented views (see kdcore/augment.h)
};

// Divergence without NaN: a loss this many times the model's first batch's (or ln(classes), if larger) is an
// explosion (Adam at lr 50: a mean of 474,998 against 2.3 at the start), not learning. Normal runs, every
// preset included, stay far below: their loss falls from its start.
constexpr double kExplodedBatchFactor = 1000;
constexpr double kExplodedEpochFactor = 100;

// The augmented views of the batch `x` (a fresh tensor from index_select): transforms drawn from `seed`,
// applied on the CPU.
torch::Tensor augmentViews(const torch::Tensor& x, const std::string& augment, int shiftPixels,
                           std::uint64_t seed) {
    torch::Tensor cpu = x.device().is_cpu() ? x.contiguous() : x.to(torch::kCPU).contiguous();
    const std::vector<ViewTransform> views =
        drawViewTransforms(augment, shiftPixels, seed, std::size_t(cpu.size(0)));
    // One channel per image here; a multi-channel set would move each channel alike.
    const int rows = int(cpu.size(2)), cols = int(cpu.size(3));
    const std::int64_t channels = cpu.size(1);
    std::vector<ViewTransform> perPlane;
    perPlane.reserve(views.size() * std::size_t(channels));
    for (const ViewTransform& v : views)
        perPlane.insert(perPlane.end(), std::size_t(channels), v);
    applyViewTransforms(cpu.data_ptr<float>(), rows, cols, perPlane);
    return cpu.to(x.device());
}

// The teacher's seed: its own when set, so runs with different student seeds can share one teacher.
std::uint64_t teacherSeed(const ExperimentConfig& c) {
    return c.teacherSeed != 0 ? c.teacherSeed : c.seed;
}

std::uint64_t streamSeed(std::uint64_t seed, std::uint64_t stream, std::uint64_t epoch = 0) {
    // splitmix64 of the combination: well-spread seeds from small consecutive inputs.
    std::uint64_t z =
        seed * 0x9E3779B97F4A7C15ull + stream * 0xBF58476D1CE4E5B9ull + epoch * 0x94D049BB133111EBull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

// A portable Fisher-Yates permutation (std::shuffle differs between standard libraries).
torch::Tensor permutation(std::int64_t n, std::uint64_t seed) {
    torch::Tensor perm = torch::arange(n, torch::kInt64);
    auto* p = perm.data_ptr<std::int64_t>();
    std::mt19937_64 rng(seed);
    for (std::int64_t i = n - 1; i > 0; --i)
        std::swap(p[i], p[rng() % std::uint64_t(i + 1)]);
    return perm;
}

// Pixels in [0, 1]; each model normalises its input itself (see KdNetImpl).
torch::Tensor imagesToTensor(const ImageSet& set) {
    auto* data = const_cast<std::uint8_t*>(set.pixels.data());
    return torch::from_blob(data, {std::int64_t(set.size()), 1, set.rows, set.cols}, torch::kUInt8)
        .to(torch::kFloat32)
        .div_(255.0f)
        .contiguous();
}

torch::Tensor labelsToTensor(const ImageSet& set) {
    auto* data = const_cast<std::int64_t*>(set.labels.data());
    return torch::from_blob(data, {std::int64_t(set.size())}, torch::kInt64).clone();
}

std::unique_ptr<torch::optim::Optimizer> makeOptimizer(KdNet& net, const ExperimentConfig& c) {
    if (c.optimizer == "sgd")
        return std::make_unique<torch::optim::SGD>(
            net->parameters(),
            torch::optim::SGDOptions(c.lr).momentum(c.momentum).weight_decay(c.weightDecay));
    return std::make_unique<torch::optim::Adam>(net->parameters(),
                                                torch::optim::AdamOptions(c.lr).weight_decay(c.weightDecay));
}

// Evaluation chunk: im2col buffers of a conv layer grow with the batch; past glibc's largest mmap threshold
// (32 MiB) each forward maps and unmaps fresh pages. Measured for cnn:32,64 eval on 2 cores: chunks of 1000
// ran at ~400 images/s, chunks of 128 at ~2,400.
constexpr std::int64_t kEvalChunk = 128;

// glibc returns freed large blocks to the OS (mmap threshold, heap trimming), so every batch's tensors come
// back as freshly zeroed pages: measured up to 3x slower conv forwards. Keep them in the heap instead.
void tuneAllocator() {
#ifdef __GLIBC__
    static std::once_flag once;
    std::call_once(once, [] {
        mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
        mallopt(M_TRIM_THRESHOLD, 1024 * 1024 * 1024);
    });
#endif
}

// Logits for all of x, in chunks, in eval mode, without autograd. Checks `stop` between chunks (a CNN
// teacher's logits on 60,000 images take seconds): returns an undefined tensor when stopped.
torch::Tensor predictAll(KdNet& net, const torch::Tensor& x, const std::atomic<bool>* stop = nullptr) {
    torch::NoGradGuard noGrad;
    net->eval();
    std::vector<torch::Tensor> parts;
    for (std::int64_t i = 0; i < x.size(0); i += kEvalChunk) {
        if (stop && stop->load())
            return {};
        parts.push_back(net->forward(x.slice(/*dim=*/0, i, std::min(i + kEvalChunk, x.size(0)))));
    }
    return torch::cat(parts, /*dim=*/0);
}

// A tensor's values as floats on the CPU, row-major (for kdcore's plain-C++ results).
std::vector<float> toFloats(const torch::Tensor& t) {
    const torch::Tensor cpu = t.to(torch::kCPU, torch::kFloat32).contiguous();
    return std::vector<float>(cpu.data_ptr<float>(), cpu.data_ptr<float>() + cpu.numel());
}

// Cores this process may run on (a container or taskset can give fewer than the machine has).
int usableCores() {
#ifdef __linux__
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof(set), &set) == 0)
        return std::max(1, CPU_COUNT(&set));
#endif
    return std::max(1, int(std::thread::hardware_concurrency()));
}

// Threads. LibTorch runs element-wise ops (and oneDNN's products) on OpenMP threads, and its other matrix
// products on OpenBLAS's own pool; both pools busy-wait, so two of each on 2 cores oversubscribe them
// (measured 2.4x slower for an mlp:1200,1200 epoch, README "Threads"). With oneDNN doing the linear layers,
// OpenMP gets every core and OpenBLAS one thread (measured on 2 cores: mlp:1200,1200 epoch 6,500 -> 9,900
// samples/s, cnn:32,64 epoch 4.6 -> 3.0 s per 12k images); without it, OpenBLAS gets the cores, OpenMP one.
void applyThreadPolicy(int requested) {
    const int cores = usableCores();
    const bool oneDnn = fastLinearUsesOneDnn();
    torch::set_num_threads(requested > 0 ? requested : oneDnn ? cores : 1);
    setOpenBlasThreads(oneDnn ? 1 : cores);
}

// See Trainer::measureInference: median latency for one image and throughput at batch 256 of `net` on the
// first test images.
void measureNet(KdNet net, const torch::Tensor& testX, ModelResult& result, double budgetSeconds) {
    if (!testX.defined() || testX.size(0) == 0)
        throw Error("no test images to measure inference with");
    torch::NoGradGuard noGrad;
    net->eval();
    auto median = [](std::vector<double> v) {
        std::sort(v.begin(), v.end());
        return v[v.size() / 2];
    };
    // Whatever the budget, a few repetitions of each, after one warm-up pass (first-call allocations).
    const torch::Tensor one = testX.slice(/*dim=*/0, 0, 1);
    const torch::Tensor many = testX.slice(/*dim=*/0, 0, std::min<std::int64_t>(256, testX.size(0)));
    auto timeOnce = [&](const torch::Tensor& x) {
        // A pause between repetitions (not timed) leaves the cores to other threads for a moment: measured in
        // the app, back-to-back passes on every core delayed the GUI thread by up to 60 ms.
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
        const auto t0 = Clock::now();
        torch::Tensor out = net->forward(x);
        out.sum().item<float>(); // waits for the result on any device
        return secondsSince(t0);
    };
    timeOnce(one);
    timeOnce(many);
    std::vector<double> single, batch;
    const auto start = Clock::now();
    while (single.size() < 5 || (secondsSince(start) < budgetSeconds / 3 && single.size() < 1000))
        single.push_back(timeOnce(one));
    const auto batchStart = Clock::now();
    while (batch.size() < 3 || (secondsSince(batchStart) < budgetSeconds * 2 / 3 && batch.size() < 100))
        batch.push_back(timeOnce(many));
    result.latencyMs = median(single) * 1000.0;
    result.imagesPerSecond = double(many.size(0)) / median(batch);
}

// Identifies a loaded dataset's contents (FNV-1a over sizes, pixels and labels) for the teacher cache: a
// dataset file replaced under the same name gives another key.
std::string fingerprint(const Dataset& ds) {
    std::uint64_t h = 0xcbf29ce484222325ull;
    auto mix = [&h](const void* data, std::size_t bytes) {
        const auto* p = static_cast<const unsigned char*>(data);
        for (std::size_t i = 0; i < bytes; ++i) {
            h ^= p[i];
            h *= 0x100000001b3ull;
        }
    };
    for (const ImageSet* set : {&ds.train, &ds.test}) {
        const std::int64_t dims[3] = {std::int64_t(set->size()), set->rows, set->cols};
        mix(dims, sizeof dims);
        mix(set->pixels.data(), set->pixels.size());
        mix(set->labels.data(), set->labels.size() * sizeof(std::int64_t));
    }
    char text[64];
    std::snprintf(text, sizeof text, "%zu/%zu images, %016llx", ds.train.size(), ds.test.size(),
                  static_cast<unsigned long long>(h));
    return text;
}

} // namespace

const char* linearBackendName() {
    return fastLinearUsesOneDnn() ? "oneDNN sgemm" : "LibTorch BLAS";
}

const char* convBackendName() {
    return fastConvUsesOneDnn() ? "oneDNN" : "LibTorch";
}

std::string resolveDevice(const std::string& requested) {
    if (requested == "cpu")
        return "cpu";
    const bool cuda = torch::cuda::is_available();
    if (requested == "cuda") {
        if (!cuda)
            throw Error(
                "device cuda: this LibTorch build has no CUDA support or no GPU is visible (use --device cpu "
                "or auto)");
        return "cuda";
    }
    if (requested == "auto")
        return cuda ? "cuda" : "cpu";
    throw Error("device '" + requested + "': expected auto, cpu or cuda");
}

struct Trainer::Impl {
    TrainingObserver* observer = nullptr;
    std::atomic<bool> stopRequested{false};
    std::atomic<bool> paused{false};
    std::atomic<double> temperature{2.0};
    std::atomic<double> alpha{0.5};
    bool trainBaseline = true;
    std::mutex pauseMutex;
    std::condition_variable pauseChanged;

    // What a run may replace; a failed run puts the previous state back (see run()).
    struct Kept {
        // Loaded once per (dataset, limits, device) and kept across runs.
        std::string datasetKey;
        std::shared_ptr<Dataset> dataset;
        torch::Tensor trainX, trainY, testX, testY;
        torch::Device device{torch::kCPU};
        InputShape input;
        // The trained teacher and its cached logits on the training set, kept for "reuse teacher".
        std::string teacherKey;
        KdNet teacher{nullptr};     // null for an ensemble teacher
        std::vector<KdNet> members; // an ensemble teacher's members
        std::vector<StageResult> memberResults;
        // Soft-target source: [N, C] logits, or [K, N, C] for an ensemble (see softTargetLogits).
        torch::Tensor teacherLogits;
        torch::Tensor teacherTestLogits; // for the teaching views
        ModelResult teacherResult;
    };
    Kept kept;
    // Shorthands into `kept`, so the training code reads naturally.
    std::string& datasetKey = kept.datasetKey;
    std::shared_ptr<Dataset>& dataset = kept.dataset;
    torch::Tensor &trainX = kept.trainX, &trainY = kept.trainY, &testX = kept.testX, &testY = kept.testY;
    torch::Device& device = kept.device;
    InputShape& input = kept.input;
    std::string& teacherKey = kept.teacherKey;
    KdNet& teacher = kept.teacher;
    std::vector<KdNet>& members = kept.members;
    torch::Tensor& teacherLogits = kept.teacherLogits;
    torch::Tensor& teacherTestLogits = kept.teacherTestLogits;
    ModelResult& teacherResult = kept.teacherResult;

    // The last run's students (for checkpoints), and each model's test-set logits after its last epoch.
    KdNet baseline{nullptr};
    KdNet student{nullptr};
    std::vector<KdNet> stageNets; // the last run's ExperimentResult::stages, same order
    torch::Tensor lastTestLogits[3];
    // The students' training images (indices into trainX); undefined: all of them.
    torch::Tensor transferSet;

    bool hasTeacher() const { return !teacher.is_empty() || !members.empty(); }

    // The last finished run, for the model cards written into its checkpoints.
    ExperimentConfig lastConfig;
    ExperimentResult lastResult;
    std::string cardJson(const std::string& model) const {
        try {
            return modelCardJson(makeModelCard(lastConfig, lastResult, model,
                                               dataset ? dataset->classNames : std::vector<std::string>(),
                                               testY.defined() ? testY.size(0) : 0));
        } catch (const Error&) {
            return {}; // a model the last run does not name: the checkpoint goes without a card
        }
    }

    Clock::time_point runStart;
    ExperimentResult* result = nullptr;
    const ExperimentConfig* config = nullptr; // the running run's

    // --- Per-epoch checkpoints and resuming (see Trainer::setCheckpointDir) ---
    std::string checkpointDir;
    bool resume = false;
    std::vector<std::string> checkpointFailures; // models whose checkpoint failed (reported once each)

    std::string statePath(const std::string& id) const { return checkpointDir + "/" + id + ".pt"; }
    bool hasState(const std::string& id) const {
        return resume && !checkpointDir.empty() && std::filesystem::exists(statePath(id));
    }

    std::string modelId(Role role, int stage) const {
        return stage >= 0 ? result->stages[std::size_t(stage)].id : roleName(role);
    }

    // Saves one model's state: weights, optimizer (null for a loaded or reused model), and, as a one-run
    // .kdlab record, the run's settings with this model's result and epochs. A failure is reported, not
    // thrown: the training itself is fine.
    void saveState(Role role, int stage, KdNetImpl& net, const torch::optim::Optimizer* optimizer,
                   const ModelResult& mr, const std::vector<EpochMetrics>& history, int epoch, bool complete,
                   double trainSeconds) {
        if (checkpointDir.empty())
            return;
        const std::string id = modelId(role, stage);
        try {
            RunRecord record;
            record.name = id;
            record.status = "running";
            record.config = *config;
            record.config.out.clear();
            record.result.method = config->method;
            if (stage >= 0) {
                StageResult st = result->stages[std::size_t(stage)];
                st.model = mr;
                st.history = history;
                record.result.stages.push_back(st);
            } else {
                (role == Role::Teacher    ? record.result.teacher
                 : role == Role::Baseline ? record.result.baseline
                                          : record.result.student) = mr;
                record.result.history = history;
            }
            const std::string json = experimentToJson({record});
            openCheckpointDir();
            saveNet(net, statePath(id), {}, [&](torch::serialize::OutputArchive& archive) {
                archive.write("kdlab.resume.state", c10::IValue(json));
                archive.write("kdlab.resume.role", c10::IValue(std::string(roleName(role))));
                archive.write("kdlab.resume.stage", c10::IValue(std::int64_t(stage)));
                archive.write("kdlab.resume.epoch", c10::IValue(std::int64_t(epoch)));
                archive.write("kdlab.resume.complete", c10::IValue(complete));
                archive.write("kdlab.resume.train_seconds", c10::IValue(trainSeconds));
                archive.write("kdlab.resume.temperature", c10::IValue(temperature.load()));
                archive.write("kdlab.resume.alpha", c10::IValue(alpha.load()));
                if (optimizer) {
                    torch::serialize::OutputArchive state;
                    optimizer->save(state);
                    archive.write("kdlab.resume.optimizer", state);
                }
            });
        } catch (const std::exception& e) {
            if (std::find(checkpointFailures.begin(), checkpointFailures.end(), id) ==
                checkpointFailures.end()) {
                checkpointFailures.push_back(id);
                if (observer)
                    observer->checkpointFailed(e.what());
            }
        }
    }

    // A model's saved state, read back by restoreState.
    struct Restored {
        int epoch = 0;
        bool complete = false;
        double trainSeconds = 0, temperature = 0, alpha = 0;
        ModelResult model;
        std::vector<EpochMetrics> history;
    };

    // The first setting in which two configs differ (ignoring the output folder and threads), as
    // "key: a -> b"; empty when they agree.
    static std::string settingsDifference(ExperimentConfig saved, ExperimentConfig now) {
        saved.out = now.out = "";
        saved.threads = now.threads = 0;
        std::istringstream a(configToJson(saved)), b(configToJson(now));
        std::string la, lb;
        while (std::getline(a, la) && std::getline(b, lb))
            if (la != lb) {
                auto trim = [](std::string t) {
                    t.erase(0, t.find_first_not_of(' '));
                    if (!t.empty() && t.back() == ',')
                        t.pop_back();
                    return t;
                };
                const std::string now = trim(lb);
                return trim(la) + " (now" + now.substr(now.find(':') + 1) + ")";
            }
        return {};
    }

    // Loads model `role`/`stage`'s state from the checkpoint folder into `net` (and `optimizer`, when given)
    // if it is there. Throws kd::Error naming the file when it is unreadable or from another run.
    bool restoreState(Role role, int stage, KdNet& net, torch::optim::Optimizer* optimizer, Restored& out) {
        const std::string id = modelId(role, stage);
        if (!hasState(id))
            return false;
        const std::string path = statePath(id);
        std::string json;
        bool hasOptimizer = false;
        torch::serialize::InputArchive optimizerState;
        CheckpointInfo info;
        KdNet saved = loadNet(path, &info, [&](torch::serialize::InputArchive& archive) {
            c10::IValue v;
            if (!archive.try_read("kdlab.resume.state", v) || !v.isString())
                throw Error(path +
                            ": a kdlab checkpoint without training state, so a run cannot resume from it");
            json = v.toStringRef();
            auto number = [&](const char* key) {
                c10::IValue x;
                if (!archive.try_read(key, x) || !(x.isDouble() || x.isInt()))
                    throw Error(path + ": damaged training state (" + key + ")");
                return x.isDouble() ? x.toDouble() : double(x.toInt());
            };
            out.epoch = int(number("kdlab.resume.epoch"));
            out.trainSeconds = number("kdlab.resume.train_seconds");
            out.temperature = number("kdlab.resume.temperature");
            out.alpha = number("kdlab.resume.alpha");
            c10::IValue complete;
            out.complete =
                archive.try_read("kdlab.resume.complete", complete) && complete.isBool() && complete.toBool();
            hasOptimizer = archive.try_read("kdlab.resume.optimizer", optimizerState);
        });
        if (info.spec != net->spec().toString())
            throw Error(path + ": a checkpoint of " + info.spec + ", but this run's " + id + " is " +
                        net->spec().toString() + " (resume with the settings it was written with)");
        const std::vector<RunRecord> records = experimentFromJson(json, path);
        if (records.size() != 1)
            throw Error(path + ": damaged training state (expected one run record)");
        const RunRecord& r = records.front();
        const std::string difference = settingsDifference(r.config, *config);
        if (!difference.empty())
            throw Error(path + ": written by a run with other settings: " + difference +
                        "; resume with the settings it was written with, or start a new run");
        if (stage >= 0) {
            if (r.result.stages.size() != 1)
                throw Error(path + ": damaged training state (no stage record)");
            out.model = r.result.stages.front().model;
            out.history = r.result.stages.front().history;
        } else {
            out.model = role == Role::Teacher    ? r.result.teacher
                        : role == Role::Baseline ? r.result.baseline
                                                 : r.result.student;
            out.history = r.result.history;
        }
        if (!out.complete && optimizer) {
            if (!hasOptimizer)
                throw Error(path + ": damaged training state (no optimizer state)");
            optimizer->load(optimizerState);
        }
        // Into the net the optimizer already holds: copy the values, keep the tensors.
        torch::NoGradGuard noGrad;
        const std::vector<torch::Tensor> from = saved->parameters(), to = net->parameters();
        for (std::size_t i = 0; i < to.size(); ++i)
            to[i].copy_(from[i]);
        const std::vector<torch::Tensor> fromBuffers = saved->buffers(), toBuffers = net->buffers();
        for (std::size_t i = 0; i < toBuffers.size(); ++i)
            toBuffers[i].copy_(fromBuffers[i]);
        return true;
    }

    // Before a run: resuming needs the folder. A fresh run leaves it alone until its first checkpoint (a
    // run that fails to start changes nothing), see openCheckpointDir.
    bool checkpointDirOpen = false;
    void prepareCheckpointDir() {
        checkpointDirOpen = false;
        std::error_code ec;
        if (resume && !std::filesystem::is_directory(checkpointDir, ec))
            throw Error(checkpointDir + ": no checkpoints to resume from (the folder does not exist)");
    }

    // Before the run's first checkpoint: creates the folder; a fresh run deletes the checkpoints of an
    // earlier run there, so a later resume cannot pick up a model that is not this run's.
    void openCheckpointDir() {
        namespace fs = std::filesystem;
        if (checkpointDirOpen)
            return;
        std::error_code ec;
        fs::create_directories(checkpointDir, ec);
        if (!fs::is_directory(checkpointDir))
            throw Error(checkpointDir + ": cannot create the checkpoint folder (" +
                        (ec ? ec.message() : std::string("not a folder")) + ")");
        if (!resume)
            for (const fs::directory_entry& e : fs::directory_iterator(checkpointDir, ec))
                if (e.path().extension() == ".pt" || e.path().extension() == ".tmp")
                    fs::remove(e.path(), ec);
        checkpointDirOpen = true;
    }

    // --- The teacher cache (see Trainer::setTeacherCacheDir) ---
    std::string teacherCacheDir;
    std::string dataFingerprint; // of the loaded dataset, for the cache key

    void warn(const std::string& message) {
        if (observer)
            observer->warning(message);
    }

    std::string cacheKey(const ExperimentConfig& c, const ExperimentResult& out) const {
        return teacherCacheKey(c, dataFingerprint, out.device, out.threads);
    }

    // A hit gives the cached net in `net` (evaluated on the test set, and saved into the run's checkpoint
    // folder) and fills out.teacher; a damaged file is reported and ignored.
    bool loadCachedTeacher(const ExperimentConfig& c, ExperimentResult& out, KdNet& cached) {
        if (teacherCacheDir.empty() || c.method == "ensemble")
            return false;
        const std::string key = cacheKey(c, out);
        const std::string path = teacherCachePath(teacherCacheDir, key);
        KdNet net{nullptr};
        ModelResult mr;
        try {
            if (!kd::loadCachedTeacher(path, key, net, mr))
                return false;
        } catch (const Error& e) {
            warn(std::string(e.what()) + "; the teacher cache file is ignored and the teacher trained again");
            return false;
        }
        phase(Phase::Teacher, "teacher reused from cache " + path);
        net->to(device);
        const double storedAccuracy = mr.testAccuracy;
        if (!evaluate(net, mr.testLoss, mr.testAccuracy, &lastTestLogits[int(Role::Teacher)]))
            return false;
        if (std::abs(mr.testAccuracy - storedAccuracy) > 1e-9) {
            warn(path + ": its teacher scores " + std::to_string(mr.testAccuracy) +
                 " on the test set, not the " + std::to_string(storedAccuracy) +
                 " it was stored with; ignored, the teacher is trained again");
            lastTestLogits[int(Role::Teacher)] = torch::Tensor();
            return false;
        }
        cached = net;
        out.teacher = mr;
        out.teacherFromCache = path;
        saveState(Role::Teacher, -1, *net, nullptr, mr, {}, mr.epochsTrained, /*complete=*/true, 0);
        return true;
    }

    // A teacher trained to the end (not diverged) goes into the cache; a failure is reported, not thrown.
    void storeCachedTeacher(const ExperimentConfig& c, const ExperimentResult& out, KdNetImpl& net,
                            const ModelResult& mr) {
        if (teacherCacheDir.empty() || !mr.divergence.empty() || mr.epochsTrained != c.teacherEpochs)
            return;
        const std::string key = cacheKey(c, out);
        try {
            kd::storeCachedTeacher(teacherCachePath(teacherCacheDir, key), key, net, mr);
        } catch (const Error& e) {
            warn(std::string(e.what()) + " (the teacher cache is skipped)");
        }
    }

    // The paired tests of the last run's models on the test images (kdcore/stats.h).
    void comparePaired(ExperimentResult& out) const {
        auto correct = [this](const torch::Tensor& logits) {
            const torch::Tensor hit = logits.argmax(/*dim=*/1).eq(testY).to(torch::kCPU).contiguous();
            std::vector<bool> v(std::size_t(hit.size(0)));
            const bool* p = hit.data_ptr<bool>();
            for (std::size_t i = 0; i < v.size(); ++i)
                v[i] = p[i];
            return v;
        };
        const torch::Tensor& t = lastTestLogits[int(Role::Teacher)];
        const torch::Tensor& b = lastTestLogits[int(Role::Baseline)];
        const torch::Tensor& s = lastTestLogits[int(Role::Student)];
        // An untrained model (no finished epoch) is its initial weights: nothing to compare.
        if (!b.defined() || out.baseline.epochsTrained == 0)
            return;
        const std::vector<bool> baselineRight = correct(b);
        if (s.defined() && out.student.epochsTrained > 0)
            out.studentVsBaseline = pairedTest(correct(s), baselineRight);
        if (t.defined())
            out.teacherVsBaseline = pairedTest(correct(t), baselineRight);
    }

    static Phase phaseOf(Role role) {
        return role == Role::Teacher    ? Phase::Teacher
               : role == Role::Baseline ? Phase::Baseline
                                        : Phase::Student;
    }

    void phase(Phase p, const std::string& text) {
        if (observer)
            observer->phaseStarted(p, text);
    }

    // Blocks while paused; returns true when the run must stop. Returns the seconds spent paused.
    bool checkStop(double& pausedSeconds) {
        if (paused.load()) {
            const auto t0 = Clock::now();
            std::unique_lock<std::mutex> lock(pauseMutex);
            pauseChanged.wait(lock, [this] { return !paused.load() || stopRequested.load(); });
            pausedSeconds += secondsSince(t0);
        }
        return stopRequested.load();
    }

    void loadData(const ExperimentConfig& c) {
        const std::string deviceName = resolveDevice(c.device);
        const std::string key = c.dataset + "|" + std::to_string(c.trainLimit) + "|" +
                                std::to_string(c.testLimit) + "|" + deviceName;
        if (key == datasetKey && dataset)
            return;
        phase(Phase::Loading, "loading " + c.dataset);
        auto ds =
            std::make_shared<Dataset>(loadDataset(c.dataset, DatasetOptions{c.trainLimit, c.testLimit, {}}));
        torch::Device dev = deviceName == "cuda" ? torch::Device(torch::kCUDA) : torch::Device(torch::kCPU);
        torch::Tensor tx = imagesToTensor(ds->train).to(dev);
        torch::Tensor ty = labelsToTensor(ds->train).to(dev);
        torch::Tensor vx = imagesToTensor(ds->test).to(dev);
        torch::Tensor vy = labelsToTensor(ds->test).to(dev);
        // Only now, with everything loaded, replace the previous state (a failed load leaves it intact).
        dataset = std::move(ds);
        trainX = tx;
        trainY = ty;
        testX = vx;
        testY = vy;
        device = dev;
        input = InputShape{1, dataset->train.rows, dataset->train.cols, dataset->numClasses()};
        datasetKey = key;
        dataFingerprint = fingerprint(*dataset);
        teacherKey.clear(); // a teacher's cached logits belong to one dataset
        teacher = nullptr;
        members.clear();
        kept.memberResults.clear();
        teacherLogits = torch::Tensor();
        teacherTestLogits = torch::Tensor();
    }

    // The students' transfer set (see ExperimentConfig::transferLimit and omitClass).
    void selectTransferSet(const ExperimentConfig& c) {
        transferSet = torch::Tensor();
        if (c.omitClass >= input.classes)
            throw Error("config: omit_class: " + std::to_string(c.omitClass) + " is not a class of " +
                        c.dataset + " (0.." + std::to_string(input.classes - 1) + ", or -1 for none)");
        if (c.transferLimit <= 0 && c.omitClass < 0)
            return;
        const std::int64_t n = trainX.size(0);
        const std::int64_t limit = c.transferLimit > 0 ? std::min<std::int64_t>(c.transferLimit, n) : n;
        torch::Tensor keep = torch::arange(limit, torch::TensorOptions().dtype(torch::kInt64).device(device));
        if (c.omitClass >= 0)
            keep = keep.masked_select(trainY.slice(/*dim=*/0, 0, limit).ne(c.omitClass));
        if (keep.size(0) == 0)
            throw Error("config: transfer_limit/omit_class: the students' transfer set is empty (the first " +
                        std::to_string(limit) + " training images are all of class " +
                        std::to_string(c.omitClass) + ")");
        transferSet = keep;
    }

    // Returns false when stopped during the evaluation. Keeps the logits in *keep when given.
    bool evaluate(KdNet& net, double& loss, double& accuracy, torch::Tensor* keep = nullptr) {
        torch::Tensor logits = predictAll(net, testX, &stopRequested);
        if (!logits.defined())
            return false;
        if (keep)
            *keep = logits;
        loss = torch::nn::functional::cross_entropy(logits, testY).item<double>();
        accuracy = logits.argmax(/*dim=*/1).eq(testY).to(torch::kFloat64).mean().item<double>();
        return true;
    }

    // What one model's training is: its role (a teacher-like model trains on every training image with the
    // teacher's seed stream, students on the transfer set), the stage it is (-1: teacher, baseline or student
    // themselves), its seed, and what it learns from.
    struct Job {
        Role role = Role::Teacher;
        int stage = -1;
        std::uint64_t seed = 0;
        const torch::Tensor* targets =
            nullptr; // soft-target source (see softTargetLogits); null: labels only
        // With augmentation, the model(s) whose logits on each augmented batch are the soft targets (one, or
        // an ensemble's members); the cached `targets` are not used then.
        std::vector<KdNet> targetNets;
    };

    // The teacher's models: the teacher, or an ensemble's members.
    std::vector<KdNet> teacherNets() const {
        return teacher.is_empty() ? members : std::vector<KdNet>{teacher};
    }

    // Soft-target logits for the batch `x` (images `idx`) at temperature t: from the cache, or with
    // augmentation from a forward pass of the target model(s) on this very batch (consistent teaching).
    static torch::Tensor batchTargets(const Job& job, const torch::Tensor& x, const torch::Tensor& idx,
                                      double t, bool augmenting) {
        if (!augmenting)
            return softTargetLogits(*job.targets, idx, t);
        torch::NoGradGuard noGrad;
        std::vector<torch::Tensor> logits;
        for (KdNet net : job.targetNets) // handles: forward() is not const
            logits.push_back(net->forward(x));
        if (logits.size() == 1)
            return logits.front();
        return ensembleTargetLogits(torch::stack(logits), t);
    }

    static Job mainJob(Role role, const ExperimentConfig& c, const torch::Tensor* targets = nullptr,
                       std::vector<KdNet> targetNets = {}) {
        return Job{role, -1, role == Role::Teacher ? teacherSeed(c) : c.seed, targets, std::move(targetNets)};
    }

    // The soft targets of the training images `idx` at temperature T, as logits for the distillation loss.
    static torch::Tensor softTargetLogits(const torch::Tensor& source, const torch::Tensor& idx, double t) {
        if (source.dim() == 2)
            return source.index_select(/*dim=*/0, idx);
        return ensembleTargetLogits(source.index_select(/*dim=*/1, idx), t);
    }

    // Trains one model; returns false when stopped. Keeps its test logits after the last epoch in
    // `testLogits`.
    bool train(const Job& job, KdNet& net, int epochs, const ExperimentConfig& c, ModelResult& mr,
               torch::Tensor& testLogits) {
        const Role role = job.role;
        const bool distill = job.targets != nullptr || !job.targetNets.empty();
        // A teacher (or ensemble member) trains with the teacher's augmentation, every other model with the
        // students'.
        const std::string& augment = role == Role::Teacher ? teacherAugmentation(c) : c.augment;
        const bool augmenting = augment != "none";
        if (distill && augmenting && job.targetNets.empty())
            throw Error("internal: an augmented distillation needs its teacher's models");
        for (KdNet target : job.targetNets)
            target->eval();
        const std::uint64_t seed = job.seed;
        const Stream trainStream = role == Role::Teacher ? kTeacherTrain : kStudentTrain;
        auto optimizer = makeOptimizer(net, c);
        const torch::Tensor pool = role == Role::Teacher ? torch::Tensor() : transferSet;
        const std::int64_t n = pool.defined() ? pool.size(0) : trainX.size(0);
        testLogits = torch::Tensor();
        const std::int64_t batchSize = std::min<std::int64_t>(c.batchSize, n);
        const int batches = int((n + batchSize - 1) / batchSize);
        // The schedule's steps run over this model's whole training, so a resumed epoch gets the same rates.
        const bool scheduled = c.lrSchedule != "constant";
        const std::int64_t steps = std::int64_t(epochs) * batches;
        double trainSeconds = 0;
        // The last good weights: the initial ones, then those after each epoch that ended finite. A NaN or
        // Inf loss puts them back and ends this model's training (see ModelResult::divergence).
        auto snapshot = [&net] {
            std::vector<torch::Tensor> weights;
            for (const torch::Tensor& p : net->parameters())
                weights.push_back(p.detach().clone());
            return weights;
        };
        std::vector<torch::Tensor> good = snapshot();
        int goodEpoch = 0;
        // Stopped or diverged: back to the last good weights, those the results were measured on.
        auto restoreGood = [&] {
            torch::NoGradGuard noGrad;
            const std::vector<torch::Tensor> params = net->parameters();
            for (std::size_t i = 0; i < params.size(); ++i)
                params[i].copy_(good[i]);
        };
        std::vector<EpochMetrics> history; // this model's epochs, for its checkpoints
        int firstEpoch = 1;
        Restored restored;
        if (restoreState(role, job.stage, net, optimizer.get(), restored)) {
            history = restored.history;
            for (const EpochMetrics& em : history)
                (job.stage >= 0 ? result->stages[std::size_t(job.stage)].history : result->history)
                    .push_back(em);
            trainSeconds = restored.trainSeconds;
            const std::string name =
                job.stage >= 0 ? result->stages[std::size_t(job.stage)].name : roleName(role);
            if (restored.complete) {
                mr = restored.model;
                double loss = 0, accuracy = 0;
                if (!evaluate(net, loss, accuracy, &testLogits))
                    return false;
                phase(phaseOf(role),
                      name + ": loaded, finished, from " + statePath(modelId(role, job.stage)));
                if (!mr.divergence.empty() && observer)
                    observer->modelDiverged(role, job.stage, mr.divergence);
                return true;
            }
            mr.epochsTrained = restored.model.epochsTrained;
            mr.testAccuracy = restored.model.testAccuracy;
            mr.testLoss = restored.model.testLoss;
            mr.secondsPerEpoch = restored.model.secondsPerEpoch;
            firstEpoch = restored.epoch + 1;
            good = snapshot();
            goodEpoch = restored.epoch;
            temperature = restored.temperature; // as they were (the app's sliders may have moved them)
            alpha = restored.alpha;
            phase(phaseOf(role), name + ": resumed after epoch " + std::to_string(restored.epoch) + " of " +
                                     std::to_string(epochs) + " from " + statePath(modelId(role, job.stage)));
        }
        // `what`: "batch 8 of epoch 2 gave a loss of +Inf", "the test loss after epoch 3 was NaN", ...
        auto diverge = [&](const std::string& what) {
            restoreGood();
            const std::string name =
                job.stage >= 0 ? result->stages[std::size_t(job.stage)].name : roleName(role);
            if (!evaluate(net, mr.testLoss, mr.testAccuracy, &testLogits))
                return false;
            char accuracy[32], lr[32];
            std::snprintf(accuracy, sizeof accuracy, "%.2f%%", mr.testAccuracy * 100);
            std::snprintf(lr, sizeof lr, "%g", c.lr);
            mr.divergence = name + " diverged: " + what + "; its training stopped and it keeps " +
                            (goodEpoch ? "its weights after epoch " + std::to_string(goodEpoch)
                                       : std::string("its initial weights")) +
                            " (test accuracy " + accuracy + "). A lower learning rate (now " + lr +
                            ") usually helps.";
            mr.epochsTrained = goodEpoch;
            mr.secondsPerEpoch = goodEpoch ? trainSeconds / goodEpoch : 0;
            mr.trained = true;
            saveState(role, job.stage, *net, nullptr, mr, history, goodEpoch, /*complete=*/true,
                      trainSeconds);
            if (observer)
                observer->modelDiverged(role, job.stage, mr.divergence);
            return true;
        };
        auto lossText = [](double v) {
            if (std::isfinite(v)) {
                char text[32];
                std::snprintf(text, sizeof text, "%.6g", v);
                return std::string(text);
            }
            return std::string(std::isnan(v) ? "NaN" : v > 0 ? "+Inf" : "-Inf");
        };
        // The scale a finite explosion is measured against (see kExplodedBatchFactor): the first batch's
        // loss, or chance level's ln(classes) if larger (a resumed model has learned already).
        double lossScale = std::log(double(std::max(input.classes, 2)));
        bool firstBatch = true;
        const std::uint64_t viewSeed = streamSeed(seed, trainStream + kAugment);
        for (int epoch = firstEpoch; epoch <= epochs; ++epoch) {
            net->train();
            // Each epoch's dropout masks from its own seed: an epoch resumed from a checkpoint draws the
            // same.
            torch::manual_seed(streamSeed(seed, trainStream + kDropout, std::uint64_t(epoch)));
            // Same order for both students: the comparison differs only in the loss.
            const std::uint64_t orderSeed = streamSeed(seed, trainStream, std::uint64_t(epoch));
            torch::Tensor perm = permutation(n, orderSeed).to(device);
            if (pool.defined())
                perm = pool.index_select(/*dim=*/0, perm);
            const auto epochStart = Clock::now();
            double pausedSeconds = 0, sumLoss = 0, sumSoft = 0, sumHard = 0;
            std::int64_t seen = 0;
            for (int b = 0; b < batches; ++b) {
                if (checkStop(pausedSeconds)) {
                    restoreGood();
                    return false;
                }
                const torch::Tensor idx =
                    perm.slice(/*dim=*/0, b * batchSize, std::min(n, (b + 1) * batchSize));
                torch::Tensor x = trainX.index_select(/*dim=*/0, idx);
                if (augmenting)
                    x = augmentViews(x, augment, c.shiftPixels, augmentSeed(viewSeed, epoch, b));
                const torch::Tensor y = trainY.index_select(/*dim=*/0, idx);
                if (scheduled) {
                    const double lr = scheduledLearningRate(c.lrSchedule, c.lr,
                                                            std::int64_t(epoch - 1) * batches + b, steps);
                    for (torch::optim::OptimizerParamGroup& group : optimizer->param_groups())
                        group.options().set_lr(lr);
                }
                const double t = temperature.load();
                const double a = alpha.load();
                torch::Tensor out = net->forward(x);
                torch::Tensor loss, soft, hard, targets;
                if (distill) {
                    targets = batchTargets(job, x, idx, t, augmenting);
                    LossTensors parts = distillationLossTensors(out, targets, y, t, a);
                    loss = parts.total;
                    soft = parts.soft;
                    hard = parts.hard;
                } else {
                    loss = torch::nn::functional::cross_entropy(out, y);
                }
                const double lossValue = loss.item<double>();
                if (firstBatch && std::isfinite(lossValue)) {
                    lossScale = std::max(lossScale, lossValue);
                    firstBatch = false;
                }
                // Before the step: no update from a NaN, Inf or exploded gradient.
                if (!std::isfinite(lossValue))
                    return diverge("batch " + std::to_string(b + 1) + " of epoch " + std::to_string(epoch) +
                                   " gave a loss of " + lossText(lossValue));
                if (lossValue > kExplodedBatchFactor * lossScale)
                    return diverge("batch " + std::to_string(b + 1) + " of epoch " + std::to_string(epoch) +
                                   " gave a loss of " + lossText(lossValue) + ", over " +
                                   lossText(kExplodedBatchFactor) + " times its first batch's (" +
                                   lossText(lossScale) + ")");
                optimizer->zero_grad();
                loss.backward();
                optimizer->step();
                if (observer && observer->wantsBatchInputs()) {
                    TrainingObserver::BatchInputs in;
                    in.role = role;
                    in.stage = job.stage;
                    in.epoch = epoch;
                    in.batch = b + 1;
                    in.count = std::size_t(x.size(0));
                    in.images = toFloats(x);
                    if (targets.defined())
                        in.targets = toFloats(targets);
                    observer->batchInputs(in);
                }
                if (observer && observer->wantsBatchLabels()) {
                    const torch::Tensor labels = y.to(torch::kCPU).contiguous();
                    observer->batchLabels(role, labels.data_ptr<std::int64_t>(), std::size_t(labels.size(0)));
                }

                BatchMetrics bm;
                bm.role = role;
                bm.stage = job.stage;
                bm.epoch = epoch;
                bm.batch = b + 1;
                bm.batchesPerEpoch = batches;
                bm.loss = lossValue;
                bm.soft = distill ? soft.item<double>() : 0.0;
                bm.hard = distill ? hard.item<double>() : bm.loss;
                bm.temperature = t;
                bm.alpha = a;
                seen += idx.size(0);
                sumLoss += bm.loss * idx.size(0);
                sumSoft += bm.soft * idx.size(0);
                sumHard += bm.hard * idx.size(0);
                const double epochSeconds = secondsSince(epochStart) - pausedSeconds;
                bm.samplesPerSecond = epochSeconds > 0 ? seen / epochSeconds : 0;
                bm.elapsedSeconds = secondsSince(runStart);
                if (observer)
                    observer->batchFinished(bm);
            }
            const double epochSeconds = secondsSince(epochStart) - pausedSeconds;
            trainSeconds += epochSeconds;
            EpochMetrics em;
            em.role = role;
            em.stage = job.stage;
            em.epoch = epoch;
            em.epochs = epochs;
            em.trainLoss = sumLoss / double(seen);
            em.trainSoft = sumSoft / double(seen);
            em.trainHard = sumHard / double(seen);
            if (!evaluate(net, em.testLoss, em.testAccuracy, &testLogits)) {
                restoreGood();
                return false;
            }
            if (!std::isfinite(em.testLoss)) // the last step made the weights non-finite
                return diverge("the test loss after epoch " + std::to_string(epoch) + " was " +
                               lossText(em.testLoss));
            if (em.trainLoss > kExplodedEpochFactor * lossScale)
                return diverge("the mean training loss of epoch " + std::to_string(epoch) + " was " +
                               lossText(em.trainLoss) + ", over " + lossText(kExplodedEpochFactor) +
                               " times its first batch's (" + lossText(lossScale) + ")");
            good = snapshot();
            goodEpoch = epoch;
            em.temperature = temperature.load();
            em.alpha = alpha.load();
            em.epochSeconds = epochSeconds;
            em.samplesPerSecond = epochSeconds > 0 ? double(seen) / epochSeconds : 0;
            em.elapsedSeconds = secondsSince(runStart);
            mr.epochsTrained = epoch;
            mr.testAccuracy = em.testAccuracy;
            mr.testLoss = em.testLoss;
            mr.secondsPerEpoch = trainSeconds / epoch;
            mr.trained = epoch == epochs;
            (job.stage >= 0 ? result->stages[std::size_t(job.stage)].history : result->history).push_back(em);
            history.push_back(em);
            saveState(role, job.stage, *net, optimizer.get(), mr, history, epoch,
                      /*complete=*/epoch == epochs, trainSeconds);
            if (observer)
                observer->epochFinished(em);
        }
        if (epochs == 0) { // untrained: as it is
            if (!evaluate(net, mr.testLoss, mr.testAccuracy, &testLogits))
                return false;
            mr.trained = true;
            saveState(role, job.stage, *net, nullptr, mr, history, 0, /*complete=*/true, 0);
        }
        mr.trained = true;
        return true;
    }

    // An ensemble's soft-target source: each member's logits on every training image, [K, N, C]. Undefined
    // when stopped meanwhile.
    torch::Tensor membersTrainLogits(const std::vector<KdNet>& nets) {
        std::vector<torch::Tensor> parts;
        for (KdNet net : nets) {
            torch::Tensor logits = predictAll(net, trainX, &stopRequested);
            if (!logits.defined())
                return {};
            parts.push_back(logits);
        }
        return torch::stack(parts);
    }

    // A reused teacher kept from a run whose students were augmented has no cached logits: computed now if
    // this run's students learn from them. Returns false when stopped meanwhile.
    bool ensureTeacherLogits(ExperimentResult& out) {
        if (config->augment != "none" || teacherLogits.defined())
            return true;
        phase(Phase::TeacherLogits, "computing teacher logits");
        const auto t0 = Clock::now();
        const torch::Tensor logits =
            teacher.is_empty() ? membersTrainLogits(members) : predictAll(teacher, trainX, &stopRequested);
        if (!logits.defined())
            return false;
        teacherLogits = logits;
        out.teacherLogitsSeconds = secondsSince(t0);
        return true;
    }

    // A complete teacher: cache its logits on the training set and keep it for later runs. Returns false
    // (and keeps nothing) when stopped meanwhile. With augmentation the soft targets come from the teacher
    // per batch, so no logits are cached.
    bool adoptTeacher(KdNet& net, const ModelResult& mr, const std::string& key, ExperimentResult& out) {
        torch::Tensor logits;
        if (config->augment == "none") {
            phase(Phase::TeacherLogits, "computing teacher logits");
            const auto t0 = Clock::now();
            logits = predictAll(net, trainX, &stopRequested);
            if (!logits.defined()) {
                out.teacher = mr;
                return false;
            }
            out.teacherLogitsSeconds = secondsSince(t0);
        }
        teacherLogits = logits;
        teacherTestLogits = lastTestLogits[int(Role::Teacher)];
        teacher = net;
        members.clear();
        kept.memberResults.clear();
        teacherResult = mr;
        teacherKey = key;
        out.teacher = mr;
        return true;
    }

    // A checkpoint's model on this run's device, refused (naming `path`) when it does not fit the dataset.
    KdNet loadFitting(const std::string& path, const char* what, const std::string& datasetName,
                      CheckpointInfo& info) {
        KdNet net = loadNet(path, &info);
        if (info.input.channels != input.channels || info.input.height != input.height ||
            info.input.width != input.width || info.input.classes != input.classes)
            throw Error(path + ": " + what + " expects " + std::to_string(info.input.height) + "x" +
                        std::to_string(info.input.width) + " images and " +
                        std::to_string(info.input.classes) + " classes, but dataset " + datasetName +
                        " has " + std::to_string(input.height) + "x" + std::to_string(input.width) + " and " +
                        std::to_string(input.classes));
        net->to(device);
        return net;
    }

    // `variant` > 0 gives another initialisation from the same seed (born-again generations).
    KdNet buildNet(const std::string& specText, std::uint64_t seed, Stream stream, ModelResult& mr,
                   std::uint64_t variant = 0) {
        const ModelSpec spec = parseModelSpec(specText);
        torch::manual_seed(streamSeed(seed, stream, variant));
        KdNet net(spec, input, dataset->mean, dataset->stddev);
        net->to(device);
        mr.spec = spec.toString();
        mr.stats = modelStats(spec, input);
        mr.initialWeightsHash = parameterHash(*net);
        return net;
    }

    // --- The methods' extra models (ExperimentResult::stages) ---

    static int addStage(ExperimentResult& out, const std::string& id, const std::string& name,
                        const std::string& kind) {
        out.stages.push_back(StageResult{id, name, kind, {}, {}});
        return int(out.stages.size()) - 1;
    }

    // Builds and trains the model of stage `job.stage`; returns false when stopped. The net joins
    // stageNets as soon as it exists, so stageNets[i] is always stages[i]'s model.
    bool trainStage(const Job& job, const std::string& spec, Stream stream, std::uint64_t variant, int epochs,
                    const ExperimentConfig& c, ExperimentResult& out, torch::Tensor& testLogits) {
        ModelResult& mr = out.stages[std::size_t(job.stage)].model;
        KdNet net = buildNet(spec, job.seed, stream, mr, variant);
        stageNets.push_back(net);
        if (observer)
            observer->stageStarted(job.stage, out.stages[std::size_t(job.stage)]);
        if (!train(job, net, epochs, c, mr, testLogits))
            return false;
        if (observer)
            observer->stageFinished(job.stage, out.stages[std::size_t(job.stage)]);
        return true;
    }

    // A trained model's logits on every training image, to teach the next model (born-again, assistant).
    // Undefined when stopped.
    // With augmentation the next model learns from `net` per batch: an empty (defined) tensor is returned.
    torch::Tensor trainLogitsOf(KdNet& net, const std::string& what) {
        if (config->augment != "none")
            return torch::empty({0});
        phase(Phase::TeacherLogits, "computing " + what + " logits");
        return predictAll(net, trainX, &stopRequested);
    }

    // Method ensemble: trains the members (member k with seed teacher_seed + k), then keeps their
    // training-set logits [K, N, C] as the soft-target source and the mean of their probabilities as the
    // teacher's test output. Returns false when stopped (the kept teacher is then unchanged).
    bool trainEnsemble(const ExperimentConfig& c, const std::string& key, ExperimentResult& out) {
        const std::vector<std::string> specs = ensembleMemberSpecs(c);
        const std::size_t k = specs.size();
        std::vector<torch::Tensor> testLogits(k);
        for (std::size_t i = 0; i < k; ++i) {
            const std::string n = std::to_string(i + 1);
            const int stage = addStage(out, "member-" + n, "member " + n, "member");
            phase(Phase::Teacher,
                  "training ensemble member " + n + " of " + std::to_string(k) + ": " + specs[i]);
            const Job job{Role::Teacher, stage, teacherSeed(c) + i, nullptr};
            if (!trainStage(job, specs[i], kTeacherInit, 0, c.teacherEpochs, c, out, testLogits[i]))
                return false;
        }
        const auto t0 = Clock::now();
        torch::Tensor trainLogits;
        if (c.augment == "none") { // with augmentation the members teach per batch
            phase(Phase::TeacherLogits, "computing the ensemble members' logits");
            trainLogits = membersTrainLogits(stageNets);
            if (!trainLogits.defined())
                return false;
        }
        ModelResult mr;
        bool same = true;
        for (const StageResult& st : out.stages) {
            same = same && st.model.spec == out.stages[0].model.spec;
            mr.spec += (mr.spec.empty() ? "" : " + ") + st.model.spec;
            mr.stats.params += st.model.stats.params;
            mr.stats.flopsPerSample += st.model.stats.flopsPerSample;
            mr.stats.bytes += st.model.stats.bytes;
            mr.secondsPerEpoch += st.model.secondsPerEpoch;
        }
        if (same)
            mr.spec = std::to_string(k) + " x " + out.stages[0].model.spec;
        const torch::Tensor test = ensembleTargetLogits(torch::stack(testLogits), /*temperature=*/1.0);
        mr.testLoss = torch::nn::functional::cross_entropy(test, testY).item<double>();
        mr.testAccuracy = test.argmax(/*dim=*/1).eq(testY).to(torch::kFloat64).mean().item<double>();
        mr.epochsTrained = c.teacherEpochs;
        mr.trained = true;
        lastTestLogits[int(Role::Teacher)] = test;
        teacherLogits = trainLogits;
        teacherTestLogits = test;
        out.teacherLogitsSeconds = secondsSince(t0);
        teacher = nullptr;
        members = stageNets;
        kept.memberResults = out.stages;
        teacherResult = mr;
        teacherKey = key;
        out.teacher = mr;
        return true;
    }

    // Method born-again: `generations` students with the teacher's architecture; generation 1 learns from
    // the teacher, generation g+1 from generation g. Generations 1..G-1 are stages, G is the student. Each
    // generation starts from its own weights (generation 1's are the kd student's).
    bool trainBornAgain(const ExperimentConfig& c, const std::string& spec, ExperimentResult& out) {
        torch::Tensor targets = teacherLogits;
        std::vector<KdNet> targetNets = teacherNets();
        torch::Tensor unused;
        for (int g = 1; g < c.generations; ++g) {
            const std::string n = std::to_string(g);
            const int stage = addStage(out, "generation-" + n, "generation " + n, "generation");
            phase(Phase::Student,
                  "born-again generation " + n + " of " + std::to_string(c.generations) + ": " + spec +
                      ", learns from " +
                      (g == 1 ? std::string("the teacher") : "generation " + std::to_string(g - 1)));
            const Job job{Role::Student, stage, c.seed, &targets, targetNets};
            if (!trainStage(job, spec, kStudentInit, std::uint64_t(g - 1), c.epochs, c, out, unused))
                return false;
            targets = trainLogitsOf(stageNets.back(), "generation " + n + "'s");
            targetNets = {stageNets.back()};
            if (!targets.defined())
                return false;
        }
        phase(Phase::Student, "born-again generation " + std::to_string(c.generations) + " of " +
                                  std::to_string(c.generations) + " (the student): " + spec +
                                  ", learns from " +
                                  (c.generations == 1 ? std::string("the teacher")
                                                      : "generation " + std::to_string(c.generations - 1)));
        student = buildNet(spec, c.seed, kStudentInit, out.student, std::uint64_t(c.generations - 1));
        return train(mainJob(Role::Student, c, &targets, targetNets), student, c.epochs, c, out.student,
                     lastTestLogits[int(Role::Student)]);
    }

    // Method assistant: the assistant learns from the teacher; the student (same start as the kd student)
    // learns from the assistant; "direct KD", the same student distilled from the teacher, is the comparison.
    bool trainWithAssistant(const ExperimentConfig& c, ExperimentResult& out) {
        torch::Tensor unused;
        const int assistant = addStage(out, "assistant", "assistant", "assistant");
        phase(Phase::Student, "distilling the teacher assistant " + c.assistant + " from the teacher");
        if (!trainStage(Job{Role::Student, assistant, c.seed, &teacherLogits, teacherNets()}, c.assistant,
                        kAssistantInit, 0, c.epochs, c, out, unused))
            return false;
        const torch::Tensor assistantLogits = trainLogitsOf(stageNets.back(), "the assistant's");
        const KdNet assistantNet = stageNets.back();
        if (!assistantLogits.defined())
            return false;
        const int direct = addStage(out, "direct", "direct KD", "direct");
        phase(Phase::Student,
              "distilling student " + c.student + " directly from the teacher (for comparison)");
        if (!trainStage(Job{Role::Student, direct, c.seed, &teacherLogits, teacherNets()}, c.student,
                        kStudentInit, 0, c.epochs, c, out, unused))
            return false;
        phase(Phase::Student, "distilling student " + c.student + " from the assistant");
        student = buildNet(c.student, c.seed, kStudentInit, out.student);
        return train(mainJob(Role::Student, c, &assistantLogits, {assistantNet}), student, c.epochs, c,
                     out.student, lastTestLogits[int(Role::Student)]);
    }
};

Trainer::Trainer()
    : d(std::make_unique<Impl>()) {
    tuneAllocator();
}
Trainer::~Trainer() = default;

void Trainer::setObserver(TrainingObserver* observer) {
    d->observer = observer;
}

void Trainer::requestStop() {
    d->stopRequested = true;
    std::lock_guard<std::mutex> lock(d->pauseMutex);
    d->pauseChanged.notify_all();
}

void Trainer::setPaused(bool paused) {
    d->paused = paused;
    std::lock_guard<std::mutex> lock(d->pauseMutex);
    d->pauseChanged.notify_all();
}

void Trainer::setTemperature(double temperature) {
    if (temperature > 0)
        d->temperature = temperature;
}

void Trainer::setAlpha(double alpha) {
    if (alpha >= 0 && alpha <= 1)
        d->alpha = alpha;
}

void Trainer::setCheckpointDir(const std::string& dir, bool resume) {
    d->checkpointDir = dir;
    d->resume = resume && !dir.empty();
}

std::vector<ResumePoint> readResumePoints(const std::string& dir) {
    namespace fs = std::filesystem;
    std::vector<ResumePoint> points;
    std::error_code ec;
    if (!fs::is_directory(dir, ec))
        return points;
    std::vector<std::string> files;
    for (const fs::directory_entry& e : fs::directory_iterator(dir, ec))
        if (e.path().extension() == ".pt")
            files.push_back(e.path().string());
    std::sort(files.begin(), files.end());
    for (const std::string& path : files) {
        ResumePoint p;
        p.id = fs::path(path).stem().string();
        bool hasState = false;
        loadNet(path, nullptr, [&](torch::serialize::InputArchive& archive) {
            c10::IValue epoch, complete;
            hasState = archive.try_read("kdlab.resume.epoch", epoch) && epoch.isInt();
            if (hasState)
                p.epoch = int(epoch.toInt());
            p.complete =
                archive.try_read("kdlab.resume.complete", complete) && complete.isBool() && complete.toBool();
        });
        if (hasState)
            points.push_back(p);
    }
    return points;
}

void Trainer::setTeacherCacheDir(const std::string& dir) {
    d->teacherCacheDir = dir;
}

std::string defaultTeacherCacheDir() {
    if (const char* env = std::getenv("KDLAB_TEACHER_CACHE"); env && *env)
        return std::string(env) == "off" ? std::string() : std::string(env);
    if (const char* xdg = std::getenv("XDG_DATA_HOME"); xdg && *xdg)
        return std::string(xdg) + "/kdlab/teachers";
    if (const char* home = std::getenv("HOME"); home && *home)
        return std::string(home) + "/.local/share/kdlab/teachers";
    return {};
}

void Trainer::setTrainBaseline(bool train) {
    d->trainBaseline = train;
}

bool Trainer::hasTeacher() const {
    return d->hasTeacher();
}

const Dataset* Trainer::dataset() const {
    return d->dataset.get();
}

ExperimentResult Trainer::run(const ExperimentConfig& config, bool reuseTeacher) {
    validateConfig(config);
    d->stopRequested = false;
    d->temperature = config.temperature;
    d->alpha = config.alpha;
    d->runStart = Clock::now();
    applyThreadPolicy(config.threads);
    ExperimentResult result;
    d->result = &result;
    d->config = &config;
    d->checkpointFailures.clear();
    const Impl::Kept previous = d->kept; // handles only: tensors and modules are shared, not copied
    try {
        d->prepareCheckpointDir();
        d->loadData(config);
        result.device = d->device.is_cuda() ? "cuda" : "cpu";
        result.threads = torch::get_num_threads();
        // Before anything trains: a run that cannot fit is refused, not left to swap or be killed. The
        // images are loaded already, so they count as memory this process has.
        if (!d->device.is_cuda()) {
            const MemoryEstimate memory =
                estimateRunMemory(config, d->input, d->trainX.size(0), d->testX.size(0));
            const std::string warning = checkRunMemory(memory, availableMemoryBytes() + memory.dataBytes);
            if (!warning.empty())
                d->warn(warning);
        }

        // Teacher: reused, loaded, or trained. Only a complete teacher replaces the kept one.
        const bool ensemble = config.method == "ensemble";
        std::string teacherKey = d->datasetKey + "|" + config.teacher + "|" + config.teacherCheckpoint + "|" +
                                 std::to_string(config.teacherEpochs) + "|" +
                                 std::to_string(teacherSeed(config)) + "|" + teacherAugmentation(config) +
                                 "|" + std::to_string(config.shiftPixels) + "|" + config.lrSchedule;
        if (ensemble)
            for (const std::string& spec : ensembleMemberSpecs(config))
                teacherKey += "|member " + spec;
        result.method = config.method;
        d->selectTransferSet(config);
        for (torch::Tensor& logits : d->lastTestLogits)
            logits = torch::Tensor();
        d->stageNets.clear();
        const bool teacherSaved = d->hasState("teacher");
        if (reuseTeacher && d->hasTeacher() && d->teacherKey == teacherKey) {
            result.teacher = d->teacherResult;
            result.teacher.trained = false;
            d->lastTestLogits[int(Role::Teacher)] = d->teacherTestLogits;
            // Kept without cached logits when the last run's students were augmented.
            result.stopped = !d->ensureTeacherLogits(result);
            result.stages = d->kept.memberResults; // an ensemble's members, as they were trained
            for (StageResult& st : result.stages)
                st.model.trained = false;
            d->stageNets = d->members;
            // The run's checkpoint folder gets the teacher it uses, so a resumed run finds it there.
            if (!d->teacher.is_empty() && !teacherSaved)
                d->saveState(Role::Teacher, -1, *d->teacher, nullptr, result.teacher, {},
                             result.teacher.epochsTrained,
                             /*complete=*/true, 0);
            for (std::size_t i = 0; i < d->members.size() && i < result.stages.size(); ++i)
                if (!d->hasState(result.stages[i].id))
                    d->saveState(Role::Teacher, int(i), *d->members[i], nullptr, result.stages[i].model,
                                 result.stages[i].history, result.stages[i].model.epochsTrained,
                                 /*complete=*/true, 0);
        } else if (ensemble) {
            result.stopped = !d->trainEnsemble(config, teacherKey, result);
        } else if (!config.teacherCheckpoint.empty()) {
            // Resuming: the copy in the run's checkpoint folder (the file named may have changed since).
            const std::string path = teacherSaved ? d->statePath("teacher") : config.teacherCheckpoint;
            d->phase(Phase::Teacher, "loading teacher " + path);
            CheckpointInfo info;
            KdNet net = d->loadFitting(path, "teacher", config.dataset, info);
            ModelResult mr;
            mr.spec = info.spec;
            mr.stats = modelStats(net->spec(), d->input);
            result.stopped =
                !d->evaluate(net, mr.testLoss, mr.testAccuracy, &d->lastTestLogits[int(Role::Teacher)]) ||
                !d->adoptTeacher(net, mr, teacherKey, result);
            if (!result.stopped && !teacherSaved)
                d->saveState(Role::Teacher, -1, *net, nullptr, mr, {}, 0, /*complete=*/true, 0);
        } else if (KdNet cached{nullptr}; !teacherSaved && d->loadCachedTeacher(config, result, cached)) {
            result.stopped = !d->adoptTeacher(cached, result.teacher, teacherKey, result);
        } else {
            d->phase(Phase::Teacher, "training teacher " + config.teacher);
            ModelResult mr;
            KdNet net = d->buildNet(config.teacher, teacherSeed(config), kTeacherInit, mr);
            if (!d->train(Impl::mainJob(Role::Teacher, config), net, config.teacherEpochs, config, mr,
                          d->lastTestLogits[int(Role::Teacher)])) {
                result.teacher = mr;
                result.stopped = true;
            } else {
                d->storeCachedTeacher(config, result, *net, mr);
                result.stopped = !d->adoptTeacher(net, mr, teacherKey, result);
            }
        }

        // Born-again students have the teacher's architecture (also a loaded teacher's).
        const std::string studentSpec = config.method == "born-again" ? result.teacher.spec : config.student;
        if (!result.stopped && d->trainBaseline) {
            d->phase(Phase::Baseline, "training baseline student " + studentSpec + " (labels only)");
            d->baseline = d->buildNet(studentSpec, config.seed, kStudentInit, result.baseline);
            result.stopped = !d->train(Impl::mainJob(Role::Baseline, config), d->baseline, config.epochs,
                                       config, result.baseline, d->lastTestLogits[int(Role::Baseline)]);
        }
        if (!result.stopped && config.method == "born-again") {
            result.stopped = !d->trainBornAgain(config, studentSpec, result);
        } else if (!result.stopped && config.method == "assistant") {
            result.stopped = !d->trainWithAssistant(config, result);
        } else if (!result.stopped) {
            d->phase(Phase::Student, "distilling student " + config.student);
            d->student = d->buildNet(config.student, config.seed, kStudentInit, result.student);
            result.stopped = !d->train(
                Impl::mainJob(Role::Student, config, &d->teacherLogits, d->teacherNets()), d->student,
                config.epochs, config, result.student, d->lastTestLogits[int(Role::Student)]);
        }
    } catch (const c10::Error& e) {
        d->result = nullptr;
        d->config = nullptr;
        d->kept = previous;
        throw Error(std::string("training failed: ") + e.what_without_backtrace());
    } catch (...) {
        d->result = nullptr;
        d->config = nullptr;
        d->kept = previous;
        throw;
    }
    d->result = nullptr;
    d->config = nullptr;
    result.studentsUntrained = config.epochs == 0;
    d->comparePaired(result);
    result.totalSeconds = secondsSince(d->runStart);
    d->lastConfig = config;
    d->lastResult = result;
    d->phase(Phase::Done, result.stopped ? "stopped" : "done");
    return result;
}

TestOutputs Trainer::testOutputs() const {
    TestOutputs out;
    out.dataset = d->dataset;
    out.classes = d->input.classes;
    if (!d->dataset)
        return out;
    for (Role role : {Role::Teacher, Role::Baseline, Role::Student}) {
        const torch::Tensor& logits = d->lastTestLogits[int(role)];
        if (!logits.defined())
            continue;
        out.logits(role) = toFloats(logits);
    }
    return out;
}

TestOutputs Trainer::testOutputsFromCheckpoints(const ExperimentConfig& config,
                                                const std::map<std::string, std::string>& checkpoints) {
    validateConfig(config);
    d->stopRequested = false;
    applyThreadPolicy(config.threads);
    try {
        d->loadData(config);
        TestOutputs out;
        out.dataset = d->dataset;
        out.classes = d->input.classes;
        for (Role role : {Role::Teacher, Role::Baseline, Role::Student}) {
            const auto it = checkpoints.find(roleName(role));
            if (it == checkpoints.end())
                continue;
            CheckpointInfo info;
            KdNet net = d->loadFitting(it->second, "the model", config.dataset, info);
            out.logits(role) = toFloats(predictAll(net, d->testX));
        }
        return out;
    } catch (const c10::Error& e) {
        throw Error(std::string("evaluating the saved models failed: ") + e.what_without_backtrace());
    }
}

void Trainer::measureInference(Role role, ModelResult& result, double budgetSeconds) const {
    if (role == Role::Teacher && d->teacher.is_empty() && !d->members.empty()) {
        // An ensemble predicts with every member: the times add up.
        result.latencyMs = 0;
        double secondsPerImage = 0;
        for (const KdNet& member : d->members) {
            ModelResult one;
            measureNet(member, d->testX, one, budgetSeconds / double(d->members.size()));
            result.latencyMs += one.latencyMs;
            secondsPerImage += 1.0 / one.imagesPerSecond;
        }
        result.imagesPerSecond = 1.0 / secondsPerImage;
        return;
    }
    KdNet net = role == Role::Teacher ? d->teacher : role == Role::Baseline ? d->baseline : d->student;
    if (net.is_empty())
        throw Error(std::string("no ") + roleName(role) + " model to measure (nothing trained yet)");
    measureNet(net, d->testX, result, budgetSeconds);
}

void Trainer::saveCheckpoint(Role role, const std::string& path) const {
    if (role == Role::Teacher && d->teacher.is_empty() && !d->members.empty())
        throw Error(path + ": the teacher is an ensemble of " + std::to_string(d->members.size()) +
                    " models; save its members instead");
    KdNet net = role == Role::Teacher ? d->teacher : role == Role::Baseline ? d->baseline : d->student;
    if (net.is_empty())
        throw Error(path + ": no " + std::string(roleName(role)) + " model to save (nothing trained yet)");
    saveNet(*net, path, d->cardJson(roleName(role)));
}

void Trainer::saveStageCheckpoint(int stage, const std::string& path) const {
    if (stage < 0 || std::size_t(stage) >= d->stageNets.size() || d->stageNets[std::size_t(stage)].is_empty())
        throw Error(path + ": the last run has no model " + std::to_string(stage) +
                    " besides its teacher and students");
    const std::string id =
        std::size_t(stage) < d->lastResult.stages.size() ? d->lastResult.stages[std::size_t(stage)].id : "";
    saveNet(*d->stageNets[std::size_t(stage)], path, d->cardJson(id));
}

std::int64_t countModuleParameters(const ModelSpec& spec, const InputShape& input) {
    KdNet net(spec, input);
    return parameterCount(*net);
}

} // namespace kd
