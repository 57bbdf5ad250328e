#pragma once

#include "kdcore/config.h"
#include "kdcore/dataset.h"
#include "kdcore/modelspec.h"
#include "kdcore/stats.h"

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace kd {

enum class Role { Teacher, Baseline, Student };
const char* roleName(Role role); // "teacher", "baseline", "student"

enum class Phase { Loading, Teacher, TeacherLogits, Baseline, Student, Done };
const char* phaseName(Phase phase);

struct BatchMetrics {
    Role role = Role::Teacher;
    int stage = -1; // >= 0: a method's extra model, ExperimentResult::stages[stage] (role: how it trains)
    int epoch = 0;  // 1-based
    int batch = 0;  // 1-based within the epoch
    int batchesPerEpoch = 0;
    double loss = 0, soft = 0, hard = 0; // soft/hard: distilled student only (else hard == loss)
    double temperature = 0, alpha = 0;   // in effect for this batch
    double samplesPerSecond = 0;         // this epoch so far
    double elapsedSeconds = 0;           // since run() started
};

struct EpochMetrics {
    Role role = Role::Teacher;
    int stage = -1; // as in BatchMetrics
    int epoch = 0;
    int epochs = 0;
    double trainLoss = 0, trainSoft = 0, trainHard = 0; // means over the epoch's batches
    double testLoss = 0, testAccuracy = 0;              // cross-entropy and accuracy on the test set
    double temperature = 0, alpha = 0;                  // at the end of the epoch
    double samplesPerSecond = 0;
    double epochSeconds = 0; // training only, evaluation excluded
    double elapsedSeconds = 0;
};

struct ModelResult {
    std::string spec;
    ModelStats stats;
    double testAccuracy = 0;
    double testLoss = 0;
    int epochsTrained = 0;
    double secondsPerEpoch = 0;
    bool trained = false; // false when loaded from a checkpoint or not reached (stopped)
    // A model stopped in the middle of an epoch keeps the weights after its last whole epoch, the ones its
    // accuracy and loss were measured on.
    std::uint64_t initialWeightsHash = 0; // FNV-1a of the parameters before training
    // Inference speed on this machine's CPU (Trainer::measureInference), 0 when not measured: median time
    // for one image, and images per second at batch 256.
    double latencyMs = 0;
    double imagesPerSecond = 0;
    // Non-empty when training stopped at a non-finite (NaN or Inf) loss: what happened and which weights
    // were kept (those after the last epoch that ended finite, or the initial ones). The model's accuracy,
    // loss and checkpoint are those of the kept weights; the run goes on with the next model.
    std::string divergence;
};

// A model a method trains besides teacher, baseline and student: an ensemble member, an earlier born-again
// generation, the teacher assistant, or the directly distilled student the assistant is compared with.
struct StageResult {
    std::string id;   // file-name safe: "member-1", "generation-1", "assistant", "direct"
    std::string name; // for people: "member 1", "generation 1", "assistant", "direct KD"
    std::string kind; // "member" | "generation" | "assistant" | "direct"
    ModelResult model;
    std::vector<EpochMetrics> history;
};

struct ExperimentResult {
    // teacher: for method ensemble, the ensemble (mean of the members' probabilities); student: the method's
    // student (born-again: the last generation; assistant: the one taught by the assistant).
    ModelResult teacher, baseline, student;
    std::vector<EpochMetrics> history; // teacher, baseline and student epochs (stages keep their own)
    std::string method = "kd";
    std::vector<StageResult> stages; // in training order
    bool stopped = false;
    // Paired tests on the test images (see kdcore/stats.h): A = the distilled student (or the teacher), B =
    // the baseline. Invalid (n == 0) when a model was not reached.
    PairedTest studentVsBaseline, teacherVsBaseline;
    // Its students had 0 epochs (a teacher-only run of kdlab-cli): their accuracies are their initial
    // weights', nothing to compare (see kd::noGapReason).
    bool studentsUntrained = false;
    double teacherLogitsSeconds = 0; // time to compute the cached teacher logits
    // The teacher-cache file the teacher was loaded from (Trainer::setTeacherCacheDir); empty when it was
    // trained, reused in memory or loaded from teacher_checkpoint.
    std::string teacherFromCache;
    double totalSeconds = 0;
    std::string device;
    int threads = 0; // OpenMP threads used
};

// Receives progress from Trainer::run(), on the thread that called run().
class TrainingObserver {
public:
    virtual ~TrainingObserver() = default;
    virtual void phaseStarted(Phase /*phase*/, const std::string& /*description*/) {}
    virtual void batchFinished(const BatchMetrics& /*metrics*/) {}
    virtual void epochFinished(const EpochMetrics& /*metrics*/) {}
    // A method's extra model starts (id, name, kind and spec are set), then its batches and epochs arrive
    // with metrics.stage == stage, then it finishes with its results (not called when stopped meanwhile).
    virtual void stageStarted(int /*stage*/, const StageResult& /*stage*/) {}
    virtual void stageFinished(int /*stage*/, const StageResult& /*result*/) {}
    // A model's loss became NaN or Inf (e.g. a learning rate far too high): its training stopped at that
    // batch and `message` (ModelResult::divergence) says what was kept. Then the run goes on.
    virtual void modelDiverged(Role /*role*/, int /*stage*/, const std::string& /*message*/) {}
    // A per-epoch checkpoint (Trainer::setCheckpointDir) could not be written, e.g. a full disk: training
    // goes on, and `message` names the file and the reason. Reported once per model.
    virtual void checkpointFailed(const std::string& /*message*/) {}
    // Something the user should know that does not stop the run, e.g. a damaged teacher-cache file that was
    // ignored (the teacher is trained again).
    virtual void warning(const std::string& /*message*/) {}
    // The labels of each training batch, after its step (for tests that check what a model was fed); only
    // called when wantsBatchLabels() is true, as it copies them to the CPU.
    virtual bool wantsBatchLabels() const { return false; }
    virtual void batchLabels(Role /*role*/, const std::int64_t* /*labels*/, std::size_t /*count*/) {}
    // Each training batch's images as the model saw them (augmented), and for a distilled model the logits
    // its soft targets came from (before T), for tests; only when wantsBatchInputs() (copies to the CPU).
    struct BatchInputs {
        Role role = Role::Teacher;
        int stage = -1;
        int epoch = 0, batch = 0; // 1-based
        std::size_t count = 0;
        std::vector<float> images;  // count x pixels per image, values in [0, 1]
        std::vector<float> targets; // count x classes; empty for a model trained on labels only
    };
    virtual bool wantsBatchInputs() const { return false; }
    virtual void batchInputs(const BatchInputs& /*inputs*/) {}
};

struct TestOutputs; // kdcore/analysis.h

// One experiment: teacher (trained, or loaded) -> cached teacher logits -> baseline student (cross-entropy)
// -> distilled student, both students from the same initial weights. The Trainer keeps the loaded dataset
// and the trained teacher, so a later run() with `reuseTeacher` trains only the students.
// Control functions are thread-safe and take effect from the next batch.
class Trainer {
public:
    Trainer();
    ~Trainer();
    Trainer(const Trainer&) = delete;
    Trainer& operator=(const Trainer&) = delete;

    void setObserver(TrainingObserver* observer);

    // Blocking. Throws kd::Error on bad config/input; a failed run leaves the previous teacher intact.
    ExperimentResult run(const ExperimentConfig& config, bool reuseTeacher = false);

    void requestStop();
    void setPaused(bool paused);
    void setTemperature(double temperature);
    void setAlpha(double alpha);

    // Per-epoch checkpoints. With a folder, every model the run trains is saved there as ID.pt (teacher.pt,
    // baseline.pt, student.pt, or a method's stage id such as member-1.pt) at the end of each of its epochs,
    // with what resuming needs: the optimizer's state, the epochs so far and the run's settings. A file is
    // written atomically (a temporary file, then rename), so a crash or kill -9 leaves the last epoch's. A
    // teacher the run loads or reuses is saved there too, once. Each file is also an ordinary kdlab
    // checkpoint (export, predict). Without `resume` a run first deletes the folder's .pt files; with it,
    // each model carries on from its file: a finished one is loaded, an unfinished one trains on from the
    // epoch after its checkpoint, and the final numbers are those of an uninterrupted run with the same
    // settings. run() throws kd::Error naming the file when it belongs to a run with other settings or
    // another architecture. Empty folder (the default): no checkpoints. Set between runs.
    void setCheckpointDir(const std::string& dir, bool resume = false);

    // The teacher cache: with a folder, a teacher that run() would train (not a loaded one, not an ensemble)
    // is looked up there first by everything that determines it (dataset and its contents, limits, spec,
    // epochs, seed, optimiser, batch size, augmentation, device, threads) and loaded instead of trained
    // (ExperimentResult::teacherFromCache says from where); a teacher trained to the end is stored there. A
    // damaged file is reported through TrainingObserver::warning and the teacher is trained again. Empty
    // (the default): no cache. Set between runs.
    void setTeacherCacheDir(const std::string& dir);

    // false: run() skips the baseline student (a sweep trains each seed's baseline once; result.baseline
    // stays empty). Not thread-safe; set between runs.
    void setTrainBaseline(bool train);

    bool hasTeacher() const;
    const Dataset* dataset() const; // the loaded dataset, or nullptr

    // The last run's models on the test set (logits after each model's last epoch) with the dataset, for the
    // teaching views. Models the run did not reach have no logits.
    TestOutputs testOutputs() const;
    // The same for a saved run (an opened .kdlab file): loads `config`'s dataset (kept, as run() does) and
    // the checkpoints ("teacher" | "baseline" | "student" -> .pt path; missing roles get no logits). Throws
    // kd::Error naming a checkpoint that cannot be read or does not fit the dataset.
    TestOutputs testOutputsFromCheckpoints(const ExperimentConfig& config,
                                           const std::map<std::string, std::string>& checkpoints);

    // Measures the last run's model (teacher, baseline or student) on this machine: the median time of a
    // forward pass for one image, and images per second at batch 256 (median of several batches), in eval
    // mode without autograd, with the run's threads. Takes about `budgetSeconds`; sets result.latencyMs and
    // result.imagesPerSecond. Throws kd::Error when there is no such model.
    void measureInference(Role role, ModelResult& result, double budgetSeconds = 0.5) const;

    // Writes the model of the last run (teacher, baseline or student) with its spec, normalisation and model
    // card (what it was trained on and how, and the run's accuracies). Throws for an ensemble teacher
    // (several models: save its members with saveStageCheckpoint).
    void saveCheckpoint(Role role, const std::string& path) const;
    // The same for the last run's ExperimentResult::stages[stage].
    void saveStageCheckpoint(int stage, const std::string& path) const;

private:
    struct Impl;
    std::unique_ptr<Impl> d;
};

// A checkpoint folder's models (see Trainer::setCheckpointDir) in file-name order: id, epochs done, and
// whether the model is finished (all its epochs, loaded, or stopped by divergence). Empty when the folder
// has none; throws kd::Error naming a file that is not a readable kdlab checkpoint.
struct ResumePoint {
    std::string id;
    int epoch = 0;
    bool complete = false;
};
std::vector<ResumePoint> readResumePoints(const std::string& dir);

// Checkpoint metadata, readable without LibTorch types.
struct CheckpointInfo {
    std::string spec;
    InputShape input;
    float mean = 0, stddev = 1;
    std::string card; // the model card (kdcore/export.h) as JSON; empty in checkpoints older than the cards
};
CheckpointInfo readCheckpointInfo(const std::string& path);

// The teacher cache kdlab-cli and the app use: $KDLAB_TEACHER_CACHE when set ("off": none), else
// $XDG_DATA_HOME/kdlab/teachers, else ~/.local/share/kdlab/teachers (empty when there is no home folder).
std::string defaultTeacherCacheDir();

// What runs the linear layers' matrix products on the CPU: "oneDNN sgemm" or "LibTorch BLAS".
const char* linearBackendName();

// What runs the convolutions on the CPU: "oneDNN" (kdlab's layer) or "LibTorch" (KDLAB_CONV=torch, or no
// libdnnl-dev at build time). Part of the teacher cache's key: the two agree to float tolerance, not bit for
// bit.
const char* convBackendName();

// Resolves "auto" | "cpu" | "cuda" to the device that will be used; throws for cuda without CUDA.
std::string resolveDevice(const std::string& requested);

} // namespace kd

namespace kd {
// Parameter count of the LibTorch module built for `spec` (cross-checks modelStats()).
std::int64_t countModuleParameters(const ModelSpec& spec, const InputShape& input = {});
} // namespace kd
