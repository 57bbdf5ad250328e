// kd::parseModelSpec, ModelSpec::toString, the presets, and kd::modelStats against the built LibTorch module.
#include "kdcore/error.h"
#include "kdcore/modelspec.h"
#include "kdcore/trainer.h" // kd::countModuleParameters

#include "testutil.h"

#include <QTest>

using Kind = kd::ModelSpec::Kind;
Q_DECLARE_METATYPE(kd::ModelSpec::Kind)

class TestModelSpec : public QObject {
    Q_OBJECT

private slots:
    void parseValid_data();
    void parseValid();
    void presetsAllParse();
    void parseInvalid_data();
    void parseInvalid();
    void statsMatchModule_data();
    void statsMatchModule();
    void knownFigures_data();
    void knownFigures();
    void tooManyPoolingStages_data();
    void tooManyPoolingStages();
};

void TestModelSpec::parseValid_data() {
    QTest::addColumn<QString>("text");
    QTest::addColumn<Kind>("kind");
    QTest::addColumn<QList<int>>("layers");
    QTest::addColumn<double>("dropout");
    QTest::addColumn<QString>("canonical");

    QTest::newRow("mlp: (softmax regression)") << "mlp:" << Kind::Mlp << QList<int>{} << 0.0 << "mlp:";
    QTest::newRow("mlp:128") << "mlp:128" << Kind::Mlp << QList<int>{128} << 0.0 << "mlp:128";
    QTest::newRow("mlp:1200,1200+dropout=0.5")
        << "mlp:1200,1200+dropout=0.5" << Kind::Mlp << QList<int>{1200, 1200} << 0.5
        << "mlp:1200,1200+dropout=0.5";
    QTest::newRow("mlp with spaces") << "  mlp: 64 , 32  " << Kind::Mlp << QList<int>{64, 32} << 0.0
                                     << "mlp:64,32";
    QTest::newRow("mlp dropout=0") << "mlp:10+dropout=0" << Kind::Mlp << QList<int>{10} << 0.0 << "mlp:10";
    QTest::newRow("lenet5") << "lenet5" << Kind::LeNet5 << QList<int>{} << 0.0 << "lenet5";
    QTest::newRow("lenet5+dropout=0.1")
        << "lenet5+dropout=0.1" << Kind::LeNet5 << QList<int>{} << 0.1 << "lenet5+dropout=0.1";
    QTest::newRow("cnn:32,64") << "cnn:32,64" << Kind::Cnn << QList<int>{32, 64} << 0.0 << "cnn:32,64";
    QTest::newRow("cnn:16+dropout=0.25")
        << "cnn:16+dropout=0.25" << Kind::Cnn << QList<int>{16} << 0.25 << "cnn:16+dropout=0.25";
    QTest::newRow("preset hinton-teacher")
        << "hinton-teacher" << Kind::Mlp << QList<int>{1200, 1200} << 0.5 << "mlp:1200,1200+dropout=0.5";
    QTest::newRow("preset hinton-student")
        << "hinton-student" << Kind::Mlp << QList<int>{800, 800} << 0.0 << "mlp:800,800";
    QTest::newRow("preset small") << "small" << Kind::Mlp << QList<int>{128} << 0.0 << "mlp:128";
    QTest::newRow("preset tiny") << "tiny" << Kind::Mlp << QList<int>{32} << 0.0 << "mlp:32";
    QTest::newRow("preset cnn-teacher")
        << "cnn-teacher" << Kind::Cnn << QList<int>{32, 64} << 0.3 << "cnn:32,64+dropout=0.3";
}

