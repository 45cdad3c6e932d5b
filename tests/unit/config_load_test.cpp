// load_config: who may own and read the configuration and password files. Most tests use a
// fake file system (modes and owners without root); the RealFiles tests use real files and
// need root, as in CI.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "core/config_loader.h"
#include "util/log.h"

namespace cb {
namespace {

constexpr uid_t k_slurm_uid = 64030;
const std::string k_path = "/etc/cloudburst/cloudburst.toml";
const std::string k_password_path = "/etc/cloudburst/password";

const std::string k_common = R"([cyclecloud]
url = "https://cc.example.com"
cluster = "hpc"
username = "cloudburst"
)";
const std::string k_inline = k_common + "password = \"Inl1ne-Secret\"\n";
const std::string k_with_file = k_common + "password_file = \"" + k_password_path + "\"\n";

class FakeFiles {
  public:
    void add(const std::string& path, std::string content, mode_t mode, uid_t owner) {
        m_files[path] = FileSnapshot{std::move(content), mode, owner};
    }
    void remove_slurm_user() { m_slurm_exists = false; }

    ConfigFileAccess access() const {
        return {[this](const std::string& path, std::size_t) -> Result<FileSnapshot> {
                    const auto it = m_files.find(path);
                    if (it == m_files.end()) {
                        return make_error(ErrorKind::k_io,
                                          "cannot open " + path + ": No such file or directory");
                    }
                    return it->second;
                },
                [this](const std::string& user) -> std::optional<uid_t> {
                    if (user == "slurm" && m_slurm_exists) {
                        return k_slurm_uid;
                    }
                    return std::nullopt;
                }};
    }

