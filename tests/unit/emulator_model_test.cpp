// The cluster model: lifecycle timings (on a hand-moved clock), limits, quota, names,
// operations, node faults and usage.
#include <gtest/gtest.h>

#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

#include "emulator/clock.h"
#include "emulator/model_runner.h"
#include "unit/emulator_fixtures.h"

namespace cb::emulator {
namespace {

using namespace std::chrono_literals;
using testing::model;
using testing::RecordingBackend;

class Harness {
  public:
    explicit Harness(const std::vector<std::string>& overrides = {}, ModelOptions options = {})
        : m_runner(model(overrides, std::move(options)), backend, clock) {}

    ManualClock clock;
    RecordingBackend backend;

    // Moves time forward and lets the lifecycle catch up.
    void advance(std::chrono::milliseconds by) {
        clock.advance(by);
        m_runner.step();
    }
    // Acquire (1 s) and prepare (2 s): what was created now is Ready after this.
    void boot() {
        advance(std::chrono::seconds(1));
        advance(std::chrono::seconds(2));
    }
    template <typename F>
    decltype(auto) with(F&& f) {
        return m_runner.with_model(std::forward<F>(f));
    }
    CreateResult create(CreateSet set, const std::string& request_id = "") {
        CreateRequest request;
        request.request_id = request_id;
        request.sets.push_back(std::move(set));
        auto r = with([&](ClusterModel& m, Time now) { return m.create_nodes(request, now); });
        EXPECT_TRUE(r) << r.error().describe();
        return r ? *r : CreateResult{};
    }
    ManagementResult manage(NodeAction action, std::vector<std::string> names) {
        NodeSelector selector;
        selector.names = std::move(names);
        auto r =
            with([&](ClusterModel& m, Time now) { return m.manage(action, selector, "", now); });
        EXPECT_TRUE(r) << r.error().describe();
        return r ? *r : ManagementResult{};
    }
    // Status of a node, or "gone".
    std::string status(const std::string& name) {
        return with([&](ClusterModel& m, Time) {
            const Node* n = m.find_node(name);
            return n == nullptr ? std::string("gone") : std::string(to_string(n->status));
        });
    }
    Node node(const std::string& name) {
        return with([&](ClusterModel& m, Time) {
            const Node* n = m.find_node(name);
            EXPECT_NE(n, nullptr) << name;
            return n == nullptr ? Node{} : *n;
        });
    }
    BucketStatus bucket(std::size_t array, std::size_t bucket = 0) {
        return with([&](ClusterModel& m, Time now) {
            return m.status(now).node_arrays.at(array).buckets.at(bucket);
        });
    }
    std::uint64_t faults(FaultKind kind) {
        return with([&](ClusterModel& m, Time) {
            return m.fault_counts()[static_cast<std::size_t>(kind)];
        });
    }

