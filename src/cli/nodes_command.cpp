// `cloudburst nodes`, `cloudburst buckets`, `cloudburst why NODE` and `cloudburst why JOBID`:
// what the operator asks when a node or a job is not in the state they expect.
#include <CLI/CLI.hpp>

#include <sys/stat.h>
#include <unistd.h>
#include <algorithm>
#include <charconv>
#include <chrono>
#include <ctime>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>

#include "adapters/cyclecloud_options.h"
#include "cli/commands.h"
#include "cli/journal_reader.h"
#include "cli/text_output.h"
#include "core/config_loader.h"
#include "core/job_request.h"
#include "core/node_range.h"
#include "daemon/daemon.h"
#include "daemon/hook.h"
#include "store/journal.h"
#include "store/spool.h"
#include "util/files.h"
#include "util/hostlist.h"
#include "util/sanitize.h"

namespace cb::cli {

namespace {

// The journal for a command that can still say something without it: one it cannot read is
// a warning (and `problem` says why), not the end of the command.
std::optional<Journal> optional_journal(const Config& config, std::string* problem = nullptr) {
    auto opened = open_journal(config);
    if (opened) {
        return std::move(*opened);
    }
    std::cerr << "cloudburst: warning: " << opened.error().describe() << "\n";
    if (problem != nullptr) {
        *problem = opened.error().describe();
    }
    return std::nullopt;
}

using json = nlohmann::json;

std::string state_text(const SlurmNodeState& s) {
    std::string out = s.base;
    for (const auto& f : s.flags) {
        out += "+" + f;
    }
    return out;
}

Result<int> run_nodes(bool as_json) {
    auto config = load_global_config(PasswordUse::k_read);
    if (!config) {
        return config.error();
    }
    SlurmCli slurm(slurm_cli_options(*config));
    auto snodes = slurm.nodes();
    if (!snodes) {
        return snodes.error();
    }
    CycleCloudRest cloud(cyclecloud_options(*config));
    auto cnodes = cloud.nodes();
    std::map<std::string, CloudNode> by_name;
    if (cnodes) {
        for (auto& n : *cnodes) {
            by_name.emplace(n.name, std::move(n));
        }
    } else {
        std::cerr << "cloudburst: warning: cloud status unknown: " << cnodes.error().describe()
                  << "\n";
    }
    auto journal = optional_journal(*config);
    std::vector<const SlurmNode*> cloud_nodes;
    for (const auto& n : *snodes) {
        if (n.state.has("CLOUD")) {
            cloud_nodes.push_back(&n);
        }
    }
    std::sort(cloud_nodes.begin(), cloud_nodes.end(),
              [](const auto* a, const auto* b) { return natural_compare(a->name, b->name) < 0; });
    json out = json::array();
    std::vector<std::vector<std::string>> rows{
        {"NODE", "SLURM", "CLOUD", "IP", "VM SIZE", "SINCE", "LAST REASON"}};
    for (const SlurmNode* n : cloud_nodes) {
        const auto c = by_name.find(n->name);
        const CloudNode* vm = c == by_name.end() ? nullptr : &c->second;
        std::optional<NodeIntent> intent;
        if (journal) {
            intent = journal->intent(n->name);
        }
        std::string size = vm != nullptr ? vm->machine_type : "";
        if (size.empty()) {
            for (const auto& f : n->features) {
                if (f.rfind("Standard_", 0) == 0) {
                    size = f;
                }
            }
        }
        const std::string reason =
            !n->reason.empty() ? n->reason : (intent ? intent->last_reason : std::string());
        const std::string cloud_status = vm != nullptr ? vm->status_text : (cnodes ? "-" : "?");
        const std::string ip = vm != nullptr && !vm->private_ip.empty() ? vm->private_ip : "-";
        const std::string since = intent ? format_time(intent->since_ms) : "-";
        rows.push_back({n->name, state_text(n->state), cloud_status, ip, size.empty() ? "-" : size,
                        since, reason.empty() ? "-" : reason});
        out.push_back({{"name", n->name},
                       {"slurm_state", state_text(n->state)},
                       {"cloud_status", cloud_status},
                       {"ip", vm != nullptr ? vm->private_ip : ""},
                       {"vm_size", size},
                       {"since_ms", intent ? intent->since_ms : 0},
                       {"phase", intent ? std::string(to_string(intent->phase)) : ""},
                       {"reason", reason}});
    }
    if (as_json) {
        std::cout << out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    } else {
        print_table(rows);
    }
    return 0;
}

Result<int> run_buckets(bool as_json) {
    auto config = load_global_config(PasswordUse::k_read);
    if (!config) {
        return config.error();
    }
    CycleCloudRest cloud(cyclecloud_options(*config));
    auto arrays = cloud.node_arrays();
    if (!arrays) {
        return arrays.error();
    }
    // The daemon's backoff and breakers, if it has written any.
    json health = json::object();
    if (auto text = read_file(health_file_path(*config), 1 << 20); text) {
        health = json::parse(*text, nullptr, false);
        if (!health.is_object()) {
            health = json::object();
        }
    }
    const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    // Health is per VM size (node range, core/node_range.h); a spent budget is the array's.
    auto health_of = [&](const std::string& range, const std::string& nodearray) -> std::string {
        std::string array = range;
        if (!health.contains(array) && health.contains(nodearray) &&
            health[nodearray].value("budget", false)) {
            array = nodearray;
        }
        if (!health.contains(array)) {
            return "ok";
        }
        if (health[array].value("until_ms", std::int64_t{0}) <= now_ms) {
            // The bootstrap breaker stays until a node registers: one probe node at a time.
            return health[array].value("bootstrap", false)
                       ? "probing with one node: " + health[array].value("reason", std::string())
                       : "ok";
        }
        return "backed off until " + format_time(health[array].value("until_ms", std::int64_t{0})) +
               ": " + health[array].value("reason", std::string());
    };
    json out = json::array();
    std::vector<std::vector<std::string>> rows{{"NODEARRAY", "VM SIZE", "MAX", "ACTIVE",
                                                "AVAILABLE", "QUOTA HEADROOM", "VALID", "HEALTH"}};
    for (const auto& a : *arrays) {
        for (const auto& b : a.buckets) {
            const std::string range = node_range_name(a, b.machine_type);
            const std::string health_text = health_of(range.empty() ? a.name : range, a.name);
            // What quota (not the array's own limit) keeps from being used right now.
            const int limit_room = std::max(0, b.max_count - b.active_count);
            const int quota_short = std::max(0, limit_room - b.available_count);
            rows.push_back({a.name, b.machine_type, std::to_string(b.max_count),
                            std::to_string(b.active_count), std::to_string(b.available_count),
                            quota_short > 0 ? "short by " + std::to_string(quota_short) : "ok",
                            b.valid ? "yes" : "no: " + b.invalid_reason, health_text});
            out.push_back({{"nodearray", a.name},
                           {"vm_size", b.machine_type},
                           {"max", b.max_count},
                           {"active", b.active_count},
                           {"available", b.available_count},
                           {"quota_short", quota_short},
                           {"valid", b.valid},
                           {"range", range},
                           {"health", health_text}});
        }
    }
    if (as_json) {
        std::cout << out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    } else {
        print_table(rows);
    }
    return 0;
}

// Hands the daemon a reset of `array` through the spool (as a hook hands a request), so it
// works whether or not the daemon runs now; the poke makes it take it at once.
Result<int> run_buckets_reset(const std::string& array) {
    if (!is_plain_name(array)) {
        return make_error(
            ErrorKind::k_usage,
            "'" + escaped(array) + "' is not a node array name (see `cloudburst buckets`)");
    }
    auto config = load_global_config(PasswordUse::k_skip);
    if (!config) {
        return config.error();
    }
    HookRequest request;
    request.kind = HookKind::k_reset;
    request.hostlist = array;
    request.received_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count();
    request.pid = ::getpid();
    if (auto written = Spool(config->paths.spool_dir).submit(request, 0644); !written) {
        return written.error().with_context("handing the reset to cloudburstd");
    }
    const bool poked = poke_daemon(config->paths.socket);
    std::cout << "asked cloudburstd to forget the backoff and breakers of node array " << array
              << (poked ? "" : " (it is not running: it will when it starts)")
              << "; `cloudburst buckets` shows the result\n";
    return 0;
}

// Hands the daemon failed nodes to return to the pool now, whatever their array's backoff
// (their VMs must be gone first; the daemon removes them).
Result<int> run_retry(const std::string& nodes) {
    auto hosts = Hostlist::parse(nodes);
    if (!hosts) {
        return make_error(ErrorKind::k_usage, "'" + escaped(nodes) + "' is not a Slurm hostlist: " +
                                                  hosts.error().message);
    }
    auto config = load_global_config(PasswordUse::k_skip);
    if (!config) {
        return config.error();
    }
    auto journal = optional_journal(*config);
    std::vector<std::string> failed;
    for (const auto& name : hosts->expand()) {
        const auto intent = journal ? journal->intent(name) : std::nullopt;
        if (intent && intent->phase != Phase::k_failed) {
            std::cout << name << " is " << to_string(intent->phase)
                      << ", not failed: nothing to retry\n";
            continue;
        }
        failed.push_back(name);  // failed, or unknown to the journal but perhaps DOWN in Slurm
    }
    if (failed.empty()) {
        return 1;
    }
    auto list = Hostlist::from_names(failed);
    if (!list) {
        return list.error();
    }
    HookRequest request;
    request.kind = HookKind::k_retry;
    request.hostlist = list->compress();
    request.received_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count();
    request.pid = ::getpid();
    if (auto written = Spool(config->paths.spool_dir).submit(request, 0644); !written) {
        return written.error().with_context("handing the retry to cloudburstd");
    }
    const bool poked = poke_daemon(config->paths.socket);
    std::cout << "asked cloudburstd to return " << request.hostlist
              << " to the powered-down pool once their VMs are gone"
              << (poked ? "" : " (it is not running: it will when it starts)")
              << "; `cloudburst why NODE` shows it\n";
    return 0;
}

std::int64_t wall_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// "why is my job not running": Slurm's state and reason for the job, the cloud nodes it asked
// for (from the journal: the resume file's record), their phases and VMs, and the health of
// their node arrays (backoff, breakers, quota, budget).
Result<int> run_why_job(const std::string& arg, bool as_json) {
    std::int64_t id = 0;
    const auto [end, ec] = std::from_chars(arg.data(), arg.data() + arg.size(), id);
    if (ec != std::errc() || end != arg.data() + arg.size() || id < 1 || id > k_max_job_id) {
        return make_error(ErrorKind::k_usage, "'" + escaped(arg) +
                                                  "' is not a Slurm job id (1 to " +
                                                  std::to_string(k_max_job_id) + ")");
    }
    auto config = load_global_config(PasswordUse::k_skip);
    if (!config) {
        return config.error();
    }
    std::string unreadable;  // why the journal could not be read, when it could not
    auto journal = optional_journal(*config, &unreadable);
    std::optional<JobRequest> record;
    if (journal) {
        auto found = journal->job(id);
        if (!found) {
            return found.error();
        }
        record = std::move(*found);
    }
    SlurmCli slurm(slurm_cli_options(*config));
    auto queued = slurm.job(id);
    std::optional<SlurmJob> sjob;
    if (queued) {
        sjob = *queued;
    } else {
        std::cerr << "cloudburst: warning: Slurm's view of the job is unknown: "
                  << queued.error().describe() << "\n";
    }
    if (!record && !sjob) {
        return make_error(
            ErrorKind::k_not_found,
            "no job " + arg + " in Slurm's queue" + (queued ? "" : " (squeue failed)") +
                (unreadable.empty() ? " and none in cloudburst's journal: it never asked for "
                                      "cloud nodes, or it ended more than MinJobAge ago"
                                    : ", and cloudburst's journal could not be read"));
    }
    // Its cloud nodes: those the resume file gave it, else those Slurm gave it that
    // cloudburst knows.
    std::vector<std::string> nodes;
    if (record) {
        nodes = record->nodes;
    } else if (!sjob->nodes.empty() && journal) {
        if (auto hosts = Hostlist::parse(sjob->nodes); hosts) {
            for (auto& name : hosts->expand()) {
                if (journal->intent(name)) {
                    nodes.push_back(std::move(name));
                }
            }
        }
    }
    const auto health = read_health_file(*config, wall_ms());
    std::set<std::string> arrays;
    json out = {{"job_id", id}, {"slurm", nullptr}, {"cloudburst", nullptr}};
    if (sjob) {
        out["slurm"] = {{"state", sjob->state},
                        {"reason", sjob->reason},
                        {"partition", sjob->partition},
                        {"nodes", sjob->nodes},
                        {"num_nodes", sjob->num_nodes}};
    } else if (!queued) {
        out["slurm_error"] = queued.error().describe();  // null "slurm": not known, not gone
    }
    if (record) {
        out["cloudburst"] = {{"phase", to_string(record->phase)},
                             {"reason", record->reason},
                             {"partition", record->partition},
                             {"asked_ms", record->recorded_ms}};
    }
    json node_rows = json::array();
    std::vector<std::vector<std::string>> rows{
        {"NODE", "PHASE", "WANTED", "IP", "OPERATION", "SINCE", "LAST REASON"}};
    for (const auto& name : nodes) {
        const auto intent = journal ? journal->intent(name) : std::nullopt;
        if (!intent) {
            rows.push_back({name, "-", "-", "-", "-", "-", "no record"});
            node_rows.push_back({{"name", name}, {"phase", nullptr}});
            continue;
        }
        arrays.insert(intent->nodearray);
        rows.push_back({name, std::string(to_string(intent->phase)),
                        std::string(to_string(intent->desired)),
                        intent->private_ip.empty() ? "-" : intent->private_ip,
                        intent->operation_id.empty() ? "-" : intent->operation_id,
                        format_time(intent->since_ms),
                        intent->last_reason.empty() ? "-" : intent->last_reason});
        node_rows.push_back({{"name", name},
                             {"nodearray", intent->nodearray},
                             {"phase", to_string(intent->phase)},
                             {"desired", to_string(intent->desired)},
                             {"ip", intent->private_ip},
                             {"operation_id", intent->operation_id},
                             {"since_ms", intent->since_ms},
                             {"reason", intent->last_reason}});
    }
    out["nodes"] = node_rows;
    json array_rows = json::array();
    std::vector<std::string> array_lines;
    for (const auto& array : arrays) {
        const auto h = health.find(array);
        if (h == health.end()) {
            array_rows.push_back({{"name", array}, {"health", "ok"}});
            continue;
        }
        array_rows.push_back({{"name", array},
                              {"health", health_kind(h->second)},
                              {"until_ms", h->second.until_ms},
                              {"reason", h->second.reason}});
        array_lines.push_back("node array " + array + " is held back (" + health_kind(h->second) +
                              ") until " + format_time(h->second.until_ms) + ": " +
                              h->second.reason);
    }
    out["node_arrays"] = array_rows;
    if (as_json) {
        std::cout << out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
        return 0;
    }
    if (sjob) {
        std::cout << "job " << id << " is " << sjob->state << " in partition " << sjob->partition
                  << " (Slurm's reason: " << sjob->reason << ")\n";
    } else if (queued) {
        std::cout << "job " << id << " is no longer in Slurm's queue\n";
    } else {
        std::cout << "job " << id << ": Slurm's view is unknown (squeue failed, see above)\n";
    }
    if (record) {
        std::cout << "cloudburst: it asked for " << nodes.size() << " cloud node(s) at "
                  << format_time(record->recorded_ms) << "; "
                  << (record->phase == JobPhase::k_failed
                          ? "they were given back together: " + record->reason
                      : record->phase == JobPhase::k_started ? std::string("all of them came up")
                                                             : std::string("they are coming up"))
                  << "\n";
    } else {
        std::cout << "cloudburst: no resume request named this job";
        std::cout << (nodes.empty() ? "; it has no cloud node cloudburst knows\n"
                                    : "; its cloud nodes:\n");
    }
    if (!nodes.empty()) {
        print_table(rows);
    }
    for (const auto& line : array_lines) {
        std::cout << line << "\n";
    }
    return 0;
}

// A job id is all digits; a node name is not.
bool is_job_id(const std::string& arg) {
    return !arg.empty() && std::all_of(arg.begin(), arg.end(), [](char c) {
        return std::isdigit(static_cast<unsigned char>(c)) != 0;
    });
}

Result<int> run_why(const std::string& node, int limit) {
    auto config = load_global_config(PasswordUse::k_skip);
    if (!config) {
        return config.error();
    }
    auto journal = require_journal(*config);
    if (!journal) {
        return journal.error();
    }
    auto intent = journal->intent(node);
    auto events = journal->events_for(node, limit);
    if (!events) {
        return events.error();
    }
    // Spool files the daemon could not read at all may have named this node too.
    auto refused = journal->refusals_without_nodes(5);
    if (!refused) {
        return refused.error();
    }
    if (!intent && events->empty() && refused->empty()) {
        return make_error(ErrorKind::k_not_found,
                          "cloudburst has no history for node '" + escaped(node) +
                              "' (`cloudburst why` takes a node name or a job id, all digits)");
    }
    if (intent) {
        std::cout << node << " is " << to_string(intent->phase) << " (wanted "
                  << to_string(intent->desired) << ") since " << format_time(intent->since_ms)
                  << ": " << intent->last_reason << "\n";
    }
    for (const auto& e : *events) {
        std::cout << "  " << format_time(e.at_ms) << "  " << e.message << "\n";
    }
    if (!refused->empty()) {
        std::cout << "hook requests cloudburstd refused without reading which nodes they named "
                     "(the latest "
                  << refused->size() << "):\n";
        for (const auto& r : *refused) {
            std::cout << "  " << format_time(r.at_ms) << "  " << r.message << "\n";
        }
    }
    return 0;
}

}  // namespace

std::vector<CommandSpec> node_commands() {
    return {
        {"nodes", "one row per cloud node: Slurm state, cloud status, IP, VM size, last reason",
         [](CLI::App& app) {
             auto as_json = std::make_shared<bool>(false);
             app.add_flag("--json", *as_json, "print JSON");
             return std::function<Result<int>()>([as_json] { return run_nodes(*as_json); });
         }},
        {"buckets", "per node array and VM size: max, active, available, quota headroom",
         [](CLI::App& app) {
             auto as_json = std::make_shared<bool>(false);
             app.add_flag("--json", *as_json, "print JSON");
             auto array = std::make_shared<std::string>();
             CLI::App* reset = app.add_subcommand(
                 "reset", "forget a node array's backoff and breakers (after fixing the cause)");
             reset->add_option("NODEARRAY", *array, "node array name")->required();
             return std::function<Result<int>()>([as_json, array, reset] {
                 return reset->parsed() ? run_buckets_reset(*array) : run_buckets(*as_json);
             });
         }},
        {"retry",
         "return failed nodes to the powered-down pool now, whatever their array's backoff",
         [](CLI::App& app) {
             auto nodes = std::make_shared<std::string>();
             app.add_option("NODES", *nodes, "failed nodes, as a Slurm hostlist")->required();
             return std::function<Result<int>()>([nodes] { return run_retry(*nodes); });
         }},
        {"why", "a node's recent history from the journal, or why a job (JOBID) is not running",
         [](CLI::App& app) {
             auto node = std::make_shared<std::string>();
             auto limit = std::make_shared<int>(30);
             auto as_json = std::make_shared<bool>(false);
             app.add_option("NODE|JOBID", *node, "node name, or a Slurm job id (all digits)")
                 ->required();
             app.add_option("-n,--limit", *limit, "how many events (default 30)");
             app.add_flag("--json", *as_json, "print JSON (for a job id)");
             return std::function<Result<int>()>([node, limit, as_json] {
                 if (is_job_id(*node)) {
                     return run_why_job(*node, *as_json);
                 }
                 if (*as_json) {
                     return Result<int>(make_error(
                         ErrorKind::k_usage,
                         "--json is for a job id (all digits); `cloudburst why NODE` prints "
                         "the node's history as text"));
                 }
                 return run_why(*node, *limit);
             });
         }},
    };
}

}  // namespace cb::cli
