// Sweeps (kdcore/sweep.h): the grid's cells and shards, one teacher and one baseline per (student, seed),
// sweep.csv / summary.json, merging shards, stopping, and bad input.
#include "kdcore/error.h"
#include "kdcore/report.h"
#include "kdcore/sweep.h"

#include "testdata.h"
#include "testutil.h"

#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QTest>

#include <cmath>
#include <set>

namespace {

class Counter : public kd::SweepObserver {
public:
    int teacherBatches = 0;
    int baselinePhases = 0;
    int studentPhases = 0;
    int cellsStarted = 0;
    int cellsFinished = 0;
    std::function<void()> onCellFinished;
    void phaseStarted(kd::Phase phase, const std::string&) override {
        baselinePhases += phase == kd::Phase::Baseline;
        studentPhases += phase == kd::Phase::Student;
    }
    void batchFinished(const kd::BatchMetrics& m) override { teacherBatches += m.role == kd::Role::Teacher; }
    void cellStarted(const kd::SweepCell&, int, int) override { ++cellsStarted; }
    void cellFinished(const kd::SweepRow&, const kd::ExperimentResult&) override {
        ++cellsFinished;
        if (onCellFinished)
            onCellFinished();
    }
};

} // namespace

class TestSweep : public QObject {
    Q_OBJECT

private slots:
    void initTestCase();
    void cellsCoverTheGridInOrder();
    void shardsPartitionTheCells_data();
    void shardsPartitionTheCells();
    void badPlans_data();
    void badPlans();
    void lists();
    void oneTeacherOneBaselinePerSeed();
    void shardsMergeToTheWholeSweep();
    void summaryMeanAndStd();
    void csvRoundTripAndBadFiles_data();
    void csvRoundTripAndBadFiles();
    void mergeRefusesConflictingShards();
    void stopKeepsFinishedCells();

private:
    kd::SweepPlan tinyPlan() const;
    QTemporaryDir m_tmp;
    QString m_data;
};

void TestSweep::initTestCase() {
    QVERIFY(m_tmp.isValid());
    m_data = m_tmp.filePath("synthetic");
    QVERIFY(QDir().mkpath(m_data));
    QVERIFY(testdata::writeIdxFolder(m_data, testdata::syntheticImages(400, 1),
                                     testdata::syntheticImages(100, 2)));
}

kd::SweepPlan TestSweep::tinyPlan() const {
    kd::SweepPlan p;
    p.base.dataset = "idx:" + m_data.toStdString();
    p.base.teacher = "mlp:32";
    p.base.student = "mlp:16";
    p.base.augment = "none"; // the engine's plain path (the default experiment augments)
    p.base.teacherAugment = "same";
    p.base.transferLimit = 0;
    p.base.teacherEpochs = 1;
    p.base.epochs = 1;
    p.base.batchSize = 32;
    p.base.device = "cpu";
    p.base.seed = 5;
    p.temperatures = {1, 4};
    p.alphas = {0.5, 0.9};
    p.seeds = 2;
    return p;
}

void TestSweep::cellsCoverTheGridInOrder() {
    kd::SweepPlan p = tinyPlan();
    p.students = {"mlp:16", "mlp:8"};
    const std::vector<kd::SweepCell> cells = kd::sweepCells(p);
    QCOMPARE(int(cells.size()), 2 * 2 * 2 * 2);
    QCOMPARE(kd::sweepCellCount(p), 16);
    std::set<std::tuple<std::string, double, double, std::uint64_t>> seen;
    for (int i = 0; i < int(cells.size()); ++i) {
        QCOMPARE(cells[i].index, i);
        seen.insert({cells[i].student, cells[i].temperature, cells[i].alpha, cells[i].seed});
    }
    QCOMPARE(int(seen.size()), 16); // every combination once
    // Order: student, T, alpha, seed (fastest).
    QCOMPARE(cells[0].seed, std::uint64_t(5));
    QCOMPARE(cells[1].seed, std::uint64_t(6));
    QCOMPARE(cells[2].alpha, 0.9);
    QCOMPARE(cells[4].temperature, 4.0);
    QCOMPARE(cells[8].student, std::string("mlp:8"));
    const kd::ExperimentConfig c = kd::cellConfig(p, cells[3]);
    QCOMPARE(c.temperature, 1.0);
    QCOMPARE(c.alpha, 0.9);
    QCOMPARE(c.seed, std::uint64_t(6));
    QCOMPARE(c.teacherSeed, std::uint64_t(5)); // one teacher for every seed
    // Empty lists: the base's value.
    kd::SweepPlan single = tinyPlan();
    single.temperatures.clear();
    single.alphas.clear();
    single.seeds = 1;
    QCOMPARE(int(kd::sweepCells(single).size()), 1);
    QCOMPARE(kd::sweepCells(single)[0].temperature, single.base.temperature);
}

