// Predicting from image files: preparing any image the way the models' training images look, the Predictor
// on every kind of model file, and its errors. Test images are written with Qt's encoders (independent of
// the OpenCV decoders under test).
#include "kdcore/analysis.h"
#include "kdcore/config.h"
#include "kdcore/error.h"
#include "kdcore/export.h"
#include "kdcore/predict.h"
#include "kdcore/trainer.h"

#include "testdata.h"
#include "testutil.h"

#include <QDir>
#include <QImage>
#include <QPainter>
#include <QTemporaryDir>
#include <QTest>

#include <cmath>
#include <numeric>

namespace {

// A 28x28 test picture: dark background (value `bg`), a bright bar and a mid-grey square.
QImage picture(int bg = 0) {
    QImage img(28, 28, QImage::Format_Grayscale8);
    img.fill(bg);
    for (int y = 4; y < 24; ++y)
        for (int x = 10; x < 14; ++x)
            img.setPixel(x, y, qRgb(255, 255, 255));
    for (int y = 18; y < 22; ++y)
        for (int x = 18; x < 22; ++x)
            img.setPixel(x, y, qRgb(128, 128, 128));
    return img;
}

std::vector<float> pixelsOf(const QImage& grey) {
    std::vector<float> v;
    for (int y = 0; y < grey.height(); ++y)
        for (int x = 0; x < grey.width(); ++x)
            v.push_back(float(qGray(grey.pixel(x, y))) / 255.f);
    return v;
}

double maxDifference(const std::vector<float>& a, const std::vector<float>& b) {
    if (a.size() != b.size())
        return INFINITY;
    double worst = 0;
    for (std::size_t i = 0; i < a.size(); ++i)
        worst = std::max(worst, double(std::abs(a[i] - b[i])));
    return worst;
}

} // namespace

class TestPredict : public QObject {
    Q_OBJECT

private:
    QTemporaryDir m_dir;

private Q_SLOTS:
    void initTestCase() { QVERIFY(m_dir.isValid()); }

    // Each way of drawing the same picture gives the picture as the model expects it: light object on black.
    void prepareImage_data() {
        QTest::addColumn<QImage>("image");
        QTest::addColumn<QString>("file");
        QTest::addColumn<bool>("inverted");
        QTest::newRow("28x28 grey, dark background") << picture() << QStringLiteral("a.png") << false;
        QImage light = picture();
        light.invertPixels();
        QTest::newRow("light background") << light << QStringLiteral("b.png") << true;
        QTest::newRow("colour") << picture().convertToFormat(QImage::Format_RGB32) << QStringLiteral("c.bmp")
                                << false;
        QTest::newRow("16-bit") << picture().convertToFormat(QImage::Format_Grayscale16)
                                << QStringLiteral("d.png") << false;
        // Dark strokes on a transparent background (a drawing program's export): laid on white, then
        // inverted.
        QImage transparent(28, 28, QImage::Format_ARGB32);
        const QImage dark = light;
        for (int y = 0; y < 28; ++y)
            for (int x = 0; x < 28; ++x) {
                const int v = qGray(dark.pixel(x, y));
                transparent.setPixel(x, y, qRgba(0, 0, 0, 255 - v)); // black, as opaque as the stroke is dark
            }
        QTest::newRow("transparent") << transparent << QStringLiteral("e.png") << true;
        QTest::newRow("4x larger") << picture().scaled(112, 112, Qt::IgnoreAspectRatio,
                                                       Qt::FastTransformation)
                                   << QStringLiteral("f.png") << false;
        // A dark grey background stays as it is (as the dataset's own images do).
        QTest::newRow("grey background") << picture(60) << QStringLiteral("g.png") << false;
    }
    void prepareImage() {
        QFETCH(QImage, image);
        const int background = QTest::currentDataTag() == QLatin1String("grey background") ? 60 : 0;
        QFETCH(QString, file);
        QFETCH(bool, inverted);
        const QString path = m_dir.filePath(file);
        QVERIFY(image.save(path));
        const kd::PreparedImage p = kd::prepareImage(path.toStdString(), kd::InputShape{});
        QCOMPARE(p.inverted, inverted);
        QCOMPARE(p.originalWidth, image.width());
        QCOMPARE(p.originalHeight, image.height());
        QCOMPARE(p.pixels.size(), std::size_t(28 * 28));
        const double diff = maxDifference(p.pixels, pixelsOf(picture(background)));
        // Compositing a transparent image on white rounds to 8 bits; all else is exact.
        QVERIFY2(diff <= 1.0 / 255, qPrintable(QString::number(diff)));
    }

