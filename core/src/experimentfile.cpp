// .kdlab experiment files. Layout (version 1), keys in this order when written:
//
// {
//   "format": "kdlab-experiment",
//   "version": 1,
//   "runs": [
//     {
//       "name": "T=2 a=0.5 mlp:128", "created": "2024-05-01T14:03:11", "status": "done", "error": "",
//       "config": { ...exactly what configToJson writes... },
//       "result": {
//         "teacher": {"spec": "lenet5", "params": 61706, "flops_per_sample": 846000, "bytes": 246824,
//                     "test_accuracy": 0.91, "test_loss": 0.25, "epochs_trained": 4,
//                     "seconds_per_epoch": 3.5, "trained": true,
//                     "initial_weights_hash": "14695981039346656037"},
//         "baseline": {...}, "student": {...},
//         "stopped": false, "teacher_logits_seconds": 0.8, "total_seconds": 41.2, "device": "cpu",
//         "threads": 2,
//         "history": [{"role": "teacher", "epoch": 1, "epochs": 4, "train_loss": 0.5, "train_soft": 0,
//                      "train_hard": 0.5, "test_loss": 0.4, "test_accuracy": 0.86, "temperature": 2,
//                      "alpha": 0.5, "samples_per_second": 9000, "epoch_seconds": 6.6,
//                      "elapsed_seconds": 7.1}, ...],
//         "method": "ensemble",            (optional, absent for kd)
//         "stages": [{"id": "member-1", "name": "member 1", "kind": "member", "model": {...},
//                     "history": [...]}, ...]   (optional: a method's extra models)
//         "comparisons": {"student_vs_baseline": {"n": 10000, "both": 8512, "only_a": 301, "only_b": 177},
//                         "teacher_vs_baseline": {...}}   (optional, each key too: paired tests on the
//                         test images, A = student or teacher, B = baseline; the difference, interval and
//                         p-value are computed again from the counts when read)
//       },
//       "batches": {"teacher": [[0.1, 0.9], ...], "baseline": [...], "student": [[0.1, 1.2, 0.7, 0.5], ...]},
//       "markers": [{"role": "student", "x": 1.25, "temperature": 4, "alpha": 0.7}, ...],
//       "checkpoints": {"teacher": "/path/teacher.pt", ...},
//       "checkpoint_dir": "/path"          (optional: the run's folder, for resuming)
//     }
//   ]
// }
//
// The 64-bit hash is a decimal string: many JSON readers would round it to a double. Batch points are arrays
// to keep files small (thousands of points per run): [x, loss] stands for soft = 0 and hard = loss (what the
// trainer reports for the teacher and the baseline), [x, loss, soft, hard] for any other point. They are
// grouped by role, so a loaded run lists teacher, then baseline, then student points (the order training
// produces them). All fields are required except role keys of "batches" and "checkpoints" (absent: none);
// unknown keys are ignored so a later minor addition stays readable, except inside "config", which
// configFromJson reads (an unknown setting there is an error; a missing one takes its default).
#include "kdcore/experimentfile.h"
#include "kdcore/error.h"
#include "kdcore/report.h"
#include "kdcore/stats.h"

#include "jsondepth.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>
#include <utility>
#include <sys/stat.h>

