#include "focusstyle.h"

#include <QApplication>
#include <QPainter>
#include <QStyleOption>

namespace kdui {

void FocusFrameStyle::drawPrimitive(PrimitiveElement element, const QStyleOption* option, QPainter* painter,
                                    const QWidget* widget) const {
    if (element != PE_FrameFocusRect || !option) {
        QProxyStyle::drawPrimitive(element, option, painter, widget);
        return;
    }
    painter->save();
    painter->setRenderHint(QPainter::Antialiasing, true);
    QPen pen(option->palette.color(QPalette::Active, QPalette::Highlight), 2.0);
    painter->setPen(pen);
    painter->setBrush(Qt::NoBrush);
    painter->drawRoundedRect(QRectF(option->rect).adjusted(1, 1, -1, -1), 3, 3);
    painter->restore();
}

void installFocusFrameStyle() {
    // QApplication takes ownership of the style; the proxy keeps the platform's base style.
    QApplication::setStyle(new FocusFrameStyle(QApplication::style()->name()));
}

} // namespace kdui
