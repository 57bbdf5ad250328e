// libFuzzer target: experiment settings (kd::configFromJson, kd::presetFromJson, kd::setConfigValue), each
// result checked with kd::validateConfig.
//
// Input: a JSON text (a config or preset file), or a CLI flag "--key=value" (the text after the first '=' is
// the value as the shell passes it; '-' in the key stands for '_', as in kdlab-cli's flags).
// Invariant: configToJson writes what configFromJson reads back to the same settings.
#include "fuzzutil.h"

#include "kdcore/config.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace {

const char* const kSource = "fuzz.json";

// configToJson -> configFromJson -> configToJson gives the same text (every key is written, so equal text
// means equal settings).
void checkRoundTrip(const kd::ExperimentConfig& config) {
    std::string text;
    fuzz::mustSucceed("configToJson", [&] { text = kd::configToJson(config); });
    kd::ExperimentConfig back;
    fuzz::mustSucceed("configFromJson(configToJson())", [&] { back = kd::configFromJson(text, kSource); });
    std::string again;
    fuzz::mustSucceed("configToJson(again)", [&] { again = kd::configToJson(back); });
    fuzz::check(again == text, "config round trip changed the settings:\n" + text + "\n->\n" + again);
}

void checkConfig(const kd::ExperimentConfig& config) {
    // ensembleMemberSpecs only on a valid config, as kdlab calls it: before validateConfig's range check,
    // ensemble_size 555551024 makes that many copies of the teacher's spec (17 GB).
    if (fuzz::accepts("validateConfig", [&] { kd::validateConfig(config); }) && config.method == "ensemble") {
        std::vector<std::string> members;
        fuzz::mustSucceed("ensembleMemberSpecs", [&] { members = kd::ensembleMemberSpecs(config); });
        fuzz::check(!members.empty() && members.size() <= 16,
                    "validateConfig accepted an ensemble of " + std::to_string(members.size()));
    }
    checkRoundTrip(config);
}

void fuzzFlag(const std::string& text) {
    const std::size_t eq = text.find('=');
    std::string key = text.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
    for (char& c : key)
        if (c == '-')
            c = '_';
    const std::string value = eq == std::string::npos ? std::string() : text.substr(eq + 1);
    kd::ExperimentConfig config;
    if (fuzz::accepts("setConfigValue", [&] { kd::setConfigValue(config, key, value, "--" + key); }))
        checkConfig(config);
}

void fuzzJson(const std::string& text) {
    kd::ExperimentConfig config;
    if (fuzz::accepts("configFromJson", [&] { config = kd::configFromJson(text, kSource); }))
        checkConfig(config);

    kd::Preset preset;
    if (!fuzz::accepts("presetFromJson", [&] { preset = kd::presetFromJson(text, kSource); }))
        return;
    fuzz::check(!preset.runs.empty(), "presetFromJson: a preset without runs");
    fuzz::check(kd::configToJson(preset.config) == kd::configToJson(preset.runs.front()),
                "presetFromJson: config is not the first run");
    for (const kd::ExperimentConfig& run : preset.runs)
        checkConfig(run);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    if (text.rfind("--", 0) == 0)
        fuzzFlag(text);
    else
        fuzzJson(text);
    return 0;
}
