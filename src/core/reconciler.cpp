#include "core/reconciler.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>

#include "core/node_range.h"
#include "util/sanitize.h"

namespace cb {

namespace {

constexpr std::string_view k_slurm_gave_up = "Slurm gave up waiting for this node (ResumeTimeout)";
constexpr std::string_view k_kept_alive =
    "cloudburst: keep_alive: CycleCloud will not shut this VM down while its KeepAlive is set; "
    "clear KeepAlive in CycleCloud to let it go";

bool vm_gone(const CloudNode* vm) {
    return vm == nullptr || vm->status == VmStatus::k_off || vm->status == VmStatus::k_deallocated;
}

bool vm_leaving(const CloudNode* vm) {
    return vm != nullptr &&
           (vm->status == VmStatus::k_terminating || vm->status == VmStatus::k_deallocating);
}

// A VM that costs money and is not on its way out.
bool vm_live(const CloudNode* vm) {
    return !vm_gone(vm) && !vm_leaving(vm);
}

bool starts_with(const std::string& text, std::string_view prefix) {
    return text.compare(0, prefix.size(), prefix) == 0;
}

// Reasons Slurm shows for a node that failed to come up, ours or its own.
bool failure_reason(const std::string& reason) {
    return starts_with(reason, "cloudburst: ") || starts_with(reason, "ResumeTimeout reached");
}

// The node array of node range `range` (core/node_range.h), found as `r`; nullptr when there
// is none.
const NodeArray* array_of(const World& world, const std::string& range,
                          const std::optional<NodeRange>& r) {
    const auto it = world.arrays.find(r ? r->array : range);
    return it == world.arrays.end() ? nullptr : &it->second;
}

std::string region_of(const World& world, const std::string& range) {
    const NodeArray* a = array_of(world, range, find_node_range(world.arrays, range));
    return a == nullptr || a->region.empty() ? "its region" : a->region;
}

// Capacity and quota can show up after CycleCloud accepted a create (the nodes fail in
// Acquiring), so an accepted probe does not prove them gone: the array's entry stays (no
// longer blocking once its time is over) until a VM of the array gets an address, and a
// further failure backs off longer.
bool seen_late(ErrorKind kind) {
    return kind == ErrorKind::k_capacity || kind == ErrorKind::k_quota;
}

// The bucket of node range `range` for `machine_type` (the range's own size when it is not
// named or not found; the array's first bucket when the range is unknown).
const Bucket* bucket_of(const World& world, const std::string& range,
                        const std::string& machine_type) {
    const auto r = find_node_range(world.arrays, range);
    const NodeArray* a = array_of(world, range, r);
    if (a == nullptr || a->buckets.empty()) {
        return nullptr;
    }
    for (const auto* wanted : {&machine_type, r ? &r->machine_type : nullptr}) {
        for (const auto& b : a->buckets) {
            if (wanted != nullptr && !wanted->empty() && b.machine_type == *wanted) {
                return &b;
            }
        }
    }
    return &a->buckets.front();
}

// The available count of node range `range`'s bucket (it includes quota); -1 when unknown.
int available_of(const World& world, const std::string& range) {
    const Bucket* b = bucket_of(world, range, {});
    return b == nullptr ? -1 : b->available_count;
}

// The bucket of `range` for exactly `machine_type`, when CycleCloud says it cannot be used
// (`valid` false: the size is not activated or is disabled for the subscription).
const Bucket* invalid_bucket(const World& world, const std::string& range,
                             const std::string& machine_type) {
    const Bucket* b = bucket_of(world, range, machine_type);
    return b != nullptr && b->machine_type == machine_type && !b->valid ? b : nullptr;
}

// An invalid bucket needs an admin (activate the size, or choose another), not a backoff.
std::string invalid_bucket_reason(const std::string& array, const Bucket& b) {
    const std::string said = without_control_chars(b.invalid_reason);
    return "cloudburst: permanent: " + without_control_chars(b.machine_type) +
           " cannot be used in node array " + array + " (" +
           (said.empty() ? std::string("CycleCloud marks it not valid") : said) +
           "); activate the VM size for the subscription or set another in the node array";
}

// Slurm runs jobs on the node (or is finishing them).
bool busy(const SlurmNode& s) {
    return s.state.base == "ALLOCATED" || s.state.base == "MIXED" || s.state.base == "COMPLETING" ||
           s.state.has("COMPLETING");
}

// slurmd registered: Slurm no longer shows the node powering up or down, and reaches it.
bool registered(const SlurmNode* s) {
    return s != nullptr && !s->state.has("POWERING_UP") && !s->state.has("NOT_RESPONDING") &&
           !s->state.has("POWERED_DOWN");
}

// slurmd is not there: Slurm has the node DOWN or cannot reach it.
bool slurmd_gone(const SlurmNode* s) {
    return s == nullptr || s->state.base == "DOWN" || s->state.has("NOT_RESPONDING");
}

// The reason Slurm shows for nodes that capacity or quota kept from coming up.
std::string shortfall_reason(const World& world, const std::string& array,
                             const std::string& machine_type, ErrorKind kind,
                             const std::string& said) {
    const std::string text = said.empty() ? "no reason given" : said;
    return kind == ErrorKind::k_quota
               ? "cloudburst: quota: " + machine_type + " in " + region_of(world, array) + ": " +
                     text
               : "cloudburst: capacity: " + machine_type + " unavailable in " +
                     region_of(world, array) + ": " + text;
}

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
    // The array's health when it currently stops creates; nullptr when asking is fine.
    // A spent budget is the whole array's (daemon/spend.h): it stops its every VM size.
    const ArrayHealth* blocked(const std::string& range) const {
        const auto r = find_node_range(world.arrays, range);
        const ArrayHealth* h = range_health(plan.health, range, r ? r->array : range);
        return h == nullptr || world.now_ms >= h->until_ms ? nullptr : h;
    }
    void event(const std::string& node, const char* kind, std::string message,
               std::string summary = {}) {
        plan.events.push_back(
            {0, world.now_ms, node, kind, std::move(message), std::move(summary)});
    }
    // Moves a node to `phase` and records why (`summary`: see NodeEvent).
    void move(NodeIntent& n, Phase phase, std::string why, std::string summary = {}) {
        n.phase = phase;
        n.since_ms = world.now_ms;
        n.last_reason = why;
        event(n.name, "transition", std::move(why), std::move(summary));
        plan.changed.push_back(n);
    }
    // Gives up on a node: DOWN in Slurm with `reason` (its jobs requeue at once), powered
    // down, its VM shut down; "failed" until the VM is gone and its array is healthy again.
    void fail(NodeIntent& n, const std::string& reason, bool tell_slurm = true) {
        if (tell_slurm) {
            plan.slurm.push_back({{n.name}, "DOWN", reason, {}, {}});
            plan.slurm.push_back({{n.name}, "POWER_DOWN", "", {}, {}});
        }
        if (vm_live(cloud(n.name))) {
            plan.shutdowns.push_back(n.name);
        }
        n.desired = Desired::k_powered_down;
        n.deadline_ms = 0;
        move(n, Phase::k_failed, reason);
    }
    // A node whose VM came up but never did its part (never registered, failed in
    // Preparing): one more in its array's streak; the array's bootstrap breaker opens at
    // settings.bootstrap_failures in a row, so a bad image or cluster-init stops costing a
    // VM per node per ResumeTimeout.
    void bootstrap_failed(const NodeIntent& n, const std::string& what) {
        if (settings.bootstrap_failures <= 0 || n.nodearray.empty()) {
            return;
        }
        BootstrapStreak& streak = plan.bootstrap[n.nodearray];
        streak.failures += 1;
        streak.last = n.name + " " + what;
        if (streak.failures < settings.bootstrap_failures) {
            return;
        }
        const std::string why = "cloudburst: bootstrap: " + std::to_string(streak.failures) +
                                " nodes of " + n.nodearray +
                                " in a row never registered with Slurm; last: " + streak.last +
                                "; check the image and cluster-init, then `cloudburst buckets "
                                "reset " +
                                n.nodearray + "`";
        record_failure(plan.health, n.nodearray, ErrorKind::k_permanent, why, world.now_ms,
                       settings);
        ArrayHealth& h = plan.health[n.nodearray];
        if (h.reason == why) {
            h.bootstrap = true;
            event(n.name, "error", why);
        }
    }
};

// Where a new VM of node `n` goes: its placement group ("" for none), or why it cannot be
// made (`refusal`, the node's reason; `array_fault`: the array's settings are at fault, so it
// backs off like any permanent error).
struct PlacementChoice {
    std::string group;
    std::string refusal;
    bool array_fault = false;
};

// The job whose resume file named `node` and that still waits for its nodes (nullptr: none).
const JobRequest* job_of(const World& world, const std::string& node) {
    for (const auto& [id, job] : world.jobs) {
        if (job.phase == JobPhase::k_starting &&
            std::find(job.nodes.begin(), job.nodes.end(), node) != job.nodes.end()) {
            return &job;
        }
    }
    return nullptr;
}

// Node ranges (VM sizes) never share a group: the group's name is the range's.
PlacementChoice choose_placement(Pass& p, const NodeIntent& n, const NodeArray& array,
                                 const std::string& machine_type) {
    const Placement mode = effective_placement(p.settings.placement(n.nodearray), array);
    if (mode == Placement::k_none) {
        return {};
    }
    const int size = placement_group_size(array, machine_type);
    const std::int64_t index = node_index(n.name, p.settings.node_prefix, n.nodearray);
    std::string group =
        partition_group_name(p.settings.cluster, n.nodearray, placement_slot(index, size));
    if (const JobRequest* job = job_of(p.world, n.name); job != nullptr) {
        std::vector<std::string> ours;
        std::set<std::int64_t> slots;
        for (const auto& other : job->nodes) {
            if (nodearray_of(other, p.settings.node_prefix) == n.nodearray) {
                ours.push_back(other);
                slots.insert(
                    placement_slot(node_index(other, p.settings.node_prefix, n.nodearray), size));
            }
        }
        if (static_cast<std::int64_t>(ours.size()) > size) {
            return {"",
                    fmt::format("cloudburst: placement: job {} needs {} nodes of {} in one "
                                "placement group, which holds at most {} ({}); ask for at most "
                                "{} nodes, or set nodearrays.{}.placement = \"none\" if the job "
                                "does not need one fabric",
                                job->job_id, ours.size(), n.nodearray, size,
                                without_control_chars(machine_type), size, array.name),
                    false};
        }
        if (mode == Placement::k_job) {
            group = job_group_name(p.settings.cluster, n.nodearray, job->job_id);
        } else if (slots.size() > 1) {
            // Slurm placed the job across topology.conf's switches (it was fragmented, or
            // topology.conf is not in use): the nodes keep their groups, and someone is told.
            p.event(n.name, "cloud",
                    fmt::format("job {} spans {} placement groups of {}: its nodes will not "
                                "share one fabric; run `cloudburst scale` (topology.conf) or "
                                "submit with --switches=1",
                                job->job_id, slots.size(), n.nodearray));
        }
    }
    if (!valid_placement_group_name(group)) {
        return {"",
                "cloudburst: config: placement group name '" + without_control_chars(group) +
                    "' is not valid (1 to 64 letters, digits, '-', '_' or '.'); rename the "
                    "CycleCloud cluster or node array, or set nodearrays." +
                    array.name + ".placement = \"none\"",
                true};
    }
    return {group, "", false};
}

// Resume asked, nothing in flight: create the VM, start a deallocated one, or wait for an
// old one that is still going away. An array that is backed off fails its nodes at once
// (capacity, quota, permanent errors) or lets them wait (throttled, transient).
void start_requested_nodes(Pass& p) {
    std::map<std::string, CreateBatch> batches;
    // Node arrays whose bootstrap breaker lets one probe node through: its name, once asked.
    std::map<std::string, bool> probe_out;
    const auto probing = [&p, &probe_out](const std::string& array) -> bool& {
        const auto it = probe_out.find(array);
        if (it != probe_out.end()) {
            return it->second;
        }
        bool out = false;
        for (const auto& [other, m] : p.intents) {
            out = out || (m.nodearray == array && m.desired == Desired::k_powered_up &&
                          (m.phase == Phase::k_creating || m.phase == Phase::k_registering));
        }
        return probe_out[array] = out;
    };
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
            const auto range = find_node_range(p.world.arrays, n.nodearray);
            if (!range) {
                const std::string why =
                    "cloudburst: config: no CycleCloud node array '" + n.nodearray + "'";
                record_failure(p.plan.health, n.nodearray, ErrorKind::k_permanent, why,
                               p.world.now_ms, p.settings);
                p.fail(n, why);
                continue;
            }
            if (const ArrayHealth* h = p.blocked(n.nodearray); h != nullptr) {
                if (fails_nodes(h->kind)) {
                    // A spent budget's reason says until when itself (a date).
                    p.fail(n, h->budget ? h->reason
                                        : h->reason + " (not asking again before " +
                                              clock_text(h->until_ms) + ")");
                }
                continue;
            }
            const NodeArray& array = p.world.arrays.at(range->array);
            if (const Bucket* b = invalid_bucket(p.world, n.nodearray, range->machine_type);
                b != nullptr) {
                const std::string why = invalid_bucket_reason(range->array, *b);
                record_failure(p.plan.health, n.nodearray, ErrorKind::k_permanent, why,
                               p.world.now_ms, p.settings);
                p.fail(n, why);
                continue;
            }
            const PlacementChoice placement = choose_placement(p, n, array, range->machine_type);
            if (!placement.refusal.empty()) {
                if (placement.array_fault) {
                    record_failure(p.plan.health, n.nodearray, ErrorKind::k_permanent,
                                   placement.refusal, p.world.now_ms, p.settings);
                }
                p.fail(n, placement.refusal);
                continue;
            }
            if (const auto h = p.plan.health.find(n.nodearray);
                h != p.plan.health.end() && h->second.bootstrap) {
                // The breaker's backoff is over: one node probes; the others wait in
                // `requested` for its outcome (its registration closes the breaker).
                bool& out = probing(n.nodearray);
                if (out) {
                    continue;
                }
                out = true;
                p.event(name, "cloud",
                        "probing node array " + n.nodearray +
                            " with this node after its bootstrap breaker's backoff");
            }
            auto& batch = batches[n.nodearray];
            batch.nodearray = n.nodearray;
            batch.requests.push_back({range->array, range->machine_type, name, placement.group});
            ++n.attempts;
            p.move(n, Phase::k_creating,
                   "asked CycleCloud for a " + range->machine_type + " VM" +
                       (placement.group.empty() ? "" : " in placement group " + placement.group));
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
        if (!is_ip_address(vm->private_ip)) {
            // Never an scontrol argument: "1.2.3.4 State=DOWN" would be read as two.
            const std::string why = "CycleCloud reports the address '" + escaped(vm->private_ip) +
                                    "', which is not an IP address; NodeAddr not set";
            if (n.last_reason != why) {
                n.last_reason = why;
                p.event(name, "error", why);
                p.plan.changed.push_back(n);
            }
            continue;
        }
        update.names.push_back(name);
        update.node_addrs.push_back(vm->private_ip);
        update.node_hostnames.push_back(name);
        n.private_ip = vm->private_ip;
        if (const auto h = p.plan.health.find(n.nodearray); h != p.plan.health.end() &&
                                                            seen_late(h->second.kind) &&
                                                            h->second.until_ms <= p.world.now_ms) {
            p.event(name, "cloud",
                    "a VM of node array " + n.nodearray + " was allocated; its backoff is over");
            p.plan.health.erase(h);
        }
        p.move(n, Phase::k_registering,
               "VM " + vm->status_text + " at " + vm->private_ip +
                   "; set NodeAddr in Slurm, waiting for slurmd",
               "VM " + vm->status_text +
                   " has its address; set NodeAddr in Slurm, waiting for "
                   "slurmd");
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
        if (registered(s)) {
            p.plan.bootstrap.erase(n.nodearray);
            if (const auto h = p.plan.health.find(n.nodearray);
                h != p.plan.health.end() && h->second.bootstrap) {
                p.event(
                    name, "cloud",
                    "registered: the bootstrap breaker of node array " + n.nodearray + " closes");
                p.plan.health.erase(h);
            }
            p.move(n, Phase::k_running, "slurmd registered; node is " + s->state.base);
        }
    }
}

