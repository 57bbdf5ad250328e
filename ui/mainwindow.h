#pragma once

#include "kdcore/experimentfile.h"
#include "metatypes.h"
#include "runrecorder.h"

#include <QElapsedTimer>
#include <QLockFile>
#include <QMainWindow>
#include <QPointer>
#include <QThread>

#include <future>
#include <map>
#include <memory>
#include <vector>

class QStackedWidget;
class QAction;
class QCheckBox;
class QLabel;
class QListWidget;
class QProgressBar;
class QTabWidget;
class QTimer;

namespace kdui {

class AccuracyBarChart;
class MethodComparisonPlot;
class AccuracyPlot;
class ConfusionView;
class DarkKnowledgeView;
class EfficiencyView;
class TemperatureLens;
class ExperimentPanel;
class LossCurvePlot;
class SweepWindow;
class TrainingWorker;

// The kdlab window: experiment panel and run list on the left, live plots on the right, Start / Pause / Stop,
// progress and phase in the status bar. Training runs in a TrainingWorker on its own QThread, kept for the
// window's lifetime (so the trained teacher can be reused by the next run).
class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    // How long T or alpha must stay put before a running engine takes it (a drag, typing, held arrows).
    static constexpr int kSettleMs = 250;
    explicit MainWindow(QWidget* parent = nullptr);
    ~MainWindow() override;

    void setConfig(const kd::ExperimentConfig& config);
    // Loads a guided preset (a kdlab preset JSON file, e.g. ":/presets/hinton-2015.json"): its settings go to
    // the panel and its explanation to the banner above the views. A preset with several runs (e.g. T = 1, 4,
    // 10) runs them one after another on Start, reusing the teacher. False with a message on a bad file.
    bool loadPreset(const QString& path, QString* error = nullptr);
    // The built-in presets (resource paths), in menu order.
    static QStringList builtInPresets();
    void setTemperature(double t); // the panel's slider: the engine (while training) and the lenses follow
    void showLensImage(int index);
    // Starts a run with the panel's settings; false (and a message in the error line) when they are invalid
    // or a run is already going.
    bool startRun();
    void pauseRun(bool paused);
    void stopRun();
    bool isRunning() const { return m_running; }
    // Run > Resume: continues the first shown run, stopped or interrupted (a crash, kill -9), from its
    // per-epoch checkpoints; its curves go back to its last checkpointed epochs and grow from there, and it
    // ends with the numbers an uninterrupted run would have. False with a message when it cannot.
    bool resumeRun(QString* error = nullptr);
    bool canResume(const kd::RunRecord* run) const;

    // Autosave: the runs (settings, curves, results, checkpoint folders) are kept in autosavePath() while
    // the window is open, rewritten after every epoch and every change; a clean close deletes the file. One
    // left behind means kdlab ended without closing (a crash, kill -9, power cut): the next start offers
    // it back (offerAutosaveRestore). Only one kdlab at a time autosaves (a lock file beside it).
    QString autosavePath() const { return m_autosavePath; }
    bool hasAutosave() const;
    // Loads the autosaved runs in place of the current ones; a run that was training is marked stopped
    // ("interrupted"), ready for Resume. False with a message when the file cannot be read.
    bool restoreAutosave(QString* error = nullptr);
    void discardAutosave();
    // Asks (Restore / Discard) when there is an autosave; for the app's start.
    void offerAutosaveRestore();
    void autosaveNow();
    // false: no autosave (scripted screenshots, tests): releases the lock, leaves any file as it is.
    void setAutosaveEnabled(bool enabled);

    // File operations; false with a message in the error line (or *error) on failure.
    bool saveExperiment(const QString& path, QString* error = nullptr);
    bool openExperiment(const QString& path, QString* error = nullptr);
    // Exports the first shown run's model ("student" | "baseline" | "teacher") from its checkpoint as
    // "torchscript" | "onnx" (kd::exportCheckpoint) or "checkpoint" (a copy), with its model card beside it
    // (path + ".json"). Atomic: a failure leaves no file and any earlier export at `path` intact.
    bool exportModel(const QString& model, const QString& format, const QString& path,
                     QString* error = nullptr);
    bool hasUnsavedChanges() const { return m_dirty; }
    // false: closing never asks to save (tests, scripted screenshots).
    void setAskToSave(bool ask) { m_askToSave = ask; }

