#include "kdcore/config.h"
#include "kdcore/error.h"
#include "kdcore/modelspec.h"
#include "kdcore/temperature.h"

#include "jsondepth.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <limits>
#include <sstream>
#include <sys/stat.h>

namespace kd {
namespace {

using nlohmann::json;

enum class Type { String, Integer, Number };

struct Field {
    const char* key;
    Type type;
    std::function<void(ExperimentConfig&, const json&)> set;
    std::function<json(const ExperimentConfig&)> get;
    // Integers: the member type's range, checked before the conversion could wrap.
    long double minValue = 0;
    long double maxValue = 0;
};

template <typename T> Field stringField(const char* key, T ExperimentConfig::*member) {
    return {key, Type::String,
            [member](ExperimentConfig& c, const json& v) { c.*member = v.get<std::string>(); },
            [member](const ExperimentConfig& c) { return json(c.*member); }};
}
template <typename T> Field integerField(const char* key, T ExperimentConfig::*member) {
    return {key,
            Type::Integer,
            [member](ExperimentConfig& c, const json& v) { c.*member = v.get<T>(); },
            [member](const ExperimentConfig& c) { return json(c.*member); },
            static_cast<long double>(std::numeric_limits<T>::min()),
            static_cast<long double>(std::numeric_limits<T>::max())};
}
Field numberField(const char* key, double ExperimentConfig::*member) {
    return {key, Type::Number, [member](ExperimentConfig& c, const json& v) { c.*member = v.get<double>(); },
            [member](const ExperimentConfig& c) { return json(c.*member); }};
}

const std::vector<Field>& fields() {
    static const std::vector<Field> table = {
        stringField("dataset", &ExperimentConfig::dataset),
        integerField("train_limit", &ExperimentConfig::trainLimit),
        integerField("test_limit", &ExperimentConfig::testLimit),
        integerField("transfer_limit", &ExperimentConfig::transferLimit),
        integerField("omit_class", &ExperimentConfig::omitClass),
        stringField("teacher", &ExperimentConfig::teacher),
        stringField("student", &ExperimentConfig::student),
        stringField("teacher_checkpoint", &ExperimentConfig::teacherCheckpoint),
        numberField("temperature", &ExperimentConfig::temperature),
        numberField("alpha", &ExperimentConfig::alpha),
        stringField("method", &ExperimentConfig::method),
        integerField("ensemble_size", &ExperimentConfig::ensembleSize),
        stringField("ensemble_teachers", &ExperimentConfig::ensembleTeachers),
        integerField("generations", &ExperimentConfig::generations),
        stringField("assistant", &ExperimentConfig::assistant),
        stringField("augment", &ExperimentConfig::augment),
        integerField("shift_pixels", &ExperimentConfig::shiftPixels),
        stringField("teacher_augment", &ExperimentConfig::teacherAugment),
        integerField("epochs", &ExperimentConfig::epochs),
        integerField("teacher_epochs", &ExperimentConfig::teacherEpochs),
        integerField("batch_size", &ExperimentConfig::batchSize),
        numberField("lr", &ExperimentConfig::lr),
        stringField("lr_schedule", &ExperimentConfig::lrSchedule),
        stringField("optimizer", &ExperimentConfig::optimizer),
        numberField("momentum", &ExperimentConfig::momentum),
        numberField("weight_decay", &ExperimentConfig::weightDecay),
        integerField("seed", &ExperimentConfig::seed),
        integerField("teacher_seed", &ExperimentConfig::teacherSeed),
        stringField("device", &ExperimentConfig::device),
        integerField("threads", &ExperimentConfig::threads),
        stringField("out", &ExperimentConfig::out),
    };
    return table;
}

const Field* findField(const std::string& key) {
    for (const Field& f : fields())
        if (key == f.key)
            return &f;
    return nullptr;
}

const char* typeName(Type t) {
    switch (t) {
    case Type::String:
        return "a string";
    case Type::Integer:
        return "a whole number";
    case Type::Number:
        return "a number";
    }
    return "";
}

// A wrong value as quoted in a message. dump() recurses once per level: a file nested 100000 deep (200 KB)
// overflowed the stack here, so a deep value is named rather than quoted.
std::string quote(const json& v) {
    return nestedDeeperThan(v, 16) ? std::string("a deeply nested ") + v.type_name() : v.dump();
}

void setField(ExperimentConfig& config, const Field& field, const json& value, const std::string& source) {
    const std::string where = source + ": " + field.key;
    bool ok = false;
    switch (field.type) {
    case Type::String:
        ok = value.is_string();
        break;
    case Type::Integer:
        ok = value.is_number_integer();
        if (ok) {
            const long double v = value.is_number_unsigned()
                                      ? static_cast<long double>(value.get<std::uint64_t>())
                                      : static_cast<long double>(value.get<std::int64_t>());
            if (v < field.minValue || v > field.maxValue)
                throw Error(where + ": " + value.dump() + " is out of range");
        }
        break;
    case Type::Number:
        ok = value.is_number() && std::isfinite(value.get<double>());
        break;
    }
    if (!ok)
        throw Error(where + ": expected " + typeName(field.type) + ", got " + quote(value));
    field.set(config, value);
}

// A preset file is a settings object that may also hold these (see Preset in config.h).
bool isPresetKey(const std::string& key) {
    return key == "name" || key == "explanation" || key == "runs";
}

void checkPresetKey(const std::string& key, const json& value, const std::string& source) {
    if (key == "runs") {
        if (!value.is_array() || value.empty())
            throw Error(source + ": runs: expected a non-empty list of settings objects, got " +
                        quote(value));
        for (std::size_t i = 0; i < value.size(); ++i) {
            const std::string where = source + ": runs[" + std::to_string(i) + "]";
            if (!value[i].is_object())
                throw Error(where + ": expected an object of settings, got " + quote(value[i]));
            for (const auto& [k, v] : value[i].items()) {
                const Field* field = findField(k);
                if (!field)
                    throw Error(where + ": unknown setting '" + k + "'");
                ExperimentConfig scratch;
                setField(scratch, *field, v, where);
            }
        }
    } else if (!value.is_string()) {
        throw Error(source + ": " + key + ": expected a string, got " + quote(value));
    }
}

json parseObject(const std::string& jsonText, const std::string& source) {
    json doc;
    try {
        doc = json::parse(jsonText);
    } catch (const json::exception& e) { // parse_error, or out_of_range for a number like 1e400
        std::string what = e.what();
        auto pos = what.find("parse error");
        if (pos == std::string::npos) { // drop the "[json.exception.out_of_range.406] " tag
            pos = what.find("] ");
            pos = pos == std::string::npos ? 0 : pos + 2;
        }
        throw Error(source + ": not valid JSON (" + what.substr(pos) + ")");
    }
    if (!doc.is_object())
        throw Error(source + ": expected a JSON object of settings, got " + std::string(doc.type_name()));
    return doc;
}

std::string readTextFile(const std::string& path) {
    // A folder opens and reads as empty, which would be reported as "not valid JSON".
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode))
        throw Error(path + ": is a folder, expected a JSON file");
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw Error(path + ": cannot open (" + std::strerror(errno) + ")");
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

} // namespace