namespace kd {
namespace {

using nlohmann::json;
using nlohmann::ordered_json; // written files keep a readable key order

const char* const kFormat = "kdlab-experiment";
const Role kRoles[] = {Role::Teacher, Role::Baseline, Role::Student};
const char* const kStatuses[] = {"new", "running", "done", "stopped", "failed"};

bool isKnownStatus(const std::string& status) {
    for (const char* s : kStatuses)
        if (status == s)
            return true;
    return false;
}

std::string statusProblem(const std::string& status) {
    return "'" + status + "' is not new, running, done, stopped or failed";
}

// Rethrows validateConfig's "config: alpha: ..." as "x.kdlab: runs[1].config.alpha: ..." (prefix: up to
// ".config").
void validateRunConfig(const ExperimentConfig& config, const std::string& prefix) {
    try {
        validateConfig(config);
    } catch (const Error& e) {
        const std::string what = e.what();
        const std::string head = "config: ";
        if (what.compare(0, head.size(), head) == 0)
            throw Error(prefix + "." + what.substr(head.size()));
        throw Error(prefix + ": " + what);
    }
}

// Exact: -0.0 and 0.0 differ, so the short batch form never changes a value.
bool sameBits(double a, double b) {
    return std::memcmp(&a, &b, sizeof a) == 0;
}

// ---- writing ----

ordered_json modelJson(const ModelResult& m) {
    ordered_json j = {{"spec", m.spec},
                      {"params", m.stats.params},
                      {"flops_per_sample", m.stats.flopsPerSample},
                      {"bytes", m.stats.bytes},
                      {"test_accuracy", m.testAccuracy},
                      {"test_loss", m.testLoss},
                      {"epochs_trained", m.epochsTrained},
                      {"seconds_per_epoch", m.secondsPerEpoch},
                      {"trained", m.trained},
                      {"initial_weights_hash", std::to_string(m.initialWeightsHash)},
                      {"latency_ms", m.latencyMs},
                      {"images_per_second", m.imagesPerSecond}};
    if (!m.divergence.empty()) // added with issue 7: only written for a model that diverged
        j["diverged"] = m.divergence;
    return j;
}

ordered_json epochJson(const EpochMetrics& e) {
    return {{"role", roleName(e.role)},
            {"epoch", e.epoch},
            {"epochs", e.epochs},
            {"train_loss", e.trainLoss},
            {"train_soft", e.trainSoft},
            {"train_hard", e.trainHard},
            {"test_loss", e.testLoss},
            {"test_accuracy", e.testAccuracy},
            {"temperature", e.temperature},
            {"alpha", e.alpha},
            {"samples_per_second", e.samplesPerSecond},
            {"epoch_seconds", e.epochSeconds},
            {"elapsed_seconds", e.elapsedSeconds}};
}

ordered_json runJson(const RunRecord& run) {
    ordered_json result = ordered_json::object();
    result["teacher"] = modelJson(run.result.teacher);
    result["baseline"] = modelJson(run.result.baseline);
    result["student"] = modelJson(run.result.student);
    result["stopped"] = run.result.stopped;
    result["teacher_logits_seconds"] = run.result.teacherLogitsSeconds;
    result["total_seconds"] = run.result.totalSeconds;
    result["device"] = run.result.device;
    result["threads"] = run.result.threads;
    result["history"] = ordered_json::array();
    for (const EpochMetrics& e : run.result.history)
        result["history"].push_back(epochJson(e));
    // Added after version 1 first shipped (issue 5's methods): only written for other methods than kd.
    if (run.result.method != "kd")
        result["method"] = run.result.method;
    if (!run.result.stages.empty()) {
        result["stages"] = ordered_json::array();
        for (const StageResult& st : run.result.stages) {
            ordered_json stage = {
                {"id", st.id}, {"name", st.name}, {"kind", st.kind}, {"model", modelJson(st.model)}};
            stage["history"] = ordered_json::array();
            for (const EpochMetrics& e : st.history)
                stage["history"].push_back(epochJson(e));
            result["stages"].push_back(stage);
        }
    }

    // Added with issue 15: only the comparisons made (a stopped run may lack them).
    ordered_json comparisons = ordered_json::object();
    for (const auto& [key, test] : {std::make_pair("student_vs_baseline", &run.result.studentVsBaseline),
                                    std::make_pair("teacher_vs_baseline", &run.result.teacherVsBaseline)})
        if (test->valid())
            comparisons[key] = {
                {"n", test->n}, {"both", test->both}, {"only_a", test->onlyA}, {"only_b", test->onlyB}};
    if (!comparisons.empty())
        result["comparisons"] = std::move(comparisons);

    ordered_json batches = ordered_json::object();
    for (Role role : kRoles)
        batches[roleName(role)] = ordered_json::array();
    for (const BatchPoint& p : run.batches) {
        ordered_json& points = batches[roleName(p.role)];
        if (sameBits(p.soft, 0.0) && sameBits(p.hard, p.loss))
            points.push_back({p.x, p.loss});
        else
            points.push_back({p.x, p.loss, p.soft, p.hard});
    }

    ordered_json markers = ordered_json::array();
    for (const ParameterMarker& m : run.markers)
        markers.push_back(
            {{"role", roleName(m.role)}, {"x", m.x}, {"temperature", m.temperature}, {"alpha", m.alpha}});

    ordered_json doc = ordered_json::object();
    doc["name"] = run.name;
    doc["created"] = run.created;
    doc["status"] = run.status;
    doc["error"] = run.error;
    doc["config"] = ordered_json::parse(configToJson(run.config));
    doc["result"] = std::move(result);
    doc["batches"] = std::move(batches);
    doc["markers"] = std::move(markers);
    doc["checkpoints"] = run.checkpoints;
    if (!run.checkpointDir.empty())
        doc["checkpoint_dir"] = run.checkpointDir;
    return doc;
}

// Finds a NaN or infinity (JSON cannot hold one: it would be written as null and the file refused when read).
// Builds `path` only for the value found, while unwinding.
bool findNonFinite(const ordered_json& v, std::string& path, double& bad) {
    if (v.is_number_float()) {
        bad = v.get<double>();
        return !std::isfinite(bad);
    }
    if (v.is_array()) {
        for (std::size_t i = 0; i < v.size(); ++i)
            if (findNonFinite(v[i], path, bad)) {
                path = "[" + std::to_string(i) + "]" + path;
                return true;
            }
    } else if (v.is_object()) {
        for (const auto& [key, value] : v.items())
            if (findNonFinite(value, path, bad)) {
                path = "." + key + path;
                return true;
            }
    }
    return false;
}

// `source` names the file in messages. Refuses what reading would refuse, so a saved file always loads.
std::string experimentText(const std::vector<RunRecord>& runs, const std::string& source) {
    ordered_json doc = ordered_json::object();
    doc["format"] = kFormat;
    doc["version"] = kExperimentFileVersion;
    doc["runs"] = ordered_json::array();
    try {
        for (std::size_t i = 0; i < runs.size(); ++i) {
            const std::string where = source + ": runs[" + std::to_string(i) + "]";
            if (!isKnownStatus(runs[i].status))
                throw Error(where + ".status: " + statusProblem(runs[i].status));
            validateRunConfig(runs[i].config, where + ".config");
            doc["runs"].push_back(runJson(runs[i]));
        }
        std::string path;
        double bad = 0;
        if (findNonFinite(doc, path, bad)) {
            const char* what = std::isnan(bad) ? "nan" : bad > 0 ? "inf" : "-inf";
            throw Error(source + ": " + path.substr(1) + ": cannot save " + what + " (not a finite number)");
        }
        // Invalid UTF-8 (a non-UTF-8 path, say) becomes U+FFFD rather than failing the (auto)save.
        return doc.dump(2, ' ', false, ordered_json::error_handler_t::replace) + "\n";
    } catch (const json::exception& e) {
        throw Error(source + ": cannot save (" + e.what() + ")");
    }
}

// ---- reading ----

// A value and where it is in the file ("runs[1].result.history[0]"), for messages.
struct Node {
    const json& value;
    std::string path;
};

std::string describe(const json& v) {
    if (v.is_object())
        return "an object";
    if (v.is_array())
        return "an array";
    std::string text = v.dump(-1, ' ', false, json::error_handler_t::replace);
    if (text.size() > 40)
        text = text.substr(0, 37) + "...";
    return text;
}

// The parser's message without its "[json.exception...]" tag and grammar jargon, cut to one short line.
std::string shortParseMessage(const json::exception& e) {
    std::string what = e.what();
    const auto tagEnd = what.find("] ");
    if (tagEnd != std::string::npos)
        what = what.substr(tagEnd + 2);
    const auto jargon = what.find("syntax error while parsing");
    if (jargon != std::string::npos) {
        const auto dash = what.find(" - ", jargon);
        if (dash != std::string::npos)
            what.erase(jargon, dash + 3 - jargon);
    }
    // "last read: '...'" quotes raw bytes of the file: keep the message printable ASCII.
    for (char& c : what)
        if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7e)
            c = '?';
    if (what.size() > 120)
        what = what.substr(0, 117) + "...";
    return what;
}

class Reader {
public:
    explicit Reader(std::string source)
        : m_source(std::move(source)) {}

