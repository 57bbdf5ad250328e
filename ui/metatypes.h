#pragma once
// kdcore's value types as Qt meta-types, so they can cross threads through queued signals.

#include "kdcore/analysis.h"
#include "kdcore/config.h"
#include "kdcore/trainer.h"

#include <QMetaType>

#include <memory>

namespace kdui {
// A run's test-set logits, shared (read-only) by the teaching views: copied by pointer, not by value.
using TestOutputsPtr = std::shared_ptr<const kd::TestOutputs>;
} // namespace kdui

Q_DECLARE_METATYPE(kd::ExperimentConfig)
Q_DECLARE_METATYPE(kd::BatchMetrics)
Q_DECLARE_METATYPE(kd::EpochMetrics)
Q_DECLARE_METATYPE(kd::ExperimentResult)
Q_DECLARE_METATYPE(kd::StageResult)
Q_DECLARE_METATYPE(kd::Phase)
Q_DECLARE_METATYPE(kdui::TestOutputsPtr)

namespace kdui {
// Registers the types above (call once before connecting across threads; safe to call again).
void registerMetaTypes();
} // namespace kdui