    // State, for tests and scripts.
    const std::vector<std::unique_ptr<kd::RunRecord>>& runs() const { return m_runs; }
    const kd::RunRecord* currentRun() const { return m_current; }
    QVector<const kd::RunRecord*> shownRuns() const;
    void selectRuns(const QList<int>& indexes);
    ExperimentPanel* panel() const { return m_panel; }
    LossCurvePlot* lossPlot() const { return m_lossPlot; }
    AccuracyPlot* accuracyPlot() const { return m_accuracyPlot; }
    AccuracyBarChart* barChart() const { return m_barChart; }
    // Beside the loss curves in place of the bar chart when the primary shown run used another method
    // than kd (ensemble, born-again, assistant): every model the method trained.
    MethodComparisonPlot* methodPlot() const { return m_methodPlot; }
    bool isMethodPlotShown() const;
    TrainingWorker* worker() const { return m_worker; }
    QTabWidget* tabs() const { return m_tabs; }
    TemperatureLens* lens() const { return m_lens; }
    DarkKnowledgeView* darkKnowledgeView() const { return m_darkView; }
    ConfusionView* confusionView() const { return m_confusionView; }
    EfficiencyView* efficiencyView() const { return m_efficiencyView; }
    QLabel* presetBanner() const { return m_presetBanner; }
    // Run > Sweep...: a separate window sweeping T x alpha (x students x seeds) from the panel's settings.
    SweepWindow* openSweepWindow();
    // The test outputs the teaching views show for a run (null: none yet, e.g. still training or computing).
    TestOutputsPtr testOutputs(const kd::RunRecord* run) const;
    // Runs of the loaded preset still to start after the current one (0 when none).
    int pendingSeriesRuns() const { return int(m_series.size()) - m_seriesNext; }
    QListWidget* runList() const { return m_runList; }
    QProgressBar* progressBar() const { return m_progress; }
    QLabel* phaseLabel() const { return m_phaseLabel; }
    QLabel* errorLabel() const { return m_errorLabel; }
    QAction* startAction() const { return m_startAction; }
    QAction* pauseAction() const { return m_pauseAction; }
    QLabel* etaLabel() const { return m_etaLabel; }
    QAction* stopAction() const { return m_stopAction; }
    QAction* exportAction() const { return m_exportAction; }
    QAction* resumeAction() const { return m_resumeAction; }

Q_SIGNALS:
    void runStarted();
    void runFinished(); // done, stopped or failed; the run's record is complete
    void startRequested(const kd::ExperimentConfig& config, bool reuseTeacher, const QString& checkpointDir,
                        bool resume);
    void analyseRequested(int request, const kd::ExperimentConfig& config, const QVariantMap& checkpoints);
    void teachingViewsUpdated(); // the views show the primary shown run (or their placeholders)

protected:
    void closeEvent(QCloseEvent* event) override;

private:
    void buildActions();
    void buildLayout();
    void onPhase(kd::Phase phase, const QString& description);
    void onBatch(const kd::BatchMetrics& metrics);
    void onEpoch(const kd::EpochMetrics& metrics);
    void onStage(int stage, const kd::StageResult& result, bool finished);
    kd::StageResult& currentStage(int stage); // of the training run, added when new
    void onFinished(const kd::ExperimentResult& result, const QVariantMap& checkpoints,
                    const QString& warning);
    void onFailed(const QString& message);
    void onTestOutputs(const TestOutputsPtr& outputs);
    void onAnalysed(int request, const TestOutputsPtr& outputs, const QString& error);
    void refreshTeachingViews();
    void startNextInSeries();
    void onRunSelectionChanged();
    void onTemperatureChanged(double t);
    void onAlphaChanged(double a);
    void applySettledSettings();
    void updateRunItem(int index);
    void updateActions();
    void updateTitle();
    void showError(const QString& message);
    void refreshPlots();
    bool maybeSave();
    void saveAs();
    void openDialog();
    void exportDialog();
    int indexOf(const kd::RunRecord* run) const;

