#include "mainwindow.h"

#include "confusionview.h"
#include "darkknowledgeview.h"
#include "efficiencyview.h"
#include "experimentpanel.h"
#include "exportdialog.h"
#include "methodplot.h"
#include "plots.h"
#include "sweepwindow.h"
#include "temperaturelens.h"
#include "trainingworker.h"

#include "kdcore/export.h"
#include "kdcore/report.h"
#include "kdcore/trainer.h"

#include <QAction>
#include <QApplication>
#include <QCheckBox>
#include <QCloseEvent>
#include <QDateTime>
#include <QDir>
#include <QFile>
#include <QFileDialog>
#include <QFileInfo>
#include <QJsonDocument>
#include <QJsonObject>
#include <QHBoxLayout>
#include <QLabel>
#include <QListWidget>
#include <QLocale>
#include <QMenuBar>
#include <QMessageBox>
#include <QProgressBar>
#include <QGuiApplication>
#include <QScreen>
#include <QScrollArea>
#include <QScrollBar>
#include <QSplitter>
#include <QStackedWidget>
#include <QStandardPaths>
#include <QStatusBar>
#include <QTabWidget>
#include <QTimer>
#include <QToolBar>
#include <QVBoxLayout>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <system_error>

// A static library's resources need an explicit init (outside any namespace).
static void initPresetResources() {
    Q_INIT_RESOURCE(presets);
}

namespace kdui {
namespace {

// How the panel's settings differ from a preset series' first run: `patch` (JSON of the changed keys, for
// every run) and the changed keys the series itself varies (an edit there ends the series).
struct SeriesEdit {
    std::string patch;
    QStringList editedVaried;
};

SeriesEdit seriesEdit(const std::vector<kd::ExperimentConfig>& series, const kd::ExperimentConfig& config) {
    auto object = [](const kd::ExperimentConfig& c) {
        return QJsonDocument::fromJson(QByteArray::fromStdString(kd::configToJson(c))).object();
    };
    std::vector<QJsonObject> runs;
    for (const kd::ExperimentConfig& run : series)
        runs.push_back(object(run));
    const QJsonObject now = object(config);
    QJsonObject edits;
    SeriesEdit out;
    for (auto it = now.begin(); it != now.end(); ++it) {
        if (runs.front().value(it.key()) == it.value())
            continue;
        edits.insert(it.key(), it.value());
        for (const QJsonObject& run : runs)
            if (run.value(it.key()) != runs.front().value(it.key())) {
                out.editedVaried << it.key();
                break;
            }
    }
    out.patch = QJsonDocument(edits).toJson(QJsonDocument::Compact).toStdString();
    return out;
}

QString percent(double accuracy) {
    return QString::number(accuracy * 100.0, 'f', 1) + QLatin1Char('%');
}

QString formatDuration(double seconds) {
    const int s = int(std::lround(seconds));
    if (s >= 3600)
        return QStringLiteral("%1 h %2 min").arg(s / 3600).arg((s % 3600) / 60, 2, 10, QLatin1Char('0'));
    if (s >= 60)
        return QStringLiteral("%1 min %2 s").arg(s / 60).arg(s % 60, 2, 10, QLatin1Char('0'));
    return QStringLiteral("%1 s").arg(s);
}

} // namespace

MainWindow::MainWindow(QWidget* parent)
    : QMainWindow(parent) {
    registerMetaTypes();
    initPresetResources();

    // Qt's worker-object pattern: the worker lives on m_thread until the window goes.
    m_worker = new TrainingWorker;
    m_worker->moveToThread(&m_thread);
    connect(&m_thread, &QThread::finished, m_worker, &QObject::deleteLater);
    connect(this, &MainWindow::startRequested, m_worker, &TrainingWorker::start);
    connect(m_worker, &TrainingWorker::phaseChanged, this, &MainWindow::onPhase);
    connect(m_worker, &TrainingWorker::batchReported, this, &MainWindow::onBatch);
    connect(m_worker, &TrainingWorker::epochReported, this, &MainWindow::onEpoch);
    connect(m_worker, &TrainingWorker::stageReported, this, &MainWindow::onStage);
    connect(m_worker, &TrainingWorker::finished, this, &MainWindow::onFinished);
    connect(m_worker, &TrainingWorker::failed, this, &MainWindow::onFailed);
    // Shown at once (the run goes on with the next model) and left up after the run.
    connect(m_worker, &TrainingWorker::diverged, this, [this](const QString& message) {
        m_divergences << message;
        showError(m_divergences.join(QLatin1Char('\n')));
    });
    connect(m_worker, &TrainingWorker::testOutputsReady, this, &MainWindow::onTestOutputs);
    connect(this, &MainWindow::analyseRequested, m_worker, &TrainingWorker::analyse);
    connect(m_worker, &TrainingWorker::analysed, this, &MainWindow::onAnalysed);
    m_thread.setObjectName(QStringLiteral("kdlab training"));
    m_thread.start();

    buildActions();
    buildLayout();
    updateActions();
    updateTitle();
    refreshPlots();
    // 1360x840, or the screen's room if smaller (a 1024x700 projector): the window never starts larger than
    // the screen, and the panel scrolls where its rows do not fit.
    QSize size(1360, 840);
    if (const QScreen* screen = QGuiApplication::primaryScreen())
        size = size.boundedTo(screen->availableGeometry().size());
    resize(size);

    // Autosave, unless another kdlab (which holds the lock) keeps it; a lock left by a crashed kdlab is stale
    // (its process is gone) and taken over.
    setAutosaveEnabled(true);
    m_autosaveTimer = new QTimer(this);
    m_settingsTimer = new QTimer(this);
    m_settingsTimer->setSingleShot(true);
    m_settingsTimer->setInterval(kSettleMs);
    connect(m_settingsTimer, &QTimer::timeout, this, &MainWindow::applySettledSettings);
    m_autosaveTimer->setSingleShot(true);
    connect(m_autosaveTimer, &QTimer::timeout, this, &MainWindow::autosaveNow);
}

MainWindow::~MainWindow() {
    waitForAutosave();
    delete m_sweepWindow; // stops its sweep and its thread (QPointer: null once closed)
    // Stop a run in progress (honoured within one batch), then let the thread finish; the worker deletes
    // itself.
    m_worker->requestStop();
    m_thread.quit();
    m_thread.wait();
}

void MainWindow::buildActions() {
    auto* fileMenu = menuBar()->addMenu(tr("&File"));
    QAction* open = fileMenu->addAction(tr("&Open experiment..."), this, &MainWindow::openDialog);
    open->setShortcut(QKeySequence::Open);
    QAction* save = fileMenu->addAction(tr("&Save experiment"), this, [this] {
        if (m_filePath.isEmpty())
            saveAs();
        else
            saveExperiment(m_filePath);
    });
    save->setShortcut(QKeySequence::Save);
    QAction* saveAsAction = fileMenu->addAction(tr("Save experiment &as..."), this, &MainWindow::saveAs);
    saveAsAction->setShortcut(QKeySequence::SaveAs);
    fileMenu->addSeparator();
    m_exportAction = fileMenu->addAction(tr("&Export model..."), this, &MainWindow::exportDialog);
    m_exportAction->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_E));
    m_exportAction->setToolTip(
        tr("Export a trained model of the selected run to TorchScript or ONNX, with its model card"));
    fileMenu->addSeparator();
    QAction* quit = fileMenu->addAction(tr("&Quit"), this, &QWidget::close);
    quit->setShortcut(QKeySequence::Quit);

    auto* runMenu = menuBar()->addMenu(tr("&Run"));
    m_startAction = runMenu->addAction(tr("Start"), this, [this] { startRun(); });
    m_startAction->setShortcut(QKeySequence(Qt::Key_F5));
    m_startAction->setToolTip(
        tr("Train the teacher, then the baseline student and the distilled student (F5)"));
    m_pauseAction = runMenu->addAction(tr("Pause"));
    m_pauseAction->setCheckable(true);
    m_pauseAction->setShortcut(QKeySequence(Qt::Key_F6));
    connect(m_pauseAction, &QAction::toggled, this, &MainWindow::pauseRun);
    m_stopAction = runMenu->addAction(tr("Stop"), this, &MainWindow::stopRun);
    m_stopAction->setShortcut(QKeySequence(Qt::SHIFT | Qt::Key_F5));
    m_stopAction->setToolTip(tr("Stop after the current batch; results so far are kept"));
    m_resumeAction = runMenu->addAction(tr("Resume"), this, [this] { resumeRun(); });
    m_resumeAction->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_F5));
    m_resumeAction->setToolTip(tr("Continue the selected stopped or interrupted run from its last finished "
                                  "epoch, with the same final numbers as if it had not stopped (Ctrl+F5)"));
    runMenu->addSeparator();
    QAction* sweep = runMenu->addAction(tr("S&weep..."), this, [this] { openSweepWindow(); });
    sweep->setToolTip(tr("Distil over a grid of temperatures and alphas (and seeds) from one teacher"));

    // Guided presets, each with its explanation as the tooltip (and in the banner once loaded).
    auto* presetMenu = menuBar()->addMenu(tr("&Presets"));
    presetMenu->setToolTipsVisible(true);
    for (const QString& path : builtInPresets()) {
        kd::Preset preset;
        try {
            QFile file(path);
            file.open(QIODevice::ReadOnly);
            preset = kd::presetFromJson(file.readAll().toStdString(), path.toStdString());
        } catch (const std::exception&) {
            continue; // a broken built-in preset is caught by tst_presets, not shown here
        }
        QAction* action = presetMenu->addAction(QString::fromStdString(preset.name), this,
                                                [this, path] { loadPreset(path); });
        action->setToolTip(QString::fromStdString(preset.explanation));
    }

    auto* toolBar = addToolBar(tr("Run"));
    toolBar->setObjectName(QStringLiteral("runToolBar"));
    toolBar->setMovable(false);
    toolBar->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
    m_startAction->setIcon(style()->standardIcon(QStyle::SP_MediaPlay));
    m_pauseAction->setIcon(style()->standardIcon(QStyle::SP_MediaPause));
    m_stopAction->setIcon(style()->standardIcon(QStyle::SP_MediaStop));
    toolBar->addAction(m_startAction);
    toolBar->addAction(m_pauseAction);
    toolBar->addAction(m_stopAction);
    m_resumeAction->setIcon(style()->standardIcon(QStyle::SP_MediaSeekForward));
    toolBar->addAction(m_resumeAction);
}

