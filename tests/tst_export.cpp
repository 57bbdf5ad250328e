// Export to TorchScript and ONNX: the exported files, run by independent runtimes (Python's PyTorch for
// TorchScript; onnx.checker and OpenCV DNN for ONNX, through tests/export_check.py), give the in-app model's
// logits and accuracy; the model card describes the run; failures leave no file.
#include "kdcore/config.h"
#include "kdcore/error.h"
#include "kdcore/export.h"
#include "kdcore/predict.h"
#include "kdcore/trainer.h"

#include "kdcore/analysis.h"
#include "testdata.h"
#include "testutil.h"

#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QTest>

#include <cmath>
#include <csignal>
#include <cstring>
#include <map>
#include <sys/resource.h>

namespace {

constexpr int kTrain = 600;
constexpr int kTest = 120; // the round trips compare every test image (more than the 100 the issue asks)

struct TrainedModel {
    std::string checkpoint;
    std::vector<float> logits; // in-app, [kTest, 10]
    kd::ExperimentResult result;
    kd::ExperimentConfig config;
};

double accuracyOf(const float* logits, const std::vector<std::int64_t>& labels, int classes) {
    int correct = 0;
    for (std::size_t i = 0; i < labels.size(); ++i)
        correct += kd::predictedClass(logits + i * std::size_t(classes), classes) == labels[i];
    return double(correct) / double(labels.size());
}

std::vector<float> readFloats(const QString& path) {
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        return {};
    const QByteArray bytes = f.readAll();
    std::vector<float> v(std::size_t(bytes.size()) / sizeof(float));
    std::memcpy(v.data(), bytes.constData(), v.size() * sizeof(float));
    return v;
}

QStringList filesIn(const QString& dir) {
    return QDir(dir).entryList(QDir::Files | QDir::Hidden, QDir::Name);
}

} // namespace

class TestExport : public QObject {
    Q_OBJECT

private:
    QTemporaryDir m_dir;
    QString m_data;
    kd::Trainer m_trainer;
    std::map<std::string, TrainedModel> m_models; // by student spec
    std::vector<std::int64_t> m_labels;
    std::vector<float> m_images; // the test images as the models see them, [kTest, 1, 28, 28] in [0, 1]

    kd::ExperimentConfig config(const std::string& student) const {
        kd::ExperimentConfig c;
        c.dataset = "idx:" + m_data.toStdString();
        // The engine's plain path (the default experiment augments the students' images and limits their
        // set).
        c.augment = "none";
        c.teacherAugment = "same";
        c.transferLimit = 0;
        c.teacher = "mlp:64";
        c.student = student;
        c.teacherEpochs = 1;
        c.epochs = 1;
        c.batchSize = 64;
        c.temperature = 3;
        c.alpha = 0.7;
        c.seed = 5;
        c.threads = 2;
        return c;
    }

    // Trains (once per spec; the teacher once for all) and saves the student's checkpoint.
    const TrainedModel& trained(const std::string& student) {
        auto it = m_models.find(student);
        if (it != m_models.end())
            return it->second;
        TrainedModel m;
        m.config = config(student);
        m.result = m_trainer.run(m.config, /*reuseTeacher=*/true);
        const kd::TestOutputs out = m_trainer.testOutputs();
        m.logits = out.student;
        if (m_labels.empty()) {
            m_labels = out.dataset->test.labels;
            for (std::uint8_t p : out.dataset->test.pixels)
                m_images.push_back(float(p) / 255.f);
        }
        QString name = QString::fromStdString(student);
        name.replace(QRegularExpression(QStringLiteral("[^a-z0-9]")), QStringLiteral("_"));
        m.checkpoint = m_dir.filePath(name + QStringLiteral("-student.pt")).toStdString();
        m_trainer.saveCheckpoint(kd::Role::Student, m.checkpoint);
        return m_models.emplace(student, std::move(m)).first->second;
    }

