// Keep-alive (core/keep_alive.h): the config's wish as Slurm's SuspendExcNodes, and the
// generated conf's line for it; `cloudburst scale` writing it (slurm_conf_gen).
#include <gtest/gtest.h>

#include "core/config_loader.h"
#include "core/keep_alive.h"
#include "core/slurm_conf_gen.h"

namespace cb {
namespace {

Config config_with(int hpc_keep, const std::string& nodes) {
    Config c;
    NodeArrayConfig hpc;
    hpc.name = "hpc";
    hpc.partition = "hpc";
    hpc.keep_alive = hpc_keep;
    NodeArrayConfig gpu;
    gpu.name = "gpu";
    gpu.partition = "gpu";
    gpu.keep_alive = 1;
    c.node_arrays = {gpu, hpc};
    c.slurm.keep_alive_nodes = nodes;
    return c;
}

TEST(KeepAlive, NodesGroupByArrayFromTheirNames) {
    const auto by = nodes_by_array({"hpc-3", "gpu-1", "hpc-1", "hpc-2", "login", "htc-10"});
    EXPECT_EQ(by, (std::map<std::string, std::string>{
                      {"gpu", "gpu-1"}, {"hpc", "hpc-[1-3]"}, {"htc", "htc-10"}}));
}

TEST(KeepAlive, CountedSetsComeBeforeNamedNodes) {
    // Slurm reads "a,b[1-4]:2" as two of a and b[1-4] together: named nodes go last.
    const auto entries =
        keep_alive_entries(config_with(2, "htc-[3-4]"),
                           {{"gpu", "gpu-[1-4]"}, {"hpc", "hpc-[1-8]"}, {"htc", "htc-[1-9]"}});
    auto value = suspend_exc_nodes(entries);
    ASSERT_TRUE(value) << value.error().describe();
    EXPECT_EQ(*value, "gpu-[1-4]:1,hpc-[1-8]:2,htc-[3-4]");
}

TEST(KeepAlive, NoCommaInsideBracketsAndNoCountAboveTheSet) {
    // 23.02+ split a counted SuspendExcNodes at every comma: "hpc-[3,5]" would be "hpc-[3".
    auto value = suspend_exc_nodes({{"hpc-[1-8]", 2}, {"htc-[3,5-6],htc-9", 0}});
    ASSERT_TRUE(value) << value.error().describe();
    EXPECT_EQ(*value, "hpc-[1-8]:2,htc-3,htc-[5-6],htc-9");
    // 22.05 drops the whole line for a count above the set's size: clamped.
    value = suspend_exc_nodes({{"gpu-[1-4]", 10}});
    ASSERT_TRUE(value);
    EXPECT_EQ(*value, "gpu-[1-4]:4");
    // A count over a set that is not one range cannot be written for both parsers.
    value = suspend_exc_nodes({{"hpc-[1-3,5]", 2}});
    ASSERT_FALSE(value);
    EXPECT_NE(value.error().message.find("not one range"), std::string::npos)
        << value.error().message;
}

TEST(KeepAlive, NothingToKeepIsNoValue) {
    Config c;
    auto value = suspend_exc_nodes(keep_alive_entries(c, {{"hpc", "hpc-[1-8]"}}));
    ASSERT_TRUE(value);
    EXPECT_EQ(*value, "");
    // An array with a count but no nodes in Slurm has nothing to keep.
    value = suspend_exc_nodes(keep_alive_entries(config_with(3, ""), {}));
    ASSERT_TRUE(value);
    EXPECT_EQ(*value, "");
}

TEST(KeepAlive, ANameThatWouldBreakTheLineIsRefused) {
    for (const std::string bad :
         {"hpc-1 SuspendTime=0", "hpc-1\nSlurmUser=root", "hpc-[1-", "hpc-1#x", ""}) {
        auto value = suspend_exc_nodes({{bad, 0}});
        ASSERT_FALSE(value) << "accepted " << bad;
        EXPECT_EQ(value.error().kind, ErrorKind::k_invalid_input);
    }
    EXPECT_FALSE(suspend_exc_nodes({{"hpc-1", -1}}));
}

TEST(KeepAlive, TheConfigRefusesAKeepAliveNodesValueThatIsNoHostlist) {
    auto parsed = parse_config(
        "[cyclecloud]\nurl = \"https://cc\"\ncluster = \"c\"\nusername = \"u\"\n"
        "password = \"p\"\n[slurm]\nkeep_alive_nodes = \"hpc-1 State=DOWN\"\n",
        "test.toml");
    ASSERT_FALSE(parsed);
    EXPECT_NE(parsed.error().describe().find("keep_alive_nodes"), std::string::npos)
        << parsed.error().describe();
}

TEST(KeepAlive, TheLineIsReplacedNeverRepeated) {
    const std::string conf = "NodeName=hpc-[1-8] State=CLOUD\nSuspendExcNodes=old:1\n";
    const std::string once = with_suspend_exc_nodes(conf, "hpc-[1-8]:2");
    EXPECT_EQ(once.find("old"), std::string::npos) << once;
    EXPECT_NE(once.find("\nSuspendExcNodes=hpc-[1-8]:2\n"), std::string::npos) << once;
    EXPECT_EQ(with_suspend_exc_nodes(once, "hpc-[1-8]:2"), once);
    const std::string gone = with_suspend_exc_nodes(once, "");
    EXPECT_EQ(gone, "NodeName=hpc-[1-8] State=CLOUD\n");
    // A key in another case is Slurm's same key.
    EXPECT_EQ(with_suspend_exc_nodes("suspendexcnodes = old\n", "y").find("old"),
              std::string::npos);
}

TEST(KeepAlive, ScaleWritesTheArraysCount) {
    NodeArray hpc;
    hpc.name = "hpc";
    hpc.machine_type = "Standard_F2s_v2";
    Bucket b;
    b.machine_type = "Standard_F2s_v2";
    b.max_count = 8;
    b.vcpu_count = 2;
    b.memory_gb = 4;
    hpc.buckets.push_back(b);
    const SkuCatalog none;
    auto out = generate_slurm_conf({hpc}, none, config_with(2, "hpc-7"));
    ASSERT_TRUE(out) << out.error().describe();
    EXPECT_EQ(out->suspend_exc_nodes, "hpc-[1-8]:2,hpc-7");
    EXPECT_NE(out->nodes_conf.find("\nSuspendExcNodes=hpc-[1-8]:2,hpc-7\n"), std::string::npos)
        << out->nodes_conf;
    auto without = generate_slurm_conf({hpc}, none, Config{});
    ASSERT_TRUE(without);
    EXPECT_EQ(without->nodes_conf.find("SuspendExcNodes"), std::string::npos);
}

}  // namespace
}  // namespace cb
