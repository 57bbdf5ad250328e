// The plots of the desktop app (ui/plots.h): what each series holds after setRuns and the incremental add*
// calls, the loss parts toggle, bar values and the "gap recovered" text, the replot throttle, and exports.
// With KDLAB_PLOT_SNAPSHOT_DIR set, snapshots() also writes PNGs of realistic plots there, to look at.

#include "plots.h"

#include "kdcore/modelspec.h"

#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QFileInfo>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QtTest>

#include <cmath>
#include <random>

using kd::Role;

namespace {

constexpr Role kAllRoles[] = {Role::Teacher, Role::Baseline, Role::Student};

// A small hand-made run: `epochs` epochs and `batches` batch points per epoch for each of the three models,
// final accuracies as given, and one T change of the distilled student per entry in `markerXs`.
kd::RunRecord makeRun(const std::string& name, double teacher, double baseline, double student,
                      int epochs = 2, int batches = 10, const std::vector<double>& markerXs = {}) {
    kd::RunRecord run;
    run.name = name;
    run.status = "done";
    run.config.epochs = epochs;
    run.config.teacherEpochs = epochs;
    const double finals[] = {teacher, baseline, student};
    for (Role role : kAllRoles) {
        const double final = finals[static_cast<int>(role)];
        for (int e = 1; e <= epochs; ++e) {
            for (int b = 1; b <= batches; ++b) {
                kd::BatchPoint p;
                p.role = role;
                p.x = e - 1 + double(b) / batches;
                p.loss = 2.0 / (1 + p.x);
                p.soft = role == Role::Student ? 0.5 * p.loss : 0;
                p.hard = p.loss;
                run.batches.push_back(p);
            }
            kd::EpochMetrics m;
            m.role = role;
            m.epoch = e;
            m.epochs = epochs;
            m.trainLoss = 1.0 / e;
            m.testLoss = 1.1 / e;
            m.testAccuracy = final - 0.02 * (epochs - e);
            run.result.history.push_back(m);
        }
    }
    auto setModel = [&](kd::ModelResult& m, double accuracy, std::int64_t params) {
        m.testAccuracy = accuracy;
        m.epochsTrained = epochs;
        m.trained = true;
        m.stats.params = params;
    };
    setModel(run.result.teacher, teacher, 1234567);
    setModel(run.result.baseline, baseline, 101770);
    setModel(run.result.student, student, 101770);
    for (double x : markerXs) {
        kd::ParameterMarker m;
        m.role = Role::Student;
        m.x = x;
        m.temperature = 4;
        m.alpha = 0.5;
        run.markers.push_back(m);
    }
    return run;
}

QStringList legendNames(const QCustomPlot& plot) {
    QStringList names;
    for (int i = 0; i < plot.legend->itemCount(); ++i)
        if (auto* item = qobject_cast<QCPPlottableLegendItem*>(plot.legend->item(i)))
            names << item->plottable()->name();
    return names;
}

int lineCount(const QString& path) {
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return -1;
    return file.readAll().split('\n').size() - 1; // the file ends with a newline
}

QByteArray head(const QString& path, int n) {
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return {};
    return file.read(n);
}

// Realistic data for snapshots: losses that fall fast and then slowly, with noise, smoothed like the app does
// (exponential moving average), about 100 points per epoch; accuracies that rise and level off.
void fillRealistic(kd::RunRecord& run, double temperature, double alpha, double distilledAccuracy,
                   unsigned seed, int epochs = 5, int perEpoch = 100, bool withMarker = true) {
    std::mt19937 rng(seed);
    std::normal_distribution<double> noise(0.0, 1.0);
    run.config.epochs = epochs;
    run.config.teacherEpochs = epochs;
    run.config.temperature = temperature;
    run.config.alpha = alpha;
    run.status = "done";
    struct Shape {
        double end, rate, acc0, acc1;
    };
    const Shape shapes[] = {
        {0.24, 2.6, 0.865, 0.912}, {0.38, 2.2, 0.815, 0.862}, {0.36, 2.3, 0.82, distilledAccuracy}};
    for (Role role : kAllRoles) {
        const Shape s = shapes[static_cast<int>(role)];
        double smooth = -1, smoothSoft = -1, smoothHard = -1;
        for (int e = 1; e <= epochs; ++e) {
            double sum = 0;
            for (int b = 1; b <= perEpoch; ++b) {
                const double x = e - 1 + double(b) / perEpoch;
                const double hard =
                    (s.end + (2.3 - s.end) * std::exp(-s.rate * 4 * x) + 0.12 * std::exp(-x)) *
                    std::max(0.2, 1 + 0.22 * noise(rng));
                double loss = hard;
                double soft = 0;
                if (role == Role::Student) {
                    soft = (0.12 + 1.1 * std::exp(-s.rate * 3 * x) + 0.08 * std::exp(-x)) *
                           std::max(0.2, 1 + 0.25 * noise(rng));
                    loss = alpha * soft + (1 - alpha) * hard;
                }
                sum += loss;
                smooth = smooth < 0 ? loss : 0.92 * smooth + 0.08 * loss;
                smoothSoft = smoothSoft < 0 ? soft : 0.92 * smoothSoft + 0.08 * soft;
                smoothHard = smoothHard < 0 ? hard : 0.92 * smoothHard + 0.08 * hard;
                kd::BatchPoint p;
                p.role = role;
                p.x = x;
                p.loss = smooth;
                p.soft = smoothSoft;
                p.hard = smoothHard;
                run.batches.push_back(p);
            }
            kd::EpochMetrics m;
            m.role = role;
            m.epoch = e;
            m.epochs = epochs;
            m.trainLoss = sum / perEpoch;
            m.testLoss = s.end * 1.15 + 0.35 * std::exp(-1.2 * e) + 0.006 * e * e;
            m.testAccuracy = s.acc1 - (s.acc1 - s.acc0) * std::exp(-0.9 * (e - 1)) + 0.002 * noise(rng);
            m.temperature = temperature;
            m.alpha = alpha;
            run.result.history.push_back(m);
        }
    }
    const std::int64_t teacherParams = kd::modelStats(kd::parseModelSpec(run.config.teacher)).params;
    const std::int64_t studentParams = kd::modelStats(kd::parseModelSpec(run.config.student)).params;
    kd::ModelResult* models[] = {&run.result.teacher, &run.result.baseline, &run.result.student};
    for (Role role : kAllRoles) {
        kd::ModelResult& m = *models[static_cast<int>(role)];
        for (const kd::EpochMetrics& em : run.result.history)
            if (em.role == role)
                m.testAccuracy = em.testAccuracy;
        m.epochsTrained = epochs;
        m.trained = true;
        m.stats.params = role == Role::Teacher ? teacherParams : studentParams;
    }
    if (withMarker) {
        kd::ParameterMarker marker;
        marker.role = Role::Student;
        marker.x = 2.5;
        marker.temperature = 4;
        marker.alpha = alpha;
        run.markers.push_back(marker);
    }
}

// Gives `run` paired tests on `n` test images that agree with its final accuracies: `discordant` images
// (at least the difference) where each student or the teacher disagrees with the baseline. The accuracies
// become the counts' (rounded to whole images).
void addPairedTests(kd::RunRecord& run, std::int64_t n, std::int64_t discordant) {
    kd::ExperimentResult& r = run.result;
    const std::int64_t baseline = std::llround(r.baseline.testAccuracy * double(n));
    auto test = [&](kd::ModelResult& model) {
        const std::int64_t right = std::llround(model.testAccuracy * double(n));
        std::int64_t d = std::max(discordant, std::abs(right - baseline));
        d += (d + right - baseline) % 2 != 0; // onlyA - onlyB = right - baseline
        const std::int64_t onlyA = (d + right - baseline) / 2, onlyB = d - onlyA;
        model.testAccuracy = double(right) / double(n);
        return kd::pairedTestFromCounts(n, right - onlyA, onlyA, onlyB);
    };
    r.studentVsBaseline = test(r.student);
    r.teacherVsBaseline = test(r.teacher);
    r.baseline.testAccuracy = double(baseline) / double(n);
}

// The title element's text as drawn.
QString titleOf(const QCustomPlot& plot) {
    for (int i = 0; i < plot.plotLayout()->elementCount(); ++i)
        if (auto* title = qobject_cast<QCPTextElement*>(plot.plotLayout()->elementAt(i)))
            return title->text();
    return {};
}

// Whether every line of the title fits the chart's width.
bool titleFits(const QCustomPlot& plot) {
    for (int i = 0; i < plot.plotLayout()->elementCount(); ++i)
        if (auto* title = qobject_cast<QCPTextElement*>(plot.plotLayout()->elementAt(i))) {
            const QFontMetrics fm(title->font());
            for (const QString& line : title->text().split(QLatin1Char('\n')))
                if (fm.horizontalAdvance(line) > plot.width())
                    return false;
            return true;
        }
    return false;
}

} // namespace

