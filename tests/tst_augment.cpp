// Data augmentation (kdcore/augment.h): the views a batch gets are fixed by its seed, shifts move pixels by
// exactly the drawn amounts with zeros moved in, flips mirror left-right, and "none" changes nothing. In the
// trainer: the baseline and the distilled student see the same views, a run repeats exactly, and with
// augmentation the student's soft targets are the teacher's outputs on the very view it sees.
#include "kdcore/augment.h"
#include "kdcore/config.h"
#include "kdcore/error.h"
#include "kdcore/predict.h"
#include "kdcore/trainer.h"

#include "testdata.h"
#include "testutil.h"

#include <QDir>
#include <QTemporaryDir>
#include <QTest>

#include <cmath>

#include <algorithm>
#include <numeric>
#include <set>
#include <vector>

namespace {

// A 5x4 image whose pixel (y, x) holds 1 + 10 y + x, so every moved pixel says where it came from.
std::vector<float> numbered(int rows, int cols) {
    std::vector<float> image(std::size_t(rows * cols));
    for (int y = 0; y < rows; ++y)
        for (int x = 0; x < cols; ++x)
            image[std::size_t(y * cols + x)] = float(1 + 10 * y + x);
    return image;
}

// The inputs of every training batch, by model.
class InputRecorder : public kd::TrainingObserver {
public:
    std::vector<BatchInputs> inputs;
    bool wantsBatchInputs() const override { return true; }
    void batchInputs(const BatchInputs& in) override { inputs.push_back(in); }
    std::vector<BatchInputs> of(kd::Role role) const {
        std::vector<BatchInputs> out;
        for (const BatchInputs& in : inputs)
            if (in.role == role)
                out.push_back(in);
        return out;
    }
};

} // namespace

namespace {
// Whether every image of these batches is one of the dataset's training images, pixel for pixel.
bool allPlain(const std::vector<kd::TrainingObserver::BatchInputs>& batches, const kd::Dataset& ds) {
    std::set<std::vector<float>> originals;
    const std::size_t pixels = ds.train.pixelsPerImage();
    for (std::size_t i = 0; i < ds.train.size(); ++i) {
        std::vector<float> image(pixels);
        for (std::size_t p = 0; p < pixels; ++p)
            image[p] = float(ds.train.pixels[i * pixels + p]) / 255.0f;
        originals.insert(image);
    }
    for (const auto& in : batches)
        for (std::size_t i = 0; i < in.count; ++i)
            if (!originals.count(std::vector<float>(in.images.begin() + std::ptrdiff_t(i * pixels),
                                                    in.images.begin() + std::ptrdiff_t((i + 1) * pixels))))
                return false;
    return true;
}
} // namespace

class TestAugment : public QObject {
    Q_OBJECT

private slots:
    void sameSeedSameViews();
    void shiftsStayInRangeAndCoverIt_data();
    void shiftsStayInRangeAndCoverIt();
    void flipsOnlyWithShiftFlip();
    void shiftMovesPixels_data();
    void shiftMovesPixels();
    void flipMirrorsThenShifts();
    void noneChangesNothing();
    void unknownNameIsAnError();
    void batchSeedsDifferAndRepeat();

    // The trainer, on a small generated set.
    void initTestCase();
    void studentsSeeTheSameViewsAndRunsRepeat();
    void softTargetsAreTheTeacherOnTheSameView_data();
    void softTargetsAreTheTeacherOnTheSameView();
    void withoutAugmentationImagesAreUntouched();
    void teacherHasItsOwnAugmentation_data();
    void teacherHasItsOwnAugmentation();
    void badSettingsAreRefused_data();
    void badSettingsAreRefused();

private:
    kd::ExperimentConfig smallConfig() const;
    QTemporaryDir m_tmp;
    QString m_dataDir;
};

void TestAugment::initTestCase() {
    QVERIFY(m_tmp.isValid());
    m_dataDir = m_tmp.filePath("synthetic");
    QVERIFY(QDir().mkpath(m_dataDir));
    QVERIFY(testdata::writeIdxFolder(m_dataDir, testdata::syntheticImages(300, 1),
                                     testdata::syntheticImages(100, 2)));
}

kd::ExperimentConfig TestAugment::smallConfig() const {
    kd::ExperimentConfig c;
    c.dataset = "idx:" + m_dataDir.toStdString();
    c.teacher = "cnn:4,8";
    c.student = "mlp:16";
    c.teacherEpochs = 1;
    c.epochs = 2;
    c.batchSize = 50;
    c.augment = "shift-flip";
    c.teacherAugment = "same";
    c.transferLimit = 0;
    c.shiftPixels = 2;
    c.threads = 1;
    c.device = "cpu";
    return c;
}

