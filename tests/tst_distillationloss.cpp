// kd::distillationLoss: L = alpha * T^2 * KL(softmax(t/T) || softmax(s/T)) + (1 - alpha) * CE(s, y), checked
// against a plain double-precision implementation written here, including its gradient; and
// kd::ensembleTargetLogits, an ensemble teacher's soft targets (the mean of its members' probabilities at T).
#include "kdcore/distillationloss.h"
#include "kdcore/error.h"

#include "testutil.h"

#include <QTest>

#include <cmath>
#include <random>

namespace {

struct Batch {
    int batch = 0;
    int classes = 0;
    std::vector<float> student, teacher;
    std::vector<std::int64_t> labels;
};

Batch randomBatch(int batch, int classes, double scale, std::uint32_t seed) {
    Batch b;
    b.batch = batch;
    b.classes = classes;
    std::mt19937 rng(seed);
    std::normal_distribution<double> normal(0.0, scale);
    for (int i = 0; i < batch * classes; ++i) {
        b.student.push_back(float(normal(rng)));
        b.teacher.push_back(float(normal(rng)));
    }
    for (int i = 0; i < batch; ++i)
        b.labels.push_back(std::int64_t(rng() % std::uint32_t(classes)));
    return b;
}

// softmax(row / T) in double.
std::vector<double> softmax(const float* row, int classes, double temperature) {
    double maxV = -INFINITY;
    for (int j = 0; j < classes; ++j)
        maxV = std::max(maxV, row[j] / temperature);
    std::vector<double> p(std::size_t(classes), 0.0);
    double sum = 0;
    for (int j = 0; j < classes; ++j) {
        p[std::size_t(j)] = std::exp(row[j] / temperature - maxV);
        sum += p[std::size_t(j)];
    }
    for (double& v : p)
        v /= sum;
    return p;
}

// Batch-mean cross-entropy of the student logits against the labels.
double crossEntropy(const Batch& b) {
    double sum = 0;
    for (int i = 0; i < b.batch; ++i) {
        const auto p = softmax(b.student.data() + i * b.classes, b.classes, 1.0);
        sum -= std::log(p[std::size_t(b.labels[std::size_t(i)])]);
    }
    return sum / b.batch;
}

// T^2 * batch-mean KL(softmax(t/T) || softmax(s/T)).
double softTerm(const Batch& b, double temperature) {
    double sum = 0;
    for (int i = 0; i < b.batch; ++i) {
        const auto ps = softmax(b.student.data() + i * b.classes, b.classes, temperature);
        const auto pt = softmax(b.teacher.data() + i * b.classes, b.classes, temperature);
        for (int j = 0; j < b.classes; ++j)
            if (pt[std::size_t(j)] > 0)
                sum += pt[std::size_t(j)] * (std::log(pt[std::size_t(j)]) - std::log(ps[std::size_t(j)]));
    }
    return temperature * temperature * sum / b.batch;
}

// dL/ds = alpha * T * (softmax(s/T) - softmax(t/T)) / B + (1 - alpha) * (softmax(s) - onehot(y)) / B.
std::vector<double> closedFormGradient(const Batch& b, double temperature, double alpha) {
    std::vector<double> g(std::size_t(b.batch * b.classes));
    for (int i = 0; i < b.batch; ++i) {
        const float* s = b.student.data() + i * b.classes;
        const auto psT = softmax(s, b.classes, temperature);
        const auto ptT = softmax(b.teacher.data() + i * b.classes, b.classes, temperature);
        const auto ps1 = softmax(s, b.classes, 1.0);
        for (int j = 0; j < b.classes; ++j) {
            const std::size_t k = std::size_t(j);
            const double onehot = b.labels[std::size_t(i)] == j ? 1.0 : 0.0;
            g[std::size_t(i * b.classes + j)] =
                alpha * temperature * (psT[k] - ptT[k]) / b.batch + (1 - alpha) * (ps1[k] - onehot) / b.batch;
        }
    }
    return g;
}

bool closeRel(double a, double b, double tol) {
    return std::abs(a - b) <= tol * std::max(1.0, std::abs(b));
}

} // namespace

