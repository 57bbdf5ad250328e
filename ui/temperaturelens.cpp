#include "temperaturelens.h"
#include "viewparts.h"

#include "plots.h"

#include <QAbstractListModel>
#include <QDoubleSpinBox>
#include <QFontMetrics>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QIcon>
#include <QImage>
#include <QLabel>
#include <QListView>
#include <QPainter>
#include <QPixmap>
#include <QPushButton>
#include <QSlider>
#include <QStackedWidget>
#include <QStyle>
#include <QTextDocument>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>
#include <functional>

namespace kdui {

namespace {

const QColor kTextColor(0x30, 0x30, 0x30);
const QColor kHintColor(0x80, 0x80, 0x80);
const QColor kRightColor(0x1a, 0x7f, 0x37);
const QColor kWrongColor(0xb0, 0x00, 0x20);

constexpr int kThumbSize = 44; // thumbnail icon, pixels
constexpr int kEnlarged = 196; // the chosen image's longer side, pixels (7x for 28x28)

// "4.0", "1", "0.5", "0.25": one decimal unless T needs two; T = 1 exactly as "1".
QString temperatureText(double t) {
    if (std::abs(t - 1.0) < 1e-12)
        return QStringLiteral("1");
    const bool twoDecimals = std::abs(t * 10 - std::round(t * 10)) > 1e-6;
    return QString::number(t, 'f', twoDecimals ? 2 : 1);
}

QString percent(double p) {
    return QString::number(p * 100, 'f', p >= 0.995 || p < 0.095 ? 1 : 0) + QLatin1Char('%');
}

// A plot of the teaching views: the app's right-click "Save as PNG / PDF / data as CSV", replotted by the
// view (no automatic rescaling: the views set their ranges).
class LensPlot : public PlotBase {
public:
    LensPlot(const QString& exportName, QWidget* parent)
        : PlotBase(parent) {
        setExportBaseName(exportName);
    }
    std::function<QString()> csv;
    QString dataCsv() const override { return csv ? csv() : QString(); }

protected:
    void rescaleAll() override {}
};

QImage testImage(const kd::TestOutputs& out, int index) {
    const kd::ImageSet& test = out.dataset->test;
    const std::size_t n = test.pixelsPerImage();
    if (n == 0 || index < 0 || (std::size_t(index) + 1) * n > test.pixels.size())
        return {};
    QImage image(&test.pixels[std::size_t(index) * n], test.cols, test.rows, test.cols,
                 QImage::Format_Grayscale8);
    return image.copy(); // detach from the dataset's buffer
}

// Logits of `role` when they cover every test image.
bool hasRows(const kd::TestOutputs& out, kd::Role role) {
    return out.classes > 0 && out.size() > 0 &&
           out.logits(role).size() == out.size() * std::size_t(out.classes);
}

// The model whose mistakes "Show a mistake" and the red thumbnail frames show: the distilled student, else
// the teacher.
kd::Role mistakeRole(const kd::TestOutputs& out) {
    return hasRows(out, kd::Role::Student) ? kd::Role::Student : kd::Role::Teacher;
}

bool isMistake(const kd::TestOutputs& out, kd::Role role, int index) {
    const std::int64_t label = out.dataset->test.labels[std::size_t(index)];
    return kd::predictedClass(&out.logits(role)[std::size_t(index) * out.classes], out.classes) != label;
}

} // namespace

// ---------------------------------------------------------------------------------------------------------
// Thumbnails: generated on demand (the view asks only for the visible ones), so 10,000 images cost nothing.

class TemperatureLens::ThumbnailModel : public QAbstractListModel {
public:
    using QAbstractListModel::QAbstractListModel;

