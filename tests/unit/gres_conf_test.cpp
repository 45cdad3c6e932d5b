// GPUs in the generated Slurm configuration (core/gres_conf.h, core/slurm_conf_gen.h): the
// GRES type and device files, cloudburst's block in a site's gres.conf, GresTypes, and golden
// files of what `cloudburst scale` writes for the shipped template's node arrays.
#include <gtest/gtest.h>

#include "core/builtin_skus.h"
#include "core/gres_conf.h"
#include "core/slurm_conf_gen.h"
#include "core/topology_conf.h"
#include "golden.h"

namespace cb {
namespace {

using testing_golden::expect_golden;

TEST(GpuGresType, FirstWordOfTheCatalogsModelInLowerCase) {
    EXPECT_EQ(gpu_gres_type("A100 80GB PCIe"), "a100");
    EXPECT_EQ(gpu_gres_type("H100 NVL"), "h100");
    EXPECT_EQ(gpu_gres_type(" V100"), "v100");
    EXPECT_EQ(gpu_gres_type(""), "");
    EXPECT_EQ(gpu_gres_type("A100#x y"), "");  // not a plain word: no type rather than a bad one
}

TEST(NvidiaDeviceFiles, OneFileOrARange) {
    EXPECT_EQ(nvidia_device_files(1), "/dev/nvidia0");
    EXPECT_EQ(nvidia_device_files(2), "/dev/nvidia[0-1]");
    EXPECT_EQ(nvidia_device_files(8), "/dev/nvidia[0-7]");
}

const std::string k_block_lines = "NodeName=gpu-[1-4] Name=gpu Type=a100 File=/dev/nvidia0\n";

TEST(GresConfBlock, AppendedAfterTheSitesLinesAndReplacedInPlace) {
    const std::string site = "# site\nNodeName=onprem1 Name=gpu File=/dev/nvidia0\n";
    auto first = gres_conf_with_block(site, k_block_lines);
    ASSERT_TRUE(first) << first.error().describe();
    EXPECT_EQ(*first, site + std::string(k_gres_block_begin) + "\n" + k_block_lines +
                          std::string(k_gres_block_end) + "\n");
    // A site line after the block stays after it; the block's lines are replaced.
    auto second = gres_conf_with_block(*first + "NodeName=onprem2 Name=gpu File=/dev/nvidia1\n",
                                       "NodeName=gpu-[1-2] Name=gpu File=/dev/nvidia[0-1]\n");
    ASSERT_TRUE(second);
    EXPECT_EQ(*second, site + std::string(k_gres_block_begin) +
                           "\nNodeName=gpu-[1-2] Name=gpu File=/dev/nvidia[0-1]\n" +
                           std::string(k_gres_block_end) +
                           "\nNodeName=onprem2 Name=gpu File=/dev/nvidia1\n");
    // Rerun with the same lines: the same bytes.
    auto again = gres_conf_with_block(*first, k_block_lines);
    ASSERT_TRUE(again);
    EXPECT_EQ(*again, *first);
    // No GPU arrays any more: the block goes, the site's lines stay.
    auto none = gres_conf_with_block(*first, "");
    ASSERT_TRUE(none);
    EXPECT_EQ(*none, site);
    // A file without a final newline gets one before the block.
    auto unterminated = gres_conf_with_block("# site", k_block_lines);
    ASSERT_TRUE(unterminated);
    EXPECT_EQ(unterminated->rfind("# site\n" + std::string(k_gres_block_begin), 0), 0u);
}

TEST(GresConfBlock, ABrokenBlockIsRefusedWithTheLine) {
    auto open = gres_conf_with_block("# a\n" + std::string(k_gres_block_begin) + "\nx\n", "y\n");
    ASSERT_FALSE(open);
    EXPECT_EQ(open.error().kind, ErrorKind::k_config);
    EXPECT_EQ(open.error().message,
              "gres.conf line 2 begins cloudburst's block but no line '# END cloudburst' ends "
              "it: add that line after cloudburst's lines");
    const std::string block =
        std::string(k_gres_block_begin) + "\n" + std::string(k_gres_block_end) + "\n";
    auto twice = gres_conf_with_block(block + block, "y\n");
    ASSERT_FALSE(twice);
    EXPECT_EQ(twice.error().message,
              "gres.conf has two cloudburst blocks (line 1 and line 3): remove one, from its "
              "BEGIN line to its END line");
}

TEST(GresTypesPlan, WrittenWhenAbsentKeptWhenTheSiteNamesGpuRefusedOtherwise) {
    EXPECT_EQ(*gres_types_plan(""), GresTypesPlan::k_write);
    EXPECT_EQ(*gres_types_plan("gpu"), GresTypesPlan::k_site_has);
    EXPECT_EQ(*gres_types_plan("mps,GPU"), GresTypesPlan::k_site_has);
    auto lacking = gres_types_plan("mps");
    ASSERT_FALSE(lacking);
    EXPECT_EQ(lacking.error().kind, ErrorKind::k_config);
    EXPECT_EQ(lacking.error().message,
              "slurm.conf sets GresTypes=mps without gpu, and node arrays have GPUs: change that "
              "line to GresTypes=mps,gpu and run `cloudburst scale` again");
}

// ---- Golden files: the template's node arrays (templates/slurm-headless.txt defaults) ------

NodeArray template_array(const std::string& name, const std::string& sku, int max_count,
                         std::map<std::string, std::string> configuration) {
    NodeArray a;
    a.name = name;
    a.machine_type = sku;
    a.configuration = std::move(configuration);
    Bucket b;
    b.machine_type = sku;
    b.max_count = max_count;
    a.buckets.push_back(b);
    return a;
}

std::vector<NodeArray> template_arrays() {
    // MaxCoreCount over the size's vCPUs: hpc 100/2, htc 100/2, gpu 96/24.
    return {template_array("hpc", "Standard_F2s_v2", 50,
                           {{"slurm.default_partition", "true"}, {"slurm.hpc", "true"}}),
            template_array("htc", "Standard_F2s_v2", 50, {{"slurm.hpc", "false"}}),
            template_array("gpu", "Standard_NC24ads_A100_v4", 4, {{"slurm.hpc", "false"}}),
            template_array("dynamic", "Standard_F2s_v2", 50,
                           {{"slurm.dynamic_config", "-Z --conf \"Feature=dyn\""}})};
}

TEST(GresConfGolden, TemplateArraysOnAnEmptyGresConf) {
    auto catalog = SkuCatalog::parse(builtin_sku_catalog_json(), "built-in");
    ASSERT_TRUE(catalog);
    Config config;
    config.cyclecloud.cluster = "burst";
    NodeArrayConfig gpu;
    gpu.name = "gpu";
    gpu.partition = "gpu";
    gpu.def_cpu_per_gpu = 8;
    config.node_arrays.push_back(gpu);
    auto out = generate_slurm_conf(template_arrays(), *catalog, config);
    ASSERT_TRUE(out) << out.error().describe();
    auto gres = gres_conf_with_block("", out->gres_conf);
    ASSERT_TRUE(gres);
    expect_golden("template-gres.conf", *gres);
    expect_golden("template-cloudburst.conf", out->nodes_conf);
}

// The template's hpc array (slurm.hpc = true) in groups of 20: three switches for its 50
// nodes, the other arrays and the site's nodes under cloudburst-other, one top switch.
TEST(TopologyConfGolden, TemplateArraysOnAnEmptyTopologyConf) {
    auto catalog = SkuCatalog::parse(builtin_sku_catalog_json(), "built-in");
    ASSERT_TRUE(catalog);
    Config config;
    config.cyclecloud.cluster = "burst";
    auto arrays = template_arrays();
    arrays[0].buckets[0].max_placement_group_size = 20;
    auto out = generate_slurm_conf(arrays, *catalog, config, "", "", {"onprem-[1-4]"});
    ASSERT_TRUE(out) << out.error().describe();
    auto topology = topology_conf_with_block("", out->topology_conf);
    ASSERT_TRUE(topology);
    expect_golden("template-topology.conf", *topology);
    EXPECT_NE(out->nodes_conf.find("\nTopologyPlugin=topology/tree\n"), std::string::npos)
        << out->nodes_conf;
    auto site_has = generate_slurm_conf(arrays, *catalog, config, "", "topology/tree");
    ASSERT_TRUE(site_has);
    EXPECT_EQ(site_has->nodes_conf.find("\nTopologyPlugin="), std::string::npos);
    auto other = generate_slurm_conf(arrays, *catalog, config, "", "topology/block");
    ASSERT_FALSE(other);
    EXPECT_EQ(other.error().message,
              "slurm.conf sets TopologyPlugin=topology/block, and node arrays use partition "
              "placement groups, which need topology/tree: change that line to "
              "TopologyPlugin=topology/tree, or set nodearrays.<n>.placement = \"job\" or "
              "\"none\"");
}

TEST(GresConfGolden, ASiteGresTypesWithGpuIsKeptAndOneWithoutIsRefused) {
    auto catalog = SkuCatalog::parse(builtin_sku_catalog_json(), "built-in");
    ASSERT_TRUE(catalog);
    Config config;
    auto kept = generate_slurm_conf(template_arrays(), *catalog, config, "gpu,mps");
    ASSERT_TRUE(kept);
    EXPECT_EQ(kept->nodes_conf.find("\nGresTypes="), std::string::npos) << kept->nodes_conf;
    EXPECT_NE(kept->nodes_conf.find("\n# GresTypes: slurm.conf's own names gpu.\n"),
              std::string::npos);
    auto refused = generate_slurm_conf(template_arrays(), *catalog, config, "mps");
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().kind, ErrorKind::k_config);
    // Without GPU arrays a site's GresTypes is none of cloudburst's business.
    NodeArrayConfig no_gpus;
    no_gpus.name = "gpu";
    no_gpus.partition = "gpu";
    no_gpus.gpu_count = 0;
    config.node_arrays.push_back(no_gpus);
    auto plain = generate_slurm_conf(template_arrays(), *catalog, config, "mps");
    ASSERT_TRUE(plain) << plain.error().describe();
    EXPECT_EQ(plain->gres_conf, "");
    EXPECT_EQ(plain->nodes_conf.find("GresTypes"), std::string::npos);
}

}  // namespace
}  // namespace cb
