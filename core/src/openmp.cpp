#include "kdcore/openmp.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#if defined(__linux__)
#include <unistd.h>
#endif

namespace kd {

int otherRunnableTasks(const std::string& loadavg) {
    std::istringstream in(loadavg);
    double one = 0, five = 0, fifteen = 0;
    std::string tasks;
    if (!(in >> one >> five >> fifteen >> tasks))
        return -1;
    const std::size_t slash = tasks.find('/');
    if (slash == std::string::npos || slash == 0)
        return -1;
    try {
        std::size_t used = 0;
        const int running = std::stoi(tasks.substr(0, slash), &used);
        if (used != slash || running < 1)
            return -1;
        return running - 1;
    } catch (const std::exception&) {
        return -1;
    }
}

void chooseOpenMpWaitPolicy(char** argv) {
#if defined(__linux__)
    if (std::getenv("OMP_WAIT_POLICY") || std::getenv("GOMP_SPINCOUNT"))
        return; // chosen by the user, or by us before the exec
    int others = -1;
    for (int look = 0; look < 3; ++look) {
        if (look > 0)
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        std::ifstream file("/proc/loadavg");
        std::string text;
        std::getline(file, text);
        const int now = otherRunnableTasks(text);
        if (now < 0)
            return;
        others = others < 0 ? now : std::min(others, now);
    }
    if (others < 1)
        return;
    if (setenv("OMP_WAIT_POLICY", "PASSIVE", /*overwrite=*/0) != 0)
        return;
    std::fflush(nullptr);
    execv("/proc/self/exe", argv); // returns only on failure: then carry on with the default policy
#else
    (void)argv;
#endif
}

} // namespace kd