    void setOutputs(std::shared_ptr<const kd::TestOutputs> outputs) {
        beginResetModel();
        m_outputs = std::move(outputs);
        endResetModel();
    }
    int rowCount(const QModelIndex& parent = QModelIndex()) const override {
        return parent.isValid() || !m_outputs ? 0 : int(m_outputs->size());
    }
    QVariant data(const QModelIndex& index, int role) const override {
        if (!m_outputs || !index.isValid() || index.row() >= rowCount())
            return {};
        const kd::TestOutputs& out = *m_outputs;
        const int row = index.row();
        const bool marked = hasRows(out, mistakeRole(out)) && isMistake(out, mistakeRole(out), row);
        switch (role) {
        case Qt::DecorationRole: {
            QPixmap pm = QPixmap::fromImage(testImage(out, row).scaled(
                kThumbSize, kThumbSize, Qt::KeepAspectRatio, Qt::SmoothTransformation));
            if (marked) { // a red frame: the student (or teacher) gets this one wrong
                QPainter painter(&pm);
                painter.setPen(QPen(kWrongColor, 2));
                painter.drawRect(QRectF(1, 1, pm.width() - 2, pm.height() - 2));
            }
            QIcon icon(pm);
            icon.addPixmap(pm, QIcon::Selected); // no tint: the selection shows as the frame around it
            return icon;
        }
        case Qt::SizeHintRole:
            return QSize(kThumbSize + 8, kThumbSize + 8);
        case Qt::ToolTipRole: {
            const std::int64_t label = out.dataset->test.labels[std::size_t(row)];
            QString tip = tr("Image %1: %2").arg(row + 1).arg(className(label));
            if (marked)
                tip +=
                    tr(" (the %1 gets it wrong)")
                        .arg(mistakeRole(out) == kd::Role::Student ? tr("distilled student") : tr("teacher"));
            return tip;
        }
        default:
            return {};
        }
    }
    QString className(std::int64_t c) const {
        const auto& names = m_outputs->dataset->classNames;
        return c >= 0 && std::size_t(c) < names.size() ? QString::fromStdString(names[std::size_t(c)])
                                                       : tr("class %1").arg(c);
    }

private:
    std::shared_ptr<const kd::TestOutputs> m_outputs;
};

// ---------------------------------------------------------------------------------------------------------

struct TemperatureLens::Chart {
    LensPlot* plot = nullptr;
    QCPTextElement* title = nullptr;
    QCPTextElement* subtitle = nullptr;
    QCPBars* bars = nullptr;  // every class
    QCPBars* truth = nullptr; // the true class again, darker and outlined
    QCPItemText* hint = nullptr;
    QVector<QCPItemText*> values;
    QSharedPointer<QCPAxisTickerText> ticker;
    kd::Role role = kd::Role::Teacher;
    bool atOne = false; // always T = 1
    std::vector<double> p;
    double h = -1;
    bool labelsFit = true; // the value labels fit above the bars (set after each layout)
};

TemperatureLens::TemperatureLens(QWidget* parent)
    : TeachingView(parent)
    , m_model(new ThumbnailModel(this))
    , m_strip(new QListView(this))
    , m_prev(new QPushButton(tr("\u25c0 Previous"), this))
    , m_next(new QPushButton(tr("Next \u25b6"), this))
    , m_mistake(new QPushButton(tr("Show a mistake"), this))
    , m_indexLabel(new QLabel(this))
    , m_image(new QLabel(this))
    , m_prediction(new QLabel(this))
    , m_tSlider(new QSlider(Qt::Horizontal, this))
    , m_tSpin(new QDoubleSpinBox(this)) {
    m_explanation->setText(
        tr("Temperature T softens the teacher's answer: at T = 1 it is almost sure of one class, at higher T "
           "the other classes show how alike the teacher finds them, and that is what the student learns to "
           "copy. Pick an image and move T."));

    // The thumbnail strip: one row, scrolled sideways, icons made only when shown.
    m_strip->setModel(m_model);
    m_strip->setViewMode(QListView::ListMode);
    m_strip->setFlow(QListView::LeftToRight);
    m_strip->setWrapping(false);
    m_strip->setUniformItemSizes(true);
    m_strip->setMovement(QListView::Static);
    m_strip->setIconSize(QSize(kThumbSize, kThumbSize));
    m_strip->setSelectionMode(QAbstractItemView::SingleSelection);
    m_strip->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOn);
    m_strip->setVerticalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    m_strip->setHorizontalScrollMode(QAbstractItemView::ScrollPerPixel);
    m_strip->setToolTip(tr("The test images; a red frame marks one the distilled student gets wrong."));
    connect(m_strip->selectionModel(), &QItemSelectionModel::currentChanged, this,
            [this](const QModelIndex& current) {
                if (!m_syncing && current.isValid())
                    setImageIndex(current.row());
            });

