#pragma once
// Data augmentation of training images (ExperimentConfig::augment), in plain C++ so tests can check it
// without LibTorch. The trainer draws one ViewTransform per image of a batch from that batch's seed and
// applies them to the batch's images.

#include <cstdint>
#include <string>
#include <vector>

namespace kd {

// How one image is changed: mirrored left-right first (flip), then moved dx pixels right and dy pixels down
// (negative: left, up); pixels moved in from outside the image are 0 (black, the datasets' background).
struct ViewTransform {
    int dx = 0, dy = 0;
    bool flip = false;
    bool operator==(const ViewTransform& o) const { return dx == o.dx && dy == o.dy && flip == o.flip; }
};

// `count` transforms for `augment` ("none", "shift", "shift-flip"; see ExperimentConfig) with shifts drawn
// uniformly from -shiftPixels..shiftPixels and flips with probability 1/2. The same seed gives the same
// transforms on every machine (mt19937_64). "none" gives identities. Throws kd::Error on an unknown name.
std::vector<ViewTransform> drawViewTransforms(const std::string& augment, int shiftPixels, std::uint64_t seed,
                                              std::size_t count);

// Applies transforms[i] to image i of `images` (transforms.size() images of rows x cols floats, back to back,
// one channel), in place.
void applyViewTransforms(float* images, int rows, int cols, const std::vector<ViewTransform>& transforms);

// The seed of batch `batch` (0-based) of epoch `epoch` (1-based) for a model trained with `modelSeed`:
// models with the same seed (the baseline and the distilled student) see the same views.
std::uint64_t augmentSeed(std::uint64_t modelSeed, int epoch, int batch);

} // namespace kd
