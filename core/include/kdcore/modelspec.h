#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace kd {

// A model architecture, parsed from a spec string:
//   mlp:H1,H2,...   ReLU MLP ("mlp:" alone is softmax regression)
//   lenet5          LeCun's LeNet-5 (ReLU, max-pool)
//   cnn:C1,C2,...   3x3 conv + ReLU + 2x2 max-pool blocks, then a linear head
// each optionally followed by "+dropout=P" (dropout on hidden activations), or a preset name.
struct ModelSpec {
    enum class Kind { Mlp, LeNet5, Cnn };
    Kind kind = Kind::Mlp;
    std::vector<int> layers; // hidden widths (mlp) or channels (cnn)
    double dropout = 0.0;

    std::string toString() const; // canonical form, parses back to the same spec
    bool operator==(const ModelSpec& o) const {
        return kind == o.kind && layers == o.layers && dropout == o.dropout;
    }
};

struct ModelStats {
    std::int64_t params = 0;
    std::int64_t flopsPerSample = 0; // forward pass, 2 FLOPs per multiply-add
    std::int64_t bytes = 0;          // float32 parameters
    // Values each layer outputs for one image (before and after pooling), summed: what a forward keeps
    // for the backward pass, per image.
    std::int64_t activationsPerSample = 0;
};

struct InputShape {
    int channels = 1;
    int height = 28;
    int width = 28;
    int classes = 10;
};

// Throws kd::Error saying what was expected.
ModelSpec parseModelSpec(const std::string& text);

// Presets: name -> spec string (hinton-teacher, hinton-student, small, tiny, ...).
const std::vector<std::pair<std::string, std::string>>& modelPresets();

// Computed from the architecture; equals the parameter count of the built LibTorch module.
ModelStats modelStats(const ModelSpec& spec, const InputShape& input = {});

} // namespace kd
