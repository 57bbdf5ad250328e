// The method comparison chart (ui/methodplot.h) on hand-made runs: which bars each method shows and in what
// order, live runs with partial results, born-again's accuracy-per-generation line, the title and verdict,
// CSV export, the empty state, and that it draws. With KDLAB_PLOT_SNAPSHOT_DIR set, snapshots() also writes
// PNGs of each method's chart there, to look at.

#include "methodplot.h"

#include "kdcore/report.h"

#include <QDir>
#include <QFile>
#include <QFontMetricsF>
#include <QImage>
#include <QTemporaryDir>
#include <QtTest>

#include <set>

using kd::Role;

namespace {

// The real counts of the specs on 28x28 images (models not finished yet are counted from their spec).
constexpr std::int64_t kTeacherParams = 2395210;  // mlp:1200,1200, "2.40M params"
constexpr std::int64_t kStudentParams = 101770;   // mlp:128, "102k params"
constexpr std::int64_t kAssistantParams = 407050; // mlp:512, "407k params"

kd::ModelResult trainedModel(const std::string& spec, double accuracy, std::int64_t params) {
    kd::ModelResult m;
    m.spec = spec;
    m.testAccuracy = accuracy;
    m.testLoss = 1 - accuracy;
    m.epochsTrained = 3;
    m.trained = true;
    m.stats.params = params;
    return m;
}

kd::StageResult stage(const std::string& id, const std::string& name, const std::string& kind,
                      const kd::ModelResult& model) {
    kd::StageResult st;
    st.id = id;
    st.name = name;
    st.kind = kind;
    st.model = model;
    return st;
}

kd::EpochMetrics epoch(Role role, int stageIndex, int e, double accuracy) {
    kd::EpochMetrics m;
    m.role = role;
    m.stage = stageIndex;
    m.epoch = e;
    m.epochs = 3;
    m.testAccuracy = accuracy;
    return m;
}

// A finished run of `method` with these accuracies:
//   kd          teacher 0.91, baseline 0.86, student 0.875
//   ensemble    members 0.89 0.895 0.90, ensemble 0.912, baseline 0.86, student 0.88
//   born-again  teacher 0.90, baseline 0.86, generations 0.885 0.893 0.897 (G = 3)
//   assistant   teacher 0.91, assistant 0.895, baseline 0.86, direct KD 0.872, via assistant 0.879
kd::RunRecord finishedRun(const std::string& method) {
    kd::RunRecord run;
    run.name = method + " run";
    run.status = "done";
    run.config.method = method;
    run.config.teacher = "mlp:1200,1200";
    run.config.student = "mlp:128";
    run.config.assistant = "mlp:512";
    kd::ExperimentResult& r = run.result;
    r.method = method;
    r.teacher = trainedModel("mlp:1200,1200", 0.91, kTeacherParams);
    r.baseline = trainedModel("mlp:128", 0.86, kStudentParams);
    r.student = trainedModel("mlp:128", 0.875, kStudentParams);
    if (method == "ensemble") {
        const double members[] = {0.89, 0.895, 0.90};
        for (int k = 0; k < 3; ++k) {
            const std::string n = std::to_string(k + 1);
            r.stages.push_back(stage("member-" + n, "member " + n, "member",
                                     trainedModel("mlp:1200,1200", members[k], kTeacherParams)));
        }
        r.teacher = trainedModel("3 x mlp:1200,1200", 0.912, 3 * kTeacherParams);
        r.student.testAccuracy = 0.88;
    } else if (method == "born-again") {
        r.teacher.testAccuracy = 0.90;
        r.baseline = trainedModel("mlp:1200,1200", 0.86, kTeacherParams);
        r.stages.push_back(stage("generation-1", "generation 1", "generation",
                                 trainedModel("mlp:1200,1200", 0.885, kTeacherParams)));
        r.stages.push_back(stage("generation-2", "generation 2", "generation",
                                 trainedModel("mlp:1200,1200", 0.893, kTeacherParams)));
        r.student = trainedModel("mlp:1200,1200", 0.897, kTeacherParams);
    } else if (method == "assistant") {
        r.stages.push_back(
            stage("assistant", "assistant", "assistant", trainedModel("mlp:512", 0.895, kAssistantParams)));
        r.stages.push_back(
            stage("direct", "direct KD", "direct", trainedModel("mlp:128", 0.872, kStudentParams)));
        r.student.testAccuracy = 0.879;
    }
    return run;
}

// The name in a tick label (a long name may be broken over two lines on a narrow chart, and many bars have
// one-line labels "member 2 · 2.40M").
QString nameOf(const QString& tick) {
    QStringList lines = tick.section(QStringLiteral(" \u00b7 "), 0, 0).split(QLatin1Char('\n'));
    if (lines.size() > 1 &&
        lines.last().contains(QRegularExpression(QStringLiteral("^[0-9.,]+[kM]?( params)?$"))))
        lines.removeLast();
    return lines.join(QLatin1Char(' '));
}

QStringList barNames(const kdui::MethodComparisonPlot& plot) {
    QStringList names;
    for (int i = 0; i < plot.barCount(); ++i)
        names << nameOf(plot.barLabel(i));
    return names;
}

QList<double> barValues(const kdui::MethodComparisonPlot& plot) {
    QList<double> values;
    for (int i = 0; i < plot.barCount(); ++i)
        values << plot.barValue(i);
    return values;
}

QStringList layoutTexts(const QCustomPlot& plot) {
    QStringList texts;
    for (int i = 0; i < plot.plotLayout()->elementCount(); ++i)
        if (auto* text = qobject_cast<QCPTextElement*>(plot.plotLayout()->elementAt(i));
            text && text->visible())
            texts << text->text();
    return texts;
}

QStringList visibleItemTexts(const QCustomPlot& plot) {
    QStringList texts;
    for (int i = 0; i < plot.itemCount(); ++i)
        if (auto* label = qobject_cast<QCPItemText*>(plot.item(i)); label && label->visible())
            texts << label->text();
    return texts;
}

} // namespace

