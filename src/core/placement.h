// Placement groups for MPI node arrays (docs/setup.md, "MPI arrays"). On Azure only the VMs
// of one placement group (one scale set) share an InfiniBand fabric, so the nodes of an MPI
// job must be created in one. Which group a new VM goes in is decided here; the reconciler
// puts the name in the create request and CycleCloud makes the group on demand.
//
// Two ways, chosen per node array (nodearrays.<n>.placement):
// * partition: the array's nodes are cut by their index into fixed slots of the bucket's
//   maxPlacementGroupSize ("hpc-1".."hpc-100" in slot 0, ...), so a node always returns to the
//   same group and `scale` can tell Slurm (topology.conf, one switch per slot) to keep a job
//   inside one;
// * job: the nodes a resume file names for one job share a group of that job alone.
// Pure: no I/O.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "ports/cloud.h"

namespace cb {

enum class Placement { k_none, k_partition, k_job };

// The config's words, in the order of Placement's enumerators.
inline constexpr std::array<std::string_view, 3> k_placement_names{"none", "partition", "job"};

std::string_view to_string(Placement p);

// The placement of `array`: `configured` when set, else partition when CycleCloud's
// configuration of the array says `slurm.hpc` is true (the template's hpc array, azslurm's
// "one placement group per partition"), else none.
Placement effective_placement(std::optional<Placement> configured, const NodeArray& array);

// The size of a group when CycleCloud reports none (0): azslurm's and the template's default
// Azure.MaxScalesetSize.
inline constexpr int k_default_placement_group_size = 100;

// The most VMs of one placement group for `machine_type` in `array`: its bucket's
// maxPlacementGroupSize (the first bucket when none matches), else the default.
int placement_group_size(const NodeArray& array, std::string_view machine_type);

// N of a node named "<prefix><array>-N" (N from 1); 0 for any other name.
std::int64_t node_index(std::string_view node, std::string_view prefix, std::string_view array);

// The partition slot of node index `index` (from 1) in groups of `size`: 0 for 1..size, ...
std::int64_t placement_slot(std::int64_t index, int size);

// "<cluster>-<array>-pg<slot>" and "<cluster>-<array>-job<job_id>" (without "<cluster>-" when
// the cluster is ""). Neither is checked: see valid_placement_group_name.
std::string partition_group_name(std::string_view cluster, std::string_view array,
                                 std::int64_t slot);
std::string job_group_name(std::string_view cluster, std::string_view array, std::int64_t job_id);

// Whether `name` is usable as a placement group (CycleCloud names the scale set after it):
// 1 to 64 characters, letters, digits, '-', '_' and '.', beginning with a letter or digit and
// ending with a letter, digit or '_' (Azure's rules for a scale set name).
bool valid_placement_group_name(std::string_view name);

}  // namespace cb
