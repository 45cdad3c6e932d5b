// Job-aware resume (issue 13) against the real stack: real slurmctld (22.05 and 24.11, whose
// resume files differ), the emulator with namespace VMs running slurmd, cloudburstd and its
// hooks. A 3-node job on a node array Azure can give only 2 VMs of: the daemon reads from
// SLURM_RESUME_FILE which job asked for the nodes and gives all three back together, so no
// VM runs for a job that cannot start, and `cloudburst why JOBID` says why it pends.
#include <gtest/gtest.h>

#include <iostream>

#include "testbed_test_fixture.h"

namespace cb::system_test {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

class JobResumeSystem : public TestbedTest {
  protected:
    // `cloudburst why ARG [--json]` as root: exit code and output (stdout then stderr).
    std::pair<int, std::string> why(const std::string& arg, bool as_json = false) const {
        std::vector<std::string> argv{std::string(CB_BINARY_DIR) + "/cloudburst", "--config",
                                      m_tb->dir() + "/etc/cloudburst.toml", "why", arg};
        if (as_json) {
            argv.emplace_back("--json");
        }
        Command c{argv, minimal_environment(), {}, 30s};
        c.env.push_back("SLURM_CONF=" + m_tb->slurm_conf());
        auto out = run_command(c);
        if (!out) {
            return {-1, out.error().describe()};
        }
        return {out->exit_code, out->out + out->err};
    }

    // VMs in the emulator that are not Off (that bill, or are on their way).
    long live_vms() const {
        const json s = emulator_status(*m_tb);
        if (!s.contains("nodes") || !s["nodes"].contains("byStatus")) {
            return -1;
        }
        long live = 0;
        for (const auto& [status, count] : s["nodes"]["byStatus"].items()) {
            if (status != "Off") {
                live += count.get<long>();
            }
        }
        return live;
    }
};

TEST_F(JobResumeSystem, JobThatGetsTwoOfItsThreeNodesGivesAllBackAndPends) {
    // A long backoff: the array stays held back, so the requeued job stays pending.
    auto conf = write_file("cloudburst-extra.toml", "[backoff]\ninitial = \"10m\"\n");
    ASSERT_TRUE(conf) << conf.error().describe();
    auto tb = Testbed::up({"--cloudburst", "--cloud-nodes", "hpc-[1-3]", "--cloudburst-conf", *conf,
                           "--emulator-arg", "-p", "--emulator-arg",
                           "HPCMachineType=Standard_HB120rs_v3", "--emulator-arg", "-p",
                           "--emulator-arg", "MaxHPCExecuteCoreCount=1200", "--emulator-arg",
                           "--fault", "--emulator-arg", "capacity=Standard_HB120rs_v3:2"});
    ASSERT_TRUE(tb) << tb.error().describe();
    m_tb = std::move(*tb);

    const std::string id =
        m_tb->submit(RunAs::k_nobody, {"--requeue", "-p", "cloud", "-N3", "--wrap", "hostname"});
    ASSERT_FALSE(id.empty());

    // All three come back DOWN with cloudburst's reason: one for capacity, the other two
    // because their job cannot have its third node.
    const std::vector<std::string> nodes{"hpc-1", "hpc-2", "hpc-3"};
    auto all_given_back = [&] {
        for (const auto& node : nodes) {
            if (m_tb->node_field(node, "Reason").rfind("cloudburst: ", 0) != 0) {
                return false;
            }
        }
        return true;
    };
    ASSERT_TRUE(wait_until(60s, all_given_back))
        << "hpc-1: " << m_tb->node_state("hpc-1") << " " << m_tb->node_field("hpc-1", "Reason")
        << "; hpc-2: " << m_tb->node_state("hpc-2") << " " << m_tb->node_field("hpc-2", "Reason")
        << "; hpc-3: " << m_tb->node_state("hpc-3") << " " << m_tb->node_field("hpc-3", "Reason")
        << "\n"
        << daemon_log(*m_tb);
    int capacity = 0;
    int together = 0;
    for (const auto& node : nodes) {
        const std::string reason = m_tb->node_field(node, "Reason");
        capacity += reason.rfind("cloudburst: capacity: Standard_HB120rs_v3", 0) == 0 ? 1 : 0;
        together +=
            reason.rfind("cloudburst: job " + id + " cannot have all its nodes", 0) == 0 ? 1 : 0;
    }
    EXPECT_EQ(capacity, 1);
    EXPECT_EQ(together, 2);

    // None of the VMs made for the job is left running, and the job waits for its nodes.
    EXPECT_TRUE(wait_until(30s, [&] { return live_vms() == 0; }))
        << emulator_status(*m_tb)["nodes"].dump();
    EXPECT_TRUE(wait_until(30s, [&] { return m_tb->job_state(id) == "PENDING"; }))
        << "job " << id << ": " << m_tb->job_state(id) << " " << m_tb->job_field(id, "Reason");

    // `cloudburst why JOBID` tells the operator why, in words and as JSON.
    const auto [code, text] = why(id);
    std::cerr << "Slurm " << m_tb->slurm_version() << ", cloudburst why " << id << ":\n" << text;
    EXPECT_EQ(code, 0) << text;
    EXPECT_NE(text.find("job " + id + " is PENDING"), std::string::npos) << text;
    EXPECT_NE(text.find("they were given back together: cloudburst: job " + id +
                        " cannot have all its nodes"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("node array hpc is held back (capacity)"), std::string::npos) << text;
    const auto [json_code, json_text] = why(id, true);
    ASSERT_EQ(json_code, 0) << json_text;
    const json report = json::parse(json_text, nullptr, false);
    ASSERT_TRUE(report.is_object()) << json_text;
    EXPECT_EQ(report["cloudburst"].value("phase", ""), "failed") << json_text;
    ASSERT_EQ(report["nodes"].size(), 3u) << json_text;
    for (const auto& n : report["nodes"]) {
        EXPECT_EQ(n.value("phase", ""), "failed") << json_text;
    }
    EXPECT_EQ(report["node_arrays"].at(0).value("health", ""), "capacity") << json_text;

    // `why NODE` still answers for a node (a name is not all digits), in text only.
    const auto [node_code, node_text] = why("hpc-1");
    EXPECT_EQ(node_code, 0) << node_text;
    EXPECT_NE(node_text.find("hpc-1 is failed"), std::string::npos) << node_text;
    EXPECT_NE(node_text.find("cannot have all its nodes"), std::string::npos) << node_text;
    const auto [node_json_code, node_json] = why("hpc-1", true);
    EXPECT_EQ(node_json_code, 2) << node_json;
    EXPECT_NE(node_json.find("--json is for a job id"), std::string::npos) << node_json;

    // A job Slurm and cloudburst never heard of, and a job id out of range.
    const auto [unknown_code, unknown] = why("999999");
    EXPECT_NE(unknown_code, 0) << unknown;
    EXPECT_NE(unknown.find("no job 999999 in Slurm's queue and none in cloudburst's journal"),
              std::string::npos)
        << unknown;
    const auto [range_code, range] = why("99999999999");
    EXPECT_NE(range_code, 0) << range;
    EXPECT_NE(range.find("'99999999999' is not a Slurm job id (1 to 4294967293)"),
              std::string::npos)
        << range;
    expect_no_secret_in_logs(*m_tb);
}

}  // namespace
}  // namespace cb::system_test
