#include "kdcore/sweep.h"

#include "kdcore/analysis.h"
#include "kdcore/error.h"
#include "kdcore/modelspec.h"
#include "kdcore/report.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

namespace kd {
namespace {

std::string trim(const std::string& s) {
    const auto b = s.find_first_not_of(" \t");
    const auto e = s.find_last_not_of(" \t\r\n");
    return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}

std::vector<std::string> split(const std::string& text, char sep) {
    std::vector<std::string> parts;
    std::string item;
    std::istringstream in(text);
    while (std::getline(in, item, sep))
        parts.push_back(trim(item));
    if (!text.empty() && text.back() == sep)
        parts.push_back(std::string());
    return parts;
}

std::vector<double> orDefault(const std::vector<double>& v, double d) {
    return v.empty() ? std::vector<double>{d} : v;
}

std::vector<std::string> studentsOf(const SweepPlan& p) {
    return p.students.empty() ? std::vector<std::string>{p.base.student} : p.students;
}

// Shortest text that reads back as the same double ("2", "0.1", "0.30000000000000004").
std::string number(double v) {
    char buf[64];
    for (int precision = 1; precision <= 17; ++precision) {
        std::snprintf(buf, sizeof buf, "%.*g", precision, v);
        if (std::strtod(buf, nullptr) == v)
            break;
    }
    return buf;
}

double mean(const std::vector<double>& v) {
    double s = 0;
    for (double x : v)
        s += x;
    return v.empty() ? 0.0 : s / double(v.size());
}

double sampleStd(const std::vector<double>& v) {
    if (v.size() < 2)
        return 0.0;
    const double m = mean(v);
    double s = 0;
    for (double x : v)
        s += (x - m) * (x - m);
    return std::sqrt(s / double(v.size() - 1));
}

const char* const kCsvHeader =
    "index,student,temperature,alpha,seed,test_accuracy,test_loss,baseline_accuracy,teacher_accuracy";

bool sameNumbers(const SweepRow& a, const SweepRow& b) {
    return a.cell.student == b.cell.student && a.cell.temperature == b.cell.temperature &&
           a.cell.alpha == b.cell.alpha && a.cell.seed == b.cell.seed && a.testAccuracy == b.testAccuracy &&
           a.testLoss == b.testLoss && a.baselineAccuracy == b.baselineAccuracy &&
           a.teacherAccuracy == b.teacherAccuracy;
}

} // namespace

std::vector<double> parseNumberList(const std::string& text, const std::string& what) {
    std::vector<double> values;
    if (trim(text).empty())
        throw Error(what + ": empty list (expected numbers separated by commas, e.g. 1,2,4)");
    for (const std::string& item : split(text, ',')) {
        char* end = nullptr;
        errno = 0;
        const double v = std::strtod(item.c_str(), &end);
        if (item.empty() || end != item.c_str() + item.size() || errno == ERANGE || !std::isfinite(v))
            throw Error(what + ": '" + item + "' is not a number (expected e.g. 1,2,4)");
        values.push_back(v);
    }
    return values;
}

std::vector<std::string> parseSpecList(const std::string& text, const std::string& what) {
    std::vector<std::string> specs;
    if (trim(text).empty())
        throw Error(what + ": empty list (expected specs separated by ';', e.g. mlp:64;mlp:128)");
    for (const std::string& item : split(text, ';')) {
        try {
            parseModelSpec(item);
        } catch (const Error& e) {
            throw Error(what + ": '" + item + "': " + e.what());
        }
        specs.push_back(item);
    }
    return specs;
}

void validateSweepPlan(const SweepPlan& p) {
    validateConfig(p.base);
    for (double t : p.temperatures)
        if (!(t >= 0.05 && t <= 1000))
            throw Error("sweep: temperatures: " + number(t) + " is not > 0 (range 0.05..1000)");
    for (double a : p.alphas)
        if (!(a >= 0 && a <= 1))
            throw Error("sweep: alphas: " + number(a) + " is not in [0, 1]");
    for (const std::string& s : p.students) {
        try {
            parseModelSpec(s);
        } catch (const Error& e) {
            throw Error("sweep: students: '" + s + "': " + e.what());
        }
    }
    if (p.seeds < 1 || p.seeds > 1000)
        throw Error("sweep: seeds: must be in 1..1000, got " + std::to_string(p.seeds));
    if (p.shardCount < 1)
        throw Error("sweep: shard: the shard count must be >= 1, got " + std::to_string(p.shardCount));
    if (p.shardIndex < 0 || p.shardIndex >= p.shardCount)
        throw Error("sweep: shard: index " + std::to_string(p.shardIndex) + " is not in 0.." +
                    std::to_string(p.shardCount - 1));
}

int sweepCellCount(const SweepPlan& p) {
    return int(studentsOf(p).size() * orDefault(p.temperatures, p.base.temperature).size() *
               orDefault(p.alphas, p.base.alpha).size()) *
           std::max(p.seeds, 0);
}

std::vector<SweepCell> sweepCells(const SweepPlan& p) {
    std::vector<SweepCell> cells;
    int index = 0;
    for (const std::string& student : studentsOf(p))
        for (double t : orDefault(p.temperatures, p.base.temperature))
            for (double a : orDefault(p.alphas, p.base.alpha))
                for (int s = 0; s < p.seeds; ++s, ++index)
                    if (p.shardCount > 0 && index % p.shardCount == p.shardIndex)
                        cells.push_back(SweepCell{index, student, t, a, p.base.seed + std::uint64_t(s)});
    return cells;
}

ExperimentConfig cellConfig(const SweepPlan& p, const SweepCell& cell) {
    ExperimentConfig c = p.base;
    c.student = cell.student;
    c.temperature = cell.temperature;
    c.alpha = cell.alpha;
    c.seed = cell.seed;
    c.teacherSeed = p.base.teacherSeed != 0 ? p.base.teacherSeed : p.base.seed; // one teacher for all seeds
    return c;
}

std::vector<SweepSummaryCell> summarizeSweep(const std::vector<SweepRow>& rows) {
    // Grouped by (student, T, alpha), in the order the cells first appear (index order for sorted rows).
    std::vector<SweepSummaryCell> cells;
    std::vector<std::vector<const SweepRow*>> groups;
    for (const SweepRow& r : rows) {
        auto it = std::find_if(cells.begin(), cells.end(), [&](const SweepSummaryCell& c) {
            return c.student == r.cell.student && c.temperature == r.cell.temperature &&
                   c.alpha == r.cell.alpha;
        });
        if (it == cells.end()) {
            SweepSummaryCell c;
            c.student = r.cell.student;
            c.temperature = r.cell.temperature;
            c.alpha = r.cell.alpha;
            cells.push_back(c);
            groups.emplace_back();
            it = cells.end() - 1;
        }
        groups[std::size_t(it - cells.begin())].push_back(&r);
    }
    for (std::size_t i = 0; i < cells.size(); ++i) {
        std::vector<double> acc, loss, base, teacher, gap;
        bool gapDefined = true;
        for (const SweepRow* r : groups[i]) {
            acc.push_back(r->testAccuracy);
            loss.push_back(r->testLoss);
            base.push_back(r->baselineAccuracy);
            teacher.push_back(r->teacherAccuracy);
            const std::optional<double> g =
                gapRecovered(r->teacherAccuracy, r->baselineAccuracy, r->testAccuracy);
            if (g)
                gap.push_back(*g);
            else
                gapDefined = false;
        }
        SweepSummaryCell& c = cells[i];
        c.seeds = int(acc.size());
        c.meanAccuracy = mean(acc);
        c.stdAccuracy = sampleStd(acc);
        c.meanLoss = mean(loss);
        c.meanBaseline = mean(base);
        c.stdBaseline = sampleStd(base);
        c.teacherAccuracy = mean(teacher);
        c.meanGapRecovered = gapDefined ? mean(gap) : std::nan("");
    }
    return cells;
}

std::string sweepCsv(const std::vector<SweepRow>& rows) {
    std::ostringstream out;
    out << kCsvHeader << "\n";
    for (const SweepRow& r : rows) {
        // Specs hold commas: quoted, as CSV readers expect.
        out << r.cell.index << ",\"" << r.cell.student << "\"," << number(r.cell.temperature) << ","
            << number(r.cell.alpha) << "," << r.cell.seed << "," << number(r.testAccuracy) << ","
            << number(r.testLoss) << "," << number(r.baselineAccuracy) << "," << number(r.teacherAccuracy)
            << "\n";
    }
    return out.str();
}

std::vector<SweepRow> readSweepCsv(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw Error(path + ": cannot open (" + std::strerror(errno) + ")");
    std::string line;
    if (!std::getline(in, line) || trim(line) != kCsvHeader)
        throw Error(path + ": line 1: expected the header '" + std::string(kCsvHeader) + "'");
    std::vector<SweepRow> rows;
    int lineNo = 1;
    while (std::getline(in, line)) {
        ++lineNo;
        if (trim(line).empty())
            continue;
        const std::string where = path + ": line " + std::to_string(lineNo);
        // index,"spec",numbers...: the spec is the only quoted field.
        const auto q1 = line.find('"');
        const auto q2 = q1 == std::string::npos ? q1 : line.find('"', q1 + 1);
        if (q1 == std::string::npos || q2 == std::string::npos || q1 == 0 || line[q1 - 1] != ',' ||
            q2 + 1 >= line.size() || line[q2 + 1] != ',')
            throw Error(where + ": expected index,\"student spec\",temperature,alpha,seed,... (9 fields)");
        std::vector<std::string> fields{line.substr(0, q1 - 1), line.substr(q1 + 1, q2 - q1 - 1)};
        for (const std::string& f : split(line.substr(q2 + 2), ','))
            fields.push_back(f);
        if (fields.size() != 9)
            throw Error(where + ": expected 9 fields, got " + std::to_string(fields.size()));
        static const char* const names[] = {
            "index",         "student",   "temperature",       "alpha",           "seed",
            "test_accuracy", "test_loss", "baseline_accuracy", "teacher_accuracy"};
        auto num = [&](int i) {
            char* end = nullptr;
            const double v = std::strtod(fields[i].c_str(), &end);
            if (fields[i].empty() || end != fields[i].c_str() + fields[i].size() || !std::isfinite(v))
                throw Error(where + ": " + names[i] + ": '" + fields[i] + "' is not a number");
            return v;
        };
        auto whole = [&](int i) {
            const double v = num(i);
            if (v < 0 || v != std::floor(v) || v > 9.007199254740992e15)
                throw Error(where + ": " + names[i] + ": '" + fields[i] + "' is not a whole number >= 0");
            return v;
        };
        SweepRow r;
        r.cell.index = int(whole(0));
        r.cell.student = fields[1];
        r.cell.temperature = num(2);
        r.cell.alpha = num(3);
        r.cell.seed = std::uint64_t(whole(4));
        r.testAccuracy = num(5);
        r.testLoss = num(6);
        r.baselineAccuracy = num(7);
        r.teacherAccuracy = num(8);
        for (double a : {r.testAccuracy, r.baselineAccuracy, r.teacherAccuracy})
            if (a < 0 || a > 1)
                throw Error(where + ": accuracies must be in [0, 1]");
        rows.push_back(r);
    }
    std::stable_sort(rows.begin(), rows.end(),
                     [](const SweepRow& a, const SweepRow& b) { return a.cell.index < b.cell.index; });
    return rows;
}

std::vector<SweepRow> mergeSweepCsvs(const std::vector<std::string>& paths) {
    if (paths.empty())
        throw Error("merge: no sweep.csv files given");
    std::map<int, std::pair<SweepRow, std::string>> byIndex;
    for (const std::string& path : paths) {
        for (const SweepRow& r : readSweepCsv(path)) {
            const auto it = byIndex.find(r.cell.index);
            if (it == byIndex.end()) {
                byIndex.emplace(r.cell.index, std::make_pair(r, path));
            } else if (!sameNumbers(it->second.first, r)) {
                throw Error(path + ": cell " + std::to_string(r.cell.index) +
                            " differs from the same cell in " + it->second.second +
                            " (shards of different sweeps?)");
            }
        }
    }
    std::vector<SweepRow> rows;
    for (auto& [index, entry] : byIndex)
        rows.push_back(entry.first);
    return rows;
}

std::string sweepSummaryJson(const std::vector<SweepRow>& rows) {
    using nlohmann::ordered_json;
    ordered_json doc;
    std::vector<double> temps, alphas;
    std::vector<std::string> students;
    std::vector<std::uint64_t> seeds;
    auto addUnique = [](auto& v, const auto& x) {
        if (std::find(v.begin(), v.end(), x) == v.end())
            v.push_back(x);
    };
    for (const SweepRow& r : rows) {
        addUnique(temps, r.cell.temperature);
        addUnique(alphas, r.cell.alpha);
        addUnique(students, r.cell.student);
        addUnique(seeds, r.cell.seed);
    }
    doc["temperatures"] = temps;
    doc["alphas"] = alphas;
    doc["students"] = students;
    doc["seeds"] = seeds;
    doc["rows"] = rows.size();
    ordered_json cells = ordered_json::array();
    for (const SweepSummaryCell& c : summarizeSweep(rows)) {
        ordered_json j;
        j["student"] = c.student;
        j["temperature"] = c.temperature;
        j["alpha"] = c.alpha;
        j["seeds"] = c.seeds;
        j["test_accuracy_mean"] = c.meanAccuracy;
        j["test_accuracy_std"] = c.stdAccuracy;
        j["test_loss_mean"] = c.meanLoss;
        j["baseline_accuracy_mean"] = c.meanBaseline;
        j["baseline_accuracy_std"] = c.stdBaseline;
        j["teacher_accuracy"] = c.teacherAccuracy;
        j["gap_recovered_mean"] =
            std::isnan(c.meanGapRecovered) ? ordered_json(nullptr) : ordered_json(c.meanGapRecovered);
        cells.push_back(j);
    }
    doc["cells"] = cells;
    return doc.dump(2) + "\n";
}

void writeSweepFiles(const std::string& dir, const std::vector<SweepRow>& rows) {
    ensureWritableDirectory(dir);
    writeTextFile(dir + "/sweep.csv", sweepCsv(rows));
    writeTextFile(dir + "/summary.json", sweepSummaryJson(rows));
}

SweepRunner::SweepRunner()
    : m_trainer(std::make_unique<Trainer>()) {}

SweepRunner::~SweepRunner() = default;

void SweepRunner::setObserver(SweepObserver* observer) {
    m_observer = observer;
    m_trainer->setObserver(observer);
}

void SweepRunner::requestStop() {
    m_stopped = true;
    m_trainer->requestStop();
}

std::vector<SweepRow> SweepRunner::run(const SweepPlan& plan) {
    validateSweepPlan(plan);
    m_stopped = false;
    m_rows.clear();
    const std::vector<SweepCell> cells = sweepCells(plan);
    // Each (student, seed)'s baseline is trained once, with the first cell that needs it.
    std::map<std::pair<std::string, std::uint64_t>, ModelResult> baselines;
    std::map<std::pair<std::string, std::uint64_t>, std::vector<bool>> baselineRight; // per test image
    struct Restore {
        Trainer& t;
        ~Restore() { t.setTrainBaseline(true); }
    } restore{*m_trainer};
    for (std::size_t i = 0; i < cells.size(); ++i) {
        if (m_stopped)
            break;
        const SweepCell& cell = cells[i];
        if (m_observer)
            m_observer->cellStarted(cell, int(i), int(cells.size()));
        const auto key = std::make_pair(cell.student, cell.seed);
        const auto known = baselines.find(key);
        m_trainer->setTrainBaseline(known == baselines.end());
        // The teacher is trained (or loaded) by the first cell and reused by all others.
        ExperimentResult result = m_trainer->run(cellConfig(plan, cell), /*reuseTeacher=*/true);
        if (m_stopped || result.stopped) {
            m_stopped = true;
            break;
        }
        // Which test images each model gets right, for the paired test against the seed's baseline.
        const TestOutputs outputs = m_trainer->testOutputs();
        auto right = [&outputs](Role role) {
            const std::vector<float>& logits = outputs.logits(role);
            std::vector<bool> hits(outputs.size());
            for (std::size_t k = 0; k < hits.size() && !logits.empty(); ++k)
                hits[k] = predictedClass(logits.data() + k * std::size_t(outputs.classes), outputs.classes) ==
                          outputs.dataset->test.labels[k];
            return hits;
        };
        if (known == baselines.end()) {
            baselines[key] = result.baseline;
            baselineRight[key] = right(Role::Baseline);
        }
        SweepRow row;
        row.cell = cell;
        row.testAccuracy = result.student.testAccuracy;
        row.testLoss = result.student.testLoss;
        row.baselineAccuracy = baselines[key].testAccuracy;
        row.teacherAccuracy = result.teacher.testAccuracy;
        if (outputs.has(Role::Student) && !baselineRight[key].empty())
            row.studentVsBaseline = pairedTest(right(Role::Student), baselineRight[key]);
        result.studentVsBaseline = row.studentVsBaseline;
        m_rows.push_back(row);
        if (m_observer)
            m_observer->cellFinished(row, result);
    }
    return m_rows;
}

} // namespace kd
