#pragma once
// Crafted IDX files (the MNIST on-disk format) and a small synthetic 10-class image set for the tests.

#include <QByteArray>
#include <QFile>
#include <QString>

#include <algorithm>
#include <cstdint>
#include <random>
#include <vector>

namespace testdata {

constexpr std::uint32_t kImageMagic = 0x00000803;
constexpr std::uint32_t kLabelMagic = 0x00000801;

inline void appendBigEndian32(QByteArray& bytes, std::uint32_t v) {
    bytes.append(char((v >> 24) & 0xff));
    bytes.append(char((v >> 16) & 0xff));
    bytes.append(char((v >> 8) & 0xff));
    bytes.append(char(v & 0xff));
}

// An IDX image file: magic, count, rows, cols (big-endian), then the pixels as given. The header fields are
// written as passed, so a test can make them disagree with the data.
inline QByteArray idxImages(std::uint32_t count, std::uint32_t rows, std::uint32_t cols,
                            const std::vector<std::uint8_t>& pixels, std::uint32_t magic = kImageMagic) {
    QByteArray bytes;
    appendBigEndian32(bytes, magic);
    appendBigEndian32(bytes, count);
    appendBigEndian32(bytes, rows);
    appendBigEndian32(bytes, cols);
    bytes.append(reinterpret_cast<const char*>(pixels.data()), qsizetype(pixels.size()));
    return bytes;
}

// An IDX label file: magic, count, then the labels as given.
inline QByteArray idxLabels(std::uint32_t count, const std::vector<std::uint8_t>& labels,
                            std::uint32_t magic = kLabelMagic) {
    QByteArray bytes;
    appendBigEndian32(bytes, magic);
    appendBigEndian32(bytes, count);
    bytes.append(reinterpret_cast<const char*>(labels.data()), qsizetype(labels.size()));
    return bytes;
}
inline QByteArray idxLabels(const std::vector<std::uint8_t>& labels) {
    return idxLabels(std::uint32_t(labels.size()), labels);
}

inline bool writeFile(const QString& path, const QByteArray& bytes) {
    QFile f(path);
    if (!f.open(QIODevice::WriteOnly | QIODevice::Truncate))
        return false;
    return f.write(bytes) == bytes.size() && f.flush();
}

// Greyscale images, one byte per pixel, as they are written to IDX files.
struct Images {
    int rows = 28;
    int cols = 28;
    std::vector<std::uint8_t> pixels;
    std::vector<std::uint8_t> labels;

    std::uint32_t count() const { return std::uint32_t(labels.size()); }
    QByteArray imageFile() const {
        return idxImages(count(), std::uint32_t(rows), std::uint32_t(cols), pixels);
    }
    QByteArray labelFile() const { return idxLabels(labels); }
};

// 10 classes of 28x28 patterns, easy for a small MLP but not trivial: classes 0-4 are a bright horizontal
// bar, 5-9 a vertical bar, at a class-dependent position, jittered by up to one pixel, with noise. Labels
// cycle through the classes in a seeded random order. The generator is a plain mt19937 with modulo
// arithmetic, so the data are the same with every standard library.
inline Images syntheticImages(int count, std::uint32_t seed) {
    Images set;
    std::mt19937 rng(seed);
    set.pixels.resize(std::size_t(count) * 28 * 28);
    for (int i = 0; i < count; ++i) {
        const int label = int(rng() % 10);
        set.labels.push_back(std::uint8_t(label));
        const int jitter = int(rng() % 3) - 1;
        const int position = 4 + 4 * (label % 5) + jitter; // 3..21
        std::uint8_t* img = set.pixels.data() + std::size_t(i) * 28 * 28;
        for (int r = 0; r < 28; ++r) {
            for (int c = 0; c < 28; ++c) {
                const int along = label < 5 ? r : c;
                const bool onBar = along >= position && along < position + 3;
                int v = onBar ? 200 : 30;
                v += int(rng() % 81) - 40; // uniform noise in [-40, 40]
                img[r * 28 + c] = std::uint8_t(std::clamp(v, 0, 255));
            }
        }
    }
    return set;
}

// Writes the four MNIST-format files (raw) into `dir`.
inline bool writeIdxFolder(const QString& dir, const Images& train, const Images& test) {
    return writeFile(dir + "/train-images-idx3-ubyte", train.imageFile()) &&
           writeFile(dir + "/train-labels-idx1-ubyte", train.labelFile()) &&
           writeFile(dir + "/t10k-images-idx3-ubyte", test.imageFile()) &&
           writeFile(dir + "/t10k-labels-idx1-ubyte", test.labelFile());
}

} // namespace testdata
