#pragma once

namespace kdui {

// The GUI thread shares the cores with training. LibTorch's OpenMP threads busy-wait between parallel regions
// by default, and on 2 cores that starves the GUI thread: measured longest gap between 10 ms timer ticks
// 51-54 ms while training, against 29-32 ms with OMP_WAIT_POLICY=PASSIVE (training ~10% slower). libgomp
// reads the variable once when it loads, so when it is unset this sets it and re-executes the program (Linux;
// elsewhere, or if exec fails, it returns and the program goes on as it is). Call first thing in main().
void preferPassiveOpenMpWait(char** argv);

} // namespace kdui
