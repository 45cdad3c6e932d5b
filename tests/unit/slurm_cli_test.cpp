#include <gtest/gtest.h>

#include <algorithm>

#include "adapters/slurm_cli.h"
#include "fakes/temp_dir.h"
#include "util/files.h"

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
    EXPECT_EQ(a.node_hostname, "hpc-1");
    EXPECT_EQ(a.features, (std::vector<std::string>{"cloud", "Standard_F2s_v2", "hpc"}));
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

// scontrol's output is read as it comes, in pieces that split lines anywhere: 3,000 records
// (600 KB, many pipe reads) come out as parsing the whole text gives them.
TEST(SlurmCli, NodesAreReadFromScontrolAsTheyCome) {
    testing_fakes::TempDir tmp("cb-slurm-cli");
    std::string text;
    for (int i = 1; i <= 1500; ++i) {
        std::string two = k_two_nodes;
        for (const char* name : {"hpc-1 ", "hpc-2 "}) {
            const std::string numbered =
                std::string(name, 4) + std::to_string(i) + (name[4] == '1' ? "a " : "b ");
            for (auto at = two.find(name); at != std::string::npos; at = two.find(name, at + 1)) {
                two.replace(at, 6, numbered);
            }
        }
        text += two;
    }
    ASSERT_TRUE(write_file_atomic(tmp.path() + "/nodes.txt", text));
    ASSERT_TRUE(write_file_atomic(tmp.path() + "/scontrol",
                                  "#!/bin/sh\nexec /bin/cat " + tmp.path() + "/nodes.txt\n", 0755));
    SlurmCli cli({tmp.path() + "/scontrol", "", std::chrono::milliseconds(10000)});
    auto streamed = cli.nodes();
    ASSERT_TRUE(streamed) << streamed.error().describe();
    auto whole = parse_scontrol_nodes(text);
    ASSERT_TRUE(whole);
    ASSERT_EQ(streamed->size(), 3000u);
    ASSERT_EQ(whole->size(), 3000u);
    for (std::size_t i = 0; i < whole->size(); ++i) {
        const auto& a = (*streamed)[i];
        const auto& b = (*whole)[i];
        ASSERT_EQ(a.name, b.name) << i;
        EXPECT_EQ(a.state.base, b.state.base) << a.name;
        EXPECT_EQ(a.state.flags, b.state.flags) << a.name;
        EXPECT_EQ(a.node_addr, b.node_addr) << a.name;
        EXPECT_EQ(a.node_hostname, b.node_hostname) << a.name;
        EXPECT_EQ(a.features, b.features) << a.name;
        EXPECT_EQ(a.reason, b.reason) << a.name;
    }
    EXPECT_EQ((*streamed)[2999].name, "hpc-1500b");
    EXPECT_EQ((*streamed)[2999].node_addr, "198.18.0.7");
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

// Verbatim from Slurm 24.11.5 (Debian 13; scripts/testbed.sh --slurm 24.11): a burst node
// running a job (24.11 keeps +CLOUD on it for good), a cloud node set DOWN by hand, and one
// asked to power up (POWER_UP beside POWERED_DOWN until ResumeProgram runs).
constexpr const char* k_nodes_24_11 =
    "NodeName=hpc-1 Arch=x86_64 CoresPerSocket=1  CPUAlloc=1 CPUEfctv=1 CPUTot=1 CPULoad="
    "5.45 AvailableFeatures=cloud ActiveFeatures=cloud Gres=(null) NodeAddr=198.18.100.12"
    "8 NodeHostName=hpc-1 Version=24.11.5 OS=Linux 6.18.44-fc-v1272 #1 SMP PREEMPT_DYNAMI"
    "C @0  RealMemory=100 AllocMem=100 FreeMem=19985 Sockets=1 Boards=1 State=ALLOCATED+C"
    "LOUD ThreadsPerCore=1 TmpDisk=0 Weight=10 Owner=N/A MCS_label=N/A Partitions=work,cl"
    "oud  BootTime=2026-12-06T18:22:59 SlurmdStartTime=2026-12-06T18:23:00 LastBusyTime=2"
    "026-12-06T18:23:00 ResumeAfterTime=None CfgTRES=cpu=1,mem=100M,billing=1 AllocTRES=c"
    "pu=1,mem=100M CurrentWatts=0 AveWatts=0 \nNodeName=hpc-3 CoresPerSocket=1  CPUAlloc=0"
    " CPUEfctv=1 CPUTot=1 CPULoad=0.00 AvailableFeatures=cloud ActiveFeatures=cloud Gres="
    "(null) NodeAddr=hpc-3 NodeHostName=hpc-3  RealMemory=100 AllocMem=0 FreeMem=N/A Sock"
    "ets=1 Boards=1 State=DOWN+CLOUD+POWERED_DOWN ThreadsPerCore=1 TmpDisk=0 Weight=10 Ow"
    "ner=N/A MCS_label=N/A Partitions=work,cloud  BootTime=None SlurmdStartTime=None Last"
    "BusyTime=Unknown ResumeAfterTime=None CfgTRES=cpu=1,mem=100M,billing=1 AllocTRES= Cu"
    "rrentWatts=0 AveWatts=0  Reason=test reason x [root@2026-12-06T18:23:05]\nNodeName=hp"
    "c-2 CoresPerSocket=1  CPUAlloc=0 CPUEfctv=1 CPUTot=1 CPULoad=0.00 AvailableFeatures="
    "cloud ActiveFeatures=cloud Gres=(null) NodeAddr=hpc-2 NodeHostName=hpc-2  RealMemory"
    "=100 AllocMem=0 FreeMem=N/A Sockets=1 Boards=1 State=IDLE+CLOUD+POWER_UP+POWERED_DOW"
    "N ThreadsPerCore=1 TmpDisk=0 Weight=10 Owner=N/A MCS_label=N/A Partitions=work,cloud"
    "  BootTime=None SlurmdStartTime=None LastBusyTime=Unknown ResumeAfterTime=None CfgTR"
    "ES=cpu=1,mem=100M,billing=1 AllocTRES= CurrentWatts=0 AveWatts=0 ";

// `scontrol show partition -o` of Slurm 24.11.5: PowerDownOnIdle (new since 22.05) follows
// SuspendTime, and keys 22.05 also prints (TotalCPUs, TRES, ...) sit between the ones read.
constexpr const char* k_partitions_24_11 =
    "PartitionName=work AllowGroups=ALL AllowAccounts=ALL AllowQos=ALL AllocNodes=ALL Def"
    "ault=YES QoS=N/A DefaultTime=NONE DisableRootJobs=NO ExclusiveUser=NO ExclusiveTopo="
    "NO GraceTime=0 Hidden=NO MaxNodes=UNLIMITED MaxTime=UNLIMITED MinNodes=0 LLN=NO MaxC"
    "PUsPerNode=UNLIMITED MaxCPUsPerSocket=UNLIMITED Nodes=hpc-[1-4] PriorityJobFactor=1 "
    "PriorityTier=1 RootOnly=NO ReqResv=NO OverSubscribe=NO OverTimeLimit=NONE PreemptMod"
    "e=OFF State=UP TotalCPUs=4 TotalNodes=4 SelectTypeParameters=NONE JobDefaults=(null)"
    " DefMemPerNode=UNLIMITED MaxMemPerNode=UNLIMITED TRES=cpu=4,mem=400M,node=4,billing="
    "4 ResumeTimeout=GLOBAL SuspendTimeout=GLOBAL SuspendTime=GLOBAL PowerDownOnIdle=NO\nP"
    "artitionName=cloud AllowGroups=ALL AllowAccounts=ALL AllowQos=ALL AllocNodes=ALL Def"
    "ault=NO QoS=N/A DefaultTime=NONE DisableRootJobs=NO ExclusiveUser=NO ExclusiveTopo=N"
    "O GraceTime=0 Hidden=NO MaxNodes=UNLIMITED MaxTime=UNLIMITED MinNodes=0 LLN=NO MaxCP"
    "UsPerNode=UNLIMITED MaxCPUsPerSocket=UNLIMITED Nodes=hpc-[1-4] PriorityJobFactor=1 P"
    "riorityTier=1 RootOnly=NO ReqResv=NO OverSubscribe=NO OverTimeLimit=NONE PreemptMode"
    "=OFF State=UP TotalCPUs=4 TotalNodes=4 SelectTypeParameters=NONE JobDefaults=(null) "
    "DefMemPerNode=UNLIMITED MaxMemPerNode=UNLIMITED TRES=cpu=4,mem=400M,node=4,billing=4"
    " ResumeTimeout=GLOBAL SuspendTimeout=GLOBAL SuspendTime=300 PowerDownOnIdle=NO";

TEST(SlurmCliParse, NodesOfSlurm24_11) {
    auto nodes = parse_scontrol_nodes(k_nodes_24_11);
    ASSERT_TRUE(nodes) << nodes.error().describe();
    ASSERT_EQ(nodes->size(), 3u);
    const auto& running = (*nodes)[0];
    EXPECT_EQ(running.name, "hpc-1");
    EXPECT_EQ(running.state.base, "ALLOCATED");
    EXPECT_TRUE(running.state.has("CLOUD"));
    EXPECT_FALSE(running.state.has("POWERED_DOWN"));
    EXPECT_FALSE(running.state.has("POWERING_UP"));
    EXPECT_EQ(running.node_addr, "198.18.100.128");
    EXPECT_EQ(running.node_hostname, "hpc-1");
    const auto& down = (*nodes)[1];
    EXPECT_EQ(down.state.base, "DOWN");
    EXPECT_TRUE(down.state.has("POWERED_DOWN"));
    EXPECT_EQ(down.reason, "test reason x [root@2026-12-06T18:23:05]");
    const auto& asked = (*nodes)[2];
    EXPECT_EQ(asked.state.base, "IDLE");
    EXPECT_TRUE(asked.state.has("POWER_UP"));
    EXPECT_TRUE(asked.state.has("POWERED_DOWN"));
    EXPECT_EQ(asked.node_addr, "hpc-2");
}

TEST(SlurmCliParse, PartitionsOfSlurm24_11) {
    auto parts = parse_scontrol_partitions(k_partitions_24_11);
    ASSERT_TRUE(parts) << parts.error().describe();
    ASSERT_EQ(parts->size(), 2u);
    EXPECT_EQ((*parts)[0].name, "work");
    EXPECT_EQ((*parts)[0].nodes, "hpc-[1-4]");
    EXPECT_FALSE((*parts)[0].suspend_time_seconds.has_value());  // GLOBAL
    EXPECT_FALSE((*parts)[0].resume_timeout_seconds.has_value());
    EXPECT_EQ((*parts)[1].name, "cloud");
    EXPECT_EQ((*parts)[1].nodes, "hpc-[1-4]");
    EXPECT_EQ((*parts)[1].suspend_time_seconds, 300);
}

TEST(SlurmCli, UpdatesAreBatchedAtFiveThousandNamesWithPairedAddresses) {
    SlurmCli cli({"/usr/bin/scontrol", "", std::chrono::milliseconds(1000)});
    NodeUpdate u;
    for (int i = 1; i <= 12000; ++i) {
        u.names.push_back("n" + std::to_string(i));
        u.node_addrs.push_back("10." + std::to_string(i / 250) + "." + std::to_string(i % 250));
    }
    u.node_hostnames = u.names;
    const auto cmds = cli.update_commands(u);
    ASSERT_EQ(cmds.size(), 3u);
    EXPECT_EQ(cmds[0][0], "update");
    EXPECT_EQ(cmds[0][1].rfind("NodeName=n1,n2,", 0), 0u);
    EXPECT_EQ(cmds[2][1], [] {
        std::string s = "NodeName=";
        for (int i = 10001; i <= 12000; ++i) {
            s += (i > 10001 ? "," : "") + ("n" + std::to_string(i));
        }
        return s;
    }());
    // The second batch's addresses start with the 5,001st node's.
    EXPECT_EQ(cmds[1][2].rfind("NodeAddr=10.20.1,10.20.2,", 0), 0u);
    EXPECT_EQ(cmds[1][3].rfind("NodeHostName=n5001,n5002,", 0), 0u);
}

TEST(SlurmCli, LongNamesSplitUpdatesToKeepEachArgumentUnderTheKernelsLimit) {
    // Names of 63 characters, the longest: about 1,000 fit in one argument of 64 KiB.
    SlurmCli cli({});
    NodeUpdate u;
    for (int i = 0; i < 2500; ++i) {
        std::string name = "n" + std::to_string(i);
        u.names.push_back(name + std::string(63 - name.size(), 'x'));
    }
    u.node_hostnames = u.names;
    const auto cmds = cli.update_commands(u);
    ASSERT_EQ(cmds.size(), 3u);
    std::size_t names = 0;
    for (const auto& cmd : cmds) {
        for (const auto& arg : cmd) {
            EXPECT_LE(arg.size(), SlurmCli::k_max_argument_bytes) << arg.substr(0, 40);
        }
        const std::string& list = cmd[1];
        names += static_cast<std::size_t>(std::count(list.begin(), list.end(), ',')) + 1;
    }
    EXPECT_EQ(names, 2500u);  // every name once, none lost at a split
    EXPECT_EQ(cmds[1][1].substr(0, 12), "NodeName=n10");
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

TEST(SlurmCliParse, SqueueJobLine) {
    auto job = parse_squeue_job("6|PENDING|hpc|3||ReqNodeNotAvail, UnavailableNodes:hpc-[1-3]\n");
    ASSERT_TRUE(job);
    ASSERT_TRUE(job->has_value());
    EXPECT_EQ((*job)->id, "6");
    EXPECT_EQ((*job)->state, "PENDING");
    EXPECT_EQ((*job)->partition, "hpc");
    EXPECT_EQ((*job)->num_nodes, "3");
    EXPECT_EQ((*job)->nodes, "");
    EXPECT_EQ((*job)->reason, "ReqNodeNotAvail, UnavailableNodes:hpc-[1-3]");
    auto none = parse_squeue_job("");
    ASSERT_TRUE(none);
    EXPECT_FALSE(none->has_value());
    auto bad = parse_squeue_job("6|PENDING\x1b[2J\n");
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().message,
              "squeue printed '6|PENDING\\x1b[2J', expected ID|STATE|PARTITION|NODES|NODELIST|"
              "REASON");
}

}  // namespace
}  // namespace cb
