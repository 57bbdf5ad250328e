// kd::ExperimentConfig: JSON files, CLI flag text, validation (the methods' keys included); and the report's
// readings of a result: kd::gapRecovered, the methods' comparison rows and verdicts.
#include "kdcore/config.h"
#include "kdcore/error.h"
#include "kdcore/report.h"

#include "testutil.h"

#include <QDir>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QSet>
#include <QTemporaryDir>
#include <QTest>

#include <cmath>
#include <functional>
#include <limits>

using Mutator = std::function<void(kd::ExperimentConfig&)>;
Q_DECLARE_METATYPE(Mutator)

namespace {

// Every field, so a comparison failure names the field.
void compareConfigs(const kd::ExperimentConfig& a, const kd::ExperimentConfig& b) {
    QCOMPARE(a.dataset, b.dataset);
    QCOMPARE(a.trainLimit, b.trainLimit);
    QCOMPARE(a.testLimit, b.testLimit);
    QCOMPARE(a.transferLimit, b.transferLimit);
    QCOMPARE(a.omitClass, b.omitClass);
    QCOMPARE(a.teacher, b.teacher);
    QCOMPARE(a.student, b.student);
    QCOMPARE(a.teacherCheckpoint, b.teacherCheckpoint);
    QCOMPARE(a.temperature, b.temperature);
    QCOMPARE(a.alpha, b.alpha);
    QCOMPARE(a.method, b.method);
    QCOMPARE(a.ensembleSize, b.ensembleSize);
    QCOMPARE(a.ensembleTeachers, b.ensembleTeachers);
    QCOMPARE(a.generations, b.generations);
    QCOMPARE(a.assistant, b.assistant);
    QCOMPARE(a.augment, b.augment);
    QCOMPARE(a.shiftPixels, b.shiftPixels);
    QCOMPARE(a.teacherAugment, b.teacherAugment);
    QCOMPARE(a.epochs, b.epochs);
    QCOMPARE(a.teacherEpochs, b.teacherEpochs);
    QCOMPARE(a.batchSize, b.batchSize);
    QCOMPARE(a.lr, b.lr);
    QCOMPARE(a.lrSchedule, b.lrSchedule);
    QCOMPARE(a.optimizer, b.optimizer);
    QCOMPARE(a.momentum, b.momentum);
    QCOMPARE(a.weightDecay, b.weightDecay);
    QCOMPARE(a.seed, b.seed);
    QCOMPARE(a.teacherSeed, b.teacherSeed);
    QCOMPARE(a.device, b.device);
    QCOMPARE(a.threads, b.threads);
    QCOMPARE(a.out, b.out);
}

// A JSON object setting every key to a value different from its default.
const char* const kEveryKey = R"({
    "dataset": "idx:/data/my-set",
    "train_limit": 1234,
    "test_limit": 567,
    "transfer_limit": 890,
    "omit_class": 4,
    "teacher": "lenet5",
    "student": "mlp:16,8",
    "teacher_checkpoint": "/tmp/teacher.pt",
    "temperature": 7.5,
    "alpha": 0.125,
    "method": "born-again",
    "ensemble_size": 5,
    "ensemble_teachers": "mlp:64; lenet5",
    "generations": 4,
    "assistant": "mlp:256",
    "augment": "shift",
    "shift_pixels": 3,
    "teacher_augment": "shift-flip",
    "epochs": 11,
    "teacher_epochs": 13,
    "batch_size": 64,
    "lr": 0.0025,
    "lr_schedule": "cosine",
    "optimizer": "sgd",
    "momentum": 0.8,
    "weight_decay": 0.0001,
    "seed": 98765432109,
    "teacher_seed": 42,
    "device": "cpu",
    "threads": 3,
    "out": "results/run-1"
})";

kd::ExperimentConfig everyKeyConfig() {
    kd::ExperimentConfig c;
    c.dataset = "idx:/data/my-set";
    c.trainLimit = 1234;
    c.testLimit = 567;
    c.transferLimit = 890;
    c.omitClass = 4;
    c.teacher = "lenet5";
    c.student = "mlp:16,8";
    c.teacherCheckpoint = "/tmp/teacher.pt";
    c.temperature = 7.5;
    c.alpha = 0.125;
    c.method = "born-again";
    c.ensembleSize = 5;
    c.ensembleTeachers = "mlp:64; lenet5";
    c.generations = 4;
    c.assistant = "mlp:256";
    c.augment = "shift";
    c.shiftPixels = 3;
    c.teacherAugment = "shift-flip";
    c.epochs = 11;
    c.teacherEpochs = 13;
    c.batchSize = 64;
    c.lr = 0.0025;
    c.lrSchedule = "cosine";
    c.optimizer = "sgd";
    c.momentum = 0.8;
    c.weightDecay = 0.0001;
    c.seed = 98765432109ull;
    c.teacherSeed = 42;
    c.device = "cpu";
    c.threads = 3;
    c.out = "results/run-1";
    return c;
}

kd::ModelResult reachedModel(const std::string& spec, double accuracy) {
    kd::ModelResult m;
    m.spec = spec;
    m.testAccuracy = accuracy;
    m.testLoss = 1 - accuracy;
    m.epochsTrained = 1;
    m.trained = true;
    return m;
}

kd::StageResult stage(const std::string& id, const std::string& name, const std::string& kind,
                      const kd::ModelResult& model) {
    return kd::StageResult{id, name, kind, model, {}};
}

// A finished run of `method` as the trainer reports it: teacher 0.90, baseline 0.80, student 0.85; ensemble:
// members 0.86, 0.88, 0.87; born-again: generations 1 and 2 at 0.83 and 0.84; assistant: assistant 0.87,
// direct KD 0.84.
kd::ExperimentResult methodResult(const std::string& method) {
    kd::ExperimentResult r;
    r.method = method;
    r.teacher = reachedModel(method == "ensemble" ? "3 x mlp:64" : "mlp:64", 0.90);
    r.baseline = reachedModel("mlp:16", 0.80);
    r.student = reachedModel("mlp:16", 0.85);
    if (method == "ensemble")
        for (int k = 1; k <= 3; ++k)
            r.stages.push_back(stage("member-" + std::to_string(k), "member " + std::to_string(k), "member",
                                     reachedModel("mlp:64", k == 2 ? 0.88 : 0.85 + 0.01 * k)));
    if (method == "born-again") {
        r.baseline.spec = r.student.spec = "mlp:64";
        for (int g = 1; g <= 2; ++g)
            r.stages.push_back(stage("generation-" + std::to_string(g), "generation " + std::to_string(g),
                                     "generation", reachedModel("mlp:64", 0.82 + 0.01 * g)));
    }
    if (method == "assistant") {
        r.stages.push_back(stage("assistant", "assistant", "assistant", reachedModel("mlp:32", 0.87)));
        r.stages.push_back(stage("direct", "direct KD", "direct", reachedModel("mlp:16", 0.84)));
    }
    return r;
}

} // namespace

