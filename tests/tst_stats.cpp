// Paired statistics (kdcore/stats.h): McNemar's exact p-value and Newcombe's interval against values computed
// independently, their symmetry and bounds over every small table, the wording for people, and refusals of
// impossible input; and the readings built on them (kdcore/report.h): whether a run's gap is real, the
// sentence when it is not, and summary.json's comparisons.
//
// Reference values: McNemar's p exactly in Python integers, min(1, 2 * sum(comb(b + c, i) for i <= min(b, c))
// / 2**(b + c)) with math.comb and fractions.Fraction, printed as float(p); Newcombe's interval (method 10,
// Stat Med 1998;17:2635) written out once in Python from the paper's definition (Wilson score limits of each
// accuracy, phi = (ad - bc) / sqrt((a+b)(c+d)(a+c)(b+d)), 0 when that is 0) in 60-digit decimal arithmetic
// with z = 1.959963984540054, printed with %.17g.
#include "kdcore/error.h"
#include "kdcore/report.h"
#include "kdcore/stats.h"

#include "testutil.h"

#include <QJsonDocument>
#include <QJsonObject>
#include <QJsonValue>
#include <QTest>

#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <vector>

namespace {

// Exact two-sided McNemar p for small counts (b + c <= 60), in 64-bit integers: C(60, 30) < 2^57.
double exactSmallP(int b, int c) {
    const int m = b + c, k = std::min(b, c);
    if (m == 0)
        return 1;
    std::uint64_t tail = 0, term = 1; // term = C(m, i)
    for (int i = 0; i <= k; ++i) {
        tail += term;
        term = term * std::uint64_t(m - i) / std::uint64_t(i + 1);
    }
    return std::min(1.0, 2 * double(tail) / std::ldexp(1.0, m));
}

bool near(double a, double b, double tolerance) {
    return std::abs(a - b) <= tolerance;
}

} // namespace

class TestStats : public QObject {
    Q_OBJECT
private slots:
    void mcnemar_data();
    void mcnemar();
    void mcnemarMatchesExactForSmallCounts();
    void mcnemarHugeCounts();
    void interval_data();
    void interval();
    void everySmallTable();
    void fromPredictions();
    void refuses_data();
    void refuses();
    void describe_data();
    void describe();
    void pValueText_data();
    void pValueText();
    void gapReading_data();
    void gapReading();
    void summaryComparisons();
};

void TestStats::mcnemar_data() {
    QTest::addColumn<qint64>("b");
    QTest::addColumn<qint64>("c");
    QTest::addColumn<double>("expected");
    QTest::newRow("10 vs 2: 158/4096") << qint64(10) << qint64(2) << 158.0 / 4096;
    QTest::newRow("2 vs 10: the same") << qint64(2) << qint64(10) << 158.0 / 4096;
    QTest::newRow("no discordant pairs") << qint64(0) << qint64(0) << 1.0;
    QTest::newRow("b = c") << qint64(7) << qint64(7) << 1.0;
    QTest::newRow("b = c, large") << qint64(20000) << qint64(20000) << 1.0;
    QTest::newRow("one pair") << qint64(1) << qint64(0) << 1.0;
    QTest::newRow("0 vs 5: 2/32") << qint64(0) << qint64(5) << 1.0 / 16;
    // Exact in Python integers (see the top of the file); over 10,000 discordant pairs.
    QTest::newRow("6000 vs 5800") << qint64(6000) << qint64(5800) << 0.06695529843698618;
    QTest::newRow("5100 vs 4900") << qint64(5100) << qint64(4900) << 0.046585527704947387;
    QTest::newRow("12000 vs 11500") << qint64(12000) << qint64(11500) << 0.0011330142090281033;
    QTest::newRow("300 vs 100") << qint64(300) << qint64(100) << 2.5918869069720767e-24;
}

void TestStats::mcnemar() {
    QFETCH(qint64, b);
    QFETCH(qint64, c);
    QFETCH(double, expected);
    const double p = kd::mcnemarExactP(b, c);
    QVERIFY2(std::abs(p - expected) <= 1e-9 * expected,
             qPrintable(QStringLiteral("p = %1, expected %2").arg(p, 0, 'g', 17).arg(expected, 0, 'g', 17)));
}

