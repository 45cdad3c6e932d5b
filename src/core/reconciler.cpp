#include "core/reconciler.h"

#include <algorithm>
#include <cctype>

namespace cb {

namespace {

// The working state of one pass: the snapshot, the intents as steps change them, the plan.
struct Pass {
    const World& world;
    const ReconcileSettings& settings;
    std::map<std::string, NodeIntent> intents;
    Plan plan;

    const CloudNode* cloud(const std::string& name) const {
        const auto it = world.cloud.find(name);
        return it == world.cloud.end() ? nullptr : &it->second;
    }
    const SlurmNode* slurm(const std::string& name) const {
        const auto it = world.slurm.find(name);
        return it == world.slurm.end() ? nullptr : &it->second;
    }
    void event(const std::string& node, const char* kind, std::string message) {
        plan.events.push_back({0, world.now_ms, node, kind, std::move(message)});
    }
    // Moves a node to `phase` and records why.
    void move(NodeIntent& n, Phase phase, std::string why) {
        n.phase = phase;
        n.since_ms = world.now_ms;
        n.last_reason = why;
        event(n.name, "transition", std::move(why));
        plan.changed.push_back(n);
    }
};

bool vm_gone(const CloudNode* vm) {
    return vm == nullptr || vm->status == VmStatus::k_off || vm->status == VmStatus::k_deallocated;
}

bool vm_leaving(const CloudNode* vm) {
    return vm != nullptr &&
           (vm->status == VmStatus::k_terminating || vm->status == VmStatus::k_deallocating);
}

// Resume asked, nothing in flight: create the VM, start a deallocated one, or wait for an
// old one that is still going away.
void start_requested_nodes(Pass& p) {
    std::map<std::string, CreateBatch> batches;
    for (auto& [name, n] : p.intents) {
        if (n.desired != Desired::k_powered_up || n.phase != Phase::k_requested) {
            continue;
        }
        const CloudNode* vm = p.cloud(name);
        if (vm_leaving(vm)) {
            continue;  // the old VM must be gone before a new one gets this name
        }
        if (vm != nullptr && vm->status == VmStatus::k_deallocated) {
            p.plan.starts.push_back(name);
            p.move(n, Phase::k_creating, "starting the deallocated VM");
        } else if (vm != nullptr && vm->status != VmStatus::k_off &&
                   vm->status != VmStatus::k_failed) {
            p.move(n, Phase::k_creating, "a VM for this node already exists; waiting for it");
        } else {
            const auto arr = p.world.arrays.find(n.nodearray);
            if (arr == p.world.arrays.end()) {
                p.plan.slurm.push_back(
                    {{name},
                     "DOWN",
                     "cloudburst: config: no CycleCloud node array '" + n.nodearray + "'",
                     {},
                     {}});
                n.desired = Desired::k_powered_down;
                p.move(n, Phase::k_idle,
                       "CycleCloud has no node array '" + n.nodearray + "' for this node");
                continue;
            }
            auto& batch = batches[n.nodearray];
            batch.nodearray = n.nodearray;
            batch.requests.push_back({n.nodearray, arr->second.machine_type, name, ""});
            ++n.attempts;
            p.move(n, Phase::k_creating,
                   "asked CycleCloud for a " + arr->second.machine_type + " VM");
        }
    }
    for (auto& [array, batch] : batches) {
        p.plan.creates.push_back(std::move(batch));
    }
}

// A VM has its address: tell Slurm where the node is. This must happen before slurmd
// registers (the VM's cluster-init starts it during Preparing): the job's address list is
// built when the node comes up, and a node name that does not resolve breaks srun.
void publish_addresses(Pass& p) {
    NodeUpdate update;
    for (auto& [name, n] : p.intents) {
        if (n.desired != Desired::k_powered_up || n.phase != Phase::k_creating) {
            continue;
        }
        const CloudNode* vm = p.cloud(name);
        if (vm == nullptr || vm->private_ip.empty() ||
            (vm->status != VmStatus::k_ready && vm->status != VmStatus::k_preparing)) {
            continue;
        }
        update.names.push_back(name);
        update.node_addrs.push_back(vm->private_ip);
        update.node_hostnames.push_back(name);
        n.private_ip = vm->private_ip;
        p.move(n, Phase::k_registering,
               "VM " + vm->status_text + " at " + vm->private_ip +
                   "; set NodeAddr in Slurm, waiting for slurmd");
    }
    if (!update.names.empty()) {
        p.plan.slurm.push_back(std::move(update));
    }
}

// slurmd registered: the node is up as far as we are concerned.
void see_registrations(Pass& p) {
    for (auto& [name, n] : p.intents) {
        if (n.phase != Phase::k_registering) {
            continue;
        }
        const SlurmNode* s = p.slurm(name);
        if (s != nullptr && !s->state.has("POWERING_UP") && !s->state.has("NOT_RESPONDING") &&
            !s->state.has("POWERED_DOWN")) {
            p.move(n, Phase::k_running, "slurmd registered; node is " + s->state.base);
        }
    }
}

// A VM failed while we waited for it: mark the node down with CycleCloud's reason so its
// jobs requeue now, and clean the VM up.
void fail_broken_vms(Pass& p) {
    for (auto& [name, n] : p.intents) {
        if (n.desired != Desired::k_powered_up ||
            (n.phase != Phase::k_creating && n.phase != Phase::k_registering)) {
            continue;
        }
        const CloudNode* vm = p.cloud(name);
        if (vm == nullptr || vm->status != VmStatus::k_failed) {
            continue;
        }
        const std::string why = "cloudburst: cloud: VM failed" +
                                (vm->status_message.empty() ? "" : ": " + vm->status_message);
        p.plan.slurm.push_back({{name}, "DOWN", why, {}, {}});
        p.plan.slurm.push_back({{name}, "POWER_DOWN", "", {}, {}});
        p.plan.shutdowns.push_back(name);
        n.desired = Desired::k_powered_down;
        p.move(n, Phase::k_stopping, why);
    }
}

// Suspend asked: shut the VM down (per its node array's policy).
void shut_down_unwanted(Pass& p) {
    for (auto& [name, n] : p.intents) {
        if (n.desired != Desired::k_powered_down ||
            (n.phase != Phase::k_requested && n.phase != Phase::k_creating &&
             n.phase != Phase::k_registering && n.phase != Phase::k_running)) {
            continue;
        }
        const CloudNode* vm = p.cloud(name);
        if (!vm_gone(vm) && !vm_leaving(vm)) {
            p.plan.shutdowns.push_back(name);
        }
        p.move(n, Phase::k_stopping, "shutting the VM down");
    }
}

// The VM is gone: reset the node's address so a reused IP never gets its traffic.
void finish_stops(Pass& p) {
    NodeUpdate update;
    for (auto& [name, n] : p.intents) {
        if (n.phase != Phase::k_stopping || !vm_gone(p.cloud(name))) {
            continue;
        }
        update.names.push_back(name);
        update.node_addrs.push_back(name);
        update.node_hostnames.push_back(name);
        n.private_ip.clear();
        n.operation_id.clear();
        p.move(n, Phase::k_idle, "VM gone; NodeAddr reset to the node name");
    }
    if (!update.names.empty()) {
        p.plan.slurm.push_back(std::move(update));
    }
}

// We journal "creating" before the create call; a daemon killed in between leaves a node
// that waits for a VM nobody asked for. After a grace period with no VM, ask again (the
// literal name makes a duplicate impossible).
void retry_lost_creates(Pass& p) {
    for (auto& [name, n] : p.intents) {
        if (n.desired == Desired::k_powered_up && n.phase == Phase::k_creating &&
            p.cloud(name) == nullptr &&
            p.world.now_ms - n.since_ms > p.settings.lost_create_grace_ms) {
            p.move(n, Phase::k_requested, "no VM appeared for the create; asking again");
        }
    }
}

using Step = void (*)(Pass&);
struct NamedStep {
    const char* name;
    Step run;
};
constexpr NamedStep k_steps[] = {
    {"retry_lost_creates", retry_lost_creates},       {"fail_broken_vms", fail_broken_vms},
    {"shut_down_unwanted", shut_down_unwanted},       {"finish_stops", finish_stops},
    {"start_requested_nodes", start_requested_nodes}, {"publish_addresses", publish_addresses},
    {"see_registrations", see_registrations},
};

}  // namespace

std::string nodearray_of(const std::string& node, const std::string& prefix) {
    if (node.compare(0, prefix.size(), prefix) != 0) {
        return {};
    }
    const std::string rest = node.substr(prefix.size());
    const auto dash = rest.rfind('-');
    if (dash == std::string::npos || dash == 0 || dash + 1 == rest.size()) {
        return {};
    }
    for (std::size_t i = dash + 1; i < rest.size(); ++i) {
        if (std::isdigit(static_cast<unsigned char>(rest[i])) == 0) {
            return {};
        }
    }
    return rest.substr(0, dash);
}

std::vector<NodeIntent> apply_hook_request(const std::map<std::string, NodeIntent>& intents,
                                           HookKind kind, const std::vector<std::string>& names,
                                           const ReconcileSettings& settings, std::int64_t now_ms) {
    std::vector<NodeIntent> changed;
    for (const auto& name : names) {
        NodeIntent n;
        if (const auto it = intents.find(name); it != intents.end()) {
            n = it->second;
        } else {
            n.name = name;
            n.nodearray = nodearray_of(name, settings.node_prefix);
        }
        if (kind == HookKind::k_resume) {
            if (n.desired == Desired::k_powered_up && n.phase != Phase::k_idle &&
                n.phase != Phase::k_stopping) {
                continue;  // already on its way up: a repeated resume changes nothing
            }
            n.desired = Desired::k_powered_up;
            n.phase = Phase::k_requested;
            n.attempts = 0;
            n.deadline_ms = now_ms + settings.resume_timeout_ms(n.nodearray);
            n.last_reason = "Slurm asked to power this node up";
        } else {
            if (n.desired == Desired::k_powered_down) {
                continue;
            }
            n.desired = Desired::k_powered_down;
            n.deadline_ms = 0;
            n.last_reason = kind == HookKind::k_suspend
                                ? "Slurm asked to power this node down"
                                : "Slurm gave up waiting for this node (ResumeTimeout)";
        }
        n.since_ms = now_ms;
        changed.push_back(std::move(n));
    }
    return changed;
}

Plan reconcile(const World& world, const ReconcileSettings& settings) {
    Pass pass{world, settings, world.intents, {}};
    for (const auto& step : k_steps) {
        step.run(pass);
    }
    return std::move(pass.plan);
}

void apply_create_result(Plan& out, const World& world, const CreateBatch& batch,
                         const Result<CreateResult>& result) {
    for (std::size_t i = 0; i < batch.requests.size(); ++i) {
        const auto& req = batch.requests[i];
        auto it = world.intents.find(req.name);
        NodeIntent n = it != world.intents.end() ? it->second : NodeIntent{};
        n.name = req.name;
        n.since_ms = world.now_ms;
        if (!result) {
            n.phase = Phase::k_requested;  // try again next pass
            n.last_reason = "create call failed: " + result.error().describe();
            out.events.push_back({0, world.now_ms, req.name, "error", n.last_reason});
            out.changed.push_back(n);
            continue;
        }
        const CreateSetResult set = i < result->sets.size() ? result->sets[i] : CreateSetResult{};
        // A retried create (or one lost to a crash) finds its node already there: CycleCloud
        // adds 0 and says so. That VM is ours; wait for it like any other.
        const bool already_there = set.added == 0 && set.message.find("exist") != std::string::npos;
        if (set.added >= 1 || already_there) {
            n.phase = Phase::k_creating;
            n.operation_id = result->operation_id;
            out.events.push_back(
                {0, world.now_ms, req.name, "cloud",
                 "CycleCloud accepted the create (operation " + result->operation_id + ")"});
            out.changed.push_back(n);
            continue;
        }
        const std::string why = "cloudburst: capacity: " + req.machine_type + " not added: " +
                                (set.message.empty() ? "no reason given" : set.message);
        out.slurm.push_back({{req.name}, "DOWN", why, {}, {}});
        out.slurm.push_back({{req.name}, "POWER_DOWN", "", {}, {}});
        n.desired = Desired::k_powered_down;
        n.phase = Phase::k_stopping;
        n.last_reason = why;
        out.events.push_back({0, world.now_ms, req.name, "error", why});
        out.changed.push_back(n);
    }
}

}  // namespace cb