    std::vector<RunRecord> runs(const Node& runsNode) const {
        array(runsNode);
        std::vector<RunRecord> list;
        list.reserve(runsNode.value.size());
        for (std::size_t i = 0; i < runsNode.value.size(); ++i)
            list.push_back(run(element(runsNode, i)));
        return list;
    }

    [[noreturn]] void fail(const std::string& path, const std::string& problem) const {
        throw Error(m_source + ": " + path + ": " + problem);
    }

    // The member `key` of the object `parent`; a missing one is an error.
    Node child(const Node& parent, const char* key) const {
        std::string path = parent.path.empty() ? std::string(key) : parent.path + "." + key;
        const auto it = parent.value.find(key);
        if (it == parent.value.end())
            fail(path, "missing");
        return {*it, std::move(path)};
    }

    template <typename T> T integer(const Node& n) const {
        if (!n.value.is_number_integer())
            fail(n.path, "expected a whole number, got " + describe(n.value));
        bool inRange = false;
        if (n.value.is_number_unsigned()) {
            inRange =
                n.value.get<std::uint64_t>() <= static_cast<std::uint64_t>(std::numeric_limits<T>::max());
        } else {
            const std::int64_t v = n.value.get<std::int64_t>();
            inRange = v >= static_cast<std::int64_t>(std::numeric_limits<T>::min()) &&
                      v <= static_cast<std::int64_t>(std::numeric_limits<T>::max());
        }
        if (!inRange)
            fail(n.path, n.value.dump() + " is out of range");
        return n.value.get<T>();
    }

private:
    Node element(const Node& parent, std::size_t i) const {
        return {parent.value[i], parent.path + "[" + std::to_string(i) + "]"};
    }

