#include "methodplot.h"

#include "viewparts.h"

#include "kdcore/config.h"
#include "kdcore/modelspec.h"
#include "kdcore/report.h"

#include <QFontMetricsF>
#include <QLocale>

#include <algorithm>
#include <cmath>
#include <map>

namespace kdui {

namespace {

// The house text colours (as in plots.cpp).
const QColor kTextColor(0x30, 0x30, 0x30);
const QColor kCaptionColor(0x50, 0x50, 0x50);

constexpr double kBarWidth = 0.62;
constexpr double kXPad = 0.6; // plot coords left of the first bar's centre and right of the last

// One bar: a model of the comparison with the accuracy it shows.
struct Bar {
    QString label; // "member 2", "generation 3", "direct KD", ...
    QString key;   // "teacher" | "baseline" | "student" | a stage id
    QString kind;  // a stage's kind ("member", "generation", ...), empty for the main roles
    QString spec;  // may be empty while training
    qint64 params = 0;
    double value = 0; // test accuracy 0..1
    QColor color;
    bool onTrend = false; // born-again: a point of the accuracy-per-generation line
};

QString percentText(double accuracy) {
    return QString::number(accuracy * 100, 'f', 1) + QLatin1Char('%');
}

// `share` of `color` over `base` (0: base, 1: color).
QColor blend(const QColor& base, const QColor& color, double share) {
    auto mix = [share](int a, int b) { return int(std::lround(a + (b - a) * share)); };
    return QColor(mix(base.red(), color.red()), mix(base.green(), color.green()),
                  mix(base.blue(), color.blue()));
}

qint64 parameterCount(const kd::ModelResult& model, const kd::ExperimentConfig& config) {
    if (model.stats.params > 0)
        return model.stats.params;
    // Not trained yet: count from the spec with the built-in datasets' input (28x28); an idx: dataset's
    // input is not known here.
    if (QString::fromStdString(config.dataset).startsWith(QLatin1String("idx:")) || model.spec.empty())
        return 0;
    try {
        return kd::modelStats(kd::parseModelSpec(model.spec)).params;
    } catch (...) {
        return 0; // e.g. an ensemble's "3 x mlp:1200"
    }
}

double lastAccuracy(const std::vector<kd::EpochMetrics>& history) {
    return history.empty() ? -1 : history.back().testAccuracy;
}

// The spec a stage's model has when the app has not been told yet (it learns it when the stage finishes).
std::string stageSpec(const kd::StageResult& stage, int ordinal, const kd::ExperimentConfig& config,
                      const std::string& studentSpec) {
    if (stage.kind == "member") {
        const std::vector<std::string> members = kd::ensembleMemberSpecs(config);
        return ordinal >= 0 && std::size_t(ordinal) < members.size() ? members[std::size_t(ordinal)]
                                                                     : config.teacher;
    }
    if (stage.kind == "generation")
        return studentSpec;
    if (stage.kind == "assistant")
        return config.assistant;
    if (stage.kind == "direct")
        return config.student;
    return {};
}

// The bars of a run: kd::methodComparison of a copy of its result in which models still training carry
// their latest epoch's accuracy (and a spec, so that the comparison lists them).
QVector<Bar> collectBars(const kd::RunRecord& run) {
    kd::RunRecord view; // what latestAccuracy reads: the run without its curves
    view.status = run.status;
    view.config = run.config;
    view.result = run.result;
    kd::ExperimentResult& r = view.result;
    // Epochs of a stage kept with the main history belong to that stage, not to the role it trains as.
    std::vector<kd::EpochMetrics> stageEpochs;
    auto isStageEpoch = [](const kd::EpochMetrics& m) { return m.stage >= 0; };
    std::copy_if(r.history.begin(), r.history.end(), std::back_inserter(stageEpochs), isStageEpoch);
    r.history.erase(std::remove_if(r.history.begin(), r.history.end(), isStageEpoch), r.history.end());

    const bool bornAgain = r.method == "born-again";
    const std::string teacherSpec = !r.teacher.spec.empty() ? r.teacher.spec : run.config.teacher;
    const std::string studentSpec = bornAgain ? teacherSpec : run.config.student;

    std::map<std::string, double> values;
    const kd::Role roles[] = {kd::Role::Teacher, kd::Role::Baseline, kd::Role::Student};
    for (kd::Role role : roles) {
        const double value = latestAccuracy(&view, role);
        values[kd::roleName(role)] = value;
        kd::ModelResult& m = role == kd::Role::Teacher    ? r.teacher
                             : role == kd::Role::Baseline ? r.baseline
                                                          : r.student;
        if (value >= 0 && m.spec.empty())
            m.spec = role == kd::Role::Teacher ? teacherSpec : studentSpec;
    }

    struct StageInfo {
        QString kind;
        int ordinal = 0; // among the stages of its kind, from 0
    };
    std::map<std::string, StageInfo> stageInfo;
    std::map<std::string, int> kindCount;
    for (std::size_t i = 0; i < r.stages.size(); ++i) {
        kd::StageResult& st = r.stages[i];
        const int ordinal = kindCount[st.kind]++;
        stageInfo[st.id] = {QString::fromStdString(st.kind), ordinal};
        double value = -1;
        if (st.model.trained || st.model.epochsTrained > 0) {
            value = st.model.testAccuracy;
        } else {
            value = lastAccuracy(st.history);
            for (auto it = stageEpochs.rbegin(); value < 0 && it != stageEpochs.rend(); ++it)
                if (it->stage == int(i))
                    value = it->testAccuracy;
            if (value < 0 && st.model.testAccuracy > 0) // evaluated without training
                value = st.model.testAccuracy;
        }
        values[st.id] = value;
        if (value >= 0 && st.model.spec.empty())
            st.model.spec = stageSpec(st, ordinal, run.config, studentSpec);
    }
    const int generations = kindCount["generation"] + 1; // the last one is the student

    const QColor teacher = roleColor(kd::Role::Teacher);
    const QColor student = roleColor(kd::Role::Student);
    QVector<Bar> bars;
    qint64 memberParams = 0;
    for (const kd::ComparisonRow& row : kd::methodComparison(r)) {
        const auto found = values.find(row.key);
        if (found == values.end() || found->second < 0)
            continue; // no accuracy yet
        Bar bar;
        bar.label = QString::fromStdString(row.label);
        bar.key = QString::fromStdString(row.key);
        bar.spec = QString::fromStdString(row.model.spec);
        bar.value = found->second;
        bar.params = parameterCount(row.model, run.config);
        const auto info = stageInfo.find(row.key);
        if (info != stageInfo.end())
            bar.kind = info->second.kind;
        if (bar.key == QLatin1String("teacher")) {
            bar.color = teacher;
            if (bar.params == 0) // an ensemble counts all its members
                bar.params = memberParams;
        } else if (bar.key == QLatin1String("baseline")) {
            bar.color = roleColor(kd::Role::Baseline);
        } else if (bar.key == QLatin1String("student")) {
            bar.color = student;
        } else if (bar.kind == QLatin1String("member")) {
            bar.color = blend(Qt::white, teacher, 0.55);
            memberParams += bar.params;
        } else if (bar.kind == QLatin1String("generation")) {
            // Stronger with each generation, up to the student's own colour for the last one.
            bar.color = blend(Qt::white, student, 0.35 + 0.65 * (info->second.ordinal + 1) / generations);
        } else if (bar.kind == QLatin1String("direct")) {
            bar.color = blend(Qt::white, student, 0.5);
        } else if (bar.kind == QLatin1String("assistant")) {
            bar.color = blend(teacher, student, 0.5);
        } else {
            bar.color = QColor(0x99, 0x99, 0x99);
        }
        bar.onTrend =
            bornAgain && (bar.key == QLatin1String("teacher") || bar.key == QLatin1String("student") ||
                          bar.kind == QLatin1String("generation"));
        bars << bar;
    }
    return bars;
}

// Greedy word wrap of `text` to lines at most `width` pixels wide.
QString wrapToWidth(const QString& text, const QFont& font, double width) {
    const QFontMetricsF metrics(font);
    QStringList lines;
    QString line;
    for (const QString& word : text.split(QLatin1Char(' '), Qt::SkipEmptyParts)) {
        const QString longer = line.isEmpty() ? word : line + QLatin1Char(' ') + word;
        if (!line.isEmpty() && metrics.horizontalAdvance(longer) > width) {
            lines << line;
            line = word;
        } else {
            line = longer;
        }
    }
    if (!line.isEmpty())
        lines << line;
    return lines.join(QLatin1Char('\n'));
}

// `name` broken in two at the space nearest its middle ("generation\n3"); unchanged without a space.
QString breakNearMiddle(const QString& name) {
    int best = -1;
    for (int i = name.indexOf(QLatin1Char(' ')); i >= 0; i = name.indexOf(QLatin1Char(' '), i + 1))
        if (best < 0 || std::abs(i - name.size() / 2) < std::abs(best - name.size() / 2))
            best = i;
    return best < 0 ? name : name.left(best) + QLatin1Char('\n') + name.mid(best + 1);
}

} // namespace

QString methodTitle(const QString& method) {
    if (method == QLatin1String("kd"))
        return QObject::tr("Knowledge distillation");
    if (method == QLatin1String("ensemble"))
        return QObject::tr("Ensemble of teachers");
    if (method == QLatin1String("born-again"))
        return QObject::tr("Born-again (self-distillation)");
    if (method == QLatin1String("assistant"))
        return QObject::tr("Teacher assistant");
    return method;
}

struct MethodComparisonPlot::Impl {
    const kd::RunRecord* run = nullptr;
    QVector<Bar> bars;
    QString verdict;
    QString hint; // unwrapped
    QVector<QCPBars*> plottables;
    QVector<QCPItemText*> valueLabels; // one per bar
    QCPGraph* trend = nullptr;
    QCPTextElement* title = nullptr;
    QCPTextElement* caption = nullptr;
    QCPLayoutGrid* legendRow = nullptr;
    QSharedPointer<QCPAxisTickerText> ticker;
    QFont tickFont; // the x tick labels' own size (fitTexts may use a point less)
};

MethodComparisonPlot::MethodComparisonPlot(QWidget* parent)
    : PlotBase(parent)
    , d(std::make_shared<Impl>()) {
    setExportBaseName(QStringLiteral("method-comparison"));
    QFont axisLabelFont = font();
    axisLabelFont.setPointSizeF(axisLabelFont.pointSizeF() + 0.5);
    for (QCPAxis* axis : {xAxis, yAxis})
        styleAxis(axis, axisLabelFont);
    yAxis->setLabel(tr("test accuracy"));
    yAxis->setTicker(QSharedPointer<PercentTicker>::create());
    d->ticker = QSharedPointer<QCPAxisTickerText>::create();
    xAxis->setTicker(d->ticker);
    xAxis->setTickLength(0, 0);
    xAxis->setSubTicks(false);
    xAxis->grid()->setVisible(false);
    d->tickFont = xAxis->tickLabelFont();

    // Rows: the method in words, the verdict, the legend (born-again's trend line only), then the bars. The
    // verdict and the legend rows are in the layout only while they have something to show (an empty or
    // hidden element would still take its height): see arrangeRows().
    QFont titleFont = font();
    titleFont.setPointSizeF(titleFont.pointSizeF() + 2);
    titleFont.setBold(true);
    plotLayout()->setRowSpacing(0);
    plotLayout()->insertRow(0);
    d->title = new QCPTextElement(this, QString(), titleFont);
    d->title->setTextColor(kTextColor);
    d->title->setMargins(QMargins(6, 6, 6, 2));
    plotLayout()->addElement(0, 0, d->title);
    d->caption = new QCPTextElement(this, QString(), font());
    d->caption->setTextColor(kCaptionColor);
    d->caption->setMargins(QMargins(10, 0, 10, 2));

    legend->setBrush(Qt::NoBrush);
    legend->setBorderPen(Qt::NoPen);
    legend->setTextColor(kTextColor);
    legend->setIconSize(30, 12);
    legend->setMargins(QMargins(6, 0, 6, 2));
    axisRect()->insetLayout()->take(legend);
    // The legend centred in its row: empty elements left and right take the spare width.
    d->legendRow = new QCPLayoutGrid;
    d->legendRow->setMargins(QMargins(0, 0, 0, 0));
    d->legendRow->addElement(0, 0, new QCPLayoutElement(this));
    d->legendRow->addElement(0, 1, legend);
    d->legendRow->addElement(0, 2, new QCPLayoutElement(this));
    legend->setSizeConstraintRect(QCPLayoutElement::scrOuterRect);
    setRun(nullptr);
}

void MethodComparisonPlot::setRun(const kd::RunRecord* run) {
    d->run = run;
    rebuild();
}

void MethodComparisonPlot::updateRun() {
    rebuild();
}

void MethodComparisonPlot::arrangeRows(bool showCaption, bool showLegend) {
    QCPLayoutGrid* layout = plotLayout();
    for (QCPLayoutElement* row :
         {static_cast<QCPLayoutElement*>(d->caption), static_cast<QCPLayoutElement*>(d->legendRow)})
        if (row->layout() == layout)
            layout->take(row);
    layout->simplify(); // drops the emptied rows
    int next = 1;       // under the title
    if (showCaption) {
        layout->insertRow(next);
        layout->addElement(next++, 0, d->caption);
    }
    if (showLegend) {
        layout->insertRow(next);
        layout->addElement(next++, 0, d->legendRow);
    }
    for (int row = 0; row < layout->rowCount(); ++row) // the text rows as tall as their text, the rest bars
        layout->setRowStretchFactor(row, row < next ? 0.001 : 1);
    d->caption->setVisible(showCaption);
    legend->setVisible(showLegend);
}

void MethodComparisonPlot::rebuild() {
    for (QCPBars* bars : d->plottables)
        removePlottable(bars);
    d->plottables.clear();
    if (d->trend)
        removePlottable(d->trend); // also takes it out of the legend
    d->trend = nullptr;
    for (QCPItemText* label : d->valueLabels)
        removeItem(label);
    d->valueLabels.clear();

    d->bars = d->run ? collectBars(*d->run) : QVector<Bar>();
    d->verdict = d->run ? QString::fromStdString(kd::methodVerdict(d->run->result)) : QString();
    d->title->setText(d->run ? methodTitle(QString::fromStdString(d->run->result.method))
                             : tr("Method comparison"));

    double lowest = 1;
    for (int i = 0; i < d->bars.size(); ++i) {
        const Bar& bar = d->bars[i];
        auto* bars = new QCPBars(xAxis, yAxis);
        bars->setPen(QPen(bar.color.darker(130), 1));
        bars->setBrush(bar.color);
        bars->setWidthType(QCPBars::wtPlotCoords);
        bars->setWidth(kBarWidth);
        bars->setSelectable(QCP::stNone);
        bars->setName(bar.label);
        bars->addData(i + 1, bar.value);
        d->plottables << bars;
        lowest = std::min(lowest, bar.value);
    }
    const bool any = !d->bars.isEmpty();
    xAxis->setRange(1 - kXPad, std::max<int>(1, d->bars.size()) + kXPad);

    // From a round 5% step a bit below the lowest bar to 100%, as the accuracy bar chart: small differences
    // show, and the axis label says where it starts so nobody reads bar heights as ratios.
    const double lower = any ? std::max(0.0, std::floor((lowest - 0.03) * 20) / 20) : 0.0;
    yAxis->setRange(lower, 1.0); // its label: fitTexts()

    // Born-again: teacher -> generation 1 -> ... -> generation G as a line over the bar tops.
    QVector<double> trendKeys, trendValues;
    for (int i = 0; i < d->bars.size(); ++i)
        if (d->bars[i].onTrend) {
            trendKeys << i + 1;
            trendValues << d->bars[i].value;
        }
    if (trendKeys.size() >= 2) {
        d->trend = addGraph(xAxis, yAxis);
        const QColor line = roleColor(kd::Role::Student).darker(150);
        QPen pen(line, 2);
        pen.setJoinStyle(Qt::RoundJoin);
        d->trend->setPen(pen);
        d->trend->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, QPen(line, 2), Qt::white, 8));
        d->trend->setSelectable(QCP::stNone);
        d->trend->setName(tr("accuracy per generation (teacher = generation 0)"));
        d->trend->setData(trendKeys, trendValues, true);
        d->trend->addToLegend();
    }
    arrangeRows(!d->verdict.isEmpty(), d->trend != nullptr);

    // Value labels (placed by fitTexts: their room depends on the size).
    QFont labelFont = font();
    labelFont.setPointSizeF(std::max(7.0, labelFont.pointSizeF() - 0.5));
    labelFont.setBold(true);
    for (const Bar& bar : d->bars) {
        auto* label = new QCPItemText(this);
        label->position->setType(QCPItemPosition::ptPlotCoords);
        label->position->setCoords(d->valueLabels.size() + 1, bar.value);
        label->setFont(labelFont);
        label->setText(percentText(bar.value));
        label->setSelectable(false);
        d->valueLabels << label;
    }

    d->hint.clear();
    if (!d->run)
        d->hint = tr("Run a method (ensemble, born-again, assistant) to compare its models here");
    else if (!any && d->run->status == "new")
        d->hint = tr("Press Start to train");
    else if (!any && d->run->status == "running")
        d->hint = tr("The models appear here as they train\u2026");
    else if (!any)
        d->hint = tr("No results recorded for this run");
    fitTexts();
    markDirty();
}