const std::vector<std::string>& configKeys() {
    static const std::vector<std::string> keys = [] {
        std::vector<std::string> k;
        for (const Field& f : fields())
            k.push_back(f.key);
        return k;
    }();
    return keys;
}

void setConfigValue(ExperimentConfig& config, const std::string& key, const std::string& text,
                    const std::string& source) {
    const Field* field = findField(key);
    if (!field)
        throw Error(source + ": unknown setting '" + key + "'");
    json value;
    if (field->type == Type::String) {
        value = text;
    } else {
        const std::string where = source + ": " + key;
        if (text.empty())
            throw Error(where + ": expected " + typeName(field->type) + ", got nothing");
        char* end = nullptr;
        errno = 0;
        if (field->type == Type::Integer) {
            if (text.find_first_of(".eE") != std::string::npos)
                throw Error(where + ": expected a whole number, got '" + text + "'");
            // Unsigned parsing for non-negative text, so a 64-bit seed from summary.json passes back as a
            // flag.
            const bool negative = text.find('-') != std::string::npos;
            if (negative) {
                const long long v = std::strtoll(text.c_str(), &end, 10);
                value = v;
            } else {
                const unsigned long long v = std::strtoull(text.c_str(), &end, 10);
                value = v;
            }
            if (end != text.c_str() + text.size() || errno == ERANGE)
                throw Error(where + ": expected a whole number, got '" + text + "'");
        } else {
            const double v = std::strtod(text.c_str(), &end);
            if (end != text.c_str() + text.size() || errno == ERANGE || !std::isfinite(v))
                throw Error(where + ": expected a number, got '" + text + "'");
            value = v;
        }
    }
    setField(config, *field, value, source);
}

