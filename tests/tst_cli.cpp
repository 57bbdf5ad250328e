// kdlab-cli as a user runs it (QProcess on the built binary): a real Fashion-MNIST run and its output files,
// config files with flag overrides, the methods (--method) and their files, export and predict,
// interruption, and bad input.
#include "kdcore/dataset.h"
#include "kdcore/export.h"
#include "kdcore/trainer.h" // kd::readCheckpointInfo

#include "testdata.h"

#include <QDir>
#include <QDirIterator>
#include <QElapsedTimer>
#include <QFile>
#include <QImage>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>
#include <QTest>

#include <cmath>
#include <unistd.h>

#ifndef KDLAB_CLI_PATH
#error "KDLAB_CLI_PATH must name the kdlab-cli binary"
#endif

namespace {

struct CliResult {
    bool finished = false;
    int exitCode = -1;
    QProcess::ExitStatus exitStatus = QProcess::CrashExit;
    QByteArray out, err;
};

CliResult runCli(const QStringList& args, const QString& workDir, int timeoutMs) {
    QProcess p;
    p.setWorkingDirectory(workDir);
    p.start(QStringLiteral(KDLAB_CLI_PATH), args);
    CliResult r;
    if (!p.waitForStarted(10000))
        return r;
    r.finished = p.waitForFinished(timeoutMs);
    if (!r.finished) {
        p.kill();
        p.waitForFinished(5000);
    }
    r.exitCode = p.exitCode();
    r.exitStatus = p.exitStatus();
    r.out = p.readAllStandardOutput();
    r.err = p.readAllStandardError();
    return r;
}

QString describe(const CliResult& r) {
    return QString("exit %1 (%2)\n--- stdout\n%3\n--- stderr\n%4")
        .arg(r.exitCode)
        .arg(r.exitStatus == QProcess::NormalExit ? "normal" : "crash")
        .arg(QString::fromUtf8(r.out.right(3000)), QString::fromUtf8(r.err.right(3000)));
}

QJsonObject readJsonObject(const QString& path, QString* error) {
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly)) {
        *error = "cannot open " + path;
        return {};
    }
    QJsonParseError pe;
    const QJsonDocument doc = QJsonDocument::fromJson(f.readAll(), &pe);
    if (pe.error != QJsonParseError::NoError || !doc.isObject()) {
        *error = path + ": " + pe.errorString();
        return {};
    }
    return doc.object();
}

// metrics.csv as rows of fields; the first row is the header.
QList<QStringList> readCsv(const QString& path) {
    QList<QStringList> rows;
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly | QIODevice::Text))
        return rows;
    for (const QString& line : QString::fromUtf8(f.readAll()).split('\n', Qt::SkipEmptyParts))
        rows.append(line.split(','));
    return rows;
}

} // namespace

class TestCli : public QObject {
    Q_OBJECT

private slots:
    void initTestCase();
    void help();
    void endToEnd_exitsCleanly();
    void endToEnd_summaryJson();
    void endToEnd_metricsCsv();
    void endToEnd_checkpoints();
    void endToEnd_export();
    void predictFashionImages();
    void exportCommand_data();
    void exportCommand();
    void exportToAFullDiskLeavesNoFile();
    void predictReportsABadImageAndGoesOn();
    void divergenceIsReportedAndTheRunFinishes();
    void configFileWithFlagOverride_data();
    void configFileWithFlagOverride();
    void methodRun_data();
    void methodRun();
    void interruptWritesPartialResults();
    void badInput_data();
    void badInput();
    void badInputKeepsEarlierResults_data();
    void badInputKeepsEarlierResults();
    void unwritableOut_data();
    void unwritableOut();
    void sweepShardsMergeToTheWholeSweep();
    void resumeAfterAnInterruption_data();
    void resumeAfterAnInterruption();
    void resumeRefusals_data();
    void resumeRefusals();

private:
    QStringList quickArgs() const; // a fast run on the synthetic data
    QString teacherCheckpointFor(const QString& which);

    QTemporaryDir m_tmp;
    QString m_dataDir;
    QString m_e2eOut;
    CliResult m_e2e;
};

void TestCli::initTestCase() {
    QVERIFY2(QFile::exists(QStringLiteral(KDLAB_CLI_PATH)), KDLAB_CLI_PATH);
    QVERIFY(m_tmp.isValid());
    m_dataDir = m_tmp.filePath("synthetic");
    QVERIFY(QDir().mkpath(m_dataDir));
    QVERIFY(testdata::writeIdxFolder(m_dataDir, testdata::syntheticImages(400, 1),
                                     testdata::syntheticImages(100, 2)));
    QVERIFY(testdata::writeFile(m_tmp.filePath("malformed.json"), R"({"epochs": 2,, "alpha": })"));
    QVERIFY(
        testdata::writeFile(m_tmp.filePath("unknown-key.json"), R"({"epochs": 2, "learning_rate": 0.1})"));

    // The end-to-end run on real data, with the default teacher, student and epochs (about 40 s on 2 cores);
    // the endToEnd_* functions check its parts.
    m_e2eOut = m_tmp.filePath("runs/e2e"); // nested and not there yet: the CLI creates it
    m_e2e = runCli({"run", "--dataset", "fashion-mnist", "--train-limit", "3000", "--test-limit", "1000",
                    "--out", m_e2eOut, "--export", "torchscript,onnx"},
                   m_tmp.path(), 280000);
}

QStringList TestCli::quickArgs() const {
    return {"--dataset",        "idx:" + m_dataDir,
            "--teacher",        "mlp:32",
            "--student",        "mlp:16",
            "--teacher-epochs", "1",
            "--epochs",         "1",
            "--batch-size",     "64",
            "--augment",        "none", // the engine's plain path (the default experiment augments)
            "--transfer-limit", "0"};
}

void TestCli::help() {
    const CliResult r = runCli({"help"}, m_tmp.path(), 30000);
    QVERIFY2(r.finished && r.exitStatus == QProcess::NormalExit && r.exitCode == 0, qPrintable(describe(r)));
    const QString out = QString::fromUtf8(r.out);
    QVERIFY(out.contains("usage: kdlab-cli run"));
    for (const char* preset : {"hinton-teacher", "hinton-student", "cnn-teacher", "small", "tiny"})
        QVERIFY2(out.contains(preset), preset);
    for (const char* flag :
         {"--config", "--temperature", "--alpha", "--teacher-checkpoint", "--out", "--method",
          "--ensemble-size", "--ensemble-teachers", "--generations", "--assistant"})
        QVERIFY2(out.contains(flag), flag);
    for (const char* method : {"ensemble", "born-again", "assistant"})
        QVERIFY2(out.contains(method), method);
}

void TestCli::endToEnd_exitsCleanly() {
    QVERIFY2(m_e2e.finished, qPrintable(describe(m_e2e)));
    QCOMPARE(m_e2e.exitStatus, QProcess::NormalExit);
    QVERIFY2(m_e2e.exitCode == 0, qPrintable(describe(m_e2e)));
    QVERIFY2(QString::fromUtf8(m_e2e.out).contains("results in " + m_e2eOut), qPrintable(describe(m_e2e)));
    QVERIFY2(!m_e2e.err.contains("error"), qPrintable(describe(m_e2e)));
}

void TestCli::endToEnd_summaryJson() {
    QString error;
    const QJsonObject summary = readJsonObject(m_e2eOut + "/summary.json", &error);
    QVERIFY2(error.isEmpty(), qPrintable(error));

    struct Expected {
        const char* role;
        const char* spec;
        int params;
        int epochs;
    };
    for (const Expected& e :
         {Expected{"teacher", "cnn:32,64+dropout=0.3", 50186, 4}, Expected{"baseline", "cnn:8,16", 9098, 10},
          Expected{"student", "cnn:8,16", 9098, 10}}) {
        QVERIFY2(summary.value(e.role).isObject(), e.role);
        const QJsonObject m = summary.value(e.role).toObject();
        const double accuracy = m.value("test_accuracy").toDouble(-1);
        QVERIFY2(accuracy > 0.7 && accuracy <= 1.0,
                 qPrintable(QString("%1 test_accuracy %2").arg(e.role).arg(accuracy)));
        const double loss = m.value("test_loss").toDouble(-1);
        QVERIFY2(loss > 0 && std::isfinite(loss),
                 qPrintable(QString("%1 test_loss %2").arg(e.role).arg(loss)));
        QCOMPARE(m.value("params").toInt(-1), e.params);
        QCOMPARE(m.value("spec").toString(), QString(e.spec));
        QCOMPARE(m.value("epochs_trained").toInt(-1), e.epochs);
        QCOMPARE(m.value("trained").toBool(false), true);
    }

    QVERIFY(summary.value("config").isObject());
    const QJsonObject config = summary.value("config").toObject();
    QCOMPARE(config.value("dataset").toString(), QString("fashion-mnist"));
    QCOMPARE(config.value("train_limit").toInt(), 3000);
    QCOMPARE(config.value("test_limit").toInt(), 1000);
    QCOMPARE(config.value("teacher").toString(), QString("cnn:32,64+dropout=0.3"));
    QCOMPARE(config.value("student").toString(), QString("cnn:8,16"));
    QCOMPARE(config.value("epochs").toInt(), 10);
    QCOMPARE(config.value("augment").toString(), QString("shift-flip"));
    QCOMPARE(config.value("teacher_augment").toString(), QString("none"));
    QCOMPARE(config.value("teacher_epochs").toInt(), 4);
    QCOMPARE(config.value("out").toString(), m_e2eOut);

    QVERIFY(summary.value("timing").isObject());
    const QJsonObject timing = summary.value("timing").toObject();
    for (const char* key :
         {"teacher_seconds_per_epoch", "baseline_seconds_per_epoch", "student_seconds_per_epoch"})
        QVERIFY2(timing.value(key).toDouble(-1) > 0, key);
    QCOMPARE(summary.value("stopped").toBool(true), false);
}

