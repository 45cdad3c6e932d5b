#include "core/scheduler_setup.h"

#include <charconv>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <sstream>

#include "util/text.h"

namespace cb {

namespace {

std::map<std::string, std::string> os_release_fields(std::string_view text) {
    std::map<std::string, std::string> fields;
    std::istringstream in{std::string(text)};
    for (std::string line; std::getline(in, line);) {
        const auto eq = line.find('=');
        if (line.empty() || line[0] == '#' || eq == std::string::npos) {
            continue;
        }
        std::string value(trim(std::string_view(line).substr(eq + 1)));
        if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') &&
            value.back() == value.front()) {
            value = value.substr(1, value.size() - 2);
        }
        fields[std::string(trim(std::string_view(line).substr(0, eq)))] = value;
    }
    return fields;
}

// The leading number of "22.04" or "8.9": 22, 8; -1 if there is none.
int leading_number(std::string_view s) {
    int n = -1;
    const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    return ec == std::errc() && ptr != s.data() ? n : -1;
}

bool contains_word(const std::string& list, const std::string& word) {
    std::istringstream in(list);
    for (std::string w; in >> w;) {
        if (w == word) {
            return true;
        }
    }
    return false;
}

std::optional<std::uint32_t> parse_ipv4(std::string_view s) {
    std::uint32_t addr = 0;
    int parts = 0;
    while (parts < 4) {
        unsigned octet = 0;
        const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), octet);
        if (ec != std::errc() || ptr == s.data() || octet > 255 || ptr - s.data() > 3) {
            return std::nullopt;
        }
        addr = (addr << 8) | octet;
        s.remove_prefix(static_cast<std::size_t>(ptr - s.data()));
        ++parts;
        if (parts < 4) {
            if (s.empty() || s.front() != '.') {
                return std::nullopt;
            }
            s.remove_prefix(1);
        }
    }
    if (!s.empty()) {
        return std::nullopt;
    }
    return addr;
}

// mountinfo's octal escapes (\040 for a space, \134 for a backslash).
std::string unescape_mountinfo(std::string_view field) {
    std::string out;
    for (std::size_t i = 0; i < field.size(); ++i) {
        const auto octal = [&field](std::size_t at) {
            return at < field.size() && field[at] >= '0' && field[at] <= '7';
        };
        if (field[i] == '\\' && octal(i + 1) && octal(i + 2) && octal(i + 3)) {
            out += static_cast<char>(((field[i + 1] - '0') << 6) | ((field[i + 2] - '0') << 3) |
                                     (field[i + 3] - '0'));
            i += 3;
        } else {
            out += field[i];
        }
    }
    return out;
}

// `mount_point` is `path` or a directory above it.
bool holds(std::string_view mount_point, std::string_view path) {
    if (mount_point == "/") {
        return true;
    }
    return path.starts_with(mount_point) &&
           (path.size() == mount_point.size() || path[mount_point.size()] == '/');
}

}  // namespace

Result<OsRelease> parse_os_release(std::string_view text) {
    const auto f = os_release_fields(text);
    auto get = [&f](const char* key) {
        const auto it = f.find(key);
        return it == f.end() ? std::string() : it->second;
    };
    OsRelease os;
    os.id = get("ID");
    os.version_id = get("VERSION_ID");
    os.pretty_name = get("PRETTY_NAME").empty() ? os.id + " " + os.version_id : get("PRETTY_NAME");
    const int major = leading_number(os.version_id);
    const std::string like = get("ID_LIKE");
    const bool rhel_like =
        os.id == "rhel" || os.id == "almalinux" || os.id == "rocky" || contains_word(like, "rhel");
    if (rhel_like && (major == 8 || major == 9)) {
        os.package_manager = PackageManager::k_dnf;
        return os;
    }
    if ((os.id == "debian" && major >= 12) || (os.id == "ubuntu" && major >= 22)) {
        os.package_manager = PackageManager::k_apt;
        return os;
    }
    return make_error(ErrorKind::k_config,
                      "unsupported operating system '" + os.pretty_name +
                          "': cloudburst setup supports AlmaLinux, Rocky Linux and RHEL 8 and 9, "
                          "Debian 12 and Ubuntu 22.04 or later");
}

