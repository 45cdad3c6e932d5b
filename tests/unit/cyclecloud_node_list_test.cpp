#include "adapters/cyclecloud_node_list.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "adapters/cyclecloud_rest.h"

namespace cb {
namespace {

void expect_same_nodes(const std::vector<CloudNode>& got, const std::vector<CloudNode>& want) {
    ASSERT_EQ(got.size(), want.size());
    for (std::size_t i = 0; i < want.size(); ++i) {
        const CloudNode& a = want[i];
        const CloudNode& b = got[i];
        EXPECT_EQ(b.name, a.name);
        EXPECT_EQ(b.node_id, a.node_id);
        EXPECT_EQ(b.nodearray, a.nodearray);
        EXPECT_EQ(b.machine_type, a.machine_type);
        EXPECT_EQ(b.status, a.status);
        EXPECT_EQ(b.status_text, a.status_text);
        EXPECT_EQ(b.target_state, a.target_state);
        EXPECT_EQ(b.private_ip, a.private_ip);
        EXPECT_EQ(b.hostname, a.hostname);
        EXPECT_EQ(b.instance_id, a.instance_id);
        EXPECT_EQ(b.status_message, a.status_message);
        EXPECT_EQ(b.keep_alive, a.keep_alive);
    }
}

void expect_same_result(const Result<std::vector<CloudNode>>& got,
                        const Result<std::vector<CloudNode>>& want) {
    ASSERT_EQ(static_cast<bool>(got), static_cast<bool>(want));
    if (!want) {
        EXPECT_EQ(got.error().kind, want.error().kind);
        EXPECT_EQ(got.error().message, want.error().message);
        return;
    }
    expect_same_nodes(*got, *want);
}

enum class Path { k_any, k_fast, k_general };

// `body` fed to a NodeListStream in parts of `part` bytes.
std::optional<Result<std::vector<CloudNode>>> stream(std::string_view body, std::size_t part) {
    NodeListStream s;
    for (std::size_t at = 0; at < body.size(); at += part) {
        s.feed(body.substr(at, part));
    }
    return s.finish();
}

// Each reader must give what the tree parser gives, records and errors alike: the general
// reader on every document, the fast path on those it takes. `path` says which one
// parse_node_list_streaming must use.
void expect_same(const std::string& body, Path path = Path::k_any) {
    SCOPED_TRACE(body);
    const auto tree = parse_node_list(body);
    expect_same_result(parse_node_list_streaming(body), tree);
    expect_same_result(parse_node_list_general(body), tree);
    const auto fast = parse_node_list_fast(body);
    if (fast) {
        expect_same_result(*fast, tree);
    }
    // The stream answers as the fast path on the whole document, however it is cut.
    for (const std::size_t part :
         {std::size_t{1}, std::size_t{2}, std::size_t{7}, std::size_t{64}, body.size() + 1}) {
        const auto streamed = stream(body, part);
        ASSERT_EQ(streamed.has_value(), fast.has_value()) << "in parts of " << part;
        if (fast) {
            expect_same_result(*streamed, *fast);
        }
    }
    if (path == Path::k_fast) {
        EXPECT_TRUE(fast.has_value()) << "left to the general reader";
    } else if (path == Path::k_general) {
        EXPECT_FALSE(fast.has_value()) << "taken by the fast path";
    }
}

// A record as CycleCloud sends it (the emulator's shape).
std::string record(int i, const std::string& status = "Ready") {
    const std::string n = std::to_string(i);
    return R"({"Name":"hpc-)" + n + R"(","NodeId":"0c6f-)" + n +
           R"(","Template":"hpc","MachineType":"Standard_HB120rs_v3","Status":")" + status +
           R"(","TargetState":"Started","Region":"eastus","Interruptible":false,)" +
           R"("KeepAlive":false,"CoreCount":120,"Hostname":"hpc-)" + n +
           R"(","PrivateIp":"198.18.0.)" + n + R"(","InstanceId":"i-)" + n +
           R"(","Configuration":{"slurm":{"autoscale":true,"hpc":true,"version":"23.02.7-1",)" +
           R"("dynamic_config":"-Z --conf \"Feature=dyn\"","ratio":0.5,"ids":[1,-2,3e2]}}})";
}

std::string node_list(int count) {
    std::string body = R"({"nodes":[)";
    for (int i = 1; i <= count; ++i) {
        body += (i > 1 ? "," : "") + record(i);
    }
    return body + "]}";
}