class TestPlots : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void roleColorsAndLabels();
    void lossPlotSingleRun();
    void lossPlotThreeRuns();
    void lossPlotLossParts();
    void lossPlotEmpty();
    void lossPlotYRange();
    void lossPlotYRangeAtHighTemperature_data();
    void lossPlotYRangeAtHighTemperature();
    void lossPlotCsv();
    void accuracyPlot();
    void accuracyPlotLegendStacksWhenNarrow();
    void barChart_data();
    void barChart();
    void barChartTitleWrapsWhenNarrow();
    void barChartLatestAccuracies();
    void barChartThreeRunsAndCsv();
    void barChartPairedTests_data();
    void barChartPairedTests();
    void comparisonsText();
    void replotThrottle();
    void saveFiles();
    void saveIntoMissingFolder();
    void snapshots();
};

void TestPlots::roleColorsAndLabels() {
    QCOMPARE(kdui::roleLabel(Role::Teacher), QStringLiteral("teacher"));
    QCOMPARE(kdui::roleLabel(Role::Baseline), QStringLiteral("baseline"));
    QCOMPARE(kdui::roleLabel(Role::Student), QStringLiteral("distilled"));
    const QColor t = kdui::roleColor(Role::Teacher), b = kdui::roleColor(Role::Baseline),
                 s = kdui::roleColor(Role::Student);
    QVERIFY(t != b && b != s && t != s);
    QVERIFY2(t.lightness() < 80, "the teacher is dark grey / black");
    QVERIFY2(b.blue() > b.red(), "the baseline is blue");
    QVERIFY2(s.red() > s.blue(), "the distilled student is orange / red");
}

void TestPlots::lossPlotSingleRun() {
    const kd::RunRecord run = makeRun("T=2 a=0.5", 0.9, 0.8, 0.82, 2, 10, {1.5, 2.5});
    const kd::RunRecord other = makeRun("other", 0.9, 0.8, 0.82);
    kdui::LossCurvePlot plot;
    plot.setRuns({&run});
    for (Role role : kAllRoles) {
        QCOMPARE(plot.pointCount(&run, role, kdui::LossSeries::Batch), 20);
        QCOMPARE(plot.pointCount(&run, role, kdui::LossSeries::EpochTrain), 2);
        QCOMPARE(plot.pointCount(&run, role, kdui::LossSeries::EpochTest), 2);
        QCOMPARE(plot.pointCount(&run, role, kdui::LossSeries::Soft), 0); // parts hidden by default
    }
    QCOMPARE(plot.markerCount(), 2);
    QCOMPARE(plot.pointCount(&other, Role::Teacher, kdui::LossSeries::Batch), 0);

    // Single run: the legend names the models only.
    const QStringList names = legendNames(plot);
    QVERIFY2(names.contains(QStringLiteral("teacher")) && names.contains(QStringLiteral("baseline")) &&
                 names.contains(QStringLiteral("distilled")),
             qPrintable(names.join(QLatin1String(" | "))));
    QVERIFY(!names.join(QLatin1Char(' ')).contains(QStringLiteral("T=2 a=0.5")));

    kd::BatchPoint p;
    p.role = Role::Baseline;
    p.x = 2.05;
    p.loss = 0.4;
    plot.addBatchPoint(&run, p);
    QCOMPARE(plot.pointCount(&run, Role::Baseline, kdui::LossSeries::Batch), 21);
    QCOMPARE(plot.pointCount(&run, Role::Teacher, kdui::LossSeries::Batch), 20);
    kd::EpochMetrics m;
    m.role = Role::Student;
    m.epoch = 3;
    m.epochs = 3;
    m.trainLoss = 0.3;
    m.testLoss = 0.35;
    plot.addEpoch(&run, m);
    QCOMPARE(plot.pointCount(&run, Role::Student, kdui::LossSeries::EpochTrain), 3);
    QCOMPARE(plot.pointCount(&run, Role::Student, kdui::LossSeries::EpochTest), 3);
    kd::ParameterMarker marker;
    marker.role = Role::Student;
    marker.x = 2.7;
    marker.temperature = 10;
    marker.alpha = 0.9;
    plot.addMarker(&run, marker);
    QCOMPARE(plot.markerCount(), 3);

    // Updates for a run that is not shown change nothing.
    plot.addBatchPoint(&other, p);
    plot.addEpoch(&other, m);
    plot.addMarker(&other, marker);
    QCOMPARE(plot.markerCount(), 3);
    QCOMPARE(plot.pointCount(&other, Role::Baseline, kdui::LossSeries::Batch), 0);

    // The marker label says T and alpha.
    bool found = false;
    for (int i = 0; i < plot.itemCount(); ++i)
        if (auto* text = qobject_cast<QCPItemText*>(plot.item(i)))
            found = found || text->text() == QStringLiteral("T=10.0 a=0.90");
    QVERIFY(found);

    // Rebuilding from the record drops what was only added to the plot.
    plot.setRuns({&run});
    QCOMPARE(plot.pointCount(&run, Role::Baseline, kdui::LossSeries::Batch), 20);
    QCOMPARE(plot.markerCount(), 2);
}

