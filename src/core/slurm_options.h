// The slurm.conf options an admin may add to a node array's NodeName= line and to its
// partition's PartitionName= line (nodearrays.<name>.node_options and partition_options), as
// "Key=value" strings. cloudburst owns the keys it writes itself (names, State, the VM size's
// CPUs and memory, the power-saving timers): those are refused with the config key that sets
// them instead. Only keys of a fixed list pass, so a typo or an option of the other line is
// an error, not a slurm.conf that slurmctld refuses to read. Pure.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace cb {

enum class SlurmLine { k_node, k_partition };

struct SlurmOption {
    std::string key;  // spelled as Slurm's documentation does ("DefMemPerCPU")
    std::string value;
};

// One item, "Key=value": the key compares without case and comes back in Slurm's spelling.
// Errors (k_config) say why, as the rest of "item 2 ...": "must be Key=value ...", "sets
// State, which is cloudburst's own: ...", "names 'MaxTim', which is not a PartitionName=
// option cloudburst passes on (did you mean MaxTime?); allowed: ...". A value is 1 to 256
// printable characters without spaces, '#', '=', quotes or backslashes, so it cannot end the
// line, start a comment or set a key.
Result<SlurmOption> parse_slurm_option(std::string_view item, SlurmLine line);

// "" when every item parses and no key is given twice, else "item N ..." (for the config
// loader's message about the key).
std::string slurm_options_problem(const std::vector<std::string>& items, SlurmLine line);

// The keys allowed on `line`, in Slurm's spelling.
const std::vector<std::string>& allowed_slurm_options(SlurmLine line);

}  // namespace cb