class TestMethodPlot : public QObject {
    Q_OBJECT
private slots:
    void barsPerMethod_data();
    void barsPerMethod();
    void liveBornAgain();
    void liveMainRolesFromHistory();
    void liveEnsembleMembers();
    void bornAgainTrend();
    void verdictAndTitle_data();
    void verdictAndTitle();
    void manyMembersKeepTicksApart_data();
    void manyMembersKeepTicksApart();
    void smallChart();
    void csvAndExport();
    void noRun();
    void drawsSomething();
    void snapshots();
};

void TestMethodPlot::barsPerMethod_data() {
    QTest::addColumn<QString>("method");
    QTest::addColumn<QStringList>("names");
    QTest::addColumn<QList<double>>("values");
    QTest::addColumn<QStringList>("params"); // the parameter line of each tick label
    const QString t = QStringLiteral("2.40M params"), s = QStringLiteral("102k params");
    QTest::newRow("kd") << "kd" << QStringList{"teacher", "baseline", "student"}
                        << QList<double>{0.91, 0.86, 0.875} << QStringList{t, s, s};
    QTest::newRow("ensemble") << "ensemble" << QStringList{"member 1", "member 2", "member 3",
                                                           "ensemble", "baseline", "student"}
                              << QList<double>{0.89, 0.895, 0.90, 0.912, 0.86, 0.88}
                              << QStringList{t, t, t, QStringLiteral("7.19M params"), s, s};
    QTest::newRow("born-again") << "born-again"
                                << QStringList{"teacher", "baseline", "generation 1", "generation 2",
                                               "generation 3"}
                                << QList<double>{0.90, 0.86, 0.885, 0.893, 0.897}
                                << QStringList{t, t, t, t, t};
    QTest::newRow("assistant") << "assistant"
                               << QStringList{"teacher", "assistant", "baseline", "direct KD",
                                              "via assistant"}
                               << QList<double>{0.91, 0.895, 0.86, 0.872, 0.879}
                               << QStringList{t, QStringLiteral("407k params"), s, s, s};
}