void MainWindow::buildLayout() {
    m_panel = new ExperimentPanel;
    connect(m_panel, &ExperimentPanel::temperatureChanged, this, &MainWindow::onTemperatureChanged);
    connect(m_panel, &ExperimentPanel::alphaChanged, this, &MainWindow::onAlphaChanged);
    // A "Cannot start" banner tracks the settings: it goes once they are valid, and names a new mistake.
    connect(m_panel, &ExperimentPanel::configEdited, this, [this] {
        if (m_errorLabel->isHidden() || m_startError.isEmpty() || m_errorLabel->text() != m_startError)
            return;
        const QString invalid = m_panel->validationError();
        if (invalid.isEmpty()) {
            m_errorLabel->hide();
            return;
        }
        m_startError = tr("Cannot start: %1").arg(invalid);
        showError(m_startError);
    });
    auto* panelScroll = new QScrollArea;
    panelScroll->setWidget(m_panel);
    panelScroll->setWidgetResizable(true);
    panelScroll->setFrameShape(QFrame::NoFrame);
    // The panel keeps its width on a small screen (1024x700): its rows scroll up and down, never sideways
    // with spec fields and spin boxes cut off; the plots take what is left.
    panelScroll->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    panelScroll->setMinimumWidth(m_panel->minimumSizeHint().width() +
                                 panelScroll->verticalScrollBar()->sizeHint().width());

    m_runList = new QListWidget;
    m_runList->setSelectionMode(QAbstractItemView::ExtendedSelection);
    m_runList->setToolTip(
        tr("Every run is kept here; select two or more (Ctrl+click) to overlay their curves."));
    connect(m_runList, &QListWidget::itemSelectionChanged, this, &MainWindow::onRunSelectionChanged);

    auto* left = new QWidget;
    auto* leftLayout = new QVBoxLayout(left);
    leftLayout->setContentsMargins(0, 0, 0, 0);
    auto* leftSplit = new QSplitter(Qt::Vertical);
    leftSplit->addWidget(panelScroll);
    auto* runsBox = new QWidget;
    auto* runsLayout = new QVBoxLayout(runsBox);
    runsLayout->setContentsMargins(6, 0, 6, 0);
    runsLayout->addWidget(new QLabel(tr("<b>Runs</b> (select several to compare)")));
    runsLayout->addWidget(m_runList);
    leftSplit->addWidget(runsBox);
    leftSplit->setStretchFactor(0, 3);
    leftSplit->setStretchFactor(1, 1);
    leftLayout->addWidget(leftSplit);

    m_lossPlot = new LossCurvePlot;
    m_accuracyPlot = new AccuracyPlot;
    m_barChart = new AccuracyBarChart;
    m_methodPlot = new MethodComparisonPlot;
    for (PlotBase* plot : {static_cast<PlotBase*>(m_lossPlot), static_cast<PlotBase*>(m_accuracyPlot),
                           static_cast<PlotBase*>(m_barChart), static_cast<PlotBase*>(m_methodPlot)})
        connect(plot, &PlotBase::errorOccurred, this, &MainWindow::showError);
    m_partsBox = new QCheckBox(tr("Show the distilled student's soft (KL) and hard (CE) loss parts"));
    connect(m_partsBox, &QCheckBox::toggled, m_lossPlot, &LossCurvePlot::setShowLossParts);

    m_errorLabel = new QLabel;
    m_errorLabel->setWordWrap(true);
    m_errorLabel->setStyleSheet(
        QStringLiteral("QLabel { color: #b00020; background: #fdecea; padding: 4px; border-radius: 3px; }"));
    m_errorLabel->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_errorLabel->hide();

    m_presetBanner = new QLabel;
    m_presetBanner->setWordWrap(true);
    m_presetBanner->setStyleSheet(QStringLiteral(
        "QLabel { background: #eaf2fb; border: 1px solid #b6cde8; padding: 6px; border-radius: 3px; }"));
    m_presetBanner->hide();

    auto* right = new QWidget;
    auto* rightLayout = new QVBoxLayout(right);
    rightLayout->setContentsMargins(0, 0, 0, 0);
    rightLayout->addWidget(m_errorLabel);
    rightLayout->addWidget(m_presetBanner);
    auto* plotsSplit = new QSplitter(Qt::Vertical);
    auto* lossBox = new QWidget;
    auto* lossLayout = new QVBoxLayout(lossBox);
    lossLayout->setContentsMargins(0, 0, 0, 0);
    lossLayout->addWidget(m_lossPlot, 1);
    lossLayout->addWidget(m_partsBox);
    plotsSplit->addWidget(lossBox);
    auto* bottom = new QSplitter(Qt::Horizontal);
    bottom->addWidget(m_accuracyPlot);
    m_comparisonStack = new QStackedWidget;
    m_comparisonStack->addWidget(m_barChart);
    m_comparisonStack->addWidget(m_methodPlot);
    bottom->addWidget(m_comparisonStack);
    bottom->setSizes({440, 520});
    plotsSplit->addWidget(bottom);
    plotsSplit->setStretchFactor(0, 1);
    plotsSplit->setStretchFactor(1, 1);
    plotsSplit->setSizes({470, 380});

    // The teaching views show the primary selected run, from its cached test-set logits.
    m_lens = new TemperatureLens;
    m_darkView = new DarkKnowledgeView;
    m_confusionView = new ConfusionView;
    m_efficiencyView = new EfficiencyView;
    // One temperature: the views' own T controls move the panel's (and so the engine's, while training).
    connect(m_lens, &TemperatureLens::temperatureChanged, m_panel, &ExperimentPanel::setTemperature);
    connect(m_darkView, &DarkKnowledgeView::temperatureChanged, m_panel, &ExperimentPanel::setTemperature);
    m_tabs = new QTabWidget;
    m_tabs->setDocumentMode(true);
    m_tabs->addTab(plotsSplit, tr("Training"));
    // Each teaching view scrolls inside its tab where the window is narrower than the view (three charts or
    // matrices side by side need about 750 pixels; a 1024x700 projector leaves the tabs less).
    auto scrolled = [](QWidget* view) {
        auto* area = new QScrollArea;
        area->setWidget(view);
        area->setWidgetResizable(true);
        area->setFrameShape(QFrame::NoFrame);
        return area;
    };
    m_tabs->addTab(scrolled(m_lens), tr("Temperature lens"));
    m_tabs->addTab(scrolled(m_darkView), tr("Dark knowledge"));
    m_tabs->addTab(scrolled(m_confusionView), tr("Confusion"));
    m_tabs->addTab(scrolled(m_efficiencyView), tr("Efficiency"));
    m_tabs->setTabToolTip(1, m_lens->explanation());
    m_tabs->setTabToolTip(2, m_darkView->explanation());
    m_tabs->setTabToolTip(3, m_confusionView->explanation());
    m_tabs->setTabToolTip(4, m_efficiencyView->explanation());
    rightLayout->addWidget(m_tabs, 1);
    // View > each tab, Ctrl+1..5: the tabs from the keyboard without 20 presses of Tab.
    auto* viewMenu = menuBar()->addMenu(tr("&View"));
    for (int i = 0; i < m_tabs->count(); ++i) {
        QAction* show = viewMenu->addAction(m_tabs->tabText(i), this, [this, i] {
            m_tabs->setCurrentIndex(i);
            m_tabs->currentWidget()->setFocus(Qt::ShortcutFocusReason);
        });
        show->setShortcut(QKeySequence(Qt::CTRL | Qt::Key(Qt::Key_1 + i)));
        m_tabs->setTabToolTip(
            i, QStringLiteral("%1 (%2)").arg(m_tabs->tabToolTip(i).isEmpty() ? m_tabs->tabText(i)
                                                                             : m_tabs->tabToolTip(i),
                                             show->shortcut().toString(QKeySequence::NativeText)));
    }

    auto* split = new QSplitter(Qt::Horizontal);
    split->addWidget(left);
    split->addWidget(right);
    split->setStretchFactor(0, 0);
    split->setStretchFactor(1, 1);
    split->setSizes({400, 960});
    setCentralWidget(split);

    m_phaseLabel = new QLabel(tr("Ready"));
    m_progress = new QProgressBar;
    m_progress->setRange(0, 1000);
    m_progress->setTextVisible(true);
    m_progress->setFormat(QStringLiteral("%p%"));
    m_progress->setMaximumWidth(260);
    m_etaLabel = new QLabel;
    statusBar()->addWidget(m_phaseLabel, 1);
    statusBar()->addPermanentWidget(m_etaLabel);
    statusBar()->addPermanentWidget(m_progress);
}

