#include "plots.h"

#include "kdcore/modelspec.h"
#include "kdcore/report.h"

#include <QDir>
#include <QFile>
#include <QFileDialog>
#include <QFileInfo>
#include <QFontMetricsF>
#include <QLocale>
#include <QMenu>
#include <QSaveFile>
#include <QStandardPaths>
#include <QTemporaryFile>

#include <algorithm>
#include <array>
#include <cmath>
#include <optional>

namespace kdui {

namespace {

constexpr std::array<kd::Role, 3> kRoles{kd::Role::Teacher, kd::Role::Baseline, kd::Role::Student};
int roleIndex(kd::Role role) {
    return static_cast<int>(role);
} // Teacher 0, Baseline 1, Student 2

// Okabe-Ito colours (colour-blind friendly) for the distilled student's loss parts.
const QColor kSoftColor(0xCC, 0x79, 0xA7); // reddish purple
const QColor kHardColor(0x00, 0x9E, 0x73); // bluish green
const QColor kKeyColor(0x60, 0x60, 0x60);  // legend keys that explain a line or marker style
const QColor kTextColor(0x30, 0x30, 0x30);
const QColor kHintColor(0x80, 0x80, 0x80);

const QString kSep = QStringLiteral(" \u00b7 "); // "run · model"

QString runName(const kd::RunRecord* run, int index) {
    const QString name = QString::fromStdString(run->name).trimmed();
    return name.isEmpty() ? QStringLiteral("run %1").arg(index + 1) : name;
}

// The line style of the index-th shown run: solid, dash, dot, dash-dot, long dash, dash-dot-dot. Patterns are
// in pixels, so thin and thick lines of one run look alike.
QPen runPen(const QColor& color, double width, int runIndex) {
    static const QVector<QVector<double>> patterns = {{},           {7, 4},  {1.5, 3},
                                                      {8, 3, 2, 3}, {14, 4}, {7, 3, 2, 3, 2, 3}};
    QPen pen(color, width);
    pen.setJoinStyle(Qt::RoundJoin);
    const QVector<double>& pixels = patterns[runIndex % patterns.size()];
    if (!pixels.isEmpty()) {
        pen.setCapStyle(Qt::FlatCap);
        QVector<qreal> units;
        for (double p : pixels)
            units << p / std::max(1.0, width);
        pen.setDashPattern(units);
    }
    return pen;
}

QPen dashedPen(const QColor& color, double width) {
    QPen pen(color, width);
    pen.setCapStyle(Qt::FlatCap);
    pen.setDashPattern({5 / std::max(1.0, width), 3 / std::max(1.0, width)});
    return pen;
}

// Scatter marker of the index-th shown run (circle, square, triangle, diamond, ...), filled or hollow.
QCPScatterStyle runScatter(int runIndex, const QColor& color, bool filled, double size = 7) {
    static const QCPScatterStyle::ScatterShape shapes[] = {
        QCPScatterStyle::ssCircle, QCPScatterStyle::ssSquare, QCPScatterStyle::ssTriangle,
        QCPScatterStyle::ssDiamond, QCPScatterStyle::ssTriangleInverted};
    const auto shape = shapes[runIndex % 5];
    return QCPScatterStyle(shape, QPen(color, 1.6), filled ? QBrush(color) : QBrush(Qt::white), size);
}

QString csvNumber(double value) {
    return QString::number(value, 'g', 8);
}

QString thousands(qint64 value) {
    return QLocale(QLocale::English, QLocale::UnitedStates).toString(value);
}

QString percentText(double accuracy) {
    return QString::number(accuracy * 100, 'f', 1) + QLatin1Char('%');
}

QSharedPointer<QCPAxisTicker> epochTicker() {
    auto ticker = QSharedPointer<QCPAxisTickerFixed>::create();
    ticker->setTickStep(1.0);
    ticker->setScaleStrategy(QCPAxisTickerFixed::ssMultiples); // 1, 2, 5, 10, ... epochs apart when many
    return ticker;
}

void styleAxes(QCustomPlot* plot, const QString& xLabel, const QString& yLabel) {
    QFont labelFont = plot->font();
    labelFont.setPointSizeF(labelFont.pointSizeF() + 0.5);
    for (QCPAxis* axis : {plot->xAxis, plot->yAxis})
        styleAxis(axis, labelFont);
    plot->xAxis->setLabel(xLabel);
    plot->yAxis->setLabel(yLabel);
}

void styleLegend(QCPLegend* legend) {
    legend->setVisible(true);
    QFont font = legend->font();
    font.setPointSizeF(std::max(7.0, font.pointSizeF() - 1));
    legend->setFont(font);
    legend->setTextColor(kTextColor);
    legend->setBrush(QColor(255, 255, 255, 205));
    legend->setBorderPen(QPen(QColor(0, 0, 0, 60)));
    legend->setIconSize(30, 12);
    legend->setRowSpacing(0);
    legend->setMargins(QMargins(6, 3, 6, 3));
}

// The axis rect's height in pixels; before the first layout, an estimate from the widget's.
double axisRectHeight(const QCustomPlot* plot) {
    const int h = plot->axisRect()->height();
    return h > 50 ? h : std::max(100, plot->height() - 70);
}

// The share of the axis rect's height the legend (inside it) takes, with its distance to the edge: the
// y range leaves that much room so the legend does not cover the data.
double legendHeadroom(const QCustomPlot* plot) {
    if (!plot->legend->visible() || plot->legend->itemCount() == 0)
        return 0;
    const double h = plot->legend->minimumOuterSizeHint().height() + 16;
    return std::clamp(h / axisRectHeight(plot), 0.0, 0.45);
}

void setError(QString* error, const QString& message) {
    if (error)
        *error = message;
}

QString nativePath(const QString& path) {
    return QDir::toNativeSeparators(path);
}

// Creates a uniquely named empty file next to `path` for writing the output first; empty on failure.
QString reserveTemporaryName(const QString& path, const QString& suffix, QString* reason) {
    const QFileInfo info(path);
    QTemporaryFile tmp(
        info.absoluteDir().filePath(QStringLiteral(".%1.XXXXXX.%2").arg(info.fileName(), suffix)));
    tmp.setAutoRemove(false);
    if (!tmp.open()) {
        *reason = tmp.errorString();
        return {};
    }
    const QString name = tmp.fileName();
    tmp.close();
    return name;
}

// Moves the finished temporary file over `path` (replacing an existing file only now).
bool moveIntoPlace(const QString& tmpName, const QString& path) {
    if (QFileInfo::exists(path) && !QFile::remove(path))
        return false;
    return QFile::rename(tmpName, path);
}

// Breaks a long one-line message into two lines: after its first "; " (a run's comparison, then its gap),
// else near its middle (at ": " or ", " where possible).
QString wrapInTwo(const QString& text, int maxChars) {
    if (text.size() <= maxChars || text.contains(QLatin1Char('\n')))
        return text;
    if (const int clause = text.indexOf(QStringLiteral("; ")); clause > 0)
        return text.left(clause + 1) + QLatin1Char('\n') + text.mid(clause + 2);
    const int middle = text.size() / 2;
    int best = -1;
    for (const QString& sep : {QStringLiteral(": "), QStringLiteral(", "), QStringLiteral(" ")}) {
        for (int i = text.indexOf(sep); i >= 0; i = text.indexOf(sep, i + 1))
            if (best < 0 || std::abs(i - middle) < std::abs(best - middle))
                best = i;
        if (best >= 0 && std::abs(best - middle) < text.size() / 4)
            return text.left(best + sep.size() - 1) + QLatin1Char('\n') + text.mid(best + sep.size());
        best = -1;
    }
    return text;
}

double maxEpochsOf(const kd::RunRecord* run) {
    double epochs = run->config.epochs;
    if (run->config.teacherCheckpoint.empty())
        epochs = std::max(epochs, static_cast<double>(run->config.teacherEpochs));
    for (const kd::EpochMetrics& m : run->result.history)
        epochs = std::max({epochs, static_cast<double>(m.epoch), static_cast<double>(m.epochs)});
    for (const kd::BatchPoint& p : run->batches)
        epochs = std::max(epochs, std::ceil(p.x - 1e-9));
    return epochs;
}

// The width of a legend laid out `perRow` entries a row (0: all in one), each column as wide as its widest
// entry.
int legendRowWidth(const QCPLegend* legend, int perRow) {
    const int count = legend->itemCount();
    const int perRowNow = perRow > 0 ? perRow : std::max(1, count);
    QVector<int> columns(perRowNow, 0);
    for (int i = 0; i < count; ++i)
        if (legend->item(i))
            columns[i % perRowNow] =
                std::max(columns[i % perRowNow], legend->item(i)->minimumOuterSizeHint().width());
    int width = 0;
    for (int w : columns)
        width += w + legend->columnSpacing();
    return width;
}

// A legend of `perRow` entries a row (0: all in one) where that row fits in `room` pixels, else one entry per
// row: a narrow plot (a third of a 1024x700 window, or 200%) cut its legend at both ends.
void stackLegendWhenNarrow(QCPLegend* legend, int perRow, int room) {
    const int wrap = room > 0 && legendRowWidth(legend, perRow) > room ? 1 : perRow;
    if (legend->wrap() != wrap) {
        legend->setWrap(wrap);
        legend->setFillOrder(QCPLegend::foColumnsFirst, /*rearrange=*/true);
    }
}

QString hintFor(const QVector<const kd::RunRecord*>& runs, bool hasData) {
    if (hasData)
        return {};
    if (runs.isEmpty() || runs.first()->status == "new")
        return QObject::tr("Press Start to train");
    if (runs.first()->status == "running")
        return QObject::tr("Training is starting\u2026");
    if (runs.first()->status == "failed")
        return QObject::tr("This run failed before any result (see its tooltip in the run list)");
    return QObject::tr("No results recorded for this run");
}

QVector<const kd::RunRecord*> uniqueRuns(const QVector<const kd::RunRecord*>& runs) {
    QVector<const kd::RunRecord*> out;
    for (const kd::RunRecord* run : runs)
        if (run && !out.contains(run))
            out << run;
    return out;
}

} // namespace

QString csvField(const QString& text) {
    if (!text.contains(QLatin1Char(',')) && !text.contains(QLatin1Char('"')) &&
        !text.contains(QLatin1Char('\n')) && !text.contains(QLatin1Char('\r')))
        return text;
    QString quoted = text;
    quoted.replace(QLatin1String("\""), QLatin1String("\"\""));
    return QLatin1Char('"') + quoted + QLatin1Char('"');
}

// 9,800 / 50.2k / 102k / 1.23M: parameter counts where there is little room.
QString compactCount(qint64 value) {
    if (value < 10000)
        return thousands(value);
    if (value < 1000000)
        return QString::number(value / 1e3, 'f', value < 100000 ? 1 : 0) + QLatin1Char('k');
    return QString::number(value / 1e6, 'f', value < 10000000 ? 2 : 1) + QLatin1Char('M');
}

void styleAxis(QCPAxis* axis, const QFont& labelFont) {
    axis->setBasePen(QPen(QColor(110, 110, 110)));
    axis->setTickPen(QPen(QColor(110, 110, 110)));
    axis->setSubTickPen(QPen(QColor(150, 150, 150)));
    axis->setTickLabelColor(kTextColor);
    axis->setLabelColor(kTextColor);
    axis->setLabelFont(labelFont);
    axis->grid()->setPen(QPen(QColor(225, 225, 225)));
    axis->grid()->setZeroLinePen(Qt::NoPen);
    axis->grid()->setSubGridVisible(false);
}

double PercentTicker::getTickStep(const QCPRange& range) {
    m_step = QCPAxisTicker::getTickStep(range);
    return m_step;
}

QString PercentTicker::getTickLabel(double tick, const QLocale&, QChar, int) {
    // As many decimals as the step needs: 2.5% steps give 82.5%, never a rounded "83%".
    const double stepPercent = m_step * 100;
    int decimals = 0;
    while (decimals < 3 && std::abs(stepPercent * std::pow(10, decimals) -
                                    std::round(stepPercent * std::pow(10, decimals))) > 1e-6)
        ++decimals;
    double value = tick * 100;
    if (std::abs(value) < 1e-9)
        value = 0;
    return QString::number(value, 'f', decimals) + QLatin1Char('%');
}

QColor roleColor(kd::Role role) {
    switch (role) {
    case kd::Role::Teacher:
        return QColor(0x33, 0x33, 0x33); // near black
    case kd::Role::Baseline:
        return QColor(0x00, 0x72, 0xB2); // Okabe-Ito blue
    case kd::Role::Student:
        return QColor(0xD5, 0x5E, 0x00); // Okabe-Ito vermillion
    }
    return Qt::black;
}

QString roleTitle(kd::Role role) {
    switch (role) {
    case kd::Role::Teacher:
        return QObject::tr("Teacher");
    case kd::Role::Baseline:
        return QObject::tr("Baseline student");
    case kd::Role::Student:
        return QObject::tr("Distilled student");
    }
    return {};
}

QCPColorGradient colorGradient(std::initializer_list<std::pair<double, QColor>> stops, bool nanTransparent) {
    QCPColorGradient g;
    g.clearColorStops();
    for (const auto& [position, colour] : stops)
        g.setColorStopAt(position, colour);
    g.setLevelCount(256);
    if (nanTransparent)
        g.setNanHandling(QCPColorGradient::nhTransparent);
    return g;
}

QString roleLabel(kd::Role role) {
    switch (role) {
    case kd::Role::Teacher:
        return QStringLiteral("teacher");
    case kd::Role::Baseline:
        return QStringLiteral("baseline");
    case kd::Role::Student:
        return QStringLiteral("distilled");
    }
    return {};
}

QString gapRecoveredText(double teacherAccuracy, double baselineAccuracy, double studentAccuracy) {
    return gapRecoveredText(kd::PairedTest(), teacherAccuracy, baselineAccuracy, studentAccuracy);
}

QString gapRecoveredText(const kd::PairedTest& teacherVsBaseline, double teacherAccuracy,
                         double baselineAccuracy, double studentAccuracy) {
    // Short where it follows the distilled student's comparison in the title (two lines in a narrow chart).
    switch (kd::gapVerdict(teacherVsBaseline, teacherAccuracy, baselineAccuracy)) {
    case kd::GapVerdict::WithinNoise:
        return QObject::tr("no gap: the teacher's lead (%1 points, %2) is within noise")
            .arg(QString::fromStdString(kd::formatPoints(teacherVsBaseline.difference)),
                 QString::fromStdString(kd::formatPValue(teacherVsBaseline.pValue)));
    case kd::GapVerdict::TeacherNotBetter:
        if (teacherVsBaseline.valid())
            return QObject::tr("no gap: the teacher is not better than the baseline");
        return QObject::tr(
            "The teacher is not better than the baseline, so there is no gap to recover: train the "
            "teacher longer or pick a stronger one.");
    case kd::GapVerdict::Real:
        break;
    }
    const std::optional<double> gap =
        kd::gapRecovered(teacherVsBaseline, teacherAccuracy, baselineAccuracy, studentAccuracy);
    if (!gap)
        return {};
    double percent = std::round(*gap * 100);
    if (percent == 0)
        percent = 0; // no "-0%"
    QString text = QObject::tr("gap recovered: %1%").arg(QString::number(percent, 'f', 0));
    if (*gap > 1 + 1e-9)
        text += QObject::tr(" (the distilled student beats the teacher)");
    else if (*gap < -1e-9)
        text += QObject::tr(" (the distilled student is worse than the baseline)");
    return text;
}

QString runVerdictText(const kd::ExperimentResult& result, double teacherAccuracy, double baselineAccuracy,
                       double studentAccuracy) {
    const QString gap =
        gapRecoveredText(result.teacherVsBaseline, teacherAccuracy, baselineAccuracy, studentAccuracy);
    if (!result.studentVsBaseline.valid())
        return gap;
    return QObject::tr("distilled vs baseline: %1")
               .arg(QString::fromStdString(kd::describeDifference(result.studentVsBaseline))) +
           QStringLiteral("; ") + gap;
}

QString comparisonsText(const kd::ExperimentResult& r) {
    QString studentLabel = QObject::tr("distilled"), teacherLabel = QObject::tr("teacher");
    if (r.method != "kd") // the method's names: "ensemble", "generation 3", "via assistant"
        for (const kd::ComparisonRow& row : kd::methodComparison(r)) {
            if (row.key == "student")
                studentLabel = QString::fromStdString(row.label);
            else if (row.key == "teacher")
                teacherLabel = QString::fromStdString(row.label);
        }
    QStringList lines;
    const std::pair<QString, const kd::PairedTest*> tests[] = {{studentLabel, &r.studentVsBaseline},
                                                               {teacherLabel, &r.teacherVsBaseline}};
    for (const auto& [label, test] : tests)
        if (test->valid())
            lines << QObject::tr("%1 vs baseline: %2")
                         .arg(label, QString::fromStdString(kd::describePairedTest(*test)));
    if (r.teacherVsBaseline.valid()) {
        if (const std::optional<double> gap = kd::gapRecovered(r)) {
            lines << QObject::tr("gap recovered: %1%").arg(std::round(*gap * 100) + 0.0, 0, 'f', 0);
        } else {
            QString reason = QString::fromStdString(kd::noGapReason(r));
            if (!reason.isEmpty())
                reason[0] = reason[0].toUpper();
            lines << reason + QLatin1Char('.');
        }
    }
    return lines.join(QLatin1Char('\n'));
}

// ---------------------------------------------------------------------------------------------------------
// PlotBase

PlotBase::PlotBase(QWidget* parent)
    : QCustomPlot(parent) {
    m_replotTimer.setSingleShot(true);
    // At most 10 replots a second: each costs several ms of a core that training also needs (on 2 cores under
    // Xvfb, 30 a second cut a CNN teacher from ~3,500 to ~2,200 images/s), and curves that move 10 times a
    // second still look live.
    m_replotTimer.setInterval(100);
    connect(&m_replotTimer, &QTimer::timeout, this, &PlotBase::replotNow);
    setContextMenuPolicy(Qt::CustomContextMenu);
    connect(this, &QWidget::customContextMenuRequested, this, &PlotBase::showContextMenu);
    setAutoAddPlottableToLegend(false);
    setMinimumSize(240, 160);
    // Thin per-batch curves are drawn below everything else.
    addLayer(QStringLiteral("curves"), layer(QStringLiteral("main")), QCustomPlot::limBelow);
}

void PlotBase::markDirty() {
    m_dirty = true;
    if (!m_replotTimer.isActive())
        m_replotTimer.start();
}

void PlotBase::replotNow() {
    if (!m_dirty)
        return;
    m_dirty = false;
    rescaleAll();
    replot(QCustomPlot::rpQueuedReplot);
    ++m_replots;
}

void PlotBase::rescaleAll() {
    rescaleAxes();
}

void PlotBase::setFittedAxisLabel(QCPAxis* axis, const QString& full) {
    QString label = full;
    const int paren = full.indexOf(QLatin1String(" ("));
    if (paren > 0 && height() > 0 && axis->axisRect()) {
        updateLayout(); // the axis's length at this size
        const int length =
            axis->orientation() == Qt::Vertical ? axis->axisRect()->height() : axis->axisRect()->width();
        if (QFontMetrics(axis->labelFont()).horizontalAdvance(full) + 8 > length)
            label[paren] = QLatin1Char('\n');
    }
    if (axis->label() != label)
        axis->setLabel(label);
}

void PlotBase::resizeEvent(QResizeEvent* event) {
    QCustomPlot::resizeEvent(event);
    markDirty(); // the room kept for the legend and the marker labels depend on the size
}

QString PlotBase::hint() const {
    return m_hint && m_hint->visible() ? m_hint->text() : QString();
}

void PlotBase::setHint(const QString& text) {
    if (text.isEmpty()) {
        if (m_hint)
            m_hint->setVisible(false);
        return;
    }
    if (!m_hint) {
        m_hint = new QCPItemText(this);
        m_hint->position->setType(QCPItemPosition::ptAxisRectRatio);
        m_hint->position->setCoords(0.5, 0.5);
        m_hint->setPositionAlignment(Qt::AlignCenter);
        QFont font = this->font();
        font.setPointSizeF(font.pointSizeF() * 1.5);
        m_hint->setFont(font);
        m_hint->setColor(kHintColor);
        m_hint->setSelectable(false);
    }
    m_hint->setText(text);
    m_hint->setVisible(true);
}

// PNG and PDF: rendered into a temporary file beside the target, then moved over it, so a failed save
// leaves neither a partial file nor a damaged old one.
bool PlotBase::saveRendered(const QString& path, const QString& format, QString* error,
                            const std::function<bool(const QString&, int, int)>& render) {
    if (path.isEmpty()) {
        setError(error, tr("cannot write %1: no file name given").arg(format));
        return false;
    }
    const QString dir = QFileInfo(path).absolutePath();
    if (!QFileInfo(dir).isDir()) {
        setError(error, tr("%1: cannot write %2 (folder %3 does not exist)")
                            .arg(nativePath(path), format, nativePath(dir)));
        return false;
    }
    QString reason;
    const QString tmp = reserveTemporaryName(path, format.toLower(), &reason);
    if (tmp.isEmpty()) {
        setError(error, tr("%1: cannot write %2 (%3)").arg(nativePath(path), format, reason));
        return false;
    }
    rescaleAll();
    const int w = width() >= 200 ? width() : 800;
    const int h = height() >= 150 ? height() : 450;
    const bool ok = render(tmp, w, h);
    const QFileInfo written(tmp);
    if (!ok || !written.exists() || written.size() == 0 || !moveIntoPlace(tmp, path)) {
        QFile::remove(tmp);
        setError(error, tr("%1: cannot write %2 (%3)")
                            .arg(nativePath(path), format,
                                 ok ? tr("cannot replace the file") : tr("rendering or writing failed")));
        return false;
    }
    replot(QCustomPlot::rpQueuedReplot); // saving resized the viewport: redraw at the widget's own size
    return true;
}

bool PlotBase::savePlotPng(const QString& path, QString* error) {
    // Twice the on-screen resolution: sharp on slides and in documents.
    return saveRendered(path, QStringLiteral("PNG"), error, [this](const QString& tmp, int w, int h) {
        return savePng(tmp, w, h, 2.0, -1, 192);
    });
}

bool PlotBase::savePlotPdf(const QString& path, QString* error) {
    return saveRendered(path, QStringLiteral("PDF"), error, [this](const QString& tmp, int w, int h) {
        return savePdf(tmp, w, h, QCP::epAllowCosmetic, QStringLiteral("kdlab"), m_exportBaseName);
    });
}

bool PlotBase::saveDataCsv(const QString& path, QString* error) {
    if (path.isEmpty()) {
        setError(error, tr("cannot write CSV: no file name given"));
        return false;
    }
    const QString dir = QFileInfo(path).absolutePath();
    if (!QFileInfo(dir).isDir()) {
        setError(
            error,
            tr("%1: cannot write CSV (folder %2 does not exist)").arg(nativePath(path), nativePath(dir)));
        return false;
    }
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly | QIODevice::Text)) {
        setError(error, tr("%1: cannot write CSV (%2)").arg(nativePath(path), file.errorString()));
        return false;
    }
    const QByteArray bytes = dataCsv().toUtf8();
    if (file.write(bytes) != bytes.size() || !file.commit()) {
        setError(error, tr("%1: cannot write CSV (%2)").arg(nativePath(path), file.errorString()));
        return false;
    }
    return true;
}

