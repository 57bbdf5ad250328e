#include "confusionview.h"

#include "plots.h"
#include "viewparts.h"

#include <QFontMetrics>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLocale>
#include <QSlider>
#include <QSplitter>
#include <QStackedWidget>
#include <QTableWidget>
#include <QVBoxLayout>

#include <algorithm>
#include <array>
#include <cmath>
#include <functional>

namespace kdui {

namespace {

const QColor kTextColor(0x30, 0x30, 0x30);
const QColor kHintColor(0x80, 0x80, 0x80);
const QColor kOmittedColor(0xE6, 0x9F, 0x00); // Okabe-Ito orange: the omitted class's row
const QColor kOmittedRowColor(255, 241, 204); // its row in the table
constexpr std::array<kd::Role, 3> kRoles{kd::Role::Teacher, kd::Role::Baseline, kd::Role::Student};
constexpr int kBiasSteps = 10; // slider steps per logit unit (0.1)

QString thousands(qint64 value) {
    return QLocale(QLocale::English, QLocale::UnitedStates).toString(value);
}

QString percentText(double accuracy) {
    return QString::number(accuracy * 100, 'f', 1) + QLatin1Char('%');
}

QString biasText(double bias) {
    const double shown = std::abs(bias) < 0.05 ? 0.0 : bias;
    return (shown > 0 ? QStringLiteral("+") : QString()) + QString::number(shown, 'f', 1);
}

// White to the model's colour; the colour follows the share of the row (true class), so a class's mistakes
// show however many images it has. Low shares get most of the range: a few mistakes stay visible.
QCPColorGradient roleGradient(kd::Role role) {
    const QColor full = roleColor(role);
    auto mix = [&](double t) {
        return QColor(int(std::lround(255 + (full.red() - 255) * t)),
                      int(std::lround(255 + (full.green() - 255) * t)),
                      int(std::lround(255 + (full.blue() - 255) * t)));
    };
    return colorGradient(
        {{0.0, mix(0.0)}, {0.02, mix(0.18)}, {0.1, mix(0.4)}, {0.4, mix(0.7)}, {1.0, mix(1.0)}});
}

} // namespace

struct ConfusionView::Plot {
    kd::Role role = kd::Role::Teacher;
    CallbackPlot* plot = nullptr;
    QCPTextElement* title = nullptr;
    QCPTextElement* subtitle = nullptr;
    QCPColorMap* map = nullptr;
    QCPItemText* hint = nullptr;
    QCPItemRect* omitted = nullptr;
    QSharedPointer<QCPAxisTickerText> xTicker, yTicker;
    QVector<QCPItemText*> texts; // row-major
    QCPColorGradient gradient;
    int classes = 0;
    bool percent = false; // cells show the share of their row: the counts did not fit legibly
};

ConfusionView::ConfusionView(QWidget* parent)
    : TeachingView(parent)
    , m_biasRow(new QWidget(this))
    , m_biasLabel(new QLabel(this))
    , m_biasSlider(new QSlider(Qt::Horizontal, this))
    , m_biasValue(new QLabel(this))
    , m_biasEffect(new QLabel(this))
    , m_table(new QTableWidget(this)) {
    m_explanation->setText(
        tr("Each grid counts the test images by their true class (row) and the class the model chose "
           "(column): "
           "the diagonal holds the right answers, every other number is a mix-up. Compare where the baseline "
           "and the distilled student go wrong."));

    // The bias row (only with an omitted class).
    m_biasSlider->setRange(-int(kMaxBias) * kBiasSteps, int(kMaxBias) * kBiasSteps);
    m_biasSlider->setSingleStep(1);
    m_biasSlider->setPageStep(kBiasSteps);
    m_biasSlider->setTickPosition(QSlider::TicksBelow);
    m_biasSlider->setTickInterval(5 * kBiasSteps);
    m_biasSlider->setToolTip(
        tr("Added to the distilled student's logit for the class it never saw in training. "
           "A positive bias makes it choose that class more often."));
    QFont valueFont = m_biasValue->font();
    valueFont.setBold(true);
    m_biasValue->setFont(valueFont);
    m_biasValue->setMinimumWidth(QFontMetrics(valueFont).horizontalAdvance(QStringLiteral("+10.0")) + 6);
    m_biasEffect->setStyleSheet(QStringLiteral("color: #505050;"));
    m_biasEffect->setTextFormat(Qt::PlainText);
    m_biasLabel->setTextFormat(Qt::RichText);
    connect(m_biasSlider, &QSlider::valueChanged, this, [this](int position) {
        if (!m_syncing)
            setBias(double(position) / kBiasSteps);
    });
    auto* biasLayout = new QHBoxLayout(m_biasRow);
    biasLayout->setContentsMargins(0, 0, 0, 0);
    biasLayout->addWidget(m_biasLabel);
    biasLayout->addWidget(m_biasSlider, 1);
    biasLayout->addWidget(m_biasValue);
    biasLayout->addWidget(m_biasEffect);
    m_biasRow->setVisible(false);

    // The three matrices.
    auto* plots = new QWidget(this);
    m_plotGrid = new QGridLayout(plots);
    m_plotGrid->setContentsMargins(0, 0, 0, 0);
    m_plotGrid->setSpacing(4);
    for (kd::Role role : kRoles) {
        auto p = std::make_unique<Plot>();
        p->role = role;
        p->gradient = roleGradient(role);
        p->plot = new CallbackPlot(
            QStringLiteral("confusion-%1").arg(QString::fromLatin1(kd::roleName(role))), this);
        QCustomPlot* plot = p->plot;
        plot->setMinimumSize(160,
                             240); // narrow enough that the view never outgrows its room (see reflowPlots)
        QFont titleFont = plot->font();
        titleFont.setPointSizeF(titleFont.pointSizeF() + 1);
        titleFont.setBold(true);
        plot->plotLayout()->insertRow(0);
        p->title = new QCPTextElement(plot, QString(), titleFont);
        p->title->setTextColor(roleColor(role));
        p->title->setMargins(QMargins(4, 4, 4, 0));
        plot->plotLayout()->addElement(0, 0, p->title);
        plot->plotLayout()->insertRow(1);
        p->subtitle = new QCPTextElement(plot, QString(), plot->font());
        p->subtitle->setTextColor(kTextColor);
        p->subtitle->setMargins(QMargins(4, 0, 4, 2));
        plot->plotLayout()->addElement(1, 0, p->subtitle);
        plot->plotLayout()->setRowStretchFactor(0, 0.001);
        plot->plotLayout()->setRowStretchFactor(1, 0.001);
        for (QCPAxis* axis : {plot->xAxis, plot->yAxis}) {
            axis->setBasePen(Qt::NoPen);
            axis->setTickLength(0, 0);
            axis->setSubTicks(false);
            axis->setTickLabelColor(kTextColor);
            axis->setLabelColor(kTextColor);
            axis->grid()->setVisible(false);
        }
        p->xTicker = QSharedPointer<QCPAxisTickerText>::create();
        p->yTicker = QSharedPointer<QCPAxisTickerText>::create();
        plot->xAxis->setTicker(p->xTicker);
        plot->yAxis->setTicker(p->yTicker);
        plot->xAxis->setLabel(tr("predicted class"));
        plot->yAxis->setLabel(tr("true class"));
        plot->yAxis->setRangeReversed(true);
        p->map = new QCPColorMap(plot->xAxis, plot->yAxis);
        p->map->setInterpolate(false);
        p->map->setTightBoundary(false);
        p->map->setSelectable(QCP::stNone);
        p->map->setGradient(p->gradient);
        p->map->setDataRange(QCPRange(0, 1));
        p->omitted = new QCPItemRect(plot);
        p->omitted->setPen(QPen(kOmittedColor, 2.5));
        p->omitted->setBrush(Qt::NoBrush);
        p->omitted->setSelectable(false);
        p->omitted->setVisible(false);
        p->hint = new QCPItemText(plot);
        p->hint->position->setType(QCPItemPosition::ptAxisRectRatio);
        p->hint->position->setCoords(0.5, 0.5);
        p->hint->setPositionAlignment(Qt::AlignCenter);
        p->hint->setColor(kHintColor);
        p->hint->setText(tr("Not trained in this run"));
        p->hint->setSelectable(false);
        p->hint->setVisible(false);
        Plot* raw = p.get();
        p->plot->csv = [this, raw] {
            const kd::ConfusionMatrix& m = m_matrices[int(raw->role)];
            QString text = QStringLiteral("true \\ predicted");
            for (int c = 0; c < m.classes; ++c)
                text += QStringLiteral(",\"%1\"").arg(className(c));
            text += QLatin1Char('\n');
            for (int r = 0; r < m.classes; ++r) {
                text += QStringLiteral("\"%1\"").arg(className(r));
                for (int c = 0; c < m.classes; ++c)
                    text += QLatin1Char(',') + QString::number(m.count(r, c));
                text += QLatin1Char('\n');
            }
            return text;
        };
        connect(plot, &QCustomPlot::afterLayout, this, [this, raw] {
            if (raw->classes <= 0)
                return;
            const QRect rect = raw->plot->axisRect()->rect();
            const double cellW = double(rect.width()) / raw->classes,
                         cellH = double(rect.height()) / raw->classes;
            // The largest font (up to 14 px) in which the widest number fits its cell; below 8 px the
            // cells show the share of their row instead (at most "100"), which the subtitle says.
            auto fitPixels = [&](bool percent) {
                QFont probe = raw->plot->font();
                probe.setPixelSize(20);
                const QFontMetricsF fm(probe);
                double widest = 1;
                for (int k = 0; k < raw->texts.size(); ++k)
                    widest = std::max(widest, fm.horizontalAdvance(cellText(*raw, k, percent)));
                return std::min({14.0, cellH / 1.9, 20 * 0.88 * cellW / widest});
            };
            double pixels = fitPixels(false);
            const bool percent = pixels < 8;
            if (percent)
                pixels = fitPixels(true);
            if (percent != raw->percent) {
                raw->percent = percent;
                for (int k = 0; k < raw->texts.size(); ++k)
                    raw->texts[k]->setText(cellText(*raw, k, percent));
                updateSubtitle(*raw);
            }
            QFont font = raw->plot->font();
            font.setPixelSize(int(std::max(7.0, pixels)));
            for (QCPItemText* text : raw->texts)
                text->setFont(font);
        });
        m_plots[int(role)] = std::move(p);
    }
    reflowPlots();

    // The per-class table.
    m_table->setColumnCount(3);
    m_table->setHorizontalHeaderLabels({tr("Teacher"), tr("Baseline"), tr("Distilled")});
    m_table->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_table->setSelectionMode(QAbstractItemView::NoSelection);
    m_table->horizontalHeader()->setSectionResizeMode(QHeaderView::Stretch);
    m_table->verticalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    m_table->setToolTip(tr("The share of each class's test images that each model gets right."));
    m_table->setMinimumHeight(120);

    auto* splitter = new QSplitter(Qt::Vertical, this);
    splitter->addWidget(plots);
    auto* tableBox = new QWidget(this);
    auto* tableLayout = new QVBoxLayout(tableBox);
    tableLayout->setContentsMargins(0, 4, 0, 0);
    auto* tableTitle =
        new QLabel(tr("<b>Accuracy per class</b> (the share of each class's test images the model "
                      "gets right)"),
                   this);
    tableLayout->addWidget(tableTitle);
    tableLayout->addWidget(m_table, 1);
    splitter->addWidget(tableBox);
    splitter->setStretchFactor(0, 3);
    splitter->setStretchFactor(1, 2);
    splitter->setChildrenCollapsible(false);

    auto* content = new QWidget(this);
    auto* contentLayout = new QVBoxLayout(content);
    contentLayout->setContentsMargins(0, 0, 0, 0);
    contentLayout->addWidget(m_biasRow);
    contentLayout->addWidget(splitter, 1);

    setContent(content);

    setOutputs(nullptr);
}

ConfusionView::~ConfusionView() = default;

QCustomPlot* ConfusionView::plot(kd::Role role) const {
    return m_plots[int(role)]->plot;
}

bool ConfusionView::showsPercentages(kd::Role role) const {
    return m_plots[int(role)]->percent;
}

QString ConfusionView::plotTitle(kd::Role role) const {
    const Plot& p = *m_plots[int(role)];
    return p.title->text() + QLatin1Char(' ') + p.subtitle->text();
}

kd::ConfusionMatrix ConfusionView::matrix(kd::Role role) const {
    return m_matrices[int(role)];
}

const kd::TestOutputs* ConfusionView::usable() const {
    if (!m_outputs || !m_outputs->dataset || m_outputs->size() == 0 || m_outputs->classes <= 0 ||
        m_outputs->teacher.size() != m_outputs->size() * std::size_t(m_outputs->classes))
        return nullptr;
    return m_outputs.get();
}

bool ConfusionView::omittedActive() const {
    return usable() && m_omitted >= 0 && m_omitted < m_outputs->classes;
}

QString ConfusionView::className(int c) const {
    return kdui::className(m_outputs.get(), c);
}

void ConfusionView::setOutputs(std::shared_ptr<const kd::TestOutputs> outputs) {
    m_outputs = std::move(outputs);
    if (!usable()) {
        m_placeholder->setText(
            m_outputs && m_outputs->size() > 0
                ? tr("This run stopped before the teacher was evaluated on the test images, so there are no "
                     "confusion matrices yet. Train a run to the end, or pick another in the run list.")
                : tr("Train a run, or pick one in the run list, to see which classes each model mixes up."));
        m_stack->setCurrentWidget(m_placeholder);
        for (kd::ConfusionMatrix& m : m_matrices)
            m = kd::ConfusionMatrix{};
        m_biasRow->setVisible(false);
        return;
    }
    m_stack->setCurrentWidget(m_stack->widget(1));
    rebuild();
    for (kd::Role role : kRoles)
        updateRole(role);
    updateBiasRow();
    updateTable();
}

void ConfusionView::setOmittedClass(int omittedClass) {
    omittedClass = std::max(-1, omittedClass);
    if (omittedClass == m_omitted)
        return;
    m_omitted = omittedClass;
    m_bias = 0;
    m_syncing = true;
    m_biasSlider->setValue(0);
    m_syncing = false;
    if (!usable())
        return;
    for (kd::Role role : kRoles)
        updateRole(role);
    updateBiasRow();
    updateTable();
}

void ConfusionView::setBias(double bias) {
    if (!std::isfinite(bias))
        return;
    bias = std::clamp(bias, -kMaxBias, kMaxBias);
    if (bias == m_bias)
        return;
    m_bias = bias;
    m_syncing = true;
    m_biasSlider->setValue(int(std::lround(bias * kBiasSteps)));
    m_syncing = false;
    if (omittedActive()) {
        updateRole(kd::Role::Student);
        updateBiasRow();
        updateTable();
    }
    Q_EMIT biasChanged(m_bias);
}

void ConfusionView::rebuild() {
    const int n = m_outputs->classes;
    for (auto& pp : m_plots) {
        Plot& p = *pp;
        p.xTicker->clear();
        p.yTicker->clear();
        for (int k = 0; k < n; ++k) {
            p.xTicker->addTick(k, className(k));
            p.yTicker->addTick(k, className(k));
        }
        if (p.classes == n)
            continue;
        for (QCPItemText* text : p.texts)
            p.plot->removeItem(text);
        p.texts.clear();
        p.classes = n;
        p.map->data()->setSize(n, n);
        p.map->data()->setRange(QCPRange(0, std::max(0, n - 1)), QCPRange(0, std::max(0, n - 1)));
        p.plot->xAxis->setRange(-0.5, n - 0.5);
        p.plot->yAxis->setRange(-0.5, n - 0.5);
        for (int r = 0; r < n; ++r)
            for (int c = 0; c < n; ++c) {
                auto* text = new QCPItemText(p.plot);
                text->position->setType(QCPItemPosition::ptPlotCoords);
                text->position->setCoords(c, r);
                text->setPositionAlignment(Qt::AlignCenter);
                text->setSelectable(false);
                p.texts << text;
            }
    }
    m_table->setRowCount(n + 1);
    updateTickRotation();
}

void ConfusionView::updateRole(kd::Role role) {
    const kd::TestOutputs& out = *m_outputs;
    Plot& p = *m_plots[int(role)];
    const int n = out.classes;
    const bool has = out.logits(role).size() == out.size() * std::size_t(n);
    kd::ConfusionMatrix& m = m_matrices[int(role)];
    if (!has) {
        m = kd::ConfusionMatrix{};
        p.map->setVisible(false);
        for (QCPItemText* text : p.texts)
            text->setVisible(false);
        p.hint->setVisible(true);
        p.omitted->setVisible(false);
        p.title->setText(roleTitle(role));
        p.subtitle->setText(tr("no logits (the run stopped first)"));
        p.plot->replot(QCustomPlot::rpQueuedReplot);
        return;
    }
    const bool biased = role == kd::Role::Student && omittedActive();
    m = kd::confusionMatrix(out.logits(role), out.dataset->test.labels, n, biased ? m_omitted : -1,
                            biased ? m_bias : 0.0);
    p.map->setVisible(true);
    p.hint->setVisible(false);
    for (int r = 0; r < n; ++r) {
        const std::int64_t rowTotal = m.classTotal(r);
        for (int c = 0; c < n; ++c) {
            const std::int64_t count = m.count(r, c);
            const double share = rowTotal > 0 ? double(count) / double(rowTotal) : 0.0;
            p.map->data()->setCell(c, r, share);
            QCPItemText* text = p.texts[r * n + c];
            text->setVisible(count > 0);
            text->setText(cellText(p, r * n + c, p.percent));
            const QColor cell = QColor::fromRgb(p.gradient.color(share, QCPRange(0, 1)));
            text->setColor(isDarkColor(cell) ? QColor(Qt::white) : kTextColor);
        }
    }
    p.title->setText(tr("%1: %2 right").arg(roleTitle(role), percentText(m.accuracy())));
    updateSubtitle(p);
    p.omitted->setVisible(omittedActive() && role != kd::Role::Teacher);
    if (omittedActive()) {
        p.omitted->topLeft->setCoords(-0.5, m_omitted - 0.5);
        p.omitted->bottomRight->setCoords(n - 0.5, m_omitted + 0.5);
    }
    p.plot->replot(QCustomPlot::rpQueuedReplot);
}

void ConfusionView::updateBiasRow() {
    const bool active = omittedActive();
    m_biasRow->setVisible(active);
    if (!active)
        return;
    m_biasLabel->setText(tr("Bias added to the distilled student's <b>%1</b> output:")
                             .arg(className(m_omitted).toHtmlEscaped()));
    m_biasValue->setText(biasText(m_bias));
    const kd::ConfusionMatrix& m = m_matrices[int(kd::Role::Student)];
    if (m.classes > 0)
        m_biasEffect->setText(tr("it now gets %1 of %2 right")
                                  .arg(percentText(m.classAccuracy(m_omitted)), className(m_omitted)));
    else
        m_biasEffect->setText(tr("(the distilled student was not trained in this run)"));
}

void ConfusionView::updateTable() {
    const int n = m_outputs->classes;
    if (m_table->rowCount() != n + 1)
        m_table->setRowCount(n + 1);
    QStringList rowNames;
    for (int r = 0; r < n; ++r)
        rowNames << (r == m_omitted && omittedActive()
                         ? tr("%1 (never seen by the students)").arg(className(r))
                         : className(r));
    rowNames << tr("All classes");
    m_table->setVerticalHeaderLabels(rowNames);
    QFont bold = m_table->font();
    bold.setBold(true);
    for (kd::Role role : kRoles) {
        const kd::ConfusionMatrix& m = m_matrices[int(role)];
        for (int r = 0; r <= n; ++r) {
            QTableWidgetItem* item = m_table->item(r, int(role));
            if (!item) {
                item = new QTableWidgetItem;
                item->setTextAlignment(Qt::AlignCenter);
                m_table->setItem(r, int(role), item);
            }
            if (m.classes != n)
                item->setText(QStringLiteral("\u2013"));
            else if (r < n)
                item->setText(m.classTotal(r) > 0 ? percentText(m.classAccuracy(r)) : tr("no images"));
            else
                item->setText(percentText(m.accuracy()));
            item->setFont(r == n ? bold : m_table->font());
            const bool marked = r == m_omitted && omittedActive();
            item->setBackground(marked ? QBrush(kOmittedRowColor) : QBrush());
            item->setToolTip(marked
                                 ? tr("%1 was left out of the students' training images: they never saw one.")
                                       .arg(className(r))
                                 : QString());
        }
    }
}

QString ConfusionView::cellText(const Plot& p, int cell, bool percent) const {
    const kd::ConfusionMatrix& m = m_matrices[int(p.role)];
    if (m.classes <= 0 || cell < 0 || cell >= m.classes * m.classes)
        return {};
    const int r = cell / m.classes, c = cell % m.classes;
    if (!percent)
        return thousands(m.count(r, c));
    const std::int64_t rowTotal = m.classTotal(r);
    return rowTotal > 0 ? QString::number(std::lround(100.0 * double(m.count(r, c)) / double(rowTotal)))
                        : QString();
}

void ConfusionView::updateSubtitle(Plot& p) {
    const kd::ConfusionMatrix& m = m_matrices[int(p.role)];
    if (m.classes <= 0)
        return;
    const bool biased = p.role == kd::Role::Student && omittedActive() && std::abs(m_bias) >= 0.05;
    QString subtitle;
    if (biased)
        subtitle =
            (p.percent ? tr("%1 errors, bias %2 on %3 (cells: % of row)") : tr("%1 errors, bias %2 on %3"))
                .arg(thousands(m.errors()), biasText(m_bias), className(m_omitted));
    else if (p.percent) // QString::arg leaves a "%" not followed by a digit as it is
        subtitle = tr("%1 errors in %2 (cells: % of row)").arg(thousands(m.errors()), thousands(m.total()));
    else
        subtitle = tr("%1 errors in %2 test images").arg(thousands(m.errors()), thousands(m.total()));
    p.subtitle->setText(subtitle);
}

void ConfusionView::reflowPlots() {
    // Side by side where each grid gets room for legible numbers (about 22 pixels a cell), else two and one,
    // or one above the other: the view scrolls up and down rather than shrinking the grids to a blur.
    constexpr int kLegibleWidth = 330;
    // Before the first resize the view has Qt's default size, not its own: three a row, as it was built.
    const int columns =
        testAttribute(Qt::WA_Resized) || isVisible() ? std::clamp(width() / kLegibleWidth, 1, 3) : 3;
    if (columns == m_columns && m_plotGrid->count() == 3)
        return;
    m_columns = columns;
    flowIntoGrid(m_plotGrid, {m_plots[0]->plot, m_plots[1]->plot, m_plots[2]->plot}, columns);
    for (int i = 0; i < 3; ++i) {
        // Cells not much flatter than square: one a row is wide, so it gets more height (the view scrolls).
        m_plots[i]->plot->setMinimumSize(160, columns == 1 ? 360 : columns == 2 ? 300 : 240);
    }
}

void ConfusionView::updateTickRotation() {
    if (!usable())
        return;
    const int n = m_outputs->classes;
    for (auto& pp : m_plots) {
        QCustomPlot* plot = pp->plot;
        const QFontMetrics fm(plot->xAxis->tickLabelFont());
        int widest = 0;
        for (int k = 0; k < n; ++k)
            widest = std::max(widest, fm.horizontalAdvance(className(k)));
        const int rectWidth =
            plot->axisRect()->width() > 50 ? plot->axisRect()->width() : plot->width() - widest - 30;
        const double rotation = widest + 6 > double(rectWidth) / n ? -45 : 0;
        if (plot->xAxis->tickLabelRotation() != rotation) {
            plot->xAxis->setTickLabelRotation(rotation);
            plot->replot(QCustomPlot::rpQueuedReplot);
        }
    }
}

void ConfusionView::resizeEvent(QResizeEvent* event) {
    QWidget::resizeEvent(event);
    reflowPlots();
    updateTickRotation();
}

} // namespace kdui
