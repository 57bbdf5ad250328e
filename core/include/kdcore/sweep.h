#pragma once
// Hyperparameter sweeps: a grid of temperatures x alphas (x student specs) x seeds, all distilled from one
// trained teacher and its cached logits. Each (student, seed) trains its baseline once; every cell then
// trains only its distilled student.

#include "kdcore/config.h"
#include "kdcore/stats.h"
#include "kdcore/trainer.h"

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace kd {

struct SweepPlan {
    ExperimentConfig base;             // everything else (dataset, teacher, epochs, ...); base.seed is seed 1
    std::vector<double> temperatures;  // empty: {base.temperature}
    std::vector<double> alphas;        // empty: {base.alpha}
    std::vector<std::string> students; // empty: {base.student}
    int seeds = 1;                     // seeds base.seed, base.seed + 1, ... (students only; one teacher)
    int shardIndex = 0;                // run only cells with index % shardCount == shardIndex
    int shardCount = 1;
};

// One grid point and seed. `index` numbers all cells of the plan (not only this shard's) in the order
// student, temperature, alpha, seed (seed fastest), so shards of one plan never overlap.
struct SweepCell {
    int index = 0;
    std::string student;
    double temperature = 0;
    double alpha = 0;
    std::uint64_t seed = 0;
};

// Throws kd::Error naming the field: empty or invalid lists (T <= 0, alpha outside [0, 1], a bad spec),
// seeds < 1, a shard outside 0..count-1, and anything validateConfig refuses.
void validateSweepPlan(const SweepPlan& plan);
std::vector<SweepCell> sweepCells(const SweepPlan& plan); // this shard's cells, in index order
int sweepCellCount(const SweepPlan& plan);                // all cells of the plan, every shard
ExperimentConfig cellConfig(const SweepPlan& plan, const SweepCell& cell);

// One finished cell: what sweep.csv holds per row.
struct SweepRow {
    SweepCell cell;
    double testAccuracy = 0; // distilled student
    double testLoss = 0;
    double baselineAccuracy = 0; // same student spec and seed, labels only
    double teacherAccuracy = 0;
    // The distilled student against its baseline on the same test images (kdcore/stats.h); not in sweep.csv
    // (invalid for rows read from a file).
    PairedTest studentVsBaseline;
};

// Cells of the grid over seeds: mean and sample standard deviation (0 for one seed).
struct SweepSummaryCell {
    std::string student;
    double temperature = 0;
    double alpha = 0;
    int seeds = 0;
    double meanAccuracy = 0, stdAccuracy = 0;
    double meanLoss = 0;
    double meanBaseline = 0, stdBaseline = 0;
    double teacherAccuracy = 0;
    double meanGapRecovered =
        0; // mean over seeds of gapRecovered(teacher, baseline, student); NaN if undefined
};
std::vector<SweepSummaryCell> summarizeSweep(const std::vector<SweepRow>& rows);

// sweep.csv: header "index,student,temperature,alpha,seed,test_accuracy,test_loss,baseline_accuracy,
// teacher_accuracy", one row per cell and seed. Reading checks the header and every field (errors name the
// file and line) and returns the rows sorted by index.
std::string sweepCsv(const std::vector<SweepRow>& rows);
std::vector<SweepRow> readSweepCsv(const std::string& path);
// summary.json: the plan's lists, the teacher, and one object per summary cell. Written atomically.
std::string sweepSummaryJson(const std::vector<SweepRow>& rows);
// Joins shards: rows of several sweep.csv files, sorted by index; the same index twice with different
// numbers is an error naming both files, the same index with the same numbers is kept once.
std::vector<SweepRow> mergeSweepCsvs(const std::vector<std::string>& paths);
// Writes DIR/sweep.csv and DIR/summary.json (atomically; creates DIR).
void writeSweepFiles(const std::string& dir, const std::vector<SweepRow>& rows);

// Receives progress from SweepRunner::run() on its thread: the trainer's batch/epoch/phase reports of each
// cell's run, plus the cell boundaries.
class SweepObserver : public TrainingObserver {
public:
    virtual void cellStarted(const SweepCell& /*cell*/, int /*position*/, int /*count*/) {}
    // `result` is the cell's whole run (history of its baseline, if trained in this run, and student).
    virtual void cellFinished(const SweepRow& /*row*/, const ExperimentResult& /*result*/) {}
};

// Runs a plan with one Trainer: the teacher once, each (student, seed) baseline once, each cell's student.
// requestStop() is thread-safe and ends the sweep within one batch; finished cells are kept.
class SweepRunner {
public:
    SweepRunner();
    ~SweepRunner();
    void setObserver(SweepObserver* observer);
    // Blocking; returns the finished rows (all of them unless stopped). Throws kd::Error on a bad plan or a
    // failed run (rows finished before stay in rows()).
    std::vector<SweepRow> run(const SweepPlan& plan);
    void requestStop();
    bool stopped() const { return m_stopped.load(); }
    const std::vector<SweepRow>& rows() const { return m_rows; }
    Trainer& trainer() { return *m_trainer; }

private:
    std::unique_ptr<Trainer> m_trainer;
    SweepObserver* m_observer = nullptr;
    std::atomic<bool> m_stopped{false};
    std::vector<SweepRow> m_rows;
};

// Parses "1,2,4.5" (numbers) and "mlp:64;mlp:128" (specs contain commas, so specs are separated by ';').
// Throws kd::Error naming `what` and the bad item.
std::vector<double> parseNumberList(const std::string& text, const std::string& what);
std::vector<std::string> parseSpecList(const std::string& text, const std::string& what);

} // namespace kd