void PlotBase::showContextMenu(const QPoint& pos) {
    QMenu menu(this);
    QAction* png = menu.addAction(tr("Save as PNG..."));
    QAction* pdf = menu.addAction(tr("Save as PDF..."));
    QAction* csv = menu.addAction(tr("Save data as CSV..."));
    QAction* chosen = menu.exec(mapToGlobal(pos));
    if (chosen == png)
        saveFromMenu(QStringLiteral("png"));
    else if (chosen == pdf)
        saveFromMenu(QStringLiteral("pdf"));
    else if (chosen == csv)
        saveFromMenu(QStringLiteral("csv"));
}

void PlotBase::saveFromMenu(const QString& kind) {
    static QString lastDir; // shared by all plots of the session
    if (lastDir.isEmpty())
        lastDir =
            QStandardPaths::writableLocation(kind == QLatin1String("csv") ? QStandardPaths::DocumentsLocation
                                                                          : QStandardPaths::PicturesLocation);
    if (lastDir.isEmpty() || !QFileInfo(lastDir).isDir())
        lastDir = QDir::homePath();
    QString caption, filter;
    if (kind == QLatin1String("png")) {
        caption = tr("Save plot as PNG");
        filter = tr("PNG image (*.png)");
    } else if (kind == QLatin1String("pdf")) {
        caption = tr("Save plot as PDF");
        filter = tr("PDF document (*.pdf)");
    } else {
        caption = tr("Save plot data as CSV");
        filter = tr("CSV table (*.csv)");
    }
    QString path = QFileDialog::getSaveFileName(
        this, caption, QDir(lastDir).filePath(m_exportBaseName + QLatin1Char('.') + kind), filter);
    if (path.isEmpty())
        return;
    if (QFileInfo(path).suffix().isEmpty())
        path += QLatin1Char('.') + kind;
    lastDir = QFileInfo(path).absolutePath();
    QString error;
    bool ok = false;
    if (kind == QLatin1String("png"))
        ok = savePlotPng(path, &error);
    else if (kind == QLatin1String("pdf"))
        ok = savePlotPdf(path, &error);
    else
        ok = saveDataCsv(path, &error);
    if (!ok)
        Q_EMIT errorOccurred(error);
}