std::vector<std::string> scheduler_packages(PackageManager pm, const std::string& slurm_version) {
    if (pm == PackageManager::k_apt) {
        const std::string pin = slurm_version.empty() ? "" : "=" + slurm_version;
        return {"slurmctld" + pin, "slurm-client" + pin, "munge", "nfs-kernel-server"};
    }
    const std::string pin = slurm_version.empty() ? "" : "-" + slurm_version;
    return {"slurm" + pin, "slurm-slurmctld" + pin, "munge", "nfs-utils"};
}

Result<SlurmRelease> parse_slurm_release(std::string_view version_output) {
    // "slurm 23.11.4", Debian's "slurm-wlm 22.05.8", or a package version "22.05.8-4".
    std::string_view v = trim(version_output);
    if (const auto space = v.rfind(' '); space != std::string_view::npos) {
        v.remove_prefix(space + 1);
    }
    SlurmRelease r;
    const auto [p1, e1] = std::from_chars(v.data(), v.data() + v.size(), r.major);
    if (e1 == std::errc() && p1 < v.data() + v.size() && *p1 == '.') {
        const auto [p2, e2] = std::from_chars(p1 + 1, v.data() + v.size(), r.minor);
        if (e2 == std::errc() && r.major >= 17) {
            return r;
        }
    }
    return make_error(ErrorKind::k_slurm, "cannot read a Slurm version from '" +
                                              std::string(trim(version_output)) +
                                              "' (expected 'slurm 22.05.8' or similar)");
}

PrologPlan prolog_plan(const SchedulerSettings& s) {
    if (s.site_prolog.empty() ||
        std::filesystem::path(s.site_prolog).filename() == "cloudburst-prolog") {
        return PrologPlan::k_none;
    }
    return s.release.before(24, 5) ? PrologPlan::k_chain : PrologPlan::k_second_line;
}

std::vector<SlurmConfSetting> bursting_settings(const SchedulerSettings& s) {
    const bool before_23_02 = s.release.before(23, 2);
    const bool before_23_11 = s.release.before(23, 11);
    std::vector<SlurmConfSetting> out{
        {"SlurmctldHost", s.controller_name + "(" + s.controller_addr + ")",
         SettingMode::k_replace_first},
        // On-prem nodes never suspend; cloud partitions carry their own SuspendTime.
        {"SuspendTime", "INFINITE", SettingMode::k_replace},
        {"ResumeTimeout", "1800", SettingMode::k_if_absent},
        {"SuspendTimeout", "600", SettingMode::k_if_absent},
        // No limit on the nodes a minute slurmctld hands to the hooks (Slurm's defaults are
        // 300 and 60): cloudburst makes one create call per node array and pass and paces
        // CycleCloud itself, so a 1,000-node job need not wait over three minutes for its last
        // nodes to be asked for, nor idle VMs be billed while they queue to power down.
        {"ResumeRate", "0", SettingMode::k_if_absent},
        {"SuspendRate", "0", SettingMode::k_if_absent},
        {"ReturnToService", "2", SettingMode::k_replace},
        // srun listens here for the burst nodes: a range a firewall can open.
        {"SrunPortRange", "60001-63000", SettingMode::k_if_absent},
        {"ResumeProgram", s.hook_dir + "/cloudburst-resume", SettingMode::k_replace},
        {"SuspendProgram", s.hook_dir + "/cloudburst-suspend", SettingMode::k_replace},
        {"ResumeFailProgram", s.hook_dir + "/cloudburst-resume-fail", SettingMode::k_replace},
    };
    // The registration gate (core/prolog_gate.h).
    const std::string gate = s.hook_dir + "/cloudburst-prolog";
    switch (prolog_plan(s)) {
        case PrologPlan::k_none:
            out.push_back({"PrologSlurmctld", gate, SettingMode::k_if_absent});
            break;
        case PrologPlan::k_second_line:
            out.push_back({"PrologSlurmctld", gate, SettingMode::k_add_line});
            break;
        case PrologPlan::k_chain:
            if (s.site_prolog_chained) {
                out.push_back({"PrologSlurmctld", gate, SettingMode::k_replace});
            }
            break;  // else the site's stays (doctor says what that costs)
    }
    std::string params = "idle_on_node_suspend,enable_configless";
    if (before_23_11) {
        params += ",cloud_reg_addrs";
    }
    out.push_back({"SlurmctldParameters", params, SettingMode::k_merge_list});
    if (before_23_02) {
        // Before 23.02 powered-down cloud nodes are hidden from sinfo and scontrol otherwise.
        out.push_back({"PrivateData", "cloud", SettingMode::k_merge_list});
    }
    if (before_23_11) {
        // Cloud node names do not resolve everywhere: no message fan-out through them.
        out.push_back({"TreeWidth", "65533", SettingMode::k_replace});
    }
    return out;
}