void TestPlots::lossPlotThreeRuns() {
    const kd::RunRecord a = makeRun("T=1 a=0.5", 0.9, 0.8, 0.81, 2, 10, {1.5});
    const kd::RunRecord b = makeRun("T=4 a=0.5", 0.9, 0.8, 0.84, 3, 5);
    const kd::RunRecord c = makeRun("T=10 a=0.5", 0.9, 0.8, 0.83, 1, 7, {0.5, 0.7});
    kdui::LossCurvePlot plot;
    plot.setRuns({&a, &b, &c});
    for (Role role : kAllRoles) {
        QCOMPARE(plot.pointCount(&a, role, kdui::LossSeries::Batch), 20);
        QCOMPARE(plot.pointCount(&b, role, kdui::LossSeries::Batch), 15);
        QCOMPARE(plot.pointCount(&c, role, kdui::LossSeries::Batch), 7);
        QCOMPARE(plot.pointCount(&b, role, kdui::LossSeries::EpochTrain), 3);
        QCOMPARE(plot.pointCount(&c, role, kdui::LossSeries::EpochTest), 1);
    }
    QCOMPARE(plot.markerCount(), 3);

    const QStringList names = legendNames(plot);
    for (const QString& expected :
         {QStringLiteral("T=1 a=0.5 \u00b7 teacher"), QStringLiteral("T=4 a=0.5 \u00b7 baseline"),
          QStringLiteral("T=10 a=0.5 \u00b7 distilled")})
        QVERIFY2(names.contains(expected),
                 qPrintable(expected + QLatin1String(" not in ") + names.join('|')));

    // Each run has its own line style: the distilled entries of the three runs differ in style.
    QSet<QString> styles;
    for (int i = 0; i < plot.graphCount(); ++i) {
        const QCPGraph* g = plot.graph(i);
        if (!g->name().endsWith(QStringLiteral("\u00b7 distilled")) || !plot.legend->hasItemWithPlottable(g))
            continue;
        QString style = QString::number(int(g->pen().style()));
        for (qreal v : g->pen().dashPattern())
            style += QLatin1Char(',') + QString::number(v);
        styles << style;
    }
    QCOMPARE(styles.size(), 3);

    // Only the shown run changes.
    kd::BatchPoint p;
    p.role = Role::Student;
    p.x = 1.2;
    p.loss = 0.5;
    plot.addBatchPoint(&b, p);
    QCOMPARE(plot.pointCount(&b, Role::Student, kdui::LossSeries::Batch), 16);
    QCOMPARE(plot.pointCount(&a, Role::Student, kdui::LossSeries::Batch), 20);
}

void TestPlots::lossPlotLossParts() {
    const kd::RunRecord a = makeRun("T=2 a=0.5", 0.9, 0.8, 0.82, 2, 10);
    const kd::RunRecord b = makeRun("T=4 a=0.5", 0.9, 0.8, 0.82, 2, 6);
    kdui::LossCurvePlot plot;
    plot.setRuns({&a});
    const int graphs = plot.graphCount();
    QVERIFY(!plot.showLossParts());

    plot.setShowLossParts(true);
    QVERIFY(plot.showLossParts());
    QCOMPARE(plot.graphCount(), graphs + 2);
    QCOMPARE(plot.pointCount(&a, Role::Student, kdui::LossSeries::Soft), 20);
    QCOMPARE(plot.pointCount(&a, Role::Student, kdui::LossSeries::Hard), 20);
    QCOMPARE(plot.pointCount(&a, Role::Teacher, kdui::LossSeries::Soft), 0);
    QStringList names = legendNames(plot);
    QVERIFY2(names.contains(QStringLiteral("distilled soft (KL)")), qPrintable(names.join('|')));
    QVERIFY2(names.contains(QStringLiteral("distilled hard (CE)")), qPrintable(names.join('|')));

    kd::BatchPoint p;
    p.role = Role::Student;
    p.x = 2.1;
    p.loss = 0.5;
    p.soft = 0.2;
    p.hard = 0.8;
    plot.addBatchPoint(&a, p);
    QCOMPARE(plot.pointCount(&a, Role::Student, kdui::LossSeries::Soft), 21);
    QCOMPARE(plot.pointCount(&a, Role::Student, kdui::LossSeries::Hard), 21);
    p.role = Role::Baseline; // only the distilled student has parts
    plot.addBatchPoint(&a, p);
    QCOMPARE(plot.pointCount(&a, Role::Student, kdui::LossSeries::Soft), 21);

    // Kept over setRuns: each shown run gets its parts, named with the run.
    plot.setRuns({&a, &b});
    QCOMPARE(plot.pointCount(&b, Role::Student, kdui::LossSeries::Soft), 12);
    names = legendNames(plot);
    QCOMPARE(names.filter(QStringLiteral("soft (KL)")).size(),
             1); // one entry: the run shows in the line style
    QVERIFY2(names.contains(QStringLiteral("distilled soft (KL)")), qPrintable(names.join(QLatin1Char('|'))));
    QCOMPARE(names.filter(QStringLiteral("hard (CE)")).size(), 1);

    plot.setShowLossParts(false);
    QCOMPARE(plot.pointCount(&a, Role::Student, kdui::LossSeries::Soft), 0);
    QCOMPARE(plot.pointCount(&b, Role::Student, kdui::LossSeries::Hard), 0);
    names = legendNames(plot);
    QVERIFY(!names.join('|').contains(QStringLiteral("soft (KL)")));
    plot.setRuns({&a});
    QCOMPARE(plot.graphCount(), graphs);
}

void TestPlots::lossPlotEmpty() {
    const kd::RunRecord run = makeRun("r", 0.9, 0.8, 0.82, 2, 10, {1.0});
    kdui::LossCurvePlot plot;
    plot.setRuns({&run});
    QVERIFY(plot.graphCount() > 0);
    plot.setRuns({});
    QCOMPARE(plot.graphCount(), 0);
    QCOMPARE(plot.markerCount(), 0);
    QCOMPARE(plot.dataCsv(), QStringLiteral("run,model,series,x,y\n"));
    QTRY_VERIFY(plot.replotCount() > 0);
    bool hint = false;
    for (int i = 0; i < plot.itemCount(); ++i)
        if (auto* text = qobject_cast<QCPItemText*>(plot.item(i)))
            hint = hint || (text->visible() && text->text().contains(QStringLiteral("Start")));
    QVERIFY2(hint, "an empty plot says how to get data");

    kdui::AccuracyPlot accuracy;
    accuracy.setRuns({&run});
    accuracy.setRuns({});
    QCOMPARE(accuracy.graphCount(), 0);
    kdui::AccuracyBarChart bars;
    bars.setRuns({&run});
    bars.setRuns({});
    QCOMPARE(bars.barValue(&run, Role::Teacher), -1.0);
    QCOMPARE(bars.dataCsv(), QStringLiteral("run,model,params,test_accuracy,gap_recovered\n"));
}

