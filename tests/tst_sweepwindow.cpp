// The sweep window: small sweeps on generated data, run through the window's worker thread, checked against
// the rows the worker reports (means and standard deviations computed here, not by kdcore).

#include "kdcore/report.h"
#include "kdcore/sweep.h"
#include "plots.h"
#include "sweepwindow.h"
#include "sweepworker.h"
#include "testdata.h"

#include <QComboBox>
#include <QDir>
#include <QElapsedTimer>
#include <QFileInfo>
#include <QImage>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSignalSpy>
#include <QTimer>
#include <QApplication>
#include <QMessageBox>
#include <QSpinBox>
#include <QTemporaryDir>
#include <QTest>
#include <QThread>

#include <cmath>
#include <map>
#include <memory>
#include <optional>

using kdui::SweepWindow;

namespace {

struct Stats {
    double mean = 0, std = 0;
    int n = 0;
};

Stats statsOf(const std::vector<double>& v) {
    Stats s;
    s.n = int(v.size());
    for (double x : v)
        s.mean += x;
    s.mean /= std::max(1, s.n);
    if (s.n >= 2) {
        double squares = 0;
        for (double x : v)
            squares += (x - s.mean) * (x - s.mean);
        s.std = std::sqrt(squares / (s.n - 1));
    }
    return s;
}

// Rows of one grid point.
std::vector<kd::SweepRow> rowsAt(const std::vector<kd::SweepRow>& rows, const std::string& student, double t,
                                 double alpha) {
    std::vector<kd::SweepRow> out;
    for (const kd::SweepRow& r : rows)
        if (r.cell.student == student && r.cell.temperature == t && r.cell.alpha == alpha)
            out.push_back(r);
    return out;
}

QString savedPngDir() {
    return QStringLiteral("/tmp");
}

} // namespace

class TestSweepWindow : public QObject {
    Q_OBJECT

private:
    QTemporaryDir m_dir;
    kd::ExperimentConfig m_base;
    kd::ExperimentConfig m_slowBase; // more images, a bigger student, 3 epochs: for stopping mid-sweep
    // The 2 x 2 x 2-seed sweep, run once and checked by several tests below.
    std::unique_ptr<SweepWindow> m_grid;
    std::vector<kd::SweepRow> m_gridRows; // as the worker reported them (queued to this thread)
    bool m_gridDone = false;

    bool runToEnd(SweepWindow& w, int timeoutMs = 120000) {
        QSignalSpy finished(&w, &SweepWindow::sweepFinished);
        if (!w.startSweep())
            return false;
        if (!finished.wait(timeoutMs))
            return false;
        return !w.isRunning();
    }

private Q_SLOTS:
    // Every finished cell is drawn over its whole square, in the colour the scale gives its value; the others
    // show the grey background. (QCPColorMap puts the first and last cells' centres on its data range's
    // ends.)
    // The accuracy map's colours are centred on the baseline: a cell below it is orange, never the "good"
    // blue (issue: cells below the baseline in the good colour).
    void heatmapAccuracyCentredOnBaseline() {
        kdui::SweepHeatmap h;
        h.resize(520, 420);
        kdui::SweepGrid g;
        g.student = "mlp:16";
        g.temperatures = {1, 4};
        g.alphas = {0.5};
        for (int t = 0; t < 2; ++t) {
            kd::SweepSummaryCell c;
            c.student = "mlp:16";
            c.temperature = g.temperatures[std::size_t(t)];
            c.alpha = 0.5;
            c.seeds = 1;
            c.meanBaseline = 0.85;
            c.meanAccuracy = t == 0 ? 0.84 : 0.88; // below, above the baseline
            g.cells.push_back(c);
        }
        h.setGrid(g, kdui::SweepMeasure::Accuracy);
        const QCPRange range = h.colorMap()->dataRange();
        QVERIFY(std::abs(range.center() - 0.85) < 1e-9);
        QCPColorGradient gradient = h.colorMap()->gradient(); // color() is not const
        const QColor below(gradient.color(0.84, range)), above(gradient.color(0.88, range)),
            at(gradient.color(0.85, range));
        QVERIFY2(below.red() > below.blue(), qPrintable(below.name()));
        QVERIFY2(above.blue() > above.red(), qPrintable(above.name()));
        QVERIFY2(at.red() > 230 && at.green() > 230 && at.blue() > 230, qPrintable(at.name()));
    }

    void heatmapDrawsCellsInPlace_data() {
        QTest::addColumn<int>("columns");
        QTest::addColumn<int>("rows");
        QTest::newRow("4 x 3") << 4 << 3;
        QTest::newRow("1 x 3") << 1 << 3;
        QTest::newRow("4 x 1") << 4 << 1;
        QTest::newRow("1 x 1") << 1 << 1;
        QTest::newRow("2 x 2") << 2 << 2;
    }