class TestConfig : public QObject {
    Q_OBJECT

private slots:
    void configFromJson_readsEveryKey();
    void configFromJson_keepsBaseForMissingKeys();
    void configFromFile_readsFile();
    void configFromJson_unknownKey();
    void configFromJson_wrongType_data();
    void configFromJson_wrongType();
    void configFromJson_wrongKind_data();
    void configFromJson_wrongKind();
    void configFromJson_invalidJson_data();
    void configFromJson_invalidJson();
    void configFromFile_missingFile();
    void configFromFile_unreadable_data();
    void configFromFile_unreadable();
    void setConfigValue_valid_data();
    void setConfigValue_valid();
    void setConfigValue_invalid_data();
    void setConfigValue_invalid();
    void validateConfig_acceptsDefaults();
    void validateConfig_rejects_data();
    void validateConfig_rejects();
    void validateConfig_teacherSpecIgnoredWithCheckpoint();
    void validateConfig_acceptsMethods_data();
    void validateConfig_acceptsMethods();
    void methodNamesInOrder();
    void ensembleMemberSpecs_data();
    void ensembleMemberSpecs();
    void validateConfig_namesTheBadMember();
    void configToJson_roundTrip_data();
    void configToJson_roundTrip();
    void gapRecovered_data();
    void gapRecovered();
    void methodComparison_data();
    void methodComparison();
    void methodVerdict();
    void summaryAndMetricsListStages();
    void presetsAreValid_data();
    void presetsAreValid();
    void presetSeries();
};

void TestConfig::configFromJson_readsEveryKey() {
    // The test covers all keys there are: a new key must be added here too.
    const QStringList keys = QJsonDocument::fromJson(kEveryKey).object().keys();
    const QSet<QString> jsonKeys(keys.begin(), keys.end());
    QSet<QString> configKeys;
    for (const std::string& k : kd::configKeys())
        configKeys.insert(QString::fromStdString(k));
    QCOMPARE(jsonKeys, configKeys);

    const kd::ExperimentConfig c = kd::configFromJson(kEveryKey, "every.json");
    compareConfigs(c, everyKeyConfig());
}

void TestConfig::configFromJson_keepsBaseForMissingKeys() {
    kd::ExperimentConfig base;
    base.student = "tiny";
    base.epochs = 9;
    const kd::ExperimentConfig c = kd::configFromJson(R"({"epochs": 2, "alpha": 1})", "part.json", base);
    kd::ExperimentConfig expected = base;
    expected.epochs = 2;
    expected.alpha = 1.0;
    compareConfigs(c, expected);
    // An empty object changes nothing.
    compareConfigs(kd::configFromJson("{}", "empty.json"), kd::ExperimentConfig{});
}

void TestConfig::configFromFile_readsFile() {
    QTemporaryDir tmp;
    QVERIFY(tmp.isValid());
    QFile f(tmp.filePath("settings.json"));
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write(kEveryKey);
    f.close();
    compareConfigs(kd::configFromFile(f.fileName().toStdString()), everyKeyConfig());
}

void TestConfig::configFromJson_unknownKey() {
    QString msg;
    KD_EXPECT_ERROR(msg, kd::configFromJson(R"({"epochs": 3, "epoch": 4})", "my-settings.json"));
    QVERIFY2(msg.contains("my-settings.json"), qPrintable(msg));
    QVERIFY2(msg.contains("'epoch'"), qPrintable(msg));
    QVERIFY2(msg.contains("unknown"), qPrintable(msg));
}

void TestConfig::configFromJson_wrongType_data() {
    QTest::addColumn<QString>("json");
    QTest::addColumn<QString>("key");
    QTest::newRow("epochs: string") << R"({"epochs": "five"})"
                                    << "epochs";
    QTest::newRow("epochs: fraction") << R"({"epochs": 2.5})"
                                      << "epochs";
    QTest::newRow("epochs: beyond int") << R"({"epochs": 3000000000})"
                                        << "epochs";
    QTest::newRow("alpha: string") << R"({"alpha": "x"})"
                                   << "alpha";
    QTest::newRow("temperature: bool") << R"({"temperature": true})"
                                       << "temperature";
    QTest::newRow("seed: negative") << R"({"seed": -1})"
                                    << "seed";
    QTest::newRow("batch_size: null") << R"({"batch_size": null})"
                                      << "batch_size";
    QTest::newRow("teacher: number") << R"({"teacher": 5})"
                                     << "teacher";
    QTest::newRow("dataset: array") << R"({"dataset": ["fashion-mnist"]})"
                                    << "dataset";
    QTest::newRow("train_limit: string") << R"({"train_limit": "100"})"
                                         << "train_limit";
    QTest::newRow("threads: object") << R"({"threads": {}})"
                                     << "threads";
    QTest::newRow("omit_class: string") << R"({"omit_class": "3"})"
                                        << "omit_class";
    QTest::newRow("preset name: number") << R"({"name": 5})"
                                         << "name";
    QTest::newRow("preset explanation: array") << R"({"explanation": ["x"]})"
                                               << "explanation";
    QTest::newRow("preset runs: object") << R"({"runs": {"temperature": 1}})"
                                         << "runs";
    QTest::newRow("preset runs: empty") << R"({"runs": []})"
                                        << "runs";
    QTest::newRow("preset runs[1]: not an object") << R"({"runs": [{}, 4]})"
                                                   << "runs[1]";
    QTest::newRow("preset runs[0]: unknown key") << R"({"runs": [{"temprature": 4}]})"
                                                 << "runs[0]";
    QTest::newRow("preset runs[1].alpha: string") << R"({"runs": [{}, {"alpha": "high"}]})"
                                                  << "runs[1]: alpha";
}

void TestConfig::configFromJson_wrongType() {
    QFETCH(QString, json);
    QFETCH(QString, key);
    QString msg;
    KD_EXPECT_ERROR(msg, kd::configFromJson(json.toStdString(), "typed.json"));
    QVERIFY2(msg.contains("typed.json"), qPrintable(msg));
    QVERIFY2(msg.contains(key + ":"), qPrintable("message does not name " + key + ": " + msg));
}

