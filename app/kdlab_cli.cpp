// kdlab-cli: train teacher -> baseline -> distilled student from the command line and write the results.
#include "kdcore/config.h"
#include "kdcore/error.h"
#include "kdcore/export.h"
#include "kdcore/modelspec.h"
#include "kdcore/openmp.h"
#include "kdcore/predict.h"
#include "kdcore/report.h"
#include "kdcore/stats.h"
#include "kdcore/sweep.h"
#include "kdcore/trainer.h"

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <functional>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <unistd.h>
#include <utility>
#include <vector>

namespace {

volatile std::sig_atomic_t g_interrupted = 0;
void onInterrupt(int) {
    g_interrupted = 1;
}

const char* const kUsage = R"(usage: kdlab-cli run [options]
       kdlab-cli run --resume DIR [--threads N] [--export FORMATS]
       kdlab-cli sweep --temperatures LIST --alphas LIST [--students SPECS] [--seeds N] [--shard I/N] [options]
       kdlab-cli merge DIR... --out DIR
       kdlab-cli export --checkpoint FILE.pt --out FILE [--format torchscript|onnx|checkpoint]
       kdlab-cli predict --model FILE.pt|FILE.onnx [--top K] IMAGE...
       kdlab-cli help

Trains a teacher, a baseline student (labels only) and a distilled student, and writes
DIR/summary.json, DIR/metrics.csv and DIR/{teacher,baseline,student}.pt (kdlab checkpoints). While it
trains, DIR/checkpoints holds each model after its last finished epoch, for --resume.

options (a config file's keys are these names with '_' for '-'; flags override the file):
  --config FILE.json       settings file
  --dataset NAME           fashion-mnist (default), mnist, mnist-digits, or idx:PATH
  --train-limit N          use the first N training images (0: all)
  --test-limit N           use the first N test images (0: all)
  --transfer-limit N       students train on the first N training images only (0: all)
  --omit-class C           leave class C (0-based) out of the students' training images
  --teacher SPEC           teacher architecture or preset
  --teacher-checkpoint F   load the teacher from a kdlab checkpoint instead of training it
  --student SPEC           student architecture or preset
  --temperature T          softmax temperature for distillation, 0.1..100
  --alpha A                weight of the soft (teacher) loss, 0..1
  --epochs N               epochs for each student
  --teacher-epochs N       epochs for the teacher
  --augment A              none, shift (random moves by up to --shift-pixels, zero-filled) or
                           shift-flip (also mirrored left-right: for clothing, not digits); every model alike,
                           and the distilled student's soft targets come from the teacher on the same views
                           (default shift-flip, the default experiment's: Fashion-MNIST is clothing)
  --shift-pixels N         largest shift for --augment, 0..8 (default 2)
  --teacher-augment A      the teacher's own: same (as --augment), none (default), shift or shift-flip
  --batch-size N           mini-batch size
  --lr X                   learning rate
  --lr-schedule S          constant (default) or cosine (from --lr down to 0 over each model's training)
  --optimizer NAME         adam or sgd (with --momentum)
  --momentum X             SGD momentum
  --weight-decay X         L2 weight decay
  --seed N                 random seed (same seed and settings: same numbers)
  --teacher-seed N         the teacher's own seed (0: --seed)
  --method M               kd (default), ensemble, born-again or assistant (see "methods" below)
  --ensemble-size K        ensemble: K copies of --teacher, member k with seed teacher-seed + k
  --ensemble-teachers L    ensemble: member specs separated by ';' (instead of --ensemble-size)
  --generations G          born-again: student generations (1..10)
  --assistant SPEC         assistant: the teacher assistant's architecture
  --device D               auto, cpu or cuda
  --threads N              LibTorch intra-op threads (0: auto, all usable cores)
  --out DIR                output folder (default: runs/YYYYMMDD-HHMMSS)
  --teacher-cache DIR|off  where trained teachers are kept and looked up by their settings, so the same
                           teacher is not trained twice (default: $KDLAB_TEACHER_CACHE, else
                           ~/.local/share/kdlab/teachers; off: neither read nor written)
  --resume DIR             continue the interrupted run in DIR from its last checkpoints (DIR/checkpoints,
                           one per model, saved after every epoch), with DIR/config.json's settings: the
                           final numbers are those of the run uninterrupted
  --export FORMATS         also export the student: torchscript, onnx or torchscript,onnx, into
                           DIR/export/student.pt and DIR/export/student.onnx, each with a model card (.json)

methods: kd distils the student from the teacher. ensemble trains the members, then distils the student
from the mean of their probabilities at T (writes member-K.pt instead of teacher.pt). born-again trains
students with the teacher's architecture, generation g+1 distilled from generation g (student.pt is the
last; generation-G.pt the others). assistant distils the assistant from the teacher, then the student from
the assistant, and, for comparison, the same student directly from the teacher (assistant.pt, direct.pt).

sweep: one teacher (trained once, or --teacher-checkpoint), then every cell of the grid temperatures x
alphas x students x seeds distils its student from the teacher's cached logits; each (student, seed) trains
its baseline once. Writes DIR/sweep.csv (one row per cell and seed) and DIR/summary.json (mean +- std per
cell) after every cell, so an interrupted sweep keeps what finished.
  --temperatures 1,2,4,8   temperatures (default: --temperature)
  --alphas 0.1,0.5,0.9     alphas (default: --alpha)
  --students "A;B"         student specs separated by ';' (default: --student)
  --seeds N                seeds per cell: --seed, --seed + 1, ... (students only; one teacher)
  --shard I/N              run only cells I, I+N, I+2N, ... (0-based), e.g. one Slurm array task each
merge: joins the sweep.csv of shards (DIR...) into --out DIR (sweep.csv + summary.json).

export: writes the model in a kdlab checkpoint (teacher.pt, student.pt, ...) for deployment, and its model
card as FILE.json (spec, size, dataset, method, T, alpha, seed, the run's accuracies, dates).
  torchscript (.pt)   torch.jit.load in Python, torch::jit::load in C++
  onnx (.onnx)        ONNX opset 13, checked with onnx::checker; runs in OpenCV DNN, ONNX Runtime, ...
  checkpoint          a copy of the kdlab checkpoint (for kdlab itself), with the card beside it
Both: input float [N,1,28,28] with pixel values in [0,1] (normalisation inside), output logits [N,classes].
--format defaults to the --out extension. Every export is run by its runtime and compared with the
checkpoint's model before it replaces FILE; a failure leaves no file behind.

predict: prints each image's most likely class and top-K probabilities (default 3). Images of any size and
colour are made grey, inverted when the background is light, padded square and resized to 28x28.

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
        const std::string name = modelName(m.role, m.stage);
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
                     name.c_str(), m.epoch, epochs, bar.c_str(), int(fraction * 100 + 0.5), m.loss,
                     m.samplesPerSecond, formatDuration(eta).c_str());
        std::fflush(stderr);
        m_barShown = true;
    }

    void epochFinished(const kd::EpochMetrics& m) override {
        if (onFirstEpoch) {
            const std::function<void()> once = std::move(onFirstEpoch);
            onFirstEpoch = nullptr;
            once();
        }
        endBar();
        std::fprintf(
            stderr,
            "%-8s epoch %d/%d  train_loss %.4f  test_loss %.4f  test_acc %.4f  (%.1f s, %.0f samples/s)\n",
            modelName(m.role, m.stage).c_str(), m.epoch, m.epochs, m.trainLoss, m.testLoss, m.testAccuracy,
            m.epochSeconds, m.samplesPerSecond);
    }

    void modelDiverged(kd::Role, int, const std::string& message) override {
        endBar();
        std::fprintf(stderr, "warning: %s\n", message.c_str());
    }

    void warning(const std::string& message) override {
        endBar();
        std::fprintf(stderr, "warning: %s\n", message.c_str());
    }

    void checkpointFailed(const std::string& message) override {
        endBar();
        std::fprintf(stderr, "warning: %s (training goes on; this model cannot be resumed)\n",
                     message.c_str());
    }

    std::function<void()> onFirstEpoch; // called once, at the first epochFinished

    void stageStarted(int stage, const kd::StageResult& st) override {
        if (std::size_t(stage) >= m_stageNames.size())
            m_stageNames.resize(std::size_t(stage) + 1);
        m_stageNames[std::size_t(stage)] = st.name;
    }

private:
    std::string modelName(kd::Role role, int stage) const {
        if (stage >= 0 && std::size_t(stage) < m_stageNames.size())
            return m_stageNames[std::size_t(stage)];
        return kd::roleName(role);
    }

    void endBar() {
        if (m_barShown)
            std::fputs("\r\033[K", stderr);
        m_barShown = false;
    }

    kd::Trainer& m_trainer;
    const kd::ExperimentConfig& m_config;
    bool m_tty;
    bool m_barShown = false;
    std::vector<std::string> m_stageNames; // a method's extra models, by stage index
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
    std::map<std::string, std::string> extra;                  // command-specific flags (name as given)
};

ParsedArgs parseArgs(int argc, char** argv, int first, const std::vector<std::string>& extraFlags = {}) {
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
        if (std::find(extraFlags.begin(), extraFlags.end(), name) != extraFlags.end()) {
            args.extra[name] = value;
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

// --teacher-cache DIR|off, else the default folder (kd::defaultTeacherCacheDir).
std::string teacherCacheDir(const ParsedArgs& args) {
    const auto it = args.extra.find("teacher-cache");
    if (it == args.extra.end())
        return kd::defaultTeacherCacheDir();
    if (it->second.empty())
        throw kd::Error("--teacher-cache: expected a folder or off");
    return it->second == "off" ? std::string() : it->second;
}

void printSummary(const kd::ExperimentResult& r) {
    for (const kd::ComparisonRow& row : kd::methodComparison(r))
        std::printf("%-13s %-28s %10lld params  test_acc %.4f  test_loss %.4f\n", row.label.c_str(),
                    row.model.spec.c_str(), static_cast<long long>(row.model.stats.params),
                    row.model.testAccuracy, row.model.testLoss);
    // Each model against the baseline on the same test images: is the difference more than the noise?
    std::string studentLabel = "student", teacherLabel = "teacher";
    for (const kd::ComparisonRow& row : kd::methodComparison(r)) {
        studentLabel = row.key == "student" ? row.label : studentLabel;
        teacherLabel = row.key == "teacher" ? row.label : teacherLabel;
    }
    const std::pair<std::string, const kd::PairedTest*> comparisons[] = {
        {studentLabel, &r.studentVsBaseline}, {teacherLabel, &r.teacherVsBaseline}};
    for (const auto& [label, test] : comparisons)
        if (test->valid())
            std::printf("%s vs baseline: %s%s\n", label.c_str(), kd::describePairedTest(*test).c_str(),
                        test->significant() ? "" : " (within the test set's noise)");
    const auto gap = kd::gapRecovered(r);
    for (const kd::ComparisonRow& row : kd::methodComparison(r))
        if (!row.model.divergence.empty())
            std::printf("%s\n", row.model.divergence.c_str());
    const std::string verdict = kd::methodVerdict(r);
    if (!verdict.empty())
        std::printf("%s\n", verdict.c_str());
    if (r.stopped)
        std::printf("stopped before the end: the figures above are partial\n");
    else if (gap)
        std::printf("distillation recovered %.0f%% of the teacher-baseline gap (%+.2f points of accuracy)\n",
                    *gap * 100, (r.student.testAccuracy - r.baseline.testAccuracy) * 100);
    else
        std::printf("%s\n", kd::noGapReason(r).c_str());
}

kd::ExperimentConfig configFromArgs(const ParsedArgs& args) {
    kd::ExperimentConfig config;
    if (!args.configFile.empty())
        config = kd::configFromFile(args.configFile);
    for (const auto& [key, value] : args.settings) {
        std::string flag = key;
        for (char& c : flag)
            if (c == '_')
                c = '-';
        kd::setConfigValue(config, key, value, "--" + flag);
    }
    return config;
}

// Sweep progress: the teacher's phases and epochs, then one line per cell with the time left.
class SweepPrinter : public kd::SweepObserver {
public:
    explicit SweepPrinter(kd::SweepRunner& runner)
        : m_runner(runner)
        , m_start(std::chrono::steady_clock::now()) {}
    void phaseStarted(kd::Phase phase, const std::string& description) override {
        if (phase == kd::Phase::Teacher || phase == kd::Phase::TeacherLogits)
            std::fprintf(stderr, "[%s] %s\n", kd::phaseName(phase), description.c_str());
    }
    void batchFinished(const kd::BatchMetrics&) override {
        if (g_interrupted)
            m_runner.requestStop();
    }
    void epochFinished(const kd::EpochMetrics& m) override {
        if (m.role == kd::Role::Teacher)
            std::fprintf(stderr, "teacher  epoch %d/%d  test_acc %.4f  (%.1f s)\n", m.epoch, m.epochs,
                         m.testAccuracy, m.epochSeconds);
    }
    void cellStarted(const kd::SweepCell&, int position, int count) override {
        m_position = position;
        m_count = count;
        if (position == 1) // the first cell included the teacher: time cells from here
            m_cellsStart = std::chrono::steady_clock::now();
    }
    void cellFinished(const kd::SweepRow& r, const kd::ExperimentResult&) override {
        const auto now = std::chrono::steady_clock::now();
        double eta = -1;
        if (m_position >= 1) {
            const double perCell = std::chrono::duration<double>(now - m_cellsStart).count() / m_position;
            eta = perCell * (m_count - m_position - 1);
        }
        std::fprintf(stderr,
                     "[cell %d/%d] T=%g alpha=%g %s seed %llu: distilled %.4f, baseline %.4f  (ETA %s)\n",
                     m_position + 1, m_count, r.cell.temperature, r.cell.alpha, r.cell.student.c_str(),
                     static_cast<unsigned long long>(r.cell.seed), r.testAccuracy, r.baselineAccuracy,
                     formatDuration(eta).c_str());
        if (r.studentVsBaseline.valid())
            std::fprintf(stderr, "    distilled vs baseline: %s\n",
                         kd::describePairedTest(r.studentVsBaseline).c_str());
        if (onRow)
            onRow();
    }
    double seconds() const {
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - m_start).count();
    }
    std::function<void()> onRow;

private:
    kd::SweepRunner& m_runner;
    std::chrono::steady_clock::time_point m_start, m_cellsStart;
    int m_position = 0, m_count = 0;
};

int sweepCommand(int argc, char** argv) {
    const ParsedArgs args =
        parseArgs(argc, argv, 2, {"temperatures", "alphas", "students", "seeds", "shard", "teacher-cache"});
    kd::SweepPlan plan;
    plan.base = configFromArgs(args);
    for (const auto& [name, value] : args.extra) {
        if (name == "temperatures")
            plan.temperatures = kd::parseNumberList(value, "--temperatures");
        else if (name == "alphas")
            plan.alphas = kd::parseNumberList(value, "--alphas");
        else if (name == "students")
            plan.students = kd::parseSpecList(value, "--students");
        else if (name == "seeds") {
            char* end = nullptr;
            const long n = std::strtol(value.c_str(), &end, 10);
            if (value.empty() || *end != '\0' || n < 1 || n > 1000)
                throw kd::Error("--seeds: expected a whole number in 1..1000, got '" + value + "'");
            plan.seeds = int(n);
        } else if (name == "shard") {
            int i = -1, n = -1;
            char rest = 0;
            if (std::sscanf(value.c_str(), "%d/%d%c", &i, &n, &rest) != 2)
                throw kd::Error("--shard: expected I/N (e.g. 0/4), got '" + value + "'");
            plan.shardIndex = i;
            plan.shardCount = n;
        }
    }
    kd::validateSweepPlan(plan);
    if (plan.base.out.empty())
        plan.base.out = defaultOutDir();
    kd::ensureWritableDirectory(plan.base.out);

    kd::SweepRunner runner;
    runner.trainer().setTeacherCacheDir(teacherCacheDir(args));
    SweepPrinter printer(runner);
    runner.setObserver(&printer);
    printer.onRow = [&] { kd::writeSweepFiles(plan.base.out, runner.rows()); };
    std::signal(SIGINT, onInterrupt);
    std::signal(SIGTERM, onInterrupt);
    const int cells = int(kd::sweepCells(plan).size());
    std::fprintf(stderr, "sweep: %d of the plan's %d cell(s) in this shard (%d/%d)\n", cells,
                 kd::sweepCellCount(plan), plan.shardIndex, plan.shardCount);
    const std::vector<kd::SweepRow> rows = runner.run(plan);
    kd::writeSweepFiles(plan.base.out, rows);
    for (const kd::SweepSummaryCell& c : kd::summarizeSweep(rows))
        std::printf("%-16s T=%-5g alpha=%-5g distilled %.4f +- %.4f  baseline %.4f +- %.4f  (%d seed(s))\n",
                    c.student.c_str(), c.temperature, c.alpha, c.meanAccuracy, c.stdAccuracy, c.meanBaseline,
                    c.stdBaseline, c.seeds);
    std::printf("%zu of %d cell(s) in %s/sweep.csv (%.1f s)\n", rows.size(), cells, plan.base.out.c_str(),
                printer.seconds());
    return runner.stopped() ? 130 : 0;
}

int mergeCommand(int argc, char** argv) {
    std::vector<std::string> paths;
    std::string out;
    for (int i = 2; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--out") {
            if (i + 1 >= argc)
                throw kd::Error("--out: missing value");
            out = argv[++i];
        } else if (arg.rfind("--out=", 0) == 0) {
            out = arg.substr(6);
        } else if (arg.rfind("--", 0) == 0) {
            throw kd::Error("merge: unknown option " + arg + " (usage: kdlab-cli merge DIR... --out DIR)");
        } else {
            paths.push_back(arg + "/sweep.csv");
        }
    }
    if (out.empty())
        throw kd::Error("merge: --out DIR is required (usage: kdlab-cli merge DIR... --out DIR)");
    const std::vector<kd::SweepRow> rows = kd::mergeSweepCsvs(paths);
    kd::writeSweepFiles(out, rows);
    std::printf("merged %zu row(s) from %zu shard(s) into %s/sweep.csv\n", rows.size(), paths.size(),
                out.c_str());
    return 0;
}

// "--name value" / "--name=value" flags from `allowed`, and the other arguments in order.
struct SimpleArgs {
    std::map<std::string, std::string> flags;
    std::vector<std::string> positional;
};

SimpleArgs parseSimpleArgs(int argc, char** argv, const std::string& command,
                           const std::vector<std::string>& allowed) {
    SimpleArgs args;
    for (int i = 2; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg.rfind("--", 0) != 0) {
            args.positional.push_back(arg);
            continue;
        }
        std::string name = arg.substr(2), value;
        const auto eq = name.find('=');
        if (eq != std::string::npos) {
            value = name.substr(eq + 1);
            name = name.substr(0, eq);
        } else if (i + 1 < argc) {
            value = argv[++i];
        } else {
            throw kd::Error("--" + name + ": missing value");
        }
        if (std::find(allowed.begin(), allowed.end(), name) == allowed.end())
            throw kd::Error(command + ": unknown option --" + name + " (see kdlab-cli help)");
        args.flags[name] = value;
    }
    return args;
}

