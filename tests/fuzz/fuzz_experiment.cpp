// libFuzzer target: .kdlab experiment files (kd::experimentFromJson).
// Invariant (experimentfile.h: "saving refuses what reading would", so a saved file always loads): whatever
// reads writes back with experimentToJson, and that text reads back and writes again to the same text.
#include "fuzzutil.h"

#include "kdcore/experimentfile.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    std::vector<kd::RunRecord> runs;
    if (!fuzz::accepts("experimentFromJson", [&] { runs = kd::experimentFromJson(text, "fuzz.kdlab"); }))
        return 0;

    std::string written;
    fuzz::mustSucceed("experimentToJson", [&] { written = kd::experimentToJson(runs); });
    std::vector<kd::RunRecord> back;
    fuzz::mustSucceed("experimentFromJson(experimentToJson())",
                      [&] { back = kd::experimentFromJson(written, "written.kdlab"); });
    fuzz::check(back.size() == runs.size(), "round trip changed the number of runs");
    std::string again;
    fuzz::mustSucceed("experimentToJson(again)", [&] { again = kd::experimentToJson(back); });
    fuzz::check(again == written, "round trip changed the file:\n" + written + "\n->\n" + again);
    return 0;
}
