#pragma once
// Running a trained or exported model on image files: `kdlab-cli predict`.

#include "kdcore/modelspec.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace kd {

// A model file to predict with: a TorchScript export (.pt, run by LibTorch), an ONNX export (.onnx, run by
// OpenCV DNN), or a kdlab checkpoint (.pt). Class names and the input size come from the model card inside
// the file (exports and checkpoints written by kdlab); failing that, from the ONNX input shape, and the
// classes are called "class 0", "class 1", ...
class Predictor {
public:
    // Throws kd::Error naming the file when it is missing, unreadable, or not one of the three kinds.
    explicit Predictor(const std::string& modelPath);
    ~Predictor();
    Predictor(const Predictor&) = delete;
    Predictor& operator=(const Predictor&) = delete;

    const InputShape& input() const;
    const std::vector<std::string>& classNames() const;
    // "TorchScript (LibTorch 1.13.1)", "ONNX (OpenCV DNN 4.6.0)" or "kdlab checkpoint (LibTorch 1.13.1)".
    const std::string& runtime() const;

    // `images`: `count` images of input() shape, back to back, pixel values in [0, 1]. Returns count x
    // classes logits, row by row. Throws kd::Error when the model fails or returns another shape.
    std::vector<float> logits(const std::vector<float>& images, std::size_t count) const;

private:
    struct Impl;
    std::unique_ptr<Impl> d;
};

// The k most probable classes of one image's logits (softmax), most probable first: (class, probability).
std::vector<std::pair<int, double>> topClasses(const float* logits, int classes, int k);

// An image file made ready for a model trained on MNIST-style images (a light object on a black background):
// read (PNG, JPEG, BMP, TIFF, ... any size, grey, colour or with alpha, which is laid on white), made grey,
// inverted when the background (its border) is light, padded to a square with the background, and resized
// (area averaging) to the model's height x width. Pixels in [0, 1]. An image saved from the dataset itself
// comes back unchanged.
struct PreparedImage {
    std::vector<float> pixels; // channels x height x width of the model's input
    int originalWidth = 0, originalHeight = 0;
    bool inverted = false; // the background was light
};
// Throws kd::Error "<path>: ..." when the file cannot be read or is not an image.
PreparedImage prepareImage(const std::string& path, const InputShape& input);

} // namespace kd
