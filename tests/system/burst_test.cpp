// The burst path end to end (issue #4): real slurmctld, the emulator with namespace VMs
// running real slurmd, cloudburstd and the hooks as Slurm's power-save programs, all brought
// up by `testbed.sh up --cloudburst`.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <regex>

#include "testbed.h"
#include "util/files.h"

namespace cb::system_test {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

constexpr auto k_boot_deadline = 90s;

class BurstSystem : public ::testing::Test {
  protected:
    void SetUp() override {
        if (auto why = why_system_tests_cannot_run(); !why.empty()) {
            GTEST_SKIP() << why;
        }
    }

    void bring_up(std::vector<std::string> extra) {
        std::vector<std::string> args{"--cloudburst", "--cloud-nodes", "hpc-[1-8]"};
        args.insert(args.end(), extra.begin(), extra.end());
        auto tb = Testbed::up(args);
        ASSERT_TRUE(tb) << tb.error().describe();
        m_tb = std::move(*tb);
    }

    // Runs a Slurm client as an unprivileged user, as a cluster user would.
    Result<CommandOutput> as_user(std::vector<std::string> argv,
                                  std::chrono::milliseconds timeout = 120s) const {
        std::vector<std::string> full{"/usr/sbin/runuser", "-u", "nobody", "--"};
        full.insert(full.end(), argv.begin(), argv.end());
        Command c{full, minimal_environment(), {}, timeout};
        c.env.push_back("SLURM_CONF=" + m_tb->slurm_conf());
        return run_command(c);
    }

    // The emulator's own status (API call counters, nodes by status).
    json emulator_status() const {
        auto out = run_command({{std::string(CB_BINARY_DIR) + "/cyclecloud-emulator", "status",
                                 "--url", m_tb->env("CB_TESTBED_EMULATOR_URL"), "--credentials",
                                 m_tb->env("CB_TESTBED_EMULATOR_CREDENTIALS"), "--ca",
                                 m_tb->env("CB_TESTBED_EMULATOR_CA")},
                                {},
                                {},
                                10s});
        if (!out || !out->ok()) {
            return json::object();
        }
        return json::parse(out->out, nullptr, false);
    }

    long create_calls() const {
        long n = 0;
        const json status = emulator_status();
        if (status.contains("apiCalls")) {
            for (const auto& [endpoint, count] : status["apiCalls"].items()) {
                if (endpoint.find("nodes/create") != std::string::npos) {
                    n += count.get<long>();
                }
            }
        }
        return n;
    }

    long vms() const {
        const json status = emulator_status();
        return status.contains("nodes") ? status["nodes"].value("total", -1L) : -1;
    }

    std::string daemon_pid_file() const { return m_tb->dir() + "/run/cloudburstd.pid"; }

    pid_t daemon_pid() const {
        auto text = read_file(daemon_pid_file());
        return text ? static_cast<pid_t>(std::atol(text->c_str())) : -1;
    }

    void stop_daemon() {
        const pid_t pid = daemon_pid();
        ASSERT_GT(pid, 0);
        ASSERT_EQ(::kill(pid, SIGTERM), 0);
        ASSERT_TRUE(wait_until(20s, [&] { return !process_alive(pid); }));
    }

    // Starts cloudburstd again as the testbed did; `down` stops it by its pid file.
    void start_daemon() {
        SpawnOptions o;
        o.argv = {std::string(CB_BINARY_DIR) + "/cloudburstd", "--config",
                  m_tb->dir() + "/etc/cloudburst.toml"};
        o.env = minimal_environment();
        o.env.push_back("SLURM_CONF=" + m_tb->slurm_conf());
        o.stdout_path = m_tb->dir() + "/log/cloudburstd.out";
        auto child = ChildProcess::spawn(o);
        ASSERT_TRUE(child) << child.error().describe();
        ASSERT_TRUE(write_file_atomic(daemon_pid_file(), std::to_string(child->pid()) + "\n"));
        child->release();
        const std::string sock = m_tb->dir() + "/cloudburst/cloudburstd.sock";
        ASSERT_TRUE(wait_until(20s, [&] { return std::filesystem::exists(sock); }));
    }

    std::string job_state(const std::string& id) const {
        auto out = m_tb->slurm({"/usr/bin/scontrol", "show", "job", "-o", id});
        std::smatch m;
        static const std::regex k_state(" JobState=([A-Z_]+)");
        if (out && std::regex_search(out->out, m, k_state)) {
            return m[1];
        }
        return "";
    }

    std::string submit(const std::vector<std::string>& args) const {
        std::vector<std::string> argv{"/usr/bin/sbatch", "--parsable", "-o", "/dev/null"};
        argv.insert(argv.end(), args.begin(), args.end());
        auto out = as_user(argv, 30s);
        if (!out || !out->ok()) {
            ADD_FAILURE() << "sbatch failed: " << (out ? out->err : out.error().describe());
            return "";
        }
        std::string id = out->out;
        while (!id.empty() && (id.back() == '\n' || id.back() == ' ')) {
            id.pop_back();
        }
        return id;
    }