// CycleCloud marked the VM of a running node Failed (a health event) while slurmd still runs
// its jobs: killing them would throw their work away, so the node is drained (no new jobs) and
// failed once it is idle or slurmd is gone. True while the node is drained.
bool drain_while_busy(Pass& p, NodeIntent& n, const std::string& why) {
    const SlurmNode* s = p.slurm(n.name);
    if (slurmd_gone(s) || !busy(*s)) {
        return false;
    }
    const std::string reason = why + "; draining: replaced when its jobs end";
    if (n.last_reason != reason) {
        p.plan.slurm.push_back({{n.name}, "DRAIN", reason, {}, {}});
        n.last_reason = reason;
        p.event(n.name, "transition", reason);
        p.plan.changed.push_back(n);
    }
    return true;
}

// A VM failed while we waited for it or while it ran: mark the node down with CycleCloud's
// reason so its jobs requeue now, and clean the VM up (a Failed VM may still exist and bill).
// One that failed its allocation (capacity or quota Azure found after CycleCloud accepted the
// create, Failed or stuck in Acquiring with the error) also backs its node array off, exactly
// as a create that added fewer nodes does. One that failed after it had its VM counts toward
// the array's bootstrap breaker; one running jobs is drained first.
void fail_broken_vms(Pass& p) {
    for (auto& [name, n] : p.intents) {
        if (n.desired != Desired::k_powered_up ||
            (n.phase != Phase::k_creating && n.phase != Phase::k_registering &&
             n.phase != Phase::k_running)) {
            continue;
        }
        const CloudNode* vm = p.cloud(name);
        if (vm == nullptr) {
            continue;
        }
        const bool failed = vm->status == VmStatus::k_failed;
        const bool stalled = vm->status == VmStatus::k_acquiring && n.phase == Phase::k_creating &&
                             !vm->status_message.empty();
        if (!failed && !stalled) {
            continue;
        }
        const std::string said = without_control_chars(vm->status_message);
        const ErrorKind kind =
            n.phase == Phase::k_creating
                ? classify_late_failure(*vm, bucket_of(p.world, n.nodearray, vm->machine_type),
                                        p.world.now_ms - n.since_ms)
                : ErrorKind::k_cloud;
        if (kind == ErrorKind::k_capacity || kind == ErrorKind::k_quota) {
            const auto range = find_node_range(p.world.arrays, n.nodearray);
            const std::string size = !vm->machine_type.empty()
                                         ? without_control_chars(vm->machine_type)
                                     : range ? range->machine_type
                                             : std::string("its VM size");
            const std::string why = shortfall_reason(p.world, n.nodearray, size, kind, said);
            record_failure(p.plan.health, n.nodearray, kind, why, p.world.now_ms, p.settings,
                           available_of(p.world, n.nodearray));
            p.fail(n, why);
            continue;
        }
        if (stalled) {
            continue;  // Acquiring with some other message: CycleCloud is still at it
        }
        const std::string why = "cloudburst: cloud: VM failed" + (said.empty() ? "" : ": " + said);
        // A node still "registering" to us may have registered and started its job already
        // (the prolog gate releases jobs within 250 ms, before our next pass): Slurm decides.
        const bool up = n.phase == Phase::k_running ||
                        (n.phase == Phase::k_registering && registered(p.slurm(name)));
        if (up && drain_while_busy(p, n, why)) {
            continue;
        }
        if (n.phase != Phase::k_running && !vm->private_ip.empty()) {
            p.bootstrap_failed(
                n, "failed before slurmd registered" + (said.empty() ? "" : ": " + said));
        }
        p.fail(n, why);
    }
}

