#pragma once

#include "kdcore/config.h"

#include <QWidget>

class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QFormLayout;
class QLabel;
class QLineEdit;
class QSlider;
class QSpinBox;
class QToolButton;

namespace kdui {

// Teacher or student: a preset picker beside an editable spec, validated as the user types, with the model's
// parameter count, size and FLOPs (or the parser's error) underneath.
class SpecEditor : public QWidget {
    Q_OBJECT
public:
    explicit SpecEditor(const QString& role, QWidget* parent = nullptr);
    QString spec() const;
    void setSpec(const QString& spec);
    bool isValid() const { return m_valid; }
    QString error() const { return m_error; }
    std::int64_t params() const { return m_params; }
    std::int64_t flops() const { return m_flops; }
    QLineEdit* lineEdit() const { return m_edit; }
    QComboBox* presetBox() const { return m_presets; }
    QLabel* statsLabel() const { return m_stats; }

Q_SIGNALS:
    void specChanged();

private:
    void validate();
    QComboBox* m_presets;
    QLineEdit* m_edit;
    QLabel* m_stats;
    bool m_valid = false;
    QString m_error;
    std::int64_t m_params = 0, m_flops = 0;
};

// The left-hand panel: dataset, teacher and student, T and alpha, and the advanced settings. T and alpha stay
// editable while a run trains (they take effect from the next batch); the rest is locked.
class ExperimentPanel : public QWidget {
    Q_OBJECT
public:
    explicit ExperimentPanel(QWidget* parent = nullptr);

    kd::ExperimentConfig config() const; // what the widgets say, on top of the last setConfig()
    void setConfig(const kd::ExperimentConfig& config);
    // Empty when the widgets hold a runnable config, else a one-line reason naming the field.
    QString validationError() const;

    bool reuseTeacher() const;
    void setRunning(bool running);

    double temperature() const;
    double alpha() const;
    void setTemperature(double t);
    void setAlpha(double a);

    // The log-scale slider's mapping (exposed for tests): T in [0.5, 20] <-> 0..kSliderSteps.
    static constexpr int kSliderSteps = 1000; // kd::kTemperatureSliderSteps
    static int temperatureToSlider(double t);
    static double sliderToTemperature(int position);

    // Widgets, for tests and the main window.
    QComboBox* datasetBox() const { return m_dataset; }
    SpecEditor* teacherEditor() const { return m_teacher; }
    SpecEditor* studentEditor() const { return m_student; }
    QSlider* temperatureSlider() const { return m_tSlider; }
    QDoubleSpinBox* temperatureSpin() const { return m_tSpin; }
    QSlider* alphaSlider() const { return m_aSlider; }
    QDoubleSpinBox* alphaSpin() const { return m_aSpin; }
    QCheckBox* reuseTeacherBox() const { return m_reuse; }
    QToolButton* advancedToggle() const { return m_advancedToggle; }
    QSpinBox* epochsSpin() const { return m_epochs; }
    QSpinBox* teacherEpochsSpin() const { return m_teacherEpochs; }
    QSpinBox* batchSizeSpin() const { return m_batch; }
    QSpinBox* seedSpin() const { return m_seed; }
    QSpinBox* trainLimitSpin() const { return m_trainLimit; }
    QSpinBox* transferLimitSpin() const { return m_transferLimit; }
    QSpinBox* omitClassSpin() const { return m_omitClass; }
    QComboBox* augmentBox() const { return m_augment; }
    QSpinBox* shiftPixelsSpin() const { return m_shiftPixels; }
    QComboBox* teacherAugmentBox() const { return m_teacherAugment; }
    QComboBox* lrScheduleBox() const { return m_lrSchedule; }
    QComboBox* optimizerBox() const { return m_optimizer; }
    QDoubleSpinBox* momentumSpin() const { return m_momentum; }
    QLineEdit* learningRateEdit() const { return m_lr; }
    QLabel* compressionLabel() const { return m_compression; }
    QComboBox* methodBox() const { return m_method; }
    QLabel* methodHelp() const { return m_methodHelp; }
    QSpinBox* ensembleSizeSpin() const { return m_ensembleSize; }
    QLineEdit* ensembleTeachersEdit() const { return m_ensembleTeachers; }
    QSpinBox* generationsSpin() const { return m_generations; }
    SpecEditor* assistantEditor() const { return m_assistant; }
    // Whether the method's own settings row is shown (only the chosen method's are).
    bool isMethodRowVisible(QWidget* field) const;

    // Selects dataset `name` ("fashion-mnist", "mnist-digits" or "idx:PATH"), adding an IDX entry if needed.
    void setDataset(const QString& name);

Q_SIGNALS:
    void temperatureChanged(double t);
    void alphaChanged(double alpha);
    void configEdited();

private:
    void linkSliderAndSpinBox(QSlider* slider, QDoubleSpinBox* spin, double (*toValue)(int),
                              int (*toPosition)(double), void (ExperimentPanel::*changed)(double));
    void chooseIdxFolder();
    void updateCompression();
    void updateMethodRows();

    kd::ExperimentConfig m_base;
    QComboBox* m_dataset;
    SpecEditor* m_teacher;
    SpecEditor* m_student;
    QLabel* m_compression;
    QComboBox* m_method;
    QLabel* m_methodHelp;
    QSpinBox* m_ensembleSize;
    QLineEdit* m_ensembleTeachers;
    QSpinBox* m_generations;
    SpecEditor* m_assistant;
    QFormLayout* m_form = nullptr;
    QSlider* m_tSlider;
    QDoubleSpinBox* m_tSpin;
    QSlider* m_aSlider;
    QDoubleSpinBox* m_aSpin;
    QCheckBox* m_reuse;
    QToolButton* m_advancedToggle;
    QWidget* m_advanced;
    QSpinBox* m_epochs;
    QSpinBox* m_teacherEpochs;
    QSpinBox* m_batch;
    QSpinBox* m_seed;
    QSpinBox* m_trainLimit;
    QSpinBox* m_transferLimit;
    QSpinBox* m_omitClass;
    QComboBox* m_augment;
    QSpinBox* m_shiftPixels;
    QComboBox* m_teacherAugment;
    QComboBox* m_lrSchedule;
    QComboBox* m_optimizer;
    QDoubleSpinBox* m_momentum;
    QLineEdit* m_lr;
    QList<QWidget*> m_lockedWhileRunning;
    bool m_syncing = false;
    bool m_running = false;
    int m_lastDatasetIndex = 0;
};

} // namespace kdui
