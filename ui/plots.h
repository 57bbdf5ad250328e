#pragma once

#include "kdcore/experimentfile.h"
#include "kdcore/stats.h"

#include <qcustomplot.h>

#include <QPointer>
#include <QString>
#include <QTimer>
#include <QVector>

#include <functional>
#include <initializer_list>
#include <memory>

namespace kdui {

// The house style of an axis: grey pens, light grid without sub-grid or zero line, `labelFont` for its label.
void styleAxis(QCPAxis* axis, const QFont& labelFont);

// `text` with its lines broken between words where wider than `room` pixels in `metrics` (room <= 0: as is).
QString wrapWords(const QString& text, const QFontMetrics& metrics, int room);

// Axis tick labels as percent of values on a 0..1 scale, with as many decimals as the tick step needs (80%,
// 82.5%, never a rounded "83%").
class PercentTicker : public QCPAxisTicker {
protected:
    double getTickStep(const QCPRange& range) override;
    QString getTickLabel(double tick, const QLocale& locale, QChar formatChar, int precision) override;

private:
    double m_step = 0.1;
};

// One colour per role, shared by every plot and the run list; each shown run gets its own line style.
QColor roleColor(kd::Role role);
QString roleLabel(kd::Role role); // "teacher", "baseline", "distilled"
QString roleTitle(kd::Role role); // "Teacher", "Baseline student", "Distilled student"

// A 256-level colour gradient through `stops` (position 0..1, colour); NaN cells transparent when asked.
QCPColorGradient colorGradient(std::initializer_list<std::pair<double, QColor>> stops,
                               bool nanTransparent = false);

// A CSV field, quoted when it holds a comma, quote or line break (the plots' "Save data as CSV").
QString csvField(const QString& text);
// 9,800 / 50.2k / 102k / 1.23M: parameter counts where there is little room.
QString compactCount(qint64 value);

// A QCustomPlot that replots at most ~30 times a second (markDirty(); a timer does one rpQueuedReplot when
// something changed), and offers on right click: "Save as PNG...", "Save as PDF...", "Save data as CSV...".
class PlotBase : public QCustomPlot {
    Q_OBJECT
public:
    explicit PlotBase(QWidget* parent = nullptr);

    // Each returns false and sets *error to a one-line message naming the path on failure ("PATH: cannot
    // write PNG (...)"). Nothing half-written is left behind: CSV goes through QSaveFile, PNG (at twice the
    // widget's resolution) and PDF (QCustomPlot::savePng/savePdf) into a temporary file next to PATH, then
    // renamed.
    bool savePlotPng(const QString& path, QString* error = nullptr);
    bool savePlotPdf(const QString& path, QString* error = nullptr);
    bool saveDataCsv(const QString& path, QString* error = nullptr);

    // The plotted data: a header line, then one row per point.
    virtual QString dataCsv() const = 0;

    void markDirty();                             // schedule a replot (throttled)
    int replotCount() const { return m_replots; } // replots done by the throttle (tests)
    QString hint() const;                         // the text shown in an empty plot, else empty

Q_SIGNALS:
    void errorOccurred(const QString& message); // a save from the context menu failed

protected:
    // Sets the axis ranges (and anything else derived from all the data) before a throttled replot or an
    // export. Cheap enough to run 30 times a second; add* functions only append data and call markDirty().
    // Sets `full` as the axis's label, its " (...)" part on a second line where the axis (laid out at the
    // plot's current size) is shorter than the label: a small window or 200% cut both ends of it.
    void setFittedAxisLabel(QCPAxis* axis, const QString& full);
    virtual void rescaleAll();
    void resizeEvent(QResizeEvent* event) override;
    // File name (without suffix) the context menu proposes, e.g. "loss-curves".
    void setExportBaseName(const QString& name) { m_exportBaseName = name; }
    // The "Press Start to train" style text in the middle of an empty plot (empty hides it).
    void setHint(const QString& text);

private:
    bool saveRendered(const QString& path, const QString& format, QString* error,
                      const std::function<bool(const QString& tmp, int width, int height)>& render);
    void replotNow();
    void showContextMenu(const QPoint& pos);
    void saveFromMenu(const QString& kind);
    QTimer m_replotTimer;
    bool m_dirty = false;
    int m_replots = 0;
    QString m_exportBaseName = QStringLiteral("plot");
    QPointer<QCPItemText> m_hint;
};

// Which curve of a model.
enum class LossSeries { Batch, EpochTrain, EpochTest, Soft, Hard };

// Loss per batch (smoothed, thin) and per epoch (train: filled markers, test: hollow markers, dashed for a
// single run) for teacher, baseline and distilled student of every shown run; optionally the distilled
// student's soft (KL) and hard (CE) parts; and vertical markers where T or alpha was changed. x: epochs of
// each model (see kd::BatchPoint), 0 to the most epochs of the shown runs. y: linear from 0, fitted to the
// per-epoch points and to the per-batch curves after their first 0.25-0.5 epoch (the steep start leaves
// through the top), plus room at the top for the legend.
class LossCurvePlot : public PlotBase {
    Q_OBJECT
public:
    explicit LossCurvePlot(QWidget* parent = nullptr);