void MainWindow::setConfig(const kd::ExperimentConfig& config) {
    m_panel->setConfig(config);
}

bool MainWindow::startRun() {
    if (m_running)
        return false;
    const QString invalid = m_panel->validationError();
    if (!invalid.isEmpty()) {
        m_startError = tr("Cannot start: %1").arg(invalid);
        showError(m_startError);
        return false;
    }
    m_errorLabel->hide();
    m_divergences.clear();
    const kd::ExperimentConfig config = m_panel->config();
    const bool reuse = m_panel->reuseTeacher();
    // A preset's series runs when Start is pressed on its first run's settings. An edit of a setting the
    // series does not vary (say the training images) applies to every run of it; an edit of one it varies
    // (T in "Temperature matters") makes this a single run, and the status bar says so.
    QString seriesNote;
    if (!m_seriesActive) {
        m_seriesNext = int(m_series.size());
        if (!m_series.empty()) {
            const SeriesEdit edit = seriesEdit(m_series, config);
            if (edit.editedVaried.isEmpty()) {
                for (kd::ExperimentConfig& run : m_series)
                    run = kd::configFromJson(edit.patch, "the panel's settings", run);
                m_seriesNext = 1;
                m_seriesFirstRun = int(m_runs.size()); // the run about to be added
                m_seriesClock.start();
            } else if (m_series.size() > 1) {
                seriesNote = tr("One run: you changed %1, which the preset's series varies (load the preset "
                                "again for its %2 runs)")
                                 .arg(edit.editedVaried.join(QStringLiteral(", ")))
                                 .arg(m_series.size());
            }
        }
    }

    // Does this run train a teacher? Only for the progress estimate: the engine decides.
    bool teacherTrains = config.teacherCheckpoint.empty();
    if (reuse && teacherTrains) {
        for (auto it = m_runs.rbegin(); it != m_runs.rend(); ++it) {
            const kd::ExperimentConfig& p = (*it)->config;
            const bool sameTeachers = (p.method == "ensemble") == (config.method == "ensemble") &&
                                      (config.method != "ensemble" ||
                                       kd::ensembleMemberSpecs(p) == kd::ensembleMemberSpecs(config));
            if ((*it)->status == "done" && sameTeachers && p.dataset == config.dataset &&
                p.teacher == config.teacher && p.teacherEpochs == config.teacherEpochs &&
                p.seed == config.seed && p.trainLimit == config.trainLimit &&
                p.testLimit == config.testLimit) {
                teacherTrains = false;
                break;
            }
        }
    }

    const QString stamp = QDateTime::currentDateTime().toString(QStringLiteral("yyyyMMdd-hhmmss-zzz"));
    auto record = std::make_unique<kd::RunRecord>();
    record->name = runName(config);
    record->created = QDateTime::currentDateTime().toString(Qt::ISODate).toStdString();
    record->status = "running";
    record->config = config;
    record->result.method = config.method;
    record->checkpointDir = QDir(QStandardPaths::writableLocation(QStandardPaths::AppLocalDataLocation))
                                .filePath(QStringLiteral("runs/") + stamp)
                                .toStdString();
    kd::RunRecord* run = record.get();
    m_runs.push_back(std::move(record));
    m_runList->addItem(QString());
    updateRunItem(int(m_runs.size()) - 1);
    selectRuns({int(m_runs.size()) - 1});
    beginRun(run, teacherTrains);
    Q_EMIT startRequested(config, reuse, QString::fromStdString(run->checkpointDir), /*resume=*/false);
    Q_EMIT runStarted();
    if (!seriesNote.isEmpty() && !m_presetBanner->text().contains(seriesNote))
        m_presetBanner->setText(m_presetBanner->text() + QStringLiteral(" \u2014 ") + seriesNote);
    return true;
}

void MainWindow::beginRun(kd::RunRecord* run, bool teacherTrains) {
    m_current = run;
    m_recorder.begin(run->config, teacherTrains);
    m_progress->setValue(0);
    m_etaLabel->setText(tr("estimating time..."));
    m_progressClock.start();
    m_running = true;
    m_stopping = false;
    m_pauseAction->setChecked(false);
    m_panel->setRunning(true);
    updateActions();
    autosaveNow();
}