// ---------------------------------------------------------------------------------------------------------
// LossCurvePlot

struct LossCurvePlot::Impl {
    struct RunGraphs {
        const kd::RunRecord* run = nullptr;
        QString name;
        std::array<QCPGraph*, 3> batch{}, train{}, test{};
        QCPGraph* soft = nullptr;
        QCPGraph* hard = nullptr;
    };
    struct Marker {
        const kd::RunRecord* run = nullptr;
        kd::ParameterMarker marker;
        QCPItemStraightLine* line = nullptr;
        QCPItemText* label = nullptr;
    };
    QVector<const kd::RunRecord*> input;
    QVector<RunGraphs> runs;
    QVector<Marker> markers;
    QCPGraph* keyBatch = nullptr; // legend keys: what thin lines, filled and hollow markers mean
    QCPGraph* keyTrain = nullptr;
    QCPGraph* keyTest = nullptr;
    double maxEpochs = 0;

    int find(const kd::RunRecord* run) const {
        for (int i = 0; i < runs.size(); ++i)
            if (runs[i].run == run)
                return i;
        return -1;
    }
    bool single() const { return runs.size() == 1; }
    QString label(int runIndex, const QString& what) const {
        return single() ? what : runs[runIndex].name + kSep + what;
    }
};

LossCurvePlot::LossCurvePlot(QWidget* parent)
    : PlotBase(parent)
    , d(std::make_shared<Impl>()) {
    setExportBaseName(QStringLiteral("loss-curves"));
    styleAxes(this, tr("epoch"), tr("loss"));
    xAxis->setTicker(epochTicker());
    styleLegend(legend);
    // Three columns: a run's teacher, baseline and distilled side by side, one row per run, then the keys.
    legend->setWrap(3);
    legend->setFillOrder(QCPLegend::foColumnsFirst);
    axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignTop | Qt::AlignRight);
    rebuild();
}

