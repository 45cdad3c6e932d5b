#include "core/config_schema.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <filesystem>
#include <map>
#include <optional>
#include <utility>

#include "core/config_edit.h"
#include "core/slurm_options.h"
#include "util/hostlist.h"
#include "util/sanitize.h"
#include "util/spelling.h"

namespace cb {

namespace {

using namespace std::chrono_literals;

constexpr std::array<std::string_view, 2> k_shutdown_names{"terminate", "deallocate"};
// In the order of log::Level's enumerators.
constexpr std::array<std::string_view, 4> k_log_level_names{"debug", "info", "warn", "error"};

// ---------------------------------------------------------------- model <-> ConfigValue

ConfigValue to_value(const std::string& v) {
    return v;
}
ConfigValue to_value(bool v) {
    return v;
}
ConfigValue to_value(int v) {
    return std::int64_t{v};
}
ConfigValue to_value(double v) {
    return v;
}
ConfigValue to_value(Duration v) {
    return v;
}
ConfigValue to_value(const std::vector<std::string>& v) {
    return v;
}
ConfigValue to_value(const std::optional<int>& v) {
    return v ? ConfigValue{std::int64_t{*v}} : ConfigValue{};
}
ConfigValue to_value(const std::optional<double>& v) {
    return v ? ConfigValue{*v} : ConfigValue{};
}
ConfigValue to_value(ShutdownPolicy v) {
    return std::string(k_shutdown_names.at(static_cast<std::size_t>(v)));
}
ConfigValue to_value(const std::optional<Placement>& v) {
    return v ? ConfigValue{std::string(to_string(*v))} : ConfigValue{};
}
ConfigValue to_value(log::Level v) {
    return std::string(k_log_level_names.at(static_cast<std::size_t>(v)));
}

void from_value(std::string& out, const ConfigValue& v) {
    out = std::get<std::string>(v);
}
void from_value(bool& out, const ConfigValue& v) {
    out = std::get<bool>(v);
}
void from_value(int& out, const ConfigValue& v) {
    // interpret() has checked the key's limits, which all fit an int.
    out = static_cast<int>(std::get<std::int64_t>(v));
}
void from_value(double& out, const ConfigValue& v) {
    out = std::get<double>(v);
}
void from_value(Duration& out, const ConfigValue& v) {
    out = std::get<Duration>(v);
}
void from_value(std::vector<std::string>& out, const ConfigValue& v) {
    out = std::get<std::vector<std::string>>(v);
}
void from_value(std::optional<int>& out, const ConfigValue& v) {
    if (std::holds_alternative<std::monostate>(v)) {
        out.reset();
    } else {
        out = static_cast<int>(std::get<std::int64_t>(v));
    }
}
void from_value(std::optional<double>& out, const ConfigValue& v) {
    if (std::holds_alternative<std::monostate>(v)) {
        out.reset();
    } else {
        out = std::get<double>(v);
    }
}
template <typename Enum, std::size_t N>
void enum_from_value(Enum& out, const ConfigValue& v,
                     const std::array<std::string_view, N>& names) {
    const auto& text = std::get<std::string>(v);
    for (std::size_t i = 0; i < N; ++i) {
        if (names[i] == text) {
            out = static_cast<Enum>(i);
        }
    }
}
void from_value(ShutdownPolicy& out, const ConfigValue& v) {
    enum_from_value(out, v, k_shutdown_names);
}
void from_value(std::optional<Placement>& out, const ConfigValue& v) {
    if (std::holds_alternative<std::monostate>(v)) {
        out.reset();
    } else {
        Placement p = Placement::k_none;
        enum_from_value(p, v, k_placement_names);
        out = p;
    }
}
void from_value(log::Level& out, const ConfigValue& v) {
    enum_from_value(out, v, k_log_level_names);
}

// A key of a fixed section: `Section` is the Config member, `Field` the member in it.
template <auto Section, auto Field>
constexpr Accessor<Config> field() {
    return {[](const Config& c) { return to_value(c.*Section.*Field); },
            [](Config& c, const ConfigValue& v) { from_value(c.*Section.*Field, v); }};
}

template <auto Field>
constexpr Accessor<NodeArrayConfig> array_field() {
    return {[](const NodeArrayConfig& a) { return to_value(a.*Field); },
            [](NodeArrayConfig& a, const ConfigValue& v) { from_value(a.*Field, v); }};
}

// ---------------------------------------------------------------- extra checks

bool is_slurm_name(std::string_view text) {
    if (text.empty()) {
        return false;
    }
    for (const char c : text) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
        if (!ok) {
            return false;
        }
    }
    return true;
}

std::string non_empty(const ConfigValue& v) {
    return std::get<std::string>(v).empty() ? "must not be empty" : "";
}

std::string currency_code(const ConfigValue& v) {
    const auto& text = std::get<std::string>(v);
    if (text.empty() || text.size() > 8) {
        return "must be 1 to 8 letters, like \"USD\" or \"EUR\"";
    }
    for (const char c : text) {
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'))) {
            return "must be 1 to 8 letters, like \"USD\" or \"EUR\"";
        }
    }
    return "";
}

std::string tls_pin(const ConfigValue& v) {
    const auto& text = std::get<std::string>(v);
    if (!is_tls_pin(text)) {
        return "must be a pinned public key as `cloudburst init` shows it, sha256// and the "
               "base64 of the SHA-256 of the certificate's public key (44 characters; several "
               "joined by ';'), not " +
               quote_for_message(text);
    }
    return "";
}

std::string user_name(const ConfigValue& v) {
    const auto& text = std::get<std::string>(v);
    if (text.empty()) {
        return "must not be empty";
    }
    for (const char c : text) {
        if (c == ':' || c == '/' || static_cast<unsigned char>(c) <= ' ') {
            return "must be a user name, not " + quote_for_message(text);
        }
    }
    return "";
}

std::string slurm_name(const ConfigValue& v) {
    const auto& text = std::get<std::string>(v);
    if (!is_slurm_name(text)) {
        return "must be a Slurm name (letters, digits, '_', '.' and '-'), not " +
               quote_for_message(text);
    }
    return "";
}

std::string slurm_names(const ConfigValue& v) {
    const auto& items = std::get<std::vector<std::string>>(v);
    for (std::size_t i = 0; i < items.size(); ++i) {
        if (!is_slurm_name(items[i])) {
            return "item " + std::to_string(i + 1) +
                   " must be a Slurm name (letters, digits, '_', " + "'.' and '-'), not " +
                   quote_for_message(items[i]);
        }
    }
    return "";
}