  private:
    ModelRunner m_runner;
};

CreateSet set_of(const std::string& array, std::int64_t count, const std::string& format = "") {
    CreateSet s;
    s.nodearray = array;
    s.count = count;
    s.name_format = format;
    return s;
}

constexpr std::size_t k_hpc = 0;
constexpr std::size_t k_htc = 1;
constexpr std::size_t k_gpu = 2;
constexpr std::size_t k_dynamic = 3;

TEST(EmulatorLifecycle, CreateGoesAcquiringPreparingReadyOnTime) {
    Harness h;
    const auto r = h.create(set_of("hpc", 2));
    EXPECT_EQ(r.sets.at(0).added, 2);
    EXPECT_EQ(r.sets.at(0).message, "");
    EXPECT_EQ(h.status("hpc-1"), "Acquiring");
    EXPECT_EQ(h.node("hpc-1").private_ip, "");

    h.advance(999ms);
    EXPECT_EQ(h.status("hpc-1"), "Acquiring");
    h.advance(1ms);  // acquire time (1 s) is over: the VM is created
    EXPECT_EQ(h.status("hpc-1"), "Preparing");
    const Node preparing = h.node("hpc-1");
    EXPECT_EQ(preparing.private_ip, "198.18.0.2");
    EXPECT_EQ(preparing.hostname, "hpc-1");
    EXPECT_FALSE(preparing.instance_id.empty());
    EXPECT_EQ(h.node("hpc-2").private_ip, "198.18.0.3");

    h.advance(1999ms);
    EXPECT_EQ(h.status("hpc-1"), "Preparing");
    h.advance(1ms);  // prepare time (2 s) is over: cluster-init ran
    EXPECT_EQ(h.status("hpc-1"), "Ready");
    EXPECT_EQ(h.status("hpc-2"), "Ready");
    EXPECT_EQ(h.backend.calls(),
              (std::vector<std::string>{"create_vm hpc-1", "create_vm hpc-2",
                                        "start_software hpc-1", "start_software hpc-2"}));
}

TEST(EmulatorLifecycle, RealisticTimingsTakeMinutes) {
    ModelOptions options;
    options.timings = Timings::realistic();
    Harness h({}, options);
    h.create(set_of("hpc", 1));
    h.advance(59s);
    EXPECT_EQ(h.status("hpc-1"), "Acquiring");
    h.advance(1s);
    EXPECT_EQ(h.status("hpc-1"), "Preparing");
    h.advance(3min);
    EXPECT_EQ(h.status("hpc-1"), "Preparing");
    h.advance(1min);
    EXPECT_EQ(h.status("hpc-1"), "Ready");
}

TEST(EmulatorLifecycle, TerminateRemovesTheRecordAfterTheVmIsGone) {
    Harness h;
    h.create(set_of("hpc", 1));
    h.boot();
    ASSERT_EQ(h.status("hpc-1"), "Ready");
    const auto r = h.manage(NodeAction::k_terminate, {"hpc-1"});
    ASSERT_EQ(r.nodes.size(), 1u);
    EXPECT_TRUE(r.nodes[0].ok);
    EXPECT_EQ(h.status("hpc-1"), "Terminating");
    EXPECT_EQ(h.node("hpc-1").target, TargetState::k_terminated);
    h.advance(999ms);
    EXPECT_EQ(h.status("hpc-1"), "Terminating");
    h.advance(1ms);
    EXPECT_EQ(h.status("hpc-1"), "gone");
    EXPECT_TRUE(h.backend.live().empty());
}

TEST(EmulatorLifecycle, TerminateWhileAcquiringStillCleansUpTheVm) {
    Harness h;
    h.create(set_of("hpc", 1));
    h.manage(NodeAction::k_terminate, {"hpc-1"});
    h.advance(1s);
    EXPECT_EQ(h.status("hpc-1"), "gone");
    EXPECT_TRUE(h.backend.live().empty());
    for (const auto& call : h.backend.calls()) {
        EXPECT_EQ(call.rfind("create_vm", 0), std::string::npos) << call;
    }
}

TEST(EmulatorLifecycle, DeallocateKeepsTheRecordAndStartBringsItBack) {
    Harness h;
    h.create(set_of("hpc", 1));
    h.boot();
    const std::string first_instance = h.node("hpc-1").instance_id;
    h.manage(NodeAction::k_deallocate, {"hpc-1"});
    EXPECT_EQ(h.status("hpc-1"), "Deallocating");
    h.advance(1s);
    EXPECT_EQ(h.status("hpc-1"), "Deallocated");
    EXPECT_EQ(h.node("hpc-1").target, TargetState::k_deallocated);
    EXPECT_EQ(h.node("hpc-1").private_ip, "");
    EXPECT_TRUE(h.backend.live().empty());

    const auto r = h.manage(NodeAction::k_start, {"hpc-1"});
    EXPECT_TRUE(r.nodes.at(0).ok);
    EXPECT_EQ(h.status("hpc-1"), "Acquiring");
    h.advance(1s);
    h.advance(2s);
    EXPECT_EQ(h.status("hpc-1"), "Ready");
    EXPECT_NE(h.node("hpc-1").instance_id, first_instance);
}

TEST(EmulatorLifecycle, ShutdownFollowsEachArraysShutdownPolicy) {
    Harness h({"ShutdownPolicy=Deallocate"});
    h.create(set_of("hpc", 1));
    h.boot();
    h.manage(NodeAction::k_shutdown, {"hpc-1"});
    EXPECT_EQ(h.status("hpc-1"), "Deallocating");

    Harness t;
    t.create(set_of("hpc", 1));
    t.manage(NodeAction::k_shutdown, {"hpc-1"});
    EXPECT_EQ(t.status("hpc-1"), "Terminating");
}

TEST(EmulatorLifecycle, RemoveDropsARecordWithoutAVmAtOnce) {
    Harness h;
    h.create(set_of("hpc", 1));
    h.boot();
    h.manage(NodeAction::k_deallocate, {"hpc-1"});
    h.advance(1s);
    ASSERT_EQ(h.status("hpc-1"), "Deallocated");
    h.manage(NodeAction::k_remove, {"hpc-1"});
    EXPECT_EQ(h.status("hpc-1"), "gone");

    h.create(set_of("hpc", 1));
    h.boot();
    h.manage(NodeAction::k_remove, {"hpc-1"});
    EXPECT_EQ(h.status("hpc-1"), "Terminating");
    h.advance(1s);
    EXPECT_EQ(h.status("hpc-1"), "gone");
}

TEST(EmulatorLifecycle, BackendCreateFailureFailsTheNodeAndRetryRecovers) {
    Harness h;
    h.backend.fail_next("create_vm", "hpc-1");
    h.create(set_of("hpc", 1));
    h.advance(1s);
    EXPECT_EQ(h.status("hpc-1"), "Failed");
    EXPECT_EQ(h.node("hpc-1").status_message, "Acquiring failed: injected backend failure");
    const auto r = h.with([](ClusterModel& m, Time now) { return m.retry_failed(now); });
    ASSERT_EQ(r.nodes.size(), 1u);
    EXPECT_EQ(h.status("hpc-1"), "Acquiring");
    h.advance(1s);
    h.advance(2s);
    EXPECT_EQ(h.status("hpc-1"), "Ready");
}

TEST(EmulatorLifecycle, DestroyFailureIsRetriedUntilItWorks) {
    Harness h;
    h.create(set_of("hpc", 1));
    h.boot();
    h.backend.fail_next("destroy_vm", "hpc-1");
    h.manage(NodeAction::k_terminate, {"hpc-1"});
    h.advance(1s);
    EXPECT_EQ(h.status("hpc-1"), "Terminating");
    EXPECT_EQ(h.node("hpc-1").status_message,
              "could not delete the VM (retrying): injected backend failure");
    h.advance(1s);
    EXPECT_EQ(h.status("hpc-1"), "gone");
}

// ---- names and requests -----------------------------------------------------------------

TEST(EmulatorNames, LiteralNameFormatCreatesExactlyThatName) {
    Harness h;
    const auto r = h.create(set_of("hpc", 1, "burst1-hpc-7"));
    EXPECT_EQ(r.sets.at(0).added, 1);
    EXPECT_EQ(h.status("burst1-hpc-7"), "Acquiring");
}

TEST(EmulatorNames, ADuplicateNameAddsNothingAndSaysWhy) {
    Harness h;
    h.create(set_of("hpc", 1, "burst1-hpc-7"));
    const auto r = h.create(set_of("hpc", 1, "burst1-hpc-7"));
    EXPECT_EQ(r.sets.at(0).added, 0);
    EXPECT_EQ(r.sets.at(0).message, "node burst1-hpc-7 already exists");
}

TEST(EmulatorNames, NumberedFormatsUseNameOffset) {
    Harness h;
    CreateSet s = set_of("htc", 3, "x-%03d");
    s.name_offset = 9;
    h.create(s);
    EXPECT_EQ(h.status("x-009"), "Acquiring");
    EXPECT_EQ(h.status("x-011"), "Acquiring");
    const auto again = h.create(set_of("htc", 3, "x-%03d"));  // offset 1: x-001..x-003
    EXPECT_EQ(again.sets.at(0).added, 3);
    CreateSet overlap = set_of("htc", 3, "x-%03d");
    overlap.name_offset = 10;
    const auto r = h.create(overlap);
    EXPECT_EQ(r.sets.at(0).added, 1);
    EXPECT_EQ(r.sets.at(0).message, "nodes x-010, x-011 already exist");
}

TEST(EmulatorNames, DefaultNamesTakeTheLowestFreeNumbers) {
    Harness h;
    h.create(set_of("hpc", 3));
    h.manage(NodeAction::k_remove, {"hpc-2"});  // no VM yet: dropped at once
    h.create(set_of("hpc", 2));
    EXPECT_EQ(h.status("hpc-2"), "Acquiring");
    EXPECT_EQ(h.status("hpc-4"), "Acquiring");
}

TEST(EmulatorNames, InvalidSetsAreRejectedWithoutCreatingAnything) {
    Harness h;
    struct Case {
        CreateSet set;
        std::string message;
    };
    CreateSet machine = set_of("hpc", 1);
    machine.machine_type = "Standard_HB120rs_v3";
    const std::vector<Case> cases{
        {set_of("hcp", 1),
         "sets[1]: cluster burst1 has no nodearray 'hcp' (it has hpc, htc, gpu, dynamic)"},
        {set_of("hpc", -1), "sets[1]: count must be 0 or more, not -1"},
        {set_of("hpc", 2, "solo"),
         "sets[1]: nameFormat 'solo' has no %d, so count must be 1, not 2"},
        {set_of("hpc", 1, "a-%s"),
         "sets[1]: nameFormat 'a-%s': only one %d (or %03d) is supported"},
        {set_of("hpc", 1, "bad name"),
         "sets[1]: 'bad name' is not a valid node name (up to 63 letters, digits, '-', '_' or "
         "'.')"},
        {machine,
         "sets[1]: nodearray hpc has no bucket for Standard_HB120rs_v3 (it has Standard_F2s_v2)"},
    };
    for (const auto& c : cases) {
        CreateRequest request;
        request.sets = {set_of("hpc", 1, "fine-1"), c.set};
        auto r = h.with([&](ClusterModel& m, Time now) { return m.create_nodes(request, now); });
        ASSERT_FALSE(r) << c.message;
        EXPECT_EQ(r.error().kind, ErrorKind::k_usage);
        EXPECT_EQ(r.error().message, c.message);
        EXPECT_EQ(h.status("fine-1"), "gone");
    }
}

TEST(EmulatorNames, ARepeatedRequestIdIsRejected) {
    Harness h;
    const auto first = h.create(set_of("hpc", 1), "req-1");
    CreateRequest again;
    again.request_id = "req-1";
    again.sets.push_back(set_of("hpc", 1));
    auto r = h.with([&](ClusterModel& m, Time now) { return m.create_nodes(again, now); });
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().message,
              "requestId req-1 was already used (operation " + first.operation_id + ")");
    const Operation* op =
        h.with([](ClusterModel& m, Time) { return m.operation_by_request("req-1"); });
    ASSERT_NE(op, nullptr);
    EXPECT_EQ(op->id, first.operation_id);
}

TEST(EmulatorNames, OperationsListExactlyTheNodesTheyTouched) {
    Harness h;
    const auto a = h.create(set_of("hpc", 2));
    const auto b = h.create(set_of("htc", 1));
    auto names = [&](const std::string& id) {
        return h.with([&](ClusterModel& m, Time) {
            std::vector<std::string> out;
            for (const Node* n : m.operation_nodes(*m.operation(id))) {
                out.push_back(n->name);
            }
            return out;
        });
    };
    EXPECT_EQ(names(a.operation_id), (std::vector<std::string>{"hpc-1", "hpc-2"}));
    EXPECT_EQ(names(b.operation_id), (std::vector<std::string>{"htc-1"}));
    const auto t = h.manage(NodeAction::k_terminate, {"hpc-2", "nope"});
    EXPECT_EQ(names(t.operation_id), (std::vector<std::string>{"hpc-2"}));
    ASSERT_EQ(t.nodes.size(), 2u);
    EXPECT_FALSE(t.nodes[1].ok);
    EXPECT_EQ(t.nodes[1].error, "node nope not found");
}

TEST(EmulatorNames, OldOperationsAreForgottenByCountAndByNodes) {
    Harness h({"MaxHTCExecuteNodeCount=2000", "MaxHTCExecuteCoreCount=4000"});
    const std::string first = h.create(set_of("htc", 0), "first").operation_id;
    for (int i = 0; i < 9'999; ++i) {
        h.create(set_of("htc", 0));
    }
    auto known = [&](const std::string& id) {
        return h.with([&](ClusterModel& m, Time) { return m.operation(id) != nullptr; });
    };
    EXPECT_TRUE(known(first));
    const std::string second = h.create(set_of("htc", 0)).operation_id;  // the 10,001st
    EXPECT_FALSE(known(first));
    EXPECT_TRUE(known(second));
    // The requestId of a forgotten operation can be used again.
    EXPECT_EQ(h.create(set_of("htc", 0), "first").sets.size(), 1u);

    // 200,000 node ids at most: big creates push old operations out sooner.
    std::vector<std::string> ids;
    for (int i = 0; i < 202; ++i) {
        ids.push_back(h.create(set_of("htc", 1000, "n-%d")).operation_id);
        NodeSelector all;
        all.filter = "Template === \"htc\"";
        const bool removed = h.with([&](ClusterModel& m, Time now) {
            return m.manage(NodeAction::k_remove, all, "", now).ok();
        });
        ASSERT_TRUE(removed);
    }
    // Each round is two operations of 1,000 nodes (create, remove): about 100 rounds fit.
    EXPECT_FALSE(known(ids[0]));
    EXPECT_FALSE(known(ids[95]));
    EXPECT_TRUE(known(ids[110]));
    EXPECT_TRUE(known(ids.back()));
}

TEST(EmulatorNames, SelectorsByIdHostnameAddressAndFilter) {
    Harness h;
    h.create(set_of("hpc", 2));
    h.create(set_of("htc", 1));
    h.boot();
    const std::string id = h.node("hpc-1").node_id;
    auto select = [&](NodeSelector s) {
        auto r = h.with([&](ClusterModel& m, Time now) {
            return m.manage(NodeAction::k_start, s, "", now);  // start of Ready nodes: no-op
        });
        EXPECT_TRUE(r) << r.error().describe();
        std::vector<std::string> out;
        for (const auto& n : r->nodes) {
            out.push_back(n.ok ? n.name : "error: " + n.error);
        }
        return out;
    };
    NodeSelector by_id;
    by_id.ids = {id};
    EXPECT_EQ(select(by_id), (std::vector<std::string>{"hpc-1"}));
    NodeSelector by_host;
    by_host.hostnames = {"HPC-2"};
    EXPECT_EQ(select(by_host), (std::vector<std::string>{"hpc-2"}));
    NodeSelector by_ip;
    by_ip.ip_addresses = {h.node("htc-1").private_ip, "10.0.0.1"};
    EXPECT_EQ(select(by_ip),
              (std::vector<std::string>{"htc-1", "error: no node has address 10.0.0.1"}));
    NodeSelector by_filter;
    by_filter.filter = R"(Template === "hpc" && Status === "Ready")";
    EXPECT_EQ(select(by_filter), (std::vector<std::string>{"hpc-1", "hpc-2"}));
    NodeSelector bad;
    bad.filter = "Colour === \"red\"";
    auto r = h.with(
        [&](ClusterModel& m, Time now) { return m.manage(NodeAction::k_start, bad, "", now); });
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().message,
              "filter 'Colour === \"red\"': unknown attribute 'Colour' (known: Name, NodeId, "
              "Template, MachineType, Status, TargetState, State, Hostname, PrivateIp, "
              "InstanceId, PlacementGroupId, Region, KeepAlive, Interruptible)");
}