// Each kind of field (string, whole number, unsigned whole number, number) given each wrong kind of value:
// the message names the file, the key and what was expected, and quotes what it got.
void TestConfig::configFromJson_wrongKind_data() {
    QTest::addColumn<QString>("json");
    QTest::addColumn<QString>("expected");
    auto row = [](const char* name, const char* json, const char* expected) {
        QTest::newRow(name) << QString(json) << QString(expected);
    };
    // String fields (no boolean field exists: booleans are tried on every other kind).
    row("student: true", R"({"student": true})", "student: expected a string, got true");
    row("out: null", R"({"out": null})", "out: expected a string, got null");
    row("method: object", R"({"method": {"kd": 1}})", "method: expected a string, got {\"kd\":1}");
    row("teacher_checkpoint: number", R"({"teacher_checkpoint": 3})",
        "teacher_checkpoint: expected a string");
    // Whole numbers.
    row("epochs: true", R"({"epochs": true})", "epochs: expected a whole number, got true");
    row("epochs: 2.0", R"({"epochs": 2.0})", "epochs: expected a whole number, got 2.0");
    row("train_limit: 1e3", R"({"train_limit": 1e3})", "train_limit: expected a whole number, got 1000.0");
    row("threads: \"2\"", R"({"threads": "2"})", "threads: expected a whole number, got \"2\"");
    row("batch_size: below int", R"({"batch_size": -2147483649})", "batch_size: -2147483649 is out of range");
    row("teacher_epochs: above int", R"({"teacher_epochs": 2147483648})",
        "teacher_epochs: 2147483648 is out of range");
    // Unsigned whole numbers: a negative seed, and one past 2^64 - 1 (parsed as a double).
    row("teacher_seed: -1", R"({"teacher_seed": -1})", "teacher_seed: -1 is out of range");
    row("seed: 2^64", R"({"seed": 18446744073709551616})", "seed: expected a whole number");
    // Numbers: NaN and infinity written as strings (JSON has neither), and other kinds.
    row("temperature: \"nan\"", R"({"temperature": "nan"})", "temperature: expected a number, got \"nan\"");
    row("alpha: \"inf\"", R"({"alpha": "inf"})", "alpha: expected a number, got \"inf\"");
    row("lr: \"1e-3\"", R"({"lr": "1e-3"})", "lr: expected a number, got \"1e-3\"");
    row("momentum: false", R"({"momentum": false})", "momentum: expected a number, got false");
    row("weight_decay: array", R"({"weight_decay": [0.1]})", "weight_decay: expected a number, got [0.1]");
}

void TestConfig::configFromJson_wrongKind() {
    QFETCH(QString, json);
    QFETCH(QString, expected);
    QString msg;
    KD_EXPECT_ERROR(msg, kd::configFromJson(json.toStdString(), "typed.json"));
    QVERIFY2(msg == "typed.json: " + expected || msg.startsWith("typed.json: " + expected),
             qPrintable("expected 'typed.json: " + expected + "...', got: " + msg));
    QVERIFY2(!msg.contains('\n'), qPrintable("message is not one line: " + msg));
}

void TestConfig::configFromJson_invalidJson_data() {
    QTest::addColumn<QString>("json");
    QTest::newRow("empty text") << "";
    QTest::newRow("unclosed object") << R"({"epochs": 3)";
    QTest::newRow("missing value") << R"({"epochs": })";
    QTest::newRow("trailing comma") << R"({"epochs": 3,})";
    QTest::newRow("not an object") << "[1, 2, 3]";
    QTest::newRow("a bare number") << "42";
    QTest::newRow("a string") << R"("epochs")";
    QTest::newRow("null") << "null";
    QTest::newRow("true") << "true";
    QTest::newRow("truncated inside a string") << R"({"dataset": "fash)";
    QTest::newRow("NaN literal") << R"({"temperature": NaN})";
    QTest::newRow("Infinity literal") << R"({"temperature": Infinity})";
    // The parser reports this one as out_of_range, not as a parse error.
    QTest::newRow("number too large for a double") << R"({"temperature": 1e999})";
    QTest::newRow("single quotes") << R"({'epochs': 3})";
    QTest::newRow("a comment") << "{\"epochs\": 3 // three\n}";
    QTest::newRow("two objects") << R"({"epochs": 3} {"epochs": 4})";
    QTest::newRow("binary") << QString::fromLatin1("\x89PNG\r\n\x1a\n");
}

void TestConfig::configFromJson_invalidJson() {
    QFETCH(QString, json);
    QString msg;
    KD_EXPECT_ERROR(msg, kd::configFromJson(json.toStdString(), "broken.json"));
    QVERIFY2(msg.startsWith("broken.json"), qPrintable(msg));
    QVERIFY2(msg.startsWith("broken.json: not valid JSON (") ||
                 msg.startsWith("broken.json: expected a JSON object of settings, got "),
             qPrintable("message does not say what is wrong: " + msg));
    QVERIFY2(!msg.contains('\n'), qPrintable("message is not one line: " + msg));
}

void TestConfig::configFromFile_missingFile() {
    QTemporaryDir tmp;
    QVERIFY(tmp.isValid());
    const QString path = tmp.filePath("nope.json");
    QString msg;
    KD_EXPECT_ERROR(msg, kd::configFromFile(path.toStdString()));
    QVERIFY2(msg.contains(path), qPrintable(msg));
}

void TestConfig::configFromFile_unreadable_data() {
    QTest::addColumn<QString>("file"); // under a temporary folder holding a regular file "a-file"
    QTest::addColumn<QString>("setup");
    QTest::addColumn<QString>("expected");
    QTest::newRow("missing") << "missing.json"
                             << ""
                             << ": cannot open (No such file or directory)";
    QTest::newRow("a folder") << "folder.json"
                              << "folder"
                              << ": is a folder, expected a JSON file";
    QTest::newRow("under a regular file") << "a-file/settings.json"
                                          << ""
                                          << ": cannot open (Not a directory)";
    QTest::newRow("empty file") << "empty.json"
                                << "empty"
                                << ": not valid JSON (";
    QTest::newRow("unreadable (mode 000)") << "locked.json"
                                           << "unreadable"
                                           << ": cannot open (Permission denied)";
}

void TestConfig::configFromFile_unreadable() {
    QFETCH(QString, file);
    QFETCH(QString, setup);
    QFETCH(QString, expected);
    if (setup == "unreadable" && !testutil::permissionsAreEnforced())
        QSKIP("running as root, which reads a file of mode 000");
    QTemporaryDir tmp;
    QVERIFY(tmp.isValid());
    QFile regular(tmp.filePath("a-file"));
    QVERIFY(regular.open(QIODevice::WriteOnly));
    regular.close();
    const QString path = tmp.filePath(file);
    if (setup == "folder")
        QVERIFY(QDir().mkpath(path));
    if (setup == "empty" || setup == "unreadable") {
        QFile f(path);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write(setup == "empty" ? "" : R"({"epochs": 3})");
        f.close();
    }
    if (setup == "unreadable")
        QVERIFY(QFile::setPermissions(path, QFileDevice::Permissions()));
    QString msg;
    KD_EXPECT_ERROR(msg, kd::configFromFile(path.toStdString()));
    QVERIFY2(msg.startsWith(path + expected),
             qPrintable("expected '" + path + expected + "...', got: " + msg));
    // A preset file is read the same way.
    KD_EXPECT_ERROR(msg, kd::presetFromFile(path.toStdString()));
    QVERIFY2(msg.startsWith(path + expected),
             qPrintable("expected '" + path + expected + "...', got: " + msg));
}

