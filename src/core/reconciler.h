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
#include <string>
#include <vector>

#include "core/hook_request.h"
#include "core/node_intent.h"
#include "ports/cloud.h"
#include "ports/scheduler.h"

namespace cb {

struct ReconcileSettings {
    std::string node_prefix;  // Slurm node names are <prefix><nodearray>-<n>
    // How long a node may wait in "creating" with no VM in the cloud before we ask again.
    std::int64_t lost_create_grace_ms = std::int64_t{60} * 1000;
    // Per node array: how long a power-up may take before Slurm gives up (ResumeTimeout).
    std::function<std::int64_t(const std::string& nodearray)> resume_timeout_ms =
        [](const std::string&) -> std::int64_t { return std::int64_t{30} * 60 * 1000; };
};

// One pass's view of the world. Maps are keyed by node name.
struct World {
    std::int64_t now_ms = 0;
    std::map<std::string, NodeIntent> intents;
    std::map<std::string, CloudNode> cloud;
    std::map<std::string, SlurmNode> slurm;
    std::map<std::string, NodeArray> arrays;
};

struct CreateBatch {
    std::string nodearray;
    std::vector<CreateRequest> requests;  // literal names, one per node
};

struct Plan {
    std::vector<CreateBatch> creates;    // one create call per node array
    std::vector<std::string> starts;     // deallocated VMs to start (one call)
    std::vector<std::string> shutdowns;  // VMs to shut down per their policy (one call)
    std::vector<NodeUpdate> slurm;       // scontrol updates, in order
    std::vector<NodeIntent> changed;     // intents to journal (last write per node wins)
    std::vector<NodeEvent> events;
    bool empty() const {
        return creates.empty() && starts.empty() && shutdowns.empty() && slurm.empty() &&
               changed.empty();
    }
};

// "<prefix>hpc-12" -> "hpc"; empty when the name does not have that shape.
std::string nodearray_of(const std::string& node, const std::string& prefix);

// Applies a hook request to the intents of `names`; returns the changed intents (resume of a
// node already powering up, or suspend of one already down, changes nothing).
std::vector<NodeIntent> apply_hook_request(const std::map<std::string, NodeIntent>& intents,
                                           HookKind kind, const std::vector<std::string>& names,
                                           const ReconcileSettings& settings, std::int64_t now_ms);

// Runs every step once.
Plan reconcile(const World& world, const ReconcileSettings& settings);

// Feeds back the outcome of one create call: nodes not added fail with CycleCloud's message;
// a failed call puts the batch back to "requested" so the next pass tries again.
void apply_create_result(Plan& out, const World& world, const CreateBatch& batch,
                         const Result<CreateResult>& result);

}  // namespace cb