bool MainWindow::canResume(const kd::RunRecord* run) const {
    return run && !m_running && run->status == "stopped" && !run->checkpointDir.empty() &&
           QFileInfo(QDir(QString::fromStdString(run->checkpointDir)).filePath(QStringLiteral("checkpoints")))
               .isDir();
}

bool MainWindow::resumeRun(QString* error) {
    auto fail = [&](const QString& message) {
        if (error)
            *error = message;
        showError(message);
        return false;
    };
    const QVector<const kd::RunRecord*> shown = shownRuns();
    const kd::RunRecord* selected = shown.isEmpty() ? nullptr : shown.front();
    if (m_running)
        return fail(tr("Resume: a run is training (stop it first)"));
    if (!selected)
        return fail(tr("Resume: select the stopped run to continue"));
    if (!canResume(selected))
        return fail(tr("Resume: run \"%1\" %2")
                        .arg(QString::fromStdString(selected->name),
                             selected->status != "stopped"
                                 ? tr("is %1, not stopped").arg(QString::fromStdString(selected->status))
                                 : tr("has no checkpoints to continue from (saved before kdlab kept them, or "
                                      "deleted)")));
    kd::RunRecord* run = m_runs[std::size_t(indexOf(selected))].get();
    const std::string folder = run->checkpointDir + "/checkpoints";
    std::vector<kd::ResumePoint> points;
    try {
        points = kd::readResumePoints(folder);
    } catch (const std::exception& e) {
        return fail(tr("Resume: %1").arg(QString::fromStdString(e.what())));
    }
    // The curves go back to the checkpoints: what the resumed run trains again is drawn again.
    auto epochsDone = [&points](const std::string& id) {
        for (const kd::ResumePoint& p : points)
            if (p.id == id)
                return p.epoch;
        return 0;
    };
    auto& history = run->result.history;
    history.erase(
        std::remove_if(history.begin(), history.end(),
                       [&](const kd::EpochMetrics& e) { return e.epoch > epochsDone(kd::roleName(e.role)); }),
        history.end());
    for (kd::StageResult& st : run->result.stages)
        st.history.erase(
            std::remove_if(st.history.begin(), st.history.end(),
                           [&](const kd::EpochMetrics& e) { return e.epoch > epochsDone(st.id); }),
            st.history.end());
    auto& batches = run->batches;
    batches.erase(std::remove_if(
                      batches.begin(), batches.end(),
                      [&](const kd::BatchPoint& b) { return b.x > epochsDone(kd::roleName(b.role)) + 1e-9; }),
                  batches.end());
    auto& markers = run->markers;
    markers.erase(std::remove_if(markers.begin(), markers.end(),
                                 [&](const kd::ParameterMarker& m) {
                                     return m.x > epochsDone(kd::roleName(m.role)) + 1e-9;
                                 }),
                  markers.end());
    run->status = "running";
    run->error.clear();
    m_outputs.erase(run);
    m_errorLabel->hide();
    m_divergences.clear();
    m_panel->setConfig(run->config);
    selectRuns({indexOf(run)});
    updateRunItem(indexOf(run));
    bool teacherDone = false;
    for (const kd::ResumePoint& p : points)
        teacherDone = teacherDone || (p.id == "teacher" && p.complete);
    beginRun(run, !teacherDone && run->config.teacherCheckpoint.empty());
    for (const kd::ResumePoint& p : points)
        m_recorder.skipDone(p.id, p.epoch);
    m_progress->setValue(int(m_recorder.progress() * 1000));
    m_phaseLabel->setText(tr("Resuming from the checkpoints in %1")
                              .arg(QDir::toNativeSeparators(QString::fromStdString(folder))));
    // Not the worker's kept teacher: the one in the checkpoints comes with its epochs for the curves.
    Q_EMIT startRequested(run->config, /*reuseTeacher=*/false, QString::fromStdString(run->checkpointDir),
                          /*resume=*/true);
    Q_EMIT runStarted();
    return true;
}

void MainWindow::setAutosaveEnabled(bool enabled) {
    m_autosavePath.clear();
    if (m_autosaveLock)
        m_autosaveLock->unlock();
    if (!enabled)
        return;
    const QString dataDir = QStandardPaths::writableLocation(QStandardPaths::AppLocalDataLocation);
    if (!QDir().mkpath(dataDir))
        return;
    m_autosaveLock = std::make_unique<QLockFile>(QDir(dataDir).filePath(QStringLiteral("autosave.lock")));
    if (m_autosaveLock->tryLock(0))
        m_autosavePath = QDir(dataDir).filePath(QStringLiteral("autosave.kdlab"));
}

bool MainWindow::hasAutosave() const {
    return !m_autosavePath.isEmpty() && QFileInfo::exists(m_autosavePath);
}

void MainWindow::scheduleAutosave() {
    if (!m_autosavePath.isEmpty() && !m_autosaveTimer->isActive())
        m_autosaveTimer->start(2000); // batches arrive many times a second: at most one write per 2 s
}

void MainWindow::autosaveNow() {
    m_autosaveTimer->stop();
    if (m_autosavePath.isEmpty())
        return;
    // Written on another thread: a run's thousands of curve points take milliseconds to format, and the
    // GUI thread must stay free. One write at a time; a later one waits for the current one to end.
    if (m_autosaveWrite.valid() &&
        m_autosaveWrite.wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
        m_autosaveTimer->start(50);
        return;
    }
    if (!m_autosaveSettled && !m_wroteAutosave && QFileInfo::exists(m_autosavePath))
        return; // a crashed session's runs, not yet offered: keep them
    if (m_runs.empty()) {
        QFile::remove(m_autosavePath);
        return;
    }
    m_wroteAutosave = true;
    auto records = std::make_shared<std::vector<kd::RunRecord>>();
    for (const auto& run : m_runs)
        records->push_back(*run); // a training run stays "running": restoring marks it interrupted
    const std::string path = m_autosavePath.toStdString();
    m_autosaveWrite = std::async(std::launch::async, [records, path] {
        try {
            kd::saveExperimentFile(path, *records);
        } catch (const std::exception& e) {
            // Not worth interrupting the lesson for; said once on the terminal.
            static std::atomic<bool> said{false};
            if (!said.exchange(true))
                std::fprintf(stderr, "kdlab: warning: autosave failed: %s\n", e.what());
        }
    });
}

void MainWindow::waitForAutosave() {
    if (m_autosaveWrite.valid())
        m_autosaveWrite.wait();
}

void MainWindow::discardAutosave() {
    waitForAutosave(); // else a write in flight would bring the file back
    if (!m_autosavePath.isEmpty())
        QFile::remove(m_autosavePath);
}

bool MainWindow::restoreAutosave(QString* error) {
    auto fail = [&](const QString& message) {
        if (error)
            *error = message;
        showError(message);
        return false;
    };
    if (m_running)
        return fail(tr("Cannot restore the autosaved runs while a run is training"));
    waitForAutosave();
    if (!hasAutosave())
        return fail(tr("There is no autosaved experiment to restore"));
    std::vector<kd::RunRecord> records;
    try {
        records = kd::loadExperimentFile(m_autosavePath.toStdString());
    } catch (const std::exception& e) {
        return fail(
            tr("The autosaved experiment cannot be restored: %1").arg(QString::fromStdString(e.what())));
    }
    m_autosaveSettled = true; // its runs are these now: later writes keep them
    for (kd::RunRecord& r : records) {
        if (r.status != "running")
            continue;
        r.status = "stopped";
        r.error = tr("Interrupted: kdlab ended while this run trained. Run > Resume continues it from its "
                     "last finished epoch.")
                      .toStdString();
        // Its models as far as they got, for the teaching views and export until it is resumed.
        for (const char* role : {"teacher", "baseline", "student"}) {
            const std::string path = r.checkpointDir + "/checkpoints/" + role + ".pt";
            if (!r.checkpointDir.empty() && !r.checkpoints.count(role) &&
                QFileInfo::exists(QString::fromStdString(path)))
                r.checkpoints[role] = path;
        }
    }
    replaceRuns(std::move(records));
    m_filePath.clear();
    m_dirty = true; // restored, not saved anywhere but the autosave
    m_errorLabel->hide();
    updateTitle();
    for (const auto& r : m_runs)
        if (r->error.rfind("Interrupted", 0) == 0) // said where it is seen, not only in a tooltip
            showError(
                tr("Run %1 was interrupted: kdlab ended while it trained. Run > Resume continues it from "
                   "its last finished epoch.")
                    .arg(indexOf(r.get()) + 1));
    return true;
}