void TestAugment::studentsSeeTheSameViewsAndRunsRepeat() {
    InputRecorder first, second;
    kd::ExperimentResult a, b;
    {
        kd::Trainer trainer;
        trainer.setObserver(&first);
        a = trainer.run(smallConfig());
    }
    {
        kd::Trainer trainer;
        trainer.setObserver(&second);
        b = trainer.run(smallConfig());
    }
    // The same seed: the same views, batch by batch, and the same numbers.
    QCOMPARE(first.inputs.size(), second.inputs.size());
    for (std::size_t i = 0; i < first.inputs.size(); ++i)
        QVERIFY(first.inputs[i].images == second.inputs[i].images);
    QCOMPARE(a.student.testAccuracy, b.student.testAccuracy);
    QCOMPARE(a.student.testLoss, b.student.testLoss);
    QCOMPARE(a.baseline.testLoss, b.baseline.testLoss);
    // Baseline and distilled student: the same views of the same images, so they differ only in the loss.
    const auto baseline = first.of(kd::Role::Baseline), student = first.of(kd::Role::Student);
    QCOMPARE(baseline.size(), student.size());
    QCOMPARE(baseline.size(), std::size_t(2 * 6));
    for (std::size_t i = 0; i < baseline.size(); ++i)
        QVERIFY(baseline[i].images == student[i].images);
    // ... and they are augmented: another epoch draws other views, and the teacher's (own seed) differ.
    QVERIFY(student[0].images != student[6].images || student[0].count != student[6].count);
    const auto teacher = first.of(kd::Role::Teacher);
    QVERIFY(!teacher.empty() && teacher[0].images != student[0].images);
    // Another seed: other views.
    kd::ExperimentConfig other = smallConfig();
    other.seed = 2;
    other.teacherSeed = 1; // the same teacher
    InputRecorder third;
    kd::Trainer trainer;
    trainer.setObserver(&third);
    trainer.run(other);
    QVERIFY(third.of(kd::Role::Student)[0].images != student[0].images);
}

void TestAugment::softTargetsAreTheTeacherOnTheSameView_data() {
    QTest::addColumn<QString>("augment");
    QTest::newRow("shift") << "shift";
    QTest::newRow("shift-flip") << "shift-flip";
}

void TestAugment::softTargetsAreTheTeacherOnTheSameView() {
    QFETCH(QString, augment);
    kd::ExperimentConfig c = smallConfig();
    c.augment = augment.toStdString();
    InputRecorder rec;
    kd::Trainer trainer;
    trainer.setObserver(&rec);
    const kd::ExperimentResult r = trainer.run(c);
    QVERIFY(!r.stopped);
    const std::string teacherPath = m_tmp.filePath("teacher-" + augment + ".pt").toStdString();
    trainer.saveCheckpoint(kd::Role::Teacher, teacherPath);
    // An independent forward of the saved teacher (kd::Predictor, eval mode) on each batch's images as the
    // student saw them gives the logits its soft targets came from.
    const kd::Predictor teacher(teacherPath);
    const auto student = rec.of(kd::Role::Student);
    QVERIFY(!student.empty());
    double largest = 0;
    for (const auto& in : student) {
        QCOMPARE(in.targets.size(), in.count * 10);
        const std::vector<float> logits = teacher.logits(in.images, in.count);
        QCOMPARE(logits.size(), in.targets.size());
        for (std::size_t i = 0; i < logits.size(); ++i)
            largest = std::max(largest, double(std::abs(logits[i] - in.targets[i])));
    }
    QVERIFY2(largest < 1e-4, qPrintable(QString("largest difference %1").arg(largest)));
    // The baseline learns from labels only.
    for (const auto& in : rec.of(kd::Role::Baseline))
        QVERIFY(in.targets.empty());
}

void TestAugment::withoutAugmentationImagesAreUntouched() {
    kd::ExperimentConfig c = smallConfig();
    c.augment = "none";
    InputRecorder rec;
    kd::Trainer trainer;
    trainer.setObserver(&rec);
    trainer.run(c);
    // Every image the models saw is one of the training images, pixel for pixel.
    QVERIFY(allPlain(rec.inputs, *trainer.dataset()));
}

