// Node and partition options passed through to Slurm (issue 15 part 5), against a real
// slurmctld: the testbed's default cloud (the template's arrays, `cloudburst scale`) with
// `nodearrays.htc.node_options` and `partition_options` in cloudburst's configuration. Slurm
// reads what scale wrote and applies it to jobs: a job asking for more than the partition's
// MaxTime waits with PartitionTimeLimit, a job asking for nothing gets the partition's
// DefMemPerCPU. No VM is made: the jobs are held or cannot start.
#include <gtest/gtest.h>

#include "testbed_test_fixture.h"

namespace cb::system_test {
namespace {

using namespace std::chrono_literals;

using OptionsSystem = TestbedTest;

TEST_F(OptionsSystem, SlurmAppliesTheNodeAndPartitionOptionsScaleWrites) {
    auto conf = write_file("cloudburst-extra.toml",
                           "[nodearrays.htc]\n"
                           "partition_options = [\"MaxTime=00:30:00\", \"DefMemPerCPU=512\"]\n"
                           "node_options = [\"TmpDisk=2048\"]\n");
    ASSERT_TRUE(conf) << conf.error().describe();
    auto tb = Testbed::up({"--cloudburst", "--cloudburst-conf", *conf});
    ASSERT_TRUE(tb) << tb.error().describe();
    m_tb = std::move(*tb);

    // Slurm read them: on htc's nodes and partition, and on no other array's.
    EXPECT_EQ(m_tb->node_field("htc-1", "TmpDisk"), "2048");
    EXPECT_EQ(m_tb->node_field("hpc-1", "TmpDisk"), "0");
    auto partition = m_tb->slurm({"/usr/bin/scontrol", "show", "partition", "-o", "htc"});
    ASSERT_TRUE(partition) << partition.error().describe();
    EXPECT_NE(partition->out.find(" MaxTime=00:30:00 "), std::string::npos) << partition->out;
    EXPECT_NE(partition->out.find(" DefMemPerCPU=512 "), std::string::npos) << partition->out;

    // Slurm applies them: an hour is over htc's MaxTime (the job waits), and a job that names
    // no memory gets DefMemPerCPU (held, so that it makes no VM).
    const std::string long_job =
        m_tb->submit(RunAs::k_nobody, {"-p", "htc", "-t", "60", "--wrap", "true"});
    ASSERT_FALSE(long_job.empty());
    EXPECT_TRUE(wait_until(
        30s, [&] { return m_tb->job_field(long_job, "Reason") == "PartitionTimeLimit"; }))
        << m_tb->job_state(long_job) << " " << m_tb->job_field(long_job, "Reason");
    EXPECT_EQ(m_tb->job_state(long_job), "PENDING");
    const std::string held = m_tb->submit(RunAs::k_nobody, {"-p", "htc", "-H", "--wrap", "true"});
    ASSERT_FALSE(held.empty());
    EXPECT_EQ(m_tb->job_field(held, "MinMemoryCPU"), "512M");
    EXPECT_EQ(m_tb->job_field(held, "TimeLimit"), "00:30:00");
    EXPECT_EQ(m_tb->node_state("htc-1"), "IDLE+CLOUD+POWERED_DOWN");
}

}  // namespace
}  // namespace cb::system_test