void MainWindow::offerAutosaveRestore() {
    // Asked once, and only of a file this window did not write: after a clean quit there is none, and
    // opening a saved experiment autosaves it at once.
    const bool ask = !m_autosaveSettled && !m_wroteAutosave && hasAutosave();
    m_autosaveSettled = true;
    if (!ask)
        return;
    const QString when = QLocale().toString(QFileInfo(m_autosavePath).lastModified(), QLocale::ShortFormat);
    const auto answer = QMessageBox::question(
        this, tr("kdlab"),
        tr("kdlab did not close properly last time. Restore the experiment autosaved at %1, with its curves "
           "and checkpoints up to the last finished epoch?\n\nA run that was training can then be continued "
           "with Run > Resume.")
            .arg(when),
        QMessageBox::Yes | QMessageBox::Discard, QMessageBox::Yes);
    if (answer == QMessageBox::Yes)
        restoreAutosave();
    else {
        discardAutosave();
        autosaveNow(); // the runs already here (an experiment opened at the start)
    }
}

void MainWindow::pauseRun(bool paused) {
    if (!m_running) {
        m_pauseAction->setChecked(false);
        return;
    }
    m_worker->setPaused(paused);
    m_phaseLabel->setText(paused ? tr("Paused") : tr("Resumed"));
    if (paused)
        m_etaLabel->setText(tr("paused")); // no time left counts down while paused
}

void MainWindow::stopRun() {
    if (!m_running)
        return;
    m_stopping = true;
    m_worker->requestStop();
    m_phaseLabel->setText(tr("Stopping after this batch..."));
    updateActions();
}

void MainWindow::onTemperatureChanged(double t) {
    if (m_running) {
        // A drag or held arrow key passes through many values: the engine gets the one it settles on, so the
        // student never trains at a value on the way and the curve shows one marker per change.
        m_pendingTemperature = t;
        m_settingsTimer->start();
    }
    // The lenses follow the slider at once, running or not: they only recompute softmaxes.
    m_lens->setTemperature(t);
    m_darkView->setTemperature(t);
}

void MainWindow::onAlphaChanged(double a) {
    if (m_running) {
        m_pendingAlpha = a;
        m_settingsTimer->start();
    }
}

void MainWindow::applySettledSettings() {
    if (!m_running)
        return;
    if (m_pendingTemperature > 0)
        m_worker->setTemperature(m_pendingTemperature);
    if (m_pendingAlpha >= 0)
        m_worker->setAlpha(m_pendingAlpha);
    m_pendingTemperature = m_pendingAlpha = -1;
}

void MainWindow::onPhase(kd::Phase phase, const QString& description) {
    // Only a run's phases: the worker also loads data to recompute an opened run's teaching views, and
    // "Loading" must not stay in the status bar after that.
    if (!m_running)
        return;
    QString name;
    switch (phase) {
    case kd::Phase::Loading:
        name = tr("Loading");
        break;
    case kd::Phase::Teacher:
        name = tr("Teacher");
        break;
    case kd::Phase::TeacherLogits:
        name = tr("Teacher's soft targets");
        break;
    case kd::Phase::Baseline:
        name = tr("Baseline student");
        break;
    case kd::Phase::Student:
        name = tr("Distilled student");
        break;
    case kd::Phase::Done:
        return; // finished() follows
    }
    m_phaseLabel->setText(QStringLiteral("<b>%1</b>: %2").arg(name, description.toHtmlEscaped()));
}

void MainWindow::onBatch(const kd::BatchMetrics& metrics) {
    if (!m_current)
        return;
    const RunRecorder::Update u = m_recorder.addBatch(metrics);
    if (u.marker) {
        m_current->markers.push_back(*u.marker);
        m_lossPlot->addMarker(m_current, *u.marker);
        // The run list, the charts and the .kdlab record name the values it trained with ("T=2->20").
        m_current->name = runName(m_current->config, m_current->markers);
        updateRunItem(indexOf(m_current));
        m_barChart->updateRun(m_current);
    }
    if (u.point) {
        m_current->batches.push_back(*u.point);
        m_lossPlot->addBatchPoint(m_current, *u.point);
    }
    scheduleAutosave();
    // The status bar needs no more than ~10 updates a second; a batch already on its way when Pause was
    // pressed leaves "paused" in place.
    if (m_progressClock.elapsed() >= 100 && !m_pauseAction->isChecked()) {
        m_progressClock.restart();
        m_progress->setValue(int(m_recorder.progress() * 1000));
        const double eta = m_recorder.etaSeconds();
        m_etaLabel->setText(eta < 0 ? tr("estimating time...")
                                    : tr("about %1 left · %2 images/s")
                                          .arg(formatDuration(eta))
                                          .arg(qRound(metrics.samplesPerSecond)));
    }
}

void MainWindow::onEpoch(const kd::EpochMetrics& metrics) {
    if (!m_current)
        return;
    // After the epoch's checkpoint (the trainer writes it first): a crash from here restores this epoch.
    QTimer::singleShot(0, this, &MainWindow::autosaveNow);
    if (metrics.stage >= 0) { // a method's extra model: the method chart shows it, the curves do not
        currentStage(metrics.stage).history.push_back(metrics);
        m_methodPlot->updateRun();
        updateRunItem(indexOf(m_current));
        return;
    }
    m_current->result.history.push_back(metrics);
    m_lossPlot->addEpoch(m_current, metrics);
    m_accuracyPlot->addEpoch(m_current, metrics);
    m_barChart->updateRun(m_current);
    m_methodPlot->updateRun();
    updateRunItem(indexOf(m_current));
}

kd::StageResult& MainWindow::currentStage(int stage) {
    std::vector<kd::StageResult>& stages = m_current->result.stages;
    if (std::size_t(stage) >= stages.size())
        stages.resize(std::size_t(stage) + 1);
    return stages[std::size_t(stage)];
}

void MainWindow::onStage(int stage, const kd::StageResult& result, bool finished) {
    if (!m_current || stage < 0)
        return;
    kd::StageResult& current = currentStage(stage);
    // Keep the epochs that arrived live; the finished stage brings them all anyway.
    std::vector<kd::EpochMetrics> history = std::move(current.history);
    current = result;
    if (!finished)
        current.history = std::move(history);
    m_methodPlot->updateRun();
}

