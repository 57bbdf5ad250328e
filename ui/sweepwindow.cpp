#include "sweepwindow.h"

#include "kdcore/modelspec.h"
#include "plots.h"

#include <QCloseEvent>
#include <QComboBox>
#include <QDateTime>
#include <QDir>
#include <QFileDialog>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QMessageBox>
#include <QProgressBar>
#include <QPushButton>
#include <QSpinBox>
#include <QSplitter>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <set>

namespace kdui {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

bool sameNumber(double a, double b) {
    return std::abs(a - b) <= 1e-9 * std::max({1.0, std::abs(a), std::abs(b)});
}

QString numberText(double v) {
    return QString::number(v, 'g', 6);
}

// "40 s", "3 min", "1 h 05 min": an estimate, so no false precision.
QString roughDuration(double seconds) {
    const int s = int(std::lround(seconds));
    if (s < 60)
        return QObject::tr("%1 s").arg(std::max(1, s));
    if (s < 3600)
        return QObject::tr("%1 min").arg(std::max(1, int(std::lround(s / 60.0))));
    return QObject::tr("%1 h %2 min").arg(s / 3600).arg((s % 3600) / 60, 2, 10, QLatin1Char('0'));
}

QString exactDuration(double seconds) {
    const int s = int(std::lround(seconds));
    if (s >= 3600)
        return QStringLiteral("%1 h %2 min").arg(s / 3600).arg((s % 3600) / 60, 2, 10, QLatin1Char('0'));
    if (s >= 60)
        return QStringLiteral("%1 min %2 s").arg(s / 60).arg(s % 60, 2, 10, QLatin1Char('0'));
    return QStringLiteral("%1 s").arg(s);
}

// Cost of one training sample, as RunRecorder estimates it: forward + backward ~ 3x the forward FLOPs, plus
// a fixed per-sample overhead that dominates for tiny models.
double sampleCost(const std::string& spec) {
    try {
        return 3.0 * double(kd::modelStats(kd::parseModelSpec(spec)).flopsPerSample) + 2e5;
    } catch (...) {
        return 1e6;
    }
}

QString cellsText(std::size_t count) {
    return count == 1 ? QObject::tr("1 cell") : QObject::tr("%1 cells").arg(count);
}

std::string cellName(const kd::SweepCell& cell) {
    return "T=" + numberText(cell.temperature).toStdString() + " a=" + numberText(cell.alpha).toStdString() +
           " " + cell.student + " seed " + std::to_string(cell.seed);
}

} // namespace

SweepWindow::SweepWindow(const kd::ExperimentConfig& base, QWidget* parent)
    : QWidget(parent, Qt::Window)
    , m_base(base) {
    registerSweepMetaTypes();
    setWindowTitle(tr("Hyperparameter sweep - kdlab"));

    // Qt's worker-object pattern: the worker lives on m_thread until the window goes.
    m_worker = new SweepWorker;
    m_worker->moveToThread(&m_thread);
    connect(&m_thread, &QThread::finished, m_worker, &QObject::deleteLater);
    connect(this, &SweepWindow::startRequested, m_worker, &SweepWorker::start);
    connect(m_worker, &SweepWorker::cellStarted, this, &SweepWindow::onCellStarted);
    connect(m_worker, &SweepWorker::batchReported, this, &SweepWindow::onBatch);
    connect(m_worker, &SweepWorker::epochReported, this, &SweepWindow::onEpoch);
    connect(m_worker, &SweepWorker::cellFinished, this, &SweepWindow::onCellFinished);
    connect(m_worker, &SweepWorker::finished, this, &SweepWindow::onFinished);
    connect(m_worker, &SweepWorker::failed, this, &SweepWindow::onFailed);
    m_thread.setObjectName(QStringLiteral("kdlab sweep"));
    m_thread.start();

    buildLayout();
    validateInputs();
    resize(1280, 920);
}

SweepWindow::~SweepWindow() {
    // Stop a sweep in progress (honoured within one batch), then let the thread finish; the worker deletes
    // itself.
    m_worker->requestStop();
    m_thread.quit();
    m_thread.wait();
}