    const Node& object(const Node& n) const {
        if (!n.value.is_object())
            fail(n.path, "expected an object, got " + describe(n.value));
        return n;
    }
    const Node& array(const Node& n) const {
        if (!n.value.is_array())
            fail(n.path, "expected an array, got " + describe(n.value));
        return n;
    }
    std::string string(const Node& n) const {
        if (!n.value.is_string())
            fail(n.path, "expected a string, got " + describe(n.value));
        return n.value.get<std::string>();
    }
    // JSON has no NaN and the parser refuses overflowing literals; checked anyway: results must be finite.
    double number(const Node& n) const {
        if (!n.value.is_number() || !std::isfinite(n.value.get<double>()))
            fail(n.path, "expected a number, got " + describe(n.value));
        return n.value.get<double>();
    }
    bool boolean(const Node& n) const {
        if (!n.value.is_boolean())
            fail(n.path, "expected true or false, got " + describe(n.value));
        return n.value.get<bool>();
    }
    Role roleFromName(const std::string& name, const std::string& path) const {
        for (Role role : kRoles)
            if (name == roleName(role))
                return role;
        fail(path, "unknown role '" + name + "' (expected teacher, baseline or student)");
    }
    Role role(const Node& n) const { return roleFromName(string(n), n.path); }

    std::string string(const Node& parent, const char* key) const { return string(child(parent, key)); }
    double number(const Node& parent, const char* key) const { return number(child(parent, key)); }
    template <typename T> T integer(const Node& parent, const char* key) const {
        return integer<T>(child(parent, key));
    }

    // Decimal digits only: strtoull alone would take "-1", " 7" or "0x10".
    std::uint64_t hash(const Node& n) const {
        const std::string text = string(n);
        const bool digits =
            !text.empty() && text.size() <= 20 && text.find_first_not_of("0123456789") == std::string::npos;
        errno = 0;
        const unsigned long long v = digits ? std::strtoull(text.c_str(), nullptr, 10) : 0;
        if (!digits || errno == ERANGE)
            fail(n.path, "expected a decimal 64-bit number in a string, got " + describe(n.value));
        return v;
    }

    ModelResult model(const Node& n) const {
        object(n);
        ModelResult m;
        m.spec = string(n, "spec");
        m.stats.params = integer<std::int64_t>(n, "params");
        m.stats.flopsPerSample = integer<std::int64_t>(n, "flops_per_sample");
        m.stats.bytes = integer<std::int64_t>(n, "bytes");
        m.testAccuracy = number(n, "test_accuracy");
        m.testLoss = number(n, "test_loss");
        m.epochsTrained = integer<int>(n, "epochs_trained");
        m.secondsPerEpoch = number(n, "seconds_per_epoch");
        m.trained = boolean(child(n, "trained"));
        m.initialWeightsHash = hash(child(n, "initial_weights_hash"));
        // Added after version 1 first shipped: optional, 0 (not measured) when absent.
        if (n.value.contains("latency_ms"))
            m.latencyMs = number(n, "latency_ms");
        if (n.value.contains("images_per_second"))
            m.imagesPerSecond = number(n, "images_per_second");
        if (n.value.contains("diverged"))
            m.divergence = string(n, "diverged");
        return m;
    }

