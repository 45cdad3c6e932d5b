// Several VM sizes per node array (core/node_range.h): the ranges' names and order, finding a
// node's range again, and golden files of what `cloudburst scale` writes for arrays of two
// sizes (slurm.conf lines, gres.conf and topology.conf blocks).
#include <gtest/gtest.h>

#include "core/builtin_skus.h"
#include "core/gres_conf.h"
#include "core/node_range.h"
#include "core/slurm_conf_gen.h"
#include "core/topology_conf.h"
#include "golden.h"

namespace cb {
namespace {

using testing_golden::expect_golden;

Bucket bucket(const std::string& machine_type, int max_count, bool valid = true) {
    Bucket b;
    b.machine_type = machine_type;
    b.max_count = max_count;
    b.valid = valid;
    if (!valid) {
        b.invalid_reason = "NotActivated";
    }
    return b;
}

NodeArray array(const std::string& name, std::vector<Bucket> buckets,
                std::map<std::string, std::string> configuration = {}) {
    NodeArray a;
    a.name = name;
    a.machine_type = buckets.empty() ? "" : buckets.front().machine_type;
    a.buckets = std::move(buckets);
    a.configuration = std::move(configuration);
    return a;
}

TEST(VmSizeSlug, LowerCaseWithoutTheTierAndWithDashes) {
    EXPECT_EQ(vm_size_slug("Standard_F4s_v2"), "f4s-v2");
    EXPECT_EQ(vm_size_slug("Standard_HB176rs_v4"), "hb176rs-v4");
    EXPECT_EQ(vm_size_slug("standard_NC24ads_A100_v4"), "nc24ads-a100-v4");
    EXPECT_EQ(vm_size_slug("Basic_A1"), "a1");
    EXPECT_EQ(vm_size_slug("Standard_D2.v5__x_"), "d2-v5-x");
    EXPECT_EQ(vm_size_slug("Standard_"), "");
    EXPECT_EQ(vm_size_slug("Standard_F4 s;v2"), "f4sv2");
}

TEST(NodeRanges, TheFirstSizeKeepsTheArraysNamesTheOthersFollowInCycleCloudsOrder) {
    const auto ranges =
        node_ranges(array("htc", {bucket("Standard_F2s_v2", 4), bucket("Standard_F8s_v2", 1, false),
                                  bucket("Standard_F4s_v2", 2), bucket("Standard_F2s_v2", 4)}));
    ASSERT_EQ(ranges.size(), 3u);
    EXPECT_EQ(ranges[0].name, "htc");
    EXPECT_EQ(ranges[0].machine_type, "Standard_F2s_v2");
    EXPECT_EQ(ranges[0].rank, 0);
    EXPECT_EQ(ranges[1].name, "htc-f8s-v2");
    EXPECT_FALSE(ranges[1].valid);
    EXPECT_EQ(ranges[1].invalid_reason, "NotActivated");
    EXPECT_EQ(ranges[2].name, "htc-f4s-v2");
    EXPECT_EQ(ranges[2].rank, 2);
    EXPECT_EQ(ranges[2].array, "htc");
}

TEST(NodeRanges, TheArraysOwnSizeIsFirstWhetherItIsValidOrNot) {
    NodeArray a =
        array("hpc", {bucket("Standard_HB120rs_v3", 4), bucket("Standard_HB176rs_v4", 2)});
    a.machine_type = "Standard_HB176rs_v4";
    auto ranges = node_ranges(a);
    ASSERT_EQ(ranges.size(), 2u);
    EXPECT_EQ(ranges[0].machine_type, "Standard_HB176rs_v4");
    EXPECT_EQ(ranges[1].name, "hpc-hb120rs-v3");
    // The array's own size turning invalid after `scale` wrote the names moves no size to
    // another range: hpc-N stay HB176rs_v4 (and fail with CycleCloud's reason), and
    // hpc-hb120rs-v3-N stay HB120rs_v3.
    a.buckets[1].valid = false;
    ranges = node_ranges(a);
    ASSERT_EQ(ranges.size(), 2u);
    EXPECT_EQ(ranges[0].name, "hpc");
    EXPECT_EQ(ranges[0].machine_type, "Standard_HB176rs_v4");
    EXPECT_FALSE(ranges[0].valid);
    EXPECT_EQ(ranges[1].name, "hpc-hb120rs-v3");
    EXPECT_EQ(ranges[1].machine_type, "Standard_HB120rs_v3");
    EXPECT_TRUE(ranges[1].valid);
    // An array whose own size no bucket has: the first bucket listed is first.
    a.machine_type = "Standard_F2s_v2";
    ranges = node_ranges(a);
    ASSERT_FALSE(ranges.empty());
    EXPECT_EQ(ranges[0].machine_type, "Standard_HB120rs_v3");
    NodeArray bare;
    bare.name = "gpu";
    bare.machine_type = "Standard_NC24ads_A100_v4";
    ranges = node_ranges(bare);
    ASSERT_EQ(ranges.size(), 1u);
    EXPECT_EQ(ranges[0].machine_type, "Standard_NC24ads_A100_v4");
}

TEST(FindNodeRange, ByTheArraysNameOrAFurtherSizesName) {
    std::map<std::string, NodeArray> arrays;
    arrays["htc"] = array("htc", {bucket("Standard_F2s_v2", 4), bucket("Standard_F4s_v2", 2)});
    arrays["htc-f4s-v2"] = array("htc-f4s-v2", {bucket("Standard_F8s_v2", 1)});
    arrays["hpc"] = array("hpc", {bucket("Standard_HB120rs_v3", 4)});
    auto first = find_node_range(arrays, "htc");
    ASSERT_TRUE(first);
    EXPECT_EQ(first->machine_type, "Standard_F2s_v2");
    // An array's own name wins over another array's further size of that name.
    auto clash = find_node_range(arrays, "htc-f4s-v2");
    ASSERT_TRUE(clash);
    EXPECT_EQ(clash->array, "htc-f4s-v2");
    EXPECT_EQ(clash->machine_type, "Standard_F8s_v2");
    arrays.erase("htc-f4s-v2");
    auto further = find_node_range(arrays, "htc-f4s-v2");
    ASSERT_TRUE(further);
    EXPECT_EQ(further->array, "htc");
    EXPECT_EQ(further->machine_type, "Standard_F4s_v2");
    EXPECT_FALSE(find_node_range(arrays, "htc-f8s-v2"));
    EXPECT_FALSE(find_node_range(arrays, "gpu"));
    EXPECT_FALSE(find_node_range(arrays, "hpc-"));
}

// ---- Golden files: two VM sizes per array ---------------------------------------------------

// hpc (placement groups of 2) on HB120rs_v3 then HB176rs_v4; htc on F2s_v2, F4s_v2 and an F8s_v2
// CycleCloud marks not valid; gpu on NC24ads_A100_v4 (1 GPU) then NC48ads_A100_v4 (2 GPUs).
std::vector<NodeArray> two_size_arrays() {
    std::vector<NodeArray> out{
        array("hpc", {bucket("Standard_HB120rs_v3", 4), bucket("Standard_HB176rs_v4", 3)},
              {{"slurm.hpc", "true"}}),
        array("htc",
              {bucket("Standard_F2s_v2", 4), bucket("Standard_F4s_v2", 2),
               bucket("Standard_F8s_v2", 1, false)},
              {{"slurm.default_partition", "true"}}),
        array("gpu",
              {bucket("Standard_NC24ads_A100_v4", 4), bucket("Standard_NC48ads_A100_v4", 2)}),
    };
    for (auto& b : out[0].buckets) {
        b.max_placement_group_size = 2;
    }
    return out;
}

TEST(SeveralVmSizesGolden, OneNodeRangePerValidSizeInGeneratedConfs) {
    auto catalog = SkuCatalog::parse(builtin_sku_catalog_json(), "built-in");
    ASSERT_TRUE(catalog);
    Config config;
    config.cyclecloud.cluster = "burst";
    auto out = generate_slurm_conf(two_size_arrays(), *catalog, config, "", "", {"onprem-[1-2]"});
    ASSERT_TRUE(out) << out.error().describe();
    expect_golden("two-sizes-cloudburst.conf", out->nodes_conf);
    auto gres = gres_conf_with_block("", out->gres_conf);
    ASSERT_TRUE(gres);
    expect_golden("two-sizes-gres.conf", *gres);
    auto topology = topology_conf_with_block("", out->topology_conf);
    ASSERT_TRUE(topology);
    expect_golden("two-sizes-topology.conf", *topology);
    EXPECT_EQ(out->warnings,
              (std::vector<std::string>{
                  "node array 'htc': VM size 'Standard_F8s_v2' skipped: CycleCloud marks it not "
                  "valid (NotActivated); activate it for the subscription or take it out of the "
                  "node array"}));
}

TEST(SeveralVmSizes, ASizeWhoseNodeNamesAreAnotherArraysIsSkippedWithAWarning) {
    auto catalog = SkuCatalog::parse(builtin_sku_catalog_json(), "built-in");
    ASSERT_TRUE(catalog);
    Config config;
    const std::vector<NodeArray> arrays{
        array("htc", {bucket("Standard_F2s_v2", 4), bucket("Standard_F4s_v2", 2)}),
        array("htc-f4s-v2", {bucket("Standard_F8s_v2", 1)})};
    auto out = generate_slurm_conf(arrays, *catalog, config);
    ASSERT_TRUE(out) << out.error().describe();
    EXPECT_NE(out->nodes_conf.find("NodeName=htc-[1-4] "), std::string::npos);
    EXPECT_NE(out->nodes_conf.find("NodeName=htc-f4s-v2-1 "), std::string::npos);
    EXPECT_NE(out->nodes_conf.find("Feature=cloud,Standard_F8s_v2,htc-f4s-v2"), std::string::npos)
        << out->nodes_conf;
    EXPECT_EQ(out->nodes_conf.find("Standard_F4s_v2,htc"), std::string::npos) << out->nodes_conf;
    ASSERT_EQ(out->warnings.size(), 1u);
    EXPECT_EQ(out->warnings[0],
              "node array 'htc': VM size 'Standard_F4s_v2' skipped: its node names "
              "(htc-f4s-v2-N) are another node array's or VM size's");
}

}  // namespace
}  // namespace cb