void TestSweep::shardsPartitionTheCells_data() {
    QTest::addColumn<int>("count");
    QTest::newRow("1 shard") << 1;
    QTest::newRow("2 shards") << 2;
    QTest::newRow("3 shards") << 3;
    QTest::newRow("more shards than cells") << 11;
}

void TestSweep::shardsPartitionTheCells() {
    QFETCH(int, count);
    kd::SweepPlan p = tinyPlan(); // 8 cells
    std::vector<int> all;
    for (int i = 0; i < count; ++i) {
        p.shardIndex = i;
        p.shardCount = count;
        for (const kd::SweepCell& c : kd::sweepCells(p)) {
            QCOMPARE(c.index % count, i);
            all.push_back(c.index);
        }
    }
    std::sort(all.begin(), all.end());
    QCOMPARE(all, std::vector<int>({0, 1, 2, 3, 4, 5, 6, 7}));
}

void TestSweep::badPlans_data() {
    QTest::addColumn<int>("which");
    QTest::addColumn<QString>("mentions");
    QTest::newRow("T 0") << 0 << "temperatures";
    QTest::newRow("alpha 1.5") << 1 << "alphas";
    QTest::newRow("bad student spec") << 2 << "students";
    QTest::newRow("seeds 0") << 3 << "seeds";
    QTest::newRow("shard 2/2") << 4 << "shard";
    QTest::newRow("shard count 0") << 5 << "shard";
    QTest::newRow("bad base config") << 6 << "batch_size";
}

void TestSweep::badPlans() {
    QFETCH(int, which);
    QFETCH(QString, mentions);
    kd::SweepPlan p = tinyPlan();
    switch (which) {
    case 0:
        p.temperatures = {1, 0};
        break;
    case 1:
        p.alphas = {1.5};
        break;
    case 2:
        p.students = {"mlp:16", "resnet"};
        break;
    case 3:
        p.seeds = 0;
        break;
    case 4:
        p.shardIndex = 2;
        p.shardCount = 2;
        break;
    case 5:
        p.shardCount = 0;
        break;
    case 6:
        p.base.batchSize = 0;
        break;
    }
    QString msg;
    KD_EXPECT_ERROR(msg, kd::validateSweepPlan(p));
    QVERIFY2(msg.contains(mentions), qPrintable(msg));
    kd::SweepRunner runner;
    KD_EXPECT_ERROR(msg, runner.run(p));
}

void TestSweep::lists() {
    QCOMPARE(kd::parseNumberList("1, 2,4.5", "--temperatures"), std::vector<double>({1, 2, 4.5}));
    QCOMPARE(kd::parseSpecList("mlp:64,32;cnn:8", "--students"),
             std::vector<std::string>({"mlp:64,32", "cnn:8"}));
    QString msg;
    KD_EXPECT_ERROR(msg, kd::parseNumberList("1,,2", "--temperatures"));
    QVERIFY2(msg.contains("--temperatures"), qPrintable(msg));
    KD_EXPECT_ERROR(msg, kd::parseNumberList("1,abc", "--alphas"));
    QVERIFY2(msg.contains("abc"), qPrintable(msg));
    KD_EXPECT_ERROR(msg, kd::parseNumberList("", "--alphas"));
    KD_EXPECT_ERROR(msg, kd::parseSpecList("mlp:16;bogus", "--students"));
    QVERIFY2(msg.contains("bogus"), qPrintable(msg));
}