    m_prev->setToolTip(tr("The previous test image"));
    m_next->setToolTip(tr("The next test image"));
    m_mistake->setToolTip(tr("Jump to the next image the distilled student gets wrong"));
    connect(m_prev, &QPushButton::clicked, this, [this] {
        if (imageCount() > 0)
            setImageIndex((m_index + imageCount() - 1) % imageCount());
    });
    connect(m_next, &QPushButton::clicked, this, [this] {
        if (imageCount() > 0)
            setImageIndex((m_index + 1) % imageCount());
    });
    connect(m_mistake, &QPushButton::clicked, this, [this] { showMistake(); });

    m_image->setAlignment(Qt::AlignCenter);
    m_image->setFixedSize(kEnlarged + 8, kEnlarged + 8);
    m_image->setStyleSheet(QStringLiteral("background: black; border: 1px solid #808080;"));
    m_prediction->setTextFormat(Qt::RichText);
    m_prediction->setWordWrap(true);
    m_prediction->setAlignment(Qt::AlignLeft | Qt::AlignTop);

    // Temperature: log-scale slider and spin box.
    m_tSlider->setRange(0, kd::kTemperatureSliderSteps);
    m_tSpin->setRange(kMinTemperature, kMaxTemperature);
    m_tSpin->setDecimals(2);
    // Typed "12" is 12, not 1 and then 12: Enter or leaving the box applies it.
    m_tSpin->setKeyboardTracking(false);
    m_tSpin->setSingleStep(0.1);
    const QString tTip =
        tr("Temperature T: the teacher's logits are divided by T before the softmax. Higher T "
           "gives softer probabilities.");
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

    // The three charts, left to right: teacher at T = 1, teacher at T, distilled student at T.
    const struct {
        LensChart which;
        kd::Role role;
        bool atOne;
        const char* exportName;
    } specs[] = {{LensChart::TeacherAtOne, kd::Role::Teacher, true, "teacher-at-t1"},
                 {LensChart::TeacherAtT, kd::Role::Teacher, false, "teacher-at-t"},
                 {LensChart::StudentAtT, kd::Role::Student, false, "student-at-t"}};
    m_chartGrid = new QGridLayout;
    m_chartGrid->setSpacing(6);
    for (const auto& spec : specs) {
        auto c = std::make_unique<Chart>();
        c->role = spec.role;
        c->atOne = spec.atOne;
        c->plot = new LensPlot(QString::fromLatin1(spec.exportName), this);
        QCustomPlot* plot = c->plot;
        plot->setMinimumSize(180, 220); // three a row in 600 pixels; fewer a row where narrower (resizeEvent)
        QFont titleFont = plot->font();
        titleFont.setPointSizeF(titleFont.pointSizeF() + 1);
        titleFont.setBold(true);
        plot->plotLayout()->insertRow(0);
        c->title = new QCPTextElement(plot, QString(), titleFont);
        c->title->setTextColor(kTextColor);
        c->title->setMargins(QMargins(4, 4, 4, 0));
        plot->plotLayout()->addElement(0, 0, c->title);
        plot->plotLayout()->insertRow(1);
        c->subtitle = new QCPTextElement(plot, QString(), plot->font());
        c->subtitle->setTextColor(kTextColor);
        c->subtitle->setMargins(QMargins(4, 0, 4, 2));
        plot->plotLayout()->addElement(1, 0, c->subtitle);
        plot->plotLayout()->setRowStretchFactor(0, 0.001);
        plot->plotLayout()->setRowStretchFactor(1, 0.001);

        for (QCPAxis* axis : {plot->xAxis, plot->yAxis}) {
            axis->setBasePen(QPen(QColor(110, 110, 110)));
            axis->setTickPen(QPen(QColor(110, 110, 110)));
            axis->setSubTickPen(QPen(QColor(150, 150, 150)));
            axis->setTickLabelColor(kTextColor);
            axis->setLabelColor(kTextColor);
            axis->grid()->setPen(QPen(QColor(225, 225, 225)));
            axis->grid()->setSubGridVisible(false);
        }
        c->ticker = QSharedPointer<QCPAxisTickerText>::create();
        plot->xAxis->setTicker(c->ticker);
        plot->xAxis->setTickLength(0, 0);
        plot->xAxis->setSubTicks(false);
        plot->xAxis->grid()->setVisible(false);
        plot->yAxis->setRange(0, 1);
        plot->yAxis->setLabel(tr("probability"));
        auto yTicker = QSharedPointer<QCPAxisTickerFixed>::create();
        yTicker->setTickStep(0.2);
        plot->yAxis->setTicker(yTicker);

        const QColor color = roleColor(spec.role);
        QColor light = color;
        light.setAlphaF(0.35);
        c->bars = new QCPBars(plot->xAxis, plot->yAxis);
        c->bars->setWidth(0.72);
        c->bars->setPen(QPen(color, 1));
        c->bars->setBrush(light);
        c->bars->setSelectable(QCP::stNone);
        c->truth = new QCPBars(plot->xAxis, plot->yAxis);
        c->truth->setWidth(0.72);
        c->truth->setPen(QPen(QColor(0, 0, 0), 2));
        c->truth->setBrush(color);
        c->truth->setSelectable(QCP::stNone);

        c->hint = new QCPItemText(plot);
        c->hint->position->setType(QCPItemPosition::ptAxisRectRatio);
        c->hint->position->setCoords(0.5, 0.45);
        c->hint->setPositionAlignment(Qt::AlignCenter);
        c->hint->setColor(kHintColor);
        c->hint->setText(tr("The distilled student was not\ntrained in this run"));
        c->hint->setVisible(false);
        c->hint->setSelectable(false);

        Chart* raw = c.get();
        // Value labels only where they fit beside each other (items do not change the layout: no loop).
        connect(plot, &QCustomPlot::afterLayout, this, [raw] {
            if (raw->values.isEmpty())
                return;
            const QFontMetrics fm(raw->values.first()->font());
            const double slot = double(raw->plot->axisRect()->width()) / raw->values.size();
            raw->labelsFit = slot >= fm.horizontalAdvance(QStringLiteral("0.00")) + 3;
            for (int k = 0; k < raw->values.size(); ++k)
                raw->values[k]->setVisible(raw->labelsFit && std::size_t(k) < raw->p.size() &&
                                           raw->p[std::size_t(k)] >= 0.005);
        });
        c->plot->csv = [raw, this] {
            QString text = QStringLiteral("class,probability\n");
            for (std::size_t k = 0; k < raw->p.size(); ++k)
                text +=
                    QStringLiteral("\"%1\",%2\n").arg(className(int(k)), QString::number(raw->p[k], 'g', 10));
            return text;
        };
        m_chartGrid->addWidget(plot, 0, m_chartGrid->count());
        m_charts[int(spec.which)] = std::move(c);
    }