std::vector<kd::ExportFormat> parseExportFormats(const std::string& list) {
    std::vector<kd::ExportFormat> formats;
    std::string item;
    std::stringstream ss(list);
    while (std::getline(ss, item, ','))
        try {
            const kd::ExportFormat f = kd::parseExportFormat(item);
            if (std::find(formats.begin(), formats.end(), f) == formats.end())
                formats.push_back(f);
        } catch (const kd::Error&) {
            throw kd::Error("--export: unknown format '" + item +
                            "' (expected torchscript, onnx or torchscript,onnx)");
        }
    if (formats.empty())
        throw kd::Error("--export: no format given (expected torchscript, onnx or torchscript,onnx)");
    return formats;
}

std::string formatBytes(std::int64_t bytes) {
    char buf[32];
    if (bytes >= 1 << 20)
        std::snprintf(buf, sizeof buf, "%.1f MB", double(bytes) / (1 << 20));
    else
        std::snprintf(buf, sizeof buf, "%.1f KB", double(bytes) / 1024);
    return buf;
}

void printExport(const kd::ExportResult& r) {
    std::printf("exported %s (%s, %lld params) to %s (%s), model card %s; checked with %s: max logit "
                "difference %.1e\n",
                r.card.model.empty() ? "the model" : r.card.model.c_str(), r.card.spec.c_str(),
                static_cast<long long>(r.card.stats.params), r.modelPath.c_str(),
                formatBytes(r.card.fileBytes).c_str(), r.cardPath.c_str(), r.checkedWith.c_str(),
                r.maxLogitDifference);
    if (r.card.dataset.empty())
        std::printf(
            "note: the checkpoint has no training record (written before kdlab kept one), so the model "
            "card gives the architecture only\n");
}

