// The text-only parts of `cloudburst init`: editing cloudburst.toml in place, the systemd
// unit, and the connection messages.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cli/connection_check.h"
#include "cli/init_steps.h"
#include "core/config_edit.h"
#include "core/config_loader.h"
#include "unit/emulator_api_fixture.h"
#include "util/files.h"

namespace cb {
namespace {

using cli::ConnectionProblem;

TEST(ConfigEdit, SetsRemovesAndAddsKeysKeepingEverythingElse) {
    const std::string text =
        "# mine\n"
        "[cyclecloud]\n"
        "url = \"https://old\"  \n"
        "password_file = \"/etc/cloudburst/pw\"\n"
        "# a comment stays\n"
        "\n"
        "[daemon]\n"
        "sync_period = \"5s\"\n";
    const TomlEditResult r = edit_toml_section(
        text, "cyclecloud",
        {{"url", "\"https://new\""}, {"password_file", std::nullopt}, {"cluster", "\"hpc\""}});
    EXPECT_EQ(r.text,
              "# mine\n"
              "[cyclecloud]\n"
              "url = \"https://new\"\n"
              "cluster = \"hpc\"\n"
              "# a comment stays\n"
              "\n"
              "[daemon]\n"
              "sync_period = \"5s\"\n");
    EXPECT_EQ(r.changed, (std::vector<std::string>{"cyclecloud.url", "cyclecloud.password_file",
                                                   "cyclecloud.cluster"}));
    // Applying the same edit again changes nothing.
    const TomlEditResult again = edit_toml_section(
        r.text, "cyclecloud",
        {{"url", "\"https://new\""}, {"password_file", std::nullopt}, {"cluster", "\"hpc\""}});
    EXPECT_EQ(again.text, r.text);
    EXPECT_TRUE(again.changed.empty());
}

TEST(ConfigEdit, AddsAMissingSection) {
    const TomlEditResult r = edit_toml_section("# only a comment\n", "slurm", {{"user", "\"x\""}});
    EXPECT_EQ(r.text, "# only a comment\n\n[slurm]\nuser = \"x\"\n");
}

TEST(ConfigEdit, QuotesStrings) {
    EXPECT_EQ(toml_string("a\"b\\c\n"), "\"a\\\"b\\\\c\\n\"");
}

cli::InitSettings settings() {
    cli::InitSettings s;
    s.url = "https://cc.example.com";
    s.cluster = "hpc1";
    s.username = "cloudburst";
    s.password_file = "/etc/cloudburst/cyclecloud.password";
    s.conf_dir = "/etc/slurm";
    s.slurm_user = "slurm";
    return s;
}

TEST(InitConfig, ANewFileParsesBackWithTheSameValues) {
    const TomlEditResult r = cli::render_init_config("# header\n", settings());
    auto config = parse_config(r.text, "cloudburst.toml");
    ASSERT_TRUE(config) << config.error().describe() << "\n" << r.text;
    EXPECT_EQ(config->cyclecloud.url, "https://cc.example.com");
    EXPECT_EQ(config->cyclecloud.cluster, "hpc1");
    EXPECT_TRUE(config->cyclecloud.password.empty());
    EXPECT_EQ(config->cyclecloud.password_file, "/etc/cloudburst/cyclecloud.password");
    EXPECT_TRUE(config->cyclecloud.ca_bundle.empty());
    EXPECT_EQ(config->slurm.user, "slurm");
    EXPECT_EQ(config->slurm.generated_conf, "/etc/slurm/cloudburst.conf");
}

TEST(InitConfig, ARerunWithTheSameValuesChangesNothing) {
    const TomlEditResult first = cli::render_init_config("", settings());
    const TomlEditResult second = cli::render_init_config(first.text, settings());
    EXPECT_EQ(second.text, first.text);
    EXPECT_TRUE(second.changed.empty());
    cli::InitSettings other = settings();
    other.ca_bundle = "/etc/ssl/cc.pem";
    const TomlEditResult third = cli::render_init_config(first.text, other);
    EXPECT_EQ(third.changed, std::vector<std::string>{"cyclecloud.ca_bundle"});
}

TEST(InitDaemonUnit, MatchesThePackagedUnit) {
    auto packaged = read_file(std::string(CB_SOURCE_DIR) + "/packaging/cloudburstd.service");
    ASSERT_TRUE(packaged);
    // The packaged file starts with install instructions (comment lines) before [Unit].
    const std::string body = packaged->substr(packaged->find("[Unit]"));
    auto unit = cli::daemon_unit(cli::DaemonUnit{});
    ASSERT_TRUE(unit) << unit.error().describe();
    EXPECT_EQ(*unit, body);
}

TEST(InitConfig, AnInlinePasswordMovesToThePasswordFile) {
    const TomlEditResult r = cli::render_init_config(
        "[cyclecloud]\nurl = \"https://cc\"\npassword = \"s3cret\"\n", settings());
    EXPECT_EQ(r.text.find("s3cret"), std::string::npos) << r.text;
    auto config = parse_config(r.text, "cloudburst.toml");
    ASSERT_TRUE(config) << config.error().describe();
    EXPECT_EQ(config->cyclecloud.password_file, "/etc/cloudburst/cyclecloud.password");
}

cli::ConnectionTarget target() {
    CycleCloudOptions o;
    o.url = "https://cc.example.com:8443";
    o.cluster = "hpc1";
    o.username = "cloudburst";
    auto t = cli::parse_connection_target(o);
    EXPECT_TRUE(t);
    return t ? *t : cli::ConnectionTarget{};
}

TEST(ConnectionCheck, ParsesTheUrl) {
    const auto t = target();
    EXPECT_EQ(t.host, "cc.example.com");
    EXPECT_EQ(t.port, 8443);
    CycleCloudOptions o;
    o.url = "http://[::1]/api";
    auto v6 = cli::parse_connection_target(o);
    ASSERT_TRUE(v6);
    EXPECT_EQ(v6->host, "::1");
    EXPECT_EQ(v6->port, 80);
    o.url = "cc.example.com";
    auto bad = cli::parse_connection_target(o);
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().message,
              "'cc.example.com' is not a CycleCloud URL: give it as https://HOST[:PORT], e.g. "
              "https://cyclecloud.example.com");
    o.url = "https://cc:99999";
    EXPECT_FALSE(cli::parse_connection_target(o));
}

TEST(ConnectionCheck, MessagesSayWhatIsWrongAndWhatToDo) {
    const auto t = target();
    EXPECT_EQ(cli::connection_message(ConnectionProblem::k_dns, t),
              "cannot resolve the host name 'cc.example.com' of https://cc.example.com:8443: "
              "check the host in the URL and this machine's DNS settings (/etc/resolv.conf)");
    EXPECT_EQ(cli::connection_message(ConnectionProblem::k_refused, t),
              "connection to cc.example.com port 8443 refused: nothing listens there; check the "
              "port in the URL and that CycleCloud is running");
    EXPECT_EQ(cli::connection_message(ConnectionProblem::k_timeout, t),
              "no answer from cc.example.com port 8443 within 5 s: check the address in the URL "
              "and that firewalls let this machine reach CycleCloud over HTTPS");
    EXPECT_EQ(cli::connection_message(ConnectionProblem::k_tls, t),
              "TLS verification of https://cc.example.com:8443 failed: its certificate is not "
              "signed by a CA this machine trusts or does not name 'cc.example.com'; give the CA "
              "certificate with --ca-bundle FILE");
    EXPECT_EQ(cli::connection_message(ConnectionProblem::k_credentials, t),
              "CycleCloud at https://cc.example.com:8443 rejected user 'cloudburst' (HTTP 401): "
              "check the user name and password");
    EXPECT_EQ(cli::connection_message(ConnectionProblem::k_unknown_cluster, t),
              "CycleCloud at https://cc.example.com:8443 has no cluster named 'hpc1': check the "
              "name (it is case-sensitive) or import the cluster first");
    EXPECT_EQ(cli::connection_message(ConnectionProblem::k_none, t),
              "connected to cluster 'hpc1' at https://cc.example.com:8443 as 'cloudburst'");
}

CycleCloudOptions options_for(const std::string& url, const std::string& cluster,
                              const std::string& password) {
    CycleCloudOptions o;
    o.url = url;
    o.cluster = cluster;
    o.username = "user";
    o.password = password;
    o.connect_timeout = std::chrono::seconds(5);
    o.request_timeout = std::chrono::seconds(10);
    return o;
}

// Each failing step against a real (loopback, plain HTTP) emulator API.
TEST(ConnectionCheck, DiagnosesCredentialsAndClusterAgainstTheEmulator) {
    emulator::testing::ApiFixture api;
    const auto good = cli::diagnose_connection(options_for(api.url(), "burst1", "secret"));
    EXPECT_TRUE(good.ok()) << good.message;
    EXPECT_EQ(good.message, "connected to cluster 'burst1' at " + api.url() + " as 'user'");

    const auto wrong = cli::diagnose_connection(options_for(api.url(), "burst1", "not-it-42"));
    EXPECT_EQ(wrong.problem, ConnectionProblem::k_credentials) << wrong.message;

    const auto unknown = cli::diagnose_connection(options_for(api.url(), "nope", "secret"));
    EXPECT_EQ(unknown.problem, ConnectionProblem::k_unknown_cluster) << unknown.message;
}

TEST(ConnectionCheck, DiagnosesARefusedPort) {
    // Bound but not listening: connections to it are refused while we hold it.
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(fd, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    ASSERT_EQ(::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr), 0);
    ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
    const std::string port = std::to_string(ntohs(addr.sin_port));
    const auto refused =
        cli::diagnose_connection(options_for("http://127.0.0.1:" + port, "burst1", "secret"));
    ::close(fd);
    EXPECT_EQ(refused.problem, ConnectionProblem::k_refused);
    EXPECT_EQ(refused.message, "connection to 127.0.0.1 port " + port +
                                   " refused: nothing listens there; check the port in the URL "
                                   "and that CycleCloud is running");
}

}  // namespace
}  // namespace cb