// Azure's Spot eviction notice (Scheduled Events "Preempt", about 30 s ahead; CycleCloud
// shows it in StatusMessage while the node is still Ready): the VM will go. Take the node
// out now, so its jobs requeue at once and none start there.
void evacuate_evicted_vms(Pass& p) {
    for (auto& [name, n] : p.intents) {
        if (n.desired != Desired::k_powered_up ||
            (n.phase != Phase::k_registering && n.phase != Phase::k_running)) {
            continue;
        }
        const CloudNode* vm = p.cloud(name);
        if (!vm_live(vm) || vm->status == VmStatus::k_failed ||
            !starts_with(vm->status_message, "Preempt")) {
            continue;
        }
        p.fail(n, "cloudburst: evicted: Azure is reclaiming this Spot VM (" +
                      without_control_chars(vm->status_message) + "); its jobs requeue");
    }
}

// CycleCloud lost touch with the VM of a running node (Unavailable): it may still run. Slurm
// decides: while slurmd responds the node is kept (noted once); when slurmd does not, it
// failed. A node still coming up waits for its deadline, as in any status it cannot use.
void watch_unavailable_vms(Pass& p) {
    constexpr std::string_view k_kept =
        "CycleCloud reports the VM Unavailable; slurmd still responds, keeping the node";
    for (auto& [name, n] : p.intents) {
        if (n.desired != Desired::k_powered_up || n.phase != Phase::k_running) {
            continue;
        }
        const CloudNode* vm = p.cloud(name);
        if (vm == nullptr || vm->status != VmStatus::k_unavailable) {
            continue;
        }
        if (!slurmd_gone(p.slurm(name))) {
            if (n.last_reason != k_kept) {
                n.last_reason = std::string(k_kept);
                p.event(name, "cloud", std::string(k_kept));
                p.plan.changed.push_back(n);
            }
            continue;
        }
        p.fail(n,
               "cloudburst: cloud: CycleCloud reports the VM Unavailable and slurmd does "
               "not respond");
    }
}

