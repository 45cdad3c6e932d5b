// A real Slurm testbed (scripts/testbed.sh: munge, slurmctld, optional on-prem nodes and
// emulator) for one system test. `up` brings it up in a fresh temporary directory; the
// destructor brings it down and removes the directory, also when the test failed (after
// printing the ends of its logs) or threw.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "util/process.h"
#include "util/result.h"

namespace cb::system_test {

// Why system tests cannot run on this machine ("" when they can): not root, or a Slurm,
// munge or iproute2 binary, or the namespace-vms helper, is missing.
std::string why_system_tests_cannot_run();

// The Slurm the system tests run on: $CLOUDBURST_TEST_SLURM (tests/CMakeLists.txt sets it for
// the copies of the tests labelled slurm24.11), "host" when unset or empty (the host's
// packages, 22.05 on Debian 12). Testbed::up passes it to testbed.sh --slurm.
std::string test_slurm_version();

// Polls `condition` every 100 ms until it holds (true) or `timeout` passes (false).
bool wait_until(std::chrono::milliseconds timeout, const std::function<bool()>& condition);

// True while `pid` is a live process (a zombie counts as gone).
bool process_alive(pid_t pid);

// The lines of `text`, without their newlines.
std::vector<std::string> lines_of(const std::string& text);

// Live processes whose command line contains `text` (a testbed directory, say).
std::vector<pid_t> processes_mentioning(const std::string& text);

// The testbed's SlurmUser (scripts/testbed.sh): slurmctld, the hooks and cloudburstd run as it.
constexpr const char* k_slurm_user = "slurm";

// Who runs a command on the testbed: root (the operator), `slurm` (its SlurmUser, as
// slurmctld runs the hooks), or `nobody`, as a cluster user.
enum class RunAs { k_root, k_slurm, k_nobody };

class Testbed {
  public:
    // `args`: extra `testbed.sh up` options. The error carries the script's output.
    static Result<std::unique_ptr<Testbed>> up(const std::vector<std::string>& args = {});

    Testbed(const Testbed&) = delete;
    Testbed& operator=(const Testbed&) = delete;
    ~Testbed();

    // `testbed.sh down`; the destructor calls it if the test did not. Idempotent.
    Status down();

    const std::string& dir() const { return m_dir; }
    // A variable of DIR/testbed.env (SLURM_CONF, CB_TESTBED_BRIDGE, ...); "" if absent.
    std::string env(const std::string& name) const;
    std::string slurm_conf() const { return env("SLURM_CONF"); }
    // "host" or the --slurm version the testbed runs (CB_TESTBED_SLURM_VERSION).
    std::string slurm_version() const { return env("CB_TESTBED_SLURM_VERSION"); }
    // The testbed's Slurm client NAME ("srun"): /usr/bin/NAME on the host's Slurm, the
    // wrapper DIR/slurm/bin/NAME with --slurm (a 22.05 client cannot talk to 24.11).
    std::string slurm_client(const std::string& name) const;
    // The testbed's Slurm daemon NAME ("slurmd", "slurmctld"): /usr/sbin/NAME, or the wrapper
    // DIR/slurm/sbin/NAME that runs it in the version's root.
    std::string slurm_daemon(const std::string& name) const;
    // `argv` with a leading /usr/bin/NAME or /usr/sbin/NAME of Slurm replaced by the
    // testbed's own (slurm_client, slurm_daemon); anything else unchanged.
    std::vector<std::string> with_testbed_slurm(std::vector<std::string> argv) const;

    // Runs a Slurm client by absolute path (/usr/bin/NAME is the testbed's own client, see
    // with_testbed_slurm) with SLURM_CONF set. A non-zero exit is returned
    // as an error (k_slurm) with the command's stderr.
    Result<CommandOutput> slurm(const std::vector<std::string>& argv,
                                std::chrono::milliseconds timeout = std::chrono::seconds(60)) const;
    // The State= field of `scontrol show node -o NODE` ("IDLE+CLOUD+POWERED_DOWN"), or "".
    std::string node_state(const std::string& node) const;
    // The node answers: its state has none of POWERED_DOWN, POWERING_UP, NOT_RESPONDING.
    bool node_up(const std::string& node) const;
    // A field of `scontrol show node -o NODE` ("State", "Reason", ...), or "" when Slurm does
    // not answer or shows no such field. A Reason runs to its " [user@time]" stamp (it may hold
    // spaces); any other value to the next space.
    std::string node_field(const std::string& node, const std::string& field) const;
    // A field of `scontrol show job -o ID` ("JobState", "NodeList", "Restarts", ...), up to the
    // next space, or "" when Slurm does not answer or shows no such field.
    std::string job_field(const std::string& id, const std::string& field) const;
    // The JobState= of job `id` ("PENDING", "COMPLETED", ...), or "".
    std::string job_state(const std::string& id) const { return job_field(id, "JobState"); }

