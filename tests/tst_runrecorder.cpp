// RunRecorder: what the plots and the progress bar get from the engine's per-batch metrics.
#include "runrecorder.h"

#include <QtTest>

#include <cmath>

using kd::Role;
using kdui::RunRecorder;

class TestRunRecorder : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void firstPointIsTheFirstLoss();
    void smoothingFollowsAStepWithoutLag();
    void pointsAreThinnedPerEpoch_data();
    void pointsAreThinnedPerEpoch();
    void markerWhereTemperatureOrAlphaChanged();
    void progressCoversTheWholeRun_data();
    void progressCoversTheWholeRun();
    void runNameSaysWhatDiffers();
    void changeBeforeTheStudentIsMarkedAtItsStart();
    void methodsProgressCoversEveryModel_data();
    void methodsProgressCoversEveryModel();
};

namespace {
kd::BatchMetrics batch(Role role, int epoch, int b, int batches, double loss, double t = 2, double a = 0.5) {
    kd::BatchMetrics m;
    m.role = role;
    m.epoch = epoch;
    m.batch = b;
    m.batchesPerEpoch = batches;
    m.loss = loss;
    m.hard = loss;
    m.temperature = t;
    m.alpha = a;
    m.elapsedSeconds = 0.01 * b;
    return m;
}
} // namespace

void TestRunRecorder::firstPointIsTheFirstLoss() {
    RunRecorder r;
    r.begin(kd::ExperimentConfig(), true);
    const auto u = r.addBatch(batch(Role::Teacher, 1, 1, 10, 2.3));
    QVERIFY(u.point.has_value());
    QCOMPARE(u.point->loss, 2.3); // bias-corrected: no pull towards zero at the start
    QCOMPARE(u.point->x, 0.1);
    QVERIFY(!u.marker.has_value());
}

void TestRunRecorder::smoothingFollowsAStepWithoutLag() {
    RunRecorder r;
    r.begin(kd::ExperimentConfig(), true);
    double last = 0;
    for (int b = 1; b <= 50; ++b)
        if (auto u = r.addBatch(batch(Role::Teacher, 1, b, 50, 1.0)); u.point)
            last = u.point->loss;
    QVERIFY(std::abs(last - 1.0) < 1e-9);
    // A new model starts its own average.
    const auto u = r.addBatch(batch(Role::Baseline, 1, 1, 50, 3.0));
    QCOMPARE(u.point->loss, 3.0);
    QCOMPARE(u.point->role, Role::Baseline);
}

void TestRunRecorder::pointsAreThinnedPerEpoch_data() {
    QTest::addColumn<int>("batches");
    QTest::addColumn<int>("maxPoints");
    QTest::newRow("small set: every batch") << 47 << 47;
    QTest::newRow("Fashion-MNIST at batch 128") << 469 << RunRecorder::kPointsPerEpoch + 2;
    QTest::newRow("batch 1") << 60000 << RunRecorder::kPointsPerEpoch + 2;
}

void TestRunRecorder::pointsAreThinnedPerEpoch() {
    QFETCH(int, batches);
    QFETCH(int, maxPoints);
    RunRecorder r;
    r.begin(kd::ExperimentConfig(), true);
    int points = 0;
    double lastX = -1;
    for (int b = 1; b <= batches; ++b) {
        if (auto u = r.addBatch(batch(Role::Student, 1, b, batches, 1.0 / b)); u.point) {
            ++points;
            QVERIFY(u.point->x > lastX);
            lastX = u.point->x;
        }
    }
    QVERIFY2(points <= maxPoints, qPrintable(QString::number(points)));
    QVERIFY(points >= std::min(batches, RunRecorder::kPointsPerEpoch) / 2);
    QCOMPARE(lastX, 1.0); // the epoch's last batch is always drawn
}

void TestRunRecorder::markerWhereTemperatureOrAlphaChanged() {
    RunRecorder r;
    kd::ExperimentConfig config;
    config.temperature = 2.0;
    r.begin(config, true);
    QVERIFY(!r.addBatch(batch(Role::Student, 1, 1, 4, 1.0, 2.0, 0.5)).marker);
    QVERIFY(!r.addBatch(batch(Role::Student, 1, 2, 4, 1.0, 2.0, 0.5)).marker);
    const auto t = r.addBatch(batch(Role::Student, 1, 3, 4, 1.0, 8.0, 0.5));
    QVERIFY(t.marker.has_value());
    QCOMPARE(t.marker->x, 0.75);
    QCOMPARE(t.marker->temperature, 8.0);
    QCOMPARE(t.marker->role, Role::Student);
    const auto a = r.addBatch(batch(Role::Student, 1, 4, 4, 1.0, 8.0, 0.9));
    QVERIFY(a.marker.has_value());
    QCOMPARE(a.marker->alpha, 0.9);
}

