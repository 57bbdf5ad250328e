#pragma once

#include "kdcore/config.h"
#include "kdcore/modelspec.h"

#include <cstdint>
#include <string>

namespace kd {

// What a run will hold in memory at its peak, estimated from its settings before anything trains: the
// images as floats, every model's weights (all are kept to the end), and for the model that needs most while
// it trains its gradients, the optimizer's state (Adam: two values per weight, SGD: one) and its activations
// at the batch size (kept for the backward pass), plus the cached logits. Rough by design (allocator slack,
// LibTorch's workspace are left out): it separates runs that fit from runs that need many times the memory.
struct MemoryEstimate {
    std::int64_t bytes = 0;     // the whole run
    std::int64_t dataBytes = 0; // the images and labels
    std::string largestModel;   // "teacher mlp:65536,65536": the model whose training needs most
    std::int64_t largestModelBytes = 0;
};
MemoryEstimate estimateRunMemory(const ExperimentConfig& config, const InputShape& input,
                                 std::int64_t trainImages, std::int64_t testImages);

// Memory this process may still take: the kernel's MemAvailable (or the cgroup's limit minus its use, if
// lower); 0 where unknown.
std::int64_t availableMemoryBytes();

// "1.5 GB", "820 MB".
std::string memoryText(std::int64_t bytes);

// Refuses (kd::Error) a run whose estimate exceeds the memory available, naming the model and both figures;
// returns a warning (else empty) for one that would take more than kMemoryWarnShare of it.
inline constexpr double kMemoryWarnShare = 0.7;
std::string checkRunMemory(const MemoryEstimate& estimate, std::int64_t available);

} // namespace kd
