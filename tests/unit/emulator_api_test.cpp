// API conformance over real loopback HTTP: every endpoint of reference/cyclecloud-rest-api.md,
// its JSON shape and status codes, and agreement between `status` and `nodes`.
#include <gtest/gtest.h>

#include <arpa/inet.h>

#include <cctype>

#include <set>

#include "unit/emulator_api_fixture.h"

namespace cb::emulator {
namespace {

using namespace std::chrono_literals;
using testing::ApiFixture;
using testing::Json;

constexpr const char* k_base = "/clusters/burst1";

Json create_body(const std::string& array, int count, const std::string& format = "") {
    Json set{{"nodearray", array}, {"count", count}};
    if (!format.empty()) {
        set["nameFormat"] = format;
    }
    return Json{{"sets", Json::array({set})}};
}

// "2026-11-25T21:49:52.123+00:00": digits where the mask has 0, the rest as in the mask.
bool iso_time(const std::string& text) {
    constexpr std::string_view k_mask = "0000-00-00T00:00:00.000+00:00";
    if (text.size() != k_mask.size()) {
        return false;
    }
    for (std::size_t i = 0; i < text.size(); ++i) {
        const bool digit = std::isdigit(static_cast<unsigned char>(text[i])) != 0;
        if (k_mask[i] == '0' ? !digit : text[i] != k_mask[i]) {
            return false;
        }
    }
    return true;
}

// An IPv4 address in 198.18.0.0/15.
bool benchmark_address(const std::string& text) {
    in_addr a{};
    return inet_pton(AF_INET, text.c_str(), &a) == 1 && (ntohl(a.s_addr) >> 17) == (0xC612u >> 1);
}

std::set<std::string> keys(const Json& object) {
    std::set<std::string> out;
    for (const auto& [key, value] : object.items()) {
        out.insert(key);
    }
    return out;
}

TEST(EmulatorApi, StatusHasEveryDocumentedField) {
    ApiFixture f;
    const auto r = f.get(std::string(k_base) + "/status");
    ASSERT_EQ(r.status, 200) << r.text;
    EXPECT_EQ(keys(r.body), (std::set<std::string>{"state", "targetState", "maxCount",
                                                   "maxCoreCount", "nodearrays"}));
    EXPECT_EQ(r.body["state"], "Started");
    ASSERT_EQ(r.body["nodearrays"].size(), 4u);
    const Json& hpc = r.body["nodearrays"][0];
    EXPECT_EQ(keys(hpc),
              (std::set<std::string>{"name", "maxCount", "maxCoreCount", "nodearray", "buckets"}));
    EXPECT_EQ(hpc["name"], "hpc");
    EXPECT_EQ(hpc["maxCoreCount"], 100);
    const Json& record = hpc["nodearray"];
    EXPECT_EQ(record["Name"], "hpc");
    EXPECT_EQ(record["Region"], "eastus");
    EXPECT_EQ(record["SubnetId"], "cloudburst-rg/cloudburst-vnet/compute");
    EXPECT_EQ(record["MachineType"], "Standard_F2s_v2");
    EXPECT_EQ(record["Azure.MaxScalesetSize"], 100);
    EXPECT_EQ(record["Configuration"]["slurm"]["partition"], "hpc");
    EXPECT_EQ(record["Configuration"]["slurm"]["hpc"], true);
    EXPECT_EQ(record["Configuration"]["slurm"]["node_prefix"], "burst1-");
    ASSERT_EQ(hpc["buckets"].size(), 1u);
    const Json& bucket = hpc["buckets"][0];
    EXPECT_EQ(keys(bucket), (std::set<std::string>{"bucketId",
                                                   "valid",
                                                   "invalidReason",
                                                   "spotPlacementScore",
                                                   "definition",
                                                   "virtualMachine",
                                                   "maxCount",
                                                   "maxCoreCount",
                                                   "activeCount",
                                                   "activeCoreCount",
                                                   "availableCount",
                                                   "availableCoreCount",
                                                   "quotaCount",
                                                   "quotaCoreCount",
                                                   "consumedCoreCount",
                                                   "familyQuotaCount",
                                                   "familyQuotaCoreCount",
                                                   "familyConsumedCoreCount",
                                                   "regionalQuotaCount",
                                                   "regionalQuotaCoreCount",
                                                   "regionalConsumedCoreCount",
                                                   "maxPlacementGroupSize",
                                                   "maxPlacementGroupCoreSize",
                                                   "placementGroups",
                                                   "lastCapacityFailure"}));
    EXPECT_EQ(bucket["definition"]["machineType"], "Standard_F2s_v2");
    EXPECT_EQ(bucket["virtualMachine"], (Json{{"vcpuCount", 2},
                                              {"pcpuCount", 1},
                                              {"gpuCount", 0},
                                              {"memory", 4.0},
                                              {"infiniband", false},
                                              {"vcpuQuotaCount", 2}}));
    EXPECT_EQ(bucket["maxCount"], 50);
    EXPECT_LT(bucket["lastCapacityFailure"].get<double>(), 0);
    EXPECT_EQ(bucket["valid"], true);
    EXPECT_EQ(bucket["invalidReason"], "");
    EXPECT_EQ(bucket["spotPlacementScore"], "");
    // Stable ids: the same cluster, array and size give the same bucket id in every run.
    ApiFixture again;
    EXPECT_EQ(
        again.get(std::string(k_base) + "/status").body["nodearrays"][0]["buckets"][0]["bucketId"],
        bucket["bucketId"]);
    const Json& gpu_vm = r.body["nodearrays"][2]["buckets"][0]["virtualMachine"];
    EXPECT_EQ(gpu_vm["gpuCount"], 1);
    EXPECT_EQ(gpu_vm["pcpuCount"], 24);
}

TEST(EmulatorApi, CreateAnswers202WithAnOperationToFollow) {
    ApiFixture f;
    Json body = create_body("hpc", 2);
    body["requestId"] = "req-1";
    body["sets"].push_back(
        {{"nodearray", "gpu"},
         {"count", 1},
         {"nameFormat", "burst1-gpu-1"},
         {"definition", {{"machineType", "Standard_NC24ads_A100_v4"}}},
         {"nodeAttributes",
          {{"KeepAlive", true}, {"Configuration", {{"slurm", {{"hpc", false}}}, {"x", 1}}}}}});
    const auto r = f.post(std::string(k_base) + "/nodes/create", body);
    ASSERT_EQ(r.status, 202) << r.text;
    const std::string op = r.body["operationId"];
    EXPECT_EQ(r.body["sets"], (Json::array({{{"added", 2}}, {{"added", 1}}})));
    const auto location = r.headers.find("Location");
    ASSERT_NE(location, r.headers.end());
    EXPECT_EQ(location->second, f.url() + "/operations/" + op);

    const auto operation = f.get("/operations/" + op);
    ASSERT_EQ(operation.status, 200);
    EXPECT_EQ(operation.body["action"], "create");
    EXPECT_EQ(operation.body["requestId"], "req-1");
    EXPECT_TRUE(iso_time(operation.body["startTime"].get<std::string>()))
        << operation.body["startTime"];

    const auto nodes = f.get(std::string(k_base) + "/nodes?operation=" + op);
    ASSERT_EQ(nodes.status, 200);
    EXPECT_EQ(nodes.body["operation"]["id"], op);
    std::vector<std::string> names;
    for (const auto& n : nodes.body["nodes"]) {
        names.push_back(n["Name"]);
    }
    EXPECT_EQ(names, (std::vector<std::string>{"hpc-1", "hpc-2", "burst1-gpu-1"}));
    const Json& gpu = nodes.body["nodes"][2];
    EXPECT_EQ(gpu["KeepAlive"], true);
    EXPECT_EQ(gpu["Configuration"]["slurm"]["hpc"], false);
    EXPECT_EQ(gpu["Configuration"]["slurm"]["partition"], "gpu");
    EXPECT_EQ(gpu["Configuration"]["x"], 1);
    EXPECT_EQ(f.get(std::string(k_base) + "/nodes?request_id=req-1").body["nodes"].size(), 3u);

    // The repeated requestId is refused and creates nothing.
    const auto replay = f.post(std::string(k_base) + "/nodes/create", body);
    EXPECT_EQ(replay.status, 409);
    EXPECT_EQ(replay.body["message"], "requestId req-1 was already used (operation " + op + ")");
    EXPECT_EQ(f.get(std::string(k_base) + "/nodes").body["nodes"].size(), 3u);
}

TEST(EmulatorApi, NodesBootAndStatusAgreesWithNodes) {
    ApiFixture f({"HPCMaxScalesetSize=2"});
    Json body = create_body("hpc", 3);
    body["sets"][0]["placementGroupId"] = "pg0";
    body["sets"].push_back({{"nodearray", "dynamic"},
                            {"count", 2},
                            {"definition", {{"machineType", "Standard_F4s_v2"}}}});
    const auto created = f.post(std::string(k_base) + "/nodes/create", body);
    ASSERT_EQ(created.status, 202);
    EXPECT_EQ(created.body["sets"][0]["added"], 2);
    EXPECT_EQ(created.body["sets"][0]["message"],
              "placement group pg0 is full (2 VMs, the Azure.MaxScalesetSize of nodearray hpc)");
    auto node = f.get(std::string(k_base) + "/nodes").body["nodes"][0];
    EXPECT_EQ(node["Status"], "Acquiring");
    EXPECT_FALSE(node.contains("PrivateIp"));
    f.boot();

    const auto status = f.get(std::string(k_base) + "/status?nodes=true");
    const auto listed = f.get(std::string(k_base) + "/nodes");
    ASSERT_EQ(status.status, 200);
    ASSERT_EQ(listed.status, 200);
    EXPECT_EQ(status.body["nodes"], listed.body["nodes"]);
    std::map<std::string, int> per_bucket;
    for (const auto& n : listed.body["nodes"]) {
        EXPECT_EQ(n["Status"], "Ready");
        EXPECT_EQ(n["TargetState"], "Started");
        EXPECT_TRUE(benchmark_address(n["PrivateIp"].get<std::string>())) << n["PrivateIp"];
        EXPECT_EQ(n["Hostname"], n["Name"]);
        EXPECT_FALSE(n["InstanceId"].get<std::string>().empty());
        EXPECT_EQ(n["NodeId"].get<std::string>().size(), 36u);
        per_bucket[n["Template"].get<std::string>() + "/" + n["MachineType"].get<std::string>()] +=
            1;
    }
    for (const auto& array : status.body["nodearrays"]) {
        for (const auto& b : array["buckets"]) {
            const std::string key = array["name"].get<std::string>() + "/" +
                                    b["definition"]["machineType"].get<std::string>();
            EXPECT_EQ(b["activeCount"], per_bucket[key]) << key;
            EXPECT_EQ(b["activeNodes"].size(), static_cast<std::size_t>(per_bucket[key])) << key;
            EXPECT_EQ(b["activeCoreCount"],
                      per_bucket[key] * b["virtualMachine"]["vcpuCount"].get<int>());
        }
    }
    const Json& hpc = status.body["nodearrays"][0]["buckets"][0];
    EXPECT_EQ(hpc["placementGroups"],
              (Json::array({{{"name", "pg0"}, {"activeCount", 2}, {"activeCoreCount", 4}}})));
    const Json& dynamic = status.body["nodearrays"][3]["buckets"];
    EXPECT_EQ(dynamic[1]["activeNodes"], (Json::array({"dynamic-1", "dynamic-2"})));
    EXPECT_EQ(f.get(std::string(k_base) + "/status?nodes=false").body.contains("nodes"), false);
}

TEST(EmulatorApi, NodeManagementEndpointsAnswerPerNode) {
    ApiFixture f({"ShutdownPolicy=Deallocate"});
    f.post(std::string(k_base) + "/nodes/create", create_body("htc", 4));
    f.boot();
    const std::string id = f.get(std::string(k_base) + "/nodes").body["nodes"][1]["NodeId"];

    auto shutdown = f.post(std::string(k_base) + "/nodes/shutdown",
                           {{"names", {"htc-1"}}, {"ids", {id}}, {"requestId", "s1"}});
    ASSERT_EQ(shutdown.status, 202) << shutdown.text;
    EXPECT_EQ(shutdown.body["nodes"].size(), 2u);
    EXPECT_EQ(shutdown.body["nodes"][0]["name"], "htc-1");
    EXPECT_EQ(shutdown.body["nodes"][0]["status"], "OK");
    EXPECT_EQ(shutdown.body["nodes"][1]["id"], id);
    const std::string op = shutdown.body["operationId"];
    EXPECT_EQ(f.get("/operations/" + op).body["action"], "shutdown");
    f.advance(1s);
    auto listed = f.get(std::string(k_base) + "/nodes?operation=" + op).body["nodes"];
    EXPECT_EQ(listed[0]["Status"], "Deallocated");  // the ShutdownPolicy of the template
    EXPECT_EQ(listed[0]["TargetState"], "Deallocated");

    auto start = f.post(std::string(k_base) + "/nodes/start", {{"names", {"htc-1", "ghost"}}});
    ASSERT_EQ(start.status, 202);
    EXPECT_EQ(start.body["nodes"][0]["status"], "OK");
    EXPECT_EQ(start.body["nodes"][1], (Json{{"id", ""},
                                            {"name", "ghost"},
                                            {"status", "Error"},
                                            {"error", "node ghost not found"}}));

    auto terminate =
        f.post(std::string(k_base) + "/nodes/terminate", {{"filter", "Name === \"htc-3\""}});
    ASSERT_EQ(terminate.status, 202);
    EXPECT_EQ(terminate.body["nodes"][0]["name"], "htc-3");
    auto deallocate = f.post(std::string(k_base) + "/nodes/deallocate", {{"hostnames", {"htc-4"}}});
    ASSERT_EQ(deallocate.status, 202);
    auto refused = f.post(std::string(k_base) + "/nodes/deallocate", {{"names", {"htc-3"}}});
    EXPECT_EQ(refused.body["nodes"][0]["status"], "Error");
    EXPECT_EQ(refused.body["nodes"][0]["error"], "node htc-3 is terminating");
    f.advance(1s);
    auto names = [&] {
        std::map<std::string, std::string> out;
        const auto listed_now = f.get(std::string(k_base) + "/nodes");
        for (const auto& n : listed_now.body["nodes"]) {
            out[n["Name"].get<std::string>()] = n["Status"].get<std::string>();
        }
        return out;
    };
    EXPECT_EQ(names(),
              (std::map<std::string, std::string>{
                  {"htc-1", "Preparing"}, {"htc-2", "Deallocated"}, {"htc-4", "Deallocated"}}));
    auto remove = f.post(std::string(k_base) + "/nodes/remove",
                         {{"ip_addresses", Json::array()}, {"names", {"htc-2"}}});
    ASSERT_EQ(remove.status, 202);
    EXPECT_EQ(names().count("htc-2"), 0u);
}

TEST(EmulatorApi, ScaleRetryUsageAndAnyContentType) {
    ApiFixture f;
    auto scale = f.post_text(std::string(k_base) + "/scale/htc?totalNodeCount=3", "");
    ASSERT_EQ(scale.status, 202) << scale.text;
    EXPECT_EQ(scale.body["sets"][0]["added"], 3);
    EXPECT_EQ(f.get("/operations/" + scale.body["operationId"].get<std::string>()).body["action"],
              "scale");
    // Invalid input to scale is 409, as the reference documents.
    EXPECT_EQ(f.post_text(std::string(k_base) + "/scale/htc", "").status, 409);
    EXPECT_EQ(f.post_text(std::string(k_base) + "/scale/htc?totalNodeCount=1&totalCoreCount=2", "")
                  .status,
              409);
    EXPECT_EQ(f.post_text(std::string(k_base) + "/scale/htc?totalNodeCount=x", "").status, 409);
    // An unknown node array is invalid input too: the reference gives scale only 202 and 409.
    EXPECT_EQ(f.post_text(std::string(k_base) + "/scale/nope?totalNodeCount=1", "").status, 409);

    // Bodies are JSON whatever the Content-Type says (CycleCloud's own examples send text/plain).
    auto created =
        f.post_text(std::string(k_base) + "/nodes/create", create_body("hpc", 1, "plain-1").dump());
    EXPECT_EQ(created.status, 202) << created.text;

    f.backend.fail_next("create_vm", "plain-1");
    f.advance(1s);
    auto retried = f.post_text("/cloud/actions/retry/burst1", "");
    ASSERT_EQ(retried.status, 200) << retried.text;
    ASSERT_EQ(retried.body["nodes"].size(), 1u);
    EXPECT_EQ(retried.body["nodes"][0]["name"], "plain-1");
    EXPECT_EQ(f.post_text("/cloud/actions/retry/other", "").status, 404);

    f.boot();
    f.advance(1h);
    auto usage = f.get(std::string(k_base) + "/usage?granularity=total");
    ASSERT_EQ(usage.status, 200) << usage.text;
    ASSERT_EQ(usage.body["usage"].size(), 1u);
    const Json& period = usage.body["usage"][0];
    EXPECT_EQ(keys(period), (std::set<std::string>{"start", "end", "total", "breakdown"}));
    // Core-hours (API ClusterUsageItem.hours): 3 htc + 1 hpc, 2 cores each, for over an hour.
    EXPECT_GT(period["total"]["hours"].get<double>(), 8.0);
    EXPECT_EQ(period["total"]["category"], "cluster");
    EXPECT_EQ(period["breakdown"][0]["category"], "nodearray");
    EXPECT_EQ(period["breakdown"][0]["node"], "hpc");
    EXPECT_EQ(period["breakdown"][0]["details"][0]["vm_size"], "Standard_F2s_v2");
    EXPECT_EQ(period["breakdown"][0]["details"][0]["priority"], "Regular");
    EXPECT_EQ(period["breakdown"][0]["details"][0]["os"], "Linux");
    auto hourly = f.get(std::string(k_base) +
                        "/usage?timeframe=custom&from=2026-01-01&to=2026-01-01T03:00:00Z&"
                        "granularity=hourly");
    ASSERT_EQ(hourly.status, 200) << hourly.text;
    EXPECT_EQ(hourly.body["usage"].size(), 3u);
    EXPECT_EQ(hourly.body["usage"][1]["start"], "2026-01-01T01:00:00.000+00:00");
    EXPECT_EQ(f.get(std::string(k_base) + "/usage?timeframe=yesterday").status, 400);
    EXPECT_EQ(f.get(std::string(k_base) + "/usage?timeframe=custom&from=2026-02-01").status, 400);
}

TEST(EmulatorApi, ErrorsUseTheDocumentedStatusCodes) {
    ApiFixture f;
    struct Case {
        std::string method;
        std::string path;
        std::string body;
        int status;
        std::string message;
    };
    const std::string create = std::string(k_base) + "/nodes/create";
    const std::vector<Case> cases{
        // create, scale and the node calls answer 202 or 409 "Invalid input" (API reference)
        {"POST", create, "{not json", 409, "the request body is not JSON"},
        {"POST", create, "[1]", 409, "the request body must be a JSON object"},
        {"POST", create, "{}", 409, "the body needs a \"sets\" array"},
        {"POST", create, R"({"sets": [{"nodearray": "hpc", "count": "2"}]})", 409,
         "sets[0].count must be a whole number"},
        {"POST", create, R"({"sets": [{"count": 2}]})", 409, "sets[0].nodearray is required"},
        {"POST", create, R"({"sets": [{"nodearray": "hpc", "count": 1, "nodeAttributes": 3}]})",
         409, "sets[0].nodeAttributes must be an object"},
        {"POST", create, R"({"sets": [{"nodearray": "hpx", "count": 1}]})", 409,
         "sets[0]: cluster burst1 has no nodearray 'hpx' (it has hpc, htc, gpu, dynamic)"},
        {"POST", create, R"({"sets": []})", 409, "sets: give at least one set"},
        {"POST", std::string(k_base) + "/nodes/start", "{}", 409,
         "give the nodes as names, ids, hostnames, ip_addresses or filter"},
        {"POST", std::string(k_base) + "/nodes/start", R"({"names": "hpc-1"})", 409,
         "names must be an array of strings"},
        {"POST", std::string(k_base) + "/nodes/terminate", "{not json", 409,
         "the request body is not JSON"},
        {"POST", std::string(k_base) + "/nodes/terminate", R"({"filter": "Name ~ x"})", 409,
         "filter 'Name ~ x': the emulator understands Attr === \"value\" and Attr !== \"value\" "
         "joined by &&"},
        {"GET", "/clusters/other/status", "", 404, "cluster other not found"},
        {"GET", "/clusters/burst1/nodes?operation=nope", "", 404, "operation nope not found"},
        {"GET", "/clusters/burst1/nodes?request_id=nope", "", 404,
         "no operation has requestId nope"},
        {"GET", "/operations/nope", "", 404, "operation nope not found"},
        {"GET", "/clusters/burst1/bogus", "", 404, "no such endpoint: GET /clusters/burst1/bogus"},
        {"GET", create, "", 405, "GET is not allowed on /clusters/burst1/nodes/create"},
    };
    for (const auto& c : cases) {
        const auto r = c.method == "GET" ? f.get(c.path) : f.post_text(c.path, c.body);
        EXPECT_EQ(r.status, c.status) << c.method << " " << c.path << " " << c.body;
        EXPECT_EQ(r.body["message"], c.message) << c.method << " " << c.path << " " << c.body;
        EXPECT_EQ(r.body["code"], c.status);
    }
    EXPECT_TRUE(f.get(std::string(k_base) + "/nodes").body["nodes"].empty());
}

TEST(EmulatorApi, EveryRequestNeedsBasicCredentials) {
    ApiFixture f;
    for (const auto& [user, password] : std::vector<std::pair<std::string, std::string>>{
             {"", ""}, {"user", "wrong"}, {"other", "secret"}, {"user", "secret2"}}) {
        httplib::Client client(f.url());
        if (!user.empty()) {
            client.set_basic_auth(user.c_str(), password.c_str());
        }
        for (const char* path : {"/clusters/burst1/status", "/_emulator/status", "/nowhere"}) {
            const auto r = ApiFixture::reply_of(client.Get(path));
            EXPECT_EQ(r.status, 401) << user << ":" << password << " " << path;
            EXPECT_EQ(r.body["message"], "authentication required (HTTP Basic)");
            const auto challenge = r.headers.find("WWW-Authenticate");
            ASSERT_NE(challenge, r.headers.end());
            EXPECT_EQ(challenge->second, "Basic realm=\"cyclecloud-emulator\"");
        }
        const auto post = ApiFixture::reply_of(client.Post(
            "/clusters/burst1/nodes/create", create_body("hpc", 1).dump(), "application/json"));
        EXPECT_EQ(post.status, 401);
    }
    EXPECT_TRUE(f.get(std::string(k_base) + "/nodes").body["nodes"].empty());
}

TEST(EmulatorApi, DuplicateNamesAddNothingWithAMessage) {
    ApiFixture f;
    f.post(std::string(k_base) + "/nodes/create", create_body("hpc", 1, "burst1-hpc-1"));
    const auto again =
        f.post(std::string(k_base) + "/nodes/create", create_body("hpc", 1, "burst1-hpc-1"));
    ASSERT_EQ(again.status, 202);
    EXPECT_EQ(again.body["sets"][0],
              (Json{{"added", 0}, {"message", "node burst1-hpc-1 already exists"}}));
}

// GET /operations/?request_id= answers a list of 0 or 1 operations (API reference).
TEST(EmulatorApi, OperationsCanBeListedByRequestId) {
    ApiFixture f;
    Json body = create_body("hpc", 1);
    body["requestId"] = "r-1";
    const auto created = f.post(std::string(k_base) + "/nodes/create", body);
    ASSERT_EQ(created.status, 202);
    f.post(std::string(k_base) + "/nodes/create", create_body("htc", 1));
    const auto one = f.get("/operations/?request_id=r-1");
    ASSERT_EQ(one.status, 200) << one.text;
    ASSERT_TRUE(one.body.is_array());
    ASSERT_EQ(one.body.size(), 1u);
    EXPECT_EQ(one.body[0]["id"], created.body["operationId"]);
    EXPECT_EQ(one.body[0]["action"], "create");
    EXPECT_EQ(one.body[0]["requestId"], "r-1");
    EXPECT_TRUE(iso_time(one.body[0]["startTime"].get<std::string>()));
    const auto none = f.get("/operations/?request_id=r-2");
    ASSERT_EQ(none.status, 200);
    EXPECT_EQ(none.body, Json::array());
    const auto all = f.get("/operations/");
    ASSERT_EQ(all.status, 200);
    EXPECT_EQ(all.body.size(), 2u);
    EXPECT_EQ(f.get("/operations").status, 200);
}

// Node records carry State; the filter takes the reference's example State === "Started".
TEST(EmulatorApi, NodesCarryStateAndTheFilterTakesIt) {
    ApiFixture f;
    f.post(std::string(k_base) + "/nodes/create", create_body("hpc", 2));
    f.boot();
    const auto nodes = f.get(std::string(k_base) + "/nodes");
    ASSERT_EQ(nodes.body["nodes"].size(), 2u);
    EXPECT_EQ(nodes.body["nodes"][0]["State"], "Started");
    const auto r = f.post(std::string(k_base) + "/nodes/deallocate",
                          Json{{"filter", R"(State === "Started" && Name === "hpc-2")"}});
    ASSERT_EQ(r.status, 202) << r.text;
    ASSERT_EQ(r.body["nodes"].size(), 1u);
    EXPECT_EQ(r.body["nodes"][0]["name"], "hpc-2");
    const auto after = f.get(std::string(k_base) + "/nodes");
    EXPECT_EQ(after.body["nodes"][1]["State"], "Deallocated");
}

// A user who authenticates but has no rights on the cluster gets 403 on the API; 401 stays for
// bad credentials.
TEST(EmulatorApi, AUserWithoutRightsOnTheClusterGets403) {
    auto creds = Credentials::parse("user:secret\nviewer:look\n", "creds");
    ASSERT_TRUE(creds) << creds.error().describe();
    ApiOptions api;
    api.users_without_rights = {"viewer"};
    ApiFixture f({}, {}, api, *creds);
    httplib::Client viewer(f.url());
    viewer.set_basic_auth("viewer", "look");
    for (const char* path : {"/clusters/burst1/status", "/clusters/burst1/nodes", "/operations/"}) {
        const auto r = ApiFixture::reply_of(viewer.Get(path));
        EXPECT_EQ(r.status, 403) << path;
        EXPECT_EQ(r.body["message"], "user viewer has no rights on cluster burst1");
    }
    const auto post = ApiFixture::reply_of(viewer.Post(
        "/clusters/burst1/nodes/create", create_body("hpc", 1).dump(), "application/json"));
    EXPECT_EQ(post.status, 403);
    EXPECT_TRUE(f.get(std::string(k_base) + "/nodes").body["nodes"].empty());
    EXPECT_EQ(f.get(std::string(k_base) + "/status").status, 200);
    viewer.set_basic_auth("viewer", "wrong");
    EXPECT_EQ(ApiFixture::reply_of(viewer.Get("/clusters/burst1/status")).status, 401);
}

// A cluster imported stopped (as the seed's template is): status says so, creates are 409.
TEST(EmulatorApi, AClusterThatIsNotStartedSaysSoAndRefusesCreates) {
    ApiOptions api;
    api.faults.cluster_state = "Off";
    ApiFixture f({}, {}, api);
    const auto status = f.get(std::string(k_base) + "/status");
    EXPECT_EQ(status.body["state"], "Off");
    EXPECT_EQ(status.body["targetState"], "Off");
    const auto refused = f.post(std::string(k_base) + "/nodes/create", create_body("hpc", 1));
    EXPECT_EQ(refused.status, 409);
    EXPECT_EQ(refused.body["message"],
              "cluster burst1 is Off: start the cluster before creating nodes");
    ASSERT_EQ(f.post("/_emulator/faults", Json::array({"cluster-state=Started"})).status, 200);
    EXPECT_EQ(f.post(std::string(k_base) + "/nodes/create", create_body("hpc", 1)).status, 202);
    EXPECT_EQ(f.get(std::string(k_base) + "/status").body["state"], "Started");
}

// restart and reimage (API #clusters_restartnodes, #clusters_reimagenodes): 202 with a
// NodeManagementResult; OK for a node with a VM, Error for one without; nothing else changes.
TEST(EmulatorApi, RestartAndReimageAnswerPerNode) {
    ApiFixture f;
    ASSERT_EQ(f.post(std::string(k_base) + "/nodes/create", create_body("hpc", 2)).status, 202);
    f.boot();
    ASSERT_EQ(f.post(std::string(k_base) + "/nodes/create", create_body("htc", 1)).status, 202);
    for (const char* action : {"restart", "reimage"}) {
        const auto r =
            f.post(std::string(k_base) + "/nodes/" + action, Json{{"names", {"hpc-1", "htc-1"}}});
        ASSERT_EQ(r.status, 202) << action << ": " << r.text;
        ASSERT_EQ(r.body["nodes"].size(), 2u) << r.text;
        EXPECT_EQ(r.body["nodes"][0]["name"], "hpc-1");
        EXPECT_EQ(r.body["nodes"][0]["status"], "OK");
        EXPECT_EQ(r.body["nodes"][1]["name"], "htc-1");
        EXPECT_EQ(r.body["nodes"][1]["status"], "Error");
        EXPECT_EQ(r.body["nodes"][1]["error"], std::string("node htc-1 has no VM to ") + action);
        EXPECT_EQ(f.get("/operations/" + r.body["operationId"].get<std::string>()).body["action"],
                  action);
        EXPECT_EQ(f.post_text(std::string(k_base) + "/nodes/" + action, "names").status, 409);
    }
    const auto nodes = f.get(std::string(k_base) + "/nodes");
    EXPECT_EQ(nodes.body["nodes"][0]["Status"], "Ready");
}

// Guest Health Reports (API #clusters_getghr, #clusters_ghrnode): GET 200, POST 202 once per
// node and 409 after, 404 for an unknown node.
TEST(EmulatorApi, GuestHealthReportsOncePerNode) {
    ApiFixture f;
    ASSERT_EQ(f.post(std::string(k_base) + "/nodes/create", create_body("hpc", 1)).status, 202);
    EXPECT_EQ(f.get(std::string(k_base) + "/nodes/hpc-1/ghr").status, 200);
    EXPECT_EQ(f.get(std::string(k_base) + "/nodes/hpc-9/ghr").status, 404);
    EXPECT_EQ(f.post_text(std::string(k_base) + "/nodes/hpc-1/ghr?category=x", "").status, 202);
    const auto again = f.post_text(std::string(k_base) + "/nodes/hpc-1/ghr", "");
    EXPECT_EQ(again.status, 409);
    EXPECT_EQ(again.body["message"], "a Guest Health Report was already submitted for node hpc-1");
    EXPECT_EQ(f.post_text(std::string(k_base) + "/nodes/hpc-9/ghr", "").status, 404);
}

// The emulator's own counter of create requests per node array, for tests that count how often
// a client asks an array for VMs; a request with two sets of one array counts once.
TEST(EmulatorApi, StatusCountsCreateRequestsPerNodearray) {
    ApiFixture f;
    Json body = create_body("hpc", 2);
    body["sets"].push_back({{"nodearray", "hpc"}, {"count", 1}});
    body["sets"].push_back({{"nodearray", "htc"}, {"count", 1}});
    ASSERT_EQ(f.post(std::string(k_base) + "/nodes/create", body).status, 202);
    ASSERT_EQ(f.post_text(std::string(k_base) + "/scale/htc?totalNodeCount=3", "").status, 202);
    const auto s = f.get("/_emulator/status");
    ASSERT_EQ(s.status, 200);
    EXPECT_EQ(s.body["createsByNodearray"], (Json{{"hpc", {{"requests", 1}, {"nodes", 3}}},
                                                  {"htc", {{"requests", 2}, {"nodes", 3}}}}));
}

TEST(EmulatorCredentials, FileParsingAndBase64) {
    auto c = Credentials::parse("# users\nalice:pw:with:colons\n\nbob:x\n", "creds");
    ASSERT_TRUE(c) << c.error().describe();
    EXPECT_TRUE(c->check("Basic " + base64_encode("alice:pw:with:colons")));
    EXPECT_TRUE(c->check("Basic " + base64_encode("bob:x")));
    EXPECT_FALSE(c->check("Basic " + base64_encode("bob:y")));
    EXPECT_FALSE(c->check("Bearer " + base64_encode("bob:x")));
    EXPECT_FALSE(c->check("Basic !!!!"));
    auto bad = Credentials::parse("alice\n", "creds");
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().message, "creds:1: expected user:password");
    auto empty = Credentials::parse("# nobody\n", "creds");
    ASSERT_FALSE(empty);
    EXPECT_EQ(empty.error().message, "creds: no user:password line");
    for (const std::string s : {"", "a", "ab", "abc", "abcd", "hello world"}) {
        std::string back;
        ASSERT_TRUE(base64_decode(base64_encode(s), back)) << s;
        EXPECT_EQ(back, s);
    }
    EXPECT_EQ(base64_encode("user:secret"), "dXNlcjpzZWNyZXQ=");
}

TEST(EmulatorListen, OnlyLoopbackAddresses) {
    for (const auto& [text, host, port] :
         {std::tuple{"127.0.0.1:0", "127.0.0.1", 0},
          std::tuple{"127.1.2.3:8443", "127.1.2.3", 8443}, std::tuple{"[::1]:9000", "::1", 9000},
          std::tuple{"localhost:1", "localhost", 1}}) {
        auto a = parse_listen_address(text);
        ASSERT_TRUE(a) << text << ": " << a.error().describe();
        EXPECT_EQ(a->host, host);
        EXPECT_EQ(a->port, port);
    }
    const std::vector<std::pair<std::string, std::string>> refused{
        {"0.0.0.0:8443",
         "--listen 0.0.0.0:8443: the emulator listens on loopback addresses only "
         "(127.0.0.0/8, ::1, localhost)"},
        {"10.1.2.3:80",
         "--listen 10.1.2.3:80: the emulator listens on loopback addresses only "
         "(127.0.0.0/8, ::1, localhost)"},
        {"[::]:80",
         "--listen [::]:80: the emulator listens on loopback addresses only "
         "(127.0.0.0/8, ::1, localhost)"},
        {"127.0.0.1",
         "--listen 127.0.0.1: expected ADDRESS:PORT, e.g. 127.0.0.1:8443 (port 0 "
         "picks a free one)"},
        {"127.0.0.1:99999", "--listen 127.0.0.1:99999: the port must be a number from 0 to 65535"},
    };
    for (const auto& [text, message] : refused) {
        auto a = parse_listen_address(text);
        ASSERT_FALSE(a) << text;
        EXPECT_EQ(a.error().kind, ErrorKind::k_usage);
        EXPECT_EQ(a.error().message, message);
    }
}

}  // namespace
}  // namespace cb::emulator