// One bar per model, in the order the method's comparison reads, with its accuracy as a value label, its
// name and parameter count as the tick label; y ends at 100% and starts below the lowest bar.
void TestMethodPlot::barsPerMethod() {
    QFETCH(QString, method);
    QFETCH(QStringList, names);
    QFETCH(QList<double>, values);
    QFETCH(QStringList, params);
    const kd::RunRecord run = finishedRun(method.toStdString());
    kdui::MethodComparisonPlot plot;
    plot.resize(700, 400);
    plot.setRun(&run);
    QCOMPARE(plot.barCount(), names.size());
    QCOMPARE(barNames(plot), names);
    QCOMPARE(barValues(plot), values);
    const QStringList shownValues = visibleItemTexts(plot);
    for (int i = 0; i < plot.barCount(); ++i) {
        QCOMPARE(plot.barLabel(i), names[i] + QLatin1Char('\n') + params[i]);
        const QString value = QString::number(values[i] * 100, 'f', 1) + QLatin1Char('%');
        QVERIFY2(shownValues.contains(value), qPrintable(value + " not in " + shownValues.join('|')));
    }
    QCOMPARE(plot.barValue(-1), -1.0);
    QCOMPARE(plot.barValue(plot.barCount()), -1.0);
    QCOMPARE(plot.barLabel(plot.barCount()), QString());
    QCOMPARE(plot.yAxis->range().upper, 1.0);
    QVERIFY(plot.yAxis->range().lower < *std::min_element(values.begin(), values.end()));
    QVERIFY2(plot.yAxis->label().contains(QStringLiteral("axis starts at 80%")),
             qPrintable(plot.yAxis->label()));
}

// Born-again mid-run: teacher and baseline done, generation 1 training (its stage has epochs, no result yet),
// generations 2 and 3 not started: three bars, generation 1 at its latest epoch. Then the run goes on.
void TestMethodPlot::liveBornAgain() {
    kd::RunRecord run = finishedRun("born-again");
    run.status = "running";
    run.result.stages.resize(1);
    kd::StageResult& g1 = run.result.stages[0];
    g1.model = kd::ModelResult();
    g1.model.spec = "mlp:1200,1200"; // known from stageStarted
    g1.history = {epoch(Role::Student, 0, 1, 0.85), epoch(Role::Student, 0, 2, 0.87)};
    run.result.student = kd::ModelResult();
    kdui::MethodComparisonPlot plot;
    plot.setRun(&run);
    QCOMPARE(barNames(plot), (QStringList{"teacher", "baseline", "generation 1"}));
    QCOMPARE(barValues(plot), (QList<double>{0.90, 0.86, 0.87}));
    QCOMPARE(plot.verdictText(), QString()); // nothing to conclude yet

    // Generation 1 finishes and generation 2 (without a spec yet: the app may not know it) has an epoch.
    g1.model = trainedModel("mlp:1200,1200", 0.885, kTeacherParams);
    kd::StageResult g2 = finishedRun("born-again").result.stages[1];
    g2.model = kd::ModelResult();
    g2.history = {epoch(Role::Student, 1, 1, 0.88)};
    run.result.stages.push_back(g2);
    QCOMPARE(plot.barCount(), 3); // not until updateRun
    plot.updateRun();
    QCOMPARE(barNames(plot), (QStringList{"teacher", "baseline", "generation 1", "generation 2"}));
    QCOMPARE(barValues(plot), (QList<double>{0.90, 0.86, 0.885, 0.88}));
    // Its parameter count comes from the teacher's architecture (born-again students share it).
    QVERIFY2(plot.barLabel(3).endsWith(QStringLiteral("2.40M params")), qPrintable(plot.barLabel(3)));
    QCOMPARE(plot.graphCount(), 1); // the trend so far: teacher, generation 1, generation 2
    QCOMPARE(plot.graph(0)->dataCount(), 3);
}