void TestConfig::setConfigValue_valid_data() {
    QTest::addColumn<QString>("key");
    QTest::addColumn<QString>("text");
    QTest::addColumn<Mutator>("expect"); // applies the expected change to a default config
    QTest::newRow("epochs 3") << "epochs"
                              << "3" << Mutator([](kd::ExperimentConfig& c) { c.epochs = 3; });
    QTest::newRow("teacher_epochs 0") << "teacher_epochs"
                                      << "0" << Mutator([](kd::ExperimentConfig& c) { c.teacherEpochs = 0; });
    QTest::newRow("temperature 4.5") << "temperature"
                                     << "4.5"
                                     << Mutator([](kd::ExperimentConfig& c) { c.temperature = 4.5; });
    QTest::newRow("alpha 1") << "alpha"
                             << "1" << Mutator([](kd::ExperimentConfig& c) { c.alpha = 1.0; });
    QTest::newRow("lr 1e-4") << "lr"
                             << "1e-4" << Mutator([](kd::ExperimentConfig& c) { c.lr = 1e-4; });
    QTest::newRow("lr_schedule cosine")
        << "lr_schedule"
        << "cosine" << Mutator([](kd::ExperimentConfig& c) { c.lrSchedule = "cosine"; });
    QTest::newRow("seed 42") << "seed"
                             << "42" << Mutator([](kd::ExperimentConfig& c) { c.seed = 42; });
    // The largest seed configToJson can write must be accepted back as a flag (summary.json -> --seed).
    QTest::newRow("seed 2^64-1") << "seed"
                                 << "18446744073709551615" << Mutator([](kd::ExperimentConfig& c) {
                                        c.seed = 18446744073709551615ull;
                                    });
    QTest::newRow("train_limit 3000")
        << "train_limit"
        << "3000" << Mutator([](kd::ExperimentConfig& c) { c.trainLimit = 3000; });
    QTest::newRow("teacher spec") << "teacher"
                                  << "mlp:1200,1200+dropout=0.5" << Mutator([](kd::ExperimentConfig& c) {
                                         c.teacher = "mlp:1200,1200+dropout=0.5";
                                     });
    QTest::newRow("dataset") << "dataset"
                             << "mnist-digits"
                             << Mutator([](kd::ExperimentConfig& c) { c.dataset = "mnist-digits"; });
    QTest::newRow("out") << "out"
                         << "runs/x" << Mutator([](kd::ExperimentConfig& c) { c.out = "runs/x"; });
    // The methods' keys, as kdlab-cli's --method, --ensemble-size, ... pass them.
    QTest::newRow("method ensemble") << "method"
                                     << "ensemble"
                                     << Mutator([](kd::ExperimentConfig& c) { c.method = "ensemble"; });
    QTest::newRow("ensemble_size 5") << "ensemble_size"
                                     << "5" << Mutator([](kd::ExperimentConfig& c) { c.ensembleSize = 5; });
    QTest::newRow("ensemble_teachers")
        << "ensemble_teachers"
        << "mlp:64;lenet5;cnn:8"
        << Mutator([](kd::ExperimentConfig& c) { c.ensembleTeachers = "mlp:64;lenet5;cnn:8"; });
    QTest::newRow("generations 2") << "generations"
                                   << "2" << Mutator([](kd::ExperimentConfig& c) { c.generations = 2; });
    QTest::newRow("assistant spec") << "assistant"
                                    << "mlp:256+dropout=0.1" << Mutator([](kd::ExperimentConfig& c) {
                                           c.assistant = "mlp:256+dropout=0.1";
                                       });
}

void TestConfig::setConfigValue_valid() {
    QFETCH(QString, key);
    QFETCH(QString, text);
    QFETCH(Mutator, expect);
    kd::ExperimentConfig c;
    const QString msg = testutil::errorMessage(
        [&] { kd::setConfigValue(c, key.toStdString(), text.toStdString(), "--" + key.toStdString()); });
    QVERIFY2(msg == "<no error>", qPrintable(msg));
    kd::ExperimentConfig expected;
    expect(expected);
    compareConfigs(c, expected);
}

void TestConfig::setConfigValue_invalid_data() {
    QTest::addColumn<QString>("key");
    QTest::addColumn<QString>("text");
    QTest::newRow("epochs abc") << "epochs"
                                << "abc";
    QTest::newRow("epochs 2.5") << "epochs"
                                << "2.5";
    QTest::newRow("epochs 3x") << "epochs"
                               << "3x";
    QTest::newRow("epochs empty") << "epochs"
                                  << "";
    QTest::newRow("batch_size 1e3") << "batch_size"
                                    << "1e3";
    QTest::newRow("batch_size beyond int") << "batch_size"
                                           << "99999999999";
    QTest::newRow("seed -1") << "seed"
                             << "-1";
    QTest::newRow("alpha x") << "alpha"
                             << "x";
    QTest::newRow("temperature inf") << "temperature"
                                     << "inf";
    QTest::newRow("temperature nan") << "temperature"
                                     << "nan";
    QTest::newRow("lr empty") << "lr"
                              << "";
    QTest::newRow("unknown key") << "epoch"
                                 << "3";
    QTest::newRow("ensemble_size two") << "ensemble_size"
                                       << "two";
    QTest::newRow("generations 1.5") << "generations"
                                     << "1.5";
    QTest::newRow("temperature 1e999 (overflows a double)") << "temperature"
                                                            << "1e999";
    QTest::newRow("temperature 1,5 (decimal comma)") << "temperature"
                                                     << "1,5";
    QTest::newRow("epochs 0x10") << "epochs"
                                 << "0x10";
    QTest::newRow("epochs --1") << "epochs"
                                << "--1";
    QTest::newRow("seed 2^64") << "seed"
                               << "18446744073709551616";
    QTest::newRow("teacher_seed -1") << "teacher_seed"
                                     << "-1";
    QTest::newRow("train_limit beyond int64") << "train_limit"
                                              << "9223372036854775808";
    QTest::newRow("alpha inf") << "alpha"
                               << "inf";
}

void TestConfig::setConfigValue_invalid() {
    QFETCH(QString, key);
    QFETCH(QString, text);
    kd::ExperimentConfig c;
    const QString source = "--" + QString(key).replace('_', '-');
    QString msg;
    KD_EXPECT_ERROR(msg, kd::setConfigValue(c, key.toStdString(), text.toStdString(), source.toStdString()));
    QVERIFY2(msg.contains(source), qPrintable(msg));
    QVERIFY2(msg.contains(key), qPrintable(msg));
    compareConfigs(c, kd::ExperimentConfig{}); // a rejected value leaves the config as it was
}