void SweepWindow::buildLayout() {
    m_explanation = new QLabel(this);
    m_explanation->setWordWrap(true);
    m_explanation->setText(tr(
        "A sweep distills one student for every temperature T, alpha and seed, all from the same teacher, "
        "and "
        "compares each with the same student trained on labels only (the baseline). Differences smaller than "
        "the error bars (\u00b1 one standard deviation over seeds) may be just noise."));
    QFont explanationFont = m_explanation->font();
    explanationFont.setPointSizeF(explanationFont.pointSizeF() + 0.5);
    m_explanation->setFont(explanationFont);

    m_temperatures = new QLineEdit(QStringLiteral("1,2,4,8"), this);
    m_temperatures->setToolTip(tr("Temperatures to try, separated by commas (each > 0)"));
    m_alphas = new QLineEdit(QStringLiteral("0.1,0.5,0.9"), this);
    m_alphas->setToolTip(
        tr("Weights of the soft (teacher) targets to try, separated by commas (each 0 to 1)"));
    m_students = new QLineEdit(this);
    m_students->setToolTip(tr("Student specs to try, separated by ';' (specs contain commas), e.g. "
                              "\"mlp:64;mlp:128\". Empty: the experiment's student."));
    m_seeds = new QSpinBox(this);
    m_seeds->setRange(1, 20);
    m_seeds->setValue(1);
    m_seeds->setToolTip(
        tr("Seeds per grid point: each trains its own baseline and students from other initial "
           "weights. Two or more give error bars."));
    m_cellCount = new QLabel(this);
    m_temperatures->setObjectName(QStringLiteral("temperatures"));
    m_alphas->setObjectName(QStringLiteral("alphas"));
    m_students->setObjectName(QStringLiteral("students"));
    m_seeds->setObjectName(QStringLiteral("seeds"));
    m_cellCount->setStyleSheet(QStringLiteral("color: #606060;"));
    for (QLineEdit* edit : {m_temperatures, m_alphas, m_students})
        connect(edit, &QLineEdit::textChanged, this, [this] { validateInputs(); });
    connect(m_seeds, qOverload<int>(&QSpinBox::valueChanged), this, [this] { validateInputs(); });

    auto* inputs = new QGridLayout;
    inputs->addWidget(new QLabel(tr("Temperatures T"), this), 0, 0);
    inputs->addWidget(m_temperatures, 0, 1);
    inputs->addWidget(new QLabel(tr("Alphas"), this), 0, 2);
    inputs->addWidget(m_alphas, 0, 3);
    inputs->addWidget(new QLabel(tr("Seeds"), this), 0, 4);
    inputs->addWidget(m_seeds, 0, 5);
    inputs->addWidget(new QLabel(tr("Students"), this), 1, 0);
    inputs->addWidget(m_students, 1, 1, 1, 3);
    inputs->addWidget(m_cellCount, 1, 4, 1, 2);
    inputs->setColumnStretch(1, 2);
    inputs->setColumnStretch(3, 2);

    m_error = new QLabel(this);
    m_error->setObjectName(QStringLiteral("validationError"));
    m_error->setStyleSheet(QStringLiteral("color: #b00020;"));
    m_error->setTextFormat(Qt::PlainText);
    m_error->setWordWrap(true);

    m_start = new QPushButton(tr("Start sweep"), this);
    m_start->setToolTip(tr("Train the teacher once, then every cell's students"));
    m_cancel = new QPushButton(tr("Cancel"), this);
    m_cancel->setToolTip(tr("Stop within one batch; the finished cells are kept"));
    m_save = new QPushButton(tr("Save results..."), this);
    m_save->setToolTip(tr("Write sweep.csv (one row per cell and seed) and summary.json into a folder"));
    m_start->setObjectName(QStringLiteral("startButton"));
    m_cancel->setObjectName(QStringLiteral("cancelButton"));
    m_save->setObjectName(QStringLiteral("saveButton"));
    m_progress = new QProgressBar(this);
    m_progress->setRange(0, 1000);
    m_progress->setTextVisible(false);
    m_progress->setMaximumWidth(260);
    m_progressLabel = new QLabel(this);
    m_progressLabel->setTextFormat(Qt::PlainText);
    connect(m_start, &QPushButton::clicked, this, [this] { startSweep(); });
    connect(m_cancel, &QPushButton::clicked, this, &SweepWindow::cancelSweep);
    connect(m_save, &QPushButton::clicked, this, [this] { saveFromDialog(); });
    auto* buttons = new QHBoxLayout;
    buttons->addWidget(m_start);
    buttons->addWidget(m_cancel);
    buttons->addSpacing(8);
    buttons->addWidget(m_progress, 1);
    buttons->addWidget(m_progressLabel, 2);
    buttons->addWidget(m_save);

    // Heatmap (with what it shows) beside the line chart; the selected cell's curves below.
    m_measureCombo = new QComboBox(this);
    m_measureCombo->setObjectName(QStringLiteral("measure"));
    m_measureCombo->addItem(tr("mean test accuracy"));
    m_measureCombo->addItem(tr("gap recovered"));
    m_measureCombo->setToolTip(
        tr("Gap recovered: the share of the teacher-baseline accuracy gap the distilled student closed "
           "(0% = no better than the baseline, 100% = as good as the teacher)"));
    connect(m_measureCombo, qOverload<int>(&QComboBox::currentIndexChanged), this, [this](int index) {
        setMeasure(index == 1 ? SweepMeasure::GapRecovered : SweepMeasure::Accuracy);
    });
    m_studentLabel = new QLabel(tr("Student"), this);
    m_studentCombo = new QComboBox(this);
    m_studentCombo->setObjectName(QStringLiteral("student"));
    m_studentCombo->setSizeAdjustPolicy(QComboBox::AdjustToContents);
    connect(m_studentCombo, qOverload<int>(&QComboBox::currentIndexChanged), this, [this](int index) {
        if (index >= 0)
            setShownStudent(m_studentCombo->itemText(index).toStdString());
    });
    m_reference = new QLabel(this);
    m_reference->setTextFormat(Qt::PlainText);
    m_reference->setWordWrap(true);

    m_heatmap = new SweepHeatmap(this);
    connect(m_heatmap, &SweepHeatmap::cellClicked, this, [this](int t, int a) {
        const kd::SweepPlan& p = shownPlan();
        if (t < int(p.temperatures.size()) && a < int(p.alphas.size()))
            selectCell(m_shownStudent, p.temperatures[std::size_t(t)], p.alphas[std::size_t(a)]);
    });
    m_linePlot = new SweepLinePlot(this);
    m_lossPlot = new LossCurvePlot(this);
    m_accuracyPlot = new AccuracyPlot(this);
    m_curvesLabel = new QLabel(this);
    m_curvesLabel->setTextFormat(Qt::PlainText);
    m_curvesLabel->setWordWrap(true);

    auto* showRow = new QHBoxLayout;
    showRow->addWidget(new QLabel(tr("Show"), this));
    showRow->addWidget(m_measureCombo);
    showRow->addSpacing(12);
    showRow->addWidget(m_studentLabel);
    showRow->addWidget(m_studentCombo);
    showRow->addStretch(1);

    auto* heatmapBox = new QWidget(this);
    auto* heatmapLayout = new QVBoxLayout(heatmapBox);
    heatmapLayout->setContentsMargins(0, 0, 0, 0);
    heatmapLayout->addLayout(showRow);
    heatmapLayout->addWidget(m_heatmap, 1);

    auto* lineBox = new QWidget(this);
    auto* lineLayout = new QVBoxLayout(lineBox);
    lineLayout->setContentsMargins(0, 0, 0, 0);
    lineLayout->addWidget(m_reference);
    lineLayout->addWidget(m_linePlot, 1);

    auto* top = new QSplitter(Qt::Horizontal, this);
    top->addWidget(heatmapBox);
    top->addWidget(lineBox);
    top->setChildrenCollapsible(false);

    auto* bottom = new QWidget(this);
    auto* bottomLayout = new QVBoxLayout(bottom);
    bottomLayout->setContentsMargins(0, 0, 0, 0);
    bottomLayout->addWidget(m_curvesLabel);
    auto* curves = new QHBoxLayout;
    curves->addWidget(m_lossPlot, 1);
    curves->addWidget(m_accuracyPlot, 1);
    bottomLayout->addLayout(curves, 1);

    auto* split = new QSplitter(Qt::Vertical, this);
    split->addWidget(top);
    split->addWidget(bottom);
    split->setChildrenCollapsible(false);
    split->setStretchFactor(0, 3);
    split->setStretchFactor(1, 2);

    auto* root = new QVBoxLayout(this);
    root->addWidget(m_explanation);
    root->addLayout(inputs);
    root->addWidget(m_error);
    root->addLayout(buttons);
    root->addWidget(split, 1);
    updateCurvesLabel();
}