int exportCommand(int argc, char** argv) {
    const SimpleArgs args = parseSimpleArgs(argc, argv, "export", {"checkpoint", "format", "out"});
    if (!args.positional.empty())
        throw kd::Error("export: unexpected argument '" + args.positional.front() +
                        "' (usage: kdlab-cli export --checkpoint FILE.pt --out FILE [--format "
                        "torchscript|onnx|checkpoint])");
    const auto flag = [&](const char* name) {
        const auto it = args.flags.find(name);
        return it == args.flags.end() ? std::string() : it->second;
    };
    const std::string checkpoint = flag("checkpoint"), out = flag("out");
    if (checkpoint.empty())
        throw kd::Error(
            "export: --checkpoint FILE.pt is required (a kdlab checkpoint, e.g. runs/.../student.pt)");
    if (out.empty())
        throw kd::Error("export: --out FILE is required (e.g. student.onnx)");
    kd::ExportFormat format;
    if (!flag("format").empty()) {
        format = kd::parseExportFormat(flag("format"));
    } else {
        const auto dot = out.rfind('.');
        const std::string ext = dot == std::string::npos ? "" : out.substr(dot);
        if (ext == ".onnx")
            format = kd::ExportFormat::Onnx;
        else if (ext == ".pt")
            format = kd::ExportFormat::TorchScript;
        else
            throw kd::Error(
                "export: --format torchscript|onnx is required when --out ends neither in .pt nor .onnx");
    }
    std::error_code ec;
    if (std::filesystem::equivalent(checkpoint, out, ec))
        throw kd::Error("export: --out " + out + " is the checkpoint itself; choose another file name");
    printExport(kd::exportCheckpoint(checkpoint, format, out));
    return 0;
}