void TestStats::mcnemarMatchesExactForSmallCounts() {
    for (int b = 0; b <= 30; ++b)
        for (int c = 0; c <= 30; ++c) {
            const double p = kd::mcnemarExactP(b, c), expected = exactSmallP(b, c);
            QVERIFY2(
                std::abs(p - expected) <= 1e-12 * expected,
                qPrintable(
                    QStringLiteral("b %1, c %2: p = %3, expected %4").arg(b).arg(c).arg(p).arg(expected)));
        }
}

// Counts no test set has (a hand-edited file) still give a p-value, at once.
void TestStats::mcnemarHugeCounts() {
    const qint64 big = 3000000000;
    QCOMPARE(kd::mcnemarExactP(big, big), 1.0);
    // z = 100,000 / sqrt(6e9 / 4) = 2.582: two-sided normal p = 0.00982.
    const double p = kd::mcnemarExactP(big, big - 200000);
    QVERIFY2(p > 0.0097 && p < 0.0099, qPrintable(QString::number(p)));
    const double tiny = kd::mcnemarExactP(std::numeric_limits<qint64>::max() / 2, 0);
    QVERIFY(tiny >= 0 && tiny < 1e-300);
}

void TestStats::interval_data() {
    QTest::addColumn<qint64>("n");
    QTest::addColumn<qint64>("both");
    QTest::addColumn<qint64>("onlyA");
    QTest::addColumn<qint64>("onlyB");
    QTest::addColumn<double>("difference");
    QTest::addColumn<double>("low");
    QTest::addColumn<double>("high");
    QTest::addColumn<double>("pValue");
    // Computed in Python (see the top of the file).
    auto row = [](const char* name, qint64 n, qint64 both, qint64 onlyA, qint64 onlyB, double difference,
                  double low, double high, double p) {
        QTest::newRow(name) << n << both << onlyA << onlyB << difference << low << high << p;
    };
    row("27: 12 9 2", 27, 12, 9, 2, 0.25925925925925924, 0.031520418511111654, 0.4521035940310652,
        0.0654296875);
    row("27: 12 2 9 (mirrored)", 27, 12, 2, 9, -0.25925925925925924, -0.4521035940310652,
        -0.031520418511111654, 0.0654296875);
    row("1000: 850 12 10 (a 0.2-point lead)", 1000, 850, 12, 10, 0.002, -0.007547798649554972,
        0.011615269356592219, 0.83181190490722656);
    row("1000: 780 120 20", 1000, 780, 120, 20, 0.1, 0.077907117150543867, 0.12282345984730023,
        1.4188339369831326e-18);
    row("10000: 8700 300 177", 10000, 8700, 300, 177, 0.0123, 0.0080337221589576041, 0.016601037374200132,
        1.9521202020151445e-08);
    row("50: 40 0 0 (no discordant pairs)", 50, 40, 0, 0, 0, -0.042808559480015225, 0.042808559480015225, 1);
    row("50: 50 0 0 (phi's denominator 0)", 50, 50, 0, 0, 0, -0.071347599133358711, 0.071347599133358711, 1);
    row("20: 0 20 0 (A always, B never)", 20, 0, 20, 0, 1, 0.77213461624219437, 1, 1.9073486328125e-06);
    row("100: 0 0 0 (both always wrong)", 100, 0, 0, 0, 0, -0.036993498206985678, 0.036993498206985678, 1);
    row("1: 0 1 0", 1, 0, 1, 0, 1, -0.12210872068194177, 1, 1);
    row("12000: 0 6000 5800", 12000, 0, 6000, 5800, 0.016666666666666666, -0.0010754951966037889,
        0.034398249097179909, 0.06695529843698618);
}

