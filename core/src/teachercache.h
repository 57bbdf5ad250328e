#pragma once
// Internal: the teacher cache (Trainer::setTeacherCacheDir). A trained teacher is kept as an ordinary kdlab
// checkpoint named after a hash of everything that determined its weights, with that key and its result
// inside, so a later run or another process with the same settings loads it instead of training it again.
// Include before any Qt header.
#include "models.h"

#include "kdcore/trainer.h"

#include <string>

namespace kd {

// The settings that determine a teacher trained by kdlab, as text (also kept in the file and compared on
// loading, so a hash collision cannot hand out another teacher). `dataFingerprint` identifies the loaded
// images and labels; `threads` the OpenMP thread count (it can change the last digits).
std::string teacherCacheKey(const ExperimentConfig& config, const std::string& dataFingerprint,
                            const std::string& device, int threads);

// DIR/teacher-<16 hex digits>.pt
std::string teacherCachePath(const std::string& dir, const std::string& key);

// A hit: the net (on the CPU) and its result (ModelResult::trained false). false: no file for this key.
// Throws kd::Error naming the file when it is there but unreadable, damaged or written for another key.
bool loadCachedTeacher(const std::string& path, const std::string& key, KdNet& net, ModelResult& result);

// Writes the teacher (atomically). Throws kd::Error naming the file when it cannot.
void storeCachedTeacher(const std::string& path, const std::string& key, KdNetImpl& net,
                        const ModelResult& result);

} // namespace kd
