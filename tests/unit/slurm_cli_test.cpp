#include <gtest/gtest.h>

#include "adapters/slurm_cli.h"

namespace cb {
namespace {

// Shaped like Slurm 22.05.8's `scontrol show node -o` (values with spaces in OS and Reason).
constexpr const char* k_two_nodes =
    "NodeName=hpc-1 CoresPerSocket=1 CPUAlloc=0 CPUTot=2 CPULoad=N/A "
    "AvailableFeatures=cloud,Standard_F2s_v2,hpc ActiveFeatures=cloud,Standard_F2s_v2,hpc "
    "Gres=(null) NodeAddr=hpc-1 NodeHostName=hpc-1 RealMemory=3072 AllocMem=0 FreeMem=N/A "
    "Sockets=2 Boards=1 State=IDLE+CLOUD+POWERED_DOWN ThreadsPerCore=1 TmpDisk=0 Weight=10 "
    "Owner=N/A MCS_label=N/A Partitions=hpc,burst BootTime=None SlurmdStartTime=None "
    "LastBusyTime=2026-11-25T10:00:00 CfgTRES=cpu=2,mem=3G,billing=2 AllocTRES= CapWatts=n/a "
    "CurrentWatts=0 AveWatts=0 ExtSensorsJoules=n/s ExtSensorsWatts=0 ExtSensorsTemp=n/s \n"
    "NodeName=hpc-2 Arch=x86_64 CoresPerSocket=1 CPUAlloc=0 CPUTot=2 "
    "AvailableFeatures=cloud ActiveFeatures=cloud Gres=(null) NodeAddr=198.18.0.7 "
    "NodeHostName=hpc-2 Version=22.05.8 OS=Linux 6.1.0-18-amd64 #1 SMP PREEMPT_DYNAMIC "
    "Debian 6.1.76-1 (2024-02-01) RealMemory=3072 State=DOWN+CLOUD+POWERED_DOWN+NOT_RESPONDING"
    "+SOMETHING_NEW ThreadsPerCore=1 Partitions=hpc "
    "Reason=cloudburst: capacity: Standard_F2s_v2 unavailable in eastus: a=b "
    "[slurm@2026-11-25T10:01:02]\n";

TEST(SlurmCliParse, NodesWithSpacesUnknownKeysAndFlags) {
    auto nodes = parse_scontrol_nodes(k_two_nodes);
    ASSERT_TRUE(nodes) << nodes.error().describe();
    ASSERT_EQ(nodes->size(), 2u);
    const auto& a = (*nodes)[0];
    EXPECT_EQ(a.name, "hpc-1");
    EXPECT_EQ(a.state.base, "IDLE");
    EXPECT_TRUE(a.state.has("CLOUD"));
    EXPECT_TRUE(a.state.has("POWERED_DOWN"));
    EXPECT_EQ(a.node_addr, "hpc-1");
    EXPECT_EQ(a.features, (std::vector<std::string>{"cloud", "Standard_F2s_v2", "hpc"}));
    EXPECT_EQ(a.partitions, (std::vector<std::string>{"hpc", "burst"}));
    EXPECT_EQ(a.reason, "");
    const auto& b = (*nodes)[1];
    EXPECT_EQ(b.node_addr, "198.18.0.7");
    EXPECT_EQ(b.state.base, "DOWN");
    EXPECT_TRUE(b.state.has("NOT_RESPONDING"));
    EXPECT_TRUE(b.state.has("SOMETHING_NEW"));
    EXPECT_EQ(b.reason,
              "cloudburst: capacity: Standard_F2s_v2 unavailable in eastus: a=b "
              "[slurm@2026-11-25T10:01:02]");
}

TEST(SlurmCliParse, GarbageLineIsAnErrorNamingTheLine) {
    auto nodes = parse_scontrol_nodes("NodeName=n1 State=IDLE\nsomething odd\n");
    ASSERT_FALSE(nodes);
    EXPECT_EQ(nodes.error().kind, ErrorKind::k_slurm);
    EXPECT_EQ(nodes.error().message, "scontrol output line 2 has no NodeName=: 'something odd'");
}

TEST(SlurmCliParse, EmptyClusterAndNoNodesMessage) {
    auto none = parse_scontrol_nodes("No nodes in the system\n");
    ASSERT_TRUE(none);
    EXPECT_TRUE(none->empty());
}

TEST(SlurmCliParse, StateIsCaseInsensitiveAndToleratesSinfoForm) {
    auto s = parse_node_state("idle+cloud+powered_down");
    EXPECT_EQ(s.base, "IDLE");
    EXPECT_TRUE(s.has("POWERED_DOWN"));
    EXPECT_EQ(parse_node_state("MIXED#").base, "MIXED");
    EXPECT_EQ(parse_node_state("").base, "");
}

TEST(SlurmCliParse, Partitions) {
    auto parts = parse_scontrol_partitions(
        "PartitionName=hpc AllowGroups=ALL Default=YES Nodes=hpc-[1-4] SuspendTime=300 "
        "ResumeTimeout=1800 SuspendTimeout=600 State=UP\n"
        "PartitionName=onprem Nodes=onprem[1-2] ResumeTimeout=GLOBAL SuspendTime=GLOBAL\n");
    ASSERT_TRUE(parts) << parts.error().describe();
    ASSERT_EQ(parts->size(), 2u);
    EXPECT_EQ((*parts)[0].nodes, "hpc-[1-4]");
    EXPECT_EQ((*parts)[0].suspend_time_seconds, 300);
    EXPECT_EQ((*parts)[0].resume_timeout_seconds, 1800);
    EXPECT_FALSE((*parts)[1].suspend_time_seconds.has_value());
}

TEST(SlurmCli, UpdatesAreBatchedAtOneHundredNamesWithPairedAddresses) {
    SlurmCli cli({"/usr/bin/scontrol", "", std::chrono::milliseconds(1000)});
    NodeUpdate u;
    for (int i = 1; i <= 250; ++i) {
        u.names.push_back("n" + std::to_string(i));
        u.node_addrs.push_back("198.18.0." + std::to_string(i));
    }
    u.node_hostnames = u.names;
    const auto cmds = cli.update_commands(u);
    ASSERT_EQ(cmds.size(), 3u);
    EXPECT_EQ(cmds[0][0], "update");
    EXPECT_EQ(cmds[0][1].rfind("NodeName=n1,n2,", 0), 0u);
    EXPECT_EQ(cmds[2][1], [] {
        std::string s = "NodeName=";
        for (int i = 201; i <= 250; ++i) {
            s += (i > 201 ? "," : "") + ("n" + std::to_string(i));
        }
        return s;
    }());
    EXPECT_EQ(cmds[1][2].rfind("NodeAddr=198.18.0.101,", 0), 0u);
}

TEST(SlurmCli, DownRequiresReasonPassedAsOneArgument) {
    SlurmCli cli({});
    const auto cmds =
        cli.update_commands({{"a", "b"}, "DOWN", "cloudburst: quota: no cores left", {}, {}});
    ASSERT_EQ(cmds.size(), 1u);
    EXPECT_EQ(cmds[0], (std::vector<std::string>{"update", "NodeName=a,b", "State=DOWN",
                                                 "Reason=cloudburst: quota: no cores left"}));
}

TEST(SlurmCli, MismatchedAddressCountIsRefused) {
    SlurmCli cli({});
    auto st = cli.update_nodes({{"a", "b"}, "", "", {"198.18.0.1"}, {}});
    ASSERT_FALSE(st);
    EXPECT_EQ(st.error().kind, ErrorKind::k_internal);
}

TEST(SlurmCli, MissingScontrolIsAnError) {
    SlurmCli cli({"/nonexistent/scontrol", "", std::chrono::milliseconds(1000)});
    auto nodes = cli.nodes();
    ASSERT_FALSE(nodes);
    EXPECT_EQ(nodes.error().kind, ErrorKind::k_io);
}

}  // namespace
}  // namespace cb
