// The PrologSlurmctld gate (`cloudburst-prolog`): slurmctld launches a batch job whose nodes
// were powered up only in its 30 s periodic check, or at once when the job's PrologSlurmctld
// ends and its nodes are ready (docs/design/prolog-gate.md). The gate asks cloudburstd, over
// its control socket, to answer when every cloud node of the job has registered, then exits 0.
// Here: the one-line request and the readiness rule, pure.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "ports/scheduler.h"
#include "util/result.h"

namespace cb {

// Longest request line the daemon reads ("wait JOBID HOSTLIST\n"): a job's node list,
// compressed, for 10,000 scattered nodes is about 60 KB.
inline constexpr std::size_t k_max_gate_request_bytes = std::size_t{128} * 1024;

struct GateRequest {
    std::string job_id;              // digits (an array task's own id, as SLURM_JOB_ID gives)
    std::vector<std::string> nodes;  // SLURM_JOB_NODELIST, expanded
};

// "wait 42 hpc-[1-4]\n" for job 42 on hpc-[1-4]; "" when the job id is not digits or the
// hostlist is empty or has white space (nothing to ask: the gate lets the job go).
std::string gate_request_line(std::string_view job_id, std::string_view hostlist);

// Reads a line gate_request_line wrote (with or without its newline). Errors
// (k_invalid_input): another verb, a job id that is not digits, a hostlist that does not
// parse.
Result<GateRequest> parse_gate_request(std::string_view line);

// True when the job may start: every node of the job that Slurm lists as a cloud node is
// neither powered down, powering up, nor not responding (slurmctld's own test for a job's
// nodes being ready). A node Slurm does not list, or not as CLOUD, is not ours to wait for.
// `find` returns Slurm's record of a node, or nullptr.
template <typename Find>
bool gate_nodes_ready(const std::vector<std::string>& nodes, Find&& find) {
    for (const auto& name : nodes) {
        const SlurmNode* s = find(name);
        if (s != nullptr && s->state.has("CLOUD") &&
            (s->state.has("POWERED_DOWN") || s->state.has("POWERING_UP") ||
             s->state.has("NOT_RESPONDING"))) {
            return false;
        }
    }
    return true;
}

// True when the job will not start on these nodes: one of its cloud nodes is DOWN (Slurm gave
// up on it at ResumeTimeout, or cloudburst failed it) or powering down. slurmctld requeues
// the job but waits for its PrologSlurmctld first ("Cleaning"), so the gate must end now.
template <typename Find>
bool gate_nodes_failed(const std::vector<std::string>& nodes, Find&& find) {
    for (const auto& name : nodes) {
        const SlurmNode* s = find(name);
        if (s != nullptr && s->state.has("CLOUD") &&
            (s->state.base == "DOWN" || s->state.has("POWERING_DOWN"))) {
            return true;
        }
    }
    return false;
}

}  // namespace cb
