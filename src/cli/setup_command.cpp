// `cloudburst setup scheduler`: turns a plain Debian/Ubuntu or AlmaLinux/RHEL machine (or an
// existing Slurm controller) into a scheduler that can burst: pinned slurm and munge
// accounts, packages, a munge key, NFS exports of /sched and /shared to the cloud subnets
// only, slurm.conf's bursting settings, services. Each step compares the machine with what
// it wants and changes only the difference, so a rerun reports "no changes"; --dry-run
// prints the same changes and makes none (cli/system_changes.h).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <CLI/CLI.hpp>

#include <cctype>
#include <cerrno>
#include <charconv>
#include <climits>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <memory>

#include "cli/accounts.h"
#include "cli/commands.h"
#include "cli/system_changes.h"
#include "cli/system_facts.h"
#include "core/config_edit.h"
#include "core/config_loader.h"
#include "core/scheduler_setup.h"
#include "core/slurm_conf_gen.h"
#include "util/files.h"
#include "util/process.h"

namespace cb::cli {

namespace {

namespace fs = std::filesystem;

struct SetupOptions {
    std::string cluster;
    std::vector<std::string> export_subnets;
    std::string sysconfdir = "/etc/slurm";
    std::string munge_dir = "/etc/munge";
    std::string exports_file = "/etc/exports";
    std::string sched_dir = "/sched";
    std::string shared_dir = "/shared";
    std::string os_release = "/etc/os-release";
    std::string sbin_dir = "/usr/sbin";
    std::string slurm_version;
    std::string controller_name;  // default: the short host name
    std::string controller_addr;  // default: our address towards the first export subnet
    std::string hook_dir;         // default: the directory of this program
    unsigned slurm_uid = 11100, slurm_gid = 11100, munge_uid = 11101, munge_gid = 11101;
    bool dry_run = false;
    bool no_install = false;
    bool no_start = false;
};

// What the steps learn from the machine and share.
struct Facts {
    OsRelease os;
    SlurmRelease release;
    std::string package_version;  // the installed Slurm package, for the burst nodes
    bool slurm_conf_changed = false;
};

Error usage(const std::string& message) {
    return make_error(ErrorKind::k_usage, message);
}

bool exists(const std::string& path) {
    std::error_code ec;
    return fs::exists(fs::symlink_status(path, ec));
}

bool is_executable(const std::string& path) {
    return ::access(path.c_str(), X_OK) == 0;
}

std::string short_hostname() {
    char buf[HOST_NAME_MAX + 1] = {};
    if (::gethostname(buf, sizeof buf - 1) != 0) {
        return "";
    }
    std::string name(buf);
    return name.substr(0, name.find('.'));
}

// The local address the kernel would use to reach `subnet` (its first host): the address
// cloud nodes there see the controller at, barring NAT. No packet is sent.
Result<std::string> address_towards(const std::string& subnet) {
    in_addr net{};
    if (::inet_pton(AF_INET, subnet.substr(0, subnet.find('/')).c_str(), &net) != 1) {
        return usage("cannot read the address of subnet " + subnet);
    }
    const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return make_error(ErrorKind::k_io, std::string("socket: ") + std::strerror(errno));
    }
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(6817);
    to.sin_addr.s_addr = htonl(ntohl(net.s_addr) + 1);
    sockaddr_in local{};
    socklen_t len = sizeof local;
    const bool ok = ::connect(fd, reinterpret_cast<const sockaddr*>(&to), sizeof to) == 0 &&
                    ::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len) == 0;
    const int err = errno;
    ::close(fd);
    if (!ok) {
        return make_error(ErrorKind::k_io, "no route from this machine to " + subnet + " (" +
                                               std::strerror(err) +
                                               "): give the controller's address with "
                                               "--controller-addr");
    }
    char text[INET_ADDRSTRLEN] = {};
    ::inet_ntop(AF_INET, &local.sin_addr, text, sizeof text);
    return std::string(text);
}

Result<CommandOutput> query(const std::vector<std::string>& argv) {
    return run_command(Command{argv, minimal_environment(), {}, std::chrono::seconds(30)});
}

// ---- checks made before anything changes --------------------------------------------------

