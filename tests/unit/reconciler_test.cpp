#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "core/reconciler.h"
#include "daemon/daemon.h"

namespace cb {
namespace {

constexpr std::int64_t k_now = 1'000'000;

World world_with_array() {
    World w;
    w.now_ms = k_now;
    NodeArray hpc;
    hpc.name = "hpc";
    hpc.machine_type = "Standard_F2s_v2";
    hpc.region = "westeurope";
    w.arrays["hpc"] = hpc;
    NodeArray gpu;
    gpu.name = "gpu";
    gpu.machine_type = "Standard_NC24ads_A100_v4";
    w.arrays["gpu"] = gpu;
    return w;
}

void resume(World& w, const std::vector<std::string>& names, const ReconcileSettings& s = {}) {
    for (auto& n : apply_hook_request(w.intents, HookKind::k_resume, names, s, w.now_ms)) {
        w.intents[n.name] = n;
    }
}

CloudNode vm(const std::string& name, VmStatus status, const std::string& ip = "") {
    CloudNode c;
    c.name = name;
    c.status = status;
    c.private_ip = ip;
    return c;
}

void adopt(World& w, const Plan& plan) {
    for (const auto& n : plan.changed) {
        w.intents[n.name] = n;
    }
}

TEST(NodearrayOf, ParsesPrefixArrayAndNumber) {
    EXPECT_EQ(nodearray_of("hpc-12", ""), "hpc");
    EXPECT_EQ(nodearray_of("c1-htc-3", "c1-"), "htc");
    EXPECT_EQ(nodearray_of("my-gpu-array-1", ""), "my-gpu-array");
    EXPECT_EQ(nodearray_of("hpc12", ""), "");
    EXPECT_EQ(nodearray_of("hpc-", ""), "");
    EXPECT_EQ(nodearray_of("hpc-1x", ""), "");
    EXPECT_EQ(nodearray_of("other-hpc-1", "c1-"), "");
}

TEST(Reconciler, ResumeMakesOneCreateCallPerNodeArrayWithLiteralNames) {
    World w = world_with_array();
    resume(w, {"hpc-1", "hpc-2", "gpu-1", "hpc-3"});
    ASSERT_EQ(w.intents.size(), 4u);
    EXPECT_EQ(w.intents["hpc-1"].deadline_ms, k_now + 30L * 60 * 1000);
    Plan plan = reconcile(w, {});
    ASSERT_EQ(plan.creates.size(), 2u);
    const auto& hpc = plan.creates[1].nodearray == "hpc" ? plan.creates[1] : plan.creates[0];
    ASSERT_EQ(hpc.requests.size(), 3u);
    EXPECT_EQ(hpc.requests[0].name, "hpc-1");
    EXPECT_EQ(hpc.requests[0].machine_type, "Standard_F2s_v2");
    for (const auto& n : plan.changed) {
        EXPECT_EQ(n.phase, Phase::k_creating);
    }
}

TEST(Reconciler, RepeatedResumeChangesNothing) {
    World w = world_with_array();
    resume(w, {"hpc-1"});
    adopt(w, reconcile(w, {}));
    EXPECT_TRUE(apply_hook_request(w.intents, HookKind::k_resume, {"hpc-1"}, {}, k_now).empty());
}

TEST(Reconciler, ReadyVmGetsItsAddressThenRegisters) {
    World w = world_with_array();
    resume(w, {"hpc-1"});
    adopt(w, reconcile(w, {}));
    w.cloud["hpc-1"] = vm("hpc-1", VmStatus::k_acquiring);
    Plan waiting = reconcile(w, {});
    EXPECT_TRUE(waiting.slurm.empty());
    // The address is published as soon as it is known, before slurmd can register.
    w.cloud["hpc-1"] = vm("hpc-1", VmStatus::k_preparing, "198.18.0.9");
    Plan ready = reconcile(w, {});
    ASSERT_EQ(ready.slurm.size(), 1u);
    EXPECT_EQ(ready.slurm[0].node_addrs, std::vector<std::string>{"198.18.0.9"});
    EXPECT_EQ(ready.slurm[0].node_hostnames, std::vector<std::string>{"hpc-1"});
    adopt(w, ready);
    EXPECT_EQ(w.intents["hpc-1"].phase, Phase::k_registering);
    SlurmNode s;
    s.name = "hpc-1";
    s.state.base = "IDLE";
    s.state.flags = {"CLOUD", "POWERING_UP", "NOT_RESPONDING"};
    w.slurm["hpc-1"] = s;
    EXPECT_TRUE(reconcile(w, {}).changed.empty());
    w.slurm["hpc-1"].state.flags = {"CLOUD"};
    Plan registered = reconcile(w, {});
    ASSERT_EQ(registered.changed.size(), 1u);
    EXPECT_EQ(registered.changed[0].phase, Phase::k_running);
}

// The pass that publishes addresses: the journal keeps each node's address, the log names
// many nodes in one line (without addresses) and a few nodes in their own lines (with them).
std::vector<std::string> address_log_lines(int nodes) {
    World w = world_with_array();
    std::vector<std::string> names;
    for (int i = 1; i <= nodes; ++i) {
        names.push_back("hpc-" + std::to_string(i));
    }
    resume(w, names);
    adopt(w, reconcile(w, {}));
    for (int i = 1; i <= nodes; ++i) {
        w.cloud[names[i - 1]] =
            vm(names[i - 1], VmStatus::k_preparing, "198.18.0." + std::to_string(i));
    }
    const Plan plan = reconcile(w, {});
    EXPECT_EQ(plan.events.size(), static_cast<std::size_t>(nodes));
    for (const auto& e : plan.events) {
        EXPECT_NE(e.message.find(w.cloud[e.node].private_ip), std::string::npos) << e.message;
    }
    return event_log_lines(plan.events);
}

TEST(EventLogLines, AddressesOfManyNodesShareOneLine) {
    const auto lines = address_log_lines(10);
    ASSERT_EQ(lines.size(), 1u);
    EXPECT_EQ(lines[0].rfind("hpc-[1-10]: VM ", 0), 0u) << lines[0];
    EXPECT_EQ(lines[0].find("198.18."), std::string::npos) << lines[0];
}

TEST(EventLogLines, AddressesOfAFewNodesKeepTheirOwnLines) {
    const auto lines = address_log_lines(2);
    ASSERT_EQ(lines.size(), 2u);
    EXPECT_EQ(lines[0].rfind("hpc-1: ", 0), 0u) << lines[0];
    EXPECT_NE(lines[0].find("198.18.0.1;"), std::string::npos) << lines[0];
    EXPECT_NE(lines[1].find("198.18.0.2;"), std::string::npos) << lines[1];
}

TEST(EventLogLines, SameMessageForManyNodesIsOneLine) {
    std::vector<NodeEvent> events;
    for (const char* node : {"hpc-3", "hpc-1", "gpu-1", "hpc-2"}) {
        events.push_back({0, k_now, node, "transition", "asked CycleCloud", {}});
    }
    events.push_back({0, k_now, "hpc-9", "error", "no capacity", {}});
    const auto lines = event_log_lines(events);
    EXPECT_EQ(lines, (std::vector<std::string>{"gpu-1,hpc-[1-3]: asked CycleCloud",
                                               "hpc-9: no capacity"}));
}

TEST(Reconciler, SuspendShutsDownThenResetsAddressWhenVmIsGone) {
    World w = world_with_array();
    NodeIntent n;
    n.name = "hpc-1";
    n.nodearray = "hpc";
    n.desired = Desired::k_powered_up;
    n.phase = Phase::k_running;
    n.private_ip = "198.18.0.9";
    w.intents["hpc-1"] = n;
    w.cloud["hpc-1"] = vm("hpc-1", VmStatus::k_ready, "198.18.0.9");
    for (auto& c : apply_hook_request(w.intents, HookKind::k_suspend, {"hpc-1"}, {}, k_now)) {
        w.intents[c.name] = c;
    }
    Plan stop = reconcile(w, {});
    EXPECT_EQ(stop.shutdowns, std::vector<std::string>{"hpc-1"});
    adopt(w, stop);
    w.cloud["hpc-1"] = vm("hpc-1", VmStatus::k_terminating);
    EXPECT_TRUE(reconcile(w, {}).slurm.empty());
    w.cloud.erase("hpc-1");
    Plan gone = reconcile(w, {});
    ASSERT_EQ(gone.slurm.size(), 1u);
    EXPECT_EQ(gone.slurm[0].node_addrs, std::vector<std::string>{"hpc-1"});
    ASSERT_EQ(gone.changed.size(), 1u);
    EXPECT_EQ(gone.changed[0].phase, Phase::k_idle);
}

TEST(Reconciler, ResumeWaitsForTheOldVmToFinishTerminating) {
    World w = world_with_array();
    resume(w, {"hpc-1"});
    w.cloud["hpc-1"] = vm("hpc-1", VmStatus::k_terminating);
    Plan plan = reconcile(w, {});
    EXPECT_TRUE(plan.creates.empty());
    EXPECT_TRUE(plan.changed.empty());
}

TEST(Reconciler, DeallocatedVmIsStartedNotCreated) {
    World w = world_with_array();
    resume(w, {"hpc-1"});
    w.cloud["hpc-1"] = vm("hpc-1", VmStatus::k_deallocated);
    Plan plan = reconcile(w, {});
    EXPECT_TRUE(plan.creates.empty());
    EXPECT_EQ(plan.starts, std::vector<std::string>{"hpc-1"});
}

TEST(Reconciler, CreateShortfallMarksNodeDownWithCycleCloudsReason) {
    World w = world_with_array();
    resume(w, {"hpc-1", "hpc-2"});
    Plan plan = reconcile(w, {});
    adopt(w, plan);
    ASSERT_EQ(plan.creates.size(), 1u);
    Plan out;
    CreateResult r{"op-1", {{1, ""}, {0, "Azure has no capacity for Standard_F2s_v2"}}};
    apply_create_result(out, w, plan.creates[0], r, {});
    ASSERT_EQ(out.changed.size(), 2u);
    EXPECT_EQ(out.changed[0].operation_id, "op-1");
    EXPECT_EQ(out.changed[1].desired, Desired::k_powered_down);
    EXPECT_EQ(out.changed[1].phase, Phase::k_failed);
    ASSERT_EQ(out.slurm.size(), 2u);
    EXPECT_EQ(out.slurm[0].state, "DOWN");
    EXPECT_EQ(out.slurm[0].reason,
              "cloudburst: capacity: Standard_F2s_v2 unavailable in westeurope: Azure has no "
              "capacity for Standard_F2s_v2");
    EXPECT_EQ(out.slurm[1].state, "POWER_DOWN");
}

TEST(Reconciler, CreateOfANodeThatAlreadyExistsWaitsForIt) {
    World w = world_with_array();
    resume(w, {"hpc-1"});
    Plan plan = reconcile(w, {});
    adopt(w, plan);
    Plan out;
    apply_create_result(out, w, plan.creates[0],
                        CreateResult{"op-2", {{0, "Node hpc-1 already exists"}}}, {});
    ASSERT_EQ(out.changed.size(), 1u);
    EXPECT_EQ(out.changed[0].phase, Phase::k_creating);
    EXPECT_EQ(out.changed[0].desired, Desired::k_powered_up);
    EXPECT_TRUE(out.slurm.empty());
}

TEST(Reconciler, FailedCreateCallIsRetriedNextPass) {
    World w = world_with_array();
    resume(w, {"hpc-1"});
    Plan plan = reconcile(w, {});
    adopt(w, plan);
    Plan out;
    apply_create_result(out, w, plan.creates[0],
                        Result<CreateResult>(make_error(ErrorKind::k_transient, "HTTP 503")), {});
    adopt(w, out);
    w.health = out.health;
    EXPECT_EQ(w.intents["hpc-1"].phase, Phase::k_requested);
    EXPECT_TRUE(reconcile(w, {}).creates.empty()) << "asked again before the backoff ended";
    w.now_ms = w.health["hpc"].until_ms;
    EXPECT_EQ(reconcile(w, {}).creates.size(), 1u);
}

TEST(Reconciler, FailedVmGoesDownWithReasonAndIsCleanedUp) {
    World w = world_with_array();
    resume(w, {"hpc-1"});
    adopt(w, reconcile(w, {}));
    auto failed = vm("hpc-1", VmStatus::k_failed);
    failed.status_message = "OS provisioning timed out";
    w.cloud["hpc-1"] = failed;
    Plan plan = reconcile(w, {});
    EXPECT_EQ(plan.shutdowns, std::vector<std::string>{"hpc-1"});
    ASSERT_FALSE(plan.slurm.empty());
    EXPECT_EQ(plan.slurm[0].reason, "cloudburst: cloud: VM failed: OS provisioning timed out");
}

// A Failed VM seen while the node waited for its VM: structure first (no address yet, the
// bucket's lastCapacityFailure no older than the ask), words only refine.
TEST(Reconciler, LateFailuresAreClassifiedByStructureThenWords) {
    struct Case {
        VmStatus status;
        std::string ip;
        std::string message;
        double last_capacity_failure;  // seconds ago; negative: never; NaN: no bucket
        ErrorKind expected;
    };
    const double no_bucket = std::numeric_limits<double>::quiet_NaN();
    const std::vector<Case> cases{
        {VmStatus::k_failed, "", "", -1, ErrorKind::k_cloud},
        {VmStatus::k_failed, "", "", 10, ErrorKind::k_capacity},
        {VmStatus::k_failed, "", "something new", 10, ErrorKind::k_capacity},
        {VmStatus::k_failed, "", "", 4000, ErrorKind::k_cloud},  // older than the ask
        {VmStatus::k_failed, "", "OS provisioning timed out", -1, ErrorKind::k_cloud},
        {VmStatus::k_failed, "", "AllocationFailed: no capacity", -1, ErrorKind::k_capacity},
        {VmStatus::k_failed, "", "ZonalAllocationFailed", -1, ErrorKind::k_capacity},
        {VmStatus::k_failed, "", "SkuNotAvailable", no_bucket, ErrorKind::k_capacity},
        {VmStatus::k_failed, "", "QuotaExceeded: Total Regional Cores", 10, ErrorKind::k_quota},
        {VmStatus::k_failed, "", "", no_bucket, ErrorKind::k_cloud},
        {VmStatus::k_failed, "198.18.0.4", "AllocationFailed", 10, ErrorKind::k_cloud},
        // Acquiring with an error: CycleCloud retrying Azure's refusal (a stall).
        {VmStatus::k_acquiring, "", "AllocationFailed", -1, ErrorKind::k_capacity},
        {VmStatus::k_acquiring, "", "Retrying: QuotaExceeded", -1, ErrorKind::k_quota},
        {VmStatus::k_acquiring, "", "Waiting for the network interface", 10, ErrorKind::k_capacity},
        {VmStatus::k_acquiring, "", "Waiting for the network interface", -1, ErrorKind::k_cloud},
        {VmStatus::k_acquiring, "", "", 10, ErrorKind::k_cloud},  // plain Acquiring
        {VmStatus::k_ready, "", "AllocationFailed", 10, ErrorKind::k_cloud},
    };
    for (const auto& t : cases) {
        CloudNode node = vm("hpc-1", t.status, t.ip);
        node.status_message = t.message;
        Bucket b;
        b.last_capacity_failure_seconds = t.last_capacity_failure;
        const Bucket* bucket = std::isnan(t.last_capacity_failure) ? nullptr : &b;
        EXPECT_EQ(classify_late_failure(node, bucket, 60'000), t.expected)
            << "'" << t.message << "' ip '" << t.ip << "' lastCapacityFailure "
            << t.last_capacity_failure;
    }
}

TEST(Reconciler, CreateLostToACrashIsAskedAgainAfterGrace) {
    World w = world_with_array();
    resume(w, {"hpc-1"});
    adopt(w, reconcile(w, {}));  // journaled "creating"; the daemon died before the call
    w.now_ms += 30L * 1000;
    EXPECT_TRUE(reconcile(w, {}).changed.empty());
    w.now_ms += 31L * 1000;
    Plan plan = reconcile(w, {});
    ASSERT_EQ(plan.creates.size(), 1u);
    EXPECT_EQ(plan.creates[0].requests[0].name, "hpc-1");
}

TEST(Reconciler, UnknownNodeArrayIsReportedInSlurm) {
    World w = world_with_array();
    resume(w, {"mystery-1"});
    Plan plan = reconcile(w, {});
    EXPECT_TRUE(plan.creates.empty());
    ASSERT_EQ(plan.slurm.size(), 2u);
    EXPECT_EQ(plan.slurm[0].reason, "cloudburst: config: no CycleCloud node array 'mystery'");
    EXPECT_EQ(plan.health.at("mystery").kind, ErrorKind::k_permanent);
}

}  // namespace
}  // namespace cb
