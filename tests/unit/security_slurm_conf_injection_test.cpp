// Issue 11, finding 3: injection into slurm.conf. Node array names and VM sizes come from
// CycleCloud, `slurm.onprem_nodes` and `cyclecloud.cluster` from the config, and all of them
// used to be written verbatim into the include that slurm.conf reads as root.
#include <gtest/gtest.h>

#include <sstream>

#include "core/cloud_input.h"
#include "core/config_loader.h"
#include "core/slurm_conf_gen.h"

namespace cb {
namespace {

constexpr std::string_view k_source = "/etc/cloudburst/cloudburst.toml";
// Lines 1-4; each test adds the cluster line and the rest.
const std::string k_head = R"([cyclecloud]
url = "https://cc.example.com"
username = "cloudburst"
password_file = "/etc/cloudburst/password"
)";

SkuCatalog catalog() {
    return SkuCatalog({{"Standard_F2s_v2", "standardFSv2Family", 2, 1, 4, 0, false, "", 0}});
}

NodeArray array(const std::string& name, const std::string& sku, int max_count) {
    NodeArray a;
    a.name = name;
    a.machine_type = sku;
    Bucket b;
    b.machine_type = sku;
    b.max_count = max_count;
    a.buckets.push_back(b);
    return a;
}

Config config_with_cluster(const std::string& cluster) {
    Config c;
    c.cyclecloud.cluster = cluster;
    return c;
}

// Every line of a generated file is a comment, blank, or a node, partition or gres line:
// nothing else (no Prolog=, no Include) can reach slurmctld.
void expect_only_our_lines(const std::string& text) {
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        const bool ours = line.empty() || line.starts_with("# ") || line.starts_with("NodeName=") ||
                          line.starts_with("PartitionName=");
        EXPECT_TRUE(ours) << "line '" << line << "' in:\n" << text;
    }
}

// The review's reproduction: a node array named "x\nProlog=/shared/evil.sh\n#" in CycleCloud.
TEST(SecuritySlurmConfInjection, TheIssuesNodeArrayNameWritesNoPrologLine) {
    const std::string evil = "x\nProlog=/shared/evil.sh\n#";
    auto out =
        generate_slurm_conf({array(evil, "Standard_F2s_v2", 4), array("hpc", "Standard_F2s_v2", 2)},
                            catalog(), config_with_cluster("burst"));
    ASSERT_TRUE(out) << out.error().describe();
    EXPECT_EQ(out->nodes_conf.find("Prolog"), std::string::npos) << out->nodes_conf;
    expect_only_our_lines(out->nodes_conf);
    EXPECT_NE(out->nodes_conf.find("NodeName=hpc-[1-2] State=CLOUD"), std::string::npos)
        << "the good array is still generated:\n"
        << out->nodes_conf;
    ASSERT_EQ(out->warnings.size(), 1u);
    EXPECT_EQ(out->warnings[0],
              "node array 'x\\x0aProlog=/shared/evil.sh\\x0a#' skipped: its name is not a plain "
              "name (1 to 63 letters, digits, '.', '_' or '-')");

    // The adapter drops the same record before `cloudburst scale` ever sees it.
    std::vector<NodeArray> arrays{array(evil, "Standard_F2s_v2", 4),
                                  array("hpc", "Standard_F2s_v2", 2)};
    const auto warnings = screen_node_arrays(arrays);
    ASSERT_EQ(arrays.size(), 1u);
    EXPECT_EQ(arrays[0].name, "hpc");
    ASSERT_EQ(warnings.size(), 1u);
    EXPECT_EQ(warnings[0],
              "cyclecloud: ignoring the node array 'x\\x0aProlog=/shared/evil.sh\\x0a#': its "
              "name is not a plain name (1 to 63 letters, digits, '.', '_' or '-')");
}

