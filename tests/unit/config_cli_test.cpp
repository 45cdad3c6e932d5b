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

// Issue 11, finding 1: the config trusts its own owner. A user points CLOUDBURST_CONFIG (kept
// by sudo, or set in a root shell) at a config they own, which names them as slurm.user and a
// root-only file as the password; root's `cloudburst` refuses it and says which variable chose
// it. `init`, which takes its defaults from an existing config, refuses it too.
TEST_F(ConfigCli, SecurityConfigOwnerRootRefusesAUserConfigChosenByTheEnvironment) {
    if (!root()) {
        GTEST_SKIP() << "needs root: the attack is on a root process";
    }
    const std::string secret = write("root-only", "R00t-only\n");
    const std::string path =
        write("eve.toml",
              "[cyclecloud]\nurl = \"https://127.0.0.1:1\"\ncluster = \"c\"\n"
              "username = \"u\"\npassword_file = \"" +
                  secret + "\"\n[slurm]\nuser = \"nobody\"\nbin_dir = \"" + m_dir + "\"\n");
    ASSERT_EQ(::chown(path.c_str(), 65534, static_cast<gid_t>(-1)), 0);
    const std::string env = "CLOUDBURST_CONFIG=" + path;
    const std::string refusal =
        path + " is owned by uid 65534, not by root; run: chown root " + path + "\n";
    for (const char* command : {"check", "show"}) {
        const auto out = run({"config", command}, {env});
        EXPECT_EQ(out.exit_code, 3) << command;
        EXPECT_EQ(out.out, "");
        EXPECT_EQ(out.err, "cloudburst: error: $CLOUDBURST_CONFIG chose " + path +
                               " (unset CLOUDBURST_CONFIG or pass --config to use another "
                               "file): " +
                               refusal);
    }
    const auto scale = run({"scale", "--dry-run"}, {env});
    EXPECT_EQ(scale.exit_code, 3) << scale.out;
    const std::string password = write("pw", "Pw-for-init\n");
    const auto init = run({"init", "--non-interactive", "--no-start", "--url",
                           "https://127.0.0.1:1", "--cluster", "c", "--username", "u",
                           "--password-file", password, "--slurm-conf", m_dir + "/slurm.conf"},
                          {env});
    EXPECT_EQ(init.exit_code, 3);
    EXPECT_EQ(init.err, "cloudburst: error: init reads its defaults from " + path +
                            " (chosen by $CLOUDBURST_CONFIG) and does not trust it; fix it or "
                            "pass --config to use another file: " +
                            refusal);
}

// Issue 11, finding 6: cleartext and unverified TLS pass silently. `config check` said only
// "OK" for verify_tls = false and for an http:// URL; `init` sent the password over http://.
TEST_F(ConfigCli, SecurityCleartextConfigCheckWarnsLoudly) {
    if (!root()) {
        GTEST_SKIP() << "needs root: the file must be owned by root";
    }
    const std::string unverified = write("unverified.toml", k_config + "verify_tls = false\n");
    auto out = run({"--config", unverified, "config", "check"});
    EXPECT_EQ(out.exit_code, 0) << out.err;
    EXPECT_EQ(out.out, unverified +
                           ": OK\nWARNING: cyclecloud.verify_tls = false: CycleCloud's "
                           "certificate is not checked, so anyone on the way to cc.example.com "
                           "can pose as CycleCloud and collect the password; pin CycleCloud's key "
                           "with `cloudburst init --tls-pin` (init shows it), or put "
                           "CycleCloud's CA certificate in a file and set cyclecloud.ca_bundle "
                           "to it, and remove verify_tls\n");

    const std::string http = write("http.toml",
                                   "[cyclecloud]\nurl = \"http://cc.lab\"\n"
                                   "cluster = \"c\"\nusername = \"u\"\n"
                                   "password = \"Cl1-Secret-Word\"\n");
    out = run({"--config", http, "config", "check"});
    EXPECT_EQ(out.exit_code, 3);
    EXPECT_EQ(out.err, "cloudburst: error: " + http +
                           ":2: 'cyclecloud.url' is http:// to cc.lab, which is not this "
                           "machine: the CycleCloud password would cross the network in clear "
                           "text with every request; use https://, or, only on a network where "
                           "you accept that, set 'cyclecloud.allow_insecure_http = true'\n");
    const std::string allowed =
        write("allowed.toml",
              "[cyclecloud]\nurl = \"http://cc.lab\"\nallow_insecure_http = "
              "true\ncluster = \"c\"\nusername = \"u\"\n"
              "password = \"Cl1-Secret-Word\"\n");
    out = run({"--config", allowed, "config", "check"});
    EXPECT_EQ(out.exit_code, 0) << out.err;
    EXPECT_EQ(out.out, allowed +
                           ": OK\nWARNING: cyclecloud.url is http:// to cc.lab "
                           "(cyclecloud.allow_insecure_http = true): the CycleCloud password "
                           "crosses the network in clear text with every request, readable by "
                           "anyone on the way; switch CycleCloud to https://, set that URL and "
                           "remove allow_insecure_http\n");
}

