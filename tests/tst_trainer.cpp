// kd::Trainer end to end on a small synthetic IDX dataset (10 classes of 28x28 bars, 600 train / 200 test):
// determinism, identical student initialisation, the control functions (stop, pause, T/alpha), teacher reuse,
// checkpoints, failed runs, and the methods (ensemble, born-again, assistant) against plain kd.
#include "kdcore/analysis.h"
#include "kdcore/config.h"
#include "kdcore/error.h"
#include "kdcore/report.h"
#include "kdcore/trainer.h"

#include "testdata.h"
#include "testutil.h"

#include <QElapsedTimer>
#include <QTemporaryDir>
#include <QTest>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>
#include <map>
#include <string>
#include <thread>

Q_DECLARE_METATYPE(kd::Role)

namespace {

constexpr int kTrain = 600;
constexpr int kTest = 200;
constexpr int kBatch = 32;
constexpr int kBatchesPerEpoch = (kTrain + kBatch - 1) / kBatch; // 19

// Records everything the trainer reports; `onBatch` lets a test act from inside the training loop.
class Recorder : public kd::TrainingObserver {
public:
    std::vector<kd::Phase> phases;
    std::vector<kd::BatchMetrics> batches;
    std::vector<kd::EpochMetrics> epochs;
    std::vector<QElapsedTimer> batchTimes; // when each batchFinished arrived
    std::function<void(const kd::BatchMetrics&)> onBatch;

    void phaseStarted(kd::Phase phase, const std::string&) override { phases.push_back(phase); }
    void batchFinished(const kd::BatchMetrics& m) override {
        batches.push_back(m);
        QElapsedTimer t;
        t.start();
        batchTimes.push_back(t);
        if (onBatch)
            onBatch(m);
    }
    void epochFinished(const kd::EpochMetrics& m) override { epochs.push_back(m); }

    int batchCount(kd::Role role) const {
        return int(
            std::count_if(batches.begin(), batches.end(), [role](const auto& b) { return b.role == role; }));
    }
};

bool sameTrainingNumbers(const kd::EpochMetrics& a, const kd::EpochMetrics& b) {
    // Every number except the timings (epochSeconds, samplesPerSecond, elapsedSeconds), which are wall-clock.
    return a.role == b.role && a.epoch == b.epoch && a.epochs == b.epochs && a.trainLoss == b.trainLoss &&
           a.trainSoft == b.trainSoft && a.trainHard == b.trainHard && a.testLoss == b.testLoss &&
           a.testAccuracy == b.testAccuracy && a.temperature == b.temperature && a.alpha == b.alpha;
}

QString describe(const kd::EpochMetrics& m) {
    return QString("%1 epoch %2/%3: train %4 (soft %5, hard %6) test %7 acc %8 T %9 alpha %10")
        .arg(kd::roleName(m.role))
        .arg(m.epoch)
        .arg(m.epochs)
        .arg(m.trainLoss, 0, 'g', 17)
        .arg(m.trainSoft, 0, 'g', 17)
        .arg(m.trainHard, 0, 'g', 17)
        .arg(m.testLoss, 0, 'g', 17)
        .arg(m.testAccuracy, 0, 'g', 17)
        .arg(m.temperature)
        .arg(m.alpha);
}

void compareModelResults(const kd::ModelResult& a, const kd::ModelResult& b) {
    QCOMPARE(a.spec, b.spec);
    QCOMPARE(a.stats.params, b.stats.params);
    QCOMPARE(a.testAccuracy, b.testAccuracy);
    QCOMPARE(a.testLoss, b.testLoss);
    QCOMPARE(a.epochsTrained, b.epochsTrained);
    QCOMPARE(a.initialWeightsHash, b.initialWeightsHash);
}

// What a method's run reports, in order, compactly: "start 0 member-1", "batches teacher 0" (a run of
// consecutive batches of one model), "epoch teacher 0 1", "finish 0 member-1", ..., "batches student -1".
class StageRecorder : public Recorder {
public:
    QStringList log;
    std::vector<kd::StageResult> started, finished;

    void stageStarted(int stage, const kd::StageResult& st) override {
        log << QString("start %1 %2").arg(stage).arg(QString::fromStdString(st.id));
        started.push_back(st);
    }
    void stageFinished(int stage, const kd::StageResult& st) override {
        log << QString("finish %1 %2").arg(stage).arg(QString::fromStdString(st.id));
        finished.push_back(st);
    }
    void batchFinished(const kd::BatchMetrics& m) override {
        const QString entry = QString("batches %1 %2").arg(kd::roleName(m.role)).arg(m.stage);
        if (log.isEmpty() || log.back() != entry)
            log << entry;
        Recorder::batchFinished(m);
    }
    void epochFinished(const kd::EpochMetrics& m) override {
        log << QString("epoch %1 %2 %3").arg(kd::roleName(m.role)).arg(m.stage).arg(m.epoch);
        Recorder::epochFinished(m);
    }
};

// Same training (every number but the timings) and same final model, or the first difference.
void compareTrained(const kd::ModelResult& a, const std::vector<kd::EpochMetrics>& aHistory,
                    const kd::ModelResult& b, const std::vector<kd::EpochMetrics>& bHistory) {
    compareModelResults(a, b);
    QCOMPARE(aHistory.size(), bHistory.size());
    for (std::size_t i = 0; i < aHistory.size(); ++i)
        QVERIFY2(sameTrainingNumbers(aHistory[i], bHistory[i]),
                 qPrintable(describe(aHistory[i]) + "\n   vs " + describe(bHistory[i])));
}

// The epochs of one model in a result's history.
std::vector<kd::EpochMetrics> historyOf(const kd::ExperimentResult& r, kd::Role role) {
    std::vector<kd::EpochMetrics> out;
    for (const kd::EpochMetrics& e : r.history)
        if (e.role == role)
            out.push_back(e);
    return out;
}

QByteArray fileBytes(const QString& path) {
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

// Row i of [rows x classes] logits.
const float* row(const std::vector<float>& logits, int i, int classes) {
    return logits.data() + std::size_t(i) * std::size_t(classes);
}

} // namespace

// Where a run is interrupted: model (role, stage) at batch `batch` of epoch `epoch`.
struct StopPoint {
    kd::Role role = kd::Role::Student;
    int stage = -1;
    int epoch = 1;
    int batch = 1;
};
Q_DECLARE_METATYPE(StopPoint)

class TestTrainer : public QObject {
    Q_OBJECT

private slots:
    void initTestCase();
    void divergenceStopsThatModelAndKeepsItsLastGoodWeights();
    void explodingLossIsDivergence_data();
    void explodingLossIsDivergence();
    void runReportsEveryPhaseEpochAndBatch();
    void learnedModelsBeatChance();
    void sameSeedSameResults();
    void differentSeedDifferentResults();
    void studentsStartFromIdenticalWeights();
    void stopFromObserver_data();
    void stopFromObserver();
    void runAfterStopCompletes();
    void temperatureAndAlphaChangeMidRun_data();
    void temperatureAndAlphaChangeMidRun();
    void pauseAndResumeFromAnotherThread();
    void stopWhilePaused();
    void softAndHardOnlyForDistilledStudent();
    void reuseTeacherSkipsTeacherTraining();
    void reuseTeacherRetrainsWhenTeacherChanges();
    void checkpointRoundTrip();
    void saveCheckpointWithoutModel();
    void badTeacherCheckpoint_data();
    void badTeacherCheckpoint();
    void checkpointForOtherClassCount();
    void failedRunKeepsTeacher_data();
    void failedRunKeepsTeacher();
    void transferSetIsWhatStudentsAreFed_data();
    void transferSetIsWhatStudentsAreFed();
    void omitClassOutOfRange();
    void testOutputsAreTheFinalModels();
    void testOutputsFromCheckpointsMatch();
    void stoppedRunHasNoStudentOutputs();
    void measureInference();
    void ensembleMembersTrainAsTeachers();
    void ensembleTeacherIsTheMeanOfItsMembers();
    void ensembleOfOneDistilsLikeKd();
    void ensembleTeachersListDefinesTheMembers();
    void ensembleStoppedInAMemberIsNotReused();
    void ensembleReusedWithItsMembers();
    void bornAgain_data();
    void bornAgain();
    void bornAgainFromCheckpointUsesItsArchitecture();
    void assistantComparedWithDirectKd();
    void resumeGivesTheUninterruptedNumbers_data();
    void resumeGivesTheUninterruptedNumbers();
    void learningRateSchedule_data();
    void learningRateSchedule();
    void cosineScheduleChangesTrainingAndRepeats();
    void untrainedStudentsAreNotCompared();
    void runThatCannotFitIsRefusedBeforeTraining();
    void resumeRefusesAnotherRunsCheckpoints_data();
    void resumeRefusesAnotherRunsCheckpoints();

private:
    kd::ExperimentConfig baseConfig() const;
    kd::ExperimentConfig methodConfig(const std::string& method) const;
    const kd::ExperimentResult& kdReference(const kd::ExperimentConfig& config);
    std::map<std::string, kd::ExperimentResult> m_kdRuns; // kdReference's runs, by config

