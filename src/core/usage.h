// VM lifetimes, for `cloudburst cost` and budgets: one record per VM of ours, from the pass
// that first saw it billing to the pass that saw it gone. The daemon derives the changes from
// each pass's read of the cloud (so a VM made by anyone, started again, or found orphaned is
// counted too) and the journal keeps the records. Pure: time is an argument.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "ports/cloud.h"

namespace cb {

struct VmUsage {
    std::int64_t id = 0;  // the journal's row; 0 until stored
    std::string node;
    std::string nodearray;
    std::string machine_type;
    std::string region;
    bool spot = false;
    std::int64_t started_ms = 0;
    std::int64_t ended_ms = 0;  // 0: still billing
};

struct UsageChanges {
    std::vector<VmUsage> opened;  // id 0
    std::vector<VmUsage> closed;  // with their id and ended_ms set
    bool empty() const { return opened.empty() && closed.empty(); }
};

// True when Azure bills the VM's compute: it exists and is not stopped. Off, Acquiring (not
// allocated yet) and Deallocated do not bill; a Failed node bills only when it got a VM (it
// has an address); a status we do not know bills when it has an address.
bool vm_bills(const CloudNode& vm);

// What changed since the records in `open` (those with ended_ms 0): a VM of one of our node
// arrays (its name is <prefix><nodearray>-<n>) that bills and has no open record gets one,
// started now; an open record whose node has no billing VM, or a VM of another size, ends now.
// The precision is one pass (`daemon.sync_period`); a daemon that was stopped counts the time
// it was down as billed, never less.
UsageChanges usage_changes(const std::vector<VmUsage>& open,
                           const std::map<std::string, CloudNode>& cloud,
                           const std::map<std::string, NodeArray>& arrays,
                           const std::string& node_prefix, std::int64_t now_ms);

// Milliseconds of `u` inside [from_ms, to_ms); an open record runs until `now_ms`.
std::int64_t usage_ms_between(const VmUsage& u, std::int64_t from_ms, std::int64_t to_ms,
                              std::int64_t now_ms);

}  // namespace cb
