// Failures heal themselves (issue 5), against real slurmctld, the emulator's namespace VMs
// with real slurmd, cloudburstd and the hooks: the daemon killed with SIGKILL in the middle
// of a resume, and the CycleCloud API down for a while during one.
#include <gtest/gtest.h>
#include <signal.h>

#include <iostream>
#include <set>

#include "testbed.h"

namespace cb::system_test {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

constexpr auto k_job_deadline = 150s;

// A Slurm state ("DOWN+CLOUD+POWERED_DOWN") of a node taken out of service; POWERED_DOWN and
// POWERING_DOWN alone are the normal power-saving states.
bool marked_down(const std::string& state) {
    return state.rfind("DOWN", 0) == 0 || state.find("FAIL") != std::string::npos ||
           state.find("DRAIN") != std::string::npos;
}

class FailureSystem : public ::testing::Test {
  protected:
    void SetUp() override {
        if (auto why = why_system_tests_cannot_run(); !why.empty()) {
            GTEST_SKIP() << why;
        }
    }

    void TearDown() override {
        if (m_tb) {
            expect_no_secret_in_logs(*m_tb);
        }
    }

    void bring_up(const std::vector<std::string>& extra = {}) {
        std::vector<std::string> args{"--cloudburst", "--cloud-nodes", "hpc-[1-4]"};
        args.insert(args.end(), extra.begin(), extra.end());
        auto tb = Testbed::up(args);
        ASSERT_TRUE(tb) << tb.error().describe();
        m_tb = std::move(*tb);
    }

    // `cloudburst nodes --json`: the journal's view next to Slurm's and the cloud's.
    json cloudburst_nodes() const {
        Command c{{std::string(CB_BINARY_DIR) + "/cloudburst", "nodes", "--json"},
                  minimal_environment(),
                  {},
                  30s};
        c.env.push_back("SLURM_CONF=" + m_tb->slurm_conf());
        c.env.push_back("CLOUDBURST_CONFIG=" + m_tb->env("CLOUDBURST_CONFIG"));
        auto out = run_command(c);
        if (!out || !out->ok()) {
            ADD_FAILURE() << "cloudburst nodes --json failed: "
                          << (out ? out->err : out.error().describe());
            return json::array();
        }
        return json::parse(out->out, nullptr, false);
    }

    // Nodes that have a VM in the cloud, by `cloudburst nodes`; each name once by construction,
    // so together with the emulator's total this says "exactly one VM per node".
    std::set<std::string> nodes_with_vms() const {
        std::set<std::string> names;
        for (const auto& n : cloudburst_nodes()) {
            if (n.value("cloud_status", "-") != "-" && n.value("cloud_status", "-") != "?") {
                names.insert(n.value("name", ""));
            }
        }
        return names;
    }

