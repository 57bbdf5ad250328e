#include "kdcore/modelspec.h"
#include "kdcore/error.h"

#include <cctype>
#include <cstdlib>
#include <locale>
#include <sstream>

namespace kd {
namespace {

const char* const kExpected =
    "expected mlp:H1,H2,... (or mlp: alone), lenet5, cnn:C1,C2,..., optionally followed "
    "by +dropout=P, or a preset (hinton-teacher, hinton-student, cnn-teacher, small, tiny)";

[[noreturn]] void fail(const std::string& text, const std::string& problem) {
    throw Error("model spec '" + text + "': " + problem + "; " + kExpected);
}

std::string trim(const std::string& s) {
    std::size_t b = 0, e = s.size();
    while (b < e && std::isspace(static_cast<unsigned char>(s[b])))
        ++b;
    while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1])))
        --e;
    return s.substr(b, e - b);
}

std::vector<int> parseList(const std::string& text, const std::string& list, int maxValue, const char* what) {
    std::vector<int> values;
    if (list.empty())
        return values;
    std::stringstream ss(list);
    std::string item;
    while (std::getline(ss, item, ',')) {
        item = trim(item);
        if (item.empty() || item.find_first_not_of("0123456789") != std::string::npos || item.size() > 7)
            fail(text, std::string("'") + item + "' is not a positive whole number of " + what);
        const int v = std::atoi(item.c_str());
        if (v < 1 || v > maxValue)
            fail(text, std::string(what) + " " + item + " is out of range 1.." + std::to_string(maxValue));
        values.push_back(v);
    }
    if (list.back() == ',')
        fail(text, "trailing comma");
    return values;
}

} // namespace

const std::vector<std::pair<std::string, std::string>>& modelPresets() {
    static const std::vector<std::pair<std::string, std::string>> presets = {
        {"hinton-teacher", "mlp:1200,1200+dropout=0.5"},
        {"hinton-student", "mlp:800,800"},
        {"cnn-teacher", "cnn:32,64+dropout=0.3"},
        {"small", "mlp:128"},
        {"tiny", "mlp:32"},
    };
    return presets;
}

std::string ModelSpec::toString() const {
    std::string s;
    switch (kind) {
    case Kind::Mlp:
        s = "mlp:";
        break;
    case Kind::LeNet5:
        s = "lenet5";
        break;
    case Kind::Cnn:
        s = "cnn:";
        break;
    }
    for (std::size_t i = 0; i < layers.size(); ++i)
        s += (i ? "," : "") + std::to_string(layers[i]);
    if (dropout > 0) {
        // The default 6 digits turned 0.123456789 into 0.123457, a different spec: more digits only when
        // needed, so 0.3 stays "0.3". Classic locale both ways: a decimal point, whatever the user's locale.
        std::string text;
        for (int digits = 6; digits <= 17; ++digits) {
            std::ostringstream out;
            out.imbue(std::locale::classic());
            out.precision(digits);
            out << dropout;
            text = out.str();
            std::istringstream in(text);
            in.imbue(std::locale::classic());
            double back = 0;
            if (in >> back && back == dropout)
                break;
        }
        s += "+dropout=" + text;
    }
    return s;
}

ModelSpec parseModelSpec(const std::string& rawText) {
    std::string text = trim(rawText);
    if (text.empty())
        fail(rawText, "empty");
    for (const auto& [name, spec] : modelPresets()) {
        if (text == name)
            return parseModelSpec(spec);
    }
    ModelSpec spec;
    std::string base = text;
    const std::size_t plus = text.find('+');
    if (plus != std::string::npos) {
        base = trim(text.substr(0, plus));
        const std::string option = trim(text.substr(plus + 1));
        const std::string key = "dropout=";
        if (option.rfind(key, 0) != 0)
            fail(text, "unknown option '" + option + "'");
        const std::string value = option.substr(key.size());
        char* end = nullptr;
        const double p = std::strtod(value.c_str(), &end);
        if (value.empty() || end != value.c_str() + value.size())
            fail(text, "dropout '" + value + "' is not a number");
        if (!(p >= 0.0 && p < 1.0))
            fail(text, "dropout " + value + " must be in [0, 1)");
        spec.dropout = p;
    }
    if (base == "lenet5") {
        spec.kind = ModelSpec::Kind::LeNet5;
    } else if (base.rfind("mlp:", 0) == 0) {
        spec.kind = ModelSpec::Kind::Mlp;
        spec.layers = parseList(text, base.substr(4), 65536, "hidden units");
    } else if (base.rfind("cnn:", 0) == 0) {
        spec.kind = ModelSpec::Kind::Cnn;
        spec.layers = parseList(text, base.substr(4), 1024, "channels");
        if (spec.layers.empty())
            fail(text, "cnn: needs at least one channel count");
    } else {
        fail(text, "unknown architecture '" + base + "'");
    }
    return spec;
}

ModelStats modelStats(const ModelSpec& spec, const InputShape& in) {
    ModelStats s;
    auto linear = [&s](std::int64_t inF, std::int64_t outF) {
        s.params += inF * outF + outF;
        s.flopsPerSample += 2 * inF * outF;
        s.activationsPerSample += outF;
    };
    auto conv = [&s](std::int64_t cin, std::int64_t cout, std::int64_t k, std::int64_t outH,
                     std::int64_t outW) {
        s.params += cin * cout * k * k + cout;
        s.flopsPerSample += 2 * cin * cout * k * k * outH * outW;
        s.activationsPerSample += cout * outH * outW + cout * (outH / 2) * (outW / 2); // conv, pooled
    };
    std::int64_t c = in.channels, h = in.height, w = in.width;
    auto tooSmall = [&]() {
        throw Error("model spec '" + spec.toString() + "': too many pooling stages for " +
                    std::to_string(in.height) + "x" + std::to_string(in.width) + " images");
    };
    switch (spec.kind) {
    case ModelSpec::Kind::Mlp: {
        std::int64_t f = c * h * w;
        for (int width : spec.layers) {
            linear(f, width);
            f = width;
        }
        linear(f, in.classes);
        break;
    }
    case ModelSpec::Kind::Cnn:
        for (int out : spec.layers) {
            conv(c, out, 3, h, w); // padding 1 keeps the size
            c = out;
            h /= 2;
            w /= 2;
            if (h < 1 || w < 1)
                tooSmall();
        }
        linear(c * h * w, in.classes);
        break;
    case ModelSpec::Kind::LeNet5:
        conv(c, 6, 5, h, w); // padding 2
        h /= 2;
        w /= 2;
        h -= 4;
        w -= 4;
        if (h < 2 || w < 2)
            tooSmall();
        conv(6, 16, 5, h, w);
        h /= 2;
        w /= 2;
        linear(16 * h * w, 120);
        linear(120, 84);
        linear(84, in.classes);
        break;
    }
    s.bytes = s.params * static_cast<std::int64_t>(sizeof(float));
    return s;
}

} // namespace kd