    QThread m_thread;
    TrainingWorker* m_worker = nullptr;
    ExperimentPanel* m_panel = nullptr;
    LossCurvePlot* m_lossPlot = nullptr;
    AccuracyPlot* m_accuracyPlot = nullptr;
    AccuracyBarChart* m_barChart = nullptr;
    MethodComparisonPlot* m_methodPlot = nullptr;
    QStackedWidget* m_comparisonStack = nullptr;
    QCheckBox* m_partsBox = nullptr;
    QTabWidget* m_tabs = nullptr;
    TemperatureLens* m_lens = nullptr;
    DarkKnowledgeView* m_darkView = nullptr;
    ConfusionView* m_confusionView = nullptr;
    EfficiencyView* m_efficiencyView = nullptr;
    QLabel* m_presetBanner = nullptr;
    QPointer<SweepWindow> m_sweepWindow;
    QListWidget* m_runList = nullptr;
    QProgressBar* m_progress = nullptr;
    QLabel* m_phaseLabel = nullptr;
    QLabel* m_etaLabel = nullptr;
    QLabel* m_errorLabel = nullptr;
    QAction* m_startAction = nullptr;
    QAction* m_pauseAction = nullptr;
    QAction* m_stopAction = nullptr;
    QAction* m_exportAction = nullptr;
    QString m_exportFolder;    // where the last export went: the export dialog suggests it again
    QStringList m_divergences; // this run's models that diverged (all shown in the error line)
    QString m_startError;      // the last "Cannot start" banner, updated or hidden as the settings change
    QString m_exportError;     // the last export's failure, hidden once an export succeeds

    std::vector<std::unique_ptr<kd::RunRecord>> m_runs;
    kd::RunRecord* m_current = nullptr; // the run in progress, or nullptr
    RunRecorder m_recorder;
    QElapsedTimer m_progressClock;
    bool m_running = false;
    bool m_stopping = false;
    bool m_dirty = false;
    bool m_askToSave = true;
    bool m_closeWhenStopped = false;
    QString m_filePath;
    QAction* m_resumeAction = nullptr;
    QString m_autosavePath; // empty: another kdlab holds the lock, this one does not autosave
    std::unique_ptr<QLockFile> m_autosaveLock;
    QTimer* m_autosaveTimer = nullptr;
    // T and alpha reach a running engine once they have settled for kSettleMs (see onTemperatureChanged).
    QTimer* m_settingsTimer = nullptr;
    double m_pendingTemperature = -1, m_pendingAlpha = -1; // -1: nothing pending
    std::future<void> m_autosaveWrite;                     // the write in flight, if any
    // The autosave file found at the start may be a crashed session's: it is not overwritten until the
    // start's offer is answered (m_autosaveSettled). One this window wrote (m_wroteAutosave: an experiment
    // opened from the command line is autosaved at once) is never offered back as a crash.
    bool m_autosaveSettled = false;
    bool m_wroteAutosave = false;
    void scheduleAutosave();
    void waitForAutosave();
    // The runs of an opened file or a restored autosave in place of the current ones; the last is selected.
    void replaceRuns(std::vector<kd::RunRecord> records);
    void beginRun(kd::RunRecord* record, bool teacherTrains);

    // Teaching views: each run's test outputs, from the worker after training, or recomputed from the run's
    // checkpoints after opening a file (one request at a time).
    std::map<const kd::RunRecord*, TestOutputsPtr> m_outputs;
    int m_analysisRequest = 0;
    const kd::RunRecord* m_analysing = nullptr;
    std::map<const kd::RunRecord*, QString> m_analysisErrors;
    // A preset's series of runs: m_series[m_seriesNext] starts when the current one is done.
    std::vector<kd::ExperimentConfig> m_series;
    int m_seriesNext = 0;
    QElapsedTimer m_seriesClock; // the whole series' time, said when its last run is done
    int m_seriesFirstRun = 0;    // index in m_runs of the series' first run
    bool m_seriesActive = false;
};

} // namespace kdui
