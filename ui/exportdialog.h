#pragma once

#include "kdcore/experimentfile.h"

#include <QDialog>
#include <QStringList>

#include <functional>
#include <map>

class QComboBox;
class QLabel;
class QLineEdit;
class QPushButton;

namespace kdui {

// File > Export model...: which of a run's trained models (those with a checkpoint: distilled student,
// baseline student, teacher), in which format (TorchScript, ONNX, or a copy of the kdlab checkpoint), to
// which file. The file name follows the model and the format while it is the suggested one; a name the user
// typed keeps its stem and only swaps the extension. Everything is settable without exec() for tests.
class ExportDialog : public QDialog {
    Q_OBJECT
public:
    // `folder`: where the suggested file goes (e.g. the last export's folder).
    explicit ExportDialog(const kd::RunRecord& run, const QString& folder, QWidget* parent = nullptr);

    // Called on OK with the chosen model, format and path; true closes the dialog, false keeps it open with
    // the message it set. Without one, OK just accepts.
    using Exporter =
        std::function<bool(const QString& model, const QString& format, const QString& path, QString* error)>;
    void setExporter(Exporter exporter) { m_exporter = std::move(exporter); }

    // The run's models with a checkpoint, in combo order: "student", "baseline", "teacher".
    QStringList models() const;
    // false (and nothing changes) for a model the run has no checkpoint of, or an unknown format.
    bool setModel(const QString& key);
    bool setFormat(const QString& format); // "torchscript" | "onnx" | "checkpoint"
    void setPath(const QString& path);
    QString model() const;
    QString format() const;
    QString path() const;

    // "Distilled student (mlp:128, 87.4%)".
    static QString modelLabel(const kd::RunRecord& run, const QString& key);
    // "student.onnx", "teacher.pt", "baseline-checkpoint.pt".
    static QString defaultFileName(const QString& model, const QString& format);

    QComboBox* modelBox() const { return m_modelBox; }
    QComboBox* formatBox() const { return m_formatBox; }
    QLineEdit* pathEdit() const { return m_pathEdit; }
    QLabel* explanationLabel() const { return m_explanation; }
    QLabel* errorLabel() const { return m_error; }
    QPushButton* okButton() const { return m_ok; }

public Q_SLOTS:
    void accept() override;

private:
    void onModelChanged();
    void onFormatChanged();
    void browse();
    void updateExplanation();
    void updateOk();

    Exporter m_exporter;
    QComboBox* m_modelBox = nullptr;
    QComboBox* m_formatBox = nullptr;
    QLineEdit* m_pathEdit = nullptr;
    QLabel* m_explanation = nullptr;
    QLabel* m_error = nullptr;
    QPushButton* m_ok = nullptr;
    // The model's input and class count (from its checkpoint; MNIST-style defaults when unreadable).
    struct Shape {
        int channels = 1, height = 28, width = 28, classes = 10;
    };
    std::map<QString, Shape> m_shapes;
    QString m_model, m_format; // the current ones, to recognise the suggested file name when they change
    QString m_confirmedPath;   // chosen with Browse..., whose save dialog already asked about replacing it
};

} // namespace kdui
