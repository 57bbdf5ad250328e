#pragma once
// The teacher's dark knowledge: for each true class, the teacher's mean softened probabilities over that
// class's test images (kd::darkKnowledgeMatrix), as a classes x classes heatmap with each cell's value, and a
// sentence naming the classes the teacher finds most alike.

#include "kdcore/analysis.h"
#include "kdcore/temperature.h"

#include "viewparts.h"

#include <memory>

class QCheckBox;
class QCustomPlot;
class QDoubleSpinBox;
class QLabel;
class QSlider;
class QStackedWidget;

namespace kdui {

class DarkKnowledgeView : public TeachingView {
    Q_OBJECT
public:
    explicit DarkKnowledgeView(QWidget* parent = nullptr);
    ~DarkKnowledgeView() override;

    // Null, no test images or no teacher logits: a placeholder text instead of the heatmap.
    void setOutputs(std::shared_ptr<const kd::TestOutputs> outputs);
    std::shared_ptr<const kd::TestOutputs> outputs() const { return m_outputs; }

    // Clamped to [kMinTemperature, kMaxTemperature]; recomputes the matrix (one softmax per test image).
    void setTemperature(double temperature);
    double temperature() const { return m_temperature; }
    QSlider* temperatureSlider() const { return m_tSlider; }
    QDoubleSpinBox* temperatureSpin() const { return m_tSpin; }
    static constexpr double kMinTemperature = kd::kMinTemperature; // kdcore/temperature.h
    static constexpr double kMaxTemperature = kd::kMaxTemperature;

    // "Hide the diagonal": the colour range covers only the off-diagonal values (the diagonal cells are
    // greyed), so the small probabilities the teacher gives to wrong classes become visible at low T.
    void setHideDiagonal(bool hide);
    bool hideDiagonal() const;

    QString alikeText() const; // "The teacher finds Shirt most like T-shirt/top (0.21), ..."

    // What is shown (empty matrix when nothing is), and a cell read back from the QCPColorMap's data.
    kd::ClassMatrix matrix() const { return m_matrix; }
    double shownCellValue(int row, int column) const; // NaN when out of range or nothing is shown
    QCustomPlot* plot() const;

Q_SIGNALS:
    void temperatureChanged(double temperature);

protected:
    void resizeEvent(QResizeEvent* event) override;

private:
    struct Plot;
    const kd::TestOutputs* usable() const;
    QString className(int c) const;
    void rebuild(); // axes, cells and texts for the current class count
    void recompute();
    void updateColours();
    void updateTickRotation();
    void syncTemperatureWidgets();

    std::shared_ptr<const kd::TestOutputs> m_outputs;
    double m_temperature = 4.0;
    kd::ClassMatrix m_matrix;
    bool m_syncing = false;

    QSlider* m_tSlider;
    QDoubleSpinBox* m_tSpin;
    QCheckBox* m_hideDiagonal;
    QLabel* m_alike;
    std::unique_ptr<Plot> m_plot;
};

} // namespace kdui
