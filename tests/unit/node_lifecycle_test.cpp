// One test per situation in docs/design/node-lifecycle.md: the reconciler's decision for each,
// with an injected clock and plain snapshots of the cloud and Slurm (no I/O, no sleeps).
#include <gtest/gtest.h>

#include <algorithm>

#include "core/reconciler.h"

namespace cb {
namespace {

constexpr std::int64_t k_start = 1'000'000'000;
constexpr std::int64_t k_minute = 60'000;

struct Cluster {
    World w;
    ReconcileSettings settings;

    Cluster() {
        w.now_ms = k_start;
        NodeArray hpc;
        hpc.name = "hpc";
        hpc.region = "westeurope";
        hpc.machine_type = "Standard_HB120rs_v3";
        Bucket b;
        b.machine_type = hpc.machine_type;
        b.available_count = 10;
        hpc.buckets.push_back(b);
        w.arrays["hpc"] = hpc;
        settings.resume_timeout_ms = [](const std::string&) { return 10 * k_minute; };
    }

    void hook(HookKind kind, const std::vector<std::string>& names) {
        for (auto& n : apply_hook_request(w.intents, kind, names, settings, w.now_ms)) {
            w.intents[n.name] = n;
        }
    }
    // One pass; its decisions become the next snapshot's intents and health.
    Plan pass() {
        Plan plan = reconcile(w, settings);
        for (const auto& n : plan.changed) {
            w.intents[n.name] = n;
        }
        w.health = plan.health;
        w.bootstrap = plan.bootstrap;
        for (const auto& j : plan.jobs) {
            w.jobs[j.job_id] = j;
        }
        for (const auto id : plan.forgotten_jobs) {
            w.jobs.erase(id);
        }
        return plan;
    }
    // A resume whose SLURM_RESUME_FILE gave `nodes` to job `id`.
    void job(std::int64_t id, const std::vector<std::string>& nodes) {
        JobRequest j;
        j.job_id = id;
        j.nodes = nodes;
        j.recorded_ms = w.now_ms;
        w.jobs[id] = j;
    }
    // A second VM size in hpc's buckets: its nodes are hpc-hb176rs-v4-N (core/node_range.h).
    void two_sizes() {
        Bucket b;
        b.machine_type = "Standard_HB176rs_v4";
        b.available_count = 10;
        w.arrays["hpc"].buckets.push_back(b);
    }
    // The outcome of the pass's create call (its `batch`th).
    Plan created(const Plan& plan, const Result<CreateResult>& result, std::size_t batch = 0) {
        Plan out;
        out.health = plan.health;
        apply_create_result(out, w, plan.creates.at(batch), result, settings);
        for (const auto& n : out.changed) {
            w.intents[n.name] = n;
        }
        w.health = out.health;
        return out;
    }
    void vm(const std::string& name, VmStatus status, const std::string& text,
            const std::string& ip = "") {
        CloudNode c;
        c.name = name;
        c.nodearray = "hpc";
        c.status = status;
        c.status_text = text;
        c.private_ip = ip;
        w.cloud[name] = c;
    }
    void slurm(const std::string& name, const std::string& base, std::set<std::string> flags,
               const std::string& reason = "") {
        SlurmNode s;
        s.name = name;
        s.state.base = base;
        flags.insert("CLOUD");
        s.state.flags.assign(flags.begin(), flags.end());
        s.reason = reason;
        w.slurm[name] = s;
    }
    Phase phase(const std::string& name) { return w.intents.at(name).phase; }
    void later(std::int64_t ms) { w.now_ms += ms; }
};

bool has_update(const Plan& p, const std::string& node, const std::string& state) {
    return std::any_of(p.slurm.begin(), p.slurm.end(), [&](const NodeUpdate& u) {
        return u.state == state && std::find(u.names.begin(), u.names.end(), node) != u.names.end();
    });
}

std::string reason_of(const Plan& p, const std::string& node) {
    for (const auto& u : p.slurm) {
        if (u.state == "DOWN" && std::find(u.names.begin(), u.names.end(), node) != u.names.end()) {
            return u.reason;
        }
    }
    return "";
}

// A node that went all the way up: intent running, VM Ready, slurmd registered.
void bring_up(Cluster& c, const std::string& name) {
    c.hook(HookKind::k_resume, {name});
    const Plan plan = c.pass();
    c.created(plan, CreateResult{"op-1", {{1, ""}}});
    c.vm(name, VmStatus::k_ready, "Ready", "198.18.0.7");
    c.pass();
    c.slurm(name, "ALLOCATED", {});
    c.pass();
    ASSERT_EQ(c.phase(name), Phase::k_running);
}

TEST(NodeLifecycle, PowerUpRequestedButNoVmYetIsAskedAgainAfterGrace) {
    Cluster c;
    c.hook(HookKind::k_resume, {"hpc-1"});
    ASSERT_EQ(c.pass().creates.size(), 1u);  // journaled "creating"; the call never happened
    c.later(c.settings.lost_create_grace_ms / 2);
    EXPECT_TRUE(c.pass().creates.empty()) << "a create may still be on its way";
    c.later(c.settings.lost_create_grace_ms);
    const Plan again = c.pass();
    ASSERT_EQ(again.creates.size(), 1u);
    EXPECT_EQ(again.creates[0].requests[0].name, "hpc-1") << "the same literal name";
}

TEST(NodeLifecycle, VmFailedGoesDownWithReasonAndReturnsToThePool) {
    Cluster c;
    c.hook(HookKind::k_resume, {"hpc-1"});
    c.created(c.pass(), CreateResult{"op-1", {{1, ""}}});
    c.vm("hpc-1", VmStatus::k_failed, "Failed");
    c.w.cloud["hpc-1"].status_message = "OS provisioning timed out";
    const Plan failed = c.pass();
    EXPECT_EQ(reason_of(failed, "hpc-1"),
              "cloudburst: cloud: VM failed: OS provisioning timed out");
    EXPECT_TRUE(has_update(failed, "hpc-1", "POWER_DOWN"));
    EXPECT_EQ(failed.shutdowns, std::vector<std::string>{"hpc-1"});
    EXPECT_EQ(c.phase("hpc-1"), Phase::k_failed);
    // Slurm powers it down (down~); the VM is still terminating: nothing yet.
    c.slurm("hpc-1", "DOWN", {"POWERED_DOWN"}, "cloudburst: cloud: VM failed");
    c.vm("hpc-1", VmStatus::k_terminating, "Terminating");
    EXPECT_FALSE(has_update(c.pass(), "hpc-1", "RESUME"));
    c.w.cloud.erase("hpc-1");
    const Plan back = c.pass();
    EXPECT_TRUE(has_update(back, "hpc-1", "RESUME"));
    EXPECT_EQ(c.phase("hpc-1"), Phase::k_idle);
}

TEST(NodeLifecycle, VmReadyButSlurmdNeverRegistersIsGivenUpAfterTheDeadline) {
    Cluster c;
    c.hook(HookKind::k_resume, {"hpc-1"});
    c.created(c.pass(), CreateResult{"op-1", {{1, ""}}});
    c.vm("hpc-1", VmStatus::k_ready, "Ready", "198.18.0.7");
    c.slurm("hpc-1", "IDLE", {"POWERING_UP", "NOT_RESPONDING"});
    c.pass();
    EXPECT_EQ(c.phase("hpc-1"), Phase::k_registering);
    c.later(10 * k_minute);  // the deadline itself: Slurm's call may still come
    EXPECT_TRUE(c.pass().shutdowns.empty());
    c.later(c.settings.deadline_grace_ms);
    const Plan gave_up = c.pass();
    EXPECT_EQ(gave_up.shutdowns, std::vector<std::string>{"hpc-1"});
    EXPECT_EQ(reason_of(gave_up, "hpc-1"),
              "cloudburst: timeout: the node was not up by its ResumeTimeout (registering)");
    EXPECT_EQ(c.phase("hpc-1"), Phase::k_failed);
}

TEST(NodeLifecycle, ResumeTimeoutReachedNodeIsCleanedUpAndReturnsToThePool) {
    Cluster c;
    c.hook(HookKind::k_resume, {"hpc-1"});
    c.created(c.pass(), CreateResult{"op-1", {{1, ""}}});
    c.vm("hpc-1", VmStatus::k_ready, "Ready", "198.18.0.7");
    c.pass();
    // Slurm gave up: down~ "ResumeTimeout reached", then ResumeFailProgram.
    c.slurm("hpc-1", "DOWN", {"POWERED_DOWN", "NOT_RESPONDING"}, "ResumeTimeout reached");
    c.hook(HookKind::k_resume_fail, {"hpc-1"});
    const Plan cleanup = c.pass();
    EXPECT_EQ(cleanup.shutdowns, std::vector<std::string>{"hpc-1"});
    EXPECT_FALSE(has_update(cleanup, "hpc-1", "RESUME")) << "not while the VM exists";
    c.w.cloud.erase("hpc-1");
    const Plan back = c.pass();
    EXPECT_TRUE(has_update(back, "hpc-1", "RESUME"));
    ASSERT_FALSE(back.slurm.empty());
    EXPECT_EQ(back.slurm[0].node_addrs, std::vector<std::string>{"hpc-1"}) << "address reset";
    EXPECT_EQ(c.phase("hpc-1"), Phase::k_idle);
}

TEST(NodeLifecycle, DownNodeLeftByResumeTimeoutWithoutAnyRecordReturnsToThePool) {
    Cluster c;
    c.slurm("hpc-4", "DOWN", {"POWERED_DOWN", "NOT_RESPONDING"}, "ResumeTimeout reached");
    c.slurm("hpc-5", "DOWN", {"POWERED_DOWN"}, "disk replaced by admin");
    const Plan plan = c.pass();
    EXPECT_TRUE(has_update(plan, "hpc-4", "RESUME"));
    EXPECT_FALSE(has_update(plan, "hpc-5", "RESUME")) << "an admin's DOWN is not ours to undo";
}

TEST(NodeLifecycle, CreateAddedFewerNodesThanAskedFailsTheRestAndBacksOffTheArray) {
    Cluster c;
    c.hook(HookKind::k_resume, {"hpc-1", "hpc-2"});
    const Plan plan = c.pass();
    const std::string azure =
        "AllocationFailed: We do not have sufficient capacity for the requested VM size";
    c.created(plan, CreateResult{"op-1", {{1, ""}, {0, azure}}});
    EXPECT_EQ(c.phase("hpc-1"), Phase::k_creating);
    EXPECT_EQ(c.phase("hpc-2"), Phase::k_failed);
    ASSERT_EQ(c.w.health.count("hpc"), 1u);
    EXPECT_EQ(c.w.health["hpc"].kind, ErrorKind::k_capacity);
    EXPECT_EQ(c.w.health["hpc"].until_ms, k_start + c.settings.backoff_initial_ms);
    // Another node of the array fails at once, without a call, while the array is backed off.
    c.hook(HookKind::k_resume, {"hpc-3"});
    const Plan held = c.pass();
    EXPECT_TRUE(held.creates.empty());
    EXPECT_EQ(reason_of(held, "hpc-3"),
              "cloudburst: capacity: Standard_HB120rs_v3 unavailable in westeurope: " + azure +
                  " (not asking again before 13:47:40Z)");
    // Slurm suspends the failed node (idle_on_node_suspend makes it idle~): held DOWN.
    c.slurm("hpc-2", "IDLE", {"POWERED_DOWN"});
    EXPECT_TRUE(has_update(c.pass(), "hpc-2", "DOWN"));
    // After the backoff the nodes return and the next ask goes out.
    c.later(c.settings.backoff_initial_ms);
    c.slurm("hpc-2", "DOWN", {"POWERED_DOWN"}, "cloudburst: capacity: ...");
    EXPECT_TRUE(has_update(c.pass(), "hpc-2", "RESUME"));
    c.hook(HookKind::k_resume, {"hpc-2"});
    EXPECT_EQ(c.pass().creates.size(), 1u);
}

bool shuts_down(const Plan& p, const std::string& node) {
    return std::find(p.shutdowns.begin(), p.shutdowns.end(), node) != p.shutdowns.end();
}

// A multi-node job whose array gives only part of its nodes: the ones that got VMs are failed
// with the one that did not, their VMs shut down, in the pass after the create's outcome.
TEST(NodeLifecycle, JobThatCannotHaveAllItsNodesGivesThemAllBackTogether) {
    Cluster c;
    c.hook(HookKind::k_resume, {"hpc-1", "hpc-2", "hpc-3"});
    c.job(6, {"hpc-1", "hpc-2", "hpc-3"});
    const Plan plan = c.pass();
    ASSERT_EQ(plan.creates.at(0).requests.size(), 3u);
    c.created(plan, CreateResult{"op-1", {{1, ""}, {1, ""}, {0, "AllocationFailed"}}});
    ASSERT_EQ(c.phase("hpc-3"), Phase::k_failed);
    c.vm("hpc-1", VmStatus::k_acquiring, "Acquiring");
    c.vm("hpc-2", VmStatus::k_ready, "Ready", "198.18.0.9");
    c.later(1000);
    const Plan after = c.pass();
    const std::string why =
        "cloudburst: job 6 cannot have all its nodes (hpc-3: cloudburst: capacity: "
        "Standard_HB120rs_v3 unavailable in westeurope: AllocationFailed); giving all of them "
        "back together";
    for (const char* node : {"hpc-1", "hpc-2"}) {
        EXPECT_EQ(c.phase(node), Phase::k_failed) << node;
        EXPECT_EQ(reason_of(after, node), why) << node;
        EXPECT_TRUE(has_update(after, node, "POWER_DOWN")) << node;
        EXPECT_TRUE(shuts_down(after, node)) << node;
    }
    EXPECT_TRUE(after.creates.empty());
    ASSERT_EQ(after.jobs.size(), 1u);
    EXPECT_EQ(after.jobs[0].phase, JobPhase::k_failed);
    EXPECT_EQ(after.jobs[0].reason, why);
    // Once failed, the job is not failed again, and it is remembered for `why` for a day.
    EXPECT_TRUE(c.pass().jobs.empty());
    c.later(c.settings.failed_job_memory_ms + 1);
    EXPECT_EQ(c.pass().forgotten_jobs, std::vector<std::int64_t>{6});
}

// A partner whose slurmd registered is left to Slurm: once Slurm gave up on the late node it
// requeued the job and may have given the registered one to another job already; an idle one
// is suspended by SuspendTime.
TEST(NodeLifecycle, APartnerThatRegisteredIsNotFailedWithItsJob) {
    Cluster c;
    c.job(7, {"hpc-1", "hpc-2"});
    bring_up(c, "hpc-1");
    c.hook(HookKind::k_resume, {"hpc-2"});
    const Plan create = c.pass();
    c.created(create, CreateResult{"op-2", {{1, ""}}});
    ASSERT_EQ(c.w.jobs.at(7).phase, JobPhase::k_starting);
    c.vm("hpc-2", VmStatus::k_failed, "Failed");
    c.later(1000);
    const Plan plan = c.pass();
    EXPECT_EQ(c.phase("hpc-2"), Phase::k_failed);
    EXPECT_EQ(c.phase("hpc-1"), Phase::k_running);
    EXPECT_FALSE(shuts_down(plan, "hpc-1"));
    EXPECT_FALSE(has_update(plan, "hpc-1", "DOWN"));
    EXPECT_FALSE(has_update(plan, "hpc-1", "POWER_DOWN"));
}

// Without a resume file (or with a one-node job) a failure stays the node's own.
TEST(NodeLifecycle, NodesOfNoKnownJobFailOneByOne) {
    Cluster c;
    c.hook(HookKind::k_resume, {"hpc-1", "hpc-2"});
    c.job(7, {"hpc-1"});
    const Plan plan = c.pass();
    c.created(plan, CreateResult{"op-1", {{0, "AllocationFailed"}, {1, ""}}});
    c.vm("hpc-2", VmStatus::k_acquiring, "Acquiring");
    const Plan after = c.pass();
    EXPECT_EQ(c.phase("hpc-2"), Phase::k_creating);
    EXPECT_FALSE(shuts_down(after, "hpc-2"));
    ASSERT_EQ(after.jobs.size(), 1u);
    EXPECT_EQ(after.jobs[0].job_id, 7);
    EXPECT_EQ(after.jobs[0].phase, JobPhase::k_failed);
}

// A node that another job, which is fine, was also given (an oversubscribed node) stays.
TEST(NodeLifecycle, NodeSharedWithAJobThatIsFineIsKeptWhenAnotherJobFails) {
    Cluster c;
    c.hook(HookKind::k_resume, {"hpc-1", "hpc-2", "hpc-3"});
    c.job(6, {"hpc-1", "hpc-2", "hpc-3"});
    c.job(8, {"hpc-2"});
    const Plan plan = c.pass();
    c.created(plan, CreateResult{"op-1", {{1, ""}, {1, ""}, {0, "AllocationFailed"}}});
    c.vm("hpc-1", VmStatus::k_acquiring, "Acquiring");
    c.vm("hpc-2", VmStatus::k_acquiring, "Acquiring");
    const Plan after = c.pass();
    EXPECT_EQ(c.phase("hpc-1"), Phase::k_failed);
    EXPECT_EQ(c.phase("hpc-2"), Phase::k_creating);
    EXPECT_FALSE(shuts_down(after, "hpc-2"));
    EXPECT_EQ(c.w.jobs.at(6).phase, JobPhase::k_failed);
    EXPECT_EQ(c.w.jobs.at(8).phase, JobPhase::k_starting);
}

// A blocked node array fails its node at once; the job's node in another array, about to be
// asked for in the same pass, is taken out of the create call and failed with it.
TEST(NodeLifecycle, BlockedArrayFailsTheWholeJobBeforeAnyCreateCall) {
    Cluster c;
    NodeArray htc = c.w.arrays["hpc"];
    htc.name = "htc";
    c.w.arrays["htc"] = htc;
    record_failure(c.w.health, "hpc", ErrorKind::k_quota, "cloudburst: quota: no cores", k_start,
                   c.settings);
    c.hook(HookKind::k_resume, {"hpc-1", "htc-1"});
    c.job(9, {"hpc-1", "htc-1"});
    const Plan plan = c.pass();
    EXPECT_TRUE(plan.creates.empty());
    EXPECT_EQ(c.phase("hpc-1"), Phase::k_failed);
    EXPECT_EQ(c.phase("htc-1"), Phase::k_failed);
    EXPECT_EQ(reason_of(plan, "htc-1"),
              "cloudburst: job 9 cannot have all its nodes (hpc-1: cloudburst: quota: no cores "
              "(not asking again before 14:16:40Z)); giving all of them back together");
}

// Once every node of a job registered, the job runs: a later failure of one node (a Spot
// eviction) is that node's alone; Slurm requeues the job if it must.
TEST(NodeLifecycle, AStartedJobsNodesFailOneByOne) {
    Cluster c;
    c.job(10, {"hpc-1", "hpc-2"});
    bring_up(c, "hpc-1");
    bring_up(c, "hpc-2");
    EXPECT_EQ(c.w.jobs.at(10).phase, JobPhase::k_started);
    c.vm("hpc-1", VmStatus::k_failed, "Failed", "198.18.0.7");
    c.slurm("hpc-1", "IDLE", {"NOT_RESPONDING"});
    const Plan plan = c.pass();
    EXPECT_EQ(c.phase("hpc-1"), Phase::k_failed);
    EXPECT_EQ(c.phase("hpc-2"), Phase::k_running);
    EXPECT_FALSE(shuts_down(plan, "hpc-2"));
    // Suspended by Slurm: nothing wanted up any more, the job is forgotten.
    c.hook(HookKind::k_suspend, {"hpc-2"});
    EXPECT_EQ(c.pass().forgotten_jobs, std::vector<std::int64_t>{10});
}

// A failure older than the job's request (a node failed for an earlier job and is waiting to
// return to the pool) is not this job's.
TEST(NodeLifecycle, AnEarlierFailureOfANodeIsNotTheNewJobs) {
    Cluster c;
    c.hook(HookKind::k_resume, {"hpc-1"});
    const Plan plan = c.pass();
    c.created(plan, CreateResult{"op-1", {{0, "AllocationFailed"}}});
    c.later(c.settings.backoff_initial_ms + 1);
    c.hook(HookKind::k_resume, {"hpc-2", "hpc-3"});
    c.job(11, {"hpc-1", "hpc-2", "hpc-3"});
    c.pass();
    EXPECT_EQ(c.phase("hpc-2"), Phase::k_creating);
    EXPECT_EQ(c.w.jobs.at(11).phase, JobPhase::k_starting);
}

TEST(NodeLifecycle, RepeatedCapacityFailuresBackOffExponentiallyUpToTheCap) {
    Cluster c;
    std::vector<std::int64_t> waits;
    for (int i = 0; i < 8; ++i) {
        c.hook(HookKind::k_resume, {"hpc-1"});
        const Plan plan = c.pass();
        ASSERT_EQ(plan.creates.size(), 1u) << "attempt " << i;
        c.created(plan, CreateResult{"op", {{0, "AllocationFailed"}}});
        waits.push_back(c.w.health["hpc"].until_ms - c.w.now_ms);
        c.later(waits.back());
        c.hook(HookKind::k_suspend, {"hpc-1"});
        c.w.intents["hpc-1"].phase = Phase::k_idle;
    }
    EXPECT_EQ(waits[0], c.settings.backoff_initial_ms);
    EXPECT_EQ(waits[1], 2 * c.settings.backoff_initial_ms);
    EXPECT_EQ(waits[2], 4 * c.settings.backoff_initial_ms);
    EXPECT_EQ(waits.back(), c.settings.backoff_max_ms);
}

// Azure's AllocationFailed after CycleCloud accepted the create (the node goes Failed in
// Acquiring, the bucket's lastCapacityFailure is set): the node array backs off exactly as for
// a create that added fewer, and a probe that fails the same way backs off longer.
TEST(NodeLifecycle, CapacitySeenLateInAcquiringBacksOffTheArrayLikeARefusedCreate) {
    Cluster c;
    c.hook(HookKind::k_resume, {"hpc-1", "hpc-2"});
    c.created(c.pass(), CreateResult{"op-1", {{1, ""}, {1, ""}}});
    EXPECT_EQ(c.phase("hpc-1"), Phase::k_creating);
    EXPECT_EQ(c.w.health.count("hpc"), 0u);
    const std::string azure =
        "AllocationFailed: We do not have sufficient capacity for the requested VM size "
        "Standard_HB120rs_v3 in region westeurope.";
    c.later(k_minute);
    c.vm("hpc-1", VmStatus::k_failed, "Failed");
    c.w.cloud["hpc-1"].status_message = azure;
    c.vm("hpc-2", VmStatus::k_acquiring, "Acquiring");
    c.w.arrays["hpc"].buckets[0].last_capacity_failure_seconds = 3;
    const Plan seen = c.pass();
    const std::string why =
        "cloudburst: capacity: Standard_HB120rs_v3 unavailable in westeurope: " + azure;
    EXPECT_EQ(reason_of(seen, "hpc-1"), why);
    EXPECT_TRUE(has_update(seen, "hpc-1", "POWER_DOWN"));
    EXPECT_EQ(seen.shutdowns, std::vector<std::string>{"hpc-1"});
    EXPECT_EQ(c.phase("hpc-1"), Phase::k_failed);
    EXPECT_EQ(c.phase("hpc-2"), Phase::k_creating) << "still acquiring: not judged yet";
    ASSERT_EQ(c.w.health.count("hpc"), 1u);
    EXPECT_EQ(c.w.health["hpc"].kind, ErrorKind::k_capacity);
    EXPECT_EQ(c.w.health["hpc"].reason, why);
    const std::int64_t until = c.w.now_ms + c.settings.backoff_initial_ms;
    EXPECT_EQ(c.w.health["hpc"].until_ms, until);
    // Other nodes of the array fail at once, without a call, while it is backed off.
    c.hook(HookKind::k_resume, {"hpc-3"});
    const Plan held = c.pass();
    EXPECT_TRUE(held.creates.empty());
    EXPECT_EQ(reason_of(held, "hpc-3").rfind(why, 0), 0u) << reason_of(held, "hpc-3");
    // The second node of the same ask fails later: one failure, one backoff.
    c.later(10'000);
    c.vm("hpc-2", VmStatus::k_failed, "Failed");
    c.w.cloud["hpc-2"].status_message = azure;
    EXPECT_EQ(reason_of(c.pass(), "hpc-2"), why);
    EXPECT_EQ(c.w.health["hpc"].until_ms, until);
    // After the backoff one probe goes out; CycleCloud accepts it, Azure fails it again: the
    // backoff doubles rather than starting over.
    c.w.now_ms = until;
    c.w.cloud.clear();
    c.hook(HookKind::k_resume, {"hpc-4"});
    const Plan probe = c.pass();
    ASSERT_EQ(probe.creates.size(), 1u);
    c.created(probe, CreateResult{"op-2", {{1, ""}}});
    c.later(k_minute);
    c.vm("hpc-4", VmStatus::k_failed, "Failed");
    c.w.cloud["hpc-4"].status_message = azure;
    c.pass();
    EXPECT_EQ(c.w.health["hpc"].until_ms, c.w.now_ms + 2 * c.settings.backoff_initial_ms);
    // A VM of the array that gets its address ends a backoff that is over.
    c.w.now_ms = c.w.health["hpc"].until_ms;
    c.w.cloud.clear();
    c.hook(HookKind::k_resume, {"hpc-5"});
    c.created(c.pass(), CreateResult{"op-3", {{1, ""}}});
    EXPECT_EQ(c.w.health.count("hpc"), 1u) << "accepted is not allocated";
    c.vm("hpc-5", VmStatus::k_preparing, "Preparing", "198.18.0.9");
    c.pass();
    EXPECT_EQ(c.w.health.count("hpc"), 0u);
}

// Azure's quota, found only when the VM was allocated: the array backs off as for quota.
TEST(NodeLifecycle, QuotaSeenLateInAcquiringBacksOffTheArrayAsQuota) {
    Cluster c;
    c.hook(HookKind::k_resume, {"hpc-1"});
    c.created(c.pass(), CreateResult{"op-1", {{1, ""}}});
    c.later(k_minute);
    c.vm("hpc-1", VmStatus::k_failed, "Failed");
    c.w.cloud["hpc-1"].status_message =
        "QuotaExceeded: Operation could not be completed as it results in exceeding approved "
        "Total Regional Cores quota.";
    const Plan seen = c.pass();
    EXPECT_EQ(reason_of(seen, "hpc-1")
                  .rfind("cloudburst: quota: Standard_HB120rs_v3 in "
                         "westeurope: QuotaExceeded: ",
                         0),
              0u)
        << reason_of(seen, "hpc-1");
    EXPECT_EQ(c.w.health["hpc"].kind, ErrorKind::k_quota);
    // CycleCloud's words reach Slurm without control characters, the VM size too.
    c.w.now_ms = c.w.health["hpc"].until_ms;
    c.hook(HookKind::k_resume, {"hpc-2"});
    c.created(c.pass(), CreateResult{"op-2", {{1, ""}}});
    c.vm("hpc-2", VmStatus::k_failed, "Failed");
    c.w.cloud["hpc-2"].machine_type = "Standard_HB120rs_v3\nState=DOWN";
    c.w.cloud["hpc-2"].status_message = "QuotaExceeded:\r\nforged";
    EXPECT_EQ(reason_of(c.pass(), "hpc-2"),
              "cloudburst: quota: Standard_HB120rs_v3 State=DOWN in westeurope: QuotaExceeded: "
              "forged");
}

TEST(NodeLifecycle, QuotaBelowTheRequestStopsAskingUntilTheQuotaChanges) {
    Cluster c;
    c.hook(HookKind::k_resume, {"hpc-1"});
    c.created(c.pass(), CreateResult{"op", {{0, "QuotaExceeded: ... Total Regional Cores"}}});
    EXPECT_EQ(c.w.health["hpc"].kind, ErrorKind::k_quota);
    c.later(c.settings.backoff_initial_ms * 4);
    c.hook(HookKind::k_resume, {"hpc-2"});
    EXPECT_TRUE(c.pass().creates.empty()) << "same quota: no new ask";
    c.w.arrays["hpc"].buckets[0].available_count = 40;  // the admin raised the quota
    c.hook(HookKind::k_resume, {"hpc-3"});
    EXPECT_EQ(c.pass().creates.size(), 1u);
}

TEST(NodeLifecycle, ThrottledIsPacedAndNeverTreatedAsCapacity) {
    Cluster c;
    c.hook(HookKind::k_resume, {"hpc-1"});
    const Plan out =
        c.created(c.pass(), Result<CreateResult>(make_error(ErrorKind::k_throttled, "HTTP 429")));
    EXPECT_TRUE(out.slurm.empty()) << "no node is failed for throttling";
    EXPECT_EQ(c.phase("hpc-1"), Phase::k_requested);
    EXPECT_EQ(c.w.health["hpc"].kind, ErrorKind::k_throttled);
    EXPECT_TRUE(c.pass().creates.empty());
    c.later(c.settings.backoff_initial_ms);
    EXPECT_EQ(c.pass().creates.size(), 1u);
}

TEST(NodeLifecycle, ApiDownForMinutesDelaysButFailsNodesOnlyAtTheirDeadline) {
    Cluster c;
    c.hook(HookKind::k_resume, {"hpc-1"});
    int calls = 0;
    for (int minute = 0; minute < 20; ++minute) {
        const Plan plan = c.pass();
        if (!plan.creates.empty()) {
            ++calls;
            c.created(plan, Result<CreateResult>(make_error(ErrorKind::k_transient, "HTTP 503")));
        }
        if (c.phase("hpc-1") == Phase::k_failed) {
            break;
        }
        EXPECT_EQ(c.phase("hpc-1"), Phase::k_requested)
            << "minute " << minute << ": " << c.w.intents["hpc-1"].last_reason;
        c.later(k_minute);
    }
    EXPECT_LE(calls, 4) << "backoff: 1, 2, 4, 8 minutes";
    EXPECT_EQ(c.phase("hpc-1"), Phase::k_failed);
    EXPECT_GE(c.w.now_ms, k_start + 10 * k_minute + c.settings.deadline_grace_ms);
}

TEST(NodeLifecycle, PermanentErrorOpensTheBreakerAndAProbeClosesIt) {
    Cluster c;
    c.hook(HookKind::k_resume, {"hpc-1"});
    const Plan out = c.created(
        c.pass(), Result<CreateResult>(make_error(
                      ErrorKind::k_permanent, "CycleCloud refused the credentials (HTTP 401)")));
    EXPECT_EQ(reason_of(out, "hpc-1"),
              "cloudburst: permanent: creating nodes in hpc: CycleCloud refused the credentials "
              "(HTTP 401)");
    c.hook(HookKind::k_resume, {"hpc-2"});
    const Plan open = c.pass();
    EXPECT_TRUE(open.creates.empty());
    EXPECT_TRUE(has_update(open, "hpc-2", "DOWN"));
    c.later(c.settings.backoff_initial_ms);
    c.hook(HookKind::k_resume, {"hpc-3"});
    const Plan probe = c.pass();
    ASSERT_EQ(probe.creates.size(), 1u);
    c.created(probe, CreateResult{"op", {{1, ""}}});
    EXPECT_EQ(c.w.health.count("hpc"), 0u) << "the probe worked: breaker closed";
}

// CycleCloud marks a running node Failed on a health event while its VM and slurmd keep
// running a job: the job is not killed; the node is drained and replaced once idle.
TEST(NodeLifecycle, VmFailedWhileAJobRunsIsDrainedAndReplacedWhenIdle) {
    Cluster c;
    bring_up(c, "hpc-1");
    c.vm("hpc-1", VmStatus::k_failed, "Failed", "198.18.0.7");
    c.w.cloud["hpc-1"].status_message = "Node health check failed";
    const Plan drained = c.pass();
    const std::string why = "cloudburst: cloud: VM failed: Node health check failed";
    ASSERT_TRUE(has_update(drained, "hpc-1", "DRAIN"));
    EXPECT_EQ(drained.slurm.at(0).reason, why + "; draining: replaced when its jobs end");
    EXPECT_FALSE(has_update(drained, "hpc-1", "DOWN")) << "DOWN would kill the job";
    EXPECT_TRUE(drained.shutdowns.empty());
    EXPECT_EQ(c.phase("hpc-1"), Phase::k_running);
    c.later(k_minute);
    EXPECT_TRUE(c.pass().slurm.empty()) << "drained once, not every pass";
    // The job ends: Slurm shows the node drained and idle; now it goes.
    c.slurm("hpc-1", "IDLE", {"DRAIN"}, why);
    const Plan replaced = c.pass();
    EXPECT_EQ(reason_of(replaced, "hpc-1"), why);
    EXPECT_EQ(replaced.shutdowns, std::vector<std::string>{"hpc-1"}) << "a Failed VM still bills";
    EXPECT_EQ(c.phase("hpc-1"), Phase::k_failed);
}

// The health event comes between slurmd's registration (the job already runs: the prolog gate
// let it go) and the pass that would have seen the node "running": drained all the same. A
// node Slurm still shows powering up has no job running on it: it fails at once.
TEST(NodeLifecycle, VmFailedRightAfterRegistrationIsDrainedNotFailed) {
    for (const bool booting : {false, true}) {
        Cluster c;
        c.hook(HookKind::k_resume, {"hpc-1"});
        c.created(c.pass(), CreateResult{"op-1", {{1, ""}}});
        c.vm("hpc-1", VmStatus::k_ready, "Ready", "198.18.0.7");
        c.pass();
        ASSERT_EQ(c.phase("hpc-1"), Phase::k_registering);
        c.slurm("hpc-1", "ALLOCATED",
                booting ? std::set<std::string>{"POWERING_UP"} : std::set<std::string>{});
        c.vm("hpc-1", VmStatus::k_failed, "Failed", "198.18.0.7");
        const Plan out = c.pass();
        EXPECT_EQ(has_update(out, "hpc-1", "DRAIN"), !booting) << "booting=" << booting;
        EXPECT_EQ(has_update(out, "hpc-1", "DOWN"), booting) << "booting=" << booting;
    }
}

TEST(NodeLifecycle, VmFailedWhoseSlurmdIsGoneFailsAtOnce) {
    Cluster c;
    bring_up(c, "hpc-1");
    c.slurm("hpc-1", "ALLOCATED", {"NOT_RESPONDING"});
    c.vm("hpc-1", VmStatus::k_failed, "Failed", "198.18.0.7");
    const Plan failed = c.pass();
    EXPECT_EQ(reason_of(failed, "hpc-1"), "cloudburst: cloud: VM failed");
    EXPECT_FALSE(has_update(failed, "hpc-1", "DRAIN"));
    EXPECT_EQ(failed.shutdowns, std::vector<std::string>{"hpc-1"});
}

// Azure's eviction notice arrives about 30 s before a Spot VM goes: the node goes DOWN now
// (its jobs requeue at once, none start there) instead of when the VM disappears.
TEST(NodeLifecycle, SpotEvictionNoticeRequeuesJobsBeforeTheVmGoes) {
    Cluster c;
    bring_up(c, "hpc-1");
    c.w.cloud["hpc-1"].status_message = "Preempt: Azure will evict this Spot VM in 30 s";
    const Plan out = c.pass();
    EXPECT_EQ(reason_of(out, "hpc-1"),
              "cloudburst: evicted: Azure is reclaiming this Spot VM (Preempt: Azure will evict "
              "this Spot VM in 30 s); its jobs requeue");
    EXPECT_EQ(out.shutdowns, std::vector<std::string>{"hpc-1"});
    EXPECT_EQ(c.phase("hpc-1"), Phase::k_failed);
}

TEST(NodeLifecycle, UnavailableVmIsKeptWhileSlurmdRespondsAndFailedWhenItDoesNot) {
    Cluster c;
    bring_up(c, "hpc-1");
    c.vm("hpc-1", VmStatus::k_unavailable, "Unavailable", "198.18.0.7");
    const Plan kept = c.pass();
    EXPECT_TRUE(kept.slurm.empty());
    EXPECT_TRUE(kept.shutdowns.empty());
    EXPECT_EQ(c.w.intents.at("hpc-1").last_reason,
              "CycleCloud reports the VM Unavailable; slurmd still responds, keeping the node");
    EXPECT_TRUE(c.pass().changed.empty()) << "noted once";
    c.slurm("hpc-1", "ALLOCATED", {"NOT_RESPONDING"});
    const Plan failed = c.pass();
    EXPECT_EQ(reason_of(failed, "hpc-1"),
              "cloudburst: cloud: CycleCloud reports the VM Unavailable and slurmd does not "
              "respond");
}

// A status CycleCloud may add one day: neither gone nor usable. The node waits (its deadline
// still applies) and is never taken for a lost VM.
TEST(NodeLifecycle, UnknownStatusIsWaitedForNotTakenForALostVm) {
    Cluster c;
    bring_up(c, "hpc-1");
    c.vm("hpc-1", VmStatus::k_unknown, "Hibernating", "198.18.0.7");
    const Plan running = c.pass();
    EXPECT_TRUE(running.slurm.empty());
    EXPECT_TRUE(running.shutdowns.empty());
    c.hook(HookKind::k_resume, {"hpc-2"});
    c.created(c.pass(), CreateResult{"op-2", {{1, ""}}});
    c.vm("hpc-2", VmStatus::k_unknown, "Reimaging");
    EXPECT_TRUE(c.pass().slurm.empty());
    EXPECT_EQ(c.phase("hpc-2"), Phase::k_creating);
    c.later(11 * k_minute + c.settings.deadline_grace_ms);
    EXPECT_EQ(reason_of(c.pass(), "hpc-2"),
              "cloudburst: timeout: the node was not up by its ResumeTimeout (creating)");
}

// CycleCloud keeps retrying Azure's AllocationFailed: the node stays Acquiring with the error
// in its StatusMessage and never goes Failed. That is capacity, seen late.
TEST(NodeLifecycle, CapacityStalledInAcquiringBacksOffTheArray) {
    Cluster c;
    c.hook(HookKind::k_resume, {"hpc-1", "hpc-2"});
    c.created(c.pass(), CreateResult{"op-1", {{1, ""}, {1, ""}}});
    c.vm("hpc-1", VmStatus::k_acquiring, "Acquiring");
    c.vm("hpc-2", VmStatus::k_acquiring, "Acquiring");
    c.w.cloud["hpc-2"].status_message = "Retrying: AllocationFailed: no capacity";
    const Plan out = c.pass();
    EXPECT_TRUE(reason_of(out, "hpc-1").empty()) << "Acquiring without an error is normal";
    EXPECT_EQ(reason_of(out, "hpc-2"),
              "cloudburst: capacity: Standard_HB120rs_v3 unavailable in westeurope: Retrying: "
              "AllocationFailed: no capacity");
    EXPECT_EQ(out.shutdowns, std::vector<std::string>{"hpc-2"}) << "stop CycleCloud retrying";
    ASSERT_EQ(c.w.health.count("hpc"), 1u);
    EXPECT_EQ(c.w.health["hpc"].kind, ErrorKind::k_capacity);
    // Acquiring with a message that says neither capacity nor quota: still CycleCloud's job.
    c.vm("hpc-1", VmStatus::k_acquiring, "Acquiring");
    c.w.cloud["hpc-1"].status_message = "Waiting for the network interface";
    EXPECT_TRUE(reason_of(c.pass(), "hpc-1").empty());
    EXPECT_EQ(c.phase("hpc-1"), Phase::k_creating);
}

// A bucket CycleCloud marks not valid (the size is not activated or is disabled) needs an
// admin: permanent, decided from the bucket, without a create call that cannot work.
TEST(NodeLifecycle, InvalidBucketFailsAtOnceAsPermanentWithoutACreateCall) {
    Cluster c;
    c.w.arrays["hpc"].buckets[0].valid = false;
    c.w.arrays["hpc"].buckets[0].invalid_reason = "NotActivated";
    c.hook(HookKind::k_resume, {"hpc-1"});
    const Plan out = c.pass();
    EXPECT_TRUE(out.creates.empty());
    const std::string why =
        "cloudburst: permanent: Standard_HB120rs_v3 cannot be used in node array hpc "
        "(NotActivated); activate the VM size for the subscription or set another in the node "
        "array";
    EXPECT_EQ(reason_of(out, "hpc-1"), why);
    ASSERT_EQ(c.w.health.count("hpc"), 1u);
    EXPECT_EQ(c.w.health["hpc"].kind, ErrorKind::k_permanent);
    // The bucket went invalid between our read and the call: the shortfall is permanent too,
    // whatever words CycleCloud used.
    Cluster d;
    d.hook(HookKind::k_resume, {"hpc-1"});
    const Plan ask = d.pass();
    d.w.arrays["hpc"].buckets[0].valid = false;
    d.w.arrays["hpc"].buckets[0].invalid_reason = "DisabledMachineType";
    const Plan refused = d.created(ask, CreateResult{"op", {{0, "0 of 1 nodes added"}}});
    EXPECT_EQ(reason_of(refused, "hpc-1"),
              "cloudburst: permanent: Standard_HB120rs_v3 cannot be used in node array hpc "
              "(DisabledMachineType); activate the VM size for the subscription or set another "
              "in the node array");
    EXPECT_EQ(d.w.health["hpc"].kind, ErrorKind::k_permanent);
}

// ---- Several VM sizes per node array: health per size (node range) ----------------------

const CreateBatch* batch_of(const Plan& p, const std::string& range) {
    for (const auto& b : p.creates) {
        if (b.nodearray == range) {
            return &b;
        }
    }
    return nullptr;
}

TEST(NodeLifecycle, ANodeOfAFurtherVmSizeIsCreatedInItsArrayWithItsSize) {
    Cluster c;
    c.two_sizes();
    c.hook(HookKind::k_resume, {"hpc-1", "hpc-hb176rs-v4-1"});
    EXPECT_EQ(c.w.intents.at("hpc-hb176rs-v4-1").nodearray, "hpc-hb176rs-v4");
    const Plan plan = c.pass();
    ASSERT_EQ(plan.creates.size(), 2u) << "one create call per VM size";
    const CreateBatch* first = batch_of(plan, "hpc");
    const CreateBatch* second = batch_of(plan, "hpc-hb176rs-v4");
    ASSERT_TRUE(first != nullptr && second != nullptr);
    ASSERT_EQ(second->requests.size(), 1u);
    EXPECT_EQ(second->requests[0].nodearray, "hpc");
    EXPECT_EQ(second->requests[0].machine_type, "Standard_HB176rs_v4");
    EXPECT_EQ(second->requests[0].name, "hpc-hb176rs-v4-1");
    EXPECT_EQ(first->requests.at(0).machine_type, "Standard_HB120rs_v3");
}

// The done-when of issue 15's third point, as the reconciler sees it: size A out of stock
// backs off A alone; nodes of A Slurm picks during the backoff fail at once without a call,
// and size B's nodes are still asked for.
TEST(NodeLifecycle, StockOutOfOneVmSizeBacksOffThatSizeOnly) {
    Cluster c;
    c.two_sizes();
    c.hook(HookKind::k_resume, {"hpc-1"});
    const Plan refused =
        c.created(c.pass(), CreateResult{"op-1", {{0, "AllocationFailed: no capacity"}}});
    EXPECT_EQ(reason_of(refused, "hpc-1"),
              "cloudburst: capacity: Standard_HB120rs_v3 unavailable in westeurope: "
              "AllocationFailed: no capacity");
    ASSERT_EQ(c.w.health.count("hpc"), 1u);
    EXPECT_EQ(c.w.health.count("hpc-hb176rs-v4"), 0u);
    c.later(k_minute / 6);
    c.hook(HookKind::k_resume, {"hpc-2", "hpc-hb176rs-v4-1"});
    const Plan next = c.pass();
    EXPECT_EQ(reason_of(next, "hpc-2").rfind("cloudburst: capacity: Standard_HB120rs_v3 ", 0), 0u)
        << reason_of(next, "hpc-2");
    EXPECT_EQ(c.phase("hpc-2"), Phase::k_failed);
    ASSERT_EQ(next.creates.size(), 1u);
    EXPECT_EQ(next.creates[0].nodearray, "hpc-hb176rs-v4");
    EXPECT_EQ(next.creates[0].requests.at(0).machine_type, "Standard_HB176rs_v4");
    EXPECT_EQ(c.phase("hpc-hb176rs-v4-1"), Phase::k_creating);
    // B's create works; A's backoff is still A's.
    c.created(next, CreateResult{"op-2", {{1, ""}}});
    EXPECT_EQ(c.w.health.count("hpc"), 1u);
    EXPECT_EQ(c.w.health.count("hpc-hb176rs-v4"), 0u);
}

TEST(NodeLifecycle, CapacitySeenLateForOneVmSizeBacksOffThatSizeOnly) {
    Cluster c;
    c.two_sizes();
    c.hook(HookKind::k_resume, {"hpc-1", "hpc-hb176rs-v4-1"});
    const Plan plan = c.pass();
    ASSERT_EQ(plan.creates.size(), 2u);
    for (std::size_t i = 0; i < plan.creates.size(); ++i) {
        c.created(plan, CreateResult{"op-" + std::to_string(i), {{1, ""}}}, i);
    }
    c.w.health = {};
    c.vm("hpc-1", VmStatus::k_failed, "Failed");
    c.w.cloud["hpc-1"].machine_type = "Standard_HB120rs_v3";
    c.w.cloud["hpc-1"].status_message = "AllocationFailed: Allocation failed.";
    c.vm("hpc-hb176rs-v4-1", VmStatus::k_acquiring, "Acquiring");
    const Plan out = c.pass();
    EXPECT_EQ(reason_of(out, "hpc-1").rfind("cloudburst: capacity: Standard_HB120rs_v3 ", 0), 0u)
        << reason_of(out, "hpc-1");
    EXPECT_EQ(c.w.health.count("hpc"), 1u);
    EXPECT_EQ(c.w.health.count("hpc-hb176rs-v4"), 0u);
    EXPECT_EQ(c.phase("hpc-hb176rs-v4-1"), Phase::k_creating);
    // B's VM comes up: A stays backed off (only a VM of A ends A's backoff).
    c.vm("hpc-hb176rs-v4-1", VmStatus::k_ready, "Ready", "198.18.0.8");
    c.later(2 * k_minute);
    c.pass();
    EXPECT_EQ(c.phase("hpc-hb176rs-v4-1"), Phase::k_registering);
    EXPECT_EQ(c.w.health.count("hpc"), 1u);
}

TEST(NodeLifecycle, AFurtherVmSizeCycleCloudMarksNotValidFailsItsNodesAtOnce) {
    Cluster c;
    c.two_sizes();
    c.w.arrays["hpc"].buckets[1].valid = false;
    c.w.arrays["hpc"].buckets[1].invalid_reason = "NotActivated";
    c.hook(HookKind::k_resume, {"hpc-1", "hpc-hb176rs-v4-1"});
    const Plan out = c.pass();
    ASSERT_EQ(out.creates.size(), 1u);
    EXPECT_EQ(out.creates[0].nodearray, "hpc");
    EXPECT_EQ(reason_of(out, "hpc-hb176rs-v4-1"),
              "cloudburst: permanent: Standard_HB176rs_v4 cannot be used in node array hpc "
              "(NotActivated); activate the VM size for the subscription or set another in the "
              "node array");
    EXPECT_EQ(c.w.health.count("hpc-hb176rs-v4"), 1u);
    EXPECT_EQ(c.w.health.count("hpc"), 0u);
}

TEST(NodeLifecycle, ASpentBudgetStopsEveryVmSizeOfTheArray) {
    Cluster c;
    c.two_sizes();
    ArrayHealth spent;
    spent.kind = ErrorKind::k_quota;
    spent.budget = true;
    spent.failures = 1;
    spent.until_ms = k_start + 24 * 60 * k_minute;
    spent.reason = "cloudburst: budget: hpc spent its monthly budget";
    c.w.health["hpc"] = spent;
    c.hook(HookKind::k_resume, {"hpc-hb176rs-v4-1"});
    const Plan out = c.pass();
    EXPECT_TRUE(out.creates.empty());
    EXPECT_EQ(reason_of(out, "hpc-hb176rs-v4-1"), spent.reason);
}

// hpc's first size is out of stock: its other powered-down nodes (not those an admin set
// DOWN or DRAIN, not those in use, not the other size's) are held DOWN with the reason, and
// return to the pool with the failed node when the backoff ends.
TEST(NodeLifecycle, BackedOffRangeHoldsItsOtherPoweredDownNodes) {
    Cluster c;
    c.two_sizes();
    c.hook(HookKind::k_resume, {"hpc-1"});
    const Plan refused =
        c.created(c.pass(), CreateResult{"op-1", {{0, "AllocationFailed: no capacity"}}});
    const std::string why = reason_of(refused, "hpc-1");
    c.slurm("hpc-1", "DOWN", {"POWERED_DOWN"}, why);
    c.slurm("hpc-2", "IDLE", {"POWERED_DOWN"});
    c.slurm("hpc-3", "IDLE", {"POWERED_DOWN"});
    c.slurm("hpc-4", "IDLE", {"POWERED_DOWN", "DRAIN"}, "admin: disk");
    c.slurm("hpc-5", "ALLOCATED", {"POWERING_UP"});
    c.slurm("hpc-hb176rs-v4-1", "IDLE", {"POWERED_DOWN"});
    const Plan held = c.pass();
    ASSERT_TRUE(has_update(held, "hpc-2", "DOWN"));
    EXPECT_EQ(reason_of(held, "hpc-2"), why);
    EXPECT_TRUE(has_update(held, "hpc-3", "DOWN"));
    for (const std::string node : {"hpc-4", "hpc-5", "hpc-hb176rs-v4-1"}) {
        EXPECT_FALSE(has_update(held, node, "DOWN")) << node;
    }
    // Slurm has them DOWN now: nothing more until the backoff ends; then they return.
    c.slurm("hpc-2", "DOWN", {"POWERED_DOWN"}, why);
    c.slurm("hpc-3", "DOWN", {"POWERED_DOWN"}, why);
    EXPECT_TRUE(c.pass().slurm.empty());
    c.later(c.settings.backoff_initial_ms);
    const Plan back = c.pass();
    for (const std::string node : {"hpc-1", "hpc-2", "hpc-3"}) {
        EXPECT_TRUE(has_update(back, node, "RESUME")) << node;
    }
    EXPECT_FALSE(has_update(back, "hpc-4", "RESUME"));
}

TEST(NodeLifecycle, PlacementGroupsNeverMixVmSizes) {
    Cluster c;
    c.two_sizes();
    c.w.arrays["hpc"].configuration["slurm.hpc"] = "true";
    c.settings.cluster = "burst";
    c.hook(HookKind::k_resume, {"hpc-1", "hpc-hb176rs-v4-1"});
    const Plan plan = c.pass();
    const CreateBatch* first = batch_of(plan, "hpc");
    const CreateBatch* second = batch_of(plan, "hpc-hb176rs-v4");
    ASSERT_TRUE(first != nullptr && second != nullptr);
    EXPECT_EQ(first->requests.at(0).placement_group, "burst-hpc-pg0");
    EXPECT_EQ(second->requests.at(0).placement_group, "burst-hpc-hb176rs-v4-pg0");
}

// Boots a VM for `name` that never registers; gives up after the deadline.
void never_registers(Cluster& c, const std::string& name) {
    c.hook(HookKind::k_resume, {name});
    const Plan ask = c.pass();
    ASSERT_EQ(ask.creates.size(), 1u) << name;
    c.created(ask, CreateResult{"op-" + name, {{1, ""}}});
    c.vm(name, VmStatus::k_ready, "Ready", "198.18.0.7");
    c.slurm(name, "IDLE", {"POWERING_UP"});
    c.pass();
    ASSERT_EQ(c.phase(name), Phase::k_registering);
    c.later(10 * k_minute + c.settings.deadline_grace_ms);
    c.pass();
    ASSERT_EQ(c.phase(name), Phase::k_failed);
    c.w.cloud.erase(name);
}

// A bad image or cluster-init: VMs come up, slurmd never registers. After
// bootstrap_failures in a row the array stops getting VMs; after the backoff one node
// probes, and only its registration closes the breaker.
TEST(NodeLifecycle, NodesThatNeverRegisterOpenTheBootstrapBreaker) {
    Cluster c;
    c.settings.bootstrap_failures = 3;
    never_registers(c, "hpc-1");
    never_registers(c, "hpc-2");
    EXPECT_EQ(c.w.health.count("hpc"), 0u);
    EXPECT_EQ(c.w.bootstrap["hpc"].failures, 2);
    never_registers(c, "hpc-3");
    ASSERT_EQ(c.w.health.count("hpc"), 1u);
    const std::string why =
        "cloudburst: bootstrap: 3 nodes of hpc in a row never registered with Slurm; last: "
        "hpc-3 at 198.18.0.7 never registered by its ResumeTimeout; check the image and "
        "cluster-init, then `cloudburst buckets reset hpc`";
    EXPECT_EQ(c.w.health["hpc"].reason, why);
    EXPECT_TRUE(c.w.health["hpc"].bootstrap);
    // Open: nodes fail at once, no VM is made.
    c.hook(HookKind::k_resume, {"hpc-4"});
    const Plan open = c.pass();
    EXPECT_TRUE(open.creates.empty());
    EXPECT_EQ(reason_of(open, "hpc-4").rfind(why, 0), 0u) << reason_of(open, "hpc-4");
    // After the backoff: one probe, the other node waits for it.
    c.w.now_ms = c.w.health["hpc"].until_ms;
    c.hook(HookKind::k_resume, {"hpc-5", "hpc-6"});
    const Plan probe = c.pass();
    ASSERT_EQ(probe.creates.size(), 1u);
    ASSERT_EQ(probe.creates[0].requests.size(), 1u);
    EXPECT_EQ(probe.creates[0].requests[0].name, "hpc-5");
    EXPECT_EQ(c.phase("hpc-6"), Phase::k_requested);
    c.created(probe, CreateResult{"op-probe", {{1, ""}}});
    EXPECT_EQ(c.w.health.count("hpc"), 1u) << "accepted is not registered";
    EXPECT_TRUE(c.pass().creates.empty()) << "still one probe at a time";
    c.vm("hpc-5", VmStatus::k_ready, "Ready", "198.18.0.8");
    c.pass();
    c.slurm("hpc-5", "IDLE", {});
    c.pass();
    EXPECT_EQ(c.phase("hpc-5"), Phase::k_running);
    EXPECT_EQ(c.w.health.count("hpc"), 0u) << "the probe registered: breaker closed";
    EXPECT_EQ(c.w.bootstrap.count("hpc"), 0u);
    const Plan rest = c.pass();
    ASSERT_EQ(rest.creates.size(), 1u);
    EXPECT_EQ(rest.creates[0].requests[0].name, "hpc-6");
}

TEST(NodeLifecycle, ARegistrationEndsTheBootstrapStreak) {
    Cluster c;
    c.settings.bootstrap_failures = 3;
    never_registers(c, "hpc-1");
    never_registers(c, "hpc-2");
    bring_up(c, "hpc-3");
    EXPECT_EQ(c.w.bootstrap.count("hpc"), 0u);
    never_registers(c, "hpc-4");
    never_registers(c, "hpc-5");
    EXPECT_EQ(c.w.health.count("hpc"), 0u) << "not three in a row";
    // A VM that failed in Preparing (it had its address) counts as well.
    c.hook(HookKind::k_resume, {"hpc-6"});
    c.created(c.pass(), CreateResult{"op-6", {{1, ""}}});
    c.vm("hpc-6", VmStatus::k_failed, "Failed", "198.18.0.9");
    c.w.cloud["hpc-6"].status_message = "cluster-init script 10-install.sh exited 1";
    c.pass();
    ASSERT_EQ(c.w.health.count("hpc"), 1u);
    EXPECT_EQ(c.w.health["hpc"].reason,
              "cloudburst: bootstrap: 3 nodes of hpc in a row never registered with Slurm; "
              "last: hpc-6 failed before slurmd registered: cluster-init script 10-install.sh "
              "exited 1; check the image and cluster-init, then `cloudburst buckets reset hpc`");
    // Off when set to 0.
    Cluster off;
    off.settings.bootstrap_failures = 0;
    for (const char* n : {"hpc-1", "hpc-2", "hpc-3", "hpc-4", "hpc-5", "hpc-6"}) {
        never_registers(off, n);
    }
    EXPECT_EQ(off.w.health.count("hpc"), 0u);
}

TEST(NodeLifecycle, VmVanishedWhileAJobRanRequeuesAndReturnsTheNode) {
    Cluster c;
    bring_up(c, "hpc-1");
    c.vm("hpc-1", VmStatus::k_terminating, "Terminating");
    c.w.cloud["hpc-1"].status_message = "Evicted: Azure reclaimed the Spot VM";
    const Plan lost = c.pass();
    EXPECT_EQ(reason_of(lost, "hpc-1"),
              "cloudburst: lost: the VM is Terminating: Evicted: Azure reclaimed the Spot VM");
    EXPECT_TRUE(lost.shutdowns.empty()) << "already going";
    c.w.cloud.erase("hpc-1");
    c.slurm("hpc-1", "DOWN", {"POWERED_DOWN"}, "cloudburst: lost: ...");
    const Plan back = c.pass();
    EXPECT_TRUE(has_update(back, "hpc-1", "RESUME"));
    EXPECT_EQ(c.phase("hpc-1"), Phase::k_idle);
}

TEST(NodeLifecycle, OrphanVmIsRemovedOnlyAfterTheGracePeriod) {
    Cluster c;
    c.vm("hpc-9", VmStatus::k_ready, "Ready", "198.18.0.99");  // created behind our back
    c.slurm("hpc-9", "IDLE", {"POWERED_DOWN"});
    EXPECT_TRUE(c.pass().shutdowns.empty());
    c.later(c.settings.orphan_grace_ms - 1);
    EXPECT_TRUE(c.pass().shutdowns.empty());
    c.later(1);
    EXPECT_EQ(c.pass().shutdowns, std::vector<std::string>{"hpc-9"});
    EXPECT_EQ(c.phase("hpc-9"), Phase::k_stopping);
}

TEST(NodeLifecycle, OrphanThatSlurmPowersUpInTheGraceIsKept) {
    Cluster c;
    c.vm("hpc-9", VmStatus::k_ready, "Ready", "198.18.0.99");
    c.slurm("hpc-9", "IDLE", {"POWERED_DOWN"});
    c.pass();
    c.hook(HookKind::k_resume, {"hpc-9"});
    c.later(c.settings.orphan_grace_ms);
    const Plan plan = c.pass();
    EXPECT_TRUE(plan.shutdowns.empty());
    EXPECT_TRUE(plan.creates.empty()) << "the existing VM is adopted";
    EXPECT_EQ(c.phase("hpc-9"), Phase::k_registering);
}

TEST(NodeLifecycle, ZombieFailedVmOfAPoweredDownNodeIsRemoved) {
    Cluster c;
    c.vm("hpc-3", VmStatus::k_failed, "Failed");
    c.slurm("hpc-3", "IDLE", {"POWERED_DOWN"});
    c.pass();
    c.later(c.settings.orphan_grace_ms);
    EXPECT_EQ(c.pass().shutdowns, std::vector<std::string>{"hpc-3"});
}

TEST(NodeLifecycle, KeepAliveVmsAreNeverOrphans) {
    Cluster c;
    c.vm("hpc-2", VmStatus::k_ready, "Ready", "198.18.0.2");
    c.w.cloud["hpc-2"].keep_alive = true;
    c.slurm("hpc-2", "IDLE", {"POWERED_DOWN"});
    c.pass();
    c.later(c.settings.orphan_grace_ms * 10);
    EXPECT_TRUE(c.pass().shutdowns.empty());
}

TEST(NodeLifecycle, VmsOfArraysWeDoNotManageAreLeftAlone) {
    Cluster c;
    c.vm("scheduler", VmStatus::k_ready, "Ready", "10.0.0.4");
    c.w.cloud["scheduler"].nodearray = "";
    c.pass();
    c.later(c.settings.orphan_grace_ms * 10);
    EXPECT_TRUE(c.pass().shutdowns.empty());
}

TEST(NodeLifecycle, SuspendWhileACreateIsInFlightShutsTheNewVmDown) {
    Cluster c;
    c.hook(HookKind::k_resume, {"hpc-1"});
    c.created(c.pass(), CreateResult{"op-1", {{1, ""}}});
    c.hook(HookKind::k_suspend, {"hpc-1"});
    c.vm("hpc-1", VmStatus::k_acquiring, "Acquiring");
    EXPECT_EQ(c.pass().shutdowns, std::vector<std::string>{"hpc-1"});
    EXPECT_EQ(c.phase("hpc-1"), Phase::k_stopping);
}

TEST(NodeLifecycle, ResumeOfANodeWhoseOldVmIsStillTerminatingWaitsForIt) {
    Cluster c;
    bring_up(c, "hpc-1");
    c.hook(HookKind::k_suspend, {"hpc-1"});
    c.pass();
    c.vm("hpc-1", VmStatus::k_terminating, "Terminating");
    c.hook(HookKind::k_resume, {"hpc-1"});
    EXPECT_TRUE(c.pass().creates.empty());
    c.w.cloud.erase("hpc-1");
    EXPECT_EQ(c.pass().creates.size(), 1u);
}

TEST(NodeLifecycle, LateRegistrationWhileTheVmIsTornDownDoesNotRevive) {
    Cluster c;
    bring_up(c, "hpc-1");
    c.hook(HookKind::k_suspend, {"hpc-1"});
    c.pass();
    c.vm("hpc-1", VmStatus::k_terminating, "Terminating");
    c.slurm("hpc-1", "IDLE", {});  // slurmd registered just before the VM died
    const Plan plan = c.pass();
    EXPECT_TRUE(plan.creates.empty());
    EXPECT_EQ(c.phase("hpc-1"), Phase::k_stopping);
    c.w.cloud.erase("hpc-1");
    const Plan gone = c.pass();
    ASSERT_FALSE(gone.slurm.empty());
    EXPECT_EQ(gone.slurm[0].node_addrs, std::vector<std::string>{"hpc-1"});
    EXPECT_EQ(c.phase("hpc-1"), Phase::k_idle);
}

TEST(NodeLifecycle, ShutdownThatDidNotTakeIsAskedAgain) {
    Cluster c;
    bring_up(c, "hpc-1");
    c.hook(HookKind::k_suspend, {"hpc-1"});
    EXPECT_EQ(c.pass().shutdowns.size(), 1u);  // the call failed, or the daemon died
    EXPECT_TRUE(c.pass().shutdowns.empty());
    c.later(c.settings.stop_retry_ms);
    EXPECT_EQ(c.pass().shutdowns, std::vector<std::string>{"hpc-1"});
}

// CycleCloud refuses to shut down a KeepAlive node: no shutdown every minute for ever, the
// node is held DOWN with a reason saying why, and asked again once KeepAlive is cleared.
TEST(NodeLifecycle, KeepAliveVmIsHeldDownWithAReasonInsteadOfAskedForEver) {
    Cluster c;
    bring_up(c, "hpc-1");
    c.w.cloud["hpc-1"].keep_alive = true;
    c.hook(HookKind::k_suspend, {"hpc-1"});
    EXPECT_EQ(c.pass().shutdowns, std::vector<std::string>{"hpc-1"});  // CycleCloud refuses it
    c.later(c.settings.stop_retry_ms);
    const Plan held = c.pass();
    EXPECT_TRUE(held.shutdowns.empty());
    EXPECT_EQ(reason_of(held, "hpc-1"),
              "cloudburst: keep_alive: CycleCloud will not shut this VM down while its KeepAlive "
              "is set; clear KeepAlive in CycleCloud to let it go");
    for (int i = 0; i < 5; ++i) {
        c.later(c.settings.stop_retry_ms);
        const Plan again = c.pass();
        EXPECT_TRUE(again.shutdowns.empty());
        EXPECT_TRUE(again.slurm.empty()) << "said once";
    }
    c.w.cloud["hpc-1"].keep_alive = false;  // the admin cleared it
    c.later(c.settings.stop_retry_ms);
    EXPECT_EQ(c.pass().shutdowns, std::vector<std::string>{"hpc-1"});
}

TEST(NodeLifecycle, DaemonKilledAfterJournalingACreateDoesNotDuplicate) {
    Cluster c;
    c.hook(HookKind::k_resume, {"hpc-1"});
    c.pass();  // "creating" journaled; the create went out, the answer was lost with the daemon
    c.vm("hpc-1", VmStatus::k_acquiring, "Acquiring");
    c.later(c.settings.lost_create_grace_ms * 2);
    const Plan plan = c.pass();
    EXPECT_TRUE(plan.creates.empty()) << "the VM exists: no second create";
    c.vm("hpc-1", VmStatus::k_ready, "Ready", "198.18.0.3");
    c.pass();
    EXPECT_EQ(c.phase("hpc-1"), Phase::k_registering);
}

TEST(NodeLifecycle, SlurmctldRestartedKeepsRunningNodes) {
    Cluster c;
    bring_up(c, "hpc-1");
    // A warm restart: the node briefly shows NOT_RESPONDING until slurmd re-registers.
    c.slurm("hpc-1", "IDLE", {"NOT_RESPONDING"});
    const Plan plan = c.pass();
    EXPECT_TRUE(plan.shutdowns.empty());
    EXPECT_TRUE(plan.slurm.empty());
    EXPECT_EQ(c.phase("hpc-1"), Phase::k_running);
}

// What a create call's outcome does to the nodes asked for and to the array, decided from
// the structure of the answer (error kind, added < asked, the bucket) before its words.
TEST(NodeLifecycle, CreateOutcomesAreClassifiedByStructure) {
    struct Case {
        const char* what;
        Result<CreateResult> result;
        bool bucket_valid;
        Phase phase;      // of the node asked for, after the answer
        ErrorKind array;  // the array's health kind after the answer
    };
    const auto refused = [](ErrorKind kind, const char* text) {
        return Result<CreateResult>(make_error(kind, text));
    };
    const Case cases[] = {
        {"409 for the whole batch (invalid input)",
         refused(ErrorKind::k_cloud, "HTTP 409 for POST /clusters/c/nodes/create: Invalid input"),
         true, Phase::k_failed, ErrorKind::k_permanent},
        {"401", refused(ErrorKind::k_permanent, "HTTP 401"), true, Phase::k_failed,
         ErrorKind::k_permanent},
        {"429 after the client's retries", refused(ErrorKind::k_throttled, "HTTP 429"), true,
         Phase::k_requested, ErrorKind::k_throttled},
        {"503 after the client's retries", refused(ErrorKind::k_transient, "HTTP 503"), true,
         Phase::k_requested, ErrorKind::k_transient},
        {"added 0 with no message", CreateResult{"op", {{0, ""}}}, true, Phase::k_failed,
         ErrorKind::k_capacity},
        {"added 0 with words nobody documented", CreateResult{"op", {{0, "zzz"}}}, true,
         Phase::k_failed, ErrorKind::k_capacity},
        {"added 0, bucket not valid, words say capacity",
         CreateResult{"op", {{0, "AllocationFailed"}}}, false, Phase::k_failed,
         ErrorKind::k_permanent},
        {"added 0 and QuotaExceeded", CreateResult{"op", {{0, "QuotaExceeded"}}}, true,
         Phase::k_failed, ErrorKind::k_quota},
    };
    for (const auto& t : cases) {
        Cluster c;
        c.hook(HookKind::k_resume, {"hpc-1"});
        const Plan ask = c.pass();
        c.w.arrays["hpc"].buckets[0].valid = t.bucket_valid;
        c.created(ask, t.result);
        EXPECT_EQ(c.phase("hpc-1"), t.phase) << t.what;
        ASSERT_EQ(c.w.health.count("hpc"), 1u) << t.what;
        EXPECT_EQ(c.w.health["hpc"].kind, t.array) << t.what;
    }
}

TEST(NodeLifecycle, ClassifiesCycleCloudShortfalls) {
    EXPECT_EQ(classify_shortfall("AllocationFailed: We do not have sufficient capacity"),
              ErrorKind::k_capacity);
    EXPECT_EQ(classify_shortfall("QuotaExceeded: Operation could not be completed"),
              ErrorKind::k_quota);
    EXPECT_EQ(classify_shortfall("nodearray hpc would exceed its MaxCount of 4"),
              ErrorKind::k_quota);
    EXPECT_EQ(classify_shortfall("something new"), ErrorKind::k_capacity);
    EXPECT_EQ(clock_text(k_start), "13:46:40Z");
}

}  // namespace
}  // namespace cb
