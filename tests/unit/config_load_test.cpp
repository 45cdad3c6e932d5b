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
#include <optional>
#include <string>
#include <vector>

#include "core/config_loader.h"
#include "core/config_path.h"
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

// Files with any owner and mode, the directories above them, and the user the loader runs
// as (root unless set): everything the trust rule looks at, without being root.
class FakeFiles {
  public:
    void add(const std::string& path, std::string content, mode_t mode, uid_t owner,
             std::vector<PathStep> directories = {}) {
        m_files[path] = FileSnapshot{std::move(content), mode, owner, std::move(directories)};
    }
    void run_as(uid_t euid) { m_euid = euid; }
    const std::vector<std::string>& reads() const { return m_reads; }

    ConfigFileAccess access() {
        return {[this](const std::string& path, std::size_t) -> Result<FileSnapshot> {
                    m_reads.push_back(path);
                    const auto it = m_files.find(path);
                    if (it == m_files.end()) {
                        return make_error(ErrorKind::k_not_found,
                                          "cannot open " + path + ": No such file or directory");
                    }
                    return it->second;
                },
                [this]() { return m_euid; }};
    }

  private:
    std::map<std::string, FileSnapshot> m_files;
    std::vector<std::string> m_reads;
    uid_t m_euid = 0;
};

PathStep dir(std::string path, mode_t mode, uid_t owner) {
    return {std::move(path), S_IFDIR | mode, owner};
}

// "/", "/etc", "/etc/cloudburst" as a package installs them.
std::vector<PathStep> etc_cloudburst() {
    return {dir("/", 0755, 0), dir("/etc", 0755, 0), dir("/etc/cloudburst", 0755, 0)};
}

std::string load_error(FakeFiles& files, PasswordUse use = PasswordUse::k_read) {
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

TEST(LoadConfig, ANonRootProcessTrustsRootAndItsOwnUser) {
    FakeFiles files;
    files.run_as(k_slurm_uid);
    files.add(k_path, k_inline, 0400, k_slurm_uid, etc_cloudburst());
    EXPECT_TRUE(load_config(k_path, PasswordUse::k_read, files.access()));
    files.add(k_path, k_inline, 0600, 0, etc_cloudburst());
    EXPECT_TRUE(load_config(k_path, PasswordUse::k_read, files.access()));
    files.add(k_path, k_inline, 0600, 1000, etc_cloudburst());
    EXPECT_EQ(load_error(files),
              "/etc/cloudburst/cloudburst.toml is owned by uid 1000, not by root or uid 64030 "
              "(the user running this); run: chown root /etc/cloudburst/cloudburst.toml");
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
              "/etc/cloudburst/cloudburst.toml is owned by uid 1000, not by root; run: "
              "chown root /etc/cloudburst/cloudburst.toml");
}

TEST(LoadConfig, ModeAndOwnerProblemsAreBothReported) {
    FakeFiles files;
    files.add(k_path, k_inline, 0604, 1000);
    EXPECT_EQ(load_error(files),
              "/etc/cloudburst/cloudburst.toml contains a password but is mode 0604; run: chmod "
              "0600 /etc/cloudburst/cloudburst.toml\n"
              "/etc/cloudburst/cloudburst.toml is owned by uid 1000, not by root; run: "
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
              "/etc/cloudburst/cloudburst.toml is owned by uid 1000, not by root; run: "
              "chown root /etc/cloudburst/cloudburst.toml");
}

TEST(LoadConfig, PasswordFileContentWithoutTrailingNewlines) {
    FakeFiles files;
    files.add(k_path, k_with_file, 0644, 0);
    files.add(k_password_path, "Fr0m-File pw\r\n\n", 0400, 0);
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
              "password file /etc/cloudburst/password is owned by uid 1000, not by root; run: "
              "chown root /etc/cloudburst/password");
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

