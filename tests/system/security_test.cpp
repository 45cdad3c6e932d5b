// Security of the burst stack (issue 5), against the real daemon, hooks, slurmctld and emulator:
// the CycleCloud password never reaches a log, and the control socket and the spool take
// requests only from root and SlurmUser (the testbed's SlurmUser is slurm, as in production,
// and the daemon runs as it).
#include <fcntl.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "daemon/hook.h"
#include "store/spool.h"
#include "testbed.h"
#include "util/files.h"

namespace cb::system_test {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

constexpr uid_t k_nobody = 65534;
constexpr gid_t k_nogroup = 65534;

class SecuritySystem : public ::testing::Test {
  protected:
    void SetUp() override {
        if (auto why = why_system_tests_cannot_run(); !why.empty()) {
            GTEST_SKIP() << why;
        }
        // ResumeTimeout well past the fault phases of NoPasswordInAnyLog... (which run as long
        // as the daemon's backoff takes to make its calls): the test is about logs, and a node
        // Slurm gave up on requeues the job for 121 s more.
        auto tb =
            Testbed::up({"--cloudburst", "--cloud-nodes", "hpc-[1-4]", "--resume-timeout", "300"});
        ASSERT_TRUE(tb) << tb.error().describe();
        m_tb = std::move(*tb);
    }

    void TearDown() override {
        if (m_tb) {
            expect_no_secret_in_logs(*m_tb);
        }
    }

    long responses(const std::string& code) const {
        const json status = emulator_status(*m_tb);
        if (!status.contains("responses") || !status["responses"].contains(code)) {
            return 0;
        }
        return status["responses"][code].get<long>();
    }

    std::string socket_path() const { return m_tb->dir() + "/cloudburst/cloudburstd.sock"; }
    std::string spool_dir() const { return m_tb->dir() + "/cloudburst/spool"; }

    std::unique_ptr<Testbed> m_tb;
};

// What a process running as nobody gets when it tries to hand the daemon a request.
struct NobodyAttempt {
    int connect_errno = -1;  // 0: connected
    int spool_errno = -1;    // 0: wrote a request file
};

// Forks, drops to nobody and tries the socket and the spool with raw system calls (the child
// of a threaded process may make only async-signal-safe calls).
NobodyAttempt attempt_as_nobody(const std::string& socket_path, const std::string& spool_file) {
    int pipe_fds[2];
    if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
        ADD_FAILURE() << "pipe2: " << std::strerror(errno);
        return {};
    }
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, socket_path.c_str(), sizeof addr.sun_path - 1);
    const pid_t pid = ::fork();
    if (pid == 0) {
        int result[2] = {-1, -1};
        if (::setgroups(0, nullptr) != 0 || ::setgid(k_nogroup) != 0 || ::setuid(k_nobody) != 0) {
            ::_exit(3);
        }
        const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
        result[0] =
            ::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0 ? 0 : errno;
        if (result[0] == 0) {
            (void)!::write(fd, "poke\n", 5);
        }
        const int file = ::open(spool_file.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0644);
        result[1] = file >= 0 ? 0 : errno;
        if (file >= 0) {
            (void)!::write(file, "x", 1);
        }
        (void)!::write(pipe_fds[1], result, sizeof result);
        ::_exit(0);
    }
    ::close(pipe_fds[1]);
    NobodyAttempt attempt;
    int result[2] = {-1, -1};
    if (pid > 0 && ::read(pipe_fds[0], result, sizeof result) == sizeof result) {
        attempt = {result[0], result[1]};
    }
    ::close(pipe_fds[0]);
    int status = 0;
    if (pid > 0) {
        ::waitpid(pid, &status, 0);
    }
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "the nobody child failed";
    return attempt;
}

