// Every limit that can stop a burst, per node array and VM size, and which one binds now:
// for `cloudburst limits`. From CycleCloud's cluster status (the bucket counts, which already
// fold in the array's and cluster's MaxCount/MaxCoreCount and the quotas) and the daemon's
// node array health (backoff, breakers, budgets). Pure.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/reconciler.h"
#include "ports/cloud.h"

namespace cb {

// One limit of a bucket: how much of it is used, its size, and how many more nodes of the
// bucket's VM size it leaves room for.
struct BurstLimit {
    std::string name;  // "node array MaxCount", "family quota (Standard_F)", ...
    std::string unit;  // "nodes" or "cores"
    long used = 0;
    long limit = 0;
    long room_nodes = 0;
};

struct BucketLimits {
    std::string nodearray;
    std::string vm_size;
    // Its Slurm node range (core/node_range.h): the array's name for its first VM size,
    // "<array>-<size slug>" for a further one, "" for a bucket of no range (a repeat).
    std::string range;
    bool spot = false;
    int vcpus = 0;
    int available = 0;  // CycleCloud's availableCount: what it would add now
    std::vector<BurstLimit> limits;
    // What stops or caps a burst now: the limit with the least room, or the array's health,
    // or "invalid: <reason>".
    std::string binding;
    long room_nodes = 0;  // how many more nodes could be asked for now (0 when blocked)
    int max_placement_group_size = 0;
    double last_capacity_failure_seconds = -1;
};

std::vector<BucketLimits> burst_limits(const std::vector<NodeArray>& arrays,
                                       const ClusterLimits& cluster,
                                       const std::map<std::string, ArrayHealth>& health,
                                       std::int64_t now_ms);

}  // namespace cb
