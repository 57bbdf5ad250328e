// The teaching views' numbers (kdcore/analysis.h): softened probabilities, entropy, the dark-knowledge matrix
// and confusion matrices, checked against LibTorch (what the engine computes) and against hand counts; and an
// ensemble teacher's soft targets against LibTorch's mean of the members' softmaxes.
#include <torch/torch.h> // before any Qt header (Qt's keywords break LibTorch's headers)

#include "kdcore/analysis.h"
#include "kdcore/distillationloss.h"

#include <QTest>

#include <cmath>
#include <numeric>
#include <random>

namespace {

std::vector<float> randomLogits(int rows, int classes, float scale, unsigned seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> normal(0.f, scale);
    std::vector<float> v(std::size_t(rows) * classes);
    for (float& x : v)
        x = normal(rng);
    return v;
}

} // namespace

class TestAnalysis : public QObject {
    Q_OBJECT

private slots:
    void softmaxEqualsLibTorch_data();
    void softmaxEqualsLibTorch();
    void softmaxIsTheDistillationLossTarget_data();
    void softmaxIsTheDistillationLossTarget();
    void softmaxWithBias();
    void ensembleTargetsEqualLibTorchMean_data();
    void ensembleTargetsEqualLibTorchMean();
    void entropy_data();
    void entropy();
    void darkKnowledgeRowsSumToOne_data();
    void darkKnowledgeRowsSumToOne();
    void darkKnowledgeIsMeanPerTrueClass();
    void confusionMatrixCounts();
    void confusionBiasShiftsPredictions();
    void badShapesGiveEmptyResults();
};

void TestAnalysis::softmaxEqualsLibTorch_data() {
    QTest::addColumn<double>("temperature");
    QTest::addColumn<float>("scale");
    QTest::newRow("T=1") << 1.0 << 3.f;
    QTest::newRow("T=0.5") << 0.5 << 3.f;
    QTest::newRow("T=4") << 4.0 << 3.f;
    QTest::newRow("T=20") << 20.0 << 3.f;
    QTest::newRow("T=0.1, large logits") << 0.1 << 40.f; // would overflow without the max shift
    QTest::newRow("T=100") << 100.0 << 10.f;
}

// "Lens values equal the engine's softmax at T": torch::softmax(logits / T), as the trainer computes.
void TestAnalysis::softmaxEqualsLibTorch() {
    QFETCH(double, temperature);
    QFETCH(float, scale);
    const int rows = 50, classes = 10;
    std::vector<float> logits = randomLogits(rows, classes, scale, 7);
    const torch::Tensor t =
        torch::from_blob(logits.data(), {rows, classes}, torch::kFloat32).to(torch::kFloat64);
    const torch::Tensor expected = torch::softmax(t / temperature, /*dim=*/1).contiguous();
    const double* e = expected.data_ptr<double>();
    for (int r = 0; r < rows; ++r) {
        const std::vector<double> p = kd::softmaxAtTemperature(&logits[r * classes], classes, temperature);
        QCOMPARE(int(p.size()), classes);
        double sum = 0;
        for (int c = 0; c < classes; ++c) {
            QVERIFY2(std::abs(p[c] - e[r * classes + c]) < 1e-12,
                     qPrintable(QString::number(p[c] - e[r * classes + c])));
            QVERIFY(std::isfinite(p[c]));
            sum += p[c];
        }
        QVERIFY(std::abs(sum - 1.0) < 1e-12);
    }
}

void TestAnalysis::softmaxIsTheDistillationLossTarget_data() {
    QTest::addColumn<double>("temperature");
    QTest::newRow("T=1") << 1.0;
    QTest::newRow("T=2") << 2.0;
    QTest::newRow("T=10") << 10.0;
}

// The same through kdlab's own loss: with alpha = 1 and zero student logits, dL/ds = T (1/C - p_teacher) / B,
// so the loss's target distribution can be read back from its gradient and compared with the lens's.
void TestAnalysis::softmaxIsTheDistillationLossTarget() {
    QFETCH(double, temperature);
    const int rows = 8, classes = 10;
    const std::vector<float> teacher = randomLogits(rows, classes, 4.f, 11);
    const std::vector<float> student(teacher.size(), 0.f);
    const std::vector<std::int64_t> labels(rows, 0);
    std::vector<float> grad;
    kd::distillationLoss(student, teacher, labels, classes, temperature, /*alpha=*/1.0, &grad);
    for (int r = 0; r < rows; ++r) {
        const std::vector<double> p = kd::softmaxAtTemperature(&teacher[r * classes], classes, temperature);
        for (int c = 0; c < classes; ++c) {
            const double target = 1.0 / classes - double(grad[r * classes + c]) * rows / temperature;
            QVERIFY2(std::abs(target - p[c]) < 1e-5, qPrintable(QString("%1 vs %2").arg(target).arg(p[c])));
        }
    }
}

