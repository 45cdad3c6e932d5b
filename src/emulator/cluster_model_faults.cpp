#include "emulator/cluster_model.h"

#include <algorithm>

#include <fmt/format.h>

#include "emulator/cluster_model_internal.h"
#include "util/text.h"

namespace cb::emulator {

Result<std::vector<std::string>> ClusterModel::evict(const EvictRequest& request, Time now) {
    std::vector<Node*> victims;
    if (!request.node.empty()) {
        const auto it = m_nodes.find(request.node);
        if (it == m_nodes.end() || it->second.status != NodeStatus::k_ready) {
            return make_error(ErrorKind::k_not_found,
                              fmt::format("evict: no Ready node named {}", request.node));
        }
        victims.push_back(&it->second);
    } else {
        // Spot nodes first, as Azure would; then any Ready node.
        for (const bool spot : {true, false}) {
            for (auto& [name, node] : m_nodes) {
                if (static_cast<std::int64_t>(victims.size()) >= request.count) {
                    break;
                }
                if (node.status == NodeStatus::k_ready &&
                    m_definition.node_arrays[node.array].interruptible == spot) {
                    victims.push_back(&node);
                }
            }
        }
    }
    std::vector<std::string> names;
    for (Node* node : victims) {
        names.push_back(node->name);
        evict_node(*node, now);
    }
    return names;
}

void ClusterModel::evict_node(Node& node, Time now) {
    m_fault_counts[static_cast<std::size_t>(FaultKind::k_evict)] += 1;
    node.status = NodeStatus::k_terminating;
    node.target = TargetState::k_terminated;
    node.status_message = "Evicted: Azure reclaimed the Spot VM";
    node.destroy_due = true;
    node.phase_end = now;
}

}  // namespace cb::emulator
