// libFuzzer target for the reader of an operation's nodes (`GET /clusters/{c}/nodes?operation=`,
// read after every create, start and shutdown), which is the node list reader as the client
// calls it: the fast path, and the general reader when the fast path declines. Run:
// scripts/fuzz.sh operations SECONDS. The rules are in answer_checks.h; besides, every node
// taken has a name. (node_list_fuzz checks the two readers against each other.)
#include <cstdint>
#include <string>

#include "adapters/cyclecloud_node_list.h"
#include "adapters/cyclecloud_rest.h"
#include "answer_checks.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string body(reinterpret_cast<const char*>(data), size);
    const auto nodes = cb::parse_node_list_streaming(body);
    answer_checks::check(nodes, body, "node list");
    if (nodes) {
        for (const auto& n : *nodes) {
            if (n.name.empty()) {
                answer_checks::fail("a node without a name", body);
            }
        }
    }
    return 0;
}