// The VM of a node that was up went away (Spot eviction, deleted by hand): its jobs requeue
// and the node goes back to the pool once the VM is gone.
void notice_lost_vms(Pass& p) {
    for (auto& [name, n] : p.intents) {
        if (n.desired != Desired::k_powered_up ||
            (n.phase != Phase::k_registering && n.phase != Phase::k_running)) {
            continue;
        }
        const CloudNode* vm = p.cloud(name);
        if (vm_live(vm)) {
            continue;
        }
        std::string reason = "cloudburst: lost: the VM ";
        reason += vm == nullptr ? "is gone" : "is " + vm->status_text;
        if (vm != nullptr && !vm->status_message.empty()) {
            reason += ": " + vm->status_message;
        }
        p.fail(n, reason);
    }
}

// Past the ResumeTimeout deadline and not up: Slurm has given up (and its ResumeFailProgram
// call may be lost) or will; give up too so the VM does not run for nothing.
void give_up_after_deadline(Pass& p) {
    for (auto& [name, n] : p.intents) {
        if (n.desired != Desired::k_powered_up || n.deadline_ms == 0 ||
            (n.phase != Phase::k_requested && n.phase != Phase::k_creating &&
             n.phase != Phase::k_registering) ||
            p.world.now_ms < n.deadline_ms + p.settings.deadline_grace_ms) {
            continue;
        }
        const SlurmNode* s = p.slurm(name);
        const bool slurm_gave_up =
            s != nullptr && s->state.base == "DOWN" && s->state.has("POWERED_DOWN");
        if (n.phase == Phase::k_registering) {
            p.bootstrap_failed(n, "at " + n.private_ip + " never registered by its ResumeTimeout");
        }
        p.fail(n,
               "cloudburst: timeout: the node was not up by its ResumeTimeout (" +
                   std::string(to_string(n.phase)) + ")",
               !slurm_gave_up);
    }
}

// Suspend asked: shut the VM down (per its node array's policy). After ResumeTimeout the
// node failed: cleaned up the same way, then returned to the pool.
void shut_down_unwanted(Pass& p) {
    for (auto& [name, n] : p.intents) {
        if (n.desired != Desired::k_powered_down ||
            (n.phase != Phase::k_requested && n.phase != Phase::k_creating &&
             n.phase != Phase::k_registering && n.phase != Phase::k_running)) {
            continue;
        }
        if (n.last_reason == k_slurm_gave_up) {
            if (n.phase == Phase::k_registering) {
                p.bootstrap_failed(n,
                                   "at " + n.private_ip + " never registered by its ResumeTimeout");
            }
            p.fail(n, std::string(k_slurm_gave_up), false);
            continue;
        }
        if (vm_live(p.cloud(name))) {
            p.plan.shutdowns.push_back(name);
        }
        p.move(n, Phase::k_stopping, "shutting the VM down");
    }
}

