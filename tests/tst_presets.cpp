// The guided presets in resources/presets: each loads, explains itself, validates, and runs (every run of a
// series, on generated data with one epoch each, keeping the preset's models, T, alpha and transfer set).
#include "kdcore/config.h"
#include "kdcore/error.h"
#include "kdcore/modelspec.h"
#include "kdcore/trainer.h"

#include "testdata.h"
#include "testutil.h"

#include <QDir>
#include <QTemporaryDir>
#include <QTest>

namespace {

class PhaseRecorder : public kd::TrainingObserver {
public:
    int teacherBatches = 0;
    void batchFinished(const kd::BatchMetrics& m) override {
        if (m.role == kd::Role::Teacher)
            ++teacherBatches;
    }
};

} // namespace

class TestPresets : public QObject {
    Q_OBJECT

private slots:
    void initTestCase();
    void presetLoadsAndRuns_data();
    void presetLoadsAndRuns();
    void guidedPresetsArePresent();
    void badPresetFile_data();
    void badPresetFile();

private:
    QTemporaryDir m_tmp;
    QString m_dataDir;
};

void TestPresets::initTestCase() {
    QVERIFY(m_tmp.isValid());
    m_dataDir = m_tmp.filePath("synthetic");
    QVERIFY(QDir().mkpath(m_dataDir));
    QVERIFY(testdata::writeIdxFolder(m_dataDir, testdata::syntheticImages(400, 1),
                                     testdata::syntheticImages(100, 2)));
}

void TestPresets::presetLoadsAndRuns_data() {
    QTest::addColumn<QString>("path");
    const QDir dir(QStringLiteral(KDLAB_PRESETS_DIR));
    for (const QString& f : dir.entryList({QStringLiteral("*.json")}, QDir::Files))
        QTest::newRow(qPrintable(f)) << dir.filePath(f);
}

void TestPresets::presetLoadsAndRuns() {
    QFETCH(QString, path);
    kd::Preset preset;
    try {
        preset = kd::presetFromFile(path.toStdString());
    } catch (const kd::Error& e) {
        QFAIL(e.what());
    }
    // Shown in the app: a name for the menu and a short explanation a teacher can read aloud.
    QVERIFY(!preset.name.empty());
    QVERIFY(preset.explanation.size() > 40);
    QVERIFY2(preset.explanation.size() < 600, "explanations stay short (a few sentences)");
    QVERIFY(!preset.runs.empty());

    kd::Trainer trainer;
    PhaseRecorder rec;
    trainer.setObserver(&rec);
    for (std::size_t i = 0; i < preset.runs.size(); ++i) {
        kd::ExperimentConfig c = preset.runs[i];
        try {
            kd::validateConfig(c);
        } catch (const kd::Error& e) {
            QFAIL(qPrintable(QString("run %1: %2").arg(i).arg(e.what())));
        }
        // Quick: generated 10-class data and one epoch each; everything else as the preset says.
        c.dataset = "idx:" + m_dataDir.toStdString();
        c.teacherEpochs = 1;
        c.epochs = 1;
        c.device = "cpu";
        rec.teacherBatches = 0;
        kd::ExperimentResult r;
        try {
            r = trainer.run(c, /*reuseTeacher=*/i > 0);
        } catch (const kd::Error& e) {
            QFAIL(qPrintable(QString("run %1: %2").arg(i).arg(e.what())));
        }
        QVERIFY(!r.stopped);
        // A normal run is never flagged as diverged (NaN, Inf or an exploding loss).
        for (const kd::ModelResult* m : {&r.teacher, &r.baseline, &r.student})
            QVERIFY2(m->divergence.empty(), m->divergence.c_str());
        for (const kd::StageResult& st : r.stages)
            QVERIFY2(st.model.divergence.empty(), st.model.divergence.c_str());
        QCOMPARE(r.student.epochsTrained, 1);
        QCOMPARE(QString::fromStdString(r.student.spec),
                 QString::fromStdString(kd::parseModelSpec(c.student).toString()));
        if (i > 0)
            QCOMPARE(rec.teacherBatches, 0); // a series reuses its teacher
    }
}

