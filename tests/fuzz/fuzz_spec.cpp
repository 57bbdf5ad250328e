// libFuzzer target: model spec strings (kd::parseModelSpec), then what is computed from a parsed spec.
// Invariants checked (documented in modelspec.h): toString() is canonical and parses back to an equal spec;
// modelStats either throws kd::Error (too many pooling stages) or gives consistent, non-negative numbers.
#include "fuzzutil.h"

#include "kdcore/modelspec.h"

#include <cstddef>
#include <cstdint>
#include <string>

namespace {

void checkStats(const kd::ModelSpec& spec, const kd::InputShape& shape) {
    kd::ModelStats stats;
    if (!fuzz::accepts("modelStats", [&] { stats = kd::modelStats(spec, shape); }))
        return;
    const std::string where = "modelStats(" + spec.toString() + ", " + std::to_string(shape.height) + "x" +
                              std::to_string(shape.width) + "): ";
    fuzz::check(stats.params > 0, where + "params " + std::to_string(stats.params) + " <= 0");
    fuzz::check(stats.flopsPerSample > 0, where + "flops " + std::to_string(stats.flopsPerSample) + " <= 0");
    fuzz::check(stats.bytes == stats.params * 4, where + "bytes != 4 * params");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    kd::ModelSpec spec;
    if (!fuzz::accepts("parseModelSpec", [&] { spec = kd::parseModelSpec(text); }))
        return 0;

    const std::string canonical = spec.toString();
    kd::ModelSpec again;
    fuzz::mustSucceed("parseModelSpec(toString())", [&] { again = kd::parseModelSpec(canonical); });
    fuzz::check(again == spec, "'" + text + "' -> '" + canonical + "' parses back to a different spec ('" +
                                   again.toString() + "')");
    fuzz::check(again.toString() == canonical,
                "toString not canonical: '" + canonical + "' -> '" + again.toString() + "'");

    // The usual 28x28 greyscale input, the smallest image (pooling refused) and the largest image the IDX
    // reader accepts with the most classes a byte label gives (looks for int64 overflow in the counts).
    checkStats(spec, kd::InputShape{});
    checkStats(spec, kd::InputShape{1, 1, 1, 2});
    checkStats(spec, kd::InputShape{1, 4096, 4096, 256});
    return 0;
}
