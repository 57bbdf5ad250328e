#include "runrecorder.h"

#include "kdcore/modelspec.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace kdui {
namespace {

// Cost of one sample, for the progress estimate: forward + backward ~ 3x the forward FLOPs, plus a fixed
// per-sample overhead (data movement, optimiser) that dominates for tiny models.
double sampleCost(const std::string& spec) {
    try {
        return 3.0 * double(kd::modelStats(kd::parseModelSpec(spec)).flopsPerSample) + 2e5;
    } catch (...) {
        return 1e6;
    }
}

std::string shortNumber(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", v);
    return buf;
}

} // namespace

std::string runName(const kd::ExperimentConfig& config, const std::vector<kd::ParameterMarker>& markers) {
    // Each value the setting took, in order, repeats dropped; more than three: the first, "...", the last.
    auto path = [&](double start, double kd::ParameterMarker::*value) {
        std::vector<double> values{start};
        for (const kd::ParameterMarker& m : markers)
            if (m.*value != values.back())
                values.push_back(m.*value);
        std::string text = shortNumber(values.front());
        if (values.size() > 3)
            return text + "->...->" + shortNumber(values.back());
        for (std::size_t i = 1; i < values.size(); ++i)
            text += "->" + shortNumber(values[i]);
        return text;
    };
    return "T=" + path(config.temperature, &kd::ParameterMarker::temperature) +
           " a=" + path(config.alpha, &kd::ParameterMarker::alpha) + " " + config.student;
}

void RunRecorder::begin(const kd::ExperimentConfig& config, bool teacherTrains) {
    *this = RunRecorder();
    m_config = config;
    m_lastT = config.temperature;
    m_lastAlpha = config.alpha;
    m_teacherTrains = teacherTrains;
    m_teacherCost = sampleCost(config.teacher);
    m_studentCost = sampleCost(config.method == "born-again" ? config.teacher : config.student);
    const double epochs = double(config.epochs), teacherEpochs = double(config.teacherEpochs);
    double teacher = teacherEpochs * m_teacherCost;
    double students = 2.0 * epochs * m_studentCost; // baseline and student
    if (config.method == "ensemble") {
        teacher = 0;
        for (const std::string& spec : kd::ensembleMemberSpecs(config)) {
            m_stageCosts.push_back(sampleCost(spec));
            teacher += teacherEpochs * m_stageCosts.back();
        }
    } else if (config.method == "born-again") {
        students += double(config.generations - 1) * epochs * m_studentCost;
    } else if (config.method == "assistant") {
        m_stageCosts.push_back(sampleCost(config.assistant)); // stage 0; stage 1 (direct KD): the student's
        students += epochs * (m_stageCosts[0] + m_studentCost);
    }
    m_totalCost = (teacherTrains ? teacher : 0.0) + students;
}

double RunRecorder::weightOf(const kd::BatchMetrics& m) const {
    if (m.stage >= 0 && std::size_t(m.stage) < m_stageCosts.size())
        return m_stageCosts[std::size_t(m.stage)];
    return m.role == kd::Role::Teacher ? m_teacherCost : m_studentCost;
}

RunRecorder::Update RunRecorder::addBatch(const kd::BatchMetrics& m) {
    Update u;
    if (m.role != m_role || m.stage != m_stage) { // each model's curve is smoothed on its own
        m_role = m.role;
        m_stage = m.stage;
        m_emaCount = 0;
        m_emaLoss = m_emaSoft = m_emaHard = 0;
    }
    m_batchesPerEpoch = m.batchesPerEpoch;
    m_doneWork += weightOf(m);
    m_elapsed = m.elapsedSeconds;
    if (m.stage >= 0)
        return u;

    const double x = (m.epoch - 1) + double(m.batch) / double(std::max(1, m.batchesPerEpoch));
    // T and alpha act on the distilled student only: a change is marked on its curve, at its first batch
    // that trained with the new values (a change made while the teacher or baseline trained: at its start).
    if (m.role == kd::Role::Student) {
        if (m.temperature != m_lastT || m.alpha != m_lastAlpha)
            u.marker = kd::ParameterMarker{m.role, x, m.temperature, m.alpha};
        m_lastT = m.temperature;
        m_lastAlpha = m.alpha;
    }

    // A diverged loss (NaN, inf) would poison the average and cannot be drawn or saved: no point.
    if (!std::isfinite(m.loss) || !std::isfinite(m.soft) || !std::isfinite(m.hard))
        return u;

    // Bias-corrected exponential moving average, restarted for each model.
    const double k = kSmoothing;
    m_emaLoss = k * m_emaLoss + (1 - k) * m.loss;
    m_emaSoft = k * m_emaSoft + (1 - k) * m.soft;
    m_emaHard = k * m_emaHard + (1 - k) * m.hard;
    ++m_emaCount;
    const double correction = 1.0 / (1.0 - std::pow(k, std::min(m_emaCount, 200)));

    const int stride = std::max(1, (m.batchesPerEpoch + kPointsPerEpoch - 1) / kPointsPerEpoch);
    if (m.batch % stride == 0 || m.batch == m.batchesPerEpoch || m_emaCount == 1)
        u.point =
            kd::BatchPoint{m.role, x, m_emaLoss * correction, m_emaSoft * correction, m_emaHard * correction};
    return u;
}

void RunRecorder::skipDone(const std::string& id, int epochs) {
    double cost = m_studentCost; // baseline, student, born-again generations, direct KD
    if (id == "teacher")
        cost = m_teacherTrains ? m_teacherCost : 0.0;
    else if (id.rfind("member-", 0) == 0)
        cost = m_stageCosts.empty()
                   ? m_teacherCost
                   : m_stageCosts[std::min(m_stageCosts.size() - 1,
                                           std::size_t(std::max(0, std::atoi(id.c_str() + 7) - 1)))];
    else if (id == "assistant" && !m_stageCosts.empty())
        cost = m_stageCosts[0];
    m_skippedWork += double(std::max(0, epochs)) * cost;
}

double RunRecorder::progress() const {
    if (m_batchesPerEpoch <= 0)
        return m_totalCost > 0 ? std::min(1.0, m_skippedWork / m_totalCost) : 0;
    const double total = double(m_batchesPerEpoch) * m_totalCost;
    return total > 0 ? std::min(1.0, (m_doneWork + m_skippedWork * double(m_batchesPerEpoch)) / total) : 0;
}

double RunRecorder::etaSeconds() const {
    // From the pace of this session's work only (a resumed run's earlier epochs took no time here).
    const double p = progress();
    const double total = double(m_batchesPerEpoch) * m_totalCost;
    const double fresh = total > 0 ? m_doneWork / total : 0;
    if (fresh <= 0.01 || m_elapsed < 1.0)
        return -1;
    return m_elapsed * (1 - p) / fresh;
}

} // namespace kdui
