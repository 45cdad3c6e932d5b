// Slurm node and partition definitions for the cloud nodes, generated from CycleCloud's node
// arrays (sizes and limits), the SKU catalog (physical cores, GPUs) and the config's
// per-array overrides. Pure: the caller fetches the arrays and writes the file
// (`cloudburst scale`). The text is stable: the same inputs give the same bytes, so a rerun
// that changes nothing writes nothing.
#pragma once

#include <string>
#include <vector>

#include "core/config.h"
#include "core/sku_catalog.h"
#include "ports/cloud.h"

namespace cb {

struct GeneratedSlurmConf {
    std::string nodes_conf;  // for /etc/slurm/cloudburst.conf (Include'd from slurm.conf)
    std::string gres_conf;   // gres.conf lines for GPU node arrays (empty if none)
    std::vector<std::string> warnings;  // arrays skipped or adjusted, in plain sentences
};

GeneratedSlurmConf generate_slurm_conf(const std::vector<NodeArray>& arrays,
                                       const SkuCatalog& catalog, const Config& config);

// RealMemory for a VM of `memory_gb`: reduced by max(dampen_min_mb, dampen_percent%) so
// that a VM reporting a little less than its nominal size still registers.
long dampened_memory_mb(double memory_gb, int dampen_percent, int dampen_min_mb);

// A unified line diff ("-old", "+new") of two texts; empty when equal.
std::string line_diff(const std::string& before, const std::string& after);

}  // namespace cb
