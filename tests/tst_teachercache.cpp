// The teacher cache (Trainer::setTeacherCacheDir): a second run with the same teacher settings, in a new
// Trainer (a new process, a restarted app), loads the teacher instead of training it and gets the same
// numbers; any change to what determines the teacher trains a new one; a damaged file is reported and
// ignored, never trusted.
#include "kdcore/config.h"
#include "kdcore/error.h"
#include "kdcore/trainer.h"

#include "testdata.h"
#include "testutil.h"

#include <QDir>
#include <QFile>
#include <QTemporaryDir>
#include <QTest>

#include <functional>

namespace {

class Recorder : public kd::TrainingObserver {
public:
    int teacherBatches = 0;
    std::vector<std::string> warnings, phases;
    void phaseStarted(kd::Phase, const std::string& text) override { phases.push_back(text); }
    void batchFinished(const kd::BatchMetrics& m) override { teacherBatches += m.role == kd::Role::Teacher; }
    void warning(const std::string& message) override { warnings.push_back(message); }
};

struct Outcome {
    kd::ExperimentResult result;
    Recorder rec;
};

Outcome runWithCache(const kd::ExperimentConfig& c, const QString& cacheDir) {
    Outcome out;
    kd::Trainer trainer; // a new one each time: nothing kept in memory
    trainer.setObserver(&out.rec);
    trainer.setTeacherCacheDir(cacheDir.toStdString());
    out.result = trainer.run(c);
    return out;
}

QStringList cacheFiles(const QString& dir) {
    return QDir(dir).entryList({"*.pt"}, QDir::Files);
}

} // namespace

Q_DECLARE_METATYPE(std::function<void(kd::ExperimentConfig&)>)
using Change = std::function<void(kd::ExperimentConfig&)>;

class TestTeacherCache : public QObject {
    Q_OBJECT

private slots:
    void initTestCase();
    void secondRunLoadsTheTeacher();
    void changes_data();
    void changes();
    void damagedFileIsIgnoredAndReplaced_data();
    void damagedFileIsIgnoredAndReplaced();
    void noCacheWithoutFolder();
    void defaultFolder();

private:
    kd::ExperimentConfig config() const;
    QTemporaryDir m_tmp;
    QString m_dataDir, m_otherData;
};

void TestTeacherCache::initTestCase() {
    QVERIFY(m_tmp.isValid());
    m_dataDir = m_tmp.filePath("synthetic");
    m_otherData = m_tmp.filePath("other");
    QVERIFY(QDir().mkpath(m_dataDir));
    QVERIFY(QDir().mkpath(m_otherData));
    QVERIFY(testdata::writeIdxFolder(m_dataDir, testdata::syntheticImages(300, 1),
                                     testdata::syntheticImages(100, 2)));
    // The same file names and sizes, other images: the cache must not mistake one set for the other.
    QVERIFY(testdata::writeIdxFolder(m_otherData, testdata::syntheticImages(300, 3),
                                     testdata::syntheticImages(100, 2)));
}

kd::ExperimentConfig TestTeacherCache::config() const {
    kd::ExperimentConfig c;
    c.dataset = "idx:" + m_dataDir.toStdString();
    c.teacher = "mlp:32";
    c.student = "mlp:16";
    // The engine's plain path (the default experiment augments the students' images and limits their set).
    c.augment = "none";
    c.teacherAugment = "same";
    c.transferLimit = 0;
    c.teacherEpochs = 2;
    c.epochs = 1;
    c.batchSize = 50;
    c.threads = 1;
    c.device = "cpu";
    return c;
}

