#pragma once
// Pieces the teaching views share: their explanation and placeholder labels, a plot whose CSV comes from a
// function, and the text colour that reads on a heatmap cell.

#include "plots.h"

#include "kdcore/analysis.h"

#include <QColor>
#include <QGridLayout>
#include <QLabel>
#include <QStackedWidget>
#include <QString>
#include <QWidget>

#include <functional>

namespace kdui {

// A teaching view's frame: the one or two sentences at the top (m_explanation, text set by the view), then
// either the view's content or, when there is nothing to show, a large grey centred text (m_placeholder).
class TeachingView : public QWidget {
public:
    explicit TeachingView(QWidget* parent = nullptr);
    QString explanation() const { return m_explanation->text(); }
    bool showsPlaceholder() const { return m_stack->currentWidget() == m_placeholder; }
    QString placeholderText() const { return showsPlaceholder() ? m_placeholder->text() : QString(); }
    // While a run trains there is nothing to show yet: says when there will be, instead of the view's
    // "Train a run, or pick one" (a view already showing content keeps it).
    void showTrainingPlaceholder() {
        if (!showsPlaceholder())
            return;
        m_placeholder->setText(
            tr("This run is training: this view fills in when it finishes, from its trained "
               "models on the test images."));
    }

protected:
    void setContent(QWidget* content); // once, at the end of the view's constructor
    QLabel* m_explanation;
    QStackedWidget* m_stack;
    QLabel* m_placeholder;
};

// The name of class `c` of the outputs' dataset ("T-shirt/top"), or "class c" without one.
QString className(const kd::TestOutputs* outputs, int c);

// Dark enough for white text (perceived luminance).
bool isDarkColor(const QColor& color);

// Lays `widgets` out `columns` a row (1 or more) in `grid`, in reading order; unused columns get no stretch.
// Teaching views call it from resizeEvent: a grid of plots goes three, two or one a row as the width allows,
// and the view scrolls up and down instead of sideways (or instead of shrinking the plots to a blur).
void flowIntoGrid(QGridLayout* grid, const QVector<QWidget*>& widgets, int columns);

// A PlotBase whose owner lays out the data itself (no rescale on replot) and supplies the CSV.
class CallbackPlot : public PlotBase {
public:
    CallbackPlot(const QString& exportName, QWidget* parent);
    std::function<QString()> csv;
    QString dataCsv() const override;

protected:
    void rescaleAll() override {}
};

} // namespace kdui
