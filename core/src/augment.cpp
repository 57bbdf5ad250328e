#include "kdcore/augment.h"
#include "kdcore/error.h"

#include <algorithm>
#include <cstring>
#include <random>

namespace kd {

std::vector<ViewTransform> drawViewTransforms(const std::string& augment, int shiftPixels, std::uint64_t seed,
                                              std::size_t count) {
    const bool shift = augment == "shift" || augment == "shift-flip";
    const bool flip = augment == "shift-flip";
    if (!shift && augment != "none")
        throw Error("augment '" + augment + "': expected none, shift or shift-flip");
    std::vector<ViewTransform> out(count);
    if (!shift)
        return out;
    // Plain modulo arithmetic on mt19937_64's output: std::uniform_int_distribution differs between standard
    // libraries, and the same seed must give the same views everywhere.
    std::mt19937_64 rng(seed);
    const std::uint64_t span = std::uint64_t(2 * std::max(shiftPixels, 0) + 1);
    for (ViewTransform& t : out) {
        t.dx = int(rng() % span) - std::max(shiftPixels, 0);
        t.dy = int(rng() % span) - std::max(shiftPixels, 0);
        t.flip = flip && (rng() >> 63) != 0;
    }
    return out;
}

void applyViewTransforms(float* images, int rows, int cols, const std::vector<ViewTransform>& transforms) {
    const std::size_t pixels = std::size_t(rows) * std::size_t(cols);
    std::vector<float> source(pixels);
    for (std::size_t i = 0; i < transforms.size(); ++i) {
        const ViewTransform& t = transforms[i];
        if (t.dx == 0 && t.dy == 0 && !t.flip)
            continue;
        float* image = images + i * pixels;
        std::memcpy(source.data(), image, pixels * sizeof(float));
        for (int y = 0; y < rows; ++y) {
            float* out = image + std::size_t(y) * cols;
            const int sy = y - t.dy;
            if (sy < 0 || sy >= rows) {
                std::fill(out, out + cols, 0.f);
                continue;
            }
            const float* in = source.data() + std::size_t(sy) * cols;
            for (int x = 0; x < cols; ++x) {
                const int sx = x - t.dx; // the column of the flipped image this pixel comes from
                out[x] = sx < 0 || sx >= cols ? 0.f : in[t.flip ? cols - 1 - sx : sx];
            }
        }
    }
}

std::uint64_t augmentSeed(std::uint64_t modelSeed, int epoch, int batch) {
    // splitmix64 of the combination, as the trainer's other streams.
    std::uint64_t z = modelSeed * 0x9E3779B97F4A7C15ull + std::uint64_t(epoch) * 0xBF58476D1CE4E5B9ull +
                      std::uint64_t(batch) * 0x94D049BB133111EBull + 0x2545F4914F6CDD1Dull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

} // namespace kd