namespace {

// A parsed settings object (preset keys checked and skipped) on top of `base`.
ExperimentConfig configFromObject(const json& doc, const std::string& source, const ExperimentConfig& base) {
    ExperimentConfig config = base;
    for (const auto& [key, value] : doc.items()) {
        if (isPresetKey(key)) {
            checkPresetKey(key, value, source);
            continue;
        }
        const Field* field = findField(key);
        if (!field)
            throw Error(source + ": unknown setting '" + key + "'");
        setField(config, *field, value, source);
    }
    return config;
}

} // namespace

ExperimentConfig configFromJson(const std::string& jsonText, const std::string& source,
                                const ExperimentConfig& base) {
    return configFromObject(parseObject(jsonText, source), source, base);
}

ExperimentConfig configFromFile(const std::string& path, const ExperimentConfig& base) {
    return configFromJson(readTextFile(path), path, base);
}

Preset presetFromJson(const std::string& jsonText, const std::string& source, const ExperimentConfig& base) {
    Preset preset;
    const json doc = parseObject(jsonText, source);
    preset.config = configFromObject(doc, source, base); // checks every key, the preset ones included
    preset.name = doc.value("name", std::string());
    preset.explanation = doc.value("explanation", std::string());
    if (doc.contains("runs")) {
        const json& runs = doc["runs"];
        for (std::size_t i = 0; i < runs.size(); ++i) {
            ExperimentConfig run = preset.config;
            for (const auto& [key, value] : runs[i].items())
                setField(run, *findField(key), value, source + ": runs[" + std::to_string(i) + "]");
            preset.runs.push_back(run);
        }
        preset.config = preset.runs.front();
    } else {
        preset.runs.push_back(preset.config);
    }
    return preset;
}

Preset presetFromFile(const std::string& path, const ExperimentConfig& base) {
    return presetFromJson(readTextFile(path), path, base);
}

std::string configToJson(const ExperimentConfig& config, int indent) {
    json doc = json::object();
    for (const Field& f : fields())
        doc[f.key] = f.get(config);
    // A CLI flag may hold bytes that are not UTF-8 (a path): U+FFFD for those, as .kdlab files do, rather
    // than nlohmann's type_error after the run (summary.json) or a failed autosave.
    return doc.dump(indent, ' ', false, json::error_handler_t::replace);
}

const std::vector<std::string>& methodNames() {
    static const std::vector<std::string> names = {"kd", "ensemble", "born-again", "assistant"};
    return names;
}

const std::vector<std::string>& augmentNames() {
    static const std::vector<std::string> names = {"none", "shift", "shift-flip"};
    return names;
}

const std::vector<std::string>& lrScheduleNames() {
    static const std::vector<std::string> names = {"constant", "cosine"};
    return names;
}

double scheduledLearningRate(const std::string& schedule, double lr, std::int64_t step, std::int64_t steps) {
    if (schedule != "cosine" || steps <= 0)
        return lr;
    const double progress = std::clamp(double(step) / double(steps), 0.0, 1.0);
    return lr * 0.5 * (1.0 + std::cos(3.14159265358979323846 * progress));
}

const std::string& teacherAugmentation(const ExperimentConfig& c) {
    return c.teacherAugment == "same" ? c.augment : c.teacherAugment;
}

std::vector<std::string> ensembleMemberSpecs(const ExperimentConfig& c) {
    std::vector<std::string> specs;
    if (c.ensembleTeachers.find_first_not_of(" \t") == std::string::npos) {
        specs.assign(std::size_t(std::max(c.ensembleSize, 0)), c.teacher);
        return specs;
    }
    std::stringstream in(c.ensembleTeachers);
    std::string part;
    while (std::getline(in, part, ';')) {
        const auto first = part.find_first_not_of(" \t");
        const auto last = part.find_last_not_of(" \t");
        specs.push_back(first == std::string::npos ? std::string() : part.substr(first, last - first + 1));
    }
    if (!c.ensembleTeachers.empty() && c.ensembleTeachers.back() == ';')
        specs.push_back(std::string());
    return specs;
}

