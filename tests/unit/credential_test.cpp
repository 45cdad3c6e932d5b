// The CycleCloud password as a systemd credential (LoadCredential=, util/credential.h) and
// how load_config prefers it to cyclecloud.password_file. Real files in a temporary
// directory; the tests that need another owner need root (as in CI) and say so otherwise.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "core/config_loader.h"
#include "util/credential.h"
#include "util/files.h"

namespace cb {
namespace {

constexpr uid_t k_slurm_uid = 64030;
const std::string k_config_path = "/etc/cloudburst/cloudburst.toml";
const std::string k_password_path = "/etc/cloudburst/cyclecloud.password";
const std::string k_config = R"([cyclecloud]
url = "https://cc.example.com"
cluster = "hpc"
username = "cloudburst"
password_file = "/etc/cloudburst/cyclecloud.password"
)";

class CredentialDir {
  public:
    CredentialDir() {
        std::string pattern =
            (std::filesystem::temp_directory_path() / "cb-credentials.XXXXXX").string();
        EXPECT_NE(::mkdtemp(pattern.data()), nullptr);
        m_path = pattern;
    }
    ~CredentialDir() { std::filesystem::remove_all(m_path); }
    CredentialDir(const CredentialDir&) = delete;
    CredentialDir& operator=(const CredentialDir&) = delete;

    std::string file() const { return m_path + "/cyclecloud.password"; }
    const std::string& path() const { return m_path; }
    void write(const std::string& content, mode_t mode) const {
        ASSERT_TRUE(write_file_atomic(file(), content, mode));
        ASSERT_EQ(::chmod(file().c_str(), mode), 0);
    }

    // The loader's view: the config (root's, 0644) and, if `password_file_mode`, a root-only
    // password file holding "From-The-File"; the credential from this directory; `euid` as
    // the process's user.
    ConfigFileAccess access(uid_t euid = 0) const {
        ConfigFileAccess files;
        files.read = [](const std::string& path, std::size_t) -> Result<FileSnapshot> {
            if (path == k_config_path) {
                return FileSnapshot{k_config, 0644, 0, {}};
            }
            return make_error(ErrorKind::k_io, "cannot open " + path + ": Permission denied");
        };
        files.credential_path = [this](const std::string& name) -> std::optional<std::string> {
            if (!std::filesystem::exists(std::filesystem::symlink_status(m_path + "/" + name))) {
                return std::nullopt;
            }
            return m_path + "/" + name;
        };
        files.effective_uid = [euid] { return euid; };
        return files;
    }

  private:
    std::string m_path;
};

std::string load_error(const ConfigFileAccess& files) {
    auto config = load_config(k_config_path, PasswordUse::k_read, files);
    EXPECT_FALSE(config);
    return config ? std::string() : config.error().message;
}

// Issue 11, decision 1: cloudburstd runs as SlurmUser and gets the password from systemd.
TEST(SecurityPasswordCredential, TheCredentialIsReadInsteadOfTheRootOnlyPasswordFile) {
    CredentialDir dir;
    dir.write("From-The-Credential\n\n", 0400);
    auto config = load_config(k_config_path, PasswordUse::k_read, dir.access(k_slurm_uid));
    ASSERT_TRUE(config) << config.error().message;
    EXPECT_EQ(config->cyclecloud.password, "From-The-Credential");
}

TEST(SecurityPasswordCredential, ASymlinkInPlaceOfTheCredentialIsNotFollowed) {
    CredentialDir dir;
    const std::string target = dir.path() + "/root-only";
    ASSERT_TRUE(write_file_atomic(target, "Root-Only-Secret\n", 0400));
    ASSERT_EQ(::symlink(target.c_str(), dir.file().c_str()), 0);
    EXPECT_EQ(load_error(dir.access()), "cannot open " + dir.file() + ": it is a symlink");
}

TEST(SecurityPasswordCredential, ACredentialOthersMayWriteIsRefused) {
    CredentialDir dir;
    dir.write("Some-Secret\n", 0622);
    EXPECT_EQ(load_error(dir.access()),
              "credential " + dir.file() +
                  " is writable by other users (mode 0622); systemd writes credentials itself: "
                  "start cloudburstd with the packaged unit (LoadCredential=cyclecloud.password:"
                  "...) or unset CREDENTIALS_DIRECTORY");
}

TEST(SecurityPasswordCredential, ACredentialOfAnotherUserIsRefused) {
    if (::geteuid() != 0) {
        GTEST_SKIP() << "needs root to give the file to another user";
    }
    CredentialDir dir;
    dir.write("Some-Secret\n", 0400);
    ASSERT_EQ(::chown(dir.file().c_str(), 65534, 65534), 0);
    EXPECT_EQ(load_error(dir.access()),
              "credential " + dir.file() +
                  " is owned by uid 65534, not by uid 0 (the service's user) or root; systemd "
                  "writes credentials itself: start cloudburstd with the packaged unit "
                  "(LoadCredential=cyclecloud.password:...) or unset CREDENTIALS_DIRECTORY");
}

TEST(SecurityPasswordCredential, AFifoInPlaceOfTheCredentialIsRefusedWithoutBlocking) {
    CredentialDir dir;
    ASSERT_EQ(::mkfifo(dir.file().c_str(), 0400), 0);
    EXPECT_EQ(load_error(dir.access()), dir.file() + " is not a regular file");
}

TEST(SecurityPasswordCredential, AnEmptyCredentialIsAnError) {
    CredentialDir dir;
    dir.write("\n", 0400);
    EXPECT_EQ(load_error(dir.access()),
              "credential " + dir.file() +
                  " is empty; write the CycleCloud password into the file its LoadCredential= "
                  "names");
}

TEST(SecurityPasswordCredential, WithoutTheCredentialANonRootDaemonIsToldToUseTheUnit) {
    CredentialDir dir;  // empty: not run under the unit
    EXPECT_EQ(load_error(dir.access(k_slurm_uid)),
              "cannot read the password file " + k_password_path +
                  " as uid 64030 (it is root's alone): run cloudburstd under its systemd unit, "
                  "which hands it the password as a credential "
                  "(LoadCredential=cyclecloud.password:" +
                  k_password_path + "), or run this command as root");
    // Root, who may read any file, gets the file's own error.
    EXPECT_EQ(load_error(dir.access(0)),
              "cannot open " + k_password_path +
                  ": Permission denied (the password file named by 'cyclecloud.password_file' "
                  "in " +
                  k_config_path + ")");
}

TEST(SecurityPasswordCredential, TheCredentialPathComesFromCredentialsDirectory) {
    CredentialDir dir;
    ::unsetenv("CREDENTIALS_DIRECTORY");
    EXPECT_EQ(systemd_credential_path("cyclecloud.password"), std::nullopt);
    ::setenv("CREDENTIALS_DIRECTORY", dir.path().c_str(), 1);
    EXPECT_EQ(systemd_credential_path("cyclecloud.password"), std::nullopt);  // not there
    dir.write("Some-Secret\n", 0400);
    EXPECT_EQ(systemd_credential_path("cyclecloud.password"), dir.file());
    ::unsetenv("CREDENTIALS_DIRECTORY");
}

}  // namespace
}  // namespace cb