// cost.partition_budgets: "PARTITION=AMOUNT" items, one per partition. Whether the partition
// is one of the node arrays' is checked with them (config_loader).
std::string partition_budget_items(const ConfigValue& v) {
    const auto& items = std::get<std::vector<std::string>>(v);
    std::map<std::string, std::size_t> seen;  // partition -> item number
    for (std::size_t i = 0; i < items.size(); ++i) {
        const auto budget = parse_partition_budget(items[i]);
        if (!budget) {
            return "item " + std::to_string(i + 1) +
                   " must be PARTITION=AMOUNT such as \"hpc=500\" (a partition name, '=', and "
                   "an amount above 0 and at most 1000000000, digits and '.'), not " +
                   quote_for_message(items[i]);
        }
        if (const auto [it, added] = seen.emplace(budget->partition, i + 1); !added) {
            return "item " + std::to_string(i + 1) + " gives partition " +
                   quote_for_message(budget->partition) + " a second budget (item " +
                   std::to_string(it->second) + " is the first); keep one";
        }
    }
    return "";
}

std::string node_option_items(const ConfigValue& v) {
    return slurm_options_problem(std::get<std::vector<std::string>>(v), SlurmLine::k_node);
}

std::string partition_option_items(const ConfigValue& v) {
    return slurm_options_problem(std::get<std::vector<std::string>>(v), SlurmLine::k_partition);
}

// CycleCloud cluster names may hold spaces; the name is written into a comment of the
// generated slurm.conf include, so nothing that could end that comment or start another.
std::string cluster_name(const ConfigValue& v) {
    const auto& text = std::get<std::string>(v);
    if (text.empty()) {
        return "must not be empty";
    }
    const bool ok = text.size() <= k_max_plain_name && text.front() != ' ' && text.back() != ' ' &&
                    std::all_of(text.begin(), text.end(), [](char c) {
                        return c == ' ' || is_plain_name({&c, 1});
                    });
    if (!ok) {
        return "must be a CycleCloud cluster name (1 to 63 letters, digits, '.', '_', '-' and "
               "inner spaces), not " +
               quote_for_message(text);
    }
    return "";
}

// The site's own PrologSlurmctld, never the gate itself (it would run itself until slurmctld
// gives up on the prolog).
std::string not_the_gate(const ConfigValue& v) {
    const auto& text = std::get<std::string>(v);
    if (std::filesystem::path(text).filename() == "cloudburst-prolog") {
        return "must name the site's own PrologSlurmctld, not cloudburst-prolog itself";
    }
    return {};
}

// A hostlist that goes verbatim into a Nodes= of slurm.conf: plain node names and ranges,
// separated by commas only.
std::string plain_hostlist(const ConfigValue& v) {
    const auto& text = std::get<std::string>(v);
    constexpr std::string_view k_expected =
        "must be a hostlist of plain node names such as \"onprem-[1-64],login1\" (letters, "
        "digits, '.', '_', '-', brackets and commas; at most 63 characters a name), not ";
    const bool chars_ok = std::all_of(text.begin(), text.end(), [](char c) {
        return c == '[' || c == ']' || c == ',' || is_plain_name({&c, 1});
    });
    if (!chars_ok) {
        return std::string(k_expected) + quote_for_message(text);
    }
    auto parsed = Hostlist::parse(text);
    if (!parsed) {
        return "must be a Slurm hostlist: " + parsed.error().message;
    }
    for (const auto& name : parsed->expand()) {
        if (!is_plain_name(name)) {
            return std::string(k_expected) + quote_for_message(text) + " (it names " +
                   quote_for_message(name) + ")";
        }
    }
    return "";
}

std::string whole_seconds(const ConfigValue& v) {
    const auto duration = std::get<Duration>(v);
    if (duration.count() % 1000 != 0) {
        return "must be a whole number of seconds (Slurm counts in seconds), not " +
               quote_for_message(format_duration(duration));
    }
    return "";
}

// "127.0.0.1:9101", "[::1]:9101", "localhost:9101": the metrics are for this machine's
// Prometheus (or its agent); a loopback address keeps them off the network.
std::string loopback_listen_address(const ConfigValue& v) {
    const auto& text = std::get<std::string>(v);
    const auto colon = text.rfind(':');
    const std::string host = colon == std::string::npos ? std::string() : text.substr(0, colon);
    const std::string port = colon == std::string::npos ? std::string() : text.substr(colon + 1);
    int number = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), number);
    const bool port_ok = !port.empty() && ec == std::errc() && end == port.data() + port.size() &&
                         number >= 1 && number <= 65535;
    const bool bracketed = host.size() > 2 && host.front() == '[' && host.back() == ']';
    const std::string bare = bracketed ? host.substr(1, host.size() - 2) : host;
    if (!port_ok || bare.empty() || !is_loopback_host(bare) ||
        (bare.find(':') != std::string::npos && !bracketed)) {
        return "must be a loopback address and a port, such as \"127.0.0.1:9101\", not " +
               quote_for_message(text);
    }
    return "";
}

constexpr std::int64_t ms(Duration d) {
    return d.count();
}

// ---------------------------------------------------------------- the tables

constexpr std::array<std::string_view, 8> k_sections{"cyclecloud", "slurm", "paths",   "daemon",
                                                     "backoff",    "cost",  "metrics", "events"};