int predictCommand(int argc, char** argv) {
    const SimpleArgs args = parseSimpleArgs(argc, argv, "predict", {"model", "top"});
    const auto model = args.flags.find("model");
    if (model == args.flags.end())
        throw kd::Error(
            "predict: --model FILE is required (usage: kdlab-cli predict --model FILE.pt|FILE.onnx "
            "IMAGE...)");
    if (args.positional.empty())
        throw kd::Error("predict: no images given (usage: kdlab-cli predict --model FILE IMAGE...)");
    int top = 3;
    if (const auto it = args.flags.find("top"); it != args.flags.end()) {
        char* end = nullptr;
        const long k = std::strtol(it->second.c_str(), &end, 10);
        if (it->second.empty() || *end != '\0' || k < 1 || k > 1000)
            throw kd::Error("--top: expected a whole number >= 1, got '" + it->second + "'");
        top = int(k);
    }
    const kd::Predictor predictor(model->second);
    const kd::InputShape in = predictor.input();
    std::fprintf(stderr, "model %s: %s, input %dx%dx%d, %d classes\n", model->second.c_str(),
                 predictor.runtime().c_str(), in.channels, in.height, in.width, in.classes);
    // Every readable image in one batch; an unreadable one is reported and skipped.
    std::vector<float> batch;
    std::vector<std::pair<std::string, kd::PreparedImage>> images;
    int failures = 0;
    for (const std::string& path : args.positional) {
        try {
            kd::PreparedImage image = kd::prepareImage(path, in);
            batch.insert(batch.end(), image.pixels.begin(), image.pixels.end());
            images.emplace_back(path, std::move(image));
        } catch (const kd::Error& e) {
            std::fprintf(stderr, "error: %s\n", e.what());
            ++failures;
        }
    }
    const std::vector<float> logits = predictor.logits(batch, images.size());
    const std::vector<std::string>& names = predictor.classNames();
    for (std::size_t i = 0; i < images.size(); ++i) {
        const auto best = kd::topClasses(logits.data() + i * std::size_t(in.classes), in.classes, top);
        std::string line = images[i].first + ": " + names[std::size_t(best.front().first)] + "  (";
        for (std::size_t k = 0; k < best.size(); ++k) {
            char prob[32];
            std::snprintf(prob, sizeof prob, " %.1f%%", best[k].second * 100);
            line += (k ? ", " : "") + names[std::size_t(best[k].first)] + prob;
        }
        line += ")";
        if (images[i].second.inverted)
            line += "  [light background: inverted]";
        std::printf("%s\n", line.c_str());
    }
    return failures ? 1 : 0;
}