    // Runs `argv` (argv[0] an absolute path; /usr/bin/NAME of a Slurm client is the testbed's
    // own) with SLURM_CONF set, as `who`: `slurm` and
    // `nobody` go through runuser. Unlike `slurm`, a non-zero exit is not an error: read exit_code.
    Result<CommandOutput> run_as(
        RunAs who, const std::vector<std::string>& argv,
        std::chrono::milliseconds timeout = std::chrono::seconds(120)) const;
    // `sbatch --parsable -o /dev/null ARGS...` as `who`; returns the job id. When sbatch fails it
    // adds a test failure with sbatch's error and returns "".
    std::string submit(RunAs who, const std::vector<std::string>& args) const;

  private:
    explicit Testbed(std::string dir) : m_dir(std::move(dir)) {}
    void print_logs() const;

    std::string m_dir;
    std::map<std::string, std::string> m_env;
    bool m_up = false;
};

}  // namespace cb::system_test

// ---- Helpers for the burst, heal, failure, security and soak tests -------------------------

namespace cb::system_test {

// The emulator's own status (`cyclecloud-emulator status`: API calls per endpoint, answers per
// code, faults injected by class, nodes by status); an empty object if it does not answer.
nlohmann::json emulator_status(const Testbed& testbed);

// Sets emulator faults at run time (`cyclecloud-emulator fault KIND=VALUE ...`).
Status emulator_fault(const Testbed& testbed, const std::vector<std::string>& specs);

// CycleCloud API calls in an emulator status whose endpoint ("POST /clusters/{cluster}/nodes/
// create") contains `endpoint_part`; the emulator's own /_emulator endpoints never count.
long emulator_api_calls(const nlohmann::json& status, const std::string& endpoint_part = "");

// VMs the emulator holds, whatever their status; -1 if it does not answer.
long emulator_vms(const Testbed& testbed);

// Create calls the emulator has answered (`emulator_api_calls(status, "nodes/create")`).
long emulator_create_calls(const Testbed& testbed);

// cloudburstd's pid from DIR/run/cloudburstd.pid, or -1.
pid_t daemon_pid(const Testbed& testbed);

// Sends `signal` to cloudburstd (SIGTERM: an orderly stop; SIGKILL: a crash) and waits up to
// 20 s until it is gone, reaping it if start_daemon made it our child. The error (k_io) says
// which step failed: no pid file, kill(2), or the daemon still running.
Status stop_daemon(const Testbed& testbed, int signal);

// Starts cloudburstd again as testbed.sh did (as slurm through setpriv, with
// CREDENTIALS_DIRECTORY=DIR/credentials as systemd's LoadCredential= sets it; same config,
// log and pid file, so `down` stops it) and waits until its control socket accepts
// connections (a socket left by a killed daemon refuses them).
Status start_daemon(const Testbed& testbed);

// cloudburstd's log file (DIR/log/cloudburst/cloudburstd.log: its log_dir is slurm's).
std::string daemon_log_path(const Testbed& testbed);

// cloudburstd's log (daemon_log_path), or "" before it wrote one.
std::string daemon_log(const Testbed& testbed);

// The CycleCloud password the testbed gave cloudburstd (DIR/etc/cloudburst.password, root's;
// the daemon reads slurm's copy DIR/credentials/cyclecloud.password).
std::string cyclecloud_password(const Testbed& testbed);

// Files of the testbed that contain `secret`: every file under DIR/log, every *.log and *.out
// elsewhere in DIR, and cloudburstd's journal (state.db and its WAL), whose events carry
// error messages.
std::vector<std::string> files_containing(const Testbed& testbed, const std::string& secret);

// Adds a test failure for each such file containing the CycleCloud password. Call it before
// the testbed goes down (its logs are removed with it).
void expect_no_secret_in_logs(const Testbed& testbed);

// A fresh directory /tmp/PREFIX.XXXXXX for files a test hands to testbed.sh or to a program it
// runs. The destructor removes it with everything in it.
class TempDir {
  public:
    // Errors: k_io when the directory cannot be made.
    static Result<TempDir> create(const std::string& prefix);

    TempDir(TempDir&& other) noexcept : m_path(std::exchange(other.m_path, {})) {}
    TempDir& operator=(TempDir&&) = delete;
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    ~TempDir();

    const std::string& path() const { return m_path; }
    // Writes DIR/NAME with `mode` (whole or not at all) and returns its path. Errors: k_io.
    Result<std::string> write(const std::string& name, std::string_view text,
                              mode_t mode = 0644) const;

  private:
    explicit TempDir(std::string path) : m_path(std::move(path)) {}
    std::string m_path;
};

}  // namespace cb::system_test