    void heatmapDrawsCellsInPlace() {
        QFETCH(int, columns);
        QFETCH(int, rows);
        kdui::SweepHeatmap h;
        h.resize(520, 420);
        kdui::SweepGrid g;
        g.student = "mlp:16";
        const std::vector<double> ts = {1, 2, 4, 8}, as = {0.1, 0.5, 0.9};
        g.temperatures.assign(ts.begin(), ts.begin() + columns);
        g.alphas.assign(as.begin(), as.begin() + rows);
        // A checkerboard of finished cells, with different values.
        for (int t = 0; t < columns; ++t)
            for (int a = 0; a < rows; ++a)
                if ((t + a) % 2 == 0) {
                    kd::SweepSummaryCell c;
                    c.student = "mlp:16";
                    c.temperature = ts[std::size_t(t)];
                    c.alpha = as[std::size_t(a)];
                    c.seeds = 1;
                    c.meanAccuracy = 0.7 + 0.02 * t + 0.05 * a;
                    g.cells.push_back(c);
                }
        h.setGrid(g, kdui::SweepMeasure::Accuracy);
        h.setSelectedCell(0, 0);
        h.replot();
        const QImage image = h.grab().toImage();
        QCPColorGradient gradient = h.colorMap()->gradient();
        const QCPRange range = h.colorMap()->dataRange();
        auto close = [](QColor a, QColor b) {
            return std::abs(a.red() - b.red()) <= 6 && std::abs(a.green() - b.green()) <= 6 &&
                   std::abs(a.blue() - b.blue()) <= 6;
        };
        for (int t = 0; t < columns; ++t) {
            for (int a = 0; a < rows; ++a) {
                const kd::SweepSummaryCell* cell = g.find(t, a);
                QCOMPARE(cell != nullptr, (t + a) % 2 == 0);
                const QColor expected = cell ? QColor(gradient.color(cell->meanAccuracy, range)) : QColor();
                if (cell)
                    QCOMPARE(h.cellValue(t, a), cell->meanAccuracy);
                else
                    QVERIFY(std::isnan(h.cellValue(t, a)));
                // Near the four corners of the cell (inside its white frame), away from the text.
                for (double dx : {-0.4, 0.4})
                    for (double dy : {-0.4, 0.4}) {
                        const QPoint p(int(h.xAxis->coordToPixel(t + dx)),
                                       int(h.yAxis->coordToPixel(a + dy)));
                        const QColor got = image.pixelColor(p);
                        // A blank cell shows the hatched background: white or light grey.
                        const bool ok =
                            cell ? close(got, expected)
                                 : got.red() == got.green() && got.green() == got.blue() && got.red() >= 200;
                        QVERIFY2(ok, qPrintable(QStringLiteral("cell %1,%2 at %3,%4: %5, expected %6")
                                                    .arg(t)
                                                    .arg(a)
                                                    .arg(dx)
                                                    .arg(dy)
                                                    .arg(got.name(),
                                                         cell ? expected.name() : QStringLiteral("grey"))));
                    }
            }
        }
    }

    void initTestCase() {
        QVERIFY(m_dir.isValid());
        QVERIFY(testdata::writeIdxFolder(m_dir.path(), testdata::syntheticImages(400, 1),
                                         testdata::syntheticImages(100, 2)));
        m_base.dataset = ("idx:" + m_dir.path()).toStdString();
        m_base.teacher = "mlp:32";
        m_base.student = "mlp:16";
        m_base.augment = "none"; // the engine's plain path, as the tests below assume
        m_base.teacherAugment = "same";
        m_base.transferLimit = 0;
        m_base.epochs = 1;
        m_base.teacherEpochs = 3; // a teacher clearly better than a one-epoch baseline: gaps are defined
        m_base.batchSize = 32;
        m_base.device = "cpu";
        m_base.threads = 1;

        // Cells long enough (a fraction of a second each) that a sweep is mid-cell when cancelled.
        const QString bigger = m_dir.filePath(QStringLiteral("bigger"));
        QVERIFY(QDir().mkpath(bigger));
        QVERIFY(testdata::writeIdxFolder(bigger, testdata::syntheticImages(3000, 3),
                                         testdata::syntheticImages(200, 4)));
        m_slowBase = m_base;
        m_slowBase.dataset = ("idx:" + bigger).toStdString();
        m_slowBase.student = "mlp:128";
        m_slowBase.epochs = 3;
    }

    void defaultsAndPreview() {
        SweepWindow w(m_base);
        QCOMPARE(w.findChild<QLineEdit*>("temperatures")->text(), QStringLiteral("1,2,4,8"));
        QCOMPARE(w.findChild<QLineEdit*>("alphas")->text(), QStringLiteral("0.1,0.5,0.9"));
        QCOMPARE(w.findChild<QLineEdit*>("students")->text(), QString());
        QCOMPARE(w.findChild<QSpinBox*>("seeds")->value(), 1);
        QCOMPARE(w.validationError(), QString());
        QVERIFY(w.findChild<QPushButton*>("startButton")->isEnabled());
        QVERIFY(!w.findChild<QPushButton*>("cancelButton")->isEnabled());
        QVERIFY(!w.findChild<QPushButton*>("saveButton")->isEnabled());
        QVERIFY(!w.isRunning());
        QCOMPARE(w.finishedCells(), 0);

        const kd::SweepPlan p = w.plan();
        QCOMPARE(p.temperatures, (std::vector<double>{1, 2, 4, 8}));
        QCOMPARE(p.alphas, (std::vector<double>{0.1, 0.5, 0.9}));
        QVERIFY(p.students.empty());
        QCOMPARE(p.seeds, 1);
        QCOMPARE(p.base.student, m_base.student);
        QCOMPARE(p.base.dataset, m_base.dataset);
        QCOMPARE(kd::sweepCellCount(p), 12);

        // The heatmap previews the empty grid; nothing is selectable before a sweep.
        QVERIFY(std::isnan(w.heatmapValue("mlp:16", 2, 0.5)));
        QCOMPARE(w.cellText("mlp:16", 2, 0.5), QString());
        QCOMPARE(w.errorBarCount(), 0);
        QVERIFY(!w.selectCell("mlp:16", 2, 0.5));
        QVERIFY(w.selectedRun() == nullptr);

        // The inputs reach the plan.
        w.setTemperaturesText(QStringLiteral("3, 0.5"));
        w.setAlphasText(QStringLiteral("0"));
        w.setStudentsText(QStringLiteral("mlp:8;mlp:4,4"));
        w.setSeeds(3);
        const kd::SweepPlan q = w.plan();
        QCOMPARE(q.temperatures, (std::vector<double>{3, 0.5}));
        QCOMPARE(q.alphas, (std::vector<double>{0}));
        QCOMPARE(q.students, (std::vector<std::string>{"mlp:8", "mlp:4,4"}));
        QCOMPARE(q.seeds, 3);
        QCOMPARE(w.validationError(), QString());
    }

