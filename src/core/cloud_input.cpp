#include "core/cloud_input.h"

#include <algorithm>

#include "util/sanitize.h"

namespace cb {

namespace {

constexpr std::string_view k_rule = "(1 to 63 letters, digits, '.', '_' or '-')";

void clean(std::string& text) {
    if (without_control_chars(text) != text) {
        text = without_control_chars(text);
    }
}

// Why a node record is dropped, or "" to keep it.
std::string unusable(const CloudNode& n) {
    if (!is_plain_name(n.name)) {
        return "its name is not a plain node name " + std::string(k_rule);
    }
    if (!n.nodearray.empty() && !is_plain_name(n.nodearray)) {
        return "its node array '" + escaped(n.nodearray) + "' is not a plain name " +
               std::string(k_rule);
    }
    return "";
}

}  // namespace

std::vector<std::string> screen_cloud_nodes(std::vector<CloudNode>& nodes) {
    std::vector<std::string> warnings;
    std::erase_if(nodes, [&](const CloudNode& n) {
        const std::string why = unusable(n);
        if (!why.empty()) {
            warnings.push_back("cyclecloud: ignoring the node record '" + escaped(n.name) +
                               "': " + why);
        }
        return !why.empty();
    });
    for (auto& n : nodes) {
        if (!n.private_ip.empty() && !is_ip_address(n.private_ip)) {
            warnings.push_back("cyclecloud: node " + n.name + ": ignoring its PrivateIp '" +
                               escaped(n.private_ip) + "': not an IP address");
            n.private_ip.clear();
        }
        for (std::string* text : {&n.node_id, &n.machine_type, &n.status_text, &n.target_state,
                                  &n.hostname, &n.instance_id, &n.status_message}) {
            clean(*text);
        }
    }
    return warnings;
}

std::vector<std::string> screen_node_arrays(std::vector<NodeArray>& arrays) {
    std::vector<std::string> warnings;
    std::erase_if(arrays, [&](const NodeArray& a) {
        std::string why;
        if (!is_plain_name(a.name)) {
            why = "its name is not a plain name " + std::string(k_rule);
        } else if (!a.machine_type.empty() && !is_plain_name(a.machine_type)) {
            why = "its VM size '" + escaped(a.machine_type) + "' is not a plain name " +
                  std::string(k_rule);
        }
        if (!why.empty()) {
            warnings.push_back("cyclecloud: ignoring the node array '" + escaped(a.name) +
                               "': " + why);
        }
        return !why.empty();
    });
    for (auto& a : arrays) {
        clean(a.region);
        for (auto& b : a.buckets) {
            clean(b.invalid_reason);
            if (!b.machine_type.empty() && !is_plain_name(b.machine_type)) {
                // Valid or not, its size names a node range (reasons, `status`): escaped.
                b.machine_type = escaped(b.machine_type);
                warnings.push_back("cyclecloud: node array " + a.name +
                                   ": ignoring the bucket of VM size '" + b.machine_type +
                                   "': not a plain name " + std::string(k_rule));
                if (b.valid) {
                    b.valid = false;
                    b.invalid_reason = "VM size is not a plain name";
                }
            }
        }
    }
    return warnings;
}

}  // namespace cb