void LossCurvePlot::setRuns(const QVector<const kd::RunRecord*>& runs) {
    d->input = uniqueRuns(runs);
    rebuild();
}

namespace {

QCPGraph* makeSoftHardGraph(QCustomPlot* plot, const QColor& color, int runIndex) {
    QCPGraph* graph = plot->addGraph();
    graph->setLayer(QStringLiteral("curves"));
    graph->setPen(runPen(color, 1.3, runIndex));
    graph->setSelectable(QCP::stNone);
    return graph;
}

void fillSoftHard(QCPGraph* soft, QCPGraph* hard, const kd::RunRecord* run) {
    QVector<double> keys, softValues, hardValues;
    for (const kd::BatchPoint& p : run->batches)
        if (p.role == kd::Role::Student) {
            keys << p.x;
            softValues << p.soft;
            hardValues << p.hard;
        }
    soft->setData(keys, softValues);
    hard->setData(keys, hardValues);
}

} // namespace

void LossCurvePlot::rebuild() {
    clearItems();
    clearPlottables();
    legend->clearItems();
    d->runs.clear();
    d->markers.clear();
    d->keyBatch = d->keyTrain = d->keyTest = nullptr;
    d->maxEpochs = 0;

    for (int i = 0; i < d->input.size(); ++i) {
        Impl::RunGraphs rg;
        rg.run = d->input[i];
        rg.name = runName(rg.run, i);
        d->runs << rg;
    }
    const bool single = d->single();
    // Later runs first, so the primary (newest) run is drawn on top.
    for (int i = d->runs.size() - 1; i >= 0; --i) {
        Impl::RunGraphs& rg = d->runs[i];
        const kd::RunRecord* run = rg.run;
        std::array<QVector<double>, 3> bx, by, ex, train, test;
        for (const kd::BatchPoint& p : run->batches) {
            const int r = roleIndex(p.role);
            if (r < 0 || r > 2)
                continue;
            bx[r] << p.x;
            by[r] << p.loss;
        }
        for (const kd::EpochMetrics& m : run->result.history) {
            const int r = roleIndex(m.role);
            if (r < 0 || r > 2)
                continue;
            ex[r] << m.epoch;
            train[r] << m.trainLoss;
            test[r] << m.testLoss;
        }
        for (kd::Role role : kRoles) {
            const int r = roleIndex(role);
            const QColor color = roleColor(role);
            QColor light = color;
            light.setAlpha(role == kd::Role::Teacher ? 120 : 150);

            QCPGraph* batch = addGraph();
            batch->setLayer(QStringLiteral("curves"));
            batch->setPen(runPen(light, 1.0, i)); // width 1: Qt strokes it with its fast thin-line path
            batch->setSelectable(QCP::stNone);
            batch->setName(d->label(i, roleLabel(role)));
            batch->setData(bx[r], by[r]);
            rg.batch[r] = batch;

            QCPGraph* trainGraph = addGraph();
            trainGraph->setPen(runPen(color, 2.0, i));
            trainGraph->setScatterStyle(runScatter(i, color, true));
            trainGraph->setSelectable(QCP::stNone);
            trainGraph->setName(d->label(i, roleLabel(role)));
            trainGraph->setData(ex[r], train[r]);
            rg.train[r] = trainGraph;

            QCPGraph* testGraph = addGraph();
            testGraph->setPen(single ? dashedPen(color, 1.6) : runPen(color, 1.6, i));
            testGraph->setScatterStyle(runScatter(i, color, false));
            testGraph->setSelectable(QCP::stNone);
            testGraph->setName(d->label(i, roleLabel(role) + QStringLiteral(" test")));
            testGraph->setData(ex[r], test[r]);
            rg.test[r] = testGraph;
        }
        if (m_showParts) {
            rg.soft = makeSoftHardGraph(this, kSoftColor, i);
            rg.hard = makeSoftHardGraph(this, kHardColor, i);
            fillSoftHard(rg.soft, rg.hard, run);
        }
        d->maxEpochs = std::max(d->maxEpochs, maxEpochsOf(run));
    }
    for (int i = 0; i < d->runs.size(); ++i)
        for (const kd::ParameterMarker& m : d->runs[i].run->markers)
            addMarker(d->runs[i].run, m);

    if (!d->runs.isEmpty()) {
        d->keyBatch = addGraph();
        d->keyBatch->setPen(QPen(kKeyColor, 1.2));
        d->keyBatch->setName(tr("per batch (smoothed)"));
        d->keyTrain = addGraph();
        d->keyTrain->setPen(QPen(kKeyColor, 2.0));
        d->keyTrain->setScatterStyle(runScatter(0, kKeyColor, true));
        d->keyTrain->setName(tr("train loss, epoch mean"));
        d->keyTest = addGraph();
        d->keyTest->setPen(single ? dashedPen(kKeyColor, 1.6) : QPen(kKeyColor, 1.6));
        d->keyTest->setScatterStyle(runScatter(0, kKeyColor, false));
        d->keyTest->setName(tr("test loss, end of epoch"));
        if (!single) { // the line style tells the run apart: show the markers only
            d->keyTrain->setLineStyle(QCPGraph::lsNone);
            d->keyTest->setLineStyle(QCPGraph::lsNone);
        }
        for (QCPGraph* key : {d->keyBatch, d->keyTrain, d->keyTest})
            key->setSelectable(QCP::stNone);
    }
    rebuildLegend();
    markDirty();
}

void LossCurvePlot::rebuildLegend() {
    legend->clearItems();
    // One entry per model of each run (its epoch-mean line: thick, with the run's line style and marker),
    // then keys that explain thin lines and filled / hollow markers, then the loss parts.
    for (const Impl::RunGraphs& rg : d->runs)
        for (QCPGraph* graph : rg.train)
            graph->addToLegend();
    for (QCPGraph* key : {d->keyBatch, d->keyTrain, d->keyTest})
        if (key)
            key->addToLegend();
    // The parts: one entry each (the primary run's curve, solid); every run's parts have the run's line style
    // like its models, so more entries would only repeat that.
    for (int i = 0; i < d->runs.size(); ++i) {
        const Impl::RunGraphs& rg = d->runs[i];
        if (rg.soft) {
            rg.soft->setName(d->label(i, tr("distilled soft (KL)")));
            rg.hard->setName(d->label(i, tr("distilled hard (CE)")));
        }
    }
    if (!d->runs.isEmpty() && d->runs[0].soft) {
        const Impl::RunGraphs& primary = d->runs[0];
        primary.soft->setName(tr("distilled soft (KL)"));
        primary.hard->setName(tr("distilled hard (CE)"));
        primary.soft->addToLegend();
        primary.hard->addToLegend();
    }
    legend->setVisible(legend->itemCount() > 0);
}

void LossCurvePlot::setShowLossParts(bool show) {
    if (show == m_showParts)
        return;
    m_showParts = show;
    for (int i = 0; i < d->runs.size(); ++i) {
        Impl::RunGraphs& rg = d->runs[i];
        if (show) {
            rg.soft = makeSoftHardGraph(this, kSoftColor, i);
            rg.hard = makeSoftHardGraph(this, kHardColor, i);
            fillSoftHard(rg.soft, rg.hard, rg.run);
        } else {
            for (QCPGraph** graph : {&rg.soft, &rg.hard}) {
                if (*graph)
                    removeGraph(*graph);
                *graph = nullptr;
            }
        }
    }
    rebuildLegend();
    markDirty();
}

