#pragma once
// How kdlab-cli's OpenMP threads wait between parallel regions, chosen from the machine's state at start.
#include <string>

namespace kd {

// Runnable tasks other than the reader, from the text of /proc/loadavg ("0.52 0.58 0.59 3/345 12345": 3
// runnable, of which one is the reader, so 2); -1 when the text is not in that form.
int otherRunnableTasks(const std::string& loadavg);

// LibTorch's OpenMP threads busy-wait between parallel regions by default. On a quiet machine that is
// fastest; beside one busy process it collapses (measured with kdlab-cli on 2 cores: the MLP teacher at
// 1,942-2,207 samples/s busy-waiting against 3,568-4,522 with OMP_WAIT_POLICY=PASSIVE; beside two, 712-818
// against 3,018-4,214), while PASSIVE costs 8-11% (teacher) and 20-29% (distillation) when the machine is
// quiet. So: when something else is runnable at start (the least of three looks at /proc/loadavg, 20 ms
// apart), set OMP_WAIT_POLICY=PASSIVE and re-execute the program (libgomp reads it once, when it loads);
// otherwise, or when the user set OMP_WAIT_POLICY or GOMP_SPINCOUNT, leave things as they are. Linux only;
// call first in main().
void chooseOpenMpWaitPolicy(char** argv);

} // namespace kd
