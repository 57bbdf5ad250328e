#include "sweepworker.h"
#include "openmpwait.h"

namespace kdui {

// Forwards the runner's reports (on the worker's thread) as the worker's signals, queued to the receivers.
class SweepWorker::Observer : public kd::SweepObserver {
public:
    explicit Observer(SweepWorker* worker)
        : m_worker(worker) {}
    void cellStarted(const kd::SweepCell& cell, int position, int count) override {
        passOnStop();
        Q_EMIT m_worker->cellStarted(cell, position, count);
    }
    void cellFinished(const kd::SweepRow& row, const kd::ExperimentResult& result) override {
        Q_EMIT m_worker->cellFinished(row, result);
    }
    void batchFinished(const kd::BatchMetrics& metrics) override {
        passOnStop();
        Q_EMIT m_worker->batchReported(metrics);
    }
    void epochFinished(const kd::EpochMetrics& metrics) override { Q_EMIT m_worker->epochReported(metrics); }

private:
    // A stop requested before run() began (which may reset the runner's own flag) still ends the sweep.
    void passOnStop() {
        if (m_worker->m_stopRequested.load() && !m_worker->m_runner->stopped())
            m_worker->m_runner->requestStop();
    }
    SweepWorker* m_worker;
};

void registerSweepMetaTypes() {
    registerMetaTypes();
    qRegisterMetaType<kd::SweepPlan>();
    qRegisterMetaType<kd::SweepCell>();
    qRegisterMetaType<kd::SweepRow>();
}

SweepWorker::SweepWorker(QObject* parent)
    : QObject(parent)
    , m_observer(std::make_unique<Observer>(this))
    , m_runner(std::make_unique<kd::SweepRunner>()) {
    registerSweepMetaTypes();
    m_runner->setObserver(m_observer.get());
    // The teacher cache the main window's runs fill: a sweep over the panel's settings reuses the teacher
    // the last run trained instead of training it again.
    m_runner->trainer().setTeacherCacheDir(kd::defaultTeacherCacheDir());
}

SweepWorker::~SweepWorker() = default;

void SweepWorker::requestStop() {
    m_stopRequested = true;
    m_runner->requestStop();
}

void SweepWorker::start(const kd::SweepPlan& plan) {
    yieldCoresToGui();
    m_running = true;
    if (m_stopRequested.load()) { // cancelled before it began
        m_running = false;
        Q_EMIT finished(true);
        return;
    }
    bool stopped = false;
    try {
        m_runner->run(plan);
        stopped = m_runner->stopped();
    } catch (const std::exception& e) {
        m_running = false;
        Q_EMIT failed(QString::fromStdString(e.what()));
        return;
    }
    m_running = false;
    Q_EMIT finished(stopped);
}

} // namespace kdui