// The first minutes of an assistant run: teacher and baseline have only their epochs in the history (their
// results arrive at the end), the student has none yet.
void TestMethodPlot::liveMainRolesFromHistory() {
    kd::RunRecord run;
    run.status = "running";
    run.config.method = "assistant";
    run.config.teacher = "mlp:1200,1200";
    run.config.student = "mlp:128";
    run.result.method = "assistant";
    run.result.history = {epoch(Role::Teacher, -1, 1, 0.85), epoch(Role::Teacher, -1, 2, 0.89)};
    kdui::MethodComparisonPlot plot;
    plot.setRun(&run);
    QCOMPARE(barNames(plot), QStringList{"teacher"});
    QCOMPARE(barValues(plot), QList<double>{0.89});
    // The spec comes from the config: parameter count and CSV say it.
    QVERIFY2(plot.barLabel(0).contains(QStringLiteral("params")), qPrintable(plot.barLabel(0)));
    QVERIFY2(plot.dataCsv().contains(QStringLiteral("teacher,\"mlp:1200,1200\",")),
             qPrintable(plot.dataCsv()));

    run.result.history.push_back(epoch(Role::Baseline, -1, 1, 0.83));
    run.result.stages.push_back(
        stage("assistant", "assistant", "assistant", kd::ModelResult())); // just started
    plot.updateRun();
    QCOMPARE(barNames(plot), (QStringList{"teacher", "baseline"}));
    QCOMPARE(barValues(plot), (QList<double>{0.89, 0.83}));
    run.result.stages[0].history.push_back(epoch(Role::Student, 0, 1, 0.86));
    plot.updateRun();
    QCOMPARE(barNames(plot), (QStringList{"teacher", "assistant", "baseline"}));
    QCOMPARE(plot.verdictText(), QString());
}

// Ensemble members train as the teacher role. Epochs a recorder keeps in the main history with their stage
// index count for that member, never for the ensemble, which has no bar until it is evaluated.
void TestMethodPlot::liveEnsembleMembers() {
    kd::RunRecord run = finishedRun("ensemble");
    run.status = "running";
    run.result.teacher = run.result.baseline = run.result.student = kd::ModelResult();
    run.result.stages.resize(2);
    run.result.stages[1].model = kd::ModelResult();
    run.result.history = {epoch(Role::Teacher, 0, 3, 0.89), epoch(Role::Teacher, 1, 1, 0.84)};
    kdui::MethodComparisonPlot plot;
    plot.setRun(&run);
    QCOMPARE(barNames(plot), (QStringList{"member 1", "member 2"}));
    QCOMPARE(barValues(plot), (QList<double>{0.89, 0.84}));
    QCOMPARE(plot.dataCsv().split(QLatin1Char('\n'), Qt::SkipEmptyParts).size(), 1 + 2);
}

// Born-again: a line through the teacher's and each generation's bar tops, in order (G + 1 points); the other
// methods have none.
void TestMethodPlot::bornAgainTrend() {
    const kd::RunRecord run = finishedRun("born-again");
    kdui::MethodComparisonPlot plot;
    plot.setRun(&run);
    QCOMPARE(plot.graphCount(), 1);
    QCPGraph* trend = plot.graph(0);
    const int generations = 3;
    QCOMPARE(trend->dataCount(), generations + 1);
    const double expected[] = {0.90, 0.885, 0.893, 0.897}; // teacher, generations 1..3 (baseline skipped)
    const double keys[] = {1, 3, 4, 5};
    for (int i = 0; i < trend->dataCount(); ++i) {
        QCOMPARE(trend->data()->at(i)->key, keys[i]);
        QCOMPARE(trend->data()->at(i)->value, expected[i]);
    }
    QVERIFY(plot.legend->visible()); // says what the line is
    for (const char* method : {"kd", "ensemble", "assistant"}) {
        const kd::RunRecord other = finishedRun(method);
        plot.setRun(&other);
        QCOMPARE(plot.graphCount(), 0);
        QVERIFY(!plot.legend->visible());
    }
}

void TestMethodPlot::verdictAndTitle_data() {
    QTest::addColumn<QString>("method");
    QTest::addColumn<QString>("title");
    QTest::newRow("kd") << "kd"
                        << "Knowledge distillation";
    QTest::newRow("ensemble") << "ensemble"
                              << "Ensemble of teachers";
    QTest::newRow("born-again") << "born-again"
                                << "Born-again (self-distillation)";
    QTest::newRow("assistant") << "assistant"
                               << "Teacher assistant";
}

