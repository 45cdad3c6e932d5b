// `cloudburst init`: connects this scheduler to a CycleCloud cluster. Asks for (or takes from
// flags and the environment) the cluster, URL, user and password; checks the connection and
// says what is wrong; writes the password file (root, 0600) and the config (root, 0644, no
// secret), atomically; creates the spool for SlurmUser; runs `cloudburst scale`; installs
// and starts the daemon's systemd unit; checks that slurm.conf calls our hooks and includes
// the generated file. A rerun changes only what differs and says so. When CycleCloud's
// certificate does not verify (a fresh CycleCloud's is self-signed), init shows it, fetched
// without sending anything, and pins its key when the admin says so or gives --tls-pin.
#include <fcntl.h>
#include <grp.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <array>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <memory>

#include "adapters/cyclecloud_options.h"
#include "adapters/tls_probe.h"
#include "cli/commands.h"
#include "cli/connection_check.h"
#include "cli/init_steps.h"
#include "cli/system_facts.h"
#include "core/config_loader.h"
#include "util/files.h"
#include "util/log.h"
#include "util/process.h"

namespace cb::cli {

namespace {

namespace fs = std::filesystem;

struct InitOptions {
    std::string url;
    std::string cluster;
    std::string username;
    std::string password_file;
    bool password_stdin = false;
    std::string ca_bundle;
    std::string tls_pin;
    std::string slurm_conf;
    bool no_start = false;
    bool dry_run = false;
    bool non_interactive = false;
};

constexpr std::string_view k_new_config_header =
    "# cloudburst configuration, written by `cloudburst init` (every key: "
    "docs/configuration.md).\n"
    "# It holds no secret (the password is in cyclecloud.password_file, root-only): keep it\n"
    "# owned by root, mode 0644, so the hooks (SlurmUser) can read it.\n";

// The terminal settings to restore if Ctrl-C arrives while echo is off.
termios g_saved_terminal{};

extern "C" void restore_terminal_and_die(int sig) {
    ::tcsetattr(STDIN_FILENO, TCSANOW, &g_saved_terminal);  // async-signal-safe
    ::signal(sig, SIG_DFL);
    ::raise(sig);
}

// Turns the terminal's echo off while it lives (also restored on SIGINT, SIGTERM, SIGHUP).
class EchoOff {
  public:
    EchoOff() {
        if (::tcgetattr(STDIN_FILENO, &g_saved_terminal) != 0) {
            return;
        }
        for (std::size_t i = 0; i < k_signals.size(); ++i) {
            m_old_handlers[i] = ::signal(k_signals[i], restore_terminal_and_die);
        }
        m_handlers_set = true;
        termios quiet = g_saved_terminal;
        quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
        m_active = ::tcsetattr(STDIN_FILENO, TCSANOW, &quiet) == 0;
    }
    EchoOff(const EchoOff&) = delete;
    EchoOff& operator=(const EchoOff&) = delete;
    ~EchoOff() {
        if (m_active) {
            ::tcsetattr(STDIN_FILENO, TCSANOW, &g_saved_terminal);
        }
        if (m_handlers_set) {
            for (std::size_t i = 0; i < k_signals.size(); ++i) {
                ::signal(k_signals[i], m_old_handlers[i]);
            }
        }
    }

