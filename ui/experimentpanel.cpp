#include "experimentpanel.h"

#include "kdcore/error.h"
#include "kdcore/modelspec.h"
#include "kdcore/report.h"
#include "kdcore/temperature.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QDoubleValidator>
#include <QFileDialog>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QLocale>
#include <QSignalBlocker>
#include <QSlider>
#include <QSpinBox>
#include <QToolButton>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>

namespace kdui {
namespace {

QString withSeparators(std::int64_t n) {
    return QLocale(QLocale::English).toString(qlonglong(n));
}

QString humanFlops(std::int64_t flops) {
    if (flops >= 1'000'000)
        return QString::number(double(flops) / 1e6, 'f', 1) + QStringLiteral(" MFLOPs");
    return QString::number(double(flops) / 1e3, 'f', 1) + QStringLiteral(" kFLOPs");
}

QString humanBytes(std::int64_t bytes) {
    if (bytes >= 1024 * 1024)
        return QString::number(double(bytes) / (1024.0 * 1024.0), 'f', 2) + QStringLiteral(" MB");
    return QString::number(double(bytes) / 1024.0, 'f', 1) + QStringLiteral(" KB");
}

} // namespace

// ---------------------------------------------------------------------------------------------------------------

SpecEditor::SpecEditor(const QString& role, QWidget* parent)
    : QWidget(parent)
    , m_presets(new QComboBox(this))
    , m_edit(new QLineEdit(this))
    , m_stats(new QLabel(this)) {
    m_presets->addItem(tr("custom"), QString());
    for (const auto& [name, spec] : kd::modelPresets())
        m_presets->addItem(QString::fromStdString(name), QString::fromStdString(spec));
    m_presets->setToolTip(tr("A preset %1 architecture; it fills in the spec beside it.").arg(role));
    m_edit->setToolTip(tr("The %1's architecture: mlp:H1,H2,... (hidden widths), lenet5, or cnn:C1,C2,... "
                          "(conv channels), optionally +dropout=P.")
                           .arg(role));
    m_edit->setPlaceholderText(QStringLiteral("mlp:128"));
    m_stats->setWordWrap(true);
    m_stats->setTextInteractionFlags(Qt::TextSelectableByMouse);

    auto* row = new QHBoxLayout;
    row->setContentsMargins(0, 0, 0, 0);
    row->addWidget(m_presets, 0);
    row->addWidget(m_edit, 1);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->setSpacing(2);
    layout->addLayout(row);
    layout->addWidget(m_stats);

    connect(m_presets, &QComboBox::activated, this, [this](int index) {
        const QString spec = m_presets->itemData(index).toString();
        if (!spec.isEmpty())
            m_edit->setText(spec);
    });
    connect(m_edit, &QLineEdit::textChanged, this, [this] {
        validate();
        Q_EMIT specChanged();
    });
    validate();
}

QString SpecEditor::spec() const {
    return m_edit->text().trimmed();
}

void SpecEditor::setSpec(const QString& spec) {
    m_edit->setText(spec);
}

void SpecEditor::validate() {
    const QString text = spec();
    try {
        const kd::ModelSpec parsed = kd::parseModelSpec(text.toStdString());
        const kd::ModelStats stats = kd::modelStats(parsed);
        m_valid = true;
        m_error.clear();
        m_params = stats.params;
        m_flops = stats.flopsPerSample;
        m_stats->setStyleSheet(QString());
        m_stats->setText(tr("%1 parameters · %2 · %3 per image")
                             .arg(withSeparators(stats.params), humanBytes(stats.bytes),
                                  humanFlops(stats.flopsPerSample)));
    } catch (const std::exception& e) {
        m_valid = false;
        m_error = QString::fromStdString(e.what());
        m_params = m_flops = 0;
        m_stats->setStyleSheet(QStringLiteral("color: #b00020;"));
        m_stats->setText(m_error);
    }
    // Show the preset whose spec this is, if any (canonical forms compare equal).
    int match = 0;
    for (int i = 1; i < m_presets->count(); ++i)
        if (m_presets->itemData(i).toString() == text || m_presets->itemText(i) == text)
            match = i;
    const QSignalBlocker block(m_presets);
    m_presets->setCurrentIndex(match);
}

// ---------------------------------------------------------------------------------------------------------------

int ExperimentPanel::temperatureToSlider(double t) {
    return kd::temperatureToSlider(t);
}

double ExperimentPanel::sliderToTemperature(int position) {
    return kd::sliderToTemperature(position);
}

ExperimentPanel::ExperimentPanel(QWidget* parent)
    : QWidget(parent)
    , m_dataset(new QComboBox(this))
    , m_teacher(new SpecEditor(tr("teacher"), this))
    , m_student(new SpecEditor(tr("student"), this))
    , m_compression(new QLabel(this))
    , m_method(new QComboBox(this))
    , m_methodHelp(new QLabel(this))
    , m_ensembleSize(new QSpinBox(this))
    , m_ensembleTeachers(new QLineEdit(this))
    , m_generations(new QSpinBox(this))
    , m_assistant(new SpecEditor(tr("assistant"), this))
    , m_tSlider(new QSlider(Qt::Horizontal, this))
    , m_tSpin(new QDoubleSpinBox(this))
    , m_aSlider(new QSlider(Qt::Horizontal, this))
    , m_aSpin(new QDoubleSpinBox(this))
    , m_reuse(new QCheckBox(tr("Reuse teacher"), this))
    , m_advancedToggle(new QToolButton(this))
    , m_advanced(new QWidget(this))
    , m_epochs(new QSpinBox(this))
    , m_teacherEpochs(new QSpinBox(this))
    , m_batch(new QSpinBox(this))
    , m_seed(new QSpinBox(this))
    , m_trainLimit(new QSpinBox(this))
    , m_transferLimit(new QSpinBox(this))
    , m_omitClass(new QSpinBox(this))
    , m_augment(new QComboBox(this))
    , m_shiftPixels(new QSpinBox(this))
    , m_teacherAugment(new QComboBox(this))
    , m_lrSchedule(new QComboBox(this))
    , m_optimizer(new QComboBox(this))
    , m_momentum(new QDoubleSpinBox(this))
    , m_lr(new QLineEdit(this)) {
    // Dataset.
    m_dataset->addItem(tr("Fashion-MNIST"), QStringLiteral("fashion-mnist"));
    m_dataset->addItem(tr("MNIST (60,000 digits)"), QStringLiteral("mnist"));
    m_dataset->addItem(tr("MNIST digits (10,000)"), QStringLiteral("mnist-digits"));
    m_dataset->addItem(tr("IDX folder..."), QString());
    m_dataset->setToolTip(
        tr("The images the three models learn from; an IDX folder holds MNIST-format files."));
    connect(m_dataset, &QComboBox::activated, this, [this](int index) {
        if (m_dataset->itemData(index).toString().isEmpty())
            chooseIdxFolder();
        else
            m_lastDatasetIndex = index;
        Q_EMIT configEdited();
    });

    // Models.
    m_compression->setWordWrap(true);
    connect(m_teacher, &SpecEditor::specChanged, this, [this] {
        updateCompression();
        Q_EMIT configEdited();
    });
    connect(m_student, &SpecEditor::specChanged, this, [this] {
        updateCompression();
        Q_EMIT configEdited();
    });

    // Method: how the student learns; each method's own settings appear under it.
    m_method->addItem(tr("Knowledge distillation"), QStringLiteral("kd"));
    m_method->addItem(tr("Ensemble of teachers"), QStringLiteral("ensemble"));
    m_method->addItem(tr("Born-again (self-distillation)"), QStringLiteral("born-again"));
    m_method->addItem(tr("Teacher assistant"), QStringLiteral("assistant"));
    m_method->setToolTip(tr("How the student learns. Every method also trains the baseline student "
                            "(labels only) for comparison."));
    m_methodHelp->setWordWrap(true);
    m_methodHelp->setForegroundRole(QPalette::PlaceholderText);
    m_ensembleSize->setRange(1, 16);
    m_ensembleSize->setToolTip(tr("How many teachers: copies of the teacher above, each from its own "
                                  "seed (teacher seed + k)."));
    m_ensembleTeachers->setPlaceholderText(tr("optional: specs separated by ';'"));
    m_ensembleTeachers->setClearButtonEnabled(true);
    m_ensembleTeachers->setToolTip(
        tr("Different architectures as members, e.g. \"cnn:32,64;mlp:1200,1200;lenet5\". When set, "
           "these are the members and the count above is ignored."));
    m_generations->setRange(1, 10);
    m_generations->setToolTip(tr("Student generations: generation 1 learns from the teacher, each "
                                 "later one from the generation before."));
    connect(m_method, &QComboBox::activated, this, [this] {
        updateMethodRows();
        updateCompression();
        Q_EMIT configEdited();
    });
    connect(m_ensembleSize, &QSpinBox::valueChanged, this, &ExperimentPanel::configEdited);
    connect(m_generations, &QSpinBox::valueChanged, this, &ExperimentPanel::configEdited);
    connect(m_ensembleTeachers, &QLineEdit::textChanged, this, &ExperimentPanel::configEdited);
    connect(m_assistant, &SpecEditor::specChanged, this, &ExperimentPanel::configEdited);

    // Temperature: log-scale slider and a spin box, kept in step.
    m_tSlider->setRange(0, kSliderSteps);
    m_tSpin->setRange(kd::kMinTemperature, kd::kMaxTemperature); // the slider: 0.25-20 (kdcore/temperature.h)
    m_tSpin->setDecimals(2);
    // Typed "12" is 12, not 1 and then 12: Enter or leaving the box applies it.
    m_tSpin->setKeyboardTracking(false);
    m_tSpin->setSingleStep(0.1);
    const QString tTip =
        tr("Temperature T softens the teacher's probabilities: higher T shows more of how alike "
           "it finds the classes. Takes effect from the next batch.");
    m_tSlider->setToolTip(tTip);
    m_tSpin->setToolTip(tTip);
    linkSliderAndSpinBox(m_tSlider, m_tSpin, &sliderToTemperature, &temperatureToSlider,
                         &ExperimentPanel::temperatureChanged);

    // Alpha: 0..1 in steps of 0.01.
    m_aSlider->setRange(0, 100);
    m_aSpin->setRange(0.0, 1.0);
    m_aSpin->setDecimals(2);
    // Typed "12" is 12, not 1 and then 12: Enter or leaving the box applies it.
    m_aSpin->setKeyboardTracking(false);
    m_aSpin->setSingleStep(0.05);
    const QString aTip =
        tr("Alpha weighs the teacher's soft targets against the true labels: 0 = labels only, "
           "1 = teacher only. Takes effect from the next batch.");
    m_aSlider->setToolTip(aTip);
    m_aSpin->setToolTip(aTip);
    linkSliderAndSpinBox(
        m_aSlider, m_aSpin, [](int v) { return v / 100.0; },
        [](double a) { return int(std::lround(a * 100)); }, &ExperimentPanel::alphaChanged);

    m_reuse->setToolTip(
        tr("Keep the teacher trained by the last run (same dataset, teacher and seed), so the "
           "next run trains only the two students."));

    // Advanced.
    m_epochs->setRange(0, 1000);
    m_epochs->setToolTip(tr("Epochs for each student (baseline and distilled)."));
    m_teacherEpochs->setRange(0, 1000);
    m_teacherEpochs->setToolTip(tr("Epochs for the teacher."));
    m_batch->setRange(1, 65536);
    m_batch->setToolTip(tr("Images per training step."));
    m_seed->setRange(0, 1'000'000'000);
    m_seed->setToolTip(tr("Same seed and settings give the same numbers."));
    m_trainLimit->setRange(0, 100'000'000);
    m_trainLimit->setSpecialValueText(tr("all"));
    m_trainLimit->setToolTip(tr("Train on the first N images only (0: all)."));
    m_transferLimit->setRange(0, 100'000'000);
    m_transferLimit->setSpecialValueText(tr("all"));
    m_transferLimit->setToolTip(
        tr("The students learn from the first N training images only (0: all); the "
           "teacher still learns from all of them. Soft targets help most with few."));
    m_omitClass->setRange(-1, 999);
    m_omitClass->setSpecialValueText(tr("none"));
    m_omitClass->setToolTip(tr("Leave every image of this class (0-based) out of the students' training "
                               "images: only the teacher sees it. See the Confusion tab afterwards."));
    // The values are kd::augmentNames(), in that order.
    m_augment->addItem(tr("none"), QStringLiteral("none"));
    m_augment->addItem(tr("shift"), QStringLiteral("shift"));
    m_augment->addItem(tr("shift + flip"), QStringLiteral("shift-flip"));
    m_augment->setToolTip(
        tr("New views of the training images each batch, for all three models alike. Shift moves each "
           "image by up to the pixels below (digits and clothing); shift + flip also mirrors it left-right "
           "(clothing, not digits: a mirrored 2 is no digit). The distilled student learns from the "
           "teacher's outputs on the very view it sees."));
    m_shiftPixels->setRange(0, 8);
    m_shiftPixels->setSuffix(tr(" px"));
    m_shiftPixels->setToolTip(tr("The largest shift, in pixels, in each direction (the edge is filled "
                                 "with black)."));
    m_teacherAugment->addItem(tr("same as the students"), QStringLiteral("same"));
    m_teacherAugment->addItem(tr("none"), QStringLiteral("none"));
    m_teacherAugment->addItem(tr("shift"), QStringLiteral("shift"));
    m_teacherAugment->addItem(tr("shift + flip"), QStringLiteral("shift-flip"));
    m_teacherAugment->setToolTip(
        tr("The teacher's own augmentation: plain images make a strong teacher in few epochs; jittered ones "
           "a teacher that has seen more views (Hinton et al. 2015). Baseline and distilled student always "
           "share the augmentation above."));
    connect(m_teacherAugment, &QComboBox::activated, this, &ExperimentPanel::configEdited);
    connect(m_augment, &QComboBox::activated, this, [this] {
        m_shiftPixels->setEnabled(m_augment->currentData().toString() != QLatin1String("none"));
        Q_EMIT configEdited();
    });
    auto* lrValidator = new QDoubleValidator(1e-8, 10.0, 8, m_lr);
    lrValidator->setLocale(QLocale::c());
    lrValidator->setNotation(QDoubleValidator::ScientificNotation);
    m_lr->setValidator(lrValidator);
    m_lr->setToolTip(tr("Learning rate of the optimiser (Adam by default)."));
    m_optimizer->addItem(tr("Adam"), QStringLiteral("adam"));
    m_optimizer->addItem(tr("SGD with momentum"), QStringLiteral("sgd"));
    m_optimizer->setToolTip(tr("Adam adapts each weight's step and works at lr 1e-3; plain SGD with momentum "
                               "usually needs a rate 10-100x larger (e.g. 0.05)."));
    m_momentum->setRange(0.0, 0.999);
    m_momentum->setSingleStep(0.05);
    m_momentum->setDecimals(3);
    m_momentum->setToolTip(tr("SGD's momentum: the share of the last step kept in the next (0: none)."));
    connect(m_optimizer, &QComboBox::activated, this, [this] {
        m_momentum->setEnabled(m_optimizer->currentData().toString() == QLatin1String("sgd"));
        Q_EMIT configEdited();
    });
    connect(m_momentum, &QDoubleSpinBox::valueChanged, this, &ExperimentPanel::configEdited);
    // The values are kd::lrScheduleNames(), in that order.
    m_lrSchedule->addItem(tr("constant"), QStringLiteral("constant"));
    m_lrSchedule->addItem(tr("cosine decay"), QStringLiteral("cosine"));
    m_lrSchedule->setToolTip(
        tr("Constant: the learning rate above throughout. Cosine decay: from it down to 0 "
           "over each model's training, so the last epochs settle instead of jumping."));
    connect(m_lrSchedule, &QComboBox::activated, this, &ExperimentPanel::configEdited);
    auto* adv = new QFormLayout(m_advanced);
    adv->addRow(tr("Student epochs"), m_epochs);
    adv->addRow(tr("Teacher epochs"), m_teacherEpochs);
    adv->addRow(tr("Learning rate"), m_lr);
    adv->addRow(tr("Rate schedule"), m_lrSchedule);
    adv->addRow(tr("Optimizer"), m_optimizer);
    adv->addRow(tr("Momentum"), m_momentum);
    adv->addRow(tr("Batch size"), m_batch);
    adv->addRow(tr("Seed"), m_seed);
    adv->addRow(tr("Training images"), m_trainLimit);
    adv->addRow(tr("Student images"), m_transferLimit);
    adv->addRow(tr("Hide class from students"), m_omitClass);
    adv->addRow(tr("Augmentation"), m_augment);
    adv->addRow(tr("Largest shift"), m_shiftPixels);
    adv->addRow(tr("Teacher augmentation"), m_teacherAugment);
    // Tab goes down the rows as they are shown (the widgets were made in another order).
    const QList<QWidget*> rows{m_advancedToggle, m_epochs,      m_teacherEpochs, m_lr,
                               m_lrSchedule,     m_optimizer,   m_momentum,      m_batch,
                               m_seed,           m_trainLimit,  m_transferLimit, m_omitClass,
                               m_augment,        m_shiftPixels, m_teacherAugment};
    for (int i = 0; i + 1 < rows.size(); ++i)
        QWidget::setTabOrder(rows[i], rows[i + 1]);
    // Collapsed by default; the settings apply either way.
    adv->setContentsMargins(12, 0, 0, 0);
    m_advancedToggle->setText(tr("Advanced"));
    m_advancedToggle->setCheckable(true);
    m_advancedToggle->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
    m_advancedToggle->setAutoRaise(true);
    m_advancedToggle->setArrowType(Qt::RightArrow);
    m_advancedToggle->setToolTip(
        tr("Epochs, learning rate, batch size, seed, training-set size and augmentation"));
    connect(m_advancedToggle, &QToolButton::toggled, this, [this](bool open) {
        m_advanced->setVisible(open);
        m_advancedToggle->setArrowType(open ? Qt::DownArrow : Qt::RightArrow);
    });
    for (QSpinBox* box : {m_epochs, m_teacherEpochs, m_batch, m_seed, m_trainLimit, m_transferLimit,
                          m_omitClass, m_shiftPixels})
        connect(box, &QSpinBox::valueChanged, this, &ExperimentPanel::configEdited);
    connect(m_lr, &QLineEdit::textChanged, this, &ExperimentPanel::configEdited);

    // Layout.
    auto* tRow = new QHBoxLayout;
    tRow->addWidget(m_tSlider, 1);
    tRow->addWidget(m_tSpin);
    auto* aRow = new QHBoxLayout;
    aRow->addWidget(m_aSlider, 1);
    aRow->addWidget(m_aSpin);
    auto* form = new QFormLayout;
    form->setFieldGrowthPolicy(QFormLayout::AllNonFixedFieldsGrow);
    form->addRow(tr("Dataset"), m_dataset);
    form->addRow(tr("Teacher"), m_teacher);
    form->addRow(tr("Student"), m_student);
    form->addRow(QString(), m_compression);
    form->addRow(tr("Method"), m_method);
    form->addRow(QString(), m_methodHelp);
    form->addRow(tr("Teachers"), m_ensembleSize);
    form->addRow(tr("Members"), m_ensembleTeachers);
    form->addRow(tr("Generations"), m_generations);
    form->addRow(tr("Assistant"), m_assistant);
    m_form = form;
    form->addRow(tr("Temperature T"), tRow);
    form->addRow(tr("Alpha"), aRow);
    form->addRow(QString(), m_reuse);
    auto* layout = new QVBoxLayout(this);
    layout->addLayout(form);
    layout->addWidget(m_advancedToggle);
    layout->addWidget(m_advanced);
    layout->addStretch(1);

    m_lockedWhileRunning = {m_dataset,          m_teacher,     m_student,   m_method, m_ensembleSize,
                            m_ensembleTeachers, m_generations, m_assistant, m_reuse,  m_advanced};
    setConfig(kd::ExperimentConfig());
    m_advanced->setVisible(false);
}

// Keeps a slider and a spin box in step (either may be moved) and emits `changed` once per move.
void ExperimentPanel::linkSliderAndSpinBox(QSlider* slider, QDoubleSpinBox* spin, double (*toValue)(int),
                                           int (*toPosition)(double),
                                           void (ExperimentPanel::*changed)(double)) {
    connect(slider, &QSlider::valueChanged, this, [=](int position) {
        if (m_syncing)
            return;
        m_syncing = true;
        spin->setValue(toValue(position));
        m_syncing = false;
        Q_EMIT(this->*changed)(spin->value());
    });
    connect(spin, &QDoubleSpinBox::valueChanged, this, [=](double value) {
        if (m_syncing)
            return;
        m_syncing = true;
        slider->setValue(toPosition(value));
        m_syncing = false;
        Q_EMIT(this->*changed)(value);
    });
}

void ExperimentPanel::chooseIdxFolder() {
    const QString dir = QFileDialog::getExistingDirectory(
        this, tr("Folder with MNIST-format IDX files (train-images-idx3-ubyte, ...)"));
    if (dir.isEmpty()) {
        m_dataset->setCurrentIndex(m_lastDatasetIndex);
        return;
    }
    setDataset(QStringLiteral("idx:") + dir);
}

void ExperimentPanel::setDataset(const QString& name) {
    int index = m_dataset->findData(name);
    if (index < 0) {
        QString label = name;
        if (name.startsWith(QStringLiteral("idx:")))
            label = tr("IDX: %1").arg(name.mid(4));
        index = m_dataset->count() - 1; // before "IDX folder..."
        m_dataset->insertItem(index, label, name);
        m_dataset->setItemData(index, name, Qt::ToolTipRole);
    }
    m_dataset->setCurrentIndex(index);
    m_lastDatasetIndex = index;
}

bool ExperimentPanel::isMethodRowVisible(QWidget* field) const {
    return m_form && m_form->isRowVisible(field);
}

void ExperimentPanel::updateMethodRows() {
    const QString method = m_method->currentData().toString();
    m_form->setRowVisible(m_ensembleSize, method == QLatin1String("ensemble"));
    m_form->setRowVisible(m_ensembleTeachers, method == QLatin1String("ensemble"));
    m_form->setRowVisible(m_generations, method == QLatin1String("born-again"));
    m_form->setRowVisible(m_assistant, method == QLatin1String("assistant"));
    // Born-again students take the teacher's architecture: the student editor has no say.
    m_student->setEnabled(method != QLatin1String("born-again") && !m_running);
    QString help;
    if (method == QLatin1String("kd"))
        help = tr("The student learns from the teacher's softened probabilities and the true labels.");
    else if (method == QLatin1String("ensemble"))
        help = tr("Several teachers; the student learns from the mean of their probabilities at T. "
                  "Shows each member, the ensemble and the student.");
    else if (method == QLatin1String("born-again"))
        help = tr("The students have the teacher's architecture. Generation 1 learns from the teacher, "
                  "each later generation from the one before; plots accuracy per generation.");
    else if (method == QLatin1String("assistant"))
        help = tr("A mid-sized assistant learns from the teacher, then the student from the assistant; "
                  "compared with the same student taught by the teacher directly.");
    m_methodHelp->setText(help);
}

void ExperimentPanel::updateCompression() {
    if (m_method->currentData().toString() == QLatin1String("born-again")) {
        m_compression->setText(tr("Born-again: every student generation has the teacher's architecture."));
        return;
    }
    if (!m_teacher->isValid() || !m_student->isValid() || m_student->params() == 0 ||
        m_student->flops() == 0) {
        m_compression->clear();
        return;
    }
    const double paramRatio = double(m_teacher->params()) / double(m_student->params());
    const double flopRatio = double(m_teacher->flops()) / double(m_student->flops());
    auto ratio = [](double r) {
        return r >= 1 ? tr("%1x smaller").arg(r, 0, 'f', 1) : tr("%1x larger").arg(1.0 / r, 0, 'f', 1);
    };
    auto flopsRatio = [](double r) {
        return r >= 1 ? tr("%1x fewer").arg(r, 0, 'f', 1) : tr("%1x more").arg(1.0 / r, 0, 'f', 1);
    };
    m_compression->setText(tr("Student vs teacher: %1 in parameters, %2 FLOPs per image")
                               .arg(ratio(paramRatio), flopsRatio(flopRatio)));
}

kd::ExperimentConfig ExperimentPanel::config() const {
    kd::ExperimentConfig c = m_base;
    c.dataset = m_dataset->currentData().toString().toStdString();
    c.teacher = m_teacher->spec().toStdString();
    c.student = m_student->spec().toStdString();
    c.temperature = m_tSpin->value();
    c.alpha = m_aSpin->value();
    c.epochs = m_epochs->value();
    c.teacherEpochs = m_teacherEpochs->value();
    c.batchSize = m_batch->value();
    c.seed = std::uint64_t(m_seed->value());
    c.trainLimit = m_trainLimit->value();
    c.transferLimit = m_transferLimit->value();
    c.omitClass = m_omitClass->value();
    c.augment = m_augment->currentData().toString().toStdString();
    c.shiftPixels = m_shiftPixels->value();
    c.teacherAugment = m_teacherAugment->currentData().toString().toStdString();
    c.method = m_method->currentData().toString().toStdString();
    c.ensembleSize = m_ensembleSize->value();
    c.ensembleTeachers = m_ensembleTeachers->text().trimmed().toStdString();
    c.generations = m_generations->value();
    c.assistant = m_assistant->spec().toStdString();
    bool ok = false;
    const double lr = QLocale::c().toDouble(m_lr->text(), &ok);
    c.lr = ok ? lr : -1.0; // invalid text: validateConfig names the field
    c.lrSchedule = m_lrSchedule->currentData().toString().toStdString();
    c.optimizer = m_optimizer->currentData().toString().toStdString();
    c.momentum = m_momentum->value();
    return c;
}

void ExperimentPanel::setConfig(const kd::ExperimentConfig& c) {
    m_base = c;
    setDataset(QString::fromStdString(c.dataset));
    m_teacher->setSpec(QString::fromStdString(c.teacher));
    m_student->setSpec(QString::fromStdString(c.student));
    setTemperature(c.temperature);
    setAlpha(c.alpha);
    m_epochs->setValue(c.epochs);
    m_teacherEpochs->setValue(c.teacherEpochs);
    m_batch->setValue(c.batchSize);
    m_seed->setValue(int(std::min<std::uint64_t>(c.seed, 1'000'000'000)));
    m_trainLimit->setValue(int(std::min<std::int64_t>(c.trainLimit, 100'000'000)));
    m_transferLimit->setValue(int(std::min<std::int64_t>(c.transferLimit, 100'000'000)));
    m_omitClass->setValue(std::min(c.omitClass, 999));
    const int augment = m_augment->findData(QString::fromStdString(c.augment));
    m_augment->setCurrentIndex(augment >= 0 ? augment : 0); // an unknown name was refused when loaded
    m_shiftPixels->setValue(std::clamp(c.shiftPixels, 0, 8));
    m_shiftPixels->setEnabled(c.augment != "none");
    const int teacherAugment = m_teacherAugment->findData(QString::fromStdString(c.teacherAugment));
    m_teacherAugment->setCurrentIndex(teacherAugment >= 0 ? teacherAugment : 0);
    m_lr->setText(QString::number(c.lr, 'g', 6));
    const int schedule = m_lrSchedule->findData(QString::fromStdString(c.lrSchedule));
    m_lrSchedule->setCurrentIndex(schedule >= 0 ? schedule : 0); // an unknown name was refused when loaded
    const int optimizer = m_optimizer->findData(QString::fromStdString(c.optimizer));
    m_optimizer->setCurrentIndex(optimizer >= 0 ? optimizer : 0);
    m_momentum->setValue(std::clamp(c.momentum, 0.0, 0.999));
    m_momentum->setEnabled(c.optimizer == "sgd");
    const int method = m_method->findData(QString::fromStdString(c.method));
    m_method->setCurrentIndex(method >= 0 ? method : 0); // an unknown method was refused when loaded
    m_ensembleSize->setValue(std::clamp(c.ensembleSize, 1, 16));
    m_ensembleTeachers->setText(QString::fromStdString(c.ensembleTeachers));
    m_generations->setValue(std::clamp(c.generations, 1, 10));
    m_assistant->setSpec(QString::fromStdString(c.assistant));
    updateMethodRows();
    updateCompression();
}

QString ExperimentPanel::validationError() const {
    if (!m_teacher->isValid())
        return tr("teacher: %1").arg(m_teacher->error());
    if (!m_student->isValid())
        return tr("student: %1").arg(m_student->error());
    if (m_method->currentData().toString() == QLatin1String("assistant") && !m_assistant->isValid())
        return tr("assistant: %1").arg(m_assistant->error());
    try {
        kd::validateConfig(config());
    } catch (const std::exception& e) {
        return QString::fromStdString(e.what());
    }
    // The app is for comparisons: a run whose students cannot train is refused, in one line.
    return QString::fromStdString(kd::nothingToCompareReason(config()));
}

bool ExperimentPanel::reuseTeacher() const {
    return m_reuse->isChecked();
}

void ExperimentPanel::setRunning(bool running) {
    m_running = running;
    for (QWidget* w : m_lockedWhileRunning)
        w->setEnabled(!running);
    updateMethodRows();
}

double ExperimentPanel::temperature() const {
    return m_tSpin->value();
}

double ExperimentPanel::alpha() const {
    return m_aSpin->value();
}

void ExperimentPanel::setTemperature(double t) {
    m_tSpin->setValue(t); // syncs the slider and emits temperatureChanged
}

void ExperimentPanel::setAlpha(double a) {
    m_aSpin->setValue(a);
}

} // namespace kdui
