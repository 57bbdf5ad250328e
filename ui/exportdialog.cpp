#include "exportdialog.h"

#include "plots.h"

#include "kdcore/export.h"
#include "kdcore/trainer.h"

#include <QComboBox>
#include <QDialogButtonBox>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QMessageBox>
#include <QPushButton>
#include <QVBoxLayout>

namespace kdui {
namespace {

const char* const kModels[] = {"student", "baseline", "teacher"}; // combo order

// What a file of each format ends with: the suggested names are "<model><suffix>".
QString suffixOf(const QString& format) {
    if (format == QLatin1String("checkpoint")) // told apart from a TorchScript .pt by its name
        return QStringLiteral("-checkpoint.pt");
    try {
        return QString::fromLatin1(kd::exportFormatExtension(kd::parseExportFormat(format.toStdString())));
    } catch (const std::exception&) {
        return QStringLiteral(".pt");
    }
}

// `name` with the suffix of format `from` swapped for that of `to` ("mine.onnx" -> "mine.pt").
QString swapSuffix(QString name, const QString& from, const QString& to) {
    const QString old = suffixOf(from);
    if (name.endsWith(old, Qt::CaseInsensitive))
        name.chop(old.size());
    else if (name.endsWith(QLatin1String(".onnx"), Qt::CaseInsensitive))
        name.chop(5);
    else if (name.endsWith(QLatin1String(".pt"), Qt::CaseInsensitive))
        name.chop(3);
    return name + suffixOf(to);
}

const kd::ModelResult& resultOf(const kd::RunRecord& run, const QString& key) {
    if (key == QLatin1String("teacher"))
        return run.result.teacher;
    if (key == QLatin1String("baseline"))
        return run.result.baseline;
    return run.result.student;
}

} // namespace

ExportDialog::ExportDialog(const kd::RunRecord& run, const QString& folder, QWidget* parent)
    : QDialog(parent) {
    setWindowTitle(tr("Export model"));

    m_modelBox = new QComboBox;
    for (const char* key : kModels) {
        const auto it = run.checkpoints.find(key);
        if (it == run.checkpoints.end())
            continue; // e.g. an ensemble's teacher: several models, no checkpoint
        const QString model = QString::fromLatin1(key);
        m_modelBox->addItem(modelLabel(run, model), model);
        Shape shape;
        try {
            const kd::CheckpointInfo info = kd::readCheckpointInfo(it->second);
            shape = {info.input.channels, info.input.height, info.input.width, info.input.classes};
        } catch (const std::exception&) {
            // Unreadable now: the export says why; the explanation shows the usual shape meanwhile.
        }
        m_shapes[model] = shape;
    }
    m_modelBox->setToolTip(tr("The models of the selected run that have a checkpoint"));

    m_formatBox = new QComboBox;
    m_formatBox->addItem(tr("TorchScript (.pt)"), QStringLiteral("torchscript"));
    m_formatBox->addItem(tr("ONNX (.onnx)"), QStringLiteral("onnx"));
    m_formatBox->addItem(tr("kdlab checkpoint (.pt)"), QStringLiteral("checkpoint"));

    m_pathEdit = new QLineEdit;
    m_pathEdit->setMinimumWidth(360);
    m_pathEdit->setClearButtonEnabled(true);
    auto* browse = new QPushButton(tr("Browse..."));
    connect(browse, &QPushButton::clicked, this, &ExportDialog::browse);
    auto* pathRow = new QHBoxLayout;
    pathRow->setContentsMargins(0, 0, 0, 0);
    pathRow->addWidget(m_pathEdit, 1);
    pathRow->addWidget(browse);

    m_explanation = new QLabel;
    m_explanation->setWordWrap(true);
    m_explanation->setTextInteractionFlags(Qt::TextSelectableByMouse);

    m_error = new QLabel;
    m_error->setWordWrap(true);
    m_error->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_error->setStyleSheet(
        QStringLiteral("QLabel { color: #b00020; background: #fdecea; padding: 4px; border-radius: 3px; }"));
    m_error->hide();

    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel);
    m_ok = buttons->button(QDialogButtonBox::Ok);
    m_ok->setText(tr("Export"));
    connect(buttons, &QDialogButtonBox::accepted, this, &ExportDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &ExportDialog::reject);

    auto* form = new QFormLayout;
    form->addRow(tr("Model"), m_modelBox);
    form->addRow(tr("Format"), m_formatBox);
    form->addRow(tr("File"), pathRow);
    auto* layout = new QVBoxLayout(this);
    layout->addLayout(form);
    layout->addWidget(m_explanation);
    layout->addWidget(m_error);
    layout->addSpacing(6);
    layout->addWidget(buttons);

    m_model = model();
    m_format = format();
    if (!m_model.isEmpty())
        m_pathEdit->setText(QDir(folder).filePath(defaultFileName(m_model, m_format)));
    connect(m_modelBox, &QComboBox::currentIndexChanged, this, &ExportDialog::onModelChanged);
    connect(m_formatBox, &QComboBox::currentIndexChanged, this, &ExportDialog::onFormatChanged);
    connect(m_pathEdit, &QLineEdit::textChanged, this, [this] {
        m_error->hide();
        updateExplanation();
        updateOk();
    });
    updateExplanation();
    updateOk();
    setMinimumWidth(580);
    adjustSize();
}

QStringList ExportDialog::models() const {
    QStringList keys;
    for (int i = 0; i < m_modelBox->count(); ++i)
        keys << m_modelBox->itemData(i).toString();
    return keys;
}