// `run --resume DIR`: the settings of the run in DIR (its config.json); only --threads (speed; another
// thread count may change the last digits) and --export may be given.
kd::ExperimentConfig resumeConfig(const ParsedArgs& args, const std::string& dir) {
    if (dir.empty())
        throw kd::Error("--resume: missing value (the folder of the run to continue)");
    if (!args.configFile.empty())
        throw kd::Error("--resume " + dir + ": the settings come from " + dir +
                        "/config.json; --config cannot be given too");
    for (const auto& [key, value] : args.settings)
        if (key != "threads") {
            std::string flag = key;
            std::replace(flag.begin(), flag.end(), '_', '-');
            throw kd::Error("--resume " + dir + ": the settings come from " + dir + "/config.json; --" +
                            flag + " cannot be changed when resuming (start a new run instead)");
        }
    const std::string file = dir + "/config.json";
    if (::access(file.c_str(), F_OK) != 0)
        throw kd::Error("--resume " + dir +
                        ": no config.json there, so it is not a kdlab-cli run folder (or "
                        "the run stopped before its first epoch ended: start it again)");
    kd::ExperimentConfig config = kd::configFromFile(file);
    for (const auto& [key, value] : args.settings)
        kd::setConfigValue(config, key, value, "--threads");
    config.out = dir;
    return config;
}