    EpochMetrics epoch(const Node& n) const {
        object(n);
        EpochMetrics e;
        e.role = role(child(n, "role"));
        e.epoch = integer<int>(n, "epoch");
        e.epochs = integer<int>(n, "epochs");
        e.trainLoss = number(n, "train_loss");
        e.trainSoft = number(n, "train_soft");
        e.trainHard = number(n, "train_hard");
        e.testLoss = number(n, "test_loss");
        e.testAccuracy = number(n, "test_accuracy");
        e.temperature = number(n, "temperature");
        e.alpha = number(n, "alpha");
        e.samplesPerSecond = number(n, "samples_per_second");
        e.epochSeconds = number(n, "epoch_seconds");
        e.elapsedSeconds = number(n, "elapsed_seconds");
        return e;
    }

    ExperimentResult result(const Node& n) const {
        object(n);
        ExperimentResult r;
        r.teacher = model(child(n, "teacher"));
        r.baseline = model(child(n, "baseline"));
        r.student = model(child(n, "student"));
        r.stopped = boolean(child(n, "stopped"));
        r.teacherLogitsSeconds = number(n, "teacher_logits_seconds");
        r.totalSeconds = number(n, "total_seconds");
        r.device = string(n, "device");
        r.threads = integer<int>(n, "threads");
        const Node history = child(n, "history");
        array(history);
        for (std::size_t i = 0; i < history.value.size(); ++i)
            r.history.push_back(epoch(element(history, i)));
        if (n.value.contains("method")) {
            const Node method = child(n, "method");
            r.method = string(method);
            const auto& names = methodNames();
            if (std::find(names.begin(), names.end(), r.method) == names.end())
                fail(method.path, "'" + r.method + "' is not kd, ensemble, born-again or assistant");
        }
        if (n.value.contains("stages")) {
            const Node stages = child(n, "stages");
            array(stages);
            for (std::size_t i = 0; i < stages.value.size(); ++i) {
                const Node st = element(stages, i);
                object(st);
                StageResult stage;
                stage.id = string(st, "id");
                stage.name = string(st, "name");
                stage.kind = string(st, "kind");
                stage.model = model(child(st, "model"));
                const Node list = child(st, "history");
                array(list);
                for (std::size_t j = 0; j < list.value.size(); ++j) {
                    stage.history.push_back(epoch(element(list, j)));
                    stage.history.back().stage = int(i);
                }
                r.stages.push_back(stage);
            }
        }
        if (n.value.contains("comparisons")) {
            const Node comparisons = child(n, "comparisons");
            object(comparisons);
            if (comparisons.value.contains("student_vs_baseline"))
                r.studentVsBaseline = pairedTest(child(comparisons, "student_vs_baseline"));
            if (comparisons.value.contains("teacher_vs_baseline"))
                r.teacherVsBaseline = pairedTest(child(comparisons, "teacher_vs_baseline"));
        }
        return r;
    }

    // The four counts of a paired test; the rest is computed from them.
    PairedTest pairedTest(const Node& n) const {
        object(n);
        const char* const keys[] = {"n", "both", "only_a", "only_b"};
        std::int64_t counts[4];
        for (int i = 0; i < 4; ++i) {
            const Node count = child(n, keys[i]);
            counts[i] = integer<std::int64_t>(count);
            if (counts[i] < 0)
                fail(count.path, "expected a count (0 or more), got " + std::to_string(counts[i]));
        }
        const std::int64_t total = counts[0];
        if (counts[1] > total || counts[2] > total - counts[1] || counts[3] > total - counts[1] - counts[2])
            fail(n.path, "both + only_a + only_b is more than n (" + std::to_string(total) + ")");
        return pairedTestFromCounts(total, counts[1], counts[2], counts[3]);
    }

    // Keys of a role-keyed object ("batches", "checkpoints") must all be role names.
    void checkRoleKeys(const Node& n) const {
        for (const auto& item : n.value.items())
            roleFromName(item.key(), n.path + "." + item.key());
    }

    std::vector<BatchPoint> batches(const Node& n) const {
        object(n);
        checkRoleKeys(n);
        std::vector<BatchPoint> points;
        for (Role role : kRoles) {
            if (!n.value.contains(roleName(role)))
                continue;
            const Node list = child(n, roleName(role));
            array(list);
            for (std::size_t i = 0; i < list.value.size(); ++i) {
                const Node point = element(list, i);
                const std::size_t size = point.value.is_array() ? point.value.size() : 0;
                if (size != 2 && size != 4)
                    fail(point.path,
                         "expected [x, loss] or [x, loss, soft, hard], got " + describe(point.value));
                BatchPoint p;
                p.role = role;
                p.x = number(element(point, 0));
                p.loss = number(element(point, 1));
                p.hard = p.loss;
                if (size == 4) {
                    p.soft = number(element(point, 2));
                    p.hard = number(element(point, 3));
                }
                points.push_back(p);
            }
        }
        return points;
    }