    // Layout: strip; image beside its predictions, the navigation and T; the three charts.
    auto* content = new QWidget(this);
    auto* contentLayout = new QVBoxLayout(content);
    contentLayout->setContentsMargins(0, 0, 0, 0);
    contentLayout->setSpacing(6);
    const int stripHeight = kThumbSize + 8 + 2 * m_strip->frameWidth() +
                            m_strip->style()->pixelMetric(QStyle::PM_ScrollBarExtent, nullptr, m_strip) + 4;
    m_strip->setFixedHeight(stripHeight);
    contentLayout->addWidget(m_strip);

    auto* band = new QHBoxLayout;
    band->setSpacing(12);
    band->addWidget(m_image, 0, Qt::AlignTop);
    auto* info = new QVBoxLayout;
    info->setSpacing(8);
    info->addWidget(m_prediction);
    m_nav = new QGridLayout;
    m_nav->addWidget(m_prev, 0, 0);
    m_nav->addWidget(m_next, 0, 1);
    m_nav->addWidget(m_mistake, 0, 2);
    m_nav->addWidget(m_indexLabel, 0, 3);
    m_nav->setColumnStretch(4, 1);
    m_nav->setHorizontalSpacing(6);
    info->addLayout(m_nav);
    auto* tRow = new QHBoxLayout;
    auto* tLabel = new QLabel(tr("Temperature T"), this);
    tLabel->setToolTip(tTip);
    tRow->addWidget(tLabel);
    tRow->addWidget(m_tSlider, 1);
    tRow->addWidget(m_tSpin);
    info->addLayout(tRow);
    auto* key = new QLabel(tr("In each chart the dark, outlined bar is the true class."), this);
    key->setStyleSheet(QStringLiteral("color: #606060;"));
    key->setWordWrap(true);
    info->addWidget(key);
    info->addStretch(1);
    band->addLayout(info, 1);
    contentLayout->addLayout(band);
    contentLayout->addLayout(m_chartGrid, 1);

