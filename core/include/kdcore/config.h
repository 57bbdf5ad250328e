#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace kd {

// One experiment's settings. JSON keys and CLI flags share names: key `teacher_epochs` is flag
// `--teacher-epochs`. The defaults are kdlab's default experiment
// (resources/presets/fashion-mnist-default.json says the same), chosen from seeded runs on Fashion-MNIST and
// checked on other seeds and teachers (README, "Defaults, and why").
struct ExperimentConfig {
    std::string dataset = "fashion-mnist";
    std::int64_t trainLimit = 0; // 0: whole set
    std::int64_t testLimit = 0;
    // The students' transfer set: the first `transferLimit` training images (0: all), without the images of
    // class `omitClass` (-1: none). The teacher always trains on the whole training set.
    std::int64_t transferLimit = 15000;
    int omitClass = -1;
    std::string teacher = "cnn:32,64+dropout=0.3";
    std::string student = "cnn:8,16";
    std::string teacherCheckpoint; // non-empty: load the teacher instead of training it
    double temperature = 4.0;
    double alpha = 0.5;
    // How the students learn (kdlab's "methods"):
    //   kd          the distilled student learns from the teacher (Hinton et al. 2015);
    //   ensemble    the teacher is an ensemble: soft targets are the mean of the members' probabilities at T;
    //   born-again  the student has the teacher's architecture; generation g+1 learns from generation g;
    //   assistant   teacher -> assistant (intermediate size) -> student, compared with direct KD.
    std::string method = "kd";
    // ensemble: `ensembleTeachers` (specs separated by ';') lists the members; when empty, `ensembleSize`
    // copies of `teacher`. Member k (from 0) trains with seed teacher_seed + k.
    int ensembleSize = 3;
    std::string ensembleTeachers;
    int generations = 3;               // born-again: the number of student generations
    std::string assistant = "mlp:512"; // assistant: the assistant's architecture
    // Data augmentation of the training images, per batch, for every model alike (teacher, baseline,
    // students):
    //   none        the images as they are;
    //   shift       each image moved by up to `shiftPixels` pixels in x and y, the edge filled with zeros
    //               (Hinton et al. 2015's jitter);
    //   shift-flip  the same, and mirrored left-right with probability 1/2 (clothing, not digits).
    // Deterministic per seed, epoch and batch. With augmentation a distilled student's soft targets are the
    // teacher's logits on that very augmented batch ("consistent teaching", Beyer et al. 2022).
    std::string augment = "shift-flip";
    int shiftPixels = 2;
    // The teacher's own augmentation (and an ensemble's members'): "same" (as `augment`), or one of the names
    // above. A teacher may learn from plain images (strong in few epochs) while the students see views, or
    // from jittered images while the students see plain ones (Hinton et al. 2015). The baseline and the
    // distilled student always share `augment`.
    std::string teacherAugment = "none";
    int epochs = 10; // each student
    int teacherEpochs = 4;
    int batchSize = 128;
    double lr = 1e-3;
    // How the learning rate moves over a model's training, batch by batch:
    //   constant  `lr` throughout;
    //   cosine    from `lr` down to 0 along half a cosine (Loshchilov and Hutter 2017): the last epochs take
    //             small steps, so the final weights are not one noisy step of a large rate.
    std::string lrSchedule = "constant";
    std::string optimizer = "adam"; // adam | sgd (with momentum)
    double momentum = 0.9;
    double weightDecay = 0.0;
    std::uint64_t seed = 1;
    std::uint64_t teacherSeed = 0; // 0: `seed`; else the teacher's own (student seeds can vary, one teacher)
    std::string device = "auto";   // auto | cpu | cuda
    int threads = 0;               // LibTorch intra-op (OpenMP) threads; 0: auto (see applyThreadPolicy)
    std::string out;               // output folder (CLI)
};

// Names of all keys, in the order they are written.
const std::vector<std::string>& configKeys();

// Sets one key from text (a CLI flag value). Throws kd::Error "<source>: <key>: ..." on an unknown key,
// a value of the wrong type, or a value out of range.
void setConfigValue(ExperimentConfig& config, const std::string& key, const std::string& value,
                    const std::string& source);

// Reads a JSON object of config keys; unknown keys and wrong types are errors naming `source` and the key.
ExperimentConfig configFromJson(const std::string& jsonText, const std::string& source,
                                const ExperimentConfig& base = {});
ExperimentConfig configFromFile(const std::string& path, const ExperimentConfig& base = {});
std::string configToJson(const ExperimentConfig& config, int indent = 2);

// A preset file: a settings object that may also name itself, explain itself (shown in the app), and list a
// series of runs, each an object of settings applied on top of the file's own (e.g. the same experiment at
// T = 1, 4 and 10). configFromJson accepts such a file too (checking and skipping the three keys).
struct Preset {
    std::string name;
    std::string explanation;
    ExperimentConfig config;            // the first run
    std::vector<ExperimentConfig> runs; // at least one
};
Preset presetFromJson(const std::string& jsonText, const std::string& source,
                      const ExperimentConfig& base = {});
Preset presetFromFile(const std::string& path, const ExperimentConfig& base = {});

// The methods' names, in the order the app lists them: kd, ensemble, born-again, assistant.
const std::vector<std::string>& methodNames();

// The ensemble's member specs (see ExperimentConfig::ensembleTeachers), after trimming spaces.
std::vector<std::string> ensembleMemberSpecs(const ExperimentConfig& config);

// The augmentation names, in the order the app lists them: none, shift, shift-flip.
const std::vector<std::string>& augmentNames();
// The augmentation the teacher trains with: config.teacherAugment, or config.augment for "same".
const std::string& teacherAugmentation(const ExperimentConfig& config);

// The learning-rate schedules, in the order the app lists them: constant, cosine.
const std::vector<std::string>& lrScheduleNames();
// The learning rate for step `step` (0-based: batches done so far) of `steps` under `schedule` (see
// ExperimentConfig::lrSchedule); `lr` itself for constant, and for an empty run.
double scheduledLearningRate(const std::string& schedule, double lr, std::int64_t step, std::int64_t steps);

// Checks ranges and specs (T > 0, alpha in [0,1], batch size > 0, epochs >= 0, parsable specs, ...).
void validateConfig(const ExperimentConfig& config);

} // namespace kd