// ---- limits and quota ---------------------------------------------------------------------

// The reference's own filter example is State === "Started".
TEST(EmulatorNames, FilterOnStateAsTheReferenceShows) {
    Harness h;
    h.create(set_of("hpc", 3));
    h.boot();
    h.manage(NodeAction::k_deallocate, {"hpc-2"});
    h.advance(1s);
    NodeSelector selector;
    selector.filter = R"(State === "Started")";
    auto r = h.with([&](ClusterModel& m, Time now) {
        return m.manage(NodeAction::k_terminate, selector, "", now);
    });
    ASSERT_TRUE(r) << r.error().describe();
    std::vector<std::string> names;
    for (const auto& n : r->nodes) {
        names.push_back(n.name);
    }
    EXPECT_EQ(names, (std::vector<std::string>{"hpc-1", "hpc-3"}));
    EXPECT_EQ(h.status("hpc-2"), "Deallocated");
}

TEST(EmulatorLimits, NodeArrayMaxCoreCountCapsACreate) {
    Harness h;  // hpc: MaxCoreCount 100 on 2-vCPU Standard_F2s_v2 = 50 nodes
    const BucketStatus before = h.bucket(k_hpc);
    EXPECT_EQ(before.max_count, 50);
    EXPECT_EQ(before.max_core_count, 100);
    EXPECT_EQ(before.available_count, 50);
    const auto r = h.create(set_of("hpc", 60));
    EXPECT_EQ(r.sets.at(0).added, 50);
    EXPECT_EQ(r.sets.at(0).message,
              "nodearray hpc would exceed its MaxCoreCount of 100 (100 cores active, "
              "Standard_F2s_v2 has 2)");
    const BucketStatus after = h.bucket(k_hpc);
    EXPECT_EQ(after.active_count, 50);
    EXPECT_EQ(after.active_core_count, 100);
    EXPECT_EQ(after.available_count, 0);
}

TEST(EmulatorLimits, NodeArrayMaxCountCapsACreate) {
    Harness h({"MaxHTCExecuteNodeCount=3"});
    const auto r = h.create(set_of("htc", 5));
    EXPECT_EQ(r.sets.at(0).added, 3);
    EXPECT_EQ(r.sets.at(0).message,
              "nodearray htc would exceed its MaxCount of 3 (3 nodes active)");
}

TEST(EmulatorLimits, TerminatingNodesCountAtCreateButNotInAvailableCount) {
    Harness h({"MaxHPCExecuteCoreCount=4"});  // two nodes
    h.create(set_of("hpc", 2));
    h.boot();
    h.manage(NodeAction::k_terminate, {"hpc-1"});
    const BucketStatus b = h.bucket(k_hpc);
    EXPECT_EQ(b.active_count, 2);     // hpc-1 is still terminating
    EXPECT_EQ(b.available_count, 1);  // CycleCloud's figure ignores it
    const auto r = h.create(set_of("hpc", 1));
    EXPECT_EQ(r.sets.at(0).added, 0);
    EXPECT_EQ(r.sets.at(0).message,
              "nodearray hpc would exceed its MaxCoreCount of 4 (4 cores active, "
              "Standard_F2s_v2 has 2)");
    h.advance(1s);
    EXPECT_EQ(h.create(set_of("hpc", 1)).sets.at(0).added, 1);
}

TEST(EmulatorLimits, DeallocatedNodesDoNotCountButStartBypassesArrayLimits) {
    Harness h({"MaxHPCExecuteCoreCount=2"});
    h.create(set_of("hpc", 1));
    h.boot();
    h.manage(NodeAction::k_deallocate, {"hpc-1"});
    h.advance(1s);
    EXPECT_EQ(h.bucket(k_hpc).active_count, 0);
    EXPECT_EQ(h.create(set_of("hpc", 1)).sets.at(0).added, 1);  // hpc-2
    const auto r = h.manage(NodeAction::k_start, {"hpc-1"});
    EXPECT_TRUE(r.nodes.at(0).ok);  // as in CycleCloud: start ignores the node array limit
    EXPECT_EQ(h.bucket(k_hpc).active_count, 2);
}