    // Not square: padded with background to a square (aspect kept), then resized.
    void nonSquareIsPadded() {
        QImage wide(56, 28, QImage::Format_Grayscale8);
        wide.fill(0);
        for (int y = 0; y < 28; ++y) // a full-height bar in the middle
            for (int x = 26; x < 30; ++x)
                wide.setPixel(x, y, qRgb(200, 200, 200));
        const QString path = m_dir.filePath(QStringLiteral("wide.png"));
        QVERIFY(wide.save(path));
        const kd::PreparedImage p = kd::prepareImage(path.toStdString(), kd::InputShape{});
        QCOMPARE(p.inverted, false);
        // 56x56 after padding 14 rows above and below, then halved: the bar spans rows 7..20 only.
        auto at = [&](int y, int x) { return p.pixels[std::size_t(y * 28 + x)]; };
        QCOMPARE(at(14, 13), 200.f / 255);
        QCOMPARE(at(7, 13), 200.f / 255);
        QCOMPARE(at(6, 13), 0.f);
        QCOMPARE(at(21, 13), 0.f);
        QCOMPARE(at(14, 11), 0.f);
    }

    // The model's input size and channels decide the output.
    void otherInputShape() {
        const QString path = m_dir.filePath(QStringLiteral("shape.png"));
        QVERIFY(picture().save(path));
        const kd::PreparedImage p = kd::prepareImage(path.toStdString(), kd::InputShape{3, 14, 14, 10});
        QCOMPARE(p.pixels.size(), std::size_t(3 * 14 * 14));
        QVERIFY(std::equal(p.pixels.begin(), p.pixels.begin() + 196, p.pixels.begin() + 196));
        // 2x2 area average of the picture: the bar (columns 10..13) is columns 5..6.
        QCOMPARE(p.pixels[std::size_t(7 * 14 + 5)], 1.f);
        QCOMPARE(p.pixels[std::size_t(7 * 14 + 2)], 0.f);
    }