// Issue 11, finding 1: the config trusts its own owner. A user wrote a config that names
// themselves as slurm.user, runs their own scontrol from bin_dir and sends a root-only file as
// the password to their URL; the root daemon and CLI used to accept it because its owner was
// "slurm.user".
TEST(SecurityConfigOwner, AUserConfigNamingItselfAsSlurmUserIsRefusedByRoot) {
    FakeFiles files;
    const std::string attack = R"([cyclecloud]
url = "https://evil.example.com"
cluster = "hpc"
username = "x"
password_file = "/etc/shadow"
[slurm]
user = "eve"
bin_dir = "/home/eve/bin"
)";
    files.add(k_path, attack, 0644, 1000, etc_cloudburst());
    files.add("/etc/shadow", "root:$6$secret:19000::::::\n", 0600, 0, {dir("/etc", 0755, 0)});
    EXPECT_EQ(load_error(files),
              "/etc/cloudburst/cloudburst.toml is owned by uid 1000, not by root; run: chown "
              "root /etc/cloudburst/cloudburst.toml");
    // The root-only file was never read, so it cannot reach the URL.
    EXPECT_EQ(files.reads(), std::vector<std::string>{k_path});
}

TEST(SecurityConfigOwner, RootTrustsOnlyRootEvenForAFileOfTheSlurmUser) {
    FakeFiles files;
    files.add(k_path, k_inline + "[slurm]\nuser = \"slurm\"\n", 0600, k_slurm_uid,
              etc_cloudburst());
    EXPECT_EQ(load_error(files),
              "/etc/cloudburst/cloudburst.toml is owned by uid 64030, not by root; run: chown "
              "root /etc/cloudburst/cloudburst.toml");
    files.add(k_path, k_with_file, 0644, 0, etc_cloudburst());
    files.add(k_password_path, "Fake-Pw-4\n", 0400, k_slurm_uid, etc_cloudburst());
    EXPECT_EQ(load_error(files),
              "password file /etc/cloudburst/password is owned by uid 64030, not by root; run: "
              "chown root /etc/cloudburst/password");
}

TEST(SecurityConfigOwner, ADirectoryAnotherUserCanChangeIsRefused) {
    FakeFiles files;
    const std::string path = "/home/eve/cloudburst.toml";
    files.add(path, k_inline, 0600, 0,
              {dir("/", 0755, 0), dir("/home", 0755, 0), dir("/home/eve", 0755, 1000)});
    auto refused = load_config(path, PasswordUse::k_read, files.access());
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().message,
              "/home/eve/cloudburst.toml is in the directory /home/eve, which is owned by uid "
              "1000, not by root; move the file to a directory that only root can change, such "
              "as /etc/cloudburst");
    files.add(k_path, k_inline, 0600, 0,
              {dir("/", 0755, 0), dir("/etc", 0755, 0), dir("/etc/cloudburst", 0775, 0)});
    EXPECT_EQ(load_error(files),
              "/etc/cloudburst/cloudburst.toml is in the directory /etc/cloudburst, which is "
              "writable by other users (mode 0775); run: chmod go-w /etc/cloudburst");
}

TEST(SecurityConfigOwner, AStickyDirectoryIsTrustedLikeTmp) {
    FakeFiles files;
    const std::string path = "/tmp/cb-x/cloudburst.toml";
    files.add(path, k_inline, 0600, 0,
              {dir("/", 0755, 0), dir("/tmp", 01777, 0), dir("/tmp/cb-x", 0700, 0)});
    EXPECT_TRUE(load_config(path, PasswordUse::k_read, files.access()));
}

TEST(SecurityConfigOwner, ASymbolicLinkOnThePathMustBeOwnedByRoot) {
    FakeFiles files;
    const std::string path = "/tmp/cb/cloudburst.toml";
    files.add(path, k_inline, 0600, 0,
              {dir("/", 0755, 0),
               dir("/tmp", 01777, 0),
               {"/tmp/cb", S_IFLNK | 0777, 1000},
               dir("/", 0755, 0),
               dir("/etc", 0755, 0),
               dir("/etc/cloudburst", 0755, 0)});
    auto refused = load_config(path, PasswordUse::k_read, files.access());
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().message,
              "/tmp/cb/cloudburst.toml is reached through the symbolic link /tmp/cb, which is "
              "owned by uid 1000, not by root; name the file by its real path");
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

    const std::string& path() const { return m_path; }

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
    EXPECT_EQ(refused.error().message, "password file " + password +
                                           " is owned by uid 65534, not by root; run: chown "
                                           "root " +
                                           password);
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

