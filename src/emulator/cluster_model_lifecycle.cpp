#include "emulator/cluster_model.h"

#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "emulator/cluster_model_internal.h"
#include "util/text.h"

namespace cb::emulator {

using detail::invalid;

namespace {

constexpr std::chrono::seconds k_destroy_retry{1};

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
    FilterField{
        "State",
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
    if (action == NodeAction::k_start) {
        if (Status st = check_started("starting nodes"); !st) {
            return std::move(st).error();
        }
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
    // KeepAlive "prevents CycleCloud from terminating or deallocating the node" until the
    // attribute is cleared (keep-alive.md); the answer for that node is an error.
    if (node.keep_alive && (action == NodeAction::k_terminate || action == NodeAction::k_remove ||
                            action == NodeAction::k_deallocate)) {
        return refuse(fmt::format(
            "node {} has KeepAlive set: it cannot be {} until KeepAlive is cleared", node.name,
            action == NodeAction::k_deallocate ? "deallocated" : "terminated"));
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
                std::string problem = quota_problem(t, node.array, node.bucket);
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
        case NodeAction::k_restart:
        case NodeAction::k_reimage:
            if (!node.vm_exists) {
                return refuse(fmt::format("node {} has no VM to {}", node.name, to_string(action)));
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
    node.evict_at.reset();
    node.status = NodeStatus::k_acquiring;
    node.target = TargetState::k_started;
    node.status_message.clear();
    node.phase_end = now + m_options.timings.acquire;
    node.fail_in_prepare = false;
    node.skip_software = false;
}

void ClusterModel::begin_terminate(Node& node, Time now) {
    node.evict_at.reset();
    node.status = NodeStatus::k_terminating;
    node.target = TargetState::k_terminated;
    node.phase_end = now + m_options.timings.terminate;
}

void ClusterModel::begin_deallocate(Node& node, Time now) {
    node.evict_at.reset();
    node.status = NodeStatus::k_deallocating;
    node.target = TargetState::k_deallocated;
    node.status_message.clear();
    node.phase_end = now + m_options.timings.deallocate;
}

void ClusterModel::fail(Node& node, std::string message) {
    node.status = NodeStatus::k_failed;
    node.status_message = std::move(message);
    node.evict_at.reset();
}

void ClusterModel::erase(const std::string& name) {
    const auto it = m_nodes.find(name);
    if (it == m_nodes.end()) {
        return;
    }
    m_names_by_id.erase(it->second.node_id);
    m_health_reports.erase(name);
    m_nodes.erase(it);
}

// ---- lifecycle ----------------------------------------------------------------------------

std::vector<BackendCall> ClusterModel::advance(Time now) {
    std::vector<BackendCall> calls;
    std::vector<std::string> gone;
    std::optional<Holdings> held;  // counted when the first node ends its Acquiring
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
        advance_faults(node, now, evict_chance);
        if (now < node.phase_end) {
            continue;
        }
        if (node.destroy_due) {
            node.busy = true;
            calls.push_back({VmStep::k_destroy_vm, name, {}, {}});
            continue;
        }
        switch (node.status) {
            case NodeStatus::k_acquiring: {
                if (node.vm_exists) {
                    begin_prepare(node, now);  // a retried Failed node that kept its VM
                    break;
                }
                if (!held) {
                    held = holdings();
                }
                std::string problem = allocation_problem(node, *held, now);
                if (!problem.empty()) {
                    fail(node, std::move(problem));
                    break;
                }
                // acquire-stall: CycleCloud keeps the node in Acquiring with Azure's error and
                // tries again after another acquire time.
                if (std::string stall = allocation_stall(node, *held, now); !stall.empty()) {
                    node.status_message = std::move(stall);
                    node.phase_end = now + m_options.timings.acquire;
                    break;
                }
                node.status_message.clear();
                held->add(*this, node);
                node.busy = true;
                calls.push_back(
                    {VmStep::k_create_vm, name, {}, {node.placement_group_id, sku_of(node).rdma}});
                break;
            }
            case NodeStatus::k_preparing:
                if (node.fail_in_prepare) {
                    m_fault_counts[static_cast<std::size_t>(FaultKind::k_prepare_fail)] += 1;
                    fail(node,
                         "Preparing failed: a cluster-init script exited with an error "
                         "(injected fault)");
                } else if (node.skip_software) {
                    m_fault_counts[static_cast<std::size_t>(FaultKind::k_no_slurmd)] += 1;
                    node.status = NodeStatus::k_ready;
                } else {
                    node.busy = true;
                    calls.push_back({VmStep::k_start_software, name, software_of(node), {}});
                }
                break;
            case NodeStatus::k_terminating:
                if (node.vm_exists) {
                    node.destroy_due = true;
                    node.busy = true;
                    calls.push_back({VmStep::k_destroy_vm, name, {}, {}});
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
                    calls.push_back({VmStep::k_destroy_vm, name, {}, {}});
                } else {
                    node.status = NodeStatus::k_deallocated;
                }
                break;
            case NodeStatus::k_off:
            case NodeStatus::k_ready:
            case NodeStatus::k_failed:
            case NodeStatus::k_deallocated:
            case NodeStatus::k_unavailable:
            case NodeStatus::k_started:
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
            fail(node, "Acquiring failed: " + result.error().describe());
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
        begin_prepare(node, now);
    }
}

void ClusterModel::begin_prepare(Node& node, Time now) {
    node.status = NodeStatus::k_preparing;
    node.phase_end = now + m_options.timings.prepare;
    node.fail_in_prepare = draw(m_options.faults.prepare_fail_rate);
    node.skip_software = !node.fail_in_prepare && draw(m_options.faults.no_slurmd_rate);
}

void ClusterModel::complete_start_software(const std::string& name, const Status& result,
                                           Time /*now*/) {
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
        fail(node, "Preparing failed: " + result.error().describe());
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

}  // namespace cb::emulator
