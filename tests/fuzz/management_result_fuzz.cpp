// libFuzzer target for the management result reader (the answer to `POST nodes/start`,
// `shutdown`, `terminate` or `deallocate`). Run: scripts/fuzz.sh management_result SECONDS.
// The rules are in answer_checks.h; besides, an object is always taken.
#include <cstdint>
#include <string>

#include "adapters/cyclecloud_rest.h"
#include "answer_checks.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string body(reinterpret_cast<const char*>(data), size);
    const auto result = cb::parse_management_result(body, "shutdown");
    const auto shape = answer_checks::check(result, body, "shutdown result");
    if (shape == answer_checks::Shape::k_object && !result) {
        answer_checks::fail("an object refused: " + result.error().message, body);
    }
    return 0;
}
