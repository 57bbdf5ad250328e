// The trainer's enum names, in a file without LibTorch so the parsers (and their fuzz targets) link alone.
#include "kdcore/trainer.h"

namespace kd {

const char* roleName(Role role) {
    switch (role) {
    case Role::Teacher:
        return "teacher";
    case Role::Baseline:
        return "baseline";
    case Role::Student:
        return "student";
    }
    return "";
}

const char* phaseName(Phase phase) {
    switch (phase) {
    case Phase::Loading:
        return "loading";
    case Phase::Teacher:
        return "teacher";
    case Phase::TeacherLogits:
        return "teacher-logits";
    case Phase::Baseline:
        return "baseline";
    case Phase::Student:
        return "distilled";
    case Phase::Done:
        return "done";
    }
    return "";
}

} // namespace kd
