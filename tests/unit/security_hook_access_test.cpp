// Issue 11, finding 2: `doctor` checks, as SlurmUser, that the hooks can read what they need
// and that nobody else can read the secret.
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "cli/hook_access_probe.h"
#include "core/hook_access.h"

namespace cb {
namespace {

HookAccessTarget target() {
    return {"slurm", "/etc/cloudburst/cloudburst.toml", "/var/spool/cloudburst",
            "/run/cloudburst/cloudburstd.sock", "/etc/cloudburst/cyclecloud.password"};
}

// Issue 11, finding 2: init's config cannot be read by the hooks
TEST(SecurityHookAccess, ReportOfInitsLayoutIsOk) {
    auto report = parse_hook_access_report("config ok\nspool ok\nsocket ok\npassword unreadable\n");
    ASSERT_TRUE(report) << report.error().describe();
    const CheckResult r = check_hook_access(target(), *report);
    EXPECT_EQ(format_check(r),
              "ok       Hook access (as slurm): reads /etc/cloudburst/cloudburst.toml, writes "
              "/var/spool/cloudburst, connects to /run/cloudburst/cloudburstd.sock, cannot read "
              "/etc/cloudburst/cyclecloud.password");
}

// Issue 11, finding 2: init's config cannot be read by the hooks
TEST(SecurityHookAccess, UnreadableConfigAndReadablePasswordAreProblemsWithTheirFix) {
    HookAccessReport report;
    report.config_error = "/etc/cloudburst/cloudburst.toml: cannot open\n(Permission denied)";
    report.password = PasswordAccess::k_readable;
    auto parsed = parse_hook_access_report(format_hook_access_report(report));
    ASSERT_TRUE(parsed) << parsed.error().describe();
    const CheckResult r = check_hook_access(target(), *parsed);
    EXPECT_EQ(r.outcome, CheckOutcome::k_problem);
    EXPECT_EQ(r.detail,
              "the hooks cannot load /etc/cloudburst/cloudburst.toml "
              "(/etc/cloudburst/cloudburst.toml: cannot open; (Permission denied)): keep the "
              "password in a root-only cyclecloud.password_file and run: chmod 0644 "
              "/etc/cloudburst/cloudburst.toml; slurm can read the CycleCloud password in "
              "/etc/cloudburst/cyclecloud.password: run: chown root:root "
              "/etc/cloudburst/cyclecloud.password && chmod 0600 "
              "/etc/cloudburst/cyclecloud.password");
}

// Issue 11, finding 2: init's config cannot be read by the hooks
TEST(SecurityHookAccess, SpoolAndSocketRefusalsNameTheFix) {
    auto report = parse_hook_access_report(
        "config ok\nspool error Permission denied\nsocket error Permission denied\n"
        "password none\n");
    ASSERT_TRUE(report) << report.error().describe();
    EXPECT_EQ(check_hook_access(target(), *report).detail,
              "slurm cannot create files in /var/spool/cloudburst (Permission denied): run: "
              "chown slurm: /var/spool/cloudburst && chmod 0700 /var/spool/cloudburst; slurm "
              "cannot connect to /run/cloudburst/cloudburstd.sock (Permission denied): run "
              "cloudburstd as slurm (systemctl restart cloudburstd), which creates the socket");
}

// Issue 11, finding 2: the child runs with fewer privileges than doctor, so its output is
// parsed strictly: anything but the four expected lines is refused, never read as "ok".
TEST(SecurityHookAccess, MalformedReportsAreRefused) {
    const std::pair<std::string, std::string> cases[] = {
        {"", "hook access report line 1: missing: expected \"config STATE\""},
        {"config ok\nspool ok\nsocket ok\n",
         "hook access report line 4: missing: expected \"password STATE\""},
        {"config ok\nspool ok\nsocket ok\npassword unreadable",
         "hook access report line 4: does not end with a newline"},
        {"config ok\nspool ok\nsocket ok\npassword unreadable\nconfig ok\n",
         "hook access report line 5: is one line too many (expected 4 lines)"},
        {"spool ok\nconfig ok\nsocket ok\npassword unreadable\n",
         "hook access report line 1: expected \"config STATE\""},
        {"config fine\nspool ok\nsocket ok\npassword unreadable\n",
         "hook access report line 1: unknown config state \"fine\" (expected ok or error)"},
        {"config ok\nspool ok\nsocket ok\npassword unreadable maybe\n",
         "hook access report line 4: only \"error\" carries a message"},
        {"config error\nspool ok\nsocket ok\npassword unreadable\n",
         "hook access report line 1: \"error\" without a message"},
        {"config ok\rx\nspool ok\nsocket ok\npassword unreadable\n",
         "hook access report line 1: holds a control character"},
        {std::string(k_max_hook_access_report + 1, 'x'),
         "hook access report is 16385 bytes, more than the 16384 allowed"},
    };
    for (const auto& [text, message] : cases) {
        auto report = parse_hook_access_report(text);
        ASSERT_FALSE(report) << text;
        EXPECT_EQ(report.error().kind, ErrorKind::k_invalid_input);
        EXPECT_EQ(report.error().describe(), message);
    }
}

// The real thing: doctor's check run as root against the `slurm` account on a temporary tree
// laid out as init lays it out, then with the old init layout (config 0600) and with a
// world-readable password file.
class SecurityHookAccessAsSlurmUser : public ::testing::Test {
  protected:
    void SetUp() override {
        if (::geteuid() != 0) {
            GTEST_SKIP() << "needs root: switches to the slurm account";
        }
        const passwd* pw = ::getpwnam("slurm");
        if (pw == nullptr) {
            GTEST_SKIP() << "no slurm account on this machine (install slurmctld)";
        }
        m_user = {"slurm", pw->pw_uid, pw->pw_gid};
        std::string pattern = "/tmp/cb-hook-access.XXXXXX";
        ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
        m_root = pattern;
        ASSERT_EQ(::chmod(m_root.c_str(), 0755), 0);
        m_target = {"slurm", m_root + "/cloudburst.toml", m_root + "/spool", "",
                    m_root + "/cyclecloud.password"};
        std::ofstream(m_target.password_file) << "s3cret-4711\n";
        ASSERT_EQ(::chmod(m_target.password_file.c_str(), 0600), 0);
        std::ofstream(m_target.config)
            << "[cyclecloud]\nurl = \"https://cc.example.com\"\ncluster = \"c\"\n"
               "username = \"admin\"\npassword_file = \""
            << m_target.password_file << "\"\n\n[paths]\nspool_dir = \"" << m_target.spool_dir
            << "\"\n";
        ASSERT_EQ(::chmod(m_target.config.c_str(), 0644), 0);
        ASSERT_EQ(::mkdir(m_target.spool_dir.c_str(), 0700), 0);
        ASSERT_EQ(::chown(m_target.spool_dir.c_str(), m_user.uid, m_user.gid), 0);
    }
    void TearDown() override {
        if (!m_root.empty()) {
            std::filesystem::remove_all(m_root);
        }
    }
    CheckResult check() const {
        return cli::check_hook_access_as(m_user, std::string(CB_BINARY_DIR) + "/cloudburst",
                                         m_target);
    }