class TestDistillationLoss : public QObject {
    Q_OBJECT

private slots:
    void klNonNegativeAndMatchesHand_data();
    void klNonNegativeAndMatchesHand();
    void equalLogitsGiveZeroSoft_data();
    void equalLogitsGiveZeroSoft();
    void alphaZeroIsCrossEntropy();
    void alphaOneIsSoft();
    void totalMixesParts();
    void gradientMatchesClosedForm_data();
    void gradientMatchesClosedForm();
    void finiteForLargeLogits_data();
    void finiteForLargeLogits();
    void badArguments_data();
    void badArguments();
    void ensembleTargetsAreMeanProbabilities_data();
    void ensembleTargetsAreMeanProbabilities();
    void ensembleOfOneIsTheMember();
    void ensembleOfIdenticalMembersIsTheMember();
    void ensembleTargetsFiniteForLargeLogits();
    void ensembleSoftLossIsKlToMeanProbabilities();
    void ensembleBadArguments_data();
    void ensembleBadArguments();
};

void TestDistillationLoss::klNonNegativeAndMatchesHand_data() {
    QTest::addColumn<double>("temperature");
    QTest::addColumn<double>("scale");
    QTest::newRow("T=1, logits ~N(0,1)") << 1.0 << 1.0;
    QTest::newRow("T=2, logits ~N(0,3)") << 2.0 << 3.0;
    QTest::newRow("T=0.5, logits ~N(0,2)") << 0.5 << 2.0;
    QTest::newRow("T=10, logits ~N(0,5)") << 10.0 << 5.0;
}

void TestDistillationLoss::klNonNegativeAndMatchesHand() {
    QFETCH(double, temperature);
    QFETCH(double, scale);
    for (std::uint32_t seed = 1; seed <= 20; ++seed) {
        const Batch b = randomBatch(6, 10, scale, seed);
        const kd::LossParts parts =
            kd::distillationLoss(b.student, b.teacher, b.labels, b.classes, temperature, 0.5);
        QVERIFY2(parts.soft >= 0, qPrintable(QString("soft %1 < 0 (seed %2)").arg(parts.soft).arg(seed)));
        const double expected = softTerm(b, temperature);
        QVERIFY2(
            closeRel(parts.soft, expected, 1e-4),
            qPrintable(QString("soft %1, by hand %2 (seed %3)").arg(parts.soft).arg(expected).arg(seed)));
    }
}

void TestDistillationLoss::equalLogitsGiveZeroSoft_data() {
    QTest::addColumn<double>("temperature");
    for (double t : {0.5, 1.0, 4.0, 20.0, 100.0})
        QTest::newRow(qPrintable(QString("T=%1").arg(t))) << t;
}

void TestDistillationLoss::equalLogitsGiveZeroSoft() {
    QFETCH(double, temperature);
    Batch b = randomBatch(8, 10, 4.0, 7);
    b.teacher = b.student;
    const kd::LossParts parts =
        kd::distillationLoss(b.student, b.teacher, b.labels, b.classes, temperature, 0.7);
    QVERIFY2(std::abs(parts.soft) <= 1e-6, qPrintable(QString::number(parts.soft)));
}

void TestDistillationLoss::alphaZeroIsCrossEntropy() {
    for (std::uint32_t seed = 1; seed <= 10; ++seed) {
        const Batch b = randomBatch(5, 7, 2.0, seed);
        const kd::LossParts parts = kd::distillationLoss(b.student, b.teacher, b.labels, b.classes, 3.0, 0.0);
        const double ce = crossEntropy(b);
        QVERIFY2(closeRel(parts.total, ce, 1e-5),
                 qPrintable(QString("total %1, CE %2").arg(parts.total).arg(ce)));
        QVERIFY2(closeRel(parts.hard, ce, 1e-5),
                 qPrintable(QString("hard %1, CE %2").arg(parts.hard).arg(ce)));
    }
}

