// Issue 11, finding 9, on a burst node: /sched is now exported with root squashed, so root on
// the node reads the munge key as "nobody" and cannot open it (0400, owned by munge). The
// cluster-init installs the key as the pinned munge UID instead. Without NFS here, root
// squashing is played by root without CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH: a root that
// file modes bind, as they bind "nobody" on the server.
#include <gtest/gtest.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "fakes/temp_dir.h"
#include "util/files.h"
#include "util/process.h"

namespace cb::system_test {
namespace {

using namespace std::chrono_literals;
using testing_fakes::TempDir;

const std::string k_installer = std::string(CB_SOURCE_DIR) +
                                "/templates/cluster-init/cloudburst/specs/execute/cluster-init/"
                                "files/cloudburst-install-munge-key";

std::string read_or_empty(const std::string& path) {
    auto text = read_file(path);
    return text ? *text : std::string();
}

// Runs `argv` as root whose file access file modes decide, like root squashed on NFS.
CommandOutput as_squashed_root(const std::vector<std::string>& argv) {
    std::vector<std::string> full{"/usr/bin/setpriv", "--bounding-set",
                                  "-dac_override,-dac_read_search", "--"};
    full.insert(full.end(), argv.begin(), argv.end());
    auto out = run_command({full, minimal_environment(), {}, 30s});
    EXPECT_TRUE(out) << out.error().describe();
    return out ? *out : CommandOutput{};
}

class SecurityNfsExports : public ::testing::Test {
  protected:
    void SetUp() override {
        if (::geteuid() != 0) {
            GTEST_SKIP() << "needs root (files owned by munge, setpriv)";
        }
        const passwd* munge = ::getpwnam("munge");
        if (munge == nullptr) {
            GTEST_SKIP() << "needs the munge account (scripts/install-deps.sh)";
        }
        m_uid = munge->pw_uid;
        m_gid = munge->pw_gid;
        // The scheduler's /sched/<cluster>, as `cloudburst setup scheduler` leaves it.
        ASSERT_EQ(::chmod(m_dir.path().c_str(), 0755), 0);
        ASSERT_TRUE(make_directories(m_dir.path() + "/sched/hpc1"));
        ASSERT_TRUE(write_file_atomic(m_key, std::string(1024, 'k'), 0400));
        ASSERT_EQ(::chown(m_key.c_str(), m_uid, m_gid), 0);
    }

    std::vector<std::string> install() const {
        return {"/bin/bash", k_installer,           m_key,
                m_key_dir,   std::to_string(m_uid), std::to_string(m_gid)};
    }

    TempDir m_dir{"cb-nfs-node"};
    std::string m_key = m_dir.path() + "/sched/hpc1/munge.key";
    std::string m_key_dir = m_dir.path() + "/etc-munge";
    uid_t m_uid = 0;
    gid_t m_gid = 0;
};

// Issue 11, finding 9: NFS /sched is rw,no_root_squash on a subdirectory of /
TEST_F(SecurityNfsExports, ClusterInitInstallsTheKeyAsMungeWhenRootIsSquashed) {
    // Squashed root cannot read the key, so the old `install -o munge` as root fails.
    EXPECT_NE(as_squashed_root({"/bin/cat", m_key}).exit_code, 0);
    ASSERT_TRUE(make_directories(m_key_dir));
    EXPECT_NE(as_squashed_root({"/usr/bin/install", "-m", "0400", m_key, m_key_dir + "/munge.key"})
                  .exit_code,
              0);
    ASSERT_TRUE(std::filesystem::remove(m_key_dir));

    const CommandOutput first = as_squashed_root(install());
    ASSERT_EQ(first.exit_code, 0) << first.err;
    EXPECT_EQ(first.out, "installed\n");
    EXPECT_EQ(read_or_empty(m_key_dir + "/munge.key"), std::string(1024, 'k'));
    struct stat st {};
    ASSERT_EQ(::lstat((m_key_dir + "/munge.key").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0400u);
    EXPECT_EQ(st.st_uid, m_uid);
    EXPECT_EQ(st.st_gid, m_gid);
    ASSERT_EQ(::lstat(m_key_dir.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0700u);
    EXPECT_EQ(st.st_uid, m_uid);
    EXPECT_FALSE(std::filesystem::exists(m_key_dir + "/.munge.key.new"));

    // Rerun (converge_on_boot): nothing to do. A new key on the scheduler: replaced.
    const CommandOutput again = as_squashed_root(install());
    EXPECT_EQ(again.exit_code, 0) << again.err;
    EXPECT_EQ(again.out, "");
    ASSERT_TRUE(write_file_atomic(m_key, std::string(1024, 'n'), 0400));
    ASSERT_EQ(::chown(m_key.c_str(), m_uid, m_gid), 0);
    const CommandOutput rotated = as_squashed_root(install());
    EXPECT_EQ(rotated.exit_code, 0) << rotated.err;
    EXPECT_EQ(rotated.out, "installed\n");
    EXPECT_EQ(read_or_empty(m_key_dir + "/munge.key"), std::string(1024, 'n'));
}

TEST_F(SecurityNfsExports, ClusterInitSaysWhatToDoWhenMungeCannotReadTheKey) {
    ASSERT_EQ(::chown(m_key.c_str(), 0, 0), 0);  // a key setup did not write
    const CommandOutput out = as_squashed_root(install());
    EXPECT_EQ(out.exit_code, 1);
    EXPECT_TRUE(out.err.ends_with(
        "cloudburst-install-munge-key: cannot read " + m_key + " as the munge user (UID " +
        std::to_string(m_uid) + "): on the scheduler it must be owned by UID " +
        std::to_string(m_uid) +
        " with mode 0400 (rerun `cloudburst setup scheduler` there), and this node's munge UID "
        "must be the scheduler's\n"))
        << out.err;
    EXPECT_FALSE(std::filesystem::exists(m_key_dir + "/munge.key"));
}

}  // namespace
}  // namespace cb::system_test