const KeySpec<Config> k_config_keys[] = {
    // [cyclecloud]
    {.section = "cyclecloud",
     .key = "url",
     .type = ValueType::k_url,
     .presence = Presence::k_required,
     .description = "Address of the CycleCloud web server, such as "
                    "\"https://cyclecloud.example.com\"; a port and a path may follow the host.",
     .access = field<&Config::cyclecloud, &CycleCloudConfig::url>()},
    {.section = "cyclecloud",
     .key = "cluster",
     .type = ValueType::k_string,
     .presence = Presence::k_required,
     .description = "Name of the CycleCloud cluster whose node arrays this scheduler bursts into: "
                    "1 to 63 letters, digits, '.', '_', '-' and inner spaces (it is written "
                    "into a comment of the generated slurm.conf include).",
     .access = field<&Config::cyclecloud, &CycleCloudConfig::cluster>(),
     .check = cluster_name},
    {.section = "cyclecloud",
     .key = "username",
     .type = ValueType::k_string,
     .presence = Presence::k_required,
     .description = "CycleCloud user the daemon logs in as; give it a role limited to this "
                    "cluster.",
     .access = field<&Config::cyclecloud, &CycleCloudConfig::username>(),
     .check = non_empty},
    {.section = "cyclecloud",
     .key = "password",
     .type = ValueType::k_string,
     .presence = Presence::k_required,
     .description = "That user's password, written here. Allowed only if this file is mode 0600 "
                    "or stricter and owned by root; `password_file` is better.",
     .access = field<&Config::cyclecloud, &CycleCloudConfig::password>(),
     .check = non_empty,
     .secrecy = Secrecy::k_secret,
     .alternative = "password_file"},
    {.section = "cyclecloud",
     .key = "password_file",
     .type = ValueType::k_path,
     .presence = Presence::k_required,
     .description = "File holding that user's password (trailing newlines are ignored). It "
                    "must be mode 0600 or stricter, owned by root, not a symbolic link, and in "
                    "directories that only root can change.",
     .access = field<&Config::cyclecloud, &CycleCloudConfig::password_file>(),
     .alternative = "password"},
    {.section = "cyclecloud",
     .key = "ca_bundle",
     .type = ValueType::k_path,
     .presence = Presence::k_optional,
     .description = "PEM file of the CA certificates to trust for CycleCloud's HTTPS "
                    "certificate (for example CycleCloud's own self-signed certificate).",
     .access = field<&Config::cyclecloud, &CycleCloudConfig::ca_bundle>(),
     .default_note = "the system's CA certificates"},
    {.section = "cyclecloud",
     .key = "verify_tls",
     .type = ValueType::k_boolean,
     .presence = Presence::k_defaulted,
     .description = "Verify CycleCloud's certificate and host name. Turn it off only for tests: "
                    "without it the password can be intercepted.",
     .access = field<&Config::cyclecloud, &CycleCloudConfig::verify_tls>()},
    {.section = "cyclecloud",
     .key = "tls_pin",
     .type = ValueType::k_string,
     .presence = Presence::k_optional,
     .description =
         "CycleCloud's public key, pinned: `sha256//` and the base64 of the SHA-256 of the "
         "DER SubjectPublicKeyInfo of its certificate (libcurl's pinned public key; several "
         "joined by `;` while a new key is rolled out). `cloudburst init` shows it and writes "
         "it (`--tls-pin`). When set, a connection is made only to a server that proves it "
         "holds that key, before anything is sent; the certificate's CA, host name and dates "
         "are then not checked, which is what a fresh CycleCloud's self-signed, short-lived "
         "certificate for another name needs. Not with `ca_bundle` or `verify_tls = false`.",
     .access = field<&Config::cyclecloud, &CycleCloudConfig::tls_pin>(),
     .check = tls_pin,
     .default_note = "not pinned: the certificate is verified against `ca_bundle` or the "
                     "system's CAs, with the host name"},
    {.section = "cyclecloud",
     .key = "allow_insecure_http",
     .type = ValueType::k_boolean,
     .presence = Presence::k_defaulted,
     .description = "Allow an http:// `url` to a host other than this machine. Without it such "
                    "a URL is refused, because the password would cross the network in clear "
                    "text with every request; `config check`, `doctor` and `init` warn while it "
                    "is set. http:// to localhost, 127.0.0.0/8 or ::1 needs no permission.",
     .access = field<&Config::cyclecloud, &CycleCloudConfig::allow_insecure_http>()},
    {.section = "cyclecloud",
     .key = "connect_timeout",
     .type = ValueType::k_duration,
     .presence = Presence::k_defaulted,
     .description = "How long to wait for a connection to CycleCloud.",
     .access = field<&Config::cyclecloud, &CycleCloudConfig::connect_timeout>(),
     .limits = {ms(100ms), ms(5min)}},
    {.section = "cyclecloud",
     .key = "request_timeout",
     .type = ValueType::k_duration,
     .presence = Presence::k_defaulted,
     .description = "How long one API request may take in all.",
     .access = field<&Config::cyclecloud, &CycleCloudConfig::request_timeout>(),
     .limits = {ms(1s), ms(30min)}},
    {.section = "cyclecloud",
     .key = "max_response_mb",
     .type = ValueType::k_integer,
     .presence = Presence::k_defaulted,
     .description = "Largest answer taken from CycleCloud, in MiB; a larger one is an error "
                    "that names this key. The node list is the largest: about 1.2 KB a node "
                    "from the emulator and a few KB from a real CycleCloud, so the default "
                    "holds 10,000 nodes of 13 KB each. The daemon may hold this much in memory "
                    "while it reads an answer.",
     .access = field<&Config::cyclecloud, &CycleCloudConfig::max_response_mb>(),
     .limits = {1, 2048}},
    {.section = "cyclecloud",
     .key = "max_connections",
     .type = ValueType::k_integer,
     .presence = Presence::k_defaulted,
     .description = "Calls to CycleCloud the daemon makes at once, each on a connection of its "
                    "own: the create calls of several node arrays go out together (a burst into "
                    "four arrays waits for one call, not four). 1 makes one call at a time.",
     .access = field<&Config::cyclecloud, &CycleCloudConfig::max_connections>(),
     .limits = {1, 16}},
    // [slurm]
    {.section = "slurm",
     .key = "bin_dir",
     .type = ValueType::k_path,
     .presence = Presence::k_defaulted,
     .description = "Directory of `scontrol`, `sinfo` and `squeue`; they are run by absolute "
                    "path, without a shell or `PATH`.",
     .access = field<&Config::slurm, &SlurmConfig::bin_dir>()},
    {.section = "slurm",
     .key = "user",
     .type = ValueType::k_string,
     .presence = Presence::k_defaulted,
     .description = "The `SlurmUser` of slurm.conf. The hooks run as this user, and it may own "
                    "this file and the password file.",
     .access = field<&Config::slurm, &SlurmConfig::user>(),
     .check = user_name},
    {.section = "slurm",
     .key = "conf_dir",
     .type = ValueType::k_path,
     .presence = Presence::k_defaulted,
     .description = "Directory of slurm.conf.",
     .access = field<&Config::slurm, &SlurmConfig::conf_dir>()},
    {.section = "slurm",
     .key = "onprem_nodes",
     .type = ValueType::k_string,
     .presence = Presence::k_optional,
     .description = "Hostlist of the site's own nodes (defined in slurm.conf), listed with "
                    "the cloud nodes in each hybrid partition: plain node names (letters, "
                    "digits, '.', '_' and '-', at most 63 each) and bracketed ranges, separated "
                    "by commas.",
     .access = field<&Config::slurm, &SlurmConfig::onprem_nodes>(),
     .check = plain_hostlist},
    {.section = "slurm",
     .key = "keep_alive_nodes",
     .type = ValueType::k_string,
     .presence = Presence::k_optional,
     .description = "Hostlist of cloud nodes that are never suspended once they are up, each "
                    "of them (`SuspendExcNodes`; `cloudburst keep-alive NODES --set` adds to it): "
                    "plain node names and bracketed ranges, separated by commas.",
     .access = field<&Config::slurm, &SlurmConfig::keep_alive_nodes>(),
     .check = plain_hostlist},
    {.section = "slurm",
     .key = "prolog_chain",
     .type = ValueType::k_path,
     .presence = Presence::k_optional,
     .description = "The site's own PrologSlurmctld, on Slurm before 24.05 (one "
                    "PrologSlurmctld line only): cloudburst-prolog runs it first, with the job's "
                    "environment, and a non-zero exit of it is the gate's; only then does the "
                    "gate wait for the job's cloud nodes. `cloudburst setup scheduler` sets it "
                    "when it puts the gate in the site's line. From 24.05 on the gate gets a "
                    "second PrologSlurmctld line instead.",
     .access = field<&Config::slurm, &SlurmConfig::prolog_chain>(),
     .check = not_the_gate},
    {.section = "slurm",
     .key = "generated_conf",
     .type = ValueType::k_path,
     .presence = Presence::k_defaulted,
     .description = "File that `cloudburst scale` writes the cloud node and partition lines "
                    "to; slurm.conf includes it (`Include cloudburst.conf`).",
     .access = field<&Config::slurm, &SlurmConfig::generated_conf>(),
     .default_note = "`<conf_dir>/cloudburst.conf`",
     .derive =
         [](Config& c, const Config&) {
             const auto& dir = c.slurm.conf_dir;
             c.slurm.generated_conf = dir + (dir.ends_with('/') ? "" : "/") + "cloudburst.conf";
         }},
    {.section = "slurm",
     .key = "suspend_time",
     .type = ValueType::k_duration,
     .presence = Presence::k_defaulted,
     .description = "Default `SuspendTime` of the cloud partitions: how long a cloud node may "
                    "be idle before it is powered down and its VM shut down.",
     .access = field<&Config::slurm, &SlurmConfig::suspend_time>(),
     .limits = {ms(1min), ms(168h)},
     .check = whole_seconds},
    {.section = "slurm",
     .key = "resume_timeout",
     .type = ValueType::k_duration,
     .presence = Presence::k_defaulted,
     .description = "Default `ResumeTimeout` of the cloud partitions: how long a node may take "
                    "from power-up to registering before it is marked DOWN and returned.",
     .access = field<&Config::slurm, &SlurmConfig::resume_timeout>(),
     .limits = {ms(1min), ms(24h)},
     .check = whole_seconds},
    // [paths]
    {.section = "paths",
     .key = "spool_dir",
     .type = ValueType::k_path,
     .presence = Presence::k_defaulted,
     .description = "Where the hooks leave requests for the daemon; `slurm.user` must be able "
                    "to write there.",
     .access = field<&Config::paths, &PathsConfig::spool_dir>()},
    {.section = "paths",
     .key = "state_db",
     .type = ValueType::k_path,
     .presence = Presence::k_defaulted,
     .description = "The daemon's journal (SQLite).",
     .access = field<&Config::paths, &PathsConfig::state_db>()},
    {.section = "paths",
     .key = "log_dir",
     .type = ValueType::k_path,
     .presence = Presence::k_defaulted,
     .description = "Log files of the daemon and the hooks.",
     .access = field<&Config::paths, &PathsConfig::log_dir>()},
    {.section = "paths",
     .key = "socket",
     .type = ValueType::k_path,
     .presence = Presence::k_defaulted,
     .description = "The daemon's control socket.",
     .access = field<&Config::paths, &PathsConfig::socket>()},
    // [daemon]
    {.section = "daemon",
     .key = "sync_period",
     .type = ValueType::k_duration,
     .presence = Presence::k_defaulted,
     .description = "Longest time between two reconcile passes (a pass also runs on every "
                    "request and deadline).",
     .access = field<&Config::daemon, &DaemonConfig::sync_period>(),
     .limits = {ms(1s), ms(1h)}},
    {.section = "daemon",
     .key = "orphan_grace",
     .type = ValueType::k_duration,
     .presence = Presence::k_defaulted,
     .description = "How long a VM may run while Slurm does not know its node or has powered "
                    "it down, before the daemon shuts it down.",
     .access = field<&Config::daemon, &DaemonConfig::orphan_grace>(),
     .limits = {ms(10s), ms(24h)}},
    {.section = "daemon",
     .key = "log_level",
     .type = ValueType::k_choice,
     .presence = Presence::k_defaulted,
     .description = "Least important log messages written.",
     .access = field<&Config::daemon, &DaemonConfig::log_level>(),
     .choices = k_log_level_names},
    // [backoff]
    {.section = "backoff",
     .key = "initial",
     .type = ValueType::k_duration,
     .presence = Presence::k_defaulted,
     .description = "How long a bucket (node array and VM size) is avoided after a capacity, "
                    "quota or throttling failure.",
     .access = field<&Config::backoff, &BackoffConfig::initial>(),
     .limits = {ms(1s), ms(24h)}},
    {.section = "backoff",
     .key = "max",
     .type = ValueType::k_duration,
     .presence = Presence::k_defaulted,
     .description = "The longest a bucket is avoided after repeated failures.",
     .access = field<&Config::backoff, &BackoffConfig::max>(),
     .limits = {ms(1s), ms(24h)}},
    {.section = "backoff",
     .key = "factor",
     .type = ValueType::k_number,
     .presence = Presence::k_defaulted,
     .description = "What the wait is multiplied by after each further failure.",
     .access = field<&Config::backoff, &BackoffConfig::factor>(),
     .limits = {1, 10}},
    {.section = "backoff",
     .key = "bootstrap_failures",
     .type = ValueType::k_integer,
     .presence = Presence::k_defaulted,
     .description = "Nodes of one node array in a row whose VM came up but never registered "
                    "with Slurm (or failed in Preparing) before the array's bootstrap breaker "
                    "opens: no more VMs for it until the backoff is over, then one probe node; "
                    "its registration, or `cloudburst buckets reset`, closes it. 0 turns the "
                    "breaker off.",
     .access = field<&Config::backoff, &BackoffConfig::bootstrap_failures>(),
     .limits = {0, 1000}},
    // [cost]
    {.section = "cost",
     .key = "prices",
     .type = ValueType::k_path,
     .presence = Presence::k_optional,
     .description = "The price file: CSV with the header `vm_size,region,hourly,spot_hourly`, "
                    "one line per VM size (region `*` for any); see docs/cost.md. Needed by "
                    "`cloudburst cost` for money and by budgets.",
     .access = field<&Config::cost, &CostConfig::prices>(),
     .default_note = "none: `cloudburst cost` shows VM-hours only"},
    {.section = "cost",
     .key = "currency",
     .type = ValueType::k_string,
     .presence = Presence::k_defaulted,
     .description = "The unit of the price file's amounts and of budgets, printed beside them.",
     .access = field<&Config::cost, &CostConfig::currency>(),
     .check = currency_code},
    {.section = "cost",
     .key = "budget_warn_percent",
     .type = ValueType::k_integer,
     .presence = Presence::k_defaulted,
     .description = "At this share of a monthly budget the daemon warns (log and "
                    "`cloudburst cost`).",
     .access = field<&Config::cost, &CostConfig::budget_warn_percent>(),
     .limits = {1, 100}},
    {.section = "cost",
     .key = "partition_budgets",
     .type = ValueType::k_string_list,
     .presence = Presence::k_defaulted,
     .description =
         "Monthly budgets of Slurm partitions, `\"PARTITION=AMOUNT\"` each (such as "
         "`[\"hpc=5000\"]`, in `cost.currency`, priced from `cost.prices`): when the calendar "
         "month's (UTC) spend of all node arrays whose `partition` it is reaches the amount, "
         "every one of them gets no new VMs until the next month, as with "
         "`nodearrays.<name>.monthly_budget` (both apply where both are set). Each partition "
         "must be the `partition` of a node array this file names, and may have one budget.",
     .access = field<&Config::cost, &CostConfig::partition_budgets>(),
     .check = partition_budget_items},
    // [metrics]
    {.section = "metrics",
     .key = "listen",
     .type = ValueType::k_string,
     .presence = Presence::k_optional,
     .description = "Where cloudburstd serves its Prometheus metrics (GET /metrics, "
                    "docs/operations.md): a loopback address and a port, such as "
                    "\"127.0.0.1:9101\"; unset, there is no metrics endpoint. Any local user "
                    "can read them (they hold no secret).",
     .access = field<&Config::metrics, &MetricsConfig::listen>(),
     .check = loopback_listen_address},
    // [events]
    {.section = "events",
     .key = "file",
     .type = ValueType::k_path,
     .presence = Presence::k_optional,
     .description = "File cloudburstd appends one JSON line to per operations event (node "
                    "phase changes, failures, breakers, orphans; docs/operations.md), for a log "
                    "shipper; unset, there is none.",
     .access = field<&Config::events, &EventsConfig::file>()},
    {.section = "events",
     .key = "max_size_mb",
     .type = ValueType::k_integer,
     .presence = Presence::k_defaulted,
     .description = "The event file is rotated (FILE.1, FILE.2, ...) before it grows past this "
                    "many MiB.",
     .access = field<&Config::events, &EventsConfig::max_size_mb>(),
     .limits = {1, 4096}},
    {.section = "events",
     .key = "keep",
     .type = ValueType::k_integer,
     .presence = Presence::k_defaulted,
     .description = "How many rotated event files are kept; the oldest is removed.",
     .access = field<&Config::events, &EventsConfig::keep>(),
     .limits = {1, 100}},
};