int runCommand(int argc, char** argv) {
    const ParsedArgs args = parseArgs(argc, argv, 2, {"export", "resume", "teacher-cache"});
    const bool resuming = args.extra.count("resume") > 0;
    kd::ExperimentConfig config =
        resuming ? resumeConfig(args, args.extra.at("resume")) : configFromArgs(args);
    kd::validateConfig(config);
    // Checked before training, so a typo costs no run.
    const std::vector<kd::ExportFormat> exports = args.extra.count("export")
                                                      ? parseExportFormats(args.extra.at("export"))
                                                      : std::vector<kd::ExportFormat>();
    if (config.out.empty())
        config.out = defaultOutDir();
    const bool outExisted = ::access(config.out.c_str(), F_OK) == 0;
    kd::ensureWritableDirectory(config.out); // before training, so no work is lost to a bad path

    kd::Trainer trainer;
    ProgressPrinter printer(trainer, config);
    trainer.setObserver(&printer);
    // Each model's checkpoint after every epoch, in DIR/checkpoints, and the settings in DIR/config.json once
    // the first epoch is saved: what `run --resume DIR` continues from after an interruption or a crash.
    trainer.setCheckpointDir(config.out + "/checkpoints", resuming);
    trainer.setTeacherCacheDir(teacherCacheDir(args));
    if (!resuming)
        printer.onFirstEpoch = [&config] {
            kd::ExperimentConfig saved = config;
            saved.out.clear();
            kd::writeTextFile(config.out + "/config.json", kd::configToJson(saved) + "\n");
        };
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
    if ((result.teacher.trained || !config.teacherCheckpoint.empty() || !result.teacherFromCache.empty()) &&
        config.method != "ensemble")
        trainer.saveCheckpoint(kd::Role::Teacher, config.out + "/teacher.pt");
    for (std::size_t i = 0; i < result.stages.size(); ++i)
        if (result.stages[i].model.trained)
            trainer.saveStageCheckpoint(int(i), config.out + "/" + result.stages[i].id + ".pt");
    if (result.baseline.trained)
        trainer.saveCheckpoint(kd::Role::Baseline, config.out + "/baseline.pt");
    if (result.student.trained)
        trainer.saveCheckpoint(kd::Role::Student, config.out + "/student.pt");
    printSummary(result);
    if (!exports.empty() && !result.student.trained) {
        std::printf("no student to export: the run stopped before the student trained\n");
    } else if (!exports.empty()) {
        kd::ensureWritableDirectory(config.out + "/export");
        for (kd::ExportFormat format : exports)
            printExport(
                kd::exportCheckpoint(config.out + "/student.pt", format,
                                     config.out + "/export/student" + kd::exportFormatExtension(format)));
    }
    std::printf("results in %s/ (device %s, %d thread(s), linear layers on %s, convolutions on %s, %.1f s)\n",
                config.out.c_str(), result.device.c_str(), result.threads, kd::linearBackendName(),
                kd::convBackendName(), result.totalSeconds);
    if (result.stopped && ::access((config.out + "/config.json").c_str(), F_OK) == 0)
        std::printf("to continue from the last finished epoch: kdlab-cli run --resume %s\n",
                    config.out.c_str());
    return result.stopped ? 130 : 0;
}

} // namespace

