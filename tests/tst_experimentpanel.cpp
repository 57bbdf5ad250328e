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
    void optimizerChoiceReachesConfig();
    void zeroStudentEpochsRefused();
    void advancedTabOrderFollowsTheRows();
    void invalidLearningRateNamesField();
    void runningLocksAllButTemperatureAndAlpha();
    void tooltipsExplainTheSliders();
    void methodShowsItsOwnSettings_data();
    void methodShowsItsOwnSettings();
    void methodSettingsRoundTrip_data();
    void methodSettingsRoundTrip();
    void badMethodSettingsNameTheField_data();
    void badMethodSettingsNameTheField();
};

void TestExperimentPanel::temperatureSliderIsLogScale_data() {
    QTest::addColumn<int>("position");
    QTest::addColumn<double>("temperature");
    // The one mapping of kdcore/temperature.h, shared with the lens and the dark-knowledge view.
    QTest::newRow("left end") << 0 << 0.25;
    QTest::newRow("right end") << ExperimentPanel::kSliderSteps << 20.0;
    // Geometric middle of 0.25..20: sqrt(0.25 * 20) = 2.24.
    QTest::newRow("middle") << ExperimentPanel::kSliderSteps / 2 << 2.24;
    QTest::newRow("T = 1 near a third") << 316 << 1.0;
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
    c.lrSchedule = "cosine";
    c.seed = 42;
    c.trainLimit = 5000;
    c.optimizer = "sgd";
    c.momentum = 0.8;
    ExperimentPanel panel;
    panel.setConfig(c);
    QCOMPARE(panel.datasetBox()->currentData().toString(), QString("idx:/some/folder"));
    QCOMPARE(panel.lrScheduleBox()->currentData().toString(), QString("cosine"));
    QCOMPARE(panel.optimizerBox()->currentData().toString(), QString("sgd"));
    QVERIFY(panel.momentumSpin()->isEnabled());
    const kd::ExperimentConfig back = panel.config();
    QCOMPARE(kd::configToJson(back), kd::configToJson(c));
}

// The engine's SGD with momentum is offered in Advanced; momentum applies to SGD only.
void TestExperimentPanel::optimizerChoiceReachesConfig() {
    ExperimentPanel panel;
    QCOMPARE(panel.config().optimizer, std::string("adam"));
    QVERIFY(!panel.momentumSpin()->isEnabled());
    QSignalSpy edited(&panel, &ExperimentPanel::configEdited);
    QComboBox* box = panel.optimizerBox();
    box->setCurrentIndex(box->findData(QString("sgd")));
    Q_EMIT box->activated(box->currentIndex()); // as a click does
    QVERIFY(edited.count() >= 1);
    QVERIFY(panel.momentumSpin()->isEnabled());
    panel.momentumSpin()->setValue(0.95);
    QCOMPARE(panel.config().optimizer, std::string("sgd"));
    QCOMPARE(panel.config().momentum, 0.95);
    box->setCurrentIndex(box->findData(QString("adam")));
    Q_EMIT box->activated(box->currentIndex());
    QVERIFY(!panel.momentumSpin()->isEnabled());
    QCOMPARE(panel.config().optimizer, std::string("adam"));
}

// The app compares students: with 0 student epochs there is nothing to compare, and Start says so in one
// line.
void TestExperimentPanel::zeroStudentEpochsRefused() {
    ExperimentPanel panel;
    QVERIFY(panel.validationError().isEmpty());
    kd::ExperimentConfig c;
    c.epochs = 0;
    panel.setConfig(c);
    QVERIFY2(panel.validationError().startsWith("epochs: 0 student epochs"),
             qPrintable(panel.validationError()));
    c.epochs = 1;
    panel.setConfig(c);
    QVERIFY(panel.validationError().isEmpty());
}