Status check_options(SetupOptions& o) {
    if (o.cluster.empty()) {
        return usage("--cluster is required: the CycleCloud cluster's name (e.g. hpc1)");
    }
    for (char c : o.cluster) {
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_')) {
            return usage("--cluster '" + o.cluster + "': use letters, digits, '-' and '_' only");
        }
    }
    if (o.export_subnets.empty()) {
        return usage(
            "--export-subnet is required: the subnet(s) of the cloud nodes that mount /sched "
            "and /shared, e.g. --export-subnet 10.1.0.0/16 (never the whole world)");
    }
    for (const auto& s : o.export_subnets) {
        if (auto st = check_export_subnet(s); !st) {
            return st;
        }
    }
    for (const std::string* p : {&o.sysconfdir, &o.munge_dir, &o.exports_file, &o.sched_dir,
                                 &o.shared_dir, &o.os_release, &o.sbin_dir}) {
        if (p->empty() || p->front() != '/') {
            return usage("paths must be absolute, got '" + *p + "'");
        }
    }
    if (o.controller_name.empty()) {
        o.controller_name = short_hostname();
    }
    if (o.controller_addr.empty()) {
        auto addr = address_towards(o.export_subnets.front());
        if (!addr) {
            return addr.error();
        }
        o.controller_addr = *addr;
    } else if (in_addr a{}; ::inet_pton(AF_INET, o.controller_addr.c_str(), &a) != 1) {
        return usage("--controller-addr '" + o.controller_addr + "' is not an IPv4 address");
    }
    if (o.hook_dir.empty()) {
        o.hook_dir = fs::path(installed_program("cloudburst-resume")).parent_path().string();
    }
    return ok_status();
}

struct PinnedAccount {
    const char* name;
    unsigned uid;
    unsigned gid;
    const char* uid_flag;
    const char* gid_flag;
};

// Existing slurm/munge accounts must already have the pinned IDs: changing the IDs of an
// account that owns files is not ours to do.
Status check_account(const PinnedAccount& a) {
    auto hint = [&a](const std::string& flag, unsigned actual) {
        return ": cloudburst does not change existing accounts. Either pin the burst nodes to " +
               std::to_string(actual) + " too (" + flag + " " + std::to_string(actual) +
               " here and the same in the CycleCloud cluster's " + a.name +
               ".user settings), or change the account yourself";
    };
    if (const auto g = group_by_name(a.name); g && g->gid != a.gid) {
        return make_error(ErrorKind::k_config, std::string("group '") + a.name +
                                                   "' exists with GID " + std::to_string(g->gid) +
                                                   ", not " + std::to_string(a.gid) +
                                                   hint(a.gid_flag, g->gid));
    }
    if (const auto g = group_by_gid(a.gid); g && g->name != a.name) {
        return make_error(ErrorKind::k_config, "GID " + std::to_string(a.gid) +
                                                   " belongs to group '" + g->name + "', not '" +
                                                   a.name + "': choose another with " + a.gid_flag);
    }
    if (const auto u = user_by_name(a.name); u) {
        if (u->uid != a.uid) {
            return make_error(ErrorKind::k_config,
                              std::string("user '") + a.name + "' exists with UID " +
                                  std::to_string(u->uid) + ", not " + std::to_string(a.uid) +
                                  hint(a.uid_flag, u->uid));
        }
        if (u->gid != a.gid) {
            return make_error(ErrorKind::k_config,
                              std::string("user '") + a.name + "' has primary GID " +
                                  std::to_string(u->gid) + ", not " + std::to_string(a.gid) +
                                  hint(a.gid_flag, u->gid));
        }
    }
    if (const auto u = user_by_uid(a.uid); u && u->name != a.name) {
        return make_error(ErrorKind::k_config, "UID " + std::to_string(a.uid) +
                                                   " belongs to user '" + u->name + "', not '" +
                                                   a.name + "': choose another with " + a.uid_flag);
    }
    return ok_status();
}

// ---- steps ---------------------------------------------------------------------------------

Status ensure_account(SystemChanges& changes, const PinnedAccount& a) {
    if (!group_by_name(a.name)) {
        Command cmd{{"/usr/sbin/groupadd", "--system", "--gid", std::to_string(a.gid), a.name},
                    minimal_environment(),
                    {},
                    std::chrono::seconds(30)};
        if (auto st = changes.run(cmd, std::string("create group ") + a.name); !st) {
            return st;
        }
    }
    if (!user_by_name(a.name)) {
        Command cmd{{"/usr/sbin/useradd", "--system", "--uid", std::to_string(a.uid), "--gid",
                     std::to_string(a.gid), "--no-create-home", "--home-dir", "/nonexistent",
                     "--shell", "/usr/sbin/nologin", a.name},
                    minimal_environment(),
                    {},
                    std::chrono::seconds(30)};
        if (auto st = changes.run(cmd, std::string("create user ") + a.name); !st) {
            return st;
        }
    }
    return ok_status();
}

