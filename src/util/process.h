// Running other programs without a shell: argv goes straight to execve, the path must be
// absolute (hooks run with no PATH), and the environment is given explicitly.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace cb {

struct Command {
    std::vector<std::string> argv;  // argv[0] is an absolute path
    std::vector<std::string>
        env;  // "NAME=value"; empty: inherit nothing but PATH=/usr/sbin:/usr/bin:/sbin:/bin
    std::string input;  // written to the child's stdin, then closed
    std::chrono::milliseconds timeout{30000};
};

struct CommandOutput {
    int exit_code = -1;   // -1 when killed by a signal
    int term_signal = 0;  // the signal that ended it, or 0
    std::string out;
    std::string err;
    bool ok() const { return exit_code == 0; }
};

// Runs `command` to completion, capturing stdout and stderr. Errors: k_io when it cannot be
// started, k_transient when it ran past its timeout (it is killed, with its process group).
// A non-zero exit is not an error here: the caller reads exit_code.
Result<CommandOutput> run_command(const Command& command);
// The same, with stdout going to `on_stdout` as it arrives, in pieces of any size (a line may
// be split between two); CommandOutput::out stays empty: a large output is never held whole.
Result<CommandOutput> run_command(const Command& command,
                                  const std::function<void(std::string_view)>& on_stdout);

struct SpawnOptions {
    std::vector<std::string> argv;
    std::vector<std::string> env;  // as in Command
    std::string stdout_path;       // empty: /dev/null; appended to
    std::string stderr_path;       // empty: same as stdout
    bool new_session = true;       // setsid(): own process group, no controlling terminal
    // Runs in the child after fork, before execve. Only async-signal-safe calls (raw
    // syscalls such as setns, unshare, sethostname). Return 0, or an errno to abort.
    std::function<int()> pre_exec;
};

// A child process we started and own. The destructor stops it (SIGTERM to its process
// group, then SIGKILL) and reaps it, so no child outlives its owner by accident.
class ChildProcess {
  public:
    static Result<ChildProcess> spawn(const SpawnOptions& options);

    ChildProcess() = default;
    ChildProcess(ChildProcess&& other) noexcept;
    ChildProcess& operator=(ChildProcess&& other) noexcept;
    ChildProcess(const ChildProcess&) = delete;
    ChildProcess& operator=(const ChildProcess&) = delete;
    ~ChildProcess();

    pid_t pid() const { return m_pid; }
    bool running();  // false once it has exited (reaps it)
    // SIGTERM to the process group, SIGKILL after `grace`; waits for exit. Idempotent.
    void stop(std::chrono::milliseconds grace = std::chrono::milliseconds(3000));
    // Forget the child without stopping it (it keeps running; nobody reaps it here).
    pid_t release();
    std::optional<int> exit_status() const { return m_status; }

  private:
    explicit ChildProcess(pid_t pid, bool own_group) : m_pid(pid), m_own_group(own_group) {}
    pid_t m_pid = -1;
    bool m_own_group = true;
    std::optional<int> m_status;
};

// The default environment for commands we run: only a fixed PATH.
std::vector<std::string> minimal_environment();

}  // namespace cb