// Issue 11, finding 1: the config trusts its own owner. The same attacks with real files, as
// root: a config owned by `nobody` naming `slurm.user = "nobody"`, a symbolic link, a
// directory another user owns, and the environment choosing an untrusted file.
class SecurityConfigOwnerOnDisk : public RealFiles {
  protected:
    static constexpr uid_t k_nobody = 65534;

    // A directory under the test's directory, owned by `owner`.
    std::string subdir(const std::string& name, uid_t owner) const {
        const std::string path = m_dir.path() + "/" + name;
        EXPECT_EQ(::mkdir(path.c_str(), 0755), 0);
        EXPECT_EQ(::chown(path.c_str(), owner, static_cast<gid_t>(-1)), 0);
        return path;
    }
};

TEST_F(SecurityConfigOwnerOnDisk, AConfigOwnedByNobodyNamingNobodyIsRefused) {
    const std::string secret = m_dir.write("root-only", "R00t-only-secret\n", 0600);
    const std::string path = m_dir.write(
        "cloudburst.toml",
        k_common + "password_file = \"" + secret + "\"\n[slurm]\nuser = \"nobody\"\n", 0644);
    ASSERT_EQ(::chown(path.c_str(), k_nobody, static_cast<gid_t>(-1)), 0);
    auto refused = load_config(path);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().message,
              path + " is owned by uid 65534, not by root; run: chown root " + path);
}

TEST_F(SecurityConfigOwnerOnDisk, ASymbolicLinkIsNotFollowedToTheConfigOrThePassword) {
    const std::string real = m_dir.write("real.toml", k_inline, 0600);
    const std::string link = m_dir.path() + "/cloudburst.toml";
    ASSERT_EQ(::symlink(real.c_str(), link.c_str()), 0);
    auto refused = load_config(link);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().message,
              link +
                  " is a symbolic link, which is not followed for this file; name the file it "
                  "points to (pass --config or set CLOUDBURST_CONFIG to use another file)");

    const std::string secret = m_dir.write("root-only", "R00t-only-secret\n", 0600);
    const std::string password = m_dir.path() + "/password";
    ASSERT_EQ(::symlink(secret.c_str(), password.c_str()), 0);
    const std::string config =
        m_dir.write("with-file.toml", k_common + "password_file = \"" + password + "\"\n", 0644);
    auto no_password = load_config(config);
    ASSERT_FALSE(no_password);
    EXPECT_EQ(no_password.error().message,
              password +
                  " is a symbolic link, which is not followed for this file; name the file it "
                  "points to (the password file named by 'cyclecloud.password_file' in " +
                  config + ")");
}

TEST_F(SecurityConfigOwnerOnDisk, AConfigInADirectoryOfAnotherUserIsRefused) {
    const std::string eve = subdir("eve", k_nobody);
    const std::string path = eve + "/cloudburst.toml";
    std::ofstream(path) << k_inline;
    ASSERT_EQ(::chmod(path.c_str(), 0600), 0);
    auto refused = load_config(path);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().message,
              path + " is in the directory " + eve +
                  ", which is owned by uid 65534, not by root; move the file to a directory "
                  "that only root can change, such as /etc/cloudburst");
}

