#include "darkknowledgeview.h"

#include "plots.h"
#include "viewparts.h"

#include <QCheckBox>
#include <QDoubleSpinBox>
#include <QFontMetrics>
#include <QHBoxLayout>
#include <QLabel>
#include <QSlider>
#include <QStackedWidget>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>

namespace kdui {

namespace {

const QColor kTextColor(0x30, 0x30, 0x30);

QString temperatureText(double t) {
    if (std::abs(t - 1.0) < 1e-12)
        return QStringLiteral("1");
    const bool twoDecimals = std::abs(t * 10 - std::round(t * 10)) > 1e-6;
    return QString::number(t, 'f', twoDecimals ? 2 : 1);
}

// 0.21, 0.004, 0: two decimals, three for the small values that matter at low T.
QString cellText(double v) {
    if (v <= 0)
        return QStringLiteral("0");
    if (v >= 0.01)
        return QString::number(v, 'f', 2);
    if (v >= 0.0005)
        return QString::number(v, 'f', 3);
    return QStringLiteral("<.001");
}

// White to dark blue (ColorBrewer "Blues").
QCPColorGradient blues() {
    return colorGradient({{0.0, QColor(255, 255, 255)},
                          {0.15, QColor(222, 235, 247)},
                          {0.4, QColor(158, 202, 225)},
                          {0.7, QColor(49, 130, 189)},
                          {1.0, QColor(8, 48, 107)}});
}

} // namespace

struct DarkKnowledgeView::Plot {
    CallbackPlot* plot = nullptr;
    QCPTextElement* title = nullptr;
    QCPColorMap* map = nullptr;
    QCPColorScale* scale = nullptr;
    QSharedPointer<QCPAxisTickerText> xTicker, yTicker;
    QVector<QCPItemText*> texts;  // row-major
    QVector<QCPItemRect*> greyed; // the diagonal, shown when it is hidden
    QCPColorGradient gradient = blues();
    int classes = 0;
};

DarkKnowledgeView::DarkKnowledgeView(QWidget* parent)
    : TeachingView(parent)
    , m_tSlider(new QSlider(Qt::Horizontal, this))
    , m_tSpin(new QDoubleSpinBox(this))
    , m_hideDiagonal(new QCheckBox(tr("Hide the diagonal"), this))
    , m_alike(new QLabel(this))
    , m_plot(std::make_unique<Plot>()) {
    m_explanation->setText(
        tr("Each row shows, on average, how the teacher shares its belief between the classes for the images "
           "of one class. The small numbers off the diagonal are the teacher's \"dark knowledge\": which "
           "classes it finds alike. Raise T to make them bigger."));

    m_tSlider->setRange(0, kd::kTemperatureSliderSteps);
    m_tSpin->setRange(kMinTemperature, kMaxTemperature);
    m_tSpin->setDecimals(2);
    // Typed "12" is 12, not 1 and then 12: Enter or leaving the box applies it.
    m_tSpin->setKeyboardTracking(false);
    m_tSpin->setSingleStep(0.1);
    const QString tTip =
        tr("Temperature T: the teacher's logits are divided by T before the softmax. Higher T "
           "moves probability from the true class to the classes the teacher finds alike.");
    m_tSlider->setToolTip(tTip);
    m_tSpin->setToolTip(tTip);
    connect(m_tSlider, &QSlider::valueChanged, this, [this](int position) {
        if (!m_syncing)
            setTemperature(kd::sliderToTemperature(position));
    });
    connect(m_tSpin, qOverload<double>(&QDoubleSpinBox::valueChanged), this, [this](double t) {
        if (!m_syncing)
            setTemperature(t);
    });
    m_hideDiagonal->setToolTip(
        tr("Grey out the diagonal and stretch the colours over the other cells, so the "
           "small probabilities for the wrong classes become visible."));
    connect(m_hideDiagonal, &QCheckBox::toggled, this, [this] {
        updateColours();
        m_plot->plot->replot(QCustomPlot::rpQueuedReplot);
    });
    m_alike->setWordWrap(true);
    m_alike->setTextFormat(Qt::PlainText);
    QFont alikeFont = m_alike->font();
    alikeFont.setPointSizeF(alikeFont.pointSizeF() + 1);
    m_alike->setFont(alikeFont);

    // The heatmap: title, then the map beside its colour scale.
    Plot& p = *m_plot;
    p.plot = new CallbackPlot(QStringLiteral("dark-knowledge"), this);
    QCustomPlot* plot = p.plot;
    plot->setMinimumSize(320, 300);
    QFont titleFont = plot->font();
    titleFont.setPointSizeF(titleFont.pointSizeF() + 2);
    titleFont.setBold(true);
    plot->plotLayout()->insertRow(0);
    p.title = new QCPTextElement(plot, QString(), titleFont);
    p.title->setTextColor(kTextColor);
    p.title->setMargins(QMargins(6, 6, 6, 2));
    plot->plotLayout()->addElement(0, 0, p.title);
    plot->plotLayout()->setRowStretchFactor(0, 0.001);
    for (QCPAxis* axis : {plot->xAxis, plot->yAxis}) {
        axis->setBasePen(Qt::NoPen);
        axis->setTickLength(0, 0);
        axis->setSubTicks(false);
        axis->setTickLabelColor(kTextColor);
        axis->setLabelColor(kTextColor);
        axis->grid()->setVisible(false);
        QFont labelFont = plot->font();
        labelFont.setPointSizeF(labelFont.pointSizeF() + 0.5);
        axis->setLabelFont(labelFont);
    }
    p.xTicker = QSharedPointer<QCPAxisTickerText>::create();
    p.yTicker = QSharedPointer<QCPAxisTickerText>::create();
    plot->xAxis->setTicker(p.xTicker);
    plot->yAxis->setTicker(p.yTicker);
    plot->xAxis->setLabel(tr("the teacher's probability for \u2026"));
    plot->yAxis->setLabel(tr("true class of the images"));
    plot->yAxis->setRangeReversed(true); // the first class at the top

    p.map = new QCPColorMap(plot->xAxis, plot->yAxis);
    p.map->setInterpolate(false);
    p.map->setTightBoundary(false);
    p.map->setSelectable(QCP::stNone);
    p.scale = new QCPColorScale(plot);
    p.scale->setType(QCPAxis::atRight);
    p.scale->setBarWidth(14);
    p.scale->axis()->setLabel(tr("mean probability"));
    p.scale->axis()->setTickLabelColor(kTextColor);
    p.scale->axis()->setLabelColor(kTextColor);
    plot->plotLayout()->addElement(1, 1, p.scale);
    p.map->setColorScale(p.scale); // the map takes the scale's gradient and range: set them after
    p.map->setGradient(p.gradient);
    auto* margins = new QCPMarginGroup(plot);
    plot->axisRect()->setMarginGroup(QCP::msTop | QCP::msBottom, margins);
    p.scale->setMarginGroup(QCP::msTop | QCP::msBottom, margins);
    p.plot->csv = [this] {
        QString text = QStringLiteral("true class");
        for (int c = 0; c < m_matrix.classes; ++c)
            text += QStringLiteral(",\"%1\"").arg(className(c));
        text += QLatin1Char('\n');
        for (int r = 0; r < m_matrix.classes; ++r) {
            text += QStringLiteral("\"%1\"").arg(className(r));
            for (int c = 0; c < m_matrix.classes; ++c)
                text += QLatin1Char(',') + QString::number(m_matrix.at(r, c), 'g', 10);
            text += QLatin1Char('\n');
        }
        return text;
    };
    // Cell texts follow the cell size (items do not change the layout, so this cannot loop).
    connect(plot, &QCustomPlot::afterLayout, this, [this] {
        Plot& q = *m_plot;
        if (q.classes <= 0)
            return;
        const QRect rect = q.plot->axisRect()->rect();
        const double cellW = double(rect.width()) / q.classes, cellH = double(rect.height()) / q.classes;
        const int pixels = int(std::clamp(std::min(cellW / 3.3, cellH / 2.2), 7.0, 14.0));
        QFont font = q.plot->font();
        font.setPixelSize(pixels);
        for (QCPItemText* text : q.texts)
            text->setFont(font);
    });

    auto* content = new QWidget(this);
    auto* contentLayout = new QVBoxLayout(content);
    contentLayout->setContentsMargins(0, 0, 0, 0);
    auto* controls = new QHBoxLayout;
    auto* tLabel = new QLabel(tr("Temperature T"), this);
    tLabel->setToolTip(tTip);
    controls->addWidget(tLabel);
    controls->addWidget(m_tSlider, 1);
    controls->addWidget(m_tSpin);
    controls->addSpacing(16);
    controls->addWidget(m_hideDiagonal);
    controls->addStretch(1);
    contentLayout->addLayout(controls);
    contentLayout->addWidget(m_alike);
    contentLayout->addWidget(plot, 1);

    setContent(content);

    syncTemperatureWidgets();
    setOutputs(nullptr);
}

DarkKnowledgeView::~DarkKnowledgeView() = default;

QString DarkKnowledgeView::alikeText() const {
    return showsPlaceholder() ? QString() : m_alike->text();
}

QCustomPlot* DarkKnowledgeView::plot() const {
    return m_plot->plot;
}

void DarkKnowledgeView::setHideDiagonal(bool hide) {
    m_hideDiagonal->setChecked(hide); // toggled() recolours
}

bool DarkKnowledgeView::hideDiagonal() const {
    return m_hideDiagonal->isChecked();
}

double DarkKnowledgeView::shownCellValue(int row, int column) const {
    const Plot& p = *m_plot;
    if (showsPlaceholder() || row < 0 || column < 0 || row >= p.classes || column >= p.classes)
        return std::numeric_limits<double>::quiet_NaN();
    return p.map->data()->cell(column, row);
}

const kd::TestOutputs* DarkKnowledgeView::usable() const {
    if (!m_outputs || !m_outputs->dataset || m_outputs->size() == 0 || m_outputs->classes <= 0 ||
        m_outputs->teacher.size() != m_outputs->size() * std::size_t(m_outputs->classes))
        return nullptr;
    return m_outputs.get();
}

QString DarkKnowledgeView::className(int c) const {
    return kdui::className(m_outputs.get(), c);
}

void DarkKnowledgeView::setOutputs(std::shared_ptr<const kd::TestOutputs> outputs) {
    m_outputs = std::move(outputs);
    if (!usable()) {
        m_placeholder->setText(
            m_outputs && m_outputs->size() > 0
                ? tr("This run stopped before the teacher was evaluated on the test images, so there is no "
                     "dark knowledge to show. Train a run to the end, or pick another in the run list.")
                : tr("Train a run, or pick one in the run list, to see which classes the teacher finds "
                     "alike."));
        m_stack->setCurrentWidget(m_placeholder);
        m_matrix = kd::ClassMatrix{};
        return;
    }
    m_stack->setCurrentWidget(m_stack->widget(1));
    rebuild();
    recompute();
}

void DarkKnowledgeView::setTemperature(double temperature) {
    if (!std::isfinite(temperature))
        return;
    temperature = std::clamp(temperature, kMinTemperature, kMaxTemperature);
    if (temperature == m_temperature)
        return;
    m_temperature = temperature;
    syncTemperatureWidgets();
    if (usable())
        recompute();
    Q_EMIT temperatureChanged(m_temperature);
}

void DarkKnowledgeView::syncTemperatureWidgets() {
    m_syncing = true;
    m_tSlider->setValue(kd::temperatureToSlider(m_temperature));
    m_tSpin->setValue(m_temperature);
    m_syncing = false;
}

void DarkKnowledgeView::rebuild() {
    Plot& p = *m_plot;
    const int n = m_outputs->classes;
    if (p.classes == n) { // same shape: only the names may differ
        p.xTicker->clear();
        p.yTicker->clear();
        for (int k = 0; k < n; ++k) {
            p.xTicker->addTick(k, className(k));
            p.yTicker->addTick(k, className(k));
        }
        updateTickRotation();
        return;
    }
    for (QCPItemText* text : p.texts)
        p.plot->removeItem(text);
    for (QCPItemRect* rect : p.greyed)
        p.plot->removeItem(rect);
    p.texts.clear();
    p.greyed.clear();
    p.classes = n;
    p.map->data()->setSize(n, n);
    p.map->data()->setRange(QCPRange(0, std::max(1, n - 1)), QCPRange(0, std::max(1, n - 1)));
    if (n == 1)
        p.map->data()->setRange(QCPRange(0, 0), QCPRange(0, 0));
    p.plot->xAxis->setRange(-0.5, n - 0.5);
    p.plot->yAxis->setRange(-0.5, n - 0.5);
    p.xTicker->clear();
    p.yTicker->clear();
    for (int k = 0; k < n; ++k) {
        p.xTicker->addTick(k, className(k));
        p.yTicker->addTick(k, className(k));
    }
    for (int r = 0; r < n; ++r) {
        for (int c = 0; c < n; ++c) {
            if (r == c) {
                auto* rect = new QCPItemRect(p.plot);
                rect->topLeft->setCoords(c - 0.5, r - 0.5);
                rect->bottomRight->setCoords(c + 0.5, r + 0.5);
                rect->setPen(Qt::NoPen);
                rect->setBrush(QColor(232, 232, 232));
                rect->setSelectable(false);
                rect->setVisible(false);
                p.greyed << rect;
            }
            auto* text = new QCPItemText(p.plot);
            text->position->setType(QCPItemPosition::ptPlotCoords);
            text->position->setCoords(c, r);
            text->setPositionAlignment(Qt::AlignCenter);
            text->setSelectable(false);
            p.texts << text;
        }
    }
    updateTickRotation();
}

void DarkKnowledgeView::recompute() {
    const kd::TestOutputs& out = *m_outputs;
    Plot& p = *m_plot;
    m_matrix = kd::darkKnowledgeMatrix(out.teacher, out.dataset->test.labels, out.classes, m_temperature);
    const int n = m_matrix.classes;
    for (int r = 0; r < n; ++r)
        for (int c = 0; c < n; ++c) {
            p.map->data()->setCell(c, r, m_matrix.at(r, c));
            p.texts[r * n + c]->setText(cellText(m_matrix.at(r, c)));
        }
    p.title->setText(tr("The teacher's average probabilities at T = %1").arg(temperatureText(m_temperature)));

    // The three most alike pairs of classes (each pair once, in its stronger direction).
    struct Pair {
        int from, to;
        double value;
    };
    std::vector<Pair> pairs;
    for (int r = 0; r < n; ++r)
        for (int c = r + 1; c < n; ++c)
            pairs.push_back(m_matrix.at(r, c) >= m_matrix.at(c, r) ? Pair{r, c, m_matrix.at(r, c)}
                                                                   : Pair{c, r, m_matrix.at(c, r)});
    std::stable_sort(pairs.begin(), pairs.end(),
                     [](const Pair& a, const Pair& b) { return a.value > b.value; });
    if (pairs.size() > 3)
        pairs.resize(3);
    QStringList parts;
    for (std::size_t i = 0; i < pairs.size(); ++i)
        parts << (i == 0 ? tr("%1 most like %2 (%3)") : tr("%1 like %2 (%3)"))
                     .arg(className(pairs[i].from), className(pairs[i].to), cellText(pairs[i].value));
    QString sentence;
    if (parts.isEmpty())
        sentence = tr("With a single class there is nothing to compare.");
    else if (parts.size() == 1)
        sentence = tr("The teacher finds %1.").arg(parts[0]);
    else
        sentence =
            tr("The teacher finds %1 and %2.")
                .arg(QStringList(parts.mid(0, parts.size() - 1)).join(QStringLiteral(", ")), parts.last());
    m_alike->setText(sentence);

    updateColours();
    p.plot->replot(QCustomPlot::rpQueuedReplot);
}

void DarkKnowledgeView::updateColours() {
    Plot& p = *m_plot;
    const int n = m_matrix.classes;
    if (n <= 0 || p.texts.size() != n * n)
        return;
    const bool hide = m_hideDiagonal->isChecked();
    double top = 0;
    for (int r = 0; r < n; ++r)
        for (int c = 0; c < n; ++c)
            if (r != c)
                top = std::max(top, m_matrix.at(r, c));
    // Shown: the full 0-1 scale, so the picture at different T compares. Hidden: 0 to the largest other cell.
    const QCPRange range(0, hide && top > 0 ? top : 1.0);
    p.map->setDataRange(range);
    p.scale->axis()->setLabel(hide ? tr("mean probability (diagonal hidden)") : tr("mean probability"));
    for (int r = 0; r < n; ++r)
        for (int c = 0; c < n; ++c) {
            QCPItemText* text = p.texts[r * n + c];
            const double v = m_matrix.at(r, c);
            if (r == c && hide) {
                text->setColor(QColor(150, 150, 150));
                continue;
            }
            const QColor cell = QColor::fromRgb(p.gradient.color(v, range));
            text->setColor(isDarkColor(cell) ? QColor(Qt::white) : kTextColor);
        }
    for (QCPItemRect* rect : p.greyed)
        rect->setVisible(hide);
}

void DarkKnowledgeView::updateTickRotation() {
    Plot& p = *m_plot;
    if (p.classes <= 0)
        return;
    const QFontMetrics fm(p.plot->xAxis->tickLabelFont());
    int widest = 0;
    for (int k = 0; k < p.classes; ++k)
        widest = std::max(widest, fm.horizontalAdvance(className(k)));
    const int rectWidth =
        p.plot->axisRect()->width() > 50 ? p.plot->axisRect()->width() : p.plot->width() - 200;
    const double rotation = widest + 8 > double(rectWidth) / p.classes ? -45 : 0;
    if (p.plot->xAxis->tickLabelRotation() != rotation) {
        p.plot->xAxis->setTickLabelRotation(rotation);
        p.plot->replot(QCustomPlot::rpQueuedReplot);
    }
}

void DarkKnowledgeView::resizeEvent(QResizeEvent* event) {
    QWidget::resizeEvent(event);
    updateTickRotation();
}

} // namespace kdui