void MainWindow::onFinished(const kd::ExperimentResult& result, const QVariantMap& checkpoints,
                            const QString& warning) {
    if (m_current) {
        m_current->result = result;
        m_current->status = result.stopped ? "stopped" : "done";
        for (auto it = checkpoints.begin(); it != checkpoints.end(); ++it)
            m_current->checkpoints[it.key().toStdString()] = it.value().toString().toStdString();
        m_barChart->updateRun(m_current);
        m_methodPlot->updateRun();
        updateRunItem(indexOf(m_current));
        m_dirty = true;
    }
    kd::RunRecord* const ended = m_current;
    m_current = nullptr;
    m_running = false;
    m_stopping = false;
    // Resume is promised only where it is possible: a run stopped before any model finished an epoch has no
    // checkpoint to continue from.
    const bool resumable = result.stopped && ended && canResume(ended);
    if (ended && result.stopped)
        ended->error = (resumable ? tr("Stopped. Run > Resume continues it from its last finished epoch.")
                                  : tr("Stopped before any model finished an epoch: nothing to resume; Start "
                                       "runs it again."))
                           .toStdString();
    if (ended)
        updateRunItem(indexOf(ended));
    m_pauseAction->setChecked(false);
    m_panel->setRunning(false);
    m_progress->setValue(result.stopped ? m_progress->value() : 1000);
    refreshTeachingViews();
    m_etaLabel->clear();
    m_phaseLabel->setText(!result.stopped ? tr("Done in %1").arg(formatDuration(result.totalSeconds))
                          : resumable ? tr("Stopped; the results so far are kept (Run > Resume continues)")
                                      : tr("Stopped before the first epoch ended: nothing to resume"));
    autosaveNow();
    if (!warning.isEmpty())
        showError(tr("The results stand, but a checkpoint could not be saved: %1").arg(warning));
    updateActions();
    updateTitle();
    Q_EMIT runFinished();
    if (m_closeWhenStopped) {
        close();
        return;
    }
    if (!result.stopped && pendingSeriesRuns() > 0) {
        QTimer::singleShot(0, this, &MainWindow::startNextInSeries);
        return;
    }
    // A whole series done: overlay its runs, which is what the series is for.
    if (m_seriesActive && !result.stopped) {
        QList<int> series;
        for (int i = m_seriesFirstRun; i < int(m_runs.size()); ++i)
            series << i;
        selectRuns(series);
        // The series' time, not its last run's.
        m_phaseLabel->setText(tr("Done: the preset's %1 runs in %2")
                                  .arg(series.size())
                                  .arg(formatDuration(m_seriesClock.elapsed() / 1000.0)));
    }
    m_seriesActive = false;
}

void MainWindow::startNextInSeries() {
    if (m_running || pendingSeriesRuns() <= 0)
        return;
    const int index = m_seriesNext++;
    m_panel->setConfig(m_series[std::size_t(index)]);
    m_panel->reuseTeacherBox()->setChecked(true); // the series shares one teacher
    m_seriesActive = true;
    if (!startRun()) {
        m_seriesActive = false;
        return;
    }
    m_seriesActive = true; // until the last run of the series ends (onFinished)
    m_phaseLabel->setText(tr("Run %1 of %2 of the preset").arg(index + 1).arg(m_series.size()));
}

void MainWindow::onFailed(const QString& message) {
    if (m_current) {
        m_current->status = "failed";
        m_current->error = message.toStdString();
        updateRunItem(indexOf(m_current));
        refreshPlots(); // their hints follow the status ("Training is starting..." would stay otherwise)
    }
    m_current = nullptr;
    m_running = false;
    m_stopping = false;
    m_pauseAction->setChecked(false);
    m_panel->setRunning(false);
    m_etaLabel->clear();
    m_phaseLabel->setText(tr("Failed"));
    autosaveNow();
    m_seriesActive = false;
    m_seriesNext = int(m_series.size());
    showError(message);
    updateActions();
    Q_EMIT runFinished();
    if (m_closeWhenStopped)
        close();
}

void MainWindow::showError(const QString& message) {
    m_errorLabel->setText(message);
    m_errorLabel->show();
}

int MainWindow::indexOf(const kd::RunRecord* run) const {
    for (std::size_t i = 0; i < m_runs.size(); ++i)
        if (m_runs[i].get() == run)
            return int(i);
    return -1;
}

void MainWindow::updateRunItem(int index) {
    if (index < 0 || index >= m_runList->count())
        return;
    const kd::RunRecord& run = *m_runs[std::size_t(index)];
    QString text = QStringLiteral("%1. %2").arg(index + 1).arg(QString::fromStdString(run.name));
    const double student = latestAccuracy(&run, kd::Role::Student);
    const double baseline = latestAccuracy(&run, kd::Role::Baseline);
    if (student >= 0 && baseline >= 0)
        text += tr(": distilled %1 vs baseline %2").arg(percent(student), percent(baseline));
    else if (baseline >= 0)
        text += tr(": baseline %1").arg(percent(baseline));
    if (run.status == "running")
        text += tr(" (running)");
    else if (run.status == "stopped" && run.error.rfind("Interrupted", 0) == 0)
        text += tr(" (interrupted)");
    else if (run.status == "stopped")
        text += tr(" (stopped)");
    else if (run.status == "failed")
        text += tr(" (failed)");
    // A model that diverged keeps its last good weights; the run says so, and its tooltip says which.
    QStringList divergences;
    for (const kd::ComparisonRow& row : kd::methodComparison(run.result))
        if (!row.model.divergence.empty())
            divergences << QString::fromStdString(row.model.divergence);
    if (!divergences.isEmpty())
        text += tr(" (diverged)");
    QListWidgetItem* item = m_runList->item(index);
    item->setText(text);
    const kd::ExperimentConfig& c = run.config;
    QString tip = tr("%1\nteacher %2 (%3 epochs) -> student %4 (%5 epochs)\nT = %6, alpha = %7, seed %8, %9")
                      .arg(QString::fromStdString(c.dataset), QString::fromStdString(c.teacher))
                      .arg(c.teacherEpochs)
                      .arg(QString::fromStdString(c.student))
                      .arg(c.epochs)
                      .arg(c.temperature)
                      .arg(c.alpha)
                      .arg(qulonglong(c.seed))
                      .arg(QString::fromStdString(run.created));
    if (!run.error.empty())
        tip += QLatin1Char('\n') + QString::fromStdString(run.error);
    for (const QString& d : divergences)
        tip += QLatin1Char('\n') + d;
    const QString comparisons = comparisonsText(run.result);
    if (!comparisons.isEmpty())
        tip += QLatin1Char('\n') + comparisons;
    item->setToolTip(tip);
    item->setForeground(run.status == "failed" ? QColor(0xb0, 0x00, 0x20) : palette().color(QPalette::Text));
}

QVector<const kd::RunRecord*> MainWindow::shownRuns() const {
    // Newest first: the first run is the plots' primary one.
    QVector<const kd::RunRecord*> shown;
    for (int i = m_runList->count() - 1; i >= 0; --i)
        if (m_runList->item(i)->isSelected())
            shown.push_back(m_runs[std::size_t(i)].get());
    return shown;
}

void MainWindow::selectRuns(const QList<int>& indexes) {
    {
        const QSignalBlocker block(m_runList);
        m_runList->clearSelection();
        for (int i : indexes)
            if (i >= 0 && i < m_runList->count())
                m_runList->item(i)->setSelected(true);
    }
    onRunSelectionChanged();
}

void MainWindow::onRunSelectionChanged() {
    refreshPlots();
    refreshTeachingViews();
    updateActions();
}

TestOutputsPtr MainWindow::testOutputs(const kd::RunRecord* run) const {
    const auto it = m_outputs.find(run);
    return it == m_outputs.end() ? nullptr : it->second;
}

void MainWindow::onTestOutputs(const TestOutputsPtr& outputs) {
    if (m_current && outputs)
        m_outputs[m_current] = outputs;
}

void MainWindow::onAnalysed(int request, const TestOutputsPtr& outputs, const QString& error) {
    if (request != m_analysisRequest || !m_analysing)
        return; // an answer for runs that are gone (another file was opened)
    if (outputs)
        m_outputs[m_analysing] = outputs;
    else
        m_analysisErrors[m_analysing] = error;
    if (!m_running) // "Evaluating ..." is over
        m_phaseLabel->setText(
            outputs
                ? tr("Evaluated \"%1\" for the teaching views").arg(QString::fromStdString(m_analysing->name))
                : QString());
    m_analysing = nullptr;
    refreshTeachingViews();
}