// A shutdown that did not take (the call failed, CycleCloud lost it, deallocation failed):
// ask again, at most every stop_retry_ms. CycleCloud refuses to terminate or deallocate a
// node whose KeepAlive is set, for as long as it is set (keep-alive how-to): asking again
// would never end, so the node is held DOWN with a reason that says so, once, and asked
// again only when KeepAlive is cleared.
void repeat_stuck_shutdowns(Pass& p) {
    for (auto& [name, n] : p.intents) {
        if ((n.phase != Phase::k_stopping && n.phase != Phase::k_failed) ||
            p.world.now_ms - n.since_ms < p.settings.stop_retry_ms) {
            continue;
        }
        const CloudNode* vm = p.cloud(name);
        if (!vm_live(vm)) {
            continue;
        }
        if (vm->keep_alive) {
            if (n.last_reason != k_kept_alive) {
                p.plan.slurm.push_back({{name}, "DOWN", std::string(k_kept_alive), {}, {}});
                n.last_reason = std::string(k_kept_alive);
                p.event(name, "cloud",
                        "CycleCloud keeps the VM (" + vm->status_text +
                            ") because its KeepAlive is set; not asking again until it is "
                            "cleared");
                p.plan.changed.push_back(n);
            }
            continue;
        }
        p.plan.shutdowns.push_back(name);
        n.since_ms = p.world.now_ms;
        p.event(name, "cloud",
                "the VM is still " + vm->status_text + "; asking again to shut it down");
        p.plan.changed.push_back(n);
    }
}

// The VM is gone: reset the node's address so a reused IP never gets its traffic. A stopped
// node is idle; a failed one stays failed until return_failed_nodes lets it go.
void finish_stops(Pass& p) {
    NodeUpdate update;
    for (auto& [name, n] : p.intents) {
        if ((n.phase != Phase::k_stopping && n.phase != Phase::k_failed) ||
            !vm_gone(p.cloud(name))) {
            continue;
        }
        if (n.phase == Phase::k_failed && n.private_ip.empty()) {
            // Never published, or already reset; unless Slurm still has an address for it
            // (set just before a crash that kept it from the journal: the daemon tells Slurm
            // addresses before it journals them).
            const SlurmNode* s = p.slurm(name);
            if (s == nullptr || s->node_addr.empty() || s->node_addr == name) {
                continue;
            }
        }
        update.names.push_back(name);
        update.node_addrs.push_back(name);
        update.node_hostnames.push_back(name);
        n.private_ip.clear();
        n.operation_id.clear();
        if (n.phase == Phase::k_stopping) {
            p.move(n, Phase::k_idle, "VM gone; NodeAddr reset to the node name");
        } else {
            p.event(name, "slurm", "VM gone; NodeAddr reset to the node name");
            p.plan.changed.push_back(n);
        }
    }
    if (!update.names.empty()) {
        p.plan.slurm.push_back(std::move(update));
    }
}

// Failed nodes go back to the powered-down pool by themselves once their VM is gone and their
// array may be asked again; until then they are held DOWN with the reason, so Slurm places
// jobs elsewhere. Also returns nodes Slurm left down~ after ResumeTimeout that we have no
// record of (a lost journal, a failure before cloudburst ran).
void return_failed_nodes(Pass& p) {
    std::vector<std::string> to_resume;
    for (const auto& [name, s] : p.world.slurm) {
        auto it = p.intents.find(name);
        NodeIntent* n = it == p.intents.end() ? nullptr : &it->second;
        const bool ours_failed = n != nullptr && n->phase == Phase::k_failed;
        const bool stray = (n == nullptr || n->phase == Phase::k_idle) && s.state.has("CLOUD") &&
                           s.state.base == "DOWN" && s.state.has("POWERED_DOWN") &&
                           failure_reason(s.reason);
        if ((!ours_failed && !stray) || !vm_gone(p.cloud(name)) || s.state.has("POWERING_DOWN") ||
            s.state.has("POWERING_UP") || s.state.has("POWER_UP")) {
            continue;
        }
        if (!s.state.has("POWERED_DOWN")) {
            // Still DOWN but not powered down (the POWER_DOWN was lost): ask again.
            if (!s.state.has("POWER_DOWN")) {
                p.plan.slurm.push_back({{name}, "POWER_DOWN", "", {}, {}});
            }
            continue;
        }
        const std::string array =
            n != nullptr ? n->nodearray : nodearray_of(name, p.settings.node_prefix);
        if (const ArrayHealth* h = p.blocked(array);
            h != nullptr && fails_nodes(h->kind) && p.world.retry.count(name) == 0) {
            // Hold: idle_on_node_suspend made it idle~; keep Slurm away until the backoff ends.
            if (s.state.base != "DOWN" && ours_failed) {
                p.plan.slurm.push_back({{name}, "DOWN", h->reason, {}, {}});
            }
            continue;
        }
        if (s.state.base == "DOWN" || s.state.has("DRAIN")) {
            to_resume.push_back(name);
        }
        const std::string was = ours_failed ? n->last_reason : s.reason;
        const char* by = p.world.retry.count(name) != 0 ? " by cloudburst retry" : "";
        if (n != nullptr) {
            p.move(*n, Phase::k_idle,
                   std::string("returned to the powered-down pool") + by + " (was: " + was + ")");
        } else {
            p.event(name, "slurm",
                    std::string("returned to the powered-down pool") + by + " (was: " + was + ")");
        }
    }
    if (!to_resume.empty()) {
        p.plan.slurm.push_back({to_resume, "RESUME", "", {}, {}});
    }
}

// A node range (a VM size) backed off for capacity, quota or a permanent error: its other
// powered-down nodes are held DOWN with the same reason, so that Slurm places jobs on the
// array's next VM size (or elsewhere) at once instead of trying them one by one, each failing
// without a call. return_failed_nodes gives them back when the backoff ends, as it does the
// nodes that failed. Nodes Slurm uses, is powering, or an admin set DOWN or DRAIN are left alone.
void hold_backed_off_ranges(Pass& p) {
    if (p.plan.health.empty()) {
        return;
    }
    std::map<std::string, const ArrayHealth*> blocked;     // by range: its nodes are many
    std::map<std::string, std::vector<std::string>> held;  // by reason
    for (const auto& [name, s] : p.world.slurm) {
        if (!s.state.has("CLOUD") || !s.state.has("POWERED_DOWN") || s.state.base == "DOWN" ||
            s.state.has("DRAIN") || s.state.has("POWERING_UP") || s.state.has("POWER_UP") ||
            s.state.has("POWERING_DOWN") || !vm_gone(p.cloud(name))) {
            continue;
        }
        const auto it = p.intents.find(name);
        if (it != p.intents.end() &&
            (it->second.phase != Phase::k_idle || it->second.desired == Desired::k_powered_up)) {
            continue;
        }
        const std::string range = nodearray_of(name, p.settings.node_prefix);
        auto known = blocked.find(range);
        if (known == blocked.end()) {
            known = blocked.emplace(range, p.blocked(range)).first;
        }
        const ArrayHealth* h = known->second;
        if (h != nullptr && fails_nodes(h->kind) && p.world.retry.count(name) == 0) {
            held[h->reason].push_back(name);
        }
    }
    for (auto& [reason, names] : held) {
        for (const auto& name : names) {
            p.event(name, "slurm", "held DOWN while its VM size is backed off: " + reason);
        }
        p.plan.slurm.push_back({std::move(names), "DOWN", reason, {}, {}});
    }
}

