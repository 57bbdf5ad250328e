#pragma once
// Confusion matrices of teacher, baseline and distilled student side by side (rows = true class, columns =
// predicted class, counts in the cells), with a per-class accuracy table below. When the students never saw
// one class in training (the omitted class), a slider adds a bias to the distilled student's logit for that
// class and its matrix and the table follow live (Hinton et al. 2015: the student still got most 3s right
// after a bias shift, though digit 3 was left out of its transfer set).

#include "kdcore/analysis.h"

#include "viewparts.h"

#include <memory>

class QCustomPlot;
class QLabel;
class QSlider;
class QStackedWidget;
class QGridLayout;
class QTableWidget;

namespace kdui {

class ConfusionView : public TeachingView {
    Q_OBJECT
public:
    explicit ConfusionView(QWidget* parent = nullptr);
    ~ConfusionView() override;

    // Null, no test images or no teacher logits: a placeholder text. A model without logits (a stopped run)
    // gets an empty plot saying so and "-" in the table.
    void setOutputs(std::shared_ptr<const kd::TestOutputs> outputs);
    std::shared_ptr<const kd::TestOutputs> outputs() const { return m_outputs; }

    // The class left out of the students' training set (-1 = none). When >= 0 (and a class of the outputs),
    // shows the bias slider and marks the class's row in the table. Changing the class resets the bias to 0.
    void setOmittedClass(int omittedClass);
    int omittedClass() const { return m_omitted; }

    // Added to the distilled student's logit for the omitted class; clamped to [-10, 10]. Applied only while
    // an omitted class is set.
    void setBias(double bias);
    double bias() const { return m_bias; }
    static constexpr double kMaxBias = 10.0;

    // What is shown: the distilled student's with the bias applied; empty (classes 0) for a model without
    // logits or when nothing is shown.
    kd::ConfusionMatrix matrix(kd::Role role) const;
    // Rows: the classes, then "All classes"; columns: Teacher, Baseline, Distilled ("93.2%", "-" when
    // absent).
    QTableWidget* perClassTable() const { return m_table; }
    QCustomPlot* plot(kd::Role role) const;
    QString plotTitle(kd::Role role) const;
    QWidget* biasRow() const { return m_biasRow; }
    int gridColumns() const { return m_columns; }
    // Whether the role's grid shows each cell's share of its row (the counts did not fit its cells).
    bool showsPercentages(kd::Role role) const;

Q_SIGNALS:
    void biasChanged(double bias);

protected:
    void resizeEvent(QResizeEvent* event) override;

private:
    struct Plot;
    const kd::TestOutputs* usable() const;
    bool omittedActive() const;
    QString className(int c) const;
    void rebuild();
    void updateRole(kd::Role role);
    void updateTable();
    void updateBiasRow();
    void updateTickRotation();
    void reflowPlots();
    QString cellText(const Plot& p, int cell, bool percent) const;
    void updateSubtitle(Plot& p);

    std::shared_ptr<const kd::TestOutputs> m_outputs;
    int m_omitted = -1;
    double m_bias = 0;
    bool m_syncing = false;
    kd::ConfusionMatrix m_matrices[3]; // indexed by kd::Role

    QWidget* m_biasRow;
    QLabel* m_biasLabel;
    QSlider* m_biasSlider;
    QLabel* m_biasValue;
    QLabel* m_biasEffect;
    QTableWidget* m_table;
    QGridLayout* m_plotGrid = nullptr;
    int m_columns = 0;                // grids side by side (1 to 3), from the view's width
    std::unique_ptr<Plot> m_plots[3]; // indexed by kd::Role
};

} // namespace kdui
