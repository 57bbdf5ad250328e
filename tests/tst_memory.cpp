// The memory check before a run (kdcore/memory.h): estimates that separate runs that fit from runs that need
// many times the memory, the refusal naming the model and both figures, the warning when memory is tight, and
// the trainer refusing before anything trains.
#include "kdcore/config.h"
#include "kdcore/error.h"
#include "kdcore/memory.h"
#include "kdcore/modelspec.h"

#include <QTest>

#include <cstdint>
#include <string>

namespace {
constexpr std::int64_t kGB = std::int64_t(1) << 30;
constexpr std::int64_t kMB = std::int64_t(1) << 20;
} // namespace

class TestMemory : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void estimates_data();
    void estimates();
    void hugeSpecRefusedNamingModelAndFigures();
    void tightMemoryWarns();
    void unknownMemorySkipsTheCheck();
    void availableMemoryIsRead();
    void activationsCounted();
};

void TestMemory::estimates_data() {
    QTest::addColumn<QString>("teacher");
    QTest::addColumn<QString>("student");
    QTest::addColumn<int>("batch");
    QTest::addColumn<qint64>("atLeast");
    QTest::addColumn<qint64>("atMost");
    // Fashion-MNIST, 60,000 + 10,000 images: the images alone are 220 MB as floats.
    QTest::newRow("the defaults") << "cnn:32,64+dropout=0.3"
                                  << "cnn:8,16" << 128 << qint64(200 * kMB) << qint64(1 * kGB);
    QTest::newRow("hinton's MLPs") << "mlp:1200,1200+dropout=0.5"
                                   << "mlp:800,800" << 128 << qint64(200 * kMB) << qint64(1 * kGB);
    // 4.3 billion weights: 16 GB each copy, and Adam keeps three more while it trains.
    QTest::newRow("mlp:65536,65536") << "mlp:65536,65536"
                                     << "mlp:16" << 128 << qint64(60 * kGB) << qint64(80 * kGB);
    // A big batch of a wide CNN: the activations dominate (32 x 28 x 28 x 1.25 per image per layer, x3).
    QTest::newRow("cnn:256,512 at batch 65536")
        << "cnn:256,512"
        << "mlp:16" << 65536 << qint64(100 * kGB) << qint64(400 * kGB);
}

void TestMemory::estimates() {
    QFETCH(QString, teacher);
    QFETCH(QString, student);
    QFETCH(int, batch);
    QFETCH(qint64, atLeast);
    QFETCH(qint64, atMost);
    kd::ExperimentConfig c;
    c.teacher = teacher.toStdString();
    c.student = student.toStdString();
    c.batchSize = batch;
    const kd::MemoryEstimate e = kd::estimateRunMemory(c, kd::InputShape{}, 60000, 10000);
    QVERIFY2(e.bytes >= atLeast && e.bytes <= atMost, kd::memoryText(e.bytes).c_str());
    QCOMPARE(e.dataBytes, (60000 + 10000) * (784 * 4 + 8));
    QVERIFY(e.largestModel.rfind("teacher ", 0) == 0);
}

// The case: accepted, then "estimating time... 0%" and 18 GB taken in 50 s. Now one line before
// anything is built.
void TestMemory::hugeSpecRefusedNamingModelAndFigures() {
    kd::ExperimentConfig c;
    c.teacher = "mlp:65536,65536";
    const kd::MemoryEstimate e = kd::estimateRunMemory(c, kd::InputShape{}, 60000, 10000);
    try {
        kd::checkRunMemory(e, 24 * kGB);
        QFAIL("not refused");
    } catch (const kd::Error& error) {
        const QString message = QString::fromUtf8(error.what());
        QVERIFY2(message.startsWith("not enough memory: the run needs about "), qPrintable(message));
        QVERIFY2(message.contains("teacher mlp:65536,65536"), qPrintable(message));
        QVERIFY2(message.contains("24.0 GB is available"), qPrintable(message));
        QVERIFY2(!message.contains('\n'), qPrintable(message));
    }
}

void TestMemory::tightMemoryWarns() {
    kd::ExperimentConfig c; // the defaults
    const kd::MemoryEstimate e = kd::estimateRunMemory(c, kd::InputShape{}, 60000, 10000);
    QVERIFY(kd::checkRunMemory(e, 24 * kGB).empty());
    const std::int64_t tight = std::int64_t(double(e.bytes) / kd::kMemoryWarnShare) - 1;
    const std::string warning = kd::checkRunMemory(e, tight);
    QVERIFY2(warning.rfind("memory is tight", 0) == 0, warning.c_str());
    QVERIFY_THROWS_EXCEPTION(kd::Error, kd::checkRunMemory(e, e.bytes - 1));
    QVERIFY(kd::checkRunMemory(e, e.bytes).size() > 0); // exactly enough: allowed, with the warning
}

void TestMemory::unknownMemorySkipsTheCheck() {
    kd::ExperimentConfig c;
    c.teacher = "mlp:65536,65536";
    QVERIFY(kd::checkRunMemory(kd::estimateRunMemory(c, kd::InputShape{}, 60000, 10000), 0).empty());
}

void TestMemory::availableMemoryIsRead() {
    const std::int64_t available = kd::availableMemoryBytes();
    QVERIFY2(available > 64 * kMB, kd::memoryText(available).c_str()); // this test runs, so there is some
    QCOMPARE(QString::fromStdString(kd::memoryText(3 * kGB / 2)), QString("1.5 GB"));
    QCOMPARE(QString::fromStdString(kd::memoryText(820 * kMB)), QString("820 MB"));
}

// What each layer keeps per image: mlp:100 = 100 hidden + 10 outputs; cnn:8 on 28x28 = 8x28x28 + 8x14x14
// (conv and pooled) + 10.
void TestMemory::activationsCounted() {
    QCOMPARE(kd::modelStats(kd::parseModelSpec("mlp:100")).activationsPerSample, std::int64_t(110));
    QCOMPARE(kd::modelStats(kd::parseModelSpec("cnn:8")).activationsPerSample,
             std::int64_t(8 * 28 * 28 + 8 * 14 * 14 + 10));
}

QTEST_GUILESS_MAIN(TestMemory)
#include "tst_memory.moc"
