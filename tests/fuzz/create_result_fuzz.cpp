// libFuzzer target for the create result reader (the answer to `POST nodes/create`). Run:
// scripts/fuzz.sh create_result SECONDS. The first byte is how many sets were asked for
// (0-7), the rest the answer. The rules are in answer_checks.h; besides, an object is always
// taken, with exactly one set result per set asked for.
#include <cstdint>
#include <string>

#include "adapters/cyclecloud_rest.h"
#include "answer_checks.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) {
        return 0;
    }
    const std::size_t requests = data[0] % 8;
    const std::string body(reinterpret_cast<const char*>(data + 1), size - 1);
    const auto result = cb::parse_create_result(body, requests);
    const auto shape = answer_checks::check(result, body, "create result");
    if (shape == answer_checks::Shape::k_object && !result) {
        answer_checks::fail("an object refused: " + result.error().message, body);
    }
    if (result && result->sets.size() != requests) {
        answer_checks::fail("not one set result per request", body);
    }
    return 0;
}