void TestStats::interval() {
    QFETCH(qint64, n);
    QFETCH(qint64, both);
    QFETCH(qint64, onlyA);
    QFETCH(qint64, onlyB);
    QFETCH(double, difference);
    QFETCH(double, low);
    QFETCH(double, high);
    QFETCH(double, pValue);
    const kd::PairedTest t = kd::pairedTestFromCounts(n, both, onlyA, onlyB);
    QVERIFY(t.valid());
    QCOMPARE(t.n, n);
    QCOMPARE(t.both, both);
    QCOMPARE(t.onlyA, onlyA);
    QCOMPARE(t.onlyB, onlyB);
    const QString got = QStringLiteral("difference %1, interval %2 to %3, p %4")
                            .arg(t.difference, 0, 'g', 17)
                            .arg(t.low, 0, 'g', 17)
                            .arg(t.high, 0, 'g', 17)
                            .arg(t.pValue, 0, 'g', 17);
    QVERIFY2(near(t.difference, difference, 1e-15), qPrintable(got));
    QVERIFY2(near(t.low, low, 1e-12), qPrintable(got));
    QVERIFY2(near(t.high, high, 1e-12), qPrintable(got));
    QVERIFY2(std::abs(t.pValue - pValue) <= 1e-9 * pValue, qPrintable(got));
    QCOMPARE(t.significant(), pValue < 0.05);

    // Swapping A and B mirrors everything.
    const kd::PairedTest m = kd::pairedTestFromCounts(n, both, onlyB, onlyA);
    QVERIFY(near(m.difference, -t.difference, 1e-15));
    QVERIFY(near(m.low, -t.high, 1e-15));
    QVERIFY(near(m.high, -t.low, 1e-15));
    QCOMPARE(m.pValue, t.pValue);
}

// Every table up to 25 images: the interval holds the difference, stays in [-1, 1], mirrors when A and B
// swap, and the p-value agrees with the exact integer sum.
void TestStats::everySmallTable() {
    int tables = 0;
    for (int n = 1; n <= 25; ++n)
        for (int both = 0; both <= n; ++both)
            for (int onlyA = 0; both + onlyA <= n; ++onlyA)
                for (int onlyB = 0; both + onlyA + onlyB <= n; ++onlyB) {
                    const kd::PairedTest t = kd::pairedTestFromCounts(n, both, onlyA, onlyB);
                    const kd::PairedTest m = kd::pairedTestFromCounts(n, both, onlyB, onlyA);
                    const QString where =
                        QStringLiteral("n %1, both %2, only A %3, only B %4: %5 to %6 around %7")
                            .arg(n)
                            .arg(both)
                            .arg(onlyA)
                            .arg(onlyB)
                            .arg(t.low)
                            .arg(t.high)
                            .arg(t.difference);
                    QVERIFY2(near(t.difference, double(onlyA - onlyB) / n, 1e-15), qPrintable(where));
                    QVERIFY2(t.low <= t.difference && t.difference <= t.high, qPrintable(where));
                    // Not t.low < t.high: without discordant pairs phi can be 1, and method 10's interval
                    // then shrinks to nothing where both accuracies are 1/2 (n 2, both 1: [0, 0]), as in
                    // Python.
                    QVERIFY2(t.low >= -1 && t.high <= 1 && t.low <= t.high, qPrintable(where));
                    QVERIFY2(near(m.low, -t.high, 1e-15) && near(m.high, -t.low, 1e-15), qPrintable(where));
                    QVERIFY2(std::abs(t.pValue - exactSmallP(onlyA, onlyB)) <= 1e-12, qPrintable(where));
                    ++tables;
                }
    QCOMPARE(tables, 23751 - 1); // the sum of C(n + 3, 3) for n = 0..25 is C(29, 4); n = 0 left out
}

void TestStats::fromPredictions() {
    // 10 images: both right on 0-4, A only on 5-7, B only on 8, both wrong on 9.
    std::vector<bool> a(10, false), b(10, false);
    for (int i = 0; i < 5; ++i)
        a[i] = b[i] = true;
    for (int i = 5; i < 8; ++i)
        a[i] = true;
    b[8] = true;
    const kd::PairedTest t = kd::pairedTest(a, b);
    QCOMPARE(t.n, qint64(10));
    QCOMPARE(t.both, qint64(5));
    QCOMPARE(t.onlyA, qint64(3));
    QCOMPARE(t.onlyB, qint64(1));
    const kd::PairedTest fromCounts = kd::pairedTestFromCounts(10, 5, 3, 1);
    QCOMPARE(t.difference, fromCounts.difference);
    QCOMPARE(t.low, fromCounts.low);
    QCOMPARE(t.high, fromCounts.high);
    QCOMPARE(t.pValue, 0.625); // 2 * (1 + 4) / 16

    const kd::PairedTest none = kd::pairedTest({}, {});
    QVERIFY(!none.valid());
    QVERIFY(!none.significant());
    QCOMPARE(none.pValue, 1.0);

    const QString message = testutil::errorMessage([] { kd::pairedTest({true, false}, {true}); });
    QVERIFY2(testutil::isKdError(message), qPrintable(message));
    QVERIFY2(message.contains(QLatin1String("2 and 1 test images")), qPrintable(message));
}