// ---------------------------------------------------------------------------------------------------------
// Inputs

void SweepWindow::setBaseConfig(const kd::ExperimentConfig& base) {
    m_base = base;
    validateInputs();
}

void SweepWindow::setTemperaturesText(const QString& text) {
    m_temperatures->setText(text);
}

void SweepWindow::setAlphasText(const QString& text) {
    m_alphas->setText(text);
}

void SweepWindow::setStudentsText(const QString& text) {
    m_students->setText(text);
}

void SweepWindow::setSeeds(int seeds) {
    m_seeds->setValue(seeds);
}

kd::SweepPlan SweepWindow::plan() const {
    kd::SweepPlan p;
    p.base = m_base;
    p.seeds = m_seeds->value();
    try {
        p.temperatures = kd::parseNumberList(m_temperatures->text().toStdString(), "temperatures");
    } catch (const std::exception&) {
    }
    try {
        p.alphas = kd::parseNumberList(m_alphas->text().toStdString(), "alphas");
    } catch (const std::exception&) {
    }
    if (!m_students->text().trimmed().isEmpty()) {
        try {
            p.students = kd::parseSpecList(m_students->text().toStdString(), "students");
        } catch (const std::exception&) {
        }
    }
    return p;
}

QString SweepWindow::checkPlan(const kd::SweepPlan& plan) {
    try {
        kd::validateSweepPlan(plan);
    } catch (const std::exception& e) {
        return QString::fromStdString(e.what());
    }
    return {};
}

void SweepWindow::validateInputs() {
    // Each list on its own first, so the message names the field the user typed in.
    QString error;
    try {
        kd::parseNumberList(m_temperatures->text().toStdString(), "temperatures");
        kd::parseNumberList(m_alphas->text().toStdString(), "alphas");
        if (!m_students->text().trimmed().isEmpty())
            kd::parseSpecList(m_students->text().toStdString(), "students");
    } catch (const std::exception& e) {
        error = QString::fromStdString(e.what());
    }
    const kd::SweepPlan p = plan();
    if (error.isEmpty())
        error = checkPlan(p);
    // The heatmap has one column per T and one row per alpha: a value listed twice would be one cell.
    auto duplicate = [](const std::vector<double>& values) -> std::optional<double> {
        for (std::size_t i = 0; i < values.size(); ++i)
            for (std::size_t j = 0; j < i; ++j)
                if (sameNumber(values[i], values[j]))
                    return values[i];
        return std::nullopt;
    };
    if (error.isEmpty())
        if (const auto t = duplicate(p.temperatures))
            error = tr("temperatures: %1 is listed twice").arg(numberText(*t));
    if (error.isEmpty())
        if (const auto a = duplicate(p.alphas))
            error = tr("alphas: %1 is listed twice").arg(numberText(*a));
    if (error.isEmpty())
        for (std::size_t i = 0; i < p.students.size() && error.isEmpty(); ++i)
            for (std::size_t j = 0; j < i; ++j)
                if (p.students[i] == p.students[j]) {
                    error = tr("students: %1 is listed twice").arg(QString::fromStdString(p.students[i]));
                    break;
                }
    m_validationError = error;
    m_error->setText(error);
    m_error->setVisible(!error.isEmpty());
    if (error.isEmpty()) {
        const int cells = kd::sweepCellCount(p);
        const std::size_t students = p.students.empty() ? 1 : p.students.size();
        m_cellCount->setText(tr("%1 (%2 T \u00d7 %3 alpha \u00d7 %4 student%5 \u00d7 %6 seed%7)")
                                 .arg(cellsText(cells))
                                 .arg(p.temperatures.size())
                                 .arg(p.alphas.size())
                                 .arg(students)
                                 .arg(students == 1 ? QString() : QStringLiteral("s"))
                                 .arg(p.seeds)
                                 .arg(p.seeds == 1 ? QString() : QStringLiteral("s")));
        if (!m_started) { // preview the grid until the first sweep starts
            m_preview = p;
            refreshStudents();
            refreshResults();
        }
    } else {
        m_cellCount->clear();
    }
    updateControls();
}

