#include <gtest/gtest.h>
#include <httplib.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "adapters/cyclecloud_rest.h"
#include "util/log.h"

namespace cb {
namespace {

constexpr const char* k_password = "s3cr3t-Pa55";

// A loopback HTTP server whose handlers each test sets; records what it received.
class FakeServer {
  public:
    FakeServer() {
        m_port = m_server.bind_to_any_port("127.0.0.1");
        // The socket is bound and listening already: early connections wait in the backlog.
        m_thread = std::thread([this] { m_server.listen_after_bind(); });
    }
    ~FakeServer() {
        m_server.stop();
        m_thread.join();
    }
    httplib::Server& server() { return m_server; }
    std::string url() const { return "http://127.0.0.1:" + std::to_string(m_port); }

  private:
    httplib::Server m_server;
    int m_port = 0;
    std::thread m_thread;
};

CycleCloudOptions options_for(const std::string& url, std::vector<long>* sleeps) {
    CycleCloudOptions o;
    o.url = url + "/";
    o.cluster = "slurm hl";
    o.username = "admin";
    o.password = k_password;
    o.max_attempts = 3;
    o.request_timeout = std::chrono::milliseconds(2000);
    o.sleep = [sleeps](std::chrono::milliseconds d) { sleeps->push_back(d.count()); };
    return o;
}

constexpr const char* k_status = R"({
  "state": "Started", "maxCount": 100, "maxCoreCount": 1000,
  "nodearrays": [{
    "name": "hpc", "maxCount": 50, "maxCoreCount": 100,
    "nodearray": {"Name": "hpc", "Region": "eastus", "MachineType": "Standard_F2s_v2",
                  "Interruptible": false,
                  "Configuration": {"slurm": {"partition": "hpc", "autoscale": true},
                                    "autoscale.enabled": true}},
    "buckets": [{"bucketId": "b1", "valid": true,
                 "definition": {"machineType": "Standard_F2s_v2"},
                 "virtualMachine": {"vcpuCount": 2, "pcpuCount": 1, "gpuCount": 0,
                                    "memory": 4.0, "infiniband": false},
                 "maxCount": 50, "activeCount": 3, "availableCount": 47,
                 "maxPlacementGroupSize": 100, "lastCapacityFailure": -1}]
  }]})";

TEST(CycleCloudRest, ParsesStatusAndSendsBasicAuthToEscapedClusterPath) {
    FakeServer fake;
    std::string auth;
    std::string path;
    fake.server().Get(R"(/clusters/(.*)/status)",
                      [&](const httplib::Request& req, httplib::Response& res) {
                          auth = req.get_header_value("Authorization");
                          path = req.path;
                          res.set_content(k_status, "application/json");
                      });
    std::vector<long> sleeps;
    CycleCloudRest cloud(options_for(fake.url(), &sleeps));
    auto arrays = cloud.node_arrays();
    ASSERT_TRUE(arrays) << arrays.error().describe();
    ASSERT_EQ(arrays->size(), 1u);
    const auto& a = (*arrays)[0];
    EXPECT_EQ(a.name, "hpc");
    EXPECT_EQ(a.region, "eastus");
    EXPECT_EQ(a.configuration.at("slurm.partition"), "hpc");
    EXPECT_EQ(a.configuration.at("slurm.autoscale"), "true");
    EXPECT_EQ(a.configuration.at("autoscale.enabled"), "true");
    ASSERT_EQ(a.buckets.size(), 1u);
    EXPECT_EQ(a.buckets[0].pcpu_count, 1);
    EXPECT_EQ(a.buckets[0].available_count, 47);
    // We send "/clusters/slurm%20hl/status"; the server decodes it back to the name.
    EXPECT_EQ(path, "/clusters/slurm hl/status");
    // "admin:s3cr3t-Pa55" in base64.
    EXPECT_EQ(auth, "Basic YWRtaW46czNjcjN0LVBhNTU=");
    EXPECT_TRUE(sleeps.empty());
}

