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
#include <vector>

#include <nlohmann/json.hpp>

#include "util/process.h"
#include "util/result.h"

namespace cb::system_test {

// Why system tests cannot run on this machine ("" when they can): not root, or a Slurm,
// munge or iproute2 binary, or the namespace-vms helper, is missing.
std::string why_system_tests_cannot_run();

// Polls `condition` every 100 ms until it holds (true) or `timeout` passes (false).
bool wait_until(std::chrono::milliseconds timeout, const std::function<bool()>& condition);

// True while `pid` is a live process (a zombie counts as gone).
bool process_alive(pid_t pid);

// The lines of `text`, without their newlines.
std::vector<std::string> lines_of(const std::string& text);

// Live processes whose command line contains `text` (a testbed directory, say).
std::vector<pid_t> processes_mentioning(const std::string& text);

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

    // Runs a Slurm client by absolute path with SLURM_CONF set. A non-zero exit is returned
    // as an error (k_slurm) with the command's stderr.
    Result<CommandOutput> slurm(const std::vector<std::string>& argv,
                                std::chrono::milliseconds timeout = std::chrono::seconds(60)) const;
    // The State= field of `scontrol show node -o NODE` ("IDLE+CLOUD+POWERED_DOWN"), or "".
    std::string node_state(const std::string& node) const;
    // The node answers: its state has none of POWERED_DOWN, POWERING_UP, NOT_RESPONDING.
    bool node_up(const std::string& node) const;

  private:
    explicit Testbed(std::string dir) : m_dir(std::move(dir)) {}
    void print_logs() const;

    std::string m_dir;
    std::map<std::string, std::string> m_env;
    bool m_up = false;
};

}  // namespace cb::system_test

// ---- Helpers for the failure, security and soak tests (issue 5) ----------------------------

namespace cb::system_test {

// The emulator's own status (`cyclecloud-emulator status`: API calls per endpoint, answers per
// code, faults injected by class, nodes by status); an empty object if it does not answer.
nlohmann::json emulator_status(const Testbed& testbed);

// Sets emulator faults at run time (`cyclecloud-emulator fault KIND=VALUE ...`).
Status emulator_fault(const Testbed& testbed, const std::vector<std::string>& specs);

// CycleCloud API calls in an emulator status whose endpoint ("POST /clusters/{cluster}/nodes/
// create") contains `endpoint_part`; the emulator's own /_emulator endpoints never count.
long emulator_api_calls(const nlohmann::json& status, const std::string& endpoint_part = "");

// cloudburstd's pid from DIR/run/cloudburstd.pid, or -1.
pid_t daemon_pid(const Testbed& testbed);

// Starts cloudburstd again as testbed.sh did (same config, log and pid file, so `down` stops
// it) and waits until its control socket accepts connections (a socket left by a killed
// daemon refuses them).
Status start_daemon(const Testbed& testbed);

// The CycleCloud password the testbed gave cloudburstd (DIR/etc/cloudburst.password).
std::string cyclecloud_password(const Testbed& testbed);

// Files of the testbed that contain `secret`: every file under DIR/log, every *.log and *.out
// elsewhere in DIR, and cloudburstd's journal (state.db and its WAL), whose events carry
// error messages.
std::vector<std::string> files_containing(const Testbed& testbed, const std::string& secret);

// Adds a test failure for each such file containing the CycleCloud password. Call it before
// the testbed goes down (its logs are removed with it).
void expect_no_secret_in_logs(const Testbed& testbed);

}  // namespace cb::system_test
