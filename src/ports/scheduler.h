// The Scheduler port: what the daemon needs from Slurm. Implemented by SlurmCli
// (adapters/, runs scontrol/sinfo by absolute path), and by FakeScheduler in unit tests.
// Never one call per node; updates are batched by the implementation (thousands of names each).
#pragma once

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace cb {

// Slurm's node state: one base state plus flags, parsed by name ("IDLE+CLOUD+POWERED_DOWN").
// Unknown flags are kept with the known ones and otherwise ignored.
struct SlurmNodeState {
    std::string base;  // "IDLE", "DOWN", "ALLOCATED", "MIXED", ...
    // Known and unknown flag names, upper case, in Slurm's order: a few a node, so a list,
    // not a set (one allocation, not one a flag, for each of 10,000 nodes every pass).
    std::vector<std::string> flags;
    bool has(std::string_view flag) const {
        return std::find(flags.begin(), flags.end(), flag) != flags.end();
    }
};

struct SlurmNode {
    std::string name;
    SlurmNodeState state;
    std::string node_addr;
    std::string node_hostname;
    std::vector<std::string> features;
    std::string reason;
};

struct SlurmPartition {
    std::string name;
    std::string nodes;  // hostlist
    std::optional<long> suspend_time_seconds;
    std::optional<long> resume_timeout_seconds;
};

// One `scontrol update` for a set of nodes. addrs/hostnames, when given, pair with names.
struct NodeUpdate {
    std::vector<std::string> names;
    std::string state;   // empty: unchanged ("DOWN", "POWER_DOWN_FORCE", "IDLE", ...)
    std::string reason;  // required by Slurm with DOWN/DRAIN/FAIL
    std::vector<std::string> node_addrs;
    std::vector<std::string> node_hostnames;
};

class Scheduler {
  public:
    virtual ~Scheduler() = default;
    virtual Result<std::vector<SlurmNode>> nodes() = 0;
    virtual Result<std::vector<SlurmPartition>> partitions() = 0;
    virtual Status update_nodes(const NodeUpdate& update) = 0;
};

}  // namespace cb