void TestStats::refuses_data() {
    QTest::addColumn<qint64>("n");
    QTest::addColumn<qint64>("both");
    QTest::addColumn<qint64>("onlyA");
    QTest::addColumn<qint64>("onlyB");
    QTest::addColumn<QString>("expected"); // a part of the message
    const qint64 max = std::numeric_limits<qint64>::max();
    QTest::newRow("negative n") << qint64(-1) << qint64(0) << qint64(0) << qint64(0) << "negative count";
    QTest::newRow("negative both") << qint64(10) << qint64(-1) << qint64(0) << qint64(0) << "negative count";
    QTest::newRow("negative only A") << qint64(10) << qint64(0) << qint64(-3) << qint64(0)
                                     << "negative count";
    QTest::newRow("negative only B") << qint64(10) << qint64(0) << qint64(0) << qint64(-3)
                                     << "negative count";
    QTest::newRow("more than n") << qint64(10) << qint64(5) << qint64(3) << qint64(3) << "more than 10";
    QTest::newRow("counts without images")
        << qint64(0) << qint64(0) << qint64(1) << qint64(0) << "more than 0";
    QTest::newRow("sum overflows") << qint64(max) << qint64(max) << qint64(max) << qint64(max) << "more than";
}

void TestStats::refuses() {
    QFETCH(qint64, n);
    QFETCH(qint64, both);
    QFETCH(qint64, onlyA);
    QFETCH(qint64, onlyB);
    QFETCH(QString, expected);
    const QString message = testutil::errorMessage([&] { kd::pairedTestFromCounts(n, both, onlyA, onlyB); });
    QVERIFY2(testutil::isKdError(message), qPrintable(message));
    QVERIFY2(message.contains(expected), qPrintable(message));
    QVERIFY(!message.contains(QLatin1Char('\n')));

    const QString negative = testutil::errorMessage([] { kd::mcnemarExactP(-1, 3); });
    QVERIFY2(testutil::isKdError(negative), qPrintable(negative));
}

void TestStats::describe_data() {
    QTest::addColumn<qint64>("n");
    QTest::addColumn<qint64>("both");
    QTest::addColumn<qint64>("onlyA");
    QTest::addColumn<qint64>("onlyB");
    QTest::addColumn<QString>("text");
    QTest::addColumn<QString>("shortText");
    // Figures from interval_data, rounded.
    QTest::newRow("significant, large")
        << qint64(10000) << qint64(8700) << qint64(300) << qint64(177)
        << "+1.23 points (95% CI +0.80 to +1.66), McNemar p < 0.0001 on 10,000 "
           "test images"
        << "+1.23 points (95% CI +0.80 to +1.66, p < 0.0001)";
    QTest::newRow("a 0.2-point lead")
        << qint64(1000) << qint64(850) << qint64(12) << qint64(10)
        << "+0.20 points (95% CI -0.75 to +1.16), McNemar p = 0.83 on 1,000 test "
           "images"
        << "+0.20 points (95% CI -0.75 to +1.16, p = 0.83)";
    QTest::newRow("behind") << qint64(27) << qint64(12) << qint64(2) << qint64(9)
                            << "-25.93 points (95% CI -45.21 to -3.15), McNemar p = 0.065 on 27 test images"
                            << "-25.93 points (95% CI -45.21 to -3.15, p = 0.065)";
    QTest::newRow("no difference") << qint64(50) << qint64(40) << qint64(0) << qint64(0)
                                   << "+0.00 points (95% CI -4.28 to +4.28), McNemar p = 1 on 50 test images"
                                   << "+0.00 points (95% CI -4.28 to +4.28, p = 1)";
    QTest::newRow("one image") << qint64(1) << qint64(0) << qint64(1) << qint64(0)
                               << "+100.00 points (95% CI -12.21 to +100.00), McNemar p = 1 on 1 test image"
                               << "+100.00 points (95% CI -12.21 to +100.00, p = 1)";
    QTest::newRow("not compared") << qint64(0) << qint64(0) << qint64(0) << qint64(0)
                                  << "not compared (no test images)"
                                  << "not compared";
}