  private:
    static constexpr std::array<int, 3> k_signals{SIGINT, SIGTERM, SIGHUP};
    std::array<sighandler_t, 3> m_old_handlers{};
    bool m_handlers_set = false;
    bool m_active = false;
};

std::string env_value(const char* name) {
    const char* v = std::getenv(name);
    return v != nullptr ? v : "";
}

std::string strip_newlines(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) {
        s.pop_back();
    }
    return s;
}

bool interactive(const InitOptions& o) {
    return !o.non_interactive && ::isatty(STDIN_FILENO) != 0;
}

// The first of: the flag, the environment variable, the current config, an answer typed at
// the terminal.
Result<std::string> choose(const InitOptions& o, const std::string& flag, const char* env,
                           const std::string& current, const char* what, const char* option) {
    if (!flag.empty()) {
        return flag;
    }
    if (std::string v = env_value(env); !v.empty()) {
        return v;
    }
    if (interactive(o)) {
        std::cerr << what << (current.empty() ? "" : " [" + current + "]") << ": " << std::flush;
        std::string line;
        std::getline(std::cin, line);
        line = strip_newlines(line);
        if (!line.empty()) {
            return line;
        }
    }
    if (!current.empty()) {
        return current;
    }
    return make_error(ErrorKind::k_usage, std::string("no ") + what + ": give " + option +
                                              " or set " + env +
                                              " (init asks only when stdin is a terminal)");
}

Result<std::string> choose_password(const InitOptions& o, const std::string& current) {
    if (!o.password_file.empty()) {
        auto text = read_file(o.password_file, 4096);
        if (!text) {
            return text.error().with_context("reading --password-file");
        }
        return strip_newlines(*text);
    }
    if (o.password_stdin) {
        std::string line;
        std::getline(std::cin, line);
        return strip_newlines(line);
    }
    if (std::string v = env_value("CLOUDBURST_PASSWORD"); !v.empty()) {
        return v;
    }
    if (interactive(o)) {
        std::cerr << "CycleCloud password" << (current.empty() ? "" : " [keep the current one]")
                  << ": " << std::flush;
        std::string line;
        {
            EchoOff quiet;
            std::getline(std::cin, line);
        }
        std::cerr << "\n";
        line = strip_newlines(line);
        if (!line.empty()) {
            return line;
        }
    }
    if (!current.empty()) {
        return current;
    }
    return make_error(ErrorKind::k_usage,
                      "no CycleCloud password: give --password-file FILE or --password-stdin, "
                      "or set CLOUDBURST_PASSWORD (never on the command line)");
}

// Asks whether to trust a certificate's key; only at a terminal.
bool confirm_pin(const InitOptions& o) {
    if (!interactive(o)) {
        return false;
    }
    std::cerr << "Trust this key and pin it in cyclecloud.tls_pin? Compare the SHA-256 "
                 "fingerprint with the certificate on the CycleCloud host first [y/N]: "
              << std::flush;
    std::string line;
    std::getline(std::cin, line);
    line = strip_newlines(line);
    return line == "y" || line == "Y" || line == "yes";
}

// After a TLS failure: CycleCloud's certificate, fetched without sending anything, shown with
// its fingerprint and key. Returns the key to pin when the admin confirms it at the terminal;
// else the error to stop with: the failure, and the --tls-pin that would trust this key.
Result<std::string> offer_pin(const InitOptions& o, const std::string& url,
                              std::chrono::milliseconds timeout, const std::string& failure) {
    auto cert = probe_server_certificate(url, timeout);
    if (!cert) {
        return make_error(ErrorKind::k_cloud, failure);
    }
    std::cout << "CycleCloud's TLS certificate at " << url << ":\n" << describe_certificate(*cert);
    if (!o.tls_pin.empty()) {
        // The admin's pin does not match: never offer another key instead.
        return make_error(ErrorKind::k_cloud,
                          "the server at " + url + " holds the key " + cert->key_pin +
                              ", not the --tls-pin " + o.tls_pin +
                              ": compare the certificate above with the one on the CycleCloud "
                              "host; pin its key only if they match");
    }
    if (confirm_pin(o)) {
        return cert->key_pin;
    }
    return make_error(ErrorKind::k_cloud,
                      failure + " (this server's: --tls-pin " + cert->key_pin + ")");
}

// Writes the password file, then the config (so the config never names a missing file);
// prints one line per file.
Status write_layout(const std::string& config_path, const std::string& config_text,
                    const std::string& password_file, const std::string& password, bool dry_run) {
    if (dry_run) {
        std::cout << "password " << password_file << ", config " << config_path
                  << ": would be written if they differ (--dry-run)\n";
        return ok_status();
    }
    for (const auto& dir : {fs::path(password_file).parent_path().string(),
                            fs::path(config_path).parent_path().string()}) {
        if (auto st = make_directories(dir, 0755); !st) {
            return st;
        }
    }
    auto pw = write_layout_file(password_file, password + "\n", k_password_file_mode);
    if (!pw) {
        return pw.error();
    }
    std::cout << "password " << password_file << ": " << *pw << "\n";
    auto conf = write_layout_file(config_path, config_text, k_config_mode);
    if (!conf) {
        return conf.error();
    }
    std::cout << "config " << config_path << ": " << *conf << "\n";
    return ok_status();
}

// `cloudburst scale` with `config_path`, as a child, so init and scale stay one code path.
Status run_scale(const std::string& config_path, bool dry_run) {
    Command cmd{{installed_program("cloudburst"), "--config", config_path, "scale"},
                minimal_environment(),
                {},
                std::chrono::minutes(2)};
    if (dry_run) {
        cmd.argv.push_back("--dry-run");
    }
    if (std::string conf = env_value("SLURM_CONF"); !conf.empty()) {
        cmd.env.push_back("SLURM_CONF=" + conf);
    }
    auto r = run_command(cmd);
    if (!r) {
        return r.error().with_context("running cloudburst scale");
    }
    std::cout << r->out;
    std::cerr << r->err;
    if (!r->ok()) {
        return make_error(ErrorKind::k_cloud,
                          "cloudburst scale failed (see above); rerun "
                          "`cloudburst scale` when it is fixed");
    }
    return ok_status();
}

// A private 0700 directory holding a copy of the config for `scale --dry-run`; removed on
// destruction.
class ScratchConfig {
  public:
    // `text` names `password_file()` as cyclecloud.password_file.
    static Result<std::unique_ptr<ScratchConfig>> make(const InitSettings& settings,
                                                       std::string_view existing,
                                                       const std::string& password) {
        std::string dir_template = (fs::temp_directory_path() / "cloudburst-init.XXXXXX").string();
        if (::mkdtemp(dir_template.data()) == nullptr) {
            return make_error(ErrorKind::k_io, "cannot create a temporary directory");
        }
        auto scratch = std::unique_ptr<ScratchConfig>(new ScratchConfig(dir_template));
        InitSettings here = settings;
        here.password_file = scratch->password_file();
        const std::string text = render_init_config(existing, here).text;
        if (auto st = write_file_atomic(scratch->password_file(), password + "\n", 0600,
                                        Durability::k_process_crash);
            !st) {
            return st.error();
        }
        if (auto st = write_file_atomic(scratch->path(), text, 0600, Durability::k_process_crash);
            !st) {
            return st.error();
        }
        return scratch;
    }
    ScratchConfig(const ScratchConfig&) = delete;
    ScratchConfig& operator=(const ScratchConfig&) = delete;
    ~ScratchConfig() {
        std::error_code ec;
        fs::remove_all(m_dir, ec);
    }
    std::string path() const { return m_dir + "/cloudburst.toml"; }
    std::string password_file() const { return m_dir + "/cyclecloud.password"; }