// A multi-select MachineType, as a list or as CycleCloud's comma-joined string: the array's
// own size is the first listed even when its bucket is not valid, so node ranges keep sizes.
TEST(CycleCloudRest, AMultiSelectMachineTypesFirstSizeIsTheArraysOwnValidOrNot) {
    for (const std::string machine_type :
         {R"(["Standard_F2s_v2", "Standard_F4s_v2"])", R"(" Standard_F2s_v2 , Standard_F4s_v2")"}) {
        std::string status = k_status;
        const std::string single = R"("MachineType": "Standard_F2s_v2")";
        status.replace(status.find(single), single.size(), R"("MachineType": )" + machine_type);
        const std::string valid = R"("valid": true)";
        status.replace(status.find(valid), valid.size(), R"("valid": false)");
        FakeServer fake;
        fake.server().Get(R"(/clusters/(.*)/status)",
                          [&](const httplib::Request&, httplib::Response& res) {
                              res.set_content(status, "application/json");
                          });
        std::vector<long> sleeps;
        CycleCloudRest cloud(options_for(fake.url(), &sleeps));
        auto arrays = cloud.node_arrays();
        ASSERT_TRUE(arrays) << arrays.error().describe();
        ASSERT_EQ(arrays->size(), 1u);
        EXPECT_EQ((*arrays)[0].machine_type, "Standard_F2s_v2") << machine_type;
    }
}

TEST(CycleCloudRest, PacesRequestsToItsTokenBuckets) {
    FakeServer fake;
    fake.server().Get(R"(/clusters/(.*)/status)",
                      [&](const httplib::Request&, httplib::Response& res) {
                          res.set_content(k_status, "application/json");
                      });
    std::vector<long> sleeps;
    auto o = options_for(fake.url(), &sleeps);
    o.read_bucket = {2, 1};  // two at once, then one per second
    CycleCloudRest cloud(o);
    for (int i = 0; i < 3; ++i) {
        ASSERT_TRUE(cloud.node_arrays());
    }
    ASSERT_EQ(sleeps.size(), 1u) << "the third read waits for its token";
    EXPECT_GT(sleeps[0], 500);
    EXPECT_LE(sleeps[0], 1000);
    EXPECT_EQ(cloud.stats().paced, 1);
}

TEST(CycleCloudRest, CreateSendsLiteralNamesOneSetEachWithRequestId) {
    FakeServer fake;
    std::string body;
    fake.server().Post("/clusters/c/nodes/create", [&](const httplib::Request& req,
                                                       httplib::Response& res) {
        body = req.body;
        res.status = 202;
        res.set_content(
            R"({"operationId":"op-1","sets":[{"added":1},{"added":0,"message":"no capacity"}]})",
            "application/json");
    });
    std::vector<long> sleeps;
    auto o = options_for(fake.url(), &sleeps);
    o.cluster = "c";
    CycleCloudRest cloud(o);
    auto r = cloud.create_nodes(
        {{"hpc", "Standard_F2s_v2", "hpc-1", ""}, {"hpc", "Standard_F2s_v2", "hpc-2", "pg0"}},
        "req-42");
    ASSERT_TRUE(r) << r.error().describe();
    EXPECT_EQ(r->operation_id, "op-1");
    ASSERT_EQ(r->sets.size(), 2u);
    EXPECT_EQ(r->sets[1].added, 0);
    EXPECT_EQ(r->sets[1].message, "no capacity");
    EXPECT_EQ(
        body,
        R"({"requestId":"req-42","sets":[{"count":1,"definition":{"machineType":"Standard_F2s_v2"},"nameFormat":"hpc-1","nodearray":"hpc"},{"count":1,"definition":{"machineType":"Standard_F2s_v2"},"nameFormat":"hpc-2","nodearray":"hpc","placementGroupId":"pg0"}]})");
}

