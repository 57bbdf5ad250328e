// The experiment panel: the widgets a person uses to set up a run.
#include "experimentpanel.h"

#include "kdcore/config.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QLabel>
#include <QLineEdit>
#include <QSignalSpy>
#include <QSlider>
#include <QSpinBox>
#include <QToolButton>
#include <QtTest>

#include <cmath>

using kdui::ExperimentPanel;

class TestExperimentPanel : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void temperatureSliderIsLogScale_data();
    void temperatureSliderIsLogScale();
    void sliderAndSpinBoxStayInStep();
    void alphaSliderMapsToZeroOne();
    void typedSpecIsValidatedLive_data();
    void typedSpecIsValidatedLive();
    void presetFillsSpec();
    void compressionRatioShown();
    void configRoundTrip();
    void invalidLearningRateNamesField();
    void runningLocksAllButTemperatureAndAlpha();
    void tooltipsExplainTheSliders();
};

void TestExperimentPanel::temperatureSliderIsLogScale_data() {
    QTest::addColumn<int>("position");
    QTest::addColumn<double>("temperature");
    QTest::newRow("left end") << 0 << 0.5;
    QTest::newRow("right end") << ExperimentPanel::kSliderSteps << 20.0;
    // Geometric middle of 0.5..20: sqrt(0.5 * 20) = 3.16.
    QTest::newRow("middle") << ExperimentPanel::kSliderSteps / 2 << 3.16;
    QTest::newRow("T = 1 near a fifth") << 188 << 1.0;
}

void TestExperimentPanel::temperatureSliderIsLogScale() {
    QFETCH(int, position);
    QFETCH(double, temperature);
    QVERIFY(std::abs(ExperimentPanel::sliderToTemperature(position) - temperature) < 0.01);
    QVERIFY(std::abs(ExperimentPanel::temperatureToSlider(temperature) - position) <= 1);
}

void TestExperimentPanel::sliderAndSpinBoxStayInStep() {
    ExperimentPanel panel;
    QSignalSpy spy(&panel, &ExperimentPanel::temperatureChanged);
    panel.temperatureSlider()->setValue(ExperimentPanel::kSliderSteps);
    QCOMPARE(panel.temperatureSpin()->value(), 20.0);
    QCOMPARE(panel.temperature(), 20.0);
    QCOMPARE(spy.count(), 1);
    QCOMPARE(spy.last().at(0).toDouble(), 20.0);

    panel.temperatureSpin()->setValue(4.0);
    QCOMPARE(panel.temperatureSlider()->value(), ExperimentPanel::temperatureToSlider(4.0));
    QCOMPARE(spy.count(), 2);
    QCOMPARE(panel.config().temperature, 4.0);
}

void TestExperimentPanel::alphaSliderMapsToZeroOne() {
    ExperimentPanel panel;
    QSignalSpy spy(&panel, &ExperimentPanel::alphaChanged);
    panel.alphaSlider()->setValue(90);
    QCOMPARE(panel.alpha(), 0.9);
    QCOMPARE(spy.count(), 1);
    panel.alphaSlider()->setValue(0);
    QCOMPARE(panel.config().alpha, 0.0);
    panel.alphaSpin()->setValue(0.25);
    QCOMPARE(panel.alphaSlider()->value(), 25);
}

void TestExperimentPanel::typedSpecIsValidatedLive_data() {
    QTest::addColumn<QString>("typed");
    QTest::addColumn<bool>("valid");
    QTest::addColumn<QString>("shown"); // a substring of the label under the editor
    QTest::newRow("mlp:128") << "mlp:128" << true << "101,770 parameters";
    QTest::newRow("cnn with dropout") << "cnn:32,64+dropout=0.3" << true << "50,186 parameters";
    QTest::newRow("preset name") << "tiny" << true << "25,450 parameters";
    QTest::newRow("unknown kind") << "rnn:4" << false << "rnn:4";
    QTest::newRow("zero width") << "mlp:0" << false << "mlp:0";
    QTest::newRow("empty") << "" << false << "";
}

void TestExperimentPanel::typedSpecIsValidatedLive() {
    QFETCH(QString, typed);
    QFETCH(bool, valid);
    QFETCH(QString, shown);
    ExperimentPanel panel;
    QLineEdit* edit = panel.studentEditor()->lineEdit();
    edit->clear();
    QTest::keyClicks(edit, typed);
    QCOMPARE(panel.studentEditor()->spec(), typed);
    QCOMPARE(panel.studentEditor()->isValid(), valid);
    QVERIFY2(panel.studentEditor()->statsLabel()->text().contains(shown),
             qPrintable(panel.studentEditor()->statsLabel()->text()));
    if (valid) {
        QVERIFY(panel.validationError().isEmpty());
    } else {
        QVERIFY(panel.validationError().startsWith("student: "));
        QVERIFY(!panel.studentEditor()->error().isEmpty());
    }
}

