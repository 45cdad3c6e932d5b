#include "core/sku_catalog.h"

#include <gtest/gtest.h>

namespace cb {
namespace {

const SkuCatalog& repo_catalog() {
    static const SkuCatalog catalog = [] {
        auto c = SkuCatalog::load(std::string(CB_SOURCE_DIR) + "/data/azure-skus.json");
        EXPECT_TRUE(c) << c.error().describe();
        return c ? *c : SkuCatalog{};
    }();
    return catalog;
}

struct Expected {
    const char* name;
    int vcpus;
    int cores;
    double memory_gb;
    int gpus;
    bool rdma;
    const char* family;
};

TEST(SkuCatalog, TheRepositoryCatalogHasAzuresFigures) {
    const std::vector<Expected> expected{
        {"Standard_F2s_v2", 2, 1, 4, 0, false, "standardFSv2Family"},
        {"Standard_HB120rs_v3", 120, 120, 448, 0, true, "standardHBv3Family"},
        {"Standard_HB176rs_v4", 176, 176, 768, 0, true, "standardHBv4Family"},
        {"Standard_HC44rs", 44, 44, 352, 0, true, "standardHCSFamily"},
        {"Standard_HX176rs", 176, 176, 1408, 0, true, "standardHXFamily"},
        {"Standard_D4s_v5", 4, 2, 16, 0, false, "standardDSv5Family"},
        {"Standard_E8s_v5", 8, 4, 64, 0, false, "standardESv5Family"},
        {"Standard_NC24ads_A100_v4", 24, 24, 220, 1, false, "StandardNCADSA100v4Family"},
        {"Standard_ND96asr_v4", 96, 96, 900, 8, true, "standardNDASv4_A100Family"},
    };
    for (const auto& e : expected) {
        const Sku* sku = repo_catalog().find(e.name);
        ASSERT_NE(sku, nullptr) << e.name;
        EXPECT_EQ(sku->vcpus, e.vcpus) << e.name;
        EXPECT_EQ(sku->physical_cores, e.cores) << e.name;
        EXPECT_DOUBLE_EQ(sku->memory_gb, e.memory_gb) << e.name;
        EXPECT_EQ(sku->gpus, e.gpus) << e.name;
        EXPECT_EQ(sku->rdma, e.rdma) << e.name;
        EXPECT_EQ(sku->family, e.family) << e.name;
    }
    EXPECT_EQ(repo_catalog().find("Standard_F2s_v2")->threads_per_core(), 2);
    EXPECT_EQ(repo_catalog().find("Standard_HB120rs_v3")->threads_per_core(), 1);
    for (const auto& sku : repo_catalog().skus()) {
        EXPECT_GT(sku.price_per_hour, 0) << sku.name;
        EXPECT_LE(sku.physical_cores, sku.vcpus) << sku.name;
    }
}

TEST(SkuCatalog, LookupIgnoresCaseAndSuggestsNearNames) {
    EXPECT_NE(repo_catalog().find("standard_hb120rs_v3"), nullptr);
    EXPECT_EQ(repo_catalog().find("Standard_HB120rs_v9"), nullptr);
    EXPECT_EQ(repo_catalog().closest("Standard_HB120rs_3"), "Standard_HB120rs_v3");
    EXPECT_EQ(repo_catalog().closest("Basic_A0"), "");
}

TEST(SkuCatalog, InvalidCatalogsAreRefusedWithTheReason) {
    const std::string good = R"("family": "f", "vcpus": 4, "physicalCores": 2, "memoryGB": 8,
                                "gpus": 0, "rdma": false)";
    const std::vector<std::pair<std::string, std::string>> cases{
        {"{", "s.json: not valid JSON"},
        {R"({"sizes": []})", "s.json: expected an object with a \"skus\" array"},
        {R"({"version": 2, "skus": []})", "s.json: unsupported version 2 (this build reads 1)"},
        {R"({"skus": [{"name": "A", "family": "f", "vcpus": 4, "physicalCores": 8,
             "memoryGB": 8, "gpus": 0, "rdma": false}]})",
         "s.json: sku 1 (A): physicalCores (8) cannot exceed vcpus (4)"},
        {R"({"skus": [{"name": "A", )" + good + R"(}, {"name": "a", )" + good + "}]}",
         "s.json: sku 2 (a): listed twice"},
        {R"({"skus": [{"name": "A", "family": "f", "vcpus": 0}]})",
         "s.json: sku 1 (A): vcpus must be a positive whole number"},
        {R"({"skus": [{"name": "A", "family": "f", "vcpus": 2, "physicalCores": 1,
             "memoryGB": 4, "gpus": 0}]})",
         "s.json: sku 1 (A): rdma is missing"},
        {R"({"skus": [7]})", "s.json: sku 1: must be an object"},
    };
    for (const auto& [text, message] : cases) {
        auto r = SkuCatalog::parse(text, "s.json");
        ASSERT_FALSE(r) << text;
        EXPECT_EQ(r.error().kind, ErrorKind::k_config);
        EXPECT_EQ(r.error().message, message);
    }
}

}  // namespace
}  // namespace cb
