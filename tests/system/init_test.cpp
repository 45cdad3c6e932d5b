// `cloudburst init` and `cloudburst doctor` on a real testbed (issue #6): init's messages for
// a wrong URL, TLS, password and cluster, verbatim; the right settings write the layout of
// docs/design/security.md (config 0644 without the password, password file 0600) and a rerun
// changes nothing; doctor then finds no problems.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "testbed.h"
#include "util/files.h"

namespace cb::system_test {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

// A TCP port on 127.0.0.1 that refuses connections while this object lives: bound, never
// listening, so nobody else can take it meanwhile.
class ClosedPort {
  public:
    ClosedPort() : m_fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof addr;
        if (m_fd >= 0 && ::bind(m_fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0 &&
            ::getsockname(m_fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
            m_port = ntohs(addr.sin_port);
        }
    }
    ClosedPort(const ClosedPort&) = delete;
    ClosedPort& operator=(const ClosedPort&) = delete;
    ~ClosedPort() {
        if (m_fd >= 0) {
            ::close(m_fd);
        }
    }
    int port() const { return m_port; }

  private:
    int m_fd;
    int m_port = 0;
};

class InitSystem : public ::testing::Test {
  protected:
    void SetUp() override {
        if (auto why = why_system_tests_cannot_run(); !why.empty()) {
            GTEST_SKIP() << why;
        }
        // The settings doctor wants and the testbed does not set by default.
        m_extra_conf = fs::temp_directory_path() /
                       ("cloudburst-init-test-" + std::to_string(::getpid()) + ".conf");
        ASSERT_TRUE(write_file_atomic(m_extra_conf.string(), "SrunPortRange=60001-63000\n"));
        auto tb =
            // The template's dynamic array without nodes: its nodes would need a slurmctld
            // restart after scale (MaxNodeCount) and a second scale (DynamicSystem's subject).
            Testbed::up({"--cloudburst", "--cloud-nodes", "hpc-[1-2]", "--resume-timeout", "1800",
                         "--suspend-timeout", "600", "--extra-conf", m_extra_conf.string(),
                         "--emulator-arg", "-p", "--emulator-arg", "MaxDynamicExecuteCoreCount=0"});
        ASSERT_TRUE(tb) << tb.error().describe();
        m_tb = std::move(*tb);
        m_config = m_tb->dir() + "/init/cloudburst.toml";
        m_password_file = m_tb->dir() + "/etc/cloudburst.password";
    }

    void TearDown() override {
        m_tb.reset();
        std::error_code ec;
        fs::remove(m_extra_conf, ec);
    }

    // `cloudburst --config CONFIG ARGS...`, never interactive (stdin is an empty pipe).
    CommandOutput cloudburst(const std::vector<std::string>& args, const std::string& config,
                             const std::string& password_env = {}) const {
        std::vector<std::string> argv{std::string(CB_BINARY_DIR) + "/cloudburst", "--config",
                                      config};
        argv.insert(argv.end(), args.begin(), args.end());
        Command c{argv, minimal_environment(), {}, 60s};
        c.env.push_back("SLURM_CONF=" + m_tb->slurm_conf());
        if (!password_env.empty()) {
            c.env.push_back("CLOUDBURST_PASSWORD=" + password_env);
        }
        auto r = run_command(c);
        EXPECT_TRUE(r) << r.error().describe();
        return r ? *r : CommandOutput{};
    }

    std::vector<std::string> init_args(const std::string& url, const std::string& cluster,
                                       bool with_ca = true) const {
        std::vector<std::string> args{"init",       "--non-interactive",
                                      "--url",      url,
                                      "--cluster",  cluster,
                                      "--username", m_tb->env("CB_TESTBED_EMULATOR_USER")};
        if (with_ca) {
            args.push_back("--ca-bundle");
            args.push_back(m_tb->env("CB_TESTBED_EMULATOR_CA"));
        }
        return args;
    }

