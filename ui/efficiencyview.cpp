#include "efficiencyview.h"
#include "viewparts.h"

#include <QHeaderView>
#include <QLabel>
#include <QLocale>
#include <QStackedWidget>
#include <QTableWidget>
#include <QTimer>
#include <QVBoxLayout>

#include <cmath>

namespace kdui {

namespace {

const QString kDash = QStringLiteral("\u2013");

QString withSeparators(double value) {
    return QLocale(QLocale::English, QLocale::UnitedStates).toString(qlonglong(std::llround(value)));
}

// 27.7x; 250x from 100 up.
QString ratioText(double ratio) {
    return QString::number(ratio, 'f', ratio >= 100 ? 0 : 1) + QLatin1Char('x');
}

// "27.7x fewer" when `better` > 1 (teacher / student for counts), else "1.5x more"; "the same" near 1.
QString compare(double teacherValue, double studentValue, bool lowerIsBetter, const QString& betterWord,
                const QString& worseWord) {
    if (!(teacherValue > 0) || !(studentValue > 0))
        return kDash;
    const double ratio = lowerIsBetter ? teacherValue / studentValue : studentValue / teacherValue;
    if (std::abs(ratio - 1) < 0.05)
        return QObject::tr("about the same");
    return ratio > 1 ? ratioText(ratio) + QLatin1Char(' ') + betterWord
                     : ratioText(1 / ratio) + QLatin1Char(' ') + worseWord;
}

bool hasAccuracy(const kd::ModelResult& m) {
    return m.trained || m.epochsTrained > 0 || m.testAccuracy > 0;
}

bool hasModel(const kd::ModelResult& m) {
    return m.stats.params > 0 || !m.spec.empty();
}

} // namespace

QString EfficiencyView::countText(double value) {
    if (value < 1000)
        return withSeparators(value);
    const struct {
        double unit;
        const char* suffix;
    } units[] = {{1e9, "G"}, {1e6, "M"}, {1e3, "k"}};
    for (const auto& u : units)
        if (value >= u.unit) {
            const double v = value / u.unit;
            return QString::number(v, 'f', v >= 100 ? 0 : 1) + QLatin1Char(' ') + QLatin1String(u.suffix);
        }
    return withSeparators(value);
}

// MB as in the experiment panel: 1 MB = 1,048,576 bytes.
QString EfficiencyView::bytesText(double bytes) {
    const double mb = bytes / (1024.0 * 1024.0);
    if (mb >= 1)
        return QString::number(mb, 'f', 1) + QStringLiteral(" MB");
    if (mb >= 0.01)
        return QString::number(mb, 'f', 2) + QStringLiteral(" MB");
    return QString::number(bytes / 1024.0, 'f', 1) + QStringLiteral(" KB");
}

QString EfficiencyView::latencyText(double ms) {
    if (!(ms > 0))
        return tr("not measured");
    return QString::number(ms, 'f', ms < 10 ? 2 : (ms < 100 ? 1 : 0)) + QStringLiteral(" ms");
}

// Three significant figures: 12,300 images/s.
QString EfficiencyView::throughputText(double imagesPerSecond) {
    if (!(imagesPerSecond > 0))
        return tr("not measured");
    if (imagesPerSecond < 10)
        return QString::number(imagesPerSecond, 'f', 1) + tr(" images/s");
    const int digits = int(std::floor(std::log10(imagesPerSecond))) + 1;
    const double step = digits > 3 ? std::pow(10.0, digits - 3) : 1.0;
    return withSeparators(std::round(imagesPerSecond / step) * step) + tr(" images/s");
}

EfficiencyView::EfficiencyView(QWidget* parent)
    : TeachingView(parent)
    , m_table(new QTableWidget(RowCount, ColumnCount, this))
    , m_summary(new QLabel(this)) {
    m_explanation->setText(defaultExplanation());
    m_placeholder->setText(defaultPlaceholder());

    QFont big = m_table->font();
    big.setPointSizeF(big.pointSizeF() + 2);
    m_table->setFont(big);
    m_table->horizontalHeader()->setFont(big);
    m_table->verticalHeader()->setFont(big);
    setHeaders({tr("Teacher"), tr("Distilled student"), tr("Student vs teacher")});
    connect(m_table->horizontalHeader(), &QHeaderView::sectionResized, this, [this] { fitHeaders(); });
    m_table->setVerticalHeaderLabels({tr("Parameters"), tr("Size (MB)"), tr("FLOPs per image"),
                                      tr("Latency (1 image)"), tr("Throughput (batch 256)"),
                                      tr("Test accuracy")});
    const QString rowTips[RowCount] = {
        tr("The number of weights the model learned."),
        tr("Memory for the weights as 32-bit floats (1 MB = 1,048,576 bytes)."),
        tr("Floating-point operations for one image (2 per multiply-add)."),
        tr("Median time to classify one image on this computer's CPU."),
        tr("Images classified per second on this computer's CPU, 256 at a time."),
        tr("The share of the test images the model gets right.")};
    for (int r = 0; r < RowCount; ++r)
        m_table->verticalHeaderItem(r)->setToolTip(rowTips[r]);
    m_table->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_table->setSelectionMode(QAbstractItemView::NoSelection);
    m_table->setFocusPolicy(Qt::NoFocus);
    m_table->horizontalHeader()->setSectionResizeMode(QHeaderView::Stretch);
    m_table->verticalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    m_table->setVerticalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    m_table->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    m_table->setSizeAdjustPolicy(QAbstractScrollArea::AdjustToContents);
    m_table->setMinimumWidth(460);
    for (int r = 0; r < RowCount; ++r)
        for (int c = 0; c < ColumnCount; ++c) {
            auto* item = new QTableWidgetItem;
            item->setTextAlignment(Qt::AlignCenter);
            m_table->setItem(r, c, item);
        }

    m_summary->setWordWrap(true);
    QFont summaryFont = m_summary->font();
    summaryFont.setPointSizeF(summaryFont.pointSizeF() + 2);
    m_summary->setFont(summaryFont);

    auto* content = new QWidget(this);
    auto* contentLayout = new QVBoxLayout(content);
    contentLayout->setContentsMargins(0, 8, 0, 0);
    contentLayout->setSpacing(12);
    contentLayout->addWidget(m_table);
    contentLayout->addWidget(m_summary);
    contentLayout->addStretch(1);

    setContent(content);
    clear();
}

QString EfficiencyView::summary() const {
    return m_hasResult ? m_summary->text() : QString();
}

QString EfficiencyView::cellText(int row, int column) const {
    if (!m_hasResult || row < 0 || row >= RowCount || column < 0 || column >= ColumnCount)
        return {};
    const QTableWidgetItem* item = m_table->item(row, column);
    return item ? item->text() : QString();
}

QString EfficiencyView::defaultExplanation() {
    return tr(
        "Why distil? A student much smaller and faster than its teacher fits on a phone and answers more "
        "images per second; learning from the teacher's soft answers keeps it nearly as accurate. The "
        "table measures this run's pair.");
}

QString EfficiencyView::defaultPlaceholder() {
    return tr("Train a run, or pick one in the run list, to see how much smaller and faster the distilled "
              "student is than the teacher.");
}

void EfficiencyView::clear() {
    m_hasResult = false;
    m_explanation->setText(defaultExplanation());
    m_placeholder->setText(defaultPlaceholder()); // not a training run's "fills in when it finishes"
    for (int r = 0; r < RowCount; ++r)
        for (int c = 0; c < ColumnCount; ++c)
            setCell(r, c, QString());
    m_summary->clear();
    m_stack->setCurrentWidget(m_placeholder);
}

void EfficiencyView::setHeaders(const QStringList& headers) {
    m_headers = headers;
    m_table->setHorizontalHeaderLabels(headers);
    fitHeaders();
}

void EfficiencyView::resizeEvent(QResizeEvent* event) {
    TeachingView::resizeEvent(event);
    // The table's sections take their new widths once its layout has run: fit the headers after that.
    QTimer::singleShot(0, this, [this] { fitHeaders(); });
}

void EfficiencyView::fitHeaders() {
    // A narrow window (1024x700, or 200%): "Student vs teacher" on two lines rather than cut at both ends.
    const QFontMetrics fm(m_table->horizontalHeader()->font());
    for (int c = 0; c < m_headers.size() && c < m_table->columnCount(); ++c) {
        // Not laid out yet (hidden): the sections have no width of their own; one line each.
        const int room = m_table->isVisible() ? m_table->horizontalHeader()->sectionSize(c) - 12 : 0;
        const QString text = wrapWords(m_headers[c], fm, room);
        QTableWidgetItem* item = m_table->horizontalHeaderItem(c);
        if (item && item->text() != text)
            item->setText(text);
    }
}

void EfficiencyView::setCell(int row, int column, const QString& text, const QString& toolTip) {
    QTableWidgetItem* item = m_table->item(row, column);
    item->setText(text);
    item->setToolTip(toolTip);
}

void EfficiencyView::setResult(const kd::ExperimentResult& result) {
    const kd::ModelResult& t = result.teacher;
    const kd::ModelResult& s = result.student;
    if (!hasModel(t) && !hasModel(s)) {
        clear();
        return;
    }
    m_hasResult = true;
    m_stack->setCurrentWidget(m_stack->widget(1));

    auto header = [](const QString& name, const kd::ModelResult& m) {
        return m.spec.empty() ? name : name + QLatin1Char('\n') + QString::fromStdString(m.spec);
    };
    setHeaders({header(tr("Teacher"), t), header(tr("Distilled student"), s), tr("Student vs teacher")});

    const kd::ModelResult* models[2] = {&t, &s};
    for (int c = 0; c < 2; ++c) {
        const kd::ModelResult& m = *models[c];
        if (!hasModel(m)) {
            for (int r = 0; r < RowCount; ++r)
                setCell(r, c, kDash, tr("Not in this run"));
            continue;
        }
        setCell(Parameters, c, countText(double(m.stats.params)),
                tr("%1 parameters").arg(withSeparators(double(m.stats.params))));
        setCell(Size, c, bytesText(double(m.stats.bytes)),
                tr("%1 bytes").arg(withSeparators(double(m.stats.bytes))));
        setCell(Flops, c, countText(double(m.stats.flopsPerSample)),
                tr("%1 FLOPs").arg(withSeparators(double(m.stats.flopsPerSample))));
        setCell(Latency, c, latencyText(m.latencyMs));
        setCell(Throughput, c, throughputText(m.imagesPerSecond));
        setCell(Accuracy, c,
                hasAccuracy(m) ? QString::number(m.testAccuracy * 100, 'f', 1) + QLatin1Char('%')
                               : tr("not trained"));
    }

    const bool both = hasModel(t) && hasModel(s);
    auto ratioCell = [&](Row row, double tv, double sv, bool lowerIsBetter, const QString& better,
                         const QString& worse) {
        setCell(row, RatioColumn, both ? compare(tv, sv, lowerIsBetter, better, worse) : kDash);
    };
    ratioCell(Parameters, double(t.stats.params), double(s.stats.params), true, tr("fewer"), tr("more"));
    ratioCell(Size, double(t.stats.bytes), double(s.stats.bytes), true, tr("smaller"), tr("larger"));
    ratioCell(Flops, double(t.stats.flopsPerSample), double(s.stats.flopsPerSample), true, tr("fewer"),
              tr("more"));
    const bool latencyMeasured = t.latencyMs > 0 && s.latencyMs > 0;
    const bool throughputMeasured = t.imagesPerSecond > 0 && s.imagesPerSecond > 0;
    if (both && !latencyMeasured)
        setCell(Latency, RatioColumn, tr("not measured"));
    else
        ratioCell(Latency, t.latencyMs, s.latencyMs, true, tr("faster"), tr("slower"));
    if (both && !throughputMeasured)
        setCell(Throughput, RatioColumn, tr("not measured"));
    else
        ratioCell(Throughput, t.imagesPerSecond, s.imagesPerSecond, false, tr("faster"), tr("slower"));
    const bool accuracies = both && hasAccuracy(t) && hasAccuracy(s);
    double points = accuracies ? (s.testAccuracy - t.testAccuracy) * 100 : 0;
    if (std::abs(points) < 0.05)
        points = 0; // no "-0.0"
    setCell(Accuracy, RatioColumn,
            accuracies ? (points > 0 ? QStringLiteral("+") : QString()) + QString::number(points, 'f', 1) +
                             tr(" points")
                       : kDash,
            accuracies ? tr("Percentage points of test accuracy, student minus teacher") : QString());

    // The explanation follows the numbers: no "much smaller" above a student that is not.
    const bool notSmaller = both && t.stats.params > 0 && s.stats.params > 0 &&
                            double(t.stats.params) / double(s.stats.params) < 1.05;
    m_explanation->setText(notSmaller
                               ? tr("Why distil? Usually for a student much smaller and faster than its "
                                    "teacher. This run's student is not smaller (see Parameters): here "
                                    "distillation is about what the student learns, not its size.")
                               : defaultExplanation());

    // One sentence a teacher can read out.
    QStringList parts;
    if (both && t.stats.params > 0 && s.stats.params > 0) {
        const double r = double(t.stats.params) / double(s.stats.params);
        parts << (r >= 1.05   ? tr("has %1 fewer parameters").arg(ratioText(r))
                  : r <= 0.95 ? tr("has %1 more parameters").arg(ratioText(1 / r))
                              : tr("has about as many parameters"));
    }
    if (both && latencyMeasured) {
        const double r = t.latencyMs / s.latencyMs;
        parts << (r >= 1.05   ? tr("answers one image %1 faster").arg(ratioText(r))
                  : r <= 0.95 ? tr("answers one image %1 slower").arg(ratioText(1 / r))
                              : tr("answers one image about as fast"));
    }
    if (accuracies)
        parts << (points < 0   ? tr("is %1 points less accurate").arg(QString::number(-points, 'f', 1))
                  : points > 0 ? tr("is %1 points more accurate").arg(QString::number(points, 'f', 1))
                               : tr("is just as accurate"));
    QString sentence;
    if (!parts.isEmpty()) {
        const QString list = parts.size() == 1
                                 ? parts[0]
                                 : QStringList(parts.mid(0, parts.size() - 1)).join(QStringLiteral(", ")) +
                                       tr(" and ") + parts.last();
        sentence = tr("Compared with the teacher, the distilled student %1.").arg(list);
    } else if (!hasModel(s)) {
        sentence = tr("The distilled student was not trained in this run.");
    }
    m_summary->setText(sentence);
}

} // namespace kdui
