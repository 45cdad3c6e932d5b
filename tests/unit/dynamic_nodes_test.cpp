// Dynamic node arrays (core/dynamic_nodes.h): the template's slurm.dynamic_config read, what
// `scale` creates and what it says about nodes slurmctld has already; the generated conf's
// Nodeset, partition and MaxNodeCount (core/slurm_conf_gen.h); the scontrol create argv.
#include <gtest/gtest.h>

#include <chrono>

#include "adapters/slurm_cli.h"
#include "core/builtin_skus.h"
#include "core/doctor_checks.h"
#include "core/dynamic_nodes.h"
#include "core/placement.h"
#include "core/slurm_conf_gen.h"
#include "golden.h"
#include "util/process.h"

namespace cb {
namespace {

SkuCatalog catalog() {
    return SkuCatalog({{"Standard_F2s_v2", "standardFSv2Family", 2, 1, 4, 0, false, "", 0},
                       {"Standard_F4s_v2", "standardFSv2Family", 4, 2, 8, 0, false, "", 0}});
}

// The template's dynamic array: two sizes, 4 cores (2 F2s_v2 nodes, 1 F4s_v2 node).
NodeArray dynamic_array(const std::string& config = "-Z --conf \"Feature=dyn\"") {
    NodeArray a;
    a.name = "dynamic";
    a.machine_type = "Standard_F2s_v2";
    a.configuration["slurm.dynamic_config"] = config;
    for (const auto& [sku, count] :
         std::vector<std::pair<std::string, int>>{{"Standard_F2s_v2", 2}, {"Standard_F4s_v2", 1}}) {
        Bucket b;
        b.machine_type = sku;
        b.max_count = count;
        a.buckets.push_back(b);
    }
    return a;
}

NodeArray static_array(const std::string& name, int count) {
    NodeArray a;
    a.name = name;
    a.machine_type = "Standard_F2s_v2";
    Bucket b;
    b.machine_type = "Standard_F2s_v2";
    b.max_count = count;
    a.buckets.push_back(b);
    return a;
}

TEST(DynamicConfigFeatures, TheTemplatesFormAndItsVariants) {
    using V = std::vector<std::string>;
    EXPECT_EQ(*dynamic_config_features("-Z --conf \"Feature=dyn\""), V{"dyn"});
    EXPECT_EQ(*dynamic_config_features("-Z"), V{});
    EXPECT_EQ(*dynamic_config_features("-Z --conf=Feature=a,b"), (V{"a", "b"}));
    EXPECT_EQ(*dynamic_config_features("-Z --conf \"RealMemory=800 Features=x,x,y\""),
              (V{"x", "y"}));
}

TEST(DynamicConfigFeatures, AnythingElseIsRefusedNamingTheValueAndTheForm) {
    const std::string form =
        ": expected -Z, optionally followed by --conf \"Key=value ...\" (as the template's -Z "
        "--conf \"Feature=dyn\")";
    const auto message = [](std::string_view v) {
        auto r = dynamic_config_features(v);
        EXPECT_FALSE(r) << v;
        return r ? std::string() : r.error().message;
    };
    EXPECT_EQ(message("-F"), "slurm.dynamic_config \"-F\" does not start with -Z" + form);
    EXPECT_EQ(message("-Z --conf \"Feature=dyn"),
              "slurm.dynamic_config \"-Z --conf \"Feature=dyn\" has a quote that does not "
              "close" +
                  form);
    EXPECT_EQ(message("-Z -N other"),
              "slurm.dynamic_config \"-Z -N other\" has slurmd options other than --conf" + form);
    EXPECT_EQ(message("-Z --conf \"Feature=a;rm\""),
              "slurm.dynamic_config \"-Z --conf \"Feature=a;rm\"\" has feature 'a;rm', not a "
              "plain name" +
                  form);
    EXPECT_EQ(message("-Z --conf \"dyn\""),
              "slurm.dynamic_config \"-Z --conf \"dyn\"\" has --conf word 'dyn', which is not "
              "Key=value" +
                  form);
    EXPECT_EQ(dynamic_config_features("-Z\n--conf x").error().kind, ErrorKind::k_config);
}

TEST(DynamicSlurmConf, ANodesetForTheArrayItsPartitionAndRoomForEveryNode) {
    Config config;
    config.cyclecloud.cluster = "burst";
    auto out = generate_slurm_conf({dynamic_array(), static_array("htc", 3)}, catalog(), config, "",
                                   "", {}, 4);
    ASSERT_TRUE(out) << out.error().describe();
    // No node line Slurm would read: the nodes are shown, commented.
    EXPECT_NE(out->nodes_conf.find(
                  "# node array dynamic: Standard_F2s_v2 (2 vCPUs, 1 cores, 4 GB), up to 2 nodes\n"
                  "# dynamic nodes: `cloudburst scale` creates them in slurmctld as\n"
                  "#   NodeName=dynamic-[1-2] State=CLOUD CPUs=2 ThreadsPerCore=2 "
                  "RealMemory=3072 Weight=100 Feature=cloud,Standard_F2s_v2,dynamic,dyn\n"),
              std::string::npos)
        << out->nodes_conf;
    EXPECT_EQ(out->nodes_conf.find("\nNodeName=dynamic"), std::string::npos) << out->nodes_conf;
    EXPECT_NE(out->nodes_conf.find("\nNodeset=dynamicns Feature=dynamic\n"), std::string::npos);
    // 4 of the site's, 3 htc, 2 + 1 dynamic.
    EXPECT_NE(out->nodes_conf.find("\nMaxNodeCount=10\n"), std::string::npos) << out->nodes_conf;
    EXPECT_NE(out->nodes_conf.find("\nPartitionName=dynamic Nodes=dynamicns State=UP "
                                   "SuspendTime=300 ResumeTimeout=1800\n"),
              std::string::npos)
        << out->nodes_conf;
    ASSERT_EQ(out->dynamic_nodes.size(), 2u);
    const DynamicRange& second = out->dynamic_nodes[1];
    EXPECT_EQ(second.range, "dynamic-f4s-v2");
    EXPECT_EQ(second.hostlist, "dynamic-f4s-v2-1");
    EXPECT_EQ(
        SlurmCli::create_command(second.hostlist, second.fields),
        (std::vector<std::string>{"create", "NodeName=dynamic-f4s-v2-1", "State=CLOUD", "CPUs=4",
                                  "ThreadsPerCore=2", "RealMemory=7168", "Weight=101",
                                  "Feature=cloud,Standard_F4s_v2,dynamic,dyn"}));
}

// The template's arrays with the MPI array on per-job placement groups (no topology.conf),
// as docs/setup.md advises for a cluster with a dynamic array.
TEST(DynamicSlurmConfGolden, TemplateArraysWithPerJobPlacement) {
    auto skus = SkuCatalog::parse(builtin_sku_catalog_json(), "built-in");
    ASSERT_TRUE(skus);
    Config config;
    config.cyclecloud.cluster = "burst";
    NodeArrayConfig hpc;
    hpc.name = "hpc";
    hpc.partition = "hpc";
    hpc.placement = Placement::k_job;
    config.node_arrays.push_back(hpc);
    auto hpc_array = static_array("hpc", 50);
    hpc_array.configuration["slurm.hpc"] = "true";
    hpc_array.configuration["slurm.default_partition"] = "true";
    auto out = generate_slurm_conf({hpc_array, static_array("htc", 50), dynamic_array()}, *skus,
                                   config, "", "", {}, 2);
    ASSERT_TRUE(out) << out.error().describe();
    testing_golden::expect_golden("template-dynamic-cloudburst.conf", out->nodes_conf);
}

TEST(DynamicSlurmConf, ASiteMaxNodeCountIsKeptWhenItHasRoomAndRefusedWhenNot) {
    Config config;
    auto roomy = generate_slurm_conf({dynamic_array()}, catalog(), config, "", "", {}, 4, "100");
    ASSERT_TRUE(roomy) << roomy.error().describe();
    EXPECT_EQ(roomy->nodes_conf.find("\nMaxNodeCount="), std::string::npos);
    EXPECT_NE(roomy->nodes_conf.find("# MaxNodeCount: slurm.conf's own (100) has room for 7 "
                                     "nodes.\n"),
              std::string::npos);
    auto tight = generate_slurm_conf({dynamic_array()}, catalog(), config, "", "", {}, 4, "6");
    ASSERT_FALSE(tight);
    EXPECT_EQ(tight.error().kind, ErrorKind::k_config);
    EXPECT_EQ(tight.error().message,
              "slurm.conf sets MaxNodeCount=6, but its nodes and the cloud's, dynamic ones "
              "included, are 7: raise it, or remove it and `cloudburst scale` writes it");
}

TEST(DynamicSlurmConf, AnUnreadableDynamicConfigSkipsTheArrayWithAWarning) {
    Config config;
    auto out = generate_slurm_conf({dynamic_array("-Z; reboot")}, catalog(), config);
    ASSERT_TRUE(out) << out.error().describe();
    EXPECT_TRUE(out->dynamic_nodes.empty());
    EXPECT_EQ(out->nodes_conf.find("Nodeset="), std::string::npos);
    EXPECT_EQ(out->nodes_conf.find("MaxNodeCount"), std::string::npos);
    ASSERT_EQ(out->warnings.size(), 1u);
    EXPECT_EQ(out->warnings[0].rfind("node array 'dynamic' skipped: slurm.dynamic_config "
                                     "\"-Z; reboot\" does not start with -Z",
                                     0),
              0u)
        << out->warnings[0];
}

// Slurm 22.05 and 24.11 refuse every job on a dynamic node under topology/tree ("Requested
// node/topology configuration is not available"): the array is skipped, saying which array's
// placement (or the site's plugin) asks for topology.
TEST(DynamicSlurmConf, ATopologyPluginSkipsTheDynamicArrayNamingWhoNeedsIt) {
    Config config;
    auto hpc = static_array("hpc", 4);
    hpc.configuration["slurm.hpc"] = "true";
    // In one placement group hpc needs no switch: the dynamic array stays.
    auto one_group = generate_slurm_conf({dynamic_array(), hpc}, catalog(), config);
    ASSERT_TRUE(one_group) << one_group.error().describe();
    EXPECT_EQ(one_group->dynamic_nodes.size(), 2u);
    EXPECT_TRUE(one_group->topology_conf.empty()) << one_group->topology_conf;
    // In two it does, and the dynamic array goes.
    hpc.buckets[0].max_placement_group_size = 2;
    auto out = generate_slurm_conf({dynamic_array(), hpc}, catalog(), config);
    ASSERT_TRUE(out) << out.error().describe();
    EXPECT_TRUE(out->dynamic_nodes.empty());
    EXPECT_EQ(out->nodes_conf.find("Nodeset="), std::string::npos) << out->nodes_conf;
    EXPECT_NE(out->nodes_conf.find("# node array dynamic: dynamic nodes, which Slurm places no "
                                   "job on under a topology plugin; nothing generated\n"),
              std::string::npos)
        << out->nodes_conf;
    ASSERT_EQ(out->warnings.size(), 1u);
    EXPECT_EQ(out->warnings[0],
              "node array 'dynamic' skipped: Slurm places no job on dynamic nodes under a "
              "topology plugin (they join no switch before Slurm 25.05), which the placement "
              "groups of node array hpc (more nodes than one group holds: "
              "TopologyPlugin=topology/tree; set its placement to \"job\" or \"none\", or its "
              "nodes to one group's) needs; or make the array static (no slurm.dynamic_config)");
    auto site = generate_slurm_conf({dynamic_array()}, catalog(), config, "", "topology/tree");
    ASSERT_TRUE(site) << site.error().describe();
    EXPECT_TRUE(site->dynamic_nodes.empty());
    ASSERT_EQ(site->warnings.size(), 1u);
    EXPECT_NE(site->warnings[0].find("which slurm.conf's TopologyPlugin=topology/tree needs"),
              std::string::npos)
        << site->warnings[0];
    // Per-job placement writes no topology: the dynamic array stays.
    NodeArrayConfig per_job;
    per_job.name = "hpc";
    per_job.partition = "hpc";
    per_job.placement = Placement::k_job;
    config.node_arrays.push_back(per_job);
    auto job = generate_slurm_conf({dynamic_array(), hpc}, catalog(), config);
    ASSERT_TRUE(job) << job.error().describe();
    EXPECT_EQ(job->dynamic_nodes.size(), 2u);
}

TEST(DynamicSlurmConf, KeepAliveOfADynamicArrayIsAWarningNotALine) {
    Config config;
    NodeArrayConfig settings;
    settings.name = "dynamic";
    settings.partition = "dynamic";
    settings.keep_alive = 1;
    config.node_arrays.push_back(settings);
    auto out = generate_slurm_conf({dynamic_array()}, catalog(), config);
    ASSERT_TRUE(out) << out.error().describe();
    EXPECT_TRUE(out->suspend_exc_nodes.empty());
    ASSERT_EQ(out->warnings.size(), 1u);
    EXPECT_EQ(out->warnings[0],
              "node array 'dynamic': keep_alive is not written for dynamic nodes (slurm.conf's "
              "SuspendExcNodes is read before they exist); use `cloudburst keep-alive` once "
              "they do");
}

DynamicRange f2_range() {
    return {"dynamic",
            "dynamic",
            "dynamic-[1-4]",
            {{"State", "CLOUD"},
             {"CPUs", "2"},
             {"RealMemory", "3072"},
             {"Weight", "100"},
             {"Feature", "cloud,Standard_F2s_v2,dynamic,dyn"}}};
}

ExistingNode same_as_spec(const std::string& name) {
    return {name, true, "2", "3072", "cloud,Standard_F2s_v2,dynamic,dyn", "", "100"};
}

TEST(PlanDynamicRange, CreatesOnlyTheMissingNames) {
    auto plan = plan_dynamic_range(
        f2_range(), {same_as_spec("dynamic-2"), same_as_spec("dynamic-4"), same_as_spec("htc-1")});
    ASSERT_TRUE(plan) << plan.error().describe();
    // Never a name Slurm has: 24.11 drops an existing node when a create names it.
    EXPECT_EQ(plan->create, "dynamic-[1,3]");
    EXPECT_EQ(plan->existing, 2);
    EXPECT_TRUE(plan->mismatches.empty());
    auto all_there =
        plan_dynamic_range(f2_range(), {same_as_spec("dynamic-1"), same_as_spec("dynamic-2"),
                                        same_as_spec("dynamic-3"), same_as_spec("dynamic-4")});
    ASSERT_TRUE(all_there);
    EXPECT_EQ(all_there->create, "");
}

TEST(PlanDynamicRange, ANodeWithOtherAttributesOrFromSlurmConfIsNamedNotTouched) {
    ExistingNode bigger = same_as_spec("dynamic-1");
    bigger.cpus = "4";
    ExistingNode registered = same_as_spec("dynamic-2");
    registered.gres = "gpu:a100:1(S:0)";
    ExistingNode in_conf = same_as_spec("dynamic-3");
    in_conf.dynamic = false;
    auto plan = plan_dynamic_range(f2_range(), {bigger, registered, in_conf});
    ASSERT_TRUE(plan) << plan.error().describe();
    EXPECT_EQ(plan->create, "dynamic-4");
    EXPECT_EQ(plan->mismatches,
              (std::vector<std::string>{
                  "node dynamic-1 exists with CPUs=4, scale makes CPUs=2: when it is powered "
                  "down and idle, `scontrol delete NodeName=dynamic-1` and run `cloudburst "
                  "scale` again",
                  "node dynamic-2 exists with Gres=gpu:a100:1, scale makes Gres=(none): when it "
                  "is powered down and idle, `scontrol delete NodeName=dynamic-2` and run "
                  "`cloudburst scale` again",
                  "node dynamic-3 is defined in slurm.conf, not created at run time: take its "
                  "NodeName line out of the site's configuration"}));
}

TEST(ScontrolNodeSpecs, ReadsWhatScaleComparesFromBothVersionsLines) {
    // 22.05 and 24.11, as each prints a node it created (trimmed to the keys around ours).
    const std::string text =
        "NodeName=dynamic-1 CoresPerSocket=1  CPUAlloc=0 CPUEfctv=2 CPUTot=2 CPULoad=N/A "
        "AvailableFeatures=cloud,dyn,Standard_F2s_v2,dynamic "
        "ActiveFeatures=cloud,dyn,Standard_F2s_v2,dynamic Gres=(null) NodeAddr=dynamic-1 "
        "NodeHostName=dynamic-1  RealMemory=3000 AllocMem=0 FreeMem=N/A Sockets=2 Boards=1 "
        "State=IDLE+CLOUD+DYNAMIC_NORM+POWERED_DOWN ThreadsPerCore=1 TmpDisk=0 Weight=100 "
        "Owner=N/A MCS_label=N/A Partitions=dynamic\n"
        "NodeName=htc-1 CoresPerSocket=1 CPUAlloc=0 CPUEfctv=2 CPUTot=2 CPULoad=0.00 "
        "AvailableFeatures=cloud ActiveFeatures=cloud Gres=gpu:a100:1(S:0) NodeAddr=htc-1 "
        "NodeHostName=htc-1 RealMemory=3072 State=IDLE+CLOUD+POWERED_DOWN ThreadsPerCore=1 "
        "Weight=100 ResumeAfterTime=None\n";
    auto nodes = parse_scontrol_node_specs(text);
    ASSERT_TRUE(nodes) << nodes.error().describe();
    ASSERT_EQ(nodes->size(), 2u);
    const ExistingNode& d = (*nodes)[0];
    EXPECT_EQ(d.name, "dynamic-1");
    EXPECT_TRUE(d.dynamic);
    EXPECT_EQ(d.cpus, "2");
    EXPECT_EQ(d.real_memory, "3000");
    EXPECT_EQ(d.features, "cloud,dyn,Standard_F2s_v2,dynamic");
    EXPECT_EQ(d.gres, "");
    EXPECT_EQ(d.weight, "100");
    EXPECT_FALSE((*nodes)[1].dynamic);
    EXPECT_EQ((*nodes)[1].gres, "gpu:a100:1(S:0)");
}

TEST(ScontrolCreate, AWordThatWouldSplitOrAListThatIsNotPlainNamesIsRefused) {
    SlurmCliOptions options;
    options.scontrol = "/nonexistent/scontrol";  // never reached
    SlurmCli slurm(options);
    auto space = slurm.create_nodes("dynamic-1", {{"Feature", "a Weight=1"}});
    ASSERT_FALSE(space);
    EXPECT_EQ(space.error().kind, ErrorKind::k_invalid_input);
    EXPECT_EQ(space.error().message,
              "refusing to run scontrol create: Feature=\"a Weight=1\" is not one Key=value "
              "word; nothing was changed");
    auto names = slurm.create_nodes("dyn[1-", {{"State", "CLOUD"}});
    ASSERT_FALSE(names);
    EXPECT_EQ(names.error().message,
              "refusing to run scontrol create: 'dyn[1-' is not a hostlist; nothing was changed");
}

}  // namespace
}  // namespace cb