void TestDistillationLoss::alphaOneIsSoft() {
    for (std::uint32_t seed = 1; seed <= 10; ++seed) {
        const Batch b = randomBatch(5, 7, 2.0, seed);
        const kd::LossParts parts = kd::distillationLoss(b.student, b.teacher, b.labels, b.classes, 3.0, 1.0);
        QVERIFY2(closeRel(parts.total, parts.soft, 1e-6),
                 qPrintable(QString("total %1, soft %2").arg(parts.total).arg(parts.soft)));
        QVERIFY(parts.soft > 0);
    }
}

void TestDistillationLoss::totalMixesParts() {
    const Batch b = randomBatch(4, 10, 2.0, 3);
    for (double alpha : {0.0, 0.25, 0.5, 0.9, 1.0}) {
        const kd::LossParts parts =
            kd::distillationLoss(b.student, b.teacher, b.labels, b.classes, 4.0, alpha);
        QVERIFY(closeRel(parts.total, alpha * parts.soft + (1 - alpha) * parts.hard, 1e-5));
        QVERIFY(closeRel(parts.hard, crossEntropy(b), 1e-5));
        QVERIFY(closeRel(parts.soft, softTerm(b, 4.0), 1e-4));
    }
}

void TestDistillationLoss::gradientMatchesClosedForm_data() {
    QTest::addColumn<double>("temperature");
    QTest::addColumn<double>("alpha");
    for (double t : {0.5, 1.0, 4.0, 20.0, 100.0})
        for (double a : {0.0, 0.3, 1.0})
            QTest::newRow(qPrintable(QString("T=%1 alpha=%2").arg(t).arg(a))) << t << a;
}

void TestDistillationLoss::gradientMatchesClosedForm() {
    QFETCH(double, temperature);
    QFETCH(double, alpha);
    for (std::uint32_t seed = 1; seed <= 5; ++seed) {
        const Batch b = randomBatch(8, 10, 3.0, seed);
        std::vector<float> grad;
        kd::distillationLoss(b.student, b.teacher, b.labels, b.classes, temperature, alpha, &grad);
        QCOMPARE(grad.size(), b.student.size());
        const std::vector<double> expected = closedFormGradient(b, temperature, alpha);
        for (std::size_t k = 0; k < grad.size(); ++k)
            QVERIFY2(std::abs(grad[k] - expected[k]) <= 1e-5,
                     qPrintable(QString("element %1: %2, closed form %3 (seed %4)")
                                    .arg(k)
                                    .arg(grad[k])
                                    .arg(expected[k])
                                    .arg(seed)));
    }
}

void TestDistillationLoss::finiteForLargeLogits_data() {
    QTest::addColumn<double>("temperature");
    QTest::addColumn<double>("magnitude");
    for (double t : {0.5, 100.0})
        for (double m : {1e2, 1e3, 1e4})
            QTest::newRow(qPrintable(QString("T=%1 |logits|<=%2").arg(t).arg(m))) << t << m;
}

