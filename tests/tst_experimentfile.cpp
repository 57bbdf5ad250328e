// .kdlab experiment files: exact round trips (a method's stages and the paired tests included), atomic
// saving, and a clear refusal of every kind of bad file.
#include "kdcore/config.h"
#include "kdcore/error.h"
#include "kdcore/experimentfile.h"
#include "kdcore/stats.h"

#include "testutil.h"

#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QJsonValue>
#include <QTemporaryDir>
#include <QTest>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <type_traits>

using RunsMutator = std::function<void(std::vector<kd::RunRecord>&)>;
Q_DECLARE_METATYPE(RunsMutator)

namespace {

// ---- exact comparison, naming the field that differs ----

// Bit-exact: a round trip must not even turn -0.0 into 0.0.
bool same(double a, double b) {
    return std::memcmp(&a, &b, sizeof a) == 0;
}
template <typename T> bool same(const T& a, const T& b) {
    return a == b;
}

QString show(double v) {
    return QString::number(v, 'g', 17);
}
QString show(const std::string& s) {
    return '"' + QString::fromStdString(s) + '"';
}
QString show(bool v) {
    return v ? QStringLiteral("true") : QStringLiteral("false");
}
QString show(kd::Role r) {
    return QString::fromLatin1(kd::roleName(r));
}
template <typename T, typename = std::enable_if_t<std::is_integral_v<T>>> QString show(T v) {
    return QString::number(v);
}

// In a function with `a`, `b` and `where`: "runs[1].result.history[0].testLoss: 0.5 != 0.25".
#define KD_SAME(field)                                                                                       \
    QVERIFY2(same(a.field, b.field),                                                                         \
             qPrintable(where + QStringLiteral("." #field ": ") + show(a.field) + " != " + show(b.field)))

// Helpers return after the first difference; callers stop too, so one failure gives one message.
#define KD_STOP_IF_FAILED()                                                                                  \
    do {                                                                                                     \
        if (QTest::currentTestFailed())                                                                      \
            return;                                                                                          \
    } while (false)

void compareConfigs(const kd::ExperimentConfig& a, const kd::ExperimentConfig& b, const QString& where) {
    KD_SAME(dataset);
    KD_SAME(trainLimit);
    KD_SAME(testLimit);
    KD_SAME(teacher);
    KD_SAME(student);
    KD_SAME(teacherCheckpoint);
    KD_SAME(temperature);
    KD_SAME(alpha);
    KD_SAME(method);
    KD_SAME(ensembleSize);
    KD_SAME(ensembleTeachers);
    KD_SAME(generations);
    KD_SAME(assistant);
    KD_SAME(epochs);
    KD_SAME(teacherEpochs);
    KD_SAME(batchSize);
    KD_SAME(lr);
    KD_SAME(optimizer);
    KD_SAME(momentum);
    KD_SAME(weightDecay);
    KD_SAME(seed);
    KD_SAME(device);
    KD_SAME(threads);
    KD_SAME(out);
}

void compareModels(const kd::ModelResult& a, const kd::ModelResult& b, const QString& where) {
    KD_SAME(spec);
    KD_SAME(stats.params);
    KD_SAME(stats.flopsPerSample);
    KD_SAME(stats.bytes);
    KD_SAME(testAccuracy);
    KD_SAME(testLoss);
    KD_SAME(epochsTrained);
    KD_SAME(secondsPerEpoch);
    KD_SAME(trained);
    KD_SAME(initialWeightsHash);
    KD_SAME(divergence);
}

void compareEpochs(const kd::EpochMetrics& a, const kd::EpochMetrics& b, const QString& where) {
    KD_SAME(role);
    KD_SAME(stage);
    KD_SAME(epoch);
    KD_SAME(epochs);
    KD_SAME(trainLoss);
    KD_SAME(trainSoft);
    KD_SAME(trainHard);
    KD_SAME(testLoss);
    KD_SAME(testAccuracy);
    KD_SAME(temperature);
    KD_SAME(alpha);
    KD_SAME(samplesPerSecond);
    KD_SAME(epochSeconds);
    KD_SAME(elapsedSeconds);
}

void comparePairedTests(const kd::PairedTest& a, const kd::PairedTest& b, const QString& where) {
    KD_SAME(n);
    KD_SAME(both);
    KD_SAME(onlyA);
    KD_SAME(onlyB);
    KD_SAME(difference);
    KD_SAME(low);
    KD_SAME(high);
    KD_SAME(pValue);
}

void compareResults(const kd::ExperimentResult& a, const kd::ExperimentResult& b, const QString& where) {
    compareModels(a.teacher, b.teacher, where + ".teacher");
    KD_STOP_IF_FAILED();
    compareModels(a.baseline, b.baseline, where + ".baseline");
    KD_STOP_IF_FAILED();
    compareModels(a.student, b.student, where + ".student");
    KD_STOP_IF_FAILED();
    KD_SAME(stopped);
    KD_SAME(teacherLogitsSeconds);
    KD_SAME(totalSeconds);
    KD_SAME(device);
    KD_SAME(threads);
    KD_SAME(history.size());
    for (std::size_t i = 0; i < a.history.size(); ++i) {
        compareEpochs(a.history[i], b.history[i], where + QStringLiteral(".history[%1]").arg(i));
        KD_STOP_IF_FAILED();
    }
    comparePairedTests(a.studentVsBaseline, b.studentVsBaseline, where + ".studentVsBaseline");
    KD_STOP_IF_FAILED();
    comparePairedTests(a.teacherVsBaseline, b.teacherVsBaseline, where + ".teacherVsBaseline");
    KD_STOP_IF_FAILED();
    KD_SAME(method);
    KD_SAME(stages.size());
    for (std::size_t i = 0; i < a.stages.size(); ++i) {
        const QString at = where + QStringLiteral(".stages[%1]").arg(i);
        const kd::StageResult& sa = a.stages[i];
        const kd::StageResult& sb = b.stages[i];
        QVERIFY2(sa.id == sb.id && sa.name == sb.name && sa.kind == sb.kind,
                 qPrintable(at + ": " + show(sa.id) + " " + show(sa.name) + " " + show(sa.kind) +
                            " != " + show(sb.id) + " " + show(sb.name) + " " + show(sb.kind)));
        compareModels(sa.model, sb.model, at + ".model");
        KD_STOP_IF_FAILED();
        QVERIFY2(sa.history.size() == sb.history.size(), qPrintable(at + ".history.size()"));
        for (std::size_t j = 0; j < sa.history.size(); ++j) {
            compareEpochs(sa.history[j], sb.history[j], at + QStringLiteral(".history[%1]").arg(j));
            KD_STOP_IF_FAILED();
        }
    }
}

void compareBatchPoints(const kd::BatchPoint& a, const kd::BatchPoint& b, const QString& where) {
    KD_SAME(role);
    KD_SAME(x);
    KD_SAME(loss);
    KD_SAME(soft);
    KD_SAME(hard);
}

void compareMarkers(const kd::ParameterMarker& a, const kd::ParameterMarker& b, const QString& where) {
    KD_SAME(role);
    KD_SAME(x);
    KD_SAME(temperature);
    KD_SAME(alpha);
}

void compareRun(const kd::RunRecord& a, const kd::RunRecord& b, const QString& where) {
    KD_SAME(name);
    KD_SAME(created);
    KD_SAME(status);
    KD_SAME(error);
    compareConfigs(a.config, b.config, where + ".config");
    KD_STOP_IF_FAILED();
    compareResults(a.result, b.result, where + ".result");
    KD_STOP_IF_FAILED();
    KD_SAME(batches.size());
    for (std::size_t i = 0; i < a.batches.size(); ++i) {
        compareBatchPoints(a.batches[i], b.batches[i], where + QStringLiteral(".batches[%1]").arg(i));
        KD_STOP_IF_FAILED();
    }
    KD_SAME(markers.size());
    for (std::size_t i = 0; i < a.markers.size(); ++i) {
        compareMarkers(a.markers[i], b.markers[i], where + QStringLiteral(".markers[%1]").arg(i));
        KD_STOP_IF_FAILED();
    }
    KD_SAME(checkpointDir);
    KD_SAME(checkpoints.size());
    for (const auto& [role, path] : a.checkpoints) {
        const auto it = b.checkpoints.find(role);
        QVERIFY2(it != b.checkpoints.end(), qPrintable(where + ".checkpoints: no " + show(role)));
        QVERIFY2(it->second == path, qPrintable(where + ".checkpoints." + QString::fromStdString(role) +
                                                ": " + show(path) + " != " + show(it->second)));
    }
}

void compareRuns(const std::vector<kd::RunRecord>& a, const std::vector<kd::RunRecord>& b) {
    QCOMPARE(a.size(), b.size());
    for (std::size_t i = 0; i < a.size(); ++i) {
        compareRun(a[i], b[i], QStringLiteral("runs[%1]").arg(i));
        KD_STOP_IF_FAILED();
    }
}

// ---- sample runs ----

kd::EpochMetrics epochOf(kd::Role role, int epoch, double seed, bool plain) {
    kd::EpochMetrics e;
    e.role = role;
    e.epoch = epoch;
    e.epochs = 2;
    e.trainLoss = 1.0 / (seed + epoch);
    e.trainSoft = role == kd::Role::Student ? (plain ? 0.25 : 5e-324) : 0; // the smallest denormal
    e.trainHard = e.trainLoss;
    e.testLoss = 0.1 + 0.2 * epoch;
    e.testAccuracy = 0.8 + seed / 1000 + epoch / 3.0 / 100;
    e.temperature = 1.0 / 3.0 + seed;
    e.alpha = 0.7;
    e.samplesPerSecond = plain ? 9123.5 : 1e300;
    e.epochSeconds = 6.6 * epoch;
    e.elapsedSeconds = 7.1 * epoch + seed;
    return e;
}

kd::ModelResult modelOf(const char* spec, std::int64_t params, double accuracy, std::uint64_t hash) {
    kd::ModelResult m;
    m.spec = spec;
    m.stats = {params, params * 2 + 7, params * 4};
    m.testAccuracy = accuracy;
    m.testLoss = 1 - accuracy;
    m.epochsTrained = 2;
    m.secondsPerEpoch = 3.25;
    m.trained = true;
    m.initialWeightsHash = hash;
    return m;
}

// Run i fills every field with awkward values: run 1 failed (error text, no teacher checkpoint), run 2
// stopped with a loaded teacher. `plain`: values QJsonDocument passes through unchanged (integers below
// 2^53), for the tests that edit a file as JSON.
kd::RunRecord makeRun(int i, bool plain = false) {
    kd::RunRecord r;
    r.name = "T=2 a=0.5 mlp:16,8 #" + std::to_string(i) + (i == 1 ? " \"quoted\" caf\xc3\xa9" : "");
    r.created = "2024-05-0" + std::to_string(i + 1) + "T14:03:11";
    r.status = i == 1 ? "failed" : i == 2 ? "stopped" : "done";
    if (i == 1)
        r.error = "runs/x: cannot write (No space left on device) \\ \"tab\"\tend";

    kd::ExperimentConfig& c = r.config;
    c.dataset = i == 0 ? "fashion-mnist" : "idx:/data/my set";
    c.trainLimit = plain ? 3000 : 9007199254740993LL; // above 2^53
    c.testLimit = 500 + i;
    c.teacher = "lenet5";
    c.student = "mlp:16,8";
    c.teacherCheckpoint = i == 2 ? "/tmp/teacher.pt" : "";
    c.temperature = 1.0 / 3.0 + i;
    c.alpha = 0.125 * i;
    c.epochs = 2;
    c.teacherEpochs = i == 2 ? 0 : 2;
    c.batchSize = 64;
    c.lr = 0.1 + 0.2; // not a short decimal
    c.optimizer = i == 2 ? "sgd" : "adam";
    c.momentum = 0.8;
    c.weightDecay = 1e-4;
    c.seed = plain ? 42 + i : std::numeric_limits<std::uint64_t>::max() - i;
    c.device = "cpu";
    c.threads = 2;
    c.out = "runs/run " + std::to_string(i);

    kd::ExperimentResult& res = r.result;
    res.teacher = modelOf("lenet5", 61706, 0.9 + 0.01 * i, 0xcbf29ce484222325ull);
    res.teacher.trained = i != 2;
    res.baseline = modelOf("mlp:16,8", 12730, 0.8 + 0.1 / 3, std::numeric_limits<std::uint64_t>::max());
    res.student = modelOf("mlp:16,8", 12730, 0.85 + 1e-12, std::numeric_limits<std::uint64_t>::max());
    if (i == 2) // a student that diverged (the key is only written then)
        res.student.divergence =
            "student diverged: batch 3 of epoch 1 gave a loss of NaN; \"kept\" caf\xc3\xa9";
    // Paired tests on the 500 + i test images: run 0 has both, run 1 (failed) none, run 2 (stopped) the
    // teacher's only.
    if (i == 0)
        res.studentVsBaseline = kd::pairedTestFromCounts(500, 400, 40, 15);
    if (i != 1)
        res.teacherVsBaseline = kd::pairedTestFromCounts(500 + i, 380 + i, 70, 3);
    res.stopped = i == 2;
    res.teacherLogitsSeconds = 0.8;
    res.totalSeconds = 4321.25 + i;
    res.device = "cpu";
    res.threads = 2;
    for (kd::Role role : {kd::Role::Teacher, kd::Role::Baseline, kd::Role::Student}) {
        if (role == kd::Role::Teacher && i == 2)
            continue; // loaded, not trained
        for (int epoch = 1; epoch <= 2; ++epoch)
            res.history.push_back(epochOf(role, epoch, i, plain));
    }

    // Grouped by role, as training makes them. Teacher and baseline points mostly have the trainer's
    // soft = 0, hard = loss (the short form); one teacher point does not (the long form).
    for (int b = 1; b <= 3; ++b)
        r.batches.push_back({kd::Role::Teacher, b / 3.0, 2.0 / (b + 1), 0, 2.0 / (b + 1)});
    r.batches.push_back({kd::Role::Teacher, 1.5, 0.5, 0, 0});
    for (int b = 1; b <= 2; ++b)
        r.batches.push_back({kd::Role::Baseline, b / 2.0, 1.0 / 3.0 + b, 0, 1.0 / 3.0 + b});
    for (int b = 1; b <= 3; ++b)
        r.batches.push_back({kd::Role::Student, b / 3.0, 1.2 / b, 0.7 / b, 0.5 / b + 1e-17});

    r.markers = {{kd::Role::Student, 1.25, 4.0, 0.7},
                 {kd::Role::Student, 1.5, 4.0, 0.3},
                 {kd::Role::Baseline, 0.5, 2.0, 0.1 + 0.2}};
    if (i == 0)
        r.checkpoints = {{"teacher", "/tmp/runs/teacher.pt"},
                         {"baseline", "/tmp/runs/baseline.pt"},
                         {"student", "/tmp/caf\xc3\xa9/student.pt"}};
    if (i == 2)
        r.checkpoints = {{"student", "runs/s.pt"}};
    if (i == 0) // where its per-epoch checkpoints are, for Resume (optional: absent for run 2)
        r.checkpointDir = "/tmp/runs/20240501-140311-123";
    return r;
}

// `run` as a run of method `method` (assistant, ensemble or born-again) would be: its config names the method
// and its result has the method's stages, each with its own epochs (stage index set, as training and loading
// set it).
void makeMethodRun(kd::RunRecord& run, const std::string& method, bool plain = false) {
    run.config.method = method;
    run.config.ensembleSize = 3;
    run.config.generations = 3;
    run.config.assistant = "mlp:64";
    run.result.method = method;
    run.result.stages.clear();
    struct Stage {
        const char* id;
        const char* name;
        const char* kind;
        const char* spec;
    };
    std::vector<Stage> stages;
    if (method == "assistant")
        stages = {{"assistant", "assistant", "assistant", "mlp:64"},
                  {"direct", "direct KD", "direct", "mlp:16,8"}};
    else if (method == "ensemble")
        stages = {{"member-1", "member 1", "member", "lenet5"},
                  {"member-2", "member 2", "member", "lenet5"},
                  {"member-3", "member 3", "member", "lenet5"}};
    else
        stages = {{"generation-1", "generation 1", "generation", "lenet5"},
                  {"generation-2", "generation 2", "generation", "lenet5"}};
    for (std::size_t i = 0; i < stages.size(); ++i) {
        kd::StageResult st;
        st.id = stages[i].id;
        st.name = stages[i].name;
        st.kind = stages[i].kind;
        st.model = modelOf(stages[i].spec, 1000 + std::int64_t(i), 0.8 + 0.01 * double(i) + 1.0 / 3.0 / 100,
                           plain ? 7 + i : std::numeric_limits<std::uint64_t>::max() - i);
        const kd::Role role = method == "ensemble" ? kd::Role::Teacher : kd::Role::Student;
        for (int epoch = 1; epoch <= 2; ++epoch) {
            st.history.push_back(epochOf(role, epoch, double(i) + 0.5, plain));
            st.history.back().stage = int(i);
        }
        run.result.stages.push_back(st);
    }
    if (method == "ensemble") {
        // The teacher is the ensemble; its epochs are the members'.
        run.result.teacher.spec = "3 x lenet5";
        std::vector<kd::EpochMetrics> students;
        for (const kd::EpochMetrics& e : run.result.history)
            if (e.role != kd::Role::Teacher)
                students.push_back(e);
        run.result.history = students;
    }
}

std::vector<kd::RunRecord> makeRuns(int count, bool plain = false) {
    std::vector<kd::RunRecord> runs;
    for (int i = 0; i < count; ++i)
        runs.push_back(makeRun(i, plain));
    return runs;
}

// ---- files and JSON edits ----

QByteArray readAll(const QString& path) {
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray("<cannot read>");
}

bool writeAll(const QString& path, const QByteArray& bytes) {
    QFile f(path);
    return f.open(QIODevice::WriteOnly | QIODevice::Truncate) && f.write(bytes) == bytes.size();
}

QStringList fileNames(const QString& dir) {
    return QDir(dir).entryList(QDir::AllEntries | QDir::Hidden | QDir::NoDotAndDotDot);
}

// Sets the value at `steps` (keys and array indices); an undefined value removes it.
QJsonValue edited(const QJsonValue& node, QStringList steps, const QJsonValue& value) {
    const QString step = steps.takeFirst();
    if (node.isArray()) {
        QJsonArray array = node.toArray();
        const int i = step.toInt();
        if (!steps.isEmpty())
            array[i] = edited(array[i], steps, value);
        else if (value.isUndefined())
            array.removeAt(i);
        else
            array[i] = value;
        return array;
    }
    QJsonObject object = node.toObject();
    if (!steps.isEmpty())
        object[step] = edited(object[step], steps, value);
    else if (value.isUndefined())
        object.remove(step);
    else
        object[step] = value;
    return object;
}

// `path` as in the messages: "runs[0].result.history[1].epoch".
QByteArray editedJson(const QByteArray& json, const QString& path, const QJsonValue& value) {
    QString dotted = path;
    dotted.replace('[', '.').remove(']');
    const QJsonValue root = QJsonDocument::fromJson(json).object();
    return QJsonDocument(edited(root, dotted.split('.'), value).toObject()).toJson();
}

const QJsonValue kRemove = QJsonValue(QJsonValue::Undefined);

} // namespace

class TestExperimentFile : public QObject {
    Q_OBJECT

private slots:
    void roundTrip_data();
    void roundTrip();
    void toJson_layout();
    void load_groupsBatchesByRole();
    void load_ignoresUnknownKeys();
    void save_leavesNoTemporaryFile();
    void save_missingDirectory();
    void save_unwritable_data();
    void save_unwritable();
    void save_refusesAndKeepsExistingFile_data();
    void save_refusesAndKeepsExistingFile();
    void load_missingFile();
    void load_directory();
    void load_unreadable_data();
    void load_unreadable();
    void load_truncated_data();
    void load_truncated();
    void load_truncatedAnywhere();
    void load_rejectsFile_data();
    void load_rejectsFile();
    void load_rejectsField_data();
    void load_rejectsField();
    void toJson_methodLayout();
    void load_fileWithoutMethods();
    void comparisons_data();
    void comparisons();
};

void TestExperimentFile::roundTrip_data() {
    QTest::addColumn<int>("count");
    QTest::addColumn<bool>("plain");
    QTest::addColumn<QStringList>("methods"); // of the first runs; the others are kd
    QTest::newRow("no runs") << 0 << false << QStringList{};
    QTest::newRow("one run") << 1 << false << QStringList{};
    QTest::newRow("three runs, one failed, one stopped") << 3 << false << QStringList{};
    QTest::newRow("three runs, plain values") << 3 << true << QStringList{};
    QTest::newRow("an assistant run with its stages") << 1 << false << QStringList{"assistant"};
    QTest::newRow("assistant, ensemble (failed), born-again (stopped)")
        << 3 << false << QStringList{"assistant", "ensemble", "born-again"};
    QTest::newRow("a kd run between two methods, plain values")
        << 3 << true << QStringList{"ensemble", "kd", "born-again"};
}

void TestExperimentFile::roundTrip() {
    QFETCH(int, count);
    QFETCH(bool, plain);
    QFETCH(QStringList, methods);
    std::vector<kd::RunRecord> runs = makeRuns(count, plain);
    for (int i = 0; i < methods.size(); ++i)
        if (methods[i] != "kd")
            makeMethodRun(runs[std::size_t(i)], methods[i].toStdString(), plain);
    QTemporaryDir tmp;
    QVERIFY(tmp.isValid());
    const std::string path = tmp.filePath("lab.kdlab").toStdString();

    kd::saveExperimentFile(path, runs);
    const std::vector<kd::RunRecord> loaded = kd::loadExperimentFile(path);
    compareRuns(loaded, runs);
    KD_STOP_IF_FAILED();

    // The text form is what the file holds, and saving what was loaded writes the same bytes.
    const std::string text = kd::experimentToJson(runs);
    QCOMPARE(readAll(tmp.filePath("lab.kdlab")), QByteArray::fromStdString(text));
    compareRuns(kd::experimentFromJson(text, "memory.kdlab"), runs);
    KD_STOP_IF_FAILED();
    QCOMPARE(kd::experimentToJson(loaded), text);
}

void TestExperimentFile::toJson_layout() {
    const QByteArray text = QByteArray::fromStdString(kd::experimentToJson(makeRuns(1)));
    QJsonParseError error;
    const QJsonObject doc = QJsonDocument::fromJson(text, &error).object();
    QVERIFY2(error.error == QJsonParseError::NoError, qPrintable(error.errorString()));
    QCOMPARE(doc["format"].toString(), QStringLiteral("kdlab-experiment"));
    QCOMPARE(doc["version"].toInt(), kd::kExperimentFileVersion);
    QCOMPARE(doc["runs"].toArray().size(), 1);
    const QJsonObject run = doc["runs"].toArray()[0].toObject();

    // The config object is configToJson's: every key.
    const QJsonObject config = run["config"].toObject();
    for (const std::string& key : kd::configKeys())
        QVERIFY2(config.contains(QString::fromStdString(key)), key.c_str());
    QCOMPARE(qsizetype(config.size()), qsizetype(kd::configKeys().size()));

    // A 64-bit hash is a string: JSON readers in other languages would round it to a double.
    const QJsonValue hash = run["result"]["baseline"]["initial_weights_hash"];
    QVERIFY(hash.isString());
    QCOMPARE(hash.toString(), QStringLiteral("18446744073709551615"));

    // Compact batch points: [x, loss] when soft = 0 and hard = loss, else [x, loss, soft, hard].
    const QJsonObject batches = run["batches"].toObject();
    QCOMPARE(batches["teacher"].toArray().size(), 4);
    QCOMPARE(batches["teacher"][0].toArray().size(), 2);
    QCOMPARE(batches["teacher"][3].toArray().size(), 4); // soft = hard = 0, loss 0.5
    QCOMPARE(batches["baseline"][0].toArray().size(), 2);
    QCOMPARE(batches["student"][0].toArray().size(), 4);
    QCOMPARE(run["markers"][2]["role"].toString(), QStringLiteral("baseline"));
    QCOMPARE(run["checkpoints"]["student"].toString(), QStringLiteral("/tmp/caf\u00e9/student.pt"));
    QCOMPARE(run["result"]["history"][0]["role"].toString(), QStringLiteral("teacher"));
    QVERIFY(text.endsWith("}\n"));
}

void TestExperimentFile::load_groupsBatchesByRole() {
    // Interleaved points (not what training makes) come back grouped by role, each role in its order.
    std::vector<kd::RunRecord> runs = makeRuns(1);
    runs[0].batches = {{kd::Role::Student, 0.1, 1, 2, 3},
                       {kd::Role::Teacher, 0.2, 4, 0, 4},
                       {kd::Role::Student, 0.3, 5, 6, 7},
                       {kd::Role::Baseline, 0.4, 8, 0, 8}};
    const std::vector<kd::RunRecord> loaded =
        kd::experimentFromJson(kd::experimentToJson(runs), "mixed.kdlab");
    std::vector<kd::RunRecord> expected = runs;
    expected[0].batches = {runs[0].batches[1], runs[0].batches[3], runs[0].batches[0], runs[0].batches[2]};
    compareRuns(loaded, expected);
}

void TestExperimentFile::load_ignoresUnknownKeys() {
    // Keys a later kdlab might add, at the top, in a run, in history and markers (each "role" key): ignored.
    QString text = QString::fromStdString(kd::experimentToJson(makeRuns(3)));
    text.replace(QStringLiteral("\"format\": "), QStringLiteral("\"comment\": \"x\", \"format\": "));
    text.replace(QStringLiteral("\"name\": "), QStringLiteral("\"future\": [1, {\"a\": null}], \"name\": "));
    text.replace(QStringLiteral("\"role\": "), QStringLiteral("\"note\": {}, \"role\": "));
    text.replace(QStringLiteral("\"stopped\": "), QStringLiteral("\"gpu\": \"none\", \"stopped\": "));
    QVERIFY(text.count(QStringLiteral("\"note\"")) > 3);
    compareRuns(kd::experimentFromJson(text.toStdString(), "future.kdlab"), makeRuns(3));
}

void TestExperimentFile::save_leavesNoTemporaryFile() {
    QTemporaryDir tmp;
    QVERIFY(tmp.isValid());
    const QString path = tmp.filePath("lab.kdlab");
    kd::saveExperimentFile(path.toStdString(), makeRuns(3));
    QCOMPARE(fileNames(tmp.path()), QStringList{"lab.kdlab"});
    // Overwriting replaces the file, again with nothing left beside it.
    kd::saveExperimentFile(path.toStdString(), makeRuns(1));
    QCOMPARE(fileNames(tmp.path()), QStringList{"lab.kdlab"});
    compareRuns(kd::loadExperimentFile(path.toStdString()), makeRuns(1));
}

void TestExperimentFile::save_missingDirectory() {
    QTemporaryDir tmp;
    QVERIFY(tmp.isValid());
    const QString path = tmp.filePath("missing/lab.kdlab");
    QString msg;
    KD_EXPECT_ERROR(msg, kd::saveExperimentFile(path.toStdString(), makeRuns(1)));
    QVERIFY2(msg.startsWith(path + ": "), qPrintable(msg));
    QVERIFY2(!msg.contains('\n'), qPrintable(msg));
    QVERIFY(fileNames(tmp.path()).isEmpty()); // no folder made, nothing written
}

// A target that cannot be written: an error naming it, and the folder as it was (no temporary file left).
void TestExperimentFile::save_unwritable_data() {
    QTest::addColumn<QString>("file"); // in a temporary folder holding "a-file" and the folder "a-folder"
    QTest::addColumn<QString>("why");
    QTest::newRow("the path is a folder") << "a-folder"
                                          << "Is a directory";
    QTest::newRow("under a regular file") << "a-file/lab.kdlab"
                                          << "Not a directory";
    QTest::newRow("in a read-only folder (mode 555)") << "a-folder/lab.kdlab"
                                                      << "Permission denied";
}

void TestExperimentFile::save_unwritable() {
    QFETCH(QString, file);
    QFETCH(QString, why);
    const bool readOnly = QByteArray(QTest::currentDataTag()).contains("read-only");
    if (readOnly && !testutil::permissionsAreEnforced())
        QSKIP("running as root, which writes into a folder of mode 555");
    QTemporaryDir tmp;
    QVERIFY(tmp.isValid());
    QVERIFY(writeAll(tmp.filePath("a-file"), "earlier"));
    QVERIFY(QDir(tmp.path()).mkdir("a-folder"));
    if (readOnly)
        QVERIFY(
            QFile::setPermissions(tmp.filePath("a-folder"), QFileDevice::ReadOwner | QFileDevice::ExeOwner));
    const QString path = tmp.filePath(file);
    QString msg;
    KD_EXPECT_ERROR(msg, kd::saveExperimentFile(path.toStdString(), makeRuns(1)));
    QFile::setPermissions(tmp.filePath("a-folder"),
                          QFileDevice::ReadOwner | QFileDevice::WriteOwner | QFileDevice::ExeOwner);
    QVERIFY2(msg.startsWith(path + ": ") && msg.contains(why), qPrintable(msg));
    QVERIFY2(!msg.contains('\n'), qPrintable(msg));
    QCOMPARE(fileNames(tmp.path()), (QStringList{"a-file", "a-folder"}));
    QVERIFY(fileNames(tmp.filePath("a-folder")).isEmpty());
    QCOMPARE(readAll(tmp.filePath("a-file")), QByteArray("earlier"));
}

void TestExperimentFile::save_refusesAndKeepsExistingFile_data() {
    QTest::addColumn<RunsMutator>("change");
    QTest::addColumn<QString>("expected");
    auto row = [](const char* name, RunsMutator m, const char* expected) {
        QTest::newRow(name) << m << QString(expected);
    };
    const double nan = std::numeric_limits<double>::quiet_NaN();
    const double inf = std::numeric_limits<double>::infinity();
    row(
        "NaN test loss in history", [=](auto& runs) { runs[0].result.history[1].testLoss = nan; },
        "runs[0].result.history[1].test_loss: cannot save nan");
    row(
        "infinite soft loss of a batch point", [=](auto& runs) { runs[1].batches[7].soft = inf; },
        "runs[1].batches.student[1][2]: cannot save inf");
    row(
        "-inf marker alpha", [=](auto& runs) { runs[2].markers[1].alpha = -inf; },
        "runs[2].markers[1].alpha: cannot save -inf");
    row(
        "NaN model accuracy", [=](auto& runs) { runs[0].result.student.testAccuracy = nan; },
        "runs[0].result.student.test_accuracy: cannot save nan");
    row(
        "unknown status", [](auto& runs) { runs[1].status = "finished"; },
        "runs[1].status: 'finished' is not new, running, done, stopped or failed");
    row(
        "invalid config", [](auto& runs) { runs[2].config.alpha = 2; },
        "runs[2].config.alpha: must be in [0, 1]");
    row(
        "NaN accuracy of a stage's model",
        [=](auto& runs) {
            makeMethodRun(runs[1], "assistant");
            runs[1].result.stages[1].model.testAccuracy = nan;
        },
        "runs[1].result.stages[1].model.test_accuracy: cannot save nan");
    row(
        "infinite loss in a stage's history",
        [=](auto& runs) {
            makeMethodRun(runs[0], "ensemble");
            runs[0].result.stages[2].history[1].trainLoss = inf;
        },
        "runs[0].result.stages[2].history[1].train_loss: cannot save inf");
    row(
        "unknown method in the config", [](auto& runs) { runs[0].config.method = "distill"; },
        "runs[0].config.method: 'distill' is not kd, ensemble, born-again or assistant");
}

void TestExperimentFile::save_refusesAndKeepsExistingFile() {
    QFETCH(RunsMutator, change);
    QFETCH(QString, expected);
    QTemporaryDir tmp;
    QVERIFY(tmp.isValid());
    const QString path = tmp.filePath("lab.kdlab");
    kd::saveExperimentFile(path.toStdString(), makeRuns(1));
    const QByteArray before = readAll(path);

    std::vector<kd::RunRecord> runs = makeRuns(3);
    change(runs);
    QString msg;
    KD_EXPECT_ERROR(msg, kd::saveExperimentFile(path.toStdString(), runs));
    QVERIFY2(msg.startsWith(path + ": "), qPrintable(msg));
    QVERIFY2(msg.contains(expected), qPrintable("expected '" + expected + "' in: " + msg));
    QVERIFY2(!msg.contains('\n'), qPrintable(msg));
    QCOMPARE(readAll(path), before);
    QCOMPARE(fileNames(tmp.path()), QStringList{"lab.kdlab"});
}

void TestExperimentFile::load_missingFile() {
    QTemporaryDir tmp;
    QVERIFY(tmp.isValid());
    const QString path = tmp.filePath("nope.kdlab");
    QString msg;
    KD_EXPECT_ERROR(msg, kd::loadExperimentFile(path.toStdString()));
    QCOMPARE(msg, path + QStringLiteral(": cannot open: No such file or directory"));
}

void TestExperimentFile::load_directory() {
    QTemporaryDir tmp;
    QVERIFY(tmp.isValid());
    QString msg;
    KD_EXPECT_ERROR(msg, kd::loadExperimentFile(tmp.path().toStdString()));
    QVERIFY2(msg.startsWith(tmp.path() + ": cannot open: "), qPrintable(msg));
}

void TestExperimentFile::load_unreadable_data() {
    QTest::addColumn<QString>("file"); // in a temporary folder holding "a-file"
    QTest::addColumn<QString>("expected");
    QTest::newRow("under a regular file") << "a-file/lab.kdlab"
                                          << ": cannot open: Not a directory";
    QTest::newRow("unreadable (mode 000)") << "locked.kdlab"
                                           << ": cannot open: Permission denied";
}

void TestExperimentFile::load_unreadable() {
    QFETCH(QString, file);
    QFETCH(QString, expected);
    const bool locked = file == "locked.kdlab";
    if (locked && !testutil::permissionsAreEnforced())
        QSKIP("running as root, which reads a file of mode 000");
    QTemporaryDir tmp;
    QVERIFY(tmp.isValid());
    QVERIFY(writeAll(tmp.filePath("a-file"), "x"));
    const QString path = tmp.filePath(file);
    if (locked) {
        kd::saveExperimentFile(path.toStdString(), makeRuns(1));
        QVERIFY(QFile::setPermissions(path, QFileDevice::Permissions()));
    }
    QString msg;
    KD_EXPECT_ERROR(msg, kd::loadExperimentFile(path.toStdString()));
    QCOMPARE(msg, path + expected);
}

void TestExperimentFile::load_truncated_data() {
    // Cuts of a valid three-run file; it ends "}\n", so any cut before the last two bytes is unfinished JSON.
    QTest::addColumn<int>("length");
    const int size = int(kd::experimentToJson(makeRuns(3)).size());
    for (int length : {0, 1, 2, 10, 100, size / 4, size / 2, 3 * size / 4, size - 3, size - 2})
        QTest::newRow(qPrintable(QStringLiteral("cut at %1 of %2").arg(length).arg(size))) << length;
}

void TestExperimentFile::load_truncated() {
    QFETCH(int, length);
    QTemporaryDir tmp;
    QVERIFY(tmp.isValid());
    const QString path = tmp.filePath("cut.kdlab");
    QVERIFY(writeAll(path, QByteArray::fromStdString(kd::experimentToJson(makeRuns(3))).left(length)));
    QString msg;
    KD_EXPECT_ERROR(msg, kd::loadExperimentFile(path.toStdString()));
    QVERIFY2(msg.startsWith(path + ": not a kdlab experiment file (truncated or not JSON: "),
             qPrintable(msg));
    QVERIFY2(msg.endsWith(')') && !msg.contains('\n'), qPrintable(msg));
}

void TestExperimentFile::load_truncatedAnywhere() {
    // Every cut of a one-run file is refused as a whole (a read never returns part of a file).
    const std::string text = kd::experimentToJson(makeRuns(1));
    for (std::size_t length = 0; length + 2 <= text.size(); ++length) {
        const QString msg =
            testutil::errorMessage([&] { kd::experimentFromJson(text.substr(0, length), "cut.kdlab"); });
        QVERIFY2(msg.startsWith("cut.kdlab: not a kdlab experiment file (truncated or not JSON: "),
                 qPrintable(QStringLiteral("cut at %1: ").arg(length) + msg));
    }
}

void TestExperimentFile::load_rejectsFile_data() {
    QTest::addColumn<QByteArray>("text");
    QTest::addColumn<QString>("expected");
    const QByteArray valid = QByteArray::fromStdString(kd::experimentToJson(makeRuns(1)));
    auto row = [](const char* name, const QByteArray& text, const char* expected) {
        QTest::newRow(name) << text << QString(expected);
    };
    auto head = [](const char* rest) { return QByteArray(R"({"format": "kdlab-experiment", )") + rest; };
    row("empty file", "", "not a kdlab experiment file (truncated or not JSON: ");
    row("not JSON", "kdlab experiment\n", "not a kdlab experiment file (truncated or not JSON: ");
    // Raw bytes the parser quotes come out as '?': the message stays printable.
    row("binary", QByteArray("\x89PNG\r\n\x1a\n\0\0", 10),
        "(truncated or not JSON: parse error at line 1, column 1: invalid literal; last read: '?')");
    row("an array", "[1, 2]", "not a kdlab experiment file (expected a JSON object, got an array)");
    row("a number", "42", "not a kdlab experiment file (expected a JSON object, got 42)");
    row("null", "null", "not a kdlab experiment file (expected a JSON object, got null)");
    row("no format", R"({"version": 1, "runs": []})", "not a kdlab experiment file (no \"format\"");
    row("other format", R"({"format": "kdlab-preset", "version": 1, "runs": []})",
        "not a kdlab experiment file (format is \"kdlab-preset\", expected \"kdlab-experiment\")");
    row("format a number", R"({"format": 1, "version": 1, "runs": []})",
        "not a kdlab experiment file (format is 1");
    row("newer version", head(R"("version": 2, "runs": []})"),
        "written by a newer kdlab (file version 2, this kdlab reads up to 1)");
    row("newer version, other layout", head(R"("version": 7, "experiments": {"a": 1}})"),
        "written by a newer kdlab (file version 7, this kdlab reads up to 1)");
    row("no version", head(R"("runs": []})"), "version: missing");
    row("version a string", head(R"("version": "1", "runs": []})"),
        "version: expected a whole number, got \"1\"");
    row("version a fraction", head(R"("version": 1.5, "runs": []})"),
        "version: expected a whole number, got 1.5");
    row("version 0", head(R"("version": 0, "runs": []})"),
        "version: 0 is not a file version (they start at 1)");
    row("no runs", head(R"("version": 1})"), "runs: missing");
    row("runs an object", head(R"("version": 1, "runs": {}})"), "runs: expected an array, got an object");
    row("runs null", head(R"("version": 1, "runs": null})"), "runs: expected an array, got null");
    row("a run not an object", head(R"("version": 1, "runs": [5]})"), "runs[0]: expected an object, got 5");
    row("a number too large for a double", QByteArray(valid).replace("4321.25", "1e999"), "1e999");
    // Newer versions, whatever they hold.
    row("newer version with a version-1 body",
        QByteArray(valid).replace("\"version\": 1,", "\"version\": 2,"),
        "written by a newer kdlab (file version 2, this kdlab reads up to 1)");
    row("version 2^63-1", head(R"("version": 9223372036854775807, "runs": []})"),
        "written by a newer kdlab (file version 9223372036854775807, this kdlab reads up to 1)");
    row("version -1", head(R"("version": -1, "runs": []})"), "version: -1 is not a file version");
    row("version null", head(R"("version": null, "runs": []})"),
        "version: expected a whole number, got null");
    row("version beyond 64 bits", head(R"("version": 18446744073709551616, "runs": []})"),
        "version: expected a whole number");
    // Other files a user may pick by mistake.
    row("a config file", R"({"temperature": 2, "alpha": 0.5})", "not a kdlab experiment file (no \"format\"");
    row("a preset file", R"({"name": "Temps", "runs": [{"temperature": 1}]})",
        "not a kdlab experiment file (no \"format\"");
    row("format in other case", R"({"format": "KDLAB-experiment", "version": 1, "runs": []})",
        "not a kdlab experiment file (format is \"KDLAB-experiment\"");
    row("gzip-compressed", QByteArray("\x1f\x8b\x08\x00\x00\x00\x00\x00", 8),
        "not a kdlab experiment file (truncated or not JSON: ");
    row("text after the object", valid + "x", "not a kdlab experiment file (truncated or not JSON: ");
    row("two files back to back", valid + valid, "not a kdlab experiment file (truncated or not JSON: ");
    row("NaN literal", QByteArray(valid).replace("4321.25", "NaN"),
        "not a kdlab experiment file (truncated or not JSON: ");
}

void TestExperimentFile::load_rejectsFile() {
    QFETCH(QByteArray, text);
    QFETCH(QString, expected);
    QTemporaryDir tmp;
    QVERIFY(tmp.isValid());
    const QString path = tmp.filePath("bad.kdlab");
    QVERIFY(writeAll(path, text));
    QString msg;
    KD_EXPECT_ERROR(msg, kd::loadExperimentFile(path.toStdString()));
    QVERIFY2(msg.startsWith(path + ": "), qPrintable(msg));
    QVERIFY2(msg.contains(expected), qPrintable("expected '" + expected + "' in: " + msg));
    QVERIFY2(!msg.contains('\n'), qPrintable("message is not one line: " + msg));
    QCOMPARE(readAll(path), text); // a failed read changes nothing, the file included
}

void TestExperimentFile::load_rejectsField_data() {
    QTest::addColumn<QString>("path");     // what to change, as messages write it
    QTest::addColumn<QJsonValue>("value"); // undefined: remove
    QTest::addColumn<QString>("expected");
    auto row = [](const char* name, const char* path, const QJsonValue& value, const char* expected) {
        QTest::newRow(name) << QString(path) << value << QString(expected);
    };
    // Run fields.
    row("name a number", "runs[0].name", 5, "runs[0].name: expected a string, got 5");
    row("created missing", "runs[0].created", kRemove, "runs[0].created: missing");
    row("error null", "runs[1].error", QJsonValue::Null, "runs[1].error: expected a string, got null");
    row("status unknown", "runs[1].status", "finished",
        "runs[1].status: 'finished' is not new, running, done, stopped or failed");
    row("status a bool", "runs[0].status", true, "runs[0].status: expected a string, got true");
    // The config: configFromJson's types and unknown keys, validateConfig's ranges.
    row("config missing", "runs[0].config", kRemove, "runs[0].config: missing");
    row("config an array", "runs[0].config", QJsonArray{},
        "runs[0].config: expected an object, got an array");
    row("config alpha 2", "runs[1].config.alpha", 2, "runs[1].config.alpha: must be in [0, 1]");
    row("config bad student spec", "runs[0].config.student", "mlp:0", "runs[0].config.student: ");
    row("config alpha a string", "runs[0].config.alpha", "x", "runs[0].config: alpha: expected a number");
    row("config unknown key", "runs[1].config.epoch", 3, "runs[1].config: unknown setting 'epoch'");
    // The result and its models.
    row("result missing", "runs[0].result", kRemove, "runs[0].result: missing");
    row("teacher a string", "runs[0].result.teacher", "x", "runs[0].result.teacher: expected an object");
    row("params a string", "runs[0].result.teacher.params", "many",
        "runs[0].result.teacher.params: expected a whole number, got \"many\"");
    row("params a fraction", "runs[0].result.student.params", 1.5,
        "runs[0].result.student.params: expected a whole number, got 1.5");
    row("epochs_trained beyond int", "runs[0].result.student.epochs_trained", qint64(6000000000),
        "runs[0].result.student.epochs_trained: 6000000000 is out of range");
    row("hash a number", "runs[0].result.baseline.initial_weights_hash", 123,
        "runs[0].result.baseline.initial_weights_hash: expected a string, got 123");
    row("hash not decimal", "runs[0].result.baseline.initial_weights_hash", "0x10",
        "runs[0].result.baseline.initial_weights_hash: expected a decimal 64-bit number");
    row("hash negative", "runs[0].result.baseline.initial_weights_hash", "-1",
        "runs[0].result.baseline.initial_weights_hash: expected a decimal 64-bit number");
    row("hash beyond 64 bits", "runs[0].result.baseline.initial_weights_hash", "18446744073709551616",
        "runs[0].result.baseline.initial_weights_hash: expected a decimal 64-bit number");
    row("trained a number", "runs[0].result.student.trained", 1,
        "runs[0].result.student.trained: expected true or false, got 1");
    row("stopped missing", "runs[1].result.stopped", kRemove, "runs[1].result.stopped: missing");
    row("threads a fraction", "runs[0].result.threads", 2.5,
        "runs[0].result.threads: expected a whole number");
    row("device null", "runs[0].result.device", QJsonValue::Null, "runs[0].result.device: expected a string");
    // History.
    row("history an object", "runs[0].result.history", QJsonObject{},
        "runs[0].result.history: expected an array, got an object");
    row("history entry a number", "runs[0].result.history[2]", 1,
        "runs[0].result.history[2]: expected an object, got 1");
    row("history accuracy a string", "runs[1].result.history[0].test_accuracy", "high",
        "runs[1].result.history[0].test_accuracy: expected a number, got \"high\"");
    row("history loss null", "runs[0].result.history[5].train_soft", QJsonValue::Null,
        "runs[0].result.history[5].train_soft: expected a number, got null");
    row("history epochs missing", "runs[0].result.history[1].epochs", kRemove,
        "runs[0].result.history[1].epochs: missing");
    row("history role unknown", "runs[0].result.history[0].role", "teachr",
        "runs[0].result.history[0].role: unknown role 'teachr'");
    row("history role a number", "runs[0].result.history[0].role", 0,
        "runs[0].result.history[0].role: expected a string, got 0");
    // Batches.
    row("batches missing", "runs[0].batches", kRemove, "runs[0].batches: missing");
    row("batches an array", "runs[0].batches", QJsonArray{},
        "runs[0].batches: expected an object, got an array");
    row("batches of an unknown role", "runs[0].batches.tutor", QJsonArray{},
        "runs[0].batches.tutor: unknown role 'tutor'");
    row("batches of a role an object", "runs[0].batches.teacher", QJsonObject{},
        "runs[0].batches.teacher: expected an array, got an object");
    row("batch point of 3 numbers", "runs[0].batches.student[0]", QJsonArray{1, 2, 3},
        "runs[0].batches.student[0]: expected [x, loss] or [x, loss, soft, hard], got an array");
    row("batch point an object", "runs[0].batches.baseline[1]", QJsonObject{{"x", 1}},
        "runs[0].batches.baseline[1]: expected [x, loss] or [x, loss, soft, hard], got an object");
    row("batch soft a string", "runs[1].batches.student[1][2]", "x",
        "runs[1].batches.student[1][2]: expected a number, got \"x\"");
    row("batch x null", "runs[0].batches.teacher[0][0]", QJsonValue::Null,
        "runs[0].batches.teacher[0][0]: expected a number, got null");
    // Markers.
    row("markers an object", "runs[0].markers", QJsonObject{}, "runs[0].markers: expected an array");
    row("marker alpha null", "runs[0].markers[0].alpha", QJsonValue::Null,
        "runs[0].markers[0].alpha: expected a number, got null");
    row("marker role unknown", "runs[1].markers[2].role", "student2",
        "runs[1].markers[2].role: unknown role 'student2'");
    row("marker x missing", "runs[0].markers[1].x", kRemove, "runs[0].markers[1].x: missing");
    // Checkpoints.
    row("checkpoints an array", "runs[0].checkpoints", QJsonArray{"a.pt"},
        "runs[0].checkpoints: expected an object, got an array");
    row("checkpoint path a number", "runs[0].checkpoints.teacher", 5,
        "runs[0].checkpoints.teacher: expected a string, got 5");
    row("checkpoint of an unknown role", "runs[0].checkpoints.assistant", "a.pt",
        "runs[0].checkpoints.assistant: unknown role 'assistant'");
    // A method's run: its method and stages.
    row("method unknown", "runs[0].result.method", "distill",
        "runs[0].result.method: 'distill' is not kd, ensemble, born-again or assistant");
    row("method unknown in a kd run", "runs[1].result.method", "nope",
        "runs[1].result.method: 'nope' is not kd, ensemble, born-again or assistant");
    row("method a number", "runs[0].result.method", 3, "runs[0].result.method: expected a string, got 3");
    row("config method unknown", "runs[0].config.method", "distill",
        "runs[0].config.method: 'distill' is not kd, ensemble, born-again or assistant");
    row("config generations 0", "runs[0].config.generations", 0,
        "runs[0].config.generations: must be in 1..10");
    row("stages an object", "runs[0].result.stages", QJsonObject{},
        "runs[0].result.stages: expected an array, got an object");
    row("stage a number", "runs[0].result.stages[1]", 5,
        "runs[0].result.stages[1]: expected an object, got 5");
    row("stage model missing", "runs[0].result.stages[0].model", kRemove,
        "runs[0].result.stages[0].model: missing");
    row("stage model a string", "runs[0].result.stages[1].model", "mlp:64",
        "runs[0].result.stages[1].model: expected an object, got \"mlp:64\"");
    row("stage model accuracy a string", "runs[0].result.stages[0].model.test_accuracy", "high",
        "runs[0].result.stages[0].model.test_accuracy: expected a number, got \"high\"");
    row("stage id a number", "runs[0].result.stages[0].id", 1,
        "runs[0].result.stages[0].id: expected a string, got 1");
    row("stage name missing", "runs[0].result.stages[1].name", kRemove,
        "runs[0].result.stages[1].name: missing");
    row("stage kind null", "runs[0].result.stages[0].kind", QJsonValue::Null,
        "runs[0].result.stages[0].kind: expected a string, got null");
    row("stage history missing", "runs[0].result.stages[1].history", kRemove,
        "runs[0].result.stages[1].history: missing");
    row("stage history entry role unknown", "runs[0].result.stages[1].history[1].role", "tutor",
        "runs[0].result.stages[1].history[1].role: unknown role 'tutor'");
    row("stage history epoch a fraction", "runs[0].result.stages[0].history[0].epoch", 1.5,
        "runs[0].result.stages[0].history[0].epoch: expected a whole number, got 1.5");
    // Booleans of the wrong type.
    row("stopped a string", "runs[0].result.stopped", "no",
        "runs[0].result.stopped: expected true or false, got \"no\"");
    row("trained null", "runs[1].result.teacher.trained", QJsonValue::Null,
        "runs[1].result.teacher.trained: expected true or false, got null");
    row("history epoch a bool", "runs[1].result.history[0].epoch", true,
        "runs[1].result.history[0].epoch: expected a whole number, got true");
    row("threads beyond int", "runs[1].result.threads", qint64(3000000000),
        "runs[1].result.threads: 3000000000 is out of range");
    row("marker temperature a string", "runs[1].markers[0].temperature", "4",
        "runs[1].markers[0].temperature: expected a number, got \"4\"");
    row("checkpoints null", "runs[1].checkpoints", QJsonValue::Null,
        "runs[1].checkpoints: expected an object, got null");
    // Paired tests (issue 15): counts, non-negative, that add up.
    row("comparisons an array", "runs[0].result.comparisons", QJsonArray{},
        "runs[0].result.comparisons: expected an object, got an array");
    row("comparison null", "runs[0].result.comparisons.teacher_vs_baseline", QJsonValue::Null,
        "runs[0].result.comparisons.teacher_vs_baseline: expected an object, got null");
    row("comparison n missing", "runs[0].result.comparisons.student_vs_baseline.n", kRemove,
        "runs[0].result.comparisons.student_vs_baseline.n: missing");
    row("comparison only_a negative", "runs[0].result.comparisons.student_vs_baseline.only_a", -1,
        "runs[0].result.comparisons.student_vs_baseline.only_a: expected a count (0 or more), got -1");
    row("comparison both a fraction", "runs[0].result.comparisons.teacher_vs_baseline.both", 2.5,
        "runs[0].result.comparisons.teacher_vs_baseline.both: expected a whole number, got 2.5");
    row("comparison counts above n", "runs[0].result.comparisons.teacher_vs_baseline.n", 100,
        "runs[0].result.comparisons.teacher_vs_baseline: both + only_a + only_b is more than n (100)");
    row("comparison only_b beyond int64", "runs[0].result.comparisons.student_vs_baseline.only_b", 1e19,
        "runs[0].result.comparisons.student_vs_baseline.only_b: expected a whole number");
    // The config's ranges (issue 7: T <= 0, alpha outside [0, 1], batch size 0, epochs < 0), a misspelled
    // model preset, and its types.
    row("config temperature 0", "runs[0].config.temperature", 0,
        "runs[0].config.temperature: must be in 0.1..100");
    row("config temperature -1", "runs[1].config.temperature", -1,
        "runs[1].config.temperature: must be in 0.1..100");
    row("config alpha -0.1", "runs[1].config.alpha", -0.1, "runs[1].config.alpha: must be in [0, 1]");
    row("config alpha 1.1", "runs[0].config.alpha", 1.1, "runs[0].config.alpha: must be in [0, 1]");
    row("config batch_size 0", "runs[1].config.batch_size", 0, "runs[1].config.batch_size: must be >= 1");
    row("config epochs -1", "runs[0].config.epochs", -1, "runs[0].config.epochs: must be >= 0");
    row("config teacher_epochs -1", "runs[1].config.teacher_epochs", -1,
        "runs[1].config.teacher_epochs: must be >= 0");
    row("config student a misspelled preset", "runs[1].config.student", "hinton-studnet",
        "runs[1].config.student: model spec 'hinton-studnet': unknown architecture");
    row("config seed negative", "runs[0].config.seed", -1, "runs[0].config: seed: -1 is out of range");
    row("config epochs beyond int", "runs[1].config.epochs", qint64(3000000000),
        "runs[1].config: epochs: 3000000000 is out of range");
    row("config temperature \"nan\"", "runs[1].config.temperature", "nan",
        "runs[1].config: temperature: expected a number, got \"nan\"");
    row("config batch_size a bool", "runs[0].config.batch_size", false,
        "runs[0].config: batch_size: expected a whole number, got false");
}

// A method's run in the file: "method" and "stages" in its result, each stage with its model and epochs.
void TestExperimentFile::toJson_methodLayout() {
    std::vector<kd::RunRecord> runs = makeRuns(2);
    makeMethodRun(runs[0], "assistant");
    const QByteArray text = QByteArray::fromStdString(kd::experimentToJson(runs));
    const QJsonObject doc = QJsonDocument::fromJson(text).object();
    const QJsonObject result = doc["runs"][0]["result"].toObject();
    QCOMPARE(result["method"].toString(), QStringLiteral("assistant"));
    const QJsonArray stages = result["stages"].toArray();
    QCOMPARE(stages.size(), 2);
    QCOMPARE(stages[0]["id"].toString(), QStringLiteral("assistant"));
    QCOMPARE(stages[1]["id"].toString(), QStringLiteral("direct"));
    QCOMPARE(stages[1]["name"].toString(), QStringLiteral("direct KD"));
    QCOMPARE(stages[1]["kind"].toString(), QStringLiteral("direct"));
    QCOMPARE(stages[0]["model"]["spec"].toString(), QStringLiteral("mlp:64"));
    QCOMPARE(stages[0]["history"].toArray().size(), 2);
    QCOMPARE(stages[0]["history"][0]["role"].toString(), QStringLiteral("student"));
    QCOMPARE(doc["runs"][0]["config"]["method"].toString(), QStringLiteral("assistant"));
    // A kd run's result is written as before the methods existed: no "method", no "stages".
    const QJsonObject kdResult = doc["runs"][1]["result"].toObject();
    QVERIFY(!kdResult.contains("method"));
    QVERIFY(!kdResult.contains("stages"));
}

// Files written before the methods existed (no "method" or "stages" in a result, no method keys in a config)
// load as kd runs with no stages.
void TestExperimentFile::load_fileWithoutMethods() {
    std::vector<kd::RunRecord> runs = makeRuns(2, true);
    QByteArray text = QByteArray::fromStdString(kd::experimentToJson(runs));
    QVERIFY(!text.contains("\"stages\""));
    for (const char* key : {"method", "ensemble_size", "ensemble_teachers", "generations", "assistant"})
        for (int i = 0; i < 2; ++i)
            text = editedJson(text, QStringLiteral("runs[%1].config.%2").arg(i).arg(key), kRemove);
    QVERIFY(!text.contains("\"method\""));
    std::vector<kd::RunRecord> loaded;
    const QString msg =
        testutil::errorMessage([&] { loaded = kd::experimentFromJson(text.toStdString(), "old.kdlab"); });
    QVERIFY2(msg == "<no error>", qPrintable(msg));
    QCOMPARE(loaded.size(), std::size_t(2));
    for (const kd::RunRecord& r : loaded) {
        QCOMPARE(r.result.method, std::string("kd"));
        QVERIFY(r.result.stages.empty());
        QCOMPARE(r.config.method, std::string("kd"));
    }
    compareRuns(loaded, runs);
    // "method": "kd" written out by hand is the same.
    const QByteArray explicitKd = editedJson(text, "runs[0].result.method", "kd");
    compareRuns(kd::experimentFromJson(explicitKd.toStdString(), "kd.kdlab"), runs);
}

// Paired tests are kept as their counts and computed again when read; files from before them (no
// "comparisons", or one key of it missing) load with those comparisons not made.
void TestExperimentFile::comparisons_data() {
    QTest::addColumn<QString>("removed"); // empty: none
    QTest::addColumn<bool>("studentKept");
    QTest::addColumn<bool>("teacherKept");
    QTest::newRow("both kept") << QString() << true << true;
    QTest::newRow("an old file without comparisons")
        << QStringLiteral("runs[0].result.comparisons") << false << false;
    QTest::newRow("an old file with the teacher's only")
        << QStringLiteral("runs[0].result.comparisons.student_vs_baseline") << false << true;
}

void TestExperimentFile::comparisons() {
    QFETCH(QString, removed);
    QFETCH(bool, studentKept);
    QFETCH(bool, teacherKept);
    std::vector<kd::RunRecord> runs = makeRuns(3, true);
    QByteArray text = QByteArray::fromStdString(kd::experimentToJson(runs));
    const QJsonObject doc = QJsonDocument::fromJson(text).object();
    // Only the counts are written, and only for the comparisons made.
    const QJsonObject kept = doc["runs"][0]["result"]["comparisons"]["student_vs_baseline"].toObject();
    QCOMPARE(kept.keys(), (QStringList{"both", "n", "only_a", "only_b"}));
    QCOMPARE(kept["only_a"].toInt(), 40);
    QVERIFY(!doc["runs"][1]["result"].toObject().contains("comparisons")); // none made
    QVERIFY(!doc["runs"][2]["result"]["comparisons"].toObject().contains("student_vs_baseline"));
    QCOMPARE(doc["runs"][2]["result"]["comparisons"]["teacher_vs_baseline"]["n"].toInt(), 502);

    if (!removed.isEmpty()) {
        text = editedJson(text, removed, kRemove);
        if (!studentKept)
            runs[0].result.studentVsBaseline = kd::PairedTest();
        if (!teacherKept)
            runs[0].result.teacherVsBaseline = kd::PairedTest();
    }
    std::vector<kd::RunRecord> loaded;
    const QString msg =
        testutil::errorMessage([&] { loaded = kd::experimentFromJson(text.toStdString(), "x.kdlab"); });
    QVERIFY2(msg == "<no error>", qPrintable(msg));
    compareRuns(loaded, runs);
    KD_STOP_IF_FAILED();
    QCOMPARE(loaded[0].result.studentVsBaseline.valid(), studentKept);
    QCOMPARE(loaded[0].result.teacherVsBaseline.valid(), teacherKept);
    if (studentKept) { // what the counts give: 40 against 15 of 500
        QCOMPARE(loaded[0].result.studentVsBaseline.difference, 25.0 / 500);
        QVERIFY(loaded[0].result.studentVsBaseline.significant());
    }
}

void TestExperimentFile::load_rejectsField() {
    QFETCH(QString, path);
    QFETCH(QJsonValue, value);
    QFETCH(QString, expected);
    // Values QJsonDocument keeps exactly, so the only problem in the file is the one made here. Run 0 is an
    // assistant run (with stages), run 1 a kd run.
    std::vector<kd::RunRecord> runs = makeRuns(2, true);
    makeMethodRun(runs[0], "assistant", true);
    const QByteArray valid = QByteArray::fromStdString(kd::experimentToJson(runs));
    const QByteArray text = editedJson(valid, path, value);
    QVERIFY(text != editedJson(valid, "runs[0].name", makeRun(0).name.c_str())); // the edit did something
    QString msg;
    KD_EXPECT_ERROR(msg, kd::experimentFromJson(text.toStdString(), "broken.kdlab"));
    QVERIFY2(msg.startsWith("broken.kdlab: "), qPrintable(msg));
    QVERIFY2(msg.contains(expected), qPrintable("expected '" + expected + "' in: " + msg));
    QVERIFY2(!msg.contains('\n'), qPrintable("message is not one line: " + msg));
}

QTEST_GUILESS_MAIN(TestExperimentFile)
#include "tst_experimentfile.moc"
