// parse_config: defaults, overrides and every kind of error, asserted verbatim (the messages
// are part of the interface).
#include <gtest/gtest.h>

#include <string>

#include "core/config_loader.h"
#include "core/config_schema.h"

namespace cb {
namespace {

using namespace std::chrono_literals;

constexpr std::string_view k_source = "/etc/cloudburst/cloudburst.toml";

// Lines 1-5; tests append from line 6 on.
const std::string k_minimal = R"([cyclecloud]
url = "https://cc.example.com"
cluster = "hpc"
username = "cloudburst"
password_file = "/etc/cloudburst/password"
)";

Config parsed(const std::string& text) {
    auto config = parse_config(text, k_source);
    EXPECT_TRUE(config) << config.error().message;
    return config ? *config : Config{};
}

std::string error_of(const std::string& text) {
    auto config = parse_config(text, k_source);
    EXPECT_FALSE(config) << "parsed without error:\n" << text;
    if (config) {
        return "";
    }
    EXPECT_EQ(config.error().kind, ErrorKind::k_config);
    return config.error().message;
}

TEST(ParseConfig, MinimalFileGetsEveryDefault) {
    const Config c = parsed(k_minimal);
    EXPECT_EQ(c.cyclecloud.url, "https://cc.example.com");
    EXPECT_EQ(c.cyclecloud.cluster, "hpc");
    EXPECT_EQ(c.cyclecloud.username, "cloudburst");
    EXPECT_EQ(c.cyclecloud.password_file, "/etc/cloudburst/password");
    EXPECT_EQ(c.cyclecloud.password, "");  // parse_config never reads the file
    EXPECT_EQ(c.cyclecloud.ca_bundle, "");
    EXPECT_TRUE(c.cyclecloud.verify_tls);
    EXPECT_EQ(c.cyclecloud.connect_timeout, 10s);
    EXPECT_EQ(c.cyclecloud.request_timeout, 60s);
    EXPECT_EQ(c.slurm.bin_dir, "/usr/bin");
    EXPECT_EQ(c.slurm.user, "slurm");
    EXPECT_EQ(c.slurm.conf_dir, "/etc/slurm");
    EXPECT_EQ(c.slurm.generated_conf, "/etc/slurm/cloudburst.conf");
    EXPECT_EQ(c.slurm.suspend_time, 5min);
    EXPECT_EQ(c.slurm.resume_timeout, 30min);
    EXPECT_EQ(c.paths.spool_dir, "/var/spool/cloudburst");
    EXPECT_EQ(c.paths.state_db, "/var/lib/cloudburst/state.db");
    EXPECT_EQ(c.paths.log_dir, "/var/log/cloudburst");
    EXPECT_EQ(c.paths.socket, "/run/cloudburst/cloudburstd.sock");
    EXPECT_EQ(c.daemon.sync_period, 15s);
    EXPECT_EQ(c.daemon.orphan_grace, 5min);
    EXPECT_EQ(c.daemon.log_level, log::Level::k_info);
    EXPECT_EQ(c.backoff.initial, 1min);
    EXPECT_EQ(c.backoff.max, 30min);
    EXPECT_EQ(c.backoff.factor, 2.0);
    EXPECT_TRUE(c.node_arrays.empty());
}

TEST(ParseConfig, ReadsEveryFixedSection) {
    const Config c = parsed(k_minimal + R"(ca_bundle = "/etc/cloudburst/ca.pem"
connect_timeout = "1500ms"
[slurm]
bin_dir = "/opt/slurm/bin"
user = "slurmadm"
conf_dir = "/opt/slurm/etc/"
suspend_time = "1h30m"
[paths]
spool_dir = "/srv/spool"
[daemon]
sync_period = "1m"
log_level = "debug"
[backoff]
factor = 3
)");
    EXPECT_EQ(c.cyclecloud.ca_bundle, "/etc/cloudburst/ca.pem");
    EXPECT_EQ(c.cyclecloud.connect_timeout, 1500ms);
    EXPECT_EQ(c.slurm.bin_dir, "/opt/slurm/bin");
    EXPECT_EQ(c.slurm.user, "slurmadm");
    EXPECT_EQ(c.slurm.generated_conf, "/opt/slurm/etc/cloudburst.conf");  // follows conf_dir
    EXPECT_EQ(c.slurm.suspend_time, 90min);
    EXPECT_EQ(c.paths.spool_dir, "/srv/spool");
    EXPECT_EQ(c.daemon.sync_period, 1min);
    EXPECT_EQ(c.daemon.log_level, log::Level::k_debug);
    EXPECT_EQ(c.backoff.factor, 3.0);  // an integer is accepted for a number
}

TEST(ParseConfig, ExplicitGeneratedConfWins) {
    const Config c = parsed(k_minimal + R"([slurm]
conf_dir = "/opt/slurm/etc"
generated_conf = "/etc/slurm/burst.conf"
)");
    EXPECT_EQ(c.slurm.generated_conf, "/etc/slurm/burst.conf");
}

TEST(ParseConfig, NodeArrayOverridesAndDerivedDefaults) {
    const Config c = parsed(k_minimal + R"([slurm]
suspend_time = "10m"
[nodearrays.hpc]
weight = 10
features = ["ib", "hbv3"]
dampen_memory = 8
dampen_memory_min_mb = 2048
keep_alive = 2
resume_timeout = "45m"
[nodearrays.gpu]
partition = "gpu-burst"
gpu_count = 4
shutdown = "deallocate"
suspend_time = "20m"
)");
    ASSERT_EQ(c.node_arrays.size(), 2u);
    const NodeArrayConfig gpu = c.node_array("gpu");
    EXPECT_EQ(gpu.name, "gpu");
    EXPECT_EQ(gpu.partition, "gpu-burst");
    EXPECT_EQ(gpu.weight, 100);
    EXPECT_EQ(gpu.gpu_count, 4);
    EXPECT_EQ(gpu.shutdown, ShutdownPolicy::k_deallocate);
    EXPECT_EQ(gpu.suspend_time, 20min);
    EXPECT_EQ(gpu.resume_timeout, 30min);
    const NodeArrayConfig hpc = c.node_array("hpc");
    EXPECT_EQ(hpc.partition, "hpc");
    EXPECT_EQ(hpc.weight, 10);
    EXPECT_EQ(hpc.features, (std::vector<std::string>{"ib", "hbv3"}));
    EXPECT_EQ(hpc.dampen_memory, 8);
    EXPECT_EQ(hpc.dampen_memory_min_mb, 2048);
    EXPECT_FALSE(hpc.gpu_count.has_value());
    EXPECT_EQ(hpc.keep_alive, 2);
    EXPECT_EQ(hpc.suspend_time, 10min);  // from [slurm]
    EXPECT_EQ(hpc.resume_timeout, 45min);
    EXPECT_EQ(hpc.shutdown, ShutdownPolicy::k_terminate);
}

TEST(ParseConfig, UnlistedNodeArrayGetsDefaults) {
    const Config c = parsed(k_minimal + "[slurm]\nresume_timeout = \"20m\"\n");
    const NodeArrayConfig other = c.node_array("htc");
    EXPECT_EQ(other.name, "htc");
    EXPECT_EQ(other.partition, "htc");
    EXPECT_EQ(other.weight, 100);
    EXPECT_EQ(other.dampen_memory, 5);
    EXPECT_EQ(other.dampen_memory_min_mb, 1024);
    EXPECT_EQ(other.suspend_time, 5min);
    EXPECT_EQ(other.resume_timeout, 20min);
    EXPECT_TRUE(other.features.empty());
}

TEST(ParseConfig, DottedKeysAndInlineTablesAreTheSameTables) {
    const Config c =
        parsed("daemon.sync_period = \"30s\"\nnodearrays = { hpc = { weight = 7 } }\n" + k_minimal);
    EXPECT_EQ(c.daemon.sync_period, 30s);
    EXPECT_EQ(c.node_array("hpc").weight, 7);
}

// ------------------------------------------------------------------ names

TEST(ConfigErrors, UnknownKeySuggestsTheClosest) {
    EXPECT_EQ(error_of(k_minimal + "pasword = \"x\"\n"),
              "/etc/cloudburst/cloudburst.toml:6: unknown key 'cyclecloud.pasword' (did you mean "
              "'cyclecloud.password'?)");
}

TEST(ConfigErrors, UnknownKeyWithoutACloseName) {
    EXPECT_EQ(error_of(k_minimal + "colour = \"blue\"\n"),
              "/etc/cloudburst/cloudburst.toml:6: unknown key 'cyclecloud.colour'");
}

TEST(ConfigErrors, KeyInTheWrongSectionPointsToItsSection) {
    EXPECT_EQ(error_of(k_minimal + "[daemon]\nsocket = \"/run/x.sock\"\n"),
              "/etc/cloudburst/cloudburst.toml:7: unknown key 'daemon.socket' (did you mean "
              "'paths.socket'?)");
}

TEST(ConfigErrors, KeyOutsideAnySection) {
    EXPECT_EQ(error_of("sync_period = \"15s\"\n" + k_minimal),
              "/etc/cloudburst/cloudburst.toml:1: unknown key 'sync_period' (did you mean "
              "'daemon.sync_period'?)");
}

TEST(ConfigErrors, UnknownSectionSuggestsTheClosest) {
    EXPECT_EQ(error_of(k_minimal + "[backof]\nmax = \"1h\"\n"),
              "/etc/cloudburst/cloudburst.toml:6: unknown section 'backof' (did you mean "
              "'backoff'?)");
    EXPECT_EQ(error_of(k_minimal + "[nodearray.hpc]\n"),
              "/etc/cloudburst/cloudburst.toml:6: unknown section 'nodearray' (did you mean "
              "'nodearrays'?)");
}

TEST(ConfigErrors, UnknownNodeArrayKeySuggestsTheClosest) {
    EXPECT_EQ(error_of(k_minimal + "[nodearrays.hpc]\nwieght = 5\n"),
              "/etc/cloudburst/cloudburst.toml:7: unknown key 'nodearrays.hpc.wieght' (did you "
              "mean 'nodearrays.hpc.weight'?)");
}

TEST(ConfigErrors, OddKeyNamesAreQuoted) {
    EXPECT_EQ(error_of(k_minimal + "\"my\\nkey\" = 1\n"),
              "/etc/cloudburst/cloudburst.toml:6: unknown key 'cyclecloud.\"my\\nkey\"'");
}

TEST(ConfigErrors, BadNodeArrayName) {
    EXPECT_EQ(error_of(k_minimal + "[nodearrays.\"gpu nodes\"]\nweight = 5\n"),
              "/etc/cloudburst/cloudburst.toml:6: node array name \"gpu nodes\" may contain "
              "only letters, digits, '-' and '_'");
}

TEST(ConfigErrors, SectionsMustBeTables) {
    EXPECT_EQ(error_of(k_minimal + "[nodearrays]\nhpc = 5\n"),
              "/etc/cloudburst/cloudburst.toml:7: 'nodearrays.hpc' must be a table "
              "([nodearrays.hpc]) of settings for node array 'hpc', not an integer");
    EXPECT_EQ(error_of("paths = \"/var\"\n" + k_minimal),
              "/etc/cloudburst/cloudburst.toml:1: 'paths' must be a table ([paths]), not a "
              "string");
    EXPECT_EQ(error_of("nodearrays = [\"hpc\"]\n" + k_minimal),
              "/etc/cloudburst/cloudburst.toml:1: 'nodearrays' must be a table of node arrays, "
              "such as [nodearrays.hpc], not an array");
}

// ------------------------------------------------------------------ types and values

TEST(ConfigErrors, WrongTypes) {
    EXPECT_EQ(error_of(k_minimal + "verify_tls = \"yes\"\n"),
              "/etc/cloudburst/cloudburst.toml:6: 'cyclecloud.verify_tls' must be a boolean "
              "(true or false), not a string");
    EXPECT_EQ(error_of(k_minimal + "[nodearrays.hpc]\nweight = 1.5\n"),
              "/etc/cloudburst/cloudburst.toml:7: 'nodearrays.hpc.weight' must be an integer, "
              "not a floating-point number");
    EXPECT_EQ(error_of(k_minimal + "[slurm]\nuser = 64030\n"),
              "/etc/cloudburst/cloudburst.toml:7: 'slurm.user' must be a string, not an "
              "integer");
    EXPECT_EQ(error_of(k_minimal + "[backoff]\nfactor = \"2\"\n"),
              "/etc/cloudburst/cloudburst.toml:7: 'backoff.factor' must be a number, not a "
              "string");
    EXPECT_EQ(error_of(k_minimal + "[paths]\nstate_db = 1979-05-27\n"),
              "/etc/cloudburst/cloudburst.toml:7: 'paths.state_db' must be a string (an "
              "absolute path), not a date");
    EXPECT_EQ(error_of(k_minimal + "[nodearrays.hpc]\nfeatures = \"ib\"\n"),
              "/etc/cloudburst/cloudburst.toml:7: 'nodearrays.hpc.features' must be an array "
              "of strings, not a string");
    EXPECT_EQ(error_of(k_minimal + "[nodearrays.hpc]\nfeatures = [\"ib\", 3]\n"),
              "/etc/cloudburst/cloudburst.toml:7: 'nodearrays.hpc.features' must be an array "
              "of strings, but item 2 is an integer");
}

TEST(ConfigErrors, Durations) {
    EXPECT_EQ(error_of(k_minimal + "[daemon]\nsync_period = 15\n"),
              "/etc/cloudburst/cloudburst.toml:7: 'daemon.sync_period' must be a duration such "
              "as \"30s\", \"10m\" or \"1h30m\", not an integer (for 15 seconds write \"15s\")");
    EXPECT_EQ(error_of(k_minimal + "[daemon]\nsync_period = \"15 s\"\n"),
              "/etc/cloudburst/cloudburst.toml:7: 'daemon.sync_period' must be a duration such "
              "as \"30s\", \"10m\" or \"1h30m\" (whole numbers with the units h, m, s and ms, "
              "largest first), not \"15 s\"");
    EXPECT_EQ(error_of(k_minimal + "[daemon]\nsync_period = \"2h\"\n"),
              "/etc/cloudburst/cloudburst.toml:7: 'daemon.sync_period' must be between 1s and "
              "1h, not \"2h\"");
    EXPECT_EQ(error_of(k_minimal + "[slurm]\nresume_timeout = \"10m500ms\"\n"),
              "/etc/cloudburst/cloudburst.toml:7: 'slurm.resume_timeout' must be a whole "
              "number of seconds (Slurm counts in seconds), not \"10m500ms\"");
}

TEST(ConfigErrors, IntegerAndNumberRanges) {
    EXPECT_EQ(error_of(k_minimal + "[nodearrays.hpc]\nweight = 0\n"),
              "/etc/cloudburst/cloudburst.toml:7: 'nodearrays.hpc.weight' must be between 1 and "
              "65533, not 0");
    EXPECT_EQ(error_of(k_minimal + "[nodearrays.hpc]\ngpu_count = -1\n"),
              "/etc/cloudburst/cloudburst.toml:7: 'nodearrays.hpc.gpu_count' must be between 0 "
              "and 64, not -1");
    EXPECT_EQ(error_of(k_minimal + "[backoff]\nfactor = 0.5\n"),
              "/etc/cloudburst/cloudburst.toml:7: 'backoff.factor' must be between 1 and 10, "
              "not 0.5");
    EXPECT_EQ(error_of(k_minimal + "[backoff]\nfactor = nan\n"),
              "/etc/cloudburst/cloudburst.toml:7: 'backoff.factor' must be between 1 and 10, "
              "not nan");
}

TEST(ConfigErrors, RelativePath) {
    EXPECT_EQ(error_of(k_minimal + "[paths]\nspool_dir = \"var/spool/cloudburst\"\n"),
              "/etc/cloudburst/cloudburst.toml:7: 'paths.spool_dir' must be an absolute path "
              "(starting with '/'), not \"var/spool/cloudburst\"");
    EXPECT_EQ(error_of(k_minimal + "[paths]\nsocket = \"/run/a\\nb\"\n"),
              "/etc/cloudburst/cloudburst.toml:7: 'paths.socket' must not contain control "
              "characters");
}

TEST(ConfigErrors, BadUrl) {
    const std::string head =
        "[cyclecloud]\ncluster = \"c\"\nusername = \"u\"\n"
        "password_file = \"/etc/pw\"\n";
    EXPECT_EQ(error_of(head + "url = \"cyclecloud.example.com\"\n"),
              "/etc/cloudburst/cloudburst.toml:5: 'cyclecloud.url' must be an http:// or "
              "https:// URL such as \"https://cyclecloud.example.com\", not "
              "\"cyclecloud.example.com\"");
    EXPECT_EQ(error_of(head + "url = \"https:///path\"\n"),
              "/etc/cloudburst/cloudburst.toml:5: 'cyclecloud.url' must be an http:// or "
              "https:// URL such as \"https://cyclecloud.example.com\", not \"https:///path\"");
    EXPECT_EQ(error_of(head + "url = \"https://admin:hunter2@cc.example.com\"\n"),
              "/etc/cloudburst/cloudburst.toml:5: 'cyclecloud.url' must not contain a user name "
              "or password (set them with the username and password keys)");
    EXPECT_TRUE(parse_config(head + "url = \"http://127.0.0.1:8080/cc\"\n", k_source));
}

// Issue 11, finding 6: cleartext and unverified TLS pass silently. An http:// URL to another
// host sent the password as Basic auth in clear text on every request, and nothing said so.
TEST(SecurityCleartext, AnHttpUrlToAnotherHostIsRefused) {
    const std::string head =
        "[cyclecloud]\ncluster = \"c\"\nusername = \"u\"\n"
        "password_file = \"/etc/pw\"\n";
    EXPECT_EQ(error_of(head + "url = \"http://cc.example.com:8080/cc\"\n"),
              "/etc/cloudburst/cloudburst.toml:5: 'cyclecloud.url' is http:// to "
              "cc.example.com, which is not this machine: the CycleCloud password would cross "
              "the network in clear text with every request; use https://, or, only on a "
              "network where you accept that, set 'cyclecloud.allow_insecure_http = true'");
    EXPECT_EQ(error_of(head + "url = \"http://10.0.0.4\"\n"),
              "/etc/cloudburst/cloudburst.toml:5: 'cyclecloud.url' is http:// to 10.0.0.4, "
              "which is not this machine: the CycleCloud password would cross the network in "
              "clear text with every request; use https://, or, only on a network where you "
              "accept that, set 'cyclecloud.allow_insecure_http = true'");
    // 128.0.0.1 and ::2 are not loopback; neither is a name that merely starts like one.
    for (const char* url : {"http://128.0.0.1", "http://[::2]", "http://localhost.evil.com"}) {
        EXPECT_NE(error_of(head + "url = \"" + url + "\"\n").find("is not this machine"),
                  std::string::npos)
            << url;
    }
}

TEST(SecurityCleartext, HttpToThisMachineNeedsNoPermissionAndNoWarning) {
    const std::string head =
        "[cyclecloud]\ncluster = \"c\"\nusername = \"u\"\n"
        "password_file = \"/etc/pw\"\n";
    for (const char* url : {"http://127.0.0.1:8080/cc", "http://127.9.8.7", "http://localhost",
                            "http://LocalHost:80", "http://[::1]:8080/cc"}) {
        auto config = parse_config(head + "url = \"" + url + "\"\n", k_source);
        ASSERT_TRUE(config) << url << ": " << config.error().message;
        EXPECT_EQ(transport_warning(config->cyclecloud), "") << url;
    }
}

TEST(SecurityCleartext, AllowedInsecureHttpIsAcceptedWithALoudWarning) {
    const std::string head =
        "[cyclecloud]\ncluster = \"c\"\nusername = \"u\"\n"
        "password_file = \"/etc/pw\"\n";
    const Config c = parsed(head + "url = \"http://cc.lab:8080\"\nallow_insecure_http = true\n");
    EXPECT_TRUE(c.cyclecloud.allow_insecure_http);
    EXPECT_EQ(transport_warning(c.cyclecloud),
              "cyclecloud.url is http:// to cc.lab (cyclecloud.allow_insecure_http = true): the "
              "CycleCloud password crosses the network in clear text with every request, "
              "readable by anyone on the way; switch CycleCloud to https://, set that URL and "
              "remove allow_insecure_http");
    EXPECT_FALSE(parsed(k_minimal).cyclecloud.allow_insecure_http);
    EXPECT_EQ(transport_warning(parsed(k_minimal).cyclecloud), "");
}

TEST(SecurityCleartext, UnverifiedTlsIsAcceptedWithALoudWarning) {
    const Config c = parsed(k_minimal + "verify_tls = false\n");
    EXPECT_EQ(transport_warning(c.cyclecloud),
              "cyclecloud.verify_tls = false: CycleCloud's certificate is not checked, so anyone "
              "on the way to cc.example.com can pose as CycleCloud and collect the password; pin "
              "CycleCloud's key with `cloudburst init --tls-pin` (init shows it), or put "
              "CycleCloud's CA certificate in a file and set cyclecloud.ca_bundle to it, and "
              "remove verify_tls");
}

TEST(ConfigUrl, HostOfAUrl) {
    EXPECT_EQ(url_host("https://cc.example.com:8443/api"), "cc.example.com");
    EXPECT_EQ(url_host("http://[::1]:80/x"), "::1");
    EXPECT_EQ(url_host("http://10.1.2.3"), "10.1.2.3");
    EXPECT_EQ(url_host("http://u@h?x"), "h");
    EXPECT_EQ(url_host("no scheme"), "");
    EXPECT_TRUE(is_loopback_host("127.0.0.1"));
    EXPECT_TRUE(is_loopback_host("::1"));
    EXPECT_FALSE(is_loopback_host("::ffff:10.0.0.1"));
    EXPECT_FALSE(is_loopback_host(""));
}

TEST(ConfigErrors, ChoiceSuggestsTheClosest) {
    EXPECT_EQ(error_of(k_minimal + "[nodearrays.hpc]\nshutdown = \"terminte\"\n"),
              "/etc/cloudburst/cloudburst.toml:7: 'nodearrays.hpc.shutdown' must be one of "
              "\"terminate\" or \"deallocate\", not \"terminte\" (did you mean \"terminate\"?)");
    EXPECT_EQ(error_of(k_minimal + "[daemon]\nlog_level = \"verbose\"\n"),
              "/etc/cloudburst/cloudburst.toml:7: 'daemon.log_level' must be one of \"debug\", "
              "\"info\", \"warn\" or \"error\", not \"verbose\"");
}

TEST(ConfigErrors, SlurmNames) {
    EXPECT_EQ(error_of(k_minimal + "[nodearrays.hpc]\npartition = \"hpc,gpu\"\n"),
              "/etc/cloudburst/cloudburst.toml:7: 'nodearrays.hpc.partition' must be a Slurm "
              "name (letters, digits, '_', '.' and '-'), not \"hpc,gpu\"");
    EXPECT_EQ(error_of(k_minimal + "[nodearrays.hpc]\nfeatures = [\"ib\", \"\"]\n"),
              "/etc/cloudburst/cloudburst.toml:7: 'nodearrays.hpc.features' item 2 must be a "
              "Slurm name (letters, digits, '_', '.' and '-'), not \"\"");
}

TEST(ConfigErrors, EmptyStrings) {
    EXPECT_EQ(error_of("[cyclecloud]\nurl = \"https://cc\"\ncluster = \"\"\nusername = \"u\"\n"
                       "password_file = \"/pw\"\n"),
              "/etc/cloudburst/cloudburst.toml:3: 'cyclecloud.cluster' must not be empty");
}

TEST(ConfigErrors, LongValuesAreShortenedInMessages) {
    const std::string long_path(100, 'x');
    EXPECT_EQ(error_of(k_minimal + "[paths]\nlog_dir = \"" + long_path + "\"\n"),
              "/etc/cloudburst/cloudburst.toml:7: 'paths.log_dir' must be an absolute path "
              "(starting with '/'), not \"" +
                  std::string(60, 'x') + "\"...");
}

// ------------------------------------------------------------------ whole-file rules

TEST(ConfigErrors, MissingRequiredKeysAreNamed) {
    EXPECT_EQ(error_of("[cyclecloud]\nurl = \"https://cc\"\n"),
              "/etc/cloudburst/cloudburst.toml: missing required key 'cyclecloud.cluster'\n"
              "/etc/cloudburst/cloudburst.toml: missing required key 'cyclecloud.username'\n"
              "/etc/cloudburst/cloudburst.toml: missing required key 'cyclecloud.password' or "
              "'cyclecloud.password_file'");
    EXPECT_EQ(error_of(""),
              "/etc/cloudburst/cloudburst.toml: missing required key 'cyclecloud.url'\n"
              "/etc/cloudburst/cloudburst.toml: missing required key 'cyclecloud.cluster'\n"
              "/etc/cloudburst/cloudburst.toml: missing required key 'cyclecloud.username'\n"
              "/etc/cloudburst/cloudburst.toml: missing required key 'cyclecloud.password' or "
              "'cyclecloud.password_file'");
}

TEST(ConfigErrors, BothPasswordForms) {
    EXPECT_EQ(error_of(k_minimal + "password = \"S3cr3t\"\n"),
              "/etc/cloudburst/cloudburst.toml:6: 'cyclecloud.password' and "
              "'cyclecloud.password_file' are both set; keep only one of them");
}

TEST(ConfigErrors, NeitherPasswordForm) {
    EXPECT_EQ(error_of("[cyclecloud]\nurl = \"https://cc\"\ncluster = \"c\"\nusername = \"u\"\n"),
              "/etc/cloudburst/cloudburst.toml: missing required key 'cyclecloud.password' or "
              "'cyclecloud.password_file'");
}

TEST(ConfigErrors, ContradictoryTlsSettings) {
    EXPECT_EQ(error_of(k_minimal + "ca_bundle = \"/etc/ca.pem\"\nverify_tls = false\n"),
              "/etc/cloudburst/cloudburst.toml:6: 'cyclecloud.ca_bundle' is set but "
              "'cyclecloud.verify_tls' is false; remove one of them");
}

// A pin as `cloudburst init --tls-pin` writes it: 44 base64 characters of a SHA-256.
const std::string k_pin = "sha256//0123456789abcdefghijklmnopqrstuvwxyzABCDEFG=";
const std::string k_other_pin = "sha256//+/23456789abcdefghijklmnopqrstuvwxyzABCDEFG=";

TEST(ParseConfig, TlsPinIsTakenAsWritten) {
    EXPECT_EQ(parsed(k_minimal).cyclecloud.tls_pin, "");
    EXPECT_EQ(parsed(k_minimal + "tls_pin = \"" + k_pin + "\"\n").cyclecloud.tls_pin, k_pin);
    // Two keys while CycleCloud's certificate is replaced, as libcurl takes them.
    const std::string both = k_pin + ";" + k_other_pin;
    EXPECT_EQ(parsed(k_minimal + "tls_pin = \"" + both + "\"\n").cyclecloud.tls_pin, both);
}

TEST(ConfigErrors, TlsPinNotInLibcurlsForm) {
    const std::string expected =
        "/etc/cloudburst/cloudburst.toml:6: 'cyclecloud.tls_pin' must be a pinned public key as "
        "`cloudburst init` shows it, sha256// and the base64 of the SHA-256 of the "
        "certificate's public key (44 characters; several joined by ';'), not ";
    for (const std::string& bad :
         {std::string(""), k_pin.substr(8), "sha1//" + k_pin.substr(8), k_pin.substr(0, 51),
          k_pin + "A", k_pin.substr(0, 50) + "==", k_pin.substr(0, 30) + "!" + k_pin.substr(31),
          k_pin + ";", k_pin + " ", ";" + k_pin, std::string("AB:CD:EF:01:23:45:67:89")}) {
        EXPECT_EQ(error_of(k_minimal + "tls_pin = \"" + bad + "\"\n"), expected + "\"" + bad + "\"")
            << bad;
    }
}

TEST(ConfigErrors, TlsPinWithVerificationOffOrACaBundle) {
    EXPECT_EQ(error_of(k_minimal + "verify_tls = false\ntls_pin = \"" + k_pin + "\"\n"),
              "/etc/cloudburst/cloudburst.toml:7: 'cyclecloud.tls_pin' is set but "
              "'cyclecloud.verify_tls' is false; the pin is a way to verify: remove verify_tls");
    EXPECT_EQ(error_of(k_minimal + "tls_pin = \"" + k_pin + "\"\nca_bundle = \"/etc/ca.pem\"\n"),
              "/etc/cloudburst/cloudburst.toml:7: 'cyclecloud.tls_pin' and "
              "'cyclecloud.ca_bundle' are both set; the pinned key replaces the CA: keep only one "
              "of them");
}

// cost.partition_budgets: "PARTITION=AMOUNT" items, each a partition of a node array the file
// names, one budget a partition; errors name the key's line and the item.
TEST(ConfigErrors, PartitionBudgetsAreCheckedItemByItem) {
    const std::string priced = k_minimal + "[cost]\nprices = \"/etc/cloudburst/prices.csv\"\n";
    const std::string arrays =
        "[nodearrays.hpc]\n[nodearrays.hpc2]\npartition = \"hpc\"\n[nodearrays.gpu]\n";
    const Config ok =
        parsed(priced + "partition_budgets = [\"hpc=500\", \"gpu=1250.50\"]\n" + arrays);
    EXPECT_EQ(ok.cost.partition_budgets, (std::vector<std::string>{"hpc=500", "gpu=1250.50"}));
    const auto gpu = parse_partition_budget("gpu=1250.50");
    ASSERT_TRUE(gpu);
    EXPECT_EQ(gpu->partition, "gpu");
    EXPECT_DOUBLE_EQ(gpu->monthly, 1250.50);

    const std::string at = "/etc/cloudburst/cloudburst.toml:8: 'cost.partition_budgets' ";
    const std::string form =
        " must be PARTITION=AMOUNT such as \"hpc=500\" (a partition name, '=', and an amount "
        "above 0 and at most 1000000000, digits and '.'), not ";
    for (const std::string bad : {"hpc", "hpc=", "=500", "hpc=0", "hpc=-5", "hpc=1e3", "hpc=inf",
                                  "hpc=5000000000", "hpc = 500", "h#pc=500", "hpc=500x"}) {
        EXPECT_EQ(error_of(priced + "partition_budgets = [\"gpu=1\", \"" + bad + "\"]\n" + arrays),
                  at + "item 2" + form + "\"" + bad + "\"")
            << bad;
    }
    EXPECT_EQ(
        error_of(priced + "partition_budgets = [\"hpc=500\", \"gpu=5\", \"hpc=600\"]\n" + arrays),
        at + "item 3 gives partition \"hpc\" a second budget (item 1 is the first); keep "
             "one");
    // hpc2's partition is hpc; "hpc2" names no partition, nor does an array without a section.
    EXPECT_EQ(error_of(priced + "partition_budgets = [\"hpc2=500\"]\n" + arrays),
              at + "item 1 names partition \"hpc2\", which no node array in this file has "
                   "(their partitions: gpu, hpc); set 'nodearrays.<name>.partition' or add a "
                   "[nodearrays.<name>] section for the array");
    EXPECT_EQ(error_of(priced + "partition_budgets = [\"htc=10\"]\n"),
              at + "item 1 names partition \"htc\", which no node array in this file has (it "
                   "names none); set 'nodearrays.<name>.partition' or add a [nodearrays.<name>] "
                   "section for the array");
    EXPECT_EQ(error_of(k_minimal + "[cost]\npartition_budgets = [\"hpc=500\"]\n[nodearrays.hpc]\n"),
              "/etc/cloudburst/cloudburst.toml:7: 'cost.partition_budgets' needs prices: set "
              "'cost.prices' to the price file (docs/cost.md)");
}

// node_options and partition_options: an option cloudburst owns, or one it does not know, is
// refused at its line.
TEST(ConfigErrors, SlurmOptionsAreCheckedAtTheirLine) {
    const Config ok = parsed(k_minimal +
                             "[nodearrays.hpc]\nnode_options = [\"TmpDisk=100000\"]\n"
                             "partition_options = [\"DefMemPerCPU=3500\", \"MaxTime=24:00:00\"]\n");
    EXPECT_EQ(ok.node_array("hpc").node_options, std::vector<std::string>{"TmpDisk=100000"});
    EXPECT_EQ(ok.node_array("hpc").partition_options,
              (std::vector<std::string>{"DefMemPerCPU=3500", "MaxTime=24:00:00"}));
    EXPECT_EQ(error_of(k_minimal + "[nodearrays.hpc]\nnode_options = [\"NodeAddr=10.0.0.1\"]\n"),
              "/etc/cloudburst/cloudburst.toml:7: 'nodearrays.hpc.node_options' item 1 sets "
              "NodeAddr, which is cloudburst's own: the daemon sets it when the VM has an "
              "address");
    EXPECT_EQ(
        error_of(k_minimal + "[nodearrays.hpc]\npartition_options = [\"MaxTime=1 Nodes=ALL\"]\n"),
        "/etc/cloudburst/cloudburst.toml:7: 'nodearrays.hpc.partition_options' item 1 has "
        "the value \"1 Nodes=ALL\" for MaxTime: a value is 1 to 256 printable characters "
        "without spaces, '#', '=', quotes or backslashes");
}

TEST(ConfigErrors, ABudgetNeedsAPriceFileAndACurrencyIsLetters) {
    EXPECT_EQ(error_of(k_minimal + "[nodearrays.hpc]\nmonthly_budget = 500.0\n"),
              "/etc/cloudburst/cloudburst.toml:7: 'nodearrays.hpc.monthly_budget' needs prices: "
              "set 'cost.prices' to the price file (docs/cost.md)");
    const Config ok = parsed(k_minimal +
                             "[cost]\nprices = \"/etc/cloudburst/prices.csv\"\n"
                             "[nodearrays.hpc]\nmonthly_budget = 500\n");
    EXPECT_EQ(ok.node_array("hpc").monthly_budget, 500.0);
    EXPECT_FALSE(ok.node_array("gpu").monthly_budget);
    EXPECT_EQ(ok.cost.currency, "USD");
    EXPECT_EQ(error_of(k_minimal + "[cost]\ncurrency = \"US$\"\n"),
              "/etc/cloudburst/cloudburst.toml:7: 'cost.currency' must be 1 to 8 letters, like "
              "\"USD\" or \"EUR\"");
}

TEST(ConfigErrors, BackoffInitialLongerThanMax) {
    EXPECT_EQ(error_of(k_minimal + "[backoff]\ninitial = \"2h\"\nmax = \"1h\"\n"),
              "/etc/cloudburst/cloudburst.toml:7: 'backoff.initial' (2h) is longer than "
              "'backoff.max' (1h)");
}

TEST(ConfigErrors, EveryProblemIsReportedInFileOrder) {
    EXPECT_EQ(error_of(k_minimal + "[slurm]\nbin_dir = \"bin\"\n[daemon]\nsync_period = \"x\"\n"
                                   "[paths]\nsocket = 5\n"),
              "/etc/cloudburst/cloudburst.toml:7: 'slurm.bin_dir' must be an absolute path "
              "(starting with '/'), not \"bin\"\n"
              "/etc/cloudburst/cloudburst.toml:9: 'daemon.sync_period' must be a duration such "
              "as \"30s\", \"10m\" or \"1h30m\" (whole numbers with the units h, m, s and ms, "
              "largest first), not \"x\"\n"
              "/etc/cloudburst/cloudburst.toml:11: 'paths.socket' must be a string (an absolute "
              "path), not an integer");
}

// ------------------------------------------------------------------ TOML syntax

TEST(ConfigErrors, SyntaxErrorsGiveLineAndColumn) {
    EXPECT_EQ(error_of(k_minimal + "[slurm\n"),
              "/etc/cloudburst/cloudburst.toml:6:7: Error while parsing table header: expected "
              "']', saw '\\n'");
    EXPECT_EQ(error_of(k_minimal + "[paths]\nlog_dir = /var/log\n"),
              "/etc/cloudburst/cloudburst.toml:7:11: Error while parsing value: could not "
              "determine value type");
}

TEST(ConfigErrors, DuplicateKeysAndTables) {
    EXPECT_EQ(error_of(k_minimal + "cluster = \"other\"\n"),
              "/etc/cloudburst/cloudburst.toml:6:11: Error while parsing key-value pair: cannot "
              "redefine existing string 'cluster'");
    EXPECT_EQ(error_of(k_minimal + "[slurm]\n[cyclecloud]\n"),
              "/etc/cloudburst/cloudburst.toml:7:1: Error while parsing table header: cannot "
              "redefine existing table 'cyclecloud'");
}

TEST(ConfigErrors, InvalidUtf8AndNulBytes) {
    EXPECT_FALSE(parse_config(k_minimal + "[paths]\nlog_dir = \"/\xff\"\n", k_source));
    EXPECT_FALSE(parse_config(k_minimal + std::string("#\0x\n", 4), k_source));
}

// ------------------------------------------------------------------ the password stays secret

TEST(ConfigSecrecy, PasswordNeverAppearsInErrors) {
    const std::string secret = "Tr0ub4dor-3xyz";
    const std::string head = "[cyclecloud]\nurl = \"https://cc\"\ncluster = \"c\"\n";
    const std::vector<std::string> bad_files{
        head + "password = \"" + secret,                        // unterminated
        head + "password = \"" + secret + "\\q\"\n",            // bad escape
        head + "password = " + secret + "\n",                   // unquoted
        head + "password = 9" + std::string(30, '7') + "\n",    // unquoted, huge number
        head + "password = \"\"\"" + secret + "\n\\q\"\"\"\n",  // multi-line, bad escape
        head + "password = \"" + secret + "\" trailing\n",      // junk after the value
        head + "password = '" + secret + "\n",                  // literal, unterminated
        head + "pasword = \"" + secret + "\"\n",                // unknown key
        head + "password = \"" + secret + "\"\npassword_file = \"/pw\"\n",        // both
        head + "password = [\"" + secret + "\"]\n",                               // wrong type
        head + "password = \"" + secret + "\"\npassword = \"" + secret + "\"\n",  // duplicate
        head + "url = \"https://u:" + secret + "@cc\"\n",         // duplicate url key
        "[cyclecloud]\nurl = \"https://u:" + secret + "@cc\"\n",  // credentials in the URL
        "[slurm]\nuser = \"" + secret + "\"\n[cyclecloud]\npassword = \"" + secret + "\"\n",
    };
    for (const auto& text : bad_files) {
        auto config = parse_config(text, k_source);
        ASSERT_FALSE(config) << text;
        EXPECT_EQ(config.error().message.find(secret.substr(0, 6)), std::string::npos)
            << config.error().message;
        EXPECT_EQ(config.error().message.find("777777"), std::string::npos)
            << config.error().message;
    }
}

// ------------------------------------------------------------------ durations

TEST(Durations, ParseTheDocumentedForms) {
    EXPECT_EQ(*parse_duration("15s"), 15s);
    EXPECT_EQ(*parse_duration("10m"), 10min);
    EXPECT_EQ(*parse_duration("2h"), 2h);
    EXPECT_EQ(*parse_duration("500ms"), 500ms);
    EXPECT_EQ(*parse_duration("1h30m"), 90min);
    EXPECT_EQ(*parse_duration("1h2m3s4ms"), 1h + 2min + 3s + 4ms);
    EXPECT_EQ(*parse_duration("0s"), 0s);
    for (const char* bad :
         {"", "15", "s", "1.5s", "-1s", "1d", "30s1m", "1m1m", "1 m", "1M", "1000000000s", "1hh"}) {
        EXPECT_FALSE(parse_duration(bad)) << bad;
    }
}

TEST(Durations, FormatIsTheShortestThatParsesBack) {
    EXPECT_EQ(format_duration(0s), "0s");
    EXPECT_EQ(format_duration(90min), "1h30m");
    EXPECT_EQ(format_duration(60s), "1m");
    EXPECT_EQ(format_duration(1500ms), "1s500ms");
    for (const Duration d : {Duration(1), Duration(999), Duration(3600001), Duration(86399999)}) {
        EXPECT_EQ(*parse_duration(format_duration(d)), d);
    }
}

}  // namespace
}  // namespace cb
