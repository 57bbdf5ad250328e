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

    std::vector<double> pyTeacher, pyDistill;
    std::string pyInfo = "not run";
    if (python) {
        const std::string cmd = "/usr/bin/python3 " KDLAB_PYTORCH_LOOP " --reps " + std::to_string(reps) +
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
            pyTeacher = doc.at("teacher_samples_per_second").get<std::vector<double>>();
            pyDistill = doc.at("distill_samples_per_second").get<std::vector<double>>();
            pyInfo = "PyTorch " + doc.at("torch").get<std::string>() + ", " +
                     std::to_string(doc.at("threads").get<int>()) + " intra-op thread(s)";
        } catch (const std::exception&) {
            pyInfo = "failed (is python3-torch installed?)";
        }
    }

    std::printf(
        "kdlab-bench: Fashion-MNIST, %lld training images, batch 128, hinton-teacher -> hinton-student, "
        "%d repetitions (medians)\n",
        static_cast<long long>(samples), reps);
    std::printf("kdlab: LibTorch C++, %d intra-op thread(s) + OpenBLAS; python loop: %s\n\n", threads,
                pyInfo.c_str());
    std::printf("%-38s %14s %14s %8s\n", "samples/s", "kdlab", "PyTorch loop", "ratio");
    auto row = [](const char* name, const std::vector<double>& ours, const std::vector<double>& theirs) {
        const double a = median(ours), b = median(theirs);
        if (b > 0)
            std::printf("%-38s %14.0f %14.0f %7.2fx\n", name, a, b, a / b);
        else
            std::printf("%-38s %14.0f %14s %8s\n", name, a, "-", "-");
    };
    row("teacher epoch", teacherRates, pyTeacher);
    row("distillation epoch", distillRates, pyDistill);
    row("distillation epoch + caching logits", distillWithLogitsRates, pyDistill);
    std::printf("\nper repetition: kdlab teacher [%s] distill [%s]; python teacher [%s] distill [%s]\n",
                list(teacherRates).c_str(), list(distillRates).c_str(), list(pyTeacher).c_str(),
                list(pyDistill).c_str());
    return 0;
}