  private:
    explicit ScratchConfig(std::string dir) : m_dir(std::move(dir)) {}
    std::string m_dir;
};

Result<CommandOutput> systemctl(const std::vector<std::string>& args) {
    std::vector<std::string> argv{"/usr/bin/systemctl"};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_command({argv, minimal_environment(), {}, std::chrono::minutes(1)});
}

// Installs the unit and starts (or restarts after a config change) the daemon.
Status start_daemon(const std::string& config_path, const Config& config, bool config_changed,
                    const InitOptions& o) {
    const std::string daemon = installed_program("cloudburstd");
    const std::string how = "start it with `" + daemon + " --config " + config_path + "`";
    if (o.no_start) {
        std::cout << "daemon: not started (--no-start); " << how << "\n";
        return ok_status();
    }
    if (!fs::is_directory("/run/systemd/system")) {
        std::cout << "daemon: skipped: systemd is not running here; " << how << "\n";
        return ok_status();
    }
    const std::string unit_path = "/etc/systemd/system/cloudburstd.service";
    DaemonUnit spec;
    spec.cloudburstd = daemon;
    spec.config_path = config_path;
    spec.user = config.slurm.user;
    spec.password_file = config.cyclecloud.password_file;
    spec.paths = config.paths;
    const auto user = lookup_user(spec.user);
    if (!user) {
        return make_error(ErrorKind::k_config, "SlurmUser '" + spec.user +
                                                   "' does not exist on this machine: create "
                                                   "it or fix SlurmUser in slurm.conf");
    }
    if (const group* g = ::getgrgid(user->gid); g != nullptr) {
        spec.group = g->gr_name;
    }
    auto unit_text = daemon_unit(spec);
    if (!unit_text) {
        return unit_text.error();
    }
    const std::string& unit = *unit_text;
    auto old = read_file(unit_path);
    const bool unit_changed = !old || *old != unit;
    if (o.dry_run) {
        std::cout << "daemon: " << unit_path
                  << (unit_changed ? ": would be written" : ": unchanged")
                  << "; cloudburstd would be enabled and started (--dry-run)\n";
        return ok_status();
    }
    if (unit_changed) {
        if (auto st = write_file_atomic(unit_path, unit, 0644); !st) {
            return st;
        }
        std::cout << "daemon: " << unit_path << ": written\n";
        if (auto r = systemctl({"daemon-reload"}); !r || !r->ok()) {
            return make_error(ErrorKind::k_io, "systemctl daemon-reload failed");
        }
    }
    auto active = systemctl({"is-active", "--quiet", "cloudburstd"});
    const bool was_active = active && active->ok();
    const bool restart = was_active && (config_changed || unit_changed);
    auto r = systemctl({restart ? "restart" : "start", "cloudburstd"});
    if (!r || !r->ok()) {
        return make_error(ErrorKind::k_io,
                          "cannot start cloudburstd: " + (r ? r->err : r.error().describe()) +
                              " (see `journalctl -u cloudburstd`)");
    }
    if (auto e = systemctl({"enable", "--quiet", "cloudburstd"}); !e || !e->ok()) {
        return make_error(ErrorKind::k_io, "systemctl enable cloudburstd failed");
    }
    std::cout << "daemon: cloudburstd "
              << (restart ? "restarted" : (was_active ? "running" : "enabled and started")) << "\n";
    return ok_status();
}

// Whether slurm.conf calls our hooks and includes the generated file; prints one line each.
bool check_slurm_conf(const std::string& slurm_conf, const Config& config) {
    auto read = read_slurm_settings(slurm_conf, config.slurm.bin_dir + "/scontrol");
    if (!read) {
        std::cout << format_check(check_problem("slurm.conf", read.error().describe()));
        std::cout << "\n";
        return false;
    }
    const auto user = lookup_user(read->settings.get("SlurmUser").value_or("root"));
    std::vector<CheckResult> results =
        check_hooks(read->settings, stat_file, user, HookExpectation::k_cloudburst);
    results.push_back(check_include(read->settings, slurm_conf, config.slurm.generated_conf));
    for (const auto& r : results) {
        std::cout << format_check(r) << "\n";
    }
    return all_passed(results);
}

Result<int> run_init(const InitOptions& o) {
    const std::string config_path = global_options().config_path;
    std::string old_text;
    bool existed = false;
    Config current;
    // init takes its defaults (the URL, paths, the password) from an existing file, so that
    // file must pass the same trust rule as for every other command, even if it has errors.
    if (auto text = read_trusted_config_text(config_path)) {
        old_text = *text;
        existed = true;
        if (auto loaded = load_global_config(PasswordUse::k_read)) {
            current = *loaded;
        } else if (auto parsed = parse_config(old_text, config_path)) {
            current = *parsed;
        }
    } else if (text.error().kind != ErrorKind::k_not_found) {
        const auto& chosen_by = global_options().config_chosen_by;
        return text.error().with_context(
            "init reads its defaults from " + config_path +
            (chosen_by.empty() ? "" : " (chosen by $" + chosen_by + ")") +
            " and does not trust it; fix it or pass --config to use another file");
    }
    InitSettings s;
    auto cluster = choose(o, o.cluster, "CLOUDBURST_CLUSTER", current.cyclecloud.cluster,
                          "CycleCloud cluster name", "--cluster");
    if (!cluster) {
        return cluster.error();
    }
    s.cluster = *cluster;
    auto url =
        choose(o, o.url, "CLOUDBURST_URL", current.cyclecloud.url, "CycleCloud URL", "--url");
    if (!url) {
        return url.error();
    }
    s.url = *url;
    while (!s.url.empty() && s.url.back() == '/') {
        s.url.pop_back();
    }
    auto username = choose(o, o.username, "CLOUDBURST_USERNAME", current.cyclecloud.username,
                           "CycleCloud user", "--username");
    if (!username) {
        return username.error();
    }
    s.username = *username;
    auto password = choose_password(o, current.cyclecloud.password);
    if (!password) {
        return password.error();
    }
    log::register_secret(*password);
    s.password_file = !current.cyclecloud.password_file.empty()
                          ? current.cyclecloud.password_file
                          : default_password_file(config_path);
    s.ca_bundle = !o.ca_bundle.empty() ? o.ca_bundle : env_value("CLOUDBURST_CA_BUNDLE");
    if (s.ca_bundle.empty()) {
        s.ca_bundle = current.cyclecloud.ca_bundle;
    }
    if (!o.tls_pin.empty()) {
        if (!is_tls_pin(o.tls_pin)) {
            return make_error(ErrorKind::k_usage,
                              "--tls-pin " + o.tls_pin +
                                  ": expected sha256// and 44 characters of base64, as init "
                                  "shows them for a certificate it cannot verify");
        }
        if (!o.ca_bundle.empty()) {
            return make_error(ErrorKind::k_usage,
                              "--tls-pin and --ca-bundle: give one; the pinned key replaces "
                              "the CA");
        }
        s.tls_pin = o.tls_pin;
    } else if (o.ca_bundle.empty()) {
        s.tls_pin = current.cyclecloud.tls_pin;
    }
    if (!s.tls_pin.empty()) {
        s.ca_bundle.clear();  // a pin and a CA do not go together (the config refuses both)
    }

    const std::string slurm_conf = slurm_conf_path(o.slurm_conf, current.slurm.conf_dir);
    s.conf_dir = fs::path(slurm_conf).parent_path().string();
    if (auto text = read_file(slurm_conf)) {
        const auto user = parse_slurm_conf(*text).get("SlurmUser");
        s.slurm_user = user.value_or("root");
    }

    // Before the first request, which carries the password.
    CycleCloudConfig transport = current.cyclecloud;
    transport.url = s.url;
    transport.ca_bundle = s.ca_bundle;
    transport.tls_pin = s.tls_pin;
    if (auto refusal = cleartext_url_refusal(transport); !refusal.empty()) {
        return make_error(ErrorKind::k_config, "the CycleCloud URL " + s.url + " " + refusal);
    }
    if (auto warning = check_transport(transport); warning.outcome == CheckOutcome::k_warning) {
        std::cout << format_check(warning) << "\n";
    }

    CycleCloudOptions cc;
    cc.url = s.url;
    cc.cluster = s.cluster;
    cc.username = s.username;
    cc.password = *password;
    cc.ca_bundle = s.ca_bundle;
    cc.tls_pin = s.tls_pin;
    cc.connect_timeout = current.cyclecloud.connect_timeout;
    cc.request_timeout = current.cyclecloud.request_timeout;
    cc.max_response_bytes = static_cast<std::size_t>(current.cyclecloud.max_response_mb) << 20;
    ConnectionDiagnosis diagnosis = diagnose_connection(cc);
    if (diagnosis.problem == ConnectionProblem::k_tls) {
        // The TLS handshake failed before the password was sent.
        auto pin = offer_pin(o, s.url, cc.connect_timeout, diagnosis.message);
        if (!pin) {
            return pin.error();
        }
        s.tls_pin = cc.tls_pin = *pin;
        s.ca_bundle = cc.ca_bundle = "";
        diagnosis = diagnose_connection(cc);
    }
    if (!diagnosis.ok()) {
        return make_error(ErrorKind::k_cloud, diagnosis.message);
    }
    std::cout << format_check(check_ok("CycleCloud", diagnosis.message)) << "\n";

    const TomlEditResult edit =
        render_init_config(existed ? std::string_view(old_text) : k_new_config_header, s);
    auto valid = parse_config(edit.text, config_path);
    if (!valid) {
        return valid.error().with_context(
            "the configuration init would write is not valid; "
            "fix " +
            config_path + " by hand");
    }
    const bool config_changed =
        !existed || edit.text != old_text || current.cyclecloud.password != *password;
    if (auto st = write_layout(config_path, edit.text, s.password_file, *password, o.dry_run);
        !st) {
        return st.error();
    }
    if (!o.dry_run) {
        const auto user = lookup_user(valid->slurm.user);
        if (!user) {
            return make_error(ErrorKind::k_config,
                              "SlurmUser '" + valid->slurm.user +
                                  "' does not exist on this machine: create it or fix "
                                  "SlurmUser in slurm.conf");
        }
        auto spool = prepare_spool(valid->paths.spool_dir, user->uid, user->gid);
        if (!spool) {
            return spool.error();
        }
        std::cout << "spool " << valid->paths.spool_dir << ": " << *spool << "\n";
    }

    if (o.dry_run) {
        auto scratch = ScratchConfig::make(
            s, existed ? std::string_view(old_text) : k_new_config_header, *password);
        if (!scratch) {
            return scratch.error();
        }
        if (auto st = run_scale((*scratch)->path(), true); !st) {
            return st.error();
        }
    } else if (auto st = run_scale(config_path, false); !st) {
        return st.error();
    }
    if (auto st = start_daemon(config_path, *valid, config_changed, o); !st) {
        return st.error();
    }
    if (!check_slurm_conf(slurm_conf, *valid)) {
        std::cout << "init: " << slurm_conf
                  << " needs the changes above before Slurm can burst (then run "
                     "`cloudburst doctor`)\n";
        return 1;
    }
    std::cout << "init: done" << (o.dry_run ? " (--dry-run: nothing written)" : "")
              << "; run `cloudburst doctor` to check the rest\n";
    return 0;
}

}  // namespace

