#include "kdcore/analysis.h"

#include <algorithm>
#include <cmath>

namespace kd {

const std::vector<float>& TestOutputs::logits(Role role) const {
    switch (role) {
    case Role::Teacher:
        return teacher;
    case Role::Baseline:
        return baseline;
    case Role::Student:
        return student;
    }
    return teacher;
}

std::vector<float>& TestOutputs::logits(Role role) {
    return const_cast<std::vector<float>&>(static_cast<const TestOutputs&>(*this).logits(role));
}

std::vector<double> softmaxAtTemperature(const float* logits, int classes, double temperature, int biasClass,
                                         double bias) {
    std::vector<double> p(std::size_t(std::max(classes, 0)));
    if (classes <= 0 || !(temperature > 0))
        return p;
    double top = -INFINITY;
    for (int c = 0; c < classes; ++c) {
        p[c] = (double(logits[c]) + (c == biasClass ? bias : 0.0)) / temperature;
        top = std::max(top, p[c]);
    }
    double sum = 0;
    for (double& v : p) {
        v = std::exp(v - top); // shifted by the maximum: no overflow at small T
        sum += v;
    }
    for (double& v : p)
        v /= sum;
    return p;
}

double entropyBits(const std::vector<double>& probabilities) {
    double h = 0;
    for (double v : probabilities)
        if (v > 0)
            h -= v * std::log2(v);
    return h;
}

int predictedClass(const float* logits, int classes, int biasClass, double bias) {
    int best = 0;
    double bestValue = -INFINITY;
    for (int c = 0; c < classes; ++c) {
        const double v = double(logits[c]) + (c == biasClass ? bias : 0.0);
        if (v > bestValue) { // first maximum wins, as torch's argmax
            bestValue = v;
            best = c;
        }
    }
    return best;
}

ClassMatrix darkKnowledgeMatrix(const std::vector<float>& logits, const std::vector<std::int64_t>& labels,
                                int classes, double temperature) {
    ClassMatrix m;
    m.classes = classes;
    m.values.assign(std::size_t(classes) * classes, 0.0);
    if (classes <= 0 || logits.size() < labels.size() * std::size_t(classes))
        return m;
    std::vector<std::int64_t> counts(classes, 0);
    for (std::size_t i = 0; i < labels.size(); ++i) {
        const std::int64_t y = labels[i];
        if (y < 0 || y >= classes)
            continue;
        const std::vector<double> p = softmaxAtTemperature(&logits[i * classes], classes, temperature);
        for (int c = 0; c < classes; ++c)
            m.values[std::size_t(y) * classes + c] += p[c];
        ++counts[y];
    }
    for (int r = 0; r < classes; ++r)
        if (counts[r] > 0)
            for (int c = 0; c < classes; ++c)
                m.values[std::size_t(r) * classes + c] /= double(counts[r]);
    return m;
}

std::int64_t ConfusionMatrix::total() const {
    std::int64_t n = 0;
    for (std::int64_t v : counts)
        n += v;
    return n;
}

std::int64_t ConfusionMatrix::classTotal(int trueClass) const {
    std::int64_t n = 0;
    for (int c = 0; c < classes; ++c)
        n += count(trueClass, c);
    return n;
}

std::int64_t ConfusionMatrix::correct() const {
    std::int64_t n = 0;
    for (int c = 0; c < classes; ++c)
        n += count(c, c);
    return n;
}

double ConfusionMatrix::accuracy() const {
    const std::int64_t n = total();
    return n > 0 ? double(correct()) / double(n) : 0.0;
}

double ConfusionMatrix::classAccuracy(int trueClass) const {
    const std::int64_t n = classTotal(trueClass);
    return n > 0 ? double(count(trueClass, trueClass)) / double(n) : 0.0;
}

ConfusionMatrix confusionMatrix(const std::vector<float>& logits, const std::vector<std::int64_t>& labels,
                                int classes, int biasClass, double bias) {
    ConfusionMatrix m;
    m.classes = classes;
    m.counts.assign(std::size_t(std::max(classes, 0)) * std::max(classes, 0), 0);
    if (classes <= 0 || logits.size() < labels.size() * std::size_t(classes))
        return m;
    for (std::size_t i = 0; i < labels.size(); ++i) {
        const std::int64_t y = labels[i];
        if (y < 0 || y >= classes)
            continue;
        ++m.counts[std::size_t(y) * classes + predictedClass(&logits[i * classes], classes, biasClass, bias)];
    }
    return m;
}

} // namespace kd
