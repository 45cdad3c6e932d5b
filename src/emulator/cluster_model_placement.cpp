#include "emulator/cluster_model.h"

#include <algorithm>
#include <cctype>
#include <set>

#include <fmt/format.h>

#include "emulator/cluster_model_internal.h"
#include "util/text.h"

namespace cb::emulator {

using detail::invalid;

namespace {

// Checks a nameFormat and renders it for `index`: "%d" and "%0Nd" take the index, "%%" is a
// percent sign, anything else after '%' is refused. Without a directive the name is literal.
struct NameFormat {
    std::string prefix;
    std::string suffix;
    int width = 0;
    bool numbered = false;

    std::string render(std::int64_t index) const {
        if (!numbered) {
            return prefix;
        }
        return prefix + fmt::format("{:0{}d}", index, width) + suffix;
    }
};

Result<NameFormat> parse_name_format(std::string_view format) {
    NameFormat out;
    std::string* part = &out.prefix;
    for (std::size_t i = 0; i < format.size(); ++i) {
        if (format[i] != '%') {
            *part += format[i];
            continue;
        }
        std::size_t j = i + 1;
        if (j < format.size() && format[j] == '%') {
            *part += '%';
            i = j;
            continue;
        }
        int width = 0;
        while (j < format.size() && std::isdigit(static_cast<unsigned char>(format[j])) != 0) {
            width = width * 10 + (format[j] - '0');
            ++j;
        }
        if (j >= format.size() || format[j] != 'd' || out.numbered || width > 20) {
            return invalid(
                fmt::format("nameFormat '{}': only one %d (or %03d) is supported", format));
        }
        out.numbered = true;
        out.width = width;
        part = &out.suffix;
        i = j;
    }
    return out;
}

bool valid_node_name(std::string_view name) {
    return !name.empty() && name.size() <= 63 && std::all_of(name.begin(), name.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '_' || c == '.';
    });
}

}  // namespace

// ---- create -------------------------------------------------------------------------------

Result<CreateResult> ClusterModel::create_nodes(const CreateRequest& request, Time now) {
    if (Status st = check_request_id(request.request_id); !st) {
        return std::move(st).error();
    }
    if (request.sets.empty()) {
        return invalid("sets: give at least one set");
    }
    if (Status st = check_started("creating nodes"); !st) {
        return std::move(st).error();
    }
    // Validate every set before changing anything, so a bad set leaves no half-done request.
    std::vector<std::pair<std::size_t, std::size_t>> targets;
    for (std::size_t i = 0; i < request.sets.size(); ++i) {
        auto target = resolve_set(request.sets[i], i);
        if (!target) {
            return std::move(target).error();
        }
        targets.push_back(*target);
    }
    CreateResult result;
    Operation& op = new_operation("create", request.request_id, now);
    result.operation_id = op.id;
    Tally t = tally();
    for (std::size_t i = 0; i < request.sets.size(); ++i) {
        result.sets.push_back(
            create_set(request.sets[i], targets[i].first, targets[i].second, t, op, now));
    }
    std::set<std::size_t> asked;
    for (std::size_t i = 0; i < request.sets.size(); ++i) {
        CreateCount& c = m_creates[m_definition.node_arrays[targets[i].first].name];
        c.nodes += result.sets[i].added;
        if (asked.insert(targets[i].first).second) {
            c.requests += 1;
        }
    }
    return result;
}

Result<std::pair<std::size_t, std::size_t>> ClusterModel::resolve_set(const CreateSet& set,
                                                                      std::size_t index) const {
    const auto& arrays = m_definition.node_arrays;
    const auto array = std::find_if(arrays.begin(), arrays.end(),
                                    [&](const auto& a) { return a.name == set.nodearray; });
    if (array == arrays.end()) {
        std::vector<std::string> names;
        names.reserve(arrays.size());
        for (const auto& a : arrays) {
            names.push_back(a.name);
        }
        return invalid(fmt::format("sets[{}]: cluster {} has no nodearray '{}' (it has {})", index,
                                   m_definition.name, set.nodearray, join(names, ", ")));
    }
    if (set.count < 0) {
        return invalid(fmt::format("sets[{}]: count must be 0 or more, not {}", index, set.count));
    }
    std::size_t bucket = 0;
    if (!set.machine_type.empty()) {
        const auto it =
            std::find_if(array->machine_types.begin(), array->machine_types.end(),
                         [&](const std::string& m) { return iequals(m, set.machine_type); });
        if (it == array->machine_types.end()) {
            return invalid(fmt::format("sets[{}]: nodearray {} has no bucket for {} (it has {})",
                                       index, array->name, set.machine_type,
                                       join(array->machine_types, ", ")));
        }
        bucket = static_cast<std::size_t>(it - array->machine_types.begin());
    }
    if (!set.name_format.empty()) {
        auto format = parse_name_format(set.name_format);
        if (!format) {
            return invalid(fmt::format("sets[{}]: {}", index, format.error().message));
        }
        if (!format->numbered && set.count > 1) {
            return invalid(
                fmt::format("sets[{}]: nameFormat '{}' has no %d, so count must be 1, "
                            "not {}",
                            index, set.name_format, set.count));
        }
        const std::string sample = format->render(set.name_offset.value_or(1));
        if (!valid_node_name(sample)) {
            return invalid(
                fmt::format("sets[{}]: '{}' is not a valid node name (up to 63 "
                            "letters, digits, '-', '_' or '.')",
                            index, sample));
        }
    }
    if (set.name_offset && *set.name_offset < 0) {
        return invalid(fmt::format("sets[{}]: nameOffset must be 0 or more", index));
    }
    return std::pair{static_cast<std::size_t>(array - arrays.begin()), bucket};
}