void MainWindow::refreshTeachingViews() {
    const QVector<const kd::RunRecord*> shown = shownRuns();
    const kd::RunRecord* run = shown.isEmpty() ? nullptr : shown.front();
    TestOutputsPtr outputs = testOutputs(run);
    // A run from a file: recompute its outputs from its checkpoints on the worker (not while it trains).
    if (run && !outputs && !run->checkpoints.empty() && run->status != "running" && !m_running &&
        !m_analysing && !m_analysisErrors.count(run)) {
        QVariantMap checkpoints;
        for (const auto& [role, path] : run->checkpoints)
            checkpoints.insert(QString::fromStdString(role), QString::fromStdString(path));
        m_analysing = run;
        Q_EMIT analyseRequested(++m_analysisRequest, run->config, checkpoints);
        m_phaseLabel->setText(tr("Evaluating the saved models of \"%1\" for the teaching views...")
                                  .arg(QString::fromStdString(run->name)));
    } else if (run && m_analysisErrors.count(run)) {
        showError(tr("The teaching views cannot show \"%1\": %2")
                      .arg(QString::fromStdString(run->name), m_analysisErrors[run]));
    }
    m_lens->setOutputs(outputs);
    m_lens->setTemperature(m_panel->temperature());
    m_darkView->setOutputs(outputs);
    m_darkView->setTemperature(m_panel->temperature());
    m_confusionView->setOmittedClass(run ? run->config.omitClass : -1);
    m_confusionView->setOutputs(outputs);
    if (run && run->status != "running" && run->status != "failed")
        m_efficiencyView->setResult(run->result);
    else
        m_efficiencyView->clear();
    if (run && run->status == "running" && !outputs)
        for (TeachingView* view :
             std::initializer_list<TeachingView*>{m_lens, m_darkView, m_confusionView, m_efficiencyView})
            view->showTrainingPlaceholder();
    Q_EMIT teachingViewsUpdated();
}

SweepWindow* MainWindow::openSweepWindow() {
    if (!m_sweepWindow) {
        // Its own window and worker: a sweep runs beside the main window's runs, not instead of them.
        m_sweepWindow = new SweepWindow(m_panel->config());
        m_sweepWindow->setAttribute(Qt::WA_DeleteOnClose);
        m_sweepWindow->setAskToSave(m_askToSave);
    } else if (!m_sweepWindow->isRunning()) {
        m_sweepWindow->setBaseConfig(m_panel->config());
    }
    m_sweepWindow->show();
    m_sweepWindow->raise();
    m_sweepWindow->activateWindow();
    return m_sweepWindow;
}

void MainWindow::setTemperature(double t) {
    m_panel->setTemperature(t);
}

void MainWindow::showLensImage(int index) {
    m_lens->setImageIndex(index);
}

QStringList MainWindow::builtInPresets() {
    initPresetResources();
    // The order of a lesson: the default, the classic paper, then one idea per preset.
    QStringList paths;
    for (const char* name : {"fashion-mnist-default", "hinton-2015", "temperature-matters", "tiny-student",
                             "few-labels", "omitted-class", "ensemble", "born-again", "teacher-assistant"})
        paths << QStringLiteral(":/presets/%1.json").arg(QLatin1String(name));
    return paths;
}

bool MainWindow::loadPreset(const QString& path, QString* error) {
    auto fail = [&](const QString& message) {
        if (error)
            *error = message;
        showError(message);
        return false;
    };
    if (m_running)
        return fail(tr("%1: cannot load a preset while a run is training (stop it first)").arg(path));
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return fail(tr("%1: cannot open (%2)").arg(path, file.errorString()));
    kd::Preset preset;
    try {
        preset = kd::presetFromJson(file.readAll().toStdString(), path.toStdString());
    } catch (const std::exception& e) {
        return fail(QString::fromStdString(e.what()));
    }
    for (std::size_t i = 0; i < preset.runs.size(); ++i) {
        try {
            kd::validateConfig(preset.runs[i]);
        } catch (const std::exception& e) {
            const QString where =
                preset.runs.size() > 1 ? QStringLiteral("%1: run %2").arg(path).arg(i + 1) : path;
            return fail(QStringLiteral("%1: %2").arg(where, QString::fromStdString(e.what())));
        }
    }
    m_series = preset.runs;
    m_seriesNext = int(m_series.size());
    m_seriesActive = false;
    m_panel->setConfig(preset.config);
    m_panel->reuseTeacherBox()->setChecked(false);
    QString banner = QStringLiteral("<b>%1</b>").arg(QString::fromStdString(preset.name).toHtmlEscaped());
    if (preset.runs.size() > 1)
        banner += tr(" (%1 runs on Start)").arg(preset.runs.size());
    banner += QStringLiteral(": ") + QString::fromStdString(preset.explanation).toHtmlEscaped();
    m_presetBanner->setText(banner);
    m_presetBanner->show();
    m_errorLabel->hide();
    m_phaseLabel->setText(tr("Loaded preset \"%1\"; press Start").arg(QString::fromStdString(preset.name)));
    return true;
}

void MainWindow::refreshPlots() {
    const QVector<const kd::RunRecord*> shown = shownRuns();
    m_lossPlot->setRuns(shown);
    m_accuracyPlot->setRuns(shown);
    m_barChart->setRuns(shown);
    // Another method than kd trains more models than the bar chart's three: show them all instead.
    const kd::RunRecord* primary = shown.isEmpty() ? nullptr : shown.front();
    const bool method = primary && primary->config.method != "kd";
    m_methodPlot->setRun(method ? primary : nullptr);
    m_comparisonStack->setCurrentWidget(method ? static_cast<QWidget*>(m_methodPlot) : m_barChart);
}

bool MainWindow::isMethodPlotShown() const {
    return m_comparisonStack->currentWidget() == m_methodPlot;
}

void MainWindow::updateActions() {
    m_startAction->setEnabled(!m_running);
    m_pauseAction->setEnabled(m_running && !m_stopping);
    m_stopAction->setEnabled(m_running && !m_stopping);
    const QVector<const kd::RunRecord*> shown = shownRuns();
    m_exportAction->setEnabled(!shown.isEmpty() && !shown.front()->checkpoints.empty());
    m_resumeAction->setEnabled(!shown.isEmpty() && canResume(shown.front()));
}

void MainWindow::updateTitle() {
    const QString name = m_filePath.isEmpty() ? tr("untitled experiment") : QFileInfo(m_filePath).fileName();
    setWindowTitle(QStringLiteral("kdlab - %1%2").arg(name, m_dirty ? QStringLiteral(" *") : QString()));
}

bool MainWindow::saveExperiment(const QString& path, QString* error) {
    std::vector<kd::RunRecord> records;
    for (const auto& run : m_runs) {
        records.push_back(*run);
        if (records.back().status == "running")
            records.back().status = "stopped"; // what a reader can rely on: it did not finish
    }
    try {
        kd::saveExperimentFile(path.toStdString(), records);
    } catch (const std::exception& e) {
        const QString message = QString::fromStdString(e.what());
        if (error)
            *error = message;
        showError(message);
        return false;
    }
    m_filePath = path;
    m_dirty = false;
    updateTitle();
    m_phaseLabel->setText(tr("Saved %1").arg(QDir::toNativeSeparators(path)));
    return true;
}

