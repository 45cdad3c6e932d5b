// libFuzzer target for the cluster status reader (`GET /clusters/{c}/status`: node arrays and
// their buckets; what `cloudburst scale` and every daemon pass read). Run:
// scripts/fuzz.sh cluster_status SECONDS. The rules are in answer_checks.h; besides, every
// node array taken has a name.
#include <cstdint>
#include <string>

#include "adapters/cyclecloud_rest.h"
#include "answer_checks.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string body(reinterpret_cast<const char*>(data), size);
    const auto arrays = cb::parse_cluster_status(body);
    answer_checks::check(arrays, body, "cluster status");
    if (arrays) {
        for (const auto& a : *arrays) {
            if (a.name.empty()) {
                answer_checks::fail("a node array without a name", body);
            }
        }
    }
    return 0;
}