void TestCli::endToEnd_metricsCsv() {
    const QList<QStringList> rows = readCsv(m_e2eOut + "/metrics.csv");
    QVERIFY(!rows.isEmpty());
    const QStringList header = rows.front();
    QCOMPARE(header.value(0), QString("model"));
    QCOMPARE(header.value(1), QString("epoch"));
    for (const char* column :
         {"train_loss", "test_loss", "test_accuracy", "temperature", "alpha", "epoch_seconds"})
        QVERIFY2(header.contains(column), column);
    // One row per model per epoch: teacher 1..4, then baseline 1..10, then student 1..10 (the defaults).
    QStringList expected;
    for (int e = 1; e <= 4; ++e)
        expected << QString("teacher,%1").arg(e);
    for (const char* model : {"baseline", "student"})
        for (int e = 1; e <= 10; ++e)
            expected << QString("%1,%2").arg(model).arg(e);
    QStringList actual;
    for (qsizetype i = 1; i < rows.size(); ++i) {
        QCOMPARE(rows[i].size(), header.size());
        actual << rows[i][0] + "," + rows[i][1];
        const double accuracy = rows[i][header.indexOf("test_accuracy")].toDouble();
        QVERIFY(accuracy > 0 && accuracy <= 1);
    }
    QCOMPARE(actual, expected);

    // The last row of each model agrees with summary.json.
    QString error;
    const QJsonObject summary = readJsonObject(m_e2eOut + "/summary.json", &error);
    QVERIFY2(error.isEmpty(), qPrintable(error));
    const double csvTeacher = rows[4][header.indexOf("test_accuracy")].toDouble();
    const double csvStudent = rows.back()[header.indexOf("test_accuracy")].toDouble();
    QVERIFY(std::abs(csvTeacher - summary["teacher"].toObject()["test_accuracy"].toDouble()) < 1e-5);
    QVERIFY(std::abs(csvStudent - summary["student"].toObject()["test_accuracy"].toDouble()) < 1e-5);
}

void TestCli::endToEnd_checkpoints() {
    for (const char* name : {"teacher.pt", "baseline.pt", "student.pt"})
        QVERIFY2(QFileInfo(m_e2eOut + "/" + name).size() > 0, name);
    const kd::CheckpointInfo teacher = kd::readCheckpointInfo((m_e2eOut + "/teacher.pt").toStdString());
    QCOMPARE(teacher.spec, std::string("cnn:32,64+dropout=0.3"));
    QCOMPARE(teacher.input.height, 28);
    QCOMPARE(teacher.input.width, 28);
    QCOMPARE(teacher.input.classes, 10);
    QCOMPARE(kd::readCheckpointInfo((m_e2eOut + "/student.pt").toStdString()).spec, std::string("cnn:8,16"));
    // Written atomically: no temporary files left behind.
    const QStringList left = QDir(m_e2eOut).entryList({"*.tmp"}, QDir::Files);
    QVERIFY2(left.isEmpty(), qPrintable(left.join(' ')));
}

// `run --export torchscript,onnx`: the student exported in both formats, each with its card, checked.
void TestCli::endToEnd_export() {
    const QString printed = QString::fromUtf8(m_e2e.out);
    QString error;
    const QJsonObject summary = readJsonObject(m_e2eOut + "/summary.json", &error);
    QVERIFY2(error.isEmpty(), qPrintable(error));
    for (const char* file : {"student.pt", "student.onnx"}) {
        const QString path = m_e2eOut + "/export/" + file;
        QVERIFY2(QFileInfo(path).size() > 0, qPrintable(path));
        QVERIFY2(printed.contains("to " + path + " (") && printed.contains("checked with"),
                 qPrintable(printed));
        const QJsonObject card = readJsonObject(path + ".json", &error);
        QVERIFY2(error.isEmpty(), qPrintable(error));
        QCOMPARE(card["model"].toString(), QString("student"));
        QCOMPARE(card["spec"].toString(), QString("cnn:8,16"));
        QCOMPARE(card["dataset"].toString(), QString("fashion-mnist"));
        QCOMPARE(card["method"].toString(), QString("kd"));
        QCOMPARE(card["temperature"].toDouble(), summary["config"].toObject()["temperature"].toDouble());
        QCOMPARE(card["alpha"].toDouble(), summary["config"].toObject()["alpha"].toDouble());
        QCOMPARE(card["seed"].toInt(), 1);
        QCOMPARE(card["classes"].toArray().at(9).toString(), QString("Ankle boot"));
        QCOMPARE(card["file_bytes"].toInteger(), QFileInfo(path).size());
        const QJsonObject acc = card["test_accuracy"].toObject();
        for (const char* model : {"student", "teacher", "baseline"})
            QVERIFY2(std::abs(acc[model].toDouble() - summary[model].toObject()["test_accuracy"].toDouble()) <
                         1e-9,
                     model);
        QCOMPARE(acc["this_model"].toDouble(), acc["student"].toDouble());
    }
    const QStringList left = QDir(m_e2eOut + "/export").entryList({"*.tmp"}, QDir::Files);
    QVERIFY2(left.isEmpty(), qPrintable(left.join(' ')));
}

// Fashion-MNIST test images as PNG files, one of them on a light background and enlarged, predicted by the
// exported TorchScript and ONNX students and by the checkpoint: the same classes and probabilities, with
// the dataset's class names.
void TestCli::predictFashionImages() {
    kd::DatasetOptions options;
    options.trainLimit = 1;
    options.testLimit = 4;
    const kd::Dataset ds = kd::loadDataset("fashion-mnist", options);
    QTemporaryDir tmp;
    QStringList images;
    for (int i = 0; i < 5; ++i) {
        QImage img(ds.test.pixels.data() + std::min(i, 3) * 784, 28, 28, 28, QImage::Format_Grayscale8);
        if (i == 4) { // image 3 as a photo of a printout would be: dark on light, larger, in colour
            img = img.scaled(140, 140, Qt::IgnoreAspectRatio, Qt::FastTransformation);
            img.invertPixels();
            img = img.convertToFormat(QImage::Format_RGB32);
        }
        images << tmp.filePath(QString("item-%1.png").arg(i));
        QVERIFY(img.save(images.back()));
    }
    QStringList outputs;
    for (const QString& model :
         {m_e2eOut + "/export/student.pt", m_e2eOut + "/export/student.onnx", m_e2eOut + "/student.pt"}) {
        const CliResult r = runCli(QStringList{"predict", "--model", model} + images, tmp.path(), 60000);
        QVERIFY2(r.finished && r.exitStatus == QProcess::NormalExit && r.exitCode == 0,
                 qPrintable(describe(r)));
        const QStringList lines = QString::fromUtf8(r.out).split('\n', Qt::SkipEmptyParts);
        QCOMPARE(lines.size(), 5);
        for (int i = 0; i < 5; ++i) {
            // "item-0.png: Ankle boot  (Ankle boot 91.2%, Sneaker 5.0%, Sandal 2.1%)"
            QVERIFY2(lines[i].startsWith(images[i] + ": "), qPrintable(lines[i]));
            QCOMPARE(lines[i].count('%'), 3);
            bool named = false;
            for (const std::string& name : ds.classNames)
                named = named || lines[i].startsWith(images[i] + ": " + QString::fromStdString(name) + "  (");
            QVERIFY2(named, qPrintable(lines[i]));
            QCOMPARE(lines[i].contains("inverted"), i == 4);
        }
        // The "photo" of image 3 comes back as image 3: the same prediction.
        QCOMPARE(lines[4].section(':', 1).section('[', 0, 0).trimmed(), lines[3].section(':', 1).trimmed());
        outputs << QString::fromUtf8(r.out);
        QVERIFY2(r.err.contains("model " + model.toUtf8()), r.err.constData());
    }
    QCOMPARE(outputs[1], outputs[0]);
    QCOMPARE(outputs[2], outputs[0]);
}

