// Placement groups as InfiniBand fabrics, end to end (issue 15, "the test world extended"). The
// testbed's cloud is the template's node arrays as `cloudburst scale` writes them (testbed.sh
// --scale), its hpc array on an InfiniBand size (Standard_HB120rs_v3) in placement groups of two
// VMs: placement = partition, the template's slurm.hpc, puts hpc-1 and hpc-2 in one group and
// hpc-3 and hpc-4 in another. The emulator gives each VM of the size an ib0 on its group's
// fabric (docs/emulator.md, "InfiniBand fabrics"). A two-node job finds its nodes' ib0 addresses
// and has each node connect to its peer's slurmd over them, as an MPI job's first exchange over
// IP over InfiniBand does: it succeeds when the nodes share a group. Slurm refuses a job across
// two groups (topology.conf has no switch over them), and a node of the other group finds no
// route to the pair's ib0 addresses.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include "testbed.h"
#include "util/files.h"

namespace cb::system_test {
namespace {

using namespace std::chrono_literals;

const std::string k_probe = std::string(CB_BINARY_DIR) + "/tests/fabric-probe";

// The testbed's default cloud (testbed.sh --cloudburst): hpc on Standard_HB120rs_v3, 480
// cores of a 120-core size, hpc-[1-4]; here in two placement groups of two.
std::vector<std::string> hpc_cloud() {
    return {"--cloudburst", "--emulator-arg", "-p", "--emulator-arg", "HPCMaxScalesetSize=2"};
}

// What one run of the exchange showed: each node's ib0 address, and what each node met
// connecting to the other's ("reached", "No route to host", ...).
struct Exchange {
    int exit_code = -1;
    std::map<std::string, std::string> address;  // node -> ib0 address
    std::map<std::string, std::string> outcome;  // "node -> peer address" -> outcome
    std::string output;
};

class FabricSystem : public ::testing::Test {
  protected:
    void SetUp() override {
        if (auto why = why_system_tests_cannot_run(); !why.empty()) {
            GTEST_SKIP() << why;
        }
        auto tb = Testbed::up(hpc_cloud());
        ASSERT_TRUE(tb) << tb.error().describe();
        m_tb = std::move(*tb);
    }

    // A job of two nodes of hpc (`nodes`: -w's list, or "" for Slurm's choice), as a cluster
    // user: one step prints each node's ib0 address, the next has each node connect to the
    // other's slurmd (testbed.sh's SlurmdPort 6818) at that address.
    Exchange exchange(const std::string& nodes) const {
        const std::string srun = m_tb->slurm_client("srun") + " --ntasks-per-node=1 ";
        const std::string script =
            "addrs=$(" + srun + k_probe + " address ib0) || exit 3\n" +
            "printf '%s\\n' \"$addrs\"\n" + "exec " + srun + k_probe +
            " peers 6818 $(printf '%s\\n' \"$addrs\" | /usr/bin/cut -d' ' -f2)\n";
        std::vector<std::string> argv{"/usr/bin/salloc", "-p", "hpc", "-N2"};
        if (!nodes.empty()) {
            argv.insert(argv.end(), {"-w", nodes});
        }
        argv.insert(argv.end(), {"/bin/sh", "-c", script});
        return run(argv);
    }

    // A job of one node of hpc, `node`: it prints its ib0 address and connects to the slurmd
    // of each of `peers` (ib0 addresses).
    Exchange probe_from(const std::string& node, const std::vector<std::string>& peers) const {
        const std::string srun = m_tb->slurm_client("srun") + " ";
        std::string script =
            srun + k_probe + " address ib0 || exit 3\nexec " + srun + k_probe + " peers 6818";
        for (const auto& peer : peers) {
            script += " " + peer;
        }
        return run({"/usr/bin/salloc", "-p", "hpc", "-N1", "-w", node, "/bin/sh", "-c", script});
    }