    // tests/export_check.py in Debian's Python: the logits of each runtime, and what it printed.
    QJsonObject runIndependently(const QString& torchscript, const QString& onnx) {
        const QString images = m_dir.filePath(QStringLiteral("images.f32"));
        QFile f(images);
        if (!f.exists()) {
            f.open(QIODevice::WriteOnly);
            f.write(reinterpret_cast<const char*>(m_images.data()), qint64(m_images.size() * sizeof(float)));
            f.close();
        }
        QStringList args{QStringLiteral(KDLAB_TESTS_DIR "/export_check.py"),
                         QStringLiteral("--images"),
                         images,
                         QStringLiteral("--count"),
                         QString::number(kTest),
                         QStringLiteral("--shape"),
                         QStringLiteral("1"),
                         QStringLiteral("28"),
                         QStringLiteral("28"),
                         QStringLiteral("--out"),
                         m_dir.path()};
        if (!torchscript.isEmpty())
            args << QStringLiteral("--torchscript") << torchscript;
        if (!onnx.isEmpty())
            args << QStringLiteral("--onnx") << onnx;
        QProcess p;
        p.start(QStringLiteral(KDLAB_PYTHON), args);
        if (!p.waitForFinished(180000) || p.exitStatus() != QProcess::NormalExit || p.exitCode() != 0) {
            qWarning("%s: %s", KDLAB_PYTHON, p.readAllStandardError().constData());
            return {};
        }
        return QJsonDocument::fromJson(p.readAllStandardOutput()).object();
    }

private Q_SLOTS:
    void initTestCase() {
        QVERIFY(m_dir.isValid());
        m_data = m_dir.filePath(QStringLiteral("data"));
        QVERIFY(QDir().mkpath(m_data));
        QVERIFY(testdata::writeIdxFolder(m_data, testdata::syntheticImages(kTrain, 41),
                                         testdata::syntheticImages(kTest, 42)));
        std::signal(SIGXFSZ, SIG_IGN); // the disk-full test's file-size limit: EFBIG instead of a kill
    }

    void formatNames() {
        QCOMPARE(int(kd::parseExportFormat("torchscript")), int(kd::ExportFormat::TorchScript));
        QCOMPARE(int(kd::parseExportFormat("ONNX")), int(kd::ExportFormat::Onnx));
        QCOMPARE(QString(kd::exportFormatExtension(kd::ExportFormat::Onnx)), QStringLiteral(".onnx"));
        QCOMPARE(QString(kd::exportFormatExtension(kd::ExportFormat::TorchScript)), QStringLiteral(".pt"));
        QString msg;
        KD_EXPECT_ERROR(msg, kd::parseExportFormat("tflite"));
        QVERIFY2(msg.contains(QLatin1String("tflite")) &&
                     msg.contains(QLatin1String("torchscript, onnx or checkpoint")),
                 qPrintable(msg));
    }

