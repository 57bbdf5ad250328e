// Teacher-training and distillation throughput of kdlab's engine beside the same loop in PyTorch (Python).
// Full Fashion-MNIST, batch 128, hinton-teacher (mlp:1200,1200 + dropout) -> hinton-student (mlp:800,800),
// Adam. Prints medians over repetitions and the ratios. Never asserts on time.
#include "kdcore/error.h"
#include "kdcore/trainer.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

double median(std::vector<double> v) {
    if (v.empty())
        return 0;
    std::sort(v.begin(), v.end());
    const std::size_t m = v.size() / 2;
    return v.size() % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

std::string list(const std::vector<double>& v) {
    std::string s;
    for (double x : v)
        s += (s.empty() ? "" : " ") + std::to_string(int(x + 0.5));
    return s;
}

} // namespace

// The default CNN teacher (cnn:32,64+dropout=0.3), one epoch on `images` plain training images, then its
// logits on them (the evaluation a distillation epoch runs per batch with augmented views): with LibTorch's
// own convolution and pooling (KDLAB_CONV=torch) and with kdlab's oneDNN layers, alternating, in one process.
static bool cnnTeacher(int reps, std::int64_t images) {
    kd::ExperimentConfig config;
    config.dataset = "fashion-mnist";
    config.trainLimit = images;
    config.testLimit = 1000;
    config.teacher = "cnn-teacher";
    config.student = "tiny";
    config.teacherEpochs = 1;
    config.epochs = 1;
    config.batchSize = 128;
    config.augment = "none";
    config.teacherAugment = "none";
    config.transferLimit = 0;
    const char* backends[2] = {"torch", "onednn"};
    std::vector<double> train[2], eval[2];
    double flops = 0;
    try {
        for (int r = 0; r < reps; ++r)
            for (int b = 0; b < 2; ++b) {
                ::setenv("KDLAB_CONV", backends[b], /*overwrite=*/1);
                config.seed = std::uint64_t(r + 1);
                kd::Trainer trainer;
                const kd::ExperimentResult result = trainer.run(config);
                flops = double(result.teacher.stats.flopsPerSample);
                for (const kd::EpochMetrics& e : result.history)
                    if (e.role == kd::Role::Teacher)
                        train[b].push_back(e.samplesPerSecond);
                eval[b].push_back(double(trainer.dataset()->train.size()) / result.teacherLogitsSeconds);
                std::fprintf(stderr, "cnn rep %d/%d (%s) done\n", r + 1, reps, backends[b]);
            }
    } catch (const kd::Error& e) {
        std::fprintf(stderr, "error: %s\n", e.what());
        return false;
    }
    ::unsetenv("KDLAB_CONV");
    std::printf("\nCNN teacher cnn:32,64+dropout=0.3, %lld images, batch 128 (%.2f MFLOP forward per image), "
                "images/s, medians of %d:\n",
                static_cast<long long>(images), flops / 1e6, reps);
    std::printf("  %-36s %10s %10s %8s %10s\n", "", "LibTorch", "kdlab", "ratio", "GFLOP/s");
    // Training: forward, then the gradients of the weights and (but for the first layer) of the inputs,
    // about 3x the forward's FLOPs.
    const double tt = median(train[0]), tk = median(train[1]), et = median(eval[0]), ek = median(eval[1]);
    std::printf("  %-36s %10.0f %10.0f %7.2fx %10.0f\n", "teacher training epoch", tt, tk, tk / tt,
                3 * flops * tk / 1e9);
    std::printf("  %-36s %10.0f %10.0f %7.2fx %10.0f\n", "teacher logits (evaluation)", et, ek, ek / et,
                flops * ek / 1e9);
    std::printf("per repetition: training LibTorch [%s] kdlab [%s]; evaluation LibTorch [%s] kdlab [%s]\n",
                list(train[0]).c_str(), list(train[1]).c_str(), list(eval[0]).c_str(), list(eval[1]).c_str());
    return true;
}

