// topology.conf for placement groups (core/topology_conf.h); the golden file of the template's
// arrays is in gres_conf_test.cpp beside the other generated files.
#include <gtest/gtest.h>

#include "core/topology_conf.h"

namespace cb {
namespace {

// No common parent switch: Slurm never spans leaf switches without one, which keeps a job of
// an MPI array inside one placement group.
TEST(TopologyConf, OneSwitchPerPartitionGroupAndTheRestUnderOneAndNoSwitchOverThem) {
    auto lines = topology_conf_lines("burst",
                                     {{"hpc", 5, Placement::k_partition, 2},
                                      {"mpi", 3, Placement::k_job, 2},
                                      {"htc", 1, Placement::k_none, 100}},
                                     {"onprem-[1-2]"});
    ASSERT_TRUE(lines) << lines.error().describe();
    EXPECT_EQ(*lines,
              "SwitchName=burst-hpc-pg0 Nodes=hpc-[1-2]\n"
              "SwitchName=burst-hpc-pg1 Nodes=hpc-[3-4]\n"
              "SwitchName=burst-hpc-pg2 Nodes=hpc-5\n"
              "SwitchName=cloudburst-other Nodes=onprem-[1-2],mpi-[1-3],htc-1\n");
}

// Per-job groups are made for each job: no switch could name them in advance, so without a
// partition array there is nothing to write (and no TopologyPlugin to set).
TEST(TopologyConf, NothingWithoutPartitionPlacement) {
    auto lines = topology_conf_lines(
        "burst", {{"mpi", 3, Placement::k_job, 2}, {"htc", 1, Placement::k_none, 100}}, {});
    ASSERT_TRUE(lines);
    EXPECT_EQ(*lines, "");
}

// An array whose nodes all fit in one group: every job of it is in that group already, so
// there is nothing to tell Slurm (and no topology plugin to set, which dynamic nodes cannot
// live with before Slurm 25.05).
TEST(TopologyConf, NothingWhenEveryPartitionArrayFitsInOneGroup) {
    const std::vector<TopologyArray> arrays{{"hpc", 4, Placement::k_partition, 4},
                                            {"big", 100, Placement::k_partition, 0},
                                            {"htc", 50, Placement::k_none, 2}};
    EXPECT_FALSE(needs_switches(arrays));
    auto lines = topology_conf_lines("burst", arrays, {"onprem-[1-2]"});
    ASSERT_TRUE(lines);
    EXPECT_EQ(*lines, "");
    EXPECT_TRUE(needs_switches({{"hpc", 5, Placement::k_partition, 4}}));
    EXPECT_TRUE(needs_switches({{"big", 101, Placement::k_partition, 0}}));
}

TEST(TopologyConf, AClusterNameThatMakesNoValidGroupNameIsAnError) {
    auto lines = topology_conf_lines("my cluster", {{"hpc", 3, Placement::k_partition, 2}}, {});
    ASSERT_FALSE(lines);
    EXPECT_EQ(lines.error().kind, ErrorKind::k_config);
    EXPECT_EQ(lines.error().message,
              "node array hpc: placement group name 'my cluster-hpc-pg0' is not valid (1 to 64 "
              "letters, digits, '-', '_' or '.'); rename the CycleCloud cluster or node array, "
              "or set nodearrays.hpc.placement = \"none\"");
}

TEST(TopologyConf, TheSitesSwitchesAreKeptAndTheBlockReplacedInPlace) {
    const std::string site = "SwitchName=ib0 Nodes=onprem-[1-8]\n";
    auto first = topology_conf_with_block(site, "SwitchName=a Nodes=hpc-1\n");
    ASSERT_TRUE(first);
    EXPECT_EQ(*first, site + std::string(k_topology_block_begin) + "\nSwitchName=a Nodes=hpc-1\n" +
                          std::string(k_topology_block_end) + "\n");
    auto second = topology_conf_with_block(*first, "SwitchName=b Nodes=hpc-2\n");
    ASSERT_TRUE(second);
    EXPECT_EQ(*second, site + std::string(k_topology_block_begin) + "\nSwitchName=b Nodes=hpc-2\n" +
                           std::string(k_topology_block_end) + "\n");
    auto removed = topology_conf_with_block(*second, "");
    ASSERT_TRUE(removed);
    EXPECT_EQ(*removed, site);
    auto open = topology_conf_with_block(std::string(k_topology_block_begin) + "\n", "x\n");
    ASSERT_FALSE(open);
    EXPECT_EQ(open.error().message,
              "topology.conf line 1 begins cloudburst's block but no line '# END cloudburst' "
              "ends it: add that line after cloudburst's lines");
}

TEST(TopologyConf, PluginPlan) {
    EXPECT_EQ(*topology_plugin_plan(""), TopologyPluginPlan::k_write);
    EXPECT_EQ(*topology_plugin_plan("topology/default"), TopologyPluginPlan::k_write);
    EXPECT_EQ(*topology_plugin_plan("topology/none"), TopologyPluginPlan::k_write);
    EXPECT_EQ(*topology_plugin_plan("topology/tree"), TopologyPluginPlan::k_site_has);
    EXPECT_FALSE(topology_plugin_plan("topology/block"));
}

}  // namespace
}  // namespace cb