    void badImages_data() {
        QTest::addColumn<QByteArray>("content");
        QTest::addColumn<QString>("why");
        QTest::newRow("missing") << QByteArray() << QStringLiteral("cannot open image");
        QTest::newRow("text") << QByteArray("hello, not a picture") << QStringLiteral("not a readable image");
        QTest::newRow("truncated png")
            << QByteArray("\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16) << QStringLiteral("not a readable image");
    }
    void badImages() {
        QFETCH(QByteArray, content);
        QFETCH(QString, why);
        const QString path = m_dir.filePath(QStringLiteral("bad-%1.png").arg(QTest::currentDataTag()));
        if (!content.isEmpty())
            QVERIFY(testdata::writeFile(path, content));
        QString msg;
        KD_EXPECT_ERROR(msg, kd::prepareImage(path.toStdString(), kd::InputShape{}));
        QVERIFY2(msg.startsWith(path) && msg.contains(why), qPrintable(msg));
    }

    void badModels_data() {
        QTest::addColumn<QString>("file");
        QTest::addColumn<QByteArray>("content");
        QTest::addColumn<QString>("why");
        QTest::newRow("missing") << QStringLiteral("none.onnx") << QByteArray()
                                 << QStringLiteral("cannot open model");
        QTest::newRow("garbage onnx") << QStringLiteral("g.onnx") << QByteArray("\xff\xff\xff garbage")
                                      << QStringLiteral("not an ONNX model");
        QTest::newRow("garbage pt") << QStringLiteral("g.pt") << QByteArray("garbage")
                                    << QStringLiteral("not a TorchScript model or kdlab checkpoint");
    }
    void badModels() {
        QFETCH(QString, file);
        QFETCH(QByteArray, content);
        QFETCH(QString, why);
        const QString path = m_dir.filePath(file);
        if (!content.isEmpty())
            QVERIFY(testdata::writeFile(path, content));
        QString msg;
        KD_EXPECT_ERROR(msg, kd::Predictor p(path.toStdString()));
        QVERIFY2(msg.startsWith(path) && msg.contains(why), qPrintable(msg));
    }

    // Model files that are not what --model needs (issue 7): truncated, empty, a folder, under a regular
    // file, a model card or unreadable; each refused with a message naming it.
    void badModelKinds_data() {
        QTest::addColumn<QString>("kind");
        QTest::addColumn<QString>("file");
        QTest::addColumn<QString>("why");
        QTest::newRow("truncated checkpoint")
            << QStringLiteral("truncated") << QStringLiteral("student.pt")
            << QStringLiteral("not a TorchScript model or kdlab checkpoint");
        QTest::newRow("truncated ONNX") << QStringLiteral("truncated") << QStringLiteral("student.onnx")
                                        << QStringLiteral("not an ONNX model");
        QTest::newRow("empty .pt") << QStringLiteral("empty") << QStringLiteral("student.pt")
                                   << QStringLiteral("not a TorchScript model or kdlab checkpoint");
        QTest::newRow("empty .onnx") << QStringLiteral("empty") << QStringLiteral("student.onnx")
                                     << QStringLiteral("not an ONNX model");
        QTest::newRow("a folder named .pt") << QStringLiteral("folder") << QStringLiteral("student.pt")
                                            << QStringLiteral("not a TorchScript model or kdlab checkpoint");
        QTest::newRow("under a regular file")
            << QStringLiteral("under-file") << QStringLiteral("student.onnx")
            << QStringLiteral("cannot open model");
        QTest::newRow("the model card") << QStringLiteral("card") << QStringLiteral("student.onnx.json")
                                        << QStringLiteral("not a TorchScript model or kdlab checkpoint");
        QTest::newRow("unreadable (mode 000)") << QStringLiteral("unreadable") << QStringLiteral("student.pt")
                                               << QStringLiteral("cannot open model");
    }
    void badModelKinds() {
        QFETCH(QString, kind);
        QFETCH(QString, file);
        QFETCH(QString, why);
        if (kind == QLatin1String("unreadable") && !testutil::permissionsAreEnforced())
            QSKIP("running as root, which reads a file of mode 000");
        // A small trained student, saved and exported once for all rows.
        const QString models = m_dir.filePath(QStringLiteral("bad-model-kinds"));
        if (!QFile::exists(models + QStringLiteral("/student.onnx"))) {
            const QString data = m_dir.filePath(QStringLiteral("bad-model-data"));
            QVERIFY(QDir().mkpath(data) && QDir().mkpath(models));
            QVERIFY(testdata::writeIdxFolder(data, testdata::syntheticImages(200, 3),
                                             testdata::syntheticImages(20, 4)));
            kd::ExperimentConfig c;
            c.dataset = "idx:" + data.toStdString();
            c.teacher = "mlp:8";
            c.student = "mlp:8";
            c.teacherEpochs = 1;
            c.epochs = 1;
            c.threads = 2;
            kd::Trainer trainer;
            trainer.run(c);
            const std::string checkpoint = (models + QStringLiteral("/student.pt")).toStdString();
            trainer.saveCheckpoint(kd::Role::Student, checkpoint);
            kd::exportCheckpoint(checkpoint, kd::ExportFormat::Onnx,
                                 (models + QStringLiteral("/student.onnx")).toStdString());
        }
        QTemporaryDir dir;
        QVERIFY(testdata::writeFile(dir.filePath(QStringLiteral("a-file")), "x"));
        QFile good(models + QLatin1Char('/') + file);
        QByteArray bytes;
        if (good.open(QIODevice::ReadOnly))
            bytes = good.readAll();
        QString path = dir.filePath(file);
        if (kind == QLatin1String("truncated")) {
            QVERIFY(bytes.size() > 100);
            QVERIFY(testdata::writeFile(path, bytes.left(bytes.size() / 2)));
        } else if (kind == QLatin1String("empty")) {
            QVERIFY(testdata::writeFile(path, QByteArray()));
        } else if (kind == QLatin1String("folder")) {
            QVERIFY(QDir().mkpath(path));
        } else if (kind == QLatin1String("under-file")) {
            path = dir.filePath(QStringLiteral("a-file/") + file);
        } else if (kind == QLatin1String("card") || kind == QLatin1String("unreadable")) {
            QVERIFY(!bytes.isEmpty());
            QVERIFY(testdata::writeFile(path, bytes));
            if (kind == QLatin1String("unreadable"))
                QVERIFY(QFile::setPermissions(path, QFileDevice::Permissions()));
        }
        QString msg;
        KD_EXPECT_ERROR(msg, kd::Predictor p(path.toStdString()));
        QVERIFY2(msg.startsWith(path + QStringLiteral(": ")) && msg.contains(why), qPrintable(msg));
        QVERIFY2(!msg.contains(QLatin1Char('\n')), qPrintable(msg));
    }

    void topClasses() {
        const float logits[] = {1.f, 3.f, 2.f, 3.f};
        const auto top = kd::topClasses(logits, 4, 3);
        QCOMPARE(top.size(), std::size_t(3));
        QCOMPARE(top[0].first, 1); // ties keep class order
        QCOMPARE(top[1].first, 3);
        QCOMPARE(top[2].first, 2);
        const auto all = kd::topClasses(logits, 4, 10);
        QCOMPARE(all.size(), std::size_t(4));
        double sum = 0;
        for (const auto& [c, p] : all)
            sum += p;
        QVERIFY(std::abs(sum - 1) < 1e-12);
        QVERIFY(std::abs(all[0].second -
                         std::exp(3.0) / (std::exp(1.0) + 2 * std::exp(3.0) + std::exp(2.0))) < 1e-12);
    }

    // A trained model's test images, saved as PNG files and predicted from the files by every kind of
    // model file, give the in-app logits and classes, with the class names of the dataset.
    void predictsTheInAppClasses() {
        const QString data = m_dir.filePath(QStringLiteral("data"));
        QVERIFY(QDir().mkpath(data));
        const testdata::Images test = testdata::syntheticImages(20, 7);
        QVERIFY(testdata::writeIdxFolder(data, testdata::syntheticImages(400, 6), test));
        kd::ExperimentConfig c;
        c.dataset = "idx:" + data.toStdString();
        c.teacher = "mlp:32";
        c.student = "cnn:4";
        c.teacherEpochs = 1;
        c.epochs = 1;
        c.threads = 2;
        kd::Trainer trainer;
        trainer.run(c);
        const std::vector<float> inApp = trainer.testOutputs().student;
        const std::string checkpoint = m_dir.filePath(QStringLiteral("student.pt")).toStdString();
        trainer.saveCheckpoint(kd::Role::Student, checkpoint);
        const std::string ts = m_dir.filePath(QStringLiteral("student-ts.pt")).toStdString();
        const std::string onnx = m_dir.filePath(QStringLiteral("student.onnx")).toStdString();
        kd::exportCheckpoint(checkpoint, kd::ExportFormat::TorchScript, ts);
        kd::exportCheckpoint(checkpoint, kd::ExportFormat::Onnx, onnx);

        std::vector<float> batch;
        for (int i = 0; i < 20; ++i) {
            QImage img(test.pixels.data() + i * 784, 28, 28, 28, QImage::Format_Grayscale8);
            const QString path = m_dir.filePath(QStringLiteral("test-%1.png").arg(i));
            QVERIFY(img.save(path));
            const kd::PreparedImage p = kd::prepareImage(path.toStdString(), kd::InputShape{});
            batch.insert(batch.end(), p.pixels.begin(), p.pixels.end());
        }
        for (const std::string& model : {checkpoint, ts, onnx}) {
            const kd::Predictor predictor(model);
            QCOMPARE(predictor.input().classes, 10);
            QCOMPARE(predictor.classNames().size(), std::size_t(10));
            QCOMPARE(predictor.classNames().front(), std::string("0")); // an IDX folder's classes are digits
            const std::vector<float> logits = predictor.logits(batch, 20);
            QVERIFY2(maxDifference(logits, inApp) < 1e-4, model.c_str());
            for (int i = 0; i < 20; ++i)
                QCOMPARE(kd::topClasses(logits.data() + i * 10, 10, 1).front().first,
                         kd::predictedClass(inApp.data() + i * 10, 10));
            QString msg;
            KD_EXPECT_ERROR(msg, predictor.logits(std::vector<float>(100), 1));
            QVERIFY2(msg.contains(QLatin1String("784")), qPrintable(msg));
            QVERIFY(QString::fromStdString(predictor.runtime())
                        .contains(model == onnx ? QLatin1String("OpenCV") : QLatin1String("LibTorch")));
        }
    }
};

QTEST_GUILESS_MAIN(TestPredict)
#include "tst_predict.moc"
