#pragma once
// Runs a hyperparameter sweep (kd::SweepRunner) on the thread this object lives in, in Qt's worker-object
// pattern: the owner moves it to a QThread, connects a queued signal to start(), and receives progress
// through signals that carry value types only.

#include "kdcore/sweep.h"
#include "metatypes.h"

#include <QObject>
#include <QString>

#include <atomic>
#include <memory>

Q_DECLARE_METATYPE(kd::SweepPlan)
Q_DECLARE_METATYPE(kd::SweepCell)
Q_DECLARE_METATYPE(kd::SweepRow)

namespace kdui {

// Registers the sweep types above and those of metatypes.h (safe to call again).
void registerSweepMetaTypes();

// The worker receives the runner's reports through a private kd::SweepObserver adapter (the observer's
// cellStarted / cellFinished share their names and signatures with the signals below).
class SweepWorker : public QObject {
    Q_OBJECT
public:
    explicit SweepWorker(QObject* parent = nullptr);
    ~SweepWorker() override;

    // Thread-safe, meant to be called directly from the GUI thread (the worker's thread is busy inside
    // start() during a sweep, so a queued call would wait for the end): ends the sweep within one batch; the
    // cells finished so far are kept (and were already reported by cellFinished()).
    void requestStop();
    // Thread-safe: forgets an earlier requestStop(). The owner calls it just before queuing start(); a stop
    // requested after that (even before start() begins) ends that sweep.
    void clearStop() { m_stopRequested = false; }
    bool isRunning() const { return m_running.load(); }

public Q_SLOTS:
    // Runs every cell of the plan (blocking this worker's thread); ends with finished() or failed().
    void start(const kd::SweepPlan& plan);

Q_SIGNALS:
    // `position` and `count` as kd::SweepObserver reports them: the cell's place among this plan's cells.
    void cellStarted(const kd::SweepCell& cell, int position, int count);
    // The trainer's reports of the cell now running (teacher, baseline when it trains in this cell, student);
    // every batch is reported, in order, between the cell's cellStarted() and cellFinished().
    void batchReported(const kd::BatchMetrics& metrics);
    void epochReported(const kd::EpochMetrics& metrics);
    void cellFinished(const kd::SweepRow& row, const kd::ExperimentResult& result);
    // The sweep ended: all cells done, or `stopped` by requestStop() (finished cells kept).
    void finished(bool stopped);
    // The sweep failed (a bad plan, a dataset that cannot be read, ...): a one-line message. Cells finished
    // before were reported and stand.
    void failed(const QString& message);

private:
    class Observer;
    std::unique_ptr<Observer> m_observer;
    std::unique_ptr<kd::SweepRunner> m_runner;
    std::atomic<bool> m_running{false};
    std::atomic<bool> m_stopRequested{false};
};

} // namespace kdui
