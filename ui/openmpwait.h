#pragma once

namespace kdui {

// The GUI thread shares the cores with training. LibTorch's OpenMP threads busy-wait between parallel regions
// by default, and on 2 cores that starves the GUI thread: measured longest gap between 10 ms timer ticks
// 51-54 ms while training, against 29-32 ms with OMP_WAIT_POLICY=PASSIVE (training ~10% slower). libgomp
// reads the variable once when it loads, so when it is unset this sets it and re-executes the program (Linux;
// elsewhere, or if exec fails, it returns and the program goes on as it is). Call first thing in main().
void preferPassiveOpenMpWait(char** argv);

// Training (and the OpenMP threads it starts, which inherit this) yields to the GUI thread when both want a
// core: call on the worker thread before training; it runs that thread at nice 5 (Linux; once per thread).
// Measured with tst_mainwindow's latency test on 2 cores: the longest GUI stall was 30-58 ms at nice 0, as
// the GUI thread waited for a core behind the training threads. Training speed is unchanged while the GUI is
// idle.
void yieldCoresToGui();

} // namespace kdui