TEST(EmulatorLimits, PlacementGroupsHoldAtMostMaxScalesetSize) {
    Harness h({"HPCMaxScalesetSize=3"});
    CreateSet s = set_of("hpc", 5);
    s.placement_group_id = "pg0";
    const auto r = h.create(s);
    EXPECT_EQ(r.sets.at(0).added, 3);
    EXPECT_EQ(r.sets.at(0).message,
              "placement group pg0 is full (3 VMs, the Azure.MaxScalesetSize of nodearray hpc)");
    s.placement_group_id = "pg1";
    s.count = 1;
    EXPECT_EQ(h.create(s).sets.at(0).added, 1);
    const BucketStatus b = h.bucket(k_hpc);
    EXPECT_EQ(b.max_placement_group_size, 3);
    EXPECT_EQ(b.max_placement_group_core_size, 6);
    ASSERT_EQ(b.placement_groups.size(), 2u);
    EXPECT_EQ(b.placement_groups[0].name, "pg0");
    EXPECT_EQ(b.placement_groups[0].active_count, 3);
    EXPECT_EQ(b.placement_groups[0].active_core_count, 6);
    EXPECT_EQ(b.placement_groups[1].active_count, 1);
    EXPECT_EQ(h.node("hpc-4").placement_group_id, "pg1");
}

// The backend learns each VM's placement group and whether its size has InfiniBand, which
// together decide its fabric (the namespaces backend's ib0).
TEST(EmulatorLifecycle, TheBackendCreatesEachVmWithItsPlacementGroupAndNetwork) {
    Harness h({"HPCMachineType=Standard_HB120rs_v3", "MaxHPCExecuteCoreCount=480"});
    CreateSet grouped = set_of("hpc", 1);
    grouped.placement_group_id = "burst-hpc-pg0";
    h.create(grouped);
    h.create(set_of("hpc", 1));  // an InfiniBand size in no group
    h.create(set_of("htc", 1));  // Standard_F2s_v2: no InfiniBand
    h.advance(1s);
    const auto hpc1 = h.backend.placement_of("hpc-1");
    ASSERT_TRUE(hpc1);
    EXPECT_EQ(hpc1->placement_group, "burst-hpc-pg0");
    EXPECT_TRUE(hpc1->infiniband);
    const auto hpc2 = h.backend.placement_of("hpc-2");
    ASSERT_TRUE(hpc2);
    EXPECT_EQ(hpc2->placement_group, "");
    EXPECT_TRUE(hpc2->infiniband);
    const auto htc1 = h.backend.placement_of("htc-1");
    ASSERT_TRUE(htc1);
    EXPECT_FALSE(htc1->infiniband);

    // A deallocated node comes back in its group.
    h.advance(2s);
    h.manage(NodeAction::k_deallocate, {"hpc-1"});
    h.advance(1s);
    EXPECT_FALSE(h.backend.live().contains("hpc-1"));
    h.manage(NodeAction::k_start, {"hpc-1"});
    h.advance(1s);
    ASSERT_TRUE(h.backend.live().contains("hpc-1"));
    EXPECT_EQ(h.backend.placement_of("hpc-1")->placement_group, "burst-hpc-pg0");
}

TEST(EmulatorLimits, FamilyQuotaCapsACreateWithAzuresMessage) {
    ModelOptions options;
    options.quota.family_cores["standardFSv2Family"] = 10;
    Harness h({}, options);
    const auto r = h.create(set_of("hpc", 8));
    EXPECT_EQ(r.sets.at(0).added, 5);
    EXPECT_EQ(r.sets.at(0).message,
              "QuotaExceeded: Operation could not be completed as it results in exceeding "
              "approved standardFSv2Family Cores quota. Location: eastus, Current Limit: 10, "
              "Current Usage: 10, Additional Required: 2");
    const BucketStatus b = h.bucket(k_hpc);
    EXPECT_EQ(b.family_quota_core_count, 10);
    EXPECT_EQ(b.family_quota_count, 5);
    EXPECT_EQ(b.family_consumed_core_count, 10);
    EXPECT_EQ(b.available_count, 0);
    EXPECT_EQ(b.max_count, 50);  // quota lowers availableCount, not maxCount
    EXPECT_EQ(h.faults(FaultKind::k_quota), 1u);
    // htc uses the same family in the same region: the quota is shared.
    EXPECT_EQ(h.bucket(k_htc).available_count, 0);
}

TEST(EmulatorLimits, RegionalAndSpotQuotas) {
    ModelOptions options;
    options.quota.default_regional_cores = 6;
    options.quota.default_spot_cores = 4;
    Harness h({"HTCUseLowPrio=true"}, options);
    EXPECT_EQ(h.create(set_of("hpc", 5)).sets.at(0).message,
              "QuotaExceeded: Operation could not be completed as it results in exceeding "
              "approved Total Regional Cores quota. Location: eastus, Current Limit: 6, Current "
              "Usage: 6, Additional Required: 2");
    // Spot VMs draw on their own quota, not the regional one.
    const auto spot = h.create(set_of("htc", 5));
    EXPECT_EQ(spot.sets.at(0).added, 2);
    EXPECT_EQ(spot.sets.at(0).message,
              "QuotaExceeded: Operation could not be completed as it results in exceeding "
              "approved Low Priority Cores quota. Location: eastus, Current Limit: 4, Current "
              "Usage: 4, Additional Required: 2");
    // Spot zeroes the family counts (scalelib nodemanager.py); the Spot quota is regional.
    const BucketStatus htc = h.bucket(k_htc);
    EXPECT_EQ(htc.family_quota_core_count, 0);
    EXPECT_EQ(htc.family_quota_count, 0);
    EXPECT_EQ(htc.family_consumed_core_count, 0);
    EXPECT_EQ(htc.regional_quota_core_count, 4);
    EXPECT_EQ(htc.regional_consumed_core_count, 4);
    EXPECT_EQ(htc.quota_core_count, 4);
    EXPECT_EQ(htc.quota_count, 2);
    EXPECT_EQ(htc.consumed_core_count, 4);
    EXPECT_EQ(htc.spot_placement_score, "High");
    EXPECT_EQ(h.bucket(k_hpc).spot_placement_score, "");
}

// quotaCoreCount "accounts for the regional quota" (API reference): the smaller of the two.
TEST(EmulatorLimits, QuotaCoreCountIsTheSmallerOfFamilyAndRegional) {
    ModelOptions options;
    options.quota.family_cores["standardFSv2Family"] = 40;
    options.quota.default_regional_cores = 10;
    Harness h({}, options);
    BucketStatus b = h.bucket(k_hpc);
    EXPECT_EQ(b.quota_core_count, 10);
    EXPECT_EQ(b.quota_count, 5);
    EXPECT_EQ(b.family_quota_core_count, 40);
    EXPECT_EQ(b.regional_quota_core_count, 10);
    ModelOptions wide;
    wide.quota.family_cores["standardFSv2Family"] = 8;
    wide.quota.default_regional_cores = 100;
    Harness w({}, wide);
    EXPECT_EQ(w.bucket(k_hpc).quota_core_count, 8);
}

// Consumed counts are "already in use across the entire region" (API reference): load from
// outside the cluster shows there and takes quota.
TEST(EmulatorLimits, ExternalLoadCountsAsConsumedAndTakesQuota) {
    ModelOptions options;
    options.quota.family_cores["standardFSv2Family"] = 10;
    options.faults.external_load["standardFSv2Family"] = 6;
    options.faults.external_load["regional"] = 6;
    Harness h({}, options);
    BucketStatus b = h.bucket(k_hpc);
    EXPECT_EQ(b.family_consumed_core_count, 6);
    EXPECT_EQ(b.consumed_core_count, 6);
    EXPECT_EQ(b.regional_consumed_core_count, 6);
    EXPECT_EQ(b.available_count, 2);
    const auto r = h.create(set_of("hpc", 3));
    EXPECT_EQ(r.sets.at(0).added, 2);
    EXPECT_NE(r.sets.at(0).message.find("Current Usage: 10"), std::string::npos)
        << r.sets.at(0).message;
}