    QTemporaryDir m_tmp;
    QString m_dataDir;     // 10 classes
    QString m_fiveClasses; // the same images, labels mod 5
};

void TestTrainer::initTestCase() {
    QVERIFY(m_tmp.isValid());
    m_dataDir = m_tmp.filePath("synthetic");
    m_fiveClasses = m_tmp.filePath("five-classes");
    QVERIFY(QDir().mkpath(m_dataDir));
    QVERIFY(QDir().mkpath(m_fiveClasses));
    testdata::Images train = testdata::syntheticImages(kTrain, 1);
    testdata::Images test = testdata::syntheticImages(kTest, 2);
    QVERIFY(testdata::writeIdxFolder(m_dataDir, train, test));
    for (auto* set : {&train, &test})
        for (auto& l : set->labels)
            l = std::uint8_t(l % 5);
    QVERIFY(testdata::writeIdxFolder(m_fiveClasses, train, test));
}

kd::ExperimentConfig TestTrainer::baseConfig() const {
    kd::ExperimentConfig c;
    c.dataset = "idx:" + m_dataDir.toStdString();
    c.teacher = "mlp:64";
    c.student = "mlp:32";
    c.teacherEpochs = 2;
    c.epochs = 2;
    c.batchSize = kBatch;
    // The engine's plain path (the default experiment augments the students' images and limits their set).
    c.augment = "none";
    c.teacherAugment = "same";
    c.transferLimit = 0;

    c.lr = 2e-3;
    c.temperature = 4.0;
    c.alpha = 0.7;
    c.seed = 1;
    c.device = "cpu";
    return c;
}

// The methods' tests: small models and one epoch each (every method trains several models), on one thread:
// models this small train in milliseconds on one, while OpenMP's spinning threads make them 10-100x slower
// on 2 cores shared with a build.
kd::ExperimentConfig TestTrainer::methodConfig(const std::string& method) const {
    kd::ExperimentConfig c = baseConfig();
    c.threads = 1;
    c.teacher = "mlp:32";
    c.student = "mlp:16";
    c.assistant = "mlp:24";
    c.teacherEpochs = 1;
    c.epochs = 1;
    c.method = method;
    return c;
}

// The plain kd run of `config` (method set to kd), run once per config and kept: deterministic, and the
// methods are compared with it.
const kd::ExperimentResult& TestTrainer::kdReference(const kd::ExperimentConfig& config) {
    kd::ExperimentConfig c = config;
    c.method = "kd";
    const std::string key = kd::configToJson(c);
    auto it = m_kdRuns.find(key);
    if (it == m_kdRuns.end()) {
        kd::Trainer trainer;
        it = m_kdRuns.emplace(key, trainer.run(c)).first;
    }
    return it->second;
}

void TestTrainer::runReportsEveryPhaseEpochAndBatch() {
    kd::Trainer trainer;
    Recorder rec;
    trainer.setObserver(&rec);
    QVERIFY(!trainer.hasTeacher());
    QVERIFY(trainer.dataset() == nullptr);
    const kd::ExperimentResult r = trainer.run(baseConfig());

    QVERIFY(!r.stopped);
    QCOMPARE(r.device, std::string("cpu"));
    QVERIFY(trainer.hasTeacher());
    QVERIFY(trainer.dataset() != nullptr);
    QCOMPARE(trainer.dataset()->train.size(), std::size_t(kTrain));
    QCOMPARE(trainer.dataset()->test.size(), std::size_t(kTest));
    QCOMPARE(trainer.dataset()->numClasses(), 10);

    const std::vector<kd::Phase> expectedPhases{kd::Phase::Loading,       kd::Phase::Teacher,
                                                kd::Phase::TeacherLogits, kd::Phase::Baseline,
                                                kd::Phase::Student,       kd::Phase::Done};
    QVERIFY(rec.phases == expectedPhases);

    // History: teacher epochs 1..2, then baseline 1..2, then student 1..2, as the observer saw them.
    QCOMPARE(r.history.size(), std::size_t(6));
    QCOMPARE(rec.epochs.size(), r.history.size());
    const kd::Role roles[] = {kd::Role::Teacher, kd::Role::Baseline, kd::Role::Student};
    for (std::size_t i = 0; i < r.history.size(); ++i) {
        const kd::EpochMetrics& e = r.history[i];
        QCOMPARE(e.role, roles[i / 2]);
        QCOMPARE(e.epoch, int(i % 2) + 1);
        QCOMPARE(e.epochs, 2);
        QVERIFY(sameTrainingNumbers(e, rec.epochs[i]));
        QVERIFY(e.testAccuracy >= 0 && e.testAccuracy <= 1);
        QVERIFY(e.trainLoss > 0 && std::isfinite(e.trainLoss));
        QVERIFY(e.testLoss > 0 && std::isfinite(e.testLoss));
        QVERIFY(e.epochSeconds > 0);
        QVERIFY(e.samplesPerSecond > 0);
    }

    // Batches: 19 per epoch, numbered 1..19 within each epoch, for each model.
    QCOMPARE(rec.batches.size(), std::size_t(3 * 2 * kBatchesPerEpoch));
    for (std::size_t i = 0; i < rec.batches.size(); ++i) {
        const kd::BatchMetrics& b = rec.batches[i];
        QCOMPARE(b.role, roles[i / (2 * kBatchesPerEpoch)]);
        QCOMPARE(b.epoch, int(i / kBatchesPerEpoch) % 2 + 1);
        QCOMPARE(b.batch, int(i % kBatchesPerEpoch) + 1);
        QCOMPARE(b.batchesPerEpoch, kBatchesPerEpoch);
        QVERIFY(std::isfinite(b.loss));
    }

    // The results are those of the last epoch of each model.
    QCOMPARE(r.teacher.testAccuracy, r.history[1].testAccuracy);
    QCOMPARE(r.baseline.testAccuracy, r.history[3].testAccuracy);
    QCOMPARE(r.student.testAccuracy, r.history[5].testAccuracy);
    for (const kd::ModelResult* m : {&r.teacher, &r.baseline, &r.student}) {
        QVERIFY(m->trained);
        QCOMPARE(m->epochsTrained, 2);
        QVERIFY(m->stats.params > 0);
    }
    QCOMPARE(r.teacher.spec, std::string("mlp:64"));
    QCOMPARE(r.student.spec, std::string("mlp:32"));
    QCOMPARE(qint64(r.student.stats.params), qint64(784 * 32 + 32 + 32 * 10 + 10));
}

void TestTrainer::learnedModelsBeatChance() {
    kd::Trainer trainer;
    const kd::ExperimentResult r = trainer.run(baseConfig());
    // Chance is 0.1 on 10 balanced classes.
    QVERIFY2(r.teacher.testAccuracy > 0.5, qPrintable(QString::number(r.teacher.testAccuracy)));
    QVERIFY2(r.baseline.testAccuracy > 0.5, qPrintable(QString::number(r.baseline.testAccuracy)));
    QVERIFY2(r.student.testAccuracy > 0.5, qPrintable(QString::number(r.student.testAccuracy)));
    // Training lowers the loss.
    QVERIFY(r.history[1].trainLoss < r.history[0].trainLoss);
}

void TestTrainer::sameSeedSameResults() {
    kd::Trainer first, second;
    const kd::ExperimentResult a = first.run(baseConfig());
    const kd::ExperimentResult b = second.run(baseConfig());
    const kd::ExperimentResult c = first.run(baseConfig()); // a second full run on the same Trainer
    for (const kd::ExperimentResult* other : {&b, &c}) {
        QCOMPARE(other->history.size(), a.history.size());
        for (std::size_t i = 0; i < a.history.size(); ++i)
            QVERIFY2(sameTrainingNumbers(a.history[i], other->history[i]),
                     qPrintable(describe(a.history[i]) + "\n   vs " + describe(other->history[i])));
        compareModelResults(a.teacher, other->teacher);
        compareModelResults(a.baseline, other->baseline);
        compareModelResults(a.student, other->student);
    }
}

void TestTrainer::differentSeedDifferentResults() {
    kd::ExperimentConfig config = baseConfig();
    kd::Trainer trainer;
    const kd::ExperimentResult a = trainer.run(config);
    config.seed = 2;
    const kd::ExperimentResult b = trainer.run(config);
    QCOMPARE(b.history.size(), a.history.size());
    for (std::size_t i = 0; i < a.history.size(); ++i)
        QVERIFY2(a.history[i].trainLoss != b.history[i].trainLoss, qPrintable(describe(a.history[i])));
    QVERIFY(a.teacher.initialWeightsHash != b.teacher.initialWeightsHash);
    QVERIFY(a.student.initialWeightsHash != b.student.initialWeightsHash);
}

void TestTrainer::studentsStartFromIdenticalWeights() {
    kd::ExperimentConfig config = baseConfig();
    kd::Trainer trainer;
    const kd::ExperimentResult a = trainer.run(config);
    QVERIFY(a.baseline.initialWeightsHash != 0);
    QCOMPARE(a.baseline.initialWeightsHash, a.student.initialWeightsHash);
    // Both students train from the same weights but with different losses: they end up different.
    QVERIFY(a.history[3].trainLoss != a.history[5].trainLoss);

    config.seed = 7;
    const kd::ExperimentResult b = trainer.run(config);
    QCOMPARE(b.baseline.initialWeightsHash, b.student.initialWeightsHash);
    QVERIFY(b.student.initialWeightsHash != a.student.initialWeightsHash);

    // Changing the teacher does not change the students' initial weights (separate random streams).
    config.teacher = "mlp:48";
    const kd::ExperimentResult c = trainer.run(config);
    QCOMPARE(c.student.initialWeightsHash, b.student.initialWeightsHash);
}

void TestTrainer::stopFromObserver_data() {
    QTest::addColumn<kd::Role>("role");
    QTest::addColumn<int>("epoch");
    QTest::addColumn<int>("batch");
    QTest::newRow("teacher, epoch 1, batch 3") << kd::Role::Teacher << 1 << 3;
    QTest::newRow("teacher, last batch of epoch 1") << kd::Role::Teacher << 1 << kBatchesPerEpoch;
    QTest::newRow("baseline, epoch 2, batch 5") << kd::Role::Baseline << 2 << 5;
    QTest::newRow("student, epoch 1, batch 1") << kd::Role::Student << 1 << 1;
    QTest::newRow("student, epoch 2, batch 10") << kd::Role::Student << 2 << 10;
}

void TestTrainer::stopFromObserver() {
    QFETCH(kd::Role, role);
    QFETCH(int, epoch);
    QFETCH(int, batch);
    kd::Trainer trainer;
    Recorder rec;
    int stopIndex = -1;
    rec.onBatch = [&](const kd::BatchMetrics& m) {
        if (stopIndex < 0 && m.role == role && m.epoch == epoch && m.batch == batch) {
            stopIndex = int(rec.batches.size()) - 1;
            trainer.requestStop();
        }
    };
    trainer.setObserver(&rec);
    const kd::ExperimentResult r = trainer.run(baseConfig());
    QVERIFY(stopIndex >= 0);
    QVERIFY(r.stopped);
    QCOMPARE(int(rec.batches.size()), stopIndex + 1); // no batchFinished after the one that asked to stop
    QCOMPARE(rec.phases.back(), kd::Phase::Done);
    // The models after the stopped one never started; the stopped one is not marked trained.
    const int stoppedAt = int(role);
    const kd::ModelResult* models[] = {&r.teacher, &r.baseline, &r.student};
    for (int i = 0; i < 3; ++i)
        QCOMPARE(models[i]->trained, i < stoppedAt);
    for (const kd::EpochMetrics& e : r.history)
        QVERIFY(int(e.role) <= stoppedAt);
}

void TestTrainer::runAfterStopCompletes() {
    kd::Trainer trainer;
    Recorder rec;
    rec.onBatch = [&](const kd::BatchMetrics& m) {
        if (m.batch == 2)
            trainer.requestStop();
    };
    trainer.setObserver(&rec);
    QVERIFY(trainer.run(baseConfig()).stopped);
    rec.onBatch = nullptr;
    rec.batches.clear();
    const kd::ExperimentResult r = trainer.run(baseConfig());
    QVERIFY(!r.stopped);
    QCOMPARE(int(rec.batches.size()), 3 * 2 * kBatchesPerEpoch);
    QVERIFY(r.student.trained);
}

void TestTrainer::temperatureAndAlphaChangeMidRun_data() {
    QTest::addColumn<int>("epoch");
    QTest::addColumn<int>("batch");
    QTest::newRow("epoch 1, batch 5") << 1 << 5;
    QTest::newRow("last batch of epoch 1") << 1 << kBatchesPerEpoch;
    QTest::newRow("epoch 2, batch 1") << 2 << 1;
}

void TestTrainer::temperatureAndAlphaChangeMidRun() {
    QFETCH(int, epoch);
    QFETCH(int, batch);
    const double oldT = 4.0, oldAlpha = 0.7, newT = 9.0, newAlpha = 0.2;
    kd::Trainer trainer;
    Recorder rec;
    rec.onBatch = [&](const kd::BatchMetrics& m) {
        if (m.role == kd::Role::Student && m.epoch == epoch && m.batch == batch) {
            trainer.setTemperature(newT);
            trainer.setAlpha(newAlpha);
        }
    };
    trainer.setObserver(&rec);
    kd::ExperimentConfig config = baseConfig();
    config.temperature = oldT;
    config.alpha = oldAlpha;
    const kd::ExperimentResult r = trainer.run(config);
    QVERIFY(!r.stopped);

    int before = 0, after = 0;
    for (const kd::BatchMetrics& m : rec.batches) {
        if (m.role != kd::Role::Student)
            continue;
        const bool changed = m.epoch > epoch || (m.epoch == epoch && m.batch > batch);
        const QString where = QString("student epoch %1 batch %2").arg(m.epoch).arg(m.batch);
        QVERIFY2(m.temperature == (changed ? newT : oldT),
                 qPrintable(where + ": T " + QString::number(m.temperature)));
        QVERIFY2(m.alpha == (changed ? newAlpha : oldAlpha),
                 qPrintable(where + ": alpha " + QString::number(m.alpha)));
        // The reported values are the ones the loss used.
        QVERIFY2(std::abs(m.loss - (m.alpha * m.soft + (1 - m.alpha) * m.hard)) <=
                     1e-5 * std::max(1.0, m.loss),
                 qPrintable(where));
        ++(changed ? after : before);
    }
    QCOMPARE(before, (epoch - 1) * kBatchesPerEpoch + batch);
    QCOMPARE(after, 2 * kBatchesPerEpoch - before);
    // The student's last epoch ends with the new values.
    QCOMPARE(r.history.back().role, kd::Role::Student);
    QCOMPARE(r.history.back().temperature, newT);
    QCOMPARE(r.history.back().alpha, newAlpha);

    // The next run starts again from the configured values.
    rec.onBatch = nullptr;
    rec.batches.clear();
    trainer.run(config);
    for (const kd::BatchMetrics& m : rec.batches) {
        QCOMPARE(m.temperature, oldT);
        QCOMPARE(m.alpha, oldAlpha);
    }
}

void TestTrainer::pauseAndResumeFromAnotherThread() {
    constexpr int pauseMs = 250;
    kd::Trainer trainer;
    Recorder rec;
    std::thread resumer;
    int pausedIndex = -1;
    QElapsedTimer pauseTimer;
    qint64 pausedForMs = 0;
    rec.onBatch = [&](const kd::BatchMetrics& m) {
        if (pausedIndex < 0 && m.role == kd::Role::Student && m.epoch == 1 && m.batch == 3) {
            pausedIndex = int(rec.batches.size()) - 1;
            trainer.setPaused(true);
            pauseTimer.start();
            resumer = std::thread([&] {
                std::this_thread::sleep_for(std::chrono::milliseconds(pauseMs));
                pausedForMs = pauseTimer.elapsed();
                trainer.setPaused(false);
            });
        }
    };
    trainer.setObserver(&rec);
    const kd::ExperimentResult r = trainer.run(baseConfig());
    if (resumer.joinable())
        resumer.join();
    QVERIFY(pausedIndex >= 0);
    QVERIFY(!r.stopped);
    QCOMPARE(int(rec.batches.size()), 3 * 2 * kBatchesPerEpoch); // every batch ran
    QCOMPARE(r.history.size(), std::size_t(6));
    QVERIFY(r.student.trained);

    // The trainer really waited: the next batch came only after the resume.
    const qint64 gapMs =
        rec.batchTimes[std::size_t(pausedIndex)].msecsTo(rec.batchTimes[std::size_t(pausedIndex) + 1]);
    QVERIFY2(gapMs >= pauseMs - 20, qPrintable(QString("next batch after %1 ms").arg(gapMs)));

    // ... and the pause is not counted as training time: the paused epoch's time is its wall time (first to
    // last batch, plus up to one more epoch's worth for its first batch) less most of the pause. Measured
    // against its own wall time, not the other epoch's time, which a busy machine can make 30x shorter.
    const kd::EpochMetrics& pausedEpoch = r.history[4];
    const kd::EpochMetrics& otherEpoch = r.history[5];
    QCOMPARE(pausedEpoch.role, kd::Role::Student);
    QCOMPARE(pausedEpoch.epoch, 1);
    const std::size_t first = std::size_t(pausedIndex) - 2; // batch 1 of the paused epoch
    const std::size_t last = first + kBatchesPerEpoch - 1;
    QCOMPARE(rec.batches[last].batch, kBatchesPerEpoch);
    const double wallSeconds = rec.batchTimes[first].msecsTo(rec.batchTimes[last]) / 1000.0;
    QVERIFY2(pausedEpoch.epochSeconds < wallSeconds - pausedForMs / 2000.0 + otherEpoch.epochSeconds + 0.005,
             qPrintable(QString("paused epoch %1 s, its wall time %2 s, other epoch %3 s, paused for %4 ms")
                            .arg(pausedEpoch.epochSeconds)
                            .arg(wallSeconds)
                            .arg(otherEpoch.epochSeconds)
                            .arg(pausedForMs)));
    QVERIFY(std::abs(pausedEpoch.samplesPerSecond * pausedEpoch.epochSeconds - kTrain) < 1.0);
    QVERIFY(r.student.secondsPerEpoch < otherEpoch.epochSeconds + pausedForMs / 3000.0);
}

void TestTrainer::stopWhilePaused() {
    kd::Trainer trainer;
    Recorder rec;
    std::thread stopper;
    int pausedIndex = -1;
    rec.onBatch = [&](const kd::BatchMetrics& m) {
        if (pausedIndex < 0 && m.role == kd::Role::Teacher && m.batch == 2) {
            pausedIndex = int(rec.batches.size()) - 1;
            trainer.setPaused(true);
            stopper = std::thread([&] {
                std::this_thread::sleep_for(std::chrono::milliseconds(100));
                trainer.requestStop();
            });
        }
    };
    trainer.setObserver(&rec);
    const kd::ExperimentResult r = trainer.run(baseConfig());
    if (stopper.joinable())
        stopper.join();
    trainer.setPaused(false);
    QVERIFY(r.stopped);
    QCOMPARE(int(rec.batches.size()), pausedIndex + 1);
}

void TestTrainer::softAndHardOnlyForDistilledStudent() {
    kd::Trainer trainer;
    Recorder rec;
    trainer.setObserver(&rec);
    const kd::ExperimentConfig config = baseConfig();
    const kd::ExperimentResult r = trainer.run(config);
    for (const kd::BatchMetrics& m : rec.batches) {
        const QString where =
            QString("%1 epoch %2 batch %3").arg(kd::roleName(m.role)).arg(m.epoch).arg(m.batch);
        if (m.role == kd::Role::Student) {
            QVERIFY2(m.soft > 0 && m.hard > 0, qPrintable(where));
            QVERIFY2(std::abs(m.loss - (config.alpha * m.soft + (1 - config.alpha) * m.hard)) <=
                         1e-5 * m.loss,
                     qPrintable(where));
        } else {
            QVERIFY2(m.soft == 0, qPrintable(where));
            QVERIFY2(m.hard == m.loss, qPrintable(where));
        }
    }
    for (const kd::EpochMetrics& e : r.history) {
        if (e.role == kd::Role::Student) {
            QVERIFY(e.trainSoft > 0);
            QVERIFY(e.trainHard > 0);
            QVERIFY(std::abs(e.trainLoss - (config.alpha * e.trainSoft + (1 - config.alpha) * e.trainHard)) <=
                    1e-5 * e.trainLoss);
        } else {
            QCOMPARE(e.trainSoft, 0.0);
            QCOMPARE(e.trainHard, e.trainLoss);
        }
    }
}

void TestTrainer::reuseTeacherSkipsTeacherTraining() {
    kd::Trainer trainer;
    Recorder rec;
    trainer.setObserver(&rec);
    const kd::ExperimentResult first = trainer.run(baseConfig());
    QVERIFY(first.teacher.trained);
    rec.batches.clear();
    const kd::ExperimentResult second = trainer.run(baseConfig(), /*reuseTeacher=*/true);
    QVERIFY(!second.stopped);
    QCOMPARE(rec.batchCount(kd::Role::Teacher), 0);
    QCOMPARE(rec.batchCount(kd::Role::Baseline), 2 * kBatchesPerEpoch);
    QCOMPARE(rec.batchCount(kd::Role::Student), 2 * kBatchesPerEpoch);
    for (const kd::EpochMetrics& e : second.history)
        QVERIFY(e.role != kd::Role::Teacher);
    QVERIFY(!second.teacher.trained);
    QCOMPARE(second.teacher.spec, first.teacher.spec);
    QCOMPARE(second.teacher.testAccuracy, first.teacher.testAccuracy);
    QCOMPARE(second.teacher.testLoss, first.teacher.testLoss);
    // Same teacher, same seed: the students are the same as in the first run.
    compareModelResults(second.baseline, first.baseline);
    compareModelResults(second.student, first.student);
}

void TestTrainer::reuseTeacherRetrainsWhenTeacherChanges() {
    kd::Trainer trainer;
    Recorder rec;
    trainer.setObserver(&rec);
    kd::ExperimentConfig config = baseConfig();
    trainer.run(config);
    config.teacher = "mlp:48"; // the kept teacher is not this one
    rec.batches.clear();
    const kd::ExperimentResult r = trainer.run(config, /*reuseTeacher=*/true);
    QCOMPARE(rec.batchCount(kd::Role::Teacher), 2 * kBatchesPerEpoch);
    QVERIFY(r.teacher.trained);
    QCOMPARE(r.teacher.spec, std::string("mlp:48"));
}

void TestTrainer::checkpointRoundTrip() {
    QTemporaryDir tmp;
    QVERIFY(tmp.isValid());
    const QString teacherPath = tmp.filePath("teacher.pt");
    const QString studentPath = tmp.filePath("student.pt");
    kd::ExperimentConfig config = baseConfig();
    config.teacher = "mlp:64+dropout=0.2";
    kd::ExperimentResult first;
    float mean = 0, stddev = 0;
    {
        kd::Trainer trainer;
        first = trainer.run(config);
        mean = trainer.dataset()->mean;
        stddev = trainer.dataset()->stddev;
        trainer.saveCheckpoint(kd::Role::Teacher, teacherPath.toStdString());
        trainer.saveCheckpoint(kd::Role::Baseline, tmp.filePath("baseline.pt").toStdString());
        trainer.saveCheckpoint(kd::Role::Student, studentPath.toStdString());
    }
    const kd::CheckpointInfo info = kd::readCheckpointInfo(teacherPath.toStdString());
    QCOMPARE(info.spec, std::string("mlp:64+dropout=0.2"));
    QCOMPARE(info.input.channels, 1);
    QCOMPARE(info.input.height, 28);
    QCOMPARE(info.input.width, 28);
    QCOMPARE(info.input.classes, 10);
    QCOMPARE(info.mean, mean);
    QCOMPARE(info.stddev, stddev);
    QCOMPARE(kd::readCheckpointInfo(studentPath.toStdString()).spec, std::string("mlp:32"));
    QCOMPARE(kd::readCheckpointInfo(tmp.filePath("baseline.pt").toStdString()).spec, std::string("mlp:32"));

    // A fresh Trainer loads the teacher instead of training it, and it is the same teacher.
    kd::Trainer trainer;
    Recorder rec;
    trainer.setObserver(&rec);
    config.teacher = "ignored-with-a-checkpoint";
    config.teacherCheckpoint = teacherPath.toStdString();
    const kd::ExperimentResult loaded = trainer.run(config);
    QVERIFY(!loaded.stopped);
    QCOMPARE(rec.batchCount(kd::Role::Teacher), 0);
    QVERIFY(!loaded.teacher.trained);
    QVERIFY(trainer.hasTeacher());
    QCOMPARE(loaded.teacher.spec, std::string("mlp:64+dropout=0.2"));
    QCOMPARE(loaded.teacher.stats.params, first.teacher.stats.params);
    QCOMPARE(loaded.teacher.testAccuracy, first.teacher.testAccuracy);
    QVERIFY(std::abs(loaded.teacher.testLoss - first.teacher.testLoss) <= 1e-6 * first.teacher.testLoss);
    // Distilled from the same teacher, with the same seed: the same student.
    QCOMPARE(loaded.student.testAccuracy, first.student.testAccuracy);
    QCOMPARE(loaded.student.initialWeightsHash, first.student.initialWeightsHash);
}

void TestTrainer::saveCheckpointWithoutModel() {
    QTemporaryDir tmp;
    QVERIFY(tmp.isValid());
    const QString path = tmp.filePath("teacher.pt");
    kd::Trainer trainer;
    QString msg;
    KD_EXPECT_ERROR(msg, trainer.saveCheckpoint(kd::Role::Teacher, path.toStdString()));
    QVERIFY2(msg.contains(path), qPrintable(msg));
    QVERIFY(!QFile::exists(path));

    // Stopped during the baseline: the teacher can be saved, the students cannot.
    Recorder rec;
    rec.onBatch = [&](const kd::BatchMetrics& m) {
        if (m.role == kd::Role::Baseline && m.batch == 2)
            trainer.requestStop();
    };
    trainer.setObserver(&rec);
    QVERIFY(trainer.run(baseConfig()).stopped);
    trainer.saveCheckpoint(kd::Role::Teacher, path.toStdString());
    QCOMPARE(kd::readCheckpointInfo(path.toStdString()).spec, std::string("mlp:64"));
    const QString studentPath = tmp.filePath("student.pt");
    KD_EXPECT_ERROR(msg, trainer.saveCheckpoint(kd::Role::Student, studentPath.toStdString()));
    QVERIFY2(msg.contains(studentPath), qPrintable(msg));
}

void TestTrainer::badTeacherCheckpoint_data() {
    QTest::addColumn<QString>("kind");
    QTest::newRow("garbage bytes") << "garbage";
    QTest::newRow("empty file") << "empty";
    QTest::newRow("truncated checkpoint") << "truncated";
    QTest::newRow("missing file") << "missing";
    QTest::newRow("a folder") << "folder";
}

void TestTrainer::badTeacherCheckpoint() {
    QFETCH(QString, kind);
    QTemporaryDir tmp;
    QVERIFY(tmp.isValid());
    const QString path = tmp.filePath("teacher.pt");
    if (kind == "garbage") {
        QByteArray bytes;
        for (int i = 0; i < 5000; ++i)
            bytes.append(char((i * 131 + 7) % 256));
        QVERIFY(testdata::writeFile(path, "PK\x03\x04 not really a zip " + bytes));
    } else if (kind == "empty") {
        QVERIFY(testdata::writeFile(path, QByteArray()));
    } else if (kind == "truncated") {
        kd::Trainer trainer;
        trainer.run(baseConfig());
        const QString full = tmp.filePath("full.pt");
        trainer.saveCheckpoint(kd::Role::Teacher, full.toStdString());
        QFile f(full);
        QVERIFY(f.open(QIODevice::ReadOnly));
        QVERIFY(testdata::writeFile(path, f.readAll().left(int(f.size() / 2))));
    } else if (kind == "folder") {
        QVERIFY(QDir().mkpath(path));
    }

    QString msg;
    KD_EXPECT_ERROR(msg, kd::readCheckpointInfo(path.toStdString()));
    QVERIFY2(msg.contains(path), qPrintable(msg));

    kd::ExperimentConfig config = baseConfig();
    config.teacherCheckpoint = path.toStdString();
    kd::Trainer trainer;
    KD_EXPECT_ERROR(msg, trainer.run(config));
    QVERIFY2(msg.contains(path), qPrintable(msg));
    QVERIFY(!trainer.hasTeacher());
}

void TestTrainer::checkpointForOtherClassCount() {
    QTemporaryDir tmp;
    QVERIFY(tmp.isValid());
    const QString path = tmp.filePath("five.pt");
    kd::ExperimentConfig config = baseConfig();
    config.dataset = "idx:" + m_fiveClasses.toStdString();
    config.epochs = 0;
    config.teacherEpochs = 1;
    {
        kd::Trainer trainer;
        trainer.run(config);
        QCOMPARE(trainer.dataset()->numClasses(), 5);
        trainer.saveCheckpoint(kd::Role::Teacher, path.toStdString());
    }
    QCOMPARE(kd::readCheckpointInfo(path.toStdString()).input.classes, 5);
    config = baseConfig(); // 10 classes
    config.teacherCheckpoint = path.toStdString();
    kd::Trainer trainer;
    QString msg;
    KD_EXPECT_ERROR(msg, trainer.run(config));
    QVERIFY2(msg.contains(path), qPrintable(msg));
    QVERIFY2(msg.contains("classes"), qPrintable(msg));
}

void TestTrainer::failedRunKeepsTeacher_data() {
    QTest::addColumn<QString>("failure");
    QTest::newRow("dataset folder missing") << "missing-dataset";
    QTest::newRow("invalid config") << "bad-config";
    QTest::newRow("garbage teacher checkpoint") << "garbage-checkpoint";
    QTest::newRow("garbage teacher checkpoint, other train limit") << "garbage-checkpoint-other-limit";
}

void TestTrainer::failedRunKeepsTeacher() {
    QFETCH(QString, failure);
    QTemporaryDir tmp;
    QVERIFY(tmp.isValid());
    kd::Trainer trainer;
    Recorder rec;
    trainer.setObserver(&rec);
    const kd::ExperimentConfig good = baseConfig();
    const kd::ExperimentResult first = trainer.run(good);
    QVERIFY(trainer.hasTeacher());

    kd::ExperimentConfig bad = good;
    QString offending;
    if (failure == "missing-dataset") {
        offending = tmp.filePath("no-such-folder");
        bad.dataset = "idx:" + offending.toStdString();
    } else if (failure == "bad-config") {
        bad.alpha = 2;
        offending = "alpha";
    } else {
        offending = tmp.filePath("garbage.pt");
        QVERIFY(testdata::writeFile(offending, "not a checkpoint"));
        bad.teacherCheckpoint = offending.toStdString();
        if (failure == "garbage-checkpoint-other-limit")
            bad.trainLimit = 300;
    }
    QString msg;
    KD_EXPECT_ERROR(msg, trainer.run(bad));
    QVERIFY2(msg.contains(offending), qPrintable(msg));

    // "A failed run leaves the previous teacher intact": still there, and still reusable as it was.
    QVERIFY2(trainer.hasTeacher(), qPrintable("the failed run dropped the trained teacher (" + msg + ")"));
    rec.batches.clear();
    const kd::ExperimentResult again = trainer.run(good, /*reuseTeacher=*/true);
    QCOMPARE(rec.batchCount(kd::Role::Teacher), 0);
    QCOMPARE(again.teacher.testAccuracy, first.teacher.testAccuracy);
    compareModelResults(again.student, first.student);
}

namespace {
// Records the labels of every batch each model was fed.
class LabelRecorder : public kd::TrainingObserver {
public:
    std::map<kd::Role, std::vector<std::int64_t>> fed;
    bool wantsBatchLabels() const override { return true; }
    void batchLabels(kd::Role role, const std::int64_t* labels, std::size_t count) override {
        fed[role].insert(fed[role].end(), labels, labels + count);
    }
};
} // namespace

void TestTrainer::transferSetIsWhatStudentsAreFed_data() {
    QTest::addColumn<int>("omitClass");
    QTest::addColumn<int>("transferLimit");
    QTest::newRow("omit 3") << 3 << 0;
    QTest::newRow("first 200") << -1 << 200;
    QTest::newRow("first 300 without 7") << 7 << 300;
    QTest::newRow("omit 0, limit past the end") << 0 << 100000;
}

// "The omitted-class run never shows that class to the student", checked on the labels actually fed.
void TestTrainer::transferSetIsWhatStudentsAreFed() {
    QFETCH(int, omitClass);
    QFETCH(int, transferLimit);
    kd::ExperimentConfig c = baseConfig();
    c.omitClass = omitClass;
    c.transferLimit = transferLimit;
    kd::Trainer trainer;
    LabelRecorder rec;
    trainer.setObserver(&rec);
    const kd::ExperimentResult r = trainer.run(c);
    QVERIFY(!r.stopped);

    const std::vector<std::int64_t>& all = trainer.dataset()->train.labels;
    const std::size_t limit =
        std::min<std::size_t>(transferLimit > 0 ? transferLimit : all.size(), all.size());
    std::map<std::int64_t, int> expected; // per epoch
    for (std::size_t i = 0; i < limit; ++i)
        if (all[i] != omitClass)
            ++expected[all[i]];
    for (kd::Role role : {kd::Role::Baseline, kd::Role::Student}) {
        std::map<std::int64_t, int> seen;
        for (std::int64_t y : rec.fed[role])
            ++seen[y];
        QVERIFY2(!seen.count(omitClass), kd::roleName(role));
        for (auto& [label, n] : expected)
            QCOMPARE(seen[label], n * c.epochs); // each transfer image once per epoch, nothing else
        QCOMPARE(seen.size(), expected.size());
    }
    // The teacher learns from every training image, the omitted class included.
    QCOMPARE(rec.fed[kd::Role::Teacher].size(), all.size() * std::size_t(c.teacherEpochs));
    if (omitClass >= 0)
        QVERIFY(std::count(rec.fed[kd::Role::Teacher].begin(), rec.fed[kd::Role::Teacher].end(), omitClass) >
                0);
}

void TestTrainer::omitClassOutOfRange() {
    kd::ExperimentConfig c = baseConfig();
    c.omitClass = 10;
    kd::Trainer trainer;
    QString msg;
    KD_EXPECT_ERROR(msg, trainer.run(c));
    QVERIFY2(msg.contains("omit_class") && msg.contains("0..9"), qPrintable(msg));
    c.omitClass = -2;
    KD_EXPECT_ERROR(msg, trainer.run(c));
    QVERIFY2(msg.contains("omit_class"), qPrintable(msg));
}

// The teaching views' logits belong to the models the result describes: same accuracies, same test set.
void TestTrainer::testOutputsAreTheFinalModels() {
    kd::Trainer trainer;
    const kd::ExperimentResult r = trainer.run(baseConfig());
    const kd::TestOutputs out = trainer.testOutputs();
    QCOMPARE(out.classes, 10);
    QCOMPARE(out.size(), std::size_t(kTest));
    QVERIFY(out.dataset.get() == trainer.dataset());
    const std::pair<kd::Role, const kd::ModelResult*> models[] = {
        {kd::Role::Teacher, &r.teacher}, {kd::Role::Baseline, &r.baseline}, {kd::Role::Student, &r.student}};
    for (const auto& [role, mr] : models) {
        QCOMPARE(out.logits(role).size(), std::size_t(kTest * 10));
        const kd::ConfusionMatrix m = kd::confusionMatrix(out.logits(role), out.dataset->test.labels, 10);
        QCOMPARE(m.total(), std::int64_t(kTest));
        QCOMPARE(m.accuracy(), mr->testAccuracy);
    }
    // Reusing the teacher keeps its outputs.
    const std::vector<float> teacherLogits = out.teacher;
    kd::ExperimentConfig c = baseConfig();
    c.temperature = 2.0;
    trainer.run(c, /*reuseTeacher=*/true);
    QVERIFY(trainer.testOutputs().teacher == teacherLogits);
}

void TestTrainer::testOutputsFromCheckpointsMatch() {
    QTemporaryDir tmp;
    kd::Trainer trainer;
    trainer.run(baseConfig());
    const kd::TestOutputs live = trainer.testOutputs();
    std::map<std::string, std::string> paths;
    for (kd::Role role : {kd::Role::Teacher, kd::Role::Baseline, kd::Role::Student}) {
        const std::string path = tmp.filePath(QString(kd::roleName(role)) + ".pt").toStdString();
        trainer.saveCheckpoint(role, path);
        paths[kd::roleName(role)] = path;
    }
    kd::Trainer other;
    const kd::TestOutputs saved = other.testOutputsFromCheckpoints(baseConfig(), paths);
    for (kd::Role role : {kd::Role::Teacher, kd::Role::Baseline, kd::Role::Student}) {
        QCOMPARE(saved.logits(role).size(), live.logits(role).size());
        for (std::size_t i = 0; i < live.logits(role).size(); ++i)
            QVERIFY(std::abs(saved.logits(role)[i] - live.logits(role)[i]) < 1e-4f);
    }
    // Only the roles given; a missing file is named.
    paths.erase("baseline");
    QVERIFY(!other.testOutputsFromCheckpoints(baseConfig(), paths).has(kd::Role::Baseline));
    paths["student"] = tmp.filePath("missing.pt").toStdString();
    QString msg;
    KD_EXPECT_ERROR(msg, other.testOutputsFromCheckpoints(baseConfig(), paths));
    QVERIFY2(msg.contains("missing.pt"), qPrintable(msg));
}

void TestTrainer::stoppedRunHasNoStudentOutputs() {
    kd::Trainer trainer;
    Recorder rec;
    rec.onBatch = [&](const kd::BatchMetrics& b) {
        if (b.role == kd::Role::Baseline)
            trainer.requestStop();
    };
    trainer.setObserver(&rec);
    const kd::ExperimentResult r = trainer.run(baseConfig());
    QVERIFY(r.stopped);
    const kd::TestOutputs out = trainer.testOutputs();
    QVERIFY(out.has(kd::Role::Teacher));
    QVERIFY(!out.has(kd::Role::Baseline));
    QVERIFY(!out.has(kd::Role::Student));
}

void TestTrainer::measureInference() {
    kd::Trainer trainer;
    kd::ModelResult mr;
    QString msg;
    KD_EXPECT_ERROR(msg, trainer.measureInference(kd::Role::Student, mr));
    QVERIFY2(msg.contains("student"), qPrintable(msg));
    trainer.run(baseConfig());
    QElapsedTimer clock;
    clock.start();
    trainer.measureInference(kd::Role::Teacher, mr, /*budgetSeconds=*/0.3);
    QVERIFY2(clock.elapsed() < 3000, qPrintable(QString::number(clock.elapsed())));
    QVERIFY(mr.latencyMs > 0 && mr.latencyMs < 1000);
    QVERIFY(mr.imagesPerSecond > 0);
    // 200 test images: a batch of 200, timed; at least as fast per image as one at a time is not asserted
    // (timing), only that both are finite.
    QVERIFY(std::isfinite(mr.latencyMs) && std::isfinite(mr.imagesPerSecond));
}

// Ensemble of 3: the members are teachers (member 1 the kd teacher itself, the others other seeds), each
// reported as a stage as it trains; the students are those of kd, taught by the ensemble.
void TestTrainer::ensembleMembersTrainAsTeachers() {
    kd::ExperimentConfig config = methodConfig("ensemble");
    config.ensembleSize = 3;
    kd::Trainer trainer;
    StageRecorder rec;
    trainer.setObserver(&rec);
    const kd::ExperimentResult r = trainer.run(config);
    const kd::ExperimentResult& ref = kdReference(config);
    QVERIFY(!r.stopped);
    QCOMPARE(r.method, std::string("ensemble"));

    // What the observer saw: each member from start to finish, then the students (no stage).
    QStringList expected;
    for (int k = 0; k < 3; ++k)
        expected << QString("start %1 member-%2").arg(k).arg(k + 1) << QString("batches teacher %1").arg(k)
                 << QString("epoch teacher %1 1").arg(k) << QString("finish %1 member-%2").arg(k).arg(k + 1);
    expected << "batches baseline -1"
             << "epoch baseline -1 1"
             << "batches student -1"
             << "epoch student -1 1";
    QCOMPARE(rec.log, expected);
    QCOMPARE(rec.batchCount(kd::Role::Teacher), 3 * kBatchesPerEpoch);

    QCOMPARE(r.stages.size(), std::size_t(3));
    QCOMPARE(rec.started.size(), std::size_t(3));
    QCOMPARE(rec.finished.size(), std::size_t(3));
    for (std::size_t k = 0; k < 3; ++k) {
        const kd::StageResult& st = r.stages[k];
        const std::string n = std::to_string(k + 1);
        QCOMPARE(st.id, "member-" + n);
        QCOMPARE(st.name, "member " + n);
        QCOMPARE(st.kind, std::string("member"));
        QCOMPARE(st.model.spec, std::string("mlp:32"));
        QVERIFY(st.model.trained);
        QCOMPARE(st.model.epochsTrained, 1);
        QVERIFY2(st.model.testAccuracy > 0.3, qPrintable(QString::number(st.model.testAccuracy)));
        QCOMPARE(st.history.size(), std::size_t(1));
        QCOMPARE(st.history[0].role, kd::Role::Teacher);
        QCOMPARE(st.history[0].stage, int(k));
        QCOMPARE(st.history[0].testAccuracy, st.model.testAccuracy);
        // stageStarted names the model before it trains; stageFinished gives its results.
        QCOMPARE(rec.started[k].id, st.id);
        QCOMPARE(rec.started[k].model.spec, st.model.spec);
        QVERIFY(!rec.started[k].model.trained);
        QVERIFY(rec.finished[k].model.trained);
        QCOMPARE(rec.finished[k].model.testAccuracy, st.model.testAccuracy);
        QCOMPARE(rec.finished[k].history.size(), std::size_t(1));
        for (std::size_t j = 0; j < k; ++j)
            QVERIFY2(
                st.model.initialWeightsHash != r.stages[j].model.initialWeightsHash,
                qPrintable(QString("members %1 and %2 start from the same weights").arg(j + 1).arg(k + 1)));
    }
    // Member 1 is the kd teacher of the same settings, bit for bit.
    compareTrained(r.stages[0].model, r.stages[0].history, ref.teacher, historyOf(ref, kd::Role::Teacher));

    // The teacher is the ensemble: its parts add up; its epochs are the members' (none in the history).
    QCOMPARE(r.teacher.spec, std::string("3 x mlp:32"));
    QCOMPARE(r.teacher.stats.params, 3 * ref.teacher.stats.params);
    QVERIFY(r.teacher.trained);
    QCOMPARE(r.teacher.epochsTrained, 1);
    QVERIFY(historyOf(r, kd::Role::Teacher).empty());
    QCOMPARE(r.history.size(), std::size_t(2));

    // The baseline does not depend on the teacher; the distilled student starts where kd's does.
    compareTrained(r.baseline, historyOf(r, kd::Role::Baseline), ref.baseline,
                   historyOf(ref, kd::Role::Baseline));
    QVERIFY(r.student.trained);
    QCOMPARE(r.student.initialWeightsHash, ref.student.initialWeightsHash);
    QVERIFY(r.student.testLoss != ref.student.testLoss); // taught by another teacher

    // The ensemble is several models: it has no teacher checkpoint, its members do.
    QTemporaryDir tmp;
    QVERIFY(tmp.isValid());
    const QString teacherPath = tmp.filePath("teacher.pt");
    QString msg;
    KD_EXPECT_ERROR(msg, trainer.saveCheckpoint(kd::Role::Teacher, teacherPath.toStdString()));
    QVERIFY2(msg.contains(teacherPath) && msg.contains("ensemble") && msg.contains("3"), qPrintable(msg));
    QVERIFY(!QFile::exists(teacherPath));
    for (int k = 0; k < 3; ++k) {
        const QString path = tmp.filePath(QString("member-%1.pt").arg(k + 1));
        trainer.saveStageCheckpoint(k, path.toStdString());
        QCOMPARE(kd::readCheckpointInfo(path.toStdString()).spec, std::string("mlp:32"));
    }
    const QString nowhere = tmp.filePath("member-4.pt");
    KD_EXPECT_ERROR(msg, trainer.saveStageCheckpoint(3, nowhere.toStdString()));
    QVERIFY2(msg.contains(nowhere), qPrintable(msg));
    KD_EXPECT_ERROR(msg, trainer.saveStageCheckpoint(-1, nowhere.toStdString()));
    QVERIFY(!QFile::exists(nowhere));
    trainer.saveCheckpoint(kd::Role::Student, tmp.filePath("student.pt").toStdString());
}

// "The ensemble predicts with the mean of its members' probabilities": its test outputs and accuracy are
// those of the saved members' outputs averaged.
void TestTrainer::ensembleTeacherIsTheMeanOfItsMembers() {
    kd::ExperimentConfig config = methodConfig("ensemble");
    config.ensembleSize = 3;
    config.epochs = 0; // only the teacher matters here
    kd::Trainer trainer;
    const kd::ExperimentResult r = trainer.run(config);
    QVERIFY(!r.stopped);
    const kd::TestOutputs out = trainer.testOutputs();
    QVERIFY(out.has(kd::Role::Teacher));
    const int classes = out.classes;
    QCOMPARE(out.teacher.size(), std::size_t(kTest * classes));

    QTemporaryDir tmp;
    QVERIFY(tmp.isValid());
    std::vector<std::vector<float>> members;
    kd::Trainer reader;
    for (int k = 0; k < 3; ++k) {
        const std::string path = tmp.filePath(QString("member-%1.pt").arg(k + 1)).toStdString();
        trainer.saveStageCheckpoint(k, path);
        members.push_back(reader.testOutputsFromCheckpoints(config, {{"teacher", path}}).teacher);
        QCOMPARE(members.back().size(), out.teacher.size());
        // Each member's saved model is the one the result describes.
        const kd::ConfusionMatrix m = kd::confusionMatrix(members.back(), out.dataset->test.labels, classes);
        QCOMPARE(m.accuracy(), r.stages[std::size_t(k)].model.testAccuracy);
    }

    int correct = 0;
    double loss = 0;
    for (int i = 0; i < kTest; ++i) {
        std::vector<double> mean(std::size_t(classes), 0.0);
        for (const std::vector<float>& m : members) {
            const std::vector<double> p = kd::softmaxAtTemperature(row(m, i, classes), classes, 1.0);
            for (int j = 0; j < classes; ++j)
                mean[std::size_t(j)] += p[std::size_t(j)] / 3.0;
        }
        const std::vector<double> ensemble =
            kd::softmaxAtTemperature(row(out.teacher, i, classes), classes, 1.0);
        for (int j = 0; j < classes; ++j)
            QVERIFY2(std::abs(ensemble[std::size_t(j)] - mean[std::size_t(j)]) <= 1e-5,
                     qPrintable(QString("image %1 class %2: ensemble %3, mean of members %4")
                                    .arg(i)
                                    .arg(j)
                                    .arg(ensemble[std::size_t(j)])
                                    .arg(mean[std::size_t(j)])));
        const std::int64_t label = out.dataset->test.labels[std::size_t(i)];
        correct += std::max_element(mean.begin(), mean.end()) - mean.begin() == label;
        loss -= std::log(mean[std::size_t(label)]);
    }
    QCOMPARE(r.teacher.testAccuracy, double(correct) / kTest);
    QVERIFY2(
        std::abs(r.teacher.testLoss - loss / kTest) <= 1e-5 * loss / kTest,
        qPrintable(
            QString("test loss %1, of the mean probabilities %2").arg(r.teacher.testLoss).arg(loss / kTest)));
    const kd::ConfusionMatrix m = kd::confusionMatrix(out.teacher, out.dataset->test.labels, classes);
    QCOMPARE(m.accuracy(), r.teacher.testAccuracy);
}

// An ensemble of one is its member: the kd teacher, and the same distilled student.
void TestTrainer::ensembleOfOneDistilsLikeKd() {
    kd::ExperimentConfig config = methodConfig("ensemble");
    config.ensembleSize = 1;
    kd::Trainer trainer;
    const kd::ExperimentResult r = trainer.run(config);
    const kd::ExperimentResult& ref = kdReference(config);
    QVERIFY(!r.stopped);
    QCOMPARE(r.stages.size(), std::size_t(1));
    QCOMPARE(r.teacher.testAccuracy, ref.teacher.testAccuracy);
    QCOMPARE(r.teacher.testLoss, ref.teacher.testLoss);
    compareTrained(r.student, historyOf(r, kd::Role::Student), ref.student,
                   historyOf(ref, kd::Role::Student));
    compareTrained(r.baseline, historyOf(r, kd::Role::Baseline), ref.baseline,
                   historyOf(ref, kd::Role::Baseline));
}

// ensemble_teachers names the members (ensemble_size is then ignored); member k keeps the seed teacher_seed +
// k.
void TestTrainer::ensembleTeachersListDefinesTheMembers() {
    kd::ExperimentConfig config = methodConfig("ensemble");
    config.ensembleSize = 5;
    config.ensembleTeachers = "mlp:24; mlp:32";
    config.epochs = 0;
    kd::Trainer trainer;
    StageRecorder rec;
    trainer.setObserver(&rec);
    const kd::ExperimentResult r = trainer.run(config);
    QVERIFY(!r.stopped);
    QCOMPARE(r.stages.size(), std::size_t(2));
    QCOMPARE(r.stages[0].model.spec, std::string("mlp:24"));
    QCOMPARE(r.stages[1].model.spec, std::string("mlp:32"));
    QCOMPARE(r.teacher.spec, std::string("mlp:24 + mlp:32"));
    QCOMPARE(r.teacher.stats.params, r.stages[0].model.stats.params + r.stages[1].model.stats.params);
    QCOMPARE(rec.batchCount(kd::Role::Teacher), 2 * kBatchesPerEpoch);

    // Member 2 (mlp:32, seed + 1) is member 2 of an ensemble of copies of mlp:32.
    kd::ExperimentConfig copies = config;
    copies.ensembleTeachers.clear();
    copies.ensembleSize = 2;
    kd::Trainer other;
    const kd::ExperimentResult c = other.run(copies);
    QCOMPARE(c.stages.size(), std::size_t(2));
    compareTrained(r.stages[1].model, r.stages[1].history, c.stages[1].model, c.stages[1].history);
    QVERIFY(c.stages[0].model.initialWeightsHash != r.stages[0].model.initialWeightsHash);
}

// Stopped while member 2 trains: the run is stopped, nothing is kept as a teacher, and the next run asked to
// reuse the teacher trains the whole ensemble.
void TestTrainer::ensembleStoppedInAMemberIsNotReused() {
    kd::ExperimentConfig config = methodConfig("ensemble");
    config.ensembleSize = 3;
    config.epochs = 0;
    kd::Trainer trainer;
    StageRecorder rec;
    rec.onBatch = [&](const kd::BatchMetrics& m) {
        if (m.stage == 1 && m.batch == 3)
            trainer.requestStop();
    };
    trainer.setObserver(&rec);
    const kd::ExperimentResult stopped = trainer.run(config);
    QVERIFY(stopped.stopped);
    QVERIFY(!stopped.teacher.trained);
    QVERIFY(!stopped.baseline.trained);
    QVERIFY(!stopped.student.trained);
    QCOMPARE(rec.batches.size(), std::size_t(kBatchesPerEpoch + 3));
    QCOMPARE(rec.log.back(), QString("batches teacher 1"));
    QCOMPARE(rec.finished.size(), std::size_t(1)); // member 2 never finished
    QVERIFY(stopped.stages.size() >= 1);
    QVERIFY(stopped.stages[0].model.trained);
    if (stopped.stages.size() > 1)
        QVERIFY(!stopped.stages[1].model.trained);
    QCOMPARE(rec.phases.back(), kd::Phase::Done);
    QVERIFY(!trainer.hasTeacher());

    rec.onBatch = nullptr;
    rec.batches.clear();
    rec.finished.clear();
    const kd::ExperimentResult again = trainer.run(config, /*reuseTeacher=*/true);
    QVERIFY(!again.stopped);
    QVERIFY(again.teacher.trained);
    QCOMPARE(rec.batchCount(kd::Role::Teacher), 3 * kBatchesPerEpoch);
    QCOMPARE(rec.finished.size(), std::size_t(3));
    QCOMPARE(again.stages.size(), std::size_t(3));
    // The first member is the same as before the stop: the retrained ensemble starts from scratch.
    compareTrained(again.stages[0].model, again.stages[0].history, stopped.stages[0].model,
                   stopped.stages[0].history);
    QVERIFY(trainer.hasTeacher());
}

// A finished ensemble is reused like a teacher: no member trains again, the members are still reported (as
// not trained in this run) and saved, and the students are the same as the first time. A kd run does not
// take the ensemble for its teacher.
void TestTrainer::ensembleReusedWithItsMembers() {
    kd::ExperimentConfig config = methodConfig("ensemble");
    config.ensembleSize = 2;
    kd::Trainer trainer;
    StageRecorder rec;
    trainer.setObserver(&rec);
    const kd::ExperimentResult first = trainer.run(config);
    QVERIFY(!first.stopped);
    QVERIFY(trainer.hasTeacher());
    const std::vector<float> ensembleOutputs = trainer.testOutputs().teacher;

    rec = StageRecorder();
    const kd::ExperimentResult second = trainer.run(config, /*reuseTeacher=*/true);
    QVERIFY(!second.stopped);
    QCOMPARE(rec.batchCount(kd::Role::Teacher), 0);
    QVERIFY(rec.started.empty());
    QVERIFY(!second.teacher.trained);
    QCOMPARE(second.teacher.spec, first.teacher.spec);
    QCOMPARE(second.teacher.testAccuracy, first.teacher.testAccuracy);
    QCOMPARE(second.method, std::string("ensemble"));
    QCOMPARE(second.stages.size(), std::size_t(2));
    for (std::size_t k = 0; k < 2; ++k) {
        QCOMPARE(second.stages[k].id, first.stages[k].id);
        QVERIFY(!second.stages[k].model.trained);
        QCOMPARE(second.stages[k].model.testAccuracy, first.stages[k].model.testAccuracy);
        QCOMPARE(second.stages[k].model.initialWeightsHash, first.stages[k].model.initialWeightsHash);
    }
    compareTrained(second.student, historyOf(second, kd::Role::Student), first.student,
                   historyOf(first, kd::Role::Student));
    QVERIFY(trainer.testOutputs().teacher == ensembleOutputs);
    QTemporaryDir tmp;
    QVERIFY(tmp.isValid());
    const std::string memberPath = tmp.filePath("member-2.pt").toStdString();
    trainer.saveStageCheckpoint(1, memberPath);
    QCOMPARE(kd::readCheckpointInfo(memberPath).spec, std::string("mlp:32"));

    // Another ensemble size is another teacher.
    kd::ExperimentConfig three = config;
    three.ensembleSize = 3;
    three.epochs = 0;
    rec = StageRecorder();
    QVERIFY(trainer.run(three, /*reuseTeacher=*/true).teacher.trained);
    QCOMPARE(rec.batchCount(kd::Role::Teacher), 3 * kBatchesPerEpoch);

    // kd with "reuse teacher" after an ensemble trains its own teacher, which is then a model to save.
    kd::ExperimentConfig plain = config;
    plain.method = "kd";
    rec = StageRecorder();
    const kd::ExperimentResult r = trainer.run(plain, /*reuseTeacher=*/true);
    QCOMPARE(rec.batchCount(kd::Role::Teacher), kBatchesPerEpoch);
    QVERIFY(r.teacher.trained);
    QVERIFY(r.stages.empty());
    QCOMPARE(r.method, std::string("kd"));
    compareModelResults(r.teacher, kdReference(plain).teacher);
    const std::string teacherPath = tmp.filePath("teacher.pt").toStdString();
    trainer.saveCheckpoint(kd::Role::Teacher, teacherPath);
    QCOMPARE(kd::readCheckpointInfo(teacherPath).spec, std::string("mlp:32"));
}

void TestTrainer::bornAgain_data() {
    QTest::addColumn<int>("generations");
    QTest::newRow("1 generation") << 1;
    QTest::newRow("2 generations") << 2;
    QTest::newRow("3 generations") << 3;
}

// Born-again: students with the teacher's architecture, generation 1 distilled from the teacher exactly as
// kd distils a student of that architecture, each later generation from the one before (from its own
// weights), the last one the run's student.
void TestTrainer::bornAgain() {
    QFETCH(int, generations);
    kd::ExperimentConfig config = methodConfig("born-again");
    config.generations = generations;
    kd::ExperimentConfig sameSpec = config;
    sameSpec.student = config.teacher;
    const kd::ExperimentResult& ref = kdReference(sameSpec);
    kd::Trainer trainer;
    StageRecorder rec;
    trainer.setObserver(&rec);
    const kd::ExperimentResult r = trainer.run(config);
    QVERIFY(!r.stopped);
    QCOMPARE(r.method, std::string("born-again"));
    QCOMPARE(r.stages.size(), std::size_t(generations - 1));

    QStringList expected{"batches teacher -1", "epoch teacher -1 1", "batches baseline -1",
                         "epoch baseline -1 1"};
    for (int g = 1; g < generations; ++g)
        expected << QString("start %1 generation-%2").arg(g - 1).arg(g)
                 << QString("batches student %1").arg(g - 1) << QString("epoch student %1 1").arg(g - 1)
                 << QString("finish %1 generation-%2").arg(g - 1).arg(g);
    expected << "batches student -1"
             << "epoch student -1 1";
    QCOMPARE(rec.log, expected);

    // Every student has the teacher's architecture (the configured student is not used).
    QCOMPARE(r.student.spec, r.teacher.spec);
    QCOMPARE(r.baseline.spec, r.teacher.spec);
    compareTrained(r.teacher, historyOf(r, kd::Role::Teacher), ref.teacher,
                   historyOf(ref, kd::Role::Teacher));
    compareTrained(r.baseline, historyOf(r, kd::Role::Baseline), ref.baseline,
                   historyOf(ref, kd::Role::Baseline));
    // Generation 1 is the kd student with the teacher's architecture.
    if (generations == 1) {
        compareTrained(r.student, historyOf(r, kd::Role::Student), ref.student,
                       historyOf(ref, kd::Role::Student));
        return;
    }
    const kd::StageResult& first = r.stages[0];
    compareTrained(first.model, first.history, ref.student, historyOf(ref, kd::Role::Student));
    QCOMPARE(first.history[0].role, kd::Role::Student);
    QVERIFY(first.history[0].trainSoft > 0); // distilled
    std::vector<std::uint64_t> hashes;
    for (std::size_t g = 0; g < r.stages.size(); ++g) {
        const kd::StageResult& st = r.stages[g];
        QCOMPARE(st.id, "generation-" + std::to_string(g + 1));
        QCOMPARE(st.name, "generation " + std::to_string(g + 1));
        QCOMPARE(st.kind, std::string("generation"));
        QCOMPARE(st.model.spec, r.teacher.spec);
        QVERIFY(st.model.trained);
        hashes.push_back(st.model.initialWeightsHash);
    }
    hashes.push_back(r.student.initialWeightsHash);
    std::sort(hashes.begin(), hashes.end());
    QVERIFY2(std::unique(hashes.begin(), hashes.end()) == hashes.end(),
             "two generations start from the same weights");
    // The last generation learnt from the one before, not from the teacher: not the kd student.
    QVERIFY(r.student.testLoss != ref.student.testLoss);
    // Each generation's checkpoint is its model.
    QTemporaryDir tmp;
    QVERIFY(tmp.isValid());
    const std::string path = tmp.filePath("generation-1.pt").toStdString();
    trainer.saveStageCheckpoint(0, path);
    QCOMPARE(kd::readCheckpointInfo(path).spec, r.teacher.spec);
}

// With a loaded teacher, born-again students take the checkpoint's architecture, not --teacher's.
void TestTrainer::bornAgainFromCheckpointUsesItsArchitecture() {
    QTemporaryDir tmp;
    QVERIFY(tmp.isValid());
    const std::string path = tmp.filePath("teacher.pt").toStdString();
    kd::ExperimentConfig config = methodConfig("kd");
    config.epochs = 0;
    config.teacher = "mlp:24";
    {
        kd::Trainer trainer;
        trainer.run(config);
        trainer.saveCheckpoint(kd::Role::Teacher, path);
    }
    config.method = "born-again";
    config.generations = 2;
    config.teacher = "mlp:64"; // ignored: the checkpoint says what the teacher is
    config.teacherCheckpoint = path;
    kd::Trainer trainer;
    const kd::ExperimentResult r = trainer.run(config);
    QVERIFY(!r.stopped);
    QCOMPARE(r.teacher.spec, std::string("mlp:24"));
    QCOMPARE(r.stages.size(), std::size_t(1));
    QCOMPARE(r.stages[0].model.spec, std::string("mlp:24"));
    QCOMPARE(r.baseline.spec, std::string("mlp:24"));
    QCOMPARE(r.student.spec, std::string("mlp:24"));
}

// Teacher -> assistant -> student, next to "direct KD" (the kd student itself) and from the same start.
void TestTrainer::assistantComparedWithDirectKd() {
    const kd::ExperimentConfig config = methodConfig("assistant");
    const kd::ExperimentResult& ref = kdReference(config);
    kd::Trainer trainer;
    StageRecorder rec;
    trainer.setObserver(&rec);
    const kd::ExperimentResult r = trainer.run(config);
    QVERIFY(!r.stopped);
    QCOMPARE(r.method, std::string("assistant"));
    const QStringList expected{"batches teacher -1",  "epoch teacher -1 1", "batches baseline -1",
                               "epoch baseline -1 1", "start 0 assistant",  "batches student 0",
                               "epoch student 0 1",   "finish 0 assistant", "start 1 direct",
                               "batches student 1",   "epoch student 1 1",  "finish 1 direct",
                               "batches student -1",  "epoch student -1 1"};
    QCOMPARE(rec.log, expected);

    QCOMPARE(r.stages.size(), std::size_t(2));
    const kd::StageResult& assistant = r.stages[0];
    const kd::StageResult& direct = r.stages[1];
    QCOMPARE(assistant.id, std::string("assistant"));
    QCOMPARE(assistant.kind, std::string("assistant"));
    QCOMPARE(assistant.model.spec, std::string("mlp:24"));
    QVERIFY(assistant.model.trained);
    QVERIFY(assistant.history[0].trainSoft > 0); // distilled from the teacher
    QCOMPARE(direct.id, std::string("direct"));
    QCOMPARE(direct.name, std::string("direct KD"));
    QCOMPARE(direct.kind, std::string("direct"));

    compareTrained(r.teacher, historyOf(r, kd::Role::Teacher), ref.teacher,
                   historyOf(ref, kd::Role::Teacher));
    compareTrained(r.baseline, historyOf(r, kd::Role::Baseline), ref.baseline,
                   historyOf(ref, kd::Role::Baseline));
    // Direct KD is the kd student, bit for bit.
    compareTrained(direct.model, direct.history, ref.student, historyOf(ref, kd::Role::Student));
    // The student via the assistant starts from the same weights, and learns something else.
    QCOMPARE(r.student.spec, std::string("mlp:16"));
    QCOMPARE(r.student.initialWeightsHash, direct.model.initialWeightsHash);
    QVERIFY(r.student.initialWeightsHash != assistant.model.initialWeightsHash);
    QVERIFY(historyOf(r, kd::Role::Student)[0].trainSoft != direct.history[0].trainSoft);

    QTemporaryDir tmp;
    QVERIFY(tmp.isValid());
    for (int k = 0; k < 2; ++k) {
        const std::string path =
            tmp.filePath(QString::fromStdString(r.stages[std::size_t(k)].id) + ".pt").toStdString();
        trainer.saveStageCheckpoint(k, path);
        QCOMPARE(kd::readCheckpointInfo(path).spec, r.stages[std::size_t(k)].model.spec);
    }
}

namespace {
class DivergenceRecorder : public Recorder {
public:
    std::vector<std::pair<kd::Role, std::string>> diverged;
    std::map<kd::Role, int> batchesAfter; // batches of a model reported after it diverged
    void modelDiverged(kd::Role role, int, const std::string& message) override {
        diverged.emplace_back(role, message);
    }
    void batchFinished(const kd::BatchMetrics& m) override {
        Recorder::batchFinished(m);
        for (const auto& d : diverged)
            if (d.first == m.role)
                ++batchesAfter[m.role];
    }
};
} // namespace

// A learning rate far too high (SGD at 99 with momentum) makes the students' loss NaN or Inf: each stops at
// that batch with a message, keeps its last good weights (finite logits, accuracy measured on them), and
// the run goes on; the teacher (loaded) stands.
void TestTrainer::divergenceStopsThatModelAndKeepsItsLastGoodWeights() {
    QTemporaryDir dir;
    const std::string teacherPath = dir.filePath("teacher.pt").toStdString();
    double teacherAccuracy = 0;
    {
        kd::Trainer good;
        teacherAccuracy = good.run(baseConfig()).teacher.testAccuracy;
        good.saveCheckpoint(kd::Role::Teacher, teacherPath);
    }
    kd::ExperimentConfig c = baseConfig();
    c.teacherCheckpoint = teacherPath;
    c.optimizer = "sgd";
    c.momentum = 0.9;
    c.lr = 99;
    c.epochs = 3;
    kd::Trainer trainer;
    DivergenceRecorder rec;
    trainer.setObserver(&rec);
    const kd::ExperimentResult r = trainer.run(c);
    QVERIFY(!r.stopped);
    QCOMPARE(r.teacher.testAccuracy, teacherAccuracy); // the loaded teacher stands
    QVERIFY(r.teacher.divergence.empty());
    QCOMPARE(rec.diverged.size(), std::size_t(2));
    QCOMPARE(int(rec.diverged[0].first), int(kd::Role::Baseline));
    QCOMPARE(int(rec.diverged[1].first), int(kd::Role::Student));
    const kd::TestOutputs out = trainer.testOutputs();
    for (const auto& [role, message] : rec.diverged) {
        const kd::ModelResult& m = role == kd::Role::Baseline ? r.baseline : r.student;
        QCOMPARE(m.divergence, message);
        const QString text = QString::fromStdString(message);
        QVERIFY2(text.startsWith(QString(kd::roleName(role)) + " diverged: batch ") &&
                     text.contains(QLatin1String("lower learning rate (now 99)")) && !text.contains('\n'),
                 qPrintable(text));
        // NaN or Inf, or caught before that as a finite explosion.
        QVERIFY2(text.contains(QLatin1String("NaN")) || text.contains(QLatin1String("Inf")) ||
                     text.contains(QLatin1String("times its first batch's")),
                 qPrintable(text));
        // Stopped within the batch: the epochs it reports are the good ones, and no batch came after.
        QVERIFY(m.epochsTrained < c.epochs);
        QCOMPARE(rec.batchesAfter[role], 0);
        // The kept weights: finite outputs, and the reported accuracy is theirs.
        const std::vector<float>& logits = out.logits(role);
        QCOMPARE(logits.size(), std::size_t(kTest * 10));
        QVERIFY(std::all_of(logits.begin(), logits.end(), [](float v) { return std::isfinite(v); }));
        const kd::ConfusionMatrix cm = kd::confusionMatrix(logits, out.dataset->test.labels, 10);
        QVERIFY(std::abs(cm.accuracy() - m.testAccuracy) < 1e-9);
        QVERIFY(std::isfinite(m.testLoss));
        QVERIFY(m.trained);
    }
    for (const kd::BatchMetrics& b : rec.batches)
        QVERIFY2(std::isfinite(b.loss), "a non-finite loss was reported as a batch");
    // The kept weights save and load like any other.
    const std::string saved = dir.filePath("student.pt").toStdString();
    trainer.saveCheckpoint(kd::Role::Student, saved);
    QCOMPARE(kd::readCheckpointInfo(saved).spec, c.student);
}

// A loss that explodes without becoming NaN (Adam at lr 50: the loss goes from 2.3 to hundreds of thousands
// and accuracy to chance) is divergence too: a warning, the last good weights, and the run goes on. A normal
// run is never flagged (tst_presets runs every preset).
void TestTrainer::explodingLossIsDivergence_data() {
    QTest::addColumn<double>("lr");
    QTest::addColumn<bool>("diverges");
    QTest::newRow("Adam lr 50") << 50.0 << true;
    QTest::newRow("Adam lr 20") << 20.0 << true;
    QTest::newRow("Adam lr 0.001 (normal)") << 0.001 << false;
    QTest::newRow("Adam lr 0.01 (fast, normal)") << 0.01 << false;
}

void TestTrainer::explodingLossIsDivergence() {
    QFETCH(double, lr);
    QFETCH(bool, diverges);
    kd::ExperimentConfig c = baseConfig();
    c.lr = lr;
    c.teacherEpochs = 2;
    c.epochs = 2;
    kd::Trainer trainer;
    DivergenceRecorder rec;
    trainer.setObserver(&rec);
    const kd::ExperimentResult r = trainer.run(c);
    QVERIFY(!r.stopped);
    if (!diverges) {
        QVERIFY(rec.diverged.empty());
        return;
    }
    QVERIFY(!rec.diverged.empty());
    QCOMPARE(int(rec.diverged[0].first), int(kd::Role::Teacher));
    const QString text = QString::fromStdString(r.teacher.divergence);
    QVERIFY2(text.startsWith("teacher diverged: ") && text.contains("times its first batch's") &&
                 !text.contains('\n'),
             qPrintable(text));
    for (const kd::BatchMetrics& b : rec.batches)
        QVERIFY2(b.loss < 1e4, "an exploded loss was reported as a batch");
    QVERIFY(std::isfinite(r.teacher.testLoss));
    // The run went on to the students.
    QVERIFY(r.student.epochsTrained > 0 || !r.student.divergence.empty());
}

void TestTrainer::resumeGivesTheUninterruptedNumbers_data() {
    QTest::addColumn<QString>("method");
    QTest::addColumn<QString>("optimizer");
    QTest::addColumn<StopPoint>("stop");
    QTest::addColumn<bool>("teacherFromFile");
    using R = kd::Role;
    QTest::newRow("kd, in the teacher's 2nd epoch") << "kd"
                                                    << "adam" << StopPoint{R::Teacher, -1, 2, 5} << false;
    QTest::newRow("kd, in the baseline's 1st epoch") << "kd"
                                                     << "adam" << StopPoint{R::Baseline, -1, 1, 3} << false;
    QTest::newRow("kd, in the student's last epoch") << "kd"
                                                     << "adam" << StopPoint{R::Student, -1, 3, 7} << false;
    QTest::newRow("kd, sgd momentum, student epoch 2") << "kd"
                                                       << "sgd" << StopPoint{R::Student, -1, 2, 2} << false;
    // "+cosine": the schedule's rates depend on the step, so a resumed epoch must continue them.
    QTest::newRow("kd, adam cosine, student epoch 2")
        << "kd"
        << "adam+cosine" << StopPoint{R::Student, -1, 2, 3} << false;
    QTest::newRow("kd, teacher from a file") << "kd"
                                             << "adam" << StopPoint{R::Student, -1, 2, 4} << true;
    QTest::newRow("ensemble, in member 2") << "ensemble"
                                           << "adam" << StopPoint{R::Teacher, 1, 2, 3} << false;
    QTest::newRow("born-again, in generation 2") << "born-again"
                                                 << "adam" << StopPoint{R::Student, 1, 2, 2} << false;
    QTest::newRow("assistant, in direct KD") << "assistant"
                                             << "sgd" << StopPoint{R::Student, 1, 1, 9} << false;
}

// An interrupted run resumed by a fresh Trainer from its per-epoch checkpoints ends with the numbers of the
// same run uninterrupted: every model's accuracy, loss, and every epoch's losses.
void TestTrainer::resumeGivesTheUninterruptedNumbers() {
    QFETCH(QString, method);
    QFETCH(QString, optimizer);
    QFETCH(StopPoint, stop);
    QFETCH(bool, teacherFromFile);
    kd::ExperimentConfig config = methodConfig(method.toStdString());
    config.teacher = "mlp:32+dropout=0.3"; // dropout: the resumed epochs must draw the same masks
    config.teacherEpochs = 2;
    config.epochs = 3;
    config.ensembleSize = 2;
    config.generations = 3;
    config.optimizer = optimizer.section('+', 0, 0).toStdString();
    config.lrSchedule = optimizer.contains("+cosine") ? "cosine" : "constant";
    config.lr = config.optimizer == "sgd" ? 0.05 : 2e-3;
    QTemporaryDir tmp;
    QVERIFY(tmp.isValid());
    if (teacherFromFile) {
        kd::Trainer trainer;
        trainer.run(config);
        config.teacherCheckpoint = tmp.filePath("given-teacher.pt").toStdString();
        trainer.saveCheckpoint(kd::Role::Teacher, config.teacherCheckpoint);
    }

    kd::ExperimentResult uninterrupted;
    {
        kd::Trainer trainer;
        uninterrupted = trainer.run(config);
    }
    QVERIFY(!uninterrupted.stopped);

    const std::string dir = tmp.filePath("checkpoints").toStdString();
    kd::ExperimentResult partial;
    {
        kd::Trainer trainer;
        Recorder rec;
        rec.onBatch = [&](const kd::BatchMetrics& m) {
            if (m.role == stop.role && m.stage == stop.stage && m.epoch == stop.epoch &&
                m.batch == stop.batch)
                trainer.requestStop();
        };
        trainer.setObserver(&rec);
        trainer.setCheckpointDir(dir);
        partial = trainer.run(config);
    }
    QVERIFY2(partial.stopped, "the stop point was never reached");
    if (teacherFromFile) // the resumed run must use its own copy
        QVERIFY(QFile::remove(QString::fromStdString(config.teacherCheckpoint)));
    // The interrupted model has a checkpoint of each whole epoch, not more.
    bool found = false;
    for (const kd::ResumePoint& p : kd::readResumePoints(dir)) {
        if (!p.complete) {
            QCOMPARE(p.epoch, stop.epoch - 1);
            found = true;
        }
    }
    QCOMPARE(found, stop.epoch > 1);

    kd::Trainer trainer;
    Recorder rec;
    trainer.setObserver(&rec);
    trainer.setCheckpointDir(dir, /*resume=*/true);
    const kd::ExperimentResult resumed = trainer.run(config);
    QVERIFY(!resumed.stopped);
    // Only what was left was trained: nothing of the models finished before the stop.
    for (const kd::BatchMetrics& b : rec.batches)
        QVERIFY2(
            b.role == stop.role ? (b.stage != stop.stage || b.epoch >= stop.epoch) || b.stage > stop.stage
                                : int(b.role) >= int(stop.role) || b.stage >= 0,
            qPrintable(
                QString("%1 %2 epoch %3 trained again").arg(kd::roleName(b.role)).arg(b.stage).arg(b.epoch)));
    compareTrained(resumed.teacher, historyOf(resumed, kd::Role::Teacher), uninterrupted.teacher,
                   historyOf(uninterrupted, kd::Role::Teacher));
    compareTrained(resumed.baseline, historyOf(resumed, kd::Role::Baseline), uninterrupted.baseline,
                   historyOf(uninterrupted, kd::Role::Baseline));
    compareTrained(resumed.student, historyOf(resumed, kd::Role::Student), uninterrupted.student,
                   historyOf(uninterrupted, kd::Role::Student));
    QCOMPARE(resumed.stages.size(), uninterrupted.stages.size());
    for (std::size_t i = 0; i < resumed.stages.size(); ++i) {
        QCOMPARE(resumed.stages[i].id, uninterrupted.stages[i].id);
        compareTrained(resumed.stages[i].model, resumed.stages[i].history, uninterrupted.stages[i].model,
                       uninterrupted.stages[i].history);
    }
    // The teaching views see the final models.
    const kd::TestOutputs outputs = trainer.testOutputs();
    QVERIFY(!outputs.logits(kd::Role::Student).empty());
    // Every model is finished in the folder now.
    for (const kd::ResumePoint& p : kd::readResumePoints(dir))
        QVERIFY2(p.complete, p.id.c_str());
}

// Resuming refuses what would not give the same run: other settings, a checkpoint of another architecture
// or no training state, a missing folder. The message names the file; nothing is trained.
void TestTrainer::resumeRefusesAnotherRunsCheckpoints_data() {
    QTest::addColumn<QString>("change");
    QTest::addColumn<QString>("expected");
    QTest::newRow("other alpha")
        << "alpha"
        << "teacher.pt: written by a run with other settings: \"alpha\": 0.7 (now 0.3)";
    QTest::newRow("other architecture")
        << "architecture"
        << "student.pt: a checkpoint of mlp:48, but this run's student is mlp:32";
    QTest::newRow("plain checkpoint") << "plain"
                                      << "student.pt: a kdlab checkpoint without training state";
    QTest::newRow("damaged file") << "damaged"
                                  << "student.pt: not a readable checkpoint";
    QTest::newRow("no folder") << "nofolder"
                               << "no checkpoints to resume from";
}

void TestTrainer::resumeRefusesAnotherRunsCheckpoints() {
    QFETCH(QString, change);
    QFETCH(QString, expected);
    QTemporaryDir tmp;
    QVERIFY(tmp.isValid());
    const std::string dir = tmp.filePath("checkpoints").toStdString();
    kd::ExperimentConfig config = baseConfig();
    config.threads = 1;
    {
        kd::Trainer trainer;
        Recorder rec;
        rec.onBatch = [&](const kd::BatchMetrics& m) {
            if (m.role == kd::Role::Student && m.epoch == 2)
                trainer.requestStop();
        };
        trainer.setObserver(&rec);
        trainer.setCheckpointDir(dir);
        QVERIFY(trainer.run(config).stopped);
    }
    const QString student = QString::fromStdString(dir + "/student.pt");
    std::string resumeDir = dir;
    if (change == "alpha") {
        config.alpha = 0.3;
    } else if (change == "architecture") { // another run's student.pt put in its place
        kd::ExperimentConfig other = config;
        other.student = "mlp:48";
        other.epochs = 1;
        kd::Trainer trainer;
        trainer.setCheckpointDir(tmp.filePath("other").toStdString());
        trainer.run(other);
        QFile::remove(student);
        QVERIFY(QFile::copy(tmp.filePath("other/student.pt"), student));
    } else if (change == "plain") {
        kd::Trainer trainer;
        trainer.run(config);
        QFile::remove(student);
        trainer.saveCheckpoint(kd::Role::Student, student.toStdString());
    } else if (change == "damaged") {
        QFile f(student);
        QVERIFY(f.open(QIODevice::ReadWrite));
        QVERIFY(f.resize(f.size() / 2));
    } else if (change == "nofolder") {
        resumeDir = tmp.filePath("nothing-here").toStdString();
    }
    const QByteArray before = fileBytes(student);
    kd::Trainer trainer;
    Recorder rec;
    trainer.setObserver(&rec);
    trainer.setCheckpointDir(resumeDir, /*resume=*/true);
    try {
        trainer.run(config);
        QFAIL("resumed from another run's checkpoints");
    } catch (const kd::Error& e) {
        QVERIFY2(QString(e.what()).contains(expected), e.what());
    }
    QCOMPARE(fileBytes(student), before); // left as it was
}

void TestTrainer::learningRateSchedule_data() {
    QTest::addColumn<QString>("schedule");
    QTest::addColumn<qint64>("step");
    QTest::addColumn<qint64>("steps");
    QTest::addColumn<double>("expected");
    QTest::newRow("constant, first step") << "constant" << qint64(0) << qint64(100) << 0.01;
    QTest::newRow("constant, last step") << "constant" << qint64(99) << qint64(100) << 0.01;
    QTest::newRow("cosine, first step: the full rate") << "cosine" << qint64(0) << qint64(100) << 0.01;
    QTest::newRow("cosine, a quarter: 85%")
        << "cosine" << qint64(25) << qint64(100) << 0.01 * 0.5 * (1 + std::sqrt(0.5));
    QTest::newRow("cosine, half way: half") << "cosine" << qint64(50) << qint64(100) << 0.005;
    QTest::newRow("cosine, the end: 0") << "cosine" << qint64(100) << qint64(100) << 0.0;
    QTest::newRow("cosine, past the end: 0") << "cosine" << qint64(150) << qint64(100) << 0.0;
    QTest::newRow("cosine, no steps: the rate") << "cosine" << qint64(0) << qint64(0) << 0.01;
}

void TestTrainer::learningRateSchedule() {
    QFETCH(QString, schedule);
    QFETCH(qint64, step);
    QFETCH(qint64, steps);
    QFETCH(double, expected);
    const double lr = kd::scheduledLearningRate(schedule.toStdString(), 0.01, step, steps);
    QVERIFY2(std::abs(lr - expected) < 1e-12, qPrintable(QString("%1 against %2").arg(lr).arg(expected)));
}

// Cosine decay trains differently from a constant rate (it is applied), and repeats exactly with the seed.
void TestTrainer::cosineScheduleChangesTrainingAndRepeats() {
    kd::ExperimentConfig config = baseConfig();
    config.threads = 1;
    kd::Trainer trainer;
    const kd::ExperimentResult constant = trainer.run(config);
    config.lrSchedule = "cosine";
    const kd::ExperimentResult cosine = trainer.run(config);
    const kd::ExperimentResult again = kd::Trainer().run(config);
    QCOMPARE(cosine.history.size(), constant.history.size());
    // The first epoch starts at the same rate; the last one differs.
    QVERIFY(cosine.history.back().trainLoss != constant.history.back().trainLoss);
    QVERIFY(cosine.student.testLoss != constant.student.testLoss);
    for (std::size_t i = 0; i < cosine.history.size(); ++i)
        QVERIFY2(sameTrainingNumbers(cosine.history[i], again.history[i]),
                 qPrintable(describe(cosine.history[i])));
    compareModelResults(cosine.student, again.student);
}

// 0 student epochs: the students keep their initial weights, so no paired test, no gap recovered, and a
// reason in words (not "distilled 11.5% vs baseline 11.5%, gap recovered 0%").
void TestTrainer::untrainedStudentsAreNotCompared() {
    kd::ExperimentConfig config = baseConfig();
    config.threads = 1;
    config.epochs = 0;
    QVERIFY(!kd::nothingToCompareReason(config).empty());
    const kd::ExperimentResult r = kd::Trainer().run(config);
    QVERIFY(r.teacher.epochsTrained > 0);
    QVERIFY(kd::studentsUntrained(r));
    QVERIFY(!r.studentVsBaseline.valid());
    QVERIFY(!r.teacherVsBaseline.valid());
    QVERIFY(!kd::gapRecovered(r));
    QVERIFY2(kd::noGapReason(r).find("not trained") != std::string::npos, kd::noGapReason(r).c_str());
    config.epochs = 1;
    QVERIFY(kd::nothingToCompareReason(config).empty());
    const kd::ExperimentResult trained = kd::Trainer().run(config);
    QVERIFY(!kd::studentsUntrained(trained));
    QVERIFY(trained.studentVsBaseline.valid());
}

// A model far beyond any machine's memory is refused in one line before anything is built or trained (it
// used to start, show 0% forever and take 18 GB in 50 s); the previous run's teacher stays.
void TestTrainer::runThatCannotFitIsRefusedBeforeTraining() {
    kd::ExperimentConfig config = baseConfig();
    config.threads = 1;
    kd::Trainer trainer;
    const kd::ExperimentResult first = trainer.run(config);
    // 30 billion weights: 120 GB, and four times that while it trains.
    config.teacher = "mlp:65536,65536,65536,65536,65536,65536,65536,65536";
    Recorder rec;
    trainer.setObserver(&rec);
    try {
        trainer.run(config);
        QFAIL("not refused");
    } catch (const kd::Error& e) {
        const std::string message = e.what();
        QVERIFY2(message.find("not enough memory") != std::string::npos, e.what());
        QVERIFY2(message.find("teacher mlp:65536,65536,") != std::string::npos, e.what());
    }
    QCOMPARE(int(rec.batches.size()), 0);
    // The teacher trained before is still there to reuse.
    config.teacher = baseConfig().teacher;
    rec.phases.clear();
    const kd::ExperimentResult again = trainer.run(config, /*reuseTeacher=*/true);
    QVERIFY(std::find(rec.phases.begin(), rec.phases.end(), kd::Phase::Teacher) == rec.phases.end());
    QCOMPARE(again.teacher.testAccuracy, first.teacher.testAccuracy);
    trainer.setObserver(nullptr);
}

QTEST_GUILESS_MAIN(TestTrainer)
#include "tst_trainer.moc"
