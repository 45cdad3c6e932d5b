#include "emulator/cluster_model.h"

#include <algorithm>

#include <fmt/format.h>

#include "emulator/cluster_model_internal.h"
#include "util/text.h"

namespace cb::emulator {

using detail::k_no_limit_count;
using detail::quota_exceeded;
using detail::used;

ClusterModel::Tally ClusterModel::tally() const {
    Tally t;
    t.array_count.assign(m_definition.node_arrays.size(), 0);
    t.array_cores.assign(m_definition.node_arrays.size(), 0);
    for (const auto& [name, node] : m_nodes) {
        if (node.active()) {
            t.add_active(*this, node);
        }
        if (node.consuming()) {
            t.add_consuming(*this, node);
        }
    }
    return t;
}

// ---- limits, quota, capacity --------------------------------------------------------------

std::int64_t ClusterModel::family_quota(const std::string& region,
                                        const std::string& family) const {
    if (const auto it = m_options.faults.quota.find(family); it != m_options.faults.quota.end()) {
        return it->second;
    }
    const auto& q = m_options.quota;
    if (const auto it = q.family_cores.find(region + "/" + family); it != q.family_cores.end()) {
        return it->second;
    }
    if (const auto it = q.family_cores.find(family); it != q.family_cores.end()) {
        return it->second;
    }
    return q.default_family_cores;
}

std::int64_t ClusterModel::regional_quota(const std::string& region) const {
    if (const auto it = m_options.faults.quota.find("regional");
        it != m_options.faults.quota.end()) {
        return it->second;
    }
    const auto& q = m_options.quota;
    const auto it = q.regional_cores.find(region);
    return it == q.regional_cores.end() ? q.default_regional_cores : it->second;
}

std::int64_t ClusterModel::spot_quota(const std::string& region) const {
    if (const auto it = m_options.faults.quota.find("spot"); it != m_options.faults.quota.end()) {
        return it->second;
    }
    const auto& q = m_options.quota;
    const auto it = q.spot_cores.find(region);
    return it == q.spot_cores.end() ? q.default_spot_cores : it->second;
}

std::int64_t ClusterModel::external_load(const std::string& pool) const {
    return used(m_options.faults.external_load, pool);
}

std::string ClusterModel::limit_problem(const Tally& t, std::size_t array_index, std::size_t bucket,
                                        const std::string& pg) const {
    const auto& array = m_definition.node_arrays[array_index];
    const int vcpus = m_buckets[array_index][bucket].sku.vcpus;
    if (array.max_count && t.array_count[array_index] + 1 > *array.max_count) {
        return fmt::format("nodearray {} would exceed its MaxCount of {} ({} nodes active)",
                           array.name, *array.max_count, t.array_count[array_index]);
    }
    if (array.max_core_count && t.array_cores[array_index] + vcpus > *array.max_core_count) {
        return fmt::format(
            "nodearray {} would exceed its MaxCoreCount of {} ({} cores active, {} has {})",
            array.name, *array.max_core_count, t.array_cores[array_index],
            m_buckets[array_index][bucket].sku.name, vcpus);
    }
    if (m_definition.max_count && t.cluster_count + 1 > *m_definition.max_count) {
        return fmt::format("cluster {} would exceed its MaxCount of {} ({} nodes active)",
                           m_definition.name, *m_definition.max_count, t.cluster_count);
    }
    if (m_definition.max_core_count && t.cluster_cores + vcpus > *m_definition.max_core_count) {
        return fmt::format("cluster {} would exceed its MaxCoreCount of {} ({} cores active)",
                           m_definition.name, *m_definition.max_core_count, t.cluster_cores);
    }
    if (!pg.empty()) {
        const auto it = t.placement_group.find({array_index, pg});
        const std::int64_t in_group = it == t.placement_group.end() ? 0 : it->second;
        if (in_group + 1 > array.max_scaleset_size) {
            return fmt::format(
                "placement group {} is full ({} VMs, the Azure.MaxScalesetSize of "
                "nodearray {})",
                pg, array.max_scaleset_size, array.name);
        }
    }
    return "";
}

std::string ClusterModel::quota_problem(const Tally& t, std::size_t array_index,
                                        std::size_t bucket) {
    const auto& array = m_definition.node_arrays[array_index];
    const Sku& sku = m_buckets[array_index][bucket].sku;
    auto exceeded = [&](std::string_view what, std::int64_t limit, std::int64_t usage) {
        m_fault_counts[static_cast<std::size_t>(FaultKind::k_quota)] += 1;
        return quota_exceeded(what, array.region, limit, usage, sku.vcpus);
    };
    if (array.interruptible) {
        const std::int64_t limit = spot_quota(array.region);
        const std::int64_t usage = used(t.spot_cores, array.region) + external_load("spot");
        if (usage + sku.vcpus > limit) {
            return exceeded("Low Priority Cores", limit, usage);
        }
    } else {
        const std::int64_t family_limit = family_quota(array.region, sku.family);
        const std::int64_t family_usage =
            used(t.family_cores, array.region + "/" + sku.family) + external_load(sku.family);
        if (family_usage + sku.vcpus > family_limit) {
            return exceeded(sku.family + " Cores", family_limit, family_usage);
        }
        const std::int64_t regional_limit = regional_quota(array.region);
        const std::int64_t regional_usage =
            used(t.regional_cores, array.region) + external_load("regional");
        if (regional_usage + sku.vcpus > regional_limit) {
            return exceeded("Total Regional Cores", regional_limit, regional_usage);
        }
    }
    return "";
}

// ---- status and reports -------------------------------------------------------------------

ClusterStatus ClusterModel::status(Time now) const {
    const Tally t = tally();
    struct BucketCounts {
        std::int64_t active = 0;
        std::int64_t started = 0;
        std::map<std::string, std::int64_t> groups;
        std::vector<std::string> active_nodes;
    };
    std::vector<std::vector<BucketCounts>> counts(m_buckets.size());
    std::vector<std::int64_t> array_started(m_buckets.size(), 0);
    std::vector<std::int64_t> array_started_cores(m_buckets.size(), 0);
    std::int64_t cluster_started = 0;
    std::int64_t cluster_started_cores = 0;
    for (std::size_t a = 0; a < m_buckets.size(); ++a) {
        counts[a].resize(m_buckets[a].size());
    }
    for (const auto& [name, node] : m_nodes) {
        BucketCounts& c = counts[node.array][node.bucket];
        const int vcpus = sku_of(node).vcpus;
        if (node.active()) {
            c.active += 1;
            c.active_nodes.push_back(name);
            if (!node.placement_group_id.empty()) {
                c.groups[node.placement_group_id] += 1;
            }
        }
        if (node.started()) {
            c.started += 1;
            array_started[node.array] += 1;
            array_started_cores[node.array] += vcpus;
            cluster_started += 1;
            cluster_started_cores += vcpus;
        }
    }

    ClusterStatus out;
    std::int64_t sum_count = 0;
    std::int64_t sum_cores = 0;
    for (std::size_t a = 0; a < m_buckets.size(); ++a) {
        const auto& def = m_definition.node_arrays[a];
        NodeArrayStatus array;
        array.definition = &def;
        std::int64_t widest_count = 0;
        std::int64_t widest_cores = 0;
        for (std::size_t b = 0; b < m_buckets[a].size(); ++b) {
            const BucketState& state = m_buckets[a][b];
            const Sku& sku = state.sku;
            const std::int64_t v = sku.vcpus;
            BucketStatus bucket;
            bucket.bucket_id = state.bucket_id;
            bucket.machine_type = def.machine_types[b];
            bucket.sku = &sku;
            std::int64_t max = k_no_limit_count;
            for (const auto& limit : {def.max_count, m_definition.max_count}) {
                if (limit) {
                    max = std::min(max, *limit);
                }
            }
            for (const auto& limit : {def.max_core_count, m_definition.max_core_count}) {
                if (limit) {
                    max = std::min(max, *limit / v);
                }
            }
            bucket.max_count = max;
            bucket.max_core_count = max * v;
            const BucketCounts& c = counts[a][b];
            bucket.active_count = c.active;
            bucket.active_core_count = c.active * v;
            for (const auto& [group, n] : c.groups) {
                bucket.placement_groups.push_back({group, n, n * v});
            }
            bucket.active_nodes = c.active_nodes;

            // Quota pools: a Spot bucket's family counts are 0 (CycleCloud zeroes them: Spot
            // has its own regional quota); quotaCoreCount accounts for the regional quota.
            std::int64_t family_limit = 0;
            std::int64_t family_used = 0;
            std::int64_t regional_limit = 0;
            std::int64_t regional_used = 0;
            if (def.interruptible) {
                regional_limit = spot_quota(def.region);
                regional_used = used(t.spot_cores, def.region) + external_load("spot");
                bucket.quota_core_count = regional_limit;
                bucket.consumed_core_count = regional_used;
            } else {
                family_limit = family_quota(def.region, sku.family);
                family_used =
                    used(t.family_cores, def.region + "/" + sku.family) + external_load(sku.family);
                regional_limit = regional_quota(def.region);
                regional_used = used(t.regional_cores, def.region) + external_load("regional");
                bucket.quota_core_count = std::min(family_limit, regional_limit);
                bucket.consumed_core_count = family_used;
            }
            bucket.quota_count = bucket.quota_core_count / v;
            bucket.family_quota_core_count = family_limit;
            bucket.family_quota_count = family_limit / v;
            bucket.family_consumed_core_count = family_used;
            bucket.regional_quota_core_count = regional_limit;
            bucket.regional_quota_count = regional_limit / v;
            bucket.regional_consumed_core_count = regional_used;
            if (const auto it = m_options.faults.invalid_buckets.find(to_lower(sku.name));
                it != m_options.faults.invalid_buckets.end()) {
                bucket.valid = false;
                bucket.invalid_reason = it->second;
            }
            if (def.interruptible) {
                const auto it = m_options.faults.spot_scores.find(to_lower(sku.name));
                bucket.spot_placement_score =
                    it == m_options.faults.spot_scores.end() ? "High" : it->second;
            }
            bucket.max_placement_group_size = def.max_scaleset_size;
            bucket.max_placement_group_core_size = def.max_scaleset_size * v;
            bucket.last_capacity_failure =
                state.last_capacity_failure
                    ? std::chrono::duration<double>(now - *state.last_capacity_failure).count()
                    : -1.0;

            // availableCount: from started nodes (CycleCloud ignores Terminating ones here).
            std::int64_t available = max - c.started;
            if (def.max_count) {
                available = std::min(available, *def.max_count - array_started[a]);
            }
            if (def.max_core_count) {
                available = std::min(available, (*def.max_core_count - array_started_cores[a]) / v);
            }
            if (m_definition.max_count) {
                available = std::min(available, *m_definition.max_count - cluster_started);
            }
            if (m_definition.max_core_count) {
                available =
                    std::min(available, (*m_definition.max_core_count - cluster_started_cores) / v);
            }
            if (!def.interruptible) {
                available = std::min(available, (family_limit - family_used) / v);
            }
            available = std::min(available, (regional_limit - regional_used) / v);
            bucket.available_count = bucket.valid ? std::max<std::int64_t>(0, available) : 0;
            bucket.available_core_count = bucket.available_count * v;
            widest_count = std::max(widest_count, bucket.max_count);
            widest_cores = std::max(widest_cores, bucket.max_core_count);
            array.buckets.push_back(std::move(bucket));
        }
        array.max_count = def.max_count.value_or(widest_count);
        array.max_core_count = def.max_core_count.value_or(widest_cores);
        sum_count += array.max_count;
        sum_cores += array.max_core_count;
        out.node_arrays.push_back(std::move(array));
    }
    out.state = m_options.faults.cluster_state;
    out.max_count = m_definition.max_count.value_or(sum_count);
    out.max_core_count = m_definition.max_core_count.value_or(sum_cores);
    return out;
}

}  // namespace cb::emulator