// T and alpha act on the distilled student only: moved while the teacher or the baseline trains, no marker
// on their curves; the student's first batch carries it (x = its start).
void TestRunRecorder::changeBeforeTheStudentIsMarkedAtItsStart() {
    RunRecorder r;
    kd::ExperimentConfig config;
    config.temperature = 2.0;
    r.begin(config, true);
    QVERIFY(!r.addBatch(batch(Role::Teacher, 1, 1, 4, 1.0, 2.0, 0.5)).marker);
    QVERIFY(!r.addBatch(batch(Role::Teacher, 1, 2, 4, 1.0, 20.0, 0.5)).marker);
    QVERIFY(!r.addBatch(batch(Role::Baseline, 1, 1, 4, 1.0, 20.0, 0.5)).marker);
    QVERIFY(!r.addBatch(batch(Role::Baseline, 1, 2, 4, 1.0, 20.0, 0.0)).marker);
    const auto first = r.addBatch(batch(Role::Student, 1, 1, 4, 1.0, 20.0, 0.0));
    QVERIFY(first.marker.has_value());
    QCOMPARE(first.marker->role, Role::Student);
    QCOMPARE(first.marker->x, 0.25);
    QVERIFY(!r.addBatch(batch(Role::Student, 1, 2, 4, 1.0, 20.0, 0.0)).marker);
    // The run's name says what it trained with.
    QCOMPARE(QString::fromStdString(kdui::runName(config, {*first.marker})),
             QString("T=2->20 a=0.5->0 %1").arg(QString::fromStdString(config.student)));
    std::vector<kd::ParameterMarker> many;
    for (double t : {4.0, 8.0, 16.0})
        many.push_back(kd::ParameterMarker{Role::Student, 0, t, 0.5});
    QCOMPARE(QString::fromStdString(kdui::runName(config, many)),
             QString("T=2->...->16 a=0.5 %1").arg(QString::fromStdString(config.student)));
}

void TestRunRecorder::progressCoversTheWholeRun_data() {
    QTest::addColumn<bool>("teacherTrains");
    QTest::newRow("teacher trained") << true;
    QTest::newRow("teacher reused") << false;
}

void TestRunRecorder::progressCoversTheWholeRun() {
    QFETCH(bool, teacherTrains);
    kd::ExperimentConfig c;
    c.teacherEpochs = 2;
    c.epochs = 3;
    RunRecorder r;
    r.begin(c, teacherTrains);
    QCOMPARE(r.progress(), 0.0);
    QVERIFY(r.etaSeconds() < 0);
    double last = 0;
    std::vector<std::pair<Role, int>> phases = {{Role::Baseline, 3}, {Role::Student, 3}};
    if (teacherTrains)
        phases.insert(phases.begin(), {Role::Teacher, 2});
    for (const auto& [role, epochs] : phases)
        for (int e = 1; e <= epochs; ++e)
            for (int b = 1; b <= 10; ++b) {
                r.addBatch(batch(role, e, b, 10, 1.0));
                QVERIFY(r.progress() >= last);
                last = r.progress();
            }
    QVERIFY(std::abs(r.progress() - 1.0) < 1e-9);
}

void TestRunRecorder::runNameSaysWhatDiffers() {
    kd::ExperimentConfig c;
    c.temperature = 4;
    c.alpha = 0.9;
    c.student = "mlp:32";
    QCOMPARE(QString::fromStdString(kdui::runName(c)), QString("T=4 a=0.9 mlp:32"));
}

void TestRunRecorder::methodsProgressCoversEveryModel_data() {
    QTest::addColumn<QString>("method");
    QTest::addColumn<int>("stages");       // extra models, trained before the student
    QTest::addColumn<bool>("stagesFirst"); // ensemble members come before the baseline
    QTest::newRow("ensemble of 3") << "ensemble" << 3 << true;
    QTest::newRow("born-again, 4 generations") << "born-again" << 3 << false;
    QTest::newRow("assistant") << "assistant" << 2 << false;
}

// Every model the method trains moves the progress bar, which ends at exactly 100%; the extra models give no
// points on the loss curves (those are the teacher's, baseline's and student's).
void TestRunRecorder::methodsProgressCoversEveryModel() {
    QFETCH(QString, method);
    QFETCH(int, stages);
    QFETCH(bool, stagesFirst);
    kd::ExperimentConfig c;
    c.method = method.toStdString();
    c.ensembleSize = 3;
    c.generations = 4;
    c.teacherEpochs = 2;
    c.epochs = 3;
    RunRecorder r;
    r.begin(c, /*teacherTrains=*/true);
    struct Model {
        Role role;
        int stage;
        int epochs;
    };
    std::vector<Model> models;
    auto addStages = [&](Role role, int epochs) {
        for (int s = 0; s < stages; ++s)
            models.push_back({role, s, epochs});
    };
    if (stagesFirst)
        addStages(Role::Teacher, 2);
    else
        models.push_back({Role::Teacher, -1, 2});
    models.push_back({Role::Baseline, -1, 3});
    if (!stagesFirst)
        addStages(Role::Student, 3);
    models.push_back({Role::Student, -1, 3});
    double last = 0;
    int stagePoints = 0;
    for (const Model& m : models)
        for (int e = 1; e <= m.epochs; ++e)
            for (int b = 1; b <= 10; ++b) {
                kd::BatchMetrics metrics = batch(m.role, e, b, 10, 1.0);
                metrics.stage = m.stage;
                const auto u = r.addBatch(metrics);
                stagePoints += m.stage >= 0 && u.point.has_value();
                QVERIFY(r.progress() >= last);
                last = r.progress();
            }
    QVERIFY2(std::abs(r.progress() - 1.0) < 1e-9, qPrintable(QString::number(r.progress())));
    QCOMPARE(stagePoints, 0);
}

QTEST_GUILESS_MAIN(TestRunRecorder)
#include "tst_runrecorder.moc"
