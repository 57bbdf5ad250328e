#!/usr/bin/env bash
# Sanitizer runs of the test suites, each in its own build folder (run ./setup.sh build first: it installs the
# packages and fetches the data the suites read):
#
#   tests/sanitize.sh asan   ASan + UBSan: core/, kdlab-cli and the core suites (KDLAB_GUI=OFF) in build-asan,
#                            then short kdlab-cli runs (run, sweep, export, predict); about 12 min on 2 cores
#   tests/sanitize.sh tsan   TSan: the suites that train on worker threads (GUI on, offscreen) in build-tsan;
#                            about 10 min on 2 cores
#
# Exits 0 when every suite passes without a sanitizer report (tsan: test failures alone are listed, see
# below), 1 otherwise, 2 on a usage error.
# Environment: KDLAB_ASAN_BUILD_DIR, KDLAB_TSAN_BUILD_DIR (build folders), KDLAB_JOBS (build jobs, default
# nproc), KDLAB_DATA_DIR (as for setup.sh). Only kdlab's code is instrumented: Debian's LibTorch, Qt, libgomp
# and OpenBLAS are not, hence the suppression files in tests/sanitizers/ (each entry says why).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
mode=${1:-}
supp=$root/tests/sanitizers
jobs=${KDLAB_JOBS:-$(nproc)}
data_dir=${KDLAB_DATA_DIR:-$root/data}
export QT_QPA_PLATFORM=offscreen
# Busy-waiting OpenMP threads only slow everything down on 2 cores (see ui/openmpwait.h).
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}

# -O1 -g1: fast enough to run, and line tables are all a report needs (file:line in every frame); -O2 and full
# -g compile the LibTorch translation units more slowly (-O0 is slower still with UBSan).
configure() { # DIR SANITIZER GUI
    mkdir -p "$1"
    cmake -S . -B "$1" -DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1" \
        -DKDLAB_SANITIZE="$2" -DKDLAB_GUI="$3" -DKDLAB_TESTS=ON -DKDLAB_BENCH=OFF -DKDLAB_DATA_DIR="$data_dir" \
        >"$1/configure.log" 2>&1 || {
        cat "$1/configure.log" >&2
        echo "sanitize: configuring $1 failed" >&2
        exit 1
    }
}

start=$(date +%s)
case "$mode" in
asan)
    dir=${KDLAB_ASAN_BUILD_DIR:-build-asan}
    configure "$dir" address OFF
    # With KDLAB_GUI=OFF every suite is a core one: build them all, and kdlab-cli.
    cmake --build "$dir" -j "$jobs"
    built=$(date +%s)
    echo "sanitize: asan build $((built - start)) s"
    # Leaks are checked (LeakSanitizer): none are reported today, LibTorch and OpenMP included.
    export ASAN_OPTIONS="halt_on_error=1:detect_leaks=1:check_initialization_order=1:strict_init_order=1"
    export LSAN_OPTIONS="suppressions=$supp/lsan.supp:print_suppressions=0"
    export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:suppressions=$supp/ubsan.supp"
    status=0
    # Left out: tst_cli. It starts kdlab-cli about 80 times, and each start of an ASan build (LibTorch's static
    # initialisers through ASan's allocator, then the leak check at exit) takes 2.5 s of CPU, 3-6 s on a busy
    # 2-core machine; with its end-to-end Fashion-MNIST run that was 10-18 minutes (its CTest timeout is 10).
    # The CLI's own code runs below instead, once per command.
    ctest --test-dir "$dir" --output-on-failure -j 1 -E '^tst_cli$' || status=1
    # kdlab-cli under ASan: a short run with both exports, a small sweep, an export command and predictions.
    cli=$dir/app/kdlab-cli
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    printf 'P2\n28 28\n255\n%s\n' "$(seq 0 783 | awk '{printf "%d ", ($1 * 7) % 256}')" >"$tmp/image.pgm"
    for cmd in "run --dataset fashion-mnist --train-limit 600 --test-limit 200 --teacher mlp:32 --student mlp:16
                    --teacher-epochs 1 --epochs 1 --out $tmp/run --export torchscript,onnx" \
        "sweep --dataset fashion-mnist --train-limit 600 --test-limit 200 --teacher mlp:32 --student mlp:16
                    --teacher-epochs 1 --epochs 1 --temperatures 1,4 --alphas 0.5 --out $tmp/sweep" \
        "export --checkpoint $tmp/run/student.pt --out $tmp/student.onnx" \
        "predict --model $tmp/student.onnx --top 3 $tmp/image.pgm" \
        "predict --model $tmp/run/export/student.pt $tmp/image.pgm"; do
        # shellcheck disable=SC2086 # the words of $cmd are the arguments
        if ! "$cli" $cmd >"$tmp/cli.log" 2>&1; then
            cat "$tmp/cli.log" >&2
            echo "sanitize: kdlab-cli $cmd: failed" >&2
            status=1
        fi
    done
    echo "sanitize: asan run $(($(date +%s) - built)) s"
    exit $status
    ;;