void SweepWindow::updateControls() {
    m_start->setEnabled(!m_running && m_validationError.isEmpty());
    m_cancel->setEnabled(m_running && !m_stopping);
    m_save->setEnabled(!m_rows.empty());
    for (QWidget* w : std::initializer_list<QWidget*>{m_temperatures, m_alphas, m_students, m_seeds})
        w->setEnabled(!m_running);
}

// ---------------------------------------------------------------------------------------------------------
// Running

bool SweepWindow::startSweep() {
    if (m_running)
        return false;
    validateInputs();
    if (!m_validationError.isEmpty())
        return false;
    m_plan = plan();
    try {
        m_cells = kd::sweepCells(m_plan);
    } catch (const std::exception& e) {
        m_validationError = QString::fromStdString(e.what());
        m_error->setText(m_validationError);
        m_error->setVisible(true);
        updateControls();
        return false;
    }
    m_started = true;
    m_rows.clear();
    m_savedRows = 0;
    m_records.clear();
    const kd::ExperimentConfig& b = m_plan.base;
    const std::string teacherKey =
        b.dataset + "|" + std::to_string(b.trainLimit) + "|" + std::to_string(b.testLimit) + "|" + b.teacher +
        "|" + b.teacherCheckpoint + "|" + std::to_string(b.teacherEpochs) + "|" +
        std::to_string(b.teacherSeed != 0 ? b.teacherSeed : b.seed) + "|" + std::to_string(b.batchSize) +
        "|" + std::to_string(b.lr) + "|" + b.optimizer;
    if (teacherKey != m_teacherKey || !b.teacherCheckpoint.empty()) {
        m_teacherPoints.clear();
        m_teacherEpochs.clear();
    }
    m_teacherKey = teacherKey;
    m_teacherReported = false;
    m_baselines.clear();
    m_currentCell = -1;
    m_position = 0;
    m_count = int(m_cells.size());
    m_lastError.clear();
    m_running = true;
    m_stopping = false;
    // A selected grid point that is in the new plan stays selected; else the curves follow the running cell.
    if (m_haveSelection && std::none_of(m_cells.begin(), m_cells.end(), [this](const kd::SweepCell& c) {
            return c.student == m_selection.student && sameNumber(c.temperature, m_selection.temperature) &&
                   sameNumber(c.alpha, m_selection.alpha);
        }))
        m_haveSelection = false;
    showRun(nullptr);

    // The work ahead, in model-epochs weighted by cost per sample: the teacher once (unless loaded), each
    // (student, seed) baseline once, each cell's student.
    m_costs.clear();
    m_costs[m_plan.base.teacher] = sampleCost(m_plan.base.teacher);
    std::set<std::pair<std::string, std::uint64_t>> baselines;
    m_totalWork = m_plan.base.teacherCheckpoint.empty()
                      ? m_plan.base.teacherEpochs * m_costs[m_plan.base.teacher]
                      : 0.0;
    for (const kd::SweepCell& cell : m_cells) {
        if (!m_costs.count(cell.student))
            m_costs[cell.student] = sampleCost(cell.student);
        const double epochWork = m_plan.base.epochs * m_costs[cell.student];
        m_totalWork += epochWork;
        if (baselines.insert({cell.student, cell.seed}).second)
            m_totalWork += epochWork;
    }
    m_doneWork = 0;
    m_clock.start();
    m_progressClock.start();
    m_recorder.begin(m_plan.base, m_plan.base.teacherCheckpoint.empty());

    refreshStudents();
    refreshResults();
    updateControls();
    updateProgress();
    m_worker->clearStop();
    Q_EMIT startRequested(m_plan);
    Q_EMIT sweepStarted();
    return true;
}

void SweepWindow::cancelSweep() {
    if (!m_running || m_stopping)
        return;
    m_stopping = true;
    m_worker->requestStop(); // thread-safe; the worker's thread is busy training
    m_progressLabel->setText(tr("Stopping\u2026"));
    updateControls();
}

