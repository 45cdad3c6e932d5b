// The decisions of `cloudburst setup scheduler`, kept pure so they can be tested without a
// machine to change: which operating system and package manager, which packages, which
// slurm.conf settings for which Slurm version, which /etc/exports lines. The command
// (cli/setup_command.cpp) reads the machine, calls these, and applies the differences.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/slurm_conf_edit.h"
#include "util/result.h"

namespace cb {

enum class PackageManager { k_apt, k_dnf };

struct OsRelease {
    std::string id;          // "debian", "ubuntu", "almalinux", "rhel", "rocky"
    std::string version_id;  // "12", "22.04", "8.9"
    std::string pretty_name;
    PackageManager package_manager = PackageManager::k_apt;
};

// Parses /etc/os-release. Errors (k_config): "unsupported operating system 'NAME': cloudburst
// setup supports AlmaLinux, Rocky Linux and RHEL 8 and 9, Debian 12 and Ubuntu 22.04 or
// later".
Result<OsRelease> parse_os_release(std::string_view text);

// The distribution packages the scheduler needs: Slurm's controller and clients, munge and
// an NFS server. `slurm_version` (may be empty) pins the Slurm packages: "pkg=VER" for apt,
// "pkg-VER" for dnf.
std::vector<std::string> scheduler_packages(PackageManager pm, const std::string& slurm_version);

// Slurm's release as major and minor ("slurm 22.05.8" -> 22, 5), from `slurmctld -V`.
struct SlurmRelease {
    int major = 0;
    int minor = 0;
    bool before(int major_, int minor_) const {
        return major < major_ || (major == major_ && minor < minor_);
    }
};
Result<SlurmRelease> parse_slurm_release(std::string_view version_output);

struct SchedulerSettings {
    std::string controller_name;  // SlurmctldHost=<name>(<addr>)
    std::string controller_addr;
    std::string hook_dir;      // where cloudburst-resume, -suspend, -resume-fail live
    std::string include_path;  // the generated cloudburst.conf
    SlurmRelease release;
    // The PrologSlurmctld slurm.conf has now (its last line), and whether the cloudburst config
    // names it as slurm.prolog_chain (then the gate may take its line: it runs it first).
    std::string site_prolog;
    bool site_prolog_chained = false;
};

// What to do with a site's own PrologSlurmctld (`site_prolog`, not the gate).
enum class PrologPlan {
    k_none,         // there is none, or it is the gate already
    k_second_line,  // 24.05 and later: the gate gets a PrologSlurmctld line of its own
    k_chain,        // before 24.05: the gate takes the line and runs the site's first
                    // (slurm.prolog_chain must name it)
};
PrologPlan prolog_plan(const SchedulerSettings& s);

// The global slurm.conf settings for bursting on `release` (reference: slurm-power-saving.md
// §8): SuspendTime=INFINITE (cloud partitions get their own from `cloudburst scale`),
// idle_on_node_suspend and enable_configless, cloud_reg_addrs and TreeWidth=65533 before
// 23.11, PrivateData=cloud on 22.05, ReturnToService=2, the hooks, SlurmctldHost with an
// address cloud nodes can reach without DNS, and an SrunPortRange (unless the site has one)
// so firewalls can let the nodes reach srun. The registration gate as PrologSlurmctld: set
// when there is none, a second line beside the site's from 24.05, the site's line before
// 24.05 once the config chains the site's program (prolog_plan); else the site's is kept.
std::vector<SlurmConfSetting> bursting_settings(const SchedulerSettings& s);

struct BaseSlurmConf {
    std::string cluster_name;
    PackageManager package_manager = PackageManager::k_apt;  // decides the state/log paths
};

// A complete slurm.conf for a scheduler that has none yet (no nodes; the site adds its own,
// `cloudburst scale` adds the cloud ones). edit_slurm_conf() then adds the bursting settings.
std::string base_slurm_conf(const BaseSlurmConf& base);

// Checks an IPv4 subnet in CIDR form ("10.1.0.0/16"); refuses "*", host names, /0 and
// addresses with host bits set. Errors (k_usage) say what is wrong.
Status check_export_subnet(const std::string& subnet);

struct NfsExport {
    std::string path;                  // "/sched"
    std::vector<std::string> subnets;  // checked with check_export_subnet
    std::string options;               // "ro,sync,root_squash,secure,no_subtree_check"
};

// One /etc/exports line per export: an existing line for the same path is replaced (so a
// world export becomes a subnet export), later duplicates are dropped, missing ones are
// appended; other lines are kept. `changes` gets one sentence per change.
std::string edit_exports(std::string_view text, const std::vector<NfsExport>& exports,
                         std::vector<std::string>& changes);

// The line edit_exports() writes for `e`.
std::string exports_line(const NfsExport& e);

// Whether an export is a filesystem of its own. nfsd checks that a file handle belongs to
// the exported filesystem, not to the exported directory (unless subtree_check), so a client
// that guesses handles can reach every file of the filesystem the export lives on.
struct ExportFilesystem {
    std::string mount_point;  // the mount holding the path ("/" for a directory on /)
    // Which directory of that filesystem the path is: "/" when the path is the mount point
    // and the whole filesystem is mounted there, else a directory inside it (a directory
    // below the mount point, a bind mount of a directory, a btrfs subvolume).
    std::string directory;
    bool own() const;  // directory == "/": the export is a filesystem of its own
};

// The filesystem of `path` (absolute and canonical: no symlinks, "." or ".."; it need not
// exist yet), from the text of /proc/self/mountinfo: the longest mount point that is `path`
// or a directory above it, the last one listed when mounts are stacked. Escapes in
// mountinfo (\040 for a space) are decoded. Text with no usable line: mount point "/" with
// the whole root filesystem mounted there.
ExportFilesystem export_filesystem(std::string_view mountinfo, std::string_view path);

// What `setup` prints (after "warning: ") for an export that is not a filesystem of its own:
// why it matters and what to do. "" when `fs.own()`.
std::string export_filesystem_warning(const std::string& path, const ExportFilesystem& fs);

// The exports of `setup scheduler`. /sched is read-only with root squashed: it holds the
// munge key every new node installs, which the nodes read as the pinned munge UID, so root
// on a host in the subnet can neither replace it nor plant setuid programs. /shared (the
// users' homes) is read-write, root squashed. Both `secure` and `sync`. /sched gets
// subtree_check when it is not a filesystem of its own (rarely renamed, read-only: the case
// exports(5) recommends it for), no_subtree_check otherwise; /shared always
// no_subtree_check (homes see many renames).
std::vector<NfsExport> scheduler_exports(const std::string& sched_dir,
                                         const std::string& shared_dir,
                                         const std::vector<std::string>& subnets,
                                         const ExportFilesystem& sched_fs);

// The file a burst node's cluster-init reads from /sched/<cluster>/ (KEY=VALUE lines; no
// secrets): the controller, the Slurm version to install, the pinned IDs.
struct NodeEnvironment {
    std::string cluster;
    std::string controller_name;
    std::string controller_addr;
    std::string slurm_version;  // the installed package version, e.g. "22.05.8-4+deb12u3"
    unsigned slurm_uid = 0, slurm_gid = 0, munge_uid = 0, munge_gid = 0;
    unsigned controller_port = 6817;  // slurm.conf's SlurmctldPort (the first of a range)
};
std::string node_environment_file(const NodeEnvironment& env);

// CycleCloud's escaping of a cluster name for its /sched directory: lower case, anything
// but [a-z0-9-] becomes '-'.
std::string escaped_cluster_name(std::string_view cluster);

}  // namespace cb
