// Which job asked for which cloud nodes: read from the resume file Slurm hands its
// ResumeProgram (SLURM_RESUME_FILE), kept by the daemon in the journal while the job's nodes
// come up, and used to fail a multi-node job's nodes together (docs/design/node-lifecycle.md,
// "a job that cannot have all its nodes") and to answer `cloudburst why JOBID`.
// Pure: no I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace cb {

enum class JobPhase {
    k_starting,  // its nodes are on their way up
    k_started,   // every one of its nodes registered at once: Slurm runs it; we no longer act
    k_failed,    // one of its nodes could not be had: all of them were given back together
};

std::string_view to_string(JobPhase p);
std::optional<JobPhase> job_phase_from_string(std::string_view s);

struct JobRequest {
    std::int64_t job_id = 0;         // Slurm's job id, 1 .. 2^32-1
    std::vector<std::string> nodes;  // the nodes powered up for it, all in the hook's hostlist
    std::string partition;           // empty when the file does not say (Slurm 22.05)
    std::int64_t recorded_ms = 0;    // when the daemon took the resume request
    JobPhase phase = JobPhase::k_starting;
    std::string reason;  // why it failed (as put in Slurm), else empty
    // Slurm 23.02+ (`nodes_alloc`): the job's whole allocation, nodes already up and nodes
    // woken in other calls included; empty when the file does not say (22.05). Read from the
    // file only, never stored: the daemon keeps those of its own cloud nodes in `nodes`.
    std::vector<std::string> allocation;
};

// What parse_resume_file read: the jobs, and what it left out (validated text only: job ids,
// counts and our own words; never a string from the file).
struct ResumeJobs {
    std::vector<JobRequest> jobs;      // in file order; one entry per job id
    std::vector<std::string> skipped;  // one line per job entry or node left out, at most 10
    std::size_t skipped_count = 0;     // all of them
};

// The most node names the `nodes_alloc` of one file may name together (Slurm lists a node
// under each job that shares it): beyond, allocations are left out, the jobs kept.
inline constexpr std::size_t k_max_allocation_names = 131072;

// The largest job id Slurm hands out (uint32_t; NO_VAL and above are not job ids).
inline constexpr std::int64_t k_max_job_id = 0xfffffffd;

// Parses the JSON of SLURM_RESUME_FILE. Both schemas are read, by the keys present:
// Slurm 22.05 `{"all_nodes":..., "jobs":[{"job_id":N,"nodes":HOSTLIST}]}` and 23.02+
// `{"all_nodes_resume":..., "jobs":[{"job_id":N,"nodes_resume":HOSTLIST,"partition":...}]}`
// (a job's `nodes_resume` wins over `nodes`; its `nodes_alloc`, when it is a hostlist, fills
// `allocation`, at most k_max_allocation_names names in all); unknown keys are ignored. Every node
// name must be one of `requested` (the hook's own hostlist, argv[1]): others are left out. A job
// entry with a job id that is not an integer in 1..k_max_job_id, without a hostlist string, with a
// hostlist that does not parse, or with a partition that is not a plain name is left out
// (noted in `skipped`); so is one left with no node. Errors (k_invalid_input): the text is
// not JSON, is nested deeper than 16 levels, is not an object, or its "jobs" is not an array.
Result<ResumeJobs> parse_resume_file(std::string_view text,
                                     const std::vector<std::string>& requested);

}  // namespace cb
