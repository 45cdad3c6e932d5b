// scripts/testbed.sh itself: on-prem nodes run jobs, two testbeds run side by side, and
// `down` leaves nothing behind, also after a failed `up`.
#include "testbed.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <sstream>

#include "emulator/netns.h"
#include "util/files.h"

namespace cb::system_test {
namespace {

using namespace std::chrono_literals;

// PIDs in the pid files a testbed writes for what it starts, and in its VMs.
std::vector<pid_t> testbed_pids(const Testbed& testbed) {
    std::vector<pid_t> pids;
    for (const char* file : {"/run/slurmctld.pid", "/munge/munged.pid", "/run/onprem-vms.pid"}) {
        if (auto text = read_file(testbed.dir() + file)) {
            pids.push_back(static_cast<pid_t>(std::stol(*text)));
        }
    }
    for (const auto& ns :
         emulator::netns::list_namespaces("cb-" + testbed.env("CB_TESTBED_PREFIX"))) {
        const auto in_ns = emulator::netns::pids_in_namespace(ns);
        pids.insert(pids.end(), in_ns.begin(), in_ns.end());
    }
    return pids;
}

// Names of namespaces and links a testbed with `prefix` (tbNNN) made, and its bridge.
std::string leftovers(const std::string& prefix) {
    std::string out;
    for (const auto& ns : emulator::netns::list_namespaces("cb-" + prefix)) {
        out += " netns:" + ns;
    }
    for (const auto& link : emulator::netns::list_links("cb" + prefix)) {
        out += " link:" + link;
    }
    return out;
}

class TestbedSystem : public ::testing::Test {
  protected:
    void SetUp() override {
        if (auto why = why_system_tests_cannot_run(); !why.empty()) {
            GTEST_SKIP() << why;
        }
    }
};

TEST_F(TestbedSystem, OnPremNodesRunJobsBesideASecondTestbedAndDownLeavesNothing) {
    auto first = Testbed::up({"--onprem", "2", "--cloud-nodes", "cloud1"});
    ASSERT_TRUE(first) << first.error().describe();
    auto second = Testbed::up();
    ASSERT_TRUE(second) << second.error().describe();
    const Testbed& a = **first;
    const Testbed& b = **second;
    EXPECT_NE(a.env("CB_TESTBED_BRIDGE"), b.env("CB_TESTBED_BRIDGE"));
    EXPECT_NE(a.env("CB_TESTBED_SLURMCTLD"), b.env("CB_TESTBED_SLURMCTLD"));

    auto hostnames = a.slurm({"/usr/bin/srun", "-N2", "-w", "onprem[1-2]", "hostname"});
    ASSERT_TRUE(hostnames) << hostnames.error().describe();
    EXPECT_TRUE(hostnames->out == "onprem1\nonprem2\n" || hostnames->out == "onprem2\nonprem1\n")
        << hostnames->out;
    EXPECT_EQ(a.node_state("cloud1"), "IDLE+CLOUD+POWERED_DOWN");
    EXPECT_EQ(b.node_state("cloud4"), "IDLE+CLOUD+POWERED_DOWN");
    EXPECT_TRUE(b.slurm({"/usr/bin/scontrol", "ping"}));

    for (const auto& testbed : {first->get(), second->get()}) {
        const std::string prefix = testbed->env("CB_TESTBED_PREFIX");
        const auto pids = testbed_pids(*testbed);
        EXPECT_GE(pids.size(), 2u);
        ASSERT_TRUE(testbed->down());
        EXPECT_EQ(leftovers(prefix), "");
        for (const pid_t pid : pids) {
            EXPECT_FALSE(process_alive(pid)) << "pid " << pid;
        }
        EXPECT_TRUE(processes_mentioning(testbed->dir()).empty());
        EXPECT_FALSE(read_file(testbed->dir() + "/testbed.env")) << "env file removed";
    }
}

TEST_F(TestbedSystem, FailedUpCleansUpAfterItself) {
    std::string dir = "/tmp/cb-testbed.XXXXXX";
    ASSERT_NE(::mkdtemp(dir.data()), nullptr);
    const std::string bad_conf = dir + "-bad.conf";
    ASSERT_TRUE(write_file_atomic(bad_conf, "NoSuchSlurmOption=1\n"));
    auto out = run_command(
        {{"/bin/bash", std::string(CB_SOURCE_DIR) + "/scripts/testbed.sh", "up", dir, "--onprem",
          "1", "--extra-conf", bad_conf, "--build", CB_BINARY_DIR, "--slurm", test_slurm_version()},
         {},
         {},
         120s});
    ASSERT_TRUE(out) << out.error().describe();
    EXPECT_NE(out->exit_code, 0);
    EXPECT_NE(out->err.find("up failed; cleaning up"), std::string::npos) << out->err;

    std::string prefix;
    if (auto state = read_file(dir + "/testbed.state.down")) {
        std::istringstream in(*state);
        for (std::string line; std::getline(in, line);) {
            if (line.rfind("prefix=", 0) == 0) {
                prefix = line.substr(7);
            }
        }
    }
    EXPECT_FALSE(prefix.empty()) << "the bridge was made before slurmctld failed";
    if (!prefix.empty()) {
        EXPECT_EQ(leftovers(prefix), "");
    }
    EXPECT_TRUE(processes_mentioning(dir).empty()) << "munged or slurmd still runs";
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
    std::filesystem::remove(bad_conf, ignored);
}

}  // namespace
}  // namespace cb::system_test
