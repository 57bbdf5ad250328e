#pragma once
// The temperature lens: one test image at a time, with the teacher's probabilities at temperature T, at T =
// 1, and the distilled student's at T, as bar charts whose titles give each distribution's entropy. Moving T
// redraws two small charts (three softmaxes over the cached test logits; nothing is re-run).

#include "kdcore/analysis.h"
#include "kdcore/temperature.h"

#include "viewparts.h"

#include <memory>
#include <vector>

class QAbstractItemModel;
class QCustomPlot;
class QDoubleSpinBox;
class QGridLayout;
class QLabel;
class QListView;
class QPushButton;
class QSlider;
class QStackedWidget;

namespace kdui {

class TemperatureLens : public TeachingView {
    Q_OBJECT
public:
    enum class LensChart { TeacherAtT, TeacherAtOne, StudentAtT };

    explicit TemperatureLens(QWidget* parent = nullptr);
    ~TemperatureLens() override;

    // Null (or no test images, or no teacher logits): a placeholder text instead of the charts. Keeps the
    // image index when the new outputs have that many images (same image, another run), else goes to 0.
    void setOutputs(std::shared_ptr<const kd::TestOutputs> outputs);
    std::shared_ptr<const kd::TestOutputs> outputs() const { return m_outputs; }

    // Clamped to [kMinTemperature, kMaxTemperature]; the slider covers 0.25-20 (log scale), the spin box all.
    void setTemperature(double temperature);
    double temperature() const { return m_temperature; }
    QSlider* temperatureSlider() const { return m_tSlider; }
    QDoubleSpinBox* temperatureSpin() const { return m_tSpin; }
    static constexpr double kMinTemperature = kd::kMinTemperature; // kdcore/temperature.h
    static constexpr double kMaxTemperature = kd::kMaxTemperature;

    void setImageIndex(int index); // clamped to the test images; ignored when there are none
    int imageIndex() const { return m_index; }
    int imageCount() const;

    // Moves to the next image after the current one (wrapping) that the distilled student classifies wrongly
    // (the teacher when the run has no student logits). Returns false, and stays, when there is none.
    bool showMistake();

    // Tests: what each chart shows. probabilities() reads the QCPBars data back (empty when the chart has no
    // data, e.g. no student logits); entropy() is in bits (-1 when empty).
    std::vector<double> probabilities(LensChart chart) const;
    double entropy(LensChart chart) const;
    QCustomPlot* chart(LensChart chart) const;
    QString chartTitle(LensChart chart) const;
    QAbstractItemModel* thumbnailModel() const; // one row per test image
    QListView* thumbnailStrip() const;
    QString predictionText() const; // true class and what teacher and student predict (plain text)

Q_SIGNALS:
    void imageIndexChanged(int index);
    void temperatureChanged(double temperature);

protected:
    void resizeEvent(QResizeEvent* event) override;

public:
    int chartColumns() const { return m_chartColumns; }

protected:
private:
    struct Chart;
    class ThumbnailModel;
    bool hasData() const;
    const kd::TestOutputs* usable() const; // m_outputs when it can be shown, else nullptr
    QString className(int c) const;
    void rebuildAxes();
    void updateTickRotation();
    void updateImage();
    void updateChart(LensChart which, bool replot);
    void updateAll();
    void syncTemperatureWidgets();

    std::shared_ptr<const kd::TestOutputs> m_outputs;
    double m_temperature = 4.0;
    int m_index = 0;
    bool m_syncing = false;
    QGridLayout* m_chartGrid = nullptr;
    QGridLayout* m_nav =
        nullptr;            // Previous, Next, Show a mistake, and "image 3 of 1,000" (below when narrow)
    int m_chartColumns = 3; // charts side by side (1 to 3), from the view's width
    int m_imageSide = 196;  // the enlarged image's longer side in pixels (7x for 28x28; 5x in a short window)

    ThumbnailModel* m_model;
    QListView* m_strip;
    QPushButton* m_prev;
    QPushButton* m_next;
    QPushButton* m_mistake;
    QLabel* m_indexLabel;
    QLabel* m_image;
    QLabel* m_prediction;
    QSlider* m_tSlider;
    QDoubleSpinBox* m_tSpin;
    std::unique_ptr<Chart> m_charts[3]; // indexed by LensChart
};

} // namespace kdui