std::string default_password_file(const std::string& config_path) {
    return (fs::path(config_path).parent_path() / "cyclecloud.password").string();
}

TomlEditResult render_init_config(std::string_view existing, const InitSettings& s) {
    std::vector<TomlKeyEdit> cyclecloud{
        {"url", toml_string(s.url)},
        {"cluster", toml_string(s.cluster)},
        {"username", toml_string(s.username)},
        {"password", std::nullopt},
        {"password_file", toml_string(s.password_file)},
        {"ca_bundle",
         s.ca_bundle.empty() ? std::nullopt : std::optional<std::string>(toml_string(s.ca_bundle))},
        {"tls_pin",
         s.tls_pin.empty() ? std::nullopt : std::optional<std::string>(toml_string(s.tls_pin))},
    };
    if (!s.tls_pin.empty()) {
        cyclecloud.push_back({"verify_tls", std::nullopt});  // a pin verifies
    }
    TomlEditResult result = edit_toml_section(existing, "cyclecloud", cyclecloud);
    std::vector<TomlKeyEdit> slurm;
    if (!s.conf_dir.empty()) {
        slurm.push_back({"conf_dir", toml_string(s.conf_dir)});
    }
    if (!s.slurm_user.empty()) {
        slurm.push_back({"user", toml_string(s.slurm_user)});
    }
    if (!slurm.empty()) {
        TomlEditResult more = edit_toml_section(result.text, "slurm", slurm);
        result.text = std::move(more.text);
        result.changed.insert(result.changed.end(), more.changed.begin(), more.changed.end());
    }
    return result;
}

