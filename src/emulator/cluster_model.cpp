#include "emulator/cluster_model.h"

#include <algorithm>

#include <fmt/format.h>

#include "emulator/cluster_model_internal.h"
#include "util/text.h"

namespace cb::emulator {

using detail::invalid;

namespace {

constexpr std::array<std::string_view, k_node_status_count> k_status_names{
    "Off",         "Acquiring",    "Preparing",   "Ready",       "Failed",
    "Terminating", "Deallocating", "Deallocated", "Unavailable", "Started",
};
constexpr std::array<std::string_view, 4> k_target_names{"Started", "Terminated", "Deallocated",
                                                         "Off"};
constexpr std::array<std::string_view, 7> k_action_names{
    "start", "shutdown", "terminate", "deallocate", "remove", "restart", "reimage"};

// Operations kept for GET /operations and GET nodes?operation=; older ones (and their
// requestIds) are forgotten once there are more, or once they name more nodes, than this.
constexpr std::size_t k_operations_kept = 10'000;
constexpr std::size_t k_operation_nodes_kept = 200'000;

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
}  // namespace

namespace detail {

Error invalid(std::string message) {
    return make_error(ErrorKind::k_usage, std::move(message));
}

}  // namespace detail

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
        case NodeStatus::k_unavailable:
        case NodeStatus::k_started:
            return vm_exists;
        case NodeStatus::k_off:
        case NodeStatus::k_deallocated:
            return false;
    }
    return false;
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

VmSoftware ClusterModel::software_of(const Node& node) const {
    VmSoftware software;
    software.gpus = sku_of(node).gpus;
    // What jetpack answers on a CycleCloud node: the node's array and VM size, and the
    // configuration keys the cluster-init reads (cloudburst.*, slurm.dynamic_config).
    std::map<std::string, std::string> settings{
        {"cyclecloud.node.template", m_definition.node_arrays[node.array].name},
        {"azure.metadata.compute.vmSize", sku_of(node).name}};
    for (const auto* list :
         {&m_definition.node_arrays[node.array].configuration, &node.configuration}) {
        for (const auto& kv : *list) {
            if ((kv.key.starts_with("cloudburst.") || kv.key == "slurm.dynamic_config") &&
                !is_undefined(kv.value)) {
                settings[kv.key] = to_text(kv.value);
            }
        }
    }
    software.jetpack_config.assign(settings.begin(), settings.end());
    return software;
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

Status ClusterModel::check_started(std::string_view what) const {
    const std::string& state = m_options.faults.cluster_state;
    if (state == "Started") {
        return ok_status();
    }
    return invalid(fmt::format("cluster {} is {}: start the cluster before {}", m_definition.name,
                               state, what));
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

const Operation* ClusterModel::operation(const std::string& id) const {
    const auto it = m_operations.find(id);
    return it == m_operations.end() ? nullptr : &it->second;
}

const Operation* ClusterModel::operation_by_request(const std::string& request_id) const {
    const auto it = m_operations_by_request.find(request_id);
    return it == m_operations_by_request.end() ? nullptr : operation(it->second);
}

std::vector<const Operation*> ClusterModel::operations() const {
    std::vector<const Operation*> out;
    out.reserve(m_operation_order.size());
    for (const auto& id : m_operation_order) {
        out.push_back(&m_operations.at(id));
    }
    return out;
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
