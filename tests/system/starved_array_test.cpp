// A node array whose VM size Azure has no capacity for (issue 12), against the real stack:
// real slurmctld, the emulator with namespace VMs running slurmd, cloudburstd and its hooks.
// CycleCloud accepts every create and the nodes go Failed in Acquiring with AllocationFailed
// (the emulator's capacity fault), as on real Azure. The daemon must treat that as capacity:
// at most one create per backoff window for the starved array, and the jobs run on the other.
#include <gtest/gtest.h>

#include <cmath>
#include <iostream>
#include <vector>

#include "testbed_test_fixture.h"

namespace cb::system_test {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

// The backoff window of the test's daemon ([backoff] initial, factor 2).
constexpr auto k_backoff = 30s;
constexpr int k_jobs = 20;

// Create requests the emulator accepted for `nodearray` (its createsByNodearray counter);
// -1 if the emulator does not answer.
long create_requests(const Testbed& tb, const std::string& nodearray) {
    const json s = emulator_status(tb);
    if (!s.contains("createsByNodearray")) {
        return -1;
    }
    return s["createsByNodearray"].value(nodearray, json::object()).value("requests", 0L);
}

using StarvedArraySystem = TestbedTest;

// hpc (Standard_HB120rs_v3) has no capacity at all; htc (the default size) has. Both are in the
// one `cloud` partition, so every job may run on either. 20 requeueable jobs: those Slurm first
// gives to hpc nodes requeue when the nodes fail, and all of them complete on htc. Meanwhile
// the starved array is asked for VMs at most once per backoff window.
TEST_F(StarvedArraySystem, StarvedArrayIsAskedOncePerBackoffWindowAndJobsRunOnTheOther) {
    auto conf = write_file("cloudburst-extra.toml",
                           "[backoff]\ninitial = \"30s\"\nfactor = 2.0\nmax = \"10m\"\n");
    ASSERT_TRUE(conf) << conf.error().describe();
    auto tb = Testbed::up({"--cloudburst", "--cloud-nodes", "hpc-[1-4],htc-[1-4]", "--cred-expire",
                           "15", "--cloudburst-conf", *conf, "--emulator-arg", "-p",
                           "--emulator-arg", "HPCMachineType=Standard_HB120rs_v3", "--emulator-arg",
                           "-p", "--emulator-arg", "MaxHPCExecuteCoreCount=1200", "--emulator-arg",
                           "--fault", "--emulator-arg", "capacity=Standard_HB120rs_v3:0"});
    ASSERT_TRUE(tb) << tb.error().describe();
    m_tb = std::move(*tb);

    std::vector<std::string> jobs;
    for (int i = 0; i < k_jobs; ++i) {
        jobs.push_back(m_tb->submit(RunAs::k_nobody,
                                    {"--requeue", "-p", "cloud", "-N1", "--wrap", "hostname"}));
        ASSERT_FALSE(jobs.back().empty());
    }

    // The daemon saw the late AllocationFailed and backed hpc off: a capacity reason in Slurm.
    auto backed_off = [&] {
        for (const std::string node : {"hpc-1", "hpc-2", "hpc-3", "hpc-4"}) {
            if (m_tb->node_field(node, "Reason").rfind("cloudburst: capacity: ", 0) == 0) {
                return true;
            }
        }
        return false;
    };
    ASSERT_TRUE(wait_until(90s, backed_off))
        << "no hpc node shows a capacity reason; hpc-1: " << m_tb->node_state("hpc-1") << " "
        << m_tb->node_field("hpc-1", "Reason") << "; hpc creates " << create_requests(*m_tb, "hpc");
    const auto backoff_start = std::chrono::steady_clock::now();
    const long hpc_before = create_requests(*m_tb, "hpc");
    ASSERT_GE(hpc_before, 1) << "the emulator never saw a create for hpc";

    auto all_done = [&] {
        for (const auto& id : jobs) {
            if (m_tb->job_state(id) != "COMPLETED") {
                return false;
            }
        }
        return true;
    };
    const bool done = wait_until(150s, all_done);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - backoff_start).count();
    const long hpc_after = create_requests(*m_tb, "hpc");
    const long htc = create_requests(*m_tb, "htc");
    std::cerr << "hpc create requests: " << hpc_before << " until the backoff, "
              << hpc_after - hpc_before << " in the " << seconds << " s after it; htc: " << htc
              << "\n";
    for (const auto& id : jobs) {
        EXPECT_EQ(m_tb->job_state(id), "COMPLETED")
            << "job " << id << " on " << m_tb->job_field(id, "NodeList") << ": "
            << m_tb->job_field(id, "Reason");
    }
    ASSERT_TRUE(done);
    for (const auto& id : jobs) {
        EXPECT_EQ(m_tb->job_field(id, "NodeList").rfind("htc-", 0), 0u)
            << "job " << id << " ran on " << m_tb->job_field(id, "NodeList");
    }
    // One probe per backoff window at most: windows of 30 s, 60 s, ... from the backoff's
    // start, which the test saw a little after the daemon did.
    const long windows = static_cast<long>(std::floor(seconds / k_backoff.count())) + 1;
    EXPECT_LE(hpc_after - hpc_before, windows)
        << "the starved array was asked for VMs more than once per backoff window";
    EXPECT_GE(htc, 1);
    // The starved array holds no VM (its nodes never got one), and no node of it is left in
    // Acquiring or Failed for ever: Failed nodes are terminated.
    EXPECT_TRUE(wait_until(60s, [&] {
        const json s = emulator_status(*m_tb);
        return s["nodes"]["byStatus"].value("Failed", 0L) == 0 &&
               s["nodes"]["byStatus"].value("Acquiring", 0L) == 0;
    })) << emulator_status(*m_tb)["nodes"].dump();
    expect_no_secret_in_logs(*m_tb);
}

}  // namespace
}  // namespace cb::system_test