// The method in words as the title, kd::methodVerdict's sentence under it (wrapped to the width, no line
// wider than the chart).
void TestMethodPlot::verdictAndTitle() {
    QFETCH(QString, method);
    QFETCH(QString, title);
    const kd::RunRecord run = finishedRun(method.toStdString());
    kdui::MethodComparisonPlot plot;
    plot.resize(700, 400);
    plot.setRun(&run);
    const QString verdict = QString::fromStdString(kd::methodVerdict(run.result));
    QCOMPARE(plot.verdictText(), verdict);
    QCOMPARE(verdict.isEmpty(), method == QLatin1String("kd"));
    const QStringList texts = layoutTexts(plot);
    QVERIFY2(texts.contains(title), qPrintable(texts.join('|')));
    if (verdict.isEmpty())
        return;
    QString shown;
    for (const QString& text : texts)
        if (QString(text).replace(QLatin1Char('\n'), QLatin1Char(' ')) == verdict)
            shown = text;
    QVERIFY2(!shown.isEmpty(), qPrintable(texts.join('|')));
    const QFontMetricsF metrics(plot.font());
    if (metrics.horizontalAdvance(verdict) > 700)
        QVERIFY2(shown.contains(QLatin1Char('\n')), qPrintable(shown)); // a long sentence: wrapped
    for (const QString& line : shown.split(QLatin1Char('\n')))
        QVERIFY2(metrics.horizontalAdvance(line) <= 700 - 20, qPrintable(line));
}

// Many bars: tick labels that would not fit their bar are broken over lines, or, where that is not enough,
// put on one slanted line each; accuracies that would not fit across a bar stand upright.
void TestMethodPlot::manyMembersKeepTicksApart_data() {
    QTest::addColumn<int>("members");
    QTest::addColumn<int>("width");
    QTest::addColumn<bool>("slanted");
    QTest::newRow("3 members, 700 px") << 3 << 700 << false;
    QTest::newRow("6 members, 700 px") << 6 << 700 << false;
    QTest::newRow("16 members, 900 px") << 16 << 900 << true;
}

void TestMethodPlot::manyMembersKeepTicksApart() {
    QFETCH(int, members);
    QFETCH(int, width);
    QFETCH(bool, slanted);
    kd::RunRecord run = finishedRun("ensemble");
    run.result.stages.clear();
    for (int k = 1; k <= members; ++k)
        run.result.stages.push_back(stage("member-" + std::to_string(k), "member " + std::to_string(k),
                                          "member",
                                          trainedModel("mlp:1200,1200", 0.88 + 0.001 * k, kTeacherParams)));
    kdui::MethodComparisonPlot plot;
    plot.resize(width, 400);
    plot.setRun(&run);
    plot.show();
    QVERIFY(QTest::qWaitForWindowExposed(&plot));
    plot.replot();
    plot.updateRun(); // texts fitted to the laid-out axis
    plot.replot();
    QCOMPARE(plot.barCount(), members + 3);
    QCOMPARE(nameOf(plot.barLabel(members - 1)), QStringLiteral("member %1").arg(members));
    QCOMPARE(plot.xAxis->tickLabelRotation() != 0, slanted);
    const QFontMetricsF metrics(plot.xAxis->tickLabelFont());
    const double slot = plot.xAxis->coordToPixel(2) - plot.xAxis->coordToPixel(1);
    for (int i = 0; i < plot.barCount(); ++i) {
        if (slanted) {
            QVERIFY2(!plot.barLabel(i).contains(QLatin1Char('\n')), qPrintable(plot.barLabel(i)));
            continue;
        }
        for (const QString& line : plot.barLabel(i).split(QLatin1Char('\n')))
            QVERIFY2(metrics.horizontalAdvance(line) < slot, qPrintable(plot.barLabel(i)));
    }
    for (int i = 0; i < plot.itemCount(); ++i)
        if (auto* label = qobject_cast<QCPItemText*>(plot.item(i)); label && label->visible()) {
            const double textWidth = QFontMetricsF(label->font()).horizontalAdvance(label->text());
            QVERIFY2(label->rotation() != 0 || textWidth < slot, qPrintable(label->text()));
        }
}

