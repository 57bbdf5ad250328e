#pragma once
// Small helpers shared by the test suites (no LibTorch, no kdcore internals).

#include "kdcore/error.h"

#include <QString>

#include <exception>
#include <unistd.h>

namespace testutil {

// Runs `f` and returns the message of the kd::Error it throws. Returns "<no error>" when it throws nothing
// and
// "<not kd::Error: ...>" for any other exception, so a QVERIFY2 on the result prints what went wrong.
template <typename F> QString errorMessage(F&& f) {
    try {
        f();
    } catch (const kd::Error& e) {
        return QString::fromStdString(e.what());
    } catch (const std::exception& e) {
        return QStringLiteral("<not kd::Error: %1>").arg(QString::fromStdString(e.what()));
    } catch (...) {
        return QStringLiteral("<not kd::Error: unknown exception>");
    }
    return QStringLiteral("<no error>");
}

inline bool isKdError(const QString& message) {
    return !message.startsWith(QLatin1String("<no error>")) &&
           !message.startsWith(QLatin1String("<not kd::Error"));
}

// Root reads and writes files whatever their permission bits say, so a test that makes a file unreadable or a
// folder read-only with chmod can only fail as intended for another user (QSKIP the case for root).
inline bool permissionsAreEnforced() {
    return ::geteuid() != 0;
}

} // namespace testutil

// Asserts that `expr` throws kd::Error; stores its message in `msgVar` (a QString declared by the caller).
#define KD_EXPECT_ERROR(msgVar, expr)                                                                        \
    do {                                                                                                     \
        msgVar = testutil::errorMessage([&] { expr; });                                                      \
        QVERIFY2(testutil::isKdError(msgVar),                                                                \
                 qPrintable(QStringLiteral("expected kd::Error from " #expr ", got ") + msgVar));            \
    } while (false)