TEST(SecuritySlurmConfInjection, AVmSizeWithAnEqualsSignIsSkipped) {
    const std::string evil = "Standard_F2s_v2 Prolog=/shared/evil.sh";
    auto out =
        generate_slurm_conf({array("hpc", evil, 4)}, catalog(), config_with_cluster("burst"));
    ASSERT_TRUE(out) << out.error().describe();
    EXPECT_EQ(out->nodes_conf.find("Prolog"), std::string::npos) << out->nodes_conf;
    EXPECT_EQ(out->nodes_conf.find("NodeName="), std::string::npos) << out->nodes_conf;
    expect_only_our_lines(out->nodes_conf);
    ASSERT_EQ(out->warnings.size(), 1u);
    EXPECT_EQ(out->warnings[0],
              "node array 'hpc' skipped: its VM size 'Standard_F2s_v2 Prolog=/shared/evil.sh' "
              "is not a plain name (1 to 63 letters, digits, '.', '_' or '-')");

    std::vector<NodeArray> arrays{array("hpc", "Standard_F2s_v2", 4)};
    arrays[0].buckets[0].machine_type = evil;
    const auto warnings = screen_node_arrays(arrays);
    ASSERT_EQ(arrays.size(), 1u);
    EXPECT_FALSE(arrays[0].buckets[0].valid);
    ASSERT_EQ(warnings.size(), 1u);
    EXPECT_EQ(warnings[0],
              "cyclecloud: node array hpc: ignoring the bucket of VM size 'Standard_F2s_v2 "
              "Prolog=/shared/evil.sh': not a plain name (1 to 63 letters, digits, '.', '_' or "
              "'-')");

    // A bucket CycleCloud already marks not valid still names a node range (its nodes' reason,
    // `status`): its size reaches neither with a line break in it.
    std::vector<NodeArray> two{array("hpc", "Standard_F2s_v2", 4)};
    two[0].buckets.push_back(two[0].buckets[0]);
    two[0].buckets[1].machine_type = "Standard_F4s_v2\nReason=owned";
    two[0].buckets[1].valid = false;
    screen_node_arrays(two);
    ASSERT_EQ(two[0].buckets.size(), 2u);
    EXPECT_EQ(two[0].buckets[1].machine_type.find('\n'), std::string::npos)
        << two[0].buckets[1].machine_type;
    EXPECT_FALSE(two[0].buckets[1].valid);
}

TEST(SecuritySlurmConfInjection, AnOnpremNodesValueWithANewlineIsRefusedAtLoad) {
    auto config = parse_config(k_head +
                                   "cluster = \"burst\"\n[slurm]\n"
                                   "onprem_nodes = \"onprem-[1-4]\\nProlog=/shared/evil.sh\"\n",
                               k_source);
    ASSERT_FALSE(config);
    EXPECT_EQ(config.error().kind, ErrorKind::k_config);
    EXPECT_EQ(config.error().message,
              "/etc/cloudburst/cloudburst.toml:7: 'slurm.onprem_nodes' must be a hostlist of "
              "plain node names such as \"onprem-[1-64],login1\" (letters, digits, '.', '_', '-', "
              "brackets and commas; at most 63 characters a name), not "
              "\"onprem-[1-4]\\nProlog=/shared/evil.sh\"");

    // A hostlist of plain names is fine.
    auto good = parse_config(
        k_head + "cluster = \"burst\"\n[slurm]\nonprem_nodes = \"onprem-[1-4],login1\"\n",
        k_source);
    ASSERT_TRUE(good) << good.error().describe();
    EXPECT_EQ(good->slurm.onprem_nodes, "onprem-[1-4],login1");

    // The generator's backstop refuses it too, had it come another way.
    Config config_direct = config_with_cluster("burst");
    config_direct.slurm.onprem_nodes = "onprem-[1-4]\nProlog=/shared/evil.sh";
    NodeArrayConfig hpc;
    hpc.name = "hpc";
    hpc.partition = "hpc";
    hpc.hybrid_partition = "all";
    config_direct.node_arrays.push_back(hpc);
    auto out = generate_slurm_conf({array("hpc", "Standard_F2s_v2", 2)}, catalog(), config_direct);
    ASSERT_FALSE(out);
    EXPECT_EQ(out.error().kind, ErrorKind::k_invalid_input);
    EXPECT_EQ(out.error().message,
              "refusing to write Nodes=\"onprem-[1-4]\\x0aProlog=/shared/evil.sh,hpc-[1-2]\" to "
              "the Slurm configuration: a value must not be empty or hold whitespace, '#', '=' "
              "or control characters");
}

