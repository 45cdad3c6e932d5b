// What every reader of a CycleCloud answer must do with any input, checked by the answer fuzz
// targets (cluster_status, create_result, management_result, operations): never crash, and
//
// * text that is not JSON, or JSON that is not an object, is "malformed response from
//   CycleCloud: <what> is not a JSON object: '<excerpt>'" (or the depth error, when the
//   nesting goes too deep before the syntax does);
// * JSON nested deeper than cb::k_max_answer_depth is "<what> is nested deeper than 128
//   levels", whatever else is wrong with it;
// * any other error is k_transient and starts "malformed response from CycleCloud: ".
//
// nlohmann::json::accept is the reference for "is JSON" (it keeps no tree and no recursion).
#pragma once

#include <nlohmann/json.hpp>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "adapters/cyclecloud_rest.h"

namespace answer_checks {

inline void fail(const std::string& why, const std::string& body) {
    std::fprintf(stderr, "%s\ninput: %.2000s\n", why.c_str(), body.c_str());
    std::abort();
}

// The deepest nesting of objects and lists in `body`, which must be valid JSON. nlohmann reads
// a NUL byte outside a string as the end of the text ("{}\0[[[" is "{}"), so this does too.
inline int nesting(std::string_view body) {
    int depth = 0;
    int deepest = 0;
    bool in_string = false;
    for (std::size_t i = 0; i < body.size(); ++i) {
        const char c = body[i];
        if (c == '\0' && !in_string) {
            break;
        }
        if (in_string) {
            if (c == '\\') {
                ++i;
            } else if (c == '"') {
                in_string = false;
            }
        } else if (c == '"') {
            in_string = true;
        } else if (c == '{' || c == '[') {
            deepest = std::max(deepest, ++depth);
        } else if (c == '}' || c == ']') {
            --depth;
        }
    }
    return deepest;
}

enum class Shape { k_not_json, k_too_deep, k_not_object, k_object };

inline Shape shape_of(const std::string& body) {
    if (!nlohmann::json::accept(body)) {
        return Shape::k_not_json;
    }
    if (nesting(body) > cb::k_max_answer_depth) {
        return Shape::k_too_deep;
    }
    const auto first = body.find_first_not_of(" \t\r\n");
    return body[first] == '{' ? Shape::k_object : Shape::k_not_object;
}

// Checks `result` (of any cb::Result<T>) against the rules above; returns the input's shape
// so that a target can check more of an accepted object.
template <typename R>
Shape check(const R& result, const std::string& body, const std::string& what) {
    const std::string prefix = "malformed response from CycleCloud: ";
    const std::string not_object =
        prefix + what + " is not a JSON object: '" + cb::excerpt(body) + "'";
    const std::string too_deep = prefix + what + " is nested deeper than 128 levels";
    const Shape shape = shape_of(body);
    if (!result) {
        const cb::Error& e = result.error();
        if (e.kind != cb::ErrorKind::k_transient || e.message.rfind(prefix, 0) != 0) {
            fail("an error that is not a malformed answer: " + e.message, body);
        }
    }
    switch (shape) {
        case Shape::k_not_json:
            if (result ||
                (result.error().message != not_object && result.error().message != too_deep)) {
                fail("text that is not JSON: " +
                         (result ? std::string("accepted") : result.error().message),
                     body);
            }
            break;
        case Shape::k_too_deep:
            if (result || result.error().message != too_deep) {
                fail("JSON nested too deep: " +
                         (result ? std::string("accepted") : result.error().message),
                     body);
            }
            break;
        case Shape::k_not_object:
            if (result || result.error().message != not_object) {
                fail("JSON that is not an object: " +
                         (result ? std::string("accepted") : result.error().message),
                     body);
            }
            break;
        case Shape::k_object:
            if (!result &&
                (result.error().message == not_object || result.error().message == too_deep)) {
                fail("a JSON object refused as " + result.error().message, body);
            }
            break;
    }
    return shape;
}

}  // namespace answer_checks