void TestSweep::oneTeacherOneBaselinePerSeed() {
    kd::SweepRunner runner;
    Counter counter;
    runner.setObserver(&counter);
    const kd::SweepPlan p = tinyPlan();
    const std::vector<kd::SweepRow> rows = runner.run(p);
    QCOMPARE(int(rows.size()), 8);
    QCOMPARE(counter.cellsStarted, 8);
    QCOMPARE(counter.cellsFinished, 8);
    QCOMPARE(counter.teacherBatches, 13); // one teacher epoch of 400/32 batches, in the first cell only
    QCOMPARE(counter.baselinePhases, 2);  // one per seed
    QCOMPARE(counter.studentPhases, 8);   // one per cell
    for (const kd::SweepRow& r : rows) {
        QCOMPARE(r.teacherAccuracy, rows[0].teacherAccuracy);
        QVERIFY(r.testAccuracy > 0.1 && r.testAccuracy <= 1);
        // The baseline of a seed is the same in every cell.
        for (const kd::SweepRow& o : rows)
            if (o.cell.seed == r.cell.seed)
                QCOMPARE(o.baselineAccuracy, r.baselineAccuracy);
    }
    // A cell equals the same settings run on their own (same teacher seed).
    kd::Trainer alone;
    const kd::ExperimentResult single = alone.run(kd::cellConfig(p, rows[5].cell));
    QCOMPARE(single.student.testAccuracy, rows[5].testAccuracy);
    QCOMPARE(single.baseline.testAccuracy, rows[5].baselineAccuracy);
    // Every cell's paired test is against its seed's baseline on the same images, as a run on its own gives.
    for (const kd::SweepRow& r : rows) {
        QVERIFY(r.studentVsBaseline.valid());
        QCOMPARE(r.studentVsBaseline.n, std::int64_t(100));
        QVERIFY(std::abs(r.studentVsBaseline.difference - (r.testAccuracy - r.baselineAccuracy)) < 1e-9);
    }
    QCOMPARE(rows[5].studentVsBaseline.onlyA, single.studentVsBaseline.onlyA);
    QCOMPARE(rows[5].studentVsBaseline.onlyB, single.studentVsBaseline.onlyB);
    QCOMPARE(rows[5].studentVsBaseline.pValue, single.studentVsBaseline.pValue);
}

void TestSweep::shardsMergeToTheWholeSweep() {
    QTemporaryDir tmp;
    kd::SweepPlan p = tinyPlan();
    p.alphas = {0.5};
    kd::SweepRunner whole;
    const std::vector<kd::SweepRow> all = whole.run(p);
    kd::writeSweepFiles(tmp.filePath("whole").toStdString(), all);
    std::vector<std::string> shardFiles;
    for (int i = 0; i < 2; ++i) {
        p.shardIndex = i;
        p.shardCount = 2;
        kd::SweepRunner shard;
        const std::vector<kd::SweepRow> rows = shard.run(p);
        QCOMPARE(int(rows.size()), 2);
        const std::string dir = tmp.filePath(QString("shard%1").arg(i)).toStdString();
        kd::writeSweepFiles(dir, rows);
        shardFiles.push_back(dir + "/sweep.csv");
    }
    const std::vector<kd::SweepRow> merged = kd::mergeSweepCsvs(shardFiles);
    QCOMPARE(kd::sweepCsv(merged), kd::sweepCsv(all)); // bit for bit
    // Merging a shard twice (a re-run array task) keeps one copy.
    shardFiles.push_back(shardFiles.front());
    QCOMPARE(kd::sweepCsv(kd::mergeSweepCsvs(shardFiles)), kd::sweepCsv(all));
}

void TestSweep::summaryMeanAndStd() {
    std::vector<kd::SweepRow> rows;
    auto row = [&](int index, double t, std::uint64_t seed, double acc, double base) {
        kd::SweepRow r;
        r.cell = kd::SweepCell{index, "mlp:16", t, 0.5, seed};
        r.testAccuracy = acc;
        r.testLoss = 0.5;
        r.baselineAccuracy = base;
        r.teacherAccuracy = 0.9;
        rows.push_back(r);
    };
    row(0, 2, 1, 0.80, 0.78);
    row(1, 2, 2, 0.84, 0.80);
    row(2, 2, 3, 0.82, 0.79);
    row(3, 4, 1, 0.85, 0.78);
    const std::vector<kd::SweepSummaryCell> cells = kd::summarizeSweep(rows);
    QCOMPARE(int(cells.size()), 2);
    QCOMPARE(cells[0].seeds, 3);
    QVERIFY(std::abs(cells[0].meanAccuracy - 0.82) < 1e-12);
    QVERIFY(std::abs(cells[0].stdAccuracy - 0.02) < 1e-12); // sample std of 0.80, 0.84, 0.82
    QVERIFY(std::abs(cells[0].meanBaseline - 0.79) < 1e-12);
    const double gap = (*kd::gapRecovered(0.9, 0.78, 0.80) + *kd::gapRecovered(0.9, 0.80, 0.84) +
                        *kd::gapRecovered(0.9, 0.79, 0.82)) /
                       3;
    QVERIFY(std::abs(cells[0].meanGapRecovered - gap) < 1e-12);
    QCOMPARE(cells[1].seeds, 1);
    QCOMPARE(cells[1].stdAccuracy, 0.0);
    // summary.json holds the same.
    const QJsonObject doc =
        QJsonDocument::fromJson(QByteArray::fromStdString(kd::sweepSummaryJson(rows))).object();
    const QJsonArray jc = doc["cells"].toArray();
    QCOMPARE(jc.size(), 2);
    QVERIFY(std::abs(jc[0].toObject()["test_accuracy_std"].toDouble() - 0.02) < 1e-12);
    QCOMPARE(doc["temperatures"].toArray().size(), 2);
}

