#pragma once
// The models a training method produced, side by side: one bar per model of kd::methodComparison (an
// ensemble's members and the ensemble, born-again generations, teacher -> assistant -> student against direct
// KD), with the method's name and its verdict sentence above the bars.

#include "plots.h"

#include <QString>

#include <memory>

namespace kdui {

// One bar per model of kd::methodComparison(run->result), in the order the comparison reads, y = test
// accuracy (from a round 5% below the lowest bar to 100%, the axis label saying where it starts). Each bar is
// labelled with its accuracy; the x tick label gives its name and parameter count. While the run trains, a
// model shows its latest epoch's accuracy, and models with none yet get no bar. Born-again also draws a line
// through the teacher's and each generation's bar tops (accuracy per generation). Above the bars: the method
// in words and kd::methodVerdict's sentence, wrapped to the plot width.
class MethodComparisonPlot : public PlotBase {
    Q_OBJECT
public:
    explicit MethodComparisonPlot(QWidget* parent = nullptr);

    // nullptr: an empty plot with a hint. The run stays owned by the caller and valid until the next setRun.
    void setRun(const kd::RunRecord* run);
    // Re-reads the same run (new epochs or stages arrived while it trains).
    void updateRun();

    int barCount() const;
    QString barLabel(int i) const; // the x tick label of bar i ("member 2\n102k params"); empty out of range
    double barValue(int i) const;  // test accuracy 0..1; -1 out of range
    QString verdictText() const;   // the sentence shown under the title (unwrapped); empty while training

    QString dataCsv() const override; // model,spec,params,test_accuracy: one row per bar

protected:
    void rescaleAll() override;

private:
    void rebuild();
    void arrangeRows(bool showCaption, bool showLegend);
    void fitTexts(); // fits the verdict, the hint, the tick and value labels to the current size
    struct Impl;
    std::shared_ptr<Impl> d;
};

// The method in words: "Knowledge distillation", "Ensemble of teachers", "Born-again (self-distillation)",
// "Teacher assistant" (an unknown name is returned as it is).
QString methodTitle(const QString& method);

} // namespace kdui
