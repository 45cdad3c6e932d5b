// libFuzzer target for the node-list readers (adapters/cyclecloud_node_list.h), differential:
// parse_node_list (the JSON tree) is the reference. Run: scripts/fuzz.sh node_list SECONDS
//
// For every input, the general reader must agree with the tree parser (both fail with the
// same message, or both give the same records), and the fast path with the general reader.
// The fast path may decline (std::nullopt), but what it answers must agree; above all it
// must never accept what the others reject.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "adapters/cyclecloud_node_list.h"
#include "adapters/cyclecloud_rest.h"

namespace {

using Nodes = cb::Result<std::vector<cb::CloudNode>>;

bool same_node(const cb::CloudNode& a, const cb::CloudNode& b) {
    return a.name == b.name && a.node_id == b.node_id && a.nodearray == b.nodearray &&
           a.machine_type == b.machine_type && a.status == b.status &&
           a.status_text == b.status_text && a.target_state == b.target_state &&
           a.private_ip == b.private_ip && a.hostname == b.hostname &&
           a.instance_id == b.instance_id && a.status_message == b.status_message &&
           a.keep_alive == b.keep_alive;
}

// A field read from an object or a list is "" for the readers and JSON text for the tree
// (documented in cyclecloud_node_list.h; a Name [] is then no Name at all): for such inputs
// the general reader is the reference, not the tree.
bool has_nested_field(const std::string& body) {
    for (const char* key : {"Name", "NodeId", "Template", "MachineType", "Status", "TargetState",
                            "PrivateIp", "Hostname", "InstanceId", "StatusMessage"}) {
        for (std::size_t at = body.find(key); at != std::string::npos;
             at = body.find(key, at + 1)) {
            const std::size_t v =
                body.find_first_not_of("\" \t\r\n:", at + std::string(key).size());
            if (v != std::string::npos && (body[v] == '{' || body[v] == '[')) {
                return true;
            }
        }
    }
    return false;
}

void expect_agrees(const Nodes& got, const Nodes& want, const char* who, const char* whom,
                   const std::string& body) {
    bool same = static_cast<bool>(got) == static_cast<bool>(want);
    if (same && !want) {
        same = got.error().message == want.error().message;
    } else if (same) {
        same = got->size() == want->size();
        for (std::size_t i = 0; same && i < want->size(); ++i) {
            same = same_node((*got)[i], (*want)[i]);
        }
    }
    if (!same) {
        std::fprintf(stderr, "%s disagrees with %s\ngot:  %s\nwant: %s\ninput: %s\n", who, whom,
                     got ? "records" : got.error().message.c_str(),
                     want ? "records" : want.error().message.c_str(), body.c_str());
        std::abort();
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string body(reinterpret_cast<const char*>(data), size);
    const Nodes general = cb::parse_node_list_general(body);
    if (!has_nested_field(body)) {
        expect_agrees(general, cb::parse_node_list(body), "the general reader", "the tree", body);
    }
    if (auto fast = cb::parse_node_list_fast(body)) {
        expect_agrees(*fast, general, "the fast path", "the general reader", body);
    }
    return 0;
}