    void invalidInputsNameTheField_data() {
        QTest::addColumn<QString>("temperatures");
        QTest::addColumn<QString>("alphas");
        QTest::addColumn<QString>("students");
        QTest::addColumn<QString>("field");
        QTest::newRow("T = 0") << "1,0"
                               << "0.5"
                               << ""
                               << "temperatures";
        QTest::newRow("T negative") << "-2"
                                    << "0.5"
                                    << ""
                                    << "temperatures";
        QTest::newRow("T abc") << "abc"
                               << "0.5"
                               << ""
                               << "temperatures";
        QTest::newRow("T empty") << ""
                                 << "0.5"
                                 << ""
                                 << "temperatures";
        QTest::newRow("T twice") << "2,4,2"
                                 << "0.5"
                                 << ""
                                 << "temperatures";
        QTest::newRow("alpha 1.5") << "2"
                                   << "0.1,1.5"
                                   << ""
                                   << "alphas";
        QTest::newRow("alpha abc") << "2"
                                   << "abc"
                                   << ""
                                   << "alphas";
        QTest::newRow("alpha trailing comma") << "2"
                                              << "0.5,"
                                              << ""
                                              << "alphas";
        QTest::newRow("student bad spec") << "2"
                                          << "0.5"
                                          << "mlp:abc"
                                          << "students";
        QTest::newRow("student twice") << "2"
                                       << "0.5"
                                       << "mlp:8;mlp:8"
                                       << "students";
    }

    void invalidInputsNameTheField() {
        QFETCH(QString, temperatures);
        QFETCH(QString, alphas);
        QFETCH(QString, students);
        QFETCH(QString, field);
        SweepWindow w(m_base);
        auto* start = w.findChild<QPushButton*>("startButton");
        auto* shown = w.findChild<QLabel*>("validationError");
        QVERIFY(start->isEnabled());
        w.setTemperaturesText(temperatures);
        w.setAlphasText(alphas);
        w.setStudentsText(students);
        const QString error = w.validationError();
        QVERIFY2(error.contains(field), qPrintable(error));
        QVERIFY2(!error.contains(QLatin1Char('\n')), qPrintable(error));
        QCOMPARE(shown->text(), error);
        QVERIFY(!start->isEnabled());
        QVERIFY(!w.startSweep());
        QVERIFY(!w.isRunning());
        // Fixed again: Start comes back.
        w.setTemperaturesText(QStringLiteral("2"));
        w.setAlphasText(QStringLiteral("0.5"));
        w.setStudentsText(QString());
        QCOMPARE(w.validationError(), QString());
        QVERIFY(start->isEnabled());
    }

    void seedsBelowOneRefused() {
        SweepWindow w(m_base);
        kd::SweepPlan p = w.plan();
        p.seeds = 0;
        const QString error = SweepWindow::checkPlan(p);
        QVERIFY2(error.contains(QLatin1String("seeds")), qPrintable(error));
        QCOMPARE(SweepWindow::checkPlan(w.plan()), QString());
        // The spin box cannot go below 1 (or above 20).
        w.setSeeds(0);
        QCOMPARE(w.plan().seeds, 1);
        w.setSeeds(50);
        QCOMPARE(w.plan().seeds, 20);
        QCOMPARE(w.validationError(), QString());
    }

    void invalidBaseConfigIsReported() {
        kd::ExperimentConfig bad = m_base;
        bad.batchSize = 0;
        SweepWindow w(bad);
        QVERIFY(!w.validationError().isEmpty());
        QVERIFY(!w.findChild<QPushButton*>("startButton")->isEnabled());
        w.setBaseConfig(m_base);
        QCOMPARE(w.validationError(), QString());
    }

    // --- the 2 x 2 grid with 2 seeds
    // -------------------------------------------------------------------------

