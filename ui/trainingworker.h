#pragma once

#include "metatypes.h"

#include <QObject>
#include <QString>
#include <QVariantMap>

#include <atomic>
#include <memory>

namespace kdui {

// Runs kd::Trainer on the thread this object lives in (its owner moves it to a QThread, as in Qt's
// worker-object pattern). Progress leaves through signals carrying value types, queued to the receivers'
// thread. The control functions are thread-safe and meant to be called directly from the GUI thread: the
// worker's own thread is busy inside run() while training, so queued slots would wait until the run ends. The
// worker keeps its Trainer (and so the loaded dataset and the trained teacher) between runs.
class TrainingWorker : public QObject, private kd::TrainingObserver {
    Q_OBJECT
public:
    explicit TrainingWorker(QObject* parent = nullptr);
    ~TrainingWorker() override;

    // Thread-safe; effective from the next batch.
    void requestStop();
    void setPaused(bool paused);
    void setTemperature(double temperature);
    void setAlpha(double alpha);
    bool isRunning() const { return m_running.load(); }

public Q_SLOTS:
    // Trains one experiment; emits finished() or failed(). When `checkpointDir` is not empty, the models this
    // run trained (or reused) are saved there as teacher.pt, baseline.pt, student.pt at the end, and every
    // model after each epoch in checkpointDir/checkpoints; `resume` continues from those (see
    // kd::Trainer::setCheckpointDir).
    void start(const kd::ExperimentConfig& config, bool reuseTeacher, const QString& checkpointDir,
               bool resume = false);
    // Re-creates a saved run's test outputs from its checkpoints (role name -> path); emits analysed().
    void analyse(int request, const kd::ExperimentConfig& config, const QVariantMap& checkpoints);

Q_SIGNALS:
    void phaseChanged(kd::Phase phase, const QString& description);
    void batchReported(const kd::BatchMetrics& metrics);
    void epochReported(const kd::EpochMetrics& metrics);
    // A method's extra model (ensemble member, born-again generation, assistant, direct KD) started or
    // finished; its batches and epochs arrive in between, with metrics.stage == stage.
    void stageReported(int stage, const kd::StageResult& result, bool finished);
    // `checkpoints`: role name ("teacher", "baseline", "student") -> saved path; `warning`: a checkpoint that
    // could not be written (the results stand), else empty.
    void finished(const kd::ExperimentResult& result, const QVariantMap& checkpoints, const QString& warning);
    void failed(const QString& message);
    // A model's loss became NaN or Inf: its training stopped, its last good weights kept; the run goes on.
    void diverged(const QString& message);
    // Just before finished(): the run's models on the test set, for the teaching views.
    void testOutputsReady(const kdui::TestOutputsPtr& outputs);
    // analyse()'s answer: outputs, or null and a one-line error.
    void analysed(int request, const kdui::TestOutputsPtr& outputs, const QString& error);

private:
    void phaseStarted(kd::Phase phase, const std::string& description) override;
    void batchFinished(const kd::BatchMetrics& metrics) override;
    void epochFinished(const kd::EpochMetrics& metrics) override;
    void stageStarted(int stage, const kd::StageResult& result) override;
    void stageFinished(int stage, const kd::StageResult& result) override;
    void modelDiverged(kd::Role role, int stage, const std::string& message) override;
    void checkpointFailed(const std::string& message) override;
    void warning(const std::string& message) override;

    std::unique_ptr<kd::Trainer> m_trainer;
    std::atomic<bool> m_running{false};
    QString m_checkpointWarning; // this run's first per-epoch checkpoint failure (worker thread only)
};

} // namespace kdui