bool ExportDialog::setModel(const QString& key) {
    const int index = m_modelBox->findData(key);
    if (index < 0)
        return false;
    m_modelBox->setCurrentIndex(index);
    return true;
}

bool ExportDialog::setFormat(const QString& format) {
    const int index = m_formatBox->findData(format);
    if (index < 0)
        return false;
    m_formatBox->setCurrentIndex(index);
    return true;
}

void ExportDialog::setPath(const QString& path) {
    m_pathEdit->setText(path);
}

QString ExportDialog::model() const {
    return m_modelBox->currentData().toString();
}

QString ExportDialog::format() const {
    return m_formatBox->currentData().toString();
}

QString ExportDialog::path() const {
    return m_pathEdit->text().trimmed();
}

QString ExportDialog::modelLabel(const kd::RunRecord& run, const QString& key) {
    const kd::Role role = key == QLatin1String("teacher")    ? kd::Role::Teacher
                          : key == QLatin1String("baseline") ? kd::Role::Baseline
                                                             : kd::Role::Student;
    QString name = roleTitle(role);
    std::string spec = role == kd::Role::Teacher ? run.config.teacher : run.config.student;
    const kd::ModelResult& r = resultOf(run, key);
    if (!r.spec.empty())
        spec = r.spec;
    QStringList details;
    if (!spec.empty())
        details << QString::fromStdString(spec);
    if (r.epochsTrained > 0 || r.testAccuracy > 0)
        details << QString::number(r.testAccuracy * 100.0, 'f', 1) + QLatin1Char('%');
    return details.isEmpty() ? name : QStringLiteral("%1 (%2)").arg(name, details.join(QStringLiteral(", ")));
}

QString ExportDialog::defaultFileName(const QString& model, const QString& format) {
    return model + suffixOf(format);
}

void ExportDialog::onModelChanged() {
    const QString now = model();
    // The suggested name follows the model; a name the user chose stays.
    const QString current = path();
    const QFileInfo info(current);
    if (!current.isEmpty() && info.fileName() == defaultFileName(m_model, m_format))
        m_pathEdit->setText(current.left(current.size() - info.fileName().size()) +
                            defaultFileName(now, m_format));
    m_model = now;
    updateExplanation();
}

void ExportDialog::onFormatChanged() {
    const QString now = format();
    const QString current = path();
    if (!current.isEmpty()) {
        const QString name = QFileInfo(current).fileName();
        const QString folderPart = current.left(current.size() - name.size());
        const QString renamed = name == defaultFileName(m_model, m_format) ? defaultFileName(m_model, now)
                                                                           : swapSuffix(name, m_format, now);
        m_pathEdit->setText(folderPart + renamed);
    }
    m_format = now;
    updateExplanation();
}

void ExportDialog::browse() {
    const QString fmt = format();
    const QString filter = fmt == QLatin1String("onnx")         ? tr("ONNX models (*.onnx)")
                           : fmt == QLatin1String("checkpoint") ? tr("kdlab checkpoints (*.pt)")
                                                                : tr("TorchScript modules (*.pt)");
    QString chosen = QFileDialog::getSaveFileName(this, tr("Export model"), path(), filter);
    if (chosen.isEmpty())
        return;
    const QString extension = fmt == QLatin1String("onnx") ? QStringLiteral(".onnx") : QStringLiteral(".pt");
    if (!chosen.endsWith(extension, Qt::CaseInsensitive))
        chosen += extension;
    m_pathEdit->setText(chosen);
    m_confirmedPath = chosen; // the save dialog asked before replacing an existing file
}

void ExportDialog::updateExplanation() {
    const auto it = m_shapes.find(model());
    const Shape shape = it == m_shapes.end() ? Shape() : it->second;
    const QString contract = tr("Input [N,%1,%2,%3] in [0,1], output logits [N,%4].")
                                 .arg(shape.channels)
                                 .arg(shape.height)
                                 .arg(shape.width)
                                 .arg(shape.classes);
    const QString fmt = format();
    QString text;
    if (fmt == QLatin1String("onnx"))
        text = tr("Runs in ONNX Runtime, OpenCV DNN and other ONNX runtimes (opset 13).\n") + contract;
    else if (fmt == QLatin1String("checkpoint"))
        text = tr("kdlab's own checkpoint, as trained: for kdlab-cli predict and export.\nOther tools cannot "
                  "load it; export TorchScript or ONNX for them.");
    else
        text = tr("Loads with torch.jit.load (Python) or torch::jit::load (C++).\n") + contract;
    const QString name = QFileInfo(path()).fileName();
    if (!name.isEmpty())
        text += tr("\nIts model card goes beside it as %1.json.").arg(name);
    m_explanation->setText(text);
}

void ExportDialog::updateOk() {
    m_ok->setEnabled(m_modelBox->count() > 0 && !path().isEmpty());
}

void ExportDialog::accept() {
    const QString target = path();
    if (model().isEmpty() || target.isEmpty())
        return;
    if (QFileInfo(target).isFile() && target != m_confirmedPath &&
        QMessageBox::question(this, tr("Export model"),
                              tr("%1 already exists. Replace it?").arg(QDir::toNativeSeparators(target)),
                              QMessageBox::Yes | QMessageBox::No, QMessageBox::No) != QMessageBox::Yes)
        return;
    if (m_exporter) {
        QString error;
        if (!m_exporter(model(), format(), target, &error)) {
            m_error->setText(error);
            m_error->show();
            return; // stays open: fix the path (or the format) and try again
        }
    }
    QDialog::accept();
}

} // namespace kdui