int main(int argc, char** argv) {
    int reps = 3;
    std::int64_t trainLimit = 0;
    bool python = true;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--reps" && i + 1 < argc)
            reps = std::max(1, std::atoi(argv[++i]));
        else if (a == "--train-limit" && i + 1 < argc)
            trainLimit = std::atoll(argv[++i]);
        else if (a == "--no-python")
            python = false;
        else {
            std::fprintf(stderr, "usage: kdlab-bench [--reps N] [--train-limit N] [--no-python]\n");
            return 2;
        }
    }

    kd::ExperimentConfig config;
    config.dataset = "fashion-mnist";
    config.trainLimit = trainLimit;
    config.testLimit = 1000;
    config.teacher = "hinton-teacher";
    config.student = "hinton-student";
    config.teacherEpochs = 1;
    config.epochs = 1;
    config.batchSize = 128;
    config.temperature = 4;
    config.alpha = 0.5;
    // The plain path this bench measures: every training image, no augmentation, the teacher's logits
    // computed once and cached (the default experiment augments the students' views instead).
    config.augment = "none";
    config.teacherAugment = "none";
    config.transferLimit = 0;

    std::vector<double> teacherRates, distillRates, distillWithLogitsRates;
    std::int64_t samples = 0;
    int threads = 0;
    try {
        for (int r = 0; r < reps; ++r) {
            config.seed = std::uint64_t(r + 1);
            kd::Trainer trainer;
            const kd::ExperimentResult result = trainer.run(config);
            threads = result.threads;
            samples = std::int64_t(trainer.dataset()->train.size());
            for (const kd::EpochMetrics& e : result.history) {
                if (e.role == kd::Role::Teacher)
                    teacherRates.push_back(e.samplesPerSecond);
                if (e.role == kd::Role::Student) {
                    distillRates.push_back(e.samplesPerSecond);
                    // A one-epoch distillation also pays for caching the teacher's logits once.
                    distillWithLogitsRates.push_back(double(samples) /
                                                     (e.epochSeconds + result.teacherLogitsSeconds));
                }
            }
            std::fprintf(stderr, "kdlab rep %d/%d done\n", r + 1, reps);
        }
    } catch (const kd::Error& e) {
        std::fprintf(stderr, "error: %s\n", e.what());
        return 1;
    }

    // The Python loop twice: as people run it, and with glibc's allocator kept from returning memory to the
    // OS, as kdlab's engine does (tuneAllocator in core/src/trainer.cpp). The first shows what a user sees;
    // the second separates design (cached teacher logits) from allocator behaviour.
    struct PythonRun {
        std::string name;
        std::string env;
        std::vector<double> teacher, distill;
        std::string info = "not run";
    };
    std::vector<PythonRun> pythonRuns;
    if (python) {
        pythonRuns.push_back({"PyTorch loop", "", {}, {}});
        pythonRuns.push_back({"PyTorch loop, tuned malloc",
                              "MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=1073741824 ",
                              {},
                              {}});
    }
    for (PythonRun& py : pythonRuns) {
        const std::string cmd = py.env + "/usr/bin/python3 " KDLAB_PYTORCH_LOOP " --reps " +
                                std::to_string(reps) +
                                (trainLimit > 0 ? " --train-limit " + std::to_string(trainLimit) : "");
        std::FILE* pipe = ::popen(cmd.c_str(), "r");
        std::string out;
        if (pipe) {
            char buf[4096];
            while (std::fgets(buf, sizeof buf, pipe))
                out += buf;
            ::pclose(pipe);
        }
        try {
            const auto doc = nlohmann::json::parse(out);
            py.teacher = doc.at("teacher_samples_per_second").get<std::vector<double>>();
            py.distill = doc.at("distill_samples_per_second").get<std::vector<double>>();
            py.info = "PyTorch " + doc.at("torch").get<std::string>() + ", " +
                      std::to_string(doc.at("threads").get<int>()) + " intra-op thread(s)";
        } catch (const std::exception&) {
            py.info = "failed (is python3-torch installed?)";
        }
        std::fprintf(stderr, "%s done\n", py.name.c_str());
    }

    std::printf(
        "kdlab-bench: Fashion-MNIST, %lld training images, batch 128, hinton-teacher -> hinton-student, "
        "%d repetitions (medians)\n",
        static_cast<long long>(samples), reps);
    std::printf("kdlab: LibTorch C++, %d OpenMP thread(s), linear layers on %s; python: %s\n", threads,
                kd::linearBackendName(), pythonRuns.empty() ? "not run" : pythonRuns.front().info.c_str());
    auto row = [](const char* name, const std::vector<double>& ours, const std::vector<double>& theirs) {
        const double a = median(ours), b = median(theirs);
        if (b > 0)
            std::printf("  %-36s %10.0f %10.0f %7.2fx\n", name, a, b, a / b);
        else
            std::printf("  %-36s %10.0f %10s %8s\n", name, a, "-", "-");
    };
    if (pythonRuns.empty())
        pythonRuns.push_back({"(python not run)", "", {}, {}});
    for (const PythonRun& py : pythonRuns) {
        std::printf("\nsamples/s, against %-27s %10s %10s %8s\n", py.name.c_str(), "kdlab", "python",
                    "ratio");
        row("teacher epoch", teacherRates, py.teacher);
        row("distillation epoch", distillRates, py.distill);
        row("distillation epoch + caching logits", distillWithLogitsRates, py.distill);
    }
    std::printf("\nper repetition: kdlab teacher [%s] distill [%s]\n", list(teacherRates).c_str(),
                list(distillRates).c_str());
    for (const PythonRun& py : pythonRuns)
        if (!py.teacher.empty())
            std::printf("  %s: teacher [%s] distill [%s]\n", py.name.c_str(), list(py.teacher).c_str(),
                        list(py.distill).c_str());
    return cnnTeacher(reps, trainLimit > 0 ? trainLimit : 20000) ? 0 : 1;
}