    std::vector<ParameterMarker> markers(const Node& n) const {
        array(n);
        std::vector<ParameterMarker> list;
        for (std::size_t i = 0; i < n.value.size(); ++i) {
            const Node m = element(n, i);
            object(m);
            ParameterMarker marker;
            marker.role = role(child(m, "role"));
            marker.x = number(m, "x");
            marker.temperature = number(m, "temperature");
            marker.alpha = number(m, "alpha");
            list.push_back(marker);
        }
        return list;
    }

    std::map<std::string, std::string> checkpoints(const Node& n) const {
        object(n);
        checkRoleKeys(n);
        std::map<std::string, std::string> paths;
        for (const auto& item : n.value.items())
            paths[item.key()] = string(Node{item.value(), n.path + "." + item.key()});
        return paths;
    }

    ExperimentConfig config(const Node& n) const {
        object(n);
        // Settings nest 3 deep at most (a preset's "runs"). Checked before dump(), which recurses once per
        // level: a config nested 100000 deep overflowed the stack.
        if (nestedDeeperThan(n.value, 8))
            fail(n.path, "nested too deeply to be settings");
        const std::string prefix = m_source + ": " + n.path;
        const ExperimentConfig c = configFromJson(n.value.dump(), prefix);
        validateRunConfig(c, prefix);
        return c;
    }

    RunRecord run(const Node& n) const {
        object(n);
        RunRecord r;
        r.name = string(n, "name");
        r.created = string(n, "created");
        const Node status = child(n, "status");
        r.status = string(status);
        if (!isKnownStatus(r.status))
            fail(status.path, statusProblem(r.status));
        r.error = string(n, "error");
        r.config = config(child(n, "config"));
        r.result = result(child(n, "result"));
        r.batches = batches(child(n, "batches"));
        r.markers = markers(child(n, "markers"));
        r.checkpoints = checkpoints(child(n, "checkpoints"));
        if (n.value.contains("checkpoint_dir"))
            r.checkpointDir = string(n, "checkpoint_dir");
        return r;
    }

    std::string m_source;
};

} // namespace

std::string experimentToJson(const std::vector<RunRecord>& runs) {
    return experimentText(runs, "experiment");
}

std::vector<RunRecord> experimentFromJson(const std::string& jsonText, const std::string& source) {
    const std::string notOurs = source + ": not a kdlab experiment file (";
    json doc;
    try {
        doc = json::parse(jsonText);
    } catch (const json::exception& e) { // parse_error, or out_of_range for a number like 1e999
        throw Error(notOurs + "truncated or not JSON: " + shortParseMessage(e) + ")");
    }
    if (!doc.is_object())
        throw Error(notOurs + "expected a JSON object, got " + describe(doc) + ")");
    const auto format = doc.find("format");
    if (format == doc.end())
        throw Error(notOurs + "no \"format\": \"" + kFormat + "\")");
    if (*format != kFormat)
        throw Error(notOurs + "format is " + describe(*format) + ", expected \"" + kFormat + "\")");

    // The version before anything else: a newer file may be laid out differently.
    const Reader reader(source);
    const Node root{doc, ""};
    const Node versionNode = reader.child(root, "version");
    const std::int64_t version = reader.integer<std::int64_t>(versionNode);
    if (version > kExperimentFileVersion)
        throw Error(source + ": written by a newer kdlab (file version " + std::to_string(version) +
                    ", this kdlab reads up to " + std::to_string(kExperimentFileVersion) + ")");
    if (version < 1)
        reader.fail("version", std::to_string(version) + " is not a file version (they start at 1)");
    return reader.runs(reader.child(root, "runs"));
}

void saveExperimentFile(const std::string& path, const std::vector<RunRecord>& runs) {
    writeTextFile(path, experimentText(runs, path));
}

std::vector<RunRecord> loadExperimentFile(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode))
        throw Error(path + ": cannot open: " + std::strerror(EISDIR));
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw Error(path + ": cannot open: " + std::strerror(errno));
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad())
        throw Error(path + ": cannot read: " + std::strerror(errno));
    return experimentFromJson(text.str(), path);
}

} // namespace kd