void TestStats::describe() {
    QFETCH(qint64, n);
    QFETCH(qint64, both);
    QFETCH(qint64, onlyA);
    QFETCH(qint64, onlyB);
    QFETCH(QString, text);
    QFETCH(QString, shortText);
    const kd::PairedTest t = kd::pairedTestFromCounts(n, both, onlyA, onlyB);
    QCOMPARE(QString::fromStdString(kd::describePairedTest(t)), text);
    QCOMPARE(QString::fromStdString(kd::describeDifference(t)), shortText);
}

void TestStats::pValueText_data() {
    QTest::addColumn<double>("p");
    QTest::addColumn<QString>("text");
    QTest::newRow("1") << 1.0 << "p = 1";
    QTest::newRow("0.52") << 0.5234 << "p = 0.52";
    QTest::newRow("0.05 exactly: not significant") << 0.05 << "p = 0.05";
    QTest::newRow("0.0496: not written as 0.05") << 0.0496 << "p = 0.0496";
    QTest::newRow("0.049996") << 0.049996 << "p = 0.049996";
    QTest::newRow("0.0512: may read 0.051") << 0.0512 << "p = 0.051";
    QTest::newRow("0.0012") << 0.0012 << "p = 0.0012";
    QTest::newRow("0.0004") << 0.00041 << "p = 0.0004";
    QTest::newRow("0.0001") << 0.0001 << "p = 0.0001";
    QTest::newRow("below 0.0001") << 0.0000999 << "p < 0.0001";
    QTest::newRow("0") << 0.0 << "p < 0.0001";
}

void TestStats::pValueText() {
    QFETCH(double, p);
    QFETCH(QString, text);
    QCOMPARE(QString::fromStdString(kd::formatPValue(p)), text);
}

void TestStats::gapReading_data() {
    QTest::addColumn<double>("teacher");
    QTest::addColumn<double>("baseline");
    QTest::addColumn<double>("student");
    QTest::addColumn<qint64>("n"); // teacher vs baseline; 0: not compared (a file from before)
    QTest::addColumn<qint64>("both");
    QTest::addColumn<qint64>("onlyTeacher");
    QTest::addColumn<qint64>("onlyBaseline");
    QTest::addColumn<int>("verdict");
    QTest::addColumn<double>("gap"); // -1: none
    QTest::addColumn<QString>("reason");
    const int real = int(kd::GapVerdict::Real), noise = int(kd::GapVerdict::WithinNoise),
              notBetter = int(kd::GapVerdict::TeacherNotBetter);
    const QString advice =
        QStringLiteral("so there is no gap to recover: train the teacher longer or pick a stronger one");
    QTest::newRow("a real gap, half recovered") << 0.90 << 0.80 << 0.85 << qint64(1000) << qint64(780)
                                                << qint64(120) << qint64(20) << real << 0.5 << QString();
    // The old reading gave (0.14 - 0.12) / 0.002 = 1000% here.
    QTest::newRow("a 0.2-point lead on 1,000 images")
        << 0.862 << 0.860 << 0.88 << qint64(1000) << qint64(850) << qint64(12) << qint64(10) << noise << -1.0
        << QStringLiteral("the teacher's lead (+0.20 points, 95% CI -0.75 to +1.16, p = 0.83 on 1,000 test "
                          "images) is within the test set's noise, so there is no gap to speak of");
    QTest::newRow("the teacher significantly worse")
        << 0.80 << 0.90 << 0.85 << qint64(1000) << qint64(780) << qint64(20) << qint64(120) << notBetter
        << -1.0
        << QStringLiteral("the teacher is worse than the baseline (-10.00 points, 95% CI -12.28 to -7.79, "
                          "p < 0.0001 on 1,000 test images), ") +
               advice;
    QTest::newRow("the teacher behind, within the noise")
        << 0.860 << 0.862 << 0.85 << qint64(1000) << qint64(850) << qint64(10) << qint64(12) << notBetter
        << -1.0
        << QStringLiteral("the teacher is not better than the baseline (-0.20 points, 95% CI -1.16 to +0.75, "
                          "p = 0.83 on 1,000 test images), ") +
               advice;
    QTest::newRow("not compared, the teacher ahead: the accuracies decide")
        << 0.862 << 0.860 << 0.88 << qint64(0) << qint64(0) << qint64(0) << qint64(0) << real << 10.0
        << QString();
    QTest::newRow("not compared, the teacher behind")
        << 0.80 << 0.85 << 0.83 << qint64(0) << qint64(0) << qint64(0) << qint64(0) << notBetter << -1.0
        << QStringLiteral("the teacher is not better than the baseline, ") + advice;
}

