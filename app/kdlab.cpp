// kdlab: the desktop app. The work is in ui/ (kdui) and core/ (kdcore); this parses the command line.
#include "mainwindow.h"
#include "openmpwait.h"

#include "kdcore/config.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QTimer>

#include <cstdio>
#include <cstdlib>

namespace {

// Qt aborts with a terse message when no display can be reached; say what to do instead.
bool displayAvailable() {
#if defined(Q_OS_LINUX)
    const char* platform = std::getenv("QT_QPA_PLATFORM");
    if (platform && *platform)
        return true; // offscreen, xcb with an explicit display, wayland...: the user chose
    const char* x = std::getenv("DISPLAY");
    const char* wayland = std::getenv("WAYLAND_DISPLAY");
    return (x && *x) || (wayland && *wayland);
#else
    return true;
#endif
}

} // namespace

int main(int argc, char* argv[]) {
    kdui::preferPassiveOpenMpWait(argv);
    if (!displayAvailable()) {
        std::fprintf(stderr, "kdlab: no display found (neither DISPLAY nor WAYLAND_DISPLAY is set).\n"
                             "  Train without a window: kdlab-cli run --help\n"
                             "  Or run the app on a virtual display: xvfb-run -a kdlab\n");
        return 2;
    }
    QApplication app(argc, argv);
    QApplication::setApplicationName(QStringLiteral("kdlab"));
    QApplication::setOrganizationName(QStringLiteral("kdlab"));
    QApplication::setApplicationVersion(QStringLiteral(KDLAB_VERSION));

    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("kdlab: a desktop lab for knowledge distillation"));
    parser.addHelpOption();
    parser.addVersionOption();
    QCommandLineOption configOption(QStringLiteral("config"),
                                    QStringLiteral("Open with the experiment settings of this JSON file."),
                                    QStringLiteral("FILE.json"));
    QCommandLineOption autostartOption(QStringLiteral("autostart"),
                                       QStringLiteral("Start training at once."));
    QCommandLineOption screenshotOption(
        QStringLiteral("screenshot"),
        QStringLiteral("Save a PNG of the window after --after seconds, then quit."),
        QStringLiteral("FILE.png"));
    QCommandLineOption afterOption(QStringLiteral("after"), QStringLiteral("Seconds before the screenshot."),
                                   QStringLiteral("SECONDS"), QStringLiteral("10"));
    parser.addOptions({configOption, autostartOption, screenshotOption, afterOption});
    parser.addPositionalArgument(QStringLiteral("experiment"), QStringLiteral("A .kdlab file to open."),
                                 QStringLiteral("[FILE.kdlab]"));
    parser.process(app);

    kdui::MainWindow window;
    if (parser.isSet(configOption)) {
        try {
            window.setConfig(kd::configFromFile(parser.value(configOption).toStdString()));
        } catch (const std::exception& e) {
            std::fprintf(stderr, "kdlab: error: %s\n", e.what());
            return 1;
        }
    }
    if (!parser.positionalArguments().isEmpty()) {
        QString error;
        if (!window.openExperiment(parser.positionalArguments().front(), &error)) {
            std::fprintf(stderr, "kdlab: error: %s\n", qPrintable(error));
            return 1;
        }
    }
    window.show();
    if (parser.isSet(autostartOption))
        QTimer::singleShot(0, &window, [&window] { window.startRun(); });
    if (parser.isSet(screenshotOption)) {
        bool ok = false;
        const double after = parser.value(afterOption).toDouble(&ok);
        if (!ok || after < 0) {
            std::fprintf(stderr, "kdlab: error: --after: expected seconds >= 0, got '%s'\n",
                         qPrintable(parser.value(afterOption)));
            return 1;
        }
        const QString path = parser.value(screenshotOption);
        window.setAskToSave(false);
        QTimer::singleShot(int(after * 1000), &window, [&window, path] {
            if (!window.grab().save(path, "PNG"))
                std::fprintf(stderr, "kdlab: error: %s: cannot write the screenshot\n", qPrintable(path));
            window.close();
        });
    }
    return app.exec();
}
