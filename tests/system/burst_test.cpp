// The burst path end to end (issue #4): real slurmctld, the emulator with namespace VMs
// running real slurmd, cloudburstd and the hooks as Slurm's power-save programs, all brought
// up by `testbed.sh up --cloudburst`.
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <regex>

#include "testbed.h"
#include "util/files.h"

namespace cb::system_test {
namespace {

using namespace std::chrono_literals;

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

    std::unique_ptr<Testbed> m_tb;
};

TEST_F(BurstSystem, SrunAsAUserBurstsOneNodeAndPrintsItsName) {
    bring_up({});
    auto out = m_tb->run_as(RunAs::k_nobody, {"/usr/bin/srun", "-p", "cloud", "-N1", "hostname"});
    ASSERT_TRUE(out) << out.error().describe();
    ASSERT_TRUE(out->ok()) << out->err;
    EXPECT_TRUE(std::regex_match(out->out, std::regex("hpc-[1-8]\n"))) << out->out;
    EXPECT_EQ(emulator_create_calls(*m_tb), 1);
    EXPECT_EQ(emulator_vms(*m_tb), 1);
}

// The registration gate (cloudburst-prolog as PrologSlurmctld): slurmctld launches a batch
// job when its gate ends with the nodes ready ("prolog_running_decr: Configuration for JobId=J
// is complete"), not at its 30 s periodic check ("job_time_limit: Configuration for JobId=J
// complete"), which is how it starts without the gate.
TEST_F(BurstSystem, BatchJobIsLaunchedWhenItsNodesRegisterNotAtSlurmsPeriodicCheck) {
    bring_up({});
    const std::string id =
        m_tb->submit(RunAs::k_nobody, {"-p", "cloud", "-N2", "--wrap", "hostname"});
    ASSERT_FALSE(id.empty());
    ASSERT_TRUE(wait_until(k_boot_deadline, [&] { return m_tb->job_state(id) == "COMPLETED"; }))
        << "job " << id << ": " << m_tb->job_state(id) << " " << m_tb->job_field(id, "Reason");
    auto log = read_file(m_tb->dir() + "/log/slurmctld.log", 64 << 20);
    ASSERT_TRUE(log) << log.error().describe();
    EXPECT_NE(log->find("prolog_running_decr: Configuration for JobId=" + id + " is complete"),
              std::string::npos)
        << "the job was not launched by its gate's completion";
    EXPECT_EQ(log->find("job_time_limit: Configuration for JobId=" + id + " complete"),
              std::string::npos);
    EXPECT_NE(daemon_log(*m_tb).find("prolog gate: job " + id + " waits"), std::string::npos);
}

// An on-prem job asks the gate too: it is let go at once, without waiting for anything.
TEST_F(BurstSystem, OnPremJobPassesTheGateAtOnce) {
    bring_up({"--onprem", "1"});
    const std::string id =
        m_tb->submit(RunAs::k_nobody, {"-p", "work", "-w", "onprem1", "-N1", "--wrap", "hostname"});
    ASSERT_FALSE(id.empty());
    ASSERT_TRUE(wait_until(60s, [&] { return m_tb->job_state(id) == "COMPLETED"; }))
        << "job " << id << ": " << m_tb->job_state(id) << " " << m_tb->job_field(id, "Reason");
    EXPECT_EQ(daemon_log(*m_tb).find("prolog gate: job " + id + " waits"), std::string::npos);
    EXPECT_EQ(emulator_create_calls(*m_tb), 0);
}

TEST_F(BurstSystem, HybridPartitionOverflowsOnlyWhenOnPremIsFull) {
    bring_up({"--onprem", "1"});
    auto local = m_tb->run_as(RunAs::k_nobody, {"/usr/bin/srun", "-p", "work", "-N1", "hostname"});
    ASSERT_TRUE(local && local->ok()) << (local ? local->err : local.error().describe());
    EXPECT_EQ(local->out, "onprem1\n");
    EXPECT_EQ(emulator_create_calls(*m_tb), 0);
    EXPECT_EQ(emulator_vms(*m_tb), 0);

    const std::string filler =
        m_tb->submit(RunAs::k_nobody, {"-p", "work", "-w", "onprem1", "--wrap", "sleep 300"});
    ASSERT_TRUE(wait_until(30s, [&] { return m_tb->job_state(filler) == "RUNNING"; }));
    auto burst = m_tb->run_as(RunAs::k_nobody, {"/usr/bin/srun", "-p", "work", "-N1", "hostname"});
    ASSERT_TRUE(burst && burst->ok()) << (burst ? burst->err : burst.error().describe());
    EXPECT_TRUE(std::regex_match(burst->out, std::regex("hpc-[1-8]\n"))) << burst->out;
    EXPECT_EQ(emulator_create_calls(*m_tb), 1);
    (void)m_tb->slurm({"/usr/bin/scancel", filler});
}

TEST_F(BurstSystem, JobArrayOfTwentyTasksOnEightNodesMakesOneCreateCall) {
    bring_up({});
    const std::string array =
        m_tb->submit(RunAs::k_nobody, {"-p", "cloud", "--array=1-20", "--wrap", "sleep 2"});
    ASSERT_FALSE(array.empty());
    ASSERT_TRUE(wait_until(240s, [&] {
        auto q = m_tb->slurm({"/usr/bin/squeue", "-h", "-j", array});
        return q && q->out.empty();
    })) << "the array did not finish";
    EXPECT_EQ(emulator_create_calls(*m_tb), 1);
    EXPECT_EQ(emulator_vms(*m_tb), 8);
    for (int task : {1, 20}) {
        EXPECT_EQ(m_tb->job_state(array + "_" + std::to_string(task)), "COMPLETED");
    }
}

TEST_F(BurstSystem, IdleNodesAreSuspendedAndTheirVmsDeleted) {
    bring_up({"--suspend-time", "10", "--suspend-timeout", "5"});
    auto out = m_tb->run_as(RunAs::k_nobody, {"/usr/bin/srun", "-p", "cloud", "-N2", "hostname"});
    ASSERT_TRUE(out && out->ok()) << (out ? out->err : out.error().describe());
    EXPECT_EQ(emulator_vms(*m_tb), 2);
    ASSERT_TRUE(wait_until(90s, [&] { return emulator_vms(*m_tb) == 0; }))
        << "VMs were not deleted";
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
    const std::string job =
        m_tb->submit(RunAs::k_nobody, {"-p", "cloud", "-N2", "--wrap", "srun hostname"});
    ASSERT_TRUE(wait_until(30s, [&] { return emulator_vms(*m_tb) == 2; }));
    auto stopped = stop_daemon(*m_tb, SIGTERM);
    ASSERT_TRUE(stopped) << stopped.error().describe();
    auto started = start_daemon(*m_tb);
    ASSERT_TRUE(started) << started.error().describe();
    EXPECT_TRUE(wait_until(k_boot_deadline, [&] { return m_tb->job_state(job) == "COMPLETED"; }))
        << "job state " << m_tb->job_state(job);
    EXPECT_EQ(emulator_create_calls(*m_tb), 1);
    EXPECT_EQ(emulator_vms(*m_tb), 2);
}

TEST_F(BurstSystem, ResumeWhileTheDaemonIsDownIsCarriedOutWhenItStarts) {
    bring_up({});
    auto stopped = stop_daemon(*m_tb, SIGTERM);
    ASSERT_TRUE(stopped) << stopped.error().describe();
    const std::string job =
        m_tb->submit(RunAs::k_nobody, {"-p", "cloud", "-N1", "--wrap", "hostname"});
    const std::string spool = m_tb->dir() + "/cloudburst/spool";
    ASSERT_TRUE(wait_until(30s, [&] {
        return std::filesystem::exists(spool) && !std::filesystem::is_empty(spool);
    })) << "the resume hook wrote nothing into the spool";
    EXPECT_EQ(emulator_vms(*m_tb), 0);
    auto started = start_daemon(*m_tb);
    ASSERT_TRUE(started) << started.error().describe();
    EXPECT_TRUE(wait_until(k_boot_deadline, [&] { return m_tb->job_state(job) == "COMPLETED"; }))
        << "job state " << m_tb->job_state(job);
    EXPECT_TRUE(std::filesystem::is_empty(spool));
}

}  // namespace
}  // namespace cb::system_test