void TestModelSpec::parseValid() {
    QFETCH(QString, text);
    QFETCH(Kind, kind);
    QFETCH(QList<int>, layers);
    QFETCH(double, dropout);
    QFETCH(QString, canonical);

    const kd::ModelSpec spec = kd::parseModelSpec(text.toStdString());
    QCOMPARE(spec.kind, kind);
    QCOMPARE(QList<int>(spec.layers.begin(), spec.layers.end()), layers);
    QCOMPARE(spec.dropout, dropout);
    QCOMPARE(QString::fromStdString(spec.toString()), canonical);
    // The canonical form parses back to the same spec, and is its own canonical form.
    const kd::ModelSpec again = kd::parseModelSpec(spec.toString());
    QVERIFY(again == spec);
    QCOMPARE(again.toString(), spec.toString());
}

void TestModelSpec::presetsAllParse() {
    const auto& presets = kd::modelPresets();
    QVERIFY(presets.size() >= 5);
    for (const char* name : {"hinton-teacher", "hinton-student", "small", "tiny", "cnn-teacher"}) {
        bool found = false;
        for (const auto& [presetName, specText] : presets) {
            if (presetName != name)
                continue;
            found = true;
            QVERIFY(kd::parseModelSpec(presetName) == kd::parseModelSpec(specText));
        }
        QVERIFY2(found, name);
    }
}

void TestModelSpec::parseInvalid_data() {
    QTest::addColumn<QString>("text");
    QTest::addColumn<QString>("problem"); // what the message must say after naming the spec
    QTest::newRow("empty") << ""
                           << "empty";
    QTest::newRow("blank") << "   "
                           << "empty";
    QTest::newRow("mlp without colon") << "mlp"
                                       << "unknown architecture 'mlp'";
    QTest::newRow("zero width") << "mlp:0"
                                << "hidden units 0 is out of range 1..65536";
    QTest::newRow("trailing comma") << "mlp:12,"
                                    << "trailing comma";
    QTest::newRow("empty item") << "mlp:12,,4"
                                << "'' is not a positive whole number";
    QTest::newRow("not a number") << "mlp:a"
                                  << "'a' is not a positive whole number";
    QTest::newRow("negative width") << "mlp:-5"
                                    << "'-5' is not a positive whole number";
    QTest::newRow("cnn without channels") << "cnn:"
                                          << "needs at least one channel count";
    QTest::newRow("cnn zero channels") << "cnn:0"
                                       << "channels 0 is out of range";
    QTest::newRow("unknown architecture") << "resnet"
                                          << "unknown architecture 'resnet'";
    QTest::newRow("dropout 1") << "mlp:10+dropout=1"
                               << "dropout 1 must be in [0, 1)";
    QTest::newRow("dropout negative") << "mlp:10+dropout=-0.1"
                                      << "dropout -0.1 must be in [0, 1)";
    QTest::newRow("dropout not a number") << "mlp:10+dropout=x"
                                          << "dropout 'x' is not a number";
    QTest::newRow("dropout empty") << "mlp:10+dropout="
                                   << "dropout '' is not a number";
    QTest::newRow("unknown option") << "mlp:10+foo=1"
                                    << "unknown option 'foo=1'";
    QTest::newRow("lenet5 with layers") << "lenet5:3"
                                        << "unknown architecture 'lenet5:3'";
    // Unknown presets: a misspelling, the wrong case, a preset with options (presets take none).
    QTest::newRow("misspelled preset") << "hinton-studnet"
                                       << "unknown architecture 'hinton-studnet'";
    QTest::newRow("preset in capitals") << "Tiny"
                                        << "unknown architecture 'Tiny'";
    QTest::newRow("preset with dropout") << "tiny+dropout=0.1"
                                         << "unknown architecture 'tiny'";
    QTest::newRow("architecture in capitals") << "MLP:10"
                                              << "unknown architecture 'MLP:10'";
    // Malformed lists and numbers.
    QTest::newRow("widths separated by spaces") << "mlp:10 20"
                                                << "'10 20' is not a positive whole number";
    QTest::newRow("widths separated by ';'") << "mlp:10;20"
                                             << "'10;20' is not a positive whole number";
    QTest::newRow("width in exponent form") << "mlp:1e3"
                                            << "'1e3' is not a positive whole number";
    QTest::newRow("width a fraction") << "mlp:12.5"
                                      << "'12.5' is not a positive whole number";
    QTest::newRow("width above the range") << "mlp:70000"
                                           << "hidden units 70000 is out of range 1..65536";
    QTest::newRow("width of 11 digits (would overflow an int)") << "mlp:99999999999"
                                                                << "is not a positive whole number";
    QTest::newRow("channels above the range") << "cnn:2000"
                                              << "channels 2000 is out of range 1..1024";
    QTest::newRow("dropout NaN") << "mlp:10+dropout=nan"
                                 << "dropout nan must be in [0, 1)";
    QTest::newRow("dropout inf") << "mlp:10+dropout=inf"
                                 << "dropout inf must be in [0, 1)";
    QTest::newRow("dropout twice") << "mlp:10+dropout=0.5+dropout=0.1"
                                   << "dropout '0.5+dropout=0.1' is not a number";
    QTest::newRow("option without architecture") << "+dropout=0.5"
                                                 << "unknown architecture ''";
    QTest::newRow("empty option") << "lenet5+"
                                  << "unknown option ''";
}