bool package_installed(PackageManager pm, const std::string& spec) {
    if (pm == PackageManager::k_apt) {
        const auto eq = spec.find('=');
        auto r =
            query({"/usr/bin/dpkg-query", "-W", "-f=${Status} ${Version}", spec.substr(0, eq)});
        if (!r || !r->ok() || r->out.rfind("install ok installed ", 0) != 0) {
            return false;
        }
        return eq == std::string::npos ||
               r->out.substr(std::string("install ok installed ").size()) == spec.substr(eq + 1);
    }
    auto r = query({"/usr/bin/rpm", "-q", spec});
    return r && r->ok();
}

Status install_packages(SystemChanges& changes, const SetupOptions& o, const Facts& f) {
    const PackageManager pm = f.os.package_manager;
    std::vector<std::string> missing;
    for (const auto& p : scheduler_packages(pm, o.slurm_version)) {
        if (!package_installed(pm, p)) {
            missing.push_back(p);
        }
    }
    if (missing.empty()) {
        return ok_status();
    }
    std::string names;
    for (const auto& m : missing) {
        names += (names.empty() ? "" : " ") + m;
    }
    if (o.no_install) {
        std::cerr << "cloudburst: warning: not installed (--no-install): " << names << "\n";
        return ok_status();
    }
    auto env = minimal_environment();
    if (pm == PackageManager::k_apt) {
        env.push_back("DEBIAN_FRONTEND=noninteractive");
        Command update{{"/usr/bin/apt-get", "update"}, env, {}, std::chrono::minutes(10)};
        if (auto st = changes.run(update, "refresh the package lists"); !st) {
            return st;
        }
        Command install{{"/usr/bin/apt-get", "install", "-y", "--no-install-recommends"},
                        env,
                        {},
                        std::chrono::minutes(30)};
        install.argv.insert(install.argv.end(), missing.begin(), missing.end());
        return changes.run(install, "install " + names);
    }
    // Slurm comes from EPEL on AlmaLinux, Rocky and RHEL.
    if (!package_installed(pm, "epel-release")) {
        Command epel{
            {"/usr/bin/dnf", "install", "-y", "epel-release"}, env, {}, std::chrono::minutes(10)};
        if (auto st = changes.run(epel, "enable EPEL (Slurm's packages)"); !st) {
            return st;
        }
    }
    Command install{{"/usr/bin/dnf", "install", "-y"}, env, {}, std::chrono::minutes(30)};
    install.argv.insert(install.argv.end(), missing.begin(), missing.end());
    return changes.run(install, "install " + names);
}

Status learn_slurm_release(const SetupOptions& o, Facts& f) {
    const std::string slurmctld = o.sbin_dir + "/slurmctld";
    if (is_executable(slurmctld)) {
        auto r = query({slurmctld, "-V"});
        if (!r) {
            return r.error();
        }
        auto rel = parse_slurm_release(r->out);
        if (!rel) {
            return rel.error();
        }
        f.release = *rel;
    } else if (!o.slurm_version.empty()) {
        auto rel = parse_slurm_release(o.slurm_version);
        if (!rel) {
            return rel.error();
        }
        f.release = *rel;
    } else if (o.dry_run || o.no_install) {
        std::cerr << "cloudburst: warning: " << slurmctld
                  << " is not installed: showing the settings for Slurm 23.11 and later\n";
        f.release = {23, 11};
    } else {
        return make_error(ErrorKind::k_io, slurmctld + " is missing after installing Slurm");
    }
    if (f.os.package_manager == PackageManager::k_apt) {
        auto r = query({"/usr/bin/dpkg-query", "-W", "-f=${Version}", "slurmctld"});
        f.package_version = r && r->ok() ? r->out : "";
    } else {
        auto r = query({"/usr/bin/rpm", "-q", "--qf", "%{VERSION}-%{RELEASE}", "slurm"});
        f.package_version = r && r->ok() ? r->out : "";
    }
    if (f.package_version.empty()) {
        f.package_version = o.slurm_version;
    }
    return ok_status();
}