    setContent(content);

    syncTemperatureWidgets();
    setOutputs(nullptr);
}

TemperatureLens::~TemperatureLens() = default;

QCustomPlot* TemperatureLens::chart(LensChart which) const {
    return m_charts[int(which)]->plot;
}

QString TemperatureLens::chartTitle(LensChart which) const {
    const Chart& c = *m_charts[int(which)];
    return c.title->text() + QLatin1Char(' ') + c.subtitle->text();
}

QAbstractItemModel* TemperatureLens::thumbnailModel() const {
    return m_model;
}

QListView* TemperatureLens::thumbnailStrip() const {
    return m_strip;
}

QString TemperatureLens::predictionText() const {
    QTextDocument doc;
    doc.setHtml(m_prediction->text());
    return doc.toPlainText();
}

std::vector<double> TemperatureLens::probabilities(LensChart which) const {
    std::vector<double> out;
    const QCPBars* bars = m_charts[int(which)]->bars;
    for (auto it = bars->data()->constBegin(); it != bars->data()->constEnd(); ++it)
        out.push_back(it->value);
    return out;
}

double TemperatureLens::entropy(LensChart which) const {
    return m_charts[int(which)]->h;
}

const kd::TestOutputs* TemperatureLens::usable() const {
    if (!m_outputs || !m_outputs->dataset || m_outputs->size() == 0 || m_outputs->classes <= 0 ||
        !hasRows(*m_outputs, kd::Role::Teacher))
        return nullptr;
    return m_outputs.get();
}

bool TemperatureLens::hasData() const {
    return usable() != nullptr;
}

int TemperatureLens::imageCount() const {
    return m_outputs && m_outputs->dataset ? int(m_outputs->size()) : 0;
}

QString TemperatureLens::className(int c) const {
    return kdui::className(m_outputs.get(), c);
}

void TemperatureLens::setOutputs(std::shared_ptr<const kd::TestOutputs> outputs) {
    m_outputs = std::move(outputs);
    const kd::TestOutputs* out = usable();
    m_model->setOutputs(out ? m_outputs : nullptr);
    if (!out) {
        m_placeholder->setText(
            m_outputs && m_outputs->size() > 0
                ? tr("This run stopped before the teacher was evaluated on the test images, so there is "
                     "nothing to show yet. Train a run to the end, or pick another in the run list.")
                : tr("Train a run, or pick one in the run list, to see how temperature softens the "
                     "teacher's answers."));
        m_stack->setCurrentWidget(m_placeholder);
        for (auto& c : m_charts) {
            c->bars->data()->clear();
            c->truth->data()->clear();
            c->p.clear();
            c->h = -1;
        }
        return;
    }
    m_stack->setCurrentWidget(m_stack->widget(1));
    rebuildAxes();
    const int old = m_index;
    m_index = (m_index >= 0 && m_index < imageCount()) ? m_index : 0;
    updateAll();
    if (m_index != old)
        Q_EMIT imageIndexChanged(m_index);
}

// Class names as x tick labels, one value label per bar.
void TemperatureLens::rebuildAxes() {
    const int classes = m_outputs->classes;
    for (auto& c : m_charts) {
        c->ticker->clear();
        for (int k = 0; k < classes; ++k)
            c->ticker->addTick(k, className(k));
        c->plot->xAxis->setRange(-0.6, classes - 0.4);
        for (QCPItemText* item : c->values)
            c->plot->removeItem(item);
        c->values.clear();
        QFont small = c->plot->font();
        small.setPointSizeF(std::max(6.5, small.pointSizeF() - 1.5));
        for (int k = 0; k < classes; ++k) {
            auto* text = new QCPItemText(c->plot);
            text->setClipToAxisRect(false);
            text->position->setType(QCPItemPosition::ptPlotCoords);
            text->setPositionAlignment(Qt::AlignHCenter | Qt::AlignBottom);
            text->setFont(small);
            text->setColor(kTextColor);
            text->setSelectable(false);
            c->values << text;
        }
    }
    updateTickRotation();
}

