#include "viewparts.h"

#include <QCoreApplication>

#include <algorithm>
#include <QVBoxLayout>

namespace kdui {

QString className(const kd::TestOutputs* outputs, int c) {
    if (outputs && outputs->dataset) {
        const auto& names = outputs->dataset->classNames;
        if (c >= 0 && std::size_t(c) < names.size())
            return QString::fromStdString(names[std::size_t(c)]);
    }
    return QCoreApplication::translate("kdui", "class %1").arg(c);
}

TeachingView::TeachingView(QWidget* parent)
    : QWidget(parent)
    , m_explanation(new QLabel(this))
    , m_stack(new QStackedWidget(this))
    , m_placeholder(new QLabel(this)) {
    m_explanation->setWordWrap(true);
    m_placeholder->setAlignment(Qt::AlignCenter);
    m_placeholder->setWordWrap(true);
    QFont font = m_placeholder->font();
    font.setPointSizeF(font.pointSizeF() * 1.3);
    m_placeholder->setFont(font);
    m_placeholder->setStyleSheet(QStringLiteral("color: #808080;"));
}

void TeachingView::setContent(QWidget* content) {
    m_stack->addWidget(m_placeholder);
    m_stack->addWidget(content);
    auto* root = new QVBoxLayout(this);
    root->addWidget(m_explanation);
    root->addWidget(m_stack, 1);
}

void flowIntoGrid(QGridLayout* grid, const QVector<QWidget*>& widgets, int columns) {
    columns = std::max(1, columns);
    const int n = int(widgets.size());
    for (QWidget* w : widgets)
        grid->removeWidget(w);
    for (int i = 0; i < n; ++i) {
        grid->addWidget(widgets[i], i / columns, i % columns);
        grid->setColumnStretch(i, i < columns ? 1 : 0);
        grid->setRowStretch(i, i < (n + columns - 1) / columns ? 1 : 0);
    }
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