// valid can be false with invalidReason NotActivated or DisabledMachineType (API reference);
// such a bucket has nothing available and a create for it adds nothing.
TEST(EmulatorLimits, InvalidBucketsReportWhyAndAddNothing) {
    ModelOptions options;
    options.faults.invalid_buckets["standard_f2s_v2"] = "DisabledMachineType";
    Harness h({}, options);
    const BucketStatus b = h.bucket(k_hpc);
    EXPECT_FALSE(b.valid);
    EXPECT_EQ(b.invalid_reason, "DisabledMachineType");
    EXPECT_EQ(b.available_count, 0);
    EXPECT_TRUE(h.bucket(k_gpu).valid);
    EXPECT_EQ(h.bucket(k_gpu).invalid_reason, "");
    const auto r = h.create(set_of("hpc", 2));
    EXPECT_EQ(r.sets.at(0).added, 0);
    EXPECT_EQ(r.sets.at(0).message,
              "the Standard_F2s_v2 bucket of nodearray hpc is not valid (DisabledMachineType)");
    EXPECT_TRUE(h.with([](ClusterModel& m, Time) { return m.nodes().empty(); }));
}

// The seed's template is imported stopped: a cluster that is not Started refuses creates and
// starts until it is started.
TEST(EmulatorLimits, AClusterThatIsNotStartedRefusesCreatesAndStarts) {
    ModelOptions options;
    options.faults.cluster_state = "Off";
    Harness h({}, options);
    EXPECT_EQ(h.with([](ClusterModel& m, Time now) { return m.status(now).state; }), "Off");
    CreateRequest request;
    request.sets.push_back(set_of("hpc", 1));
    auto refused = h.with([&](ClusterModel& m, Time now) { return m.create_nodes(request, now); });
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().kind, ErrorKind::k_usage);
    EXPECT_EQ(refused.error().message,
              "cluster burst1 is Off: start the cluster before creating nodes");
    NodeSelector selector;
    selector.names = {"hpc-1"};
    auto start = h.with([&](ClusterModel& m, Time now) {
        return m.manage(NodeAction::k_start, selector, "", now);
    });
    ASSERT_FALSE(start);
    EXPECT_EQ(start.error().message,
              "cluster burst1 is Off: start the cluster before starting nodes");
    FaultSettings started;
    h.with([&](ClusterModel& m, Time) { m.set_faults(started); });
    EXPECT_EQ(h.create(set_of("hpc", 1)).sets.at(0).added, 1);
}

TEST(EmulatorLimits, QuotaIsGivenBackWhenVmsGo) {
    ModelOptions options;
    options.quota.family_cores["eastus/standardFSv2Family"] = 4;
    Harness h({}, options);
    h.create(set_of("hpc", 2));
    h.boot();
    h.manage(NodeAction::k_deallocate, {"hpc-1"});
    EXPECT_EQ(h.bucket(k_hpc).family_consumed_core_count, 4);  // still deallocating
    h.advance(1s);
    EXPECT_EQ(h.bucket(k_hpc).family_consumed_core_count, 2);
    // Starting it again needs quota; taking it with a new node first makes the start fail.
    EXPECT_EQ(h.create(set_of("hpc", 1)).sets.at(0).added, 1);
    const auto r = h.manage(NodeAction::k_start, {"hpc-1"});
    EXPECT_FALSE(r.nodes.at(0).ok);
    EXPECT_EQ(r.nodes.at(0).error.rfind("QuotaExceeded: ", 0), 0u) << r.nodes.at(0).error;
    EXPECT_EQ(h.status("hpc-1"), "Deallocated");
}

TEST(EmulatorLimits, StatusCountsAgreeWithTheNodes) {
    Harness h;
    h.create(set_of("dynamic", 2));  // first bucket: Standard_F2s_v2
    CreateSet bigger = set_of("dynamic", 3);
    bigger.machine_type = "standard_f4s_v2";  // sizes match case-insensitively
    h.create(bigger);
    h.boot();
    h.manage(NodeAction::k_deallocate, {"dynamic-3"});
    h.advance(1s);
    const ClusterStatus s = h.with([](ClusterModel& m, Time now) { return m.status(now); });
    const NodeArrayStatus& dyn = s.node_arrays.at(k_dynamic);
    ASSERT_EQ(dyn.buckets.size(), 2u);
    EXPECT_EQ(dyn.buckets[0].machine_type, "Standard_F2s_v2");
    EXPECT_EQ(dyn.buckets[0].active_count, 2);
    EXPECT_EQ(dyn.buckets[1].active_count, 2);
    EXPECT_EQ(dyn.buckets[1].active_core_count, 8);
    EXPECT_EQ(dyn.buckets[1].active_nodes, (std::vector<std::string>{"dynamic-4", "dynamic-5"}));
    // MaxCoreCount 100 shared: 4 + 8 active (started) cores leave 88.
    EXPECT_EQ(dyn.buckets[0].available_count, 44);
    EXPECT_EQ(dyn.buckets[1].available_count, 22);
    EXPECT_EQ(dyn.max_core_count, 100);
    EXPECT_EQ(dyn.max_count, 50);
    EXPECT_EQ(s.node_arrays.at(k_gpu).buckets[0].max_count, 4);  // 96 cores / 24
    EXPECT_EQ(s.node_arrays.at(k_gpu).buckets[0].sku->gpus, 1);
    const auto by_status = h.with([](ClusterModel& m, Time) { return m.count_by_status(); });
    EXPECT_EQ(by_status[static_cast<std::size_t>(NodeStatus::k_ready)], 4);
    EXPECT_EQ(by_status[static_cast<std::size_t>(NodeStatus::k_deallocated)], 1);
}

TEST(EmulatorLimits, ScaleGrowsToATotalAndNeverShrinks) {
    Harness h;
    auto scale = [&](std::optional<std::int64_t> nodes, std::optional<std::int64_t> cores) {
        return h.with([&](ClusterModel& m, Time now) { return m.scale("htc", nodes, cores, now); });
    };
    auto r = scale(3, std::nullopt);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->sets.at(0).added, 3);
    r = scale(std::nullopt, 9);  // 9 cores of 2-vCPU VMs: 5 nodes
    ASSERT_TRUE(r);
    EXPECT_EQ(r->sets.at(0).added, 2);
    r = scale(1, std::nullopt);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->sets.at(0).added, 0);
    EXPECT_FALSE(scale(1, 2));
    auto missing =
        h.with([](ClusterModel& m, Time now) { return m.scale("nope", 1, std::nullopt, now); });
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().kind, ErrorKind::k_not_found);
}

// ---- node faults --------------------------------------------------------------------------

// Azure's AllocationFailed comes after CycleCloud accepted the create (az-hop#557, #1210; the
// healthcheck how-to): all are added, the nodes beyond capacity go Failed in Acquiring.
TEST(EmulatorNodeFaults, CapacityFailsNodesInAcquiringAfterTheCreateWasAccepted) {
    ModelOptions options;
    options.faults.capacity["standard_f2s_v2"] = 2;
    Harness h({}, options);
    EXPECT_LT(h.bucket(k_hpc).last_capacity_failure, 0);
    const std::int64_t available = h.bucket(k_hpc).available_count;
    EXPECT_EQ(available, 50) << "CycleCloud does not know Azure's capacity";
    const auto r = h.create(set_of("hpc", 4));
    EXPECT_EQ(r.sets.at(0).added, 4);
    EXPECT_EQ(r.sets.at(0).message, "");
    EXPECT_EQ(h.bucket(k_hpc).available_count, available - 4);
    for (const char* name : {"hpc-1", "hpc-2", "hpc-3", "hpc-4"}) {
        EXPECT_EQ(h.status(name), "Acquiring") << name;
    }
    h.advance(1s);
    EXPECT_EQ(h.status("hpc-1"), "Preparing");
    EXPECT_EQ(h.status("hpc-2"), "Preparing");
    for (const char* name : {"hpc-3", "hpc-4"}) {
        const Node n = h.node(name);
        EXPECT_EQ(to_string(n.status), "Failed") << name;
        EXPECT_EQ(n.target, TargetState::k_started);
        EXPECT_EQ(n.status_message,
                  "AllocationFailed: We do not have sufficient capacity for the requested VM size "
                  "Standard_F2s_v2 in region eastus. Please try another size or deploy to a "
                  "different location or zone.");
        EXPECT_EQ(n.private_ip, "");
        EXPECT_EQ(n.instance_id, "");
    }
    EXPECT_EQ(h.backend.live(), (std::set<std::string>{"hpc-1", "hpc-2"}));
    EXPECT_DOUBLE_EQ(h.bucket(k_hpc).last_capacity_failure, 0.0);
    h.advance(5s);
    EXPECT_DOUBLE_EQ(h.bucket(k_hpc).last_capacity_failure, 5.0);
    EXPECT_EQ(h.faults(FaultKind::k_capacity), 2u);
    // The Failed nodes still count against the array until they are terminated.
    EXPECT_EQ(h.bucket(k_hpc).active_count, 4);
    h.manage(NodeAction::k_terminate, {"hpc-3", "hpc-4"});
    h.advance(1s);
    EXPECT_EQ(h.status("hpc-3"), "gone");
    EXPECT_EQ(h.bucket(k_hpc).active_count, 2);
    // Capacity frees up when a VM goes: the next node gets one.
    h.manage(NodeAction::k_terminate, {"hpc-1"});
    h.advance(1s);
    h.create(set_of("hpc", 1, "hpc-9"));
    h.advance(1s);
    EXPECT_EQ(h.status("hpc-9"), "Preparing");
}