bool SweepWindow::saveFromDialog() {
    static QString lastDir = QDir::homePath();
    const QString dir =
        QFileDialog::getExistingDirectory(this, tr("Save the sweep's results into a folder"), lastDir);
    if (dir.isEmpty())
        return false;
    lastDir = dir;
    QString error;
    if (!saveResults(dir, &error)) {
        QMessageBox::warning(this, tr("Save results"), error);
        return false;
    }
    return true;
}

void SweepWindow::closeEvent(QCloseEvent* event) {
    // Closing throws the window and its results away: finished cells not saved are asked about first.
    if (m_askToSave && hasUnsavedResults()) {
        const auto answer = QMessageBox::question(
            this, tr("Close the sweep"),
            tr("%n finished cell(s) of this sweep are not saved. Save them before closing?", nullptr,
               finishedCells()),
            QMessageBox::Save | QMessageBox::Discard | QMessageBox::Cancel, QMessageBox::Save);
        if (answer == QMessageBox::Cancel || (answer == QMessageBox::Save && !saveFromDialog())) {
            event->ignore();
            return;
        }
    }
    cancelSweep(); // a sweep nobody watches stops
    QWidget::closeEvent(event);
}

double SweepWindow::workOf(kd::Role role, const std::string& student) const {
    const std::string& spec = role == kd::Role::Teacher ? m_plan.base.teacher : student;
    const auto it = m_costs.find(spec);
    return it == m_costs.end() ? 0.0 : it->second;
}

int SweepWindow::findCell(const std::string& student, double temperature, double alpha,
                          std::uint64_t seed) const {
    for (std::size_t i = 0; i < m_cells.size(); ++i) {
        const kd::SweepCell& c = m_cells[i];
        if (c.student == student && sameNumber(c.temperature, temperature) && sameNumber(c.alpha, alpha) &&
            c.seed == seed)
            return int(i);
    }
    return -1;
}

kd::RunRecord* SweepWindow::recordOf(int cellIndex) const {
    const auto it = m_records.find(cellIndex);
    return it == m_records.end() ? nullptr : it->second.get();
}

void SweepWindow::onCellStarted(const kd::SweepCell& cell, int position, int count) {
    if (!m_running)
        return;
    m_currentCell = -1;
    for (std::size_t i = 0; i < m_cells.size(); ++i)
        if (m_cells[i].index == cell.index)
            m_currentCell = int(i);
    if (m_currentCell < 0) { // not one of ours (cannot happen with the plan we sent): show it anyway
        m_cells.push_back(cell);
        m_currentCell = int(m_cells.size()) - 1;
    }
    // "cell 5 of 12" counts from 1 in the plan's order, whatever base the runner's position has.
    m_position = m_currentCell + 1;
    m_count = std::max({count, position + 1, int(m_cells.size())});

    auto record = std::make_unique<kd::RunRecord>();
    record->name = cellName(cell);
    record->created = QDateTime::currentDateTime().toString(Qt::ISODate).toStdString();
    record->status = "running";
    try {
        record->config = kd::cellConfig(m_plan, cell);
    } catch (const std::exception&) {
        record->config = m_plan.base;
        record->config.student = cell.student;
        record->config.temperature = cell.temperature;
        record->config.alpha = cell.alpha;
        record->config.seed = cell.seed;
    }
    // The teacher's curves, and the baseline's when an earlier cell trained it.
    record->batches = m_teacherPoints;
    record->result.history = m_teacherEpochs;
    const auto baseline = m_baselines.find({cell.student, cell.seed});
    if (baseline != m_baselines.end()) {
        record->batches.insert(record->batches.end(), baseline->second.points.begin(),
                               baseline->second.points.end());
        record->result.history.insert(record->result.history.end(), baseline->second.epochs.begin(),
                                      baseline->second.epochs.end());
    }
    m_records[cell.index] = std::move(record);
    m_recorder.begin(m_records[cell.index]->config, false); // each cell's curves smoothed on their own

    refreshResults(); // the running cell's "training..."
    const kd::RunRecord* target = shownRunTarget();
    if (target != m_shownRun)
        showRun(target);
    updateProgress();
}

void SweepWindow::addBatchTo(kd::RunRecord* record, const kd::BatchPoint& point, bool live) {
    record->batches.push_back(point);
    if (live && record == m_shownRun)
        m_lossPlot->addBatchPoint(record, point);
}

void SweepWindow::addEpochTo(kd::RunRecord* record, const kd::EpochMetrics& metrics, bool live) {
    record->result.history.push_back(metrics);
    if (live && record == m_shownRun) {
        m_lossPlot->addEpoch(record, metrics);
        m_accuracyPlot->addEpoch(record, metrics);
    }
}

void SweepWindow::teacherReported() {
    if (m_teacherReported)
        return;
    m_teacherReported = true;
    m_teacherPoints.clear();
    m_teacherEpochs.clear();
    // The running cell's record was given the earlier teacher's curves: this teacher's replace them.
    if (m_currentCell >= 0)
        if (kd::RunRecord* record = recordOf(m_cells[std::size_t(m_currentCell)].index)) {
            auto& points = record->batches;
            points.erase(std::remove_if(points.begin(), points.end(),
                                        [](const kd::BatchPoint& p) { return p.role == kd::Role::Teacher; }),
                         points.end());
            auto& epochs = record->result.history;
            epochs.erase(
                std::remove_if(epochs.begin(), epochs.end(),
                               [](const kd::EpochMetrics& m) { return m.role == kd::Role::Teacher; }),
                epochs.end());
            if (record == m_shownRun)
                showRun(record);
        }
}