    std::unique_ptr<Testbed> m_tb;
};

TEST_F(BurstSystem, SrunAsAUserBurstsOneNodeAndPrintsItsName) {
    bring_up({});
    auto out = as_user({"/usr/bin/srun", "-p", "cloud", "-N1", "hostname"});
    ASSERT_TRUE(out) << out.error().describe();
    ASSERT_TRUE(out->ok()) << out->err;
    EXPECT_TRUE(std::regex_match(out->out, std::regex("hpc-[1-8]\n"))) << out->out;
    EXPECT_EQ(create_calls(), 1);
    EXPECT_EQ(vms(), 1);
}

TEST_F(BurstSystem, HybridPartitionOverflowsOnlyWhenOnPremIsFull) {
    bring_up({"--onprem", "1"});
    auto local = as_user({"/usr/bin/srun", "-p", "work", "-N1", "hostname"});
    ASSERT_TRUE(local && local->ok()) << (local ? local->err : local.error().describe());
    EXPECT_EQ(local->out, "onprem1\n");
    EXPECT_EQ(create_calls(), 0);
    EXPECT_EQ(vms(), 0);

    const std::string filler = submit({"-p", "work", "-w", "onprem1", "--wrap", "sleep 300"});
    ASSERT_TRUE(wait_until(30s, [&] { return job_state(filler) == "RUNNING"; }));
    auto burst = as_user({"/usr/bin/srun", "-p", "work", "-N1", "hostname"});
    ASSERT_TRUE(burst && burst->ok()) << (burst ? burst->err : burst.error().describe());
    EXPECT_TRUE(std::regex_match(burst->out, std::regex("hpc-[1-8]\n"))) << burst->out;
    EXPECT_EQ(create_calls(), 1);
    (void)m_tb->slurm({"/usr/bin/scancel", filler});
}

TEST_F(BurstSystem, JobArrayOfTwentyTasksOnEightNodesMakesOneCreateCall) {
    bring_up({});
    const std::string array = submit({"-p", "cloud", "--array=1-20", "--wrap", "sleep 2"});
    ASSERT_FALSE(array.empty());
    ASSERT_TRUE(wait_until(240s, [&] {
        auto q = m_tb->slurm({"/usr/bin/squeue", "-h", "-j", array});
        return q && q->out.empty();
    })) << "the array did not finish";
    EXPECT_EQ(create_calls(), 1);
    EXPECT_EQ(vms(), 8);
    for (int task : {1, 20}) {
        EXPECT_EQ(job_state(array + "_" + std::to_string(task)), "COMPLETED");
    }
}

TEST_F(BurstSystem, IdleNodesAreSuspendedAndTheirVmsDeleted) {
    bring_up({"--suspend-time", "10", "--suspend-timeout", "5"});
    auto out = as_user({"/usr/bin/srun", "-p", "cloud", "-N2", "hostname"});
    ASSERT_TRUE(out && out->ok()) << (out ? out->err : out.error().describe());
    EXPECT_EQ(vms(), 2);
    ASSERT_TRUE(wait_until(90s, [&] { return vms() == 0; })) << "VMs were not deleted";
    for (const std::string node : {"hpc-1", "hpc-2"}) {
        // The daemon resets NodeAddr in the pass after it sees the VM gone.
        EXPECT_TRUE(wait_until(
            20s,
            [&] {
                auto show = m_tb->slurm({"/usr/bin/scontrol", "show", "node", "-o", node});
                return show && show->out.find(" NodeAddr=" + node + " ") != std::string::npos;
            }))
            << node << " kept its VM's address";
        EXPECT_TRUE(wait_until(
            30s, [&] { return m_tb->node_state(node).find("POWERED_DOWN") != std::string::npos; }));
    }
}

TEST_F(BurstSystem, DaemonRestartedWhileNodesBootStillBringsThemUp) {
    bring_up({});
    const std::string job = submit({"-p", "cloud", "-N2", "--wrap", "srun hostname"});
    ASSERT_TRUE(wait_until(30s, [&] { return vms() == 2; }));
    stop_daemon();
    start_daemon();
    EXPECT_TRUE(wait_until(k_boot_deadline, [&] { return job_state(job) == "COMPLETED"; }))
        << "job state " << job_state(job);
    EXPECT_EQ(create_calls(), 1);
    EXPECT_EQ(vms(), 2);
}

TEST_F(BurstSystem, ResumeWhileTheDaemonIsDownIsCarriedOutWhenItStarts) {
    bring_up({});
    stop_daemon();
    const std::string job = submit({"-p", "cloud", "-N1", "--wrap", "hostname"});
    const std::string spool = m_tb->dir() + "/cloudburst/spool";
    ASSERT_TRUE(wait_until(30s, [&] {
        return std::filesystem::exists(spool) && !std::filesystem::is_empty(spool);
    })) << "the resume hook wrote nothing into the spool";
    EXPECT_EQ(vms(), 0);
    start_daemon();
    EXPECT_TRUE(wait_until(k_boot_deadline, [&] { return job_state(job) == "COMPLETED"; }))
        << "job state " << job_state(job);
    EXPECT_TRUE(std::filesystem::is_empty(spool));
}

}  // namespace
}  // namespace cb::system_test