void LossCurvePlot::addBatchPoint(const kd::RunRecord* run, const kd::BatchPoint& point) {
    const int i = d->find(run);
    const int r = roleIndex(point.role);
    if (i < 0 || r < 0 || r > 2)
        return;
    Impl::RunGraphs& rg = d->runs[i];
    rg.batch[r]->addData(point.x, point.loss);
    if (point.role == kd::Role::Student && rg.soft) {
        rg.soft->addData(point.x, point.soft);
        rg.hard->addData(point.x, point.hard);
    }
    d->maxEpochs = std::max(d->maxEpochs, std::ceil(point.x - 1e-9));
    markDirty();
}

void LossCurvePlot::addEpoch(const kd::RunRecord* run, const kd::EpochMetrics& metrics) {
    const int i = d->find(run);
    const int r = roleIndex(metrics.role);
    if (i < 0 || r < 0 || r > 2)
        return;
    d->runs[i].train[r]->addData(metrics.epoch, metrics.trainLoss);
    d->runs[i].test[r]->addData(metrics.epoch, metrics.testLoss);
    d->maxEpochs =
        std::max({d->maxEpochs, static_cast<double>(metrics.epoch), static_cast<double>(metrics.epochs)});
    markDirty();
}

void LossCurvePlot::addMarker(const kd::RunRecord* run, const kd::ParameterMarker& marker) {
    if (d->find(run) < 0)
        return;
    QColor color = roleColor(marker.role);
    auto* line = new QCPItemStraightLine(this);
    line->point1->setCoords(marker.x, 0);
    line->point2->setCoords(marker.x, 1);
    color.setAlpha(190);
    line->setPen(dashedPen(color, 1.2));
    line->setSelectable(false);

    auto* label = new QCPItemText(this);
    label->position->setTypeX(QCPItemPosition::ptPlotCoords);
    label->position->setTypeY(QCPItemPosition::ptAxisRectRatio);
    label->position->setCoords(marker.x, 0.01);
    label->setPositionAlignment(Qt::AlignLeft | Qt::AlignTop);
    label->setText(
        QStringLiteral("T=%1 a=%2").arg(marker.temperature, 0, 'f', 1).arg(marker.alpha, 0, 'f', 2));
    QFont font = this->font();
    font.setPointSizeF(std::max(7.0, font.pointSizeF() - 1));
    label->setFont(font);
    label->setColor(roleColor(marker.role).darker(115));
    label->setBrush(QColor(255, 255, 255, 215));
    label->setPadding(QMargins(3, 1, 3, 1));
    label->setSelectable(false);
    d->markers.append({run, marker, line, label});
    markDirty();
}

int LossCurvePlot::pointCount(const kd::RunRecord* run, kd::Role role, LossSeries series) const {
    const int i = d->find(run);
    const int r = roleIndex(role);
    if (i < 0 || r < 0 || r > 2)
        return 0;
    const Impl::RunGraphs& rg = d->runs[i];
    const QCPGraph* graph = nullptr;
    switch (series) {
    case LossSeries::Batch:
        graph = rg.batch[r];
        break;
    case LossSeries::EpochTrain:
        graph = rg.train[r];
        break;
    case LossSeries::EpochTest:
        graph = rg.test[r];
        break;
    case LossSeries::Soft:
        graph = role == kd::Role::Student ? rg.soft : nullptr;
        break;
    case LossSeries::Hard:
        graph = role == kd::Role::Student ? rg.hard : nullptr;
        break;
    }
    return graph ? graph->dataCount() : 0;
}

int LossCurvePlot::markerCount() const {
    return d->markers.size();
}

QString LossCurvePlot::dataCsv() const {
    QString out = QStringLiteral("run,model,series,x,y\n");
    auto rows = [&out](const QString& run, const QString& model, const char* series, const QCPGraph* graph) {
        if (!graph)
            return;
        for (auto it = graph->data()->constBegin(); it != graph->data()->constEnd(); ++it)
            out += csvField(run) + QLatin1Char(',') + model + QLatin1Char(',') + QLatin1String(series) +
                   QLatin1Char(',') + csvNumber(it->key) + QLatin1Char(',') + csvNumber(it->value) +
                   QLatin1Char('\n');
    };
    for (const Impl::RunGraphs& rg : d->runs) {
        for (kd::Role role : kRoles) {
            const int r = roleIndex(role);
            rows(rg.name, roleLabel(role), "batch", rg.batch[r]);
            rows(rg.name, roleLabel(role), "epoch_train", rg.train[r]);
            rows(rg.name, roleLabel(role), "epoch_test", rg.test[r]);
        }
        rows(rg.name, roleLabel(kd::Role::Student), "soft", rg.soft);
        rows(rg.name, roleLabel(kd::Role::Student), "hard", rg.hard);
    }
    return out;
}

void LossCurvePlot::rescaleAll() {
    // Narrow (half an 800-pixel window, or 200%): one legend entry per row rather than rows cut at the left.
    stackLegendWhenNarrow(legend, /*perRow=*/3, axisRect()->width() - 12);
    const double xMax = std::max(1.0, d->maxEpochs);
    xAxis->setRange(0, xMax * 1.02); // a little room so the last epoch's markers are not cut in half

    // Losses start near ln(10) = 2.3 and fall fast: fitting that first stretch would squash everything after
    // it into a thin band. So the y range fits the per-epoch points and the per-batch curves from a quarter
    // to half an epoch on (when there are some), and the first steep part leaves through the top of the plot.
    // The axis starts at 0, so heights compare honestly.
    const double skipEpochs = std::clamp(0.1 * xMax, 0.25, 0.5);
    double maxAll = 0, maxLate = 0;
    bool any = false, anyLate = false;
    // The first epoch's training mean averages that same steep start (at T = 20 the distilled student's is
    // 14 against 2 to 3 after it): once a later epoch exists, it may leave through the top too.
    auto scan = [&](const QCPGraph* graph, bool perEpoch, bool skipFirst = false) {
        if (!graph)
            return;
        auto it = graph->data()->constBegin();
        if (skipFirst && graph->dataCount() > 1)
            ++it;
        for (; it != graph->data()->constEnd(); ++it) {
            if (!std::isfinite(it->value))
                continue;
            any = true;
            maxAll = std::max(maxAll, it->value);
            if (perEpoch || it->key >= skipEpochs) {
                anyLate = true;
                maxLate = std::max(maxLate, it->value);
            }
        }
    };
    for (const Impl::RunGraphs& rg : d->runs) {
        for (int r = 0; r < 3; ++r) {
            scan(rg.batch[r], false);
            scan(rg.train[r], true, /*skipFirst=*/true);
            scan(rg.test[r], true);
        }
        scan(rg.soft, false);
        scan(rg.hard, false);
    }
    // Not below a tenth of the highest point, though: QCustomPlot hands Qt whole lines, and Qt strokes a wide
    // line's part beyond the plot before clipping it, so a curve reaching 1000x the axis made one repaint of
    // this plot 30 ms instead of 1 ms (and the GUI stuttered during a run).
    double top = anyLate ? std::max(maxLate, 0.1 * maxAll) * 1.05 : maxAll * 1.05;
    if (!(top > 1e-6))
        top = 1;
    // A strip at the top stays free for the legend (and marker labels), so it does not hide the latest
    // values.
    yAxis->setRange(0, top / (1 - legendHeadroom(this)));
    setHint(hintFor(d->input, any));
    layoutMarkerLabels();
}

