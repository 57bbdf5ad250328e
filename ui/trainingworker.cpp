#include "trainingworker.h"
#include "openmpwait.h"

#include <QDir>

namespace kdui {

void registerMetaTypes() {
    qRegisterMetaType<kd::ExperimentConfig>();
    qRegisterMetaType<kd::BatchMetrics>();
    qRegisterMetaType<kd::EpochMetrics>();
    qRegisterMetaType<kd::ExperimentResult>();
    qRegisterMetaType<kd::StageResult>();
    qRegisterMetaType<kd::Phase>();
    qRegisterMetaType<kdui::TestOutputsPtr>();
}

TrainingWorker::TrainingWorker(QObject* parent)
    : QObject(parent)
    , m_trainer(std::make_unique<kd::Trainer>()) {
    registerMetaTypes();
    m_trainer->setObserver(this);
    // A teacher trained once (in this session or an earlier one) is loaded, not trained again.
    m_trainer->setTeacherCacheDir(kd::defaultTeacherCacheDir());
}

TrainingWorker::~TrainingWorker() = default;

void TrainingWorker::requestStop() {
    m_trainer->requestStop();
}

void TrainingWorker::setPaused(bool paused) {
    m_trainer->setPaused(paused);
}

void TrainingWorker::setTemperature(double temperature) {
    m_trainer->setTemperature(temperature);
}

void TrainingWorker::setAlpha(double alpha) {
    m_trainer->setAlpha(alpha);
}

void TrainingWorker::start(const kd::ExperimentConfig& config, bool reuseTeacher,
                           const QString& checkpointDir, bool resume) {
    yieldCoresToGui();
    m_running = true;
    m_trainer->setPaused(false);
    m_checkpointWarning.clear();
    m_trainer->setCheckpointDir(
        checkpointDir.isEmpty() ? std::string()
                                : QDir(checkpointDir).filePath(QStringLiteral("checkpoints")).toStdString(),
        resume);
    kd::ExperimentResult result;
    try {
        result = m_trainer->run(config, reuseTeacher);
    } catch (const std::exception& e) {
        m_running = false;
        Q_EMIT failed(QString::fromStdString(e.what()));
        return;
    }

    // Save what this run produced. The teacher exists once the students started (trained, loaded or reused);
    // a student only when this run trained at least one epoch of it, or trained it to the end (else the
    // Trainer holds an older one); a student that diverged in its first epoch keeps its initial weights.
    const auto reached = [](const kd::ModelResult& m) { return m.epochsTrained > 0 || m.trained; };
    QVariantMap checkpoints;
    QString warning = m_checkpointWarning;
    if (!checkpointDir.isEmpty() && !QDir().mkpath(checkpointDir)) {
        warning = checkpointDir + QStringLiteral(": cannot create the folder");
    } else if (!checkpointDir.isEmpty()) {
        // An ensemble teacher is several models: no teacher.pt (the views get its outputs from the run).
        const bool teacherReady = !result.baseline.spec.empty() && result.method != "ensemble";
        const std::pair<kd::Role, bool> roles[] = {{kd::Role::Teacher, teacherReady},
                                                   {kd::Role::Baseline, reached(result.baseline)},
                                                   {kd::Role::Student, reached(result.student)}};
        for (const auto& [role, save] : roles) {
            if (!save)
                continue;
            const QString path =
                QDir(checkpointDir).filePath(QString::fromLatin1(kd::roleName(role)) + QStringLiteral(".pt"));
            try {
                m_trainer->saveCheckpoint(role, path.toStdString());
                checkpoints.insert(QString::fromLatin1(kd::roleName(role)), path);
            } catch (const std::exception& e) {
                warning = QString::fromStdString(e.what());
            }
        }
    }
    // The efficiency table's numbers: inference speed of teacher and student on this machine (~1 s), unless
    // the user stopped the run (stop must be quick).
    if (!result.stopped) {
        try {
            m_trainer->measureInference(kd::Role::Teacher, result.teacher);
            if (result.student.epochsTrained > 0 || result.student.trained)
                m_trainer->measureInference(kd::Role::Student, result.student);
            result.baseline.latencyMs = result.student.latencyMs; // the same architecture
            result.baseline.imagesPerSecond = result.student.imagesPerSecond;
        } catch (const std::exception&) {
            // Not measured: the efficiency table says so; the run's results stand.
        }
    }
    Q_EMIT testOutputsReady(std::make_shared<const kd::TestOutputs>(m_trainer->testOutputs()));
    m_running = false;
    Q_EMIT finished(result, checkpoints, warning);
}

void TrainingWorker::analyse(int request, const kd::ExperimentConfig& config,
                             const QVariantMap& checkpoints) {
    std::map<std::string, std::string> paths;
    for (auto it = checkpoints.begin(); it != checkpoints.end(); ++it)
        paths[it.key().toStdString()] = it.value().toString().toStdString();
    yieldCoresToGui();
    m_running = true;
    try {
        auto outputs =
            std::make_shared<const kd::TestOutputs>(m_trainer->testOutputsFromCheckpoints(config, paths));
        m_running = false;
        Q_EMIT analysed(request, outputs, QString());
    } catch (const std::exception& e) {
        m_running = false;
        Q_EMIT analysed(request, nullptr, QString::fromStdString(e.what()));
    }
}

void TrainingWorker::phaseStarted(kd::Phase phase, const std::string& description) {
    Q_EMIT phaseChanged(phase, QString::fromStdString(description));
}

void TrainingWorker::batchFinished(const kd::BatchMetrics& metrics) {
    Q_EMIT batchReported(metrics);
}

void TrainingWorker::epochFinished(const kd::EpochMetrics& metrics) {
    Q_EMIT epochReported(metrics);
}

void TrainingWorker::modelDiverged(kd::Role, int, const std::string& message) {
    Q_EMIT diverged(QString::fromStdString(message));
}

void TrainingWorker::checkpointFailed(const std::string& message) {
    if (m_checkpointWarning.isEmpty())
        m_checkpointWarning = QString::fromStdString(message);
}

void TrainingWorker::warning(const std::string& message) {
    const QString text = QString::fromStdString(message);
    m_checkpointWarning =
        m_checkpointWarning.isEmpty() ? text : m_checkpointWarning + QStringLiteral("; ") + text;
}

void TrainingWorker::stageStarted(int stage, const kd::StageResult& result) {
    Q_EMIT stageReported(stage, result, /*finished=*/false);
}

void TrainingWorker::stageFinished(int stage, const kd::StageResult& result) {
    Q_EMIT stageReported(stage, result, /*finished=*/true);
}

} // namespace kdui
