#include "sweepplots.h"

#include <QMouseEvent>

#include <algorithm>
#include <cmath>
#include <limits>

namespace kdui {

namespace {

const QColor kTextColor(0x30, 0x30, 0x30);
const QColor kMutedColor(0x80, 0x80, 0x80);
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

bool sameNumber(double a, double b) {
    return std::abs(a - b) <= 1e-9 * std::max({1.0, std::abs(a), std::abs(b)});
}

QString numberText(double v) {
    return QString::number(v, 'g', 6);
}

QString csvNumber(double v) {
    return std::isfinite(v) ? QString::number(v, 'g', 8) : QString();
}

// Accuracy: light yellow to green to dark blue (ColorBrewer YlGnBu), higher is darker.
QCPColorGradient accuracyGradient() {
    return colorGradient({{0.0, QColor(255, 255, 217)},
                          {0.25, QColor(199, 233, 180)},
                          {0.5, QColor(65, 182, 196)},
                          {0.75, QColor(34, 94, 168)},
                          {1.0, QColor(8, 29, 88)}},
                         /*nanTransparent=*/true);
}

// Gap recovered: diverging around 0 (orange: distillation hurt, white: no change, blue: it helped).
QCPColorGradient gapGradient() {
    return colorGradient({{0.0, QColor(179, 88, 6)},
                          {0.25, QColor(253, 184, 99)},
                          {0.5, QColor(247, 247, 247)},
                          {0.75, QColor(146, 197, 222)},
                          {1.0, QColor(5, 48, 97)}},
                         /*nanTransparent=*/true);
}

bool isDark(QRgb rgb) {
    return 0.299 * qRed(rgb) + 0.587 * qGreen(rgb) + 0.114 * qBlue(rgb) < 140;
}

// One colour and marker per alpha line (Okabe-Ito, without the baseline's blue and the teacher's black).
QColor alphaColor(int i) {
    static const QColor colors[] = {QColor(0xE6, 0x9F, 0x00), QColor(0x00, 0x9E, 0x73),
                                    QColor(0xCC, 0x79, 0xA7), QColor(0x56, 0xB4, 0xE9),
                                    QColor(0xD5, 0x5E, 0x00), QColor(0x99, 0x99, 0x99),
                                    QColor(0x8C, 0x6D, 0x31)};
    return colors[i % 7];
}

QCPScatterStyle::ScatterShape alphaShape(int i) {
    static const QCPScatterStyle::ScatterShape shapes[] = {
        QCPScatterStyle::ssCircle,  QCPScatterStyle::ssSquare,           QCPScatterStyle::ssTriangle,
        QCPScatterStyle::ssDiamond, QCPScatterStyle::ssTriangleInverted, QCPScatterStyle::ssCross};
    return shapes[i % 6];
}

QCPTextElement* addTitle(QCustomPlot* plot) {
    QFont titleFont = plot->font();
    titleFont.setPointSizeF(titleFont.pointSizeF() + 1.5);
    titleFont.setBold(true);
    plot->plotLayout()->insertRow(0);
    auto* title = new QCPTextElement(plot, QString(), titleFont);
    title->setTextColor(kTextColor);
    title->setMargins(QMargins(6, 6, 6, 2));
    plot->plotLayout()->addElement(0, 0, title);
    plot->plotLayout()->setRowStretchFactor(0, 0.001);
    return title;
}

} // namespace

// ---------------------------------------------------------------------------------------------------------
// SweepGrid and cell texts

int SweepGrid::indexOfTemperature(double t) const {
    for (std::size_t i = 0; i < temperatures.size(); ++i)
        if (sameNumber(temperatures[i], t))
            return int(i);
    return -1;
}

int SweepGrid::indexOfAlpha(double alpha) const {
    for (std::size_t i = 0; i < alphas.size(); ++i)
        if (sameNumber(alphas[i], alpha))
            return int(i);
    return -1;
}

const kd::SweepSummaryCell* SweepGrid::find(int tIndex, int alphaIndex) const {
    if (tIndex < 0 || alphaIndex < 0 || tIndex >= int(temperatures.size()) ||
        alphaIndex >= int(alphas.size()))
        return nullptr;
    for (const kd::SweepSummaryCell& c : cells)
        if (sameNumber(c.temperature, temperatures[std::size_t(tIndex)]) &&
            sameNumber(c.alpha, alphas[std::size_t(alphaIndex)]))
            return &c;
    return nullptr;
}

double sweepCellValue(const kd::SweepSummaryCell& cell, SweepMeasure measure) {
    if (measure == SweepMeasure::Accuracy)
        return cell.meanAccuracy;
    return std::isfinite(cell.meanGapRecovered) ? cell.meanGapRecovered : kNaN;
}

QString sweepCellText(const kd::SweepSummaryCell& cell, SweepMeasure measure) {
    if (measure == SweepMeasure::GapRecovered) {
        if (!std::isfinite(cell.meanGapRecovered))
            return QStringLiteral("n/a");
        double percent = std::round(cell.meanGapRecovered * 100);
        if (percent == 0)
            percent = 0; // no "-0%"
        return QString::number(percent, 'f', 0) + QLatin1Char('%');
    }
    if (cell.seeds >= 2)
        return QStringLiteral("%1 \u00b1 %2")
            .arg(QString::number(cell.meanAccuracy * 100, 'f', 1),
                 QString::number(cell.stdAccuracy * 100, 'f', 1));
    return QString::number(cell.meanAccuracy * 100, 'f', 1) + QLatin1Char('%');
}

QString sweepMeanText(double mean, double stddev, int seeds) {
    if (seeds >= 2)
        return QStringLiteral("%1 \u00b1 %2%")
            .arg(QString::number(mean * 100, 'f', 1), QString::number(stddev * 100, 'f', 1));
    return QString::number(mean * 100, 'f', 1) + QLatin1Char('%');
}

// ---------------------------------------------------------------------------------------------------------
// SweepHeatmap

struct SweepHeatmap::Impl {
    QCPTextElement* title = nullptr;
    QCPColorMap* map = nullptr;
    QCPColorScale* scale = nullptr;
    QString scaleLabel; // the colour scale's label on one line (two where the scale is short)
    QSharedPointer<QCPAxisTickerText> xTicker, yTicker;
    QVector<QCPItemText*> texts;  // index t * alphas + a
    QVector<QCPItemRect*> frames; // white borders between the cells
    QCPItemRect* selection = nullptr;
    SweepGrid grid;
    SweepMeasure measure = SweepMeasure::Accuracy;
    int columns = 0, rows = 0;
    int selectedT = -1, selectedA = -1;
    int runningT = -1, runningA = -1;