TEST(SecuritySlurmConfInjection, AClusterNameWithAHashIsRefusedAtLoad) {
    auto config =
        parse_config(k_head + "cluster = \"burst'.\\nProlog=/shared/evil.sh #\"\n", k_source);
    ASSERT_FALSE(config);
    EXPECT_EQ(config.error().message,
              "/etc/cloudburst/cloudburst.toml:5: 'cyclecloud.cluster' must be a CycleCloud "
              "cluster name (1 to 63 letters, digits, '.', '_', '-' and inner spaces), not "
              "\"burst'.\\nProlog=/shared/evil.sh #\"");
    auto hash = parse_config(k_head + "cluster = \"burst#1\"\n", k_source);
    ASSERT_FALSE(hash);
    EXPECT_EQ(hash.error().message,
              "/etc/cloudburst/cloudburst.toml:5: 'cyclecloud.cluster' must be a CycleCloud "
              "cluster name (1 to 63 letters, digits, '.', '_', '-' and inner spaces), not "
              "\"burst#1\"");
    // CycleCloud's own names with spaces stay allowed.
    auto spaced = parse_config(k_head + "cluster = \"slurm hl\"\n", k_source);
    ASSERT_TRUE(spaced) << spaced.error().describe();

    // The header comment refuses a newline, had one come another way.
    auto out = generate_slurm_conf({array("hpc", "Standard_F2s_v2", 2)}, catalog(),
                                   config_with_cluster("burst'.\nProlog=/shared/evil.sh\n#"));
    ASSERT_FALSE(out);
    EXPECT_EQ(out.error().message,
              "refusing to write the comment \"Generated by `cloudburst scale` from CycleCloud "
              "cluster 'burst'.\\x0aProlog=/shared/evil.sh\\x0a#'.\" to the Slurm "
              "configuration: it holds control characters");
}

TEST(SecuritySlurmConfInjection, TheBackstopRefusesAFieldDirectly) {
    auto good = slurm_conf_line({{"NodeName", "hpc-[1-2]"}, {"Feature", "cloud,hpc"}});
    ASSERT_TRUE(good) << good.error().describe();
    EXPECT_EQ(*good, "NodeName=hpc-[1-2] Feature=cloud,hpc");
    const std::vector<std::pair<std::string, std::string>> cases{
        {"cloud\nProlog=/shared/evil.sh", "cloud\\x0aProlog=/shared/evil.sh"},
        {"cloud Prolog", "cloud Prolog"},
        {"cloud#x", "cloud#x"},
        {"a=b", "a=b"},
        {"tab\there", "tab\\x09here"},
        {std::string("del\x7f"), "del\\x7f"},
        {"", ""},
    };
    for (const auto& [value, shown] : cases) {
        auto line = slurm_conf_line({{"NodeName", "hpc-1"}, {"Feature", value}});
        ASSERT_FALSE(line) << shown;
        EXPECT_EQ(line.error().kind, ErrorKind::k_invalid_input);
        EXPECT_EQ(line.error().message,
                  "refusing to write Feature=\"" + shown +
                      "\" to the Slurm configuration: a value must not be empty or hold "
                      "whitespace, '#', '=' or control characters");
    }
    auto comment = slurm_conf_comment("a\rb");
    ASSERT_FALSE(comment);
    EXPECT_EQ(comment.error().message,
              "refusing to write the comment \"a\\x0db\" to the Slurm configuration: it holds "
              "control characters");
}

}  // namespace
}  // namespace cb