void TestModelSpec::parseInvalid() {
    QFETCH(QString, text);
    QFETCH(QString, problem);
    QString msg;
    KD_EXPECT_ERROR(msg, kd::parseModelSpec(text.toStdString()));
    QVERIFY2(msg.contains("expected"), qPrintable(msg));
    QVERIFY2(msg.contains("model spec"), qPrintable(msg));
    // "model spec 'TEXT': PROBLEM; expected ...": the text as given (spaces trimmed), then what is wrong.
    const QString head = "model spec '" + (text.trimmed().isEmpty() ? text : text.trimmed()) + "': ";
    QVERIFY2(msg.startsWith(head), qPrintable("message does not start with " + head + ": " + msg));
    QVERIFY2(msg.mid(head.size()).contains(problem), qPrintable("message lacks '" + problem + "': " + msg));
    QVERIFY2(!msg.contains('\n'), qPrintable("message is not one line: " + msg));
}

void TestModelSpec::statsMatchModule_data() {
    QTest::addColumn<QString>("spec");
    QTest::addColumn<int>("channels");
    QTest::addColumn<int>("height");
    QTest::addColumn<int>("width");
    QTest::addColumn<int>("classes");
    QTest::newRow("mlp: 28x28x10") << "mlp:" << 1 << 28 << 28 << 10;
    QTest::newRow("mlp:128 28x28x10") << "mlp:128" << 1 << 28 << 28 << 10;
    QTest::newRow("mlp:800,800 28x28x10") << "mlp:800,800" << 1 << 28 << 28 << 10;
    QTest::newRow("mlp:64,32+dropout 16x16x3") << "mlp:64,32+dropout=0.2" << 1 << 16 << 16 << 3;
    QTest::newRow("mlp:50 3x32x32x100") << "mlp:50" << 3 << 32 << 32 << 100;
    QTest::newRow("cnn:32,64 28x28x10") << "cnn:32,64" << 1 << 28 << 28 << 10;
    QTest::newRow("cnn:8,16,32 28x28x10") << "cnn:8,16,32" << 1 << 28 << 28 << 10;
    QTest::newRow("cnn:8,8,8,8 28x28x10") << "cnn:8,8,8,8" << 1 << 28 << 28 << 10;
    QTest::newRow("cnn:16+dropout 32x32x5") << "cnn:16+dropout=0.25" << 1 << 32 << 32 << 5;
    QTest::newRow("cnn:4 3x20x24x2") << "cnn:4" << 3 << 20 << 24 << 2;
    QTest::newRow("lenet5 28x28x10") << "lenet5" << 1 << 28 << 28 << 10;
    QTest::newRow("lenet5 32x32x100") << "lenet5" << 1 << 32 << 32 << 100;
    QTest::newRow("lenet5+dropout 29x31x7") << "lenet5+dropout=0.5" << 1 << 29 << 31 << 7;
}