void TestPlots::lossPlotYRange() {
    // Losses start high (2.3) and settle near 0.3: the y range fits the settled part, from 0.
    kd::RunRecord run = makeRun("r", 0.9, 0.8, 0.82, 3, 20);
    for (kd::BatchPoint& p : run.batches)
        p.loss = 0.3 + 2.0 * std::exp(-10 * p.x);
    for (kd::EpochMetrics& m : run.result.history) {
        m.trainLoss = 0.35;
        m.testLoss = 0.4;
    }
    kdui::LossCurvePlot plot;
    plot.setRuns({&run});
    QTRY_VERIFY(plot.replotCount() > 0);
    const QCPRange y = plot.yAxis->range();
    QCOMPARE(y.lower, 0.0);
    QVERIFY2(y.upper >= 0.4 && y.upper < 1.0, qPrintable(QString::number(y.upper)));
    QCOMPARE(plot.xAxis->range().lower, 0.0);
    QVERIFY(plot.xAxis->range().upper >= 3.0 && plot.xAxis->range().upper < 3.5);
}

// At T = 20 the distilled student's first epoch averages a loss of ~14 (the T^2-scaled KL of an untrained
// student) and its later epochs 2-3, while the others sit below 1: the range leaves that first mean out
// (the axis went to 14 and squashed the rest), but never falls below a tenth of the highest point (a curve
// reaching 1000x the axis made each repaint 30x slower).
void TestPlots::lossPlotYRangeAtHighTemperature_data() {
    QTest::addColumn<double>("firstBatch");
    QTest::addColumn<double>("lowest");
    QTest::addColumn<double>("highest");
    QTest::newRow("T=20") << 30.0 << 3.0 << 6.0;
    QTest::newRow("a start 1000x the rest") << 5000.0 << 330.0 << 600.0; // 1st batch point ~3,350
}

void TestPlots::lossPlotYRangeAtHighTemperature() {
    QFETCH(double, firstBatch);
    QFETCH(double, lowest);
    QFETCH(double, highest);
    kd::RunRecord run = makeRun("r", 0.9, 0.8, 0.82, 5, 20);
    for (kd::BatchPoint& p : run.batches)
        p.loss = p.role == Role::Student ? 2 + (firstBatch - 2) * std::exp(-8 * p.x)
                                         : 0.3 + 2.0 * std::exp(-10 * p.x);
    for (kd::EpochMetrics& m : run.result.history) {
        const bool distilled = m.role == Role::Student;
        m.trainLoss = distilled ? (m.epoch == 1 ? 14.0 : 3.0 - 0.2 * m.epoch) : 0.4;
        m.testLoss = 0.5;
    }
    kdui::LossCurvePlot plot;
    plot.resize(600, 400);
    plot.setRuns({&run});
    QTRY_VERIFY(plot.replotCount() > 0);
    const QCPRange y = plot.yAxis->range();
    QCOMPARE(y.lower, 0.0);
    QVERIFY2(y.upper >= lowest && y.upper < highest, qPrintable(QString::number(y.upper)));
}

void TestPlots::lossPlotCsv() {
    const kd::RunRecord a = makeRun("mlp:64,32", 0.9, 0.8, 0.82, 2, 10); // a comma in the name: quoted
    kdui::LossCurvePlot plot;
    plot.setRuns({&a});
    QString csv = plot.dataCsv();
    QStringList lines = csv.split(QLatin1Char('\n'), Qt::SkipEmptyParts);
    QCOMPARE(lines.first(), QStringLiteral("run,model,series,x,y"));
    QCOMPARE(lines.size(), 1 + 3 * (20 + 2 + 2));
    QVERIFY(lines.contains(QStringLiteral("\"mlp:64,32\",teacher,epoch_train,1,1")));
    QVERIFY(lines.contains(QStringLiteral("\"mlp:64,32\",distilled,epoch_test,2,0.55")));
    plot.setShowLossParts(true);
    lines = plot.dataCsv().split(QLatin1Char('\n'), Qt::SkipEmptyParts);
    QCOMPARE(lines.size(), 1 + 3 * (20 + 2 + 2) + 2 * 20);
    QCOMPARE(lines.filter(QStringLiteral(",distilled,soft,")).size(), 20);
    QCOMPARE(lines.filter(QStringLiteral(",distilled,hard,")).size(), 20);
}

// A narrow accuracy plot stacks its legend (it was cut at the left and sat over the x axis); a wide one keeps
// one row per run.
void TestPlots::accuracyPlotLegendStacksWhenNarrow() {
    const kd::RunRecord run = makeRun("T=2 a=0.5", 0.90, 0.80, 0.82, 3);
    kdui::AccuracyPlot plot;
    plot.setRuns({&run});
    plot.resize(1200, 400);
    plot.show();
    QTRY_COMPARE(plot.legend->wrap(), 3);
    plot.resize(260, 280);
    QTRY_COMPARE(plot.legend->wrap(), 1);
    QTRY_VERIFY(plot.legend->outerRect().left() >= 0);
}

void TestPlots::accuracyPlot() {
    const kd::RunRecord a = makeRun("T=1 a=0.5", 0.9, 0.8, 0.81, 3);
    const kd::RunRecord b = makeRun("T=4 a=0.5", 0.92, 0.85, 0.88, 2);
    kdui::AccuracyPlot plot;
    plot.setRuns({&a, &b});
    for (Role role : kAllRoles) {
        QCOMPARE(plot.pointCount(&a, role), 3);
        QCOMPARE(plot.pointCount(&b, role), 2);
    }
    kd::EpochMetrics m;
    m.role = Role::Baseline;
    m.epoch = 3;
    m.epochs = 3;
    m.testAccuracy = 0.86;
    plot.addEpoch(&b, m);
    QCOMPARE(plot.pointCount(&b, Role::Baseline), 3);
    QCOMPARE(plot.pointCount(&b, Role::Teacher), 2);
    QVERIFY(legendNames(plot).contains(QStringLiteral("T=4 a=0.5 \u00b7 baseline")));

    QTRY_VERIFY(plot.replotCount() > 0);
    const QCPRange y = plot.yAxis->range();
    QVERIFY2(y.lower >= 0 && y.upper <= 1, qPrintable(QStringLiteral("%1..%2").arg(y.lower).arg(y.upper)));
    QVERIFY2(y.lower < 0.77 && y.lower > 0.5, qPrintable(QString::number(y.lower))); // lowest point: 0.77
    QVERIFY(y.upper >= 0.92);
    // Percent tick labels.
    QVector<double> ticks;
    QVector<QString> labels;
    plot.yAxis->ticker()->generate(y, QLocale::c(), QLatin1Char('g'), 2, ticks, nullptr, &labels);
    QVERIFY(!labels.isEmpty());
    for (const QString& label : labels)
        QVERIFY2(label.endsWith(QLatin1Char('%')), qPrintable(label));

    const QStringList lines = plot.dataCsv().split(QLatin1Char('\n'), Qt::SkipEmptyParts);
    QCOMPARE(lines.first(), QStringLiteral("run,model,epoch,test_accuracy"));
    QCOMPARE(lines.size(), 1 + 9 + 7);
    QVERIFY(lines.contains(QStringLiteral("T=4 a=0.5,baseline,3,0.86")));

    plot.setRuns({&a});
    QVERIFY(legendNames(plot).contains(QStringLiteral("teacher"))); // one run: model names only
}

