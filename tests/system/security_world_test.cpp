// The test world runs as production does (issue 11): slurmctld with SlurmUser=slurm, the
// hooks and cloudburstd as slurm, the password root's alone except for the copy systemd's
// LoadCredential= hands the daemon. Each check reads what the kernel says (the uid in
// /proc/PID/status, a file's owner), not what the testbed meant to do.
#include <gtest/gtest.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>

#include <filesystem>

#include "testbed.h"
#include "util/files.h"

namespace cb::system_test {
namespace {

using namespace std::chrono_literals;

// The real uid of process `pid` (the first field of Uid: in /proc/PID/status), or -1.
long uid_of_process(pid_t pid) {
    auto status = read_file("/proc/" + std::to_string(pid) + "/status", 1 << 16);
    if (!status) {
        return -1;
    }
    for (const auto& line : lines_of(*status)) {
        if (line.rfind("Uid:", 0) == 0) {
            return std::strtol(line.c_str() + 4, nullptr, 10);
        }
    }
    return -1;
}

pid_t pid_from_file(const std::string& path) {
    auto text = read_file(path, 64);
    return text ? static_cast<pid_t>(std::strtol(text->c_str(), nullptr, 10)) : -1;
}

class SecurityTestWorld : public ::testing::Test {
  protected:
    void SetUp() override {
        if (auto why = why_system_tests_cannot_run(); !why.empty()) {
            GTEST_SKIP() << why;
        }
        const passwd* slurm = ::getpwnam(k_slurm_user);
        ASSERT_NE(slurm, nullptr) << "no user " << k_slurm_user
                                  << " (the slurmctld package makes it)";
        m_slurm_uid = slurm->pw_uid;
        ASSERT_NE(m_slurm_uid, 0u);
        auto tb = Testbed::up({"--cloudburst", "--cloud-nodes", "hpc-[1-2]"});
        ASSERT_TRUE(tb) << tb.error().describe();
        m_tb = std::move(*tb);
    }

    void TearDown() override {
        if (m_tb) {
            expect_no_secret_in_logs(*m_tb);
        }
    }