    // The round trip: MLP and CNN students (and LeNet-5, and dropout, which export leaves out).
    void roundTrip_data() {
        QTest::addColumn<QString>("student");
        QTest::newRow("mlp") << QStringLiteral("mlp:32");
        QTest::newRow("mlp-2-layers-dropout") << QStringLiteral("mlp:24,16+dropout=0.3");
        QTest::newRow("softmax-regression") << QStringLiteral("mlp:");
        QTest::newRow("cnn-dropout") << QStringLiteral("cnn:4,8+dropout=0.2");
        QTest::newRow("lenet5") << QStringLiteral("lenet5");
    }
    void roundTrip() {
        QFETCH(QString, student);
        const TrainedModel& m = trained(student.toStdString());
        QCOMPARE(m.logits.size(), std::size_t(kTest * 10));
        const QString ts = m_dir.filePath(QStringLiteral("rt.pt")),
                      onnx = m_dir.filePath(QStringLiteral("rt.onnx"));
        const kd::ExportResult a =
            kd::exportCheckpoint(m.checkpoint, kd::ExportFormat::TorchScript, ts.toStdString());
        const kd::ExportResult b =
            kd::exportCheckpoint(m.checkpoint, kd::ExportFormat::Onnx, onnx.toStdString());
        QVERIFY2(a.maxLogitDifference < 1e-4 && b.maxLogitDifference < 1e-4,
                 qPrintable(QStringLiteral("%1 %2").arg(a.maxLogitDifference).arg(b.maxLogitDifference)));

        const QJsonObject report = runIndependently(ts, onnx);
        QVERIFY2(report.contains(QLatin1String("torchscript")) && report.contains(QLatin1String("onnx")),
                 "tests/export_check.py failed (see the warning above)");
        QCOMPARE(report[QLatin1String("onnx")][QLatin1String("opset")].toArray().first().toInt(), 13);
        const double inApp = accuracyOf(m.logits.data(), m_labels, 10);
        QCOMPARE(inApp, m.result.student.testAccuracy); // the logits are the run's own

        // Python torch.jit.load and OpenCV DNN, then kdlab's own Predictor on both files.
        const kd::Predictor tsPredictor(ts.toStdString()), onnxPredictor(onnx.toStdString());
        const std::pair<QString, std::vector<float>> runtimes[] = {
            {QStringLiteral("python torch.jit"),
             readFloats(m_dir.filePath(QStringLiteral("torchscript.f32")))},
            {QStringLiteral("python cv2.dnn"), readFloats(m_dir.filePath(QStringLiteral("onnx.f32")))},
            {QStringLiteral("Predictor TorchScript"), tsPredictor.logits(m_images, kTest)},
            {QStringLiteral("Predictor ONNX"), onnxPredictor.logits(m_images, kTest)}};
        for (const auto& [name, logits] : runtimes) {
            QVERIFY2(logits.size() == m.logits.size(), qPrintable(name));
            double worst = 0;
            int disagreements = 0;
            for (std::size_t i = 0; i < logits.size(); ++i)
                worst = std::max(worst, double(std::abs(logits[i] - m.logits[i])));
            for (int i = 0; i < kTest; ++i)
                disagreements += kd::predictedClass(logits.data() + i * 10, 10) !=
                                 kd::predictedClass(m.logits.data() + i * 10, 10);
            QVERIFY2(worst < 1e-4,
                     qPrintable(QStringLiteral("%1: max |logit difference| %2").arg(name).arg(worst)));
            QVERIFY2(disagreements == 0, qPrintable(name));
            QCOMPARE(accuracyOf(logits.data(), m_labels, 10), inApp);
        }
        // Both files carry the card, the same as the .json beside them but for the format and file.
        for (const char* key : {"torchscript", "onnx"}) {
            const QJsonObject card = report[QLatin1String(key)][QLatin1String("card")].toObject();
            QCOMPARE(card[QLatin1String("spec")].toString(), student);
            QCOMPARE(card[QLatin1String("classes")].toArray().size(), 10);
        }
    }