void TestCli::exportCommand_data() {
    QTest::addColumn<QStringList>("args");
    QTest::addColumn<QString>("file");
    QTest::addColumn<QString>("format");
    QTest::newRow("onnx from the extension") << QStringList{"--out", "t.onnx"} << "t.onnx"
                                             << "onnx";
    QTest::newRow("torchscript from the extension") << QStringList{"--out", "t.pt"} << "t.pt"
                                                    << "torchscript";
    QTest::newRow("--format, any name")
        << QStringList{"--format", "onnx", "--out", "model.bin"} << "model.bin"
        << "onnx";
    QTest::newRow("--format=torchscript") << QStringList{"--format=TorchScript", "--out=m"} << "m"
                                          << "torchscript";
    QTest::newRow("--format checkpoint")
        << QStringList{"--format", "checkpoint", "--out", "copy.pt"} << "copy.pt"
        << "checkpoint";
}

// `export` of a teacher checkpoint from the run (a CNN), format from --format or the extension.
void TestCli::exportCommand() {
    QFETCH(QStringList, args);
    QFETCH(QString, file);
    QFETCH(QString, format);
    QTemporaryDir tmp;
    const CliResult r =
        runCli(QStringList{"export", "--checkpoint", m_e2eOut + "/teacher.pt"} + args, tmp.path(), 60000);
    QVERIFY2(r.finished && r.exitStatus == QProcess::NormalExit && r.exitCode == 0, qPrintable(describe(r)));
    QVERIFY2(r.out.contains("exported teacher (cnn:32,64+dropout=0.3"), qPrintable(describe(r)));
    QString error;
    const QJsonObject card = readJsonObject(tmp.filePath(file + ".json"), &error);
    QVERIFY2(error.isEmpty(), qPrintable(error));
    QCOMPARE(card["format"].toString(), format);
    QCOMPARE(card["model"].toString(), QString("teacher"));
    QCOMPARE(card["file"].toString(), file);
    QVERIFY(card["temperature"].isNull()); // the teacher learned from labels: no T
    QCOMPARE(QDir(tmp.path()).entryList(QDir::Files), QStringList({file, file + ".json"}));
}

// A full disk (here `ulimit -f`, which makes writes fail with EFBIG) mid-export: one error line, no file.
void TestCli::exportToAFullDiskLeavesNoFile() {
    QTemporaryDir tmp;
    QProcess p;
    p.setWorkingDirectory(tmp.path());
    p.start("/bin/bash", {"-c", QString("ulimit -f 100 && exec '%1' export --checkpoint '%2' --out big.onnx")
                                    .arg(KDLAB_CLI_PATH, m_e2eOut + "/teacher.pt")});
    QVERIFY(p.waitForFinished(60000));
    const QString err = QString::fromUtf8(p.readAllStandardError());
    // The teacher's ONNX file is about 200 KB, over the 100 KB limit.
    QCOMPARE(p.exitStatus(), QProcess::NormalExit);
    QVERIFY2(p.exitCode() == 1, qPrintable(err));
    QVERIFY2(err.startsWith("error: big.onnx: cannot export (File too large)") && err.count('\n') == 1,
             qPrintable(err));
    QVERIFY2(QDir(tmp.path()).entryList(QDir::Files).isEmpty(),
             qPrintable(QDir(tmp.path()).entryList(QDir::Files).join(' ')));
}

// One unreadable image among good ones: an error line for it, the others predicted, exit status 1.
void TestCli::predictReportsABadImageAndGoesOn() {
    QTemporaryDir tmp;
    QImage img(28, 28, QImage::Format_Grayscale8);
    img.fill(0);
    QVERIFY(img.save(tmp.filePath("good.png")));
    QVERIFY(testdata::writeFile(tmp.filePath("bad.png"), "not an image"));
    const CliResult r = runCli({"predict", "--model", m_e2eOut + "/export/student.onnx", "bad.png",
                                "good.png", "missing.png", "--top", "2"},
                               tmp.path(), 60000);
    QVERIFY2(r.finished && r.exitStatus == QProcess::NormalExit && r.exitCode == 1, qPrintable(describe(r)));
    QVERIFY2(r.err.contains("error: bad.png: not a readable image") &&
                 r.err.contains("error: missing.png: cannot open image"),
             qPrintable(describe(r)));
    const QStringList lines = QString::fromUtf8(r.out).split('\n', Qt::SkipEmptyParts);
    QCOMPARE(lines.size(), 1);
    QVERIFY2(lines[0].startsWith("good.png: ") && lines[0].count('%') == 2, qPrintable(lines[0]));
}

// SGD at learning rate 99: a model whose loss turns NaN or Inf stops with a warning, the run finishes
// (exit 0), summary.json says which model diverged, and the kept weights are saved.
void TestCli::divergenceIsReportedAndTheRunFinishes() {
    QTemporaryDir tmp;
    const CliResult r = runCli(QStringList{"run"} + quickArgs() +
                                   QStringList{"--optimizer", "sgd", "--lr", "99", "--epochs", "4",
                                               "--teacher-epochs", "4", "--threads", "1", "--out", "out"},
                               tmp.path(), 120000);
    QVERIFY2(r.finished && r.exitStatus == QProcess::NormalExit && r.exitCode == 0, qPrintable(describe(r)));
    QVERIFY2(r.err.contains("warning: ") && r.err.contains(" diverged: "), qPrintable(describe(r)));
    QString error;
    const QJsonObject summary = readJsonObject(tmp.filePath("out/summary.json"), &error);
    QVERIFY2(error.isEmpty(), qPrintable(error));
    int diverged = 0;
    for (const char* model : {"teacher", "baseline", "student"}) {
        const QJsonValue d = summary[model].toObject()["diverged"];
        QVERIFY2(d.isNull() || d.toString().startsWith(QString(model) + " diverged: "), model);
        diverged += d.isString();
        QVERIFY2(QFileInfo(tmp.filePath(QString("out/%1.pt").arg(model))).size() > 0, model);
    }
    QVERIFY(diverged > 0);
    QVERIFY2(r.out.contains(" diverged: "), qPrintable(describe(r))); // repeated under the results
}

void TestCli::configFileWithFlagOverride_data() {
    QTest::addColumn<bool>("flagsFirst");
    QTest::newRow("flags after --config") << false;
    QTest::newRow("flags before --config") << true;
}

void TestCli::configFileWithFlagOverride() {
    QFETCH(bool, flagsFirst);
    QTemporaryDir tmp;
    QVERIFY(tmp.isValid());
    const QString configPath = tmp.filePath("settings.json");
    const QString json =
        QString(R"({"dataset": "idx:%1", "teacher": "mlp:32", "student": "mlp:16", "epochs": 1,
        "teacher_epochs": 1, "batch_size": 64, "seed": 5, "temperature": 3.0, "alpha": 0.25})")
            .arg(m_dataDir);
    QVERIFY(testdata::writeFile(configPath, json.toUtf8()));
    const QString out = tmp.filePath("out");
    const QStringList flags{"--epochs", "2", "--temperature=6"};
    QStringList args{"run"};
    if (flagsFirst)
        args << flags << "--config" << configPath;
    else
        args << "--config" << configPath << flags;
    args << "--out" << out;
    const CliResult r = runCli(args, tmp.path(), 120000);
    QVERIFY2(r.finished && r.exitStatus == QProcess::NormalExit && r.exitCode == 0, qPrintable(describe(r)));

    QString error;
    const QJsonObject summary = readJsonObject(out + "/summary.json", &error);
    QVERIFY2(error.isEmpty(), qPrintable(error));
    const QJsonObject config = summary.value("config").toObject();
    QCOMPARE(config.value("epochs").toInt(), 2);                     // the flag wins
    QCOMPARE(config.value("temperature").toDouble(), 6.0);           // the flag wins (--key=value form)
    QCOMPARE(config.value("teacher").toString(), QString("mlp:32")); // from the file
    QCOMPARE(config.value("teacher_epochs").toInt(), 1);
    QCOMPARE(config.value("batch_size").toInt(), 64);
    QCOMPARE(config.value("seed").toInt(), 5);
    QCOMPARE(config.value("alpha").toDouble(), 0.25);
    QCOMPARE(config.value("dataset").toString(), "idx:" + m_dataDir);
    QCOMPARE(summary.value("student").toObject().value("epochs_trained").toInt(), 2);
    // The settings took effect, not just the report: 1 teacher epoch, 2 for each student.
    const QList<QStringList> rows = readCsv(out + "/metrics.csv");
    QCOMPARE(rows.size(), 1 + 1 + 2 + 2);
    const qsizetype temperatureColumn = rows.front().indexOf("temperature");
    QVERIFY(temperatureColumn > 0);
    QCOMPARE(rows.back()[temperatureColumn].toDouble(), 6.0);
}