void TestAnalysis::softmaxWithBias() {
    const std::vector<float> logits{1.f, 2.f, 3.f};
    const std::vector<float> shifted{1.f, 4.5f, 3.f};
    const std::vector<double> a =
        kd::softmaxAtTemperature(logits.data(), 3, 2.0, /*biasClass=*/1, /*bias=*/2.5);
    const std::vector<double> b = kd::softmaxAtTemperature(shifted.data(), 3, 2.0);
    for (int c = 0; c < 3; ++c)
        QVERIFY(std::abs(a[c] - b[c]) < 1e-15);
    QCOMPARE(kd::predictedClass(logits.data(), 3), 2);
    QCOMPARE(kd::predictedClass(logits.data(), 3, 1, 2.5), 1);
    QCOMPARE(kd::predictedClass(logits.data(), 3, 1, 0.5), 2);
}

void TestAnalysis::ensembleTargetsEqualLibTorchMean_data() {
    QTest::addColumn<double>("temperature");
    QTest::addColumn<int>("members");
    QTest::addColumn<float>("scale");
    QTest::newRow("T=1, 3 members") << 1.0 << 3 << 3.f;
    QTest::newRow("T=4, 5 members") << 4.0 << 5 << 3.f;
    QTest::newRow("T=0.5, 2 members, large logits") << 0.5 << 2 << 50.f;
    QTest::newRow("T=20, 16 members") << 20.0 << 16 << 10.f;
}

// What the lens shows for an ensemble teacher at T (softmax of its logits) is the mean of its members'
// probabilities at T, as LibTorch computes them.
void TestAnalysis::ensembleTargetsEqualLibTorchMean() {
    QFETCH(double, temperature);
    QFETCH(int, members);
    QFETCH(float, scale);
    const int rows = 20, classes = 10;
    std::vector<float> logits = randomLogits(members * rows, classes, scale, 13);
    const torch::Tensor l =
        torch::from_blob(logits.data(), {members, rows, classes}, torch::kFloat32).to(torch::kFloat64);
    const torch::Tensor mean = torch::softmax(l / temperature, /*dim=*/2).mean(/*dim=*/0).contiguous();
    const double* e = mean.data_ptr<double>();
    const std::vector<float> z = kd::ensembleTargetLogits(logits, members, classes, temperature);
    QCOMPARE(z.size(), std::size_t(rows * classes));
    for (int r = 0; r < rows; ++r) {
        const std::vector<double> p = kd::softmaxAtTemperature(&z[r * classes], classes, temperature);
        for (int c = 0; c < classes; ++c)
            QVERIFY2(std::abs(p[c] - e[r * classes + c]) < 1e-5,
                     qPrintable(QString("row %1 class %2: %3, LibTorch %4")
                                    .arg(r)
                                    .arg(c)
                                    .arg(p[c])
                                    .arg(e[r * classes + c])));
    }
}

void TestAnalysis::entropy_data() {
    QTest::addColumn<std::vector<double>>("p");
    QTest::addColumn<double>("bits");
    QTest::newRow("one-hot") << std::vector<double>{0, 1, 0, 0} << 0.0;
    QTest::newRow("uniform 4") << std::vector<double>{0.25, 0.25, 0.25, 0.25} << 2.0;
    QTest::newRow("uniform 10") << std::vector<double>(10, 0.1) << std::log2(10.0);
    QTest::newRow("half-half") << std::vector<double>{0.5, 0.5, 0} << 1.0;
}

void TestAnalysis::entropy() {
    QFETCH(std::vector<double>, p);
    QFETCH(double, bits);
    QVERIFY(std::abs(kd::entropyBits(p) - bits) < 1e-12);
}

void TestAnalysis::darkKnowledgeRowsSumToOne_data() {
    QTest::addColumn<double>("temperature");
    for (double t : {0.5, 1.0, 2.0, 4.0, 20.0})
        QTest::newRow(qPrintable(QString("T=%1").arg(t))) << t;
}

void TestAnalysis::darkKnowledgeRowsSumToOne() {
    QFETCH(double, temperature);
    const int rows = 300, classes = 10;
    const std::vector<float> logits = randomLogits(rows, classes, 5.f, 3);
    std::vector<std::int64_t> labels(rows);
    for (int i = 0; i < rows; ++i)
        labels[i] = i % classes;
    const kd::ClassMatrix m = kd::darkKnowledgeMatrix(logits, labels, classes, temperature);
    QCOMPARE(m.classes, classes);
    for (int r = 0; r < classes; ++r) {
        double sum = 0;
        for (int c = 0; c < classes; ++c) {
            QVERIFY(m.at(r, c) >= 0 && m.at(r, c) <= 1);
            sum += m.at(r, c);
        }
        QVERIFY2(std::abs(sum - 1.0) < 1e-9, qPrintable(QString::number(sum, 'g', 17)));
    }
}