void TestAugment::teacherHasItsOwnAugmentation_data() {
    QTest::addColumn<QString>("augment");
    QTest::addColumn<QString>("teacherAugment");
    QTest::addColumn<bool>("teacherPlain");
    QTest::addColumn<bool>("studentsPlain");
    QTest::newRow("students shift-flip, teacher none") << "shift-flip"
                                                       << "none" << true << false;
    QTest::newRow("students none, teacher shift (Hinton)") << "none"
                                                           << "shift" << false << true;
    QTest::newRow("same: both shift") << "shift"
                                      << "same" << false << false;
    QTest::newRow("same: both none") << "none"
                                     << "same" << true << true;
}

void TestAugment::teacherHasItsOwnAugmentation() {
    QFETCH(QString, augment);
    QFETCH(QString, teacherAugment);
    QFETCH(bool, teacherPlain);
    QFETCH(bool, studentsPlain);
    kd::ExperimentConfig c = smallConfig();
    c.augment = augment.toStdString();
    c.teacherAugment = teacherAugment.toStdString();
    InputRecorder rec;
    kd::Trainer trainer;
    trainer.setObserver(&rec);
    trainer.run(c);
    QCOMPARE(allPlain(rec.of(kd::Role::Teacher), *trainer.dataset()), teacherPlain);
    QCOMPARE(allPlain(rec.of(kd::Role::Baseline), *trainer.dataset()), studentsPlain);
    QCOMPARE(allPlain(rec.of(kd::Role::Student), *trainer.dataset()), studentsPlain);
    for (const auto& in : rec.of(kd::Role::Student))
        QCOMPARE(in.targets.size(), in.count * 10);
}

void TestAugment::badSettingsAreRefused_data() {
    QTest::addColumn<QString>("key");
    QTest::addColumn<QString>("value");
    QTest::addColumn<QString>("expected");
    QTest::newRow("unknown augment") << "augment"
                                     << "rotate"
                                     << "config: augment: 'rotate' is not none, shift or shift-flip";
    QTest::newRow("capitalised") << "augment"
                                 << "Shift"
                                 << "config: augment: 'Shift' is not none, shift or shift-flip";
    QTest::newRow("shift -1") << "shift_pixels"
                              << "-1"
                              << "config: shift_pixels: must be in 0..8, got -1";
    QTest::newRow("shift 9") << "shift_pixels"
                             << "9"
                             << "config: shift_pixels: must be in 0..8, got 9";
    QTest::newRow("teacher augment")
        << "teacher_augment"
        << "jitter"
        << "config: teacher_augment: 'jitter' is not same, none, shift or shift-flip";
}

void TestAugment::badSettingsAreRefused() {
    QFETCH(QString, key);
    QFETCH(QString, value);
    QFETCH(QString, expected);
    kd::ExperimentConfig c = smallConfig();
    kd::setConfigValue(c, key.toStdString(), value.toStdString(), "--" + key.toStdString());
    QString message;
    KD_EXPECT_ERROR(message, kd::validateConfig(c));
    QCOMPARE(message, expected);
    kd::Trainer trainer;
    KD_EXPECT_ERROR(message, trainer.run(c));
    QCOMPARE(message, expected);
}

void TestAugment::sameSeedSameViews() {
    const auto a = kd::drawViewTransforms("shift-flip", 2, /*seed=*/42, 128);
    const auto b = kd::drawViewTransforms("shift-flip", 2, /*seed=*/42, 128);
    const auto c = kd::drawViewTransforms("shift-flip", 2, /*seed=*/43, 128);
    QVERIFY(a == b);
    QVERIFY(a != c);
    // The same seed gives the same views whatever the batch size: image i's view does not depend on n.
    const auto prefix = kd::drawViewTransforms("shift-flip", 2, /*seed=*/42, 10);
    QVERIFY(std::equal(prefix.begin(), prefix.end(), a.begin()));
}

void TestAugment::shiftsStayInRangeAndCoverIt_data() {
    QTest::addColumn<int>("pixels");
    QTest::newRow("0 pixels") << 0;
    QTest::newRow("1 pixel") << 1;
    QTest::newRow("2 pixels (default)") << 2;
    QTest::newRow("8 pixels (largest)") << 8;
}

void TestAugment::shiftsStayInRangeAndCoverIt() {
    QFETCH(int, pixels);
    const auto views = kd::drawViewTransforms("shift", pixels, /*seed=*/7, 5000);
    std::set<int> dxs, dys;
    for (const kd::ViewTransform& v : views) {
        QVERIFY(v.dx >= -pixels && v.dx <= pixels);
        QVERIFY(v.dy >= -pixels && v.dy <= pixels);
        QVERIFY(!v.flip);
        dxs.insert(v.dx);
        dys.insert(v.dy);
    }
    // Every shift in the range is drawn (5000 draws of at most 17 values).
    QCOMPARE(int(dxs.size()), 2 * pixels + 1);
    QCOMPARE(int(dys.size()), 2 * pixels + 1);
}

