#pragma once
// Internal: checkpoint files (LibTorch archives with kdlab metadata). Include before any Qt header.
#include "models.h"

#include "kdcore/trainer.h"

#include <functional>
#include <string>

namespace kd {

// Writes `bytes` to `path` (created or truncated) and closes it; returns "" or why it failed (strerror).
// LibTorch's own file writer aborts the process when a write fails (its destructor throws while the error
// unwinds), so archives are serialised to memory first and written with this.
std::string writeWholeFile(const std::string& path, const std::string& bytes);

// Atomic: writes PATH.tmp (flushed to disk), then renames it over PATH, so a failed save or a crash leaves
// any earlier file intact. `card`: the model card as JSON (kdcore/export.h), stored with the weights; empty:
// none. `extra` may add entries (e.g. the trainer's resume state).
using ArchiveWriter = std::function<void(torch::serialize::OutputArchive&)>;
void saveNet(KdNetImpl& net, const std::string& path, const std::string& card = {},
             const ArchiveWriter& extra = {});
// Builds the architecture the checkpoint names and loads its weights (on the CPU); `extra` may then read
// more entries from the same archive.
using ArchiveReader = std::function<void(torch::serialize::InputArchive&)>;
KdNet loadNet(const std::string& path, CheckpointInfo* info = nullptr, const ArchiveReader& extra = {});

} // namespace kd
