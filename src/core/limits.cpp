#include "core/limits.h"

#include <algorithm>

#include "core/node_range.h"
#include "util/sanitize.h"

namespace cb {

namespace {

// Limits CycleCloud reports as this large or larger are "none".
constexpr long k_unlimited = 100000;

void add_count(BucketLimits& out, std::string name, long used, long limit) {
    if (limit <= 0 || limit >= k_unlimited) {
        return;
    }
    out.limits.push_back({std::move(name), "nodes", used, limit, std::max(0L, limit - used)});
}

// `zero_is_none`: a MaxCoreCount of 0 is "not set"; a quota of 0 is a quota of 0.
void add_cores(BucketLimits& out, std::string name, long used, long limit,
               bool zero_is_none = true) {
    if (limit < 0 || (limit == 0 && zero_is_none) || used < 0 || limit >= k_unlimited * 64 ||
        out.vcpus <= 0) {
        return;
    }
    out.limits.push_back(
        {std::move(name), "cores", used, limit, std::max(0L, (limit - used) / out.vcpus)});
}

}  // namespace

std::vector<BucketLimits> burst_limits(const std::vector<NodeArray>& arrays,
                                       const ClusterLimits& cluster,
                                       const std::map<std::string, ArrayHealth>& health,
                                       std::int64_t now_ms) {
    long cluster_active = 0;
    long cluster_active_cores = 0;
    for (const auto& a : arrays) {
        for (const auto& b : a.buckets) {
            cluster_active += b.active_count;
            cluster_active_cores += std::max(0, b.active_core_count);
        }
    }
    std::vector<BucketLimits> out;
    for (const auto& a : arrays) {
        long array_active = 0;
        long array_active_cores = 0;
        for (const auto& b : a.buckets) {
            array_active += b.active_count;
            array_active_cores += std::max(0, b.active_core_count);
        }
        for (const auto& b : a.buckets) {
            BucketLimits row;
            row.nodearray = a.name;
            row.vm_size = b.machine_type;
            row.spot = a.interruptible;
            row.vcpus = b.vcpu_count;
            row.available = b.available_count;
            row.max_placement_group_size = b.max_placement_group_size;
            row.last_capacity_failure_seconds = b.last_capacity_failure_seconds;
            // The most specific cause first: on a tie it is the one named as binding (the
            // bucket's counts fold the array's and cluster's limits in).
            add_count(row, "node array MaxCount", array_active, a.max_count);
            add_cores(row, "node array MaxCoreCount", array_active_cores, a.max_core_count);
            add_count(row, "cluster MaxCount", cluster_active, cluster.max_count);
            add_cores(row, "cluster MaxCoreCount", cluster_active_cores, cluster.max_core_count);
            if (a.interruptible) {
                add_cores(row, "Spot quota (regional)", b.consumed_core_count, b.quota_core_count,
                          false);
            } else {
                add_cores(row, "family quota", b.family_consumed_core_count,
                          b.family_quota_core_count, false);
                add_cores(row, "regional quota", b.regional_consumed_core_count,
                          b.regional_quota_core_count, false);
            }
            add_count(row, "bucket MaxCount", b.active_count, b.max_count);
            add_cores(row, "bucket MaxCoreCount", b.active_core_count, b.max_core_count);
            // CycleCloud's own answer, which folds all of the above in.
            row.limits.push_back(
                {"CycleCloud availableCount", "nodes", 0, 0, std::max(0, b.available_count)});
            const auto least = std::min_element(row.limits.begin(), row.limits.end(),
                                                [](const BurstLimit& x, const BurstLimit& y) {
                                                    return x.room_nodes < y.room_nodes;
                                                });
            row.room_nodes = least->room_nodes;
            row.binding = least->name;
            // Health is per VM size (node range): a stock-out of one size is that size's.
            const std::string range = node_range_name(a, b.machine_type);
            row.range = range;
            const ArrayHealth* h = range_health(health, range.empty() ? a.name : range, a.name);
            if (!b.valid) {
                row.binding = "invalid: " + without_control_chars(b.invalid_reason);
                row.room_nodes = 0;
            } else if (h != nullptr && h->until_ms > now_ms) {
                row.binding = h->budget      ? "budget: " + h->reason
                              : h->bootstrap ? "bootstrap breaker: " + h->reason
                                             : "backoff: " + h->reason;
                row.room_nodes = 0;
            }
            out.push_back(std::move(row));
        }
    }
    return out;
}

}  // namespace cb