void TestExperimentPanel::presetFillsSpec() {
    ExperimentPanel panel;
    QComboBox* presets = panel.teacherEditor()->presetBox();
    const int index = presets->findText("hinton-teacher");
    QVERIFY(index > 0);
    presets->setCurrentIndex(index);
    Q_EMIT presets->activated(index);
    QCOMPARE(panel.teacherEditor()->spec(), QString("mlp:1200,1200+dropout=0.5"));
    QCOMPARE(panel.config().teacher, std::string("mlp:1200,1200+dropout=0.5"));
    // Typing a preset's spec selects that preset; anything else shows "custom".
    panel.teacherEditor()->setSpec("mlp:800,800");
    QCOMPARE(presets->currentText(), QString("hinton-student"));
    panel.teacherEditor()->setSpec("mlp:7");
    QCOMPARE(presets->currentText(), QString("custom"));
}

void TestExperimentPanel::compressionRatioShown() {
    ExperimentPanel panel;
    panel.teacherEditor()->setSpec("mlp:1200,1200");
    panel.studentEditor()->setSpec("mlp:32");
    const QString text = panel.compressionLabel()->text();
    // 2,395,210 / 25,450 parameters = 94.1x.
    QVERIFY2(text.contains("94.1x smaller"), qPrintable(text));
    panel.studentEditor()->setSpec("mlp:");
    QVERIFY(!panel.compressionLabel()->text().isEmpty());
    panel.studentEditor()->setSpec("bad");
    QVERIFY(panel.compressionLabel()->text().isEmpty());
}

void TestExperimentPanel::configRoundTrip() {
    kd::ExperimentConfig c;
    c.dataset = "idx:/some/folder";
    c.teacher = "lenet5";
    c.student = "mlp:64,32";
    c.temperature = 7.5;
    c.alpha = 0.3;
    c.epochs = 3;
    c.teacherEpochs = 6;
    c.batchSize = 64;
    c.lr = 5e-4;
    c.seed = 42;
    c.trainLimit = 5000;
    c.optimizer = "sgd"; // not on the panel: kept from the config it was given
    ExperimentPanel panel;
    panel.setConfig(c);
    QCOMPARE(panel.datasetBox()->currentData().toString(), QString("idx:/some/folder"));
    const kd::ExperimentConfig back = panel.config();
    QCOMPARE(kd::configToJson(back), kd::configToJson(c));
}

void TestExperimentPanel::invalidLearningRateNamesField() {
    ExperimentPanel panel;
    panel.learningRateEdit()->setText("");
    QVERIFY2(panel.validationError().contains("lr"), qPrintable(panel.validationError()));
    panel.learningRateEdit()->setText("0.002");
    QVERIFY(panel.validationError().isEmpty());
    QCOMPARE(panel.config().lr, 0.002);
}

void TestExperimentPanel::runningLocksAllButTemperatureAndAlpha() {
    ExperimentPanel panel;
    panel.show();
    QVERIFY(!panel.epochsSpin()->isVisible()); // "Advanced" starts collapsed
    panel.advancedToggle()->click();
    QVERIFY(panel.epochsSpin()->isVisible());
    QVERIFY(panel.epochsSpin()->isEnabled());
    panel.setRunning(true);
    QVERIFY(!panel.datasetBox()->isEnabled());
    QVERIFY(!panel.studentEditor()->isEnabled());
    QVERIFY(!panel.teacherEditor()->isEnabled());
    QVERIFY(!panel.epochsSpin()->isEnabled());
    QVERIFY(panel.temperatureSlider()->isEnabled());
    QVERIFY(panel.alphaSlider()->isEnabled());
    panel.setRunning(false);
    QVERIFY(panel.studentEditor()->isEnabled());
    QVERIFY(panel.epochsSpin()->isEnabled());
}

void TestExperimentPanel::tooltipsExplainTheSliders() {
    ExperimentPanel panel;
    QVERIFY(panel.temperatureSlider()->toolTip().contains("softens"));
    QVERIFY(panel.alphaSlider()->toolTip().contains("true labels"));
    QVERIFY(panel.reuseTeacherBox()->toolTip().contains("teacher"));
}

QTEST_MAIN(TestExperimentPanel)
#include "tst_experimentpanel.moc"