Status ensure_directory(SystemChanges& changes, const std::string& path, mode_t mode, uid_t uid,
                        gid_t gid) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) {
        return changes.make_directory(path, mode, uid, gid);
    }
    if (!S_ISDIR(st.st_mode)) {
        return make_error(ErrorKind::k_io, path + " exists and is not a directory");
    }
    return ok_status();
}

// Writes `content` to `path` if it differs, printing a diff for text. Keeps an existing
// file's owner and mode unless `force_owner`.
enum class Ownership { k_keep_existing, k_force };
Status ensure_file(SystemChanges& changes, const std::string& path, const std::string& content,
                   mode_t mode, uid_t uid, gid_t gid, const std::string& what, bool show_diff,
                   Ownership ownership = Ownership::k_keep_existing) {
    struct stat st {};
    const bool present = ::stat(path.c_str(), &st) == 0;
    std::string old;
    if (present) {
        auto r = read_file(path);
        if (!r) {
            return r.error();
        }
        old = std::move(*r);
        if (ownership == Ownership::k_keep_existing) {
            mode = st.st_mode & 07777;
            uid = st.st_uid;
            gid = st.st_gid;
        }
    }
    if (present && old == content) {
        if ((st.st_mode & 07777) != mode || st.st_uid != uid || st.st_gid != gid) {
            return changes.set_owner_mode(path, mode, uid, gid);
        }
        return ok_status();
    }
    if (show_diff) {
        std::cout << "--- " << path << (present ? "" : " (new file)") << "\n"
                  << line_diff(old, content);
    }
    return changes.write_file(path, content, mode, uid, gid, what);
}

Result<std::string> random_key(std::size_t bytes) {
    std::string key(bytes, '\0');
    std::size_t got = 0;
    while (got < bytes) {
        const ssize_t n = ::getrandom(key.data() + got, bytes - got, 0);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return make_error(ErrorKind::k_io, std::string("getrandom: ") + std::strerror(errno));
        }
        got += static_cast<std::size_t>(n);
    }
    return key;
}

Status ensure_munge_key(SystemChanges& changes, const SetupOptions& o, const std::string& sched) {
    if (auto st = ensure_directory(changes, o.munge_dir, 0700, o.munge_uid, o.munge_gid); !st) {
        return st;
    }
    const std::string key_path = o.munge_dir + "/munge.key";
    std::string key;
    if (exists(key_path)) {
        auto r = read_file(key_path);
        if (!r) {
            return r.error();
        }
        key = std::move(*r);
    } else {
        // Generated once; a rerun keeps it (every node and every job credential uses it).
        auto r = random_key(1024);
        if (!r) {
            return r.error();
        }
        key = std::move(*r);
    }
    if (auto st = ensure_file(changes, key_path, key, 0400, o.munge_uid, o.munge_gid, "munge key",
                              false, Ownership::k_force);
        !st) {
        return st;
    }
    // The burst nodes' cluster-init copies it from here, reading it as the pinned munge UID:
    // /sched is exported with root squashed, so root on a node cannot read it.
    return ensure_file(changes, sched + "/munge.key", key, 0400, o.munge_uid, o.munge_gid,
                       "munge key for the burst nodes", false, Ownership::k_force);
}

// The filesystem `path` is on, from /proc/self/mountinfo (a path that does not exist yet is
// judged by the directory that will hold it).
ExportFilesystem filesystem_of(const std::string& path) {
    std::error_code ec;
    const fs::path canonical = fs::weakly_canonical(path, ec);
    auto mountinfo = read_file("/proc/self/mountinfo");
    return export_filesystem(mountinfo ? *mountinfo : std::string(),
                             ec ? path : canonical.string());
}

