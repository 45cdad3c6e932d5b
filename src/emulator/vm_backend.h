// What an emulated VM is made of. The emulator's cluster model decides *when* a node moves
// through CycleCloud's states; a VmBackend makes the VM real (or not) at each step.
//
// Lifecycle as the model drives it:
//   create_vm(name, placement)  at Acquiring -> Preparing: the VM exists and has an address
//                         (and, for an InfiniBand size, its fabric: placement below)
//   start_software(name, software)  at the end of Preparing: the VM's cluster-init (start
//                         slurmd) on a VM of the node's size (its GPUs);
//                         skipped when the "slurmd never starts" fault applies
//   destroy_vm(name)      on terminate, deallocate, spot eviction, failure
// All calls may block for a few milliseconds (they run `ip`, start processes) and are made
// outside the model's lock, possibly from several threads for different names; calls for
// the same name are never concurrent.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "util/result.h"

namespace cb::emulator {

struct VmIdentity {
    std::string private_ip;   // e.g. "198.18.0.7"
    std::string hostname;     // the node name for the namespaces backend
    std::string instance_id;  // stable for the VM's life, new for each create_vm
};

// Where a VM is placed, as far as its networks go. On Azure the VMs of an InfiniBand (RDMA)
// size reach each other over InfiniBand only inside one placement group; a VM of such a size
// outside any group has an InfiniBand interface that reaches no other VM.
struct VmPlacement {
    std::string placement_group;  // "" for none
    bool infiniband = false;      // the VM size has an InfiniBand network (the catalog's rdma)
};

// What the VM's software finds: the hardware of its size and the node's settings.
struct VmSoftware {
    int gpus = 0;  // GPUs of the VM size (the SKU catalog): device files /dev/nvidia0..gpus-1
    // What jetpack config answers on the VM: cyclecloud.node.template (the node array),
    // azure.metadata.compute.vmSize, and the node's `cloudburst.*` and slurm.dynamic_config
    // configuration (its array's and its own): key, value as text.
    std::vector<std::pair<std::string, std::string>> jetpack_config;
};

class VmBackend {
  public:
    virtual ~VmBackend() = default;

    // Called once before serving: removes whatever a crashed run of this same instance left
    // behind (namespaces, veths, the bridge, processes recorded in its pid files).
    virtual Status recover() = 0;
    // Idempotent for a name that already has a VM: returns its identity (the placement of the
    // first call stays).
    virtual Result<VmIdentity> create_vm(const std::string& node_name,
                                         const VmPlacement& placement) = 0;
    virtual Status start_software(const std::string& node_name, const VmSoftware& software) = 0;
    // Whether start_software may take long (a cluster-init): the runner then makes the call
    // in the background, so other nodes' steps do not wait for it.
    virtual bool slow_software() const { return false; }
    // Idempotent: destroying a VM that does not exist succeeds.
    virtual Status destroy_vm(const std::string& node_name) = 0;
    // Removes every VM and everything else the backend made (bridge, files). Called on exit,
    // including SIGTERM/SIGINT. Idempotent.
    virtual void shutdown() = 0;
};

// API-only VMs: addresses are allocated from 198.18.0.0/15 in memory; nothing runs.
std::unique_ptr<VmBackend> make_none_backend();

}  // namespace cb::emulator