Result<std::string> write_layout_file(const std::string& path, const std::string& content,
                                      mode_t mode) {
    struct stat st {};
    const bool exists = ::lstat(path.c_str(), &st) == 0;
    const bool right_file = exists && S_ISREG(st.st_mode) && st.st_uid == 0 && st.st_gid == 0 &&
                            (st.st_mode & 07777) == mode;
    if (right_file) {
        if (auto old = read_file(path, 1u << 20); old && *old == content) {
            return std::string("unchanged");
        }
    }
    if (auto w = write_file_atomic(path, content, mode); !w) {
        return w.error();
    }
    // The new file is ours (root), but its group is our egid: make it root:root.
    if (::lchown(path.c_str(), 0, 0) != 0) {
        return make_error(ErrorKind::k_io,
                          "cannot chown root:root " + path + ": " + std::strerror(errno));
    }
    char mode_text[8];
    std::snprintf(mode_text, sizeof mode_text, "%04o", static_cast<unsigned>(mode));
    return std::string(exists ? "written" : "new file") + ", root:root, mode " + mode_text;
}

Result<std::string> prepare_spool(const std::string& path, uid_t uid, gid_t gid) {
    if (auto st = make_directories(fs::path(path).parent_path().string(), 0755); !st) {
        return st.error();
    }
    const bool created = ::mkdir(path.c_str(), 0700) == 0;
    if (!created && errno != EEXIST) {
        return make_error(ErrorKind::k_io, "cannot create " + path + ": " + std::strerror(errno));
    }
    // O_NOFOLLOW|O_DIRECTORY: a symlink planted in its place is refused, not followed.
    const int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        return make_error(ErrorKind::k_io, path + " is not a directory (" + std::strerror(errno) +
                                               "): remove it and rerun");
    }
    struct stat st {};
    const bool right = ::fstat(fd, &st) == 0 && st.st_uid == uid && st.st_gid == gid &&
                       (st.st_mode & 07777) == 0700;
    const bool fixed = right || (::fchown(fd, uid, gid) == 0 && ::fchmod(fd, 0700) == 0);
    ::close(fd);
    if (!fixed) {
        return make_error(ErrorKind::k_io,
                          "cannot chown/chmod " + path + ": " + std::strerror(errno));
    }
    if (right) {
        return std::string("unchanged");
    }
    return std::string(created ? "created" : "set") + ", owner uid " + std::to_string(uid) +
           ", mode 0700";
}