void TestPlots::barChart_data() {
    QTest::addColumn<double>("teacher");
    QTest::addColumn<double>("baseline");
    QTest::addColumn<double>("student");
    QTest::addColumn<QString>("expected"); // a part of the text
    QTest::addColumn<double>("minPercent");
    QTest::addColumn<double>("maxPercent");
    QTest::newRow("normal gap 20%") << 0.90 << 0.80 << 0.82 << QStringLiteral("gap recovered: 20%") << 20.0
                                    << 20.0;
    QTest::newRow("teacher worse than baseline")
        << 0.78 << 0.80 << 0.81 << QStringLiteral("not better") << -1.0 << -1.0;
    QTest::newRow("teacher equal to baseline")
        << 0.80 << 0.80 << 0.85 << QStringLiteral("not better") << -1.0 << -1.0;
    QTest::newRow("student better than teacher")
        << 0.90 << 0.80 << 0.95 << QStringLiteral("beats the teacher") << 100.5 << 1000.0;
    QTest::newRow("distillation hurt")
        << 0.90 << 0.80 << 0.77 << QStringLiteral("worse than the baseline") << -1000.0 << -0.5;
}

// A long verdict fits a narrow chart on two lines and a wide one on one, also after a resize.
void TestPlots::barChartTitleWrapsWhenNarrow() {
    const kd::RunRecord run = makeRun("T=2 a=0.5", 0.90, 0.80, 0.77); // "... is worse than the baseline"
    kdui::AccuracyBarChart chart;
    chart.setRuns({&run});
    chart.resize(420, 300);
    chart.show();
    QTRY_VERIFY(chart.titleText().contains(QLatin1Char('\n')));
    QCOMPARE(chart.titleText().simplified(), chart.gapText(&run).simplified());
    chart.resize(1400, 300);
    QTRY_VERIFY(!chart.titleText().contains(QLatin1Char('\n')));
    QCOMPARE(chart.titleText(), chart.gapText(&run));
    QCOMPARE(chart.legend->wrap(), 0); // one row

    // A third of a 1024x700 window: every line of the title fits (more lines if need be), and the legend
    // drops the parameter counts to stay on one row (the bars keep their height at 200%)...
    auto legendNames = [&chart] {
        QStringList names;
        for (int i = 0; i < chart.legend->itemCount(); ++i)
            if (auto* item = qobject_cast<QCPPlottableLegendItem*>(chart.legend->item(i)))
                names << item->plottable()->name();
        return names.join(QLatin1Char('|'));
    };
    QCOMPARE(legendNames(),
             QStringLiteral("teacher (1.23M params)|baseline (102k params)|distilled (102k params)"));
    chart.resize(300, 280);
    QTRY_COMPARE(legendNames(), QStringLiteral("teacher|baseline|distilled"));
    QCOMPARE(chart.legend->wrap(), 0);
    chart.replot(QCustomPlot::rpImmediateRefresh);
    QVERIFY2(chart.legend->outerRect().width() <= 300,
             qPrintable(QString::number(chart.legend->outerRect().width())));
    // ... and narrower still, stacks its entries instead of cutting them off at both ends.
    chart.resize(160, 280);
    QTRY_VERIFY(chart.legend->wrap() == 1);
    chart.resize(300, 280);
    QTRY_VERIFY(chart.legend->wrap() == 0);
    const QFontMetrics fm(chart.titleFont());
    for (const QString& line : chart.titleText().split(QLatin1Char('\n')))
        QVERIFY2(fm.horizontalAdvance(line) <= 300, qPrintable(line));
    QCOMPARE(chart.titleText().simplified(), chart.gapText(&run).simplified());
}

void TestPlots::barChart() {
    QFETCH(double, teacher);
    QFETCH(double, baseline);
    QFETCH(double, student);
    QFETCH(QString, expected);
    QFETCH(double, minPercent);
    QFETCH(double, maxPercent);

    const kd::RunRecord run = makeRun("T=2 a=0.5", teacher, baseline, student);
    kdui::AccuracyBarChart chart;
    chart.setRuns({&run});
    QCOMPARE(chart.barValue(&run, Role::Teacher), teacher);
    QCOMPARE(chart.barValue(&run, Role::Baseline), baseline);
    QCOMPARE(chart.barValue(&run, Role::Student), student);
    const QString text = chart.gapText(&run);
    QCOMPARE(text, kdui::gapRecoveredText(teacher, baseline, student));
    QVERIFY2(text.contains(expected), qPrintable(text));
    const QRegularExpressionMatch match =
        QRegularExpression(QStringLiteral("gap recovered: (-?\\d+)%")).match(text);
    if (minPercent == -1.0 && maxPercent == -1.0) {
        QVERIFY2(!match.hasMatch(), qPrintable(text)); // words, no number
        QVERIFY(text.contains(QStringLiteral("teacher longer")));
    } else {
        QVERIFY2(match.hasMatch(), qPrintable(text));
        const double percent = match.captured(1).toDouble();
        QVERIFY2(percent >= minPercent && percent <= maxPercent, qPrintable(text));
    }

    // The primary run's text is shown prominently (the title) and the value labels say the accuracies.
    bool titleShown = false;
    for (int i = 0; i < chart.plotLayout()->elementCount(); ++i)
        if (auto* title = qobject_cast<QCPTextElement*>(chart.plotLayout()->elementAt(i)))
            titleShown =
                titleShown || QString(title->text()).replace(QLatin1Char('\n'), QLatin1Char(' ')) == text;
    QVERIFY(titleShown);
    QStringList valueLabels;
    for (int i = 0; i < chart.itemCount(); ++i)
        if (auto* label = qobject_cast<QCPItemText*>(chart.item(i)); label && label->visible())
            valueLabels << label->text();
    QVERIFY2(valueLabels.contains(QString::number(teacher * 100, 'f', 1) + QLatin1Char('%')),
             qPrintable(valueLabels.join('|')));
    // The y axis is zoomed in but shows where it starts, and ends at 100%.
    QCOMPARE(chart.yAxis->range().upper, 1.0);
    QVERIFY(chart.yAxis->range().lower < std::min({teacher, baseline, student}));
    QVERIFY2(chart.yAxis->label().contains(QStringLiteral("axis starts at")),
             qPrintable(chart.yAxis->label()));
}

void TestPlots::barChartLatestAccuracies() {
    kd::RunRecord run = makeRun("live", 0.9, 0.8, 0.82, 3);
    // Mid-run: the baseline is training (history only), the student has not started.
    run.result.baseline = kd::ModelResult();
    run.result.student = kd::ModelResult();
    run.result.history.erase(std::remove_if(run.result.history.begin(), run.result.history.end(),
                                            [](const kd::EpochMetrics& m) {
                                                return m.role == Role::Student ||
                                                       (m.role == Role::Baseline && m.epoch > 2);
                                            }),
                             run.result.history.end());
    kdui::AccuracyBarChart chart;
    chart.setRuns({&run});
    QCOMPARE(chart.barValue(&run, Role::Teacher), 0.9);
    QCOMPARE(chart.barValue(&run, Role::Baseline), 0.8 - 0.02); // its last epoch so far (2 of 3)
    QCOMPARE(chart.barValue(&run, Role::Student), -1.0);
    QVERIFY2(chart.gapText(&run).contains(QStringLiteral("not known yet")), qPrintable(chart.gapText(&run)));
    QCOMPARE(chart.dataCsv().split(QLatin1Char('\n'), Qt::SkipEmptyParts).size(), 1 + 2);

    // The student finishes: updateRun re-reads the results.
    run.result.baseline.testAccuracy = 0.8;
    run.result.baseline.epochsTrained = 3;
    run.result.student.testAccuracy = 0.85;
    run.result.student.trained = true;
    run.result.student.epochsTrained = 3;
    QCOMPARE(chart.barValue(&run, Role::Student), -1.0); // not until updateRun
    chart.updateRun(&run);
    QCOMPARE(chart.barValue(&run, Role::Baseline), 0.8);
    QCOMPARE(chart.barValue(&run, Role::Student), 0.85);
    QCOMPARE(chart.gapText(&run), QStringLiteral("gap recovered: 50%"));

    const kd::RunRecord other = makeRun("other", 0.9, 0.8, 0.82);
    chart.updateRun(&other); // not shown: ignored
    QCOMPARE(chart.barValue(&other, Role::Teacher), -1.0);
    QCOMPARE(chart.gapText(&other), QString());
}