void MethodComparisonPlot::fitTexts() {
    // Before the first layout the axis rect's size is not known yet: estimate it from the widget's.
    const double plotWidth = axisRect()->width() > 50 ? axisRect()->width() : std::max(100, width() - 85);
    const double plotHeight = axisRect()->height() > 50 ? axisRect()->height() : std::max(60, height() - 130);

    // The verdict (one long sentence) and the hint wrapped to the width.
    d->caption->setText(wrapToWidth(d->verdict, d->caption->font(), std::max(120, width() - 24)));
    QFont hintFont = font();
    hintFont.setPointSizeF(hintFont.pointSizeF() * 1.5); // as PlotBase::setHint
    setHint(wrapToWidth(d->hint, hintFont, plotWidth - 16));

    // The y axis says where it starts, shorter where the axis is short.
    const double lower = yAxis->range().lower;
    const QString yLabel = lower > 0 ? tr("test accuracy (axis starts at %1%)").arg(lower * 100, 0, 'f', 0)
                                     : tr("test accuracy");
    const bool yLabelFits = QFontMetricsF(yAxis->labelFont()).horizontalAdvance(yLabel) + 8 <= plotHeight;
    const QString shortLabel = tr("accuracy (from %1%)").arg(lower * 100, 0, 'f', 0);
    const bool shortFits = QFontMetricsF(yAxis->labelFont()).horizontalAdvance(shortLabel) + 8 <= plotHeight;
    yAxis->setLabel(yLabelFits || lower <= 0 ? yLabel : shortFits ? shortLabel : tr("accuracy"));

    // Tick labels: name, then parameter count ("member 2\n2.40M params"). Where that is wider than a bar's
    // slot the name breaks at a space and "params" goes, then the font gets a point smaller; where even that
    // does not fit (many bars), one line per bar ("member 2 · 2.40M"), slanted.
    const double slot = plotWidth / std::max(1.0, xAxis->range().size());
    QFont smallerFont = d->tickFont;
    smallerFont.setPointSizeF(std::max(7.0, d->tickFont.pointSizeF() - 1));
    QStringList ticks;
    bool fitted = false;
    for (const QFont& tickFont : {d->tickFont, smallerFont}) {
        const QFontMetricsF metrics(tickFont);
        auto fits = [&](const QString& text) {
            for (const QString& line : text.split(QLatin1Char('\n')))
                if (metrics.horizontalAdvance(line) > slot - 4)
                    return false;
            return true;
        };
        ticks.clear();
        fitted = true;
        for (const Bar& bar : d->bars) {
            const QString params = bar.params > 0 ? tr("%1 params").arg(compactCount(bar.params)) : QString();
            QString tick = bar.label + (params.isEmpty() ? QString() : QLatin1Char('\n') + params);
            if (!fits(tick))
                tick = breakNearMiddle(bar.label) +
                       (params.isEmpty() ? QString() : QLatin1Char('\n') + compactCount(bar.params));
            fitted = fitted && fits(tick);
            ticks << tick;
        }
        if (fitted) {
            xAxis->setTickLabelFont(tickFont);
            break;
        }
    }
    if (!fitted) {
        xAxis->setTickLabelFont(d->tickFont);
        for (int i = 0; i < d->bars.size(); ++i)
            ticks[i] = d->bars[i].label + (d->bars[i].params > 0
                                               ? QStringLiteral(" \u00b7 ") + compactCount(d->bars[i].params)
                                               : QString());
    }
    xAxis->setTickLabelRotation(fitted ? 0 : -40);
    d->ticker->clear();
    for (int i = 0; i < ticks.size(); ++i)
        d->ticker->addTick(i + 1, ticks[i]);

    // Value labels above each bar, or inside its top where there is no room above (then in white on a dark
    // bar); upright where the bars are narrow. Bars with a trend point keep the label clear of its marker.
    const double span = yAxis->range().size();
    for (int i = 0; i < d->valueLabels.size(); ++i) {
        QCPItemText* label = d->valueLabels[i];
        const Bar& bar = d->bars[i];
        const QFontMetricsF metrics(label->font());
        const bool upright = metrics.horizontalAdvance(label->text()) + 4 > slot * kBarWidth * 1.3;
        const int clearance = bar.onTrend && d->trend ? 7 : 2;
        const double needed =
            (upright ? metrics.horizontalAdvance(label->text()) : metrics.height()) + clearance + 2;
        const bool inside = (1.0 - bar.value) / span * plotHeight < needed;
        label->setRotation(upright ? -90 : 0);
        if (upright) // reads upwards: in the label's frame "left" is towards the bar
            label->setPositionAlignment(Qt::AlignVCenter | (inside ? Qt::AlignRight : Qt::AlignLeft));
        else
            label->setPositionAlignment(Qt::AlignHCenter | (inside ? Qt::AlignTop : Qt::AlignBottom));
        if (upright)
            label->setPadding(inside ? QMargins(2, 1, clearance, 1) : QMargins(clearance, 1, 2, 1));
        else
            label->setPadding(inside ? QMargins(1, clearance, 1, 2) : QMargins(1, 2, 1, clearance));
        label->setColor(inside && isDarkColor(bar.color) ? QColor(Qt::white) : kTextColor);
    }
}

void MethodComparisonPlot::rescaleAll() {
    // Ranges are set in rebuild(); only the texts depend on the size.
    fitTexts();
}

int MethodComparisonPlot::barCount() const {
    return d->bars.size();
}

QString MethodComparisonPlot::barLabel(int i) const {
    return i >= 0 && i < d->bars.size() ? d->ticker->ticks().value(i + 1) : QString();
}

double MethodComparisonPlot::barValue(int i) const {
    return i >= 0 && i < d->bars.size() ? d->bars[i].value : -1;
}

QString MethodComparisonPlot::verdictText() const {
    return d->verdict;
}

QString MethodComparisonPlot::dataCsv() const {
    QString out = QStringLiteral("model,spec,params,test_accuracy\n");
    for (const Bar& bar : d->bars)
        out += csvField(bar.label) + QLatin1Char(',') + csvField(bar.spec) + QLatin1Char(',') +
               (bar.params > 0 ? QString::number(bar.params) : QString()) + QLatin1Char(',') +
               QString::number(bar.value, 'g', 8) + QLatin1Char('\n');
    return out;
}

} // namespace kdui