std::string base_slurm_conf(const BaseSlurmConf& base) {
    const bool apt = base.package_manager == PackageManager::k_apt;
    const std::string state = apt ? "/var/lib/slurm/slurmctld" : "/var/spool/slurmctld";
    const std::string log = apt ? "/var/log/slurm" : "/var/log/slurmctld";
    std::ostringstream out;
    out << "# slurm.conf written by `cloudburst setup scheduler`. Add your on-prem NodeName= and\n"
        << "# PartitionName= lines below; rerunning the command keeps them.\n"
        << "ClusterName=" << base.cluster_name << "\n"
        << "SlurmUser=slurm\n"
        << "AuthType=auth/munge\n"
        << "StateSaveLocation=" << state << "\n"
        << "SlurmdSpoolDir=/var/spool/slurmd\n"
        << "SlurmctldPidFile=/run/slurmctld.pid\n"
        << "SlurmdPidFile=/run/slurmd.pid\n"
        << "SlurmctldLogFile=" << log << "/slurmctld.log\n"
        << "SlurmdLogFile=" << (apt ? log + "/slurmd.log" : "/var/log/slurmd/slurmd.log") << "\n"
        << "ProctrackType=proctrack/cgroup\n"
        << "TaskPlugin=task/affinity,task/cgroup\n"
        << "SelectType=select/cons_tres\n"
        << "SelectTypeParameters=CR_Core_Memory\n"
        << "SchedulerType=sched/backfill\n"
        << "MpiDefault=none\n"
        << "SwitchType=switch/none\n"
        << "JobAcctGatherType=jobacct_gather/none\n"
        << "AccountingStorageType=accounting_storage/none\n"
        << "MaxNodeCount=10000\n";
    return out.str();
}

Status check_export_subnet(const std::string& subnet) {
    const auto slash = subnet.find('/');
    auto bad = [&subnet](const std::string& why) {
        return make_error(ErrorKind::k_usage, "--export-subnet '" + subnet + "': " + why);
    };
    if (subnet == "*" || subnet.find_first_of("*?") != std::string::npos) {
        return bad(
            "wildcards export to the world; give the subnets of the cloud nodes, "
            "e.g. 10.1.0.0/16");
    }
    if (slash == std::string::npos) {
        return bad("expected an IPv4 subnet in CIDR form, e.g. 10.1.0.0/16");
    }
    const auto addr = parse_ipv4(std::string_view(subnet).substr(0, slash));
    int prefix = -1;
    const std::string_view p = std::string_view(subnet).substr(slash + 1);
    const auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), prefix);
    if (!addr || ec != std::errc() || ptr != p.data() + p.size()) {
        return bad("expected an IPv4 subnet in CIDR form, e.g. 10.1.0.0/16");
    }
    if (prefix < 1 || prefix > 32) {
        return bad("the prefix length must be 1 to 32");
    }
    const std::uint32_t host_mask = prefix == 32 ? 0u : (0xffffffffu >> prefix);
    if ((*addr & host_mask) != 0) {
        return bad("host bits are set; did you mean the network address?");
    }
    return ok_status();
}

std::string exports_line(const NfsExport& e) {
    std::string line = e.path;
    for (const auto& s : e.subnets) {
        line += " " + s + "(" + e.options + ")";
    }
    return line;
}

bool ExportFilesystem::own() const {
    return directory == "/";
}

ExportFilesystem export_filesystem(std::string_view mountinfo, std::string_view path) {
    std::string mount_point = "/";
    std::string root = "/";
    std::istringstream in{std::string(mountinfo)};
    for (std::string line; std::getline(in, line);) {
        // "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw": the 4th field is
        // the directory of the filesystem mounted, the 5th where.
        std::istringstream words(line);
        std::string id, parent, device, fs_root, at;
        if (!(words >> id >> parent >> device >> fs_root >> at)) {
            continue;
        }
        at = unescape_mountinfo(at);
        if (holds(at, path) && at.size() >= mount_point.size()) {
            mount_point = at;
            root = unescape_mountinfo(fs_root);
        }
    }
    // `path` below the mount point is that much further down in the filesystem.
    std::string directory = root;
    if (path != mount_point) {
        const std::string below(path.substr(mount_point == "/" ? 0 : mount_point.size()));
        directory = root == "/" ? below : root + below;
    }
    return {mount_point, directory};
}

