// CycleCloud's node statuses and what each means to us: one table (vm_status.cpp), read by
// the client when it parses a node record and by `cloudburst why` when it explains one.
// Statuses not in the table are k_unknown: neither gone nor usable ("still changing"), so a
// node in one waits for its deadline and is never taken for a VM that went away.
#pragma once

#include <cstddef>
#include <string_view>

#include "ports/cloud.h"

namespace cb {

struct VmStatusInfo {
    std::string_view text;  // as CycleCloud prints it ("Ready")
    VmStatus status;
    std::string_view meaning;   // what the status says about the VM
    std::string_view handling;  // what cloudburstd does about a node in it
};

// The whole table, in lifecycle order (for docs and `why`).
const VmStatusInfo* vm_status_table(std::size_t& count);

// "Ready" -> k_ready, "Started" -> k_ready, ...; k_unknown for anything not in the table
// (the comparison is exact: CycleCloud's statuses are capitalised words).
VmStatus vm_status_from_text(std::string_view text);

// The table row for `status`; nullptr for k_unknown.
const VmStatusInfo* vm_status_info(VmStatus status);

}  // namespace cb