void TestCli::methodRun_data() {
    QTest::addColumn<QStringList>("flags");
    QTest::addColumn<QString>("method");
    QTest::addColumn<QStringList>("files");    // "name.pt=spec": written, with that model
    QTest::addColumn<QStringList>("absent");   // not written
    QTest::addColumn<QStringList>("stages");   // summary.json's stage ids, in order
    QTest::addColumn<QStringList>("mentions"); // in the printed comparison (stdout)
    QTest::newRow("ensemble of 2")
        << QStringList{"--method", "ensemble", "--ensemble-size", "2"} << "ensemble"
        << QStringList{"member-1.pt=mlp:32", "member-2.pt=mlp:32", "baseline.pt=mlp:16", "student.pt=mlp:16"}
        << QStringList{"teacher.pt", "member-3.pt"} << QStringList{"member-1", "member-2"}
        << QStringList{"member 1", "member 2", "ensemble", "2 x mlp:32", "The ensemble scores"};
    QTest::newRow("ensemble of listed members")
        << QStringList{"--method=ensemble", "--ensemble-teachers", "mlp:24;mlp:16"} << "ensemble"
        << QStringList{"member-1.pt=mlp:24", "member-2.pt=mlp:16", "student.pt=mlp:16"}
        << QStringList{"teacher.pt", "member-3.pt"} << QStringList{"member-1", "member-2"}
        << QStringList{"member 2", "mlp:24 + mlp:16", "The ensemble scores"};
    QTest::newRow("born-again, 2 generations")
        << QStringList{"--method", "born-again", "--generations", "2"} << "born-again"
        << QStringList{"teacher.pt=mlp:32", "generation-1.pt=mlp:32", "baseline.pt=mlp:32",
                       "student.pt=mlp:32"}
        << QStringList{"generation-2.pt"} << QStringList{"generation-1"}
        << QStringList{"generation 1", "generation 2", "generations 1..2"};
    QTest::newRow("assistant") << QStringList{"--method", "assistant", "--assistant", "mlp:24"} << "assistant"
                               << QStringList{"teacher.pt=mlp:32", "assistant.pt=mlp:24", "direct.pt=mlp:16",
                                              "student.pt=mlp:16"}
                               << QStringList{} << QStringList{"assistant", "direct"}
                               << QStringList{"assistant", "direct KD", "via assistant",
                                              "Taught by the assistant"};
}

// `kdlab-cli run --method ...` on the small generated data: every model it trains is saved under its stage's
// name, summary.json and metrics.csv list the stages, and the printed comparison reads the method's way.
void TestCli::methodRun() {
    QFETCH(QStringList, flags);
    QFETCH(QString, method);
    QFETCH(QStringList, files);
    QFETCH(QStringList, absent);
    QFETCH(QStringList, stages);
    QFETCH(QStringList, mentions);
    QTemporaryDir tmp;
    QVERIFY(tmp.isValid());
    const QString out = tmp.filePath("out");
    // One thread: models this small train in a moment on one, far slower on busy shared cores.
    const CliResult r =
        runCli(QStringList{"run"} + quickArgs() + flags + QStringList{"--threads", "1", "--out", out},
               tmp.path(), 120000);
    QVERIFY2(r.finished && r.exitStatus == QProcess::NormalExit && r.exitCode == 0, qPrintable(describe(r)));

    for (const QString& file : files) {
        const QString name = file.section('=', 0, 0);
        const QString spec = file.section('=', 1);
        QVERIFY2(QFile::exists(out + "/" + name), qPrintable(name + " not written:\n" + describe(r)));
        QCOMPARE(QString::fromStdString(kd::readCheckpointInfo((out + "/" + name).toStdString()).spec), spec);
    }
    for (const QString& name : absent)
        QVERIFY2(!QFile::exists(out + "/" + name), qPrintable(name + " written"));

    QString error;
    const QJsonObject summary = readJsonObject(out + "/summary.json", &error);
    QVERIFY2(error.isEmpty(), qPrintable(error));
    QCOMPARE(summary.value("method").toString(), method);
    QCOMPARE(summary.value("config").toObject().value("method").toString(), method);
    const QJsonArray summaryStages = summary.value("stages").toArray();
    QStringList ids;
    for (const QJsonValue& st : summaryStages) {
        ids << st.toObject().value("id").toString();
        QCOMPARE(st.toObject().value("trained").toBool(false), true);
        const double accuracy = st.toObject().value("test_accuracy").toDouble(-1);
        QVERIFY2(accuracy > 0 && accuracy <= 1, qPrintable(ids.back()));
    }
    QCOMPARE(ids, stages);
    QCOMPARE(summary.value("stopped").toBool(true), false);

    // metrics.csv: the stages' epochs first (model column = stage id), then the run's own models.
    const QList<QStringList> rows = readCsv(out + "/metrics.csv");
    QStringList models;
    for (qsizetype i = 1; i < rows.size(); ++i)
        models << rows[i].value(0);
    QStringList expectedModels = stages;
    if (method != "ensemble")
        expectedModels << "teacher"; // an ensemble's epochs are its members'
    expectedModels << "baseline"
                   << "student";
    QCOMPARE(models, expectedModels);

    const QString printed = QString::fromUtf8(r.out);
    for (const QString& m : mentions)
        QVERIFY2(printed.contains(m), qPrintable("stdout does not mention '" + m + "':\n" + printed));
}

void TestCli::interruptWritesPartialResults() {
    QTemporaryDir tmp;
    QVERIFY(tmp.isValid());
    const QString out = tmp.filePath("out");
    QProcess p;
    p.setWorkingDirectory(tmp.path());
    QStringList args{"run"};
    args << quickArgs() << "--teacher-epochs"
         << "3000"
         << "--out" << out;
    p.start(QStringLiteral(KDLAB_CLI_PATH), args);
    QVERIFY(p.waitForStarted(10000));
    // Wait until the teacher has finished an epoch (the signal handlers are in place by then).
    QByteArray err;
    QElapsedTimer timer;
    timer.start();
    while (!err.contains("teacher  epoch 1/") && timer.elapsed() < 60000 && p.state() == QProcess::Running) {
        p.waitForReadyRead(200);
        err += p.readAllStandardError();
    }
    QVERIFY2(err.contains("teacher  epoch 1/"), err.constData());
    p.terminate(); // SIGTERM, as Ctrl-C or a batch system would stop it
    QVERIFY(p.waitForFinished(60000));
    err += p.readAllStandardError();
    QCOMPARE(p.exitStatus(), QProcess::NormalExit);
    QVERIFY2(p.exitCode() == 130,
             qPrintable(QString("exit %1: %2").arg(p.exitCode()).arg(QString::fromUtf8(err))));
    QString error;
    const QJsonObject summary = readJsonObject(out + "/summary.json", &error);
    QVERIFY2(error.isEmpty(), qPrintable(error));
    QCOMPARE(summary.value("stopped").toBool(false), true);
    QCOMPARE(summary.value("teacher").toObject().value("trained").toBool(true), false);
    QVERIFY(QFile::exists(out + "/metrics.csv"));
    QVERIFY(!QFile::exists(out + "/teacher.pt")); // an unfinished teacher is not saved
}