TEST(CycleCloudNodeListTest, ReadsRecordsAsTheTreeParserDoes) {
    expect_same(R"({"nodes": [
        {"Name": "hpc-1", "NodeId": "n1", "Template": "hpc", "MachineType": "Standard_HB120rs_v3",
         "Status": "Ready", "TargetState": "Started", "PrivateIp": "198.18.0.5",
         "Hostname": "hpc-1", "InstanceId": "i-1", "KeepAlive": true, "CoreCount": 120,
         "Configuration": {"slurm": {"partition": "hpc", "hpc": true, "nodes": [1, 2]},
                           "Name": "not the node's name"}},
        {"Name": "gpu-2", "Status": "Failed", "StatusMessage": "AllocationFailed: no room",
         "KeepAlive": "True", "PrivateIp": null, "Extra": [{"Name": "x"}]},
        {"Name": "htc-3", "Status": "Acquiring", "KeepAlive": "false", "NodeId": 42},
        {"Name": "htc-4", "NodeId": -7, "InstanceId": 18446744073709551615,
         "StatusMessage": 2.50, "TargetState": 3e2, "Hostname": "h\u00e9-4\n", "KeepAlive": false}
    ], "operation": {"nodes": [{"Name": "ignored"}]}})");
    expect_same(R"({"operation": {}, "nodes": []})");
    expect_same(R"({"nodes": [{"Name": "a-1"}], "nodes": [{"Name": "b-1"}, {"Name": "b-2"}]})");
}

TEST(CycleCloudNodeListTest, RejectsWhatTheTreeParserRejects) {
    expect_same("");
    expect_same("not json");
    expect_same(R"([{"Name": "hpc-1"}])");
    expect_same(R"({"nodes": [{"Name": "hpc-1"})");
    expect_same(R"({"nodes": {"Name": "hpc-1"}})");
    expect_same(R"({"nodes": 3})");
    expect_same(R"({"other": [{"Name": "hpc-1"}]})");
    expect_same(R"({"nodes": [{"Name": "hpc-1"}, 7, {"Name": ""}]})");
    expect_same(R"({"nodes": [{"Name": "hpc-1"}, {"Status": "Ready"}]})");
    expect_same(R"({"nodes": [[{"Name": "hpc-1"}]]})");
    expect_same(R"({"nodes": [[{"Name": "hpc-1", "C": {"x": [1]}}], {"Name": "hpc-2"}]})");
    // Garbage after the list, or deep inside a value we do not keep.
    expect_same(R"({"nodes": [{"Name": "hpc-1"}]} x)");
    expect_same(R"({"nodes": [{"Name": "hpc-1"}]} {})");
    expect_same(R"({"nodes": [{"Name": "hpc-1", "Configuration": {"a": [1, tru]}}]})");
    expect_same(R"({"nodes": [{"Name": "hpc-1", "Configuration": {"a": 1.2.3}}]})");
    expect_same(R"({"nodes": [{"Name": "hpc-1", "Configuration": {"a": nul}}]})");
    expect_same(R"({"nodes": [{"Name": "hpc-1", "Configuration": {"a" 1}}]})");
    expect_same(R"({"nodes": [{"Name": "hpc-1", "KeepAlive": tru}]})");
    expect_same(R"({"nodes": [{"Name": "hpc-1"},]})");
    expect_same(R"({"other": {"a": [1, 2}, "nodes": []})");
}

TEST(CycleCloudNodeListTest, StreamReadsAListCutAtAnyByte) {
    const std::string body = node_list(3);
    NodeListStream s;
    s.feed(body.substr(0, body.size() - 2));
    s.feed(body.substr(body.size() - 2));
    const auto got = s.finish();
    ASSERT_TRUE(got.has_value());
    ASSERT_TRUE(*got);
    expect_same_nodes(**got, *parse_node_list(body));
}

TEST(CycleCloudNodeListTest, StreamLeavesLongTextBeforeTheListToTheGeneralReader) {
    // The fast path takes it whole; the stream, holding it all, gives up past the limit.
    const std::string body = R"({"other": ")" +
                             std::string(2 * NodeListStream::k_max_pending, 'x') +
                             R"(", "nodes": [{"Name": "hpc-1"}]})";
    ASSERT_TRUE(parse_node_list_fast(body).has_value());
    EXPECT_FALSE(stream(body, 1 << 16).has_value());
}

