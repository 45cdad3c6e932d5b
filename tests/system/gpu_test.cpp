// GPUs end to end (issue 15 part 2): the testbed's cloud is the template's node arrays as
// `cloudburst scale` writes them (testbed.sh --scale), its gpu array on a two-GPU size. The
// emulator's VMs of that size get two stand-in device files /dev/nvidia0 and /dev/nvidia1, the
// generated gres.conf names them, and slurmd (configless, gres.conf from slurmctld) registers
// the GPUs; a job asking for two sees CUDA_VISIBLE_DEVICES=0,1. A node array whose setting
// promises more GPUs than the VM has fails the node's boot with the GPU check's message, which
// becomes the node's reason in Slurm.
#include <gtest/gtest.h>

#include "testbed.h"
#include "util/files.h"

namespace cb::system_test {
namespace {

using namespace std::chrono_literals;

// The testbed's default cloud (testbed.sh --cloudburst): the template's gpu array on
// Standard_NC48ads_A100_v4 (2 A100 GPUs, 48 vCPUs), 96 cores making two nodes; GPUCount is
// what the array tells the node's cluster-init to expect (2 unless overridden here).
std::vector<std::string> gpu_cloud(const std::string& gpu_count) {
    return {"--cloudburst", "--emulator-arg", "-p", "--emulator-arg", "GPUCount=" + gpu_count};
}

class GpuSystem : public ::testing::Test {
  protected:
    void SetUp() override {
        if (auto why = why_system_tests_cannot_run(); !why.empty()) {
            GTEST_SKIP() << why;
        }
    }
    void bring_up(const std::string& gpu_count) {
        auto tb = Testbed::up(gpu_cloud(gpu_count));
        ASSERT_TRUE(tb) << tb.error().describe();
        m_tb = std::move(*tb);
    }
    std::unique_ptr<Testbed> m_tb;
};

TEST_F(GpuSystem, AJobAskingForTwoGpusSeesBothOnABurstNode) {
    ASSERT_NO_FATAL_FAILURE(bring_up("2"));
    // What `cloudburst scale` wrote, where Slurm reads it.
    auto gres = read_file(m_tb->dir() + "/etc/gres.conf");
    ASSERT_TRUE(gres) << gres.error().describe();
    EXPECT_NE(gres->find("\nNodeName=gpu-[1-2] Name=gpu Type=a100 File=/dev/nvidia[0-1]\n"),
              std::string::npos)
        << *gres;
    auto conf = read_file(m_tb->dir() + "/etc/cloudburst.conf");
    ASSERT_TRUE(conf);
    EXPECT_NE(conf->find("\nGresTypes=gpu\n"), std::string::npos) << *conf;
    EXPECT_NE(conf->find(" Gres=gpu:a100:2\n"), std::string::npos) << *conf;

    auto out = m_tb->run_as(RunAs::k_nobody,
                            {"/usr/bin/srun", "-p", "gpu", "-N1", "--gres=gpu:2", "/bin/sh", "-c",
                             "printf '%s %s\\n' \"$(hostname)\" \"$CUDA_VISIBLE_DEVICES\""},
                            240s);
    ASSERT_TRUE(out) << out.error().describe();
    ASSERT_TRUE(out->ok()) << out->err;
    EXPECT_TRUE(out->out == "gpu-1 0,1\n" || out->out == "gpu-2 0,1\n") << out->out;
    const std::string node = out->out.substr(0, 5);
    // Slurm counts the node's GPUs as the VM registered them.
    EXPECT_NE(m_tb->node_field(node, "Gres").find("gpu:a100:2"), std::string::npos)
        << m_tb->node_field(node, "Gres");
    // More GPUs than a node has is refused at once, not left pending.
    auto too_many = m_tb->run_as(
        RunAs::k_nobody, {"/usr/bin/srun", "-p", "gpu", "-N1", "--gres=gpu:3", "/bin/true"}, 60s);
    ASSERT_TRUE(too_many);
    EXPECT_NE(too_many->exit_code, 0);
    EXPECT_NE(too_many->err.find("Requested node configuration is not available"),
              std::string::npos)
        << too_many->err;
}

TEST_F(GpuSystem, AVmShortOfTheGpusItsArrayPromisesFailsWithTheReason) {
    // The array says 3; a Standard_NC48ads_A100_v4 VM has 2.
    ASSERT_NO_FATAL_FAILURE(bring_up("3"));
    const std::string job =
        m_tb->submit(RunAs::k_nobody, {"-p", "gpu", "-N1", "--gres=gpu:1", "--wrap", "true"});
    ASSERT_FALSE(job.empty());
    const std::string gpu_message =
        "the VM sees 2 of the 3 GPUs its size promises (/dev/nvidia0..2; /dev/nvidia2 is "
        "missing): NVIDIA driver not loaded or a GPU lost (nvidia-smi); not starting slurmd";
    std::string reason;
    ASSERT_TRUE(wait_until(180s,
                           [&] {
                               for (const char* node : {"gpu-1", "gpu-2"}) {
                                   const std::string r = m_tb->node_field(node, "Reason");
                                   if (r.find(gpu_message) != std::string::npos) {
                                       reason = r;
                                       return true;
                                   }
                               }
                               return false;
                           }))
        << m_tb->node_field("gpu-1", "Reason") << " / " << m_tb->node_field("gpu-2", "Reason")
        << "\n"
        << daemon_log(*m_tb);
    EXPECT_NE(reason.find("Preparing failed: cluster-init cloudburst/execute/scripts/"
                          "10-cloudburst-node.sh exited with 1: cloudburst-node-start: gpu-"),
              std::string::npos)
        << reason;
    EXPECT_NE(m_tb->job_state(job), "COMPLETED");
}

}  // namespace
}  // namespace cb::system_test