// Azure's AllocationFailed while CycleCloud keeps retrying: the node stays in Acquiring with
// the error in StatusMessage and never goes Failed (az-hop#557, nodes stuck in Acquiring; API
// lastCapacityFailure). It gets its VM once capacity frees up.
TEST(EmulatorNodeFaults, AcquireStallKeepsNodesInAcquiringWithTheAllocationError) {
    ModelOptions options;
    options.faults.acquire_stall["standard_f2s_v2"] = 1;
    Harness h({}, options);
    const auto r = h.create(set_of("hpc", 3));
    EXPECT_EQ(r.sets.at(0).added, 3);
    EXPECT_EQ(r.sets.at(0).message, "");
    h.advance(1s);
    EXPECT_EQ(h.status("hpc-1"), "Preparing");
    const std::string allocation_failed =
        "AllocationFailed: We do not have sufficient capacity for the requested VM size "
        "Standard_F2s_v2 in region eastus. Please try another size or deploy to a different "
        "location or zone.";
    for (int retry = 0; retry < 5; ++retry) {
        for (const char* name : {"hpc-2", "hpc-3"}) {
            const Node n = h.node(name);
            EXPECT_EQ(to_string(n.status), "Acquiring") << name << " retry " << retry;
            EXPECT_EQ(n.target, TargetState::k_started);
            EXPECT_EQ(n.status_message, allocation_failed);
            EXPECT_EQ(n.private_ip, "");
            EXPECT_EQ(n.instance_id, "");
        }
        EXPECT_DOUBLE_EQ(h.bucket(k_hpc).last_capacity_failure, 0.0) << "retry " << retry;
        h.advance(1s);
    }
    EXPECT_EQ(h.backend.live(), (std::set<std::string>{"hpc-1"}));
    EXPECT_EQ(h.faults(FaultKind::k_acquire_stall), 2u) << "once per node, not per retry";
    EXPECT_EQ(h.faults(FaultKind::k_capacity), 0u);
    // Capacity frees up: the first VM goes, and one stalled node gets it on its next retry.
    h.manage(NodeAction::k_terminate, {"hpc-1"});
    h.advance(1s);
    h.advance(1s);
    EXPECT_EQ(h.status("hpc-2"), "Preparing");
    EXPECT_EQ(h.node("hpc-2").status_message, "");
    EXPECT_EQ(h.status("hpc-3"), "Acquiring");
    EXPECT_EQ(h.node("hpc-3").status_message, allocation_failed);
    // A stalled node can be terminated like any Acquiring one.
    h.manage(NodeAction::k_terminate, {"hpc-3"});
    h.advance(1s);
    EXPECT_EQ(h.status("hpc-3"), "gone");
}

// Quota that only Azure knows (CycleCloud's view said there was room): same shape as capacity,
// with Azure's QuotaExceeded, and lastCapacityFailure untouched.
TEST(EmulatorNodeFaults, AzureQuotaFailsNodesInAcquiring) {
    ModelOptions options;
    options.faults.azure_quota["regional"] = 4;
    Harness h({}, options);
    const auto r = h.create(set_of("hpc", 3));
    EXPECT_EQ(r.sets.at(0).added, 3);
    h.advance(1s);
    EXPECT_EQ(h.status("hpc-1"), "Preparing");
    EXPECT_EQ(h.status("hpc-2"), "Preparing");
    EXPECT_EQ(h.status("hpc-3"), "Failed");
    EXPECT_EQ(h.node("hpc-3").status_message,
              "QuotaExceeded: Operation could not be completed as it results in exceeding "
              "approved Total Regional Cores quota. Location: eastus, Current Limit: 4, Current "
              "Usage: 4, Additional Required: 2");
    EXPECT_EQ(h.faults(FaultKind::k_azure_quota), 1u);
    EXPECT_LT(h.bucket(k_hpc).last_capacity_failure, 0);
    // CycleCloud's own quota still reduces `added` at create time.
    ModelOptions known;
    known.quota.default_regional_cores = 4;
    Harness k({}, known);
    const auto fewer = k.create(set_of("hpc", 3));
    EXPECT_EQ(fewer.sets.at(0).added, 2);
    EXPECT_EQ(fewer.sets.at(0).message.rfind("QuotaExceeded: ", 0), 0u);
}

// A Failed node keeps its VM, address and instance id, and bills, until it is terminated
// (clusters.md, healthcheck.md: "terminate and replace the node").
TEST(EmulatorNodeFaults, PrepareFailureFailsTheNodeAndKeepsItsVm) {
    ModelOptions options;
    options.faults.prepare_fail_rate = 1;
    Harness h({}, options);
    h.create(set_of("hpc", 1));
    h.advance(1s);
    EXPECT_EQ(h.backend.live(), (std::set<std::string>{"hpc-1"}));
    const Node preparing = h.node("hpc-1");
    h.advance(2s);
    EXPECT_EQ(h.status("hpc-1"), "Failed");
    const Node failed = h.node("hpc-1");
    EXPECT_EQ(failed.status_message,
              "Preparing failed: a cluster-init script exited with an error (injected fault)");
    h.advance(1h);
    EXPECT_EQ(h.backend.live(), (std::set<std::string>{"hpc-1"}));
    EXPECT_EQ(failed.private_ip, preparing.private_ip);
    EXPECT_EQ(failed.instance_id, preparing.instance_id);
    EXPECT_EQ(h.faults(FaultKind::k_prepare_fail), 1u);
    EXPECT_EQ(h.bucket(k_hpc).active_count, 1);  // Failed with TargetState Started still counts
    const double billed =
        h.with([](ClusterModel& m, Time now) { return m.usage(Time{}, now, now).hours; });
    EXPECT_GT(billed, 1.0);
    h.manage(NodeAction::k_terminate, {"hpc-1"});
    h.advance(1s);
    EXPECT_EQ(h.status("hpc-1"), "gone");
    EXPECT_TRUE(h.backend.live().empty());
}