void SweepWindow::onBatch(const kd::BatchMetrics& metrics) {
    if (!m_running)
        return;
    const kd::SweepCell* cell = m_currentCell >= 0 ? &m_cells[std::size_t(m_currentCell)] : nullptr;
    const std::string student = cell ? cell->student : m_plan.base.student;
    m_doneWork += workOf(metrics.role, student) / std::max(1, metrics.batchesPerEpoch);

    if (metrics.role == kd::Role::Teacher)
        teacherReported();
    const RunRecorder::Update u = m_recorder.addBatch(metrics);
    if (u.point) {
        if (metrics.role == kd::Role::Teacher)
            m_teacherPoints.push_back(*u.point);
        else if (metrics.role == kd::Role::Baseline && cell)
            m_baselines[{cell->student, cell->seed}].points.push_back(*u.point);
        if (cell)
            if (kd::RunRecord* record = recordOf(cell->index))
                addBatchTo(record, *u.point, true);
    }
    if (m_progressClock.elapsed() >= 200) { // a few updates a second are enough
        m_progressClock.restart();
        updateProgress();
    }
}

void SweepWindow::onEpoch(const kd::EpochMetrics& metrics) {
    if (!m_running)
        return;
    const kd::SweepCell* cell = m_currentCell >= 0 ? &m_cells[std::size_t(m_currentCell)] : nullptr;
    if (metrics.role == kd::Role::Teacher) {
        teacherReported();
        m_teacherEpochs.push_back(metrics);
    } else if (metrics.role == kd::Role::Baseline && cell)
        m_baselines[{cell->student, cell->seed}].epochs.push_back(metrics);
    if (cell)
        if (kd::RunRecord* record = recordOf(cell->index))
            addEpochTo(record, metrics, true);
}

void SweepWindow::onCellFinished(const kd::SweepRow& row, const kd::ExperimentResult& result) {
    if (!m_running)
        return;
    m_rows.push_back(row);
    if (kd::RunRecord* record = recordOf(row.cell.index)) {
        // The models' final numbers from the run; the curves as recorded (they include the teacher and a
        // baseline trained by an earlier cell, which this cell's result does not).
        std::vector<kd::EpochMetrics> history = std::move(record->result.history);
        for (kd::Role role : {kd::Role::Baseline, kd::Role::Student}) {
            const bool have = std::any_of(history.begin(), history.end(),
                                          [role](const kd::EpochMetrics& m) { return m.role == role; });
            if (!have)
                for (const kd::EpochMetrics& m : result.history)
                    if (m.role == role)
                        history.push_back(m);
        }
        record->result = result;
        record->result.history = std::move(history);
        if (record->result.baseline.testAccuracy == 0)
            record->result.baseline.testAccuracy = row.baselineAccuracy;
        if (record->result.teacher.testAccuracy == 0)
            record->result.teacher.testAccuracy = row.teacherAccuracy;
        record->status = "done";
    }
    if (m_currentCell >= 0 && m_cells[std::size_t(m_currentCell)].index == row.cell.index)
        m_currentCell = -1;
    refreshResults();
    updateProgress();
    updateControls();
}

void SweepWindow::onFinished(bool stopped) {
    if (!m_running)
        return;
    if (m_currentCell >= 0)
        if (kd::RunRecord* record = recordOf(m_cells[std::size_t(m_currentCell)].index))
            record->status = "stopped";
    m_currentCell = -1;
    m_running = false;
    const bool cancelled = stopped || m_stopping;
    m_stopping = false;
    refreshResults();
    if (!cancelled)
        m_progress->setValue(1000);
    m_progressLabel->setText(cancelled ? tr("Cancelled after %1 of %2 cells; the finished cells are kept")
                                             .arg(m_rows.size())
                                             .arg(m_cells.size())
                                       : tr("Done: %1 in %2")
                                             .arg(cellsText(m_rows.size()))
                                             .arg(m_clock.elapsed() < 1000
                                                      ? tr("under a second")
                                                      : exactDuration(m_clock.elapsed() / 1000.0)));
    updateControls();
    updateCurvesLabel();
    Q_EMIT sweepFinished();
}

void SweepWindow::onFailed(const QString& message) {
    if (!m_running)
        return;
    if (m_currentCell >= 0)
        if (kd::RunRecord* record = recordOf(m_cells[std::size_t(m_currentCell)].index)) {
            record->status = "failed";
            record->error = message.toStdString();
        }
    m_currentCell = -1;
    m_running = false;
    m_stopping = false;
    m_lastError = message;
    m_error->setText(tr("The sweep failed: %1").arg(message));
    m_error->setVisible(true);
    m_progressLabel->setText(tr("Failed after %1 of %2 cells").arg(m_rows.size()).arg(m_cells.size()));
    refreshResults();
    updateControls();
    updateCurvesLabel();
    Q_EMIT sweepFinished();
}