void TestCli::badInput_data() {
    QTest::addColumn<QStringList>("args"); // %OUT%, %TMP% replaced
    QTest::addColumn<QString>("mentions"); // what the error line must name
    // A quick run on the synthetic data, so that a bad value that slipped through would not train for long.
    const auto run = [this](const QStringList& extra) {
        return QStringList{"run"} + quickArgs() + extra + QStringList{"--out", "%OUT%"};
    };
    const auto withConfig = [this](const QString& file) {
        return QStringList{"run", "--config", file} + quickArgs() + QStringList{"--out", "%OUT%"};
    };
    QTest::newRow("unknown flag") << run({"--bogus", "1"}) << "--bogus";
    QTest::newRow("--temperature 0") << run({"--temperature", "0"}) << "temperature";
    QTest::newRow("--alpha 2") << run({"--alpha", "2"}) << "alpha";
    QTest::newRow("--batch-size 0") << run({"--batch-size", "0"}) << "batch_size";
    QTest::newRow("--epochs -1") << run({"--epochs", "-1"}) << "epochs";
    QTest::newRow("--epochs abc") << run({"--epochs", "abc"}) << "abc";
    QTest::newRow("--teacher bogus") << run({"--teacher", "bogus"}) << "bogus";
    QTest::newRow("--omit-class 10 (10 classes)") << run({"--omit-class", "10"}) << "omit_class";
    QTest::newRow("--transfer-limit -5") << run({"--transfer-limit", "-5"}) << "transfer_limit";
    QTest::newRow("--method nope") << run({"--method", "nope"}) << "method";
    QTest::newRow("--ensemble-size 0")
        << run({"--method", "ensemble", "--ensemble-size", "0"}) << "ensemble_size";
    QTest::newRow("--ensemble-size two")
        << run({"--method", "ensemble", "--ensemble-size", "two"}) << "--ensemble-size";
    QTest::newRow("--ensemble-teachers with an empty member")
        << run({"--method", "ensemble", "--ensemble-teachers", "mlp:8;;mlp:8"}) << "ensemble_teachers";
    QTest::newRow("--ensemble-teachers bogus")
        << run({"--method", "ensemble", "--ensemble-teachers", "mlp:8;bogus"}) << "bogus";
    QTest::newRow("--generations 11")
        << run({"--method", "born-again", "--generations", "11"}) << "generations";
    QTest::newRow("--assistant mlp:0")
        << run({"--method", "assistant", "--assistant", "mlp:0"}) << "assistant";
    QTest::newRow("--method ensemble with --teacher-checkpoint")
        << run({"--method", "ensemble", "--teacher-checkpoint", "%TMP%/malformed.json"})
        << "teacher_checkpoint";
    const auto sweep = [this](const QStringList& extra) {
        return QStringList{"sweep"} + quickArgs() + extra + QStringList{"--out", "%OUT%"};
    };
    QTest::newRow("sweep --temperatures 1,0") << sweep({"--temperatures", "1,0"}) << "temperatures";
    QTest::newRow("sweep --alphas 0.5,x") << sweep({"--alphas", "0.5,x"}) << "'x'";
    QTest::newRow("sweep --students bogus") << sweep({"--students", "mlp:8;bogus"}) << "bogus";
    QTest::newRow("sweep --seeds 0") << sweep({"--seeds", "0"}) << "--seeds";
    QTest::newRow("sweep --shard 2/2") << sweep({"--shard", "2/2"}) << "shard";
    QTest::newRow("sweep --shard abc") << sweep({"--shard", "abc"}) << "--shard";
    QTest::newRow("merge without --out") << QStringList{"merge", "%TMP%"} << "--out";
    QTest::newRow("merge a folder without sweep.csv")
        << QStringList{"merge", "%TMP%/nothing-here", "--out", "%OUT%"} << "%TMP%/nothing-here/sweep.csv";
    QTest::newRow("flag without a value") << (run({}) << "--epochs") << "--epochs";
    QTest::newRow("missing --config file") << withConfig("%TMP%/missing.json") << "%TMP%/missing.json";
    QTest::newRow("malformed config JSON") << withConfig("%TMP%/malformed.json") << "%TMP%/malformed.json";
    QTest::newRow("config with an unknown key") << withConfig("%TMP%/unknown-key.json") << "learning_rate";
    QTest::newRow("--dataset idx:/nonexistent") << run({"--dataset", "idx:/nonexistent"}) << "/nonexistent";
    QTest::newRow("unknown command") << (QStringList{"train"} + quickArgs() + QStringList{"--out", "%OUT%"})
                                     << "train";
    QTest::newRow("--out names a file")
        << (QStringList{"run"} + quickArgs() + QStringList{"--out", "%TMP%/malformed.json"})
        << "not a folder";
    QTest::newRow("no command") << QStringList{} << "command";
    // export and predict.
    QTest::newRow("run --export tflite (before training)") << run({"--export", "tflite"}) << "tflite";
    QTest::newRow("export without --checkpoint")
        << QStringList{"export", "--out", "%OUT%.onnx"} << "--checkpoint";
    QTest::newRow("export without --out")
        << QStringList{"export", "--checkpoint", "%TMP%/runs/e2e/student.pt"} << "--out";
    QTest::newRow("export --format tflite")
        << QStringList{"export", "--checkpoint", "%TMP%/runs/e2e/student.pt", "--format", "tflite",
                       "--out",  "%OUT%"}
        << "tflite";
    QTest::newRow("export --out without extension or --format")
        << QStringList{"export", "--checkpoint", "%TMP%/runs/e2e/student.pt", "--out", "%OUT%"} << "--format";
    QTest::newRow("export over its own checkpoint")
        << QStringList{"export", "--checkpoint", "%TMP%/runs/e2e/student.pt", "--format",
                       "onnx",   "--out",        "%TMP%/runs/e2e/student.pt"}
        << "the checkpoint itself";
    QTest::newRow("export of a non-checkpoint")
        << QStringList{"export", "--checkpoint", "%TMP%/malformed.json", "--out", "%OUT%.onnx"}
        << "%TMP%/malformed.json";
    QTest::newRow("export into a path under a file")
        << QStringList{"export", "--checkpoint", "%TMP%/runs/e2e/student.pt", "--out",
                       "%TMP%/malformed.json/x.onnx"}
        << "Not a directory";
    QTest::newRow("export --bogus") << QStringList{"export", "--bogus", "1"} << "--bogus";
    QTest::newRow("predict without --model") << QStringList{"predict", "x.png"} << "--model";
    QTest::newRow("predict without images")
        << QStringList{"predict", "--model", "%TMP%/runs/e2e/export/student.onnx"} << "no images";
    QTest::newRow("predict --model missing")
        << QStringList{"predict", "--model", "%TMP%/none.onnx", "x.png"} << "%TMP%/none.onnx";
    QTest::newRow("predict --model not a model")
        << QStringList{"predict", "--model", "%TMP%/malformed.json", "x.png"} << "%TMP%/malformed.json";
    QTest::newRow("predict --top 0")
        << QStringList{"predict", "--model", "%TMP%/runs/e2e/export/student.onnx", "--top", "0", "x.png"}
        << "--top";
}

void TestCli::badInput() {
    QFETCH(QStringList, args);
    QFETCH(QString, mentions);
    QTemporaryDir tmp;
    QVERIFY(tmp.isValid());
    const QString out = tmp.filePath("out");
    for (QString& a : args) {
        a.replace("%OUT%", out);
        a.replace("%TMP%", m_tmp.path());
    }
    mentions.replace("%TMP%", m_tmp.path());
    const CliResult r = runCli(args, tmp.path(), 60000);
    QVERIFY2(r.finished, qPrintable(describe(r)));
    QCOMPARE(r.exitStatus, QProcess::NormalExit); // an error, not a crash
    QVERIFY2(r.exitCode != 0, qPrintable(describe(r)));
    QVERIFY2(!QFile::exists(out + "/summary.json"), "a failed run wrote summary.json");
    QVERIFY2(!QFile::exists(out + ".onnx") && !QFile::exists(out) && !QFile::exists(out + ".json"),
             "a failed export left a file");
    // Exactly one line on stderr: "error: ..." naming what is wrong.
    const QString err = QString::fromUtf8(r.err);
    QVERIFY2(err.startsWith("error: "), qPrintable(describe(r)));
    QVERIFY2(err.endsWith('\n') && err.count('\n') == 1,
             qPrintable(QString("stderr has %1 lines, expected 1:\n%2").arg(err.count('\n')).arg(err)));
    QVERIFY2(err.contains(mentions), qPrintable("stderr does not mention " + mentions + ":\n" + err));
}

