#include "emulator/cluster_model.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <set>

#include <fmt/format.h>

#include "util/text.h"

namespace cb::emulator {

namespace {

constexpr std::array<std::string_view, k_node_status_count> k_status_names{
    "Off",    "Acquiring",   "Preparing",    "Ready",
    "Failed", "Terminating", "Deallocating", "Deallocated",
};
constexpr std::array<std::string_view, 4> k_target_names{"Started", "Terminated", "Deallocated",
                                                         "Off"};
constexpr std::array<std::string_view, 5> k_action_names{"start", "shutdown", "terminate",
                                                         "deallocate", "remove"};

// A node array or cluster without MaxCount/MaxCoreCount still reports a finite maximum.
constexpr std::int64_t k_no_limit_count = 100'000;
// Operations kept for GET /operations and GET nodes?operation=; older ones (and their
// requestIds) are forgotten once there are more, or once they name more nodes, than this.
constexpr std::size_t k_operations_kept = 10'000;
constexpr std::size_t k_operation_nodes_kept = 200'000;
constexpr std::chrono::seconds k_destroy_retry{1};

Error invalid(std::string message) {
    return make_error(ErrorKind::k_usage, std::move(message));
}

// Bucket ids are stable across runs: derived from the cluster, array and VM size.
std::string stable_uuid(std::string_view text) {
    auto fnv = [&](std::uint64_t hash) {
        for (unsigned char c : text) {
            hash = (hash ^ c) * 1099511628211ULL;
        }
        return hash;
    };
    const std::uint64_t a = fnv(14695981039346656037ULL);
    const std::uint64_t b = fnv(a ^ 0x9e3779b97f4a7c15ULL);
    return fmt::format("{:08x}-{:04x}-5{:03x}-{:04x}-{:012x}", a >> 32, (a >> 16) & 0xffff,
                       a & 0xfff, ((b >> 48) & 0x3fff) | 0x8000, b & 0xffffffffffffULL);
}

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

std::string join(const std::vector<std::string>& items, std::string_view separator) {
    std::string out;
    for (const auto& item : items) {
        if (!out.empty()) {
            out += separator;
        }
        out += item;
    }
    return out;
}

// ---- filter expressions: Attr === "value" && Attr !== value ... --------------------------

struct FilterClause {
    std::string attribute;
    bool equal = true;
    std::string value;
};

using NodeField = std::string (*)(const Node&, const NodeArrayDefinition&);
struct FilterField {
    std::string_view name;
    NodeField get;
};
const std::array k_filter_fields{
    FilterField{"Name", [](const Node& n, const NodeArrayDefinition&) { return n.name; }},
    FilterField{"NodeId", [](const Node& n, const NodeArrayDefinition&) { return n.node_id; }},
    FilterField{"Template", [](const Node&, const NodeArrayDefinition& a) { return a.name; }},
    FilterField{
        "MachineType",
        [](const Node& n, const NodeArrayDefinition& a) { return a.machine_types[n.bucket]; }},
    FilterField{
        "Status",
        [](const Node& n, const NodeArrayDefinition&) { return std::string(to_string(n.status)); }},
    FilterField{
        "TargetState",
        [](const Node& n, const NodeArrayDefinition&) { return std::string(to_string(n.target)); }},
    FilterField{"Hostname", [](const Node& n, const NodeArrayDefinition&) { return n.hostname; }},
    FilterField{"PrivateIp",
                [](const Node& n, const NodeArrayDefinition&) { return n.private_ip; }},
    FilterField{"InstanceId",
                [](const Node& n, const NodeArrayDefinition&) { return n.instance_id; }},
    FilterField{"PlacementGroupId",
                [](const Node& n, const NodeArrayDefinition&) { return n.placement_group_id; }},
    FilterField{"Region", [](const Node&, const NodeArrayDefinition& a) { return a.region; }},
    FilterField{"KeepAlive",
                [](const Node& n, const NodeArrayDefinition&) {
                    return std::string(n.keep_alive ? "true" : "false");
                }},
    FilterField{"Interruptible",
                [](const Node&, const NodeArrayDefinition& a) {
                    return std::string(a.interruptible ? "true" : "false");
                }},
};

Result<std::vector<FilterClause>> parse_filter(std::string_view filter) {
    std::vector<FilterClause> clauses;
    std::size_t start = 0;
    while (start <= filter.size()) {
        const std::size_t amp = filter.find("&&", start);
        std::string_view clause = filter.substr(
            start, amp == std::string_view::npos ? std::string_view::npos : amp - start);
        start = amp == std::string_view::npos ? filter.size() + 1 : amp + 2;
        auto op = clause.find("===");
        std::size_t op_len = 3;
        bool equal = true;
        if (op == std::string_view::npos) {
            op = clause.find("!==");
            equal = false;
        }
        if (op == std::string_view::npos) {
            op = clause.find("==");
            op_len = 2;
            equal = true;
        }
        if (op == std::string_view::npos) {
            op = clause.find("!=");
            op_len = 2;
            equal = false;
        }
        if (op == std::string_view::npos) {
            return invalid(
                fmt::format("filter '{}': the emulator understands Attr === \"value\" "
                            "and Attr !== \"value\" joined by &&",
                            filter));
        }
        const TemplateValue name = parse_literal(clause.substr(0, op));
        const TemplateValue value = parse_literal(clause.substr(op + op_len));
        FilterClause c{to_text(name), equal, to_text(value)};
        const bool known = std::any_of(k_filter_fields.begin(), k_filter_fields.end(),
                                       [&](const FilterField& f) { return f.name == c.attribute; });
        if (!known) {
            std::vector<std::string> names;
            names.reserve(k_filter_fields.size());
            for (const auto& f : k_filter_fields) {
                names.emplace_back(f.name);
            }
            return invalid(fmt::format("filter '{}': unknown attribute '{}' (known: {})", filter,
                                       c.attribute, join(names, ", ")));
        }
        clauses.push_back(std::move(c));
    }
    return clauses;
}

bool matches(const std::vector<FilterClause>& clauses, const Node& node,
             const NodeArrayDefinition& array) {
    return std::all_of(clauses.begin(), clauses.end(), [&](const FilterClause& c) {
        const auto field =
            std::find_if(k_filter_fields.begin(), k_filter_fields.end(),
                         [&](const FilterField& f) { return f.name == c.attribute; });
        return (field->get(node, array) == c.value) == c.equal;
    });
}

}  // namespace

std::string_view to_string(NodeStatus status) {
    return k_status_names.at(static_cast<std::size_t>(status));
}
std::string_view to_string(TargetState state) {
    return k_target_names.at(static_cast<std::size_t>(state));
}
std::string_view to_string(NodeAction action) {
    return k_action_names.at(static_cast<std::size_t>(action));
}

bool Node::consuming() const {
    switch (status) {
        case NodeStatus::k_acquiring:
        case NodeStatus::k_preparing:
        case NodeStatus::k_ready:
        case NodeStatus::k_terminating:
        case NodeStatus::k_deallocating:
            return true;
        case NodeStatus::k_failed:
            return vm_exists;
        case NodeStatus::k_off:
        case NodeStatus::k_deallocated:
            return false;
    }
    return false;
}

// ---- tallies ------------------------------------------------------------------------------

// Counts the limits and quota pools depend on, in one pass over the nodes; create and start
// update it as they add nodes, so a large request stays linear.
struct ClusterModel::Tally {
    std::vector<std::int64_t> array_count;  // active
    std::vector<std::int64_t> array_cores;
    std::int64_t cluster_count = 0;
    std::int64_t cluster_cores = 0;
    std::map<std::pair<std::size_t, std::string>, std::int64_t> placement_group;
    std::map<std::string, std::int64_t> family_cores;    // "region/family", consuming
    std::map<std::string, std::int64_t> regional_cores;  // region
    std::map<std::string, std::int64_t> spot_cores;      // region
    std::map<std::string, std::int64_t> sku_vms;         // lower-case size

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
    void add_consuming(const ClusterModel& model, const Node& node) {
        const Sku& sku = model.sku_of(node);
        const auto& array = model.m_definition.node_arrays[node.array];
        if (array.interruptible) {
            spot_cores[array.region] += sku.vcpus;
        } else {
            family_cores[array.region + "/" + sku.family] += sku.vcpus;
            regional_cores[array.region] += sku.vcpus;
        }
        sku_vms[to_lower(sku.name)] += 1;
    }
};

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

// ---- construction -------------------------------------------------------------------------

ClusterModel::ClusterModel(ClusterDefinition definition, ModelOptions options)
    : m_definition(std::move(definition)), m_options(std::move(options)), m_rng(m_options.seed) {}

Result<ClusterModel> ClusterModel::create(ClusterDefinition definition, const SkuCatalog& catalog,
                                          ModelOptions options) {
    ClusterModel model(std::move(definition), std::move(options));
    for (const auto& array : model.m_definition.node_arrays) {
        auto& buckets = model.m_buckets.emplace_back();
        for (const auto& machine_type : array.machine_types) {
            const Sku* sku = catalog.find(machine_type);
            if (sku == nullptr) {
                std::string message = fmt::format(
                    "nodearray {}: VM size {} is not in the SKU catalog", array.name, machine_type);
                const std::string guess = catalog.closest(machine_type);
                if (!guess.empty()) {
                    message += fmt::format(" (did you mean {}?)", guess);
                }
                return make_error(ErrorKind::k_config, message);
            }
            BucketState bucket;
            bucket.sku = *sku;
            bucket.bucket_id =
                stable_uuid(model.m_definition.name + "/" + array.name + "/" + sku->name);
            buckets.push_back(bucket);
        }
    }
    return model;
}

const Node* ClusterModel::find_node(const std::string& name) const {
    const auto it = m_nodes.find(name);
    return it == m_nodes.end() ? nullptr : &it->second;
}

const Sku& ClusterModel::sku_of(const Node& node) const {
    return m_buckets[node.array][node.bucket].sku;
}

std::string ClusterModel::new_uuid() {
    const std::uint64_t a = m_rng();
    const std::uint64_t b = m_rng();
    return fmt::format("{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}", a >> 32, (a >> 16) & 0xffff,
                       a & 0xfff, ((b >> 48) & 0x3fff) | 0x8000, b & 0xffffffffffffULL);
}

bool ClusterModel::draw(double rate) {
    if (rate <= 0) {
        return false;
    }
    return std::uniform_real_distribution<double>(0.0, 1.0)(m_rng) < rate;
}

Operation& ClusterModel::new_operation(std::string action, const std::string& request_id,
                                       Time now) {
    // The newest operation is complete once the next one starts: count its nodes now.
    if (!m_operation_order.empty()) {
        m_operation_nodes += m_operations.at(m_operation_order.back()).node_ids.size();
    }
    while (!m_operation_order.empty() && (m_operation_order.size() >= k_operations_kept ||
                                          m_operation_nodes > k_operation_nodes_kept)) {
        const auto oldest = m_operations.find(m_operation_order.front());
        m_operation_nodes -= oldest->second.node_ids.size();
        if (!oldest->second.request_id.empty()) {
            m_operations_by_request.erase(oldest->second.request_id);
        }
        m_operations.erase(oldest);
        m_operation_order.pop_front();
    }
    Operation op;
    op.id = new_uuid();
    op.action = std::move(action);
    op.request_id = request_id;
    op.start_time = now;
    if (!request_id.empty()) {
        m_operations_by_request[request_id] = op.id;
    }
    m_operation_order.push_back(op.id);
    const std::string id = op.id;
    return m_operations.emplace(id, std::move(op)).first->second;
}

Status ClusterModel::check_request_id(const std::string& request_id) const {
    if (request_id.empty()) {
        return ok_status();
    }
    if (const auto it = m_operations_by_request.find(request_id);
        it != m_operations_by_request.end()) {
        return invalid(
            fmt::format("requestId {} was already used (operation {})", request_id, it->second));
    }
    return ok_status();
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

std::string ClusterModel::quota_problem(const Tally& t, std::size_t array_index, std::size_t bucket,
                                        Time now) {
    const auto& array = m_definition.node_arrays[array_index];
    BucketState& state = m_buckets[array_index][bucket];
    const Sku& sku = state.sku;
    auto used = [](const std::map<std::string, std::int64_t>& m, const std::string& key) {
        const auto it = m.find(key);
        return it == m.end() ? std::int64_t{0} : it->second;
    };
    auto exceeded = [&](std::string_view what, std::int64_t limit, std::int64_t usage) {
        m_fault_counts[static_cast<std::size_t>(FaultKind::k_quota)] += 1;
        return fmt::format(
            "QuotaExceeded: Operation could not be completed as it results in "
            "exceeding approved {} quota. Location: {}, Current Limit: {}, "
            "Current Usage: {}, Additional Required: {}",
            what, array.region, limit, usage, sku.vcpus);
    };
    if (array.interruptible) {
        const std::int64_t limit = spot_quota(array.region);
        const std::int64_t usage = used(t.spot_cores, array.region);
        if (usage + sku.vcpus > limit) {
            return exceeded("Low Priority Cores", limit, usage);
        }
    } else {
        const std::int64_t family_limit = family_quota(array.region, sku.family);
        const std::int64_t family_usage = used(t.family_cores, array.region + "/" + sku.family);
        if (family_usage + sku.vcpus > family_limit) {
            return exceeded(sku.family + " Cores", family_limit, family_usage);
        }
        const std::int64_t regional_limit = regional_quota(array.region);
        const std::int64_t regional_usage = used(t.regional_cores, array.region);
        if (regional_usage + sku.vcpus > regional_limit) {
            return exceeded("Total Regional Cores", regional_limit, regional_usage);
        }
    }
    const auto cap = m_options.faults.capacity.find(to_lower(sku.name));
    if (cap != m_options.faults.capacity.end() &&
        used(t.sku_vms, to_lower(sku.name)) + 1 > cap->second) {
        m_fault_counts[static_cast<std::size_t>(FaultKind::k_capacity)] += 1;
        state.last_capacity_failure = now;
        return fmt::format(
            "AllocationFailed: We do not have sufficient capacity for the "
            "requested VM size {} in region {}. Please try another size or "
            "deploy to a different location or zone.",
            sku.name, array.region);
    }
    return "";
}

// ---- create -------------------------------------------------------------------------------

Result<CreateResult> ClusterModel::create_nodes(const CreateRequest& request, Time now) {
    if (Status st = check_request_id(request.request_id); !st) {
        return std::move(st).error();
    }
    if (request.sets.empty()) {
        return invalid("sets: give at least one set");
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
            problem = quota_problem(t, array_index, bucket, now);
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

// ---- management ---------------------------------------------------------------------------

std::vector<std::string> ClusterModel::select(const NodeSelector& selector,
                                              const std::function<bool(const Node&)>& filter,
                                              std::vector<NodeOutcome>& errors) const {
    std::vector<std::string> out;
    std::set<std::string> seen;
    auto take = [&](const std::string& name) {
        if (seen.insert(name).second) {
            out.push_back(name);
        }
    };
    for (const auto& name : selector.names) {
        if (m_nodes.count(name) != 0) {
            take(name);
        } else {
            errors.push_back({"", name, false, fmt::format("node {} not found", name)});
        }
    }
    for (const auto& id : selector.ids) {
        if (const auto it = m_names_by_id.find(id); it != m_names_by_id.end()) {
            take(it->second);
        } else {
            errors.push_back({id, "", false, fmt::format("no node has id {}", id)});
        }
    }
    auto by_field = [&](const std::vector<std::string>& wanted, auto field, const char* what) {
        for (const auto& w : wanted) {
            bool found = false;
            for (const auto& [name, node] : m_nodes) {
                if (iequals(field(node), w)) {
                    take(name);
                    found = true;
                }
            }
            if (!found) {
                errors.push_back({"", "", false, fmt::format("no node has {} {}", what, w)});
            }
        }
    };
    by_field(
        selector.hostnames, [](const Node& n) { return n.hostname; }, "hostname");
    by_field(
        selector.ip_addresses, [](const Node& n) { return n.private_ip; }, "address");
    if (filter) {
        for (const auto& [name, node] : m_nodes) {
            if (filter(node)) {
                take(name);
            }
        }
    }
    return out;
}

Result<ManagementResult> ClusterModel::manage(NodeAction action, const NodeSelector& selector,
                                              const std::string& request_id, Time now) {
    if (Status st = check_request_id(request_id); !st) {
        return std::move(st).error();
    }
    if (selector.empty()) {
        return invalid("give the nodes as names, ids, hostnames, ip_addresses or filter");
    }
    std::function<bool(const Node&)> filter;
    if (!selector.filter.empty()) {
        auto clauses = parse_filter(selector.filter);
        if (!clauses) {
            return std::move(clauses).error();
        }
        filter = [this, c = std::move(*clauses)](const Node& node) {
            return matches(c, node, m_definition.node_arrays[node.array]);
        };
    }
    ManagementResult result;
    std::vector<NodeOutcome> errors;
    const std::vector<std::string> names = select(selector, filter, errors);
    Operation& op = new_operation(std::string(to_string(action)), request_id, now);
    result.operation_id = op.id;
    Tally t = tally();
    for (const auto& name : names) {
        Node& node = m_nodes.at(name);
        const std::string id = node.node_id;
        NodeOutcome outcome = apply_action(action, node, t, now);  // may erase the node
        if (outcome.ok) {
            op.node_ids.push_back(id);
        }
        result.nodes.push_back(std::move(outcome));
    }
    result.nodes.insert(result.nodes.end(), errors.begin(), errors.end());
    return result;
}

NodeOutcome ClusterModel::apply_action(NodeAction action, Node& node, Tally& t, Time now) {
    NodeOutcome out{node.node_id, node.name, true, ""};
    auto refuse = [&](std::string why) {
        out.ok = false;
        out.error = std::move(why);
        return out;
    };
    if (action == NodeAction::k_shutdown) {
        action =
            m_definition.node_arrays[node.array].shutdown_policy == ShutdownPolicy::k_deallocate
                ? NodeAction::k_deallocate
                : NodeAction::k_terminate;
    }
    switch (action) {
        case NodeAction::k_start:
            if (node.status == NodeStatus::k_terminating) {
                return refuse(fmt::format("node {} is terminating", node.name));
            }
            if (node.status == NodeStatus::k_deallocating) {
                return refuse(
                    fmt::format("node {} is deallocating; start it once it is "
                                "Deallocated",
                                node.name));
            }
            if (node.started() && node.status != NodeStatus::k_failed) {
                return out;  // already on its way up
            }
            if (!node.consuming()) {
                std::string problem = quota_problem(t, node.array, node.bucket, now);
                if (!problem.empty()) {
                    return refuse(problem);
                }
                begin_acquire(node, now);
                t.add_consuming(*this, node);
            } else {
                begin_acquire(node, now);
            }
            return out;
        case NodeAction::k_terminate:
            if (node.status != NodeStatus::k_terminating) {
                begin_terminate(node, now);
            }
            return out;
        case NodeAction::k_remove:
            if (!node.vm_exists && !node.busy && !node.destroy_due) {
                erase(node.name);
            } else if (node.status != NodeStatus::k_terminating) {
                begin_terminate(node, now);
            }
            return out;
        case NodeAction::k_deallocate:
            if (node.status == NodeStatus::k_terminating) {
                return refuse(fmt::format("node {} is terminating", node.name));
            }
            if (node.status != NodeStatus::k_deallocated &&
                node.status != NodeStatus::k_deallocating) {
                begin_deallocate(node, now);
            }
            return out;
        case NodeAction::k_shutdown:
            break;
    }
    return out;
}

ManagementResult ClusterModel::retry_failed(Time now) {
    ManagementResult result;
    Operation& op = new_operation("retry", "", now);
    result.operation_id = op.id;
    for (auto& [name, node] : m_nodes) {
        if (node.status != NodeStatus::k_failed) {
            continue;
        }
        if (node.target == TargetState::k_deallocated) {
            begin_deallocate(node, now);
        } else {
            begin_acquire(node, now);
        }
        op.node_ids.push_back(node.node_id);
        result.nodes.push_back({node.node_id, name, true, ""});
    }
    return result;
}

void ClusterModel::begin_acquire(Node& node, Time now) {
    node.status = NodeStatus::k_acquiring;
    node.target = TargetState::k_started;
    node.status_message.clear();
    node.phase_end = now + m_options.timings.acquire;
    node.fail_in_prepare = false;
    node.skip_software = false;
}

void ClusterModel::begin_terminate(Node& node, Time now) {
    node.status = NodeStatus::k_terminating;
    node.target = TargetState::k_terminated;
    node.phase_end = now + m_options.timings.terminate;
}

void ClusterModel::begin_deallocate(Node& node, Time now) {
    node.status = NodeStatus::k_deallocating;
    node.target = TargetState::k_deallocated;
    node.status_message.clear();
    node.phase_end = now + m_options.timings.deallocate;
}

void ClusterModel::fail(Node& node, std::string message, Time now) {
    node.status = NodeStatus::k_failed;
    node.status_message = std::move(message);
    if (node.vm_exists) {
        node.destroy_due = true;
        node.phase_end = now;
    }
}

void ClusterModel::erase(const std::string& name) {
    const auto it = m_nodes.find(name);
    if (it == m_nodes.end()) {
        return;
    }
    m_names_by_id.erase(it->second.node_id);
    m_nodes.erase(it);
}

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

// ---- lifecycle ----------------------------------------------------------------------------

std::vector<BackendCall> ClusterModel::advance(Time now) {
    std::vector<BackendCall> calls;
    std::vector<std::string> gone;
    const double minutes =
        m_last_advance
            ? std::chrono::duration<double, std::ratio<60>>(now - *m_last_advance).count()
            : 0.0;
    m_last_advance = now;
    const double evict_chance = m_options.faults.evict_rate > 0 && minutes > 0
                                    ? 1.0 - std::exp(-m_options.faults.evict_rate * minutes)
                                    : 0.0;
    for (auto& [name, node] : m_nodes) {
        if (node.busy) {
            continue;
        }
        if (evict_chance > 0 && node.status == NodeStatus::k_ready &&
            m_definition.node_arrays[node.array].interruptible && draw(evict_chance)) {
            evict_node(node, now);
        }
        if (now < node.phase_end) {
            continue;
        }
        if (node.destroy_due) {
            node.busy = true;
            calls.push_back({VmStep::k_destroy_vm, name});
            continue;
        }
        switch (node.status) {
            case NodeStatus::k_acquiring:
                node.busy = true;
                calls.push_back({VmStep::k_create_vm, name});
                break;
            case NodeStatus::k_preparing:
                if (node.fail_in_prepare) {
                    m_fault_counts[static_cast<std::size_t>(FaultKind::k_prepare_fail)] += 1;
                    fail(node,
                         "Preparing failed: a cluster-init script exited with an error "
                         "(injected fault)",
                         now);
                } else if (node.skip_software) {
                    m_fault_counts[static_cast<std::size_t>(FaultKind::k_no_slurmd)] += 1;
                    node.status = NodeStatus::k_ready;
                } else {
                    node.busy = true;
                    calls.push_back({VmStep::k_start_software, name});
                }
                break;
            case NodeStatus::k_terminating:
                if (node.vm_exists) {
                    node.destroy_due = true;
                    node.busy = true;
                    calls.push_back({VmStep::k_destroy_vm, name});
                } else {
                    gone.push_back(name);
                }
                break;
            case NodeStatus::k_deallocating:
                if (draw(m_options.faults.deallocate_fail_rate)) {
                    m_fault_counts[static_cast<std::size_t>(FaultKind::k_deallocate_fail)] += 1;
                    node.status = NodeStatus::k_failed;
                    node.status_message =
                        "Deallocation failed: the VM is still running "
                        "(injected fault)";
                } else if (node.vm_exists) {
                    node.destroy_due = true;
                    node.busy = true;
                    calls.push_back({VmStep::k_destroy_vm, name});
                } else {
                    node.status = NodeStatus::k_deallocated;
                }
                break;
            case NodeStatus::k_off:
            case NodeStatus::k_ready:
            case NodeStatus::k_failed:
            case NodeStatus::k_deallocated:
                break;
        }
    }
    for (const auto& name : gone) {
        erase(name);
    }
    return calls;
}

void ClusterModel::complete_create_vm(const std::string& name, const Result<VmIdentity>& result,
                                      Time now) {
    const auto it = m_nodes.find(name);
    if (it == m_nodes.end()) {
        return;
    }
    Node& node = it->second;
    node.busy = false;
    if (!result) {
        if (node.status == NodeStatus::k_acquiring) {
            fail(node, "Acquiring failed: " + result.error().describe(), now);
        }
        return;
    }
    node.vm_exists = true;
    node.private_ip = result->private_ip;
    node.hostname = result->hostname;
    node.instance_id = result->instance_id;
    if (!node.billed_since) {
        node.billed_since = now;
    }
    if (node.status == NodeStatus::k_acquiring) {
        node.status = NodeStatus::k_preparing;
        node.phase_end = now + m_options.timings.prepare;
        node.fail_in_prepare = draw(m_options.faults.prepare_fail_rate);
        node.skip_software = !node.fail_in_prepare && draw(m_options.faults.no_slurmd_rate);
    }
}

void ClusterModel::complete_start_software(const std::string& name, const Status& result,
                                           Time now) {
    const auto it = m_nodes.find(name);
    if (it == m_nodes.end()) {
        return;
    }
    Node& node = it->second;
    node.busy = false;
    if (node.status != NodeStatus::k_preparing) {
        return;
    }
    if (result) {
        node.status = NodeStatus::k_ready;
    } else {
        fail(node, "Preparing failed: " + result.error().describe(), now);
    }
}

void ClusterModel::complete_destroy_vm(const std::string& name, const Status& result, Time now) {
    const auto it = m_nodes.find(name);
    if (it == m_nodes.end()) {
        return;
    }
    Node& node = it->second;
    node.busy = false;
    if (!result) {
        node.status_message = "could not delete the VM (retrying): " + result.error().describe();
        node.phase_end = now + k_destroy_retry;
        return;
    }
    node.destroy_due = false;
    node.vm_exists = false;
    node.private_ip.clear();
    node.instance_id.clear();
    if (node.billed_since) {
        m_usage.push_back({node.array, node.bucket, *node.billed_since, now});
        node.billed_since.reset();
    }
    if (node.status == NodeStatus::k_terminating) {
        erase(name);
    } else if (node.status == NodeStatus::k_deallocating) {
        node.status = NodeStatus::k_deallocated;
    }
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
    auto used = [](const std::map<std::string, std::int64_t>& m, const std::string& key) {
        const auto it = m.find(key);
        return it == m.end() ? std::int64_t{0} : it->second;
    };

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

            std::int64_t family_limit = 0;
            std::int64_t family_used = 0;
            std::int64_t regional_limit = 0;
            std::int64_t regional_used = 0;
            if (def.interruptible) {
                family_limit = regional_limit = spot_quota(def.region);
                family_used = regional_used = used(t.spot_cores, def.region);
            } else {
                family_limit = family_quota(def.region, sku.family);
                family_used = used(t.family_cores, def.region + "/" + sku.family);
                regional_limit = regional_quota(def.region);
                regional_used = used(t.regional_cores, def.region);
            }
            bucket.family_quota_core_count = family_limit;
            bucket.family_quota_count = family_limit / v;
            bucket.family_consumed_core_count = family_used;
            bucket.regional_quota_core_count = regional_limit;
            bucket.regional_quota_count = regional_limit / v;
            bucket.regional_consumed_core_count = regional_used;
            bucket.quota_core_count = family_limit;
            bucket.quota_count = family_limit / v;
            bucket.consumed_core_count = family_used;
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
            available = std::min(available, (family_limit - family_used) / v);
            available = std::min(available, (regional_limit - regional_used) / v);
            if (const auto cap = m_options.faults.capacity.find(to_lower(sku.name));
                cap != m_options.faults.capacity.end()) {
                available = std::min(available, cap->second - used(t.sku_vms, to_lower(sku.name)));
            }
            bucket.available_count = std::max<std::int64_t>(0, available);
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
    out.max_count = m_definition.max_count.value_or(sum_count);
    out.max_core_count = m_definition.max_core_count.value_or(sum_cores);
    return out;
}

const Operation* ClusterModel::operation(const std::string& id) const {
    const auto it = m_operations.find(id);
    return it == m_operations.end() ? nullptr : &it->second;
}

const Operation* ClusterModel::operation_by_request(const std::string& request_id) const {
    const auto it = m_operations_by_request.find(request_id);
    return it == m_operations_by_request.end() ? nullptr : operation(it->second);
}

std::vector<const Node*> ClusterModel::operation_nodes(const Operation& op) const {
    std::vector<const Node*> out;
    for (const auto& id : op.node_ids) {
        if (const auto it = m_names_by_id.find(id); it != m_names_by_id.end()) {
            out.push_back(&m_nodes.at(it->second));
        }
    }
    return out;
}

UsageReport ClusterModel::usage(Time from, Time to, Time now) const {
    UsageReport report;
    report.start = from;
    report.end = to;
    std::map<std::pair<std::size_t, std::size_t>, double> seconds;
    auto add = [&](std::size_t array, std::size_t bucket, Time start, Time end) {
        const Time a = std::max(start, from);
        const Time b = std::min(end, to);
        if (b > a) {
            seconds[{array, bucket}] += std::chrono::duration<double>(b - a).count();
        }
    };
    for (const auto& interval : m_usage) {
        add(interval.array, interval.bucket, interval.start, interval.end);
    }
    for (const auto& [name, node] : m_nodes) {
        if (node.billed_since) {
            add(node.array, node.bucket, *node.billed_since, now);
        }
    }
    for (const auto& [key, secs] : seconds) {
        const auto& def = m_definition.node_arrays[key.first];
        const Sku& sku = m_buckets[key.first][key.second].sku;
        UsageLine line;
        line.nodearray = def.name;
        line.machine_type = sku.name;
        line.region = def.region;
        line.spot = def.interruptible;
        line.core_count = sku.vcpus;
        line.hours = secs / 3600.0;
        line.core_hours = line.hours * sku.vcpus;
        line.cost = line.hours * sku.price_per_hour;
        report.hours += line.hours;
        report.core_hours += line.core_hours;
        report.cost += line.cost;
        report.lines.push_back(std::move(line));
    }
    return report;
}

std::array<std::int64_t, k_node_status_count> ClusterModel::count_by_status() const {
    std::array<std::int64_t, k_node_status_count> out{};
    for (const auto& [name, node] : m_nodes) {
        out[static_cast<std::size_t>(node.status)] += 1;
    }
    return out;
}

}  // namespace cb::emulator
