// Slurm dynamic nodes for node arrays with `slurm.dynamic_config` (the template's `dynamic`
// array; docs/setup.md, "Dynamic node arrays"). `cloudburst scale` gives such an array a
// Nodeset named by a feature of its own and creates its nodes in slurmctld with `scontrol
// create ... State=CLOUD` (one range per VM size, as for other arrays), instead of node lines
// in slurm.conf; the VMs start `slurmd -Z`. Pure: what to create and what to say about nodes
// that exist already; the adapter (adapters/slurm_cli.h) runs scontrol.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace cb {

// One `Key=value` of a node Slurm creates at run time (its keys are not all literals, as
// node options are the config's: owned strings, unlike ConfField).
struct NodeField {
    std::string key;
    std::string value;
};

// The nodes of one range of a dynamic node array: `scontrol create NodeName=<hostlist>
// <fields>`. `fields` hold State=CLOUD and what the node line of a static array would.
struct DynamicRange {
    std::string array;
    std::string range;     // core/node_range.h's name ("dynamic", "dynamic-f4s-v2")
    std::string hostlist;  // "dynamic-[1-25]"
    std::vector<NodeField> fields;
    // The value of `key` in `fields`; "" when it has none.
    std::string field(std::string_view key) const;
};

// The features a node array's `slurm.dynamic_config` gives its nodes: the template's
// `-Z --conf "Feature=dyn"` gives {"dyn"}. Accepted: `-Z` alone, or followed by `--conf VALUE`
// (`--conf=VALUE`, VALUE in double quotes or one word) where VALUE is `Key=value` words; the
// Feature (or Features) word's comma list is returned, {} when there is none. Errors
// (k_config): anything else (another slurmd option, a quote that does not close, a feature
// that is not a plain name), naming the value and the expected form.
Result<std::vector<std::string>> dynamic_config_features(std::string_view dynamic_config);

// The Nodeset's feature of dynamic node array `array`: the array's name (every node of the
// array has it; `scale` refuses a site node line with it).
std::string dynamic_nodeset_feature(const std::string& array);
// The Nodeset's name: "<array>ns".
std::string dynamic_nodeset_name(const std::string& array);

// A node as slurmctld shows it, as far as `scale` compares it with what it would create.
struct ExistingNode {
    std::string name;
    bool dynamic = false;  // State has DYNAMIC_NORM: made at run time, not by slurm.conf
    std::string cpus;      // CPUTot
    std::string real_memory;
    std::string features;  // AvailableFeatures, "(null)" as ""
    std::string gres;      // "(null)" as ""
    std::string weight;
};

// What `scale` does about one range: create the names Slurm lacks (a hostlist, "" for none),
// and a sentence for each existing node that differs from the range's spec (its name, the
// key, both values, what to do). Slurm's own names are compared as slurmctld prints them.
struct DynamicRangePlan {
    std::string create;  // hostlist of the missing names
    int existing = 0;    // names Slurm has already
    std::vector<std::string> mismatches;
};
// Errors: k_invalid_input when `range.hostlist` is not a hostlist.
Result<DynamicRangePlan> plan_dynamic_range(const DynamicRange& range,
                                            const std::vector<ExistingNode>& existing);

}  // namespace cb