// Bad input of issue 7 given to a folder that holds an earlier run's results: exit status 1 (not a signal),
// one "error: ..." line naming the file or setting, and every earlier file byte-identical, nothing added. The
// earlier files are stand-ins (their bytes are what is compared); %CASE% is a folder the row prepares as
// `setup` says, %OUT% the earlier run's folder.
void TestCli::badInputKeepsEarlierResults_data() {
    QTest::addColumn<QStringList>("args");
    QTest::addColumn<QString>("setup");
    QTest::addColumn<QString>("mentions");       // what the error line must name (%CASE% replaced)
    QTest::addColumn<QStringList>("progressOk"); // stderr lines allowed before the error line (prefixes)
    const auto run = [this](const QStringList& extra) {
        return QStringList{"run"} + quickArgs() + extra + QStringList{"--out", "%OUT%"};
    };
    const auto config = [this](const QString& file) {
        return QStringList{"run", "--config", file} + quickArgs() + QStringList{"--out", "%OUT%"};
    };
    const auto dataset = [this] {
        return QStringList{"run"} + quickArgs() +
               QStringList{"--dataset", "idx:%CASE%/data", "--out", "%OUT%"};
    };
    const QStringList none;
    // Loading a teacher checkpoint is announced before it is read.
    const QStringList loading{"[teacher] loading teacher "};
    auto row = [](const char* name, const QStringList& args, const QString& setup, const QString& mentions,
                  const QStringList& progressOk) {
        QTest::newRow(name) << args << setup << mentions << progressOk;
    };
    // Config files: malformed, wrong types, out of range, unreadable.
    row("config not JSON", config("%CASE%/s.json"), R"(json:{"epochs": 2,, "alpha": })",
        "%CASE%/s.json: not valid JSON", none);
    row("config truncated", config("%CASE%/s.json"), R"(json:{"epochs": 2, "alpha": 0.)",
        "%CASE%/s.json: not valid JSON", none);
    row("config an array", config("%CASE%/s.json"), "json:[1, 2]", "%CASE%/s.json: expected a JSON object",
        none);
    row("config epochs a string", config("%CASE%/s.json"), R"(json:{"epochs": "five"})",
        "%CASE%/s.json: epochs: expected a whole number", none);
    row("config student a number", config("%CASE%/s.json"), R"(json:{"student": 16})",
        "%CASE%/s.json: student: expected a string", none);
    row("config epochs beyond int", config("%CASE%/s.json"), R"(json:{"epochs": 3000000000})",
        "%CASE%/s.json: epochs: 3000000000 is out of range", none);
    row("config temperature \"nan\"", config("%CASE%/s.json"), R"(json:{"temperature": "nan"})",
        "%CASE%/s.json: temperature: expected a number", none);
    row("config seed negative", config("%CASE%/s.json"), R"(json:{"seed": -1})",
        "%CASE%/s.json: seed: -1 is out of range", none);
    row("config temperature 0", config("%CASE%/s.json"), R"(json:{"temperature": 0})",
        "temperature: must be in 0.1..100", none);
    row("config file is a folder", config("%CASE%/s.json"), "folder:s.json", "%CASE%/s.json: is a folder",
        none);
    row("config file under a regular file", config("%CASE%/a-file/s.json"), "",
        "%CASE%/a-file/s.json: cannot open (Not a directory)", none);
    row("config file unreadable (mode 000)", config("%CASE%/s.json"), R"(mode000:s.json:{"epochs": 1})",
        "%CASE%/s.json: cannot open (Permission denied)", none);
    // Ranges and values given as flags.
    row("--temperature -1", run({"--temperature", "-1"}), "", "temperature: must be in 0.1..100", none);
    row("--alpha -0.1", run({"--alpha", "-0.1"}), "", "alpha: must be in [0, 1], got -0.1", none);
    row("--alpha 1.1", run({"--alpha", "1.1"}), "", "alpha: must be in [0, 1], got 1.1", none);
    row("--teacher-epochs -1", run({"--teacher-epochs", "-1"}), "", "teacher_epochs: must be >= 0", none);
    row("--epochs 99999999999", run({"--epochs", "99999999999"}), "",
        "--epochs: epochs: 99999999999 is out of range", none);
    // Unknown presets and malformed specs.
    row("--student hinton-studnet", run({"--student", "hinton-studnet"}), "",
        "student: model spec 'hinton-studnet': unknown architecture", none);
    row("--teacher mlp:12,,4", run({"--teacher", "mlp:12,,4"}), "", "teacher: model spec 'mlp:12,,4'", none);
    // Malformed dataset files (the synthetic set, one file broken).
    row("dataset: truncated training images", dataset(), "idx:truncated-images",
        "%CASE%/data/train-images-idx3-ubyte: truncated", none);
    row("dataset: wrong magic", dataset(), "idx:wrong-magic",
        "%CASE%/data/t10k-images-idx3-ubyte: wrong magic", none);
    row("dataset: more labels than images", dataset(), "idx:label-count",
        "%CASE%/data/train-labels-idx1-ubyte: 401 labels", none);
    row("dataset: corrupt gzip", dataset(), "idx:corrupt-gzip",
        "%CASE%/data/t10k-labels-idx1-ubyte.gz: corrupt", none);
    row("dataset: empty file", dataset(), "idx:empty-file",
        "%CASE%/data/t10k-labels-idx1-ubyte: truncated header", none);
    row("dataset: train and test image sizes differ", dataset(), "idx:size-mismatch",
        "but test images are 14x14", none);
    row("dataset: a file is a folder", dataset(), "idx:file-is-folder",
        "%CASE%/data/train-images-idx3-ubyte: is a folder", none);
    row("dataset: the path is a file", run({"--dataset", "idx:%CASE%/a-file"}), "",
        "%CASE%/a-file: is not a folder", none);
    row("dataset: unreadable folder (mode 000)", dataset(), "idx:mode000", "%CASE%/data/", none);
    // Teacher checkpoints that do not fit, or are not checkpoints.
    row("teacher checkpoint for 5 classes", run({"--teacher-checkpoint", "%CASE%/teacher.pt"}),
        "ckpt:five-classes", "%CASE%/teacher.pt: teacher expects 28x28 images and 5 classes", loading);
    row("teacher checkpoint for 14x14 images", run({"--teacher-checkpoint", "%CASE%/teacher.pt"}),
        "ckpt:14x14", "%CASE%/teacher.pt: teacher expects 14x14 images", loading);
    row("teacher checkpoint truncated", run({"--teacher-checkpoint", "%CASE%/teacher.pt"}), "ckpt:truncated",
        "%CASE%/teacher.pt: not a readable checkpoint", loading);
    row("teacher checkpoint empty", run({"--teacher-checkpoint", "%CASE%/teacher.pt"}), "ckpt:empty",
        "%CASE%/teacher.pt: not a readable checkpoint", loading);
    row("teacher checkpoint not a checkpoint", run({"--teacher-checkpoint", "%CASE%/teacher.pt"}),
        "ckpt:json", "%CASE%/teacher.pt: not a readable checkpoint", loading);
    row("teacher checkpoint under a regular file", run({"--teacher-checkpoint", "%CASE%/a-file/teacher.pt"}),
        "", "%CASE%/a-file/teacher.pt: cannot open checkpoint (Not a directory)", loading);
    row("teacher checkpoint unreadable (mode 000)", run({"--teacher-checkpoint", "%CASE%/teacher.pt"}),
        "ckpt:mode000", "%CASE%/teacher.pt: cannot open checkpoint (Permission denied)", loading);
    // The other commands that write into a folder.
    row("sweep with a truncated teacher checkpoint",
        QStringList{"sweep"} + quickArgs() +
            QStringList{"--temperatures", "1,2", "--teacher-checkpoint", "%CASE%/teacher.pt", "--out",
                        "%OUT%"},
        "ckpt:truncated", "%CASE%/teacher.pt: not a readable checkpoint", QStringList{"sweep: ", loading[0]});
    row("merge of a folder without sweep.csv", QStringList{"merge", "%CASE%", "--out", "%OUT%"}, "",
        "%CASE%/sweep.csv", none);
    row("export of a truncated checkpoint",
        QStringList{"export", "--checkpoint", "%CASE%/teacher.pt", "--out", "%OUT%/export/student.onnx"},
        "ckpt:truncated", "%CASE%/teacher.pt: not a readable checkpoint", none);
    // The output folder itself read-only.
    row("--out read-only (mode 555)", run({}), "out:mode555",
        "%OUT%: folder is not writable (Permission denied)", none);
}