    // Rebuilds every graph from these runs (pointers stay owned by the caller and valid until the next call).
    void setRuns(const QVector<const kd::RunRecord*>& runs);
    // Incremental updates for a shown run (ignored for a run not shown).
    void addBatchPoint(const kd::RunRecord* run, const kd::BatchPoint& point);
    void addEpoch(const kd::RunRecord* run, const kd::EpochMetrics& metrics);
    void addMarker(const kd::RunRecord* run, const kd::ParameterMarker& marker);

    void setShowLossParts(bool show);
    bool showLossParts() const { return m_showParts; }

    int pointCount(const kd::RunRecord* run, kd::Role role, LossSeries series) const; // tests
    int markerCount() const;                                                          // tests
    QString dataCsv() const override;

protected:
    void rescaleAll() override;

private:
    void rebuild();
    void rebuildLegend();
    void layoutMarkerLabels();
    struct Impl;
    std::shared_ptr<Impl> d;
    bool m_showParts = false;
};

// Test accuracy per epoch for the three models of every shown run; y fitted to the data (within 0-100%,
// percent tick labels), with room at the bottom for the legend.
class AccuracyPlot : public PlotBase {
    Q_OBJECT
public:
    explicit AccuracyPlot(QWidget* parent = nullptr);
    void setRuns(const QVector<const kd::RunRecord*>& runs);
    void addEpoch(const kd::RunRecord* run, const kd::EpochMetrics& metrics);
    int pointCount(const kd::RunRecord* run, kd::Role role) const; // tests
    QString dataCsv() const override;

protected:
    void rescaleAll() override;

private:
    struct Impl;
    std::shared_ptr<Impl> d;
};

// Final (or latest) test accuracy of teacher / baseline / distilled as bars, one group per shown run,
// labelled with parameter counts; per run the distilled-vs-baseline difference with its 95% interval and
// McNemar p (once the run has its paired tests), and "gap recovered" = (err_baseline - err_distilled) /
// (err_baseline - err_teacher) only where the teacher is significantly better than the baseline; otherwise it
// says in plain words that the teacher's lead is within the noise, or that it has none (the primary run's as
// the title, the others under their names). y: from a round 5% below the lowest bar to 100%, the axis label
// saying where it starts.
class AccuracyBarChart : public PlotBase {
    Q_OBJECT
public:
    explicit AccuracyBarChart(QWidget* parent = nullptr);
    void setRuns(const QVector<const kd::RunRecord*>& runs);
    void updateRun(const kd::RunRecord* run);                       // re-reads the run's latest accuracies
    double barValue(const kd::RunRecord* run, kd::Role role) const; // tests; -1 when no bar
    QString gapText(const kd::RunRecord* run) const;                // tests: the text shown for the run
    QFont titleFont() const;   // the font the title is drawn in now (smaller when narrow)
    QString titleText() const; // tests: as drawn, maybe on two lines
    QString dataCsv() const override;

protected:
    void rescaleAll() override;

private:
    void rebuildBars();
    void fitAxisLabel();
    void fitTitle();
    struct Impl;
    std::shared_ptr<Impl> d;
};

// The latest test accuracy of a model in a run: its final result once trained, else its last epoch so far;
// -1 when it has none yet. Shared by the bar chart and the run list.
double latestAccuracy(const kd::RunRecord* run, kd::Role role);

// The run's paired tests on the test images in full, one line each ("distilled vs baseline: +1.23 points (95%
// CI +0.61 to +1.85), McNemar p = 0.0004 on 10,000 test images", then the teacher's), then the gap recovered
// or why there is none; empty before the run has them (in progress, or an older file). The run list's
// tooltip.
QString comparisonsText(const kd::ExperimentResult& result);

// The text shown for "gap recovered" given final accuracies (0..1), for a run without paired tests (in
// progress, or from an older file); tests.
QString gapRecoveredText(double teacherAccuracy, double baselineAccuracy, double studentAccuracy);
// The same with the teacher-vs-baseline paired test (kd::gapVerdict decides): a percentage only where the
// gap is real, else a short "no gap: ..." in words.
QString gapRecoveredText(const kd::PairedTest& teacherVsBaseline, double teacherAccuracy,
                         double baselineAccuracy, double studentAccuracy);
// A run's verdict as the bar chart's title shows it: "distilled vs baseline: +1.23 points (95% CI +0.61 to
// +1.85, p = 0.0004); gap recovered: 40%" (the first part once the run has its paired tests).
QString runVerdictText(const kd::ExperimentResult& result, double teacherAccuracy, double baselineAccuracy,
                       double studentAccuracy);

} // namespace kdui