void LossCurvePlot::layoutMarkerLabels() {
    if (d->markers.isEmpty())
        return;
    // Labels of nearby markers would overlap: stack them in rows, left to right.
    QVector<int> order(d->markers.size());
    for (int i = 0; i < order.size(); ++i)
        order[i] = i;
    std::sort(order.begin(), order.end(),
              [this](int a, int b) { return d->markers[a].marker.x < d->markers[b].marker.x; });
    QVector<QVector<QPair<double, double>>> rows;
    const double axisHeight = axisRectHeight(this);
    const double right = axisRect()->right();
    // Labels under the legend (top right) go below it.
    QRectF legendRect;
    if (legend->visible() && legend->itemCount() > 0) {
        legendRect = legend->outerRect();
        if (legendRect.width() <= 0) { // not laid out yet: where the inset layout will put it
            const QSize size = legend->minimumOuterSizeHint();
            legendRect =
                QRectF(right - 12 - size.width(), axisRect()->top() + 12, size.width(), size.height());
        }
    }
    for (int index : order) {
        Impl::Marker& m = d->markers[index];
        const QFontMetricsF metrics(m.label->font());
        const double w = metrics.horizontalAdvance(m.label->text()) + 10;
        const double rowHeight = metrics.height() + 4;
        const double px = xAxis->coordToPixel(m.marker.x);
        const bool flip = px + w > right; // near the right edge: the label goes left of the line
        const double from = flip ? px - w : px, to = flip ? px : px + w;
        int row = 0;
        for (; row < rows.size(); ++row) {
            bool free = true;
            for (const auto& span : rows[row])
                if (from < span.second && to > span.first)
                    free = false;
            if (free)
                break;
        }
        if (row == rows.size())
            rows.append(QVector<QPair<double, double>>());
        rows[row].append({from, to});
        m.label->setPositionAlignment((flip ? Qt::AlignRight : Qt::AlignLeft) | Qt::AlignTop);
        const bool underLegend =
            legendRect.width() > 0 && from < legendRect.right() && to > legendRect.left();
        const double top = underLegend ? legendRect.bottom() - axisRect()->top() + 4 : 3;
        m.label->position->setCoords(m.marker.x, (top + row * rowHeight) / axisHeight);
    }
}

// ---------------------------------------------------------------------------------------------------------
// AccuracyPlot

struct AccuracyPlot::Impl {
    struct RunGraphs {
        const kd::RunRecord* run = nullptr;
        QString name;
        std::array<QCPGraph*, 3> graphs{};
    };
    QVector<const kd::RunRecord*> input;
    QVector<RunGraphs> runs;
    double maxEpochs = 0;

    int find(const kd::RunRecord* run) const {
        for (int i = 0; i < runs.size(); ++i)
            if (runs[i].run == run)
                return i;
        return -1;
    }
};

AccuracyPlot::AccuracyPlot(QWidget* parent)
    : PlotBase(parent)
    , d(std::make_shared<Impl>()) {
    setExportBaseName(QStringLiteral("test-accuracy"));
    styleAxes(this, tr("epoch"), tr("test accuracy"));
    xAxis->setTicker(epochTicker());
    yAxis->setTicker(QSharedPointer<PercentTicker>::create());
    styleLegend(legend);
    legend->setWrap(3); // one row per run
    legend->setFillOrder(QCPLegend::foColumnsFirst);
    // Accuracy curves rise to the top right: the bottom right is where they leave room.
    axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignBottom | Qt::AlignRight);
    setRuns({});
}

void AccuracyPlot::setRuns(const QVector<const kd::RunRecord*>& runs) {
    d->input = uniqueRuns(runs);
    clearItems();
    clearPlottables();
    legend->clearItems();
    d->runs.clear();
    d->maxEpochs = 0;
    for (int i = 0; i < d->input.size(); ++i) {
        Impl::RunGraphs rg;
        rg.run = d->input[i];
        rg.name = runName(rg.run, i);
        d->runs << rg;
    }
    const bool single = d->runs.size() == 1;
    for (int i = d->runs.size() - 1; i >= 0; --i) { // the primary run on top
        Impl::RunGraphs& rg = d->runs[i];
        std::array<QVector<double>, 3> x, y;
        for (const kd::EpochMetrics& m : rg.run->result.history) {
            const int r = roleIndex(m.role);
            if (r < 0 || r > 2)
                continue;
            x[r] << m.epoch;
            y[r] << m.testAccuracy;
        }
        for (kd::Role role : kRoles) {
            const int r = roleIndex(role);
            QCPGraph* graph = addGraph();
            graph->setPen(runPen(roleColor(role), 2.0, i));
            graph->setScatterStyle(runScatter(i, roleColor(role), true));
            graph->setSelectable(QCP::stNone);
            graph->setName(single ? roleLabel(role) : rg.name + kSep + roleLabel(role));
            graph->setData(x[r], y[r]);
            rg.graphs[r] = graph;
        }
        d->maxEpochs = std::max(d->maxEpochs, maxEpochsOf(rg.run));
    }
    for (const Impl::RunGraphs& rg : d->runs)
        for (QCPGraph* graph : rg.graphs)
            graph->addToLegend();
    legend->setVisible(legend->itemCount() > 0);
    markDirty();
}

void AccuracyPlot::addEpoch(const kd::RunRecord* run, const kd::EpochMetrics& metrics) {
    const int i = d->find(run);
    const int r = roleIndex(metrics.role);
    if (i < 0 || r < 0 || r > 2)
        return;
    d->runs[i].graphs[r]->addData(metrics.epoch, metrics.testAccuracy);
    d->maxEpochs =
        std::max({d->maxEpochs, static_cast<double>(metrics.epoch), static_cast<double>(metrics.epochs)});
    markDirty();
}

int AccuracyPlot::pointCount(const kd::RunRecord* run, kd::Role role) const {
    const int i = d->find(run);
    const int r = roleIndex(role);
    if (i < 0 || r < 0 || r > 2)
        return 0;
    return d->runs[i].graphs[r]->dataCount();
}

QString AccuracyPlot::dataCsv() const {
    QString out = QStringLiteral("run,model,epoch,test_accuracy\n");
    for (const Impl::RunGraphs& rg : d->runs)
        for (kd::Role role : kRoles) {
            const QCPGraph* graph = rg.graphs[roleIndex(role)];
            for (auto it = graph->data()->constBegin(); it != graph->data()->constEnd(); ++it)
                out += csvField(rg.name) + QLatin1Char(',') + roleLabel(role) + QLatin1Char(',') +
                       csvNumber(it->key) + QLatin1Char(',') + csvNumber(it->value) + QLatin1Char('\n');
        }
    return out;
}

void AccuracyPlot::rescaleAll() {
    // Narrow (a third of a 1024x700 window, or at 200%): one legend entry per row, not a row of three wider
    // than the plot and cut at its left edge; the y range below leaves room for its height.
    stackLegendWhenNarrow(legend, /*perRow=*/3, axisRect()->width() - 12);
    const double xMax = std::max(1.0, d->maxEpochs);
    xAxis->setRange(0.5, xMax + 0.5);
    double lo = 1, hi = 0;
    bool any = false;
    for (const Impl::RunGraphs& rg : d->runs)
        for (const QCPGraph* graph : rg.graphs)
            for (auto it = graph->data()->constBegin(); it != graph->data()->constEnd(); ++it) {
                if (!std::isfinite(it->value))
                    continue;
                any = true;
                lo = std::min(lo, it->value);
                hi = std::max(hi, it->value);
            }
    if (!any) {
        yAxis->setRange(0, 1);
    } else {
        // Fit the data with a margin (at least 1 point of accuracy), never beyond [0%, 100%], with room at
        // the bottom for the legend (the curves rise away from it).
        const double pad = std::max(0.01, 0.12 * (hi - lo));
        const double upper = std::min(1.0, hi + pad);
        const double lower = upper - (upper - (lo - pad)) / (1 - legendHeadroom(this));
        yAxis->setRange(std::max(0.0, lower), upper);
    }
    setHint(hintFor(d->input, any));
}

// ---------------------------------------------------------------------------------------------------------
// AccuracyBarChart

struct AccuracyBarChart::Impl {
    struct RunBars {
        const kd::RunRecord* run = nullptr;
        QString name;
        std::array<double, 3> value{{-1, -1, -1}};
        std::array<qint64, 3> params{};
        std::optional<double> gap;
        QString gapText;
    };
    QVector<const kd::RunRecord*> input;
    QVector<RunBars> runs;
    std::array<QCPBars*, 3> bars{};
    QCPBarsGroup* group = nullptr;
    QCPTextElement* title = nullptr;
    QString fullTitle; // the title on one line; shown on two when the chart is too narrow for it
    QFont titleFont;   // its font where it fits
    QString yLabel;    // the y axis label on one line; on two when the axis is too short for it
    QString yStart;    // where the y axis starts ("65%"), empty at 0
    std::array<QString, 3> legendNames; // "teacher (50.9k params)"; the bare role where that is too wide
    QSharedPointer<QCPAxisTickerText> ticker;
    QVector<QCPItemText*> labels;

    static constexpr double kBarWidth = 0.26;
    static constexpr double kBarSpacing = 0.03;

    int find(const kd::RunRecord* run) const {
        for (int i = 0; i < runs.size(); ++i)
            if (runs[i].run == run)
                return i;
        return -1;
    }
};

