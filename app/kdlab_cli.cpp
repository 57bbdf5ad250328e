// kdlab-cli: train teacher -> baseline -> distilled student from the command line and write the results.
#include "kdcore/config.h"
#include "kdcore/error.h"
#include "kdcore/modelspec.h"
#include "kdcore/report.h"
#include "kdcore/trainer.h"

#include <chrono>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <string>
#include <unistd.h>
#include <vector>

namespace {

volatile std::sig_atomic_t g_interrupted = 0;
void onInterrupt(int) {
    g_interrupted = 1;
}

const char* const kUsage = R"(usage: kdlab-cli run [options]
       kdlab-cli help

Trains a teacher, a baseline student (labels only) and a distilled student, and writes
DIR/summary.json, DIR/metrics.csv and DIR/{teacher,baseline,student}.pt.

options (a config file's keys are these names with '_' for '-'; flags override the file):
  --config FILE.json       settings file
  --dataset NAME           fashion-mnist (default), mnist-digits, or idx:PATH
  --train-limit N          use the first N training images (0: all)
  --test-limit N           use the first N test images (0: all)
  --transfer-limit N       students train on the first N training images only (0: all)
  --omit-class C           leave class C (0-based) out of the students' training images
  --teacher SPEC           teacher architecture or preset
  --teacher-checkpoint F   load the teacher from a kdlab checkpoint instead of training it
  --student SPEC           student architecture or preset
  --temperature T          softmax temperature for distillation (> 0)
  --alpha A                weight of the soft (teacher) loss, 0..1
  --epochs N               epochs for each student
  --teacher-epochs N       epochs for the teacher
  --batch-size N           mini-batch size
  --lr X                   learning rate
  --optimizer NAME         adam or sgd (with --momentum)
  --momentum X             SGD momentum
  --weight-decay X         L2 weight decay
  --seed N                 random seed (same seed and settings: same numbers)
  --device D               auto, cpu or cuda
  --threads N              LibTorch intra-op threads (0: auto, all usable cores)
  --out DIR                output folder (default: runs/YYYYMMDD-HHMMSS)

SPEC: mlp:H1,H2,... | mlp: | lenet5 | cnn:C1,C2,... [+dropout=P], or a preset:
)";

std::string formatDuration(double seconds) {
    if (!(seconds >= 0) || seconds > 1e7)
        return "--";
    const long s = long(seconds + 0.5);
    char buf[32];
    if (s >= 3600)
        std::snprintf(buf, sizeof buf, "%ldh%02ldm", s / 3600, (s / 60) % 60);
    else if (s >= 60)
        std::snprintf(buf, sizeof buf, "%ldm%02lds", s / 60, s % 60);
    else
        std::snprintf(buf, sizeof buf, "%lds", s);
    return buf;
}

// A progress bar with ETA on a terminal; one plain line per epoch otherwise (logs, pipes, CI).
class ProgressPrinter : public kd::TrainingObserver {
public:
    ProgressPrinter(kd::Trainer& trainer, const kd::ExperimentConfig& config)
        : m_trainer(trainer)
        , m_config(config)
        , m_tty(::isatty(STDERR_FILENO) == 1) {}

    void phaseStarted(kd::Phase phase, const std::string& description) override {
        endBar();
        // Loading is quick, and a failed load should print only its "error:" line.
        if (phase != kd::Phase::Done && phase != kd::Phase::Loading)
            std::fprintf(stderr, "[%s] %s\n", kd::phaseName(phase), description.c_str());
    }

    void batchFinished(const kd::BatchMetrics& m) override {
        if (g_interrupted)
            m_trainer.requestStop();
        if (!m_tty)
            return;
        const auto now = std::chrono::steady_clock::now();
        if (m.batch != m.batchesPerEpoch && now - m_lastDraw < std::chrono::milliseconds(100))
            return;
        m_lastDraw = now;
        const int epochs = m.role == kd::Role::Teacher ? m_config.teacherEpochs : m_config.epochs;
        const double done = double((m.epoch - 1) * m.batchesPerEpoch + m.batch);
        const double total = double(epochs) * m.batchesPerEpoch;
        const double fraction = total > 0 ? done / total : 1.0;
        const int width = 28;
        const int filled = int(fraction * width + 0.5);
        std::string bar(std::size_t(filled), '#');
        bar.resize(std::size_t(width), '-');
        // Samples/s of this epoch so far gives the time per remaining sample.
        const double remainingSamples = (total - done) * double(m_config.batchSize);
        const double eta = m.samplesPerSecond > 0 ? remainingSamples / m.samplesPerSecond : -1;
        std::fprintf(stderr, "\r%-8s epoch %d/%d [%s] %3d%%  loss %.4f  %6.0f samples/s  ETA %s   ",
                     kd::roleName(m.role), m.epoch, epochs, bar.c_str(), int(fraction * 100 + 0.5), m.loss,
                     m.samplesPerSecond, formatDuration(eta).c_str());
        std::fflush(stderr);
        m_barShown = true;
    }

    void epochFinished(const kd::EpochMetrics& m) override {
        endBar();
        std::fprintf(
            stderr,
            "%-8s epoch %d/%d  train_loss %.4f  test_loss %.4f  test_acc %.4f  (%.1f s, %.0f samples/s)\n",
            kd::roleName(m.role), m.epoch, m.epochs, m.trainLoss, m.testLoss, m.testAccuracy, m.epochSeconds,
            m.samplesPerSecond);
    }

private:
    void endBar() {
        if (m_barShown)
            std::fputs("\r\033[K", stderr);
        m_barShown = false;
    }