void TemperatureLens::updateTickRotation() {
    if (!m_outputs || m_outputs->classes <= 0)
        return;
    for (auto& c : m_charts) {
        QCustomPlot* plot = c->plot;
        const QFontMetrics fm(plot->xAxis->tickLabelFont());
        int widest = 0;
        for (int k = 0; k < m_outputs->classes; ++k)
            widest = std::max(widest, fm.horizontalAdvance(className(k)));
        const int rectWidth = plot->axisRect()->width() > 50 ? plot->axisRect()->width() : plot->width() - 60;
        const double slot = double(rectWidth) / m_outputs->classes;
        const double rotation = widest + 6 > slot ? -45 : 0;
        if (plot->xAxis->tickLabelRotation() != rotation) {
            plot->xAxis->setTickLabelRotation(rotation);
            plot->replot(QCustomPlot::rpQueuedReplot);
        }
    }
}

void TemperatureLens::resizeEvent(QResizeEvent* event) {
    QWidget::resizeEvent(event);
    // A smaller enlargement in a short window, so the charts keep their height.
    const int side = height() >= 640 ? kEnlarged : kEnlarged * 5 / 7;
    if (side != m_imageSide) {
        m_imageSide = side;
        m_image->setFixedSize(side + 8, side + 8);
        if (hasData())
            updateImage();
    }
    // Narrow (1024x700, or 200%): "image 3 of 1,000" goes under the buttons rather than widening the view.
    const bool indexBelow = width() < 700;
    if (indexBelow != (m_nav->indexOf(m_indexLabel) >= 0 && m_nav->itemAtPosition(1, 0) != nullptr)) {
        m_nav->removeWidget(m_indexLabel);
        if (indexBelow)
            m_nav->addWidget(m_indexLabel, 1, 0, 1, 4);
        else
            m_nav->addWidget(m_indexLabel, 0, 3);
    }
    // The teacher at T = 1 and at T side by side first; the distilled student below them where the view is
    // too narrow for three legible charts (the class names along their axes need about 250 pixels each).
    const int columns = std::clamp(width() / 250, 1, 3);
    if (columns != m_chartColumns) {
        m_chartColumns = columns;
        flowIntoGrid(
            m_chartGrid,
            {chart(LensChart::TeacherAtOne), chart(LensChart::TeacherAtT), chart(LensChart::StudentAtT)},
            columns);
    }
    updateTickRotation();
}

void TemperatureLens::setImageIndex(int index) {
    const int count = imageCount();
    if (count <= 0 || !hasData())
        return;
    index = std::clamp(index, 0, count - 1);
    if (index == m_index && m_strip->currentIndex().row() == index)
        return;
    const bool changed = index != m_index;
    m_index = index;
    updateAll();
    if (changed)
        Q_EMIT imageIndexChanged(m_index);
}

bool TemperatureLens::showMistake() {
    const kd::TestOutputs* out = usable();
    if (!out)
        return false;
    const kd::Role role = mistakeRole(*out);
    const int count = imageCount();
    for (int step = 1; step <= count; ++step) {
        const int i = (m_index + step) % count;
        if (isMistake(*out, role, i)) {
            setImageIndex(i);
            return true;
        }
    }
    m_indexLabel->setText(tr("image %1 of %2 \u00b7 no mistakes to show").arg(m_index + 1).arg(count));
    return false;
}

void TemperatureLens::setTemperature(double temperature) {
    if (!std::isfinite(temperature))
        return;
    temperature = std::clamp(temperature, kMinTemperature, kMaxTemperature);
    if (temperature == m_temperature)
        return;
    m_temperature = temperature;
    syncTemperatureWidgets();
    if (hasData()) {
        updateChart(LensChart::TeacherAtT, true);
        updateChart(LensChart::StudentAtT, true);
    }
    Q_EMIT temperatureChanged(m_temperature);
}

void TemperatureLens::syncTemperatureWidgets() {
    m_syncing = true;
    m_tSlider->setValue(kd::temperatureToSlider(m_temperature));
    m_tSpin->setValue(m_temperature);
    m_syncing = false;
}

void TemperatureLens::updateAll() {
    updateImage();
    for (LensChart which : {LensChart::TeacherAtOne, LensChart::TeacherAtT, LensChart::StudentAtT})
        updateChart(which, true);
}