TEST(CycleCloudNodeListTest, StreamRestartsForANewDocument) {
    NodeListStream s;
    s.feed(R"({"nodes": [{"Name": "hpc-1"}, 7)");
    s.restart();
    s.feed(R"({"nodes": [{"Name": "hpc-2"}]})");
    const auto got = s.finish();
    ASSERT_TRUE(got.has_value());
    ASSERT_TRUE(*got);
    ASSERT_EQ((*got)->size(), 1U);
    EXPECT_EQ((*got)->front().name, "hpc-2");
}

TEST(CycleCloudNodeListTest, ErrorsAreMalformedResponses) {
    const auto r = parse_node_list_streaming(R"({"nodes": [{"Status": "Ready"}]})");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind, ErrorKind::k_transient);
    EXPECT_EQ(r.error().message, "malformed response from CycleCloud: a node record has no Name");
}

TEST(CycleCloudNodeListTest, TheShapeCycleCloudSendsTakesTheFastPath) {
    expect_same(node_list(3), Path::k_fast);
    expect_same(R"({"nodes":[]})", Path::k_fast);
    expect_same(" \n{ \"state\" : \"Started\" ,\"nodes\" : [ " + record(1) + " ,\n\t" +
                    record(2, "Failed") + " ] , \"x\": {\"nodes\": [1]} }\r\n",
                Path::k_fast);
    // Escapes in the fields we read and in the keys; a string that ends in a backslash.
    expect_same(R"({"nodes":[{"N\u0061me":"h\u00e9-1\n","Status":"Re\"ady\\","PrivateIp":null,)"
                R"("KeepAlive":"True","C":{"a\\":"\\\\","b":"\"}{]["}}]})",
                Path::k_fast);
    expect_same(R"({"nodes":[{"Name":"a-1","KeepAlive":true},{"Name":"a-2","KeepAlive":"true"},)"
                R"({"Name":"a-3","KeepAlive":"false"},{"Name":"a-4","KeepAlive":null}]})",
                Path::k_fast);
    // A record with no Name is reported after the whole document is checked.
    expect_same(R"({"nodes":[{"Name":"a-1"},{"Status":"Ready"},{"Status":"Failed"}]})",
                Path::k_fast);
}

TEST(CycleCloudNodeListTest, OtherShapesAreLeftToTheGeneralReader) {
    // Numbers, objects and lists where a field we read belongs.
    expect_same(R"({"nodes":[{"Name":"a-1","NodeId":42}]})", Path::k_general);
    expect_same(R"({"nodes":[{"Name":"a-1","NodeId":-0}]})", Path::k_general);
    expect_same(R"({"nodes":[{"Name":"a-1","StatusMessage":2.50}]})", Path::k_general);
    expect_same(R"({"nodes":[{"Name":"a-1","KeepAlive":1}]})", Path::k_general);
    // "nodes" twice, or spelled with an escape; not a list; an element not an object.
    expect_same(R"({"nodes":[{"Name":"a-1"}],"nodes":[{"Name":"b-1"}]})", Path::k_general);
    expect_same(R"({"nodes":[{"Name":"a-1"}],"nod\u0065s":[{"Name":"b-1"}]})", Path::k_general);
    expect_same(R"({"nod\u0065s":[{"Name":"b-1"}]})", Path::k_general);
    expect_same(R"({"nodes":{"Name":"a-1"}})", Path::k_general);
    expect_same(R"({"nodes":[{"Name":"a-1"},7]})", Path::k_general);
    expect_same(R"({"other":[]})", Path::k_general);
    expect_same(R"({})", Path::k_general);
    expect_same("\xEF\xBB\xBF" + node_list(1), Path::k_general);  // a byte order mark
    // Numbers simdjson does not take: beyond 64 bits, beyond a double.
    expect_same(R"({"nodes":[{"Name":"a-1","C":[184467440737095516150]}]})", Path::k_general);
    expect_same(R"({"nodes":[{"Name":"a-1","C":[1e400]}]})", Path::k_general);
}