void TestDistillationLoss::finiteForLargeLogits() {
    QFETCH(double, temperature);
    QFETCH(double, magnitude);
    Batch b = randomBatch(6, 10, 1.0, 11);
    std::mt19937 rng(5);
    for (std::size_t k = 0; k < b.student.size(); ++k) {
        // Uniform in [-m, m], plus the extremes, with teacher and student disagreeing as much as possible.
        const double u = (rng() % 20001) / 10000.0 - 1.0;
        b.student[k] = float(u * magnitude);
        b.teacher[k] = float(-u * magnitude);
    }
    b.student[0] = float(magnitude);
    b.teacher[0] = float(-magnitude);
    b.student[1] = float(-magnitude);
    b.teacher[1] = float(magnitude);
    for (double alpha : {0.0, 0.3, 1.0}) {
        std::vector<float> grad;
        const kd::LossParts parts =
            kd::distillationLoss(b.student, b.teacher, b.labels, b.classes, temperature, alpha, &grad);
        QVERIFY2(
            std::isfinite(parts.total) && std::isfinite(parts.soft) && std::isfinite(parts.hard),
            qPrintable(QString("total %1 soft %2 hard %3").arg(parts.total).arg(parts.soft).arg(parts.hard)));
        QVERIFY(parts.soft >= 0);
        QVERIFY(parts.hard >= 0);
        QCOMPARE(grad.size(), b.student.size());
        for (float g : grad)
            QVERIFY2(std::isfinite(g), qPrintable(QString::number(g)));
        // The gradient is still the closed form (bounded by alpha*T*2/B + (1-alpha)*2/B per element).
        const std::vector<double> expected = closedFormGradient(b, temperature, alpha);
        for (std::size_t k = 0; k < grad.size(); ++k)
            QVERIFY2(
                std::abs(grad[k] - expected[k]) <= 1e-4 * std::max(1.0, temperature),
                qPrintable(QString("element %1: %2, closed form %3").arg(k).arg(grad[k]).arg(expected[k])));
    }
}

void TestDistillationLoss::badArguments_data() {
    QTest::addColumn<int>("studentSize");
    QTest::addColumn<int>("teacherSize");
    QTest::addColumn<QList<qint64>>("labels");
    QTest::addColumn<int>("classes");
    QTest::addColumn<double>("temperature");
    const QList<qint64> ok{0, 1, 2};
    QTest::newRow("student logits too short") << 11 << 12 << ok << 4 << 2.0;
    QTest::newRow("teacher logits too long") << 12 << 16 << ok << 4 << 2.0;
    QTest::newRow("logits do not match the labels") << 12 << 12 << QList<qint64>{0, 1} << 4 << 2.0;
    QTest::newRow("no labels") << 0 << 0 << QList<qint64>{} << 4 << 2.0;
    QTest::newRow("zero classes") << 0 << 0 << ok << 0 << 2.0;
    QTest::newRow("label == classes") << 12 << 12 << QList<qint64>{0, 4, 1} << 4 << 2.0;
    QTest::newRow("negative label") << 12 << 12 << QList<qint64>{0, -1, 1} << 4 << 2.0;
    QTest::newRow("temperature 0") << 12 << 12 << ok << 4 << 0.0;
    QTest::newRow("negative temperature") << 12 << 12 << ok << 4 << -1.0;
}

void TestDistillationLoss::badArguments() {
    QFETCH(int, studentSize);
    QFETCH(int, teacherSize);
    QFETCH(QList<qint64>, labels);
    QFETCH(int, classes);
    QFETCH(double, temperature);
    const std::vector<float> s(std::size_t(studentSize), 0.5f), t(std::size_t(teacherSize), -0.5f);
    const std::vector<std::int64_t> y(labels.begin(), labels.end());
    std::vector<float> grad;
    QString msg;
    KD_EXPECT_ERROR(msg, kd::distillationLoss(s, t, y, classes, temperature, 0.5, &grad));
    QVERIFY2(msg.contains("distillationLoss"), qPrintable(msg));
}

// [members x batch x classes] logits ~N(0, scale): members that disagree.
std::vector<float> randomMembers(int members, int batch, int classes, double scale, std::uint32_t seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<double> normal(0.0, scale);
    std::vector<float> logits;
    for (int i = 0; i < members * batch * classes; ++i)
        logits.push_back(float(normal(rng)));
    return logits;
}

