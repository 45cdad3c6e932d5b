#include <gtest/gtest.h>

#include <algorithm>

#include "core/slurm_conf_gen.h"
#include "core/slurm_options.h"
#include "util/sanitize.h"

namespace cb {
namespace {

SkuCatalog catalog() {
    return SkuCatalog({{"Standard_F2s_v2", "standardFSv2Family", 2, 1, 4, 0, false, "", 0},
                       {"Standard_HB120rs_v3", "standardHBv3Family", 120, 120, 448, 0, true, "", 0},
                       {"Standard_NC24ads_A100_v4", "standardNCADSA100v4Family", 24, 24, 220, 1,
                        false, "A100", 0}});
}

NodeArray array(const std::string& name, const std::string& sku, int max_count) {
    NodeArray a;
    a.name = name;
    a.machine_type = sku;
    a.max_count = 0;
    Bucket b;
    b.machine_type = sku;
    b.max_count = max_count;
    a.buckets.push_back(b);
    return a;
}

// The generated text of inputs that must generate without error.
GeneratedSlurmConf generated(const std::vector<NodeArray>& arrays, const SkuCatalog& skus,
                             const Config& config) {
    auto out = generate_slurm_conf(arrays, skus, config);
    EXPECT_TRUE(out) << out.error().describe();
    return out ? *out : GeneratedSlurmConf{};
}

TEST(DampenedMemory, TakesTheLargerOfOneGibAndFivePercent) {
    EXPECT_EQ(dampened_memory_mb(4, 5, 1024), 3072);      // 5% of 4096 is 205 < 1024
    EXPECT_EQ(dampened_memory_mb(448, 5, 1024), 435814);  // 458752 - 22938
    EXPECT_EQ(dampened_memory_mb(0.5, 5, 1024), 0);       // never negative
}

TEST(SlurmConfGen, NodeAndPartitionLinesFromArraysAndCatalog) {
    Config config;
    config.cyclecloud.cluster = "burst";
    NodeArrayConfig hpc;
    hpc.name = "hpc";
    hpc.partition = "hpc";
    hpc.weight = 50;
    hpc.features = {"ib"};
    hpc.suspend_time = std::chrono::seconds(120);
    config.node_arrays.push_back(hpc);
    auto hpc_array = array("hpc", "Standard_HB120rs_v3", 8);
    hpc_array.configuration["slurm.default_partition"] = "true";
    auto out =
        generated({array("gpu", "Standard_NC24ads_A100_v4", 2), hpc_array}, catalog(), config);
    EXPECT_NE(out.nodes_conf.find("NodeName=hpc-[1-8] State=CLOUD CPUs=120 ThreadsPerCore=1 "
                                  "RealMemory=435814 Weight=50 Feature=cloud,"
                                  "Standard_HB120rs_v3,hpc,ib\n"),
              std::string::npos)
        << out.nodes_conf;
    EXPECT_NE(out.nodes_conf.find("NodeName=gpu-[1-2] State=CLOUD CPUs=24 ThreadsPerCore=1 "
                                  "RealMemory=" +
                                  std::to_string(dampened_memory_mb(220, 5, 1024)) +
                                  " Weight=100 Feature=cloud,Standard_NC24ads_A100_v4,gpu "
                                  "Gres=gpu:a100:1\n"),
              std::string::npos)
        << out.nodes_conf;
    EXPECT_NE(out.nodes_conf.find("PartitionName=hpc Nodes=hpc-[1-8] State=UP Default=YES "
                                  "SuspendTime=120 ResumeTimeout=1800\n"),
              std::string::npos)
        << out.nodes_conf;
    EXPECT_EQ(out.gres_conf, "NodeName=gpu-[1-2] Name=gpu Type=a100 File=/dev/nvidia0\n");
    EXPECT_NE(out.nodes_conf.find("\nGresTypes=gpu\n"), std::string::npos) << out.nodes_conf;
    // Stable: the same inputs give the same bytes.
    EXPECT_EQ(generated({hpc_array, array("gpu", "Standard_NC24ads_A100_v4", 2)}, catalog(), config)
                  .nodes_conf,
              out.nodes_conf);
}

TEST(SlurmConfGen, HyperthreadedSizeAndGpuOverride) {
    Config config;
    NodeArrayConfig htc;
    htc.name = "htc";
    htc.partition = "htc";
    htc.gpu_count = 0;
    config.node_arrays.push_back(htc);
    auto out = generated({array("htc", "Standard_F2s_v2", 1)}, catalog(), config);
    EXPECT_NE(out.nodes_conf.find("NodeName=htc-1 State=CLOUD CPUs=2 ThreadsPerCore=2 "
                                  "RealMemory=3072"),
              std::string::npos)
        << out.nodes_conf;
}

// The template's GPUCount (cloudburst.gpus) is what a node checks at boot; scale says when it
// is not what Slurm is told, and is quiet when it is.
TEST(SlurmConfGen, AGpuCountTheNodesCheckThatIsNotSlurmsIsAWarning) {
    Config config;
    NodeArray gpu = array("gpu", "Standard_NC24ads_A100_v4", 2);
    gpu.configuration["cloudburst.gpus"] = "2";
    auto out = generate_slurm_conf({gpu}, catalog(), config);
    ASSERT_TRUE(out) << out.error().describe();
    ASSERT_EQ(out->warnings.size(), 1u);
    EXPECT_EQ(out->warnings[0],
              "node array 'gpu': its nodes check for 2 GPUs at boot (cloudburst.gpus, the "
              "template's GPUCount) but Slurm is told 1 (Standard_NC24ads_A100_v4): make them "
              "the same");
    gpu.configuration["cloudburst.gpus"] = "1";
    out = generate_slurm_conf({gpu}, catalog(), config);
    ASSERT_TRUE(out);
    EXPECT_TRUE(out->warnings.empty());
}

// GPUs of a size the catalog does not know (it may be AMD's) get a count, no NVIDIA files.
TEST(SlurmConfGen, GpusOfAnUnknownSizeGetACountWithoutDeviceFiles) {
    Config config;
    NodeArray amd = array("amd", "Standard_ND96isr_MI300X_v5", 1);
    amd.buckets[0].vcpu_count = 96;
    amd.buckets[0].memory_gb = 1850;
    amd.buckets[0].gpu_count = 8;
    auto out = generate_slurm_conf({amd}, catalog(), config);
    ASSERT_TRUE(out) << out.error().describe();
    EXPECT_EQ(out->gres_conf.find("/dev/nvidia"), std::string::npos) << out->gres_conf;
    EXPECT_NE(out->gres_conf.find("NodeName=amd-1 Name=gpu Count=8\n"), std::string::npos)
        << out->gres_conf;
    EXPECT_NE(std::find(out->warnings.begin(), out->warnings.end(),
                        "node array 'amd': the GPUs of Standard_ND96isr_MI300X_v5 are not in the "
                        "SKU catalog; gres.conf gets Count=8 without device files"),
              out->warnings.end());
}

TEST(SlurmConfGen, ZeroCapacityIsCommentedWithReasonAndDynamicNodesAreComments) {
    Config config;
    auto dynamic = array("dynamic", "Standard_F2s_v2", 10);
    dynamic.configuration["slurm.dynamic_config"] = "-Z --conf \"Feature=dyn\"";
    auto out = generated({array("htc", "Standard_F2s_v2", 0), dynamic}, catalog(), config);
    EXPECT_NE(out.nodes_conf.find("# node array htc: Standard_F2s_v2 (2 vCPUs, 1 cores, 4 GB), "
                                  "up to 0 nodes\n# no capacity (maxCount 0: quota or limits): "
                                  "no nodes defined\n"),
              std::string::npos)
        << out.nodes_conf;
    EXPECT_EQ(out.nodes_conf.find("PartitionName=htc"), std::string::npos);
    EXPECT_EQ(out.nodes_conf.find("NodeName=htc"), std::string::npos);
    // The dynamic array's nodes are created in slurmctld (dynamic_nodes_test.cpp).
    EXPECT_NE(out.nodes_conf.find("# dynamic nodes: `cloudburst scale` creates them in "
                                  "slurmctld as\n#   NodeName=dynamic-[1-10] State=CLOUD"),
              std::string::npos)
        << out.nodes_conf;
    EXPECT_EQ(out.warnings.size(), 1u);
}

TEST(SlurmConfGen, UnknownSkuFallsBackToCycleCloudFiguresWithWarning) {
    Config config;
    auto a = array("odd", "Standard_Z9", 3);
    a.buckets[0].vcpu_count = 4;
    a.buckets[0].pcpu_count = 2;
    a.buckets[0].memory_gb = 8;
    auto out = generated({a}, catalog(), config);
    EXPECT_NE(out.nodes_conf.find("CPUs=4 ThreadsPerCore=2 RealMemory=7168"), std::string::npos);
    ASSERT_EQ(out.warnings.size(), 1u);
    EXPECT_EQ(out.warnings[0],
              "VM size Standard_Z9 is not in the SKU catalog; using CycleCloud's figures");
}

TEST(SlurmConfGen, HybridPartitionListsOnPremThenCloudWithoutSuspendTime) {
    Config config;
    config.slurm.onprem_nodes = "node[01-16]";
    for (const char* name : {"hpc", "htc"}) {
        NodeArrayConfig a;
        a.name = name;
        a.partition = name;
        a.hybrid_partition = "work";
        config.node_arrays.push_back(a);
    }
    auto out =
        generated({array("hpc", "Standard_HB120rs_v3", 8), array("htc", "Standard_F2s_v2", 4)},
                  catalog(), config);
    EXPECT_NE(out.nodes_conf.find("PartitionName=work Nodes=node[01-16],hpc-[1-8],htc-[1-4] "
                                  "State=UP\n"),
              std::string::npos)
        << out.nodes_conf;
    EXPECT_TRUE(out.warnings.empty());
    // The cloud partitions keep their own SuspendTime.
    EXPECT_NE(out.nodes_conf.find("PartitionName=htc Nodes=htc-[1-4] State=UP SuspendTime=300"),
              std::string::npos);

    config.slurm.onprem_nodes.clear();
    out = generated({array("hpc", "Standard_HB120rs_v3", 8)}, catalog(), config);
    ASSERT_EQ(out.warnings.size(), 1u);
    EXPECT_EQ(out.warnings[0],
              "hybrid partition 'work' has no on-prem nodes: set slurm.onprem_nodes");
}

// node_options and partition_options go at the end of their lines, keys in Slurm's spelling;
// node arrays sharing a partition merge theirs, and may not disagree.
TEST(SlurmConfGen, NodeAndPartitionOptionsEndTheirLines) {
    Config config;
    NodeArrayConfig hpc;
    hpc.name = "hpc";
    hpc.partition = "hpc";
    hpc.node_options = {"tmpdisk=100000", "MemSpecLimit=2048"};
    hpc.partition_options = {"DefMemPerCPU=3500", "maxtime=24:00:00"};
    NodeArrayConfig hpc2 = hpc;
    hpc2.name = "hpc2";
    hpc2.node_options.clear();
    hpc2.partition_options = {"MaxTime=24:00:00", "OverSubscribe=EXCLUSIVE"};
    config.node_arrays = {hpc, hpc2};
    const auto out =
        generated({array("hpc", "Standard_HB120rs_v3", 8), array("hpc2", "Standard_F2s_v2", 2)},
                  catalog(), config);
    EXPECT_EQ(out.nodes_conf,
              "# Generated by `cloudburst scale` from CycleCloud cluster ''.\n"
              "# Do not edit: rerunning `cloudburst scale` overwrites it. Per-array settings\n"
              "# belong in the cloudburst configuration ([nodearrays.<name>]).\n"
              "\n"
              "# node array hpc: Standard_HB120rs_v3 (120 vCPUs, 120 cores, 448 GB), up to 8 "
              "nodes\n"
              "NodeName=hpc-[1-8] State=CLOUD CPUs=120 ThreadsPerCore=1 RealMemory=435814 "
              "Weight=100 Feature=cloud,Standard_HB120rs_v3,hpc TmpDisk=100000 "
              "MemSpecLimit=2048\n"
              "\n"
              "# node array hpc2: Standard_F2s_v2 (2 vCPUs, 1 cores, 4 GB), up to 2 nodes\n"
              "NodeName=hpc2-[1-2] State=CLOUD CPUs=2 ThreadsPerCore=2 RealMemory=3072 "
              "Weight=100 Feature=cloud,Standard_F2s_v2,hpc2\n"
              "\n"
              "PartitionName=hpc Nodes=hpc-[1-8],hpc2-[1-2] State=UP SuspendTime=300 "
              "ResumeTimeout=1800 DefMemPerCPU=3500 MaxTime=24:00:00 OverSubscribe=EXCLUSIVE\n");

    config.node_arrays[1].partition_options = {"MaxTime=12:00:00"};
    auto clash = generate_slurm_conf(
        {array("hpc", "Standard_HB120rs_v3", 8), array("hpc2", "Standard_F2s_v2", 2)}, catalog(),
        config);
    ASSERT_FALSE(clash);
    EXPECT_EQ(clash.error().message,
              "node arrays hpc and hpc2 of partition hpc set its MaxTime to 24:00:00 and "
              "12:00:00: give both the same partition_options");

    // def_cpu_per_gpu writes DefCpuPerGPU too: one of the two, not both.
    config.node_arrays[1].partition_options = {"MaxTime=24:00:00"};
    config.node_arrays[0].def_cpu_per_gpu = 8;
    config.node_arrays[0].partition_options = {"DefCpuPerGPU=4"};
    clash = generate_slurm_conf(
        {array("hpc", "Standard_HB120rs_v3", 8), array("hpc2", "Standard_F2s_v2", 2)}, catalog(),
        config);
    ASSERT_FALSE(clash);
    EXPECT_EQ(clash.error().message,
              "node array hpc: DefCpuPerGPU is set twice, by def_cpu_per_gpu and in "
              "partition_options; keep one");

    // Two arrays of one partition: the second's def_cpu_per_gpu counts as much as the first's.
    config.node_arrays[0].def_cpu_per_gpu.reset();
    config.node_arrays[1].def_cpu_per_gpu = 8;
    clash = generate_slurm_conf(
        {array("hpc", "Standard_HB120rs_v3", 8), array("hpc2", "Standard_F2s_v2", 2)}, catalog(),
        config);
    ASSERT_FALSE(clash);
    EXPECT_EQ(clash.error().message,
              "node arrays hpc and hpc2 of partition hpc set its DefCpuPerGPU to 4 and 8: give "
              "both the same partition_options");
    // A Config that did not come through the loader: the backstop refuses the option.
    config.node_arrays[1].partition_options = {"State=DOWN"};
    auto owned = generate_slurm_conf({array("hpc2", "Standard_F2s_v2", 2)}, catalog(), config);
    ASSERT_FALSE(owned);
    EXPECT_EQ(owned.error().describe(),
              "node array hpc2: partition_options: sets State, which is cloudburst's own: "
              "cloudburst writes State=UP");
}

// What may be passed on, and every way an item is refused.
TEST(SlurmOptions, AllowedKeysOnlyWithPlainValues) {
    auto o = parse_slurm_option("defmempercpu=3500", SlurmLine::k_partition);
    ASSERT_TRUE(o) << o.error().describe();
    EXPECT_EQ(o->key, "DefMemPerCPU");
    EXPECT_EQ(o->value, "3500");
    const auto problem = [](std::vector<std::string> items, SlurmLine line) {
        return slurm_options_problem(items, line);
    };
    EXPECT_EQ(problem({"TmpDisk=1", "CpuSpecList=0,1"}, SlurmLine::k_node), "");
    EXPECT_EQ(problem({"MaxTime"}, SlurmLine::k_partition),
              "item 1 must be Key=value such as \"MaxTime=24:00:00\", not \"MaxTime\"");
    EXPECT_EQ(problem({"=5"}, SlurmLine::k_node),
              "item 1 must be Key=value such as \"TmpDisk=100000\", not \"=5\"");
    EXPECT_EQ(problem({"TmpDisk=1", "State=IDLE"}, SlurmLine::k_node),
              "item 2 sets State, which is cloudburst's own: cloudburst writes State=CLOUD");
    EXPECT_EQ(problem({"realmemory=1000"}, SlurmLine::k_node),
              "item 1 sets RealMemory, which is cloudburst's own: it comes from the VM size; set "
              "nodearrays.<name>.dampen_memory instead");
    EXPECT_EQ(problem({"ResumeTimeout=60"}, SlurmLine::k_partition),
              "item 1 sets ResumeTimeout, which is cloudburst's own: set "
              "nodearrays.<name>.resume_timeout instead");
    EXPECT_EQ(problem({"Nodes=x"}, SlurmLine::k_partition),
              "item 1 sets Nodes, which is cloudburst's own: it lists the partition's node "
              "arrays");
    // A partition option on the node line, and a typo.
    EXPECT_EQ(
        problem({"MaxTime=1"}, SlurmLine::k_node),
        "item 1 names 'MaxTime', which is not a NodeName= option cloudburst passes on; allowed: "
        "CoreSpecCount, CpuBind, CpuSpecList, MemSpecLimit, TmpDisk");
    EXPECT_EQ(
        problem({"MaxTim=1"}, SlurmLine::k_partition)
            .rfind("item 1 names 'MaxTim', which is not a PartitionName= option cloudburst passes "
                   "on (did you mean MaxTime?); allowed: AllocNodes, ",
                   0),
        0u);
    for (const std::string bad : {"24:00:00 Nodes=ALL", "1#x", "a=b", "\"x\"", "x\ny", "a\\b"}) {
        EXPECT_EQ(problem({"MaxTime=" + bad}, SlurmLine::k_partition),
                  "item 1 has the value \"" + escaped(bad) +
                      "\" for MaxTime: a value is 1 to 256 printable characters without spaces, "
                      "'#', '=', quotes or backslashes")
            << bad;
    }
    EXPECT_EQ(problem({"MaxTime="}, SlurmLine::k_partition),
              "item 1 has the value \"\" for MaxTime: a value is 1 to 256 printable characters "
              "without spaces, '#', '=', quotes or backslashes");
    EXPECT_EQ(problem({"MaxTime=" + std::string(257, '1')}, SlurmLine::k_partition)
                  .rfind("item 1 has the value", 0),
              0u);
    EXPECT_EQ(problem({"MaxTime=1", "maxtime=2"}, SlurmLine::k_partition),
              "item 2 sets MaxTime again (item 1 is the first); keep one");
    // Slurm takes one memory default and one memory limit per partition.
    EXPECT_EQ(problem({"DefMemPerCPU=1", "MaxTime=1", "DefMemPerNode=2"}, SlurmLine::k_partition),
              "sets DefMemPerCPU (item 1) and DefMemPerNode (item 3), which Slurm takes one of "
              "at most; keep one");
    EXPECT_EQ(problem({"MaxMemPerNode=1", "MaxMemPerCPU=2"}, SlurmLine::k_partition),
              "sets MaxMemPerCPU (item 2) and MaxMemPerNode (item 1), which Slurm takes one of at "
              "most; keep one");
    EXPECT_EQ(problem({"DefMemPerGPU=1", "MaxMemPerCPU=2"}, SlurmLine::k_partition), "");
}

TEST(LineDiff, ShowsRemovedAndAddedLines) {
    EXPECT_EQ(line_diff("a\nb\nc\n", "a\nb\nc\n"), "");
    EXPECT_EQ(line_diff("a\nb\nc\n", "a\nB\nc\nd\n"), "-b\n+B\n+d\n");
}

}  // namespace
}  // namespace cb