namespace {

const kd::ModelResult& modelResult(const kd::RunRecord* run, kd::Role role) {
    switch (role) {
    case kd::Role::Teacher:
        return run->result.teacher;
    case kd::Role::Baseline:
        return run->result.baseline;
    case kd::Role::Student:
        break;
    }
    return run->result.student;
}

qint64 parameterCount(const kd::RunRecord* run, kd::Role role) {
    const kd::ModelResult& m = modelResult(run, role);
    if (m.stats.params > 0)
        return m.stats.params;
    // Not trained yet: count from the spec (the input shape of the built-in datasets, 28x28, 10 classes).
    if (QString::fromStdString(run->config.dataset).startsWith(QLatin1String("idx:")))
        return 0;
    const std::string spec =
        !m.spec.empty() ? m.spec : (role == kd::Role::Teacher ? run->config.teacher : run->config.student);
    try {
        return kd::modelStats(kd::parseModelSpec(spec)).params;
    } catch (...) {
        return 0;
    }
}

} // namespace

double latestAccuracy(const kd::RunRecord* run, kd::Role role) {
    const kd::ModelResult& m = modelResult(run, role);
    if (m.epochsTrained > 0 || m.trained)
        return m.testAccuracy;
    const auto& history = run->result.history;
    for (auto it = history.rbegin(); it != history.rend(); ++it)
        if (it->role == role)
            return it->testAccuracy;
    if (m.testAccuracy > 0) // evaluated without training, e.g. a teacher loaded from a checkpoint
        return m.testAccuracy;
    return -1;
}

AccuracyBarChart::AccuracyBarChart(QWidget* parent)
    : PlotBase(parent)
    , d(std::make_shared<Impl>()) {
    setExportBaseName(QStringLiteral("accuracy-bars"));
    styleAxes(this, QString(), tr("test accuracy"));
    yAxis->setTicker(QSharedPointer<PercentTicker>::create());
    d->ticker = QSharedPointer<QCPAxisTickerText>::create();
    xAxis->setTicker(d->ticker);
    xAxis->setTickLength(0, 0);
    xAxis->setSubTicks(false);
    xAxis->grid()->setVisible(false);

    // Title row (the gap recovered of the primary run), then the legend as one row, then the bars.
    QFont titleFont = font();
    titleFont.setPointSizeF(titleFont.pointSizeF() + 2);
    titleFont.setBold(true);
    plotLayout()->insertRow(0);
    d->titleFont = titleFont;
    d->title = new QCPTextElement(this, QString(), titleFont);
    d->title->setTextColor(kTextColor);
    d->title->setMargins(QMargins(6, 6, 6, 2));
    plotLayout()->addElement(0, 0, d->title);
    styleLegend(legend);
    legend->setBrush(Qt::NoBrush);
    legend->setBorderPen(Qt::NoPen);
    axisRect()->insetLayout()->take(legend);
    plotLayout()->insertRow(1);
    // The legend as one centred row: empty elements left and right take the spare width.
    auto* legendRow = new QCPLayoutGrid;
    plotLayout()->addElement(1, 0, legendRow);
    legendRow->setMargins(QMargins(0, 0, 0, 0));
    legendRow->addElement(0, 0, new QCPLayoutElement(this));
    legendRow->addElement(0, 1, legend);
    legendRow->addElement(0, 2, new QCPLayoutElement(this));
    legend->setSizeConstraintRect(QCPLayoutElement::scrOuterRect);
    legend->setFillOrder(QCPLegend::foColumnsFirst);
    legend->setMargins(QMargins(6, 0, 6, 0));
    legend->setIconSize(16, 12);
    plotLayout()->setRowStretchFactor(0, 0.001);
    plotLayout()->setRowStretchFactor(1, 0.001);

    d->group = new QCPBarsGroup(this);
    d->group->setSpacingType(QCPBarsGroup::stPlotCoords);
    d->group->setSpacing(Impl::kBarSpacing);
    for (kd::Role role : kRoles) {
        auto* bars = new QCPBars(xAxis, yAxis);
        const QColor color = roleColor(role);
        bars->setPen(QPen(color.darker(130), 1));
        bars->setBrush(color);
        bars->setWidthType(QCPBars::wtPlotCoords);
        bars->setWidth(Impl::kBarWidth);
        bars->setBarsGroup(d->group);
        bars->setName(roleLabel(role));
        bars->setSelectable(QCP::stNone);
        bars->addToLegend();
        d->bars[roleIndex(role)] = bars;
        d->legendNames[roleIndex(role)] = roleLabel(role);
    }
    setRuns({});
}

void AccuracyBarChart::setRuns(const QVector<const kd::RunRecord*>& runs) {
    d->input = uniqueRuns(runs);
    d->runs.clear();
    for (int i = 0; i < d->input.size(); ++i) {
        Impl::RunBars rb;
        rb.run = d->input[i];
        rb.name = runName(rb.run, i);
        d->runs << rb;
    }
    for (const kd::RunRecord* run : d->input)
        updateRun(run);
    rebuildBars();
}

void AccuracyBarChart::updateRun(const kd::RunRecord* run) {
    const int i = d->find(run);
    if (i < 0)
        return;
    Impl::RunBars& rb = d->runs[i];
    for (kd::Role role : kRoles) {
        rb.value[roleIndex(role)] = latestAccuracy(run, role);
        rb.params[roleIndex(role)] = parameterCount(run, role);
    }
    const double t = rb.value[0], b = rb.value[1], s = rb.value[2];
    if (t >= 0 && b >= 0 && s >= 0) {
        rb.gap = kd::gapRecovered(run->result.teacherVsBaseline, t, b, s);
        rb.gapText = runVerdictText(run->result, t, b, s);
    } else {
        rb.gap.reset();
        rb.gapText = tr("gap recovered: not known yet (needs all three models)");
    }
    rebuildBars();
}

void AccuracyBarChart::rebuildBars() {
    for (QCPBars* bars : d->bars)
        bars->data()->clear();
    for (QCPItemText* label : d->labels)
        removeItem(label);
    d->labels.clear();
    d->ticker->clear();

    const bool single = d->runs.size() == 1;
    // Parameter counts go into the legend when every shown run agrees (the usual T / alpha sweep), else under
    // each run's name.
    std::array<qint64, 3> commonParams{};
    bool paramsAgree = true;
    for (int r = 0; r < 3; ++r) {
        for (const Impl::RunBars& rb : d->runs) {
            if (rb.params[r] <= 0)
                continue;
            if (commonParams[r] == 0)
                commonParams[r] = rb.params[r];
            else if (commonParams[r] != rb.params[r])
                paramsAgree = false;
        }
    }
    for (kd::Role role : kRoles) {
        const int r = roleIndex(role);
        QString name = roleLabel(role);
        if (paramsAgree && commonParams[r] > 0)
            name += QStringLiteral(" (%1 params)").arg(compactCount(commonParams[r])); // fits a narrow chart
        d->legendNames[r] = name;
        d->bars[r]->setName(name);
    }
    legend->setMaximumSize(QWIDGETSIZE_MAX, QWIDGETSIZE_MAX);
    legend->setMaximumSize(legend->minimumOuterSizeHint());

    double lowest = 1;
    bool any = false;
    for (int i = 0; i < d->runs.size(); ++i) {
        const Impl::RunBars& rb = d->runs[i];
        const double key = i + 1;
        for (int r = 0; r < 3; ++r)
            if (rb.value[r] >= 0) {
                d->bars[r]->addData(key, rb.value[r]);
                lowest = std::min(lowest, rb.value[r]);
                any = true;
            }
        QString tick = rb.name;
        if (!single) {
            const kd::ExperimentResult& result = rb.run->result;
            if (result.studentVsBaseline.valid()) // the difference that matters, and whether it is real
                tick +=
                    QLatin1Char('\n') +
                    tr("distilled %1 pts, %2")
                        .arg(QString::fromStdString(kd::formatPoints(result.studentVsBaseline.difference)),
                             QString::fromStdString(kd::formatPValue(result.studentVsBaseline.pValue)));
            if (rb.gap)
                tick += QLatin1Char('\n') +
                        tr("gap recovered: %1%").arg(std::round(*rb.gap * 100) + 0.0, 0, 'f', 0);
            else if (rb.value[0] >= 0 && rb.value[1] >= 0 && rb.value[2] >= 0)
                tick += QLatin1Char('\n') + (kd::gapVerdict(result.teacherVsBaseline, rb.value[0],
                                                            rb.value[1]) == kd::GapVerdict::WithinNoise
                                                 ? tr("no gap: teacher's lead is noise")
                                                 : tr("no gap: teacher not better"));
        }
        if (!paramsAgree) // in full while there is room, else short ("50.2k / 102k")
            tick += QLatin1Char('\n') +
                    (d->runs.size() <= 2
                         ? tr("params: teacher %1, student %2")
                               .arg(thousands(rb.params[0]), thousands(rb.params[2]))
                         : tr("params %1 / %2").arg(compactCount(rb.params[0]), compactCount(rb.params[2])));
        d->ticker->addTick(key, tick);
    }
    const int n = std::max<int>(1, d->runs.size());
    const double pad = single ? 0.75 : 0.6; // one run: keep the bars from getting very wide
    xAxis->setRange(1 - pad, n + pad);

    // From a round 5% step a bit below the lowest bar to 100%: small differences show, and the axis label
    // says where it starts so nobody reads bar heights as ratios.
    double lower = 0;
    if (any)
        lower = std::max(0.0, std::floor((lowest - 0.03) * 20) / 20);
    yAxis->setRange(lower, 1.0);
    d->yStart = lower > 0 ? QStringLiteral("%1%").arg(lower * 100, 0, 'f', 0) : QString();
    d->yLabel = lower > 0 ? tr("test accuracy (axis starts at %1)").arg(d->yStart) : tr("test accuracy");
    fitAxisLabel();

    // Value labels: above each bar, or inside its top when it reaches close to 100%.
    QFont labelFont = font();
    labelFont.setPointSizeF(std::max(7.0, labelFont.pointSizeF() - 0.5));
    labelFont.setBold(true);
    const double span = 1.0 - lower;
    for (int i = 0; i < d->runs.size(); ++i)
        for (int r = 0; r < 3; ++r) {
            const double value = d->runs[i].value[r];
            if (value < 0)
                continue;
            const bool inside = (1.0 - value) / span < 0.07;
            auto* label = new QCPItemText(this);
            label->position->setType(QCPItemPosition::ptPlotCoords);
            label->position->setCoords(i + 1 + (r - 1) * (Impl::kBarWidth + Impl::kBarSpacing), value);
            label->setPositionAlignment(Qt::AlignHCenter | (inside ? Qt::AlignTop : Qt::AlignBottom));
            label->setPadding(QMargins(1, 2, 1, 2));
            label->setFont(labelFont);
            label->setColor(inside ? Qt::white : kTextColor);
            label->setText(percentText(value));
            label->setSelectable(false);
            d->labels << label;
        }

    QString title; // the primary run's gap, once there is something to show
    if (any)
        title =
            single ? d->runs[0].gapText : d->runs[0].name + QStringLiteral(" \u2014 ") + d->runs[0].gapText;
    d->fullTitle = title;
    fitTitle();
    legend->setVisible(!d->runs.isEmpty());
    setHint(any ? QString() : hintFor(d->input, false));
    markDirty();
}

