#pragma once
// Statistics that say whether a difference between two models is real: both models are scored on the same
// test images, so the comparison is paired. Plain C++ (no LibTorch), used by the trainer, the CLI, the files
// and the app alike.

#include <cstdint>
#include <string>
#include <vector>

namespace kd {

// Models A and B on the same n test images. n == 0: no comparison (a model was not reached, or a file from
// before kdlab kept one).
struct PairedTest {
    std::int64_t n = 0;     // test images
    std::int64_t both = 0;  // right by both
    std::int64_t onlyA = 0; // right by A only (discordant)
    std::int64_t onlyB = 0; // right by B only (discordant)
    // accuracy(A) - accuracy(B) = (onlyA - onlyB) / n, and its 95% interval (Newcombe's hybrid score
    // interval for paired proportions, "method 10", 1998).
    double difference = 0;
    double low = 0, high = 0;
    // McNemar's exact test: two-sided binomial test of onlyA against onlyB with p = 1/2.
    double pValue = 1;

    bool valid() const { return n > 0; }
    // A real difference at the 5% level (either direction).
    bool significant() const { return n > 0 && pValue < 0.05; }
};

// From each image's right/wrong for A and B (same length, same images). Throws kd::Error when the lengths
// differ.
PairedTest pairedTest(const std::vector<bool>& correctA, const std::vector<bool>& correctB);
// The same from the four counts (bothWrong = n - both - onlyA - onlyB). Throws kd::Error on impossible
// counts (negative, or more than n together).
PairedTest pairedTestFromCounts(std::int64_t n, std::int64_t both, std::int64_t onlyA, std::int64_t onlyB);

// Two-sided exact McNemar p-value: min(1, 2 * P(X <= min(b, c))) for X ~ Binomial(b + c, 1/2); 1 when
// b + c == 0.
double mcnemarExactP(std::int64_t b, std::int64_t c);

// One line for people, e.g. "+1.23 points (95% CI +0.61 to +1.85), McNemar p = 0.0004 on 10,000 test images"
// (difference in percentage points; p < 0.0001 written as "p < 0.0001"). "not compared (no test images)" for
// an invalid test.
std::string describePairedTest(const PairedTest& test);

// The short form for narrow places (a chart's title): "+1.23 points (95% CI +0.61 to +1.85, p = 0.0004)";
// "not compared" for an invalid test.
std::string describeDifference(const PairedTest& test);

// "p = 0.52", "p = 0.0012", "p = 0.0004", "p < 0.0001": two significant digits (one below 0.001), more where
// two would move p across 0.05 ("p = 0.0496").
std::string formatPValue(double p);
// A difference of accuracies (0..1) in percentage points, signed, two decimals: "+1.23", "-0.40", never
// "-0.00".
std::string formatPoints(double difference);

} // namespace kd