const KeySpec<NodeArrayConfig> k_node_array_keys[] = {
    {.section = "nodearrays.<name>",
     .key = "partition",
     .type = ValueType::k_string,
     .presence = Presence::k_defaulted,
     .description = "Slurm partition of this array's nodes. Several arrays, and on-prem nodes, "
                    "may share a partition.",
     .access = array_field<&NodeArrayConfig::partition>(),
     .check = slurm_name,
     .default_note = "the node array's name",
     .derive = [](NodeArrayConfig& a, const Config&) { a.partition = a.name; }},
    {.section = "nodearrays.<name>",
     .key = "hybrid_partition",
     .type = ValueType::k_string,
     .presence = Presence::k_optional,
     .description = "A partition of the on-prem nodes (slurm.onprem_nodes) and this array's "
                    "nodes together: jobs use the cloud only when on-prem is busy (cloud "
                    "nodes have the higher Weight). It sets no SuspendTime, so on-prem nodes "
                    "are never suspended.",
     .access = array_field<&NodeArrayConfig::hybrid_partition>(),
     .check = slurm_name},
    {.section = "nodearrays.<name>",
     .key = "weight",
     .type = ValueType::k_integer,
     .presence = Presence::k_defaulted,
     .description = "Slurm `Weight` of these nodes. Slurm allocates lower weights first and "
                    "on-prem nodes default to 1, so cloud nodes are used when those are busy.",
     .access = array_field<&NodeArrayConfig::weight>(),
     .limits = {1, 65533}},
    {.section = "nodearrays.<name>",
     .key = "dampen_memory",
     .type = ValueType::k_integer,
     .presence = Presence::k_defaulted,
     .description = "Percent of the VM's memory kept from Slurm's `RealMemory` for the "
                    "operating system (but at least `dampen_memory_min_mb`).",
     .access = array_field<&NodeArrayConfig::dampen_memory>(),
     .limits = {0, 90}},
    {.section = "nodearrays.<name>",
     .key = "dampen_memory_min_mb",
     .type = ValueType::k_integer,
     .presence = Presence::k_defaulted,
     .description = "The least memory kept from Slurm, in MB.",
     .access = array_field<&NodeArrayConfig::dampen_memory_min_mb>(),
     .limits = {0, 1048576}},
    {.section = "nodearrays.<name>",
     .key = "gpu_count",
     .type = ValueType::k_integer,
     .presence = Presence::k_optional,
     .description = "GPUs per node (`Gres=gpu:N` and N device files `/dev/nvidia0..N-1` in "
                    "gres.conf). The burst node's cluster-init checks the count of the template's "
                    "`cloudburst.gpus` (its GPUCount); `scale` warns when the two differ.",
     .access = array_field<&NodeArrayConfig::gpu_count>(),
     .limits = {0, 64},
     .default_note = "the SKU catalog's figure for the VM size, else CycleCloud's"},
    {.section = "nodearrays.<name>",
     .key = "def_cpu_per_gpu",
     .type = ValueType::k_integer,
     .presence = Presence::k_optional,
     .description = "`DefCpuPerGPU` of this array's partition: CPUs a job gets per GPU it "
                    "asks for unless it says otherwise.",
     .access = array_field<&NodeArrayConfig::def_cpu_per_gpu>(),
     .limits = {1, 4096},
     .default_note = "Slurm's default (none)"},
    {.section = "nodearrays.<name>",
     .key = "features",
     .type = ValueType::k_string_list,
     .presence = Presence::k_defaulted,
     .description = "Slurm features of these nodes, besides `cloud` and the VM size.",
     .access = array_field<&NodeArrayConfig::features>(),
     .check = slurm_names},
    {.section = "nodearrays.<name>",
     .key = "node_options",
     .type = ValueType::k_string_list,
     .presence = Presence::k_defaulted,
     .description =
         "More options for the NodeName= line of these nodes, `\"Key=value\"` each (such as "
         "`[\"TmpDisk=100000\"]`). Keys: CoreSpecCount, CpuBind, CpuSpecList, MemSpecLimit "
         "and TmpDisk (any case); what cloudburst writes itself (names, State, CPUs and memory "
         "from the VM size, Weight, Feature, Gres) is refused with the key that sets it. A "
         "value is 1 to 256 printable characters without spaces, '#', '=', quotes or "
         "backslashes.",
     .access = array_field<&NodeArrayConfig::node_options>(),
     .check = node_option_items},
    {.section = "nodearrays.<name>",
     .key = "partition_options",
     .type = ValueType::k_string_list,
     .presence = Presence::k_defaulted,
     .description =
         "More options for the PartitionName= line of this array's partition, `\"Key=value\"` "
         "each (such as `[\"DefMemPerCPU=3500\", \"MaxTime=24:00:00\"]`). Keys: AllocNodes, "
         "AllowAccounts, AllowGroups, AllowQos, Alternate, CpuBind, DefCpuPerGPU, DefMemPerCPU, "
         "DefMemPerGPU, DefMemPerNode, DefaultTime, DenyAccounts, DenyQos, DisableRootJobs, "
         "ExclusiveUser, GraceTime, Hidden, LLN, MaxCPUsPerNode, MaxMemPerCPU, MaxMemPerNode, "
         "MaxNodes, MaxTime, MinNodes, OverSubscribe, OverTimeLimit, PreemptMode, "
         "PriorityJobFactor, PriorityTier, QOS, ReqResv, RootOnly and SelectTypeParameters; "
         "PartitionName, Nodes, State, Default and the power-saving timers are cloudburst's. "
         "Node arrays that share a partition may not give one key different values. Not "
         "written to `hybrid_partition`.",
     .access = array_field<&NodeArrayConfig::partition_options>(),
     .check = partition_option_items},
    {.section = "nodearrays.<name>",
     .key = "keep_alive",
     .type = ValueType::k_integer,
     .presence = Presence::k_defaulted,
     .description = "How many of this array's nodes are never suspended once they are up "
                    "(`SuspendExcNodes=<nodes>:N`; `cloudburst keep-alive ARRAY --set N` "
                    "changes it). Slurm keeps them up; it does not start them.",
     .access = array_field<&NodeArrayConfig::keep_alive>(),
     .limits = {0, 100000}},
    {.section = "nodearrays.<name>",
     .key = "suspend_time",
     .type = ValueType::k_duration,
     .presence = Presence::k_defaulted,
     .description = "`SuspendTime` of this array's partition.",
     .access = array_field<&NodeArrayConfig::suspend_time>(),
     .limits = {ms(1min), ms(168h)},
     .check = whole_seconds,
     .default_note = "`slurm.suspend_time`",
     .derive = [](NodeArrayConfig& a, const Config& c) { a.suspend_time = c.slurm.suspend_time; }},
    {.section = "nodearrays.<name>",
     .key = "resume_timeout",
     .type = ValueType::k_duration,
     .presence = Presence::k_defaulted,
     .description = "`ResumeTimeout` of this array's partition.",
     .access = array_field<&NodeArrayConfig::resume_timeout>(),
     .limits = {ms(1min), ms(24h)},
     .check = whole_seconds,
     .default_note = "`slurm.resume_timeout`",
     .derive = [](NodeArrayConfig& a,
                  const Config& c) { a.resume_timeout = c.slurm.resume_timeout; }},
    {.section = "nodearrays.<name>",
     .key = "monthly_budget",
     .type = ValueType::k_number,
     .presence = Presence::k_optional,
     .description = "Spend per calendar month (UTC, in `cost.currency`, priced from "
                    "`cost.prices`) at which this array gets no new VMs until the next month: "
                    "its nodes go DOWN with a `cloudburst: budget:` reason and jobs wait or use "
                    "other partitions. VMs already running are left alone.",
     .access = array_field<&NodeArrayConfig::monthly_budget>(),
     .limits = {0, 1000000000},
     .default_note = "no budget"},
    {.section = "nodearrays.<name>",
     .key = "shutdown",
     .type = ValueType::k_choice,
     .presence = Presence::k_defaulted,
     .description = "What suspending a node does to its VM: `terminate` deletes it; "
                    "`deallocate` keeps its disk (a small cost) for a faster restart that "
                    "needs no new quota.",
     .access = array_field<&NodeArrayConfig::shutdown>(),
     .choices = k_shutdown_names},
    {.section = "nodearrays.<name>",
     .key = "placement",
     .type = ValueType::k_choice,
     .presence = Presence::k_optional,
     .description =
         "Placement groups for MPI (on Azure only VMs of one placement group share an "
         "InfiniBand fabric): `partition` cuts the array's nodes by index into groups of the "
         "VM size's maxPlacementGroupSize (`<cluster>-<array>-pg<k>`; `scale` writes one "
         "topology.conf switch per group so Slurm keeps a job inside one); `job` gives the "
         "nodes of each job a group of its own (`<cluster>-<array>-job<id>`); `none` asks for "
         "no group. A job with more nodes than a group holds gets a `cloudburst: placement:` "
         "reason instead of being split.",
     .access = array_field<&NodeArrayConfig::placement>(),
     .choices = k_placement_names,
     .default_note = "`partition` when the node array's `slurm.hpc` is true in CycleCloud, "
                     "else `none`"},
};

