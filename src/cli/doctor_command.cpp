// `cloudburst doctor`: checks what breaks bursting, one line per check (ok, problem with how
// to fix it, or skipped with why); exit 0 when nothing is a problem, 1 otherwise. The checks
// themselves are pure (core/doctor_checks.h); this file gathers their input.
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <CLI/CLI.hpp>

#include <netdb.h>
#include <algorithm>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>

#include "adapters/cyclecloud_options.h"
#include "adapters/slurm_cli.h"
#include "cli/commands.h"
#include "cli/connection_check.h"
#include "cli/hook_access_probe.h"
#include "cli/system_facts.h"
#include "core/builtin_skus.h"
#include "core/config_loader.h"
#include "core/doctor_checks.h"
#include "core/hook_access.h"
#include "core/slurm_conf_gen.h"
#include "util/files.h"
#include "util/process.h"
#include "util/text.h"
#include "util/unique_fd.h"

namespace cb::cli {

namespace {

namespace fs = std::filesystem;

struct DoctorOptions {
    bool json = false;
    std::string slurm_conf;
    std::string munge_key = "/etc/munge/munge.key";
    std::string exports = "/etc/exports";
    std::string sched_dir = "/sched";
};

bool tcp_listening(int port) {
    UniqueFd s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (s.get() < 0) {
        return false;
    }
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return ::connect(s.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0;
}

bool unix_socket_answers(const std::string& path) {
    UniqueFd s(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un addr{};
    if (s.get() < 0 || path.size() >= sizeof addr.sun_path) {
        return false;
    }
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    return ::connect(s.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0;
}

std::vector<std::string> resolve(const std::string& host) {
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* raw = nullptr;
    std::vector<std::string> out;
    if (::getaddrinfo(host.c_str(), nullptr, &hints, &raw) != 0) {
        return out;
    }
    for (const addrinfo* ai = raw; ai != nullptr; ai = ai->ai_next) {
        char buf[NI_MAXHOST];
        if (::getnameinfo(ai->ai_addr, ai->ai_addrlen, buf, sizeof buf, nullptr, 0,
                          NI_NUMERICHOST) == 0) {
            out.emplace_back(buf);
        }
    }
    ::freeaddrinfo(raw);
    return out;
}

// The munge socket slurm.conf names (AuthInfo=socket=PATH), or "" for munge's default.
std::string munge_socket(const SlurmSettings& s) {
    const std::string info = s.get("AuthInfo").value_or("");
    const auto at = info.find("socket=");
    if (at == std::string::npos) {
        return {};
    }
    const auto end = info.find(',', at);
    return info.substr(at + 7, end == std::string::npos ? std::string::npos : end - at - 7);
}

CheckResult check_munge(const SlurmSettings& s) {
    const std::string socket = munge_socket(s);
    std::vector<std::string> munge{"/usr/bin/munge", "-n"};
    std::vector<std::string> unmunge{"/usr/bin/unmunge"};
    if (!socket.empty()) {
        for (auto* argv : {&munge, &unmunge}) {
            argv->push_back("-S");
            argv->push_back(socket);
        }
    }
    if (!fs::exists(munge[0]) || !fs::exists(unmunge[0])) {
        return check_problem("munge",
                             "munge is not installed: apt-get install munge (or dnf "
                             "install munge)");
    }
    auto cred = run_command({munge, minimal_environment(), {}, std::chrono::seconds(10)});
    if (!cred || !cred->ok()) {
        return check_problem("munge",
                             "`munge -n` failed (" +
                                 (cred ? std::string(trim(cred->err)) : cred.error().describe()) +
                                 "): start munged (systemctl enable --now munge)");
    }
    auto back = run_command({unmunge, minimal_environment(), cred->out, std::chrono::seconds(10)});
    if (!back || !back->ok()) {
        return check_problem("munge",
                             "`munge -n | unmunge` failed (" +
                                 (back ? std::string(trim(back->err)) : back.error().describe()) +
                                 "): check munged's log and the key");
    }
    return check_ok("munge", "`munge -n | unmunge` works");
}

// The Date header of an unauthenticated request to CycleCloud, from the curl program (the
// REST client does not hand out headers); nullopt if there is none.
std::optional<std::string> cyclecloud_date(const Config& config) {
    const std::string curl = "/usr/bin/curl";
    if (!fs::exists(curl)) {
        return std::nullopt;
    }
    std::vector<std::string> argv{curl, "-sS", "-o", "/dev/null", "-D", "-", "--max-time", "10"};
    if (!config.cyclecloud.tls_pin.empty()) {
        // As the client does: the pinned key instead of the CA and the name (curl checks the
        // pin with --insecure too).
        argv.insert(argv.end(), {"--pinnedpubkey", config.cyclecloud.tls_pin, "--insecure"});
    } else if (!config.cyclecloud.ca_bundle.empty()) {
        argv.push_back("--cacert");
        argv.push_back(config.cyclecloud.ca_bundle);
    }
    if (!config.cyclecloud.verify_tls) {
        argv.push_back("--insecure");
    }
    argv.push_back(config.cyclecloud.url + "/");
    auto r = run_command({argv, minimal_environment(), {}, std::chrono::seconds(15)});
    if (!r || !r->ok()) {
        return std::nullopt;
    }
    std::string_view rest = r->out;
    while (!rest.empty()) {
        const auto nl = rest.find('\n');
        const std::string_view line = rest.substr(0, nl);
        rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
        if (line.size() > 5 && iequals(line.substr(0, 5), "date:")) {
            return std::string(trim(line.substr(5)));
        }
    }
    return std::nullopt;
}

// The exports file and the *.exports files of the exports.d directory beside it (exportfs
// reads both), sorted by name, then checked for how they export /sched.
CheckResult check_sched_export_files(const DoctorOptions& o) {
    std::vector<std::string> paths;
    if (fs::exists(o.exports)) {
        paths.push_back(o.exports);
    }
    const fs::path dir = fs::path(o.exports).parent_path() / "exports.d";
    std::error_code ec;
    std::vector<std::string> more;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
        if (entry.path().extension() == ".exports") {
            more.push_back(entry.path().string());
        }
    }
    std::sort(more.begin(), more.end());
    paths.insert(paths.end(), more.begin(), more.end());
    if (paths.empty()) {
        return check_skipped("NFS /sched", o.exports + " and " + dir.string() +
                                               "/*.exports do not exist: this machine exports "
                                               "nothing over NFS");
    }
    std::vector<ExportsFile> files;
    for (const auto& path : paths) {
        auto text = read_file(path);
        if (!text) {
            return check_problem("NFS /sched", text.error().describe());
        }
        files.push_back({path, std::move(*text)});
    }
    return check_sched_export(files, o.sched_dir);
}

// What the node-array checks read, once for all of them: the built-in SKU catalog and
// CycleCloud's node arrays; `unread` says why they cannot run ("" when they can).
struct ArrayFacts {
    std::optional<SkuCatalog> catalog;
    std::vector<NodeArray> arrays;
    std::string unread;
};

ArrayFacts read_array_facts(const Config& config) {
    ArrayFacts facts;
    auto catalog = SkuCatalog::parse(builtin_sku_catalog_json(), "built-in SKU catalog");
    if (!catalog) {
        facts.unread = catalog.error().describe();
        return facts;
    }
    CycleCloudRest cloud(cyclecloud_options(config));
    auto arrays = cloud.node_arrays();
    if (!arrays) {
        facts.unread = "cannot read the node arrays: " + arrays.error().describe();
        return facts;
    }
    facts.catalog = std::move(*catalog);
    facts.arrays = std::move(*arrays);
    return facts;
}

// InfiniBand VM sizes in node arrays without placement groups (core/doctor_checks.h).
CheckResult check_placement(const Config& config, const ArrayFacts& facts) {
    if (!facts.unread.empty()) {
        return check_skipped("placement", facts.unread);
    }
    return check_infiniband_placement(facts.arrays, *facts.catalog, config);
}

// The dynamic node arrays against slurmctld's nodes (core/doctor_checks.h).
CheckResult check_dynamic(const Config& config, const ArrayFacts& facts,
                          const std::string& topology_plugin) {
    if (!facts.unread.empty()) {
        return check_skipped("dynamic-nodes", facts.unread);
    }
    auto generated = generate_slurm_conf(facts.arrays, *facts.catalog, config, "", topology_plugin);
    if (!generated) {
        return check_skipped("dynamic-nodes", generated.error().describe());
    }
    SlurmCli slurm(slurm_cli_options(config));
    auto existing = slurm.node_specs();
    if (!existing) {
        return check_skipped("dynamic-nodes",
                             "cannot read slurmctld's nodes: " + existing.error().describe());
    }
    return check_dynamic_nodes(facts.arrays, *generated, *existing);
}

CheckResult check_daemon(const Config& config) {
    if (fs::is_directory("/run/systemd/system")) {
        auto r = run_command({{"/usr/bin/systemctl", "is-active", "--quiet", "cloudburstd"},
                              minimal_environment(),
                              {},
                              std::chrono::seconds(10)});
        if (r && r->ok()) {
            return check_ok("cloudburstd", "the systemd unit is active");
        }
    }
    if (unix_socket_answers(config.paths.socket)) {
        return check_ok("cloudburstd", "answers on " + config.paths.socket);
    }
    return check_problem("cloudburstd", "not running (nothing answers on " + config.paths.socket +
                                            "): run `cloudburst init` or `systemctl enable --now "
                                            "cloudburstd`");
}

std::vector<CheckResult> run_checks(const DoctorOptions& o) {
    std::vector<CheckResult> out;
    const std::string config_path = global_options().config_path;
    auto config = load_global_config(PasswordUse::k_read);
    const Config defaults;
    const Config& cfg = config ? *config : defaults;

    const std::string slurm_conf = slurm_conf_path(o.slurm_conf, cfg.slurm.conf_dir);
    auto read = read_slurm_settings(slurm_conf, cfg.slurm.bin_dir + "/scontrol");
    if (read) {
        const SlurmSettings& s = read->settings;
        out.push_back(check_munge(s));
        out.push_back(check_munge_key(
            o.munge_key, stat_file(o.munge_key),
            lookup_user("munge") ? std::optional<uid_t>(lookup_user("munge")->uid) : std::nullopt));
        const auto slurm_user = lookup_user(s.get("SlurmUser").value_or("root"));
        for (auto& r : check_hooks(s, stat_file, slurm_user, HookExpectation::k_any_valid)) {
            out.push_back(std::move(r));
        }
        if (config) {
            out.push_back(check_include(s, slurm_conf, cfg.slurm.generated_conf));
        }
        out.push_back(check_onprem_not_suspended(s));
        out.push_back(check_prolog_gate(s, cfg.slurm.prolog_chain));
        out.push_back(check_slurm_release_bugs(s));
        out.push_back(check_resume_timeout(s));
        out.push_back(check_suspend_timeout(s));
        out.push_back(check_tree_width(s));
        out.push_back(check_power_rate(s, "ResumeRate"));
        out.push_back(check_power_rate(s, "SuspendRate"));
        out.push_back(check_return_to_service(s));
        out.push_back(check_private_data(s));
        out.push_back(check_slurmctld_host(s, resolve));
        out.push_back(check_slurmctld_listening(s, tcp_listening(slurmctld_port(s))));
        out.push_back(check_slurmd_port(s));
        out.push_back(check_srun_port_range(s));
    } else {
        out.push_back(check_problem("slurm.conf", read.error().describe() +
                                                      ": give its path with --slurm-conf or "
                                                      "SLURM_CONF"));
    }

    if (fs::exists(o.exports)) {
        auto text = read_file(o.exports);
        out.push_back(text ? check_nfs_exports(*text, o.exports)
                           : check_problem("NFS exports", text.error().describe()));
    } else {
        out.push_back(check_skipped("NFS exports", o.exports + " does not exist: this machine "
                                                               "exports nothing over NFS"));
    }
    out.push_back(check_sched_export_files(o));

    if (!config) {
        out.push_back(check_problem("config file", config.error().describe()));
        out.push_back(check_skipped("CycleCloud", "no valid configuration"));
        out.push_back(check_skipped("clock", "no valid configuration"));
        return out;
    }
    const auto read_slurm_user = read ? read->settings.get("SlurmUser") : std::nullopt;
    const auto slurm_user = lookup_user(read_slurm_user.value_or(cfg.slurm.user));
    out.push_back(check_config_file(config_path, stat_file(config_path), slurm_user,
                                    cfg.cyclecloud.password_file.empty()
                                        ? ConfigSecret::k_inline_password
                                        : ConfigSecret::k_none));
    if (!cfg.cyclecloud.password_file.empty()) {
        out.push_back(check_password_file(cfg.cyclecloud.password_file,
                                          stat_file(cfg.cyclecloud.password_file)));
    }
    const std::string slurm_user_name = read_slurm_user.value_or(cfg.slurm.user);
    if (slurm_user) {
        out.push_back(check_hook_access_as(*slurm_user, self_executable(),
                                           {slurm_user->name, config_path, cfg.paths.spool_dir,
                                            cfg.paths.socket, cfg.cyclecloud.password_file}));
    } else {
        out.push_back(check_problem("Hook access", "SlurmUser " + slurm_user_name +
                                                       " does not exist on this machine: create "
                                                       "it or fix SlurmUser in slurm.conf"));
    }
    out.push_back(check_transport(cfg.cyclecloud));
    const ConnectionDiagnosis diagnosis = diagnose_connection(cyclecloud_options(cfg));
    out.push_back(diagnosis.ok() ? check_ok("CycleCloud", diagnosis.message)
                                 : check_problem("CycleCloud", diagnosis.message));
    if (diagnosis.ok()) {
        out.push_back(check_clock_skew(cyclecloud_date(cfg), std::chrono::system_clock::now()));
        const ArrayFacts facts = read_array_facts(cfg);
        out.push_back(check_placement(cfg, facts));
        out.push_back(check_dynamic(
            cfg, facts, read ? read->settings.get("TopologyPlugin").value_or("") : std::string()));
    } else {
        out.push_back(check_skipped("clock", "CycleCloud cannot be reached"));
        out.push_back(check_skipped("placement", "CycleCloud cannot be reached"));
        out.push_back(check_skipped("dynamic-nodes", "CycleCloud cannot be reached"));
    }
    out.push_back(check_daemon(cfg));
    return out;
}

Result<int> run_doctor(const DoctorOptions& o) {
    const auto results = run_checks(o);
    if (o.json) {
        nlohmann::json checks = nlohmann::json::array();
        for (const auto& r : results) {
            checks.push_back({{"name", r.name},
                              {"outcome", std::string(to_string(r.outcome))},
                              {"detail", r.detail}});
        }
        std::cout << nlohmann::json{{"ok", all_passed(results)}, {"checks", checks}}.dump(2)
                  << "\n";
    } else {
        std::size_t problems = 0;
        std::size_t warnings = 0;
        for (const auto& r : results) {
            std::cout << format_check(r) << "\n";
            problems += r.outcome == CheckOutcome::k_problem ? 1 : 0;
            warnings += r.outcome == CheckOutcome::k_warning ? 1 : 0;
        }
        std::cout << (problems == 0 ? std::string("doctor: no problems")
                                    : "doctor: " + std::to_string(problems) + " problem" +
                                          (problems == 1 ? "" : "s"))
                  << (warnings == 0 ? std::string()
                                    : ", " + std::to_string(warnings) + " WARNING" +
                                          (warnings == 1 ? "" : "S"))
                  << "\n";
    }
    return all_passed(results) ? 0 : 1;
}

}  // namespace

std::vector<CommandSpec> doctor_commands() {
    return {
        {"doctor", "check everything bursting needs; say how to fix what is wrong",
         [](CLI::App& app) {
             auto o = std::make_shared<DoctorOptions>();
             app.add_flag("--json", o->json, "print the results as JSON");
             app.add_option("--slurm-conf", o->slurm_conf,
                            "slurm.conf (default: $SLURM_CONF, else "
                            "<slurm.conf_dir>/slurm.conf)");
             app.add_option("--munge-key", o->munge_key, "munge key file")->capture_default_str();
             app.add_option("--exports", o->exports, "NFS exports file")->capture_default_str();
             app.add_option("--sched-dir", o->sched_dir,
                            "the directory exported to the burst nodes with the munge key")
                 ->capture_default_str();
             return std::function<Result<int>()>([o] { return run_doctor(*o); });
         }},
        // Run by doctor as SlurmUser; hidden from --help (an empty group).
        {"doctor-hook-access", "try, as the user running it, what the Slurm hooks need",
         [](CLI::App& app) {
             app.group("");
             auto t = std::make_shared<HookAccessTarget>();
             app.add_option("--spool-dir", t->spool_dir)->required();
             app.add_option("--socket", t->socket);
             app.add_option("--password-file", t->password_file);
             return std::function<Result<int>()>([t]() -> Result<int> {
                 t->config = global_options().config_path;
                 std::cout << format_hook_access_report(probe_hook_access(*t));
                 return 0;
             });
         }}};
}

}  // namespace cb::cli