void SweepWindow::updateProgress() {
    if (!m_running) {
        return;
    }
    const double p = m_totalWork > 0 ? std::clamp(m_doneWork / m_totalWork, 0.0, 0.999) : 0.0;
    m_progress->setValue(int(p * 1000));
    m_progressLabel->setText(progressText());
}

QString SweepWindow::progressText() const {
    if (!m_running)
        return m_progressLabel->text();
    if (m_stopping)
        return tr("Stopping\u2026");
    const int count = m_count > 0 ? m_count : int(m_cells.size());
    if (m_position <= 0)
        return tr("Training the teacher\u2026");
    QString text = tr("cell %1 of %2").arg(m_position).arg(count);
    const double p = m_totalWork > 0 ? std::clamp(m_doneWork / m_totalWork, 0.0, 1.0) : 0.0;
    const double elapsed = m_clock.elapsed() / 1000.0;
    if (p > 0.02 && elapsed > 1.5)
        text += tr(" \u00b7 about %1 left").arg(roughDuration(elapsed * (1 - p) / p));
    else
        text += tr(" \u00b7 estimating time\u2026");
    return text;
}

// ---------------------------------------------------------------------------------------------------------
// Results

std::vector<std::string> SweepWindow::shownStudents() const {
    const kd::SweepPlan& p = shownPlan();
    if (!p.students.empty())
        return p.students;
    return {p.base.student};
}

void SweepWindow::refreshStudents() {
    const std::vector<std::string> students = shownStudents();
    if (std::find(students.begin(), students.end(), m_shownStudent) == students.end())
        m_shownStudent = students.empty() ? std::string() : students.front();
    const QSignalBlocker blocker(m_studentCombo);
    m_studentCombo->clear();
    for (const std::string& s : students)
        m_studentCombo->addItem(QString::fromStdString(s));
    m_studentCombo->setCurrentText(QString::fromStdString(m_shownStudent));
    m_studentCombo->setVisible(students.size() > 1);
    m_studentLabel->setVisible(students.size() > 1);
}

SweepGrid SweepWindow::gridFor(const std::string& student) const {
    const kd::SweepPlan& p = shownPlan();
    SweepGrid grid;
    grid.student = QString::fromStdString(student);
    grid.temperatures = p.temperatures.empty() ? std::vector<double>{p.base.temperature} : p.temperatures;
    grid.alphas = p.alphas.empty() ? std::vector<double>{p.base.alpha} : p.alphas;
    if (!m_started)
        return grid;
    std::vector<kd::SweepRow> rows;
    for (const kd::SweepRow& r : m_rows)
        if (r.cell.student == student)
            rows.push_back(r);
    if (rows.empty())
        return grid;
    try {
        grid.cells = kd::summarizeSweep(rows);
    } catch (const std::exception&) {
        grid.cells.clear();
    }
    // The baseline: one per seed (the same for every cell of that seed).
    std::map<std::uint64_t, double> baselines;
    for (const kd::SweepRow& r : rows)
        baselines[r.cell.seed] = r.baselineAccuracy;
    double sum = 0;
    for (const auto& [seed, accuracy] : baselines)
        sum += accuracy;
    SweepReference& ref = grid.reference;
    ref.baselineSeeds = int(baselines.size());
    ref.baselineMean = sum / ref.baselineSeeds;
    double squares = 0;
    for (const auto& [seed, accuracy] : baselines)
        squares += (accuracy - ref.baselineMean) * (accuracy - ref.baselineMean);
    ref.baselineStd = ref.baselineSeeds >= 2 ? std::sqrt(squares / (ref.baselineSeeds - 1)) : 0.0;
    ref.hasTeacher = true;
    ref.teacher = rows.front().teacherAccuracy;
    return grid;
}

void SweepWindow::refreshResults() {
    const SweepGrid grid = gridFor(m_shownStudent);
    m_heatmap->setGrid(grid, m_measure);
    int runningT = -1, runningA = -1;
    if (m_running && m_currentCell >= 0) {
        const kd::SweepCell& c = m_cells[std::size_t(m_currentCell)];
        if (c.student == m_shownStudent) {
            runningT = grid.indexOfTemperature(c.temperature);
            runningA = grid.indexOfAlpha(c.alpha);
        }
    }
    m_heatmap->setRunningCell(runningT, runningA);
    if (m_haveSelection && m_selection.student == m_shownStudent)
        m_heatmap->setSelectedCell(grid.indexOfTemperature(m_selection.temperature),
                                   grid.indexOfAlpha(m_selection.alpha));
    else
        m_heatmap->setSelectedCell(-1, -1);
    m_linePlot->setGrid(grid);
    m_reference->setText(referenceText());
}

QString SweepWindow::referenceText() const {
    if (!m_started || m_rows.empty())
        return tr("The baseline (the same student on labels only) and the teacher appear when the first cell "
                  "finishes.");
    const SweepGrid grid = gridFor(m_shownStudent);
    const SweepReference& ref = grid.reference;
    if (ref.baselineSeeds == 0)
        return tr("No cell of %1 has finished yet.").arg(QString::fromStdString(m_shownStudent));
    QString seeds = ref.baselineSeeds >= 2 ? tr(" (%1 seeds)").arg(ref.baselineSeeds) : QString();
    return tr("baseline %1%2, teacher %3")
        .arg(sweepMeanText(ref.baselineMean, ref.baselineStd, ref.baselineSeeds), seeds,
             sweepMeanText(ref.teacher, 0, 1));
}

