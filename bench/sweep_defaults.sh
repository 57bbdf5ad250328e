#!/usr/bin/env bash
# The sweep behind kdlab-cli's defaults: a CNN teacher per seed, then students over T x alpha, on Fashion-MNIST.
# Usage: bench/sweep_defaults.sh [BUILD_DIR] [OUT_DIR]; prints one CSV row per run and a mean per cell.
set -euo pipefail
build=${1:-build}
out=${2:-/tmp/kdlab-sweep}
cli="$build/app/kdlab-cli"
seeds=${SEEDS:-"1 2 3"}
students=${STUDENTS:-"mlp:128 mlp:32"}
cells=${CELLS:-"2,0.5 4,0.5 2,0.9 4,0.9 1,0.5"}
teacher=${TEACHER:-"cnn:32,64+dropout=0.3"}
teacher_epochs=${TEACHER_EPOCHS:-4}
epochs=${EPOCHS:-5}
extra=${EXTRA:-}
mkdir -p "$out"
echo "seed,student,temperature,alpha,teacher_acc,baseline_acc,student_acc,gap_recovered" | tee "$out/sweep.csv"
for seed in $seeds; do
    tdir="$out/teacher-$seed"
    if [ ! -f "$tdir/teacher.pt" ]; then
        "$cli" run --teacher "$teacher" --teacher-epochs "$teacher_epochs" --epochs 0 --seed "$seed" $extra \
            --out "$tdir" >/dev/null 2>"$tdir.log" || { cat "$tdir.log"; exit 1; }
    fi
    for student in $students; do
        for cell in $cells; do
            t=${cell%,*}; a=${cell#*,}
            d="$out/s$seed-${student//[:,]/_}-t$t-a$a"
            "$cli" run --teacher-checkpoint "$tdir/teacher.pt" --student "$student" --temperature "$t" --alpha "$a" \
                --epochs "$epochs" --seed "$seed" $extra --out "$d" >/dev/null 2>"$d.log" || { cat "$d.log"; exit 1; }
            /usr/bin/python3 - "$d/summary.json" "$seed" "$student" "$t" "$a" <<'PY' | tee -a "$out/sweep.csv"
import json, sys
s = json.load(open(sys.argv[1]))
g = s["gap_recovered"]
print(",".join(sys.argv[2:6] + ["%.4f" % s[k]["test_accuracy"] for k in ("teacher", "baseline", "student")]
               + ["" if g is None else "%.3f" % g]))
PY
        done
    done
done
/usr/bin/python3 - "$out/sweep.csv" <<'PY'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1])))
cells = {}
for r in rows:
    cells.setdefault((r["student"], r["temperature"], r["alpha"]), []).append(r)
print("\nstudent,T,alpha,n,teacher,baseline,student,gain_points(mean+-sd),gap_recovered(mean)")
for (st, t, a), rs in sorted(cells.items()):
    f = lambda k: [float(r[k]) for r in rs]
    gain = [100 * (s - b) for s, b in zip(f("student_acc"), f("baseline_acc"))]
    gaps = [float(r["gap_recovered"]) for r in rs if r["gap_recovered"]]
    sd = statistics.stdev(gain) if len(gain) > 1 else 0.0
    print(f"{st},{t},{a},{len(rs)},{statistics.mean(f('teacher_acc')):.4f},{statistics.mean(f('baseline_acc')):.4f},"
          f"{statistics.mean(f('student_acc')):.4f},{statistics.mean(gain):+.2f}+-{sd:.2f},"
          f"{statistics.mean(gaps) if gaps else float('nan'):.2f}")
PY