// ---------------------------------------------------------------- interpreting values

// The parts of a KeySpec that do not depend on its target.
struct Rule {
    ValueType type;
    Limits limits;
    std::span<const std::string_view> choices;
    ExtraCheck check;
    Secrecy secrecy;
};

template <typename Target>
Rule rule_of(const KeySpec<Target>& spec) {
    return {spec.type, spec.limits, spec.choices, spec.check, spec.secrecy};
}

constexpr std::string_view k_duration_forms = "a duration such as \"30s\", \"10m\" or \"1h30m\"";

std::string choice_list(std::span<const std::string_view> choices) {
    std::string out;
    for (std::size_t i = 0; i < choices.size(); ++i) {
        if (i > 0) {
            out += i + 1 == choices.size() ? " or " : ", ";
        }
        out += '"';
        out += choices[i];
        out += '"';
    }
    return out;
}

// What the key must be, as in "must be <expected>, not a string".
std::string expected(const Rule& rule) {
    switch (rule.type) {
        case ValueType::k_string:
            return "a string";
        case ValueType::k_boolean:
            return "a boolean (true or false)";
        case ValueType::k_integer:
            return "an integer";
        case ValueType::k_number:
            return "a number";
        case ValueType::k_duration:
            return std::string(k_duration_forms);
        case ValueType::k_path:
            return "a string (an absolute path)";
        case ValueType::k_url:
            return "a string (an http:// or https:// URL)";
        case ValueType::k_choice:
            return "one of " + choice_list(rule.choices);
        case ValueType::k_string_list:
            return "an array of strings";
    }
    return "valid";
}

