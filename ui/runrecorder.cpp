#include "runrecorder.h"

#include "kdcore/modelspec.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

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

std::string runName(const kd::ExperimentConfig& config) {
    return "T=" + shortNumber(config.temperature) + " a=" + shortNumber(config.alpha) + " " + config.student;
}

void RunRecorder::begin(const kd::ExperimentConfig& config, bool teacherTrains) {
    *this = RunRecorder();
    m_config = config;
    m_teacherTrains = teacherTrains;
    m_teacherCost = sampleCost(config.teacher);
    m_studentCost = sampleCost(config.student);
}

double RunRecorder::weightOf(kd::Role role) const {
    return role == kd::Role::Teacher ? m_teacherCost : m_studentCost;
}

RunRecorder::Update RunRecorder::addBatch(const kd::BatchMetrics& m) {
    Update u;
    if (m.role != m_role) { // each model's curve is smoothed on its own
        m_role = m.role;
        m_emaCount = 0;
        m_emaLoss = m_emaSoft = m_emaHard = 0;
    }
    m_batchesPerEpoch = m.batchesPerEpoch;
    m_doneWork += weightOf(m.role);
    m_elapsed = m.elapsedSeconds;

    const double x = (m.epoch - 1) + double(m.batch) / double(std::max(1, m.batchesPerEpoch));
    if (m_haveLast && (m.temperature != m_lastT || m.alpha != m_lastAlpha))
        u.marker = kd::ParameterMarker{m.role, x, m.temperature, m.alpha};
    m_haveLast = true;
    m_lastT = m.temperature;
    m_lastAlpha = m.alpha;

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

double RunRecorder::progress() const {
    if (m_batchesPerEpoch <= 0)
        return 0;
    const double teacher = m_teacherTrains ? double(m_config.teacherEpochs) * m_teacherCost : 0.0;
    const double students = 2.0 * double(m_config.epochs) * m_studentCost;
    const double total = double(m_batchesPerEpoch) * (teacher + students);
    return total > 0 ? std::min(1.0, m_doneWork / total) : 0;
}

double RunRecorder::etaSeconds() const {
    const double p = progress();
    if (p <= 0.01 || m_elapsed < 1.0)
        return -1;
    return m_elapsed * (1 - p) / p;
}

} // namespace kdui
