#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz (clang, ASan + UBSan) and runs each for a while, one after the
# other (one core). Prints one line per target; exits 1 if any target found a crash, a sanitizer report, an
# unexpected exception, a timeout or an out-of-memory (the line names the input libFuzzer saved), 2 on a
# usage or build error.
#
#   tests/fuzz/run.sh [SECONDS]      seconds per target (default 60); total about 4 x SECONDS + the build
#
# Needs (Debian 12): clang libclang-rt-14-dev cmake nlohmann-json3-dev zlib1g-dev.
# Environment: KDLAB_FUZZ_BUILD_DIR (default build-fuzz in the repository), CXX (default clang++), KDLAB_JOBS
# (build jobs, default nproc), KDLAB_FUZZ_TARGETS (default "idx spec config experiment"), KDLAB_FUZZ_MAX_LEN
# (largest input generated, default 8192).
# Each target first replays its seeds whole (regression inputs included: some are 100 KB), then fuzzes. The
# seed corpus tests/fuzz/corpus/<target> is only read: new inputs go to BUILD/corpus/<target> (kept, so later
# runs go on from there), findings to BUILD/artifacts/<target>, logs to BUILD/logs.
# Reproduce a finding: BUILD/fuzz_<target> BUILD/artifacts/<target>/crash-...
set -uo pipefail

seconds=${1:-60}
if ! [[ $seconds =~ ^[1-9][0-9]*$ ]]; then
    echo "usage: $0 [SECONDS per target, default 60]" >&2
    exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${KDLAB_FUZZ_BUILD_DIR:-$root/build-fuzz}
mkdir -p "$build" && build=$(cd "$build" && pwd)
cxx=${CXX:-clang++}
jobs=${KDLAB_JOBS:-$(nproc)}
targets=${KDLAB_FUZZ_TARGETS:-idx spec config experiment}
max_len=${KDLAB_FUZZ_MAX_LEN:-8192} # without it libFuzzer takes the largest seed's size: 12x fewer runs

start=$(date +%s)
if ! cmake -S "$here" -B "$build" -DCMAKE_CXX_COMPILER="$cxx" >"$build/configure.log" 2>&1; then
    cat "$build/configure.log" >&2
    echo "fuzz: configuring $build failed (see above)" >&2
    exit 2
fi
if ! cmake --build "$build" -j "$jobs" >"$build/build.log" 2>&1; then
    tail -n 40 "$build/build.log" >&2
    echo "fuzz: build failed (full log: $build/build.log)" >&2
    exit 2
fi
echo "fuzz: built in $(($(date +%s) - start)) s ($build); $seconds s per target"

mkdir -p "$build/logs"
# fuzz_idx writes each input as files: in memory where possible (rewriting files on ext4 is 10x slower).
tmp=$(mktemp -d /dev/shm/kdlab-fuzz.XXXXXX 2>/dev/null || mktemp -d "$build/tmp.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
export KDLAB_FUZZ_TMPDIR="$tmp"
findings='==kdlab-fuzz== FINDING|ERROR: (AddressSanitizer|libFuzzer|LeakSanitizer)|runtime error:'
failed=0
for t in $targets; do
    seeds="$here/corpus/$t"
    work="$build/corpus/$t"
    artifacts="$build/artifacts/$t"
    log="$build/logs/$t.log"
    mkdir -p "$work" "$artifacts"
    [ -d "$seeds" ] && cp -n "$seeds"/* "$work"/ 2>/dev/null
    if ! "$build/fuzz_$t" "$seeds"/* >"$build/logs/$t.replay.log" 2>&1; then
        failed=1
        seed=$(sed -n 's/^Running: //p' "$build/logs/$t.replay.log" | tail -n 1)
        what=$(grep -m1 -E "$findings" "$build/logs/$t.replay.log" | cut -c1-160)
        printf 'fuzz_%-10s FAILED replaying the seeds: %s; input: %s; log: %s\n' "$t" "${what:-see log}" \
            "${seed:-?}" "$build/logs/$t.replay.log"
        continue
    fi
    dict=()
    [ -f "$here/$t.dict" ] && dict=(-dict="$here/$t.dict")
    # The outer timeout only guards against libFuzzer itself hanging (-timeout catches a slow input).
    t0=$(date +%s)
    timeout --kill-after=10 $((seconds + 120)) "$build/fuzz_$t" "${dict[@]}" -max_total_time="$seconds" \
        -timeout=10 -rss_limit_mb=2048 -max_len="$max_len" -print_final_stats=1 -artifact_prefix="$artifacts/" \
        "$work" "$seeds" >"$log" 2>&1
    rc=$?
    took=$(($(date +%s) - t0))
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    last=$(grep -E '^#[0-9]+' "$log" | tail -n 1)
    cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
    ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
    corp=$(sed -n 's/.* corp: \([0-9]*\).*/\1/p' <<<"$last")
    if [ $rc -eq 0 ]; then
        result="ok"
    else
        failed=1
        artifact=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)
        what=$(grep -m1 -E "$findings" "$log" | cut -c1-160)
        result="FAILED (exit $rc): ${what:-see log}; input: ${artifact:-none saved}; log: $log"
    fi
    printf 'fuzz_%-10s %s s, %s runs, cov %s, ft %s, corpus %s: %s\n' "$t" "$took" "${runs:-?}" "${cov:-?}" \
        "${ft:-?}" "${corp:-?}" "$result"
done
echo "fuzz: total $(($(date +%s) - start)) s"
exit $failed