void TestConfig::validateConfig_acceptsDefaults() {
    kd::validateConfig(kd::ExperimentConfig{});
    kd::ExperimentConfig c;
    c.temperature = 0.1; // kd::kMinTemperature, the lowest every control takes
    c.alpha = 0;
    c.epochs = 0;
    c.teacherEpochs = 0;
    c.batchSize = 1;
    c.optimizer = "sgd";
    c.device = "cpu";
    c.teacher = "lenet5";
    c.student = "mlp:";
    kd::validateConfig(c);
    c.alpha = 1;
    c.temperature = 100;
    c.device = "auto";
    kd::validateConfig(c);
}

void TestConfig::validateConfig_rejects_data() {
    QTest::addColumn<Mutator>("change");
    QTest::addColumn<QString>("key");
    auto row = [](const char* name, Mutator m, const char* key) { QTest::newRow(name) << m << QString(key); };
    row(
        "temperature 0", [](kd::ExperimentConfig& c) { c.temperature = 0; }, "temperature");
    row(
        "temperature -1", [](kd::ExperimentConfig& c) { c.temperature = -1; }, "temperature");
    row(
        "alpha -0.1", [](kd::ExperimentConfig& c) { c.alpha = -0.1; }, "alpha");
    row(
        "alpha 1.5", [](kd::ExperimentConfig& c) { c.alpha = 1.5; }, "alpha");
    row(
        "alpha 2", [](kd::ExperimentConfig& c) { c.alpha = 2; }, "alpha");
    row(
        "alpha 1.1", [](kd::ExperimentConfig& c) { c.alpha = 1.1; }, "alpha");
    row(
        "alpha NaN", [](kd::ExperimentConfig& c) { c.alpha = std::nan(""); }, "alpha");
    row(
        "temperature -0.5", [](kd::ExperimentConfig& c) { c.temperature = -0.5; }, "temperature");
    row(
        "temperature 0.09 (below 0.1)", [](kd::ExperimentConfig& c) { c.temperature = 0.09; }, "temperature");
    row(
        "temperature 100.5 (above 100)", [](kd::ExperimentConfig& c) { c.temperature = 100.5; },
        "temperature");
    row(
        "temperature NaN", [](kd::ExperimentConfig& c) { c.temperature = std::nan(""); }, "temperature");
    row(
        "temperature inf", [](kd::ExperimentConfig& c) { c.temperature = HUGE_VAL; }, "temperature");
    row(
        "batch size -1", [](kd::ExperimentConfig& c) { c.batchSize = -1; }, "batch_size");
    row(
        "epochs INT_MIN", [](kd::ExperimentConfig& c) { c.epochs = std::numeric_limits<int>::min(); },
        "epochs");
    row(
        "lr NaN", [](kd::ExperimentConfig& c) { c.lr = std::nan(""); }, "lr");
    row(
        "misspelled student preset", [](kd::ExperimentConfig& c) { c.student = "hinton-studnet"; },
        "student");
    row(
        "batch size 0", [](kd::ExperimentConfig& c) { c.batchSize = 0; }, "batch_size");
    row(
        "epochs -1", [](kd::ExperimentConfig& c) { c.epochs = -1; }, "epochs");
    row(
        "teacher epochs -1", [](kd::ExperimentConfig& c) { c.teacherEpochs = -1; }, "teacher_epochs");
    row(
        "lr schedule step", [](kd::ExperimentConfig& c) { c.lrSchedule = "step"; }, "lr_schedule");
    row(
        "optimizer rmsprop", [](kd::ExperimentConfig& c) { c.optimizer = "rmsprop"; }, "optimizer");
    row(
        "device gpu", [](kd::ExperimentConfig& c) { c.device = "gpu"; }, "device");
    row(
        "lr 0", [](kd::ExperimentConfig& c) { c.lr = 0; }, "lr");
    row(
        "momentum 1", [](kd::ExperimentConfig& c) { c.momentum = 1; }, "momentum");
    row(
        "weight decay -1", [](kd::ExperimentConfig& c) { c.weightDecay = -1; }, "weight_decay");
    row(
        "threads -1", [](kd::ExperimentConfig& c) { c.threads = -1; }, "threads");
    row(
        "train limit -5", [](kd::ExperimentConfig& c) { c.trainLimit = -5; }, "train_limit");
    row(
        "transfer limit -1", [](kd::ExperimentConfig& c) { c.transferLimit = -1; }, "transfer_limit");
    row(
        "omit class -2", [](kd::ExperimentConfig& c) { c.omitClass = -2; }, "omit_class");
    row(
        "dataset empty", [](kd::ExperimentConfig& c) { c.dataset.clear(); }, "dataset");
    row(
        "bad teacher spec", [](kd::ExperimentConfig& c) { c.teacher = "bogus"; }, "teacher");
    row(
        "bad student spec", [](kd::ExperimentConfig& c) { c.student = "mlp:0"; }, "student");
    // The methods' keys.
    row(
        "unknown method", [](kd::ExperimentConfig& c) { c.method = "distill"; }, "method");
    row(
        "method in capitals", [](kd::ExperimentConfig& c) { c.method = "KD"; }, "method");
    row(
        "method empty", [](kd::ExperimentConfig& c) { c.method.clear(); }, "method");
    row(
        "ensemble_size 0",
        [](kd::ExperimentConfig& c) {
            c.method = "ensemble";
            c.ensembleSize = 0;
        },
        "ensemble_size");
    row(
        "ensemble_size 17",
        [](kd::ExperimentConfig& c) {
            c.method = "ensemble";
            c.ensembleSize = 17;
        },
        "ensemble_size");
    row(
        "generations 0",
        [](kd::ExperimentConfig& c) {
            c.method = "born-again";
            c.generations = 0;
        },
        "generations");
    row(
        "generations 11",
        [](kd::ExperimentConfig& c) {
            c.method = "born-again";
            c.generations = 11;
        },
        "generations");
    row(
        "empty ensemble member",
        [](kd::ExperimentConfig& c) {
            c.method = "ensemble";
            c.ensembleTeachers = "mlp:16;;mlp:32";
        },
        "ensemble_teachers");
    row(
        "trailing ';' in ensemble_teachers",
        [](kd::ExperimentConfig& c) {
            c.method = "ensemble";
            c.ensembleTeachers = "mlp:16;mlp:32;";
        },
        "ensemble_teachers");
    row(
        "ensemble member of spaces",
        [](kd::ExperimentConfig& c) {
            c.method = "ensemble";
            c.ensembleTeachers = "mlp:16;  ;mlp:32";
        },
        "ensemble_teachers");
    row(
        "unparsable ensemble member",
        [](kd::ExperimentConfig& c) {
            c.method = "ensemble";
            c.ensembleTeachers = "mlp:16;bogus";
        },
        "ensemble_teachers");
    row(
        "17 ensemble members",
        [](kd::ExperimentConfig& c) {
            c.method = "ensemble";
            c.ensembleTeachers = "mlp:8";
            for (int k = 1; k < 17; ++k)
                c.ensembleTeachers += ";mlp:8";
        },
        "ensemble_teachers");
    row(
        "unparsable assistant",
        [](kd::ExperimentConfig& c) {
            c.method = "assistant";
            c.assistant = "mlp:0";
        },
        "assistant");
    row(
        "teacher checkpoint with method ensemble",
        [](kd::ExperimentConfig& c) {
            c.method = "ensemble";
            c.teacherCheckpoint = "/tmp/teacher.pt";
        },
        "teacher_checkpoint");
}