    UserIds m_user;
    std::string m_root;
    HookAccessTarget m_target;
};

// Issue 11, finding 2: init's config cannot be read by the hooks
TEST_F(SecurityHookAccessAsSlurmUser, InitsLayoutIsOk) {
    EXPECT_EQ(format_check(check()), "ok       Hook access (as slurm): reads " + m_target.config +
                                         ", writes " + m_target.spool_dir + ", cannot read " +
                                         m_target.password_file);
    EXPECT_TRUE(std::filesystem::is_empty(m_target.spool_dir));  // the probe file is gone
}

// Issue 11, finding 2: init's config cannot be read by the hooks
TEST_F(SecurityHookAccessAsSlurmUser, OldInitLayoutConfig0600IsReported) {
    ASSERT_EQ(::chmod(m_target.config.c_str(), 0600), 0);
    const CheckResult r = check();
    EXPECT_EQ(r.outcome, CheckOutcome::k_problem);
    EXPECT_EQ(r.detail.rfind("the hooks cannot load " + m_target.config + " (", 0), 0u) << r.detail;
    EXPECT_NE(r.detail.find("): keep the password in a root-only cyclecloud.password_file and "
                            "run: chmod 0644 " +
                            m_target.config),
              std::string::npos)
        << r.detail;
}

// Issue 11, finding 2: init's config cannot be read by the hooks
TEST_F(SecurityHookAccessAsSlurmUser, ReadablePasswordFileIsReported) {
    ASSERT_EQ(::chmod(m_target.password_file.c_str(), 0644), 0);
    const CheckResult r = check();
    EXPECT_EQ(r.outcome, CheckOutcome::k_problem);
    EXPECT_EQ(r.detail, "slurm can read the CycleCloud password in " + m_target.password_file +
                            ": run: chown root:root " + m_target.password_file + " && chmod 0600 " +
                            m_target.password_file);
}

// Issue 11, finding 2: the spool the hooks write to is tried too.
TEST_F(SecurityHookAccessAsSlurmUser, SpoolOwnedByRootIsReported) {
    ASSERT_EQ(::chown(m_target.spool_dir.c_str(), 0, 0), 0);
    const CheckResult r = check();
    EXPECT_EQ(r.detail, "slurm cannot create files in " + m_target.spool_dir +
                            " (Permission denied): run: chown slurm: " + m_target.spool_dir +
                            " && chmod 0700 " + m_target.spool_dir);
}

}  // namespace
}  // namespace cb