void TestPlots::barChartThreeRunsAndCsv() {
    const kd::RunRecord a = makeRun("T=1 a=0.5", 0.91, 0.86, 0.87);
    const kd::RunRecord b = makeRun("T=4 a=0.5", 0.91, 0.86, 0.885);
    const kd::RunRecord c = makeRun("T=10 a=0.5", 0.86, 0.86, 0.87); // no gap
    kdui::AccuracyBarChart chart;
    chart.setRuns({&a, &b, &c});
    QCOMPARE(chart.barValue(&b, Role::Student), 0.885);
    QCOMPARE(chart.gapText(&a), QStringLiteral("gap recovered: 20%"));
    QCOMPARE(chart.gapText(&b), QStringLiteral("gap recovered: 50%"));
    QVERIFY(chart.gapText(&c).contains(QStringLiteral("not better")));

    // Parameter counts, compact, in the legend (the same for all runs here).
    const QStringList names = legendNames(chart);
    QVERIFY2(names.contains(QStringLiteral("teacher (1.23M params)")), qPrintable(names.join('|')));
    QVERIFY2(names.contains(QStringLiteral("distilled (102k params)")), qPrintable(names.join('|')));
    // The run names are the x tick labels.
    auto ticker = chart.xAxis->ticker().dynamicCast<QCPAxisTickerText>();
    QVERIFY(ticker);
    QCOMPARE(ticker->ticks().size(), 3);
    QVERIFY(ticker->ticks().value(1).startsWith(QStringLiteral("T=1 a=0.5")));
    QVERIFY(ticker->ticks().value(3).startsWith(QStringLiteral("T=10 a=0.5")));

    const QStringList lines = chart.dataCsv().split(QLatin1Char('\n'), Qt::SkipEmptyParts);
    QCOMPARE(lines.first(), QStringLiteral("run,model,params,test_accuracy,gap_recovered"));
    QCOMPARE(lines.size(), 1 + 9);
    QVERIFY2(lines.contains(QStringLiteral("T=1 a=0.5,teacher,1234567,0.91,0.2")),
             qPrintable(lines.join('\n')));
    QVERIFY2(lines.contains(QStringLiteral("T=10 a=0.5,distilled,101770,0.87,")),
             qPrintable(lines.join('\n')));
}

// With its paired tests a run's title says the distilled student's difference from the baseline with its
// interval and p, and the gap recovered only where the teacher is significantly better than the baseline.
void TestPlots::barChartPairedTests_data() {
    QTest::addColumn<double>("teacher");
    QTest::addColumn<double>("baseline");
    QTest::addColumn<double>("student");
    QTest::addColumn<QList<qint64>>("teacherCounts"); // n, both, only teacher, only baseline
    QTest::addColumn<QList<qint64>>("studentCounts"); // n, both, only student, only baseline
    QTest::addColumn<QStringList>("expected");        // parts of the title
    QTest::addColumn<bool>("gapShown");
    // Without the test the teacher's 0.2-point lead gave "gap recovered: 1000%".
    QTest::newRow("the teacher leads by 0.2 points on 1,000 images: noise")
        << 0.862 << 0.860 << 0.880 << QList<qint64>{1000, 850, 12, 10} << QList<qint64>{1000, 840, 40, 20}
        << QStringList{"distilled vs baseline: +2.00 points (95% CI ", ", p = 0.0",
                       "no gap: the teacher's lead (+0.20 points, p = 0.83) is within noise"}
        << false;
    QTest::newRow("the teacher significantly better")
        << 0.90 << 0.80 << 0.85 << QList<qint64>{1000, 780, 120, 20} << QList<qint64>{1000, 790, 60, 10}
        << QStringList{"distilled vs baseline: +5.00 points (95% CI +3.", ", p < 0.0001); gap recovered: 50%"}
        << true;
    QTest::newRow("the teacher significantly worse")
        << 0.80 << 0.90 << 0.85 << QList<qint64>{1000, 780, 20, 120} << QList<qint64>{1000, 830, 20, 70}
        << QStringList{"distilled vs baseline: -5.00 points (95% CI -",
                       "; no gap: the teacher is not better than the baseline"}
        << false;
}

void TestPlots::barChartPairedTests() {
    QFETCH(double, teacher);
    QFETCH(double, baseline);
    QFETCH(double, student);
    QFETCH(QList<qint64>, teacherCounts);
    QFETCH(QList<qint64>, studentCounts);
    QFETCH(QStringList, expected);
    QFETCH(bool, gapShown);
    kd::RunRecord run = makeRun("T=2 a=0.5", teacher, baseline, student);
    run.result.teacherVsBaseline =
        kd::pairedTestFromCounts(teacherCounts[0], teacherCounts[1], teacherCounts[2], teacherCounts[3]);
    run.result.studentVsBaseline =
        kd::pairedTestFromCounts(studentCounts[0], studentCounts[1], studentCounts[2], studentCounts[3]);
    kdui::AccuracyBarChart chart;
    chart.setRuns({&run});
    const QString text = chart.gapText(&run);
    for (const QString& part : expected)
        QVERIFY2(text.contains(part), qPrintable(text));
    // A percentage only where the gap is real.
    QCOMPARE(text.contains(QRegularExpression(QStringLiteral("\\d%(?! CI)"))), gapShown);
    QCOMPARE(text.contains(QStringLiteral("gap recovered")), gapShown);
    const QString csv = chart.dataCsv();
    QCOMPARE(csv.contains(QStringLiteral(",0.5\n")), gapShown);

    // The title fits a narrow chart (half a small window) on two lines: the comparison, then the gap.
    chart.resize(420, 300);
    chart.show();
    QVERIFY(QTest::qWaitForWindowExposed(&chart));
    QTRY_VERIFY(titleOf(chart).contains(QLatin1Char('\n')));
    QCOMPARE(titleOf(chart).replace(QLatin1Char('\n'), QLatin1Char(' ')), text);
    QVERIFY2(
        titleOf(chart).section(QLatin1Char('\n'), 1).startsWith(QLatin1String(gapShown ? "gap" : "no gap")),
        qPrintable(titleOf(chart)));
    QTRY_VERIFY2(titleFits(chart), qPrintable(titleOf(chart))); // once redrawn at that width

    // Among several runs, each says it under its name.
    const kd::RunRecord other = makeRun("other", 0.90, 0.80, 0.82);
    chart.setRuns({&run, &other});
    auto ticker = chart.xAxis->ticker().dynamicCast<QCPAxisTickerText>();
    QVERIFY(ticker);
    const QString tick = ticker->ticks().value(1);
    QVERIFY2(tick.contains(QStringLiteral("distilled ")) && tick.contains(QStringLiteral(" pts, p ")),
             qPrintable(tick));
    QVERIFY2(tick.contains(QStringLiteral("gap recovered: 50%")) == gapShown, qPrintable(tick));
    if (!gapShown)
        QVERIFY2(tick.contains(QStringLiteral("no gap")), qPrintable(tick));
    QVERIFY(ticker->ticks().value(2).contains(QStringLiteral("gap recovered: 20%"))); // no tests: as before
}