namespace cb {
namespace {

TEST(DoctorDynamicNodes, MissingNodesAndASkippedArrayAreProblemsPresentOnesOk) {
    Config config;
    auto generated = generate_slurm_conf({dynamic_array()}, catalog(), config);
    ASSERT_TRUE(generated) << generated.error().describe();
    const std::vector<ExistingNode> none;
    EXPECT_EQ(format_check(check_dynamic_nodes({dynamic_array()}, *generated, none)),
              "problem  dynamic-nodes: slurmctld lacks dynamic nodes dynamic-[1-2]: run "
              "`cloudburst scale` (after a change of the array, restart slurmctld first so that "
              "it reads their Nodeset and MaxNodeCount); slurmctld lacks dynamic nodes "
              "dynamic-f4s-v2-1: run `cloudburst scale` (after a change of the array, restart "
              "slurmctld first so that it reads their Nodeset and MaxNodeCount)");
    ASSERT_EQ(generated->dynamic_nodes.size(), 2u);
    const auto as_created = [](const DynamicRange& r, const std::string& name) {
        return ExistingNode{name,
                            true,
                            r.field("CPUs"),
                            r.field("RealMemory"),
                            r.field("Feature"),
                            "",
                            r.field("Weight")};
    };
    const std::vector<ExistingNode> all{
        as_created(generated->dynamic_nodes[0], "dynamic-1"),
        as_created(generated->dynamic_nodes[0], "dynamic-2"),
        as_created(generated->dynamic_nodes[1], "dynamic-f4s-v2-1")};
    EXPECT_EQ(format_check(check_dynamic_nodes({dynamic_array()}, *generated, all)),
              "ok       dynamic-nodes: slurmctld has the dynamic nodes "
              "dynamic-[1-2],dynamic-f4s-v2-1");
    auto hpc = static_array("hpc", 4);
    hpc.configuration["slurm.hpc"] = "true";
    hpc.buckets[0].max_placement_group_size = 2;  // two groups: topology.conf
    auto topology = generate_slurm_conf({dynamic_array(), hpc}, catalog(), config);
    ASSERT_TRUE(topology);
    const auto result = check_dynamic_nodes({dynamic_array(), hpc}, *topology, all);
    EXPECT_EQ(result.outcome, CheckOutcome::k_problem);
    EXPECT_EQ(format_check(result).rfind("problem  dynamic-nodes: node array 'dynamic' skipped: "
                                         "Slurm places no job on dynamic nodes under a topology "
                                         "plugin",
                                         0),
              0u)
        << format_check(result);
    EXPECT_EQ(format_check(check_dynamic_nodes({hpc}, *topology, all)),
              "ok       dynamic-nodes: no dynamic node arrays");
}

}  // namespace
}  // namespace cb

namespace cb {
namespace {

// cloudburst-node-start passes --dynamic words to slurmd -Z --conf only when each is one
// Key=value of plain characters: a word from CycleCloud that would add an option stops it.
TEST(NodeStartDynamic, AWordThatIsNotOneKeyValueStopsItBeforeSlurmd) {
    const std::string script =
        std::string(CB_SOURCE_DIR) +
        "/templates/cluster-init/cloudburst/specs/execute/cluster-init/files/cloudburst-node-start";
    Command c{{"/bin/bash", script, "--dynamic", "Feature=dyn --conf-server=evil", "-N", "dyn-1"},
              minimal_environment(),
              {},
              std::chrono::seconds(10)};
    c.env.push_back("CLOUDBURST_SLURMD=/bin/true");
    auto out = run_command(c);
    ASSERT_TRUE(out) << out.error().describe();
    EXPECT_EQ(out->exit_code, 1);
    EXPECT_EQ(out->err,
              "cloudburst-node-start: dyn-1: --dynamic wants KEY=VALUE (letters, digits and . _ , "
              ": / + -), got 'Feature=dyn --conf-server=evil'\n");
}

}  // namespace
}  // namespace cb
