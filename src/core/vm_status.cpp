#include "core/vm_status.h"

#include <array>

namespace cb {

namespace {

// Sources: CycleCloud's API reference (`Status` of a node: Off, Acquiring, Preparing, Ready,
// Failed, Terminating, Deallocating, Deallocated), cyclecloud-symphony (Unavailable read as a
// failure), scalelib and symphony (Started read like Ready); docs/emulator.md lists them.
constexpr std::array k_table{
    VmStatusInfo{"Off", VmStatus::k_off, "no VM", "gone: a node that was up is lost"},
    VmStatusInfo{"Acquiring", VmStatus::k_acquiring, "Azure is allocating the VM",
                 "wait; with an allocation or quota error in StatusMessage it is capacity or "
                 "quota seen late"},
    VmStatusInfo{"Preparing", VmStatus::k_preparing, "the VM runs and cluster-init is running",
                 "publish the address; wait for slurmd"},
    VmStatusInfo{"Ready", VmStatus::k_ready, "the VM is up and configured",
                 "publish the address; wait for slurmd"},
    VmStatusInfo{"Started", VmStatus::k_ready, "the VM is up (older releases' word for Ready)",
                 "as Ready"},
    VmStatusInfo{"Failed", VmStatus::k_failed,
                 "CycleCloud gave up on the node; its VM may still exist and bill",
                 "without a VM: capacity/quota seen late or a cloud failure; with one: failed, "
                 "or drained first while slurmd runs jobs; the VM is shut down"},
    VmStatusInfo{"Unavailable", VmStatus::k_unavailable,
                 "CycleCloud lost touch with the VM; it may still run",
                 "kept while slurmd responds; failed when slurmd does not"},
    VmStatusInfo{"Terminating", VmStatus::k_terminating, "the VM is being deleted",
                 "leaving: a new VM waits for it"},
    VmStatusInfo{"Deallocating", VmStatus::k_deallocating, "the VM is being stopped",
                 "leaving: a new VM waits for it"},
    VmStatusInfo{"Deallocated", VmStatus::k_deallocated, "the VM is stopped (disk kept)",
                 "gone; a resume starts it again"},
};

}  // namespace

const VmStatusInfo* vm_status_table(std::size_t& count) {
    count = k_table.size();
    return k_table.data();
}

VmStatus vm_status_from_text(std::string_view text) {
    for (const auto& row : k_table) {
        if (row.text == text) {
            return row.status;
        }
    }
    return VmStatus::k_unknown;
}

const VmStatusInfo* vm_status_info(VmStatus status) {
    for (const auto& row : k_table) {
        if (row.status == status) {
            return &row;
        }
    }
    return nullptr;
}

}  // namespace cb
