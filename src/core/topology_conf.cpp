#include "core/topology_conf.h"

#include <algorithm>

#include "core/conf_block.h"
#include "core/slurm_conf_gen.h"
#include "util/sanitize.h"
#include "util/text.h"

namespace cb {

namespace {

std::string node_range(std::string_view array, std::int64_t first, std::int64_t last) {
    const std::string prefix = std::string(array) + "-";
    return first == last ? prefix + std::to_string(first)
                         : prefix + "[" + std::to_string(first) + "-" + std::to_string(last) + "]";
}

}  // namespace

bool needs_switches(const std::vector<TopologyArray>& arrays) {
    return std::any_of(arrays.begin(), arrays.end(), [](const TopologyArray& a) {
        const int size = a.group_size > 0 ? a.group_size : k_default_placement_group_size;
        return a.placement == Placement::k_partition && a.count > size;
    });
}

Result<std::string> topology_conf_lines(std::string_view cluster,
                                        const std::vector<TopologyArray>& arrays,
                                        const std::vector<std::string>& site_nodes) {
    if (!needs_switches(arrays)) {
        return std::string();
    }
    std::string out;
    std::vector<std::string> other = site_nodes;
    for (const auto& a : arrays) {
        if (a.count <= 0) {
            continue;
        }
        if (a.placement != Placement::k_partition) {
            other.push_back(node_range(a.name, 1, a.count));
            continue;
        }
        const int size = a.group_size > 0 ? a.group_size : k_default_placement_group_size;
        for (std::int64_t first = 1; first <= a.count; first += size) {
            const std::int64_t last = std::min<std::int64_t>(a.count, first + size - 1);
            const std::string group =
                partition_group_name(cluster, a.name, placement_slot(first, size));
            if (!valid_placement_group_name(group)) {
                return make_error(ErrorKind::k_config,
                                  "node array " + a.name + ": placement group name '" +
                                      escaped(group) +
                                      "' is not valid (1 to 64 letters, digits, '-', '_' or "
                                      "'.'); rename the CycleCloud cluster or node array, or set "
                                      "nodearrays." +
                                      a.name + ".placement = \"none\"");
            }
            auto line = slurm_conf_line(
                {{"SwitchName", group}, {"Nodes", node_range(a.name, first, last)}});
            if (!line) {
                return line.error();
            }
            out += *line + "\n";
        }
    }
    if (!other.empty()) {
        auto line =
            slurm_conf_line({{"SwitchName", "cloudburst-other"}, {"Nodes", join(other, ",")}});
        if (!line) {
            return line.error();
        }
        out += *line + "\n";
    }
    // No switch over these: Slurm never spans leaf switches without a common parent, so a job
    // of an MPI array stays in one placement group (one VM size) or is refused at submission.
    return out;
}

Result<std::string> topology_conf_with_block(std::string_view existing, std::string_view lines) {
    return conf_with_block(existing, lines,
                           {"topology.conf", k_topology_block_begin, k_topology_block_end});
}

Result<TopologyPluginPlan> topology_plugin_plan(std::string_view site) {
    const std::string value(trim(site));
    if (value.empty() || iequals(value, "topology/none") || iequals(value, "topology/default")) {
        return TopologyPluginPlan::k_write;
    }
    if (iequals(value, "topology/tree")) {
        return TopologyPluginPlan::k_site_has;
    }
    return make_error(ErrorKind::k_config,
                      "slurm.conf sets TopologyPlugin=" + escaped(value) +
                          ", and node arrays use partition placement groups, which need "
                          "topology/tree: change that line to TopologyPlugin=topology/tree, or "
                          "set nodearrays.<n>.placement = \"job\" or \"none\"");
}

}  // namespace cb
