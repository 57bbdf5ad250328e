#include "openmpwait.h"

#include <cstdlib>

#if defined(__linux__)
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace kdui {

void preferPassiveOpenMpWait(char** argv) {
#if defined(__linux__)
    if (std::getenv("OMP_WAIT_POLICY") != nullptr)
        return; // already chosen (by us before the exec, or by the user)
    if (setenv("OMP_WAIT_POLICY", "PASSIVE", /*overwrite=*/0) != 0)
        return;
    execv("/proc/self/exe", argv); // returns only on failure: then carry on with the default policy
#else
    (void)argv;
#endif
}

void yieldCoresToGui() {
#if defined(__linux__)
    static thread_local bool done = false;
    if (!done) {
        setpriority(PRIO_PROCESS, id_t(syscall(SYS_gettid)), 5);
        done = true;
    }
#endif
}

} // namespace kdui
