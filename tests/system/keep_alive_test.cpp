// Keep-alive (issues #15 part 4 and #17 part 7): `cloudburst keep-alive` on a real slurmctld
// with the emulator's namespace VMs. Slurm keeps the asked number of an array's nodes up past
// SuspendTime while the others are suspended and their VMs removed; `--remove` lets the kept
// node go; the config and the generated conf hold the wish, so it outlives a restart.
#include <gtest/gtest.h>

#include "testbed.h"
#include "util/files.h"

namespace cb::system_test {
namespace {

using namespace std::chrono_literals;

const std::string k_cloudburst = std::string(CB_BINARY_DIR) + "/cloudburst";

class KeepAliveSystem : public ::testing::Test {
  protected:
    void SetUp() override {
        if (auto why = why_system_tests_cannot_run(); !why.empty()) {
            GTEST_SKIP() << why;
        }
        auto tb =
            Testbed::up({"--cloudburst", "--cloud-nodes", "hpc-[1-4]", "--suspend-time", "10"});
        ASSERT_TRUE(tb) << tb.error().describe();
        m_tb = std::move(*tb);
    }
    Result<CommandOutput> keep_alive(RunAs who, const std::vector<std::string>& args) const {
        std::vector<std::string> argv{k_cloudburst, "--config", m_tb->env("CLOUDBURST_CONFIG"),
                                      "keep-alive"};
        argv.insert(argv.end(), args.begin(), args.end());
        return m_tb->run_as(who, argv, 60s);
    }
    // SuspendExcNodes as slurmctld runs with it.
    std::string running_value() const {
        auto out = m_tb->slurm({"/usr/bin/scontrol", "show", "config"});
        if (!out) {
            return "?";
        }
        for (const auto& line : lines_of(out->out)) {
            if (line.rfind("SuspendExcNodes ", 0) == 0) {
                return line.substr(line.find('=') + 2);
            }
        }
        return "?";
    }
    bool powered_down(const std::string& node) const {
        return m_tb->node_state(node).find("POWERED_DOWN") != std::string::npos;
    }
    std::unique_ptr<Testbed> m_tb;
};

TEST_F(KeepAliveSystem, OneOfTheArraysNodesStaysUpUntilTheWishIsRemoved) {
    auto set = keep_alive(RunAs::k_root, {"hpc", "--set", "1"});
    ASSERT_TRUE(set) << set.error().describe();
    ASSERT_EQ(set->exit_code, 0) << set->out << set->err;
    // Slurm's count syntax: one usable node of the array's four.
    EXPECT_EQ(running_value(), "hpc-[1-4]:1");
    auto conf = read_file(m_tb->dir() + "/etc/cloudburst.conf");
    ASSERT_TRUE(conf);
    EXPECT_NE(conf->find("\nSuspendExcNodes=hpc-[1-4]:1\n"), std::string::npos) << *conf;
    auto toml = read_file(m_tb->env("CLOUDBURST_CONFIG"));
    ASSERT_TRUE(toml);
    EXPECT_NE(toml->find("[nodearrays.hpc]\nkeep_alive = 1\n"), std::string::npos) << *toml;

    // Wrong targets change nothing and say why.
    auto unknown = keep_alive(RunAs::k_root, {"hpc-9", "--set"});
    ASSERT_TRUE(unknown);
    EXPECT_EQ(unknown->exit_code, 2);
    EXPECT_NE(unknown->err.find("hpc-9 is not a cloud node Slurm knows"), std::string::npos)
        << unknown->err;
    // A cluster user may not change it (the config is root's; scontrol update is an admin's).
    auto user = keep_alive(RunAs::k_nobody, {"hpc", "--set", "3"});
    ASSERT_TRUE(user);
    EXPECT_NE(user->exit_code, 0) << user->out;
    EXPECT_EQ(running_value(), "hpc-[1-4]:1");

    const std::string job =
        m_tb->submit(RunAs::k_nobody, {"-p", "cloud", "-N2", "--wrap", "sleep 1"});
    ASSERT_FALSE(job.empty());
    ASSERT_TRUE(wait_until(180s, [&] { return m_tb->job_state(job) == "COMPLETED"; }))
        << "job " << job << ": " << m_tb->job_state(job);
    const std::string nodes = m_tb->job_field(job, "NodeList");
    ASSERT_EQ(nodes, "hpc-[1-2]");

    // After SuspendTime (10 s) one node is suspended and its VM removed; the other stays.
    ASSERT_TRUE(wait_until(120s, [&] { return powered_down("hpc-1") || powered_down("hpc-2"); }))
        << m_tb->node_state("hpc-1") << " " << m_tb->node_state("hpc-2");
    const std::string kept = powered_down("hpc-1") ? "hpc-2" : "hpc-1";
    ASSERT_TRUE(wait_until(60s, [&] { return emulator_vms(*m_tb) == 1; }))
        << emulator_vms(*m_tb) << " VMs";
    // Both went idle at the same time; the kept one sees more power-save passes (every 10 s
    // or so) without being suspended.
    EXPECT_FALSE(wait_until(25s, [&] { return powered_down(kept); }))
        << kept << " was suspended: " << m_tb->node_state(kept);
    EXPECT_TRUE(m_tb->node_up(kept)) << m_tb->node_state(kept);

    auto show = keep_alive(RunAs::k_root, {"--json"});
    ASSERT_TRUE(show);
    EXPECT_EQ(show->exit_code, 0) << show->err;
    EXPECT_NE(show->out.find("\"in_sync\": true"), std::string::npos) << show->out;

    auto remove = keep_alive(RunAs::k_root, {"hpc", "--remove"});
    ASSERT_TRUE(remove) << remove.error().describe();
    ASSERT_EQ(remove->exit_code, 0) << remove->out << remove->err;
    EXPECT_EQ(running_value(), "(null)");
    ASSERT_TRUE(wait_until(120s, [&] { return powered_down(kept); }))
        << kept << ": " << m_tb->node_state(kept);
    EXPECT_TRUE(wait_until(60s, [&] { return emulator_vms(*m_tb) == 0; }))
        << emulator_vms(*m_tb) << " VMs left";
}

}  // namespace
}  // namespace cb::system_test