// Calls from several threads run at once, each on a connection of its own, never more than
// max_connections: the server holds each create until as many as the bound are in (or 10 s
// pass, which the check below then catches).
void creates_in_flight(int max_connections, int calls, int expect_most) {
    FakeServer fake;
    std::mutex m;
    std::condition_variable cv;
    int in_flight = 0;
    int most = 0;
    fake.server().Post(
        "/clusters/c/nodes/create", [&](const httplib::Request&, httplib::Response& res) {
            std::unique_lock lock(m);
            most = std::max(most, ++in_flight);
            cv.notify_all();
            cv.wait_for(lock, std::chrono::seconds(10), [&] { return in_flight >= expect_most; });
            --in_flight;
            res.status = 202;
            res.set_content(R"({"operationId":"op-1","sets":[{"added":1}]})", "application/json");
        });
    std::vector<long> sleeps;
    auto o = options_for(fake.url(), &sleeps);
    o.cluster = "c";
    o.max_connections = max_connections;
    o.request_timeout = std::chrono::milliseconds(20000);
    CycleCloudRest cloud(o);
    EXPECT_EQ(cloud.max_concurrent_calls(), max_connections);
    std::vector<std::thread> threads;
    std::atomic<int> ok{0};
    for (int i = 0; i < calls; ++i) {
        threads.emplace_back([&, i] {
            const std::string name = "hpc-" + std::to_string(i + 1);
            auto r = cloud.create_nodes({{"hpc", "Standard_F2s_v2", name, ""}},
                                        "req-" + std::to_string(i));
            ok += r && r->sets.size() == 1 && r->sets[0].added == 1 ? 1 : 0;
        });
    }
    for (auto& t : threads) {
        t.join();
    }
    EXPECT_EQ(ok.load(), calls);
    EXPECT_EQ(most, expect_most);
    EXPECT_EQ(cloud.stats().requests, calls);
}

TEST(CycleCloudRest, CallsFromSeveralThreadsRunTogether) {
    creates_in_flight(4, 4, 4);
}

TEST(CycleCloudRest, CallsInFlightStayWithinMaxConnections) {
    creates_in_flight(2, 6, 2);
}

TEST(CycleCloudRest, RetriesServerErrorsWithBackoffThenSucceeds) {
    FakeServer fake;
    std::atomic<int> calls{0};
    fake.server().Get("/clusters/c/nodes", [&](const httplib::Request&, httplib::Response& res) {
        if (++calls < 3) {
            res.status = 503;
            res.set_content("busy", "text/plain");
            return;
        }
        res.set_content(R"({"nodes":[{"Name":"hpc-1","Status":"Ready","PrivateIp":"198.18.0.5",
                           "Template":"hpc","TargetState":"Started"}]})",
                        "application/json");
    });
    std::vector<long> sleeps;
    auto o = options_for(fake.url(), &sleeps);
    o.cluster = "c";
    CycleCloudRest cloud(o);
    auto nodes = cloud.nodes();
    ASSERT_TRUE(nodes) << nodes.error().describe();
    ASSERT_EQ(nodes->size(), 1u);
    EXPECT_EQ((*nodes)[0].status, VmStatus::k_ready);
    EXPECT_EQ((*nodes)[0].private_ip, "198.18.0.5");
    ASSERT_EQ(sleeps.size(), 2u);
    EXPECT_GE(sleeps[0], 125);
    EXPECT_LE(sleeps[0], 250);
    EXPECT_GE(sleeps[1], 250);  // doubled
    EXPECT_LE(sleeps[1], 500);
    EXPECT_EQ(cloud.stats().requests, 3);
    EXPECT_EQ(cloud.stats().retries, 2);
}