int main(int argc, char** argv) {
    const std::string command = argc > 1 ? argv[1] : "";
    if (command == "run" || command == "sweep")
        kd::chooseOpenMpWaitPolicy(argv); // may re-execute this program with OMP_WAIT_POLICY=PASSIVE
    // Over a file-size limit (ulimit -f), a write then fails with EFBIG and gets a clear error, as a full
    // disk does, instead of the default SIGXFSZ killing the process mid-file.
    std::signal(SIGXFSZ, SIG_IGN);
    try {
        if (command == "run")
            return runCommand(argc, argv);
        if (command == "sweep")
            return sweepCommand(argc, argv);
        if (command == "merge")
            return mergeCommand(argc, argv);
        if (command == "export")
            return exportCommand(argc, argv);
        if (command == "predict")
            return predictCommand(argc, argv);
        if (command == "help" || command == "--help" || command == "-h") {
            printUsage(stdout);
            return 0;
        }
        std::fprintf(
            stderr, "error: %s\n",
            command.empty()
                ? "missing command (expected run, sweep, merge, export, predict or help; see kdlab-cli help)"
                : ("unknown command '" + command +
                   "' (expected run, sweep, merge, export, predict or help; see kdlab-cli help)")
                      .c_str());
        return 2;
    } catch (const kd::Error& e) {
        std::fprintf(stderr, "error: %s\n", e.what());
        return 1;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "error: internal: %s\n", e.what());
        return 1;
    }
}