Error problem(std::string text) {
    return make_error(ErrorKind::k_config, std::move(text));
}

Error wrong_type(const Rule& rule, const TomlValue& in) {
    std::string text = "must be " + expected(rule) + ", not " + std::string(describe(in.type));
    if (rule.type == ValueType::k_duration && in.type == TomlType::k_integer) {
        const auto n = std::get<std::int64_t>(in.value);
        text += " (for " + std::to_string(n) + " seconds write \"" + std::to_string(n) + "s\")";
    }
    return problem(std::move(text));
}

bool has_control_characters(std::string_view text) {
    for (const char c : text) {
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
            return true;
        }
    }
    return false;
}

std::string format_number(double v) {
    char buf[64];
    const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    std::string out(buf, ec == std::errc() ? end : buf);
    if (out.find_first_of(".eEn") == std::string::npos) {  // "n": nan and inf need no ".0"
        out += ".0";
    }
    return out;
}

std::string check_url(std::string_view url) {
    std::string_view rest;
    for (const std::string_view scheme : {"https://", "http://"}) {
        if (url.starts_with(scheme)) {
            rest = url.substr(scheme.size());
            break;
        }
    }
    const std::string_view host = rest.substr(0, rest.find('/'));
    if (host.find('@') != std::string_view::npos) {
        // Never echoed: the text before '@' may be a password.
        return "must not contain a user name or password (set them with the username and "
               "password keys)";
    }
    bool ok =
        !host.empty() && !has_control_characters(url) && url.find(' ') == std::string_view::npos;
    if (!ok) {
        return "must be an http:// or https:// URL such as \"https://cyclecloud.example.com\", "
               "not " +
               quote_for_message(url);
    }
    return "";
}

