// Fault injection: KIND=VALUE parsing, HTTP faults over loopback, the control endpoint and
// the counters in /_emulator/status.
#include <gtest/gtest.h>

#include <future>
#include <map>
#include <thread>

#include "emulator/faults.h"
#include "unit/emulator_api_fixture.h"

namespace cb::emulator {
namespace {

using namespace std::chrono_literals;
using testing::ApiFixture;
using testing::Json;

const std::string k_create = "/clusters/burst1/nodes/create";

Json one_node(const std::string& name, const std::string& array = "hpc") {
    return Json{{"sets", {{{"nodearray", array}, {"count", 1}, {"nameFormat", name}}}}};
}

std::size_t node_count(ApiFixture& f) {
    return f.runner().with_model([](ClusterModel& m, Time) { return m.nodes().size(); });
}

TEST(EmulatorFaultSpec, ValidSpecsChangeSettings) {
    FaultSettings s;
    for (const char* spec : {"http-5xx=0.25",
                             "http-429=10%",
                             "retry-after=7",
                             "latency=200ms",
                             "hang=1",
                             "hang-time=2s",
                             "malformed-json=0",
                             "capacity=Standard_HB120rs_v3:4",
                             "acquire-stall=Standard_HC44rs:0",
                             "quota=standardHBv3Family:240",
                             "quota=regional:1000",
                             "prepare-fail=0.5",
                             "no-slurmd=1",
                             "deallocate-fail=0.1",
                             "evict-rate=2.5",
                             "azure-quota=spot:16",
                             "external-load=regional:64",
                             "invalid-bucket=Standard_F2s_v2:NotActivated",
                             "spot-score=Standard_F2s_v2:Low",
                             "cluster-state=Off"}) {
        auto r = apply_fault_spec(spec, s);
        ASSERT_TRUE(r) << spec << ": " << r.error().describe();
        EXPECT_FALSE(*r);
    }
    EXPECT_DOUBLE_EQ(s.http_5xx_rate, 0.25);
    EXPECT_DOUBLE_EQ(s.http_429_rate, 0.1);
    EXPECT_EQ(s.retry_after, 7s);
    EXPECT_EQ(s.latency, 200ms);
    EXPECT_DOUBLE_EQ(s.hang_rate, 1);
    EXPECT_EQ(s.hang_time, 2s);
    EXPECT_EQ(s.capacity, (std::map<std::string, std::int64_t>{{"standard_hb120rs_v3", 4}}));
    EXPECT_EQ(s.acquire_stall, (std::map<std::string, std::int64_t>{{"standard_hc44rs", 0}}));
    EXPECT_EQ(s.quota, (std::map<std::string, std::int64_t>{{"standardHBv3Family", 240},
                                                            {"regional", 1000}}));
    EXPECT_DOUBLE_EQ(s.prepare_fail_rate, 0.5);
    EXPECT_DOUBLE_EQ(s.no_slurmd_rate, 1);
    EXPECT_DOUBLE_EQ(s.deallocate_fail_rate, 0.1);
    EXPECT_DOUBLE_EQ(s.evict_rate, 2.5);
    EXPECT_EQ(s.azure_quota, (std::map<std::string, std::int64_t>{{"spot", 16}}));
    EXPECT_EQ(s.external_load, (std::map<std::string, std::int64_t>{{"regional", 64}}));
    EXPECT_EQ(s.invalid_buckets,
              (std::map<std::string, std::string>{{"standard_f2s_v2", "NotActivated"}}));
    EXPECT_EQ(s.spot_scores, (std::map<std::string, std::string>{{"standard_f2s_v2", "Low"}}));
    EXPECT_EQ(s.cluster_state, "Off");
    ASSERT_TRUE(apply_fault_spec("invalid-bucket=standard_f2s_v2:none", s));
    EXPECT_TRUE(s.invalid_buckets.empty());

    ASSERT_TRUE(apply_fault_spec("capacity=standard_hb120rs_v3:-1", s));
    EXPECT_TRUE(s.capacity.empty());
    ASSERT_TRUE(apply_fault_spec("acquire-stall=standard_hc44rs:none", s));
    EXPECT_TRUE(s.acquire_stall.empty());
    ASSERT_TRUE(apply_fault_spec("quota=regional:none", s));
    EXPECT_EQ(s.quota.count("regional"), 0u);
    auto evict = apply_fault_spec("evict=3", s);
    ASSERT_TRUE(evict && *evict);
    EXPECT_EQ((*evict)->count, 3);
    auto named = apply_fault_spec("evict=hpc-1", s);
    ASSERT_TRUE(named && *named);
    EXPECT_EQ((*named)->node, "hpc-1");
    struct OneShot {
        const char* spec;
        OneShotKind kind;
        std::int64_t count;
        const char* node;
        const char* value;
    };
    for (const auto& o :
         {OneShot{"evict-notice=2", OneShotKind::k_evict_notice, 2, "", ""},
          OneShot{"ready-fail=hpc-1", OneShotKind::k_ready_fail, 0, "hpc-1", ""},
          OneShot{"status=hpc-2:Unavailable", OneShotKind::k_status, 0, "hpc-2", "Unavailable"},
          OneShot{"status=hpc-2:Started", OneShotKind::k_status, 0, "hpc-2", "Started"},
          OneShot{"keep-alive=hpc-3:true", OneShotKind::k_keep_alive, 0, "hpc-3", "true"}}) {
        auto r = apply_fault_spec(o.spec, s);
        ASSERT_TRUE(r && *r) << o.spec;
        EXPECT_EQ((*r)->kind, o.kind) << o.spec;
        EXPECT_EQ((*r)->count, o.count) << o.spec;
        EXPECT_EQ((*r)->node, o.node) << o.spec;
        EXPECT_EQ((*r)->value, o.value) << o.spec;
    }
    ASSERT_TRUE(apply_fault_spec("clear=all", s));
    EXPECT_DOUBLE_EQ(s.http_5xx_rate, 0);
    EXPECT_TRUE(s.quota.empty());
    EXPECT_EQ(s.cluster_state, "Started");
}

TEST(EmulatorFaultSpec, InvalidSpecsSayWhatWasExpected) {
    const std::vector<std::pair<std::string, std::string>> cases{
        {"http-500=1",
         "unknown fault 'http-500' (known: http-5xx, http-429, retry-after, latency, "
         "latency-per-mb, record-bytes, hang, hang-time, malformed-json, capacity, "
         "acquire-stall, quota, azure-quota, external-load, "
         "invalid-bucket, spot-score, cluster-state, prepare-fail, no-slurmd, deallocate-fail, "
         "evict-rate, evict, evict-notice, ready-fail, status, keep-alive, clear)"},
        {"http-5xx", "fault 'http-5xx' needs a value: http-5xx=RATE"},
        {"http-5xx=2", "http-5xx=2: a rate must be between 0 and 1"},
        {"http-429=lots",
         "http-429=lots: expected a rate between 0 and 1 (or a percentage such "
         "as 10%)"},
        {"latency=200", "latency=200: '200' is not a duration (give a unit: 250ms, 2s, 5m, 1h)"},
        {"capacity=Standard_F2s_v2",
         "capacity=Standard_F2s_v2: expected VM_SIZE:N (N = -1 or "
         "none removes the limit)"},
        {"quota=standardFSv2Family:x",
         "quota=standardFSv2Family:x: expected a whole number, 0 "
         "or more"},
        {"evict=", "evict=: expected a number of nodes or a node name"},
        {"clear=some", "clear=some: expected clear=all"},
        {"status=hpc-1:Running",
         "status=hpc-1:Running: expected NODE:VALUE, VALUE Unavailable or Started"},
        {"keep-alive=hpc-1", "keep-alive=hpc-1: expected NODE:VALUE, VALUE true or false"},
        {"invalid-bucket=Standard_F2s_v2:Broken",
         "invalid-bucket=Standard_F2s_v2:Broken: 'Broken' is not one of NotActivated, "
         "DisabledMachineType (or none)"},
        {"spot-score=Standard_F2s_v2",
         "spot-score=Standard_F2s_v2: expected VM_SIZE:WORD, WORD "
         "one of High, Medium, Low (none removes it)"},
        {"cluster-state=On", "cluster-state=On: expected Started, Off, Starting or Terminated"},
        {"ready-fail=", "ready-fail=: expected a number of nodes or a node name"},
    };
    for (const auto& [spec, message] : cases) {
        FaultSettings s;
        auto r = apply_fault_spec(spec, s);
        ASSERT_FALSE(r) << spec;
        EXPECT_EQ(r.error().kind, ErrorKind::k_usage);
        EXPECT_EQ(r.error().message, message);
    }
}

TEST(EmulatorFaultSpec, Durations) {
    EXPECT_EQ(*parse_duration("250ms"), 250ms);
    EXPECT_EQ(*parse_duration("1.5s"), 1500ms);
    EXPECT_EQ(*parse_duration("2m"), 120s);
    EXPECT_EQ(*parse_duration("1h"), 3600s);
    EXPECT_FALSE(parse_duration("5"));
    EXPECT_FALSE(parse_duration("-1s"));
    EXPECT_FALSE(parse_duration("ms"));
}

ApiOptions with_faults(std::vector<std::string> specs, std::uint64_t seed = 1) {
    ApiOptions o;
    o.seed = seed;
    for (const auto& spec : specs) {
        auto r = apply_fault_spec(spec, o.faults);
        EXPECT_TRUE(r) << r.error().describe();
    }
    return o;
}

TEST(EmulatorHttpFaults, FiveHundredsDoNothing) {
    ApiFixture f({}, {}, with_faults({"http-5xx=1"}));
    const auto r = f.post(k_create, one_node("a-1"));
    EXPECT_EQ(r.status, 503);
    EXPECT_EQ(r.body["message"], "Service unavailable (injected fault)");
    EXPECT_EQ(node_count(f), 0u);
    // The control endpoints are never faulted, so a test can always turn faults off.
    const auto status = f.get("/_emulator/status");
    ASSERT_EQ(status.status, 200);
    EXPECT_EQ(status.body["faultsInjected"]["http-5xx"], 1);
    EXPECT_EQ(status.body["responses"]["503"], 1);
    ASSERT_EQ(f.post("/_emulator/faults", Json::array({"http-5xx=0"})).status, 200);
    EXPECT_EQ(f.post(k_create, one_node("a-1")).status, 202);
}

TEST(EmulatorHttpFaults, ThrottlingAnswers429WithRetryAfter) {
    ApiFixture f({}, {}, with_faults({"http-429=1", "retry-after=7"}));
    const auto r = f.get("/clusters/burst1/status");
    EXPECT_EQ(r.status, 429);
    const auto retry = r.headers.find("Retry-After");
    ASSERT_NE(retry, r.headers.end());
    EXPECT_EQ(retry->second, "7");
    EXPECT_EQ(f.post(k_create, one_node("a-1")).status, 429);
    EXPECT_EQ(node_count(f), 0u);
    EXPECT_EQ(f.get("/_emulator/status").body["faultsInjected"]["http-429"], 2);
}

TEST(EmulatorHttpFaults, LatencyDelaysEveryAnswer) {
    ApiFixture f({}, {}, with_faults({"latency=150ms"}));
    const auto start = std::chrono::steady_clock::now();
    EXPECT_EQ(f.get("/clusters/burst1/status").status, 200);
    EXPECT_GE(std::chrono::steady_clock::now() - start, 150ms);
    const auto control = std::chrono::steady_clock::now();
    EXPECT_EQ(f.get("/_emulator/faults").status, 200);
    EXPECT_LT(std::chrono::steady_clock::now() - control, 150ms);
    EXPECT_EQ(f.get("/_emulator/status").body["faultsInjected"]["latency"], 1);
}

TEST(EmulatorHttpFaults, AHangingRequestIsCarriedOutButNotAnswered) {
    ApiFixture f({}, {}, with_faults({"hang=1", "hang-time=1m"}));
    httplib::Client impatient(f.url());
    impatient.set_basic_auth("user", "secret");
    impatient.set_read_timeout(0, 300000);  // 300 ms
    const auto r = impatient.Post(k_create.c_str(), one_node("a-1").dump(), "application/json");
    EXPECT_FALSE(r);               // timed out
    EXPECT_EQ(node_count(f), 1u);  // but the node was created
    // A retry with the same requestId would be refused: the client must look the node up.

    // Shutting down wakes hanging requests at once.
    auto pending = std::async(std::launch::async, [&] {
        return ApiFixture::reply_of(
            f.client->Post(k_create.c_str(), one_node("a-2").dump(), "application/json"));
    });
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (node_count(f) < 2 && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(1ms);  // polling for the condition, with a deadline
    }
    ASSERT_EQ(node_count(f), 2u);
    f.api().release_waiters();
    ASSERT_EQ(pending.wait_for(10s), std::future_status::ready);
    const auto answer = pending.get();
    EXPECT_EQ(answer.status, 503);
    EXPECT_EQ(answer.body["message"], "the emulator is shutting down");
}

TEST(EmulatorHttpFaults, MalformedJsonIsCutShortAfterTheWorkIsDone) {
    ApiFixture f({}, {}, with_faults({"malformed-json=1"}));
    const auto r = f.post(k_create, one_node("a-1"));
    EXPECT_EQ(r.status, 202);
    EXPECT_TRUE(r.body.is_discarded()) << r.text;
    EXPECT_FALSE(r.text.empty());
    EXPECT_EQ(node_count(f), 1u);
    EXPECT_TRUE(f.get("/_emulator/status").body.is_object());  // control answers stay whole
}

TEST(EmulatorHttpFaults, RatesFollowTheSeed) {
    auto statuses = [](std::uint64_t seed) {
        ApiFixture f({}, {}, with_faults({"http-5xx=0.5"}, seed));
        std::string out;
        for (int i = 0; i < 40; ++i) {
            out += f.get("/clusters/burst1/status").status == 503 ? 'x' : '.';
        }
        return out;
    };
    const std::string a = statuses(11);
    EXPECT_EQ(a, statuses(11));
    EXPECT_NE(a, statuses(12));
    EXPECT_NE(a.find('x'), std::string::npos);
    EXPECT_NE(a.find('.'), std::string::npos);
}

TEST(EmulatorControl, FaultsAreSetAllOrNothingAndReported) {
    ApiFixture f;
    auto r =
        f.post("/_emulator/faults", Json{{"capacity", "Standard_F2s_v2:1"}, {"latency", "0ms"}});
    ASSERT_EQ(r.status, 200) << r.text;
    EXPECT_EQ(r.body["faults"]["capacity"], (Json{{"standard_f2s_v2", 1}}));
    EXPECT_EQ(r.body["evicted"], Json::array());

    auto bad = f.post("/_emulator/faults", Json::array({"no-slurmd=1", "bogus=1"}));
    EXPECT_EQ(bad.status, 400);
    EXPECT_EQ(bad.body["message"].get<std::string>().rfind("unknown fault 'bogus'", 0), 0u);
    EXPECT_EQ(f.get("/_emulator/faults").body["no-slurmd"], 0.0);  // nothing applied
    EXPECT_EQ(f.post_text("/_emulator/faults", "7").status, 400);

    // capacity: CycleCloud accepts both; Azure fails the second VM of the size in Acquiring,
    // and the bucket remembers when.
    const auto created = f.post(k_create, Json{{"sets", {{{"nodearray", "hpc"}, {"count", 2}}}}});
    EXPECT_EQ(created.body["sets"][0], (Json{{"added", 2}}));
    f.advance(1s);
    const auto nodes =
        f.get("/clusters/burst1/nodes?operation=" + created.body["operationId"].get<std::string>());
    ASSERT_EQ(nodes.body["nodes"].size(), 2u) << nodes.text;
    EXPECT_EQ(nodes.body["nodes"][0]["Status"], "Preparing");
    const Json& failed = nodes.body["nodes"][1];
    EXPECT_EQ(failed["Status"], "Failed");
    EXPECT_EQ(failed["TargetState"], "Started");
    EXPECT_EQ(failed["StatusMessage"].get<std::string>().rfind("AllocationFailed: ", 0), 0u);
    EXPECT_FALSE(failed.contains("PrivateIp"));
    f.advance(2s);
    const auto status = f.get("/clusters/burst1/status");
    EXPECT_DOUBLE_EQ(status.body["nodearrays"][0]["buckets"][0]["lastCapacityFailure"], 2.0);
    EXPECT_EQ(status.body["nodearrays"][0]["buckets"][0]["availableCount"], 48);

    // quota exhaustion at run time
    ASSERT_EQ(f.post("/_emulator/faults", Json::array({"capacity=Standard_F2s_v2:-1",
                                                       "quota=StandardNCADSA100v4Family:0"}))
                  .status,
              200);
    const auto gpu = f.post(k_create, one_node("g-1", "gpu"));
    EXPECT_EQ(gpu.body["sets"][0]["added"], 0);
    EXPECT_EQ(gpu.body["sets"][0]["message"],
              "QuotaExceeded: Operation could not be completed as it results in exceeding "
              "approved StandardNCADSA100v4Family Cores quota. Location: eastus, Current Limit: "
              "0, Current Usage: 0, Additional Required: 24");

    // node faults through the endpoint, then an eviction
    ASSERT_EQ(f.post("/_emulator/faults", Json::array({"no-slurmd=1"})).status, 200);
    f.post(k_create, one_node("n-1"));
    f.boot();
    const auto evicted = f.post("/_emulator/faults", Json::array({"evict=n-1"}));
    ASSERT_EQ(evicted.status, 200) << evicted.text;
    EXPECT_EQ(evicted.body["evicted"], Json::array({"n-1"}));
    EXPECT_EQ(f.post("/_emulator/faults", Json::array({"evict=nobody"})).body["message"],
              "evict: no Ready node named nobody");
    f.advance(0ms);

    const auto counters = f.get("/_emulator/status");
    ASSERT_EQ(counters.status, 200);
    const Json& injected = counters.body["faultsInjected"];
    EXPECT_EQ(injected["capacity"], 1);
    EXPECT_EQ(injected["quota"], 1);
    EXPECT_EQ(injected["no-slurmd"], 1);
    EXPECT_EQ(injected["evict"], 1);
    EXPECT_EQ(counters.body["nodes"]["total"], 2);
    EXPECT_EQ(counters.body["nodes"]["byStatus"]["Ready"], 1);
    EXPECT_EQ(counters.body["nodes"]["byStatus"]["Failed"], 1);
    EXPECT_EQ(counters.body["apiCalls"]["POST /clusters/{cluster}/nodes/create"], 3);
    EXPECT_EQ(counters.body["apiCalls"]["POST /_emulator/faults"], 7);
    EXPECT_EQ(counters.body["backend"], "none");
    EXPECT_EQ(counters.body["url"], f.url());
}

// One-shot faults through the control endpoint: each names the nodes it changed.
TEST(EmulatorControl, OneShotFaultsChangeNamedNodesAndAreCounted) {
    ApiFixture f({"HTCUseLowPrio=true"});
    f.post(k_create, one_node("h-1"));
    f.post(k_create, one_node("h-2"));
    f.post(k_create, one_node("s-1", "htc"));
    f.boot();
    auto r = f.post("/_emulator/faults", Json::array({"ready-fail=h-1", "status=h-2:Unavailable",
                                                      "evict-notice=1", "keep-alive=h-2:true"}));
    ASSERT_EQ(r.status, 200) << r.text;
    EXPECT_EQ(r.body["nodes"], Json::array({"h-1", "h-2", "s-1", "h-2"}));
    EXPECT_EQ(r.body["evicted"], Json::array());
    const auto nodes = f.get("/clusters/burst1/nodes");
    std::map<std::string, Json> by_name;
    for (const auto& n : nodes.body["nodes"]) {
        by_name[n["Name"].get<std::string>()] = n;
    }
    EXPECT_EQ(by_name["h-1"]["Status"], "Failed");
    EXPECT_TRUE(by_name["h-1"].contains("PrivateIp")) << "a Failed node keeps its VM";
    EXPECT_EQ(by_name["h-2"]["Status"], "Unavailable");
    EXPECT_EQ(by_name["h-2"]["KeepAlive"], true);
    EXPECT_EQ(by_name["s-1"]["Status"], "Ready");
    EXPECT_EQ(by_name["s-1"]["StatusMessage"],
              "Preempt: Azure Scheduled Events: this Spot VM will be evicted in 30 s");
    const auto refused = f.post("/clusters/burst1/nodes/terminate", Json{{"names", {"h-2"}}});
    ASSERT_EQ(refused.status, 202);
    EXPECT_EQ(refused.body["nodes"][0]["status"], "Error");
    EXPECT_EQ(refused.body["nodes"][0]["error"],
              "node h-2 has KeepAlive set: it cannot be terminated until KeepAlive is cleared");
    const auto unknown = f.post("/_emulator/faults", Json::array({"status=nobody:Started"}));
    EXPECT_EQ(unknown.status, 400);
    EXPECT_EQ(unknown.body["message"], "status: no node named nobody");
    f.advance(30s);
    EXPECT_EQ(node_count(f), 2u) << "s-1 was evicted after its notice";
    const auto counters = f.get("/_emulator/status");
    const Json& injected = counters.body["faultsInjected"];
    EXPECT_EQ(injected["ready-fail"], 1);
    EXPECT_EQ(injected["status"], 1);
    EXPECT_EQ(injected["evict-notice"], 1);
    EXPECT_EQ(injected["evict"], 1);
}

// A body mixing settings and one-shot faults is applied in the order written, in both its
// forms, and all or nothing: a one-shot fault that finds no node changes no setting either.
TEST(EmulatorControl, FaultsApplyInTheOrderWritten) {
    ApiFixture f;
    f.post(k_create, one_node("h-1"));
    f.post(k_create, one_node("h-2"));
    f.boot();
    // As an object: keys in the order written, not sorted (clear comes after latency here).
    auto r = f.post_text("/_emulator/faults", R"({"latency": "1s", "clear": "all"})");
    ASSERT_EQ(r.status, 200) << r.text;
    EXPECT_EQ(r.body["faults"]["latency"], "0ms");
    r = f.post_text("/_emulator/faults", R"({"clear": "all", "latency": "5ms"})");
    ASSERT_EQ(r.status, 200) << r.text;
    EXPECT_EQ(r.body["faults"]["latency"], "5ms");

    // One-shot faults see what came before them: h-1 is no longer Ready when ready-fail comes.
    r = f.post_text("/_emulator/faults",
                    R"({"status": "h-1:Started", "ready-fail": "h-1", "latency": "7ms"})");
    EXPECT_EQ(r.status, 400);
    EXPECT_EQ(r.body["message"], "ready-fail: no Ready node named h-1");
    EXPECT_EQ(f.get("/_emulator/faults").body["latency"], "5ms") << "nothing applied";
    EXPECT_EQ(f.get("/clusters/burst1/nodes").body["nodes"][0]["Status"], "Ready");

    // Written the other way round, both apply, and the setting after them too.
    r = f.post_text("/_emulator/faults",
                    R"({"ready-fail": "h-1", "status": "h-1:Started", "latency": "7ms"})");
    ASSERT_EQ(r.status, 200) << r.text;
    EXPECT_EQ(r.body["nodes"], Json::array({"h-1", "h-1"}));
    EXPECT_EQ(r.body["faults"]["latency"], "7ms");
    EXPECT_EQ(f.get("/clusters/burst1/nodes").body["nodes"][0]["Status"], "Started");

    // A list: a setting before a one-shot fault that fails is not applied.
    r = f.post("/_emulator/faults", Json::array({"no-slurmd=1", "evict=nobody"}));
    EXPECT_EQ(r.status, 400);
    EXPECT_EQ(f.get("/_emulator/faults").body["no-slurmd"], 0.0);
    r = f.post("/_emulator/faults", Json::array({"evict=h-2", "clear=all"}));
    ASSERT_EQ(r.status, 200) << r.text;
    EXPECT_EQ(r.body["evicted"], Json::array({"h-2"}));
    EXPECT_EQ(r.body["faults"]["latency"], "0ms");
}

}  // namespace
}  // namespace cb::emulator