// A VM that runs while Slurm has its node powered down (or does not know the node), and that
// we are not building: an orphan (a create behind our back, a shutdown lost before we
// journaled it) or a zombie (a Failed VM nobody cleaned). Noted first; removed when it is
// still there after orphan_grace_ms, so nothing being built is ever torn down. The time it
// was first seen is kept in the idle intent's deadline_ms.
void sweep_orphans(Pass& p) {
    for (const auto& [name, vm] : p.world.cloud) {
        if (vm.keep_alive || vm_gone(&vm) || vm_leaving(&vm)) {
            continue;
        }
        // Only a node of one of our arrays by its name, and a name Slurm reads as one node:
        // a record named "hpc-[1-500],onprem-[1-64]" must never reach scontrol.
        const std::string array = nodearray_of(name, p.settings.node_prefix);
        const auto range = find_node_range(p.world.arrays, array);
        if (!is_plain_name(name) || !range ||
            (!vm.nodearray.empty() && vm.nodearray != range->array)) {
            continue;  // not a node of a node array we manage
        }
        const SlurmNode* s = p.slurm(name);
        if (s != nullptr && !s->state.has("POWERED_DOWN") && !s->state.has("POWERING_DOWN")) {
            continue;  // Slurm uses the node (someone powered it up by hand): leave it
        }
        auto it = p.intents.find(name);
        if (it != p.intents.end() && it->second.phase != Phase::k_idle) {
            continue;  // in flight or failed: other steps own it
        }
        if (it == p.intents.end()) {
            NodeIntent fresh;
            fresh.name = name;
            fresh.nodearray = array;
            it = p.intents.emplace(name, fresh).first;
        }
        NodeIntent& n = it->second;
        if (n.deadline_ms == 0) {
            n.deadline_ms = p.world.now_ms + p.settings.orphan_grace_ms;
            p.move(n, Phase::k_idle,
                   "VM " + vm.status_text + " but Slurm has the node powered down; removing it " +
                       "after " + clock_text(n.deadline_ms) + " unless it is wanted by then");
        } else if (p.world.now_ms >= n.deadline_ms) {
            p.plan.shutdowns.push_back(name);
            n.deadline_ms = 0;
            p.move(n, Phase::k_stopping,
                   "orphan VM (" + vm.status_text + ") removed after the grace period");
        }
    }
    // An orphan that went away or got wanted: forget the mark.
    for (auto& [name, n] : p.intents) {
        if (n.phase == Phase::k_idle && n.desired == Desired::k_powered_down &&
            n.deadline_ms != 0 && vm_gone(p.cloud(name))) {
            n.deadline_ms = 0;
            p.move(n, Phase::k_idle, "the VM noted as orphan is gone");
        }
    }
}