    // The card says what the model is, how it was trained and how well the run's models did.
    void cardDescribesTheRun_data() {
        QTest::addColumn<QString>("model");
        QTest::newRow("student") << QStringLiteral("student");
        QTest::newRow("baseline") << QStringLiteral("baseline");
        QTest::newRow("teacher") << QStringLiteral("teacher");
    }
    void cardDescribesTheRun() {
        QFETCH(QString, model);
        const TrainedModel& m = trained("mlp:32");
        m_trainer.run(m.config, /*reuseTeacher=*/true); // the trainer's last run is this spec's again
        const std::string checkpoint = m_dir.filePath(model + QStringLiteral(".pt")).toStdString();
        const kd::Role role = model == QLatin1String("teacher")    ? kd::Role::Teacher
                              : model == QLatin1String("baseline") ? kd::Role::Baseline
                                                                   : kd::Role::Student;
        m_trainer.saveCheckpoint(role, checkpoint);
        const QString out = m_dir.filePath(model + QStringLiteral(".onnx"));
        const kd::ExportResult r =
            kd::exportCheckpoint(checkpoint, kd::ExportFormat::Onnx, out.toStdString());
        QCOMPARE(QString::fromStdString(r.cardPath), out + QStringLiteral(".json"));
        QFile f(out + QStringLiteral(".json"));
        QVERIFY(f.open(QIODevice::ReadOnly));
        const QByteArray json = f.readAll();
        const kd::ModelCard card = kd::modelCardFromJson(json.toStdString(), "card");
        const kd::ModelResult& own = role == kd::Role::Teacher    ? m.result.teacher
                                     : role == kd::Role::Baseline ? m.result.baseline
                                                                  : m.result.student;
        QCOMPARE(QString::fromStdString(card.model), model);
        QCOMPARE(card.spec, own.spec);
        QCOMPARE(card.stats.params, own.stats.params);
        QCOMPARE(card.stats.bytes, own.stats.params * 4);
        QCOMPARE(card.input.channels, 1);
        QCOMPARE(card.input.height, 28);
        QCOMPARE(card.input.classes, 10);
        QCOMPARE(card.classNames.size(), std::size_t(10));
        QCOMPARE(card.dataset, m.config.dataset);
        QCOMPARE(card.method, std::string("kd"));
        QCOMPARE(card.teacherSpec, std::string("mlp:64"));
        QVERIFY(card.accuracy && *card.accuracy == own.testAccuracy);
        QVERIFY(card.studentAccuracy && *card.studentAccuracy == m.result.student.testAccuracy);
        QVERIFY(card.teacherAccuracy && *card.teacherAccuracy == m.result.teacher.testAccuracy);
        QVERIFY(card.baselineAccuracy && *card.baselineAccuracy == m.result.baseline.testAccuracy);
        QCOMPARE(card.testImages.value_or(0), std::int64_t(kTest));
        QCOMPARE(card.format, std::string("onnx"));
        QCOMPARE(card.file, (model + QStringLiteral(".onnx")).toStdString());
        QCOMPARE(card.fileBytes, std::int64_t(QFileInfo(out).size()));
        const QRegularExpression iso(QStringLiteral("^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ$"));
        QVERIFY(iso.match(QString::fromStdString(card.exportedAt)).hasMatch());
        QVERIFY(iso.match(QString::fromStdString(card.trainedAt)).hasMatch());
        // T and alpha shaped only the distilled student; the others learned from labels.
        if (role == kd::Role::Student) {
            QCOMPARE(card.temperature.value_or(0), 3.0);
            QCOMPARE(card.alpha.value_or(0), 0.7);
            QCOMPARE(card.seed.value_or(0), std::uint64_t(5));
            QVERIFY(card.learnedFrom.find("teacher") != std::string::npos);
        } else {
            QVERIFY(!card.temperature && !card.alpha);
            QVERIFY(card.learnedFrom.find("labels") != std::string::npos);
        }
        QCOMPARE(card.epochs.value_or(0), 1);
        // The JSON itself, as a person or a script reads it.
        const QJsonObject doc = QJsonDocument::fromJson(json).object();
        QCOMPARE(doc[QLatin1String("input")][QLatin1String("pixel_range")].toArray().last().toInt(), 1);
        QCOMPARE(doc[QLatin1String("output")][QLatin1String("shape")].toArray().last().toInt(), 10);
        QVERIFY(doc.contains(QLatin1String("kdlab_version")));
    }

    // The checkpoint format: the same bytes (they hold the card already) and the card beside them.
    void checkpointCopy() {
        const TrainedModel& m = trained("mlp:32");
        const QString out = m_dir.filePath(QStringLiteral("copy.pt"));
        const kd::ExportResult r =
            kd::exportCheckpoint(m.checkpoint, kd::ExportFormat::Checkpoint, out.toStdString());
        QFile a(QString::fromStdString(m.checkpoint)), b(out);
        QVERIFY(a.open(QIODevice::ReadOnly) && b.open(QIODevice::ReadOnly));
        QCOMPARE(b.readAll(), a.readAll());
        QCOMPARE(r.maxLogitDifference, 0.0);
        QCOMPARE(r.card.format, std::string("checkpoint"));
        QCOMPARE(r.card.model, std::string("student"));
        QVERIFY(QFile::exists(out + QStringLiteral(".json")));
        QCOMPARE(kd::readCheckpointInfo(out.toStdString()).spec, std::string("mlp:32"));
    }