void TestTeacherCache::secondRunLoadsTheTeacher() {
    QTemporaryDir cache;
    const Outcome first = runWithCache(config(), cache.path());
    QVERIFY(first.result.teacher.trained);
    QVERIFY(first.result.teacherFromCache.empty());
    QVERIFY(first.rec.teacherBatches > 0);
    QCOMPARE(cacheFiles(cache.path()).size(), 1);

    const Outcome second = runWithCache(config(), cache.path());
    QCOMPARE(second.rec.teacherBatches, 0); // not trained again
    QVERIFY(!second.result.teacherFromCache.empty());
    QVERIFY(!second.result.teacher.trained);
    QVERIFY(second.rec.warnings.empty());
    QVERIFY(std::any_of(second.rec.phases.begin(), second.rec.phases.end(),
                        [](const std::string& p) { return p.rfind("teacher reused from cache ", 0) == 0; }));
    // The same teacher, so the same students to the last digit.
    QCOMPARE(second.result.teacher.testAccuracy, first.result.teacher.testAccuracy);
    QCOMPARE(second.result.teacher.testLoss, first.result.teacher.testLoss);
    QCOMPARE(second.result.teacher.epochsTrained, 2);
    QCOMPARE(second.result.teacher.spec, first.result.teacher.spec);
    QCOMPARE(second.result.student.testAccuracy, first.result.student.testAccuracy);
    QCOMPARE(second.result.student.testLoss, first.result.student.testLoss);
    QCOMPARE(second.result.baseline.testLoss, first.result.baseline.testLoss);
    QCOMPARE(cacheFiles(cache.path()).size(), 1);
}

void TestTeacherCache::changes_data() {
    QTest::addColumn<Change>("change");
    QTest::addColumn<bool>("hit");
    // What determines the teacher: a miss, and a second file.
    QTest::newRow("teacher spec") << Change([](auto& c) { c.teacher = "mlp:24"; }) << false;
    QTest::newRow("teacher epochs") << Change([](auto& c) { c.teacherEpochs = 1; }) << false;
    QTest::newRow("seed") << Change([](auto& c) { c.seed = 2; }) << false;
    QTest::newRow("teacher seed") << Change([](auto& c) { c.teacherSeed = 5; }) << false;
    QTest::newRow("lr") << Change([](auto& c) { c.lr = 2e-3; }) << false;
    QTest::newRow("lr schedule") << Change([](auto& c) { c.lrSchedule = "cosine"; }) << false;
    QTest::newRow("optimizer") << Change([](auto& c) { c.optimizer = "sgd"; }) << false;
    QTest::newRow("batch size") << Change([](auto& c) { c.batchSize = 60; }) << false;
    QTest::newRow("weight decay") << Change([](auto& c) { c.weightDecay = 1e-4; }) << false;
    QTest::newRow("augment (the teacher's too)") << Change([](auto& c) { c.augment = "shift"; }) << false;
    QTest::newRow("teacher augment") << Change([](auto& c) { c.teacherAugment = "shift-flip"; }) << false;
    QTest::newRow("train limit") << Change([](auto& c) { c.trainLimit = 200; }) << false;
    QTest::newRow("test limit") << Change([](auto& c) { c.testLimit = 50; }) << false;
    QTest::newRow("threads") << Change([](auto& c) { c.threads = 2; }) << false;
    QTest::newRow("other images, same sizes") << Change([](auto&) {}) << false; // see changes()
    // The students' settings: a hit.
    QTest::newRow("student spec") << Change([](auto& c) { c.student = "mlp:8"; }) << true;
    QTest::newRow("temperature and alpha") << Change([](auto& c) {
        c.temperature = 8;
        c.alpha = 0.2;
    }) << true;
    QTest::newRow("student epochs") << Change([](auto& c) { c.epochs = 2; }) << true;
    QTest::newRow("student seed, teacher seed kept") << Change([](auto& c) {
        c.teacherSeed = 1;
        c.seed = 7;
    }) << true;
    QTest::newRow("transfer set") << Change([](auto& c) { c.transferLimit = 100; }) << true;
    QTest::newRow("shift pixels without augmentation") << Change([](auto& c) { c.shiftPixels = 3; }) << true;
    QTest::newRow("students augmented, teacher not") << Change([](auto& c) {
        c.augment = "shift-flip";
        c.teacherAugment = "none";
    }) << true;
}