void validateConfig(const ExperimentConfig& c) {
    auto bad = [](const std::string& key, const std::string& problem) {
        throw Error("config: " + key + ": " + problem);
    };
    if (c.dataset.empty())
        bad("dataset", "empty (expected fashion-mnist, mnist, mnist-digits or idx:PATH)");
    if (c.trainLimit < 0)
        bad("train_limit", "must be >= 0 (0 means the whole set)");
    if (c.testLimit < 0)
        bad("test_limit", "must be >= 0 (0 means the whole set)");
    if (c.transferLimit < 0)
        bad("transfer_limit", "must be >= 0 (0 means the whole training set)");
    if (c.omitClass < -1)
        bad("omit_class", "must be a class number, or -1 for none");
    auto checkSpec = [](const char* key, const std::string& spec) {
        try {
            parseModelSpec(spec);
        } catch (const Error& e) {
            throw Error(std::string("config: ") + key + ": " + e.what());
        }
    };
    if (c.teacherCheckpoint.empty())
        checkSpec("teacher", c.teacher);
    checkSpec("student", c.student);
    if (!(c.temperature >= kMinTemperature && c.temperature <= kMaxTemperature))
        bad("temperature", "must be in 0.1..100, got " + json(c.temperature).dump());
    if (!(c.alpha >= 0 && c.alpha <= 1))
        bad("alpha", "must be in [0, 1], got " + json(c.alpha).dump());
    const auto& methods = methodNames();
    if (std::find(methods.begin(), methods.end(), c.method) == methods.end())
        bad("method", "'" + c.method + "' is not kd, ensemble, born-again or assistant");
    if (c.ensembleSize < 1 || c.ensembleSize > 16)
        bad("ensemble_size", "must be in 1..16, got " + std::to_string(c.ensembleSize));
    if (c.method == "ensemble") {
        if (!c.teacherCheckpoint.empty())
            bad("teacher_checkpoint",
                "cannot be used with method ensemble (the ensemble trains its members)");
        const std::vector<std::string> members = ensembleMemberSpecs(c);
        if (members.size() > 16)
            bad("ensemble_teachers", "lists " + std::to_string(members.size()) + " members (at most 16)");
        for (std::size_t k = 0; k < members.size(); ++k) {
            if (members[k].empty())
                bad("ensemble_teachers",
                    "member " + std::to_string(k + 1) + " is empty (specs are separated by ';')");
            checkSpec("ensemble_teachers", members[k]);
        }
    }
    if (c.generations < 1 || c.generations > 10)
        bad("generations", "must be in 1..10, got " + std::to_string(c.generations));
    if (c.method == "assistant")
        checkSpec("assistant", c.assistant);
    const auto& augments = augmentNames();
    if (std::find(augments.begin(), augments.end(), c.augment) == augments.end())
        bad("augment", "'" + c.augment + "' is not none, shift or shift-flip");
    if (c.teacherAugment != "same" &&
        std::find(augments.begin(), augments.end(), c.teacherAugment) == augments.end())
        bad("teacher_augment", "'" + c.teacherAugment + "' is not same, none, shift or shift-flip");
    if (c.shiftPixels < 0 || c.shiftPixels > 8)
        bad("shift_pixels", "must be in 0..8, got " + std::to_string(c.shiftPixels));
    if (c.epochs < 0)
        bad("epochs", "must be >= 0");
    if (c.teacherEpochs < 0)
        bad("teacher_epochs", "must be >= 0");
    if (c.batchSize < 1)
        bad("batch_size", "must be >= 1");
    if (!(c.lr > 0 && c.lr < 100))
        bad("lr", "must be > 0 (and < 100)");
    if (std::find(lrScheduleNames().begin(), lrScheduleNames().end(), c.lrSchedule) ==
        lrScheduleNames().end())
        bad("lr_schedule", "'" + c.lrSchedule + "' is not constant or cosine");
    if (c.optimizer != "adam" && c.optimizer != "sgd")
        bad("optimizer", "'" + c.optimizer + "' is not adam or sgd");
    if (!(c.momentum >= 0 && c.momentum < 1))
        bad("momentum", "must be in [0, 1)");
    if (!(c.weightDecay >= 0))
        bad("weight_decay", "must be >= 0");
    if (c.device != "auto" && c.device != "cpu" && c.device != "cuda")
        bad("device", "'" + c.device + "' is not auto, cpu or cuda");
    if (c.threads < 0 || c.threads > 1024)
        bad("threads", "must be in 0..1024 (0: auto)");
}

} // namespace kd