void SweepWindow::setMeasure(SweepMeasure measure) {
    m_measure = measure;
    {
        const QSignalBlocker blocker(m_measureCombo);
        m_measureCombo->setCurrentIndex(measure == SweepMeasure::GapRecovered ? 1 : 0);
    }
    refreshResults();
}

void SweepWindow::setShownStudent(const std::string& student) {
    const std::vector<std::string> students = shownStudents();
    if (std::find(students.begin(), students.end(), student) == students.end() || student == m_shownStudent)
        return;
    m_shownStudent = student;
    {
        const QSignalBlocker blocker(m_studentCombo);
        m_studentCombo->setCurrentText(QString::fromStdString(student));
    }
    refreshResults();
}

QString SweepWindow::cellText(const std::string& student, double temperature, double alpha) {
    setShownStudent(student);
    if (student != m_shownStudent)
        return {};
    const SweepGrid grid = gridFor(student);
    return m_heatmap->cellText(grid.indexOfTemperature(temperature), grid.indexOfAlpha(alpha));
}

double SweepWindow::heatmapValue(const std::string& student, double temperature, double alpha) {
    setShownStudent(student);
    if (student != m_shownStudent)
        return kNaN;
    const SweepGrid grid = gridFor(student);
    return m_heatmap->cellValue(grid.indexOfTemperature(temperature), grid.indexOfAlpha(alpha));
}

int SweepWindow::errorBarCount() const {
    return m_linePlot->errorBarCount();
}

// ---------------------------------------------------------------------------------------------------------
// Selection and curves

bool SweepWindow::selectCell(const std::string& student, double temperature, double alpha) {
    if (!m_started)
        return false;
    const bool inPlan = std::any_of(m_cells.begin(), m_cells.end(), [&](const kd::SweepCell& c) {
        return c.student == student && sameNumber(c.temperature, temperature) && sameNumber(c.alpha, alpha);
    });
    if (!inPlan)
        return false;
    m_haveSelection = true;
    m_selection = CellKey{student, temperature, alpha};
    if (student != m_shownStudent)
        setShownStudent(student); // refreshes the heatmap and its selection
    else
        refreshResults();
    const kd::RunRecord* target = shownRunTarget();
    if (target != m_shownRun)
        showRun(target);
    updateCurvesLabel();
    return true;
}

const kd::RunRecord* SweepWindow::selectedRun() const {
    if (!m_haveSelection)
        return nullptr;
    // The grid point's first seed (the lowest), as its run shows the curves.
    int first = -1;
    for (std::size_t i = 0; i < m_cells.size(); ++i) {
        const kd::SweepCell& c = m_cells[i];
        if (c.student == m_selection.student && sameNumber(c.temperature, m_selection.temperature) &&
            sameNumber(c.alpha, m_selection.alpha) &&
            (first < 0 || c.seed < m_cells[std::size_t(first)].seed))
            first = int(i);
    }
    return first < 0 ? nullptr : recordOf(m_cells[std::size_t(first)].index);
}

const kd::RunRecord* SweepWindow::shownRunTarget() const {
    if (m_haveSelection)
        return selectedRun();
    if (m_currentCell >= 0) // nothing selected: follow the running cell
        return recordOf(m_cells[std::size_t(m_currentCell)].index);
    return m_shownRun;
}

void SweepWindow::showRun(const kd::RunRecord* run) {
    m_shownRun = run;
    QVector<const kd::RunRecord*> runs;
    if (run)
        runs << run;
    m_lossPlot->setRuns(runs);
    m_accuracyPlot->setRuns(runs);
    updateCurvesLabel();
}

void SweepWindow::updateCurvesLabel() {
    QString text;
    if (!m_shownRun) {
        text = m_haveSelection
                   ? tr("Curves: the selected cell has not started yet.")
                   : tr("Curves of the cell being trained appear below; click a cell of the heatmap "
                        "to see its run (its first seed).");
    } else {
        const kd::ExperimentConfig& c = m_shownRun->config;
        const QString what =
            QStringLiteral("T = %1, alpha = %2, %3, seed %4")
                .arg(numberText(c.temperature), numberText(c.alpha), QString::fromStdString(c.student))
                .arg(c.seed);
        if (m_haveSelection)
            text = tr("Curves of the selected cell: %1 (teacher, baseline and distilled student)").arg(what);
        else
            text = tr("Curves of the cell %1: %2 (click a cell of the heatmap to pick another)")
                       .arg(m_shownRun->status == "running" ? tr("being trained") : tr("trained last"), what);
    }
    m_curvesLabel->setText(text);
}

bool SweepWindow::saveResults(const QString& dir, QString* error) {
    if (m_rows.empty()) {
        if (error)
            *error = tr("There are no finished cells to save yet.");
        return false;
    }
    try {
        kd::writeSweepFiles(dir.toStdString(), m_rows);
    } catch (const std::exception& e) {
        if (error)
            *error = QString::fromStdString(e.what());
        return false;
    }
    m_savedRows = int(m_rows.size());
    if (!m_running)
        m_progressLabel->setText(
            tr("Saved sweep.csv and summary.json in %1").arg(QDir::toNativeSeparators(dir)));
    return true;
}

} // namespace kdui