// The run list's tooltip: both comparisons in full, then the gap or why there is none.
void TestPlots::comparisonsText() {
    kd::ExperimentResult r;
    QCOMPARE(kdui::comparisonsText(r), QString()); // no tests yet (or an older file)
    r.teacher.testAccuracy = 0.862;
    r.baseline.testAccuracy = 0.860;
    r.student.testAccuracy = 0.880;
    r.studentVsBaseline = kd::pairedTestFromCounts(1000, 840, 40, 20);
    r.teacherVsBaseline = kd::pairedTestFromCounts(1000, 850, 12, 10);
    QCOMPARE(
        kdui::comparisonsText(r),
        QStringLiteral("distilled vs baseline: +2.00 points (95% CI +0.48 to +3.56), McNemar p = 0.013 on "
                       "1,000 test images\n"
                       "teacher vs baseline: +0.20 points (95% CI -0.75 to +1.16), McNemar p = 0.83 on "
                       "1,000 test images\n"
                       "The teacher's lead (+0.20 points, 95% CI -0.75 to +1.16, p = 0.83 on 1,000 test "
                       "images) is within the test set's noise, so there is no gap to speak of."));

    // A real gap; an ensemble's models go by their names.
    r.method = "ensemble";
    r.teacher.testAccuracy = 0.90;
    r.baseline.testAccuracy = 0.80;
    r.student.testAccuracy = 0.85;
    r.teacher.trained = r.baseline.trained = r.student.trained = true;
    r.studentVsBaseline = kd::pairedTestFromCounts(1000, 790, 60, 10);
    r.teacherVsBaseline = kd::pairedTestFromCounts(1000, 780, 120, 20);
    const QStringList lines = kdui::comparisonsText(r).split(QLatin1Char('\n'));
    QCOMPARE(lines.size(), 3);
    QVERIFY2(lines[0].startsWith(QStringLiteral("student vs baseline: +5.00 points")), qPrintable(lines[0]));
    QVERIFY2(lines[1].startsWith(QStringLiteral("ensemble vs baseline: +10.00 points")),
             qPrintable(lines[1]));
    QCOMPARE(lines[2], QStringLiteral("gap recovered: 50%"));
}

void TestPlots::replotThrottle() {
    const kd::RunRecord run = makeRun("r", 0.9, 0.8, 0.82, 2, 10);
    kdui::LossCurvePlot plot;
    plot.resize(800, 450);
    plot.show();
    QVERIFY(QTest::qWaitForWindowExposed(&plot));
    plot.setRuns({&run});
    QTRY_VERIFY(plot.replotCount() > 0);
    int before = plot.replotCount();

    // A burst: 2000 points at once give one replot (or very few).
    kd::BatchPoint p;
    p.role = Role::Student;
    for (int i = 0; i < 2000; ++i) {
        p.x = 2 + i / 2000.0;
        p.loss = 0.5;
        plot.addBatchPoint(&run, p);
    }
    QCOMPARE(plot.replotCount(), before); // never replots from add*
    QTest::qWait(200);
    int replots = plot.replotCount() - before;
    QVERIFY2(replots > 0 && replots <= 10, qPrintable(QString::number(replots)));
    QCOMPARE(plot.pointCount(&run, Role::Student, kdui::LossSeries::Batch), 2020);

    // A steady stream for 300 ms: at most 10 replots a second (the throttle's interval is 100 ms).
    before = plot.replotCount();
    QElapsedTimer clock;
    clock.start();
    int added = 0;
    while (clock.elapsed() < 300) {
        p.x = 3 + added * 1e-6;
        plot.addBatchPoint(&run, p);
        ++added;
        QCoreApplication::processEvents();
    }
    QTest::qWait(150);
    replots = plot.replotCount() - before;
    QVERIFY2(replots > 0 && replots <= 6,
             qPrintable(QStringLiteral("%1 replots for %2 points").arg(replots).arg(added)));

    // Nothing changed: no replots.
    before = plot.replotCount();
    QTest::qWait(150);
    QCOMPARE(plot.replotCount(), before);
}

void TestPlots::saveFiles() {
    const kd::RunRecord a = makeRun("T=2 a=0.5", 0.9, 0.8, 0.82, 2, 10, {1.5});
    const kd::RunRecord b = makeRun("T=4 a=0.5", 0.9, 0.8, 0.85, 2, 10);
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    kdui::LossCurvePlot loss;
    kdui::AccuracyPlot accuracy;
    kdui::AccuracyBarChart bars;
    loss.setRuns({&a, &b});
    accuracy.setRuns({&a, &b});
    bars.setRuns({&a, &b});
    const QList<QPair<QString, kdui::PlotBase*>> plots = {
        {"loss", &loss}, {"accuracy", &accuracy}, {"bars", &bars}};
    const int expectedLines[] = {1 + 2 * 3 * (20 + 2 + 2), 1 + 2 * 3 * 2, 1 + 2 * 3};
    int index = 0;
    for (const auto& [name, plot] : plots) {
        QString error;
        const QString png = dir.filePath(name + QStringLiteral(".png"));
        QVERIFY2(plot->savePlotPng(png, &error), qPrintable(error));
        QVERIFY(QFileInfo(png).size() > 1000);
        QCOMPARE(head(png, 8), QByteArray("\x89PNG\r\n\x1a\n", 8));
        QImage image(png);
        QVERIFY(!image.isNull());
        QVERIFY2(image.width() >= 800, qPrintable(QString::number(image.width())));

        const QString pdf = dir.filePath(name + QStringLiteral(".pdf"));
        QVERIFY2(plot->savePlotPdf(pdf, &error), qPrintable(error));
        QVERIFY(QFileInfo(pdf).size() > 500);
        QCOMPARE(head(pdf, 5), QByteArray("%PDF-"));

        const QString csv = dir.filePath(name + QStringLiteral(".csv"));
        QVERIFY2(plot->saveDataCsv(csv, &error), qPrintable(error));
        QCOMPARE(lineCount(csv), expectedLines[index]);
        QVERIFY(head(csv, 4) == "run,");

        // Saving again replaces the file.
        QVERIFY2(plot->savePlotPng(png, &error), qPrintable(error));
        QCOMPARE(head(png, 4), QByteArray("\x89PNG", 4));
        ++index;
    }
    // No temporary files left behind.
    QCOMPARE(QDir(dir.path()).entryList(QDir::Files | QDir::Hidden).size(), 9);
}