void TestTeacherCache::changes() {
    QFETCH(Change, change);
    QFETCH(bool, hit);
    QTemporaryDir cache;
    QVERIFY(runWithCache(config(), cache.path()).result.teacher.trained);
    kd::ExperimentConfig c = config();
    change(c);
    if (QString(QTest::currentDataTag()) == "other images, same sizes")
        c.dataset = "idx:" + m_otherData.toStdString();
    const Outcome second = runWithCache(c, cache.path());
    QCOMPARE(!second.result.teacherFromCache.empty(), hit);
    QCOMPARE(second.rec.teacherBatches == 0, hit);
    QCOMPARE(cacheFiles(cache.path()).size(), hit ? 1 : 2);
}

void TestTeacherCache::damagedFileIsIgnoredAndReplaced_data() {
    QTest::addColumn<QByteArray>("bytes");
    QTest::newRow("garbage") << QByteArray("not a checkpoint at all");
    QTest::newRow("empty") << QByteArray();
    QTest::newRow("truncated") << QByteArray("half"); // replaced below by the first half of the real file
}

void TestTeacherCache::damagedFileIsIgnoredAndReplaced() {
    QFETCH(QByteArray, bytes);
    QTemporaryDir cache;
    const Outcome first = runWithCache(config(), cache.path());
    const QStringList files = cacheFiles(cache.path());
    QCOMPARE(files.size(), 1);
    const QString path = cache.filePath(files.front());
    QFile f(path);
    QVERIFY(f.open(QIODevice::ReadWrite));
    if (bytes == "half")
        bytes = f.readAll().left(int(f.size() / 2));
    f.resize(0);
    f.write(bytes);
    f.close();

    const Outcome second = runWithCache(config(), cache.path());
    QCOMPARE(second.rec.warnings.size(), std::size_t(1));
    const QString warning = QString::fromStdString(second.rec.warnings.front());
    QVERIFY2(warning.startsWith(path) && warning.contains("trained again") && !warning.contains('\n'),
             qPrintable(warning));
    QVERIFY(second.result.teacher.trained); // trained again, not trusted
    QVERIFY(second.result.teacherFromCache.empty());
    QCOMPARE(second.result.teacher.testAccuracy, first.result.teacher.testAccuracy);
    // ... and stored again: the next run loads it.
    const Outcome third = runWithCache(config(), cache.path());
    QVERIFY(third.rec.warnings.empty());
    QVERIFY(!third.result.teacherFromCache.empty());
}

void TestTeacherCache::noCacheWithoutFolder() {
    QTemporaryDir cache;
    kd::Trainer trainer;
    Recorder rec;
    trainer.setObserver(&rec);
    trainer.run(config()); // no folder set: the default is no cache
    kd::Trainer again;
    again.setObserver(&rec);
    const kd::ExperimentResult r = again.run(config());
    QVERIFY(r.teacher.trained);
    QVERIFY(r.teacherFromCache.empty());
}

void TestTeacherCache::defaultFolder() {
    const QByteArray saved = qgetenv("KDLAB_TEACHER_CACHE");
    const QByteArray xdg = qgetenv("XDG_DATA_HOME");
    qputenv("KDLAB_TEACHER_CACHE", "off");
    QCOMPARE(kd::defaultTeacherCacheDir(), std::string());
    qputenv("KDLAB_TEACHER_CACHE", "/tmp/somewhere");
    QCOMPARE(kd::defaultTeacherCacheDir(), std::string("/tmp/somewhere"));
    qunsetenv("KDLAB_TEACHER_CACHE");
    qputenv("XDG_DATA_HOME", "/data/home");
    QCOMPARE(kd::defaultTeacherCacheDir(), std::string("/data/home/kdlab/teachers"));
    qunsetenv("XDG_DATA_HOME");
    QCOMPARE(kd::defaultTeacherCacheDir(),
             qEnvironmentVariable("HOME").toStdString() + "/.local/share/kdlab/teachers");
    qputenv("KDLAB_TEACHER_CACHE", saved);
    if (!xdg.isEmpty())
        qputenv("XDG_DATA_HOME", xdg);
}

QTEST_GUILESS_MAIN(TestTeacherCache)
#include "tst_teachercache.moc"
