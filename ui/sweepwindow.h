#pragma once
// The sweep window: a grid of temperatures x alphas (x student specs) x seeds, distilled from one teacher,
// run in a SweepWorker on the window's own thread. A heatmap fills in as cells finish (mean test accuracy or
// gap recovered), a line chart shows accuracy against T per alpha with error bars over seeds against the
// baseline and the teacher, and a clicked cell shows its run's curves.

#include "kdcore/experimentfile.h"
#include "kdcore/sweep.h"
#include "runrecorder.h"
#include "sweepplots.h"
#include "sweepworker.h"

#include <QElapsedTimer>
#include <QThread>
#include <QWidget>

#include <map>
#include <memory>
#include <string>
#include <vector>

class QComboBox;
class QLabel;
class QLineEdit;
class QProgressBar;
class QPushButton;
class QSpinBox;

namespace kdui {

class AccuracyPlot;
class LossCurvePlot;

// A top-level window (Qt::Window) when given a parent, so the main window can own it and keep it open beside
// itself. Closing it during a sweep cancels the sweep (the finished cells stay shown).
class SweepWindow : public QWidget {
    Q_OBJECT
public:
    explicit SweepWindow(const kd::ExperimentConfig& base = {}, QWidget* parent = nullptr);
    ~SweepWindow() override; // stops a sweep in progress (within one batch) and waits for the thread

    // The settings every cell shares (dataset, teacher, epochs, ...): the main window's current experiment.
    // Ignored for the sweep in progress; takes effect from the next Start.
    void setBaseConfig(const kd::ExperimentConfig& base);
    const kd::ExperimentConfig& baseConfig() const { return m_base; }

    // The inputs (as typed: "1,2,4,8", "0.1,0.5,0.9", "mlp:64;mlp:128" or empty for the base student, seeds
    // 1..20 - the spin box clamps).
    void setTemperaturesText(const QString& text);
    void setAlphasText(const QString& text);
    void setStudentsText(const QString& text);
    void setSeeds(int seeds);

    // The plan the inputs describe (base config, lists, seeds), valid or not.
    kd::SweepPlan plan() const;
    // The one-line message shown under the inputs (empty when the plan is valid); Start is disabled while
    // it is not empty. kd::parseNumberList / parseSpecList / validateSweepPlan name the field.
    QString validationError() const { return m_validationError; }
    // The message a plan gets (empty when valid): what validationError() shows for the inputs' plan.
    static QString checkPlan(const kd::SweepPlan& plan);

    // Starts the inputs' plan (clearing the previous results); false when invalid or already running.
    bool startSweep();
    // Stops the sweep within one batch; finished cells are kept. sweepFinished() follows.
    void cancelSweep();
    bool isRunning() const { return m_running; }
    QString lastError() const { return m_lastError; } // the last sweep's failure, else empty

    // Results so far: finished cells (one per grid point and seed) and the rows, in finishing order.
    int finishedCells() const { return int(m_rows.size()); }
    int totalCells() const { return int(m_cells.size()); }
    const std::vector<kd::SweepRow>& rows() const { return m_rows; }
    const kd::SweepPlan& runningPlan() const { return m_plan; } // the plan of the last sweep started

    // What the heatmap shows.
    void setMeasure(SweepMeasure measure);
    SweepMeasure measure() const { return m_measure; }
    void setShownStudent(const std::string& student); // one of the plan's student specs
    std::string shownStudent() const { return m_shownStudent; }
    // A grid point's text and value in the heatmap, as shown now for the shown student ("88.1%", "88.1 ±
    // 0.3", "62%"; the value on a 0..1 scale). Another student's grid point is shown first. Empty / NaN while
    // the cell has no finished seed or is not in the plan.
    QString cellText(const std::string& student, double temperature, double alpha);
    double heatmapValue(const std::string& student, double temperature, double alpha);
    int errorBarCount() const;     // points of the line chart with an error bar (two or more seeds finished)
    QString referenceText() const; // "baseline (labels only) 87.6 ± 0.2%, teacher 90.1%"
    QString progressText() const;  // "cell 5 of 12 · about 2 min left"

    // Selects a grid point, as a click on its heatmap cell does: the curves below show its first seed's run
    // (live while it trains). False when the point is not in the plan.
    bool selectCell(const std::string& student, double temperature, double alpha);
    const kd::RunRecord* selectedRun() const; // null when nothing is selected or its run has not started
    // The run whose curves are shown: the selected one, else the cell being trained (or trained last).
    const kd::RunRecord* shownRun() const { return m_shownRun; }

    // Writes DIR/sweep.csv and DIR/summary.json (kd::writeSweepFiles); false with a one-line message.
    bool saveResults(const QString& dir, QString* error = nullptr);
    // Finished cells since the last save: closing the window asks about them first (unless told not to).
    bool hasUnsavedResults() const { return int(m_rows.size()) > m_savedRows; }
    void setAskToSave(bool ask) { m_askToSave = ask; }