// Quota that changed (the array's available count moved) clears the block early.
void notice_quota_changes(Pass& p) {
    for (auto it = p.plan.health.begin(); it != p.plan.health.end();) {
        const int available = available_of(p.world, it->first);
        if (it->second.kind == ErrorKind::k_quota && it->second.available_at_trip >= 0 &&
            available >= 0 && available != it->second.available_at_trip) {
            p.event(it->first, "cloud",
                    "quota of node array " + it->first + " changed; asking again");
            it = p.plan.health.erase(it);
        } else {
            ++it;
        }
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

// A node of `job` that failed since the job asked for it (at the start of the pass, or in
// it): the first one by name, or nullptr.
const NodeIntent* failed_node_of(const Pass& p, const JobRequest& job) {
    for (const auto& name : job.nodes) {
        for (const auto* intents : {&p.world.intents, &p.intents}) {
            const auto it = intents->find(name);
            if (it != intents->end() && it->second.phase == Phase::k_failed &&
                it->second.since_ms >= job.recorded_ms) {
                return &it->second;
            }
        }
    }
    return nullptr;
}

// Takes a node out of this pass's create and start calls (it was failed after they were
// planned).
void unplan(Plan& plan, const std::string& name) {
    for (auto& batch : plan.creates) {
        std::erase_if(batch.requests, [&](const CreateRequest& r) { return r.name == name; });
    }
    std::erase_if(plan.creates, [](const CreateBatch& b) { return b.requests.empty(); });
    std::erase(plan.starts, name);
}

// A multi-node job runs only when all of its nodes are up. When one of them failed
// (capacity, quota, a blocked array, a VM that failed, its deadline), the others would only
// bill while Slurm requeues the job: they are failed with it, together, with a reason that
// names the job and the first failure, and their VMs shut down. A node that another job,
// starting or started and not failing, was also given is kept, and so is one whose slurmd has
// registered: Slurm may already have given it to another job (after it requeued this one),
// and an idle one is suspended by Slurm's SuspendTime. Once a job has started (see
// follow_jobs) its nodes are Slurm's to judge one by one.
void fail_jobs_together(Pass& p) {
    std::map<std::int64_t, const NodeIntent*> failing;
    std::set<std::string> kept;  // nodes of jobs that are fine
    for (const auto& [id, job] : p.world.jobs) {
        if (job.phase == JobPhase::k_failed) {
            continue;
        }
        const NodeIntent* failed =
            job.phase == JobPhase::k_starting ? failed_node_of(p, job) : nullptr;
        if (failed != nullptr) {
            failing[id] = failed;
        } else {
            kept.insert(job.nodes.begin(), job.nodes.end());
        }
    }
    for (const auto& [id, failed] : failing) {
        JobRequest job = p.world.jobs.at(id);
        const std::string why = "cloudburst: job " + std::to_string(id) +
                                " cannot have all its nodes (" + failed->name + ": " +
                                failed->last_reason + "); giving all of them back together";
        for (const auto& name : job.nodes) {
            const auto it = p.intents.find(name);
            if (it == p.intents.end() || kept.count(name) != 0) {
                continue;
            }
            NodeIntent& n = it->second;
            if (n.desired != Desired::k_powered_up ||
                (n.phase != Phase::k_requested && n.phase != Phase::k_creating &&
                 n.phase != Phase::k_registering)) {
                continue;
            }
            unplan(p.plan, name);
            p.fail(n, why);
        }
        job.phase = JobPhase::k_failed;
        job.reason = why;
        p.event(failed->name, "error", why);
        p.plan.jobs.push_back(std::move(job));
    }
}

// A job all of whose nodes registered has started; one none of whose nodes is wanted up any
// more is forgotten (a failed one after failed_job_memory_ms, for `cloudburst why JOBID`).
void follow_jobs(Pass& p) {
    std::set<std::int64_t> changed;  // by fail_jobs_together in this pass
    for (const auto& j : p.plan.jobs) {
        changed.insert(j.job_id);
    }
    for (const auto& [id, job] : p.world.jobs) {
        if (changed.count(id) != 0) {
            continue;
        }
        bool all_up = !job.nodes.empty();
        bool any_wanted = false;
        for (const auto& name : job.nodes) {
            const auto it = p.intents.find(name);
            const bool up = it != p.intents.end() && it->second.desired == Desired::k_powered_up;
            any_wanted = any_wanted || up;
            all_up = all_up && up && it->second.phase == Phase::k_running;
        }
        if (job.phase == JobPhase::k_failed
                ? p.world.now_ms - job.recorded_ms > p.settings.failed_job_memory_ms
                : !any_wanted) {
            p.plan.forgotten_jobs.push_back(id);
        } else if (job.phase == JobPhase::k_starting && all_up) {
            JobRequest started = job;
            started.phase = JobPhase::k_started;
            p.plan.jobs.push_back(std::move(started));
        }
    }
}

using Step = void (*)(Pass&);
struct NamedStep {
    const char* name;
    Step run;
};
constexpr NamedStep k_steps[] = {
    {"notice_quota_changes", notice_quota_changes},
    {"retry_lost_creates", retry_lost_creates},
    {"fail_broken_vms", fail_broken_vms},
    {"evacuate_evicted_vms", evacuate_evicted_vms},
    {"watch_unavailable_vms", watch_unavailable_vms},
    {"notice_lost_vms", notice_lost_vms},
    {"give_up_after_deadline", give_up_after_deadline},
    {"shut_down_unwanted", shut_down_unwanted},
    {"repeat_stuck_shutdowns", repeat_stuck_shutdowns},
    {"finish_stops", finish_stops},
    {"return_failed_nodes", return_failed_nodes},
    {"hold_backed_off_ranges", hold_backed_off_ranges},
    {"sweep_orphans", sweep_orphans},
    {"start_requested_nodes", start_requested_nodes},
    {"publish_addresses", publish_addresses},
    {"see_registrations", see_registrations},
    {"fail_jobs_together", fail_jobs_together},
    {"follow_jobs", follow_jobs},
};

}  // namespace

ErrorKind classify_late_failure(const CloudNode& vm, const Bucket* bucket,
                                std::int64_t asked_ago_ms) {
    const bool stalled = vm.status == VmStatus::k_acquiring && !vm.status_message.empty();
    if ((vm.status != VmStatus::k_failed && !stalled) || !vm.private_ip.empty()) {
        return ErrorKind::k_cloud;  // it had a VM: not an allocation failure
    }
    const std::string& said = vm.status_message;
    for (const char* quota : {"QuotaExceeded", "quota", "Quota"}) {
        if (said.find(quota) != std::string::npos) {
            return ErrorKind::k_quota;
        }
    }
    // The node array's snapshot may be a few minutes old: allow for that.
    constexpr double k_snapshot_slack_s = 300;
    if (bucket != nullptr && bucket->last_capacity_failure_seconds >= 0 &&
        bucket->last_capacity_failure_seconds <=
            static_cast<double>(asked_ago_ms) / 1000.0 + k_snapshot_slack_s) {
        return ErrorKind::k_capacity;
    }
    for (const char* capacity : {"AllocationFailed", "Allocation", "SkuNotAvailable", "capacity"}) {
        if (said.find(capacity) != std::string::npos) {
            return ErrorKind::k_capacity;
        }
    }
    return ErrorKind::k_cloud;
}

bool fails_nodes(ErrorKind kind) {
    return kind != ErrorKind::k_throttled && kind != ErrorKind::k_transient;
}

ErrorKind classify_shortfall(const std::string& message) {
    for (const char* quota : {"QuotaExceeded", "quota", "MaxCount", "MaxCoreCount",
                              "placement group", "MaxScalesetSize"}) {
        if (message.find(quota) != std::string::npos) {
            return ErrorKind::k_quota;
        }
    }
    return ErrorKind::k_capacity;
}

const ArrayHealth* range_health(const std::map<std::string, ArrayHealth>& health,
                                const std::string& range, const std::string& array) {
    if (const auto it = health.find(range); it != health.end()) {
        return &it->second;
    }
    const auto it = health.find(array);
    return it != health.end() && it->second.budget ? &it->second : nullptr;
}

std::string health_kind(const ArrayHealth& h) {
    return h.budget ? "budget" : std::string(to_string(h.kind));
}

std::string clock_text(std::int64_t ms) {
    const std::int64_t day_s = (ms / 1000) % 86400;
    return fmt::format("{:02}:{:02}:{:02}Z", day_s / 3600, day_s / 60 % 60, day_s % 60);
}

void record_failure(std::map<std::string, ArrayHealth>& health, const std::string& array,
                    ErrorKind kind, std::string reason, std::int64_t now_ms,
                    const ReconcileSettings& settings, int available) {
    ArrayHealth& h = health[array];
    if (h.failures > 0 && h.until_ms > now_ms) {
        return;  // more nodes of the same failed ask: one failure, one backoff
    }
    h.failures += 1;
    h.kind = kind;
    h.reason = std::move(reason);
    h.available_at_trip = available;
    double wait = static_cast<double>(settings.backoff_initial_ms) *
                  std::pow(settings.backoff_factor, std::min(h.failures - 1, 30));
    if (kind == ErrorKind::k_quota) {
        wait = static_cast<double>(settings.backoff_max_ms);  // until the quota changes
    }
    h.until_ms = now_ms + static_cast<std::int64_t>(
                              std::min(wait, static_cast<double>(settings.backoff_max_ms)));
}

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
    if (kind == HookKind::k_reset || kind == HookKind::k_retry) {
        return changed;  // the daemon's own state, not the nodes' intents (Daemon::intake)
    }
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
                n.phase != Phase::k_stopping && n.phase != Phase::k_failed) {
                continue;  // already on its way up: a repeated resume changes nothing
            }
            n.desired = Desired::k_powered_up;
            n.phase = Phase::k_requested;
            n.attempts = 0;
            n.deadline_ms = now_ms + settings.resume_timeout_ms(n.nodearray);
            n.last_reason = "Slurm asked to power this node up";
        } else if (kind == HookKind::k_resume_fail) {
            if (n.desired == Desired::k_powered_down) {
                continue;
            }
            // Slurm marked it down~ "ResumeTimeout reached": shut_down_unwanted fails it.
            n.desired = Desired::k_powered_down;
            n.deadline_ms = 0;
            n.last_reason = std::string(k_slurm_gave_up);
        } else {
            if (n.desired == Desired::k_powered_down) {
                continue;
            }
            n.desired = Desired::k_powered_down;
            n.deadline_ms = 0;
            n.last_reason = "Slurm asked to power this node down";
        }
        n.since_ms = now_ms;
        changed.push_back(std::move(n));
    }
    return changed;
}