// mean_k softmax(l_k / T) of row `i`, in double.
std::vector<double> meanProbabilities(const std::vector<float>& memberLogits, int members, int batch,
                                      int classes, int i, double temperature) {
    std::vector<double> mean(std::size_t(classes), 0.0);
    for (int k = 0; k < members; ++k) {
        const auto p =
            softmax(memberLogits.data() + (std::size_t(k) * batch + i) * classes, classes, temperature);
        for (int j = 0; j < classes; ++j)
            mean[std::size_t(j)] += p[std::size_t(j)] / members;
    }
    return mean;
}

void TestDistillationLoss::ensembleTargetsAreMeanProbabilities_data() {
    QTest::addColumn<double>("temperature");
    QTest::addColumn<int>("members");
    for (double t : {0.5, 1.0, 4.0, 20.0})
        for (int k : {1, 2, 5})
            QTest::newRow(qPrintable(QString("T=%1 K=%2").arg(t).arg(k))) << t << k;
}

// "The student learns from the mean of the members' probabilities at T": softmax(z / T) of the returned
// logits is that mean, for every image of the batch.
void TestDistillationLoss::ensembleTargetsAreMeanProbabilities() {
    QFETCH(double, temperature);
    QFETCH(int, members);
    constexpr int batch = 6, classes = 10;
    for (std::uint32_t seed = 1; seed <= 5; ++seed) {
        const std::vector<float> l = randomMembers(members, batch, classes, 3.0, seed);
        const std::vector<float> z = kd::ensembleTargetLogits(l, members, classes, temperature);
        QCOMPARE(z.size(), std::size_t(batch * classes));
        for (int i = 0; i < batch; ++i) {
            const auto got = softmax(z.data() + std::size_t(i) * classes, classes, temperature);
            const auto want = meanProbabilities(l, members, batch, classes, i, temperature);
            double sum = 0;
            for (int j = 0; j < classes; ++j) {
                sum += got[std::size_t(j)];
                QVERIFY2(std::abs(got[std::size_t(j)] - want[std::size_t(j)]) <= 1e-5,
                         qPrintable(QString("image %1 class %2: %3, mean of members %4 (seed %5)")
                                        .arg(i)
                                        .arg(j)
                                        .arg(got[std::size_t(j)])
                                        .arg(want[std::size_t(j)])
                                        .arg(seed)));
            }
            QVERIFY(std::abs(sum - 1.0) <= 1e-9);
        }
    }
}

// An ensemble of one is that model: its logits come back unchanged (kd and a size-1 ensemble agree).
void TestDistillationLoss::ensembleOfOneIsTheMember() {
    const std::vector<float> l = randomMembers(1, 7, 10, 5.0, 3);
    for (double t : {0.5, 1.0, 4.0, 20.0})
        QVERIFY(kd::ensembleTargetLogits(l, 1, 10, t) == l);
}

// K copies of one model teach what that model teaches.
void TestDistillationLoss::ensembleOfIdenticalMembersIsTheMember() {
    constexpr int batch = 5, classes = 10;
    const std::vector<float> one = randomMembers(1, batch, classes, 3.0, 9);
    std::vector<float> three;
    for (int k = 0; k < 3; ++k)
        three.insert(three.end(), one.begin(), one.end());
    for (double t : {0.5, 2.0, 20.0}) {
        const std::vector<float> z = kd::ensembleTargetLogits(three, 3, classes, t);
        for (int i = 0; i < batch; ++i) {
            const auto got = softmax(z.data() + i * classes, classes, t);
            const auto want = softmax(one.data() + i * classes, classes, t);
            for (int j = 0; j < classes; ++j)
                QVERIFY(std::abs(got[std::size_t(j)] - want[std::size_t(j)]) <= 1e-6);
        }
    }
}