TEST(CycleCloudNodeListTest, InvalidJsonAnywhereIsLeftToTheGeneralReader) {
    const std::vector<std::string> bad_values = {
        "01",       "-",        "1.",      ".5",          "1e",        "+1",
        "0x10",     "tru",      "nulll",   "True",        "NaN",       "Infinity",
        "'a'",      "\"a\tb\"", "\"\\x\"", "\"\\ud800\"", "\"\\u12\"", "\"\xC3\"",
        "\"\xFF\"", "[1,]",     "[,1]",    "{\"a\"}",     "{\"a\":}",  "{\"a\" 1}",
        "{1:2}",    "[1 2]",    "/*c*/1",  "[}",          "{]",        "\"open",
    };
    for (const auto& v : bad_values) {
        // In a field we skip, in a field we read, at the top level, in the list.
        expect_same(R"({"nodes":[{"Name":"a-1","C":{"x":)" + v + "}}]}", Path::k_general);
        expect_same(R"({"nodes":[{"Name":"a-1","Status":)" + v + "}]}", Path::k_general);
        expect_same(R"({"state":)" + v + R"(,"nodes":[{"Name":"a-1"}]})", Path::k_general);
        expect_same(R"({"nodes":[{"Name":"a-1"},)" + v + "]}", Path::k_general);
    }
    expect_same(node_list(2) + " x", Path::k_general);
    expect_same(node_list(2) + "{}", Path::k_general);
    expect_same(R"({"nodes":[{"Name":"a-1"}{"Name":"a-2"}]})", Path::k_general);
    expect_same(R"({"nodes":[{"Name":"a-1"},,{"Name":"a-2"}]})", Path::k_general);
    expect_same(R"({"nodes":[{"Name":"a-1"}]})" + std::string(1, '\0'), Path::k_general);
    expect_same(std::string(R"({"nodes":[{"Name":"a)") + '\0' + R"(-1"}]})", Path::k_general);
    std::string deep(5000, '[');
    expect_same(R"({"nodes":[{"Name":"a-1","C":)" + deep + "]}]}", Path::k_general);
}

// Valid, but nested deeper than the fast path walks (it recurses): read by the general
// reader, whose stack is on the heap, without exhausting ours.
TEST(CycleCloudNodeListTest, DeepNestingIsLeftToTheGeneralReader) {
    const std::size_t levels = 300000;
    const std::string lists = std::string(levels, '[') + std::string(levels, ']');
    std::string objects;
    for (std::size_t i = 0; i < levels / 10; ++i) {
        objects += R"({"a":)";
    }
    objects += "1" + std::string(levels / 10, '}');
    expect_same(R"({"nodes":[{"Name":"a-1","C":)" + lists + "}]}", Path::k_general);
    expect_same(R"({"nodes":[{"Name":"a-1","C":)" + objects + "}]}", Path::k_general);
    expect_same(R"({"x":)" + lists + R"(,"nodes":[{"Name":"a-1"}]})", Path::k_general);
    // As deep as CycleCloud's own values, and some: still the fast path.
    expect_same(
        R"({"nodes":[{"Name":"a-1","C":)" + std::string(100, '[') + std::string(100, ']') + "}]}",
        Path::k_fast);
}

// Random damage to a realistic list: wherever a byte is changed, inserted or removed, each
// reader answers as the tree parser does (the fast path may leave it to the general one).
TEST(CycleCloudNodeListTest, DamagedListsReadAsTheTreeParserReadsThem) {
    const std::string base = node_list(3);
    const std::string alphabet = "{}[]\",:\\ 0123456789.-+eEtrufalsn\x7F\xC3\xA9";
    std::mt19937 rng(20261126);  // fixed: a failure can be replayed
    int fast = 0;
    for (int round = 0; round < 3000; ++round) {
        std::string body = base;
        const int edits = 1 + static_cast<int>(rng() % 3);
        for (int e = 0; e < edits; ++e) {
            const std::size_t at = rng() % body.size();
            const char c = alphabet[rng() % alphabet.size()];
            switch (rng() % 3) {
                case 0:
                    body[at] = c;
                    break;
                case 1:
                    body.insert(at, 1, c);
                    break;
                default:
                    body.erase(at, 1);
                    break;
            }
        }
        expect_same(body);
        fast += parse_node_list_fast(body).has_value() ? 1 : 0;
        if (::testing::Test::HasFailure()) {
            break;
        }
    }
    // Many damaged lists are still valid JSON (a changed letter in a value): some of them
    // must have been read by the fast path, or this test compared nothing of it.
    EXPECT_GT(fast, 100);
}

}  // namespace
}  // namespace cb