// The presets issue #4 asks for, by name, with the settings that make their point.
void TestPresets::guidedPresetsArePresent() {
    const QDir dir(QStringLiteral(KDLAB_PRESETS_DIR));
    auto load = [&](const char* file) { return kd::presetFromFile(dir.filePath(file).toStdString()); };
    const kd::Preset hinton = load("hinton-2015.json");
    QCOMPARE(hinton.config.teacher, std::string("mlp:1200,1200+dropout=0.5"));
    QCOMPARE(hinton.config.student, std::string("mlp:800,800"));
    QCOMPARE(hinton.config.temperature, 20.0);
    QCOMPARE(hinton.config.dataset, std::string("mnist")); // the real MNIST, 60,000 / 10,000
    // The default experiment is the engine's defaults, key for key.
    const kd::Preset defaults = load("fashion-mnist-default.json");
    QCOMPARE(kd::configToJson(defaults.config), kd::configToJson(kd::ExperimentConfig{}));
    // A default student smaller than its teacher, in parameters and in FLOPs per image (the lesson).
    const kd::ModelStats teacherStats = kd::modelStats(kd::parseModelSpec(defaults.config.teacher));
    const kd::ModelStats studentStats = kd::modelStats(kd::parseModelSpec(defaults.config.student));
    QVERIFY(studentStats.params < teacherStats.params);
    QVERIFY(studentStats.flopsPerSample < teacherStats.flopsPerSample);
    QCOMPARE(load("tiny-student.json").config.student, std::string("mlp:32"));
    const kd::Preset temps = load("temperature-matters.json");
    QCOMPARE(temps.runs.size(), std::size_t(3));
    QCOMPARE(temps.runs[0].temperature, 1.0);
    QCOMPARE(temps.runs[1].temperature, 4.0);
    QCOMPARE(temps.runs[2].temperature, 10.0);
    QCOMPARE(temps.runs[2].student, temps.runs[0].student); // only T differs
    QCOMPARE(load("few-labels.json").config.transferLimit, std::int64_t(5000));
    const kd::Preset omitted = load("omitted-class.json");
    QCOMPARE(omitted.config.omitClass, 3);
    QCOMPARE(omitted.config.dataset, std::string("mnist-digits"));
    // One preset per method (issue #5), each set up the way its method needs.
    const kd::Preset ensemble = load("ensemble.json");
    QCOMPARE(ensemble.config.method, std::string("ensemble"));
    QVERIFY(kd::ensembleMemberSpecs(ensemble.config).size() >= 2);
    const kd::Preset bornAgain = load("born-again.json");
    QCOMPARE(bornAgain.config.method, std::string("born-again"));
    QVERIFY(bornAgain.config.generations >= 2);
    QCOMPARE(bornAgain.config.student, bornAgain.config.teacher); // what the run will train anyway
    const kd::Preset assistant = load("teacher-assistant.json");
    QCOMPARE(assistant.config.method, std::string("assistant"));
    // The assistant sits between student and teacher in compute per image (a CNN has few parameters for its
    // FLOPs, so parameters would not order them).
    auto flops = [](const std::string& spec) {
        return kd::modelStats(kd::parseModelSpec(spec)).flopsPerSample;
    };
    QVERIFY(flops(assistant.config.student) < flops(assistant.config.assistant));
    QVERIFY(flops(assistant.config.assistant) < flops(assistant.config.teacher));
}

// A preset file with bad input is refused when loaded (JSON, keys, types) or, for a value out of range or an
// unknown model preset, when its run is validated, as the app does before training it.
void TestPresets::badPresetFile_data() {
    QTest::addColumn<QByteArray>("content"); // "<none>": no file
    QTest::addColumn<int>("run");            // -1: refused when loaded; else the run that fails validation
    QTest::addColumn<QString>("expected");   // after "PATH: " (load) or in the message (validation)
    QTest::newRow("missing file") << QByteArray("<none>") << -1 << "cannot open (No such file or directory)";
    QTest::newRow("not JSON") << QByteArray("name: x") << -1 << "not valid JSON (";
    QTest::newRow("truncated") << QByteArray(R"({"name": "T", "runs": [{"temperature": 1})") << -1
                               << "not valid JSON (";
    QTest::newRow("an array") << QByteArray("[]") << -1 << "expected a JSON object of settings, got array";
    QTest::newRow("name a number") << QByteArray(R"({"name": 1})") << -1 << "name: expected a string, got 1";
    QTest::newRow("runs empty") << QByteArray(R"({"runs": []})") << -1
                                << "runs: expected a non-empty list of settings objects";
    QTest::newRow("unknown key in a run") << QByteArray(R"({"runs": [{}, {"temprature": 4}]})") << -1
                                          << "runs[1]: unknown setting 'temprature'";
    QTest::newRow("a run's alpha a string") << QByteArray(R"({"runs": [{"alpha": "half"}]})") << -1
                                            << "runs[0]: alpha: expected a number, got \"half\"";
    QTest::newRow("unknown top-level key")
        << QByteArray(R"({"name": "x", "epoch": 2})") << -1 << "unknown setting 'epoch'";
    QTest::newRow("a run's temperature 0")
        << QByteArray(R"({"runs": [{"temperature": 2}, {"temperature": 0}]})") << 1
        << "temperature: must be in 0.1..100";
    QTest::newRow("a run's alpha 1.1")
        << QByteArray(R"({"runs": [{"alpha": 1.1}]})") << 0 << "alpha: must be in [0, 1]";
    QTest::newRow("misspelled model preset") << QByteArray(R"({"student": "hinton-studnet"})") << 0
                                             << "student: model spec 'hinton-studnet': unknown architecture";
    QTest::newRow("a run's batch size 0")
        << QByteArray(R"({"runs": [{}, {}, {"batch_size": 0}]})") << 2 << "batch_size: must be >= 1";
}

void TestPresets::badPresetFile() {
    QFETCH(QByteArray, content);
    QFETCH(int, run);
    QFETCH(QString, expected);
    QTemporaryDir tmp;
    QVERIFY(tmp.isValid());
    const QString path = tmp.filePath("preset.json");
    if (content != "<none>")
        QVERIFY(testdata::writeFile(path, content));
    QString msg;
    if (run < 0) {
        KD_EXPECT_ERROR(msg, kd::presetFromFile(path.toStdString()));
        QVERIFY2(msg.startsWith(path + ": " + expected),
                 qPrintable("expected '" + path + ": " + expected + "...', got: " + msg));
    } else {
        kd::Preset preset;
        msg = testutil::errorMessage([&] { preset = kd::presetFromFile(path.toStdString()); });
        QVERIFY2(msg == "<no error>", qPrintable(msg));
        QVERIFY(std::size_t(run) < preset.runs.size());
        for (int i = 0; i < run; ++i)
            kd::validateConfig(preset.runs[std::size_t(i)]);
        KD_EXPECT_ERROR(msg, kd::validateConfig(preset.runs[std::size_t(run)]));
        QVERIFY2(msg.contains(expected), qPrintable("expected '" + expected + "' in: " + msg));
    }
    QVERIFY2(!msg.contains('\n'), qPrintable("message is not one line: " + msg));
}

QTEST_GUILESS_MAIN(TestPresets)
#include "tst_presets.moc"