void TestCli::badInputKeepsEarlierResults() {
    QFETCH(QStringList, args);
    QFETCH(QString, setup);
    QFETCH(QString, mentions);
    QFETCH(QStringList, progressOk);
    if (setup.contains("mode") && ::geteuid() == 0)
        QSKIP("running as root, which reads and writes whatever the permission bits say");
    QTemporaryDir tmp;
    QVERIFY(tmp.isValid());
    const QString caseDir = tmp.filePath("case");
    const QString out = tmp.filePath("out");
    QVERIFY(QDir().mkpath(caseDir));
    QVERIFY(testdata::writeFile(caseDir + "/a-file", "x"));

    // The earlier run's folder (what run, sweep, merge and export write there, and run --resume reads).
    const QStringList earlier{"summary.json",        "metrics.csv",
                              "teacher.pt",          "baseline.pt",
                              "student.pt",          "config.json",
                              "sweep.csv",           "checkpoints/student.pt",
                              "export/student.onnx", "export/student.onnx.json"};
    for (const QString& name : earlier) {
        QVERIFY(QDir().mkpath(QFileInfo(out + "/" + name).path()));
        QVERIFY(testdata::writeFile(out + "/" + name, "earlier " + name.toUtf8() + "\n"));
    }

    const QString kind = setup.section(':', 0, 0), detail = setup.section(':', 1);
    if (kind == "json") {
        QVERIFY(testdata::writeFile(caseDir + "/s.json", detail.toUtf8()));
    } else if (kind == "folder") {
        QVERIFY(QDir().mkpath(caseDir + "/" + detail));
    } else if (kind == "mode000") {
        QVERIFY(
            testdata::writeFile(caseDir + "/" + detail.section(':', 0, 0), detail.section(':', 1).toUtf8()));
        QVERIFY(QFile::setPermissions(caseDir + "/" + detail.section(':', 0, 0), QFileDevice::Permissions()));
    } else if (kind == "idx") {
        const QString data = caseDir + "/data";
        QVERIFY(QDir().mkpath(data));
        testdata::Images train = testdata::syntheticImages(400, 1), test = testdata::syntheticImages(100, 2);
        if (detail == "size-mismatch") {
            test.rows = test.cols = 14;
            test.pixels.resize(test.labels.size() * 14 * 14);
        }
        QVERIFY(testdata::writeIdxFolder(data, train, test));
        if (detail == "truncated-images")
            QVERIFY(testdata::writeFile(data + "/train-images-idx3-ubyte", train.imageFile().chopped(100)));
        if (detail == "wrong-magic")
            QVERIFY(testdata::writeFile(data + "/t10k-images-idx3-ubyte",
                                        testdata::idxImages(100, 28, 28, test.pixels, 0x00000804)));
        if (detail == "label-count") {
            train.labels.push_back(3);
            QVERIFY(testdata::writeFile(data + "/train-labels-idx1-ubyte", train.labelFile()));
        }
        if (detail == "corrupt-gzip") {
            QVERIFY(QFile::remove(data + "/t10k-labels-idx1-ubyte"));
            QVERIFY(testdata::writeFile(data + "/t10k-labels-idx1-ubyte.gz", "\x1f\x8b not deflate data"));
        }
        if (detail == "empty-file")
            QVERIFY(testdata::writeFile(data + "/t10k-labels-idx1-ubyte", QByteArray()));
        if (detail == "file-is-folder") {
            QVERIFY(QFile::remove(data + "/train-images-idx3-ubyte"));
            QVERIFY(QDir().mkpath(data + "/train-images-idx3-ubyte"));
        }
        if (detail == "mode000")
            QVERIFY(QFile::setPermissions(data, QFileDevice::Permissions()));
    } else if (kind == "ckpt") {
        const QString path = caseDir + "/teacher.pt";
        if (detail == "five-classes" || detail == "14x14") {
            const QString made = teacherCheckpointFor(detail);
            QVERIFY2(!made.isEmpty(), "could not train the other dataset's teacher");
            QVERIFY(QFile::copy(made, path));
        } else if (detail == "truncated" || detail == "mode000") {
            QFile full(m_e2eOut + "/teacher.pt");
            QVERIFY2(full.open(QIODevice::ReadOnly), "the end-to-end run wrote no teacher.pt");
            const QByteArray bytes = full.readAll();
            QVERIFY(testdata::writeFile(path, detail == "truncated" ? bytes.left(bytes.size() / 2) : bytes));
            if (detail == "mode000")
                QVERIFY(QFile::setPermissions(path, QFileDevice::Permissions()));
        } else {
            QVERIFY(
                testdata::writeFile(path, detail == "json" ? QByteArray(R"({"epochs": 1})") : QByteArray()));
        }
    } else if (kind == "out") {
        QVERIFY(QFile::setPermissions(out, QFileDevice::ReadOwner | QFileDevice::ExeOwner));
    }

    for (QString& a : args) {
        a.replace("%OUT%", out);
        a.replace("%CASE%", caseDir);
    }
    mentions.replace("%CASE%", caseDir).replace("%OUT%", out);
    const CliResult r = runCli(args, tmp.path(), 60000);
    // Undo the permission changes, so the checks below and QTemporaryDir can read and remove everything.
    const auto all = QFileDevice::ReadOwner | QFileDevice::WriteOwner | QFileDevice::ExeOwner;
    for (const QString& path : {out, caseDir + "/data", caseDir + "/s.json", caseDir + "/teacher.pt"})
        if (QFileInfo::exists(path))
            QFile::setPermissions(path, all);

    QVERIFY2(r.finished, qPrintable(describe(r)));
    QCOMPARE(r.exitStatus, QProcess::NormalExit); // an error, not a crash
    QVERIFY2(r.exitCode == 1, qPrintable(describe(r)));
    const QStringList lines = QString::fromUtf8(r.err).split('\n');
    QVERIFY2(lines.size() >= 2 && lines.back().isEmpty(), qPrintable(describe(r)));
    const QString error = lines[lines.size() - 2];
    QVERIFY2(error.startsWith("error: ") && error.contains(mentions),
             qPrintable("the last stderr line is not an error naming '" + mentions + "':\n" + describe(r)));
    for (qsizetype i = 0; i + 2 < lines.size(); ++i) {
        bool allowed = false;
        for (const QString& prefix : progressOk)
            allowed = allowed || lines[i].startsWith(prefix);
        QVERIFY2(allowed, qPrintable("unexpected stderr line '" + lines[i] + "':\n" + describe(r)));
    }

    // The earlier results, as they were, and nothing beside them.
    QStringList found;
    QDirIterator it(out, QDir::Files | QDir::Hidden | QDir::NoDotAndDotDot, QDirIterator::Subdirectories);
    while (it.hasNext())
        found << QDir(out).relativeFilePath(it.next());
    found.sort();
    QStringList expected = earlier;
    expected.sort();
    QCOMPARE(found, expected);
    for (const QString& name : earlier) {
        QFile f(out + "/" + name);
        QVERIFY(f.open(QIODevice::ReadOnly));
        QVERIFY2(f.readAll() == "earlier " + name.toUtf8() + "\n", qPrintable(name + " was overwritten"));
    }
}

// --out that cannot be a writable folder: refused before any training, with the path named; a regular file in
// the way is left as it was.
void TestCli::unwritableOut_data() {
    QTest::addColumn<QString>(
        "out"); // %CASE%: a folder holding the regular file "a-file" and the folder "ro"
    QTest::addColumn<QString>("mentions");
    QTest::newRow("--out is a regular file") << "%CASE%/a-file"
                                             << "%CASE%/a-file: %CASE%/a-file exists and is not a folder";
    QTest::newRow("--out under a regular file")
        << "%CASE%/a-file/run"
        << "%CASE%/a-file/run: %CASE%/a-file exists and is not a folder";
    QTest::newRow("--out where no folder can be made")
        << "/proc/kdlab-test/run"
        << "/proc/kdlab-test/run: cannot create folder /proc/kdlab-test";
    QTest::newRow("--out in a read-only folder (mode 555)")
        << "%CASE%/ro/run"
        << "%CASE%/ro/run: cannot create folder %CASE%/ro/run (Permission denied)";
}

void TestCli::unwritableOut() {
    QFETCH(QString, out);
    QFETCH(QString, mentions);
    const bool readOnly = out.contains("/ro/");
    if (readOnly && ::geteuid() == 0)
        QSKIP("running as root, which writes into a folder of mode 555");
    QTemporaryDir tmp;
    QVERIFY(tmp.isValid());
    const QString caseDir = tmp.path();
    QVERIFY(testdata::writeFile(caseDir + "/a-file", "earlier"));
    QVERIFY(QDir(caseDir).mkdir("ro"));
    if (readOnly)
        QVERIFY(QFile::setPermissions(caseDir + "/ro", QFileDevice::ReadOwner | QFileDevice::ExeOwner));
    out.replace("%CASE%", caseDir);
    mentions.replace("%CASE%", caseDir);
    const CliResult r = runCli(QStringList{"run"} + quickArgs() + QStringList{"--out", out}, caseDir, 60000);
    QFile::setPermissions(caseDir + "/ro",
                          QFileDevice::ReadOwner | QFileDevice::WriteOwner | QFileDevice::ExeOwner);
    QVERIFY2(r.finished, qPrintable(describe(r)));
    QCOMPARE(r.exitStatus, QProcess::NormalExit);
    QVERIFY2(r.exitCode == 1, qPrintable(describe(r)));
    const QString err = QString::fromUtf8(r.err);
    // One line: nothing was trained before the path was refused.
    QVERIFY2(err.startsWith("error: ") && err.endsWith('\n') && err.count('\n') == 1,
             qPrintable(describe(r)));
    QVERIFY2(err.contains(mentions), qPrintable("stderr does not mention " + mentions + ":\n" + err));
    QFile file(caseDir + "/a-file");
    QVERIFY(file.open(QIODevice::ReadOnly));
    QCOMPARE(file.readAll(), QByteArray("earlier"));
    QVERIFY(QDir(caseDir + "/ro").isEmpty());
}

// The teacher checkpoint of a quick run on another dataset (`which`: "five-classes", 28x28 images of 5
// classes; "14x14", 10 classes), trained once and kept for the test run; empty if that run failed.
QString TestCli::teacherCheckpointFor(const QString& which) {
    const QString dir = m_tmp.filePath("other-data/" + which);
    const QString checkpoint = dir + "/run/teacher.pt";
    if (QFile::exists(checkpoint))
        return checkpoint;
    testdata::Images train = testdata::syntheticImages(200, 3), test = testdata::syntheticImages(50, 4);
    for (testdata::Images* set : {&train, &test}) {
        if (which == "five-classes") {
            for (std::uint8_t& label : set->labels)
                label %= 5;
        } else { // every other row and column: 14x14
            std::vector<std::uint8_t> small;
            for (std::size_t i = 0; i < set->labels.size(); ++i)
                for (int y = 0; y < 28; y += 2)
                    for (int x = 0; x < 28; x += 2)
                        small.push_back(set->pixels[i * 784 + std::size_t(y * 28 + x)]);
            set->pixels = small;
            set->rows = set->cols = 14;
        }
    }
    if (!QDir().mkpath(dir + "/data") || !testdata::writeIdxFolder(dir + "/data", train, test))
        return {};
    const CliResult r =
        runCli({"run", "--dataset", "idx:" + dir + "/data", "--teacher", "mlp:8", "--student", "mlp:8",
                "--teacher-epochs", "1", "--epochs", "0", "--threads", "1", "--out", dir + "/run"},
               dir, 120000);
    return r.finished && r.exitCode == 0 && QFile::exists(checkpoint) ? checkpoint : QString();
}