Plan reconcile(const World& world, const ReconcileSettings& settings) {
    Pass pass{world, settings, world.intents, {}};
    pass.plan.health = world.health;
    pass.plan.bootstrap = world.bootstrap;
    for (const auto& step : k_steps) {
        step.run(pass);
    }
    return std::move(pass.plan);
}

Plan start_requests(const World& world, const ReconcileSettings& settings) {
    Pass pass{world, settings, world.intents, {}};
    pass.plan.health = world.health;
    pass.plan.bootstrap = world.bootstrap;
    start_requested_nodes(pass);
    return std::move(pass.plan);
}

NodeUpdate only_cloud_nodes(const NodeUpdate& update, const NameSet& cloud_nodes,
                            std::vector<std::string>& dropped) {
    NodeUpdate out;
    out.state = update.state;
    out.reason = update.reason;
    for (std::size_t i = 0; i < update.names.size(); ++i) {
        if (!cloud_nodes.contains(update.names[i])) {
            dropped.push_back(update.names[i]);
            continue;
        }
        out.names.push_back(update.names[i]);
        if (i < update.node_addrs.size()) {
            out.node_addrs.push_back(update.node_addrs[i]);
        }
        if (i < update.node_hostnames.size()) {
            out.node_hostnames.push_back(update.node_hostnames[i]);
        }
    }
    return out;
}

void apply_create_result(Plan& out, const World& world, const CreateBatch& batch,
                         const Result<CreateResult>& result, const ReconcileSettings& settings) {
    const std::string& array = batch.nodearray;
    if (!result) {
        const Error& err = result.error();
        const bool retry = !fails_nodes(err.kind);
        const std::string reason =
            retry ? "cloudburst: " + std::string(to_string(err.kind)) + ": " + err.describe()
                  : "cloudburst: permanent: creating nodes in " + array + ": " + err.describe();
        record_failure(out.health, array, retry ? err.kind : ErrorKind::k_permanent, reason,
                       world.now_ms, settings);
    }
    bool any_added = false;
    for (std::size_t i = 0; i < batch.requests.size(); ++i) {
        const auto& req = batch.requests[i];
        auto it = world.intents.find(req.name);
        NodeIntent n = it != world.intents.end() ? it->second : NodeIntent{};
        n.name = req.name;
        n.since_ms = world.now_ms;
        if (!result) {
            if (fails_nodes(out.health[array].kind)) {
                // A permanent error: the node fails now (the breaker fails the next ones).
                n.phase = Phase::k_failed;
                n.desired = Desired::k_powered_down;
                n.deadline_ms = 0;
                n.last_reason = out.health[array].reason;
                out.slurm.push_back({{req.name}, "DOWN", n.last_reason, {}, {}});
                out.slurm.push_back({{req.name}, "POWER_DOWN", "", {}, {}});
            } else {
                n.phase = Phase::k_requested;  // ask again once the array's delay is over
                n.last_reason = "create call failed (" +
                                std::string(to_string(result.error().kind)) +
                                "): " + result.error().describe() + "; asking again after " +
                                clock_text(out.health[array].until_ms);
            }
            out.events.push_back({0, world.now_ms, req.name, "error", n.last_reason, {}});
            out.changed.push_back(n);
            continue;
        }
        const CreateSetResult set = i < result->sets.size() ? result->sets[i] : CreateSetResult{};
        // A retried create (or one lost to a crash) finds its node already there: CycleCloud
        // adds 0 and says so. That VM is ours; wait for it like any other.
        const bool already_there = set.added == 0 && set.message.find("exist") != std::string::npos;
        if (set.added >= 1 || already_there) {
            any_added = any_added || set.added >= 1;
            n.phase = Phase::k_creating;
            n.operation_id = result->operation_id;
            out.events.push_back(
                {0,
                 world.now_ms,
                 req.name,
                 "cloud",
                 "CycleCloud accepted the create (operation " + result->operation_id + ")",
                 {}});
            out.changed.push_back(n);
            continue;
        }
        // Structure first: a bucket CycleCloud marks not valid adds nothing, whatever it says.
        const Bucket* invalid = invalid_bucket(world, array, req.machine_type);
        const ErrorKind kind =
            invalid != nullptr ? ErrorKind::k_permanent : classify_shortfall(set.message);
        const std::string why = invalid != nullptr
                                    ? invalid_bucket_reason(array, *invalid)
                                    : shortfall_reason(world, array, req.machine_type, kind,
                                                       without_control_chars(set.message));
        record_failure(out.health, array, kind, why, world.now_ms, settings,
                       available_of(world, array));
        out.slurm.push_back({{req.name}, "DOWN", why, {}, {}});
        out.slurm.push_back({{req.name}, "POWER_DOWN", "", {}, {}});
        n.desired = Desired::k_powered_down;
        n.deadline_ms = 0;
        n.phase = Phase::k_failed;
        n.last_reason = why;
        out.events.push_back({0, world.now_ms, req.name, "error", why, {}});
        out.changed.push_back(n);
    }
    if (result && any_added) {
        const auto h = out.health.find(array);
        if (h != out.health.end() && h->second.until_ms <= world.now_ms &&
            !seen_late(h->second.kind) && !h->second.bootstrap) {
            out.health.erase(h);  // the probe after a backoff worked
        }
    }
}

}  // namespace cb
