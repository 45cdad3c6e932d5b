// topology.conf for node arrays in placement groups (core/placement.h): one leaf switch per
// partition placement group, so that Slurm's topology/tree plugin keeps a job inside one group
// (one InfiniBand fabric), and a top switch over all of them.
//
// Slurm reads topology.conf only beside slurm.conf (configless slurmd fetches it from there),
// and with topology/tree every node must hang off some switch ("jobs can only span nodes
// connected by the same switch fabric"): so every cloud node and the site's own nodes go in,
// the latter under one leaf of their own. The lines live in one marked block of the
// scheduler's topology.conf, like gres.conf's (core/conf_block.h). Pure.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/placement.h"
#include "util/result.h"

namespace cb {

// One node array's nodes as generated: `<array>-[1-count]`.
struct TopologyArray {
    std::string name;
    int count = 0;
    Placement placement = Placement::k_none;
    int group_size = k_default_placement_group_size;
};

inline constexpr std::string_view k_topology_block_begin =
    "# BEGIN cloudburst: placement groups of the cloud node arrays (`cloudburst scale` rewrites "
    "this block)";
inline constexpr std::string_view k_topology_block_end = "# END cloudburst";

// Whether Slurm must be told of placement groups: some array with partition placement has
// more nodes than one group holds. An array in one group needs no switch (every job of it is
// in that group), and no topology plugin is better: Slurm (before 25.05) places no job on a
// dynamic node under one.
bool needs_switches(const std::vector<TopologyArray>& arrays);

// The switch lines: for an array with partition placement, `SwitchName=<group> Nodes=...` per
// group (core/placement.h's names and slots); the nodes of other arrays (job placement: each
// job's group is made for it and Slurm cannot know it in advance) and `site_nodes` (hostlists)
// under `SwitchName=cloudburst-other`; no switch over them all, so that Slurm never spans two
// groups (a job that fits in none is refused at submission). Empty unless needs_switches (nothing
// for Slurm to pack). Errors (k_invalid_input) for a value that would break the line
// (slurm_conf_line).
Result<std::string> topology_conf_lines(std::string_view cluster,
                                        const std::vector<TopologyArray>& arrays,
                                        const std::vector<std::string>& site_nodes);

// `existing` (a topology.conf, possibly empty) with cloudburst's block holding `lines`
// (conf_with_block's rules and errors).
Result<std::string> topology_conf_with_block(std::string_view existing, std::string_view lines);

// Whether the generated conf sets TopologyPlugin, given slurm.conf's own value (`site`, ""
// when none):
enum class TopologyPluginPlan {
    k_write,     // none set (or topology/none, topology/default): TopologyPlugin=topology/tree
    k_site_has,  // topology/tree already
};
// Errors (k_config) for another plugin (topology/block, 3d_torus): a second line would
// replace the site's choice, so the operator decides.
Result<TopologyPluginPlan> topology_plugin_plan(std::string_view site);

}  // namespace cb