void TestSweep::csvRoundTripAndBadFiles_data() {
    QTest::addColumn<QByteArray>("text");
    QTest::addColumn<QString>("mentions");
    const QByteArray header =
        "index,student,temperature,alpha,seed,test_accuracy,test_loss,baseline_accuracy,teacher_accuracy\n";
    QTest::newRow("good") << header + "1,\"mlp:64,32\",2,0.5,3,0.8,0.4,0.79,0.9\n" << QString();
    QTest::newRow("empty file") << QByteArray() << "line 1";
    QTest::newRow("wrong header") << QByteArray("a,b\n") << "header";
    QTest::newRow("missing field") << header + "1,\"mlp:64\",2,0.5,3,0.8,0.4,0.79\n"
                                   << "line 2";
    QTest::newRow("unquoted spec") << header + "1,mlp:64,2,0.5,3,0.8,0.4,0.79,0.9\n"
                                   << "line 2";
    QTest::newRow("text for a number") << header + "1,\"mlp:64\",two,0.5,3,0.8,0.4,0.79,0.9\n"
                                       << "temperature";
    QTest::newRow("negative index") << header + "-1,\"mlp:64\",2,0.5,3,0.8,0.4,0.79,0.9\n"
                                    << "index";
    QTest::newRow("accuracy 80") << header + "1,\"mlp:64\",2,0.5,3,80,0.4,0.79,0.9\n"
                                 << "accuracies";
}

void TestSweep::csvRoundTripAndBadFiles() {
    QFETCH(QByteArray, text);
    QFETCH(QString, mentions);
    QTemporaryDir tmp;
    const QString path = tmp.filePath("sweep.csv");
    QVERIFY(testdata::writeFile(path, text));
    if (mentions.isEmpty()) {
        const std::vector<kd::SweepRow> rows = kd::readSweepCsv(path.toStdString());
        QCOMPARE(int(rows.size()), 1);
        QCOMPARE(rows[0].cell.student, std::string("mlp:64,32"));
        QCOMPARE(QByteArray::fromStdString(kd::sweepCsv(rows)), text); // round trip
        return;
    }
    QString msg;
    KD_EXPECT_ERROR(msg, kd::readSweepCsv(path.toStdString()));
    QVERIFY2(msg.contains(path) && msg.contains(mentions), qPrintable(msg));
}

void TestSweep::mergeRefusesConflictingShards() {
    QTemporaryDir tmp;
    const QByteArray header =
        "index,student,temperature,alpha,seed,test_accuracy,test_loss,baseline_accuracy,teacher_accuracy\n";
    QVERIFY(testdata::writeFile(tmp.filePath("a.csv"), header + "0,\"mlp:8\",2,0.5,1,0.8,0.4,0.79,0.9\n"));
    QVERIFY(testdata::writeFile(tmp.filePath("b.csv"), header + "0,\"mlp:8\",2,0.5,1,0.7,0.4,0.79,0.9\n"));
    QString msg;
    KD_EXPECT_ERROR(
        msg, kd::mergeSweepCsvs({tmp.filePath("a.csv").toStdString(), tmp.filePath("b.csv").toStdString()}));
    QVERIFY2(msg.contains("a.csv") && msg.contains("b.csv"), qPrintable(msg));
    KD_EXPECT_ERROR(msg, kd::mergeSweepCsvs({tmp.filePath("missing.csv").toStdString()}));
    QVERIFY2(msg.contains("missing.csv"), qPrintable(msg));
    KD_EXPECT_ERROR(msg, kd::mergeSweepCsvs({}));
}

void TestSweep::stopKeepsFinishedCells() {
    kd::SweepRunner runner;
    Counter counter;
    counter.onCellFinished = [&] {
        if (counter.cellsFinished == 3)
            runner.requestStop();
    };
    runner.setObserver(&counter);
    const std::vector<kd::SweepRow> rows = runner.run(tinyPlan());
    QVERIFY(runner.stopped());
    QCOMPARE(int(rows.size()), 3);
    QCOMPARE(counter.cellsStarted, 3);
    // A later run starts afresh (and reuses the teacher).
    counter.onCellFinished = nullptr;
    counter.teacherBatches = 0;
    kd::SweepPlan p = tinyPlan();
    p.seeds = 1;
    QCOMPARE(int(runner.run(p).size()), 4);
    QVERIFY(!runner.stopped());
    QCOMPARE(counter.teacherBatches, 0);
}

QTEST_GUILESS_MAIN(TestSweep)
#include "tst_sweep.moc"
