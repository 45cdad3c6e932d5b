// Keep-alive: cloud nodes Slurm never suspends once they are up, as its `SuspendExcNodes`.
// The config is where the wish lives (nodearrays.<n>.keep_alive counts, slurm.keep_alive_nodes
// for named nodes), so it survives restarts and reinstalls; `cloudburst scale` and
// `cloudburst keep-alive` both turn it into the one `SuspendExcNodes=` line of the generated
// conf through these functions. Slurm keeps such nodes up; it does not start them.
//
// CycleCloud's own KeepAlive node attribute is a different thing: CycleCloud then refuses to
// terminate the VM, so a node Slurm suspends would stay billed. cloudburst never sets it; a
// VM an admin marked KeepAlive in CycleCloud is left alone and its node goes DOWN with
// reason keep_alive (core/reconciler.cpp). Pure: no I/O.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/config.h"
#include "util/result.h"

namespace cb {

struct KeepAliveEntry {
    std::string nodes;  // a hostlist
    int count = 0;      // keep this many of `nodes` up; 0: every one of them
};

// The config's wish for the nodes Slurm knows: each node array with keep_alive > 0 that has
// nodes in `array_nodes` (node array -> hostlist of its nodes), in name order, then
// slurm.keep_alive_nodes.
std::vector<KeepAliveEntry> keep_alive_entries(
    const Config& config, const std::map<std::string, std::string>& array_nodes);

// The value of SuspendExcNodes for `entries`: "hpc-[1-8]:2,gpu-[1-4]:1,htc-3". Slurm reads a
// set without a count after the last one with a count as a set of its own, and one before it
// as part of the counted set, so every counted set comes first. Empty when there is nothing
// to keep. Errors (k_invalid_input): a hostlist that is not a plain one (the config's check
// is the first line; this is the backstop before the text reaches slurm.conf).
Result<std::string> suspend_exc_nodes(const std::vector<KeepAliveEntry>& entries);

// Node array -> sorted hostlist of the cloud nodes among `names` ("hpc-3" belongs to "hpc").
std::map<std::string, std::string> nodes_by_array(const std::vector<std::string>& names);

// `conf` (the generated conf) with its keep-alive lines replaced: every `SuspendExcNodes=`
// line and the comment this function writes above one are removed, and when `value` is not
// empty both are appended at the end. Running it twice with the same value changes nothing.
std::string with_suspend_exc_nodes(std::string_view conf, const std::string& value);

}  // namespace cb