// The node list is read as it arrives, in one GET; one the stream leaves to the general
// reader (a NodeId that is a number) is asked for again and read whole.
TEST(CycleCloudRest, ReadsTheNodeListAsItArrivesAndAsksAgainForAnOddOne) {
    FakeServer fake;
    std::atomic<int> calls{0};
    std::atomic<bool> odd{false};
    fake.server().Get("/clusters/c/nodes", [&](const httplib::Request&, httplib::Response& res) {
        ++calls;
        std::string body = R"({"nodes":[)";
        for (int i = 1; i <= 2000; ++i) {
            body += (i > 1 ? "," : "") + std::string(R"({"Name":"hpc-)") + std::to_string(i) +
                    R"(","Status":"Ready","NodeId":)" + (odd ? "7" : R"("n")") +
                    R"(,"Configuration":{"pad":")" + std::string(200, 'x') + R"("}})";
        }
        res.set_content(body + "]}", "application/json");
    });
    std::vector<long> sleeps;
    auto o = options_for(fake.url(), &sleeps);
    o.cluster = "c";
    CycleCloudRest cloud(o);
    auto nodes = cloud.nodes();
    ASSERT_TRUE(nodes) << nodes.error().describe();
    ASSERT_EQ(nodes->size(), 2000u);
    EXPECT_EQ(nodes->back().name, "hpc-2000");
    EXPECT_EQ(nodes->back().node_id, "n");
    EXPECT_EQ(calls, 1);
    odd = true;
    nodes = cloud.nodes();
    ASSERT_TRUE(nodes) << nodes.error().describe();
    ASSERT_EQ(nodes->size(), 2000u);
    EXPECT_EQ(nodes->back().node_id, "7");
    EXPECT_EQ(calls, 3);
    EXPECT_TRUE(sleeps.empty());
}

// The daemon's signalfd turns readable on SIGTERM: a retry's wait and a request in flight end
// then, so that cloudburstd stops within a second and not after its retries (tens of s).
TEST(CycleCloudRest, StopFdEndsRetryWaitsAndRequestsInFlight) {
    int stop[2] = {-1, -1};  // the fd the retry's wait sees turn readable
    int hang[2] = {-1, -1};  // the one the request in flight does
    ASSERT_EQ(::pipe(stop), 0);
    ASSERT_EQ(::pipe(hang), 0);
    FakeServer fake;
    std::atomic<int> calls{0};
    std::mutex m;
    std::condition_variable cv;
    bool returned = false;
    fake.server().Get("/clusters/c/nodes", [&](const httplib::Request&, httplib::Response& res) {
        ++calls;
        (void)!::write(stop[1], "x", 1);  // SIGTERM arrives while the request is answered
        res.status = 503;
        res.set_content("busy", "text/plain");
    });
    fake.server().Get("/clusters/c/status", [&](const httplib::Request&, httplib::Response& res) {
        ++calls;
        (void)!::write(hang[1], "x", 1);
        // Hangs (at most 20 s) until the client has given up on it.
        std::unique_lock lock(m);
        cv.wait_for(lock, std::chrono::seconds(20), [&] { return returned; });
        res.set_content(k_status, "application/json");
    });
    std::vector<long> sleeps;
    auto o = options_for(fake.url(), &sleeps);
    o.cluster = "c";
    o.sleep = nullptr;  // real waits: the stop fd must end them
    o.backoff_initial = std::chrono::milliseconds(30000);
    o.request_timeout = std::chrono::milliseconds(30000);
    o.stop_fd = stop[0];
    const auto started = std::chrono::steady_clock::now();
    CycleCloudRest cloud(o);
    auto nodes = cloud.nodes();
    // The answer (503) or the transfer cut off as it came, and no retry after either.
    ASSERT_FALSE(nodes);
    EXPECT_EQ(nodes.error().kind, ErrorKind::k_transient);
    EXPECT_EQ(calls, 1);
    // Once stopping, nothing more is sent.
    auto again = cloud.nodes();
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error().message, "stopping: GET /clusters/c/nodes was not sent");
    EXPECT_EQ(calls, 1);

    o.stop_fd = hang[0];
    CycleCloudRest hung(o);
    auto arrays = hung.node_arrays();
    {
        std::lock_guard lock(m);
        returned = true;
    }
    cv.notify_all();
    ASSERT_FALSE(arrays);
    EXPECT_EQ(arrays.error().kind, ErrorKind::k_transient);
    EXPECT_EQ(calls, 2);
    // Neither the 30 s wait nor the 20 s hang was sat out.
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(15));
    for (const int fd : {stop[0], stop[1], hang[0], hang[1]}) {
        ::close(fd);
    }
}