Result<ConfigValue> convert(const Rule& rule, const TomlValue& in) {
    const bool is_string = in.type == TomlType::k_string;
    switch (rule.type) {
        case ValueType::k_string:
            if (!is_string) {
                return wrong_type(rule, in);
            }
            return in.value;
        case ValueType::k_boolean:
            if (in.type != TomlType::k_boolean) {
                return wrong_type(rule, in);
            }
            return in.value;
        case ValueType::k_integer: {
            if (in.type != TomlType::k_integer) {
                return wrong_type(rule, in);
            }
            const auto n = std::get<std::int64_t>(in.value);
            if (n < rule.limits.min || n > rule.limits.max) {
                return problem("must be between " + std::to_string(rule.limits.min) + " and " +
                               std::to_string(rule.limits.max) + ", not " + std::to_string(n));
            }
            return in.value;
        }
        case ValueType::k_number: {
            double n = 0;
            if (in.type == TomlType::k_integer) {
                n = static_cast<double>(std::get<std::int64_t>(in.value));
            } else if (in.type == TomlType::k_float) {
                n = std::get<double>(in.value);
            } else {
                return wrong_type(rule, in);
            }
            const auto min = static_cast<double>(rule.limits.min);
            const auto max = static_cast<double>(rule.limits.max);
            if (!(n >= min && n <= max)) {  // also refuses nan
                return problem("must be between " + std::to_string(rule.limits.min) + " and " +
                               std::to_string(rule.limits.max) + ", not " + format_number(n));
            }
            return ConfigValue{n};
        }
        case ValueType::k_duration: {
            if (!is_string) {
                return wrong_type(rule, in);
            }
            const auto& text = std::get<std::string>(in.value);
            auto duration = parse_duration(text);
            if (!duration) {
                return std::move(duration).error();
            }
            if (duration->count() < rule.limits.min || duration->count() > rule.limits.max) {
                return problem("must be between " + format_duration(Duration(rule.limits.min)) +
                               " and " + format_duration(Duration(rule.limits.max)) + ", not " +
                               quote_for_message(text));
            }
            return ConfigValue{*duration};
        }
        case ValueType::k_path: {
            if (!is_string) {
                return wrong_type(rule, in);
            }
            const auto& text = std::get<std::string>(in.value);
            if (has_control_characters(text)) {
                return problem("must not contain control characters");
            }
            if (!text.starts_with('/')) {
                return problem("must be an absolute path (starting with '/'), not " +
                               quote_for_message(text));
            }
            return in.value;
        }
        case ValueType::k_url: {
            if (!is_string) {
                return wrong_type(rule, in);
            }
            if (auto bad = check_url(std::get<std::string>(in.value)); !bad.empty()) {
                return problem(std::move(bad));
            }
            return in.value;
        }
        case ValueType::k_choice: {
            if (!is_string) {
                return wrong_type(rule, in);
            }
            const auto& text = std::get<std::string>(in.value);
            std::vector<std::string> names(rule.choices.begin(), rule.choices.end());
            for (const auto& name : names) {
                if (name == text) {
                    return in.value;
                }
            }
            std::string text_out = "must be " + expected(rule) + ", not " + quote_for_message(text);
            if (auto guess = closest_match(text, names); !guess.empty()) {
                text_out += " (did you mean \"" + guess + "\"?)";
            }
            return problem(std::move(text_out));
        }
        case ValueType::k_string_list:
            if (in.type != TomlType::k_array) {
                return wrong_type(rule, in);
            }
            if (in.bad_item > 0) {
                return problem("must be an array of strings, but item " +
                               std::to_string(in.bad_item) + " is " +
                               std::string(describe(in.bad_item_type)));
            }
            return in.value;
    }
    return problem("has a type this build does not know");
}

template <typename Target>
std::span<const KeySpec<Target>> table();
template <>
std::span<const KeySpec<Config>> table<Config>() {
    return k_config_keys;
}
template <>
std::span<const KeySpec<NodeArrayConfig>> table<NodeArrayConfig>() {
    return k_node_array_keys;
}

bool has_value(const ConfigValue& v) {
    if (std::holds_alternative<std::monostate>(v)) {
        return false;
    }
    if (const auto* text = std::get_if<std::string>(&v)) {
        return !text->empty();
    }
    return true;
}

}  // namespace

std::string_view describe(TomlType type) {
    switch (type) {
        case TomlType::k_string:
            return "a string";
        case TomlType::k_integer:
            return "an integer";
        case TomlType::k_float:
            return "a floating-point number";
        case TomlType::k_boolean:
            return "a boolean";
        case TomlType::k_array:
            return "an array";
        case TomlType::k_table:
            return "a table";
        case TomlType::k_date:
            return "a date";
        case TomlType::k_time:
            return "a time";
        case TomlType::k_date_time:
            return "a date-time";
    }
    return "a value";
}

std::span<const KeySpec<Config>> config_keys() {
    return k_config_keys;
}

std::span<const KeySpec<NodeArrayConfig>> node_array_keys() {
    return k_node_array_keys;
}

std::span<const std::string_view> config_sections() {
    return k_sections;
}

template <typename Target>
Result<ConfigValue> interpret(const KeySpec<Target>& spec, const TomlValue& value) {
    const Rule rule = rule_of(spec);
    auto converted = convert(rule, value);
    if (!converted) {
        return converted;
    }
    if (rule.check != nullptr) {
        if (auto bad = rule.check(*converted); !bad.empty()) {
            return problem(std::move(bad));
        }
    }
    return converted;
}