// A small chart (a narrow dock): the y label gets shorter rather than running out of its axis, tick labels
// break or get smaller rather than run into each other.
void TestMethodPlot::smallChart() {
    const kd::RunRecord run = finishedRun("born-again");
    kdui::MethodComparisonPlot plot;
    plot.resize(420, 300);
    plot.setRun(&run);
    plot.show();
    QVERIFY(QTest::qWaitForWindowExposed(&plot));
    plot.replot();
    plot.updateRun();
    plot.replot();
    QCOMPARE(plot.barCount(), 5);
    const double labelWidth = QFontMetricsF(plot.yAxis->labelFont()).horizontalAdvance(plot.yAxis->label());
    QVERIFY2(labelWidth <= plot.axisRect()->height(), qPrintable(plot.yAxis->label()));
    QVERIFY2(plot.yAxis->label().startsWith(QStringLiteral("accuracy")), qPrintable(plot.yAxis->label()));
    const QFontMetricsF metrics(plot.xAxis->tickLabelFont());
    const double slot = plot.xAxis->coordToPixel(2) - plot.xAxis->coordToPixel(1);
    for (int i = 0; i < plot.barCount(); ++i)
        for (const QString& line : plot.barLabel(i).split(QLatin1Char('\n')))
            QVERIFY2(plot.xAxis->tickLabelRotation() != 0 || metrics.horizontalAdvance(line) < slot,
                     qPrintable(plot.barLabel(i)));
    QCOMPARE(nameOf(plot.barLabel(2)), QStringLiteral("generation 1"));
}

// "model,spec,params,test_accuracy", one row per bar; saving CSV and PNG works.
void TestMethodPlot::csvAndExport() {
    const kd::RunRecord run = finishedRun("assistant");
    kdui::MethodComparisonPlot plot;
    plot.resize(700, 400);
    plot.setRun(&run);
    const QStringList lines = plot.dataCsv().split(QLatin1Char('\n'), Qt::SkipEmptyParts);
    QCOMPARE(lines.first(), QStringLiteral("model,spec,params,test_accuracy"));
    QCOMPARE(lines.size(), 1 + plot.barCount());
    QCOMPARE(lines.value(1), QStringLiteral("teacher,\"mlp:1200,1200\",2395210,0.91"));
    QCOMPARE(lines.value(4), QStringLiteral("direct KD,mlp:128,101770,0.872"));
    QCOMPARE(lines.value(5), QStringLiteral("via assistant,mlp:128,101770,0.879"));

    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    QString error;
    const QString csv = dir.filePath(QStringLiteral("method-comparison.csv"));
    QVERIFY2(plot.saveDataCsv(csv, &error), qPrintable(error));
    QFile file(csv);
    QVERIFY(file.open(QIODevice::ReadOnly));
    QCOMPARE(QString::fromUtf8(file.readAll()), plot.dataCsv());
    const QString png = dir.filePath(QStringLiteral("method-comparison.png"));
    QVERIFY2(plot.savePlotPng(png, &error), qPrintable(error));
    QCOMPARE(QImage(png).size(), QSize(1400, 800)); // twice the widget's resolution
}

// No run: no bars, no title, a hint that says what the chart is for; a run that has not started says so.
void TestMethodPlot::noRun() {
    const kd::RunRecord run = finishedRun("ensemble");
    kdui::MethodComparisonPlot plot;
    plot.setRun(&run);
    QVERIFY(plot.barCount() > 0);
    plot.setRun(nullptr);
    QCOMPARE(plot.barCount(), 0);
    QCOMPARE(plot.plottableCount(), 0);
    QCOMPARE(plot.verdictText(), QString());
    QCOMPARE(plot.dataCsv(), QStringLiteral("model,spec,params,test_accuracy\n"));
    const QStringList texts = visibleItemTexts(plot);
    QCOMPARE(texts.size(), 1);
    QVERIFY2(texts.first().startsWith(QStringLiteral("Run a method")), qPrintable(texts.first()));
    QCOMPARE(layoutTexts(plot), QStringList{QStringLiteral("Method comparison")});

    kd::RunRecord fresh;
    fresh.config.method = fresh.result.method = "born-again";
    plot.setRun(&fresh);
    QCOMPARE(plot.barCount(), 0);
    QCOMPARE(visibleItemTexts(plot), QStringList{QStringLiteral("Press Start to train")});
}

