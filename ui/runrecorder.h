#pragma once

#include "kdcore/experimentfile.h"

#include <optional>

namespace kdui {

// Turns the engine's per-batch metrics into what the plots show and the progress bar needs: smoothed and
// thinned loss points, markers where T or alpha changed, and the run's progress with an ETA.
class RunRecorder {
public:
    // `teacherTrains`: false when the teacher is reused or loaded (its phase then takes no time). The run's
    // method decides how many models train (ensemble members, born-again generations, the assistant).
    void begin(const kd::ExperimentConfig& config, bool teacherTrains);

    struct Update {
        std::optional<kd::BatchPoint> point;       // a point for the curves (not every batch gives one)
        std::optional<kd::ParameterMarker> marker; // T or alpha differ from the previous batch's
    };
    // A method's extra models (metrics.stage >= 0) count towards progress but give no curve points: the
    // curves are the teacher's, the baseline's and the student's.
    Update addBatch(const kd::BatchMetrics& metrics);

    // A resumed run: model `id` (kd::ResumePoint::id, e.g. "student", "member-2") has `epochs` done already,
    // so the progress starts past them. Call after begin().
    void skipDone(const std::string& id, int epochs);

    double progress() const;   // 0..1 over the whole run
    double etaSeconds() const; // < 0 while not yet known

    // Exponential smoothing factor per batch and the most points kept per epoch of one model.
    static constexpr double kSmoothing = 0.9;
    static constexpr int kPointsPerEpoch = 100;

private:
    double weightOf(const kd::BatchMetrics& metrics) const;

    kd::ExperimentConfig m_config;
    bool m_teacherTrains = true;
    double m_teacherCost = 1, m_studentCost = 1; // relative cost of one batch
    std::vector<double> m_stageCosts;            // per stage, where it differs from its role's
    double m_totalCost = 0;                      // of one batch of every epoch of every model
    kd::Role m_role = kd::Role::Teacher;
    int m_stage = -1;
    double m_lastT = 0, m_lastAlpha = 0; // the distilled student's, from the config at the start
    double m_emaLoss = 0, m_emaSoft = 0, m_emaHard = 0;
    int m_emaCount = 0;
    int m_batchesPerEpoch = 0;
    double m_doneWork = 0;
    double m_skippedWork = 0; // skipDone's, in batch costs per batch of an epoch
    double m_elapsed = 0;
};

// A short run name for lists and legends, e.g. "T=2 a=0.5 mlp:128".
// "T=4 a=0.5 cnn:8,16"; with the changes made while it trained (markers), "T=4->20 a=0.5->0 cnn:8,16".
std::string runName(const kd::ExperimentConfig& config, const std::vector<kd::ParameterMarker>& markers = {});

} // namespace kdui
