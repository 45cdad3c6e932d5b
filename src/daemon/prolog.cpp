#include "daemon/prolog.h"

#include <poll.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "core/config_loader.h"
#include "core/config_path.h"
#include "core/prolog_gate.h"
#include "daemon/hook.h"
#include "util/unique_fd.h"

namespace cb {

namespace {

std::string env(const char* name) {
    const char* v = std::getenv(name);
    return v == nullptr ? std::string() : std::string(v);
}

// How long to wait at most: the largest ResumeTimeout and a margin (the daemon answers by
// then too); slurmctld kills the gate earlier when the job is cancelled or requeued.
std::chrono::milliseconds longest_wait(const Config& config) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(config.longest_resume_timeout() +
                                                                 std::chrono::seconds(60));
}

// slurmctld gives PrologSlurmctld neither SLURM_CONF nor PATH, only the job's variables. So
// after CLOUDBURST_CONFIG and SLURM_CONF (when a site sets them) the gate looks beside itself:
// a relocatable tree keeps the hooks in DIR/libexec and the config in DIR/etc (the testbed
// does); an install under /usr has none there and uses the default path.
ConfigPathChoice gate_config_path() {
    ConfigPathChoice choice = choose_config_path();
    if (!choice.chosen_by.empty()) {
        return choice;
    }
    char exe[4096];
    const ssize_t n = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        std::string dir(exe, static_cast<std::size_t>(n));
        dir = dir.substr(0, dir.rfind('/'));
        const std::string beside = dir.substr(0, dir.rfind('/')) + "/etc/cloudburst.toml";
        if (::access(beside.c_str(), R_OK) == 0) {
            return {beside, ""};
        }
    }
    return choice;
}

void wait_for_daemon(const std::string& socket_path, const std::string& line,
                     std::chrono::milliseconds limit) {
    sockaddr_un addr{};
    if (socket_path.size() >= sizeof addr.sun_path) {
        return;
    }
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, socket_path.c_str(), socket_path.size() + 1);
    const UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (fd.get() < 0 ||
        ::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0 ||
        ::send(fd.get(), line.data(), line.size(), MSG_NOSIGNAL) !=
            static_cast<ssize_t>(line.size())) {
        return;  // no daemon: nothing to wait for
    }
    // Any answer, the daemon closing, or the time-out ends the wait.
    const auto deadline = std::chrono::steady_clock::now() + limit;
    for (;;) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            return;
        }
        pollfd p{fd.get(), POLLIN, 0};
        const int n = ::poll(&p, 1, static_cast<int>(std::min<long long>(left.count(), 60'000)));
        if (n > 0 || (n < 0 && errno != EINTR)) {
            return;
        }
    }
}

}  // namespace

int run_chained_prolog(const std::string& path) {
    // As slurmctld would run it: the same environment and descriptors, no shell, no arguments.
    std::string arg0 = path;
    char* argv[] = {arg0.data(), nullptr};
    pid_t pid = 0;
    if (const int err = ::posix_spawn(&pid, path.c_str(), nullptr, nullptr, argv, environ);
        err != 0) {
        std::fprintf(stderr, "cloudburst-prolog: cannot run the site's PrologSlurmctld %s: %s\n",
                     path.c_str(), std::strerror(err));
        return 1;
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            return 1;
        }
    }
    if (WIFEXITED(status)) {
        return WEXITSTATUS(status);
    }
    return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : 1;
}

int run_prolog(int /*argc*/, char** /*argv*/) {
    ensure_standard_fds();
    const ConfigPathChoice path = gate_config_path();
    auto config = load_chosen_config(path, PasswordUse::k_skip);
    // The site's prolog decides first, exactly as it did alone: its failure is the job's. A
    // config that does not load (a typo elsewhere) must not skip it, so its key is read alone.
    std::string chain;
    if (config) {
        chain = config->slurm.prolog_chain;
    } else if (auto alone = read_prolog_chain(path.path)) {
        chain = *alone;
    }
    if (!chain.empty()) {
        if (chain.front() != '/') {
            std::fprintf(stderr, "cloudburst-prolog: slurm.prolog_chain is not an absolute path\n");
            return 1;
        }
        if (const int rc = run_chained_prolog(chain); rc != 0) {
            return rc;
        }
    }
    const std::string line = gate_request_line(env("SLURM_JOB_ID"), env("SLURM_JOB_NODELIST"));
    if (line.empty() || !config) {
        return 0;
    }
    wait_for_daemon(config->paths.socket, line, longest_wait(*config));
    return 0;
}

}  // namespace cb