// Rendered at 700x400 the chart is not blank: the bars' colours are there.
void TestMethodPlot::drawsSomething() {
    for (const char* method : {"kd", "ensemble", "born-again", "assistant"}) {
        const kd::RunRecord run = finishedRun(method);
        kdui::MethodComparisonPlot plot;
        plot.resize(700, 400);
        plot.setRun(&run);
        plot.show();
        QVERIFY(QTest::qWaitForWindowExposed(&plot));
        plot.replot();
        const QImage image = plot.grab().toImage().convertToFormat(QImage::Format_RGB32);
        QCOMPARE(image.size(), QSize(700, 400) * plot.devicePixelRatio());
        int coloured = 0, student = 0;
        const QRgb studentColor = kdui::roleColor(Role::Student).rgb();
        for (int y = 0; y < image.height(); ++y)
            for (int x = 0; x < image.width(); ++x) {
                const QRgb p = image.pixel(x, y);
                coloured += p != qRgb(255, 255, 255);
                student += p == studentColor;
            }
        QVERIFY2(coloured > image.width() * image.height() / 10, method);
        QVERIFY2(student > 500, method); // the method's student bar
    }
}

// Not a check: writes PNGs of each method's chart to $KDLAB_PLOT_SNAPSHOT_DIR to look at.
void TestMethodPlot::snapshots() {
    const QString out = qEnvironmentVariable("KDLAB_PLOT_SNAPSHOT_DIR");
    if (out.isEmpty())
        QSKIP("set KDLAB_PLOT_SNAPSHOT_DIR to write snapshots");
    QVERIFY(QDir().mkpath(out));
    auto snap = [&](const kd::RunRecord* run, const QString& name, QSize size = QSize(700, 400)) {
        kdui::MethodComparisonPlot plot;
        plot.resize(size);
        plot.setRun(run);
        plot.show();
        QVERIFY(QTest::qWaitForWindowExposed(&plot));
        QTest::qWait(250); // the throttled replot fits the texts to the laid-out axis
        QVERIFY(plot.grab().save(QDir(out).filePath(QStringLiteral("method-%1.png").arg(name))));
        QString error; // what "Save as PNG..." writes (twice the resolution)
        QVERIFY2(
            plot.savePlotPng(QDir(out).filePath(QStringLiteral("export-method-%1.png").arg(name)), &error),
            qPrintable(error));
    };
    for (const char* method : {"kd", "ensemble", "born-again", "assistant"}) {
        const kd::RunRecord run = finishedRun(method);
        snap(&run, QString::fromLatin1(method));
    }
    kd::RunRecord live = finishedRun("born-again");
    live.status = "running";
    live.result.stages.resize(1);
    live.result.stages[0].model = kd::ModelResult();
    live.result.stages[0].history = {epoch(Role::Student, 0, 1, 0.85), epoch(Role::Student, 0, 2, 0.87)};
    live.result.student = kd::ModelResult();
    snap(&live, QStringLiteral("live"));
    kd::RunRecord many = finishedRun("ensemble");
    many.result.stages.clear();
    for (int k = 1; k <= 16; ++k)
        many.result.stages.push_back(stage("member-" + std::to_string(k), "member " + std::to_string(k),
                                           "member",
                                           trainedModel("mlp:1200,1200", 0.88 + 0.001 * k, kTeacherParams)));
    snap(&many, QStringLiteral("many"));
    kd::RunRecord high = finishedRun("assistant"); // bars close to 100%: labels inside their tops
    high.result.teacher.testAccuracy = 0.998;
    high.result.stages[0].model.testAccuracy = 0.99;
    high.result.baseline.testAccuracy = 0.982;
    high.result.stages[1].model.testAccuracy = 0.985;
    high.result.student.testAccuracy = 0.988;
    snap(&high, QStringLiteral("high"));
    snap(nullptr, QStringLiteral("empty"));
    const kd::RunRecord small = finishedRun("born-again");
    snap(&small, QStringLiteral("born-again-small"), QSize(420, 300));
}

QTEST_MAIN(TestMethodPlot)
#include "tst_methodplot.moc"
