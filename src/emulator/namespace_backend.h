// The `namespaces` VM backend: each emulated VM is a Linux network namespace with its own
// address on a bridge, and its cluster-init starts a real `slurmd -b -N NAME` inside it, in
// a UTS namespace whose hostname is the node name (and, by default, a time namespace that
// makes the VM look freshly booted). slurmctld on the host reaches the VM's slurmd at the
// VM's address; slurmd reaches slurmctld at the bridge address (the subnet's first address).
//
// Everything one backend makes is named after its instance, so several emulators (and test
// runs) can share a machine and a crashed run can be cleaned up by the next one:
//   network namespace  cb-<instance>-<node>       (/run/netns)
//   host-side veth     cb<instance>-<n>           (n = the VM's offset in the subnet)
//   bridge             cb<instance>br             (unless another bridge is given)
//   fabric bridge      cb<instance>-g<k>          (k: the fabric's number in this instance)
//   host-side veth     cb<instance>-i<n>          of a VM's `ib0`
//   pid file, log      <state_dir>/run/<node>.pid, <state_dir>/log/<node>.log
// slurmctld accepts the registration of a node it is powering up only if the node booted
// after the resume request, comparing whole seconds: call start_software() at least 2 s
// after the ResumeProgram ran, as a real VM's boot takes (the emulator's boot delay).
//
// Inside a VM the interface is `eth0`. A VM of an InfiniBand size (VmPlacement::infiniband) also
// has `ib0`, as Azure's HB/HC VMs do, on a bridge of its fabric: the VMs of one placement group
// share one; a VM of such a size in no group has a fabric of its own. Its address is in
// `fabric_subnet` with the host part of the VM's private address (198.18.4.130 -> 198.19.4.130
// in 198.19.0.0/16), and every VM's ib0 has the whole fabric subnet on-link, as Azure gives every
// IPoIB address the same /16: a VM reaches the ib0 of another VM only on the same bridge, and
// an address of another fabric finds no neighbour (EHOSTUNREACH). A VM without ib0 has the
// fabric subnet unreachable, so nothing meant for a fabric leaves through eth0. The host takes
// no part in a fabric (no address, no ARP answers on its bridges). A fabric's bridge is made
// with its first VM and removed with its last.
//
// Processes are only ever killed by PID: the ones this
// instance recorded in its pid files (checked against their start time, so a reused PID is
// left alone) and the ones living in its namespaces. Never by name. Needs root.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "emulator/vm_backend.h"
#include "emulator/vm_boot.h"
#include "util/result.h"

namespace cb::emulator {

enum class BridgeOwner {
    k_backend,   // created on first use, removed by shutdown() and recover()
    k_external,  // made by someone else (a testbed): must exist with the subnet's gateway
                 // address; never removed
};

enum class SlurmdConfigSource {
    k_file,    // a slurm.conf path readable on this host: `-f PATH` and SLURM_CONF=PATH
    k_server,  // configless: `--conf-server HOST[:PORT]`
};

enum class BootTime {
    k_fresh,  // own time namespace: the VM's uptime starts at 0 when slurmd starts
    k_host,   // the host's uptime (slurmd's `-b` alone tells slurmctld it just booted)
};

struct NamespaceBackendOptions {
    std::string instance;  // 1-6 characters of [a-z0-9]
    // The bridge's subnet, inside 198.18.0.0/15, prefix /16 to /30. The bridge has the
    // first address (the VMs' default gateway), e.g. 198.18.4.1 for "198.18.4.0/24".
    std::string subnet = "198.18.0.0/24";
    // The InfiniBand fabrics' subnet, inside 198.18.0.0/15, apart from `subnet` and at most as
    // long a prefix as it (every VM address's host part must fit); empty: no fabrics, no VM
    // gets ib0. The emulator's default is 198.19.0.0/16.
    std::string fabric_subnet;
    // Where VM addresses come from, lowest free first: a subnet inside `subnet`; empty means
    // all of it. The subnet's network, gateway and broadcast addresses are never handed out.
    std::string pool;
    std::string bridge;  // empty: cb<instance>br
    BridgeOwner bridge_owner = BridgeOwner::k_backend;
    std::string slurmd = "/usr/sbin/slurmd";
    SlurmdConfigSource config_source = SlurmdConfigSource::k_file;
    std::string slurm_conf;                // for k_file: absolute path
    std::string conf_server;               // for k_server: "host[:port]"
    std::vector<std::string> slurmd_args;  // appended to slurmd's command line
    std::string state_dir;                 // absolute; created if missing
    BootTime boot_time = BootTime::k_fresh;
    // With a boot script, a VM boots as a CycleCloud node does: it runs the cluster-init
    // project (scripts/emulator-vm-boot.sh) in a mount namespace of its own, and slurmd is
    // what the cluster-init starts (slurmd, config_source and slurmd_args are not used).
    // start_software() returns when the cluster-init has finished: an error carries the
    // failing script's message. The VM's host name starts as CycleCloud's "ip-XXXXXXXX" and
    // the cluster-init sets it.
    ClusterInitBoot cluster_init;
};

// The names this backend gives things, for tools and tests that check what is left behind.
std::string namespace_prefix(const std::string& instance);  // "cb-<instance>-"
std::string veth_prefix(const std::string& instance);       // "cb<instance>-": also fabric links
std::string default_bridge(const std::string& instance);    // "cb<instance>br"

// Checks the options (k_config errors say which option is wrong and why, and nothing is
// touched) and returns the backend. The backend does nothing to the system until it is
// called; its destructor calls shutdown(). recover() should be called before first use.
Result<std::unique_ptr<VmBackend>> make_namespace_backend(const NamespaceBackendOptions& options);

}  // namespace cb::emulator
