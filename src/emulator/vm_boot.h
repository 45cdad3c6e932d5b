// How a namespace VM boots when the emulator runs a cluster-init project, as CycleCloud boots
// a node (scripts/emulator-vm-boot.sh, docs/emulator.md "What runs in a VM"): the command
// line the namespaces backend starts, and what the boot's status file says.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/result.h"

namespace cb::emulator {

struct ClusterInitBoot {
    std::string boot_script;  // absolute: scripts/emulator-vm-boot.sh; empty: no cluster-init
    std::string project;      // absolute: a cluster-init project directory (has project.ini)
    std::string spec = "execute";
    std::string cluster;                // jetpack's cyclecloud.cluster.name
    std::string root = "/";             // the VM's image: a directory the VM sees as its root
    std::string sched;                  // the scheduler's /sched on this host; empty: none
    std::string shared;                 // the scheduler's /shared on this host; empty: none
    std::vector<std::string> binds;     // host directories the VM sees at the same path
    std::string munge_socket;           // slurm.conf's AuthInfo socket: the VM's munged there
    std::chrono::seconds timeout{300};  // cluster-init longer than this fails the node
};

// What one VM is: the values jetpack gives and where its boot keeps its files.
struct VmBootTarget {
    std::string node;         // cyclecloud.node.name
    std::string instance_id;  // cyclecloud.instance.id
    std::string private_ip;   // cyclecloud.instance.ipv4
    std::string mnt;          // an empty directory for the VM's file system (absolute)
    std::string status;       // the status file (absolute)
    int gpus = 0;             // GPU stand-ins /dev/nvidia0..gpus-1 in the VM (its size's GPUs)
    // More jetpack config values (the node's cloudburst.* settings): key, value.
    std::vector<std::pair<std::string, std::string>> jetpack_config;
};

// k_config with the option at fault when a path is not absolute or a value is missing.
Status check_cluster_init_boot(const ClusterInitBoot& boot);

// The boot command: `/bin/bash SCRIPT boot --node ... [--gpus N] --config KEY=VALUE ...`.
// A jetpack value whose key is not a dotted name or whose value holds a control character
// is left out (jetpack's file holds one KEY=VALUE a line).
std::vector<std::string> vm_boot_argv(const ClusterInitBoot& boot, const VmBootTarget& vm);

// The status file's text: nullopt while the boot is still running (empty or unfinished
// line); ok for "ok"; an error whose message is the boot's for "failed MESSAGE".
std::optional<Status> parse_boot_status(std::string_view text);

}  // namespace cb::emulator
