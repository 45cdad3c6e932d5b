#include "emulator/cluster_model.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "emulator/cluster_model_internal.h"
#include "util/text.h"

namespace cb::emulator {

using detail::quota_exceeded;
using detail::used;

namespace {

// Azure's Scheduled Events give a Spot VM at least 30 seconds before it is evicted.
constexpr std::chrono::seconds k_eviction_notice{30};

void count(std::array<std::uint64_t, k_fault_kind_count>& counts, FaultKind kind) {
    counts[static_cast<std::size_t>(kind)] += 1;
}

// Azure Resource Manager's AllocationFailed, as the node's StatusMessage shows it.
std::string allocation_failed(const std::string& size, const std::string& region) {
    return fmt::format(
        "AllocationFailed: We do not have sufficient capacity for the requested VM size {} in "
        "region {}. Please try another size or deploy to a different location or zone.",
        size, region);
}

}  // namespace

// ---- what Azure refuses after CycleCloud accepted the create -------------------------------

ClusterModel::Holdings ClusterModel::holdings() const {
    Holdings h;
    for (const auto& [name, node] : m_nodes) {
        if (node.holding()) {
            h.add(*this, node);
        }
    }
    return h;
}

std::optional<std::int64_t> ClusterModel::azure_quota(const std::string& pool) const {
    const auto it = m_options.faults.azure_quota.find(pool);
    if (it == m_options.faults.azure_quota.end()) {
        return std::nullopt;
    }
    return it->second;
}

std::string ClusterModel::allocation_problem(const Node& node, const Holdings& h, Time now) {
    const auto& array = m_definition.node_arrays[node.array];
    BucketState& state = m_buckets[node.array][node.bucket];
    const Sku& sku = state.sku;
    const auto cap = m_options.faults.capacity.find(to_lower(sku.name));
    if (cap != m_options.faults.capacity.end() &&
        used(h.sku_vms, to_lower(sku.name)) + 1 > cap->second) {
        count(m_fault_counts, FaultKind::k_capacity);
        state.last_capacity_failure = now;
        return allocation_failed(sku.name, array.region);
    }
    auto exceeded = [&](std::string_view what, std::int64_t limit, std::int64_t usage) {
        count(m_fault_counts, FaultKind::k_azure_quota);
        return quota_exceeded(what, array.region, limit, usage, sku.vcpus);
    };
    if (array.interruptible) {
        const auto limit = azure_quota("spot");
        const std::int64_t usage = used(h.spot_cores, array.region) + external_load("spot");
        if (limit && usage + sku.vcpus > *limit) {
            return exceeded("Low Priority Cores", *limit, usage);
        }
        return "";
    }
    const std::int64_t family_usage =
        used(h.family_cores, array.region + "/" + sku.family) + external_load(sku.family);
    if (const auto limit = azure_quota(sku.family); limit && family_usage + sku.vcpus > *limit) {
        return exceeded(sku.family + " Cores", *limit, family_usage);
    }
    const std::int64_t regional_usage =
        used(h.regional_cores, array.region) + external_load("regional");
    if (const auto limit = azure_quota("regional"); limit && regional_usage + sku.vcpus > *limit) {
        return exceeded("Total Regional Cores", *limit, regional_usage);
    }
    return "";
}

std::string ClusterModel::allocation_stall(Node& node, const Holdings& h, Time now) {
    BucketState& state = m_buckets[node.array][node.bucket];
    const std::string size = to_lower(state.sku.name);
    const auto stall = m_options.faults.acquire_stall.find(size);
    if (stall == m_options.faults.acquire_stall.end() ||
        used(h.sku_vms, size) + 1 <= stall->second) {
        return "";
    }
    // Counted once per node that stalls, however often CycleCloud retries it.
    if (!node.status_message.starts_with("AllocationFailed")) {
        count(m_fault_counts, FaultKind::k_acquire_stall);
    }
    state.last_capacity_failure = now;
    return allocation_failed(state.sku.name, m_definition.node_arrays[node.array].region);
}

// ---- faults that happen over time -----------------------------------------------------------

void ClusterModel::advance_faults(Node& node, Time now, double evict_chance) {
    if (node.evict_at && now >= *node.evict_at) {
        evict_node(node, now);
        return;
    }
    if (evict_chance > 0 && node.status == NodeStatus::k_ready &&
        m_definition.node_arrays[node.array].interruptible && draw(evict_chance)) {
        evict_node(node, now);
    }
}

// ---- one-shot faults --------------------------------------------------------------------------

Result<std::vector<std::string>> ClusterModel::inject(const OneShotFault& fault, Time now) {
    const char* what = "evict";
    switch (fault.kind) {
        case OneShotKind::k_evict:
            break;
        case OneShotKind::k_evict_notice:
            what = "evict-notice";
            break;
        case OneShotKind::k_ready_fail:
            what = "ready-fail";
            break;
        case OneShotKind::k_status:
        case OneShotKind::k_keep_alive: {
            const auto it = m_nodes.find(fault.node);
            const char* kind = fault.kind == OneShotKind::k_status ? "status" : "keep-alive";
            if (it == m_nodes.end()) {
                return make_error(ErrorKind::k_not_found,
                                  fmt::format("{}: no node named {}", kind, fault.node));
            }
            Node& node = it->second;
            if (fault.kind == OneShotKind::k_keep_alive) {
                node.keep_alive = fault.value == "true";
            } else {
                count(m_fault_counts, FaultKind::k_status);
                node.status =
                    fault.value == "Started" ? NodeStatus::k_started : NodeStatus::k_unavailable;
            }
            return std::vector<std::string>{node.name};
        }
    }
    // The rest act on Ready nodes: the named one, or `count` of them (Spot first).
    auto eligible = [&](const Node& node) {
        return node.status == NodeStatus::k_ready &&
               (fault.kind != OneShotKind::k_evict_notice || !node.evict_at);
    };
    std::vector<Node*> victims;
    if (!fault.node.empty()) {
        const auto it = m_nodes.find(fault.node);
        if (it == m_nodes.end() || !eligible(it->second)) {
            return make_error(ErrorKind::k_not_found,
                              fmt::format("{}: no Ready node named {}", what, fault.node));
        }
        victims.push_back(&it->second);
    } else {
        // Spot nodes first, as Azure would; then any Ready node.
        for (const bool spot : {true, false}) {
            for (auto& [name, node] : m_nodes) {
                if (static_cast<std::int64_t>(victims.size()) >= fault.count) {
                    break;
                }
                if (eligible(node) && m_definition.node_arrays[node.array].interruptible == spot) {
                    victims.push_back(&node);
                }
            }
        }
    }
    std::vector<std::string> names;
    for (Node* node : victims) {
        names.push_back(node->name);
        switch (fault.kind) {
            case OneShotKind::k_evict:
                evict_node(*node, now);
                break;
            case OneShotKind::k_evict_notice:
                count(m_fault_counts, FaultKind::k_evict_notice);
                node->evict_at = now + k_eviction_notice;
                node->status_message = fmt::format(
                    "Preempt: Azure Scheduled Events: this Spot VM will be evicted in {} s",
                    k_eviction_notice.count());
                break;
            case OneShotKind::k_ready_fail:
                count(m_fault_counts, FaultKind::k_ready_fail);
                fail(*node,
                     "HealthCheck failed: the node reported an error while Ready (injected "
                     "fault); its VM is still running");
                break;
            case OneShotKind::k_status:
            case OneShotKind::k_keep_alive:
                break;
        }
    }
    return names;
}

void ClusterModel::evict_node(Node& node, Time now) {
    count(m_fault_counts, FaultKind::k_evict);
    node.status = NodeStatus::k_terminating;
    node.target = TargetState::k_terminated;
    node.status_message = "Evicted: Azure reclaimed the Spot VM";
    node.destroy_due = true;
    node.evict_at.reset();
    node.phase_end = now;
}

}  // namespace cb::emulator