std::string export_filesystem_warning(const std::string& path, const ExportFilesystem& fs) {
    if (fs.own()) {
        return {};
    }
    const std::string what = fs.mount_point == path
                                 ? "the directory " + fs.directory +
                                       " of a filesystem mounted there (a bind mount or "
                                       "a btrfs subvolume)"
                                 : "a directory on the filesystem mounted at " + fs.mount_point;
    return "export " + path + " is not a filesystem of its own but " + what +
           ": a host in the export subnet that guesses NFS file handles can reach files of that "
           "filesystem outside " +
           path +
           " (nfsd checks only a handle's filesystem unless the export has subtree_check, see "
           "exports(5)). Mount a filesystem of its own at " +
           path +
           " (a disk, an LVM volume or a loop-mounted image), then rerun `cloudburst setup "
           "scheduler`; until then keep the export subnet to the burst nodes alone";
}

std::vector<NfsExport> scheduler_exports(const std::string& sched_dir,
                                         const std::string& shared_dir,
                                         const std::vector<std::string>& subnets,
                                         const ExportFilesystem& sched_fs) {
    const std::string sched_subtree = sched_fs.own() ? "no_subtree_check" : "subtree_check";
    return {{sched_dir, subnets, "ro,sync,root_squash,secure," + sched_subtree},
            {shared_dir, subnets, "rw,sync,root_squash,secure,no_subtree_check"}};
}

std::string edit_exports(std::string_view text, const std::vector<NfsExport>& exports,
                         std::vector<std::string>& changes) {
    std::vector<std::string> lines;
    std::istringstream in{std::string(text)};
    for (std::string line; std::getline(in, line);) {
        lines.push_back(line);
    }
    std::vector<bool> drop(lines.size(), false);
    std::vector<std::string> appended;
    for (const auto& e : exports) {
        const std::string wanted = exports_line(e);
        bool seen = false;
        for (std::size_t i = 0; i < lines.size(); ++i) {
            std::istringstream words(lines[i]);
            std::string first;
            words >> first;
            if (first != e.path) {
                continue;
            }
            if (seen) {
                drop[i] = true;
                changes.push_back("remove duplicate export '" + lines[i] + "'");
            } else if (lines[i] != wanted) {
                changes.push_back("replace export '" + lines[i] + "' with '" + wanted + "'");
                lines[i] = wanted;
            }
            seen = true;
        }
        if (!seen) {
            appended.push_back(wanted);
            changes.push_back("add export '" + wanted + "'");
        }
    }
    std::string out;
    for (std::size_t i = 0; i < lines.size(); ++i) {
        if (!drop[i]) {
            out += lines[i] + "\n";
        }
    }
    for (const auto& a : appended) {
        out += a + "\n";
    }
    return out;
}

std::string node_environment_file(const NodeEnvironment& env) {
    std::ostringstream out;
    out << "# Written by `cloudburst setup scheduler` for the burst nodes' cluster-init\n"
        << "# (templates/cluster-init). KEY=VALUE lines; read, never sourced.\n"
        << "CLUSTER=" << env.cluster << "\n"
        << "SLURMCTLD_HOST=" << env.controller_name << "\n"
        << "SLURMCTLD_ADDR=" << env.controller_addr << "\n"
        << "SLURMCTLD_PORT=" << env.controller_port << "\n"
        << "SLURM_VERSION=" << env.slurm_version << "\n"
        << "SLURM_UID=" << env.slurm_uid << "\n"
        << "SLURM_GID=" << env.slurm_gid << "\n"
        << "MUNGE_UID=" << env.munge_uid << "\n"
        << "MUNGE_GID=" << env.munge_gid << "\n";
    return out.str();
}

std::string escaped_cluster_name(std::string_view cluster) {
    std::string out = to_lower(cluster);
    for (char& c : out) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
        if (!ok) {
            c = '-';
        }
    }
    return out;
}

}  // namespace cb
