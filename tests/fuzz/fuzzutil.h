#pragma once
// Shared by the libFuzzer targets: what counts as a finding, and how it is reported.
//
// kd::Error is the parsers' documented way to refuse an input, so it is expected. Any other exception, or a
// broken invariant (a round trip that changes a value), aborts: libFuzzer then saves the input as a crash.

#include "kdcore/error.h"

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

namespace fuzz {

// KDLAB_FUZZ_VERBOSE=1 prints every refusal: handy to check why a seed does not get past the parser.
inline bool verbose() {
    static const bool on = [] {
        const char* v = std::getenv("KDLAB_FUZZ_VERBOSE");
        return v && *v && *v != '0';
    }();
    return on;
}

[[noreturn]] inline void fail(const std::string& what) {
    std::fprintf(stderr, "==kdlab-fuzz== FINDING: %s\n", what.c_str());
    std::fflush(stderr);
    std::abort();
}

// Runs `f`; returns true when it returned normally, false on kd::Error. Anything else is a finding.
template <typename F> bool accepts(const char* step, F&& f) {
    try {
        f();
        return true;
    } catch (const kd::Error& e) {
        if (verbose())
            std::fprintf(stderr, "%s: kd::Error: %s\n", step, e.what());
        return false;
    } catch (const std::exception& e) {
        fail(std::string(step) + ": exception other than kd::Error: " + e.what());
    } catch (...) {
        fail(std::string(step) + ": unknown exception (not a std::exception)");
    }
}

// Like accepts(), for a step that must succeed (e.g. reading back what was just written): kd::Error too is a
// finding.
template <typename F> void mustSucceed(const char* step, F&& f) {
    try {
        f();
    } catch (const std::exception& e) {
        fail(std::string(step) + ": must succeed but threw: " + e.what());
    } catch (...) {
        fail(std::string(step) + ": must succeed but threw an unknown exception");
    }
}

inline void check(bool ok, const std::string& what) {
    if (!ok)
        fail(what);
}

} // namespace fuzz
