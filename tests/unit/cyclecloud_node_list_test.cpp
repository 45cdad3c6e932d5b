#include "adapters/cyclecloud_node_list.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "adapters/cyclecloud_rest.h"

namespace cb {
namespace {

// The streaming reader must give what the tree parser gives, records and errors alike.
void expect_same(const std::string& body) {
    SCOPED_TRACE(body);
    const auto tree = parse_node_list(body);
    const auto stream = parse_node_list_streaming(body);
    ASSERT_EQ(static_cast<bool>(tree), static_cast<bool>(stream));
    if (!tree) {
        EXPECT_EQ(stream.error().kind, tree.error().kind);
        EXPECT_EQ(stream.error().message, tree.error().message);
        return;
    }
    ASSERT_EQ(stream->size(), tree->size());
    for (std::size_t i = 0; i < tree->size(); ++i) {
        const CloudNode& a = (*tree)[i];
        const CloudNode& b = (*stream)[i];
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

TEST(CycleCloudNodeListTest, ErrorsAreMalformedResponses) {
    const auto r = parse_node_list_streaming(R"({"nodes": [{"Status": "Ready"}]})");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind, ErrorKind::k_transient);
    EXPECT_EQ(r.error().message, "malformed response from CycleCloud: a node record has no Name");
}

}  // namespace
}  // namespace cb