TEST_F(ConfigCli, SecurityCleartextDoctorWarnsLoudly) {
    if (!root()) {
        GTEST_SKIP() << "needs root: the file must be owned by root";
    }
    // Nothing listens on port 1, so doctor's connection check fails at once, sending nothing.
    const std::string path = write("unverified.toml",
                                   "[cyclecloud]\nurl = \"https://127.0.0.1:1\"\n"
                                   "cluster = \"c\"\nusername = \"u\"\n"
                                   "password = \"Cl1-Secret-Word\"\n"
                                   "verify_tls = false\n");
    const auto out = run({"--config", path, "doctor", "--slurm-conf", m_dir + "/slurm.conf",
                          "--exports", m_dir + "/exports", "--munge-key", m_dir + "/munge.key"});
    EXPECT_NE(out.out.find("\nWARNING  TLS: cyclecloud.verify_tls = false: CycleCloud's "
                           "certificate is not checked, so anyone on the way to 127.0.0.1 can "
                           "pose as CycleCloud and collect the password; pin CycleCloud's key with "
                           "`cloudburst init --tls-pin` (init shows it), or put CycleCloud's CA "
                           "certificate in a file and set cyclecloud.ca_bundle to it, and remove "
                           "verify_tls\n"),
              std::string::npos)
        << out.out;
    EXPECT_NE(out.out.find(", 1 WARNING\n"), std::string::npos) << out.out;
}

TEST_F(ConfigCli, SecurityCleartextInitRefusesHttpBeforeSendingThePassword) {
    const std::string password = write("pw", "Pw-for-init\n");
    const std::string fresh = m_dir + "/fresh.toml";
    // cc.invalid cannot resolve: had init tried to connect, the error would say so instead.
    const auto out = run({"--config", fresh, "init", "--non-interactive", "--no-start", "--url",
                          "http://cc.invalid:8080", "--cluster", "c", "--username", "u",
                          "--password-file", password, "--slurm-conf", m_dir + "/slurm.conf"});
    EXPECT_EQ(out.exit_code, 3);
    EXPECT_EQ(out.err,
              "cloudburst: error: the CycleCloud URL http://cc.invalid:8080 is http:// to "
              "cc.invalid, which is not this machine: the CycleCloud password would cross the "
              "network in clear text with every request; use https://, or, only on a network "
              "where you accept that, set 'cyclecloud.allow_insecure_http = true'\n");
    EXPECT_FALSE(std::filesystem::exists(fresh));
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

// The commands that read the journal tell a journal that is missing from one they cannot read
// (here not a journal at all), and name the file; `why JOBID` still asks Slurm, and says the
// journal could not be read rather than that the job never asked for nodes.
TEST_F(ConfigCli, AnUnreadableJournalIsNamedNotTakenForAMissingOne) {
    if (!root()) {
        GTEST_SKIP() << "needs root: the file must be owned by root";
    }
    const std::string db = m_dir + "/state.db";
    const std::string config =
        write("journal.toml", k_config + "[paths]\nstate_db = \"" + db +
                                  "\"\n[slurm]\nbin_dir = \"" + m_dir + "\"\n");
    auto out = run({"--config", config, "why", "cloud1"});
    EXPECT_NE(out.exit_code, 0);
    EXPECT_NE(out.err.find("no journal at " + db), std::string::npos) << out.err;

    write("state.db", "this is not a journal\n");
    for (const std::vector<std::string>& args :
         {std::vector<std::string>{"why", "cloud1"}, std::vector<std::string>{"cost"}}) {
        std::vector<std::string> argv{"--config", config};
        argv.insert(argv.end(), args.begin(), args.end());
        out = run(argv);
        EXPECT_NE(out.exit_code, 0) << args[0];
        EXPECT_EQ(out.err.find("no journal at"), std::string::npos) << out.err;
        EXPECT_NE(out.err.find(db), std::string::npos) << out.err;
    }
    out = run({"--config", config, "why", "42"});
    EXPECT_NE(out.exit_code, 0);
    EXPECT_NE(out.err.find(db), std::string::npos) << out.err;
    EXPECT_NE(out.err.find("no job 42 in Slurm's queue (squeue failed), and cloudburst's journal "
                           "could not be read"),
              std::string::npos)
        << out.err;
}

}  // namespace
}  // namespace cb