// A Ready node goes Failed on a health event while its VM and slurmd keep running
// (cyclecloud-slurm allocation.py ignores Failed on joined nodes for this reason); a retry
// converges it again without a new VM.
TEST(EmulatorNodeFaults, ReadyFailKeepsTheVmAndItsSoftware) {
    Harness h;
    h.create(set_of("hpc", 2));
    h.boot();
    const Node ready = h.node("hpc-1");
    OneShotFault fault;
    fault.kind = OneShotKind::k_ready_fail;
    fault.node = "hpc-1";
    auto r = h.with([&](ClusterModel& m, Time now) { return m.inject(fault, now); });
    ASSERT_TRUE(r) << r.error().describe();
    EXPECT_EQ(*r, (std::vector<std::string>{"hpc-1"}));
    h.advance(1s);
    const Node failed = h.node("hpc-1");
    EXPECT_EQ(to_string(failed.status), "Failed");
    EXPECT_EQ(failed.status_message,
              "HealthCheck failed: the node reported an error while Ready (injected fault); its "
              "VM is still running");
    EXPECT_EQ(failed.private_ip, ready.private_ip);
    EXPECT_EQ(failed.instance_id, ready.instance_id);
    EXPECT_EQ(h.backend.live(), (std::set<std::string>{"hpc-1", "hpc-2"}));
    for (const auto& call : h.backend.calls()) {
        EXPECT_EQ(call.rfind("destroy_vm", 0), std::string::npos) << call;
    }
    EXPECT_EQ(h.faults(FaultKind::k_ready_fail), 1u);
    auto again = h.with([&](ClusterModel& m, Time now) { return m.inject(fault, now); });
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error().message, "ready-fail: no Ready node named hpc-1");
    fault.node.clear();
    fault.count = 5;
    auto some = h.with([&](ClusterModel& m, Time now) { return m.inject(fault, now); });
    ASSERT_TRUE(some);
    EXPECT_EQ(*some, (std::vector<std::string>{"hpc-2"}));

    const std::size_t calls = h.backend.calls().size();
    h.with([](ClusterModel& m, Time now) { return m.retry_failed(now); });
    h.advance(1s);
    EXPECT_EQ(h.status("hpc-1"), "Preparing");
    h.advance(2s);
    EXPECT_EQ(h.status("hpc-1"), "Ready");
    EXPECT_EQ(h.node("hpc-1").instance_id, ready.instance_id);
    const auto after = h.backend.calls();
    for (std::size_t i = calls; i < after.size(); ++i) {
        EXPECT_EQ(after[i].rfind("create_vm", 0), std::string::npos) << after[i];
    }
}

// KeepAlive "prevents CycleCloud from terminating or deallocating the node" until it is
// cleared (keep-alive.md): an error for that node, the others carry on.
TEST(EmulatorNodeFaults, KeepAliveRefusesTerminateAndDeallocatePerNode) {
    Harness h;
    CreateSet kept = set_of("hpc", 1, "kept-1");
    kept.keep_alive = true;
    h.create(kept);
    h.create(set_of("hpc", 1, "other-1"));
    h.boot();
    for (const NodeAction action : {NodeAction::k_terminate, NodeAction::k_deallocate,
                                    NodeAction::k_shutdown, NodeAction::k_remove}) {
        const auto r = h.manage(action, {"kept-1"});
        ASSERT_EQ(r.nodes.size(), 1u);
        EXPECT_FALSE(r.nodes[0].ok) << to_string(action);
        EXPECT_EQ(r.nodes[0].error,
                  action == NodeAction::k_deallocate
                      ? "node kept-1 has KeepAlive set: it cannot be deallocated until KeepAlive "
                        "is cleared"
                      : "node kept-1 has KeepAlive set: it cannot be terminated until KeepAlive "
                        "is cleared");
        EXPECT_EQ(h.status("kept-1"), "Ready");
    }
    const auto both = h.manage(NodeAction::k_terminate, {"kept-1", "other-1"});
    ASSERT_EQ(both.nodes.size(), 2u);
    EXPECT_FALSE(both.nodes[0].ok);
    EXPECT_TRUE(both.nodes[1].ok);
    h.advance(1s);
    EXPECT_EQ(h.status("other-1"), "gone");
    EXPECT_EQ(h.status("kept-1"), "Ready");

    OneShotFault clear;
    clear.kind = OneShotKind::k_keep_alive;
    clear.node = "kept-1";
    clear.value = "false";
    ASSERT_TRUE(h.with([&](ClusterModel& m, Time now) { return m.inject(clear, now); }));
    EXPECT_TRUE(h.manage(NodeAction::k_terminate, {"kept-1"}).nodes.at(0).ok);
    h.advance(1s);
    EXPECT_EQ(h.status("kept-1"), "gone");
}

// Statuses real CycleCloud reports beyond the eight: Unavailable (cyclecloud-symphony treats it
// as a failure) and Started (treated like Ready by scalelib); the VM is left as it was.
TEST(EmulatorNodeFaults, StatusFaultSetsUnavailableOrStarted) {
    Harness h;
    h.create(set_of("hpc", 2));
    h.boot();
    OneShotFault fault;
    fault.kind = OneShotKind::k_status;
    fault.node = "hpc-1";
    fault.value = "Unavailable";
    ASSERT_TRUE(h.with([&](ClusterModel& m, Time now) { return m.inject(fault, now); }));
    fault.node = "hpc-2";
    fault.value = "Started";
    ASSERT_TRUE(h.with([&](ClusterModel& m, Time now) { return m.inject(fault, now); }));
    h.advance(1min);
    EXPECT_EQ(h.status("hpc-1"), "Unavailable");
    EXPECT_EQ(h.status("hpc-2"), "Started");
    EXPECT_EQ(h.backend.live(), (std::set<std::string>{"hpc-1", "hpc-2"}));
    EXPECT_EQ(h.faults(FaultKind::k_status), 2u);
    const auto by_status = h.with([](ClusterModel& m, Time) { return m.count_by_status(); });
    EXPECT_EQ(by_status[static_cast<std::size_t>(NodeStatus::k_unavailable)], 1);
    EXPECT_EQ(by_status[static_cast<std::size_t>(NodeStatus::k_started)], 1);
    fault.node = "nobody";
    auto missing = h.with([&](ClusterModel& m, Time now) { return m.inject(fault, now); });
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().message, "status: no node named nobody");
    h.manage(NodeAction::k_terminate, {"hpc-1", "hpc-2"});
    h.advance(1s);
    EXPECT_TRUE(h.backend.live().empty());
}

// Azure's Scheduled Events give a Spot VM about 30 s: the node is still Ready, the notice is
// in its StatusMessage, then it is evicted.
TEST(EmulatorNodeFaults, EvictionNoticeLeavesTheNodeReadyForThirtySeconds) {
    Harness h({"HTCUseLowPrio=true"});
    h.create(set_of("htc", 1));
    h.create(set_of("hpc", 1));
    h.boot();
    OneShotFault notice;
    notice.kind = OneShotKind::k_evict_notice;
    notice.count = 1;
    auto r = h.with([&](ClusterModel& m, Time now) { return m.inject(notice, now); });
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, (std::vector<std::string>{"htc-1"}));
    h.advance(29s);
    EXPECT_EQ(h.status("htc-1"), "Ready");
    EXPECT_EQ(h.node("htc-1").status_message,
              "Preempt: Azure Scheduled Events: this Spot VM will be evicted in 30 s");
    EXPECT_EQ(h.faults(FaultKind::k_evict_notice), 1u);
    EXPECT_EQ(h.faults(FaultKind::k_evict), 0u);
    h.advance(1s);
    EXPECT_EQ(h.status("htc-1"), "gone");
    EXPECT_EQ(h.backend.live(), (std::set<std::string>{"hpc-1"}));
    EXPECT_EQ(h.faults(FaultKind::k_evict), 1u);
    EXPECT_EQ(h.status("hpc-1"), "Ready");
}

TEST(EmulatorNodeFaults, NoSlurmdSkipsStartSoftware) {
    ModelOptions options;
    options.faults.no_slurmd_rate = 1;
    Harness h({}, options);
    h.create(set_of("hpc", 1));
    h.advance(1s);
    h.advance(2s);
    EXPECT_EQ(h.status("hpc-1"), "Ready");
    EXPECT_EQ(h.backend.calls(), (std::vector<std::string>{"create_vm hpc-1"}));
    EXPECT_EQ(h.faults(FaultKind::k_no_slurmd), 1u);
}

