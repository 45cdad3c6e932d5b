// `config show` output, the generated reference (docs/configuration.md) and the example file.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "core/config_loader.h"
#include "core/config_render.h"
#include "core/config_schema.h"

namespace cb {
namespace {

constexpr std::string_view k_source = "/etc/cloudburst/cloudburst.toml";

std::string read_source_file(const std::string& relative) {
    std::ifstream in(std::string(CB_SOURCE_DIR) + "/" + relative, std::ios::binary);
    EXPECT_TRUE(in) << "cannot read " << relative;
    std::stringstream out;
    out << in.rdbuf();
    return out.str();
}

Config parsed(const std::string& text) {
    auto config = parse_config(text, k_source);
    EXPECT_TRUE(config) << config.error().message;
    return config ? *config : Config{};
}

const std::string k_inline = R"([cyclecloud]
url = "https://cc.example.com"
cluster = "hpc"
username = "cloudburst"
password = "Sh0w-Me-Not"
[nodearrays.gpu]
gpu_count = 4
features = ["a100", "nvlink"]
shutdown = "deallocate"
[nodearrays.hpc]
weight = 10
)";

TEST(ShowConfig, PrintsEveryKeyAndMasksThePassword) {
    const std::string shown = render_effective_config(parsed(k_inline), k_source);
    EXPECT_EQ(shown.find("Sh0w-Me-Not"), std::string::npos);
    EXPECT_NE(shown.find("\npassword = \"****\"\n"), std::string::npos);
    EXPECT_NE(shown.find("\n# password_file is not set (password is used)\n"), std::string::npos);
    EXPECT_NE(shown.find("\n# ca_bundle is not set (the system's CA certificates)\n"),
              std::string::npos);
    EXPECT_NE(shown.find("\n[nodearrays.gpu]\npartition = \"gpu\"\n"), std::string::npos);
    EXPECT_NE(shown.find("\nfeatures = [\"a100\", \"nvlink\"]\n"), std::string::npos);
    EXPECT_NE(shown.find("\n# gpu_count is not set (the SKU catalog's figure for the VM size, else "
                         "CycleCloud's)\n"),
              std::string::npos);
    for (const auto& spec : config_keys()) {
        const std::string key(spec.key);
        const bool listed = shown.find("\n" + key + " = ") != std::string::npos ||
                            shown.find("\n# " + key + " is not set") != std::string::npos;
        EXPECT_TRUE(listed) << key;
    }
}

TEST(ShowConfig, PasswordFromAFileIsNotShownAsInline) {
    Config config = parsed(R"([cyclecloud]
url = "https://cc.example.com"
cluster = "hpc"
username = "cloudburst"
password_file = "/etc/cloudburst/password"
)");
    config.cyclecloud.password = "Fr0m-The-File";  // as load_config fills it in
    const std::string shown = render_effective_config(config, k_source);
    EXPECT_EQ(shown.find("Fr0m-The-File"), std::string::npos);
    EXPECT_NE(shown.find("\n# password is not set (password_file is used)\n"), std::string::npos);
    EXPECT_NE(shown.find("\npassword_file = \"/etc/cloudburst/password\"\n"), std::string::npos);
}

TEST(ShowConfig, OutputReadsBackToTheSameConfiguration) {
    const std::string first = render_effective_config(parsed(k_inline), k_source);
    const Config again = parsed(first);
    EXPECT_EQ(again.cyclecloud.password, "****");
    EXPECT_EQ(render_effective_config(again, k_source), first);
}

TEST(ShowConfig, StringsAreEscaped) {
    const std::string shown =
        render_effective_config(parsed(k_inline + "[slurm]\nuser = \"sl\\\"urm\"\n"), k_source);
    EXPECT_NE(shown.find("\nuser = \"sl\\\"urm\"\n"), std::string::npos) << shown;
}

TEST(ConfigReference, DocsFileMatchesTheCode) {
    EXPECT_TRUE(read_source_file("docs/configuration.md") == render_config_reference())
        << "docs/configuration.md is out of date. Regenerate it from the build directory:\n"
           "  ./cloudburst config docs > "
        << CB_SOURCE_DIR << "/docs/configuration.md";
}

TEST(ConfigReference, EveryKeyIsDocumented) {
    const std::string docs = render_config_reference();
    for (const auto& spec : config_keys()) {
        EXPECT_FALSE(spec.description.empty()) << spec.key;
        EXPECT_NE(docs.find("| `" + std::string(spec.key) + "` |"), std::string::npos) << spec.key;
    }
    for (const auto& spec : node_array_keys()) {
        EXPECT_FALSE(spec.description.empty()) << spec.key;
        EXPECT_NE(docs.find("| `" + std::string(spec.key) + "` |"), std::string::npos) << spec.key;
    }
    EXPECT_NE(docs.find("| `sync_period` | duration, 1s to 1h | `\"15s\"` |"), std::string::npos);
    EXPECT_NE(docs.find("| `weight` | integer, 1 to 65533 | `100` |"), std::string::npos);
}

TEST(ExampleConfig, ParsesAndNamesEveryKey) {
    const std::string example = read_source_file("docs/cloudburst.example.toml");
    const Config config = parsed(example);
    EXPECT_EQ(config.node_array("gpu").gpu_count, 8);
    // Every key appears, set or commented out, so the example stays complete.
    for (const auto& spec : config_keys()) {
        const std::string key(spec.key);
        const bool listed = example.find("\n" + key + " = ") != std::string::npos ||
                            example.find("\n# " + key + " = ") != std::string::npos;
        EXPECT_TRUE(listed) << key;
    }
    for (const auto& spec : node_array_keys()) {
        EXPECT_NE(example.find(std::string(spec.key) + " = "), std::string::npos) << spec.key;
    }
}

}  // namespace
}  // namespace cb
