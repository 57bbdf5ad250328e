#pragma once
// Internal: a bound on how deep a parsed JSON value nests, checked before anything recurses through it
// (dump, the readers): a small file nested 100,000 deep would overflow the stack.
#include <nlohmann/json.hpp>

namespace kd {

// True when `v` nests more than `levels` arrays/objects deep (the recursion stops there).
inline bool nestedDeeperThan(const nlohmann::json& v, int levels) {
    if (!v.is_structured())
        return false;
    if (levels == 0)
        return true;
    for (const nlohmann::json& e : v)
        if (nestedDeeperThan(e, levels - 1))
            return true;
    return false;
}

} // namespace kd
