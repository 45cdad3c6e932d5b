#include <gtest/gtest.h>

#include <filesystem>

#include "core/config_loader.h"
#include "core/placement.h"
#include "core/reconciler.h"
#include "daemon/daemon.h"
#include "fakes/fake_cloud.h"
#include "fakes/temp_dir.h"

namespace cb {
namespace {

constexpr std::int64_t k_now = 1'000'000;

NodeArray hpc_array(int group_size, const std::string& hpc = "true") {
    NodeArray a;
    a.name = "hpc";
    a.machine_type = "Standard_HB120rs_v3";
    a.region = "westeurope";
    a.configuration["slurm.hpc"] = hpc;
    Bucket b;
    b.machine_type = "Standard_HB120rs_v3";
    b.max_placement_group_size = group_size;
    b.available_count = 100;
    a.buckets.push_back(b);
    return a;
}

World world_with(const NodeArray& a) {
    World w;
    w.now_ms = k_now;
    w.arrays[a.name] = a;
    return w;
}

void resume(World& w, const std::vector<std::string>& names) {
    for (auto& n : apply_hook_request(w.intents, HookKind::k_resume, names, {}, w.now_ms)) {
        w.intents[n.name] = n;
    }
}

void add_job(World& w, std::int64_t id, std::vector<std::string> nodes) {
    JobRequest j;
    j.job_id = id;
    j.nodes = std::move(nodes);
    w.jobs[id] = j;
}

ReconcileSettings settings_for(std::optional<Placement> placement, std::string cluster = "burst") {
    ReconcileSettings s;
    s.cluster = std::move(cluster);
    s.placement = [placement](const std::string&) { return placement; };
    return s;
}

// Node name -> placement group of the plan's create requests.
std::map<std::string, std::string> groups_of(const Plan& plan) {
    std::map<std::string, std::string> out;
    for (const auto& batch : plan.creates) {
        for (const auto& r : batch.requests) {
            out[r.name] = r.placement_group;
        }
    }
    return out;
}

TEST(Placement, NodeIndexSlotsAndNames) {
    EXPECT_EQ(node_index("hpc-12", "", "hpc"), 12);
    EXPECT_EQ(node_index("c1-hpc-3", "c1-", "hpc"), 3);
    EXPECT_EQ(node_index("hpc-012", "", "hpc"), 0);
    EXPECT_EQ(node_index("hpc-1x", "", "hpc"), 0);
    EXPECT_EQ(node_index("htc-1", "", "hpc"), 0);
    EXPECT_EQ(node_index("hpc-", "", "hpc"), 0);
    EXPECT_EQ(placement_slot(1, 4), 0);
    EXPECT_EQ(placement_slot(4, 4), 0);
    EXPECT_EQ(placement_slot(5, 4), 1);
    EXPECT_EQ(partition_group_name("burst", "hpc", 1), "burst-hpc-pg1");
    EXPECT_EQ(job_group_name("burst", "hpc", 42), "burst-hpc-job42");
    EXPECT_EQ(partition_group_name("", "hpc", 0), "hpc-pg0");
    EXPECT_TRUE(valid_placement_group_name("burst-hpc-pg1"));
    EXPECT_TRUE(valid_placement_group_name("a.b_c-1"));
    EXPECT_FALSE(valid_placement_group_name(""));
    EXPECT_FALSE(valid_placement_group_name("-hpc-pg0"));
    EXPECT_FALSE(valid_placement_group_name("my cluster-hpc-pg0"));
    EXPECT_FALSE(valid_placement_group_name("hpc-pg0."));
    EXPECT_FALSE(valid_placement_group_name(std::string(65, 'a')));
    EXPECT_TRUE(valid_placement_group_name(std::string(64, 'a')));
}

TEST(Placement, ReadFromTheConfigFile) {
    const std::string head =
        "[cyclecloud]\nurl = \"https://cc.example.com\"\ncluster = \"hpc\"\n"
        "username = \"cloudburst\"\npassword_file = \"/etc/cloudburst/password\"\n";
    auto config = parse_config(head + "[nodearrays.mpi]\nplacement = \"job\"\n", "test.toml");
    ASSERT_TRUE(config) << config.error().describe();
    EXPECT_EQ(config->node_array("mpi").placement, Placement::k_job);
    EXPECT_EQ(config->node_array("other").placement, std::nullopt);
    auto bad = parse_config(head + "[nodearrays.mpi]\nplacement = \"jobs\"\n", "test.toml");
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().message,
              "test.toml:7: 'nodearrays.mpi.placement' must be one of \"none\", \"partition\" "
              "or \"job\", not \"jobs\" (did you mean \"job\"?)");
}

TEST(Placement, DefaultFollowsSlurmHpcAndTheBucketSizesGroups) {
    EXPECT_EQ(effective_placement(std::nullopt, hpc_array(4)), Placement::k_partition);
    EXPECT_EQ(effective_placement(std::nullopt, hpc_array(4, "false")), Placement::k_none);
    EXPECT_EQ(effective_placement(Placement::k_none, hpc_array(4)), Placement::k_none);
    EXPECT_EQ(effective_placement(Placement::k_job, hpc_array(4, "false")), Placement::k_job);
    EXPECT_EQ(placement_group_size(hpc_array(4), "Standard_HB120rs_v3"), 4);
    EXPECT_EQ(placement_group_size(hpc_array(0), "Standard_HB120rs_v3"),
              k_default_placement_group_size);
}

// slurm.hpc = true and nothing configured: partition slots of the bucket's size, by index.
TEST(Placement, PartitionGroupsAreSlotsOfTheNodeIndex) {
    World w = world_with(hpc_array(4));
    resume(w, {"hpc-1", "hpc-4", "hpc-5", "hpc-9"});
    const Plan plan = reconcile(w, settings_for(std::nullopt));
    EXPECT_EQ(groups_of(plan), (std::map<std::string, std::string>{{"hpc-1", "burst-hpc-pg0"},
                                                                   {"hpc-4", "burst-hpc-pg0"},
                                                                   {"hpc-5", "burst-hpc-pg1"},
                                                                   {"hpc-9", "burst-hpc-pg2"}}));
    ASSERT_FALSE(plan.changed.empty());
    EXPECT_EQ(plan.changed.front().last_reason,
              "asked CycleCloud for a Standard_HB120rs_v3 VM in placement group burst-hpc-pg0");
}

TEST(Placement, NoneAsksForNoGroup) {
    World w = world_with(hpc_array(4));
    resume(w, {"hpc-1", "hpc-5"});
    const Plan plan = reconcile(w, settings_for(Placement::k_none));
    EXPECT_EQ(groups_of(plan), (std::map<std::string, std::string>{{"hpc-1", ""}, {"hpc-5", ""}}));
}

// Per job: every node of one job in that job's group, wherever its index; a node no job
// named (scontrol power_up) gets its partition slot.
TEST(Placement, JobGroupsHoldAllNodesOfOneJob) {
    World w = world_with(hpc_array(4, "false"));
    resume(w, {"hpc-3", "hpc-9", "hpc-10", "hpc-20"});
    add_job(w, 7, {"hpc-3", "hpc-9"});
    add_job(w, 8, {"hpc-10"});
    const Plan plan = reconcile(w, settings_for(Placement::k_job));
    EXPECT_EQ(groups_of(plan), (std::map<std::string, std::string>{{"hpc-3", "burst-hpc-job7"},
                                                                   {"hpc-9", "burst-hpc-job7"},
                                                                   {"hpc-10", "burst-hpc-job8"},
                                                                   {"hpc-20", "burst-hpc-pg4"}}));
}

// A job with more nodes of the array than a group holds is not split: its nodes fail with a
// reason that says what to do, and nothing is created for them.
TEST(Placement, AJobLargerThanAGroupIsRefusedNotSplit) {
    for (auto mode : {Placement::k_job, Placement::k_partition}) {
        World w = world_with(hpc_array(2));
        resume(w, {"hpc-1", "hpc-2", "hpc-3", "hpc-7"});
        add_job(w, 42, {"hpc-1", "hpc-2", "hpc-3"});
        const Plan plan = reconcile(w, settings_for(mode));
        EXPECT_EQ(groups_of(plan),
                  (std::map<std::string, std::string>{{"hpc-7", "burst-hpc-pg3"}}));
        const std::string why =
            "cloudburst: placement: job 42 needs 3 nodes of hpc in one placement group, which "
            "holds at most 2 (Standard_HB120rs_v3); ask for at most 2 nodes, or set "
            "nodearrays.hpc.placement = \"none\" if the job does not need one fabric";
        int downs = 0;
        for (const auto& u : plan.slurm) {
            if (u.state == "DOWN") {
                EXPECT_EQ(u.reason, why);
                downs += static_cast<int>(u.names.size());
            }
        }
        EXPECT_EQ(downs, 3);
        EXPECT_EQ(plan.health.count("hpc"), 0u) << "the array itself is fine";
    }
}

// In partition mode a job that Slurm placed across two slots keeps the slots (the groups are
// fixed) and the operator is told.
TEST(Placement, APartitionJobAcrossSlotsIsReported) {
    World w = world_with(hpc_array(4));
    resume(w, {"hpc-4", "hpc-5"});
    add_job(w, 9, {"hpc-4", "hpc-5"});
    const Plan plan = reconcile(w, settings_for(Placement::k_partition));
    EXPECT_EQ(groups_of(plan), (std::map<std::string, std::string>{{"hpc-4", "burst-hpc-pg0"},
                                                                   {"hpc-5", "burst-hpc-pg1"}}));
    int told = 0;
    for (const auto& e : plan.events) {
        told += e.message ==
                "job 9 spans 2 placement groups of hpc: its nodes will not share one fabric; "
                "run `cloudburst scale` (topology.conf) or submit with --switches=1";
    }
    EXPECT_EQ(told, 2);
}

TEST(Placement, AnInvalidGroupNameFailsTheNodesAndBacksTheArrayOff) {
    World w = world_with(hpc_array(4));
    resume(w, {"hpc-1"});
    const Plan plan = reconcile(w, settings_for(Placement::k_partition, "my cluster"));
    EXPECT_TRUE(plan.creates.empty());
    ASSERT_EQ(plan.health.count("hpc"), 1u);
    EXPECT_EQ(plan.health.at("hpc").reason,
              "cloudburst: config: placement group name 'my cluster-hpc-pg0' is not valid (1 to "
              "64 letters, digits, '-', '_' or '.'); rename the CycleCloud cluster or node "
              "array, or set nodearrays.hpc.placement = \"none\"");
}

// Through the daemon and the fake cloud: a resume taken with its resume file is asked of the
// cloud at once, each job's nodes in that job's group.
TEST(Placement, TheDaemonAsksForTheJobsGroupAtOnce) {
    testing_fakes::TempDir tmp{"cb-placement"};
    Config config;
    config.cyclecloud.cluster = "burst";
    config.paths.spool_dir = tmp.path() + "/spool";
    config.paths.state_db = tmp.path() + "/state.db";
    std::filesystem::create_directories(config.paths.spool_dir);
    NodeArrayConfig hpc;
    hpc.name = "hpc";
    hpc.partition = "hpc";
    hpc.placement = Placement::k_job;
    config.node_arrays.push_back(hpc);
    testing_fakes::FakeCloud cloud;
    cloud.arrays = {hpc_array(4)};
    testing_fakes::FakeScheduler slurm;
    for (int i = 1; i <= 4; ++i) {
        slurm.add_cloud_node("hpc-" + std::to_string(i));
    }
    auto journal = Journal::open(config.paths.state_db);
    ASSERT_TRUE(journal);
    Daemon d(config, cloud, slurm, *journal);
    std::int64_t now = 1'700'000'000'000;
    ASSERT_TRUE(d.intake(now));
    ASSERT_TRUE(d.pass(now));  // the first pass reads the cloud
    const HookRequest req{HookKind::k_resume, "hpc-[1-4]",
                          R"({"all_nodes_resume":"hpc-[1-4]","jobs":[)"
                          R"({"job_id":11,"nodes_resume":"hpc-[1,4]","partition":"hpc"},)"
                          R"({"job_id":12,"nodes_resume":"hpc-[2-3]","partition":"hpc"}]})",
                          now, 1};
    ASSERT_TRUE(Spool(config.paths.spool_dir).submit(req));
    ASSERT_TRUE(d.intake(now + 1000));
    ASSERT_EQ(cloud.create_calls.size(), 1u);
    std::map<std::string, std::string> groups;
    for (const auto& r : cloud.create_calls[0]) {
        groups[r.name] = r.placement_group;
    }
    EXPECT_EQ(groups, (std::map<std::string, std::string>{{"hpc-1", "burst-hpc-job11"},
                                                          {"hpc-2", "burst-hpc-job12"},
                                                          {"hpc-3", "burst-hpc-job12"},
                                                          {"hpc-4", "burst-hpc-job11"}}));
}

}  // namespace
}  // namespace cb
