#include "viewparts.h"

namespace kdui {

void setUpExplanation(QLabel* label, const QString& text) {
    label->setWordWrap(true);
    label->setText(text);
}

void setUpPlaceholder(QLabel* label) {
    label->setAlignment(Qt::AlignCenter);
    label->setWordWrap(true);
    QFont font = label->font();
    font.setPointSizeF(font.pointSizeF() * 1.3);
    label->setFont(font);
    label->setStyleSheet(QStringLiteral("color: #808080;"));
}

bool isDarkColor(const QColor& c) {
    return 0.299 * c.red() + 0.587 * c.green() + 0.114 * c.blue() < 145;
}

CallbackPlot::CallbackPlot(const QString& exportName, QWidget* parent)
    : PlotBase(parent) {
    setExportBaseName(exportName);
}

QString CallbackPlot::dataCsv() const {
    return csv ? csv() : QString();
}

} // namespace kdui
