#pragma once
// Pieces the teaching views share: their explanation and placeholder labels, a plot whose CSV comes from a
// function, and the text colour that reads on a heatmap cell.

#include "plots.h"

#include <QColor>
#include <QLabel>
#include <QString>

#include <functional>

namespace kdui {

// The one or two sentences at the top of a view.
void setUpExplanation(QLabel* label, const QString& text);
// The large grey centred text shown instead of a view's content when there is nothing to show.
void setUpPlaceholder(QLabel* label);

// Dark enough for white text (perceived luminance).
bool isDarkColor(const QColor& color);

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
