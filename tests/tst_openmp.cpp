// kdlab-cli's choice of OpenMP wait policy reads the runnable-task count from /proc/loadavg: the parsing,
// with the edges (only the reader runnable, malformed text), and the machine's own file.
#include "kdcore/openmp.h"

#include <QFile>
#include <QtTest>

class TestOpenMp : public QObject {
    Q_OBJECT
private slots:
    void otherRunnableTasks_data();
    void otherRunnableTasks();
    void thisMachinesLoadavgParses();
};

void TestOpenMp::otherRunnableTasks_data() {
    QTest::addColumn<QString>("text");
    QTest::addColumn<int>("others");
    QTest::newRow("quiet: only the reader") << "0.00 0.01 0.05 1/123 4567" << 0;
    QTest::newRow("one busy process") << "1.02 0.80 0.40 2/130 4600" << 1;
    QTest::newRow("two busy, a newline") << "2.10 1.50 0.90 3/345 12345\n" << 2;
    QTest::newRow("empty") << "" << -1;
    QTest::newRow("no slash") << "0.1 0.2 0.3 3 100" << -1;
    QTest::newRow("not a number") << "0.1 0.2 0.3 x/100 5" << -1;
    QTest::newRow("zero running") << "0.1 0.2 0.3 0/100 5" << -1;
    QTest::newRow("too few fields") << "0.1 0.2" << -1;
}

void TestOpenMp::otherRunnableTasks() {
    QFETCH(QString, text);
    QFETCH(int, others);
    QCOMPARE(kd::otherRunnableTasks(text.toStdString()), others);
}

void TestOpenMp::thisMachinesLoadavgParses() {
    QFile file(QStringLiteral("/proc/loadavg"));
    if (!file.open(QIODevice::ReadOnly))
        QSKIP("no /proc/loadavg here");
    QVERIFY(kd::otherRunnableTasks(QString::fromLatin1(file.readAll()).toStdString()) >= 0);
}

QTEST_GUILESS_MAIN(TestOpenMp)
#include "tst_openmp.moc"