    uid_t m_slurm_uid = 0;
    std::unique_ptr<Testbed> m_tb;
};

// Issue 11, the test world runs as production does: slurmctld and cloudburstd run as slurm,
// and so do the hooks, whose request file in the spool is slurm's.
TEST_F(SecurityTestWorld, SlurmctldTheDaemonAndTheHooksRunAsSlurm) {
    const pid_t slurmctld = pid_from_file(m_tb->dir() + "/run/slurmctld.pid");
    ASSERT_GT(slurmctld, 1);
    EXPECT_EQ(uid_of_process(slurmctld), static_cast<long>(m_slurm_uid));
    ASSERT_GT(daemon_pid(*m_tb), 1);
    EXPECT_EQ(uid_of_process(daemon_pid(*m_tb)), static_cast<long>(m_slurm_uid));

    // With the daemon stopped, the resume hook's request stays in the spool to be looked at.
    ASSERT_TRUE(stop_daemon(*m_tb, SIGTERM));
    const std::string spool = m_tb->dir() + "/cloudburst/spool";
    const std::string job = m_tb->submit(RunAs::k_nobody, {"-p", "cloud", "-N1", "--wrap", "true"});
    ASSERT_FALSE(job.empty());
    std::string request;
    ASSERT_TRUE(wait_until(60s,
                           [&] {
                               std::error_code ec;
                               for (const auto& entry :
                                    std::filesystem::directory_iterator(spool, ec)) {
                                   if (entry.path().extension() == ".req") {
                                       request = entry.path().string();
                                       return true;
                                   }
                               }
                               return false;
                           }))
        << "slurmctld did not run the resume hook (see " << m_tb->dir() << "/log/slurmctld.log)";
    struct stat st {};
    ASSERT_EQ(::stat(request.c_str(), &st), 0) << request;
    EXPECT_EQ(st.st_uid, m_slurm_uid) << request;

    // Started again as the testbed starts it, the daemon is slurm's too and carries it out.
    ASSERT_TRUE(start_daemon(*m_tb));
    EXPECT_EQ(uid_of_process(daemon_pid(*m_tb)), static_cast<long>(m_slurm_uid));
    EXPECT_TRUE(wait_until(120s, [&] { return m_tb->job_state(job) == "COMPLETED"; }))
        << "job state " << m_tb->job_state(job);
}

// Issue 11, the test world runs as production does: the password is root's alone (0600), the
// config slurm reads holds none, and the daemon's copy (the systemd credential) is slurm's.
// The daemon is not dumpable, so another process of slurm's cannot read its memory.
TEST_F(SecurityTestWorld, ThePasswordIsNotReadableBySlurmOutsideTheCredential) {
    const std::string password = cyclecloud_password(*m_tb);
    ASSERT_FALSE(password.empty());
    const std::string file = m_tb->dir() + "/etc/cloudburst.password";
    struct stat st {};
    ASSERT_EQ(::stat(file.c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, 0u);
    EXPECT_EQ(st.st_mode & 07777, 0600u);
    auto as_slurm = m_tb->run_as(RunAs::k_slurm, {"/usr/bin/cat", file}, 30s);
    ASSERT_TRUE(as_slurm) << as_slurm.error().describe();
    EXPECT_NE(as_slurm->exit_code, 0);
    EXPECT_EQ(as_slurm->err, "/usr/bin/cat: " + file + ": Permission denied\n");

    // The config, which the hooks read as slurm, names the file and holds no secret.
    const std::string config = m_tb->dir() + "/etc/cloudburst.toml";
    auto config_as_slurm = m_tb->run_as(RunAs::k_slurm, {"/usr/bin/cat", config}, 30s);
    ASSERT_TRUE(config_as_slurm) << config_as_slurm.error().describe();
    ASSERT_EQ(config_as_slurm->exit_code, 0) << config_as_slurm->err;
    EXPECT_EQ(config_as_slurm->out.find(password), std::string::npos);
    EXPECT_NE(config_as_slurm->out.find("password_file = \"" + file + "\""), std::string::npos);

    // The credential: slurm's, 0400, in a directory only slurm may enter; nobody reads it.
    const std::string credential = m_tb->dir() + "/credentials/cyclecloud.password";
    ASSERT_EQ(::lstat(credential.c_str(), &st), 0);
    EXPECT_TRUE(S_ISREG(st.st_mode));
    EXPECT_EQ(st.st_uid, m_slurm_uid);
    EXPECT_EQ(st.st_mode & 07777, 0400u);
    auto as_nobody = m_tb->run_as(RunAs::k_nobody, {"/usr/bin/cat", credential}, 30s);
    ASSERT_TRUE(as_nobody) << as_nobody.error().describe();
    EXPECT_NE(as_nobody->exit_code, 0);
    EXPECT_EQ(as_nobody->out.find(password), std::string::npos);

    // Another process of slurm's (a hook, a job step of SlurmUser) cannot look inside the
    // daemon: PR_SET_DUMPABLE 0 makes its /proc entries root's.
    const std::string environ = "/proc/" + std::to_string(daemon_pid(*m_tb)) + "/environ";
    auto peek = m_tb->run_as(RunAs::k_slurm, {"/usr/bin/cat", environ}, 30s);
    ASSERT_TRUE(peek) << peek.error().describe();
    EXPECT_NE(peek->exit_code, 0);
    EXPECT_EQ(peek->err, "/usr/bin/cat: " + environ + ": Permission denied\n");

    // `down` takes the copy away with the daemon.
    const std::string dir = m_tb->dir();
    ASSERT_TRUE(m_tb->down());
    EXPECT_FALSE(std::filesystem::exists(dir + "/credentials"));
    EXPECT_TRUE(processes_mentioning(dir).empty());
}

// Issue 11, the test world runs as production does: started as slurm without the credential
// (not under its unit), the daemon cannot read the root-only password file and says how to run
// it instead of failing obscurely.
TEST_F(SecurityTestWorld, TheDaemonAsSlurmWithoutTheCredentialSaysToUseTheUnit) {
    const std::string user = k_slurm_user;
    Command daemon{{"/usr/bin/setpriv", "--reuid=" + user, "--regid=" + user, "--init-groups",
                    std::string(CB_BINARY_DIR) + "/cloudburstd", "--config",
                    m_tb->dir() + "/etc/cloudburst.toml"},
                   minimal_environment(),
                   {},
                   30s};
    daemon.env.push_back("SLURM_CONF=" + m_tb->slurm_conf());
    auto out = run_command(daemon);
    ASSERT_TRUE(out) << out.error().describe();
    const std::string file = m_tb->dir() + "/etc/cloudburst.password";
    EXPECT_EQ(out->exit_code, 3);
    EXPECT_EQ(out->err, "cloudburstd: error: cannot read the password file " + file + " as uid " +
                            std::to_string(m_slurm_uid) +
                            " (it is root's alone): run cloudburstd under its systemd unit, which "
                            "hands it the password as a credential "
                            "(LoadCredential=cyclecloud.password:" +
                            file + "), or run this command as root\n");
}

}  // namespace
}  // namespace cb::system_test