void TestModelSpec::statsMatchModule() {
    QFETCH(QString, spec);
    QFETCH(int, channels);
    QFETCH(int, height);
    QFETCH(int, width);
    QFETCH(int, classes);
    const kd::ModelSpec parsed = kd::parseModelSpec(spec.toStdString());
    const kd::InputShape input{channels, height, width, classes};
    const kd::ModelStats stats = kd::modelStats(parsed, input);
    QCOMPARE(stats.params, kd::countModuleParameters(parsed, input));
    QCOMPARE(stats.bytes, stats.params * 4);
    QVERIFY(stats.flopsPerSample > 0);
    // Every parameter takes part in at least one multiply-add per sample (a weight, or a bias of a layer with
    // at least as many multiply-adds as outputs).
    QVERIFY(stats.flopsPerSample >= stats.params);
}

void TestModelSpec::knownFigures_data() {
    QTest::addColumn<QString>("spec");
    QTest::addColumn<qint64>("params");
    QTest::addColumn<qint64>("flops");
    // 784*800+800 + 800*800+800 + 800*10+10; 2 FLOPs per multiply-add.
    QTest::newRow("hinton-student") << "hinton-student" << qint64(1276810)
                                    << qint64(2 * (784 * 800 + 800 * 800 + 800 * 10));
    QTest::newRow("softmax regression") << "mlp:" << qint64(7850) << qint64(2 * 7840);
    // The classic LeNet-5 (28x28 input padded by 2): 156 + 2416 + 48120 + 10164 + 850.
    QTest::newRow("lenet5") << "lenet5" << qint64(61706)
                            << qint64(2 * (6 * 25 * 28 * 28 + 6 * 16 * 25 * 10 * 10 + 400 * 120 + 120 * 84 +
                                           84 * 10));
    // conv 1->32: 320, conv 32->64: 18496, linear 64*7*7 -> 10: 31370.
    QTest::newRow("cnn-teacher") << "cnn-teacher" << qint64(50186)
                                 << qint64(2 * (32 * 9 * 28 * 28 + 32 * 64 * 9 * 14 * 14 + 3136 * 10));
}

void TestModelSpec::knownFigures() {
    QFETCH(QString, spec);
    QFETCH(qint64, params);
    QFETCH(qint64, flops);
    const kd::ModelStats stats =
        kd::modelStats(kd::parseModelSpec(spec.toStdString()), kd::InputShape{1, 28, 28, 10});
    QCOMPARE(qint64(stats.params), params);
    QCOMPARE(qint64(stats.bytes), 4 * params);
    QCOMPARE(qint64(stats.flopsPerSample), flops);
}

void TestModelSpec::tooManyPoolingStages_data() {
    QTest::addColumn<QString>("spec");
    QTest::addColumn<int>("size");
    QTest::newRow("cnn:8,8,8,8,8 on 28x28") << "cnn:8,8,8,8,8" << 28;
    QTest::newRow("cnn:8,8 on 3x3") << "cnn:8,8" << 3;
    QTest::newRow("lenet5 on 8x8") << "lenet5" << 8;
}

void TestModelSpec::tooManyPoolingStages() {
    QFETCH(QString, spec);
    QFETCH(int, size);
    const kd::ModelSpec parsed = kd::parseModelSpec(spec.toStdString());
    const kd::InputShape input{1, size, size, 10};
    QString msg;
    KD_EXPECT_ERROR(msg, kd::modelStats(parsed, input));
    QVERIFY2(msg.contains("pooling"), qPrintable(msg));
    QVERIFY2(msg.contains(QString::fromStdString(parsed.toString())), qPrintable(msg));
    // Building the module refuses it the same way (no LibTorch shape error).
    KD_EXPECT_ERROR(msg, kd::countModuleParameters(parsed, input));
}

QTEST_GUILESS_MAIN(TestModelSpec)
#include "tst_modelspec.moc"