    // An override card (the app's, for checkpoints from before cards) replaces the stored one; the
    // architecture always comes from the checkpoint.
    void overrideCard() {
        const TrainedModel& m = trained("mlp:32");
        kd::ModelCard card;
        card.model = "student";
        card.spec = "lies";
        card.dataset = "my-dataset";
        card.temperature = 8;
        const QString out = m_dir.filePath(QStringLiteral("override.pt"));
        const kd::ExportResult r =
            kd::exportCheckpoint(m.checkpoint, kd::ExportFormat::TorchScript, out.toStdString(), &card);
        QCOMPARE(r.card.dataset, std::string("my-dataset"));
        QCOMPARE(r.card.temperature.value_or(0), 8.0);
        QCOMPARE(r.card.spec, std::string("mlp:32"));
        QCOMPARE(r.card.stats.params, m.result.student.stats.params);
        QVERIFY(r.card.classNames.empty()); // none given: no made-up names
    }

    void failuresLeaveNoFile_data() {
        QTest::addColumn<QString>("out");
        QTest::addColumn<QString>("why");
        QTest::newRow("missing folder")
            << QStringLiteral("no/such/folder/x.onnx") << QStringLiteral("No such file");
        QTest::newRow("under a file") << QStringLiteral("afile/x.onnx") << QStringLiteral("Not a directory");
        QTest::newRow("a folder") << QStringLiteral("adir") << QStringLiteral("folder");
    }
    void failuresLeaveNoFile() {
        QFETCH(QString, out);
        QFETCH(QString, why);
        const TrainedModel& m = trained("mlp:32");
        QTemporaryDir dir;
        QVERIFY(testdata::writeFile(dir.filePath(QStringLiteral("afile")), "x"));
        QVERIFY(QDir(dir.path()).mkdir(QStringLiteral("adir")));
        const QStringList before = filesIn(dir.path());
        for (kd::ExportFormat format : {kd::ExportFormat::TorchScript, kd::ExportFormat::Onnx}) {
            const std::string target = dir.filePath(out).toStdString();
            QString msg;
            KD_EXPECT_ERROR(msg, kd::exportCheckpoint(m.checkpoint, format, target));
            QVERIFY2(msg.contains(QString::fromStdString(target)) && msg.contains(why), qPrintable(msg));
            QVERIFY2(!msg.contains(QLatin1Char('\n')), qPrintable(msg));
            QCOMPARE(filesIn(dir.path()), before);
            QVERIFY(filesIn(dir.filePath(QStringLiteral("adir"))).isEmpty());
        }
    }

    // A full disk (here a file-size limit: the write fails with EFBIG) mid-export: an error naming the file,
    // the earlier export and its card intact, no temporary file left.
    void diskFullKeepsEarlierExport_data() {
        QTest::addColumn<int>("format");
        QTest::newRow("torchscript") << int(kd::ExportFormat::TorchScript);
        QTest::newRow("onnx") << int(kd::ExportFormat::Onnx);
    }
    void diskFullKeepsEarlierExport() {
        QFETCH(int, format);
        const kd::ExportFormat f = kd::ExportFormat(format);
        const TrainedModel& small = trained("mlp:");
        const TrainedModel& big = trained("mlp:32");
        QTemporaryDir dir;
        const QString out = dir.filePath(QStringLiteral("model") + QString(kd::exportFormatExtension(f)));
        kd::exportCheckpoint(small.checkpoint, f, out.toStdString());
        QFile earlier(out), earlierCard(out + QStringLiteral(".json"));
        QVERIFY(earlier.open(QIODevice::ReadOnly) && earlierCard.open(QIODevice::ReadOnly));
        const QByteArray bytes = earlier.readAll(), cardBytes = earlierCard.readAll();
        QVERIFY(bytes.size() < 48 * 1024); // softmax regression: 7,850 parameters

        rlimit old{};
        QCOMPARE(getrlimit(RLIMIT_FSIZE, &old), 0);
        rlimit limited = old;
        limited.rlim_cur = 64 * 1024; // mlp:32 needs about 100 KB
        QCOMPARE(setrlimit(RLIMIT_FSIZE, &limited), 0);
        const QString msg =
            testutil::errorMessage([&] { kd::exportCheckpoint(big.checkpoint, f, out.toStdString()); });
        QCOMPARE(setrlimit(RLIMIT_FSIZE, &old), 0);
        QVERIFY2(testutil::isKdError(msg) && msg.contains(out), qPrintable(msg));
        QVERIFY2(msg.contains(QLatin1String("write failed")) || msg.contains(QLatin1String("large")),
                 qPrintable(msg));
        QFile after(out), afterCard(out + QStringLiteral(".json"));
        QVERIFY(after.open(QIODevice::ReadOnly) && afterCard.open(QIODevice::ReadOnly));
        QCOMPARE(after.readAll(), bytes);
        QCOMPARE(afterCard.readAll(), cardBytes);
        QCOMPARE(filesIn(dir.path()), QStringList({QFileInfo(out).fileName(),
                                                   QFileInfo(out).fileName() + QStringLiteral(".json")}));
        // The earlier export still works.
        const kd::Predictor p(out.toStdString());
        QCOMPARE(p.logits(std::vector<float>(784, 0.5f), 1).size(), std::size_t(10));
    }