TEST_F(SecurityConfigOwnerOnDisk, RootOwnedLinksAndDotDotAreWalkedAndChecked) {
    const std::string sub = subdir("sub", 0);
    const std::string path = sub + "/cloudburst.toml";
    std::ofstream(path) << k_inline;
    ASSERT_EQ(::chmod(path.c_str(), 0600), 0);
    const std::string alias = m_dir.path() + "/alias";
    ASSERT_EQ(::symlink("sub", alias.c_str()), 0);
    auto through_link = load_config(alias + "/cloudburst.toml");
    ASSERT_TRUE(through_link) << through_link.error().message;
    auto through_dots = load_config(sub + "/../sub/./cloudburst.toml");
    ASSERT_TRUE(through_dots) << through_dots.error().message;
    // The same link, owned by another user (who could have pointed it anywhere).
    ASSERT_EQ(::lchown(alias.c_str(), k_nobody, static_cast<gid_t>(-1)), 0);
    auto refused = load_config(alias + "/cloudburst.toml");
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().message,
              alias + "/cloudburst.toml is reached through the symbolic link " + alias +
                  ", which is owned by uid 65534, not by root; name the file by its real path");
}

// Sets or unsets environment variables for one test; restores them after.
class ScopedEnv {
  public:
    void set(const char* name, const std::string& value) {
        save(name);
        ::setenv(name, value.c_str(), 1);
    }
    void unset(const char* name) {
        save(name);
        ::unsetenv(name);
    }
    ScopedEnv() = default;
    ScopedEnv(const ScopedEnv&) = delete;
    ScopedEnv& operator=(const ScopedEnv&) = delete;
    ~ScopedEnv() {
        for (const auto& [name, value] : m_saved) {
            if (value) {
                ::setenv(name.c_str(), value->c_str(), 1);
            } else {
                ::unsetenv(name.c_str());
            }
        }
    }

  private:
    void save(const char* name) {
        if (m_saved.count(name) == 0) {
            const char* old = std::getenv(name);
            m_saved[name] = old ? std::optional<std::string>(old) : std::nullopt;
        }
    }
    std::map<std::string, std::optional<std::string>> m_saved;
};

TEST_F(SecurityConfigOwnerOnDisk, TheEnvironmentChoosesOnlyThePathNotTheTrust) {
    const std::string eve = subdir("eve", k_nobody);
    const std::string path = eve + "/cloudburst.toml";
    std::ofstream(path) << k_inline;
    ASSERT_EQ(::chmod(path.c_str(), 0600), 0);
    ScopedEnv env;
    env.set("CLOUDBURST_CONFIG", path);
    const auto by_config = choose_config_path();
    EXPECT_EQ(by_config.path, path);
    EXPECT_EQ(by_config.chosen_by, "CLOUDBURST_CONFIG");
    auto refused = load_chosen_config(by_config, PasswordUse::k_read);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().describe(),
              "$CLOUDBURST_CONFIG chose " + path +
                  " (unset CLOUDBURST_CONFIG or pass --config to use another file): " + path +
                  " is in the directory " + eve +
                  ", which is owned by uid 65534, not by root; move the file to a directory "
                  "that only root can change, such as /etc/cloudburst");

    env.unset("CLOUDBURST_CONFIG");
    env.set("SLURM_CONF", eve + "/slurm.conf");
    const auto by_slurm_conf = choose_config_path();
    EXPECT_EQ(by_slurm_conf.path, path);
    EXPECT_EQ(by_slurm_conf.chosen_by, "SLURM_CONF");
    auto also_refused = load_chosen_config(by_slurm_conf, PasswordUse::k_skip);
    ASSERT_FALSE(also_refused);
    EXPECT_EQ(also_refused.error().context,
              std::vector<std::string>{"$SLURM_CONF chose " + path +
                                       " (unset SLURM_CONF or pass --config to use another "
                                       "file)"});

    // A trusted file chosen the same way is read.
    const std::string good = m_dir.write("good.toml", k_inline, 0600);
    env.set("CLOUDBURST_CONFIG", good);
    auto accepted = load_chosen_config(choose_config_path(), PasswordUse::k_read);
    ASSERT_TRUE(accepted) << accepted.error().describe();
}

}  // namespace
}  // namespace cb