Status ensure_exports(SystemChanges& changes, const SetupOptions& o) {
    for (const auto* dir : {&o.sched_dir, &o.shared_dir}) {
        if (auto st = ensure_directory(changes, *dir, 0755, 0, 0); !st) {
            return st;
        }
    }
    const ExportFilesystem sched_fs = filesystem_of(o.sched_dir);
    for (const auto& [dir, fs] :
         {std::pair{o.sched_dir, sched_fs}, std::pair{o.shared_dir, filesystem_of(o.shared_dir)}}) {
        if (const std::string w = export_filesystem_warning(dir, fs); !w.empty()) {
            std::cerr << "cloudburst: warning: " << w << "\n";
        }
    }
    std::string text;
    if (exists(o.exports_file)) {
        auto r = read_file(o.exports_file);
        if (!r) {
            return r.error();
        }
        text = std::move(*r);
    }
    std::vector<std::string> edits;
    const std::string edited = edit_exports(
        text, scheduler_exports(o.sched_dir, o.shared_dir, o.export_subnets, sched_fs), edits);
    if (edited == text) {
        return ok_status();
    }
    for (const auto& e : edits) {
        std::cout << "exports: " << e << "\n";
    }
    if (auto st = ensure_file(changes, o.exports_file, edited, 0644, 0, 0, "NFS exports", true);
        !st) {
        return st;
    }
    if (o.exports_file != "/etc/exports" || o.no_start) {
        std::cout << "note: run `exportfs -ra` to apply " << o.exports_file << "\n";
        return ok_status();
    }
    return changes.run(
        Command{{"/usr/sbin/exportfs", "-ra"}, minimal_environment(), {}, std::chrono::seconds(60)},
        "apply the NFS exports");
}

// Before 24.05 slurm.conf takes one PrologSlurmctld: the gate can take the site's line only
// if the cloudburst config names the site's program as slurm.prolog_chain (the gate runs it
// first). Sets that key when the config exists; returns whether the site's program is chained.
Result<bool> chain_site_prolog(SystemChanges& changes, const std::string& site_prolog) {
    const std::string& path = global_options().config_path;
    auto text = read_trusted_config_text(path);
    if (!text) {
        if (text.error().kind != ErrorKind::k_not_found) {
            return text.error();
        }
        std::cout << "slurm.conf: PrologSlurmctld=" << site_prolog
                  << " is the site's and this Slurm takes one: kept. Rerun this command after "
                     "`cloudburst init` to chain it behind the registration gate\n";
        return false;
    }
    const TomlEditResult edit =
        edit_toml_section(*text, "slurm", {{"prolog_chain", toml_string(site_prolog)}});
    if (auto valid = parse_config(edit.text, path); !valid) {
        return valid.error().with_context("chaining PrologSlurmctld in " + path);
    }
    if (auto st = ensure_file(changes, path, edit.text, 0600, 0, 0, "cloudburst config", true);
        !st) {
        return st.error();
    }
    return true;
}

Status ensure_slurm_conf(SystemChanges& changes, const SetupOptions& o, Facts& f) {
    if (auto st = ensure_directory(changes, o.sysconfdir, 0755, 0, 0); !st) {
        return st;
    }
    std::string path = o.sysconfdir + "/slurm.conf";
    std::string text;
    if (exists(path)) {
        // A site that links slurm.conf elsewhere keeps its link: edit the file it names.
        std::error_code ec;
        const fs::path real = fs::canonical(path, ec);
        if (!ec) {
            path = real.string();
        }
        auto r = read_file(path);
        if (!r) {
            return r.error();
        }
        text = std::move(*r);
    } else {
        text = base_slurm_conf({o.cluster, f.os.package_manager});
    }
    const std::string include = o.sysconfdir + "/cloudburst.conf";
    SchedulerSettings settings{o.controller_name,
                               o.controller_addr,
                               o.hook_dir,
                               include,
                               f.release,
                               slurm_conf_value(text, "PrologSlurmctld"),
                               false};
    if (prolog_plan(settings) == PrologPlan::k_chain) {
        auto chained = chain_site_prolog(changes, settings.site_prolog);
        if (!chained) {
            return chained.error();
        }
        settings.site_prolog_chained = *chained;
    }
    const SlurmConfEdit edit = edit_slurm_conf(text, bursting_settings(settings), include);
    for (const auto& c : edit.changes) {
        std::cout << "slurm.conf: " << c << "\n";
    }
    const bool was_there = exists(path);
    if (!was_there || edit.text != text) {
        f.slurm_conf_changed = true;
        if (auto st = ensure_file(changes, path, edit.text, 0644, 0, 0, "slurm.conf", true); !st) {
            return st;
        }
    }
    if (!exists(include)) {
        // slurmctld refuses a missing Include; `cloudburst scale` fills it.
        if (auto st = ensure_file(changes, include,
                                  "# Cloud nodes and partitions: written by `cloudburst scale`.\n",
                                  0644, 0, 0, "cloudburst.conf", false);
            !st) {
            return st;
        }
    }
    // Directories slurmctld writes to.
    const std::string state = slurm_conf_value(edit.text, "StateSaveLocation");
    const std::string log = slurm_conf_value(edit.text, "SlurmctldLogFile");
    for (const std::string& dir :
         {state, log.empty() ? std::string() : fs::path(log).parent_path().string()}) {
        if (!dir.empty() && dir.front() == '/') {
            if (auto st = ensure_directory(changes, dir, 0755, o.slurm_uid, o.slurm_gid); !st) {
                return st;
            }
        }
    }
    return ok_status();
}

