// Issue 11, findings 2 and 10: the files init writes (owners, modes, what the hooks can read
// as SlurmUser) and the daemon's systemd unit (as rated by systemd-analyze).
#include <grp.h>
#include <gtest/gtest.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcntl.h>
#include <cstdio>
#include <filesystem>
#include <regex>
#include <string>

#include "cli/init_steps.h"
#include "core/config_loader.h"
#include "fakes/temp_dir.h"
#include "util/files.h"
#include "util/process.h"

namespace cb {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

std::optional<passwd> slurm_account() {
    const passwd* pw = ::getpwnam("slurm");
    return pw != nullptr ? std::optional<passwd>(*pw) : std::nullopt;
}

// What init writes, under `root` (a 0755 directory owned by root) instead of /etc/cloudburst.
struct Layout {
    std::string config;
    std::string password;
    std::string spool;
};

Layout write_init_layout(const std::string& root, uid_t slurm_uid, gid_t slurm_gid) {
    Layout l{root + "/etc/cloudburst/cloudburst.toml", root + "/etc/cloudburst/cyclecloud.password",
             root + "/spool"};
    EXPECT_TRUE(make_directories(root + "/etc/cloudburst", 0755));
    cli::InitSettings s;
    s.url = "https://cc.example.com";
    s.cluster = "hpc1";
    s.username = "cloudburst";
    s.password_file = l.password;
    s.slurm_user = "slurm";
    const std::string text =
        cli::render_init_config("", s).text + "[paths]\nspool_dir = \"" + l.spool + "\"\n";
    auto pw = cli::write_layout_file(l.password, "s3cret-4711\n", cli::k_password_file_mode);
    EXPECT_TRUE(pw) << pw.error().describe();
    auto conf = cli::write_layout_file(l.config, text, cli::k_config_mode);
    EXPECT_TRUE(conf) << conf.error().describe();
    auto spool = cli::prepare_spool(l.spool, slurm_uid, slurm_gid);
    EXPECT_TRUE(spool) << spool.error().describe();
    return l;
}

// Runs `body` in a child that has become `pw` (groups, gid, uid); its exit code, or -1.
template <typename Body>
int as_user(const passwd& pw, Body body) {
    const pid_t pid = ::fork();
    if (pid == 0) {
        if (::setgroups(0, nullptr) != 0 || ::setgid(pw.pw_gid) != 0 || ::setuid(pw.pw_uid) != 0) {
            ::_exit(100);
        }
        ::_exit(body());
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

class SecurityConfigLayoutFiles : public ::testing::Test {
  protected:
    void SetUp() override {
        if (::geteuid() != 0) {
            GTEST_SKIP() << "needs root: it checks files owned by root and drops to SlurmUser";
        }
        m_slurm = slurm_account();
        if (!m_slurm) {
            GTEST_SKIP() << "no 'slurm' account on this machine (install slurmctld)";
        }
        ASSERT_EQ(::chmod(m_dir.path().c_str(), 0755), 0);
    }
    testing_fakes::TempDir m_dir;
    std::optional<passwd> m_slurm;
};

// Issue 11, finding 2: init's config cannot be read by the hooks
TEST_F(SecurityConfigLayoutFiles, InitWritesTheConfigForEveryoneAndThePasswordForRootOnly) {
    const Layout l = write_init_layout(m_dir.path(), m_slurm->pw_uid, m_slurm->pw_gid);
    struct stat st {};
    ASSERT_EQ(::lstat(l.config.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0644u);
    EXPECT_EQ(st.st_uid, 0u);
    EXPECT_EQ(st.st_gid, 0u);
    ASSERT_EQ(::lstat(l.password.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0600u);
    EXPECT_EQ(st.st_uid, 0u);
    EXPECT_EQ(st.st_gid, 0u);
    ASSERT_EQ(::lstat(l.spool.c_str(), &st), 0);
    EXPECT_TRUE(S_ISDIR(st.st_mode));
    EXPECT_EQ(st.st_mode & 07777, 0700u);
    EXPECT_EQ(st.st_uid, m_slurm->pw_uid);
    auto text = read_file(l.config);
    ASSERT_TRUE(text);
    EXPECT_EQ(text->find("s3cret-4711"), std::string::npos) << *text;
    // A rerun with the same content changes nothing.
    auto again = cli::write_layout_file(l.password, "s3cret-4711\n", cli::k_password_file_mode);
    ASSERT_TRUE(again);
    EXPECT_EQ(*again, "unchanged");
    // A password file someone made readable is rewritten 0600.
    ASSERT_EQ(::chmod(l.password.c_str(), 0644), 0);
    auto fixed = cli::write_layout_file(l.password, "s3cret-4711\n", cli::k_password_file_mode);
    ASSERT_TRUE(fixed);
    EXPECT_EQ(*fixed, "written, root:root, mode 0600");
}

// Issue 11, finding 2: init's config cannot be read by the hooks
TEST_F(SecurityConfigLayoutFiles, TheHooksLoadAsSlurmUserWhatInitWroteButNotThePassword) {
    const Layout l = write_init_layout(m_dir.path(), m_slurm->pw_uid, m_slurm->pw_gid);
    // What a hook does: load the config without the password, write into the spool.
    const int loaded = as_user(*m_slurm, [&] {
        auto config = load_config(l.config, PasswordUse::k_skip);
        if (!config) {
            std::fprintf(stderr, "%s\n", config.error().describe().c_str());
            return 1;
        }
        if (::access(config->paths.spool_dir.c_str(), W_OK | X_OK) != 0) {
            return 2;
        }
        return ::open(l.password.c_str(), O_RDONLY | O_CLOEXEC) < 0 ? 0 : 3;
    });
    EXPECT_EQ(loaded, 0) << "1: the config does not load, 2: the spool is not writable, 3: "
                            "SlurmUser can read the password";

    // The old layout (root 0600, password inline) fails for the hooks: the bug of finding 2.
    const std::string old_config = m_dir.path() + "/etc/cloudburst/old.toml";
    ASSERT_TRUE(write_file_atomic(old_config,
                                  "[cyclecloud]\nurl = \"https://cc\"\ncluster = \"c\"\n"
                                  "username = \"u\"\npassword = \"s3cret-4711\"\n",
                                  0600));
    EXPECT_NE(
        as_user(*m_slurm, [&] { return load_config(old_config, PasswordUse::k_skip) ? 0 : 1; }), 0);
}

// The "Overall exposure level" systemd-analyze gives `unit_path`, or nullopt (with a
// message in `why`).
std::optional<double> exposure(const std::string& unit_path, std::string& why) {
    auto r = run_command({{"/usr/bin/systemd-analyze", "security", "--offline=yes", unit_path},
                          minimal_environment(),
                          {},
                          60s});
    if (!r) {
        why = r.error().describe();
        return std::nullopt;
    }
    static const std::regex k_overall("Overall exposure level for [^:]+: ([0-9]+\\.[0-9]+)");
    std::smatch m;
    const std::string all = r->out + r->err;
    if (!std::regex_search(all, m, k_overall)) {
        why = "no exposure level in: " + all;
        return std::nullopt;
    }
    return std::stod(m[1].str());
}

class SecurityDaemonUnit : public ::testing::Test {
  protected:
    void SetUp() override {
        if (!fs::exists("/usr/bin/systemd-analyze")) {
            GTEST_SKIP() << "systemd-analyze is not installed (apt-get install systemd)";
        }
    }
    testing_fakes::TempDir m_dir;
};

constexpr double k_max_exposure = 3.5;

// Issue 11, finding 10: the daemon's unit
TEST_F(SecurityDaemonUnit, TheShippedUnitIsRatedAtMost3Point5) {
    std::string why;
    const auto level = exposure(std::string(CB_SOURCE_DIR) + "/packaging/cloudburstd.service", why);
    ASSERT_TRUE(level) << why;
    EXPECT_LE(*level, k_max_exposure);
}

// Issue 11, finding 10: the daemon's unit
TEST_F(SecurityDaemonUnit, TheUnitInitWritesIsRatedAtMost3Point5AndVerifies) {
    cli::DaemonUnit spec;
    spec.cloudburstd = std::string(CB_BINARY_DIR) + "/cloudburst";  // exists, for verify
    spec.paths.spool_dir = "/srv/cloudburst/spool";
    spec.paths.log_dir = "/srv/cloudburst/log";
    auto unit = cli::daemon_unit(spec);
    ASSERT_TRUE(unit) << unit.error().describe();
    EXPECT_NE(unit->find("ReadWritePaths=/srv/cloudburst/log\nReadWritePaths=/srv/cloudburst/"
                         "spool\n"),
              std::string::npos)
        << *unit;
    EXPECT_EQ(unit->find("LogsDirectory"), std::string::npos) << *unit;
    const std::string path = m_dir.path() + "/cloudburstd.service";
    ASSERT_TRUE(write_file_atomic(path, *unit));
    std::string why;
    const auto level = exposure(path, why);
    ASSERT_TRUE(level) << why;
    EXPECT_LE(*level, k_max_exposure);

    auto verify =
        run_command({{"/usr/bin/systemd-analyze", "verify", path}, minimal_environment(), {}, 60s});
    ASSERT_TRUE(verify) << verify.error().describe();
    EXPECT_EQ(verify->exit_code, 0) << verify->err;
    EXPECT_EQ(verify->err, "");  // an unknown or misspelt directive is only a warning here
}

// Issue 11, finding 10: the daemon's unit
TEST_F(SecurityDaemonUnit, ASlurmUserThatIsNotAPlainNameIsRefused) {
    cli::DaemonUnit spec;
    spec.user = "slurm\nExecStartPre=/tmp/evil";
    auto unit = cli::daemon_unit(spec);
    ASSERT_FALSE(unit);
    EXPECT_EQ(unit.error().message,
              "SlurmUser 'slurm\nExecStartPre=/tmp/evil' is not a plain user name "
              "([A-Za-z_][A-Za-z0-9_-]*, at most 31 characters): fix SlurmUser in slurm.conf");
    EXPECT_TRUE(cli::is_plain_user_name("slurm"));
    EXPECT_FALSE(cli::is_plain_user_name("0slurm"));
    EXPECT_FALSE(cli::is_plain_user_name(""));
}

}  // namespace
}  // namespace cb
