#pragma once
// kdcore's value types as Qt meta-types, so they can cross threads through queued signals.

#include "kdcore/config.h"
#include "kdcore/trainer.h"

#include <QMetaType>

Q_DECLARE_METATYPE(kd::ExperimentConfig)
Q_DECLARE_METATYPE(kd::BatchMetrics)
Q_DECLARE_METATYPE(kd::EpochMetrics)
Q_DECLARE_METATYPE(kd::ExperimentResult)
Q_DECLARE_METATYPE(kd::Phase)

namespace kdui {
// Registers the types above (call once before connecting across threads; safe to call again).
void registerMetaTypes();
} // namespace kdui
