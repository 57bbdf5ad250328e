#pragma once
// Keyboard focus a class can see from the back row: a 2-pixel frame in the highlight colour around the
// focused check box, button, slider or tab, instead of the style's faint dotted or 1-pixel one.

#include <QProxyStyle>

namespace kdui {

class FocusFrameStyle : public QProxyStyle {
public:
    using QProxyStyle::QProxyStyle;
    void drawPrimitive(PrimitiveElement element, const QStyleOption* option, QPainter* painter,
                       const QWidget* widget = nullptr) const override;
};

// Installs FocusFrameStyle over the application's current style (kdlab's main and the GUI tests).
void installFocusFrameStyle();

} // namespace kdui
