#include "kdcore/stats.h"
#include "kdcore/error.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>

namespace kd {
namespace {

// The normal quantile for a two-sided 95% interval.
constexpr double kZ = 1.959963984540054;

struct Interval {
    double low, high;
};

// Wilson's score interval for `successes` out of `n` (n > 0).
Interval wilson(std::int64_t successes, std::int64_t n) {
    const double x = double(successes), m = double(n), z2 = kZ * kZ;
    const double centre = (x + z2 / 2) / (m + z2);
    const double half = kZ * std::sqrt(x * (m - x) / m + z2 / 4) / (m + z2);
    return {std::max(0.0, centre - half), std::min(1.0, centre + half)};
}

// "10,000".
std::string thousands(std::int64_t n) {
    std::string digits = std::to_string(n);
    for (int i = int(digits.size()) - 3; i > 0; i -= 3)
        digits.insert(std::size_t(i), ",");
    return digits;
}

} // namespace

PairedTest pairedTest(const std::vector<bool>& correctA, const std::vector<bool>& correctB) {
    if (correctA.size() != correctB.size())
        throw Error("paired test: the two models were scored on " + std::to_string(correctA.size()) +
                    " and " + std::to_string(correctB.size()) + " test images (must be the same images)");
    std::int64_t both = 0, onlyA = 0, onlyB = 0;
    for (std::size_t i = 0; i < correctA.size(); ++i) {
        both += correctA[i] && correctB[i];
        onlyA += correctA[i] && !correctB[i];
        onlyB += !correctA[i] && correctB[i];
    }
    return pairedTestFromCounts(std::int64_t(correctA.size()), both, onlyA, onlyB);
}

PairedTest pairedTestFromCounts(std::int64_t n, std::int64_t both, std::int64_t onlyA, std::int64_t onlyB) {
    if (n < 0 || both < 0 || onlyA < 0 || onlyB < 0)
        throw Error("paired test: negative count (n " + std::to_string(n) + ", both " + std::to_string(both) +
                    ", only A " + std::to_string(onlyA) + ", only B " + std::to_string(onlyB) + ")");
    // Written so that no sum can overflow.
    if (both > n || onlyA > n - both || onlyB > n - both - onlyA)
        throw Error("paired test: right by both " + std::to_string(both) + ", by A only " +
                    std::to_string(onlyA) + " and by B only " + std::to_string(onlyB) +
                    " add up to more than " + std::to_string(n) + " test images");
    PairedTest t;
    t.n = n;
    t.both = both;
    t.onlyA = onlyA;
    t.onlyB = onlyB;
    if (n == 0)
        return t;

    // Newcombe (1998), method 10: the Wilson intervals of the two accuracies, combined through the
    // correlation phi of the 2x2 table (a = both right, b = A only, c = B only, d = both wrong).
    const double a = double(both), b = double(onlyA), c = double(onlyB), d = double(n - both - onlyA - onlyB);
    const double m = double(n);
    const double p1 = (a + b) / m, p2 = (a + c) / m;
    const Interval w1 = wilson(both + onlyA, n), w2 = wilson(both + onlyB, n);
    const double denominator = (a + b) * (c + d) * (a + c) * (b + d);
    const double phi = denominator > 0 ? (a * d - b * c) / std::sqrt(denominator) : 0.0;
    t.difference = double(onlyA - onlyB) / m;
    const double dl1 = p1 - w1.low, du1 = w1.high - p1, dl2 = p2 - w2.low, du2 = w2.high - p2;
    // max(0, ...): with |phi| <= 1 these are >= 0 but for rounding.
    t.low = t.difference - std::sqrt(std::max(0.0, dl1 * dl1 - 2 * phi * dl1 * du2 + du2 * du2));
    t.high = t.difference + std::sqrt(std::max(0.0, du1 * du1 - 2 * phi * du1 * dl2 + dl2 * dl2));
    t.low = std::max(-1.0, t.low);
    t.high = std::min(1.0, t.high);
    t.pValue = mcnemarExactP(onlyA, onlyB);
    return t;
}

double mcnemarExactP(std::int64_t b, std::int64_t c) {
    if (b < 0 || c < 0)
        throw Error("McNemar test: negative count (" + std::to_string(b) + ", " + std::to_string(c) + ")");
    if (b > std::numeric_limits<std::int64_t>::max() - c)
        throw Error("McNemar test: counts too large (" + std::to_string(b) + ", " + std::to_string(c) + ")");
    const std::int64_t m = b + c, k = std::min(b, c);
    if (m == 0 || 2 * k >= m) // k >= m/2: P(X <= k) >= 1/2
        return 1;
    // Beyond any real test set (a hand-edited file, say) the sum below would take too long: the normal
    // approximation with continuity correction, exact to many digits at that size.
    if (m > 1000000000)
        return std::min(1.0, std::erfc((double(m) / 2 - double(k) - 0.5) / std::sqrt(double(m) / 2)));
    // P(X <= k) = sum over i <= k of C(m, i) / 2^m, in log space: for m in the thousands C(m, i) and 2^m
    // overflow a double. The terms rise up to i = k (k < m/2), so the sum is the largest term times
    // 1 + r_(k-1) + r_(k-2) + ..., each ratio to the largest by recurrence, until they stop counting.
    const auto logTerm = [m](std::int64_t i) {
        return std::lgamma(double(m) + 1) - std::lgamma(double(i) + 1) - std::lgamma(double(m - i) + 1) -
               double(m) * std::log(2.0);
    };
    double ratio = 1, sum = 1;
    for (std::int64_t i = k; i > 0; --i) {
        ratio *= double(i) / double(m - i + 1); // term(i - 1) / term(i)
        sum += ratio;
        if (ratio < 1e-18 * sum)
            break;
    }
    return std::min(1.0, 2 * std::exp(logTerm(k) + std::log(sum)));
}

std::string formatPValue(double p) {
    if (p < 0.0001)
        return "p < 0.0001";
    char buf[32];
    if (p < 0.001) {
        std::snprintf(buf, sizeof buf, "%.1g", p);
    } else {
        // Two digits, more where rounding would move p across 0.05 (0.0496 would read "0.05" yet count as
        // significant).
        for (int digits = 2; digits <= 6; ++digits) {
            std::snprintf(buf, sizeof buf, "%.*g", digits, p);
            if ((std::atof(buf) < 0.05) == (p < 0.05))
                break;
        }
    }
    return std::string("p = ") + buf;
}

std::string formatPoints(double difference) {
    double value = std::round(difference * 100 * 100) / 100;
    if (value == 0)
        value = 0; // no "-0.00"
    char buf[32];
    std::snprintf(buf, sizeof buf, "%+.2f", value);
    return buf;
}

std::string describeDifference(const PairedTest& test) {
    if (!test.valid())
        return "not compared";
    return formatPoints(test.difference) + " points (95% CI " + formatPoints(test.low) + " to " +
           formatPoints(test.high) + ", " + formatPValue(test.pValue) + ")";
}

std::string describePairedTest(const PairedTest& test) {
    if (!test.valid())
        return "not compared (no test images)";
    return formatPoints(test.difference) + " points (95% CI " + formatPoints(test.low) + " to " +
           formatPoints(test.high) + "), McNemar " + formatPValue(test.pValue) + " on " + thousands(test.n) +
           (test.n == 1 ? " test image" : " test images");
}

} // namespace kd