    int textIndex(int t, int a) const { return t * rows + a; }
    bool inGrid(int t, int a) const { return t >= 0 && a >= 0 && t < columns && a < rows; }
};

SweepHeatmap::SweepHeatmap(QWidget* parent)
    : PlotBase(parent)
    , d(std::make_shared<Impl>()) {
    setExportBaseName(QStringLiteral("sweep-heatmap"));
    setMinimumSize(340, 260);
    d->title = addTitle(this);
    QFont labelFont = font();
    labelFont.setPointSizeF(labelFont.pointSizeF() + 0.5);
    for (QCPAxis* axis : {xAxis, yAxis}) {
        styleAxis(axis, labelFont);
        axis->setBasePen(Qt::NoPen);
        axis->setTickLength(0, 0);
        axis->setSubTicks(false);
        axis->grid()->setVisible(false);
    }
    d->xTicker = QSharedPointer<QCPAxisTickerText>::create();
    d->yTicker = QSharedPointer<QCPAxisTickerText>::create();
    xAxis->setTicker(d->xTicker);
    yAxis->setTicker(d->yTicker);
    xAxis->setLabel(tr("temperature T"));
    setFittedAxisLabel(yAxis, tr("alpha (weight of the soft targets)"));
    // Unfinished cells: light grey hatching, unlike any colour of either gradient (the gap's white included).
    axisRect()->setBackground(QBrush(QColor(205, 205, 205), Qt::BDiagPattern));

    d->map = new QCPColorMap(xAxis, yAxis);
    d->map->setInterpolate(false);
    d->map->setTightBoundary(false);
    d->map->setSelectable(QCP::stNone);
    d->scale = new QCPColorScale(this);
    d->scale->setType(QCPAxis::atRight);
    d->scale->setBarWidth(12);
    d->scale->axis()->setTicker(QSharedPointer<PercentTicker>::create());
    d->scale->axis()->setTickLabelColor(kTextColor);
    d->scale->axis()->setLabelColor(kTextColor);
    plotLayout()->addElement(1, 1, d->scale);
    d->map->setColorScale(d->scale);
    d->map->setGradient(accuracyGradient());
    auto* margins = new QCPMarginGroup(this);
    axisRect()->setMarginGroup(QCP::msTop | QCP::msBottom, margins);
    d->scale->setMarginGroup(QCP::msTop | QCP::msBottom, margins);

    d->selection = new QCPItemRect(this);
    d->selection->setPen(QPen(QColor(0x20, 0x20, 0x20), 3));
    d->selection->setBrush(Qt::NoBrush);
    d->selection->setSelectable(false);
    d->selection->setVisible(false);

    // Cell texts follow the cell size (items do not change the layout, so this cannot loop).
    connect(this, &QCustomPlot::afterLayout, this, [this] { updateFonts(); });
    connect(this, &QCustomPlot::mousePress, this, [this](QMouseEvent* event) {
        if (event->button() != Qt::LeftButton || d->columns == 0 || d->rows == 0)
            return;
        const QPointF pos = event->position();
        if (!axisRect()->rect().contains(pos.toPoint()))
            return;
        const int t = int(std::lround(xAxis->pixelToCoord(pos.x())));
        const int a = int(std::lround(yAxis->pixelToCoord(pos.y())));
        if (d->inGrid(t, a))
            Q_EMIT cellClicked(t, a);
    });
    setHint(tr("Press Start to run the sweep"));
}

SweepHeatmap::~SweepHeatmap() = default;

QCPColorMap* SweepHeatmap::colorMap() const {
    return d->map;
}

QString SweepHeatmap::title() const {
    return d->title->text();
}

void SweepHeatmap::rebuildCells() {
    for (QCPItemText* text : d->texts)
        removeItem(text);
    for (QCPItemRect* rect : d->frames)
        removeItem(rect);
    d->texts.clear();
    d->frames.clear();
    const int nT = d->columns, nA = d->rows;
    // QCPColorMap centres the first and last cells on the ends of the data range (drawing half a cell beyond
    // them); a single cell, which has no such half cells, spans its range.
    auto cellRange = [](int n) { return n > 1 ? QCPRange(0, n - 1) : QCPRange(-0.5, 0.5); };
    d->map->data()->setSize(std::max(1, nT), std::max(1, nA));
    d->map->data()->setRange(cellRange(nT), cellRange(nA));
    d->map->data()->fill(kNaN);
    xAxis->setRange(-0.5, std::max(1, nT) - 0.5);
    yAxis->setRange(-0.5, std::max(1, nA) - 0.5);
    d->xTicker->clear();
    d->yTicker->clear();
    for (int t = 0; t < nT; ++t)
        d->xTicker->addTick(t, numberText(d->grid.temperatures[std::size_t(t)]));
    for (int a = 0; a < nA; ++a)
        d->yTicker->addTick(a, numberText(d->grid.alphas[std::size_t(a)]));
    for (int t = 0; t < nT; ++t) {
        for (int a = 0; a < nA; ++a) {
            auto* frame = new QCPItemRect(this);
            frame->topLeft->setCoords(t - 0.5, a + 0.5);
            frame->bottomRight->setCoords(t + 0.5, a - 0.5);
            frame->setPen(QPen(Qt::white, 2));
            frame->setBrush(Qt::NoBrush);
            frame->setSelectable(false);
            d->frames << frame;
            auto* text = new QCPItemText(this);
            text->position->setType(QCPItemPosition::ptPlotCoords);
            text->position->setCoords(t, a);
            text->setPositionAlignment(Qt::AlignCenter);
            text->setSelectable(false);
            d->texts << text;
        }
    }
    // The selection frame above the cell frames.
    d->selection->setLayer(QStringLiteral("overlay"));
}

void SweepHeatmap::setGrid(const SweepGrid& grid, SweepMeasure measure) {
    const bool reshaped = grid.temperatures != d->grid.temperatures || grid.alphas != d->grid.alphas;
    d->grid = grid;
    d->measure = measure;
    if (reshaped) {
        d->columns = int(grid.temperatures.size());
        d->rows = int(grid.alphas.size());
        rebuildCells();
        if (!d->inGrid(d->selectedT, d->selectedA))
            d->selectedT = d->selectedA = -1;
        if (!d->inGrid(d->runningT, d->runningA))
            d->runningT = d->runningA = -1;
    }
    const bool accuracy = measure == SweepMeasure::Accuracy;
    d->map->setGradient(accuracy ? accuracyGradient() : gapGradient());
    d->scaleLabel = accuracy ? tr("mean test accuracy") : tr("mean gap recovered");
    const QString student = grid.student.isEmpty() ? QString() : grid.student + QStringLiteral(" \u00b7 ");
    d->title->setText(accuracy ? student + tr("distilled student's test accuracy")
                               : student + tr("gap recovered by distillation"));

    // Values, and the colour range over the finished cells.
    double lo = std::numeric_limits<double>::infinity(), hi = -lo;
    int finished = 0;
    double baselineSum = 0;
    int baselines = 0;
    for (int t = 0; t < d->columns; ++t) {
        for (int a = 0; a < d->rows; ++a) {
            const kd::SweepSummaryCell* cell = grid.find(t, a);
            const double v = cell ? sweepCellValue(*cell, measure) : kNaN;
            d->map->data()->setCell(t, a, v);
            if (cell) {
                ++finished;
                if (std::isfinite(cell->meanBaseline) && cell->meanBaseline > 0) {
                    baselineSum += cell->meanBaseline;
                    ++baselines;
                }
            }
            if (std::isfinite(v)) {
                lo = std::min(lo, v);
                hi = std::max(hi, v);
            }
        }
    }
    QCPRange range;
    if (!std::isfinite(lo)) {
        range = accuracy ? QCPRange(0, 1) : QCPRange(-1, 1);
    } else if (accuracy && baselines > 0) {
        // Centred on the baseline (white): a cell below it can never take a "good" colour.
        const double b = baselineSum / baselines;
        const double m = std::max({std::abs(lo - b), std::abs(hi - b), 0.0025});
        range = QCPRange(b - m, b + m);
    } else if (accuracy) {
        const double pad = std::max(0.0025, 0.02 * (hi - lo));
        range = QCPRange(std::max(0.0, lo - pad), std::min(1.0, hi + pad));
    } else {
        const double m = std::max({std::abs(lo), std::abs(hi), 0.05});
        range = QCPRange(-m, m); // white at 0: no better than the baseline
    }
    if (accuracy && baselines > 0) {
        d->map->setGradient(gapGradient()); // orange below the baseline, white at it, blue above
        d->scaleLabel = tr("mean test accuracy (white: the baseline's %1%)")
                            .arg(baselineSum / baselines * 100, 0, 'f', 1);
    }
    setFittedAxisLabel(d->scale->axis(), d->scaleLabel);
    d->map->setDataRange(range);

    QCPColorGradient gradient = d->map->gradient();
    for (int t = 0; t < d->columns; ++t) {
        for (int a = 0; a < d->rows; ++a) {
            QCPItemText* text = d->texts[d->textIndex(t, a)];
            const kd::SweepSummaryCell* cell = grid.find(t, a);
            if (cell) {
                const double v = sweepCellValue(*cell, measure);
                text->setText(sweepCellText(*cell, measure));
                text->setColor(std::isfinite(v) && isDark(gradient.color(v, range)) ? Qt::white : kTextColor);
            } else if (t == d->runningT && a == d->runningA) {
                text->setText(tr("training\u2026"));
                text->setColor(kMutedColor);
            } else {
                text->setText(QString());
            }
        }
    }
    setHint(d->columns > 0 && finished == 0 && d->runningT < 0 ? tr("Press Start to run the sweep")
                                                               : QString());
    setSelectedCell(d->selectedT, d->selectedA); // markDirty()
}

void SweepHeatmap::setSelectedCell(int tIndex, int alphaIndex) {
    if (!d->inGrid(tIndex, alphaIndex))
        tIndex = alphaIndex = -1;
    d->selectedT = tIndex;
    d->selectedA = alphaIndex;
    d->selection->setVisible(tIndex >= 0);
    if (tIndex >= 0) {
        d->selection->topLeft->setCoords(tIndex - 0.47, alphaIndex + 0.47);
        d->selection->bottomRight->setCoords(tIndex + 0.47, alphaIndex - 0.47);
    }
    markDirty();
}

void SweepHeatmap::setRunningCell(int tIndex, int alphaIndex) {
    if (!d->inGrid(tIndex, alphaIndex))
        tIndex = alphaIndex = -1;
    if (tIndex == d->runningT && alphaIndex == d->runningA)
        return;
    d->runningT = tIndex;
    d->runningA = alphaIndex;
    setGrid(d->grid, d->measure);
}

double SweepHeatmap::cellValue(int tIndex, int alphaIndex) const {
    if (!d->inGrid(tIndex, alphaIndex))
        return kNaN;
    return d->map->data()->cell(tIndex, alphaIndex);
}

QString SweepHeatmap::cellText(int tIndex, int alphaIndex) const {
    if (!d->inGrid(tIndex, alphaIndex))
        return {};
    // The running cell's "training..." is a placeholder, not a result.
    if (!d->grid.find(tIndex, alphaIndex))
        return {};
    return d->texts[d->textIndex(tIndex, alphaIndex)]->text();
}

QPoint SweepHeatmap::cellCenter(int tIndex, int alphaIndex) const {
    return QPointF(xAxis->coordToPixel(tIndex), yAxis->coordToPixel(alphaIndex)).toPoint();
}

void SweepHeatmap::updateFonts() {
    if (d->columns <= 0 || d->rows <= 0)
        return;
    const QRect rect = axisRect()->rect();
    const double cellW = double(rect.width()) / d->columns, cellH = double(rect.height()) / d->rows;
    // "88.1 ± 0.3" is about 5.5 font heights wide.
    const int pixels = int(std::clamp(std::min(cellW / 5.8, cellH / 2.4), 8.0, 17.0));
    QFont font = this->font();
    font.setPixelSize(pixels);
    for (QCPItemText* text : d->texts)
        text->setFont(font);
}

void SweepHeatmap::rescaleAll() {
    // Fixed ranges (set with the grid); only the fonts and the axis labels follow the size.
    updateFonts();
    setFittedAxisLabel(yAxis, tr("alpha (weight of the soft targets)"));
    if (!d->scaleLabel.isEmpty())
        setFittedAxisLabel(d->scale->axis(), d->scaleLabel);
}

QString SweepHeatmap::dataCsv() const {
    QString text = QStringLiteral("student,temperature,alpha,seeds,mean_accuracy,std_accuracy,mean_baseline,"
                                  "teacher_accuracy,mean_gap_recovered\n");
    for (int t = 0; t < d->columns; ++t) {
        for (int a = 0; a < d->rows; ++a) {
            const kd::SweepSummaryCell* c = d->grid.find(t, a);
            if (!c)
                continue;
            QString student = QString::fromStdString(c->student);
            if (student.contains(QLatin1Char(',')))
                student = QLatin1Char('"') + student + QLatin1Char('"');
            text +=
                QStringLiteral("%1,%2,%3,%4,%5,%6,%7,%8,%9\n")
                    .arg(student, csvNumber(c->temperature), csvNumber(c->alpha), QString::number(c->seeds),
                         csvNumber(c->meanAccuracy), csvNumber(c->stdAccuracy), csvNumber(c->meanBaseline),
                         csvNumber(c->teacherAccuracy), csvNumber(c->meanGapRecovered));
        }
    }
    return text;
}

// ---------------------------------------------------------------------------------------------------------
// SweepLinePlot

struct SweepLinePlot::Impl {
    QCPTextElement* title = nullptr;
    QSharedPointer<QCPAxisTickerText> xTicker;
    SweepGrid grid;
    int lines = 0;
    int errorBars = 0;
};

SweepLinePlot::SweepLinePlot(QWidget* parent)
    : PlotBase(parent)
    , d(std::make_shared<Impl>()) {
    setExportBaseName(QStringLiteral("sweep-accuracy-vs-t"));
    setMinimumSize(340, 260);
    d->title = addTitle(this);
    d->title->setText(tr("Test accuracy against T (mean \u00b1 std over seeds)"));
    QFont labelFont = font();
    labelFont.setPointSizeF(labelFont.pointSizeF() + 0.5);
    styleAxis(xAxis, labelFont);
    styleAxis(yAxis, labelFont);
    d->xTicker = QSharedPointer<QCPAxisTickerText>::create();
    xAxis->setTicker(d->xTicker);
    xAxis->grid()->setVisible(false);
    yAxis->setTicker(QSharedPointer<PercentTicker>::create());
    xAxis->setLabel(tr("temperature T"));
    yAxis->setLabel(tr("test accuracy"));

    // The legend in a row of its own under the axes, so it never covers a point.
    legend->setVisible(true);
    QFont legendFont = legend->font();
    legendFont.setPointSizeF(std::max(7.0, legendFont.pointSizeF() - 1));
    legend->setFont(legendFont);
    legend->setTextColor(kTextColor);
    legend->setBorderPen(Qt::NoPen);
    legend->setBrush(Qt::NoBrush);
    legend->setIconSize(26, 10);
    legend->setRowSpacing(0);
    legend->setColumnSpacing(10);
    legend->setFillOrder(QCPLegend::foColumnsFirst);
    legend->setWrap(4);
    legend->setMargins(QMargins(4, 0, 4, 2));
    plotLayout()->addElement(2, 0, legend);
    plotLayout()->setRowStretchFactor(2, 0.001);
    setHint(tr("Finished cells appear here"));
}

SweepLinePlot::~SweepLinePlot() = default;

int SweepLinePlot::lineCount() const {
    return d->lines;
}

int SweepLinePlot::errorBarCount() const {
    return d->errorBars;
}

void SweepLinePlot::setGrid(const SweepGrid& grid) {
    d->grid = grid;
    clearPlottables();
    legend->clearItems();
    d->lines = 0;
    d->errorBars = 0;
    const int nT = int(grid.temperatures.size()), nA = int(grid.alphas.size());
    d->xTicker->clear();
    for (int t = 0; t < nT; ++t)
        d->xTicker->addTick(t, numberText(grid.temperatures[std::size_t(t)]));
    const double xLo = -0.5, xHi = std::max(1, nT) - 0.5;

    // The baseline: mean line and a ± std band; the teacher: a line.
    const SweepReference& ref = grid.reference;
    if (ref.baselineSeeds > 0) {
        QColor bandColor = roleColor(kd::Role::Baseline);
        bandColor.setAlpha(40);
        if (ref.baselineSeeds >= 2 && ref.baselineStd > 0) {
            QCPGraph* lo = addGraph();
            QCPGraph* hi = addGraph();
            lo->setPen(Qt::NoPen);
            hi->setPen(Qt::NoPen);
            hi->setBrush(bandColor);
            hi->setChannelFillGraph(lo);
            lo->setData({xLo, xHi}, {ref.baselineMean - ref.baselineStd, ref.baselineMean - ref.baselineStd});
            hi->setData({xLo, xHi}, {ref.baselineMean + ref.baselineStd, ref.baselineMean + ref.baselineStd});
            for (QCPGraph* g : {lo, hi}) {
                g->setSelectable(QCP::stNone);
                g->setLayer(QStringLiteral("curves"));
            }
        }
        QCPGraph* base = addGraph();
        QPen pen(roleColor(kd::Role::Baseline), 1.8);
        pen.setDashPattern({5, 3});
        base->setPen(pen);
        base->setSelectable(QCP::stNone);
        base->setData({xLo, xHi}, {ref.baselineMean, ref.baselineMean});
        base->setName(tr("baseline (labels only) %1")
                          .arg(sweepMeanText(ref.baselineMean, ref.baselineStd, ref.baselineSeeds)));
        base->addToLegend();
    }
    if (ref.hasTeacher) {
        QCPGraph* teacher = addGraph();
        QPen pen(roleColor(kd::Role::Teacher), 1.8);
        pen.setDashPattern({8, 3, 2, 3});
        teacher->setPen(pen);
        teacher->setSelectable(QCP::stNone);
        teacher->setData({xLo, xHi}, {ref.teacher, ref.teacher});
        teacher->setName(tr("teacher %1").arg(sweepMeanText(ref.teacher, 0, 1)));
        teacher->addToLegend();
    }

    // One line per alpha, points side by side at each T so the error bars do not hide each other.
    const double dodge = nA > 1 ? std::min(0.08, 0.5 / nA) : 0.0;
    for (int a = 0; a < nA; ++a) {
        QVector<double> xs, ys, errors;
        for (int t = 0; t < nT; ++t) {
            const kd::SweepSummaryCell* cell = grid.find(t, a);
            if (!cell)
                continue;
            xs << t + (a - (nA - 1) / 2.0) * dodge;
            ys << cell->meanAccuracy;
            errors << (cell->seeds >= 2 ? cell->stdAccuracy : 0.0);
            if (cell->seeds >= 2)
                ++d->errorBars;
        }
        if (xs.isEmpty())
            continue;
        ++d->lines;
        const QColor color = alphaColor(a);
        QCPGraph* line = addGraph();
        line->setPen(QPen(color, 2));
        line->setScatterStyle(QCPScatterStyle(alphaShape(a), QPen(color, 1.5), QBrush(color), 7));
        line->setSelectable(QCP::stNone);
        line->setData(xs, ys, true);
        line->setName(tr("alpha = %1").arg(numberText(grid.alphas[std::size_t(a)])));
        line->addToLegend();
        if (std::any_of(errors.begin(), errors.end(), [](double e) { return e > 0; })) {
            auto* bars = new QCPErrorBars(xAxis, yAxis);
            bars->setDataPlottable(line);
            bars->setErrorType(QCPErrorBars::etValueError);
            bars->setData(errors);
            bars->setPen(QPen(color.darker(115), 1.4));
            bars->setWhiskerWidth(8);
            bars->setSymbolGap(0);
            bars->setSelectable(QCP::stNone);
        }
    }
    setHint(d->lines == 0 ? tr("Finished cells appear here") : QString());
    markDirty();
}

void SweepLinePlot::rescaleAll() {
    const SweepGrid& grid = d->grid;
    const int nT = int(grid.temperatures.size());
    xAxis->setRange(-0.5, std::max(1, nT) - 0.5);
    double lo = std::numeric_limits<double>::infinity(), hi = -lo;
    auto include = [&](double v) {
        if (std::isfinite(v)) {
            lo = std::min(lo, v);
            hi = std::max(hi, v);
        }
    };
    for (const kd::SweepSummaryCell& c : grid.cells) {
        const double e = c.seeds >= 2 ? c.stdAccuracy : 0;
        include(c.meanAccuracy - e);
        include(c.meanAccuracy + e);
    }
    if (grid.reference.baselineSeeds > 0) {
        include(grid.reference.baselineMean - grid.reference.baselineStd);
        include(grid.reference.baselineMean + grid.reference.baselineStd);
    }
    if (grid.reference.hasTeacher)
        include(grid.reference.teacher);
    if (!std::isfinite(lo)) {
        yAxis->setRange(0, 1);
        return;
    }
    // At least 2 points of accuracy tall (equal values would give a range of hundredths of a percent), and a
    // little room above 100% too, so a perfect teacher's line is not drawn on the frame.
    if (hi - lo < 0.02) {
        const double mid = std::clamp((lo + hi) / 2, 0.01, 0.99);
        lo = mid - 0.01;
        hi = mid + 0.01;
    }
    const double pad = 0.12 * (hi - lo);
    yAxis->setRange(std::max(0.0, lo - pad), std::min(1.0 + 0.25 * pad, hi + pad));
}

QString SweepLinePlot::dataCsv() const {
    QString text = QStringLiteral("series,temperature,mean_accuracy,std_accuracy,seeds\n");
    const SweepGrid& grid = d->grid;
    for (std::size_t a = 0; a < grid.alphas.size(); ++a)
        for (std::size_t t = 0; t < grid.temperatures.size(); ++t)
            if (const kd::SweepSummaryCell* c = grid.find(int(t), int(a)))
                text += QStringLiteral("alpha=%1,%2,%3,%4,%5\n")
                            .arg(numberText(grid.alphas[a]), csvNumber(c->temperature),
                                 csvNumber(c->meanAccuracy), csvNumber(c->stdAccuracy),
                                 QString::number(c->seeds));
    if (grid.reference.baselineSeeds > 0)
        text += QStringLiteral("baseline,,%1,%2,%3\n")
                    .arg(csvNumber(grid.reference.baselineMean), csvNumber(grid.reference.baselineStd),
                         QString::number(grid.reference.baselineSeeds));
    if (grid.reference.hasTeacher)
        text += QStringLiteral("teacher,,%1,,\n").arg(csvNumber(grid.reference.teacher));
    return text;
}

} // namespace kdui