Status ensure_node_environment(SystemChanges& changes, const SetupOptions& o, const Facts& f,
                               const std::string& sched) {
    NodeEnvironment env{o.cluster,   o.controller_name, o.controller_addr, f.package_version,
                        o.slurm_uid, o.slurm_gid,       o.munge_uid,       o.munge_gid};
    // The nodes fetch their configuration from slurmctld's port (configless).
    if (auto conf = read_file(o.sysconfdir + "/slurm.conf")) {
        const std::string port = slurm_conf_value(*conf, "SlurmctldPort");
        unsigned value = 0;
        const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
        if (ec == std::errc() && value > 0 && value < 65536 &&
            (end == port.data() + port.size() || *end == '-')) {
            env.controller_port = value;
        }
    }
    return ensure_file(changes, sched + "/cloudburst-node.env", node_environment_file(env), 0644, 0,
                       0, "settings for the burst nodes' cluster-init", true);
}

Status start_services(SystemChanges& changes, const SetupOptions& o, const Facts& f) {
    const bool apt = f.os.package_manager == PackageManager::k_apt;
    const std::vector<std::string> units{"munge", "nfs-server", "slurmctld"};
    if (o.no_start) {
        std::cout << "not starting services (--no-start); when ready: systemctl enable --now "
                     "munge nfs-server slurmctld\n";
        return ok_status();
    }
    if (!exists("/run/systemd/system")) {
        std::cout << "this machine does not run systemd: start the services yourself, in this "
                     "order: munged (/usr/sbin/munged), the NFS server ("
                  << (apt ? "/etc/init.d/nfs-kernel-server start" : "rpc.nfsd; rpc.mountd")
                  << "), slurmctld (/usr/sbin/slurmctld), and make them start at boot\n";
        return ok_status();
    }
    for (const auto& unit : units) {
        auto enabled = query({"/usr/bin/systemctl", "is-enabled", unit});
        if (!enabled || !enabled->ok()) {
            if (auto st = changes.run(Command{{"/usr/bin/systemctl", "enable", unit},
                                              minimal_environment(),
                                              {},
                                              std::chrono::seconds(60)},
                                      "start " + unit + " at boot");
                !st) {
                return st;
            }
        }
        auto active = query({"/usr/bin/systemctl", "is-active", unit});
        const bool running = active && active->ok();
        if (!running || (unit == "slurmctld" && f.slurm_conf_changed)) {
            const char* verb = running ? "restart" : "start";
            if (auto st = changes.run(Command{{"/usr/bin/systemctl", verb, unit},
                                              minimal_environment(),
                                              {},
                                              std::chrono::seconds(120)},
                                      std::string(verb) + " " + unit);
                !st) {
                return st;
            }
        }
    }
    return ok_status();
}

