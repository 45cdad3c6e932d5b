// The reconcile pass: from one snapshot of what we want (intents), what the cloud reports and
// what Slurm reports, decide what to do next. Pure: no I/O, time is an argument. The daemon
// executes the Plan through the Cloud and Scheduler ports and feeds the outcome back with
// the apply_* functions, which return the intents to journal.
//
// The pass is a list of short named steps (see reconciler.cpp); each reads the snapshot and
// the intents as changed by earlier steps, and adds to the plan. docs/design/node-lifecycle.md
// lists the situations each step handles.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/hook_request.h"
#include "core/job_request.h"
#include "core/node_intent.h"
#include "core/placement.h"
#include "ports/cloud.h"
#include "ports/scheduler.h"
#include "util/name_set.h"

namespace cb {

// Why a node range (one VM size of a node array, core/node_range.h; for an array's first size
// its name is the array's) is not asked for VMs right now: a stock-out of one size backs off
// that size alone, and Slurm moves the jobs to the array's next one. Kept by the daemon in
// memory (a restart forgets it, which costs at most one more ask) and changed only by the
// pure functions here.
struct ArrayHealth {
    ErrorKind kind = ErrorKind::k_capacity;  // capacity, quota, permanent, throttled, transient
    std::string reason;                      // as put in Slurm: "cloudburst: capacity: ..."
    std::int64_t until_ms = 0;               // no create call for this array before this
    int failures = 0;                        // consecutive failures: the exponent of the backoff
    int available_at_trip = -1;              // quota: the array's available count when it tripped
    // The bootstrap breaker (kind permanent): nodes of the array got VMs that never came up.
    // After the backoff one node is asked for (the probe); only its registration closes it.
    bool bootstrap = false;
    // The array's monthly budget is spent (kind quota, until the next month): set and cleared
    // by the daemon's budget check alone (daemon/spend.h).
    bool budget = false;
};

// The health entry that holds back node range `range` of node array `array`: the range's own,
// else the array's when it is a spent budget (a budget is the whole array's); nullptr: none.
const ArrayHealth* range_health(const std::map<std::string, ArrayHealth>& health,
                                const std::string& range, const std::string& array);

// The kind people and tools see: "budget" for a spent budget, else the ErrorKind's name.
std::string health_kind(const ArrayHealth& h);

// Nodes of a node array in a row whose VM came up but never registered with Slurm, or failed
// in Preparing (a bad image, a broken cluster-init, a firewall). A registration ends it.
struct BootstrapStreak {
    int failures = 0;
    std::string last;  // what happened to the last one, for the breaker's reason
};

// True for the kinds that fail the nodes asked for (jobs requeue, Slurm picks others), as
// opposed to throttled/transient, which only delay the ask.
bool fails_nodes(ErrorKind kind);

// CycleCloud's words for a create that added nothing -> capacity, quota (also the cluster's
// and node array's own limits: they do not change until an admin acts) or capacity when
// unknown.
ErrorKind classify_shortfall(const std::string& message);

// A VM that went Failed before it had an address, or that sits in Acquiring with an error in
// its StatusMessage (CycleCloud retrying Azure's AllocationFailed), failed its allocation
// after CycleCloud had accepted the create: Azure's capacity or quota, seen late. Structure
// decides first (no address; a Failed node whose bucket's lastCapacityFailure is no older
// than the ask, `asked_ago_ms`, or an Acquiring node with a message while it is); the message
// only refines (quota wording, Azure's allocation error codes). Returns k_capacity, k_quota,
// or k_cloud when nothing says it was either (for Acquiring: keep waiting).
ErrorKind classify_late_failure(const CloudNode& vm, const Bucket* bucket,
                                std::int64_t asked_ago_ms);

struct ReconcileSettings {
    std::string node_prefix;  // Slurm node names are <prefix><nodearray>-<n>
    // How long a node may wait in "creating" with no VM in the cloud before we ask again.
    std::int64_t lost_create_grace_ms = std::int64_t{60} * 1000;
    // A VM running for a node Slurm has powered down (or does not know) is removed after this.
    std::int64_t orphan_grace_ms = std::int64_t{5} * 60 * 1000;
    // A shutdown that did not take (the call failed, or the VM is still up) is repeated after
    // this long.
    std::int64_t stop_retry_ms = std::int64_t{60} * 1000;
    // Past a node's ResumeTimeout deadline by this much and still not up: we give up on it
    // ourselves (Slurm's ResumeFailProgram call may have been lost).
    std::int64_t deadline_grace_ms = std::int64_t{60} * 1000;
    // Array backoff after a failure: initial, times factor per further failure, at most max.
    std::int64_t backoff_initial_ms = std::int64_t{60} * 1000;
    std::int64_t backoff_max_ms = std::int64_t{30} * 60 * 1000;
    double backoff_factor = 2.0;
    // Nodes of one array in a row that get a VM but never register before the array's
    // bootstrap breaker opens (0: never).
    int bootstrap_failures = 5;
    // Per node array: how long a power-up may take before Slurm gives up (ResumeTimeout).
    std::function<std::int64_t(const std::string& nodearray)> resume_timeout_ms =
        [](const std::string&) -> std::int64_t { return std::int64_t{30} * 60 * 1000; };
    // The CycleCloud cluster: the first part of placement group names (core/placement.h).
    std::string cluster;
    // Per node array: its configured placement (nodearrays.<n>.placement); nullopt: the
    // default, from the array's slurm.hpc (effective_placement).
    std::function<std::optional<Placement>(const std::string& nodearray)> placement =
        [](const std::string&) -> std::optional<Placement> { return std::nullopt; };
    // How long a job whose nodes were failed together is remembered for `cloudburst why`.
    std::int64_t failed_job_memory_ms = std::int64_t{24} * 3600 * 1000;
};

// One pass's view of the world. Maps are keyed by node name.
struct World {
    std::int64_t now_ms = 0;
    std::map<std::string, NodeIntent> intents;
    std::map<std::string, CloudNode> cloud;
    std::map<std::string, SlurmNode> slurm;
    std::map<std::string, NodeArray> arrays;
    std::map<std::string, ArrayHealth> health;         // by node range; absent: healthy
    std::map<std::string, BootstrapStreak> bootstrap;  // by node range; absent: none
    // Failed nodes an operator asked back (`cloudburst retry`): they return to the pool once
    // their VM is gone, whatever their array's backoff.
    std::set<std::string> retry;
    // The jobs the resume files named while their nodes come up (core/job_request.h).
    std::map<std::int64_t, JobRequest> jobs;
};

struct CreateBatch {
    std::string nodearray;  // the node range (the key of its health); each request names its array
    std::vector<CreateRequest> requests;  // literal names, one per node
};

struct Plan {
    std::vector<CreateBatch> creates;    // one create call per node range
    std::vector<std::string> starts;     // deallocated VMs to start (one call)
    std::vector<std::string> shutdowns;  // VMs to shut down per their policy (one call)
    std::vector<NodeUpdate> slurm;       // scontrol updates, in order
    std::vector<NodeIntent> changed;     // intents to journal (last write per node wins)
    std::vector<NodeEvent> events;
    std::map<std::string, ArrayHealth> health;         // the health after this plan, whole
    std::map<std::string, BootstrapStreak> bootstrap;  // the streaks after this plan, whole
    std::vector<JobRequest> jobs;                      // job records to journal (whole)
    std::vector<std::int64_t> forgotten_jobs;          // job records to drop
    bool empty() const {
        return creates.empty() && starts.empty() && shutdowns.empty() && slurm.empty() &&
               changed.empty() && jobs.empty() && forgotten_jobs.empty();
    }
};

// "<prefix>hpc-12" -> "hpc", "<prefix>hpc-hb176rs-v4-3" -> "hpc-hb176rs-v4": the node's range
// (core/node_range.h); empty when the name does not have that shape.
std::string nodearray_of(const std::string& node, const std::string& prefix);

// Applies a hook request to the intents of `names`; returns the changed intents (resume of a
// node already powering up, or suspend of one already down, changes nothing).
std::vector<NodeIntent> apply_hook_request(const std::map<std::string, NodeIntent>& intents,
                                           HookKind kind, const std::vector<std::string>& names,
                                           const ReconcileSettings& settings, std::int64_t now_ms);

// Runs every step once.
Plan reconcile(const World& world, const ReconcileSettings& settings);

// Runs only the step that asks for VMs (start_requested_nodes). The daemon runs it as soon as
// it takes a resume request, so that a new node's create call does not wait for the next
// pass to read the cloud and Slurm. It passes only the requested nodes that had no VM when
// it last read the cloud; a VM made since makes CycleCloud answer "already exists", which
// counts as created.
Plan start_requests(const World& world, const ReconcileSettings& settings);

// The part of `update` that names nodes in `cloud_nodes` (the nodes Slurm lists as CLOUD);
// the other names are appended to `dropped`. Addresses and hostnames stay paired with their
// names. The daemon applies it to every update: a name from anywhere else never reaches
// scontrol.
NodeUpdate only_cloud_nodes(const NodeUpdate& update, const NameSet& cloud_nodes,
                            std::vector<std::string>& dropped);

// Feeds back the outcome of one create call into `out` (which must start from the pass's
// plan health): nodes not added fail with CycleCloud's message and back off their array;
// a throttled or transient failure puts the batch back to "requested" and delays the array;
// a permanent one (credentials, unknown array, bad request) opens the array's breaker.
void apply_create_result(Plan& out, const World& world, const CreateBatch& batch,
                         const Result<CreateResult>& result, const ReconcileSettings& settings);

// Records a failure of `kind` for `array` in `health` (exponential backoff, capped).
void record_failure(std::map<std::string, ArrayHealth>& health, const std::string& array,
                    ErrorKind kind, std::string reason, std::int64_t now_ms,
                    const ReconcileSettings& settings, int available = -1);

// "12:34:56Z" for a wall-clock time in ms (for reasons people read).
std::string clock_text(std::int64_t ms);

}  // namespace cb