// `sweep --shard I/N` as array tasks of a scheduler would run them, joined by `merge`: the same rows as one
// sweep.
void TestCli::sweepShardsMergeToTheWholeSweep() {
    QTemporaryDir tmp;
    const QStringList grid =
        QStringList{"--temperatures", "1,2", "--alphas", "0.5", "--seeds", "2"} + quickArgs();
    const CliResult whole =
        runCli(QStringList{"sweep"} + grid + QStringList{"--out", "whole"}, tmp.path(), 120000);
    QVERIFY2(whole.finished && whole.exitCode == 0, qPrintable(describe(whole)));
    for (const char* shard : {"0/2", "1/2"}) {
        const CliResult r =
            runCli(QStringList{"sweep"} + grid +
                       QStringList{"--shard", shard, "--out", QString("shard-%1").arg(shard[0])},
                   tmp.path(), 120000);
        QVERIFY2(r.finished && r.exitCode == 0, qPrintable(describe(r)));
        QVERIFY(r.err.contains("2 of the plan's 4 cell(s)"));
    }
    const CliResult merged = runCli({"merge", "shard-0", "shard-1", "--out", "merged"}, tmp.path(), 30000);
    QVERIFY2(merged.finished && merged.exitCode == 0, qPrintable(describe(merged)));
    auto read = [&](const QString& path) {
        QFile f(tmp.filePath(path));
        return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
    };
    const QByteArray csv = read("whole/sweep.csv");
    QCOMPARE(csv.count('\n'), 5); // header + 2 temperatures x 1 alpha x 2 seeds
    QVERIFY(csv.startsWith("index,student,temperature,alpha,seed,test_accuracy,test_loss,"));
    QCOMPARE(read("merged/sweep.csv"), csv);
    QCOMPARE(read("merged/summary.json"), read("whole/summary.json"));
    QString error;
    const QJsonObject summary = readJsonObject(tmp.filePath("whole/summary.json"), &error);
    QVERIFY2(error.isEmpty(), qPrintable(error));
    QCOMPARE(summary["cells"].toArray().size(), 2);
    QCOMPARE(summary["cells"].toArray()[0].toObject()["seeds"].toInt(), 2);
}

void TestCli::resumeAfterAnInterruption_data() {
    QTest::addColumn<bool>("kill");      // SIGKILL (a crash, kill -9); else SIGTERM (Ctrl-C, a batch system)
    QTest::addColumn<QString>("during"); // the model training when the signal comes
    QTest::newRow("kill -9 in the baseline") << true << "baseline";
    QTest::newRow("kill -9 in the student") << true << "student";
    QTest::newRow("SIGTERM in the student") << false << "student";
}

// `run --resume DIR` after a kill -9 or a SIGTERM ends with the numbers of the uninterrupted run: every
// model's accuracy and loss, and every epoch's losses in metrics.csv.
void TestCli::resumeAfterAnInterruption() {
    QFETCH(bool, kill);
    QFETCH(QString, during);
    QTemporaryDir tmp;
    QVERIFY(tmp.isValid());
    QStringList args{"run"};
    args << quickArgs() << "--teacher"
         << "mlp:32+dropout=0.3"
         << "--epochs"
         << "300"
         << "--threads"
         << "1";
    // The uninterrupted run, once for all rows.
    const QString referenceDir = m_tmp.filePath("resume-reference");
    if (!QFile::exists(referenceDir + "/summary.json")) {
        const CliResult reference = runCli(args + QStringList{"--out", referenceDir}, tmp.path(), 240000);
        QVERIFY2(reference.finished && reference.exitStatus == QProcess::NormalExit &&
                     reference.exitCode == 0,
                 qPrintable(describe(reference)));
    }

    QProcess p;
    p.setWorkingDirectory(tmp.path());
    p.start(QStringLiteral(KDLAB_CLI_PATH), args + QStringList{"--out", "out"});
    QVERIFY(p.waitForStarted(10000));
    const QByteArray mark = (during.leftJustified(8) + " epoch 3/").toUtf8();
    QByteArray err;
    QElapsedTimer timer;
    timer.start();
    while (!err.contains(mark) && timer.elapsed() < 120000 && p.state() == QProcess::Running) {
        p.waitForReadyRead(50);
        err += p.readAllStandardError();
    }
    QVERIFY2(err.contains(mark), err.constData());
    if (kill)
        p.kill();
    else
        p.terminate();
    QVERIFY(p.waitForFinished(60000));
    err += p.readAllStandardError();
    const QByteArray out = p.readAllStandardOutput();
    if (kill) {
        QCOMPARE(p.exitStatus(), QProcess::CrashExit);
    } else {
        QVERIFY2(p.exitStatus() == QProcess::NormalExit && p.exitCode() == 130, err.constData());
        QVERIFY2(out.contains("kdlab-cli run --resume out"), out.constData()); // it says how to go on
    }

    const CliResult resumed = runCli({"run", "--resume", "out"}, tmp.path(), 240000);
    QVERIFY2(resumed.finished && resumed.exitStatus == QProcess::NormalExit && resumed.exitCode == 0,
             qPrintable(describe(resumed)));
    QVERIFY2(resumed.err.contains(during.toUtf8() + ": resumed after epoch "), qPrintable(describe(resumed)));
    QVERIFY2(!resumed.err.contains("teacher  epoch"), qPrintable(describe(resumed))); // not trained again

    QString error;
    const QJsonObject a = readJsonObject(referenceDir + "/summary.json", &error);
    QVERIFY2(error.isEmpty(), qPrintable(error));
    const QJsonObject b = readJsonObject(tmp.filePath("out/summary.json"), &error);
    QVERIFY2(error.isEmpty(), qPrintable(error));
    QCOMPARE(b.value("stopped").toBool(true), false);
    for (const char* model : {"teacher", "baseline", "student"})
        for (const char* key : {"test_accuracy", "test_loss", "epochs_trained"})
            QVERIFY2(a.value(model).toObject().value(key) == b.value(model).toObject().value(key),
                     qPrintable(QString("%1 %2: %3 uninterrupted, %4 resumed")
                                    .arg(model, key)
                                    .arg(a.value(model).toObject().value(key).toDouble(), 0, 'g', 17)
                                    .arg(b.value(model).toObject().value(key).toDouble(), 0, 'g', 17)));
    const QList<QStringList> ra = readCsv(referenceDir + "/metrics.csv");
    const QList<QStringList> rb = readCsv(tmp.filePath("out/metrics.csv"));
    QCOMPARE(rb.size(), ra.size());
    for (int i = 0; i < ra.size(); ++i) // model, epoch, losses, accuracy, T, alpha; not the timings
        QCOMPARE(rb[i].mid(0, 9), ra[i].mid(0, 9));
    QVERIFY(QFile::exists(tmp.filePath("out/student.pt")));
}

void TestCli::resumeRefusals_data() {
    QTest::addColumn<QStringList>("args");
    QTest::addColumn<QString>("expected");
    QTest::newRow("a setting with --resume")
        << QStringList{"--resume", "done", "--epochs", "3"}
        << "--resume done: the settings come from done/config.json; --epochs cannot be changed when resuming";
    QTest::newRow("a config file with --resume")
        << QStringList{"--resume", "done", "--config", "done/config.json"} << "--config cannot be given too";
    QTest::newRow("not a run folder")
        << QStringList{"--resume", "elsewhere"} << "--resume elsewhere: no config.json there";
    QTest::newRow("no checkpoints") << QStringList{"--resume", "nocheckpoints"}
                                    << "nocheckpoints/checkpoints: no checkpoints to resume from";
}

// What cannot be resumed says why, in one line, exits 1, and leaves the run's folder as it was.
void TestCli::resumeRefusals() {
    QFETCH(QStringList, args);
    QFETCH(QString, expected);
    QTemporaryDir tmp;
    QVERIFY(tmp.isValid());
    const CliResult done =
        runCli(QStringList{"run"} + quickArgs() + QStringList{"--out", "done"}, tmp.path(), 120000);
    QVERIFY2(done.finished && done.exitCode == 0, qPrintable(describe(done)));
    QVERIFY(QDir().mkpath(tmp.filePath("elsewhere")));
    QVERIFY(QDir().mkpath(tmp.filePath("nocheckpoints")));
    QVERIFY(QFile::copy(tmp.filePath("done/config.json"), tmp.filePath("nocheckpoints/config.json")));
    QFile summary(tmp.filePath("done/summary.json"));
    QVERIFY(summary.open(QIODevice::ReadOnly));
    const QByteArray before = summary.readAll();
    summary.close();
    const CliResult r = runCli(QStringList{"run"} + args, tmp.path(), 60000);
    QVERIFY2(r.finished && r.exitStatus == QProcess::NormalExit && r.exitCode == 1, qPrintable(describe(r)));
    const QString err = QString::fromUtf8(r.err).trimmed();
    QVERIFY2(err.startsWith("error: ") && !err.contains('\n') && err.contains(expected), qPrintable(err));
    QVERIFY(summary.open(QIODevice::ReadOnly));
    QCOMPARE(summary.readAll(), before);
}

QTEST_GUILESS_MAIN(TestCli)
#include "tst_cli.moc"