TEST_F(SecuritySystem, NoPasswordInAnyLogAfterABurstThroughServerErrorsAndBadAnswers) {
    // The check itself can fail: a planted copy of the password is found.
    const std::string canary = m_tb->dir() + "/log/canary.log";
    ASSERT_TRUE(write_file_atomic(canary, "x " + cyclecloud_password(*m_tb) + " y\n"));
    EXPECT_EQ(files_containing(*m_tb, cyclecloud_password(*m_tb)),
              std::vector<std::string>{canary});
    std::filesystem::remove(canary);

    // Every API call fails for a while, then half the answers are cut short, then all is well.
    ASSERT_TRUE(emulator_fault(*m_tb, {"http-5xx=1"}));
    const std::string job =
        m_tb->submit(RunAs::k_root, {"-p", "cloud", "-N2", "--wrap", "srun hostname"});
    ASSERT_FALSE(job.empty());
    ASSERT_TRUE(wait_until(60s, [&] { return responses("503") >= 8; }))
        << "the daemon made no calls while the API failed";
    ASSERT_TRUE(wait_until(30s, [&] {
        return daemon_log(*m_tb).find("HTTP 503") != std::string::npos;
    })) << "the daemon logged no error for the failed calls";
    ASSERT_TRUE(emulator_fault(*m_tb, {"http-5xx=0", "malformed-json=0.5"}));
    const long before = emulator_api_calls(emulator_status(*m_tb));
    ASSERT_TRUE(
        wait_until(60s, [&] { return emulator_api_calls(emulator_status(*m_tb)) >= before + 6; }));
    ASSERT_TRUE(emulator_fault(*m_tb, {"clear=all"}));
    EXPECT_TRUE(wait_until(120s, [&] { return m_tb->job_state(job) == "COMPLETED"; }))
        << "job state " << m_tb->job_state(job);
    const json status = emulator_status(*m_tb);
    EXPECT_GE(status["faultsInjected"].value("http-5xx", 0L), 8);
    // TearDown greps every log (and the journal) for the password.
}

TEST_F(SecuritySystem, ControlSocketAndSpoolRefuseOtherUsers) {
    // SlurmUser (the daemon's own user) and root may connect; the socket and spool are private.
    const passwd* slurm = ::getpwnam(k_slurm_user);
    ASSERT_NE(slurm, nullptr);
    const uid_t slurm_uid = slurm->pw_uid;
    struct stat sock {};
    ASSERT_EQ(::stat(socket_path().c_str(), &sock), 0);
    EXPECT_EQ(sock.st_mode & 0777, 0600u);
    EXPECT_EQ(sock.st_uid, slurm_uid);
    struct stat spool {};
    ASSERT_EQ(::stat(spool_dir().c_str(), &spool), 0);
    EXPECT_EQ(spool.st_mode & 0777, 0700u);
    EXPECT_EQ(spool.st_uid, slurm_uid);

    const NobodyAttempt attempt =
        attempt_as_nobody(socket_path(), spool_dir() + "/0000000000000001-1-0.req");
    EXPECT_EQ(attempt.connect_errno, EACCES) << std::strerror(attempt.connect_errno);
    EXPECT_EQ(attempt.spool_errno, EACCES) << std::strerror(attempt.spool_errno);

    // The resume hook run by another user cannot hand in a request either, and says why (the
    // testbed's installed copy: the build directory may be closed to other users).
    auto out =
        m_tb->run_as(RunAs::k_nobody, {m_tb->dir() + "/libexec/cloudburst-resume", "hpc-1"}, 30s);
    ASSERT_TRUE(out) << out.error().describe();
    EXPECT_NE(out->exit_code, 0);
    EXPECT_NE(out->err.find("cloudburst-resume: error: "), std::string::npos) << out->err;
    EXPECT_NE(out->err.find("Permission denied"), std::string::npos) << out->err;

    // Nothing was processed: no request in the journal or the log, no create call, no VM.
    EXPECT_TRUE(std::filesystem::is_empty(spool_dir()));
    EXPECT_EQ(daemon_log(*m_tb).find("request "), std::string::npos) << daemon_log(*m_tb);
    EXPECT_EQ(emulator_create_calls(*m_tb), 0);
    EXPECT_EQ(emulator_vms(*m_tb), 0);
    EXPECT_EQ(m_tb->node_state("hpc-1"), "IDLE+CLOUD+POWERED_DOWN");
}