void TestConfig::validateConfig_rejects() {
    QFETCH(Mutator, change);
    QFETCH(QString, key);
    kd::ExperimentConfig c;
    change(c);
    QString msg;
    KD_EXPECT_ERROR(msg, kd::validateConfig(c));
    // "key:" as in "config: temperature: must be in 0.1..100": the setting to fix is named, not merely
    // mentioned (the preset list in a spec error mentions "hinton-teacher" and "hinton-student" whatever the
    // key).
    QVERIFY2(msg.contains(key + ":"), qPrintable("message does not name the key " + key + ": " + msg));
}

void TestConfig::validateConfig_teacherSpecIgnoredWithCheckpoint() {
    // A checkpoint names its own architecture: the teacher spec is not used, so it is not checked.
    kd::ExperimentConfig c;
    c.teacher = "bogus";
    c.teacherCheckpoint = "/tmp/teacher.pt";
    kd::validateConfig(c);
}

void TestConfig::validateConfig_acceptsMethods_data() {
    QTest::addColumn<Mutator>("change");
    auto row = [](const char* name, Mutator m) { QTest::newRow(name) << m; };
    for (const std::string& method : kd::methodNames())
        row(method.c_str(), [method](kd::ExperimentConfig& c) { c.method = method; });
    row("ensemble of 1", [](kd::ExperimentConfig& c) {
        c.method = "ensemble";
        c.ensembleSize = 1;
    });
    row("ensemble of 16", [](kd::ExperimentConfig& c) {
        c.method = "ensemble";
        c.ensembleSize = 16;
    });
    row("ensemble_teachers with spaces and a preset", [](kd::ExperimentConfig& c) {
        c.method = "ensemble";
        c.ensembleTeachers = " mlp:64 ;lenet5;\tcnn:8,16 ";
    });
    // ensemble_teachers lists the members: ensemble_size is not used then, but must still be in range.
    row("ensemble_teachers of 3, ensemble_size 16", [](kd::ExperimentConfig& c) {
        c.method = "ensemble";
        c.ensembleTeachers = "mlp:16;mlp:16;mlp:16";
        c.ensembleSize = 16;
    });
    row("ensemble_teachers of spaces: ensemble_size copies", [](kd::ExperimentConfig& c) {
        c.method = "ensemble";
        c.ensembleTeachers = "   ";
    });
    // Only the ensemble reads ensemble_teachers; only the ensemble cannot load its teacher.
    row("bad ensemble_teachers, method kd", [](kd::ExperimentConfig& c) { c.ensembleTeachers = "a;;b"; });
    row("teacher checkpoint, method born-again", [](kd::ExperimentConfig& c) {
        c.method = "born-again";
        c.teacherCheckpoint = "/tmp/teacher.pt";
    });
    row("teacher checkpoint, method assistant", [](kd::ExperimentConfig& c) {
        c.method = "assistant";
        c.teacherCheckpoint = "/tmp/teacher.pt";
    });
    row("generations 1", [](kd::ExperimentConfig& c) {
        c.method = "born-again";
        c.generations = 1;
    });
    row("generations 10", [](kd::ExperimentConfig& c) {
        c.method = "born-again";
        c.generations = 10;
    });
    row("assistant a preset", [](kd::ExperimentConfig& c) {
        c.method = "assistant";
        c.assistant = "small";
    });
}

void TestConfig::validateConfig_acceptsMethods() {
    QFETCH(Mutator, change);
    kd::ExperimentConfig c;
    change(c);
    const QString msg = testutil::errorMessage([&] { kd::validateConfig(c); });
    QVERIFY2(msg == "<no error>", qPrintable(msg));
}

// The app lists the methods in this order; kd, the default, first.
void TestConfig::methodNamesInOrder() {
    const std::vector<std::string> expected = {"kd", "ensemble", "born-again", "assistant"};
    QVERIFY(kd::methodNames() == expected);
    const kd::ExperimentConfig defaults;
    QCOMPARE(defaults.method, std::string("kd"));
    QCOMPARE(defaults.ensembleSize, 3);
    QCOMPARE(defaults.ensembleTeachers, std::string());
    QCOMPARE(defaults.generations, 3);
    // The defaults are valid for every method.
    for (const std::string& method : kd::methodNames()) {
        kd::ExperimentConfig c;
        c.method = method;
        const QString msg = testutil::errorMessage([&] { kd::validateConfig(c); });
        QVERIFY2(msg == "<no error>", qPrintable(QString::fromStdString(method) + ": " + msg));
    }
}

void TestConfig::ensembleMemberSpecs_data() {
    QTest::addColumn<QString>("teacher");
    QTest::addColumn<int>("size");
    QTest::addColumn<QString>("members"); // ensemble_teachers
    QTest::addColumn<QStringList>("expected");
    QTest::newRow("3 copies of the teacher")
        << "mlp:64" << 3 << "" << QStringList{"mlp:64", "mlp:64", "mlp:64"};
    QTest::newRow("1 copy") << "lenet5" << 1 << "" << QStringList{"lenet5"};
    QTest::newRow("spaces only: copies") << "mlp:8" << 2 << " \t " << QStringList{"mlp:8", "mlp:8"};
    QTest::newRow("the list wins over the size")
        << "mlp:64" << 5 << "mlp:16;lenet5" << QStringList{"mlp:16", "lenet5"};
    QTest::newRow("one listed member") << "mlp:64" << 3 << "cnn:8" << QStringList{"cnn:8"};
    QTest::newRow("spaces trimmed") << "mlp:64" << 3 << "  mlp:16 ;\tlenet5\t; cnn:8,16"
                                    << QStringList{"mlp:16", "lenet5", "cnn:8,16"};
    // Empty members stay in the list (validateConfig names them).
    QTest::newRow("empty middle member") << "mlp:64" << 3 << "a;;b" << QStringList{"a", "", "b"};
    QTest::newRow("trailing ';'") << "mlp:64" << 3 << "a;b;" << QStringList{"a", "b", ""};
    QTest::newRow("leading ';'") << "mlp:64" << 3 << ";a" << QStringList{"", "a"};
}