bool is_plain_user_name(std::string_view name) {
    if (name.empty() || name.size() > 31) {
        return false;
    }
    auto word = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; };
    if (!word(name.front())) {
        return false;
    }
    return std::all_of(name.begin(), name.end(),
                       [&](char c) { return word(c) || (c >= '0' && c <= '9') || c == '-'; });
}

namespace {

// The directive that gives the daemon `dir` (owned by the service user): a systemd-managed
// directory when `dir` is under its prefix, else ReadWritePaths= (init creates it).
std::string directory_lines(const std::string& dir, std::string_view prefix,
                            std::string_view directive, std::string_view mode,
                            std::vector<std::string>& read_write) {
    if (dir.size() > prefix.size() && dir.compare(0, prefix.size(), prefix) == 0) {
        const std::string rel = dir.substr(prefix.size());
        return std::string(directive) + "=" + rel + "\n" + std::string(directive) +
               "Mode=" + std::string(mode) + "\n";
    }
    read_write.push_back(dir);
    return {};
}

std::string parent_of(const std::string& path) {
    return fs::path(path).parent_path().string();
}

}  // namespace

Result<std::string> daemon_unit(const DaemonUnit& u) {
    for (const auto& [what, name] : {std::pair{"SlurmUser", u.user}, {"its group", u.group}}) {
        if (!is_plain_user_name(name)) {
            return make_error(ErrorKind::k_config,
                              std::string(what) + " '" + name +
                                  "' is not a plain user name ([A-Za-z_][A-Za-z0-9_-]*, at most "
                                  "31 characters): fix SlurmUser in slurm.conf");
        }
    }
    std::vector<std::string> read_write;
    std::string dirs =
        directory_lines(parent_of(u.paths.socket), "/run/", "RuntimeDirectory", "0750", read_write);
    dirs += directory_lines(parent_of(u.paths.state_db), "/var/lib/", "StateDirectory", "0700",
                            read_write);
    dirs += directory_lines(u.paths.log_dir, "/var/log/", "LogsDirectory", "0750", read_write);
    read_write.push_back(u.paths.spool_dir);
    for (const auto& dir : read_write) {
        dirs += "ReadWritePaths=" + dir + "\n";
    }
    std::string credential;
    if (!u.password_file.empty()) {
        credential =
            "# The root-only password file, handed over as "
            "$CREDENTIALS_DIRECTORY/cyclecloud.password.\n"
            "LoadCredential=cyclecloud.password:" +
            u.password_file + "\n";
    }
    return "[Unit]\n"
           "Description=cloudburst: burst Slurm into Azure CycleCloud\n"
           "Documentation=file:///usr/share/doc/cloudburst/README.md\n"
           "After=network-online.target munge.service slurmctld.service\n"
           "Wants=network-online.target\n"
           "\n"
           "[Service]\n"
           "Type=simple\n"
           "ExecStart=" +
           u.cloudburstd + " --config " + u.config_path +
           "\n"
           "# SIGTERM: the daemon finishes its pass, journals, and exits; nothing is "
           "half-written.\n"
           "KillMode=mixed\n"
           "TimeoutStopSec=60\n"
           "Restart=on-failure\n"
           "RestartSec=5\n"
           "User=" +
           u.user + "\nGroup=" + u.group + "\n" + credential + dirs +
           "UMask=0077\n"
           "ProtectSystem=strict\n"
           "ProtectHome=yes\n"
           "PrivateTmp=yes\n"
           "PrivateDevices=yes\n"
           "PrivateMounts=yes\n"
           "ProtectKernelTunables=yes\n"
           "ProtectKernelModules=yes\n"
           "ProtectKernelLogs=yes\n"
           "ProtectControlGroups=yes\n"
           "ProtectClock=yes\n"
           "ProtectHostname=yes\n"
           "ProtectProc=invisible\n"
           "NoNewPrivileges=yes\n"
           "CapabilityBoundingSet=\n"
           "AmbientCapabilities=\n"
           "# AF_UNIX: the hooks' socket, munge (via scontrol); AF_INET*: CycleCloud, "
           "slurmctld;\n"
           "# AF_NETLINK: getaddrinfo's interface lookup.\n"
           "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK\n"
           "RestrictNamespaces=yes\n"
           "RestrictRealtime=yes\n"
           "RestrictSUIDSGID=yes\n"
           "LockPersonality=yes\n"
           "MemoryDenyWriteExecute=yes\n"
           "SystemCallArchitectures=native\n"
           "SystemCallFilter=@system-service\n"
           "SystemCallFilter=~@privileged\n"
           "SystemCallErrorNumber=EPERM\n"
           "\n"
           "[Install]\n"
           "WantedBy=multi-user.target\n";
}