    kd::Trainer& m_trainer;
    const kd::ExperimentConfig& m_config;
    bool m_tty;
    bool m_barShown = false;
    std::chrono::steady_clock::time_point m_lastDraw{};
};

std::string defaultOutDir() {
    const std::time_t t = std::time(nullptr);
    char buf[64];
    std::strftime(buf, sizeof buf, "runs/%Y%m%d-%H%M%S", std::localtime(&t));
    return buf;
}

void printUsage(std::FILE* f) {
    std::fputs(kUsage, f);
    for (const auto& [name, spec] : kd::modelPresets())
        std::fprintf(f, "  %-16s %s\n", name.c_str(), spec.c_str());
}

struct ParsedArgs {
    std::string configFile;
    std::vector<std::pair<std::string, std::string>> settings; // key (with '_'), value
};

ParsedArgs parseArgs(int argc, char** argv, int first) {
    ParsedArgs args;
    for (int i = first; i < argc; ++i) {
        std::string arg = argv[i];
        if (arg.rfind("--", 0) != 0 || arg.size() == 2)
            throw kd::Error("unexpected argument '" + arg + "' (see kdlab-cli help)");
        std::string name = arg.substr(2), value;
        const auto eq = name.find('=');
        if (eq != std::string::npos) {
            value = name.substr(eq + 1);
            name = name.substr(0, eq);
        } else {
            if (i + 1 >= argc)
                throw kd::Error("--" + name + ": missing value");
            value = argv[++i];
        }
        if (name == "config") {
            args.configFile = value;
            continue;
        }
        std::string key = name;
        for (char& c : key)
            if (c == '-')
                c = '_';
        bool known = false;
        for (const std::string& k : kd::configKeys())
            known = known || k == key;
        if (!known)
            throw kd::Error("unknown option --" + name + " (see kdlab-cli help)");
        args.settings.emplace_back(key, value);
    }
    return args;
}

void printSummary(const kd::ExperimentResult& r) {
    auto row = [](const char* name, const kd::ModelResult& m) {
        std::printf("%-9s %-28s %10lld params  test_acc %.4f  test_loss %.4f\n", name, m.spec.c_str(),
                    static_cast<long long>(m.stats.params), m.testAccuracy, m.testLoss);
    };
    row("teacher", r.teacher);
    row("baseline", r.baseline);
    row("student", r.student);
    const auto gap =
        kd::gapRecovered(r.teacher.testAccuracy, r.baseline.testAccuracy, r.student.testAccuracy);
    if (r.stopped)
        std::printf("stopped before the end: the figures above are partial\n");
    else if (gap)
        std::printf("distillation recovered %.0f%% of the teacher-baseline gap (%+.2f points of accuracy)\n",
                    *gap * 100, (r.student.testAccuracy - r.baseline.testAccuracy) * 100);
    else
        std::printf(
            "the teacher is not better than the baseline, so there is no gap to recover: train the teacher "
            "longer or pick a stronger one\n");
}

int runCommand(int argc, char** argv) {
    const ParsedArgs args = parseArgs(argc, argv, 2);
    kd::ExperimentConfig config;
    if (!args.configFile.empty())
        config = kd::configFromFile(args.configFile);
    for (const auto& [key, value] : args.settings)
        kd::setConfigValue(
            config, key, value, "--" + [&] {
                std::string flag = key;
                for (char& c : flag)
                    if (c == '_')
                        c = '-';
                return flag;
            }());
    kd::validateConfig(config);
    if (config.out.empty())
        config.out = defaultOutDir();
    const bool outExisted = ::access(config.out.c_str(), F_OK) == 0;
    kd::ensureWritableDirectory(config.out); // before training, so no work is lost to a bad path

    kd::Trainer trainer;
    ProgressPrinter printer(trainer, config);
    trainer.setObserver(&printer);
    std::signal(SIGINT, onInterrupt);
    std::signal(SIGTERM, onInterrupt);

    kd::ExperimentResult result;
    try {
        result = trainer.run(config);
    } catch (const kd::Error&) {
        if (!outExisted)
            ::rmdir(config.out.c_str()); // only if still empty: leave no litter from a run that never started
        throw;
    }

    kd::writeTextFile(config.out + "/summary.json", kd::summaryJson(config, result));
    kd::writeTextFile(config.out + "/metrics.csv", kd::metricsCsv(result));
    if (result.teacher.trained || !config.teacherCheckpoint.empty())
        trainer.saveCheckpoint(kd::Role::Teacher, config.out + "/teacher.pt");
    if (result.baseline.trained)
        trainer.saveCheckpoint(kd::Role::Baseline, config.out + "/baseline.pt");
    if (result.student.trained)
        trainer.saveCheckpoint(kd::Role::Student, config.out + "/student.pt");
    printSummary(result);
    std::printf("results in %s/ (device %s, %d thread(s), linear layers on %s, %.1f s)\n", config.out.c_str(),
                result.device.c_str(), result.threads, kd::linearBackendName(), result.totalSeconds);
    return result.stopped ? 130 : 0;
}

} // namespace

int main(int argc, char** argv) {
    const std::string command = argc > 1 ? argv[1] : "";
    try {
        if (command == "run")
            return runCommand(argc, argv);
        if (command == "help" || command == "--help" || command == "-h") {
            printUsage(stdout);
            return 0;
        }
        std::fprintf(
            stderr, "error: %s\n",
            command.empty()
                ? "missing command (expected run or help; see kdlab-cli help)"
                : ("unknown command '" + command + "' (expected run or help; see kdlab-cli help)").c_str());
        return 2;
    } catch (const kd::Error& e) {
        std::fprintf(stderr, "error: %s\n", e.what());
        return 1;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "error: internal: %s\n", e.what());
        return 1;
    }
}
