// Several VM sizes per node array (issue 15 part 3), against the real stack: the template's
// htc array with two sizes (a multi-select MachineType), `cloudburst scale` writing one Slurm
// node range per size (testbed.sh --scale), real slurmctld, the emulator with namespace VMs
// running slurmd, cloudburstd and its hooks. Azure has no capacity for the first size (the
// emulator's capacity fault: creates are accepted and the VM goes Failed in Acquiring with
// AllocationFailed). The daemon backs off that size alone: the job Slurm gave to a node of it
// requeues and runs on a node of the second size.
#include <gtest/gtest.h>

#include <chrono>
#include <iostream>

#include "testbed_test_fixture.h"

namespace cb::system_test {
namespace {

using namespace std::chrono_literals;

using VmSizesSystem = TestbedTest;

// htc on Standard_F2s_v2 then Standard_F4s_v2, 4 cores: htc-[1-2] (2 vCPUs each, Weight 100)
// and htc-f4s-v2-1 (4 vCPUs, Weight 101). Slurm gives the job to an F2s_v2 node first; Azure
// has none; the node goes DOWN with the capacity reason, the job requeues, the other F2s_v2
// node is failed at once (its size is backed off, no create call), and the job runs on the
// F4s_v2 node.
TEST_F(VmSizesSystem, AStockOutOfOneVmSizeMovesTheJobToTheNextSize) {
    const auto started = std::chrono::steady_clock::now();
    // A backoff longer than the test: the first size stays held back while the job moves.
    auto conf = write_file("cloudburst-extra.toml", "[backoff]\ninitial = \"5m\"\n");
    ASSERT_TRUE(conf) << conf.error().describe();
    // Requeued jobs may start again after 15 s (AuthInfo cred_expire; Slurm's default makes
    // them wait 121 s).
    std::vector<std::string> args{"--cloudburst",      "--scale", "--cloud-nodes", "cloud-1",
                                  "--cloudburst-conf", *conf,     "--cred-expire", "15"};
    for (const std::string param :
         {"HTCMachineType=Standard_F2s_v2,Standard_F4s_v2", "MaxHTCExecuteCoreCount=4"}) {
        args.insert(args.end(), {"--emulator-arg", "-p", "--emulator-arg", param});
    }
    args.insert(args.end(),
                {"--emulator-arg", "--fault", "--emulator-arg", "capacity=Standard_F2s_v2:0"});
    auto tb = Testbed::up(args);
    ASSERT_TRUE(tb) << tb.error().describe();
    m_tb = std::move(*tb);
    const auto up = std::chrono::steady_clock::now();

    // What `scale` made of the two sizes: one range each, the size as a feature, the first
    // size preferred.
    EXPECT_EQ(m_tb->node_field("htc-1", "AvailableFeatures"), "cloud,Standard_F2s_v2,htc");
    EXPECT_EQ(m_tb->node_field("htc-f4s-v2-1", "AvailableFeatures"), "cloud,Standard_F4s_v2,htc");
    EXPECT_EQ(m_tb->node_field("htc-1", "Weight"), "100");
    EXPECT_EQ(m_tb->node_field("htc-f4s-v2-1", "Weight"), "101");

    const std::string job =
        m_tb->submit(RunAs::k_nobody, {"--requeue", "-p", "htc", "-N1", "--wrap", "hostname"});
    ASSERT_FALSE(job.empty());
    const bool done = wait_until(150s, [&] { return m_tb->job_state(job) == "COMPLETED"; });
    const auto finished = std::chrono::steady_clock::now();
    ASSERT_TRUE(done) << "job " << job << " is " << m_tb->job_state(job) << " ("
                      << m_tb->job_field(job, "Reason") << ") on "
                      << m_tb->job_field(job, "NodeList")
                      << "; htc-1: " << m_tb->node_state("htc-1") << " "
                      << m_tb->node_field("htc-1", "Reason")
                      << "; htc-f4s-v2-1: " << m_tb->node_state("htc-f4s-v2-1");
    EXPECT_EQ(m_tb->job_field(job, "NodeList"), "htc-f4s-v2-1");
    // Once: it met the first size's stock-out on one node, and the other was already held (a
    // requeued job waits 15 s, passes come every second), so it never tried a second F2s_v2.
    EXPECT_EQ(m_tb->job_field(job, "Restarts"), "1")
        << "0: the job never ran into the first size; 2: the first size's other node was not "
           "held DOWN while its size is backed off";

    // Both of the first size's nodes are DOWN with the capacity reason: the one Slurm tried,
    // and the other, held while its size is backed off (hold_backed_off_ranges), so that Slurm
    // does not try it next.
    const auto capacity = [&](const std::string& node) {
        return m_tb->node_field(node, "Reason")
                   .rfind("cloudburst: capacity: Standard_F2s_v2 unavailable in ", 0) == 0;
    };
    EXPECT_TRUE(wait_until(30s, [&] { return capacity("htc-1") && capacity("htc-2"); }))
        << "htc-1: " << m_tb->node_field("htc-1", "Reason")
        << "; htc-2: " << m_tb->node_field("htc-2", "Reason");
    // Only the second size's VM was ever made; no Failed VM of the first is left.
    EXPECT_TRUE(wait_until(30s, [&] {
        const auto s = emulator_status(*m_tb);
        return s["nodes"]["byStatus"].value("Failed", 0L) == 0 &&
               s["nodes"]["byStatus"].value("Acquiring", 0L) == 0;
    })) << emulator_status(*m_tb)["nodes"].dump();
    const auto seconds = [](auto from, auto to) {
        return std::chrono::duration<double>(to - from).count();
    };
    std::cerr << "testbed up in " << seconds(started, up) << " s; the job moved and completed in "
              << seconds(up, finished) << " s\n";
    expect_no_secret_in_logs(*m_tb);
}

}  // namespace
}  // namespace cb::system_test
