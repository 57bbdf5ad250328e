#pragma once
// What the teaching views show, computed from a run's cached test-set logits in plain C++: softened
// probabilities at any temperature, the teacher's "dark knowledge" matrix, confusion matrices. Nothing here
// re-runs a model, so moving T (or a class bias) redraws in microseconds.

#include "kdcore/dataset.h"
#include "kdcore/trainer.h"

#include <cstdint>
#include <memory>
#include <vector>

namespace kd {

// One run's models evaluated once on the test set, after training.
struct TestOutputs {
    std::shared_ptr<const Dataset> dataset; // the test images, labels and class names they belong to
    int classes = 0;
    // Logits [test images x classes], row-major; empty for a model the run did not reach (stopped).
    std::vector<float> teacher, baseline, student;

    const std::vector<float>& logits(Role role) const;
    std::vector<float>& logits(Role role);
    bool has(Role role) const { return !logits(role).empty(); }
    std::size_t size() const { return dataset ? dataset->test.size() : 0; }
};

// softmax((logits + bias on `biasClass`) / T) of one row of `classes` logits, computed in double.
std::vector<double> softmaxAtTemperature(const float* logits, int classes, double temperature,
                                         int biasClass = -1, double bias = 0.0);

// Shannon entropy in bits (0 for a one-hot distribution, log2(classes) for a uniform one).
double entropyBits(const std::vector<double>& probabilities);

// argmax of one row, with `bias` added to class `biasClass` first (-1: none).
int predictedClass(const float* logits, int classes, int biasClass = -1, double bias = 0.0);

// A classes x classes table, row-major; row = true class.
struct ClassMatrix {
    int classes = 0;
    std::vector<double> values;
    double at(int row, int column) const { return values[std::size_t(row) * classes + column]; }
};

// The teacher's dark knowledge: for each true class, the mean of softmax(logits / T) over that class's
// images. Each row sums to 1 (a class with no images gives a row of zeros).
ClassMatrix darkKnowledgeMatrix(const std::vector<float>& logits, const std::vector<std::int64_t>& labels,
                                int classes, double temperature);

struct ConfusionMatrix {
    int classes = 0;
    std::vector<std::int64_t> counts; // row = true class, column = predicted class

    std::int64_t count(int trueClass, int predicted) const {
        return counts[std::size_t(trueClass) * classes + predicted];
    }
    std::int64_t total() const;
    std::int64_t classTotal(int trueClass) const;
    std::int64_t correct() const;
    double accuracy() const;                   // correct / total (0 when empty)
    double classAccuracy(int trueClass) const; // 0 when the class has no images
    std::int64_t errors() const { return total() - correct(); }
};

// Predictions (argmax, with an optional bias on one class's logit) against the labels.
ConfusionMatrix confusionMatrix(const std::vector<float>& logits, const std::vector<std::int64_t>& labels,
                                int classes, int biasClass = -1, double bias = 0.0);

} // namespace kd