void TemperatureLens::updateImage() {
    const kd::TestOutputs& out = *m_outputs;
    const int count = imageCount();
    m_syncing = true;
    const QModelIndex index = m_model->index(m_index, 0);
    m_strip->setCurrentIndex(index);
    m_strip->scrollTo(index, QAbstractItemView::PositionAtCenter);
    m_syncing = false;
    m_indexLabel->setText(tr("image %1 of %2").arg(m_index + 1).arg(count));

    const QImage image = testImage(out, m_index);
    if (!image.isNull()) {
        const int factor = std::max(1, m_imageSide / std::max(image.width(), image.height()));
        m_image->setPixmap(QPixmap::fromImage(image.scaled(image.width() * factor, image.height() * factor,
                                                           Qt::KeepAspectRatio, Qt::FastTransformation)));
    } else {
        m_image->clear();
    }

    const int label = int(out.dataset->test.labels[std::size_t(m_index)]);
    auto verdict = [&](kd::Role role, const QString& who) {
        if (!hasRows(out, role))
            return tr("The %1 was not trained in this run.").arg(who);
        const float* row = &out.logits(role)[std::size_t(m_index) * out.classes];
        const int predicted = kd::predictedClass(row, out.classes);
        const double p = kd::softmaxAtTemperature(row, out.classes, 1.0)[std::size_t(predicted)];
        const bool right = predicted == label;
        return tr("The %1 says <b>%2</b> (%3 sure at T = 1): <span style=\"color:%4\"><b>%5</b></span>")
            .arg(who, className(predicted).toHtmlEscaped(), percent(p),
                 (right ? kRightColor : kWrongColor).name(), right ? tr("right") : tr("wrong"));
    };
    QFont big = font();
    m_prediction->setText(
        tr("<div style=\"font-size:%1pt\">True class: <b>%2</b></div><div style=\"margin-top:6px\">%3</div>"
           "<div>%4</div>")
            .arg(QString::number(big.pointSizeF() * 1.4, 'f', 1), className(label).toHtmlEscaped(),
                 verdict(kd::Role::Teacher, tr("teacher")),
                 verdict(kd::Role::Student, tr("distilled student"))));
}

void TemperatureLens::updateChart(LensChart which, bool replot) {
    Chart& c = *m_charts[int(which)];
    const kd::TestOutputs& out = *m_outputs;
    const double t = c.atOne ? 1.0 : m_temperature;
    const QString who = c.role == kd::Role::Student ? tr("Distilled student") : tr("Teacher");
    c.title->setText(tr("%1 at T = %2").arg(who, temperatureText(t)));
    const int label = int(out.dataset->test.labels[std::size_t(m_index)]);
    if (!hasRows(out, c.role)) {
        c.p.clear();
        c.h = -1;
        c.bars->data()->clear();
        c.truth->data()->clear();
        for (QCPItemText* text : c.values)
            text->setVisible(false);
        c.subtitle->setText(tr("no logits"));
        c.hint->setVisible(true);
    } else {
        c.hint->setVisible(false);
        c.p =
            kd::softmaxAtTemperature(&out.logits(c.role)[std::size_t(m_index) * out.classes], out.classes, t);
        c.h = kd::entropyBits(c.p);
        c.subtitle->setText(tr("entropy %1 bits").arg(QString::number(c.h, 'f', 2)));
        QVector<double> keys(out.classes), values(out.classes);
        for (int k = 0; k < out.classes; ++k) {
            keys[k] = k;
            values[k] = c.p[std::size_t(k)];
            QCPItemText* text = c.values[k];
            // Above the bar; inside its top (white) when the bar reaches the top of the chart.
            const bool inside = values[k] > 0.88;
            text->position->setCoords(k, inside ? values[k] - 0.01 : values[k] + 0.01);
            text->setPositionAlignment(Qt::AlignHCenter | (inside ? Qt::AlignTop : Qt::AlignBottom));
            text->setColor(inside && k == label ? QColor(Qt::white) : kTextColor); // on the dark bar: white
            text->setText(QString::number(values[k], 'f', 2));
            text->setVisible(c.labelsFit && values[k] >= 0.005);
        }
        c.bars->setData(keys, values, true);
        if (label >= 0 && label < out.classes)
            c.truth->setData(QVector<double>{double(label)}, QVector<double>{values[label]}, true);
        else
            c.truth->data()->clear();
    }
    if (replot)
        c.plot->replot(QCustomPlot::rpQueuedReplot);
}

} // namespace kdui
