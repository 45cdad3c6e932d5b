// Slurm node and partition definitions for the cloud nodes, generated from CycleCloud's node
// arrays (sizes and limits), the SKU catalog (physical cores, GPUs) and the config's
// per-array overrides. Pure: the caller fetches the arrays and writes the file
// (`cloudburst scale`). The text is stable: the same inputs give the same bytes, so a rerun
// that changes nothing writes nothing.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/config.h"
#include "core/dynamic_nodes.h"
#include "core/sku_catalog.h"
#include "ports/cloud.h"
#include "util/result.h"

namespace cb {

// One `Key=value` of a slurm.conf line.
struct ConfField {
    std::string_view key;
    std::string value;
};

struct GeneratedSlurmConf {
    std::string nodes_conf;  // for /etc/slurm/cloudburst.conf (Include'd from slurm.conf)
    // gres.conf lines for GPU node arrays (empty if none): `NodeName=gpu-[1-4] Name=gpu
    // Type=a100 File=/dev/nvidia[0-1]`, for cloudburst's block of gres.conf (core/gres_conf.h)
    std::string gres_conf;
    // topology.conf lines for node arrays in partition placement groups (empty if none), for
    // cloudburst's block of topology.conf (core/topology_conf.h)
    std::string topology_conf;
    std::string suspend_exc_nodes;  // the keep-alive line's value (empty: no line)
    // The nodes of dynamic node arrays (core/dynamic_nodes.h), for `scontrol create`: one
    // entry per range, in the order of the node lines.
    std::vector<DynamicRange> dynamic_nodes;
    std::vector<std::string> warnings;  // arrays skipped or adjusted, in plain sentences
};

// Node arrays whose name or VM size is not a plain name (util/sanitize.h) are skipped with a
// warning that shows the name escaped. Every line goes through slurm_conf_line and every
// comment through slurm_conf_comment, so a value that slipped past the config's checks is an
// error (k_invalid_input), never a line of its own in slurm.conf.
//
// GPU arrays get `Gres=gpu[:TYPE]:N` (TYPE from the catalog's GPU model), a gres.conf line
// with their device files, `DefCpuPerGPU` on the partition when configured, and
// `GresTypes=gpu` unless `site_gres_types` (slurm.conf's own GresTypes, "" if none) names gpu;
// a site list without gpu is an error (k_config, gres_types_plan).
//
// Node arrays with partition placement (core/placement.h) get topology.conf lines: one switch
// per placement group, every other node (their arrays' and `site_nodes`, hostlists of the
// site's own nodes) under one more, and `TopologyPlugin=topology/tree` unless
// `site_topology_plugin` (slurm.conf's own, "" if none) is that already; another plugin is an
// error (k_config, topology_plugin_plan).
//
// Node arrays with `slurm.dynamic_config` are dynamic (core/dynamic_nodes.h): their ranges'
// node lines are written as comments and returned in `dynamic_nodes` (State=CLOUD, the
// features of a static array's nodes, then those of slurm.dynamic_config); the array gets
// `Nodeset=<array>ns Feature=<array>`, its partition that Nodeset, and the file
// `MaxNodeCount=` for every node (`site_node_count`, the site's own, plus the cloud's), unless
// `site_max_node_count` (slurm.conf's own, "" if none) has room for them (else k_config).
// They get no topology.conf lines and no keep-alive (a warning says so). A
// slurm.dynamic_config that is not -Z [--conf "..."] skips the array with a warning.
Result<GeneratedSlurmConf> generate_slurm_conf(const std::vector<NodeArray>& arrays,
                                               const SkuCatalog& catalog, const Config& config,
                                               std::string_view site_gres_types = {},
                                               std::string_view site_topology_plugin = {},
                                               const std::vector<std::string>& site_nodes = {},
                                               long site_node_count = 0,
                                               std::string_view site_max_node_count = {});

// The backstop: "K1=v1 K2=v2" for `fields`, or an error (k_invalid_input) naming the first
// value that is empty or holds whitespace, '#', '=' or a control character, any of which
// would let it end the line, start a comment or set another key.
Result<std::string> slurm_conf_line(const std::vector<ConfField>& fields);
// "# text", or an error (k_invalid_input) if `text` holds a control character (a newline
// would end the comment and start a line of configuration).
Result<std::string> slurm_conf_comment(std::string_view text);

// RealMemory for a VM of `memory_gb`: reduced by max(dampen_min_mb, dampen_percent%) so
// that a VM reporting a little less than its nominal size still registers.
long dampened_memory_mb(double memory_gb, int dampen_percent, int dampen_min_mb);

// A unified line diff ("-old", "+new") of two texts; empty when equal.
std::string line_diff(const std::string& before, const std::string& after);

}  // namespace cb