TEST(EmulatorNodeFaults, DeallocateFailureLeavesAFailedNodeWithItsVm) {
    ModelOptions options;
    options.faults.deallocate_fail_rate = 1;
    Harness h({}, options);
    h.create(set_of("hpc", 1));
    h.boot();
    h.manage(NodeAction::k_deallocate, {"hpc-1"});
    h.advance(1s);
    EXPECT_EQ(h.status("hpc-1"), "Failed");
    EXPECT_EQ(h.node("hpc-1").target, TargetState::k_deallocated);
    EXPECT_EQ(h.node("hpc-1").status_message,
              "Deallocation failed: the VM is still running (injected fault)");
    EXPECT_EQ(h.backend.live(), (std::set<std::string>{"hpc-1"}));
    EXPECT_EQ(h.faults(FaultKind::k_deallocate_fail), 1u);
    h.with([](ClusterModel& m, Time) { m.set_faults({}); });
    h.with([](ClusterModel& m, Time now) { return m.retry_failed(now); });
    EXPECT_EQ(h.status("hpc-1"), "Deallocating");
    h.advance(1s);
    EXPECT_EQ(h.status("hpc-1"), "Deallocated");
    EXPECT_TRUE(h.backend.live().empty());
}

TEST(EmulatorNodeFaults, EvictionMakesAReadyNodeDisappearSpotFirst) {
    Harness h({"HTCUseLowPrio=true"});
    h.create(set_of("hpc", 1));
    h.create(set_of("htc", 1));
    h.boot();
    EvictRequest one;
    one.count = 1;
    auto r = h.with([&](ClusterModel& m, Time now) { return m.evict(one, now); });
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, (std::vector<std::string>{"htc-1"}));
    EXPECT_EQ(h.node("htc-1").status_message, "Evicted: Azure reclaimed the Spot VM");
    h.advance(0ms);
    EXPECT_EQ(h.status("htc-1"), "gone");
    EXPECT_EQ(h.backend.live(), (std::set<std::string>{"hpc-1"}));
    EvictRequest named;
    named.node = "nope";
    auto missing = h.with([&](ClusterModel& m, Time now) { return m.evict(named, now); });
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().message, "evict: no Ready node named nope");
    EXPECT_EQ(h.faults(FaultKind::k_evict), 1u);
}

TEST(EmulatorNodeFaults, EvictionRateEvictsSpotNodesOverTime) {
    ModelOptions options;
    options.faults.evict_rate = 1000;  // per node per minute: certain within a second
    Harness h({"HTCUseLowPrio=true"}, options);
    h.create(set_of("htc", 3));
    h.create(set_of("hpc", 1));
    h.boot();
    h.advance(1s);
    h.advance(0ms);
    EXPECT_EQ(h.status("htc-1"), "gone");
    EXPECT_EQ(h.status("htc-3"), "gone");
    EXPECT_EQ(h.status("hpc-1"), "Ready");  // not Spot
    EXPECT_EQ(h.faults(FaultKind::k_evict), 3u);
}

TEST(EmulatorNodeFaults, RatesAreReproducibleForASeed) {
    auto failed = [](std::uint64_t seed) {
        ModelOptions options;
        options.seed = seed;
        options.faults.prepare_fail_rate = 0.5;
        Harness h({"MaxHTCExecuteNodeCount=40"}, options);
        h.create(set_of("htc", 40));
        h.advance(1s);
        h.advance(2s);
        std::vector<std::string> out;
        for (int i = 1; i <= 40; ++i) {
            const std::string name = "htc-" + std::to_string(i);
            if (h.status(name) == "Failed") {
                out.push_back(name);
            }
        }
        return out;
    };
    const auto a = failed(7);
    EXPECT_EQ(a, failed(7));
    EXPECT_NE(a, failed(8));
    EXPECT_GT(a.size(), 5u);
    EXPECT_LT(a.size(), 35u);
}

// ---- usage --------------------------------------------------------------------------------

TEST(EmulatorUsage, BillsFromVmCreationToDeletion) {
    Harness h;
    const Time start = h.clock.now();
    h.create(set_of("gpu", 1));
    h.advance(1s);  // VM exists from here
    h.advance(1h);
    h.manage(NodeAction::k_terminate, {"gpu-1"});
    h.advance(1s);  // and is gone here
    h.advance(1h);
    const UsageReport r =
        h.with([&](ClusterModel& m, Time now) { return m.usage(start, now, now); });
    ASSERT_EQ(r.lines.size(), 1u);
    EXPECT_EQ(r.lines[0].nodearray, "gpu");
    EXPECT_EQ(r.lines[0].machine_type, "Standard_NC24ads_A100_v4");
    EXPECT_NEAR(r.lines[0].hours, 1.0 + 1.0 / 3600, 1e-9);
    EXPECT_NEAR(r.lines[0].core_hours, 24 * (1.0 + 1.0 / 3600), 1e-6);
    EXPECT_NEAR(r.cost, 3.673 * (1.0 + 1.0 / 3600), 1e-6);
    const UsageReport later = h.with([&](ClusterModel& m, Time now) {
        return m.usage(now - std::chrono::minutes(30), now, now);
    });
    EXPECT_TRUE(later.lines.empty());
}

// A backend whose software start of hpc-1 (a cluster-init that hangs) waits until the test
// lets it go; everything else is instant.
class HangingBootBackend final : public VmBackend {
  public:
    Status recover() override { return m_inner->recover(); }
    Result<VmIdentity> create_vm(const std::string& name, const VmPlacement& placement) override {
        return m_inner->create_vm(name, placement);
    }
    Status start_software(const std::string& name, const VmSoftware& software) override {
        if (name == "hpc-1") {
            std::unique_lock lock(m_mutex);
            m_hanging = true;
            m_wake.notify_all();
            m_wake.wait(lock, [this] { return m_released; });
        }
        return m_inner->start_software(name, software);
    }
    bool slow_software() const override { return true; }
    Status destroy_vm(const std::string& name) override { return m_inner->destroy_vm(name); }
    void shutdown() override { m_inner->shutdown(); }

    bool wait_until_hanging(std::chrono::seconds limit) {
        std::unique_lock lock(m_mutex);
        return m_wake.wait_for(lock, limit, [this] { return m_hanging; });
    }
    void release() {
        std::lock_guard lock(m_mutex);
        m_released = true;
        m_wake.notify_all();
    }

  private:
    std::unique_ptr<VmBackend> m_inner = make_none_backend();
    std::mutex m_mutex;
    std::condition_variable m_wake;
    bool m_hanging = false;
    bool m_released = false;
};

// Under the ticker, a VM whose cluster-init hangs holds up no other node: hpc-2, asked for
// after it, becomes Ready while hpc-1 is still Preparing; hpc-1 is Ready once its boot ends.
TEST(EmulatorRunner, AHangingBootHoldsUpNoOtherNode) {
    ModelOptions options;
    options.timings.acquire = 0ms;
    options.timings.prepare = 0ms;
    SystemClock clock;
    HangingBootBackend backend;
    ModelRunner runner(model({}, options), backend, clock, /*parallel_calls=*/4);
    // Destroyed before the runner: a failed ASSERT below releases the boot, so the runner's
    // stop does not wait for it for ever.
    struct Release {
        HangingBootBackend& backend;
        ~Release() { backend.release(); }
    } release_on_exit{backend};
    auto create = [&] {  // named hpc-1, then hpc-2 (the lowest free numbers)
        CreateRequest request;
        request.sets.push_back(set_of("hpc", 1));
        return runner.with_model(
            [&](ClusterModel& m, Time now) { return m.create_nodes(request, now); });
    };
    auto status = [&](const std::string& name) {
        return runner.with_model([&](ClusterModel& m, Time) {
            const Node* n = m.find_node(name);
            return n == nullptr ? std::string("gone") : std::string(to_string(n->status));
        });
    };
    auto wait_for = [&](const std::string& name, const std::string& want) {
        const auto deadline = std::chrono::steady_clock::now() + 10s;
        while (status(name) != want && std::chrono::steady_clock::now() < deadline) {
            std::this_thread::sleep_for(5ms);
        }
        return status(name);
    };
    runner.start(5ms);
    ASSERT_TRUE(create());
    ASSERT_TRUE(backend.wait_until_hanging(10s));
    ASSERT_TRUE(create());
    EXPECT_EQ(wait_for("hpc-2", "Ready"), "Ready");
    EXPECT_EQ(status("hpc-1"), "Preparing");
    backend.release();
    EXPECT_EQ(wait_for("hpc-1", "Ready"), "Ready");
    runner.stop();
}

}  // namespace
}  // namespace cb::emulator
