// kdlab: the desktop app. The work is in ui/ (kdui) and core/ (kdcore); this parses the command line.
#include "focusstyle.h"
#include "mainwindow.h"
#include "openmpwait.h"

#include "kdcore/config.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QFileInfo>
#include <QTabWidget>
#include <QTimer>

#include <clocale>
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
    // QApplication set the user's locale for the C library: in de_DE strtod reads "0.3" as 0, and the spec
    // and settings parsers (std C++, as in kdlab-cli) would refuse the default teacher. Numbers in files and
    // specs are always written with a '.', whatever the language; Qt's own formatting uses QLocale.
    std::setlocale(LC_NUMERIC, "C");
    kdui::installFocusFrameStyle(); // keyboard focus visible from the back of a classroom
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
    QCommandLineOption presetOption(
        QStringLiteral("preset"),
        QStringLiteral(
            "Open with a guided preset: a built-in name (default, hinton-2015, temperature-matters, "
            "tiny-student, few-labels, omitted-class) or a preset JSON file."),
        QStringLiteral("NAME"));
    QCommandLineOption temperatureOption(QStringLiteral("temperature"),
                                         QStringLiteral("Set the temperature slider to T."),
                                         QStringLiteral("T"));
    QCommandLineOption tabOption(
        QStringLiteral("tab"),
        QStringLiteral("Show this view: training, lens, dark-knowledge, confusion or efficiency."),
        QStringLiteral("NAME"));
    QCommandLineOption imageOption(QStringLiteral("image"),
                                   QStringLiteral("Show test image N (0-based) in the temperature lens."),
                                   QStringLiteral("N"));
    QCommandLineOption screenshotOption(
        QStringLiteral("screenshot"),
        QStringLiteral("Save a PNG of the window after --after seconds, then quit."),
        QStringLiteral("FILE.png"));
    QCommandLineOption afterOption(
        QStringLiteral("after"),
        QStringLiteral(
            "Seconds before the screenshot, or 'done': once the run (or the preset's runs) finished."),
        QStringLiteral("SECONDS|done"), QStringLiteral("10"));
    parser.addOptions({configOption, presetOption, autostartOption, temperatureOption, tabOption, imageOption,
                       screenshotOption, afterOption});
    parser.addPositionalArgument(QStringLiteral("experiment"), QStringLiteral("A .kdlab file to open."),
                                 QStringLiteral("[FILE.kdlab]"));
    parser.process(app);

    kdui::MainWindow window;
    if (parser.isSet(configOption)) {
        const QString path = parser.value(configOption);
        try {
            // A preset file given as --config opens as the preset it is: its explanation and its runs.
            const kd::Preset preset = kd::presetFromFile(path.toStdString());
            if (!preset.name.empty() || !preset.explanation.empty() || preset.runs.size() > 1) {
                QString error;
                if (!window.loadPreset(path, &error)) {
                    std::fprintf(stderr, "kdlab: error: %s\n", qPrintable(error));
                    return 1;
                }
            } else {
                window.setConfig(preset.config);
            }
        } catch (const std::exception& e) {
            std::fprintf(stderr, "kdlab: error: %s\n", e.what());
            return 1;
        }
    }
    if (parser.isSet(presetOption)) {
        QString name = parser.value(presetOption);
        if (name == QLatin1String("default"))
            name = QStringLiteral("fashion-mnist-default");
        const QString builtIn = QStringLiteral(":/presets/%1.json").arg(name);
        const QString path = kdui::MainWindow::builtInPresets().contains(builtIn) ? builtIn : name;
        if (!QFileInfo::exists(path)) {
            std::fprintf(stderr, "kdlab: error: --preset: '%s' is neither a built-in preset nor a file\n",
                         qPrintable(name));
            return 1;
        }
        QString error;
        if (!window.loadPreset(path, &error)) {
            std::fprintf(stderr, "kdlab: error: %s\n", qPrintable(error));
            return 1;
        }
    }
    if (parser.isSet(temperatureOption)) {
        bool ok = false;
        const double t = parser.value(temperatureOption).toDouble(&ok);
        if (!ok || !(t > 0)) {
            std::fprintf(stderr, "kdlab: error: --temperature: expected a number > 0, got '%s'\n",
                         qPrintable(parser.value(temperatureOption)));
            return 1;
        }
        window.setTemperature(t);
    }
    if (parser.isSet(tabOption)) {
        const QStringList tabs{QStringLiteral("training"), QStringLiteral("lens"),
                               QStringLiteral("dark-knowledge"), QStringLiteral("confusion"),
                               QStringLiteral("efficiency")};
        const int index = tabs.indexOf(parser.value(tabOption));
        if (index < 0) {
            std::fprintf(stderr, "kdlab: error: --tab: '%s' is not one of %s\n",
                         qPrintable(parser.value(tabOption)), qPrintable(tabs.join(QStringLiteral(", "))));
            return 1;
        }
        window.tabs()->setCurrentIndex(index);
    }
    int image = -1;
    if (parser.isSet(imageOption)) {
        bool ok = false;
        image = parser.value(imageOption).toInt(&ok);
        if (!ok || image < 0) {
            std::fprintf(stderr, "kdlab: error: --image: expected a whole number >= 0, got '%s'\n",
                         qPrintable(parser.value(imageOption)));
            return 1;
        }
        QObject::connect(&window, &kdui::MainWindow::teachingViewsUpdated, &window,
                         [&window, image] { window.showLensImage(image); });
    }
    if (!parser.positionalArguments().isEmpty()) {
        QString error;
        if (!window.openExperiment(parser.positionalArguments().front(), &error)) {
            std::fprintf(stderr, "kdlab: error: %s\n", qPrintable(error));
            return 1;
        }
    }
    window.show();
    // Scripted screenshots neither offer nor touch the autosave (it may hold a crashed session's runs).
    if (parser.isSet(screenshotOption))
        window.setAutosaveEnabled(false);
    const bool autostart = parser.isSet(autostartOption);
    QTimer::singleShot(0, &window, [&window, autostart] {
        window.offerAutosaveRestore(); // after a crash: restore the runs first (then Start adds one)
        if (autostart)
            window.startRun();
    });
    if (parser.isSet(screenshotOption)) {
        bool ok = false;
        const bool whenDone = parser.value(afterOption) == QLatin1String("done");
        const double after = whenDone ? 0 : parser.value(afterOption).toDouble(&ok);
        if (!whenDone && (!ok || after < 0)) {
            std::fprintf(stderr, "kdlab: error: --after: expected seconds >= 0 or 'done', got '%s'\n",
                         qPrintable(parser.value(afterOption)));
            return 1;
        }
        const QString path = parser.value(screenshotOption);
        window.setAskToSave(false);
        auto shoot = [&window, path] {
            if (!window.grab().save(path, "PNG"))
                std::fprintf(stderr, "kdlab: error: %s: cannot write the screenshot\n", qPrintable(path));
            window.close();
        };
        if (whenDone)
            QObject::connect(&window, &kdui::MainWindow::runFinished, &window, [&window, shoot] {
                if (!window.isRunning() && window.pendingSeriesRuns() == 0)
                    QTimer::singleShot(1500, &window, shoot); // let the views draw
            });
        else
            QTimer::singleShot(int(after * 1000), &window, shoot);
    }
    return app.exec();
}