void TestStats::gapReading() {
    QFETCH(double, teacher);
    QFETCH(double, baseline);
    QFETCH(double, student);
    QFETCH(qint64, n);
    QFETCH(qint64, both);
    QFETCH(qint64, onlyTeacher);
    QFETCH(qint64, onlyBaseline);
    QFETCH(int, verdict);
    QFETCH(double, gap);
    QFETCH(QString, reason);
    kd::ExperimentResult r;
    r.teacher.testAccuracy = teacher;
    r.baseline.testAccuracy = baseline;
    r.student.testAccuracy = student;
    r.teacherVsBaseline = kd::pairedTestFromCounts(n, both, onlyTeacher, onlyBaseline);
    QCOMPARE(int(kd::gapVerdict(r.teacherVsBaseline, teacher, baseline)), verdict);
    const std::optional<double> got = kd::gapRecovered(r);
    QCOMPARE(got.has_value(), gap != -1.0);
    if (got)
        QVERIFY2(std::abs(*got - gap) < 1e-9, qPrintable(QString::number(*got)));
    QCOMPARE(QString::fromStdString(kd::noGapReason(r)), reason);
}

// summary.json: each comparison with its counts, interval and p, null when not made; the gap recovered only
// when it is real.
void TestStats::summaryComparisons() {
    kd::ExperimentResult r;
    r.teacher.testAccuracy = 0.862;
    r.baseline.testAccuracy = 0.860;
    r.student.testAccuracy = 0.88;
    r.studentVsBaseline = kd::pairedTestFromCounts(1000, 840, 40, 20);
    auto summary = [&r] {
        return QJsonDocument::fromJson(QByteArray::fromStdString(kd::summaryJson({}, r))).object();
    };
    QJsonObject doc = summary();
    const QJsonObject student = doc["comparisons"].toObject()["student_vs_baseline"].toObject();
    QCOMPARE(student["n"].toInt(), 1000);
    QCOMPARE(student["both"].toInt(), 840);
    QCOMPARE(student["only_a"].toInt(), 40);
    QCOMPARE(student["only_b"].toInt(), 20);
    QCOMPARE(student["difference"].toDouble(), 0.02);
    QCOMPARE(student["ci_low"].toDouble(), r.studentVsBaseline.low);
    QCOMPARE(student["ci_high"].toDouble(), r.studentVsBaseline.high);
    QCOMPARE(student["p_value"].toDouble(), r.studentVsBaseline.pValue);
    QCOMPARE(student["significant"].toBool(), true);
    QCOMPARE(student.size(), 9);
    QVERIFY(doc["comparisons"].toObject()["teacher_vs_baseline"].isNull());
    // Without the teacher's test (a run from before), the accuracies decide as they used to: 0.02 / 0.002.
    QVERIFY(std::abs(doc["gap_recovered"].toDouble() - 10) < 1e-9);

    r.teacherVsBaseline = kd::pairedTestFromCounts(1000, 850, 12, 10);
    doc = summary();
    QCOMPARE(doc["comparisons"].toObject()["teacher_vs_baseline"].toObject()["significant"].toBool(true),
             false);
    QVERIFY(doc.contains("gap_recovered"));
    QVERIFY(doc["gap_recovered"].isNull()); // a lead within the noise: no gap

    r.teacher.testAccuracy = 0.90;
    r.baseline.testAccuracy = 0.80;
    r.student.testAccuracy = 0.85;
    r.teacherVsBaseline = kd::pairedTestFromCounts(1000, 780, 120, 20);
    QVERIFY(std::abs(summary()["gap_recovered"].toDouble() - 0.5) < 1e-9);
}

QTEST_GUILESS_MAIN(TestStats)
#include "tst_stats.moc"
