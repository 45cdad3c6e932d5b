// Dynamic node arrays (issue 15 part 3), against the real stack: the template's dynamic array
// (slurm.dynamic_config, two VM sizes), `cloudburst scale` writing its Nodeset, partition and
// MaxNodeCount, slurmctld restarted, `scale` again creating its nodes with scontrol create
// (the testbed's default cloud, testbed.sh --cloudburst), real slurmctld, the emulator with
// namespace VMs booting through the cluster-init, which starts slurmd -Z, cloudburstd and its
// hooks. A job on partition dynamic powers a node up, its VM's slurmd -Z registers, the job runs,
// the node powers down (asked by the admin: SuspendTime's way is the same SuspendProgram, a minute
// later) and stays in slurmctld for the next job.
#include <gtest/gtest.h>

#include <chrono>
#include <iostream>
#include "testbed_test_fixture.h"

namespace cb::system_test {
namespace {

using namespace std::chrono_literals;

class DynamicSystem : public TestbedTest {
  protected:
    // `cloudburst ARGS...` as root with the testbed's config: its output and exit code.
    CommandOutput cloudburst(const std::vector<std::string>& args) const {
        std::vector<std::string> argv{std::string(CB_BINARY_DIR) + "/cloudburst", "--config",
                                      m_tb->dir() + "/etc/cloudburst.toml"};
        argv.insert(argv.end(), args.begin(), args.end());
        Command c{argv, minimal_environment(), {}, 60s};
        c.env.push_back("SLURM_CONF=" + m_tb->slurm_conf());
        auto out = run_command(c);
        if (!out) {
            ADD_FAILURE() << out.error().describe();
            return {};
        }
        return *out;
    }
};

// dynamic on Standard_F2s_v2 then Standard_F4s_v2, 4 cores: dynamic-[1-2] and
// dynamic-f4s-v2-1, created in slurmctld (not in any file). The default cloud's hpc array has
// its 4 nodes in one placement group: no topology plugin, under which Slurm (before 25.05)
// places no job on a dynamic node.
TEST_F(DynamicSystem, AJobPowersUpADynamicNodeWhoseSlurmdRegistersWithZAndItPowersDownAgain) {
    const auto started = std::chrono::steady_clock::now();
    std::vector<std::string> args{"--cloudburst"};
    for (const std::string param :
         {"DynamicMachineType=Standard_F2s_v2,Standard_F4s_v2", "MaxDynamicExecuteCoreCount=4"}) {
        args.insert(args.end(), {"--emulator-arg", "-p", "--emulator-arg", param});
    }
    auto tb = Testbed::up(args);
    ASSERT_TRUE(tb) << tb.error().describe();
    m_tb = std::move(*tb);
    const auto up = std::chrono::steady_clock::now();
    // What `scale` made: nodes of both sizes, created at run time, in partition dynamic.
    for (const auto& [node, size] : std::vector<std::pair<std::string, std::string>>{
             {"dynamic-1", "Standard_F2s_v2"},
             {"dynamic-2", "Standard_F2s_v2"},
             {"dynamic-f4s-v2-1", "Standard_F4s_v2"}}) {
        EXPECT_EQ(m_tb->node_field(node, "AvailableFeatures"), "cloud," + size + ",dynamic,dyn")
            << node;
        EXPECT_EQ(m_tb->node_field(node, "Partitions"), "dynamic") << node;
        EXPECT_NE(m_tb->node_state(node).find("DYNAMIC_NORM"), std::string::npos)
            << node << ": " << m_tb->node_state(node);
    }
    EXPECT_EQ(m_tb->node_field("dynamic-f4s-v2-1", "CPUTot"), "4");
    EXPECT_EQ(m_tb->node_field("dynamic-3", "NodeName"), "") << "MaxDynamicExecuteCoreCount=4";

    const std::string job =
        m_tb->submit(RunAs::k_nobody, {"-p", "dynamic", "-N1", "--wrap", "hostname"});
    ASSERT_FALSE(job.empty());
    // The VM's slurmd is the dynamic one: -Z with the VM size and the array in its features.
    const std::string z_args =
        std::string("-Z") + '\0' + "--conf" + '\0' + "Feature=dyn,Standard_F2s_v2,dynamic";
    bool saw_z = false;
    const bool done = wait_until(90s, [&] {
        saw_z = saw_z || !processes_mentioning(z_args).empty();
        return m_tb->job_state(job) == "COMPLETED";
    });
    const auto finished = std::chrono::steady_clock::now();
    ASSERT_TRUE(done) << "job " << job << " is " << m_tb->job_state(job) << " ("
                      << m_tb->job_field(job, "Reason") << ") on "
                      << m_tb->job_field(job, "NodeList")
                      << "; dynamic-1: " << m_tb->node_state("dynamic-1") << " "
                      << m_tb->node_field("dynamic-1", "Reason");
    // Weight: the first size's node.
    EXPECT_EQ(m_tb->job_field(job, "NodeList"), "dynamic-1");
    EXPECT_TRUE(saw_z) << "no slurmd -Z --conf Feature=dyn,Standard_F2s_v2,dynamic ran";

    // Powered down: its VM gone, the node still in slurmctld.
    auto power_down =
        m_tb->slurm({"/usr/bin/scontrol", "update", "NodeName=dynamic-1", "State=POWER_DOWN"});
    ASSERT_TRUE(power_down) << power_down.error().describe();
    EXPECT_TRUE(wait_until(60s,
                           [&] {
                               return m_tb->node_state("dynamic-1").find("POWERED_DOWN") !=
                                          std::string::npos &&
                                      emulator_vms(*m_tb) == 0;
                           }))
        << "dynamic-1: " << m_tb->node_state("dynamic-1") << "; VMs: " << emulator_vms(*m_tb);
    const auto down = std::chrono::steady_clock::now();
    EXPECT_NE(m_tb->node_state("dynamic-1").find("DYNAMIC_NORM"), std::string::npos);

    // Rerunning scale changes nothing and creates nothing; doctor finds every node.
    const CommandOutput again = cloudburst({"scale"});
    EXPECT_EQ(again.exit_code, 0) << again.out << again.err;
    EXPECT_NE(again.out.find("dynamic nodes dynamic-[1-2]: in slurmctld already\n"),
              std::string::npos)
        << again.out << again.err;
    EXPECT_NE(again.out.find("dynamic nodes dynamic-f4s-v2-1: in slurmctld already\n"),
              std::string::npos)
        << again.out;

    const CommandOutput doctor = cloudburst({"doctor"});
    EXPECT_NE(doctor.out.find("ok       dynamic-nodes: slurmctld has the dynamic nodes "
                              "dynamic-[1-2],dynamic-f4s-v2-1\n"),
              std::string::npos)
        << doctor.out << doctor.err;

    const auto seconds = [](auto from, auto to) {
        return std::chrono::duration<double>(to - from).count();
    };
    std::cerr << "testbed up in " << seconds(started, up) << " s; job done in "
              << seconds(up, finished) << " s; powered down after " << seconds(finished, down)
              << " s\n";
    expect_no_secret_in_logs(*m_tb);
}

}  // namespace
}  // namespace cb::system_test