Result<int> run_setup_scheduler(SetupOptions o) {
    if (auto st = check_options(o); !st) {
        return st.error();
    }
    Facts f;
    auto os_text = read_file(o.os_release);
    if (!os_text) {
        return os_text.error();
    }
    auto os = parse_os_release(*os_text);
    if (!os) {
        return os.error();
    }
    f.os = *os;
    const PinnedAccount munge{"munge", o.munge_uid, o.munge_gid, "--munge-uid", "--munge-gid"};
    const PinnedAccount slurm{"slurm", o.slurm_uid, o.slurm_gid, "--slurm-uid", "--slurm-gid"};
    for (const auto& a : {munge, slurm}) {
        if (auto st = check_account(a); !st) {
            return st.error();
        }
    }
    std::cout << "setting up a Slurm scheduler for cluster " << o.cluster << " on "
              << f.os.pretty_name << (o.dry_run ? " (dry run: nothing is changed)" : "") << "\n";
    auto changes =
        make_system_changes(o.dry_run ? ChangeMode::k_dry_run : ChangeMode::k_apply, std::cout);
    // Accounts before packages: the packages would otherwise create them with other IDs.
    for (const auto& a : {munge, slurm}) {
        if (auto st = ensure_account(*changes, a); !st) {
            return st.error();
        }
    }
    if (auto st = install_packages(*changes, o, f); !st) {
        return st.error();
    }
    if (auto st = learn_slurm_release(o, f); !st) {
        return st.error();
    }
    if (auto st = ensure_exports(*changes, o); !st) {
        return st.error();
    }
    const std::string sched = o.sched_dir + "/" + escaped_cluster_name(o.cluster);
    if (auto st = ensure_directory(*changes, sched, 0755, 0, 0); !st) {
        return st.error();
    }
    if (auto st = ensure_munge_key(*changes, o, sched); !st) {
        return st.error();
    }
    if (auto st = ensure_node_environment(*changes, o, f, sched); !st) {
        return st.error();
    }
    if (auto st = ensure_slurm_conf(*changes, o, f); !st) {
        return st.error();
    }
    if (auto st = start_services(*changes, o, f); !st) {
        return st.error();
    }
    if (changes->count() == 0) {
        std::cout << "no changes\n";
    } else if (o.dry_run) {
        std::cout << changes->count() << " change(s) would be made; nothing was changed\n";
    } else {
        std::cout << changes->count() << " change(s) made. Next: cloudburst init\n";
    }
    return 0;
}

}  // namespace

std::vector<CommandSpec> setup_commands() {
    return {
        {"setup", "prepare this machine as a Slurm scheduler that bursts into CycleCloud",
         [](CLI::App& app) {
             app.require_subcommand(1);
             auto o = std::make_shared<SetupOptions>();
             CLI::App* s = app.add_subcommand(
                 "scheduler",
                 "install and configure Slurm, munge and NFS for bursting (idempotent)");
             s->add_option("--cluster", o->cluster, "the CycleCloud cluster's name")->required();
             s->add_option("--export-subnet", o->export_subnets,
                           "export /sched and /shared to this IPv4 subnet (CIDR; repeat "
                           "for more)")
                 ->required();
             s->add_flag("-n,--dry-run", o->dry_run, "print every change; change nothing");
             s->add_flag("--no-install", o->no_install,
                         "do not install packages (report missing ones)");
             s->add_flag("--no-start", o->no_start, "do not enable, start or reload services");
             s->add_option("--slurm-version", o->slurm_version,
                           "install this Slurm package version (default: the "
                           "distribution's)");
             s->add_option("--controller-name", o->controller_name,
                           "SlurmctldHost name (default: the short host name)");
             s->add_option("--controller-addr", o->controller_addr,
                           "the address burst nodes reach slurmctld at (default: this "
                           "machine's address towards the first export subnet)");
             s->add_option("--hook-dir", o->hook_dir,
                           "where cloudburst-resume and friends are (default: beside "
                           "this program)");
             s->add_option("--slurm-uid", o->slurm_uid, "UID of user slurm")->capture_default_str();
             s->add_option("--slurm-gid", o->slurm_gid, "GID of group slurm")
                 ->capture_default_str();
             s->add_option("--munge-uid", o->munge_uid, "UID of user munge")->capture_default_str();
             s->add_option("--munge-gid", o->munge_gid, "GID of group munge")
                 ->capture_default_str();
             s->add_option("--sysconfdir", o->sysconfdir, "Slurm's configuration directory")
                 ->capture_default_str();
             s->add_option("--munge-dir", o->munge_dir, "munge's key directory")
                 ->capture_default_str();
             s->add_option("--exports-file", o->exports_file, "the NFS exports file")
                 ->capture_default_str();
             s->add_option("--sched-dir", o->sched_dir, "the shared Slurm directory")
                 ->capture_default_str();
             s->add_option("--shared-dir", o->shared_dir, "the shared home directory tree")
                 ->capture_default_str();
             s->add_option("--os-release", o->os_release, "the os-release file to read")
                 ->capture_default_str();
             s->add_option("--sbin-dir", o->sbin_dir, "where slurmctld is installed")
                 ->capture_default_str();
             auto action = std::make_shared<std::function<Result<int>()>>();
             s->callback([o, action] { *action = [o] { return run_setup_scheduler(*o); }; });
             return std::function<Result<int>()>([action]() -> Result<int> {
                 if (!*action) {
                     return usage("choose what to set up: cloudburst setup scheduler");
                 }
                 return (*action)();
             });
         }}};
}

}  // namespace cb::cli