    std::unique_ptr<Testbed> m_tb;
};

// Case "the daemon killed at any point": after the create call was answered, while the VMs
// are still booting (Preparing is slowed to make the window wide).
TEST_F(FailureSystem, DaemonKilledWhileVmsBootComesBackWithoutDuplicates) {
    bring_up({"--emulator-arg", "--prepare-time", "--emulator-arg", "6s"});
    const std::string job =
        m_tb->submit(RunAs::k_root, {"-p", "cloud", "-N2", "--wrap", "srun hostname"});
    ASSERT_FALSE(job.empty());
    ASSERT_TRUE(wait_until(60s, [&] {
        const json s = emulator_status(*m_tb);
        return s["nodes"].value("total", 0L) == 2 && s["nodes"]["byStatus"].value("Ready", 0L) == 0;
    })) << "no VMs being created";
    auto killed = stop_daemon(*m_tb, SIGKILL);
    ASSERT_TRUE(killed) << killed.error().describe();
    ASSERT_TRUE(start_daemon(*m_tb));
    EXPECT_TRUE(wait_until(k_job_deadline, [&] { return m_tb->job_state(job) == "COMPLETED"; }))
        << "job state " << m_tb->job_state(job);
    EXPECT_EQ(emulator_vms(*m_tb), 2);
    const auto with_vms = nodes_with_vms();
    EXPECT_EQ(with_vms.size(), 2u);
    std::cerr << "create calls: " << emulator_create_calls(*m_tb) << "\n";
}

// Case "the daemon killed at any point", the worst moment: CycleCloud has carried out the
// create call but not yet answered it (the emulator's hang fault), so the journal has no
// operation id. The restarted daemon must find the VMs by name instead of asking again.
TEST_F(FailureSystem, DaemonKilledWhileACreateCallIsUnansweredMakesNoDuplicate) {
    bring_up();
    ASSERT_TRUE(emulator_fault(*m_tb, {"hang=1", "hang-time=8s"}));
    const std::string job =
        m_tb->submit(RunAs::k_root, {"-p", "cloud", "-N2", "--wrap", "srun hostname"});
    ASSERT_FALSE(job.empty());
    // The emulator counts a call when it answers; VMs appear as soon as it carries one out.
    ASSERT_TRUE(wait_until(90s, [&] { return emulator_vms(*m_tb) == 2; }))
        << "no VMs being created";
    ASSERT_EQ(emulator_create_calls(*m_tb), 0)
        << "the create call was already answered: the test lost its window";
    auto killed = stop_daemon(*m_tb, SIGKILL);
    ASSERT_TRUE(killed) << killed.error().describe();
    ASSERT_TRUE(emulator_fault(*m_tb, {"clear=all"}));
    ASSERT_TRUE(start_daemon(*m_tb));
    EXPECT_TRUE(wait_until(k_job_deadline, [&] { return m_tb->job_state(job) == "COMPLETED"; }))
        << "job state " << m_tb->job_state(job) << " (" << m_tb->job_field(job, "Reason") << ")";
    EXPECT_EQ(emulator_vms(*m_tb), 2);
    EXPECT_EQ(nodes_with_vms().size(), 2u);
    for (const auto& n : cloudburst_nodes()) {
        EXPECT_FALSE(marked_down(n.value("slurm_state", ""))) << n.dump();
    }
}

// Case "API down for minutes" (shortened): every API call answers 503 for a while during a
// resume. The daemon paces its calls (no tight loop), marks nothing failed and gives up on no
// node; once the API is back the nodes come up and the job runs.
TEST_F(FailureSystem, ApiDownDuringAResumeDoesNotThrashAndRecovers) {
    // ResumeTimeout well past the outage: this is about the daemon, not Slurm's patience.
    bring_up({"--resume-timeout", "180"});
    ASSERT_TRUE(emulator_fault(*m_tb, {"http-5xx=1"}));
    const std::string job =
        m_tb->submit(RunAs::k_root, {"-p", "cloud", "-N2", "--wrap", "srun hostname"});
    ASSERT_FALSE(job.empty());
    ASSERT_TRUE(wait_until(60s, [&] {
        return daemon_log(*m_tb).find("request ") != std::string::npos;
    })) << "the daemon journaled no request";

    // The outage: a fixed stretch of time, watched the whole way.
    constexpr auto k_outage = 40s;
    const long calls_before = emulator_api_calls(emulator_status(*m_tb));
    const auto started = std::chrono::steady_clock::now();
    std::set<std::string> bad_states;
    wait_until(k_outage, [&] {
        for (const std::string node : {"hpc-1", "hpc-2", "hpc-3", "hpc-4"}) {
            const std::string state = m_tb->node_state(node);
            if (marked_down(state)) {
                bad_states.insert(std::string(node).append(": ").append(state));
            }
        }
        return false;
    });
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    const json during = emulator_status(*m_tb);
    const long calls = emulator_api_calls(during) - calls_before;
    std::cerr << "API calls during a " << seconds << " s outage: " << calls << " ("
              << during["apiCalls"].dump() << ")\n";
    EXPECT_TRUE(bad_states.empty())
        << "nodes marked down for an API outage: " << json(bad_states).dump();
    EXPECT_GT(calls, 0) << "the daemon stopped trying";
    // A bound, not a timing: a daemon that retries without pause makes hundreds of calls a
    // second; one that paces itself stays far below two a second whatever the machine's speed.
    EXPECT_LE(calls, static_cast<long>(2 * seconds) + 10) << "the daemon thrashes the API";
    for (const auto& n : cloudburst_nodes()) {
        EXPECT_NE(n.value("phase", ""), "failed") << n.dump();
    }

    ASSERT_TRUE(emulator_fault(*m_tb, {"clear=all"}));
    EXPECT_TRUE(wait_until(k_job_deadline, [&] { return m_tb->job_state(job) == "COMPLETED"; }))
        << "job state " << m_tb->job_state(job) << " (" << m_tb->job_field(job, "Reason") << ")";
    EXPECT_EQ(emulator_vms(*m_tb), 2);
    EXPECT_EQ(nodes_with_vms().size(), 2u);
    EXPECT_EQ(m_tb->job_field(job, "Restarts"), "0") << "the job was requeued";
}

}  // namespace
}  // namespace cb::system_test