// A request file another user managed to place in the spool (say while the directory was
// still world-writable, before cloudburstd first tightened it to 0700) is not carried out.
TEST_F(SecuritySystem, SpoolRequestOwnedByAnotherUserIsNotCarriedOut) {
    HookRequest planted;
    planted.kind = HookKind::k_resume;
    planted.hostlist = "hpc-1";
    planted.received_ms = 1;
    planted.pid = 1;
    auto path = Spool(spool_dir()).submit(planted);
    ASSERT_TRUE(path) << path.error().describe();
    ASSERT_EQ(::chown(path->c_str(), k_nobody, k_nogroup), 0);

    // A request of SlurmUser's after it (as the hooks write it; the daemon, which runs as
    // SlurmUser, cannot read a private file of root's): once the daemon took that one, it has
    // seen both.
    HookRequest ours;
    ours.kind = HookKind::k_suspend;
    ours.hostlist = "hpc-2";
    ours.received_ms = 2;
    ours.pid = 2;
    auto our_path = Spool(spool_dir()).submit(ours);
    ASSERT_TRUE(our_path) << our_path.error().describe();
    const passwd* slurm = ::getpwnam(k_slurm_user);
    ASSERT_NE(slurm, nullptr);
    ASSERT_EQ(::chown(our_path->c_str(), slurm->pw_uid, slurm->pw_gid), 0);
    ASSERT_TRUE(wait_until(20s, [&] { return static_cast<bool>(poke_daemon(socket_path())); }))
        << "the daemon's socket does not answer";
    ASSERT_TRUE(wait_until(30s, [&] { return !std::filesystem::exists(*our_path); }))
        << "the daemon did not take SlurmUser's request";

    EXPECT_EQ(daemon_log(*m_tb).find("resume hpc-1"), std::string::npos)
        << "a request file owned by nobody was journaled";
    EXPECT_EQ(emulator_create_calls(*m_tb), 0);
}

// The loader's rule is unit-tested (config_load_test.cpp); this is what an operator sees when
// the daemon itself is started with a password in a file others can read.
TEST(SecurityDaemon, RefusesToStartWithAPasswordInAReadableConfig) {
    if (auto why = why_system_tests_cannot_run(); !why.empty()) {
        GTEST_SKIP() << why;
    }
    auto tmp = TempDir::create("cb-sec-config");
    ASSERT_TRUE(tmp) << tmp.error().describe();
    const std::string dir = tmp->path();
    auto path = tmp->write("cloudburst.toml",
                           "[cyclecloud]\nurl = \"https://127.0.0.1:1\"\ncluster = \"c\"\n"
                           "username = \"u\"\npassword = \"Do-not-leak-42\"\n"
                           "[paths]\nstate_db = \"" +
                               dir + "/state.db\"\nlog_dir = \"" + dir + "/log\"\n",
                           0644);
    ASSERT_TRUE(path) << path.error().describe();
    auto out = run_command({{std::string(CB_BINARY_DIR) + "/cloudburstd", "--config", *path},
                            minimal_environment(),
                            {},
                            30s});
    const bool made_state = std::filesystem::exists(dir + "/state.db");
    ASSERT_TRUE(out) << out.error().describe();
    EXPECT_EQ(out->exit_code, 3);
    EXPECT_EQ(out->err, "cloudburstd: error: " + *path +
                            " contains a password but is mode 0644; "
                            "run: chmod 0600 " +
                            *path + "\n");
    EXPECT_EQ(out->out.find("Do-not-leak-42"), std::string::npos);
    EXPECT_FALSE(made_state) << "the daemon got as far as opening its journal";
}

}  // namespace
}  // namespace cb::system_test
