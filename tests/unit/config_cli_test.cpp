// `cloudburst config show|check|docs`, run as the built program.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "core/config_render.h"
#include "util/process.h"

namespace cb {
namespace {

const std::string k_program = std::string(CB_BINARY_DIR) + "/cloudburst";

const std::string k_config = R"([cyclecloud]
url = "https://cc.example.com"
cluster = "hpc"
username = "cloudburst"
password = "Cl1-Secret-Word"
)";

class ConfigCli : public ::testing::Test {
  protected:
    void SetUp() override {
        std::string pattern = std::filesystem::temp_directory_path() / "cb-config-cli-XXXXXX";
        ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
        m_dir = pattern;
        m_path = write("cloudburst.toml", k_config);
    }
    void TearDown() override {
        std::error_code ignored;
        std::filesystem::remove_all(m_dir, ignored);
    }
    std::string write(const std::string& name, const std::string& content) const {
        const std::string path = m_dir + "/" + name;
        std::ofstream(path) << content;
        EXPECT_EQ(::chmod(path.c_str(), 0600), 0);
        return path;
    }
    static CommandOutput run(std::vector<std::string> args, std::vector<std::string> env = {}) {
        args.insert(args.begin(), k_program);
        auto out = run_command({std::move(args), std::move(env), {}});
        EXPECT_TRUE(out) << out.error().describe();
        return out ? *out : CommandOutput{};
    }
    static bool root() { return ::geteuid() == 0; }

    std::string m_dir;
    std::string m_path;
};

TEST_F(ConfigCli, CheckSaysOk) {
    if (!root()) {
        GTEST_SKIP() << "needs root: the file must be owned by root";
    }
    const auto out = run({"--config", m_path, "config", "check"});
    EXPECT_EQ(out.exit_code, 0) << out.err;
    EXPECT_EQ(out.out, m_path + ": OK\n");
    EXPECT_EQ(out.err, "");
}

TEST_F(ConfigCli, CheckReportsTheErrorWithExitCode3) {
    const std::string bad = write("bad.toml", k_config + "pasword = \"x\"\n");
    const auto out = run({"--config", bad, "config", "check"});
    EXPECT_EQ(out.exit_code, 3);
    EXPECT_EQ(out.out, "");
    EXPECT_EQ(out.err, "cloudburst: error: " + bad +
                           ":6: unknown key 'cyclecloud.pasword' (did you mean "
                           "'cyclecloud.password'?)\n");
}

TEST_F(ConfigCli, MissingFileIsAConfigError) {
    const auto out = run({"--config", m_dir + "/none.toml", "config", "show"});
    EXPECT_EQ(out.exit_code, 3);
    EXPECT_EQ(out.err, "cloudburst: error: cannot open " + m_dir +
                           "/none.toml: No such file or directory (pass --config or set "
                           "CLOUDBURST_CONFIG to use another file)\n");
}

TEST_F(ConfigCli, EnvironmentNamesTheFileAndTheFlagWins) {
    if (!root()) {
        GTEST_SKIP() << "needs root: the file must be owned by root";
    }
    const std::string env = "CLOUDBURST_CONFIG=" + m_path;
    auto out = run({"config", "check"}, {env});
    EXPECT_EQ(out.exit_code, 0) << out.err;
    EXPECT_EQ(out.out, m_path + ": OK\n");
    out = run({"--config", m_dir + "/none.toml", "config", "check"}, {env});
    EXPECT_EQ(out.exit_code, 3);
}

TEST_F(ConfigCli, ShowMasksThePassword) {
    if (!root()) {
        GTEST_SKIP() << "needs root: the file must be owned by root";
    }
    const auto out = run({"--config", m_path, "config", "show"});
    EXPECT_EQ(out.exit_code, 0) << out.err;
    EXPECT_EQ(out.out.find("Cl1-Secret-Word"), std::string::npos);
    EXPECT_NE(out.out.find("\npassword = \"****\"\n"), std::string::npos) << out.out;
    EXPECT_NE(out.out.find("\nsync_period = \"15s\"\n"), std::string::npos) << out.out;
}

TEST_F(ConfigCli, RefusalSaysHowToFixIt) {
    if (!root()) {
        GTEST_SKIP() << "needs root: the file must be owned by root";
    }
    ASSERT_EQ(::chmod(m_path.c_str(), 0644), 0);
    const auto out = run({"--config", m_path, "config", "check"});
    EXPECT_EQ(out.exit_code, 3);
    EXPECT_EQ(out.err, "cloudburst: error: " + m_path +
                           " contains a password but is mode 0644; run: chmod 0600 " + m_path +
                           "\n");
}

TEST_F(ConfigCli, DocsPrintsTheReference) {
    const auto out = run({"config", "docs"});
    EXPECT_EQ(out.exit_code, 0) << out.err;
    EXPECT_TRUE(out.out == render_config_reference());
}

TEST_F(ConfigCli, ConfigNeedsASubcommand) {
    const auto out = run({"config"});
    EXPECT_EQ(out.exit_code, 2);
}

}  // namespace
}  // namespace cb