void TestDistillationLoss::ensembleTargetsFiniteForLargeLogits() {
    constexpr int members = 3, batch = 4, classes = 10;
    for (double magnitude : {1e2, 1e3, 1e4}) {
        std::vector<float> l = randomMembers(members, batch, classes, 1.0, 17);
        // Confident members that disagree: logits ~N(0, magnitude).
        for (std::size_t n = 0; n < l.size(); ++n)
            l[n] = float(l[n] * magnitude);
        for (double t : {0.5, 1.0, 100.0}) {
            const std::vector<float> z = kd::ensembleTargetLogits(l, members, classes, t);
            for (float v : z)
                QVERIFY2(std::isfinite(v),
                         qPrintable(QString("T=%1 |l|~%2: %3").arg(t).arg(magnitude).arg(v)));
            for (int i = 0; i < batch; ++i) {
                const auto got = softmax(z.data() + i * classes, classes, t);
                const auto want = meanProbabilities(l, members, batch, classes, i, t);
                for (int j = 0; j < classes; ++j)
                    QVERIFY(std::abs(got[std::size_t(j)] - want[std::size_t(j)]) <= 1e-5);
            }
        }
    }
}

// Fed to the distillation loss, the ensemble's logits give T^2 * KL(mean_k p_k || softmax(s/T)).
void TestDistillationLoss::ensembleSoftLossIsKlToMeanProbabilities() {
    constexpr int members = 3, batch = 6, classes = 10;
    const double temperature = 4.0;
    const std::vector<float> l = randomMembers(members, batch, classes, 3.0, 21);
    const Batch b = randomBatch(batch, classes, 3.0, 22);
    const std::vector<float> z = kd::ensembleTargetLogits(l, members, classes, temperature);
    const kd::LossParts parts = kd::distillationLoss(b.student, z, b.labels, classes, temperature, 0.5);
    double kl = 0;
    for (int i = 0; i < batch; ++i) {
        const auto pt = meanProbabilities(l, members, batch, classes, i, temperature);
        const auto ps = softmax(b.student.data() + i * classes, classes, temperature);
        for (int j = 0; j < classes; ++j)
            kl += pt[std::size_t(j)] * (std::log(pt[std::size_t(j)]) - std::log(ps[std::size_t(j)]));
    }
    const double expected = temperature * temperature * kl / batch;
    QVERIFY2(closeRel(parts.soft, expected, 1e-4),
             qPrintable(QString("soft %1, by hand %2").arg(parts.soft).arg(expected)));
}

void TestDistillationLoss::ensembleBadArguments_data() {
    QTest::addColumn<int>("size");
    QTest::addColumn<int>("members");
    QTest::addColumn<int>("classes");
    QTest::addColumn<double>("temperature");
    QTest::newRow("no logits") << 0 << 2 << 10 << 2.0;
    QTest::newRow("zero members") << 20 << 0 << 10 << 2.0;
    QTest::newRow("negative members") << 20 << -1 << 10 << 2.0;
    QTest::newRow("zero classes") << 20 << 2 << 0 << 2.0;
    QTest::newRow("not members x batch x classes") << 25 << 2 << 10 << 2.0;
    QTest::newRow("one member's batch short") << 30 << 2 << 10 << 2.0;
    QTest::newRow("temperature 0") << 40 << 2 << 10 << 0.0;
    QTest::newRow("negative temperature") << 40 << 2 << 10 << -1.0;
    QTest::newRow("temperature NaN") << 40 << 2 << 10 << std::nan("");
}

void TestDistillationLoss::ensembleBadArguments() {
    QFETCH(int, size);
    QFETCH(int, members);
    QFETCH(int, classes);
    QFETCH(double, temperature);
    const std::vector<float> l(std::size_t(size), 0.25f);
    QString msg;
    KD_EXPECT_ERROR(msg, kd::ensembleTargetLogits(l, members, classes, temperature));
    QVERIFY2(msg.contains("ensembleTargetLogits"), qPrintable(msg));
}

QTEST_GUILESS_MAIN(TestDistillationLoss)
#include "tst_distillationloss.moc"
