#include "cli/hook_access_probe.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <utility>
#include <vector>

#include "core/config_loader.h"
#include "util/process.h"
#include "util/text.h"

namespace cb::cli {

namespace fs = std::filesystem;

HookAccessReport probe_hook_access(const HookAccessTarget& t) {
    HookAccessReport report;
    // As the hooks load it (daemon/hook.cpp): the trust rule for a non-root process, no
    // password.
    if (auto config = load_config(t.config, PasswordUse::k_skip); !config) {
        report.config_error = config.error().describe();
    }
    // The hooks write a temporary file in the spool and rename it (write_file_atomic); a
    // name without ".req" is never taken for a request.
    std::string probe = t.spool_dir + "/.doctor-probe-XXXXXX";
    const int fd = ::mkstemp(probe.data());
    if (fd < 0) {
        report.spool_error = std::strerror(errno);
    } else {
        ::close(fd);
        ::unlink(probe.c_str());
    }
    struct stat st {};
    if (t.socket.empty() || ::lstat(t.socket.c_str(), &st) != 0) {
        report.socket = SocketAccess::k_absent;
    } else if (::access(t.socket.c_str(), W_OK) != 0) {
        report.socket = SocketAccess::k_refused;
        report.socket_error = std::strerror(errno);
    } else {
        report.socket = SocketAccess::k_ok;
    }
    if (!t.password_file.empty()) {
        const int pw = ::open(t.password_file.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        report.password = pw >= 0 ? PasswordAccess::k_readable : PasswordAccess::k_unreadable;
        if (pw >= 0) {
            ::close(pw);
        }
    }
    return report;
}

std::string self_executable() {
    std::error_code ec;
    return fs::read_symlink("/proc/self/exe", ec).string();
}

// The parent side, as root: runs `cloudburst doctor-hook-access` with SlurmUser's uid, gid
// and supplementary groups (setpriv, no shell, a minimal environment: the hooks get no
// credentials either) and turns its report into one check.
CheckResult check_hook_access_as(const UserIds& user, const std::string& cloudburst,
                                 const HookAccessTarget& t) {
    const std::string setpriv = "/usr/bin/setpriv";
    if (::geteuid() != 0) {
        return check_skipped("Hook access (as " + user.name + ")",
                             "run cloudburst doctor as root to try what SlurmUser can read");
    }
    if (user.uid == 0) {
        return check_warning("Hook access (as root)",
                             "SlurmUser is root, so the hooks can read the CycleCloud password: "
                             "set SlurmUser to an unprivileged account (slurm)");
    }
    if (!fs::exists(setpriv)) {
        return hook_access_unknown(t, setpriv + " is missing: apt-get install util-linux");
    }
    std::vector<std::string> argv{setpriv,
                                  "--reuid=" + std::to_string(user.uid),
                                  "--regid=" + std::to_string(user.gid),
                                  "--init-groups",
                                  "--",
                                  cloudburst,
                                  "--config",
                                  t.config,
                                  "doctor-hook-access",
                                  "--spool-dir",
                                  t.spool_dir};
    for (const auto& [option, value] :
         {std::pair{"--socket", t.socket}, std::pair{"--password-file", t.password_file}}) {
        if (!value.empty()) {
            argv.emplace_back(option);
            argv.push_back(value);
        }
    }
    auto run = run_command({argv, minimal_environment(), {}, std::chrono::seconds(15)});
    if (!run) {
        return hook_access_unknown(t, run.error().describe());
    }
    if (!run->ok()) {
        std::string err(trim(run->err).substr(0, 512));
        std::replace_if(
            err.begin(), err.end(),
            [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }, ' ');
        return hook_access_unknown(t, "`cloudburst doctor-hook-access` as " + user.name +
                                          " exited with " + std::to_string(run->exit_code) + " (" +
                                          err + ")");
    }
    auto report = parse_hook_access_report(run->out);
    if (!report) {
        return hook_access_unknown(t, report.error().describe());
    }
    return check_hook_access(t, *report);
}

}  // namespace cb::cli