    Exchange run(const std::vector<std::string>& argv) const {
        Exchange result;
        auto out = m_tb->run_as(RunAs::k_nobody, argv, 240s);
        if (!out) {
            ADD_FAILURE() << out.error().describe();
            return result;
        }
        result.exit_code = out->exit_code;
        result.output = out->out + out->err;
        for (const auto& line : lines_of(out->out)) {
            if (const auto arrow = line.find(" -> "); arrow != std::string::npos) {
                const auto colon = line.find(": ", arrow);
                if (colon != std::string::npos) {
                    result.outcome[line.substr(0, colon)] = line.substr(colon + 2);
                }
            } else if (const auto space = line.find(' '); space != std::string::npos) {
                result.address[line.substr(0, space)] = line.substr(space + 1);
            }
        }
        return result;
    }

    // The ib0 address the emulator gives `node`: its private address, NodeAddr in Slurm, with
    // 198.19 for 198.18 (docs/emulator.md).
    std::string expected_fabric_address(const std::string& node) const {
        const std::string private_ip = m_tb->node_field(node, "NodeAddr");
        EXPECT_EQ(private_ip.rfind("198.18.", 0), 0u) << node << ": " << private_ip;
        return "198.19." + private_ip.substr(std::min<std::size_t>(7, private_ip.size()));
    }

    std::unique_ptr<Testbed> m_tb;
};

TEST_F(FabricSystem, ATwoNodeJobReachesItsPeerOverIb0OnlyInsideOnePlacementGroup) {
    // What `cloudburst scale` told Slurm: one switch per placement group.
    const std::string cluster = m_tb->env("CB_TESTBED_EMULATOR_CLUSTER");
    auto topology = read_file(m_tb->dir() + "/etc/topology.conf");
    ASSERT_TRUE(topology) << topology.error().describe();
    EXPECT_NE(topology->find("\nSwitchName=" + cluster + "-hpc-pg0 Nodes=hpc-[1-2]\n"),
              std::string::npos)
        << *topology;
    EXPECT_NE(topology->find("\nSwitchName=" + cluster + "-hpc-pg1 Nodes=hpc-[3-4]\n"),
              std::string::npos)
        << *topology;

    // Slurm keeps a job in one group; its nodes reach each other over ib0.
    Exchange together = exchange("");
    ASSERT_EQ(together.exit_code, 0) << together.output << daemon_log(*m_tb);
    ASSERT_EQ(together.address.size(), 2u) << together.output;
    std::vector<std::string> nodes;
    for (const auto& [node, address] : together.address) {
        nodes.push_back(node);
        EXPECT_EQ(address, expected_fabric_address(node)) << node;
    }
    EXPECT_TRUE((nodes == std::vector<std::string>{"hpc-1", "hpc-2"}) ||
                (nodes == std::vector<std::string>{"hpc-3", "hpc-4"}))
        << together.output;
    EXPECT_EQ(together.outcome.size(), 2u) << together.output;
    EXPECT_EQ(together.outcome[nodes[0] + " -> " + together.address[nodes[1]]], "reached")
        << together.output;
    EXPECT_EQ(together.outcome[nodes[1] + " -> " + together.address[nodes[0]]], "reached")
        << together.output;

    // A job asking for one node of each group is refused: no switch spans the groups ("Requested
    // node configuration is not available" on 22.05, "topology configuration" on 24.11).
    Exchange refused = exchange("hpc-[2-3]");
    EXPECT_NE(refused.exit_code, 0) << refused.output;
    EXPECT_TRUE(refused.address.empty()) << refused.output;
    EXPECT_NE(refused.output.find("configuration is not available"), std::string::npos)
        << refused.output;

    // A node of the other group has an ib0 of its own, and no route to the pair's.
    const std::string other = nodes[0] == "hpc-1" ? "hpc-3" : "hpc-1";
    Exchange apart = probe_from(other, {together.address[nodes[0]], together.address[nodes[1]]});
    ASSERT_EQ(apart.address.size(), 1u) << apart.output << daemon_log(*m_tb);
    EXPECT_EQ(apart.address[other], expected_fabric_address(other)) << apart.output;
    EXPECT_EQ(apart.outcome.size(), 2u) << apart.output;
    for (const auto& node : nodes) {
        EXPECT_EQ(apart.outcome[other + " -> " + together.address[node]], "No route to host")
            << apart.output;
    }
}

}  // namespace
}  // namespace cb::system_test