TEST(CycleCloudRest, HonoursRetryAfterAndReportsThrottled) {
    FakeServer fake;
    fake.server().Get("/clusters/c/nodes", [&](const httplib::Request&, httplib::Response& res) {
        res.status = 429;
        res.set_header("Retry-After", "7");
    });
    std::vector<long> sleeps;
    auto o = options_for(fake.url(), &sleeps);
    o.cluster = "c";
    CycleCloudRest cloud(o);
    auto nodes = cloud.nodes();
    ASSERT_FALSE(nodes);
    EXPECT_EQ(nodes.error().kind, ErrorKind::k_throttled);
    EXPECT_EQ(nodes.error().message,
              "CycleCloud throttled GET /clusters/c/nodes (HTTP 429, Retry-After 7 s)");
    EXPECT_EQ(sleeps, (std::vector<long>{7000, 7000}));
    EXPECT_EQ(cloud.stats().throttled, 3);
}

TEST(CycleCloudRest, BadCredentialsArePermanentAndNeverShowThePassword) {
    FakeServer fake;
    fake.server().Get("/clusters/c/nodes", [&](const httplib::Request&, httplib::Response& res) {
        res.status = 401;
        res.set_content(std::string("denied for ") + k_password, "text/plain");
    });
    std::vector<long> sleeps;
    auto o = options_for(fake.url(), &sleeps);
    o.cluster = "c";
    CycleCloudRest cloud(o);
    auto nodes = cloud.nodes();
    ASSERT_FALSE(nodes);
    EXPECT_EQ(nodes.error().kind, ErrorKind::k_permanent);
    EXPECT_EQ(nodes.error().message,
              "CycleCloud rejected the credentials of user 'admin' (HTTP 401 for GET "
              "/clusters/c/nodes)");
    EXPECT_TRUE(sleeps.empty());
    EXPECT_EQ(log::redact(std::string("x ") + k_password), "x ****");
}

TEST(CycleCloudRest, GarbageBodyIsTransientAndRetried) {
    FakeServer fake;
    fake.server().Get("/clusters/c/nodes", [&](const httplib::Request&, httplib::Response& res) {
        res.set_content("{\"nodes\": [", "application/json");
    });
    std::vector<long> sleeps;
    auto o = options_for(fake.url(), &sleeps);
    o.cluster = "c";
    CycleCloudRest cloud(o);
    auto nodes = cloud.nodes();
    ASSERT_FALSE(nodes);
    EXPECT_EQ(nodes.error().kind, ErrorKind::k_transient);
    EXPECT_EQ(
        nodes.error().message,
        "malformed response from CycleCloud: node list is not a JSON object: '{\"nodes\": ['");
}

TEST(CycleCloudRest, SlowServerTimesOut) {
    FakeServer fake;
    fake.server().Get("/clusters/c/nodes", [&](const httplib::Request&, httplib::Response& res) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // the server is slow
        res.set_content(R"({"nodes":[]})", "application/json");
    });
    std::vector<long> sleeps;
    auto o = options_for(fake.url(), &sleeps);
    o.cluster = "c";
    o.request_timeout = std::chrono::milliseconds(200);
    o.max_attempts = 1;
    CycleCloudRest cloud(o);
    auto nodes = cloud.nodes();
    ASSERT_FALSE(nodes);
    EXPECT_EQ(nodes.error().kind, ErrorKind::k_transient);
    EXPECT_EQ(nodes.error().message.rfind("no answer from " + fake.url() + " in time", 0), 0u);
}