void TestAugment::flipsOnlyWithShiftFlip() {
    const auto views = kd::drawViewTransforms("shift-flip", 2, /*seed=*/3, 4000);
    const int flips = int(std::count_if(views.begin(), views.end(), [](const auto& v) { return v.flip; }));
    QVERIFY2(flips > 1800 && flips < 2200, qPrintable(QString::number(flips))); // about half
}

void TestAugment::shiftMovesPixels_data() {
    QTest::addColumn<int>("dx");
    QTest::addColumn<int>("dy");
    QTest::newRow("right 1") << 1 << 0;
    QTest::newRow("left 2") << -2 << 0;
    QTest::newRow("down 2") << 0 << 2;
    QTest::newRow("up 1, right 2") << 2 << -1;
    QTest::newRow("out of the image") << 4 << 0;
    QTest::newRow("none") << 0 << 0;
}

void TestAugment::shiftMovesPixels() {
    QFETCH(int, dx);
    QFETCH(int, dy);
    const int rows = 5, cols = 4;
    const std::vector<float> original = numbered(rows, cols);
    std::vector<float> image = original;
    kd::applyViewTransforms(image.data(), rows, cols, {kd::ViewTransform{dx, dy, false}});
    for (int y = 0; y < rows; ++y)
        for (int x = 0; x < cols; ++x) {
            const int sy = y - dy, sx = x - dx;
            const float expected =
                sy < 0 || sy >= rows || sx < 0 || sx >= cols ? 0.f : original[std::size_t(sy * cols + sx)];
            QCOMPARE(image[std::size_t(y * cols + x)], expected);
        }
}

void TestAugment::flipMirrorsThenShifts() {
    const int rows = 2, cols = 3;
    std::vector<float> image = numbered(rows, cols); // rows {1,2,3} {11,12,13}
    kd::applyViewTransforms(image.data(), rows, cols, {kd::ViewTransform{0, 0, true}});
    QCOMPARE(image, (std::vector<float>{3, 2, 1, 13, 12, 11}));
    image = numbered(rows, cols);
    kd::applyViewTransforms(image.data(), rows, cols, {kd::ViewTransform{1, 0, true}});
    QCOMPARE(image, (std::vector<float>{0, 3, 2, 0, 13, 12}));
}

void TestAugment::noneChangesNothing() {
    const auto views = kd::drawViewTransforms("none", 2, /*seed=*/1, 64);
    QCOMPARE(views.size(), std::size_t(64));
    for (const kd::ViewTransform& v : views)
        QVERIFY(v == kd::ViewTransform{});
    std::vector<float> images(64 * 28 * 28);
    std::iota(images.begin(), images.end(), 0.f);
    const std::vector<float> before = images;
    kd::applyViewTransforms(images.data(), 28, 28, views);
    QCOMPARE(images, before);
    // Several images: each gets its own view, the others are untouched.
    std::vector<float> two = numbered(3, 3);
    two.insert(two.end(), two.begin(), two.end());
    kd::applyViewTransforms(two.data(), 3, 3, {kd::ViewTransform{}, kd::ViewTransform{1, 1, false}});
    QCOMPARE(std::vector<float>(two.begin(), two.begin() + 9), numbered(3, 3));
    QCOMPARE(std::vector<float>(two.begin() + 9, two.end()),
             (std::vector<float>{0, 0, 0, 0, 1, 2, 0, 11, 12}));
}

void TestAugment::unknownNameIsAnError() {
    QString message;
    KD_EXPECT_ERROR(message, kd::drawViewTransforms("rotate", 2, 1, 4));
    QVERIFY2(message.contains("rotate") && message.contains("shift-flip"), qPrintable(message));
}

void TestAugment::batchSeedsDifferAndRepeat() {
    std::set<std::uint64_t> seen;
    for (int epoch = 1; epoch <= 5; ++epoch)
        for (int batch = 0; batch < 100; ++batch) {
            const std::uint64_t s = kd::augmentSeed(/*modelSeed=*/11, epoch, batch);
            QCOMPARE(s, kd::augmentSeed(11, epoch, batch));
            seen.insert(s);
        }
    QCOMPARE(seen.size(), std::size_t(500));
    QVERIFY(kd::augmentSeed(11, 1, 0) != kd::augmentSeed(12, 1, 0));
}

QTEST_GUILESS_MAIN(TestAugment)
#include "tst_augment.moc"
