// Size and speed: node records padded to the size of real ones (record-bytes), a latency that
// grows with the answer (latency-per-mb, measured by the emulator's own accounting), and the
// product's node-list reader taking the padded records.
#include <gtest/gtest.h>

#include <string>

#include "adapters/cyclecloud_node_list.h"
#include "emulator/faults.h"
#include "emulator/record_padding.h"
#include "unit/emulator_api_fixture.h"

namespace cb::emulator {
namespace {

using namespace std::chrono_literals;
using testing::ApiFixture;
using testing::Json;

const std::string k_create = "/clusters/burst1/nodes/create";

ApiOptions with_faults(const std::vector<std::string>& specs) {
    ApiOptions o;
    for (const auto& spec : specs) {
        auto r = apply_fault_spec(spec, o.faults);
        EXPECT_TRUE(r) << r.error().describe();
    }
    return o;
}

// Creates `count` htc nodes and lets them become Ready.
void make_ready_nodes(ApiFixture& f, int count) {
    const auto r = f.post(k_create, Json{{"sets", {{{"nodearray", "htc"}, {"count", count}}}}});
    ASSERT_EQ(r.status, 202) << r.text;
    ASSERT_EQ(r.body["sets"][0]["added"], count) << r.text;
    f.boot();
}

bool never(std::string_view) {
    return false;
}

TEST(EmulatorRecordPadding, PadsARecordToAboutTheTargetWithRealAttributes) {
    const std::vector<KeyValue> array{{"Credentials", std::string("azure")},
                                      {"SubnetId", std::string("rg/vnet/compute")},
                                      {"Name", std::string("htc")},
                                      {"Azure.MaxScalesetSize", std::int64_t{100}}};
    const RecordPadding padding(array, [](std::string_view k) { return k == "Name"; });
    const std::string base = R"({"Name":"htc-1","Status":"Ready")";
    for (const std::size_t target : {std::size_t{200}, std::size_t{1000}, std::size_t{4096},
                                     std::size_t{16384}, std::size_t{100000}}) {
        std::string out = "[" + base;
        padding.append(out, 1, target, never);
        out += "}]";
        const std::size_t size = out.size() - 2;
        EXPECT_LE(size, target) << target;
        EXPECT_GE(size + k_record_bytes_slack, target) << target;
        const Json list = Json::parse(out, nullptr, false);
        ASSERT_TRUE(list.is_array()) << out;
        const Json& record = list[0];
        EXPECT_EQ(record["Name"], "htc-1");  // not repeated from the array
        if (target >= 1000) {
            EXPECT_EQ(record["Credentials"], "azure");
            EXPECT_EQ(record["SubnetId"], "rg/vnet/compute");
            EXPECT_EQ(record["Azure.MaxScalesetSize"], 100);
            EXPECT_EQ(record["ShutdownPolicy"], "Terminate");
            EXPECT_EQ(record["ThrottleCapacityTime"], "5m");
            EXPECT_EQ(record["MaxPrice"], -1);
            EXPECT_TRUE(record["Tags"].is_object());
        }
    }
    // Nothing for 0 or a record already that long; a key the record has is not repeated.
    for (const std::size_t target : {std::size_t{0}, base.size() + 1}) {
        std::string out = base;
        padding.append(out, 0, target, never);
        EXPECT_EQ(out, base);
    }
    std::string out = base;
    padding.append(out, 0, 4096, [](std::string_view k) { return k == "Credentials"; });
    EXPECT_EQ(out.find("Credentials"), std::string::npos);
    EXPECT_GE(out.size() + 1 + k_record_bytes_slack, 4096u);
}

TEST(EmulatorRecordPadding, SizeLatencyIsProRataPerMiB) {
    EXPECT_EQ(size_latency(100ms, 512 * 1024), 50ms);
    EXPECT_EQ(size_latency(20ms, 10 * 1024 * 1024), 200ms);
    EXPECT_EQ(size_latency(0ms, 10 * 1024 * 1024), 0ms);
    EXPECT_EQ(size_latency(100ms, 0), 0ms);
}

TEST(EmulatorRecordPadding, SpecsAndTheirErrors) {
    FaultSettings s;
    ASSERT_TRUE(apply_fault_spec("record-bytes=4096", s));
    ASSERT_TRUE(apply_fault_spec("latency-per-mb=20ms", s));
    EXPECT_EQ(s.record_bytes, 4096u);
    EXPECT_EQ(s.latency_per_mb, 20ms);
    const auto big = apply_fault_spec("record-bytes=2000000", s);
    ASSERT_FALSE(big);
    EXPECT_EQ(big.error().message, "record-bytes=2000000: at most 1048576 bytes");
    const auto words = apply_fault_spec("record-bytes=4k", s);
    ASSERT_FALSE(words);
    EXPECT_EQ(words.error().message, "record-bytes=4k: expected a whole number, 0 or more");
    // clear=all removes the faults; how large records are is not one.
    ASSERT_TRUE(apply_fault_spec("clear=all", s));
    EXPECT_EQ(s.latency_per_mb, 0ms);
    EXPECT_EQ(s.record_bytes, 4096u);
}

TEST(EmulatorRecordSize, NodeListsAndStatusCarryRecordsOfTheGivenSize) {
    ApiFixture f({}, {}, with_faults({"record-bytes=4096"}));
    make_ready_nodes(f, 20);
    for (const std::string path :
         {"/clusters/burst1/nodes", "/clusters/burst1/status?nodes=true"}) {
        const auto r = f.get(path);
        ASSERT_EQ(r.status, 200) << r.text;
        ASSERT_EQ(r.body["nodes"].size(), 20u) << path;
        for (const auto& node : r.body["nodes"]) {
            const std::size_t size = node.dump().size();
            EXPECT_LE(size, 4096u) << path;
            EXPECT_GE(size + k_record_bytes_slack, 4096u) << path;
            EXPECT_EQ(node["Status"], "Ready");
            EXPECT_EQ(node["Credentials"], "azure") << node.dump();
            EXPECT_EQ(node["ShutdownPolicy"], "Terminate");
        }
    }
    // The product's node-list reader takes the padded list on its fast path, with the same
    // nodes as the emulator's own records give.
    const std::string padded = f.get("/clusters/burst1/nodes").text;
    ASSERT_EQ(f.post("/_emulator/faults", Json::array({"record-bytes=0"})).status, 200);
    const std::string plain = f.get("/clusters/burst1/nodes").text;
    EXPECT_LT(plain.size() * 2, padded.size());
    auto fast = parse_node_list_fast(padded);
    ASSERT_TRUE(fast) << "the padded list went to the general reader";
    ASSERT_TRUE(*fast) << fast->error().describe();
    auto reference = parse_node_list_fast(plain);
    ASSERT_TRUE(reference && *reference);
    ASSERT_EQ((*fast)->size(), 20u);
    for (std::size_t i = 0; i < (*fast)->size(); ++i) {
        const CloudNode& a = (**fast)[i];
        const CloudNode& b = (**reference)[i];
        EXPECT_EQ(a.name, b.name);
        EXPECT_EQ(a.node_id, b.node_id);
        EXPECT_EQ(a.status_text, b.status_text);
        EXPECT_EQ(a.private_ip, b.private_ip);
        EXPECT_EQ(a.keep_alive, b.keep_alive);
    }
}

TEST(EmulatorRecordSize, LatencyGrowsWithTheAnswer) {
    ApiFixture f({}, {}, with_faults({"record-bytes=8192", "latency-per-mb=100ms"}));
    make_ready_nodes(f, 40);
    ASSERT_EQ(f.get("/clusters/burst1/status").status, 200);
    ASSERT_EQ(f.get("/clusters/burst1/nodes").status, 200);
    const auto status = f.get("/_emulator/status");
    const Json& small = status.body["answers"]["GET /clusters/{cluster}/status"];
    const Json& large = status.body["answers"]["GET /clusters/{cluster}/nodes"];
    ASSERT_EQ(small["count"], 1) << status.text;
    ASSERT_EQ(large["count"], 1) << status.text;
    EXPECT_GT(large["bytes"].get<double>(), 40 * 8192 - 40 * k_record_bytes_slack);
    // 100 ms per MiB of each answer, to the microsecond.
    for (const Json* answer : {&small, &large}) {
        const double expected = (*answer)["bytes"].get<double>() / (1024 * 1024) * 100;
        EXPECT_NEAR((*answer)["sizeLatencyMs"].get<double>(), expected, 0.001) << status.text;
    }
    EXPECT_GT(large["sizeLatencyMs"].get<double>(), 30);
    EXPECT_LT(small["sizeLatencyMs"].get<double>(), 2);
    // Control endpoints are not API answers.
    EXPECT_FALSE(status.body["answers"].contains("GET /_emulator/status"));
    EXPECT_EQ(f.get("/_emulator/faults").body["latency-per-mb"], "100ms");
    EXPECT_EQ(f.get("/_emulator/faults").body["record-bytes"], 8192);
}

}  // namespace
}  // namespace cb::emulator