  private:
    std::map<std::string, FileSnapshot> m_files;
    bool m_slurm_exists = true;
};

std::string load_error(const FakeFiles& files, PasswordUse use = PasswordUse::k_read) {
    auto config = load_config(k_path, use, files.access());
    EXPECT_FALSE(config);
    if (config) {
        return "";
    }
    EXPECT_EQ(config.error().kind, ErrorKind::k_config);
    return config.error().message;
}

TEST(LoadConfig, InlinePasswordInAPrivateRootFile) {
    FakeFiles files;
    files.add(k_path, k_inline, 0600, 0);
    auto config = load_config(k_path, PasswordUse::k_read, files.access());
    ASSERT_TRUE(config) << config.error().message;
    EXPECT_EQ(config->cyclecloud.password, "Inl1ne-Secret");
    EXPECT_EQ(log::redact("login with Inl1ne-Secret"), "login with ****");
}

TEST(LoadConfig, InlinePasswordInAFileOwnedBySlurmUser) {
    FakeFiles files;
    files.add(k_path, k_inline, 0400, k_slurm_uid);
    EXPECT_TRUE(load_config(k_path, PasswordUse::k_read, files.access()));
}

TEST(LoadConfig, InlinePasswordRefusedInAReadableFile) {
    FakeFiles files;
    files.add(k_path, k_inline, 0644, 0);
    EXPECT_EQ(load_error(files),
              "/etc/cloudburst/cloudburst.toml contains a password but is mode 0644; run: chmod "
              "0600 /etc/cloudburst/cloudburst.toml");
    files.add(k_path, k_inline, 0640, 0);
    EXPECT_EQ(load_error(files),
              "/etc/cloudburst/cloudburst.toml contains a password but is mode 0640; run: chmod "
              "0600 /etc/cloudburst/cloudburst.toml");
}

TEST(LoadConfig, RefusesAnotherOwner) {
    FakeFiles files;
    files.add(k_path, k_inline, 0600, 1000);
    EXPECT_EQ(load_error(files),
              "/etc/cloudburst/cloudburst.toml is owned by uid 1000, not by root or slurm; run: "
              "chown root /etc/cloudburst/cloudburst.toml");
}

TEST(LoadConfig, OnlyRootWhenTheSlurmUserDoesNotExist) {
    FakeFiles files;
    files.remove_slurm_user();
    files.add(k_path, k_inline, 0600, k_slurm_uid);
    EXPECT_EQ(load_error(files),
              "/etc/cloudburst/cloudburst.toml is owned by uid 64030, not by root (there is no "
              "user 'slurm'); run: chown root /etc/cloudburst/cloudburst.toml");
}

TEST(LoadConfig, TheOwnerRuleUsesTheConfiguredSlurmUser) {
    FakeFiles files;
    files.add(k_path, k_inline + "[slurm]\nuser = \"slurmadm\"\n", 0600, k_slurm_uid);
    EXPECT_EQ(load_error(files),
              "/etc/cloudburst/cloudburst.toml is owned by uid 64030, not by root (there is no "
              "user 'slurmadm'); run: chown root /etc/cloudburst/cloudburst.toml");
}

TEST(LoadConfig, ModeAndOwnerProblemsAreBothReported) {
    FakeFiles files;
    files.add(k_path, k_inline, 0604, 1000);
    EXPECT_EQ(load_error(files),
              "/etc/cloudburst/cloudburst.toml contains a password but is mode 0604; run: chmod "
              "0600 /etc/cloudburst/cloudburst.toml\n"
              "/etc/cloudburst/cloudburst.toml is owned by uid 1000, not by root or slurm; run: "
              "chown root /etc/cloudburst/cloudburst.toml");
}

TEST(LoadConfig, FileWithoutPasswordMayBeReadableButNotWritableByOthers) {
    FakeFiles files;
    files.add(k_password_path, "Fake-Pw-1\n", 0600, 0);
    files.add(k_path, k_with_file, 0644, 0);
    EXPECT_TRUE(load_config(k_path, PasswordUse::k_read, files.access()));
    files.add(k_path, k_with_file, 0664, 0);
    EXPECT_EQ(load_error(files),
              "/etc/cloudburst/cloudburst.toml is writable by other users (mode 0664); run: "
              "chmod go-w /etc/cloudburst/cloudburst.toml");
    files.add(k_path, k_with_file, 0644, 1000);
    EXPECT_EQ(load_error(files),
              "/etc/cloudburst/cloudburst.toml is owned by uid 1000, not by root or slurm; run: "
              "chown root /etc/cloudburst/cloudburst.toml");
}

TEST(LoadConfig, PasswordFileContentWithoutTrailingNewlines) {
    FakeFiles files;
    files.add(k_path, k_with_file, 0644, 0);
    files.add(k_password_path, "Fr0m-File pw\r\n\n", 0400, k_slurm_uid);
    auto config = load_config(k_path, PasswordUse::k_read, files.access());
    ASSERT_TRUE(config) << config.error().message;
    EXPECT_EQ(config->cyclecloud.password, "Fr0m-File pw");
    EXPECT_EQ(log::redact("Fr0m-File pw"), "****");
}

TEST(LoadConfig, PasswordFileRefusals) {
    FakeFiles files;
    files.add(k_path, k_with_file, 0644, 0);
    files.add(k_password_path, "Fake-Pw-2\n", 0640, 0);
    EXPECT_EQ(load_error(files),
              "password file /etc/cloudburst/password is mode 0640; run: chmod 0600 "
              "/etc/cloudburst/password");
    files.add(k_password_path, "Fake-Pw-3\n", 0600, 1000);
    EXPECT_EQ(load_error(files),
              "password file /etc/cloudburst/password is owned by uid 1000, not by root or "
              "slurm; run: chown root /etc/cloudburst/password");
    files.add(k_password_path, "\n", 0600, 0);
    EXPECT_EQ(load_error(files),
              "password file /etc/cloudburst/password is empty; write the CycleCloud password "
              "into it");
}

TEST(LoadConfig, MissingPasswordFile) {
    FakeFiles files;
    files.add(k_path, k_with_file, 0644, 0);
    EXPECT_EQ(load_error(files),
              "cannot open /etc/cloudburst/password: No such file or directory (the password "
              "file named by 'cyclecloud.password_file' in /etc/cloudburst/cloudburst.toml)");
}

TEST(LoadConfig, SkippingThePasswordDoesNotReadTheFile) {
    FakeFiles files;
    files.add(k_path, k_with_file, 0644, 0);  // no password file at all
    auto config = load_config(k_path, PasswordUse::k_skip, files.access());
    ASSERT_TRUE(config) << config.error().message;
    EXPECT_EQ(config->cyclecloud.password, "");
    // The rules for the configuration file itself still hold.
    files.add(k_path, k_inline, 0644, 0);
    EXPECT_EQ(load_error(files, PasswordUse::k_skip),
              "/etc/cloudburst/cloudburst.toml contains a password but is mode 0644; run: chmod "
              "0600 /etc/cloudburst/cloudburst.toml");
}

TEST(LoadConfig, MissingConfigFile) {
    FakeFiles files;
    EXPECT_EQ(load_error(files),
              "cannot open /etc/cloudburst/cloudburst.toml: No such file or directory (pass "
              "--config or set CLOUDBURST_CONFIG to use another file)");
}

TEST(LoadConfig, ParseErrorsComeBeforePermissions) {
    FakeFiles files;
    files.add(k_path, k_inline + "verify_tls = 1\n", 0644, 1000);
    EXPECT_EQ(load_error(files),
              "/etc/cloudburst/cloudburst.toml:6: 'cyclecloud.verify_tls' must be a boolean "
              "(true or false), not an integer");
}

TEST(LoadConfig, PasswordNeverInRefusals) {
    FakeFiles files;
    files.add(k_path, k_inline, 0666, 1000);
    EXPECT_EQ(load_error(files).find("Inl1ne"), std::string::npos);
}

// ------------------------------------------------------------------ real files (root)

class TempDir {
  public:
    TempDir() {
        std::string pattern = (std::filesystem::temp_directory_path() / "cb-config-XXXXXX");
        const char* made = ::mkdtemp(pattern.data());
        EXPECT_NE(made, nullptr);
        m_path = pattern;
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    ~TempDir() {
        std::error_code ignored;
        std::filesystem::remove_all(m_path, ignored);
    }
    std::string write(const std::string& name, const std::string& content, mode_t mode) const {
        const std::string path = m_path + "/" + name;
        std::ofstream(path) << content;
        EXPECT_EQ(::chmod(path.c_str(), mode), 0);
        return path;
    }

  private:
    std::string m_path;
};

class RealFiles : public ::testing::Test {
  protected:
    void SetUp() override {
        if (::geteuid() != 0) {
            GTEST_SKIP() << "needs root: the files must be owned by root";
        }
    }
    TempDir m_dir;
};

TEST_F(RealFiles, InlinePasswordNeedsMode0600) {
    const std::string path = m_dir.write("cloudburst.toml", k_inline, 0644);
    auto refused = load_config(path);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().message,
              path + " contains a password but is mode 0644; run: " + "chmod 0600 " + path);
    ASSERT_EQ(::chmod(path.c_str(), 0600), 0);
    auto accepted = load_config(path);
    ASSERT_TRUE(accepted) << accepted.error().message;
    EXPECT_EQ(accepted->cyclecloud.password, "Inl1ne-Secret");
}

TEST_F(RealFiles, PasswordFileOwnedByAnotherUserIsRefused) {
    const std::string password = m_dir.write("password", "R3al-file-pw\n", 0600);
    const std::string path =
        m_dir.write("cloudburst.toml", k_common + "password_file = \"" + password + "\"\n", 0644);
    auto accepted = load_config(path);
    ASSERT_TRUE(accepted) << accepted.error().message;
    EXPECT_EQ(accepted->cyclecloud.password, "R3al-file-pw");
    ASSERT_EQ(::chown(password.c_str(), 65534, static_cast<gid_t>(-1)), 0);
    auto refused = load_config(path);
    ASSERT_FALSE(refused);
    const std::string owners =
        lookup_user_id("slurm") ? "root or slurm" : "root (there is no user 'slurm')";
    EXPECT_EQ(refused.error().message, "password file " + password +
                                           " is owned by uid 65534, not by " + owners +
                                           "; run: chown root " + password);
}

TEST_F(RealFiles, DirectoryIsNotAConfigFile) {
    const std::string dir = std::filesystem::temp_directory_path();
    auto refused = load_config(dir);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().message,
              dir +
                  " is not a regular file (pass --config or set CLOUDBURST_CONFIG to use "
                  "another file)");
}

}  // namespace
}  // namespace cb