SetResult ClusterModel::create_set(const CreateSet& set, std::size_t array_index,
                                   std::size_t bucket, Tally& t, Operation& op, Time now) {
    const auto& array = m_definition.node_arrays[array_index];
    const std::string pg =
        set.placement_group_id.empty() ? array.placement_group_id : set.placement_group_id;
    NameFormat format;
    if (!set.name_format.empty()) {
        format = *parse_name_format(set.name_format);  // checked by resolve_set
    }
    std::vector<std::string> duplicates;
    std::string problem;
    SetResult result;
    const Sku& sku = m_buckets[array_index][bucket].sku;
    if (const auto it = m_options.faults.invalid_buckets.find(to_lower(sku.name));
        it != m_options.faults.invalid_buckets.end() && set.count > 0) {
        result.message = fmt::format("the {} bucket of nodearray {} is not valid ({})", sku.name,
                                     array.name, it->second);
        return result;
    }
    std::int64_t next_default = 1;
    for (std::int64_t k = 0; k < set.count; ++k) {
        std::string name;
        if (set.name_format.empty()) {
            do {
                name = fmt::format("{}-{}", array.name, next_default++);
            } while (m_nodes.count(name) != 0);
        } else {
            name = format.render(set.name_offset.value_or(1) + k);
            if (m_nodes.count(name) != 0) {
                duplicates.push_back(name);
                continue;
            }
        }
        problem = limit_problem(t, array_index, bucket, pg);
        if (problem.empty()) {
            problem = quota_problem(t, array_index, bucket);
        }
        if (!problem.empty()) {
            break;
        }
        Node node;
        node.name = name;
        node.node_id = new_uuid();
        node.array = array_index;
        node.bucket = bucket;
        node.placement_group_id = pg;
        node.keep_alive = set.keep_alive.value_or(false);
        node.configuration = set.configuration;
        node.attributes = set.attributes;
        begin_acquire(node, now);
        t.add_active(*this, node);
        t.add_consuming(*this, node);
        op.node_ids.push_back(node.node_id);
        m_names_by_id[node.node_id] = name;
        m_nodes.emplace(name, std::move(node));
        ++result.added;
    }
    std::vector<std::string> reasons;
    if (duplicates.size() == 1) {
        reasons.push_back(fmt::format("node {} already exists", duplicates.front()));
    } else if (!duplicates.empty()) {
        reasons.push_back(fmt::format("nodes {} already exist", join(duplicates, ", ")));
    }
    if (!problem.empty()) {
        reasons.push_back(problem);
    }
    result.message = join(reasons, "; ");
    return result;
}

Result<CreateResult> ClusterModel::scale(const std::string& nodearray,
                                         std::optional<std::int64_t> nodes,
                                         std::optional<std::int64_t> cores, Time now) {
    const auto& arrays = m_definition.node_arrays;
    const auto array = std::find_if(arrays.begin(), arrays.end(),
                                    [&](const auto& a) { return a.name == nodearray; });
    if (array == arrays.end()) {
        return make_error(ErrorKind::k_not_found, fmt::format("cluster {} has no nodearray '{}'",
                                                              m_definition.name, nodearray));
    }
    if (nodes.has_value() == cores.has_value()) {
        return invalid("give exactly one of totalNodeCount and totalCoreCount");
    }
    if (nodes.value_or(0) < 0 || cores.value_or(0) < 0) {
        return invalid("totals must be 0 or more");
    }
    const auto index = static_cast<std::size_t>(array - arrays.begin());
    std::int64_t started_nodes = 0;
    std::int64_t started_cores = 0;
    for (const auto& [name, node] : m_nodes) {
        if (node.array == index && node.started()) {
            started_nodes += 1;
            started_cores += sku_of(node).vcpus;
        }
    }
    const int vcpus = m_buckets[index][0].sku.vcpus;
    const std::int64_t missing =
        nodes ? *nodes - started_nodes : (*cores - started_cores + vcpus - 1) / vcpus;
    CreateRequest request;
    CreateSet set;
    set.nodearray = nodearray;
    set.count = std::max<std::int64_t>(0, missing);
    request.sets.push_back(std::move(set));
    auto result = create_nodes(request, now);
    if (result) {
        m_operations.at(result->operation_id).action = "scale";
    }
    return result;
}

}  // namespace cb::emulator
