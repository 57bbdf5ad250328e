#pragma once
// Internal: checkpoint files (LibTorch archives with kdlab metadata). Include before any Qt header.
#include "models.h"

#include "kdcore/trainer.h"

#include <string>

namespace kd {

// Atomic: writes PATH.tmp, then renames it over PATH, so a failed save leaves any earlier file intact.
// `card`: the model card as JSON (kdcore/export.h), stored with the weights; empty: none.
void saveNet(KdNetImpl& net, const std::string& path, const std::string& card = {});
// Builds the architecture the checkpoint names and loads its weights (on the CPU).
KdNet loadNet(const std::string& path, CheckpointInfo* info = nullptr);

} // namespace kd