    std::string url() const { return m_tb->env("CB_TESTBED_EMULATOR_URL"); }
    std::string cluster() const { return m_tb->env("CB_TESTBED_EMULATOR_CLUSTER"); }
    // The host in the emulator's URL ("https://HOST:PORT").
    std::string host() const {
        const std::string rest = url().substr(url().find("://") + 3);
        return rest.substr(0, rest.find(':'));
    }

    fs::path m_extra_conf;
    std::unique_ptr<Testbed> m_tb;
    std::string m_config;
    std::string m_password_file;
};

TEST_F(InitSystem, WrongSettingsGiveExactMessagesAndWriteNothing) {
    const std::string config = m_tb->dir() + "/wrong/cloudburst.toml";
    const std::string wrong_password = "not-the-password-4711";
    const std::string user = m_tb->env("CB_TESTBED_EMULATOR_USER");

    auto r = cloudburst(init_args("https://nosuch-cyclecloud.invalid", cluster()), config,
                        wrong_password);
    EXPECT_EQ(r.exit_code, 4);
    EXPECT_EQ(r.err,
              "cloudburst: error: cannot resolve the host name 'nosuch-cyclecloud.invalid' of "
              "https://nosuch-cyclecloud.invalid: check the host in the URL and this machine's "
              "DNS settings (/etc/resolv.conf)\n");

    const ClosedPort closed;
    ASSERT_NE(closed.port(), 0);
    const std::string port = std::to_string(closed.port());
    r = cloudburst(init_args("https://127.0.0.1:" + port, cluster()), config, wrong_password);
    EXPECT_EQ(r.exit_code, 4);
    EXPECT_EQ(r.err, "cloudburst: error: connection to 127.0.0.1 port " + port +
                         " refused: nothing listens there; check the port in the URL and that "
                         "CycleCloud is running\n");

    r = cloudburst(init_args(url(), cluster(), /*with_ca=*/false), config, wrong_password);
    EXPECT_EQ(r.exit_code, 4);
    EXPECT_EQ(r.err, "cloudburst: error: CycleCloud's TLS certificate at " + url() +
                         " is self-signed or signed by a CA this machine does not trust (a "
                         "fresh CycleCloud serves a self-signed one): trust this server's key "
                         "with `cloudburst init --tls-pin` (init shows its fingerprint and key), "
                         "give its CA certificate in cyclecloud.ca_bundle, or install a "
                         "CA-signed certificate in CycleCloud "
                         "(https://learn.microsoft.com/azure/cyclecloud/how-to/"
                         "ssl-configuration) (this server's: --tls-pin " +
                         m_tb->env("CB_TESTBED_EMULATOR_TLS_PIN") + ")\n");

    r = cloudburst(init_args(url(), cluster()), config, wrong_password);
    EXPECT_EQ(r.exit_code, 4);
    EXPECT_EQ(r.err, "cloudburst: error: CycleCloud at " + url() + " rejected user '" + user +
                         "' (HTTP 401): check the user name and password\n");

    auto args = init_args(url(), "no-such-cluster");
    args.insert(args.end(), {"--password-file", m_password_file});
    r = cloudburst(args, config);
    EXPECT_EQ(r.exit_code, 4);
    EXPECT_EQ(r.err, "cloudburst: error: CycleCloud at " + url() +
                         " has no cluster named 'no-such-cluster': check the name (it is "
                         "case-sensitive) or import the cluster first\n");

    EXPECT_FALSE(fs::exists(fs::path(config).parent_path()));
}

TEST_F(InitSystem, RightSettingsWriteAPrivateConfigOnceAndDoctorIsHappy) {
    // Start from the testbed's own config (paths of its daemon), as a rerun over an existing
    // file would: init keeps its password file and writes it root:root 0600.
    ASSERT_TRUE(make_directories(m_tb->dir() + "/init"));
    auto base = read_file(m_tb->dir() + "/etc/cloudburst.toml");
    ASSERT_TRUE(base);
    ASSERT_TRUE(write_file_atomic(m_config, *base, 0644));

    // A slurm.conf that does not include the generated file yet (the testbed's does, as
    // `setup scheduler` would): init says so.
    const std::string generated = m_tb->dir() + "/etc/cloudburst.conf";
    auto slurm_conf = read_file(m_tb->slurm_conf());
    ASSERT_TRUE(slurm_conf);
    const std::string include_line = "Include " + generated + "\n";
    const auto at = slurm_conf->find(include_line);
    ASSERT_NE(at, std::string::npos) << *slurm_conf;
    ASSERT_TRUE(
        write_file_atomic(m_tb->slurm_conf(), slurm_conf->erase(at, include_line.size()), 0644));
    auto args = init_args(url(), cluster());
    args.insert(args.end(), {"--password-file", m_password_file, "--no-start"});
    auto first = cloudburst(args, m_config);
    EXPECT_EQ(first.exit_code, 1) << first.out << first.err;
    // init rewrites the testbed's config into its own layout: password_file, root 0644.
    EXPECT_NE(first.out.find("config " + m_config + ": written, root:root, mode 0644\n"),
              std::string::npos)
        << first.out;
    EXPECT_NE(first.out.find("problem  Include: " + m_tb->slurm_conf() + " does not include " +
                             generated + ": add the line `Include " + generated +
                             "` to it, then `scontrol reconfigure`\n"),
              std::string::npos)
        << first.out;
    EXPECT_NE(
        first.out.find("ok       ResumeProgram: " + m_tb->dir() + "/libexec/cloudburst-resume\n"),
        std::string::npos)
        << first.out;
    struct stat st {};
    ASSERT_EQ(::stat(m_config.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0644u);
    ASSERT_EQ(::stat(m_password_file.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0600u);
    EXPECT_EQ(st.st_uid, 0u);
    auto text = read_file(m_config);
    ASSERT_TRUE(text);
    EXPECT_NE(text->find("password_file = \"" + m_password_file + "\""), std::string::npos)
        << *text;
    EXPECT_TRUE(fs::exists(generated));

    {
        std::ofstream conf(m_tb->slurm_conf(), std::ios::app);
        conf << "Include " << generated << "\n";
    }
    auto second = cloudburst(args, m_config);
    EXPECT_EQ(second.exit_code, 0) << second.out << second.err;
    EXPECT_NE(second.out.find("config " + m_config + ": unchanged\n"), std::string::npos)
        << second.out;
    EXPECT_NE(second.out.find(generated + ": unchanged\n"), std::string::npos) << second.out;
    EXPECT_EQ(second.out.find("written"), std::string::npos) << second.out;
    auto again = read_file(m_config);
    ASSERT_TRUE(again);
    EXPECT_EQ(*again, *text);

    // A well-formed exports file of our own, so the machine's /etc/exports does not matter.
    const std::string exports = m_tb->dir() + "/exports";
    ASSERT_TRUE(write_file_atomic(exports, "/sched 198.18.0.0/15(ro,sync,root_squash)\n"));
    const std::vector<std::string> doctor{"doctor", "--munge-key", m_tb->dir() + "/munge/munge.key",
                                          "--exports", exports};
    auto report = cloudburst(doctor, m_config);
    EXPECT_EQ(report.exit_code, 0) << report.out << report.err;
    EXPECT_NE(report.out.find("doctor: no problems\n"), std::string::npos) << report.out;
    EXPECT_EQ(report.out.find("problem "), std::string::npos) << report.out;

    auto with_json = doctor;
    with_json.push_back("--json");
    auto as_json = cloudburst(with_json, m_config);
    EXPECT_EQ(as_json.exit_code, 0) << as_json.out;
    const auto parsed = nlohmann::json::parse(as_json.out, nullptr, false);
    ASSERT_FALSE(parsed.is_discarded()) << as_json.out;
    EXPECT_TRUE(parsed.value("ok", false));
    EXPECT_GE(parsed["checks"].size(), 15u);
}

// Issue 12, item 8: a CycleCloud as it comes, with a self-signed certificate for another name.
// init with the key's --tls-pin connects and writes the pin; a rerun takes it from the config
// and changes nothing.
TEST(InitTlsSystem, InitPinsASelfSignedCertificateForAnotherName) {
    if (auto why = why_system_tests_cannot_run(); !why.empty()) {
        GTEST_SKIP() << why;
    }
    auto tb = Testbed::up({"--emulator", "--emulator-arg", "--tls", "--emulator-arg", "self-signed",
                           "--emulator-arg", "--tls-cn", "--emulator-arg", "other-host"});
    ASSERT_TRUE(tb) << tb.error().describe();
    const std::string pin = (*tb)->env("CB_TESTBED_EMULATOR_TLS_PIN");
    ASSERT_EQ(pin.rfind("sha256//", 0), 0u) << pin;
    EXPECT_EQ((*tb)->env("CB_TESTBED_EMULATOR_CA"), "");
    const std::string config = (*tb)->dir() + "/pinned/cloudburst.toml";
    const std::string password_file = (*tb)->dir() + "/pinned.password";
    auto credentials = read_file((*tb)->env("CB_TESTBED_EMULATOR_CREDENTIALS"));
    ASSERT_TRUE(credentials);
    const std::string line = credentials->substr(0, credentials->find('\n'));
    ASSERT_TRUE(write_file_atomic(password_file, line.substr(line.find(':') + 1) + "\n", 0600));

    const auto init = [&](std::vector<std::string> extra) {
        std::vector<std::string> argv{std::string(CB_BINARY_DIR) + "/cloudburst",
                                      "--config",
                                      config,
                                      "init",
                                      "--non-interactive",
                                      "--no-start",
                                      "--url",
                                      (*tb)->env("CB_TESTBED_EMULATOR_URL"),
                                      "--cluster",
                                      (*tb)->env("CB_TESTBED_EMULATOR_CLUSTER"),
                                      "--username",
                                      (*tb)->env("CB_TESTBED_EMULATOR_USER"),
                                      "--password-file",
                                      password_file};
        argv.insert(argv.end(), extra.begin(), extra.end());
        Command c{argv, minimal_environment(), {}, 60s};
        c.env.push_back("SLURM_CONF=" + (*tb)->slurm_conf());
        auto r = run_command(c);
        EXPECT_TRUE(r) << r.error().describe();
        return r ? *r : CommandOutput{};
    };
    const std::string connected = "ok       CycleCloud: connected to cluster '" +
                                  (*tb)->env("CB_TESTBED_EMULATOR_CLUSTER") + "' at " +
                                  (*tb)->env("CB_TESTBED_EMULATOR_URL") + " as '" +
                                  (*tb)->env("CB_TESTBED_EMULATOR_USER") + "'\n";
    auto first = init({"--tls-pin", pin});
    EXPECT_NE(first.out.find(connected), std::string::npos) << first.out << first.err;
    EXPECT_NE(first.out.find("config " + config + ": new file"), std::string::npos) << first.out;
    auto text = read_file(config);
    ASSERT_TRUE(text);
    EXPECT_NE(text->find("\ntls_pin = \"" + pin + "\"\n"), std::string::npos) << *text;
    EXPECT_EQ(text->find("ca_bundle"), std::string::npos) << *text;

    auto again = init({});
    EXPECT_NE(again.out.find(connected), std::string::npos) << again.out << again.err;
    EXPECT_NE(again.out.find("config " + config + ": unchanged\n"), std::string::npos) << again.out;
}

}  // namespace
}  // namespace cb::system_test
