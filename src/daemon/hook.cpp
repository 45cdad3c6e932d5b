#include "daemon/hook.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>

#include "core/config_loader.h"
#include "core/config_path.h"
#include "core/hook_request.h"
#include "store/spool.h"
#include "util/files.h"
#include "util/program.h"

namespace cb {

// A later write to "stderr" on a spool file's fd would corrupt it.
void ensure_standard_fds() {
    for (int fd = 0; fd <= 2; ++fd) {
        if (::fcntl(fd, F_GETFD) < 0) {
            const int null_fd = ::open("/dev/null", O_RDWR);
            if (null_fd >= 0 && null_fd != fd) {
                ::dup2(null_fd, fd);
                ::close(null_fd);
            }
        }
    }
}

namespace {

std::int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// read_file's error for a file over its limit.
bool is_too_large(const Error& error) {
    return error.message.ends_with(" is larger than " + std::to_string(k_max_hook_request_bytes) +
                                   " bytes");
}

Error too_large(const std::string& resume_file) {
    return make_error(ErrorKind::k_invalid_input,
                      "SLURM_RESUME_FILE " + resume_file + " is larger than the " +
                          std::to_string(k_max_hook_request_bytes) +
                          " bytes cloudburstd reads; nothing was handed over, so these nodes "
                          "are not powered up (Slurm fails them at ResumeTimeout): resume "
                          "fewer nodes at once");
}

Result<int> hook_body(int argc, char** argv, const std::string& program) {
    const auto kind = hook_kind_from_program(program);
    if (!kind) {
        return make_error(ErrorKind::k_usage,
                          "unknown hook name '" + program +
                              "' (install as cloudburst-resume, cloudburst-suspend or "
                              "cloudburst-resume-fail)");
    }
    if (argc != 2 || argv[1][0] == '\0') {
        return make_error(ErrorKind::k_usage,
                          "expected exactly one argument, the hostlist Slurm passes (usage: " +
                              program + " HOSTLIST)");
    }
    HookRequest request;
    request.kind = *kind;
    request.hostlist = argv[1];
    request.received_ms = now_ms();
    request.pid = ::getpid();
    if (*kind == HookKind::k_resume) {
        // Copy it first: the file disappears when we exit (or when slurmctld restarts).
        if (const char* path = std::getenv("SLURM_RESUME_FILE"); path != nullptr && *path) {
            auto content = read_file(path, k_max_hook_request_bytes);
            if (content) {
                request.resume_file = std::move(*content);
                for (char& c : request.resume_file) {
                    if (c == '\n' || c == '\r') {
                        c = ' ';
                    }
                }
            } else if (is_too_large(content.error())) {
                // Never a truncated copy: refuse, so that slurmctld logs the failure.
                return too_large(path);
            }
            // An unreadable resume file is not fatal: argv has every node to power up.
        }
    }
    auto config = load_chosen_config(choose_config_path(), PasswordUse::k_skip);
    if (!config) {
        return config.error();
    }
    auto written = Spool(config->paths.spool_dir).submit(request);
    if (!written) {
        // Too large as a whole (k_invalid_input), or the spool is not writable: either way
        // nothing was handed over, and the exit status tells slurmctld so.
        return written.error().with_context("handing the request to cloudburstd");
    }
    poke_daemon(config->paths.socket);
    return 0;
}

}  // namespace

bool poke_daemon(const std::string& socket_path) {
    sockaddr_un addr{};
    if (socket_path.size() >= sizeof addr.sun_path) {
        return false;
    }
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, socket_path.c_str(), socket_path.size() + 1);
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        return false;
    }
    bool ok = ::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0 &&
              ::send(fd, "poke\n", 5, MSG_NOSIGNAL) == 5;
    ::close(fd);
    return ok;
}

int run_hook(int argc, char** argv) {
    ensure_standard_fds();
    const char* slash = std::strrchr(argv[0], '/');
    const std::string program = slash != nullptr ? slash + 1 : argv[0];
    return run_main(program, [&]() { return hook_body(argc, argv, program); });
}

}  // namespace cb