void TestConfig::ensembleMemberSpecs() {
    QFETCH(QString, teacher);
    QFETCH(int, size);
    QFETCH(QString, members);
    QFETCH(QStringList, expected);
    kd::ExperimentConfig c;
    c.teacher = teacher.toStdString();
    c.ensembleSize = size;
    c.ensembleTeachers = members.toStdString();
    QStringList actual;
    for (const std::string& spec : kd::ensembleMemberSpecs(c))
        actual << QString::fromStdString(spec);
    QCOMPARE(actual, expected);
}

// A list of members says which one is wrong.
void TestConfig::validateConfig_namesTheBadMember() {
    kd::ExperimentConfig c;
    c.method = "ensemble";
    c.ensembleTeachers = "mlp:16;;mlp:32";
    QString msg;
    KD_EXPECT_ERROR(msg, kd::validateConfig(c));
    QVERIFY2(msg.contains("ensemble_teachers:") && msg.contains("member 2"), qPrintable(msg));
    c.ensembleTeachers = "mlp:16;mlp:32;cnn:x";
    KD_EXPECT_ERROR(msg, kd::validateConfig(c));
    QVERIFY2(msg.contains("ensemble_teachers:") && msg.contains("cnn:x"), qPrintable(msg));
    c.method = "assistant";
    c.assistant = "bogus-assistant";
    KD_EXPECT_ERROR(msg, kd::validateConfig(c));
    QVERIFY2(msg.contains("assistant:") && msg.contains("bogus-assistant"), qPrintable(msg));
}

void TestConfig::configToJson_roundTrip_data() {
    QTest::addColumn<int>("which");
    QTest::newRow("defaults") << 0;
    QTest::newRow("every key changed") << 1;
    QTest::newRow("awkward values") << 2;
}

void TestConfig::configToJson_roundTrip() {
    QFETCH(int, which);
    kd::ExperimentConfig c;
    if (which == 1)
        c = everyKeyConfig();
    if (which == 2) {
        c.ensembleTeachers = " mlp:8 ; lenet5;;\"x\" ";
        c.lr = 0.1 + 0.2; // not exactly representable in short decimal
        c.temperature = 1.0 / 3.0;
        c.seed = 18446744073709551615ull;
        c.out = "folder with \"quotes\" and \\ and unicode \xc3\xa9";
        c.trainLimit = 9007199254740993LL; // above 2^53
    }
    const std::string json = kd::configToJson(c);
    compareConfigs(kd::configFromJson(json, "roundtrip.json"), c);
    // Every key is written.
    const QJsonObject doc = QJsonDocument::fromJson(QByteArray::fromStdString(json)).object();
    for (const std::string& k : kd::configKeys())
        QVERIFY2(doc.contains(QString::fromStdString(k)), k.c_str());
    QCOMPARE(qsizetype(doc.size()), qsizetype(kd::configKeys().size()));
}

void TestConfig::gapRecovered_data() {
    QTest::addColumn<double>("teacher");
    QTest::addColumn<double>("baseline");
    QTest::addColumn<double>("student");
    QTest::addColumn<bool>("hasValue");
    QTest::addColumn<double>("expected");
    QTest::newRow("half the gap") << 0.90 << 0.80 << 0.85 << true << 0.5;
    QTest::newRow("all the gap") << 0.90 << 0.80 << 0.90 << true << 1.0;
    QTest::newRow("none of the gap") << 0.90 << 0.80 << 0.80 << true << 0.0;
    QTest::newRow("student beats teacher") << 0.90 << 0.80 << 0.95 << true << 1.5;
    QTest::newRow("student worse than baseline") << 0.90 << 0.80 << 0.78 << true << -0.2;
    QTest::newRow("teacher equals baseline") << 0.85 << 0.85 << 0.86 << false << 0.0;
    QTest::newRow("teacher worse than baseline") << 0.80 << 0.85 << 0.83 << false << 0.0;
}

void TestConfig::gapRecovered() {
    QFETCH(double, teacher);
    QFETCH(double, baseline);
    QFETCH(double, student);
    QFETCH(bool, hasValue);
    QFETCH(double, expected);
    const std::optional<double> gap = kd::gapRecovered(teacher, baseline, student);
    QCOMPARE(gap.has_value(), hasValue);
    if (hasValue)
        QVERIFY2(std::abs(*gap - expected) < 1e-9, qPrintable(QString::number(*gap)));
}

void TestConfig::methodComparison_data() {
    QTest::addColumn<QString>("method");
    QTest::addColumn<bool>(
        "stopped"); // stopped in the second stage (ensemble: member 2), before the students
    QTest::addColumn<QStringList>("labels");
    QTest::addColumn<QStringList>("keys");
    QTest::newRow("kd") << "kd" << false << QStringList{"teacher", "baseline", "student"}
                        << QStringList{"teacher", "baseline", "student"};
    QTest::newRow("ensemble") << "ensemble" << false << QStringList{"member 1", "member 2", "member 3",
                                                                    "ensemble", "baseline", "student"}
                              << QStringList{"member-1", "member-2", "member-3",
                                             "teacher",  "baseline", "student"};
    QTest::newRow("born-again") << "born-again" << false
                                << QStringList{"teacher", "baseline", "generation 1", "generation 2",
                                               "generation 3"}
                                << QStringList{"teacher", "baseline", "generation-1", "generation-2",
                                               "student"};
    QTest::newRow("assistant") << "assistant" << false
                               << QStringList{"teacher", "assistant", "baseline", "direct KD",
                                              "via assistant"}
                               << QStringList{"teacher", "assistant", "baseline", "direct", "student"};
    // Models a stopped run never reached are left out.
    QTest::newRow("ensemble stopped in member 2")
        << "ensemble" << true << QStringList{"member 1", "member 2"} << QStringList{"member-1", "member-2"};
    QTest::newRow("assistant stopped in direct KD")
        << "assistant" << true << QStringList{"teacher", "assistant", "baseline", "direct KD"}
        << QStringList{"teacher", "assistant", "baseline", "direct"};
}

// The models of a run, in the order its method's comparison reads (the CLI's summary, the app's table).
void TestConfig::methodComparison() {
    QFETCH(QString, method);
    QFETCH(bool, stopped);
    QFETCH(QStringList, labels);
    QFETCH(QStringList, keys);
    kd::ExperimentResult r = methodResult(method.toStdString());
    if (stopped) {
        r.stopped = true;
        r.student = kd::ModelResult{};
        r.stages.resize(2);
        r.stages[1].model.trained = false; // started: its spec is known
        if (method == "ensemble") {
            r.teacher = kd::ModelResult{};
            r.baseline = kd::ModelResult{};
        }
    }
    QStringList actualLabels, actualKeys;
    for (const kd::ComparisonRow& row : kd::methodComparison(r)) {
        actualLabels << QString::fromStdString(row.label);
        actualKeys << QString::fromStdString(row.key);
    }
    QCOMPARE(actualLabels, labels);
    QCOMPARE(actualKeys, keys);
    // Each row carries its model.
    for (const kd::ComparisonRow& row : kd::methodComparison(r))
        if (row.key == "student")
            QCOMPARE(row.model.testAccuracy, 0.85);
}