double AccuracyBarChart::barValue(const kd::RunRecord* run, kd::Role role) const {
    const int i = d->find(run);
    const int r = roleIndex(role);
    if (i < 0 || r < 0 || r > 2)
        return -1;
    return d->runs[i].value[r];
}

QString AccuracyBarChart::gapText(const kd::RunRecord* run) const {
    const int i = d->find(run);
    return i < 0 ? QString() : d->runs[i].gapText;
}

QString AccuracyBarChart::dataCsv() const {
    QString out = QStringLiteral("run,model,params,test_accuracy,gap_recovered\n");
    for (const Impl::RunBars& rb : d->runs)
        for (kd::Role role : kRoles) {
            const int r = roleIndex(role);
            if (rb.value[r] < 0)
                continue;
            out += csvField(rb.name) + QLatin1Char(',') + roleLabel(role) + QLatin1Char(',') +
                   (rb.params[r] > 0 ? QString::number(rb.params[r]) : QString()) + QLatin1Char(',') +
                   csvNumber(rb.value[r]) + QLatin1Char(',') + (rb.gap ? csvNumber(*rb.gap) : QString()) +
                   QLatin1Char('\n');
        }
    return out;
}

void AccuracyBarChart::rescaleAll() {
    // Ranges are set in rebuildBars(): they depend on the bars only, which change through setRuns/updateRun.
    fitTitle(); // the width may have changed (a resize marks the plot dirty)
    fitAxisLabel();
}

void AccuracyBarChart::fitAxisLabel() {
    if (height() <= 0)
        return;
    updateLayout(); // the axis rect's height for this size, titles and legend included
    const int room = axisRect()->height() - 8;
    // Tick labels at least two text lines apart (at 200% in half a window, eight labels overlapped).
    const int lineHeight = QFontMetrics(yAxis->tickLabelFont()).height();
    const int ticks = std::clamp(room / (2 * std::max(1, lineHeight)), 2, 5);
    if (yAxis->ticker()->tickCount() != ticks)
        yAxis->ticker()->setTickCount(ticks);
    // The rotated label runs along the axis: where the axis is shorter than it, the note about where the
    // axis starts goes on a second line, then in short ("accuracy / from 65%"), instead of losing both
    // ends of the label.
    const QFontMetrics fm(yAxis->labelFont());
    auto fits = [&](const QString& text) {
        for (const QString& line : text.split(QLatin1Char('\n')))
            if (fm.horizontalAdvance(line) > room)
                return false;
        return true;
    };
    QString label = d->yLabel;
    if (!d->yStart.isEmpty()) {
        const QStringList tries = {label, tr("test accuracy\n(axis starts at %1)").arg(d->yStart),
                                   tr("accuracy\n(from %1)").arg(d->yStart)};
        label = tries.back();
        for (const QString& t : tries)
            if (fits(t)) {
                label = t;
                break;
            }
    }
    if (yAxis->label() != label)
        yAxis->setLabel(label);
}

QString AccuracyBarChart::titleText() const {
    return d->title->text();
}

QFont AccuracyBarChart::titleFont() const {
    return d->title->font();
}

void AccuracyBarChart::fitTitle() {
    // Over 80 characters, or wider than the chart (a narrow window): two lines. Two lines still too wide (a
    // run's comparison and its gap in half a small window): a smaller font, bold down to the axis labels'
    // size, then regular down to 1.5 points less, rather than a verdict cut off at the edges.
    const bool fits =
        width() <= 0 || QFontMetrics(d->titleFont).horizontalAdvance(d->fullTitle) + 24 <= width();
    const QString text = wrapInTwo(d->fullTitle, fits ? 80 : 0);
    auto fitsIn = [&text, this](const QFont& f) {
        const QFontMetrics fm(f);
        for (const QString& line : text.split(QLatin1Char('\n')))
            if (fm.horizontalAdvance(line) + 24 > width())
                return false;
        return true;
    };
    QFont titleFont = d->titleFont;
    const double base = font().pointSizeF();
    if (width() > 0 && base > 0) {
        while (!fitsIn(titleFont) && titleFont.bold() && titleFont.pointSizeF() - 0.5 >= base)
            titleFont.setPointSizeF(titleFont.pointSizeF() - 0.5);
        if (!fitsIn(titleFont)) {
            titleFont.setBold(false);
            titleFont.setPointSizeF(base);
        }
        while (!fitsIn(titleFont) && titleFont.pointSizeF() - 0.5 >= base - 1.5)
            titleFont.setPointSizeF(titleFont.pointSizeF() - 0.5);
    }
    // Still too wide at the smallest font (a 1024x700 window gives the chart a third of its width): more
    // lines, broken between words, rather than a verdict cut at both ends.
    QString wrapped = text;
    if (width() > 0 && !fitsIn(titleFont))
        wrapped = wrapWords(text, QFontMetrics(titleFont), width() - 24);
    d->title->setFont(titleFont);
    d->title->setText(wrapped);
    // The legend: one row where it fits; else one row of the bare names (the parameter counts are in the
    // panel and the Efficiency tab), which leaves the bars their height at 200%; else one entry per row (it
    // was cut off at both ends).
    for (int r = 0; r < 3; ++r)
        d->bars[r]->setName(d->legendNames[r]);
    if (width() > 0 && legendRowWidth(legend, 0) > width() - 24) {
        for (kd::Role role : kRoles)
            d->bars[roleIndex(role)]->setName(roleLabel(role));
        if (legendRowWidth(legend, 0) > width() - 24)
            for (int r = 0; r < 3; ++r)
                d->bars[r]->setName(d->legendNames[r]);
    }
    stackLegendWhenNarrow(legend, /*perRow=*/0, width() - 24);
    legend->setMaximumSize(QWIDGETSIZE_MAX, QWIDGETSIZE_MAX);
    legend->setMaximumSize(legend->minimumOuterSizeHint());
}

QString wrapWords(const QString& text, const QFontMetrics& metrics, int room) {
    if (room <= 0)
        return text;
    QStringList lines;
    for (const QString& line : text.split(QLatin1Char('\n'))) {
        QString current;
        for (const QString& word : line.split(QLatin1Char(' '))) {
            const QString candidate = current.isEmpty() ? word : current + QLatin1Char(' ') + word;
            if (!current.isEmpty() && metrics.horizontalAdvance(candidate) > room) {
                lines << current;
                current = word;
            } else {
                current = candidate;
            }
        }
        lines << current;
    }
    return lines.join(QLatin1Char('\n'));
}

} // namespace kdui
