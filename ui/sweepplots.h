#pragma once
// The sweep window's two plots: a heatmap of one student's grid (temperature x alpha) and a line chart of
// accuracy against T, one line per alpha with error bars, against the baseline and the teacher.

#include "kdcore/sweep.h"
#include "plots.h"

#include <memory>
#include <vector>

namespace kdui {

// What the heatmap colours: the distilled student's mean test accuracy, or the mean gap recovered.
enum class SweepMeasure { Accuracy, GapRecovered };

// The reference the grid is read against: the same student trained on labels only (one baseline per seed),
// and the teacher.
struct SweepReference {
    int baselineSeeds = 0; // 0: no baseline finished yet
    double baselineMean = 0, baselineStd = 0;
    bool hasTeacher = false;
    double teacher = 0;
};

// One student's grid: columns are the temperatures, rows the alphas, both in the plan's order.
struct SweepGrid {
    QString student;
    std::vector<double> temperatures, alphas;
    std::vector<kd::SweepSummaryCell> cells; // finished grid points, any order; the others are blank
    SweepReference reference;

    int indexOfTemperature(double t) const; // -1 when not in the grid
    int indexOfAlpha(double alpha) const;
    const kd::SweepSummaryCell* find(int tIndex, int alphaIndex) const; // null when blank
};

// The value the heatmap shows for a finished grid point (0..1 scale; NaN when the gap is undefined) and its
// text: "88.1%" for one seed, "88.1 ± 0.3" (percent points, sample std) for several, "62%" or "n/a" for the
// gap recovered.
double sweepCellValue(const kd::SweepSummaryCell& cell, SweepMeasure measure);
QString sweepCellText(const kd::SweepSummaryCell& cell, SweepMeasure measure);
// "87.6%" / "87.6 ± 0.2%": a mean (0..1) and its std over `seeds` seeds.
QString sweepMeanText(double mean, double stddev, int seeds);

// A QCPColorMap over T (x, one labelled column per temperature) x alpha (y, one row per alpha), with a colour
// scale and each cell's text. Cells not finished yet are blank (NaN, drawn transparent); the cell being
// trained says so. A left click on a cell emits cellClicked().
class SweepHeatmap : public PlotBase {
    Q_OBJECT
public:
    explicit SweepHeatmap(QWidget* parent = nullptr);
    ~SweepHeatmap() override;

    void setGrid(const SweepGrid& grid, SweepMeasure measure);
    void setSelectedCell(int tIndex, int alphaIndex); // -1, -1: none
    void setRunningCell(int tIndex, int alphaIndex);  // -1, -1: none

    // Read back from the colour map's data (NaN when blank or out of range) and the cell's text item.
    double cellValue(int tIndex, int alphaIndex) const;
    QString cellText(int tIndex, int alphaIndex) const;
    QPoint cellCenter(int tIndex, int alphaIndex) const; // widget pixels, after a layout (tests)
    QCPColorMap* colorMap() const;
    QString title() const;
    QString dataCsv() const override;

Q_SIGNALS:
    void cellClicked(int tIndex, int alphaIndex);

protected:
    void rescaleAll() override;

private:
    void rebuildCells();
    void updateFonts();
    struct Impl;
    std::shared_ptr<Impl> d;
};

// Test accuracy against T (categorical x, the plan's order), one line per alpha with error bars of ± one
// sample standard deviation over seeds (grid points with two or more finished seeds), plus the baseline's
// mean (dashed, with a ± std band) and the teacher (dash-dot) as horizontal lines.
class SweepLinePlot : public PlotBase {
    Q_OBJECT
public:
    explicit SweepLinePlot(QWidget* parent = nullptr);
    ~SweepLinePlot() override;

    void setGrid(const SweepGrid& grid);
    int lineCount() const;     // one per alpha with at least one finished point
    int errorBarCount() const; // points drawn with an error bar (two or more seeds), all lines
    QString dataCsv() const override;

protected:
    void rescaleAll() override;

private:
    struct Impl;
    std::shared_ptr<Impl> d;
};

} // namespace kdui