template <typename Target>
bool is_set(const KeySpec<Target>& spec, const Target& target) {
    if (!has_value(spec.access.get(target))) {
        return false;
    }
    if (spec.secrecy == Secrecy::k_secret && !spec.alternative.empty()) {
        for (const auto& other : table<Target>()) {
            if (other.section == spec.section && other.key == spec.alternative &&
                has_value(other.access.get(target))) {
                return false;
            }
        }
    }
    return true;
}

template <typename Target>
std::string describe_type(const KeySpec<Target>& spec) {
    const auto range = [](const std::string& min, const std::string& max) {
        return ", " + min + " to " + max;
    };
    switch (spec.type) {
        case ValueType::k_string:
            return spec.secrecy == Secrecy::k_secret ? "string (secret)" : "string";
        case ValueType::k_boolean:
            return "boolean";
        case ValueType::k_integer:
            return "integer" +
                   range(std::to_string(spec.limits.min), std::to_string(spec.limits.max));
        case ValueType::k_number:
            return "number" +
                   range(std::to_string(spec.limits.min), std::to_string(spec.limits.max));
        case ValueType::k_duration:
            return "duration" + range(format_duration(Duration(spec.limits.min)),
                                      format_duration(Duration(spec.limits.max)));
        case ValueType::k_path:
            return "absolute path";
        case ValueType::k_url:
            return "URL (http or https)";
        case ValueType::k_choice:
            return choice_list(spec.choices);
        case ValueType::k_string_list:
            return "array of strings";
    }
    return "value";
}

template <typename Target>
std::string describe_default(const KeySpec<Target>& spec) {
    if (!spec.default_note.empty()) {
        return std::string(spec.default_note);
    }
    switch (spec.presence) {
        case Presence::k_required:
            if (!spec.alternative.empty()) {
                return "required, or `" + std::string(spec.alternative) + "`";
            }
            return "required";
        case Presence::k_optional:
            return "not set";
        case Presence::k_defaulted:
            break;
    }
    return "`" + toml_literal(spec.access.get(Target{})) + "`";
}

template Result<ConfigValue> interpret(const KeySpec<Config>&, const TomlValue&);
template Result<ConfigValue> interpret(const KeySpec<NodeArrayConfig>&, const TomlValue&);
template bool is_set(const KeySpec<Config>&, const Config&);
template bool is_set(const KeySpec<NodeArrayConfig>&, const NodeArrayConfig&);
template std::string describe_type(const KeySpec<Config>&);
template std::string describe_type(const KeySpec<NodeArrayConfig>&);
template std::string describe_default(const KeySpec<Config>&);
template std::string describe_default(const KeySpec<NodeArrayConfig>&);

NodeArrayConfig default_node_array(const Config& config, std::string_view name) {
    NodeArrayConfig out;
    out.name = name;
    for (const auto& spec : k_node_array_keys) {
        if (spec.derive != nullptr) {
            spec.derive(out, config);
        }
    }
    return out;
}

std::string check_node_array_name(std::string_view name) {
    const bool ok = !name.empty() && name.find_first_not_of(
                                         "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                         "0123456789-_") == std::string_view::npos;
    if (!ok) {
        return "node array name " + quote_for_message(name) +
               " may contain only letters, digits, '-' and '_'";
    }
    return "";
}

// ---------------------------------------------------------------- durations

namespace {
struct DurationUnit {
    std::string_view name;
    std::int64_t ms;
};
// Largest first: the order they must be written in. "ms" before "m" when matching.
constexpr std::array<DurationUnit, 4> k_duration_units{
    DurationUnit{"h", 3600000}, DurationUnit{"m", 60000}, DurationUnit{"s", 1000},
    DurationUnit{"ms", 1}};
}  // namespace

Result<Duration> parse_duration(std::string_view text) {
    const auto bad = [text]() {
        return problem("must be " + std::string(k_duration_forms) +
                       " (whole numbers with the units h, m, s and ms, largest first), not " +
                       quote_for_message(text));
    };
    std::int64_t total = 0;
    std::size_t next_unit = 0;  // units must come in k_duration_units order, each once
    std::string_view rest = text;
    if (rest.empty()) {
        return bad();
    }
    while (!rest.empty()) {
        std::size_t digits = 0;
        while (digits < rest.size() && rest[digits] >= '0' && rest[digits] <= '9') {
            ++digits;
        }
        if (digits == 0 || digits > 9) {
            return bad();
        }
        std::int64_t number = 0;
        std::from_chars(rest.data(), rest.data() + digits, number);
        rest.remove_prefix(digits);
        const std::size_t unit_length = rest.starts_with("ms") ? 2 : 1;
        const std::string_view unit = rest.substr(0, unit_length);
        std::size_t index = next_unit;
        while (index < k_duration_units.size() && k_duration_units[index].name != unit) {
            ++index;
        }
        if (index == k_duration_units.size()) {
            return bad();
        }
        total += number * k_duration_units[index].ms;  // at most 4 * 999999999 h: no overflow
        next_unit = index + 1;
        rest.remove_prefix(unit.size());
    }
    return Duration(total);
}

std::string format_duration(Duration duration) {
    std::int64_t rest = duration.count();
    if (rest == 0) {
        return "0s";
    }
    std::string out;
    if (rest < 0) {
        out += '-';  // never parsed back; only for odd values in messages
        rest = -rest;
    }
    for (const auto& unit : k_duration_units) {
        if (rest >= unit.ms) {
            out += std::to_string(rest / unit.ms);
            out += unit.name;
            rest %= unit.ms;
        }
    }
    return out;
}

// ---------------------------------------------------------------- TOML text

namespace {}  // namespace

std::string toml_literal(const ConfigValue& value) {
    struct Visitor {
        std::string operator()(std::monostate) const { return "\"\""; }
        std::string operator()(bool v) const { return v ? "true" : "false"; }
        std::string operator()(std::int64_t v) const { return std::to_string(v); }
        std::string operator()(double v) const { return format_number(v); }
        std::string operator()(const std::string& v) const { return toml_string(v); }
        std::string operator()(Duration v) const { return toml_string(format_duration(v)); }
        std::string operator()(const std::vector<std::string>& v) const {
            std::string out = "[";
            for (std::size_t i = 0; i < v.size(); ++i) {
                out += (i > 0 ? ", " : "") + toml_string(v[i]);
            }
            return out + "]";
        }
    };
    return std::visit(Visitor{}, value);
}

std::string quote_for_message(std::string_view text) {
    constexpr std::size_t k_max = 60;
    if (text.size() <= k_max) {
        return toml_string(text);
    }
    std::size_t cut = k_max;
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) {
        --cut;  // do not split a UTF-8 sequence
    }
    return toml_string(text.substr(0, cut)) + "...";
}

}  // namespace cb