    void gridSweepRuns() {
        m_grid = std::make_unique<SweepWindow>(m_base);
        SweepWindow& w = *m_grid;
        w.setTemperaturesText(QStringLiteral("1,4"));
        w.setAlphasText(QStringLiteral("0.2,0.8"));
        w.setSeeds(2);
        QCOMPARE(w.validationError(), QString());
        w.show();
        QVERIFY(QTest::qWaitForWindowExposed(&w));
        connect(w.worker(), &kdui::SweepWorker::cellFinished, this,
                [this](const kd::SweepRow& row, const kd::ExperimentResult&) { m_gridRows.push_back(row); });
        QSignalSpy cellSpy(w.worker(), &kdui::SweepWorker::cellStarted);
        QSignalSpy started(&w, &SweepWindow::sweepStarted);

        QSignalSpy finished(&w, &SweepWindow::sweepFinished);
        QVERIFY(w.startSweep());
        QCOMPARE(started.count(), 1);
        QVERIFY(w.isRunning());
        QVERIFY(!w.findChild<QPushButton*>("startButton")->isEnabled());
        QVERIFY(w.findChild<QPushButton*>("cancelButton")->isEnabled());
        QVERIFY(!w.findChild<QLineEdit*>("temperatures")->isEnabled());
        QVERIFY(!w.startSweep()); // already running
        QCOMPARE(w.totalCells(), 8);

        // Cells fill in while it runs: some cell finished while others are still to come.
        QTRY_VERIFY_WITH_TIMEOUT(w.finishedCells() >= 1 || !w.isRunning(), 120000);
        if (w.isRunning())
            QVERIFY2(w.progressText().contains(QLatin1String(" of 8")), qPrintable(w.progressText()));

        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 180000);
        QCOMPARE(finished.count(), 1);
        QVERIFY(!w.isRunning());
        QCOMPARE(w.lastError(), QString());
        QCOMPARE(w.finishedCells(), 8);
        QCOMPARE(int(w.rows().size()), 8);
        QTRY_COMPARE(int(m_gridRows.size()), 8);
        QCOMPARE(cellSpy.count(), 8);
        QVERIFY(w.findChild<QPushButton*>("startButton")->isEnabled());
        QVERIFY(!w.findChild<QPushButton*>("cancelButton")->isEnabled());
        QVERIFY(w.findChild<QPushButton*>("saveButton")->isEnabled());
        m_gridDone = true;
    }

    void gridCellsShowTheMeanOverSeeds() {
        if (!m_gridDone)
            QSKIP("the grid sweep did not run");
        SweepWindow& w = *m_grid;
        w.setMeasure(kdui::SweepMeasure::Accuracy);
        int filled = 0;
        for (double t : {1.0, 4.0}) {
            for (double a : {0.2, 0.8}) {
                const std::vector<kd::SweepRow> rows = rowsAt(m_gridRows, "mlp:16", t, a);
                QCOMPARE(int(rows.size()), 2);
                QVERIFY(rows[0].cell.seed != rows[1].cell.seed);
                std::vector<double> accuracies;
                for (const kd::SweepRow& r : rows)
                    accuracies.push_back(r.testAccuracy);
                const Stats s = statsOf(accuracies);
                const double value = w.heatmapValue("mlp:16", t, a);
                QVERIFY2(
                    std::abs(value - s.mean) < 1e-9,
                    qPrintable(QStringLiteral("T=%1 a=%2: %3 vs %4").arg(t).arg(a).arg(value).arg(s.mean)));
                const QString expected =
                    QStringLiteral("%1 \u00b1 %2")
                        .arg(QString::number(s.mean * 100, 'f', 1), QString::number(s.std * 100, 'f', 1));
                QCOMPARE(w.cellText("mlp:16", t, a), expected);
                ++filled;
            }
        }
        QCOMPARE(filled, 4);
        // Not in the grid: blank.
        QVERIFY(std::isnan(w.heatmapValue("mlp:16", 2, 0.2)));
        QCOMPARE(w.cellText("mlp:16", 2, 0.2), QString());
        QVERIFY(std::isnan(w.heatmapValue("mlp:99", 1, 0.2)));

        // The reference line: baseline mean ± std over the two seeds' baselines, and the teacher.
        std::map<std::uint64_t, double> baselines;
        for (const kd::SweepRow& r : m_gridRows)
            baselines[r.cell.seed] = r.baselineAccuracy;
        QCOMPARE(int(baselines.size()), 2);
        const Stats b = statsOf({baselines.begin()->second, baselines.rbegin()->second});
        const QString reference = w.referenceText();
        QVERIFY2(reference.contains(
                     QStringLiteral("baseline %1 \u00b1 %2%")
                         .arg(QString::number(b.mean * 100, 'f', 1), QString::number(b.std * 100, 'f', 1))),
                 qPrintable(reference));
        QVERIFY2(reference.contains(QStringLiteral("teacher %1%")
                                        .arg(QString::number(m_gridRows[0].teacherAccuracy * 100, 'f', 1))),
                 qPrintable(reference));
        // One teacher for all cells.
        for (const kd::SweepRow& r : m_gridRows)
            QCOMPARE(r.teacherAccuracy, m_gridRows[0].teacherAccuracy);
        QCOMPARE(w.progressText().isEmpty(), false);
    }

    void gapRecoveredToggle() {
        if (!m_gridDone)
            QSKIP("the grid sweep did not run");
        SweepWindow& w = *m_grid;
        auto* combo = w.findChild<QComboBox*>("measure");
        QCOMPARE(combo->currentIndex(), 0);
        const double accuracy = w.heatmapValue("mlp:16", 4, 0.8);
        combo->setCurrentIndex(1); // as the user picks "gap recovered"
        QCOMPARE(w.measure(), kdui::SweepMeasure::GapRecovered);
        const std::vector<kd::SweepSummaryCell> summary = kd::summarizeSweep(m_gridRows);
        int defined = 0;
        for (double t : {1.0, 4.0}) {
            for (double a : {0.2, 0.8}) {
                // The mean over seeds of each seed's gap recovered, computed here.
                std::vector<double> gaps;
                bool allDefined = true;
                for (const kd::SweepRow& r : rowsAt(m_gridRows, "mlp:16", t, a)) {
                    const std::optional<double> g =
                        kd::gapRecovered(r.teacherAccuracy, r.baselineAccuracy, r.testAccuracy);
                    if (g)
                        gaps.push_back(*g);
                    else
                        allDefined = false;
                }
                const double value = w.heatmapValue("mlp:16", t, a);
                const QString text = w.cellText("mlp:16", t, a);
                if (allDefined) {
                    ++defined;
                    const double mean = statsOf(gaps).mean;
                    QVERIFY2(std::abs(value - mean) < 1e-9,
                             qPrintable(QStringLiteral("%1 vs %2").arg(value).arg(mean)));
                    double percent = std::round(mean * 100);
                    if (percent == 0)
                        percent = 0;
                    QCOMPARE(text, QString::number(percent, 'f', 0) + QLatin1Char('%'));
                } else {
                    // What kdcore's summary says for a seed without a gap; the cell says so in words.
                    for (const kd::SweepSummaryCell& c : summary)
                        if (c.temperature == t && c.alpha == a && std::isnan(c.meanGapRecovered)) {
                            QVERIFY(std::isnan(value));
                            QCOMPARE(text, QStringLiteral("n/a"));
                        }
                }
            }
        }
        QVERIFY2(defined >= 1, "the teacher should beat the one-epoch baseline on this data");
        QVERIFY(w.heatmapValue("mlp:16", 4, 0.8) != accuracy);
        w.setMeasure(kdui::SweepMeasure::Accuracy);
        QCOMPARE(combo->currentIndex(), 0);
        QCOMPARE(w.heatmapValue("mlp:16", 4, 0.8), accuracy);
    }

    void lineChartHasErrorBars() {
        if (!m_gridDone)
            QSKIP("the grid sweep did not run");
        SweepWindow& w = *m_grid;
        // Two alpha lines of two points, each point over two seeds: four error bars.
        QCOMPARE(w.linePlot()->lineCount(), 2);
        QCOMPARE(w.errorBarCount(), 4);
        int errorBarPlottables = 0;
        for (int i = 0; i < w.linePlot()->plottableCount(); ++i)
            if (auto* bars = qobject_cast<QCPErrorBars*>(w.linePlot()->plottable(i))) {
                ++errorBarPlottables;
                QCOMPARE(bars->dataCount(), 2);
            }
        QCOMPARE(errorBarPlottables, 2);
        const QString csv = w.linePlot()->dataCsv();
        QVERIFY(csv.startsWith(QLatin1String("series,temperature,mean_accuracy,std_accuracy,seeds\n")));
        QVERIFY(csv.contains(QLatin1String("baseline,")));
        QVERIFY(csv.contains(QLatin1String("teacher,")));
        QCOMPARE(csv.count(QLatin1String("alpha=")), 4);
        QCOMPARE(w.heatmap()->dataCsv().count(QLatin1Char('\n')), 5); // header + 4 cells
    }

    void clickingACellShowsItsCurves() {
        if (!m_gridDone)
            QSKIP("the grid sweep did not run");
        SweepWindow& w = *m_grid;
        kdui::SweepHeatmap* heatmap = w.heatmap();
        heatmap->replot(); // lay out, so cells have their pixel positions
        // Column T = 4 (index 1), row alpha = 0.8 (index 1): a cell whose run reused the teacher and the
        // seed's baseline, which the window copies into it.
        QTest::mouseClick(heatmap, Qt::LeftButton, Qt::NoModifier, heatmap->cellCenter(1, 1));
        const kd::RunRecord* run = w.selectedRun();
        QVERIFY(run != nullptr);
        QCOMPARE(run->config.temperature, 4.0);
        QCOMPARE(run->config.alpha, 0.8);
        QCOMPARE(run->config.student, std::string("mlp:16"));
        QCOMPARE(run->config.seed, m_base.seed); // the first seed
        QCOMPARE(run->status, std::string("done"));
        QVERIFY(!run->result.history.empty());
        QVERIFY(!run->batches.empty());
        int studentEpochs = 0;
        for (const kd::EpochMetrics& m : run->result.history)
            if (m.role == kd::Role::Student)
                ++studentEpochs;
        QCOMPARE(studentEpochs, m_base.epochs);
        QVERIFY(w.lossPlot()->pointCount(run, kd::Role::Student, kdui::LossSeries::Batch) > 0);
        QCOMPARE(w.lossPlot()->pointCount(run, kd::Role::Student, kdui::LossSeries::EpochTrain), 1);
        QCOMPARE(w.lossPlot()->pointCount(run, kd::Role::Baseline, kdui::LossSeries::EpochTrain), 1);
        QCOMPARE(w.lossPlot()->pointCount(run, kd::Role::Teacher, kdui::LossSeries::EpochTrain),
                 m_base.teacherEpochs);
        QCOMPARE(w.accuracyPlot()->pointCount(run, kd::Role::Student), 1);
        // The final accuracies are the row's.
        const std::vector<kd::SweepRow> rows = rowsAt(m_gridRows, "mlp:16", 4, 0.8);
        for (const kd::SweepRow& r : rows)
            if (r.cell.seed == m_base.seed) {
                QCOMPARE(run->result.student.testAccuracy, r.testAccuracy);
                QCOMPARE(kdui::latestAccuracy(run, kd::Role::Baseline), r.baselineAccuracy);
            }

        // Another cell, through the API: T = 1, alpha = 0.2 (the first cell: it trained the teacher).
        QVERIFY(w.selectCell("mlp:16", 1, 0.2));
        const kd::RunRecord* first = w.selectedRun();
        QVERIFY(first != nullptr && first != run);
        QCOMPARE(first->config.temperature, 1.0);
        QVERIFY(w.lossPlot()->pointCount(first, kd::Role::Student, kdui::LossSeries::Batch) > 0);
        QVERIFY(!w.selectCell("mlp:16", 3, 0.2)); // not in the grid
        QCOMPARE(w.selectedRun(), first);
    }

    void saveWritesReadableFiles() {
        if (!m_gridDone)
            QSKIP("the grid sweep did not run");
        SweepWindow& w = *m_grid;
        const QString dir = m_dir.filePath(QStringLiteral("results/grid"));
        QString error;
        QVERIFY2(w.saveResults(dir, &error), qPrintable(error));
        QVERIFY(QFileInfo::exists(dir + "/sweep.csv"));
        QVERIFY(QFileInfo::exists(dir + "/summary.json"));
        const std::vector<kd::SweepRow> back = kd::readSweepCsv((dir + "/sweep.csv").toStdString());
        QCOMPARE(int(back.size()), 8);
        for (const kd::SweepRow& r : back) {
            const std::vector<kd::SweepRow> same =
                rowsAt(m_gridRows, r.cell.student, r.cell.temperature, r.cell.alpha);
            bool found = false;
            for (const kd::SweepRow& s : same)
                if (s.cell.seed == r.cell.seed) {
                    found = true;
                    QVERIFY(std::abs(s.testAccuracy - r.testAccuracy) < 1e-9);
                    QVERIFY(std::abs(s.baselineAccuracy - r.baselineAccuracy) < 1e-9);
                }
            QVERIFY(found);
        }
        // A folder that cannot be created: a one-line error, nothing thrown.
        QVERIFY(!w.saveResults(QStringLiteral("/proc/no/such/dir"), &error));
        QVERIFY(!error.isEmpty());
        QVERIFY(!error.contains(QLatin1Char('\n')));
    }

    void windowRenders() {
        if (!m_gridDone)
            QSKIP("the grid sweep did not run");
        SweepWindow& w = *m_grid;
        w.resize(1280, 920);
        QTest::qWait(250); // the plots' throttled replots
        for (auto measure : {kdui::SweepMeasure::Accuracy, kdui::SweepMeasure::GapRecovered}) {
            w.setMeasure(measure);
            QTest::qWait(150);
            const QPixmap shot = w.grab();
            QVERIFY(!shot.isNull());
            QVERIFY(shot.width() >= 1000);
            const QString name = measure == kdui::SweepMeasure::Accuracy ? "accuracy" : "gap";
            shot.save(savedPngDir() + "/sweep-" + name + ".png");
            // Not a blank window: the heatmap has coloured cells.
            const QImage map = w.heatmap()->grab().toImage();
            int coloured = 0;
            for (int y = 0; y < map.height(); y += 4)
                for (int x = 0; x < map.width(); x += 4) {
                    const QColor c = map.pixelColor(x, y);
                    if (std::abs(c.red() - c.blue()) > 40 || std::abs(c.green() - c.blue()) > 40)
                        ++coloured;
                }
            QVERIFY2(coloured > 50, qPrintable(QString::number(coloured)));
        }
        w.setMeasure(kdui::SweepMeasure::Accuracy);
        // The plots export like every other plot.
        const QString png = m_dir.filePath(QStringLiteral("heatmap.png"));
        QString error;
        QVERIFY2(w.heatmap()->savePlotPng(png, &error), qPrintable(error));
        QVERIFY(QFileInfo(png).size() > 0);
        QVERIFY2(w.linePlot()->savePlotPdf(m_dir.filePath(QStringLiteral("line.pdf")), &error),
                 qPrintable(error));
    }

    void restartClearsTheGrid() {
        if (!m_gridDone)
            QSKIP("the grid sweep did not run");
        SweepWindow& w = *m_grid;
        // A second sweep in the same window (the worker keeps its trainer): the default 4 x 3 grid.
        w.setTemperaturesText(QStringLiteral("1,2,4,8"));
        w.setAlphasText(QStringLiteral("0.1,0.5,0.9"));
        w.setSeeds(2);
        QVERIFY(runToEnd(w));
        QCOMPARE(w.finishedCells(), 24);
        QVERIFY(std::isnan(w.heatmapValue("mlp:16", 1, 0.2))); // the old grid is gone
        QVERIFY(std::isfinite(w.heatmapValue("mlp:16", 8, 0.9)));
        QVERIFY(w.cellText("mlp:16", 8, 0.9).contains(QStringLiteral(" \u00b1 ")));
        QCOMPARE(w.errorBarCount(), 12);
        QCOMPARE(w.linePlot()->lineCount(), 3);
        // The old selection is not in this grid: the curves show the cell trained last.
        QVERIFY(w.selectedRun() == nullptr);
        const kd::RunRecord* shown = w.shownRun();
        QVERIFY(shown != nullptr);
        QCOMPARE(shown->config.temperature, 8.0);
        QCOMPARE(shown->config.alpha, 0.9);
        QCOMPARE(shown->config.seed, m_base.seed + 1);
        QVERIFY(w.lossPlot()->pointCount(shown, kd::Role::Student, kdui::LossSeries::Batch) > 0);
        QCOMPARE(w.accuracyPlot()->pointCount(shown, kd::Role::Baseline), 1);
        // The engine reused the first sweep's teacher; its curves were kept for this sweep's cells.
        QCOMPARE(w.lossPlot()->pointCount(shown, kd::Role::Teacher, kdui::LossSeries::EpochTrain),
                 m_base.teacherEpochs);
        QVERIFY2(w.progressText().startsWith(QLatin1String("Done: 24 cells")), qPrintable(w.progressText()));
        QTest::qWait(250);
        QVERIFY(w.grab().save(savedPngDir() + "/sweep-full.png"));
        m_grid.reset();
    }

    // --- cancelling
    // -------------------------------------------------------------------------------------------

    void cancelKeepsFinishedCells() {
        SweepWindow w(m_slowBase); // the default grid: 4 T x 3 alphas
        w.show();
        QVERIFY(QTest::qWaitForWindowExposed(&w));
        QSignalSpy finished(&w, &SweepWindow::sweepFinished);
        QVERIFY(w.startSweep());
        QCOMPARE(w.totalCells(), 12);
        QTRY_VERIFY_WITH_TIMEOUT(w.finishedCells() >= 4 || !w.isRunning(), 120000);
        QVERIFY2(w.isRunning(), "the sweep ended before it could be cancelled");
        // Into the next cell's training.
        QTest::qWait(120);
        QVERIFY(w.grab().save(savedPngDir() + "/sweep-midrun.png"));
        QVERIFY2(w.progressText().startsWith(QLatin1String("cell ")), qPrintable(w.progressText()));
        QElapsedTimer clock;
        clock.start();
        w.cancelSweep();
        QVERIFY(!w.findChild<QPushButton*>("cancelButton")->isEnabled());
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 5000);
        const qint64 ms = clock.elapsed();
        QVERIFY2(ms < 2000, qPrintable(QStringLiteral("stopping took %1 ms").arg(ms)));
        QVERIFY(!w.isRunning());
        QCOMPARE(w.lastError(), QString());
        const int kept = w.finishedCells();
        QVERIFY(kept >= 4);
        QVERIFY(kept < w.totalCells());
        for (const kd::SweepRow& r : w.rows()) {
            QVERIFY(std::abs(w.heatmapValue(r.cell.student, r.cell.temperature, r.cell.alpha) -
                             r.testAccuracy) < 1e-12);
            QVERIFY(w.cellText(r.cell.student, r.cell.temperature, r.cell.alpha).endsWith(QLatin1Char('%')));
        }
        QVERIFY(w.findChild<QPushButton*>("startButton")->isEnabled());
        QVERIFY(w.findChild<QPushButton*>("saveButton")->isEnabled());
        QVERIFY2(w.progressText().contains(QLatin1String("Cancelled")), qPrintable(w.progressText()));
        // Nothing more arrives later.
        QTest::qWait(300);
        QCOMPARE(w.finishedCells(), kept);
        // The partial results save.
        QString error;
        QVERIFY2(w.saveResults(m_dir.filePath(QStringLiteral("results/partial")), &error), qPrintable(error));
        QCOMPARE(
            int(kd::readSweepCsv(m_dir.filePath(QStringLiteral("results/partial/sweep.csv")).toStdString())
                    .size()),
            kept);
    }

    void cancelAtOnceAndClosingStop() {
        SweepWindow w(m_slowBase);
        w.setTemperaturesText(QStringLiteral("1,2"));
        w.setAlphasText(QStringLiteral("0.5"));
        QSignalSpy finished(&w, &SweepWindow::sweepFinished);
        QVERIFY(w.startSweep());
        w.cancelSweep(); // before the worker even began
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 5000);
        QVERIFY(!w.isRunning());
        QVERIFY(w.finishedCells() < 2);

        // A new sweep after that runs normally (the earlier stop is forgotten).
        QVERIFY(runToEnd(w));
        QCOMPARE(w.finishedCells(), 2);

        // Closing the window during a sweep cancels it (its unsaved cells not asked about here: see
        // closingWithUnsavedResultsAsks).
        w.setAskToSave(false);
        w.setTemperaturesText(QStringLiteral("1,2,4,8"));
        w.setAlphasText(QStringLiteral("0.1,0.5,0.9"));
        w.show();
        QVERIFY(QTest::qWaitForWindowExposed(&w));
        finished.clear();
        QVERIFY(w.startSweep());
        QTRY_VERIFY_WITH_TIMEOUT(!w.rows().empty() || !w.isRunning(), 60000);
        QVERIFY2(w.isRunning(), "the sweep ended before the window was closed");
        w.close();
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 5000);
        QVERIFY(!w.isRunning());
    }

    // Closing throws the results away: finished cells not saved are asked about; Cancel keeps the window,
    // Discard closes it; saved results close without a question.
    void closingWithUnsavedResultsAsks() {
        SweepWindow w(m_base);
        w.setTemperaturesText(QStringLiteral("2"));
        w.setAlphasText(QStringLiteral("0.5"));
        QVERIFY(runToEnd(w));
        QVERIFY(w.hasUnsavedResults());
        w.show();
        QVERIFY(QTest::qWaitForWindowExposed(&w));
        auto answer = [](QMessageBox::StandardButton button, QString* text) {
            QTimer::singleShot(0, [button, text] {
                QTRY_VERIFY(qobject_cast<QMessageBox*>(QApplication::activeModalWidget()) != nullptr);
                auto* box = qobject_cast<QMessageBox*>(QApplication::activeModalWidget());
                *text = box->text();
                box->button(button)->click();
            });
        };
        QString question;
        answer(QMessageBox::Cancel, &question);
        QVERIFY(!w.close());
        QVERIFY2(question.contains("1 finished cell(s) of this sweep are not saved"), qPrintable(question));
        QVERIFY(w.isVisible());
        QTemporaryDir dir;
        QVERIFY(w.saveResults(dir.path()));
        QVERIFY(!w.hasUnsavedResults());
        QVERIFY(w.close()); // saved: no question
        w.show();
        QVERIFY(QTest::qWaitForWindowExposed(&w));
        QVERIFY(runToEnd(w));
        answer(QMessageBox::Discard, &question);
        QVERIFY(w.close());
    }

    void destroyingWhileRunningStops() {
        QElapsedTimer clock;
        auto w = std::make_unique<SweepWindow>(m_slowBase);
        QVERIFY(w->startSweep());
        QTRY_VERIFY_WITH_TIMEOUT(w->finishedCells() >= 1, 60000);
        QVERIFY(w->isRunning());
        clock.start();
        w.reset(); // requestStop + quit + wait
        QVERIFY2(clock.elapsed() < 3000, qPrintable(QString::number(clock.elapsed())));
    }

    void failedSweepIsReported() {
        kd::ExperimentConfig base = m_base;
        base.dataset = ("idx:" + m_dir.filePath(QStringLiteral("no-such-folder"))).toStdString();
        SweepWindow w(base);
        w.setTemperaturesText(QStringLiteral("2"));
        w.setAlphasText(QStringLiteral("0.5"));
        QCOMPARE(w.validationError(), QString()); // a folder is only read when the sweep runs
        QVERIFY(runToEnd(w, 30000));
        QVERIFY2(w.lastError().contains(QLatin1String("no-such-folder")), qPrintable(w.lastError()));
        QVERIFY(!w.lastError().contains(QLatin1Char('\n')));
        QVERIFY(w.findChild<QLabel*>("validationError")->text().contains(w.lastError()));
        QCOMPARE(w.finishedCells(), 0);
        QVERIFY(!w.isRunning());
        QVERIFY(w.findChild<QPushButton*>("startButton")->isEnabled());
        QVERIFY(!w.findChild<QPushButton*>("saveButton")->isEnabled());
        // Fixed: the next sweep runs and clears the message.
        w.setBaseConfig(m_base);
        QVERIFY(runToEnd(w));
        QCOMPARE(w.lastError(), QString());
        QCOMPARE(w.finishedCells(), 1);
        QVERIFY(w.findChild<QLabel*>("validationError")->isHidden());
    }

    // --- several students
    // -------------------------------------------------------------------------------------

    void severalStudentsHaveTheirOwnGrid() {
        SweepWindow w(m_base);
        w.setTemperaturesText(QStringLiteral("2"));
        w.setAlphasText(QStringLiteral("0.3,0.7"));
        w.setStudentsText(QStringLiteral("mlp:8;mlp:16"));
        auto* combo = w.findChild<QComboBox*>("student");
        QCOMPARE(combo->count(), 2);
        QVERIFY(runToEnd(w));
        QCOMPARE(w.finishedCells(), 4);
        // The student shown before (the experiment's) stays shown.
        QCOMPARE(w.shownStudent(), std::string("mlp:16"));
        QCOMPARE(combo->currentText(), QStringLiteral("mlp:16"));
        for (const std::string student : {"mlp:8", "mlp:16"})
            for (double a : {0.3, 0.7}) {
                const std::vector<kd::SweepRow> rows = rowsAt(w.rows(), student, 2, a);
                QCOMPARE(int(rows.size()), 1);
                QCOMPARE(w.heatmapValue(student, 2, a), rows[0].testAccuracy);
                QCOMPARE(w.shownStudent(), student); // reading another student's cell shows its grid
                QCOMPARE(combo->currentText(), QString::fromStdString(student));
                QVERIFY(w.referenceText().contains(
                    QStringLiteral("baseline %1%")
                        .arg(QString::number(rows[0].baselineAccuracy * 100, 'f', 1))));
            }
        combo->setCurrentIndex(0);
        QCOMPARE(w.shownStudent(), std::string("mlp:8"));
        QVERIFY(w.selectCell("mlp:16", 2, 0.7));
        QCOMPARE(w.shownStudent(), std::string("mlp:16"));
        QVERIFY(w.selectedRun() != nullptr);
        QCOMPARE(w.selectedRun()->config.student, std::string("mlp:16"));
        QVERIFY(!w.selectedRun()->result.history.empty());
    }

    // --- the worker on its own
    // --------------------------------------------------------------------------------

    void workerReportsEveryCell() {
        kdui::registerSweepMetaTypes();
        QThread thread;
        auto* worker = new kdui::SweepWorker;
        worker->moveToThread(&thread);
        connect(&thread, &QThread::finished, worker, &QObject::deleteLater);
        thread.start();
        std::vector<int> started;
        std::vector<kd::SweepRow> rows;
        int batches = 0, epochs = 0, studentEpochsWhileRunning = 0;
        bool inCell = false;
        std::optional<bool> stopped;
        QString failure;
        connect(worker, &kdui::SweepWorker::cellStarted, this, [&](const kd::SweepCell& c, int, int count) {
            started.push_back(c.index);
            QCOMPARE(count, 2);
            inCell = true;
        });
        connect(worker, &kdui::SweepWorker::batchReported, this, [&](const kd::BatchMetrics&) { ++batches; });
        connect(worker, &kdui::SweepWorker::epochReported, this, [&](const kd::EpochMetrics& m) {
            ++epochs;
            if (m.role == kd::Role::Student && inCell)
                ++studentEpochsWhileRunning;
        });
        connect(worker, &kdui::SweepWorker::cellFinished, this,
                [&](const kd::SweepRow& r, const kd::ExperimentResult& result) {
                    rows.push_back(r);
                    QCOMPARE(result.student.testAccuracy, r.testAccuracy);
                    inCell = false;
                });
        connect(worker, &kdui::SweepWorker::finished, this, [&](bool s) { stopped = s; });
        connect(worker, &kdui::SweepWorker::failed, this, [&](const QString& m) { failure = m; });

        kd::SweepPlan plan;
        plan.base = m_base;
        plan.temperatures = {1, 3};
        plan.alphas = {0.5};
        QMetaObject::invokeMethod(worker, "start", Qt::QueuedConnection, Q_ARG(kd::SweepPlan, plan));
        QTRY_VERIFY_WITH_TIMEOUT(stopped.has_value() || !failure.isEmpty(), 120000);
        QCOMPARE(failure, QString());
        QCOMPARE(*stopped, false);
        QCOMPARE(started, (std::vector<int>{0, 1}));
        QCOMPARE(int(rows.size()), 2);
        QVERIFY(batches > 0);
        QVERIFY(epochs >= m_base.teacherEpochs + 1 + 2);
        QCOMPARE(studentEpochsWhileRunning, 2);
        QVERIFY(!worker->isRunning());

        // A plan the engine refuses: failed() with the message, no finished().
        stopped.reset();
        plan.alphas = {2};
        QMetaObject::invokeMethod(worker, "start", Qt::QueuedConnection, Q_ARG(kd::SweepPlan, plan));
        QTRY_VERIFY_WITH_TIMEOUT(!failure.isEmpty(), 30000);
        QVERIFY2(failure.contains(QLatin1String("alpha")), qPrintable(failure));
        QVERIFY(!stopped.has_value());

        worker->requestStop();
        thread.quit();
        thread.wait();
    }
};

QTEST_MAIN(TestSweepWindow)
#include "tst_sweepwindow.moc"