void TestAnalysis::darkKnowledgeIsMeanPerTrueClass() {
    // Two classes; class 0 has two images, class 1 one, class 2 none (a row of zeros).
    const std::vector<float> logits{2.f, 0.f, 0.f, /**/ 0.f, 2.f, 0.f, /**/ 1.f, 3.f, 0.f};
    const std::vector<std::int64_t> labels{0, 0, 1};
    const kd::ClassMatrix m = kd::darkKnowledgeMatrix(logits, labels, 3, 1.0);
    const std::vector<double> a = kd::softmaxAtTemperature(&logits[0], 3, 1.0);
    const std::vector<double> b = kd::softmaxAtTemperature(&logits[3], 3, 1.0);
    const std::vector<double> c = kd::softmaxAtTemperature(&logits[6], 3, 1.0);
    for (int k = 0; k < 3; ++k) {
        QVERIFY(std::abs(m.at(0, k) - (a[k] + b[k]) / 2) < 1e-15);
        QVERIFY(std::abs(m.at(1, k) - c[k]) < 1e-15);
        QCOMPARE(m.at(2, k), 0.0);
    }
    // Higher T: the diagonal (the teacher's confidence in the true class) shrinks.
    const kd::ClassMatrix soft = kd::darkKnowledgeMatrix(logits, labels, 3, 10.0);
    QVERIFY(soft.at(0, 0) < m.at(0, 0));
}

void TestAnalysis::confusionMatrixCounts() {
    const int rows = 500, classes = 7;
    const std::vector<float> logits = randomLogits(rows, classes, 2.f, 5);
    std::vector<std::int64_t> labels(rows);
    std::mt19937 rng(9);
    for (auto& y : labels)
        y = std::int64_t(rng() % classes);
    const kd::ConfusionMatrix m = kd::confusionMatrix(logits, labels, classes);
    QCOMPARE(m.total(), std::int64_t(rows)); // "confusion matrix totals equal the test set size"
    std::int64_t correct = 0;
    std::vector<std::int64_t> perClass(classes, 0);
    for (int i = 0; i < rows; ++i) {
        ++perClass[labels[i]];
        // argmax as LibTorch takes it
        const torch::Tensor row = torch::from_blob(const_cast<float*>(&logits[i * classes]), {classes});
        if (row.argmax().item<std::int64_t>() == labels[i])
            ++correct;
    }
    QCOMPARE(m.correct(), correct);
    QCOMPARE(m.accuracy(), double(correct) / rows);
    for (int c = 0; c < classes; ++c)
        QCOMPARE(m.classTotal(c), perClass[c]);
}

void TestAnalysis::confusionBiasShiftsPredictions() {
    // Class 1 is always second best by 1.0: a bias above 1 turns every prediction into 1.
    std::vector<float> logits;
    std::vector<std::int64_t> labels;
    for (int i = 0; i < 30; ++i) {
        const int y = i % 3;
        std::vector<float> row{0.f, 0.f, 0.f};
        row[y] = 3.f;
        row[1] = y == 1 ? 3.f : 2.f;
        logits.insert(logits.end(), row.begin(), row.end());
        labels.push_back(y);
    }
    const kd::ConfusionMatrix plain = kd::confusionMatrix(logits, labels, 3);
    QCOMPARE(plain.accuracy(), 1.0);
    const kd::ConfusionMatrix biased = kd::confusionMatrix(logits, labels, 3, /*biasClass=*/1, /*bias=*/1.5);
    QCOMPARE(biased.classAccuracy(1), 1.0);
    QCOMPARE(biased.classAccuracy(0), 0.0);
    QCOMPARE(biased.count(0, 1), std::int64_t(10));
    QCOMPARE(biased.total(), std::int64_t(30));
    const kd::ConfusionMatrix lowered = kd::confusionMatrix(logits, labels, 3, 1, -3.5); // 3 - 3.5 < 0
    QCOMPARE(lowered.classAccuracy(1), 0.0);
}

void TestAnalysis::badShapesGiveEmptyResults() {
    const std::vector<float> tooShort{1.f, 2.f};
    const std::vector<std::int64_t> labels{0, 1};
    QCOMPARE(kd::confusionMatrix(tooShort, labels, 3).total(), std::int64_t(0));
    QCOMPARE(kd::darkKnowledgeMatrix(tooShort, labels, 3, 1.0).at(0, 0), 0.0);
    QVERIFY(kd::softmaxAtTemperature(tooShort.data(), 0, 1.0).empty());
    const std::vector<float> ok{1.f, 2.f, 3.f, 1.f, 2.f, 3.f};
    const std::vector<std::int64_t> outOfRange{5, -1};
    QCOMPARE(kd::confusionMatrix(ok, outOfRange, 3).total(), std::int64_t(0)); // skipped, not a crash
}

QTEST_GUILESS_MAIN(TestAnalysis)
#include "tst_analysis.moc"