tsan)
    dir=${KDLAB_TSAN_BUILD_DIR:-build-tsan}
    configure "$dir" thread ON
    # The suites with threads: Trainer's stop/pause/T/alpha from another thread (tst_trainer), and the workers
    # on their QThreads with stop, close and deletion while training (tst_mainwindow, tst_sweepwindow).
    # OMP_NUM_THREADS is left alone: libgomp's threads run uninstrumented LibTorch code only, and
    # ignore_noninstrumented_modules (below) keeps their libc calls out, so they add no reports.
    suites=(tst_trainer tst_sweepwindow tst_mainwindow)
    cmake --build "$dir" -j "$jobs" --target "${suites[@]}"
    built=$(date +%s)
    echo "sanitize: tsan build $((built - start)) s"
    # ignore_noninstrumented_modules: libc calls (memcpy, free, pthread_*) made by the uninstrumented libraries
    # are not checked, as their own loads and stores are not: their synchronisation (Qt's futex QMutex,
    # libgomp's barriers) is invisible to TSan, so their checks would all be false positives.
    # history_size=7: the longest access history, so that more reports show both stacks.
    # die_after_fork=0: QProcess (Qt 6.4) starts its child sharing the parent's memory; TSan then takes the
    # parent for a forked child and would kill it at its next new thread. exitcode=0: the exit status stays the
    # test's; reports are counted from the log (below).
    export TSAN_OPTIONS="halt_on_error=0:exitcode=0:ignore_noninstrumented_modules=1:history_size=7:die_after_fork=0:second_deadlock_stack=1:suppressions=$supp/tsan.supp"
    # Reports on a queued signal's arguments are not counted: Qt copies them (QMetaType::create / construct) on
    # the emitting thread and hands them to the receiving thread through QCoreApplication::postEvent, under
    # Qt's QMutex, a futex in the uninstrumented QtCore that TSan cannot see. So every cross-thread queued
    # signal (worker -> GUI: batches, epochs, results; GUI -> worker: the config) looks unsynchronised. They are
    # told by where the raced memory was allocated, which TSan always knows (the earlier access's stack is often
    # lost: the worker runs far ahead of the GUI thread), and that matches only the copies the slots read, not
    # the objects they were copied from. A tsan.supp entry cannot: it matches stacks only.
    tsan_reports() { # LOG: prints "COUNTED QUEUED-ARGUMENT" report numbers
        awk '/^WARNING: ThreadSanitizer:/ { n++; race = /data race/; queued = 0; loc = 0; next }
             /^  Location is heap block/ { loc = 1; next }
             loc && /QMetaType::(create|construct)\(/ { queued = 1 }
             loc && /^$/ { loc = 0 }
             /^SUMMARY: ThreadSanitizer:/ { if (race && queued) q++; else c++ }
             /^(ERROR: ThreadSanitizer|ThreadSanitizer:DEADLYSIGNAL)/ { c++ }
             END { printf "%d %d\n", c, q }' "$1"
    }
    # The run fails on a counted TSan report, a crash or a timeout. A failed QVERIFY alone is listed but does
    # not fail it: several tests assert latencies (a redraw under 50 ms, a stop within 1 s) that TSan's
    # slowdown of the instrumented GUI thread breaks, and the normal suite checks them.
    reported=() broken=() slow=()
    queued=0
    check() { # NAME LOG COMMAND...
        local name=$1 log=$2 rc=0 counted ignored
        shift 2
        echo "sanitize: $name"
        timeout 900 "$@" >"$log" 2>&1 || rc=$?
        read -r counted ignored < <(tsan_reports "$log")
        queued=$((queued + ignored))
        if [ "$counted" -gt 0 ]; then
            reported+=("$name ($counted)")
        elif [ $rc -eq 124 ] || [ $rc -ge 128 ]; then
            broken+=("$name (exit $rc)")
        elif [ $rc -ne 0 ]; then
            slow+=("$name")
        fi
    }
    for suite in "${suites[@]}"; do
        bin=$dir/tests/$suite
        if [ "$suite" != tst_mainwindow ]; then
            check "$suite" "$dir/$suite.tsan.log" "$bin"
            continue
        fi
        # tst_mainwindow one function per process: after a test that starts a QProcess (the kdlab app), TSan
        # no longer checks the main thread (see die_after_fork above), so that must not carry over to the next
        # test. Left out: guiThreadStaysResponsiveWhileTraining, a latency measurement that cannot finish under
        # TSan (2 minutes, then a timeout); the same flood of progress signals runs in the other tests.
        for f in $("$bin" -functions 2>/dev/null | sed -n 's/()$//p'); do
            case "$f" in initTestCase | cleanupTestCase | guiThreadStaysResponsiveWhileTraining) continue ;; esac
            check "$suite $f" "$dir/$suite-$f.tsan.log" "$bin" "$f"
        done
    done
    echo "sanitize: tsan run $(($(date +%s) - built)) s; logs in $dir/*.tsan.log"
    echo "sanitize: $queued reports on queued signal arguments not counted (Qt's hand-over, invisible to TSan)"
    for t in "${slow[@]}"; do echo "sanitize: test failure, no TSan report (timing under TSan?): $t"; done
    for t in "${broken[@]}"; do echo "sanitize: FAILED, crash or timeout: $t" >&2; done
    for t in "${reported[@]}"; do echo "sanitize: FAILED, TSan report: $t" >&2; done
    [ ${#reported[@]} -eq 0 ] && [ ${#broken[@]} -eq 0 ] || exit 1
    ;;
*)
    echo "usage: $0 asan|tsan" >&2
    exit 2
    ;;
esac