    void badCheckpoints_data() {
        QTest::addColumn<QByteArray>("content");
        QTest::addColumn<QString>("why");
        QTest::newRow("missing") << QByteArray() << QStringLiteral("cannot open");
        QTest::newRow("garbage") << QByteArray("not a checkpoint at all")
                                 << QStringLiteral("not a readable checkpoint");
    }
    void badCheckpoints() {
        QFETCH(QByteArray, content);
        QFETCH(QString, why);
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("in.pt"));
        if (!content.isEmpty())
            QVERIFY(testdata::writeFile(path, content));
        QString msg;
        KD_EXPECT_ERROR(msg, kd::exportCheckpoint(path.toStdString(), kd::ExportFormat::Onnx,
                                                  dir.filePath(QStringLiteral("out.onnx")).toStdString()));
        QVERIFY2(msg.contains(path) && msg.contains(why), qPrintable(msg));
        QVERIFY(!QFile::exists(dir.filePath(QStringLiteral("out.onnx"))));
        QVERIFY(!QFile::exists(dir.filePath(QStringLiteral("out.onnx.json"))));
    }

    // Other bad inputs for --checkpoint (issue 7): each refused with a message naming the file, and an
    // earlier export at --out (and its card) left as it was.
    void badCheckpointKinds_data() {
        QTest::addColumn<QString>("kind");
        QTest::addColumn<QString>("why");
        QTest::newRow("empty file") << QStringLiteral("empty") << QStringLiteral("not a readable checkpoint");
        QTest::newRow("truncated checkpoint")
            << QStringLiteral("truncated") << QStringLiteral("not a readable checkpoint");
        QTest::newRow("a folder") << QStringLiteral("folder") << QStringLiteral("not a readable checkpoint");
        QTest::newRow("under a regular file")
            << QStringLiteral("under-file") << QStringLiteral("cannot open checkpoint (Not a directory)");
        QTest::newRow("a TorchScript export")
            << QStringLiteral("torchscript") << QStringLiteral("not a kdlab checkpoint");
        QTest::newRow("an ONNX export")
            << QStringLiteral("onnx") << QStringLiteral("not a readable checkpoint");
        QTest::newRow("a JSON model card")
            << QStringLiteral("card") << QStringLiteral("not a readable checkpoint");
        QTest::newRow("unreadable (mode 000)")
            << QStringLiteral("unreadable") << QStringLiteral("cannot open checkpoint (Permission denied)");
    }
    void badCheckpointKinds() {
        QFETCH(QString, kind);
        QFETCH(QString, why);
        if (kind == QLatin1String("unreadable") && !testutil::permissionsAreEnforced())
            QSKIP("running as root, which reads a file of mode 000");
        const TrainedModel& m = trained("mlp:32");
        QTemporaryDir dir;
        QVERIFY(testdata::writeFile(dir.filePath(QStringLiteral("a-file")), "x"));
        QFile source(QString::fromStdString(m.checkpoint));
        QVERIFY(source.open(QIODevice::ReadOnly));
        const QByteArray checkpoint = source.readAll();
        QString path = dir.filePath(QStringLiteral("in.pt"));
        if (kind == QLatin1String("empty")) {
            QVERIFY(testdata::writeFile(path, QByteArray()));
        } else if (kind == QLatin1String("truncated")) {
            QVERIFY(testdata::writeFile(path, checkpoint.left(checkpoint.size() / 2)));
        } else if (kind == QLatin1String("folder")) {
            QVERIFY(QDir().mkpath(path));
        } else if (kind == QLatin1String("under-file")) {
            path = dir.filePath(QStringLiteral("a-file/in.pt"));
        } else if (kind == QLatin1String("torchscript") || kind == QLatin1String("onnx") ||
                   kind == QLatin1String("card")) {
            const bool ts = kind == QLatin1String("torchscript");
            const QString exported =
                dir.filePath(ts ? QStringLiteral("exported.pt") : QStringLiteral("exported.onnx"));
            kd::exportCheckpoint(m.checkpoint, ts ? kd::ExportFormat::TorchScript : kd::ExportFormat::Onnx,
                                 exported.toStdString());
            path = kind == QLatin1String("card") ? exported + QStringLiteral(".json") : exported;
        } else if (kind == QLatin1String("unreadable")) {
            QVERIFY(testdata::writeFile(path, checkpoint));
            QVERIFY(QFile::setPermissions(path, QFileDevice::Permissions()));
        }
        const QString out = dir.filePath(QStringLiteral("out.onnx"));
        QVERIFY(testdata::writeFile(out, "an earlier export"));
        QVERIFY(testdata::writeFile(out + QStringLiteral(".json"), "its card"));
        const QStringList before = filesIn(dir.path());
        QString msg;
        KD_EXPECT_ERROR(msg,
                        kd::exportCheckpoint(path.toStdString(), kd::ExportFormat::Onnx, out.toStdString()));
        QVERIFY2(msg.startsWith(path + QStringLiteral(": ")) && msg.contains(why), qPrintable(msg));
        QVERIFY2(!msg.contains(QLatin1Char('\n')), qPrintable(msg));
        QCOMPARE(filesIn(dir.path()), before);
        QFile earlier(out), earlierCard(out + QStringLiteral(".json"));
        QVERIFY(earlier.open(QIODevice::ReadOnly) && earlierCard.open(QIODevice::ReadOnly));
        QCOMPARE(earlier.readAll(), QByteArray("an earlier export"));
        QCOMPARE(earlierCard.readAll(), QByteArray("its card"));
    }

    // An ensemble's teacher is several models: there is no one model to export, and saving says so.
    void ensembleTeacherIsNotOneModel() {
        kd::Trainer trainer;
        kd::ExperimentConfig c = config("mlp:16");
        c.method = "ensemble";
        c.ensembleSize = 2;
        c.epochs = 0;
        trainer.run(c);
        QString msg;
        KD_EXPECT_ERROR(msg, trainer.saveCheckpoint(kd::Role::Teacher,
                                                    m_dir.filePath(QStringLiteral("e.pt")).toStdString()));
        QVERIFY2(msg.contains(QLatin1String("ensemble of 2")), qPrintable(msg));
        // A member is one model, with its own card.
        const std::string member = m_dir.filePath(QStringLiteral("member.pt")).toStdString();
        trainer.saveStageCheckpoint(0, member);
        const kd::ExportResult r = kd::exportCheckpoint(
            member, kd::ExportFormat::Onnx, m_dir.filePath(QStringLiteral("member.onnx")).toStdString());
        QCOMPARE(r.card.model, std::string("member-1"));
        QCOMPARE(r.card.method, std::string("ensemble"));
        QVERIFY(!r.card.temperature);
    }
};

QTEST_GUILESS_MAIN(TestExport)
#include "tst_export.moc"