// CycleCloud refuses a repeated requestId with 409. When the first create got no answer in
// time but was carried out, the retry's 409 means "done, answer lost": transient (the next
// pass sees the nodes), not a refusal that fails them.
TEST(CycleCloudRest, CreateRetriedAfterALostAnswerIsNotARefusal) {
    FakeServer fake;
    std::atomic<int> calls{0};
    fake.server().Post("/clusters/c/nodes/create", [&](const httplib::Request&,
                                                       httplib::Response& res) {
        if (++calls == 1) {
            // carried out, but the answer comes too late
            std::this_thread::sleep_for(std::chrono::milliseconds(600));
            res.set_content(R"({"operationId":"op-1","sets":[{"added":1}]})", "application/json");
            return;
        }
        res.status = 409;
        res.set_content("requestId r-1 was already used (operation op-1)", "text/plain");
    });
    std::vector<long> sleeps;
    auto o = options_for(fake.url(), &sleeps);
    o.cluster = "c";
    o.request_timeout = std::chrono::milliseconds(200);
    CycleCloudRest cloud(o);
    auto r = cloud.create_nodes({{"hpc", "Standard_F2s_v2", "hpc-1", ""}}, "r-1");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind, ErrorKind::k_transient) << r.error().describe();
    EXPECT_NE(r.error().message.find("carried out by an attempt whose answer was lost"),
              std::string::npos)
        << r.error().message;
    EXPECT_EQ(calls.load(), 2);
}

TEST(CycleCloudRest, CreateRefusedAtTheFirstAttemptIsACloudError) {
    FakeServer fake;
    fake.server().Post("/clusters/c/nodes/create",
                       [&](const httplib::Request&, httplib::Response& res) {
                           res.status = 409;
                           res.set_content("requestId r-1 was already used", "text/plain");
                       });
    std::vector<long> sleeps;
    auto o = options_for(fake.url(), &sleeps);
    o.cluster = "c";
    CycleCloudRest cloud(o);
    auto r = cloud.create_nodes({{"hpc", "Standard_F2s_v2", "hpc-1", ""}}, "r-1");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind, ErrorKind::k_cloud) << r.error().describe();
    EXPECT_TRUE(sleeps.empty());
}

TEST(CycleCloudRest, UnknownClusterSaysSo) {
    FakeServer fake;
    fake.server().Get(".*",
                      [&](const httplib::Request&, httplib::Response& res) { res.status = 404; });
    std::vector<long> sleeps;
    auto o = options_for(fake.url(), &sleeps);
    o.cluster = "nope";
    CycleCloudRest cloud(o);
    auto st = cloud.check_connection();
    ASSERT_FALSE(st);
    EXPECT_EQ(st.error().message, "CycleCloud at " + fake.url() + " has no cluster named 'nope'");
}

TEST(CycleCloudRest, ConnectionRefusedIsTransient) {
    std::vector<long> sleeps;
    auto o = options_for("http://127.0.0.1:1", &sleeps);
    CycleCloudRest cloud(o);
    auto st = cloud.check_connection();
    ASSERT_FALSE(st);
    EXPECT_EQ(st.error().kind, ErrorKind::k_transient);
    EXPECT_EQ(st.error().message.rfind("cannot connect to http://127.0.0.1:1", 0), 0u);
    EXPECT_EQ(sleeps.size(), 2u);
}

TEST(CycleCloudRestParse, StatusVariantsAndBadShapes) {
    EXPECT_FALSE(parse_cluster_status("[]"));
    EXPECT_FALSE(parse_cluster_status(R"({"nodearrays": 3})"));
    auto empty = parse_cluster_status(R"({"nodearrays": []})");
    ASSERT_TRUE(empty);
    EXPECT_TRUE(empty->empty());
    EXPECT_EQ(parse_vm_status("Deallocated"), VmStatus::k_deallocated);
    EXPECT_EQ(parse_vm_status("Weird"), VmStatus::k_unknown);
    auto noname = parse_node_list(R"({"nodes":[{"Status":"Ready"}]})");
    ASSERT_FALSE(noname);
    EXPECT_EQ(noname.error().message,
              "malformed response from CycleCloud: a node record has no Name");
}

}  // namespace
}  // namespace cb