std::vector<CommandSpec> init_commands() {
    return {{"init", "connect this scheduler to a CycleCloud cluster (asks, or takes flags)",
             [](CLI::App& app) {
                 auto o = std::make_shared<InitOptions>();
                 app.add_option("--cluster", o->cluster,
                                "CycleCloud cluster name (env CLOUDBURST_CLUSTER)");
                 app.add_option("--url", o->url,
                                "CycleCloud URL, https://HOST[:PORT] (env CLOUDBURST_URL)");
                 app.add_option("--username", o->username,
                                "CycleCloud user (env CLOUDBURST_USERNAME)");
                 app.add_option("--password-file", o->password_file,
                                "read the password from FILE (else env CLOUDBURST_PASSWORD, "
                                "else asked without echo)");
                 app.add_flag("--password-stdin", o->password_stdin,
                              "read the password from the first line of stdin");
                 app.add_option("--ca-bundle", o->ca_bundle,
                                "CA certificate(s) for CycleCloud's TLS certificate (env "
                                "CLOUDBURST_CA_BUNDLE; default: the system's)");
                 app.add_option("--tls-pin", o->tls_pin,
                                "trust CycleCloud's key sha256//BASE64 (as init shows it when "
                                "the certificate does not verify) instead of a CA; a server "
                                "with another key is refused");
                 app.add_option("--slurm-conf", o->slurm_conf,
                                "slurm.conf to check (default: $SLURM_CONF, else "
                                "<slurm.conf_dir>/slurm.conf)");
                 app.add_flag("--no-start", o->no_start, "do not install or start the daemon");
                 app.add_flag("--non-interactive", o->non_interactive,
                              "never ask; fail when a value is missing");
                 app.add_flag("-n,--dry-run", o->dry_run, "show what would change, write nothing");
                 return std::function<Result<int>()>([o] { return run_init(*o); });
             }}};
}

}  // namespace cb::cli