// With the keyboard alone, Tab walks the Advanced rows top to bottom (the learning rate used to come last).
void TestExperimentPanel::advancedTabOrderFollowsTheRows() {
    ExperimentPanel panel;
    const QList<QWidget*> expected{panel.learningRateEdit(), panel.lrScheduleBox(), panel.optimizerBox()};
    QWidget* w = panel.learningRateEdit();
    for (int i = 1; i < expected.size(); ++i) {
        w = w->nextInFocusChain();
        while (w && w != expected[i] && !(w->focusPolicy() & Qt::TabFocus))
            w = w->nextInFocusChain();
        QCOMPARE(w, expected[i]);
    }
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

void TestExperimentPanel::methodShowsItsOwnSettings_data() {
    QTest::addColumn<QString>("method");
    QTest::addColumn<bool>("ensembleRows");
    QTest::addColumn<bool>("generationsRow");
    QTest::addColumn<bool>("assistantRow");
    QTest::addColumn<bool>("studentEditable");
    QTest::addColumn<QString>("helpMentions");
    QTest::newRow("kd") << "kd" << false << false << false << true << "softened";
    QTest::newRow("ensemble") << "ensemble" << true << false << false << true
                              << "mean of their probabilities";
    QTest::newRow("born-again") << "born-again" << false << true << false << false << "generation";
    QTest::newRow("assistant") << "assistant" << false << false << true << true << "assistant";
}

void TestExperimentPanel::methodShowsItsOwnSettings() {
    QFETCH(QString, method);
    QFETCH(bool, ensembleRows);
    QFETCH(bool, generationsRow);
    QFETCH(bool, assistantRow);
    QFETCH(bool, studentEditable);
    QFETCH(QString, helpMentions);
    ExperimentPanel panel;
    panel.show();
    QSignalSpy edited(&panel, &ExperimentPanel::configEdited);
    // Chosen the way a user does: activating the combo box entry.
    const int index = panel.methodBox()->findData(method);
    QVERIFY(index >= 0);
    panel.methodBox()->setCurrentIndex(index);
    Q_EMIT panel.methodBox()->activated(index);
    QVERIFY(edited.count() >= 1);
    QCOMPARE(QString::fromStdString(panel.config().method), method);
    QCOMPARE(panel.isMethodRowVisible(panel.ensembleSizeSpin()), ensembleRows);
    QCOMPARE(panel.isMethodRowVisible(panel.ensembleTeachersEdit()), ensembleRows);
    QCOMPARE(panel.isMethodRowVisible(panel.generationsSpin()), generationsRow);
    QCOMPARE(panel.isMethodRowVisible(panel.assistantEditor()), assistantRow);
    QCOMPARE(panel.studentEditor()->isEnabled(), studentEditable);
    QVERIFY2(panel.methodHelp()->text().contains(helpMentions), qPrintable(panel.methodHelp()->text()));
    // Born-again students take the teacher's architecture, and the panel says so.
    if (method == "born-again")
        QVERIFY(panel.compressionLabel()->text().contains("teacher's architecture"));
    // While training the method is locked like the models.
    panel.setRunning(true);
    QVERIFY(!panel.methodBox()->isEnabled());
    QVERIFY(!panel.studentEditor()->isEnabled());
    panel.setRunning(false);
    QCOMPARE(panel.studentEditor()->isEnabled(), studentEditable);
}

void TestExperimentPanel::methodSettingsRoundTrip_data() {
    QTest::addColumn<QString>("method");
    QTest::newRow("ensemble") << "ensemble";
    QTest::newRow("born-again") << "born-again";
    QTest::newRow("assistant") << "assistant";
}

void TestExperimentPanel::methodSettingsRoundTrip() {
    QFETCH(QString, method);
    kd::ExperimentConfig c;
    c.method = method.toStdString();
    c.ensembleSize = 5;
    c.ensembleTeachers = "mlp:64;lenet5";
    c.generations = 4;
    c.assistant = "mlp:256,64";
    ExperimentPanel panel;
    panel.setConfig(c);
    QCOMPARE(panel.methodBox()->currentData().toString(), method);
    QCOMPARE(panel.ensembleSizeSpin()->value(), 5);
    QCOMPARE(panel.generationsSpin()->value(), 4);
    QCOMPARE(panel.assistantEditor()->spec(), QString("mlp:256,64"));
    QCOMPARE(kd::configToJson(panel.config()), kd::configToJson(c));
    QVERIFY2(panel.validationError().isEmpty(), qPrintable(panel.validationError()));
}

void TestExperimentPanel::badMethodSettingsNameTheField_data() {
    QTest::addColumn<QString>("method");
    QTest::addColumn<QString>("members");
    QTest::addColumn<QString>("assistant");
    QTest::addColumn<QString>("field");
    QTest::newRow("bad member spec") << "ensemble"
                                     << "mlp:64;cnn:"
                                     << "mlp:512"
                                     << "ensemble_teachers";
    QTest::newRow("empty member") << "ensemble"
                                  << "mlp:64;;lenet5"
                                  << "mlp:512"
                                  << "ensemble_teachers";
    QTest::newRow("bad assistant") << "assistant"
                                   << ""
                                   << "mlp:0"
                                   << "assistant";
}

void TestExperimentPanel::badMethodSettingsNameTheField() {
    QFETCH(QString, method);
    QFETCH(QString, members);
    QFETCH(QString, assistant);
    QFETCH(QString, field);
    kd::ExperimentConfig c;
    c.method = method.toStdString();
    ExperimentPanel panel;
    panel.setConfig(c);
    panel.ensembleTeachersEdit()->setText(members);
    panel.assistantEditor()->setSpec(assistant);
    const QString error = panel.validationError();
    QVERIFY2(error.startsWith(field) || error.contains(" " + field + ":"), qPrintable(error));
    // The same settings under kd are not in the way (only the chosen method's settings count).
    if (method == "ensemble") {
        panel.methodBox()->setCurrentIndex(panel.methodBox()->findData("kd"));
        QVERIFY2(panel.validationError().isEmpty(), qPrintable(panel.validationError()));
    }
}

QTEST_MAIN(TestExperimentPanel)
#include "tst_experimentpanel.moc"