void TestConfig::methodVerdict() {
    // kd: the gap line says it all.
    QCOMPARE(kd::methodVerdict(methodResult("kd")), std::string());
    // Ensemble: the ensemble against its best member, then its student against the baseline.
    kd::ExperimentResult r = methodResult("ensemble");
    QString v = QString::fromStdString(kd::methodVerdict(r));
    QVERIFY2(v.contains("90.0%") && v.contains("better than its best member (88.0%)") &&
                 !v.contains("not better") && v.contains("85.0%") && v.contains("80.0%"),
             qPrintable(v));
    r.teacher.testAccuracy = 0.87;
    v = QString::fromStdString(kd::methodVerdict(r));
    QVERIFY2(v.contains("not better than its best member (88.0%)"), qPrintable(v));
    // Born-again: every generation in order.
    v = QString::fromStdString(kd::methodVerdict(methodResult("born-again")));
    QVERIFY2(v.contains("generations 1..3") && v.contains("83.0%, 84.0%, 85.0%"), qPrintable(v));
    // Assistant: via the assistant against direct KD, in points.
    v = QString::fromStdString(kd::methodVerdict(methodResult("assistant")));
    QVERIFY2(v.contains("87.0%") && v.contains("85.0%") && v.contains("84.0%") && v.contains("+1.00 points"),
             qPrintable(v));
    r = methodResult("assistant");
    r.student.testAccuracy = 0.8125;
    v = QString::fromStdString(kd::methodVerdict(r));
    QVERIFY2(v.contains("-2.75 points"), qPrintable(v));
    // A stopped run has no verdict (its numbers are partial).
    for (const char* method : {"ensemble", "born-again", "assistant"}) {
        r = methodResult(method);
        r.stopped = true;
        QVERIFY2(kd::methodVerdict(r).empty(), method);
    }
}

// summary.json names the method and its stages; metrics.csv has the stages' epochs first, under their ids.
void TestConfig::summaryAndMetricsListStages() {
    kd::ExperimentResult r = methodResult("assistant");
    for (std::size_t i = 0; i < r.stages.size(); ++i) {
        kd::EpochMetrics e;
        e.role = kd::Role::Student;
        e.stage = int(i);
        e.epoch = 1;
        e.epochs = 1;
        e.testAccuracy = r.stages[i].model.testAccuracy;
        r.stages[i].history.push_back(e);
    }
    for (kd::Role role : {kd::Role::Teacher, kd::Role::Baseline, kd::Role::Student}) {
        kd::EpochMetrics e;
        e.role = role;
        e.epoch = 1;
        e.epochs = 1;
        r.history.push_back(e);
    }
    kd::ExperimentConfig config;
    config.method = "assistant";
    const QJsonObject summary =
        QJsonDocument::fromJson(QByteArray::fromStdString(kd::summaryJson(config, r))).object();
    QCOMPARE(summary.value("method").toString(), QString("assistant"));
    const QJsonArray stages = summary.value("stages").toArray();
    QCOMPARE(stages.size(), 2);
    QCOMPARE(stages[0].toObject().value("id").toString(), QString("assistant"));
    QCOMPARE(stages[0].toObject().value("spec").toString(), QString("mlp:32"));
    QCOMPARE(stages[0].toObject().value("test_accuracy").toDouble(), 0.87);
    QCOMPARE(stages[1].toObject().value("name").toString(), QString("direct KD"));
    QCOMPARE(stages[1].toObject().value("kind").toString(), QString("direct"));
    QCOMPARE(summary.value("config").toObject().value("method").toString(), QString("assistant"));
    // A kd run says so, with no stages.
    const QJsonObject plain =
        QJsonDocument::fromJson(QByteArray::fromStdString(kd::summaryJson({}, methodResult("kd")))).object();
    QCOMPARE(plain.value("method").toString(), QString("kd"));
    QCOMPARE(plain.value("stages").toArray().size(), 0);

    QStringList models;
    const QStringList lines = QString::fromStdString(kd::metricsCsv(r)).split('\n', Qt::SkipEmptyParts);
    for (qsizetype i = 1; i < lines.size(); ++i)
        models << lines[i].section(',', 0, 0);
    QCOMPARE(models, (QStringList{"assistant", "direct", "teacher", "baseline", "student"}));
}

// Every shipped preset loads and validates (a typo in one would fail in front of a class).
void TestConfig::presetsAreValid_data() {
    QTest::addColumn<QString>("path");
    const QDir dir(QStringLiteral(KDLAB_PRESETS_DIR));
    const QStringList files = dir.entryList({QStringLiteral("*.json")}, QDir::Files);
    QVERIFY2(!files.isEmpty(), qPrintable("no presets in " + dir.path()));
    for (const QString& f : files)
        QTest::newRow(qPrintable(f)) << dir.filePath(f);
}

void TestConfig::presetsAreValid() {
    QFETCH(QString, path);
    try {
        const kd::ExperimentConfig config = kd::configFromFile(path.toStdString());
        kd::validateConfig(config);
    } catch (const kd::Error& e) {
        QFAIL(e.what());
    }
}

// A preset's runs are its own settings with each entry applied on top; no "runs": one run of the settings.
void TestConfig::presetSeries() {
    const kd::Preset p = kd::presetFromJson(
        R"({"name": "Temps", "explanation": "Three temperatures.", "student": "mlp:16", "alpha": 0.3,
            "runs": [{"temperature": 1}, {"temperature": 4, "alpha": 0.9}]})",
        "series.json");
    QCOMPARE(p.name, std::string("Temps"));
    QCOMPARE(p.explanation, std::string("Three temperatures."));
    QCOMPARE(p.runs.size(), std::size_t(2));
    QCOMPARE(p.runs[0].temperature, 1.0);
    QCOMPARE(p.runs[0].alpha, 0.3);
    QCOMPARE(p.runs[1].temperature, 4.0);
    QCOMPARE(p.runs[1].alpha, 0.9);
    QCOMPARE(p.runs[1].student, std::string("mlp:16"));
    compareConfigs(p.config, p.runs[0]);
    // As a plain config file (kdlab-cli --config), the preset keys are checked and skipped.
    const kd::ExperimentConfig c =
        kd::configFromJson(R"({"name": "x", "runs": [{"epochs": 2}], "epochs": 7})", "p.json");
    QCOMPARE(c.epochs, 7);
    const kd::Preset single = kd::presetFromJson(R"({"epochs": 3})", "one.json");
    QCOMPARE(single.runs.size(), std::size_t(1));
    QCOMPARE(single.runs[0].epochs, 3);
}

QTEST_GUILESS_MAIN(TestConfig)
#include "tst_config.moc"