void TestPlots::saveIntoMissingFolder() {
    const kd::RunRecord a = makeRun("r", 0.9, 0.8, 0.82);
    kdui::LossCurvePlot plot;
    plot.setRuns({&a});
    QCOMPARE(plot.contextMenuPolicy(), Qt::CustomContextMenu); // right click: Save as PNG / PDF / CSV
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString missing = dir.filePath(QStringLiteral("no-such-folder"));
    for (const QString& suffix : {QStringLiteral("png"), QStringLiteral("pdf"), QStringLiteral("csv")}) {
        const QString path = missing + QStringLiteral("/plot.") + suffix;
        QString error;
        bool ok = suffix == QLatin1String("png")   ? plot.savePlotPng(path, &error)
                  : suffix == QLatin1String("pdf") ? plot.savePlotPdf(path, &error)
                                                   : plot.saveDataCsv(path, &error);
        QVERIFY(!ok);
        QVERIFY2(error.contains(QDir::toNativeSeparators(path)), qPrintable(error));
        QVERIFY2(error.contains(QStringLiteral("cannot write ") + suffix.toUpper()), qPrintable(error));
        QVERIFY(!QFileInfo::exists(path));
        QVERIFY(!QFileInfo::exists(missing));
    }
    QCOMPARE(QDir(dir.path()).entryList(QDir::AllEntries | QDir::Hidden | QDir::NoDotAndDotDot).size(), 0);
}

// Not a check: writes PNGs of realistic plots to $KDLAB_PLOT_SNAPSHOT_DIR to look at.
void TestPlots::snapshots() {
    const QString out = qEnvironmentVariable("KDLAB_PLOT_SNAPSHOT_DIR");
    if (out.isEmpty())
        QSKIP("set KDLAB_PLOT_SNAPSHOT_DIR to write snapshots");
    QVERIFY(QDir().mkpath(out));

    kd::RunRecord single;
    single.name = "T=2 a=0.5 mlp:128";
    fillRealistic(single, 2, 0.5, 0.872, 1);
    kd::RunRecord t1, t4, t10;
    t1.name = "T=1 a=0.5";
    t4.name = "T=4 a=0.5";
    t10.name = "T=10 a=0.5";
    fillRealistic(t1, 1, 0.5, 0.866, 2, 5, 100, false);
    fillRealistic(t4, 4, 0.5, 0.879, 3);
    fillRealistic(t10, 10, 0.5, 0.871, 4, 5, 100, false);
    kd::RunRecord noGap = single;
    noGap.name = "weak teacher";
    noGap.result.teacher.testAccuracy = 0.855;
    kd::RunRecord live; // mid-run: the teacher's first epoch, 20 batches in
    live.name = "live";
    live.status = "running";
    fillRealistic(live, 2, 0.5, 0.87, 5, 5, 100, false);
    live.batches.resize(20);
    live.result = kd::ExperimentResult();
    kd::RunRecord fresh;
    fresh.status = "new";

    auto snap = [&](kdui::PlotBase& plot, const QString& file) {
        plot.resize(800, 450);
        plot.show();
        QVERIFY(QTest::qWaitForWindowExposed(&plot));
        QTest::qWait(120);
        QVERIFY(plot.grab().save(QDir(out).filePath(file)));
        QString error;
        QVERIFY2(plot.savePlotPng(QDir(out).filePath(QStringLiteral("export-") + file), &error),
                 qPrintable(error));
    };
    {
        kdui::LossCurvePlot plot;
        plot.setRuns({&single});
        snap(plot, QStringLiteral("loss-single.png"));
        plot.setShowLossParts(true);
        snap(plot, QStringLiteral("loss-single-parts.png"));
        plot.setShowLossParts(false);
        plot.setRuns({&t4, &t1, &t10});
        snap(plot, QStringLiteral("loss-overlay.png"));
        plot.setShowLossParts(true);
        snap(plot, QStringLiteral("loss-overlay-parts.png"));
        plot.setShowLossParts(false);
        plot.setRuns({&live});
        snap(plot, QStringLiteral("loss-live.png"));
        plot.setRuns({});
        snap(plot, QStringLiteral("loss-empty.png"));
    }
    {
        kdui::AccuracyPlot plot;
        plot.setRuns({&single});
        snap(plot, QStringLiteral("accuracy-single.png"));
        plot.setRuns({&t4, &t1, &t10});
        snap(plot, QStringLiteral("accuracy-overlay.png"));
    }
    {
        kdui::AccuracyBarChart plot;
        plot.setRuns({&single});
        snap(plot, QStringLiteral("bars-single.png"));
        plot.setRuns({&t4, &t1, &t10});
        snap(plot, QStringLiteral("bars-overlay.png"));
        plot.setRuns({&noGap});
        snap(plot, QStringLiteral("bars-nogap.png"));
        kd::RunRecord wide = t4; // another student: the parameter counts move under the run names
        wide.name = "T=4 a=0.5 mlp:256";
        wide.result.baseline.stats.params = wide.result.student.stats.params =
            kd::modelStats(kd::parseModelSpec("mlp:256")).params;
        kd::RunRecord partial = t1; // the distilled student has not finished
        partial.name = "running";
        partial.result.student = kd::ModelResult();
        partial.result.history.erase(
            std::remove_if(partial.result.history.begin(), partial.result.history.end(),
                           [](const kd::EpochMetrics& m) { return m.role == Role::Student; }),
            partial.result.history.end());
        plot.setRuns({&partial, &wide, &t4, &t1, &t10});
        snap(plot, QStringLiteral("bars-mixed.png"));
        plot.setRuns({&fresh});
        snap(plot, QStringLiteral("bars-empty.png"));

        // With paired tests on 10,000 test images: a real gap; a teacher whose lead is noise; then in a
        // narrow chart, and several runs.
        kd::RunRecord paired = single;
        paired.name = "T=2 a=0.5 mlp:128";
        addPairedTests(paired, 10000, 900);
        plot.setRuns({&paired});
        snap(plot, QStringLiteral("bars-paired.png"));
        kd::RunRecord noise = single;
        noise.name = "weak teacher";
        noise.result.teacher.testAccuracy = noise.result.baseline.testAccuracy + 0.002;
        addPairedTests(noise, 1000, 90);
        plot.setRuns({&noise});
        snap(plot, QStringLiteral("bars-paired-noise.png"));
        for (int width : {520, 420}) { // the default window's chart, and half a small window's
            plot.resize(width, 300);
            QTest::qWait(120);
            QVERIFY(
                plot.grab().save(QDir(out).filePath(QStringLiteral("bars-paired-noise-%1.png").arg(width))));
        }
        kd::RunRecord p4 = t4, p1 = t1;
        addPairedTests(p4, 10000, 900);
        addPairedTests(p1, 10000, 900);
        plot.setRuns({&p4, &p1, &noise});
        snap(plot, QStringLiteral("bars-paired-overlay.png"));
    }
}

QTEST_MAIN(TestPlots)
#include "tst_plots.moc"