void MainWindow::replaceRuns(std::vector<kd::RunRecord> records) {
    m_outputs.clear();
    m_analysisErrors.clear();
    m_analysing = nullptr; // a pending answer is ignored (request numbers move on)
    ++m_analysisRequest;
    m_runs.clear();
    {
        const QSignalBlocker block(m_runList);
        m_runList->clear();
    }
    for (kd::RunRecord& r : records) {
        m_runs.push_back(std::make_unique<kd::RunRecord>(std::move(r)));
        m_runList->addItem(QString());
        updateRunItem(int(m_runs.size()) - 1);
    }
    if (!m_runs.empty())
        m_panel->setConfig(m_runs.back()->config);
    selectRuns({int(m_runs.size()) - 1});
}

bool MainWindow::openExperiment(const QString& path, QString* error) {
    auto fail = [&](const QString& message) {
        if (error)
            *error = message;
        showError(message);
        return false;
    };
    if (m_running)
        return fail(tr("%1: cannot open an experiment while a run is training (stop it first)").arg(path));
    std::vector<kd::RunRecord> records;
    try {
        records = kd::loadExperimentFile(path.toStdString());
    } catch (const std::exception& e) {
        return fail(QString::fromStdString(e.what())); // the current runs stay as they were
    }
    m_phaseLabel->setText(tr("Opened %1").arg(QFileInfo(path).fileName())); // before replaceRuns: it may
                                                                            // start evaluating, and say so
    replaceRuns(std::move(records));
    m_filePath = path;
    m_dirty = false;
    m_errorLabel->hide();
    updateTitle();
    autosaveNow();
    return true;
}

bool MainWindow::exportModel(const QString& model, const QString& format, const QString& path,
                             QString* error) {
    auto fail = [&](const QString& message) {
        if (error)
            *error = message;
        m_exportError = message;
        showError(message);
        return false;
    };
    const QVector<const kd::RunRecord*> shown = shownRuns();
    if (shown.isEmpty())
        return fail(tr("Export: select a run first"));
    const kd::RunRecord& run = *shown.front();
    if (model != QLatin1String("student") && model != QLatin1String("baseline") &&
        model != QLatin1String("teacher"))
        return fail(tr("Export: unknown model \"%1\" (student, baseline or teacher)").arg(model));
    const kd::Role role = model == QLatin1String("teacher")    ? kd::Role::Teacher
                          : model == QLatin1String("baseline") ? kd::Role::Baseline
                                                               : kd::Role::Student;
    const QString who = tr("the %1").arg(roleTitle(role).toLower()); // for the status line
    kd::ExportFormat exportFormat;
    try {
        exportFormat = kd::parseExportFormat(format.toStdString());
    } catch (const std::exception&) {
        return fail(tr("Export: unknown format \"%1\" (torchscript, onnx or checkpoint)").arg(format));
    }
    const auto it = run.checkpoints.find(model.toStdString());
    if (it == run.checkpoints.end()) {
        const QString why = model == QLatin1String("teacher") && run.config.method == "ensemble"
                                ? tr("an ensemble's teacher is several models")
                                : tr("it did not train one");
        return fail(tr("Export: run \"%1\" has no checkpoint of %2 (%3)")
                        .arg(QString::fromStdString(run.name), who, why));
    }
    if (path.trimmed().isEmpty())
        return fail(tr("Export: no file name given"));
    const std::string checkpoint = it->second;
    const std::string target = path.toStdString();
    namespace fs = std::filesystem;
    if (std::error_code ignored; fs::equivalent(checkpoint, target, ignored))
        return fail(tr("%1: this is the checkpoint itself; choose another file name").arg(path));

    // The card: the one kdlab wrote into the checkpoint, or, for a checkpoint older than the cards, what the
    // run record knows (dataset, method, T, alpha, accuracies).
    kd::CheckpointInfo info;
    std::optional<kd::ModelCard> fallback;
    try {
        info = kd::readCheckpointInfo(checkpoint);
        if (info.card.empty())
            fallback = kd::makeModelCard(run.config, run.result, model.toStdString(), {}, 0);
    } catch (const std::exception& e) {
        return fail(QString::fromStdString(e.what()));
    }
    QString status;
    try {
        const kd::ExportResult result =
            kd::exportCheckpoint(checkpoint, exportFormat, target, fallback ? &*fallback : nullptr);
        status = tr("Exported %1 to %2 (model card %3; checked with %4)")
                     .arg(who, QDir::toNativeSeparators(path),
                          QFileInfo(QString::fromStdString(result.cardPath)).fileName(),
                          QString::fromStdString(result.checkedWith));
    } catch (const std::exception& e) {
        return fail(QString::fromStdString(e.what()));
    }
    if (!m_exportError.isEmpty() && m_errorLabel->text() == m_exportError)
        m_errorLabel->hide(); // the last export's failure is over
    m_exportError.clear();
    m_exportFolder = QFileInfo(path).absolutePath();
    m_phaseLabel->setText(status);
    return true;
}

void MainWindow::saveAs() {
    const QString path = QFileDialog::getSaveFileName(this, tr("Save experiment"), m_filePath,
                                                      tr("kdlab experiments (*.kdlab)"));
    if (path.isEmpty())
        return;
    saveExperiment(path.endsWith(QStringLiteral(".kdlab")) ? path : path + QStringLiteral(".kdlab"));
}

void MainWindow::openDialog() {
    if (!maybeSave())
        return;
    const QString path = QFileDialog::getOpenFileName(this, tr("Open experiment"), QString(),
                                                      tr("kdlab experiments (*.kdlab);;All files (*)"));
    if (!path.isEmpty())
        openExperiment(path);
}

void MainWindow::exportDialog() {
    const QVector<const kd::RunRecord*> shown = shownRuns();
    if (shown.isEmpty())
        return;
    const kd::RunRecord* run = shown.front();
    QString folder = m_exportFolder;
    if (folder.isEmpty() && !m_filePath.isEmpty())
        folder = QFileInfo(m_filePath).absolutePath();
    if (folder.isEmpty())
        folder = QStandardPaths::writableLocation(QStandardPaths::DocumentsLocation);
    if (folder.isEmpty())
        folder = QDir::homePath();
    ExportDialog dialog(*run, folder, this);
    dialog.setExporter(
        [this, run](const QString& model, const QString& format, const QString& path, QString* error) {
            const QVector<const kd::RunRecord*> now = shownRuns();
            if (now.isEmpty() || now.front() != run) {
                if (error)
                    *error = tr("The selected run changed meanwhile; choose Export model... again");
                return false;
            }
            return exportModel(model, format, path, error);
        });
    dialog.exec();
}

// True when it is fine to discard the current runs (saved, discarded, or nothing to save).
bool MainWindow::maybeSave() {
    if (!m_dirty || !m_askToSave)
        return true;
    const auto answer = QMessageBox::question(
        this, tr("kdlab"), tr("The runs of this experiment are not saved. Save them first?"),
        QMessageBox::Save | QMessageBox::Discard | QMessageBox::Cancel, QMessageBox::Save);
    if (answer == QMessageBox::Cancel)
        return false;
    if (answer == QMessageBox::Discard)
        return true;
    if (m_filePath.isEmpty())
        saveAs();
    else
        saveExperiment(m_filePath);
    return !m_dirty;
}

void MainWindow::closeEvent(QCloseEvent* event) {
    if (m_running) {
        // Stop first (within one batch), and close once the worker reports back: no thread is left running.
        m_closeWhenStopped = true;
        stopRun();
        m_phaseLabel->setText(tr("Stopping the run before closing..."));
        event->ignore();
        return;
    }
    if (!maybeSave()) {
        m_closeWhenStopped = false;
        event->ignore();
        return;
    }
    // One app: its windows go together. The sweep window asks about its unsaved results, and may say no.
    if (m_sweepWindow && !m_sweepWindow->close()) {
        event->ignore();
        return;
    }
    discardAutosave(); // a clean close: nothing to restore next time
    event->accept();
}

} // namespace kdui