    SweepHeatmap* heatmap() const { return m_heatmap; }
    SweepLinePlot* linePlot() const { return m_linePlot; }
    LossCurvePlot* lossPlot() const { return m_lossPlot; }
    AccuracyPlot* accuracyPlot() const { return m_accuracyPlot; }
    SweepWorker* worker() const { return m_worker; }

Q_SIGNALS:
    void sweepStarted();
    // The sweep ended: done, cancelled, or failed (lastError() says why).
    void sweepFinished();
    void startRequested(const kd::SweepPlan& plan); // queued to the worker

protected:
    void closeEvent(QCloseEvent* event) override;

private:
    struct CellKey {
        std::string student;
        double temperature = 0, alpha = 0;
    };
    void buildLayout();
    void validateInputs();
    bool saveFromDialog(); // Save results...: a folder from the user; false when cancelled or failed
    void updateControls();
    void refreshStudents();
    void refreshResults(); // heatmap, line chart and reference text for the shown student
    SweepGrid gridFor(const std::string& student) const;
    const kd::SweepPlan& shownPlan() const { return m_started ? m_plan : m_preview; }
    std::vector<std::string> shownStudents() const;
    void showRun(const kd::RunRecord* run);
    void updateCurvesLabel();
    void updateProgress();
    int findCell(const std::string& student, double temperature, double alpha, std::uint64_t seed) const;
    kd::RunRecord* recordOf(int cellIndex) const;
    const kd::RunRecord* shownRunTarget() const;
    void addBatchTo(kd::RunRecord* record, const kd::BatchPoint& point, bool live);
    void addEpochTo(kd::RunRecord* record, const kd::EpochMetrics& metrics, bool live);
    void teacherReported(); // the first teacher report of a sweep: forget an earlier teacher's curves
    double workOf(kd::Role role, const std::string& student) const;

    void onCellStarted(const kd::SweepCell& cell, int position, int count);
    void onBatch(const kd::BatchMetrics& metrics);
    void onEpoch(const kd::EpochMetrics& metrics);
    void onCellFinished(const kd::SweepRow& row, const kd::ExperimentResult& result);
    void onFinished(bool stopped);
    void onFailed(const QString& message);

    kd::ExperimentConfig m_base;
    kd::SweepPlan m_plan;               // the sweep started last
    bool m_started = false;             // a sweep was started (else the heatmap previews the inputs' grid)
    kd::SweepPlan m_preview;            // the inputs' plan, when valid
    std::vector<kd::SweepCell> m_cells; // its cells, in index order
    std::vector<kd::SweepRow> m_rows;
    std::map<int, std::unique_ptr<kd::RunRecord>> m_records; // by cell index: each cell's run, for the curves
    // Curves of the runs every cell shares, copied into each cell's record: the teacher (trained once) and
    // each (student, seed) baseline (trained in the first cell that needs it). The teacher's are kept for the
    // next sweep with the same teacher settings, as the engine reuses the trained teacher then; a teacher
    // trained anew replaces them.
    std::vector<kd::BatchPoint> m_teacherPoints;
    std::vector<kd::EpochMetrics> m_teacherEpochs;
    std::string m_teacherKey;
    bool m_teacherReported = false; // in this sweep
    struct SharedCurves {
        std::vector<kd::BatchPoint> points;
        std::vector<kd::EpochMetrics> epochs;
    };
    std::map<std::pair<std::string, std::uint64_t>, SharedCurves> m_baselines;
    RunRecorder m_recorder; // smoothing of the running cell's batches
    int m_currentCell = -1; // index into m_cells of the running cell
    int m_position = 0, m_count = 0;
    bool m_running = false;
    bool m_stopping = false;
    QString m_lastError;
    QString m_validationError;
    SweepMeasure m_measure = SweepMeasure::Accuracy;
    std::string m_shownStudent;
    bool m_haveSelection = false; // else the curves follow the running cell
    CellKey m_selection;
    const kd::RunRecord* m_shownRun = nullptr;

    // Progress: work in "model-epochs" weighted by each model's cost per sample.
    double m_totalWork = 0, m_doneWork = 0;
    std::map<std::string, double> m_costs; // spec -> cost of one sample (forward + backward)
    QElapsedTimer m_clock;
    QElapsedTimer m_progressClock;

    SweepWorker* m_worker = nullptr;
    QThread m_thread;

    QLabel* m_explanation = nullptr;
    QLineEdit* m_temperatures = nullptr;
    QLineEdit* m_alphas = nullptr;
    QLineEdit* m_students = nullptr;
    QSpinBox* m_seeds = nullptr;
    QLabel* m_cellCount = nullptr;
    QLabel* m_error = nullptr;
    QPushButton* m_start = nullptr;
    QPushButton* m_cancel = nullptr;
    QPushButton* m_save = nullptr;
    QProgressBar* m_progress = nullptr;
    QLabel* m_progressLabel = nullptr;
    QComboBox* m_measureCombo = nullptr;
    QComboBox* m_studentCombo = nullptr;
    QLabel* m_studentLabel = nullptr;
    QLabel* m_reference = nullptr;
    QLabel* m_curvesLabel = nullptr;
    SweepHeatmap* m_heatmap = nullptr;
    SweepLinePlot* m_linePlot = nullptr;
    LossCurvePlot* m_lossPlot = nullptr;
    AccuracyPlot* m_accuracyPlot = nullptr;
    int m_savedRows = 0;
    bool m_askToSave = true;
};

} // namespace kdui
