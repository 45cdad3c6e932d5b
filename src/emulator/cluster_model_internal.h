// Internals shared by the files of ClusterModel (not part of the emulator's interface).
//
// The model is split by concern:
//   cluster_model.cpp            construction, operations, usage, names of enums
//   cluster_model_limits.cpp     node array / cluster limits, quota, capacity, status()
//   cluster_model_placement.cpp  create and scale: which array, bucket, name and group
//   cluster_model_lifecycle.cpp  management calls, state machine, backend completions
//   cluster_model_faults.cpp     node faults (eviction, ...)
#pragma once

#include <fmt/format.h>

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "emulator/cluster_model.h"
#include "util/text.h"

namespace cb::emulator::detail {

// A node array or cluster without MaxCount/MaxCoreCount still reports a finite maximum.
inline constexpr std::int64_t k_no_limit_count = 100'000;

// Invalid input to the API (HTTP 409).
Error invalid(std::string message);

// m[key], or 0 when absent.
inline std::int64_t used(const std::map<std::string, std::int64_t>& m, const std::string& key) {
    const auto it = m.find(key);
    return it == m.end() ? std::int64_t{0} : it->second;
}

// Azure's answer when a request would pass a core quota (`what`: "Low Priority Cores", ...).
inline std::string quota_exceeded(std::string_view what, const std::string& region,
                                  std::int64_t limit, std::int64_t usage, int required) {
    return fmt::format(
        "QuotaExceeded: Operation could not be completed as it results in exceeding approved {} "
        "quota. Location: {}, Current Limit: {}, Current Usage: {}, Additional Required: {}",
        what, region, limit, usage, required);
}

}  // namespace cb::emulator::detail

namespace cb::emulator {

// Cores by Azure quota pool: Spot per region, else per region and VM family and per region.
struct ClusterModel::QuotaPools {
    std::map<std::string, std::int64_t> family_cores;    // "region/family"
    std::map<std::string, std::int64_t> regional_cores;  // region
    std::map<std::string, std::int64_t> spot_cores;      // region

    void add_cores(const ClusterModel& model, const Node& node) {
        const Sku& sku = model.sku_of(node);
        const auto& array = model.m_definition.node_arrays[node.array];
        if (array.interruptible) {
            spot_cores[array.region] += sku.vcpus;
        } else {
            family_cores[array.region + "/" + sku.family] += sku.vcpus;
            regional_cores[array.region] += sku.vcpus;
        }
    }
};

// Counts the limits and quota pools depend on, in one pass over the nodes; create and start
// update it as they add nodes, so a large request stays linear. The pools count the nodes
// that consume quota.
struct ClusterModel::Tally : QuotaPools {
    std::vector<std::int64_t> array_count;  // active
    std::vector<std::int64_t> array_cores;
    std::int64_t cluster_count = 0;
    std::int64_t cluster_cores = 0;
    std::map<std::pair<std::size_t, std::string>, std::int64_t> placement_group;

    void add_active(const ClusterModel& model, const Node& node) {
        const int vcpus = model.sku_of(node).vcpus;
        array_count[node.array] += 1;
        array_cores[node.array] += vcpus;
        cluster_count += 1;
        cluster_cores += vcpus;
        if (!node.placement_group_id.empty()) {
            placement_group[{node.array, node.placement_group_id}] += 1;
        }
    }
    void add_consuming(const ClusterModel& model, const Node& node) { add_cores(model, node); }
};

// What Azure holds: the VMs that exist or are being created, by VM size and quota pool. The
// capacity and azure-quota faults (CycleCloud knows neither) are checked against it at the
// end of Acquiring.
struct ClusterModel::Holdings : QuotaPools {
    std::map<std::string, std::int64_t> sku_vms;  // lower-case size

    void add(const ClusterModel& model, const Node& node) {
        add_cores(model, node);
        sku_vms[to_lower(model.sku_of(node).name)] += 1;
    }
};

}  // namespace cb::emulator
