#include "daemon/daemon.h"

#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <optional>
#include <set>
#include <thread>
#include <vector>

#include "adapters/cyclecloud_options.h"
#include "core/config_loader.h"
#include "core/config_path.h"
#include "core/node_range.h"
#include "core/placement.h"
#include "core/prolog_gate.h"
#include "core/vm_status.h"
#include "daemon/gate_table.h"
#include "daemon/metrics_server.h"
#include "util/build_info.h"
#include "util/files.h"
#include "util/hostlist.h"
#include "util/log.h"
#include "util/sanitize.h"
#include "util/text.h"

namespace cb {

namespace {

constexpr std::int64_t k_array_refresh_ms = std::int64_t{5} * 60 * 1000;

std::int64_t wall_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

bool in_flight(const NodeIntent& n) {
    return n.phase == Phase::k_requested || n.phase == Phase::k_creating ||
           n.phase == Phase::k_registering || n.phase == Phase::k_stopping;
}

void remember_cloud_nodes(const std::vector<SlurmNode>& nodes, NameSet& out) {
    std::vector<std::string_view> names;
    for (const auto& n : nodes) {
        if (n.state.has("CLOUD")) {
            names.push_back(n.name);
        }
    }
    out = NameSet(std::move(names));
}

// "a, b, c and 4 more", each name escaped: the names may come from CycleCloud.
std::string name_list(const std::vector<std::string>& names) {
    constexpr std::size_t k_shown = 5;
    std::string out;
    for (std::size_t i = 0; i < names.size() && i < k_shown; ++i) {
        out += (i == 0 ? "'" : ", '") + escaped(names[i]) + "'";
    }
    if (names.size() > k_shown) {
        out += " and " + std::to_string(names.size() - k_shown) + " more";
    }
    return out;
}

}  // namespace

std::vector<std::string> event_log_lines(const std::vector<NodeEvent>& events) {
    constexpr std::size_t k_own_lines = 4;
    std::map<std::string, std::vector<const NodeEvent*>> by_summary;
    for (const auto& e : events) {
        by_summary[e.summary.empty() ? e.message : e.summary].push_back(&e);
    }
    std::map<std::string, std::vector<std::string>> by_message;
    for (const auto& [summary, group] : by_summary) {
        const bool own_lines = group.size() <= k_own_lines;
        for (const NodeEvent* e : group) {
            by_message[own_lines ? e->message : summary].push_back(e->node);
        }
    }
    std::vector<std::string> lines;
    for (auto& [message, nodes] : by_message) {
        auto list = Hostlist::from_names(nodes);
        if (list) {
            list->sort();
        }
        lines.push_back((list ? list->compress() : nodes.front()) + ": " + message);
    }
    return lines;
}

Daemon::Daemon(Config config, Cloud& cloud, Scheduler& scheduler, Journal& journal)
    : m_config(std::move(config)),
      m_cloud(cloud),
      m_scheduler(scheduler),
      m_journal(journal),
      m_spool(m_config.paths.spool_dir),
      m_spend(m_config) {}

ReconcileSettings Daemon::settings() const {
    ReconcileSettings s;
    s.orphan_grace_ms = m_config.daemon.orphan_grace.count();
    s.backoff_initial_ms = m_config.backoff.initial.count();
    s.backoff_max_ms = m_config.backoff.max.count();
    s.backoff_factor = m_config.backoff.factor;
    s.bootstrap_failures = m_config.backoff.bootstrap_failures;
    s.resume_timeout_ms = [this](const std::string& range) -> std::int64_t {
        return m_config.node_array(array_of_range(range)).resume_timeout.count();
    };
    s.cluster = m_config.cyclecloud.cluster;
    s.placement = [this](const std::string& range) {
        return m_config.node_array(array_of_range(range)).placement;
    };
    return s;
}

std::string Daemon::array_of_range(const std::string& range) const {
    if (const auto r = find_node_range(m_arrays, range)) {
        return r->array;
    }
    // Before the first read of CycleCloud's arrays (a resume at start-up), a further VM size's
    // range `<array>-<slug>` takes the settings of the configured array named by its longest
    // prefix; otherwise it would get the defaults (a shorter resume_timeout, say).
    const std::string* best = nullptr;
    for (const auto& a : m_config.node_arrays) {
        if (range.size() > a.name.size() && range.starts_with(a.name) &&
            range[a.name.size()] == '-' && (best == nullptr || a.name.size() > best->size())) {
            best = &a.name;
        }
    }
    return best != nullptr ? *best : range;
}

Status Daemon::intake(std::int64_t now_ms) {
    m_intake_wants_pass = true;  // until the requests say otherwise
    auto listing = m_spool.pending();
    if (!listing) {
        return listing.error();
    }
    for (const auto& refused : listing->bad) {
        refuse_spool_file(refused, now_ms);
    }
    if (listing->entries.empty()) {
        return ok_status();
    }
    if (auto st = load_intents(); !st) {
        return st;
    }
    std::map<std::string, NodeIntent> intents = m_intents;
    // A pass is wanted after this intake unless every request was a resume whose nodes all
    // got their create calls here (nothing of those VMs can be seen yet).
    m_intake_wants_pass = !listing->bad.empty();
    for (const auto& entry : listing->entries) {
        const HookRequest& req = entry.request;
        std::vector<NodeIntent> changed;
        auto hosts = Hostlist::parse(req.hostlist);
        if (req.kind == HookKind::k_reset) {
            reset_array(req.hostlist);
        } else if (req.kind == HookKind::k_retry && hosts) {
            for (const auto& name : hosts->expand()) {
                m_retry[name] = now_ms;
            }
            m_busy = true;  // the next pass returns them
        } else if (!hosts) {
            log::error("{} request with a bad hostlist: {}", to_string(req.kind),
                       hosts.error().describe());
        } else {
            const std::vector<std::string> names = hosts->expand();
            changed = apply_hook_request(intents, req.kind, names, settings(), now_ms);
            if (req.kind == HookKind::k_resume && !req.resume_file.empty()) {
                if (auto st = take_jobs(req.resume_file, names, intents, now_ms); !st) {
                    return st;  // keep the spool file: nothing is lost
                }
            }
        }
        std::vector<std::string> requested;  // nodes this request asked to power up
        for (const auto& n : changed) {
            if (n.desired == Desired::k_powered_up && n.phase == Phase::k_requested) {
                requested.push_back(n.name);
            }
        }
        // The create calls for the requested nodes, planned now and journaled with the
        // request in one transaction: the nodes go from their old phase to "creating" in one
        // write, before the calls (the journal's write-ahead rule; a crash before a call
        // leaves "creating" with no VM, which retry_lost_creates asks again).
        World at_once;
        Plan plan = plan_at_once(changed, requested, now_ms, at_once);
        m_intake_wants_pass = m_intake_wants_pass || req.kind != HookKind::k_resume ||
                              plan.changed.size() != requested.size() || !plan.slurm.empty();
        std::vector<NodeIntent> journaled = changed;
        if (!plan.changed.empty()) {
            std::map<std::string, const NodeIntent*> planned;
            for (const auto& n : plan.changed) {
                planned[n.name] = &n;
            }
            for (auto& n : journaled) {
                if (const auto it = planned.find(n.name); it != planned.end()) {
                    n = *it->second;
                }
            }
        }
        auto id = m_journal.record_request(req, journaled, now_ms, plan.events);
        if (!id) {
            return id.error();  // keep the spool file: nothing is lost
        }
        write_events(node_events(intents, changed, now_ms));
        for (auto& n : changed) {
            m_intents[n.name] = n;
        }
        for (auto& n : journaled) {
            intents[n.name] = n;
        }
        ++m_stats.requests;
        log::info("request {}: {} {} ({} node(s) changed)", *id, to_string(req.kind), req.hostlist,
                  changed.size());
        if (auto st = m_spool.remove(entry); !st) {
            log::warn("{}", st.error().describe());
        }
        if (!at_once.intents.empty()) {
            execute(plan, at_once, /*journaled=*/true);
            m_busy = true;
            // What the create calls journaled (an operation id, a failure) is what a later
            // request of this intake for the same nodes starts from.
            for (const auto& [name, n] : at_once.intents) {
                if (const auto it = m_intents.find(name); it != m_intents.end()) {
                    intents[name] = it->second;
                }
            }
        }
    }
    return ok_status();
}

namespace {

// A spool file's name and content are SlurmUser's to choose: no control character of theirs
// reaches the log or the journal.
std::string printable(std::string_view text) {
    std::string out(text);
    for (char& c : out) {
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
            c = '?';
        }
    }
    return out;
}

}  // namespace

// Never silence: the refusal goes to the log, and to the journal for `cloudburst why` (on
// the nodes the file names, when its hostlist could be read). The file is renamed so that it
// is refused once, and kept for the operator.
void Daemon::refuse_spool_file(const RefusedSpoolFile& refused, std::int64_t now_ms) {
    const std::string path = printable(refused.path);
    const std::string reason = printable(refused.error.message);
    auto aside = m_spool.set_aside(refused.path);
    if (!aside && !m_reported_bad.emplace(refused.path, reason).second) {
        return;  // logged and journaled already; it stays until an operator moves it
    }
    const std::string kept = aside ? "kept as " + printable(*aside) : "left in place";
    RefusedRequest row;
    row.at_ms = now_ms;
    row.file = path;
    row.kind = refused.kind;
    row.hostlist = printable(refused.hostlist);
    std::vector<std::string> nodes;
    if (auto hosts = Hostlist::parse(refused.hostlist); hosts && !refused.hostlist.empty()) {
        nodes = hosts->expand();
    }
    row.message =
        "cloudburstd refused " +
        (refused.kind.empty() ? std::string("a hook request") : "a " + refused.kind + " request") +
        (nodes.empty() ? "" : " for this node") + ": spool file " + path + ": " + reason + " (" +
        kept + ")";
    row.nodes = static_cast<std::int64_t>(nodes.size());
    ++m_stats.errors;
    log::error("spool: refused {}{}: {} ({}; see cloudburst why)", path,
               row.hostlist.empty() ? "" : " (" + row.kind + " " + row.hostlist + ")", reason,
               kept);
    if (auto st = m_journal.record_refused_request(row, nodes); !st) {
        log::error("{}", st.error().describe());
    }
}

Status Daemon::take_jobs(const std::string& resume_file, const std::vector<std::string>& names,
                         const std::map<std::string, NodeIntent>& intents, std::int64_t now_ms) {
    auto read = parse_resume_file(resume_file, names);
    if (!read) {
        // What Slurm wrote is not trusted: the parser's message quotes none of it.
        log::warn("{}; its nodes are powered up without knowing their jobs",
                  read.error().describe());
        return ok_status();
    }
    for (const auto& line : read->skipped) {
        log::warn("SLURM_RESUME_FILE: {}", line);
    }
    if (read->skipped_count > read->skipped.size()) {
        log::warn("SLURM_RESUME_FILE: {} more entries left out",
                  read->skipped_count - read->skipped.size());
    }
    if (read->jobs.empty()) {
        return ok_status();
    }
    auto known = m_journal.jobs();
    if (!known) {
        return known.error();
    }
    std::map<std::int64_t, JobRequest> starting;
    for (auto& j : *known) {
        if (j.phase == JobPhase::k_starting) {
            starting.emplace(j.job_id, std::move(j));
        }
    }
    for (auto& j : read->jobs) {
        j.recorded_ms = now_ms;
        const auto old = starting.find(j.job_id);
        if (old != starting.end()) {
            j.recorded_ms = old->second.recorded_ms;
            if (j.partition.empty()) {
                j.partition = old->second.partition;
            }
        }
        if (!j.allocation.empty()) {
            // 23.02+ names the whole allocation: the record is the job's cloud nodes in it
            // that are up or on their way, whatever an older record said (nodes woken in an
            // earlier call, or an allocation from before a requeue).
            for (const auto& name : j.allocation) {
                const auto it = intents.find(name);
                if (it != intents.end() && it->second.desired == Desired::k_powered_up) {
                    j.nodes.push_back(name);
                }
            }
        } else if (old != starting.end()) {
            // 22.05 names only this call's nodes: Slurm may wake one job's nodes in several
            // calls (ResumeRate), so they join the record still starting.
            j.nodes.insert(j.nodes.end(), old->second.nodes.begin(), old->second.nodes.end());
        }
        sort_unique(j.nodes);
    }
    if (auto st = m_journal.save_jobs(read->jobs, {}); !st) {
        return st;
    }
    log::info("resume file: {} job(s) asked for these nodes", read->jobs.size());
    return ok_status();
}

Plan Daemon::plan_at_once(const std::vector<NodeIntent>& changed,
                          const std::vector<std::string>& requested, std::int64_t now_ms,
                          World& w) {
    if (requested.empty() || !m_cloud_ok || m_arrays.empty()) {
        // Nothing known of the cloud yet, or the last pass could not read it (an outage: a
        // create now would only fail and back the array off): the pass asks when it can.
        return {};
    }
    // Only ever create here. An array we do not know (it may be new: the pass refreshes the
    // list) or one with a health entry (backed off, blocked, or about to be unblocked by the
    // pass's fresh counts) is the pass's to judge.
    w.now_ms = now_ms;
    const std::set<std::string> wanted(requested.begin(), requested.end());
    for (const auto& n : changed) {
        // A VM that was there (running, deallocated, leaving, failed) is the pass's to judge.
        if (wanted.count(n.name) != 0 && n.phase == Phase::k_requested &&
            !m_vms_seen.contains(n.name) && find_node_range(m_arrays, n.nodearray) &&
            m_health.count(n.nodearray) == 0) {
            w.intents.emplace(n.name, n);
        }
    }
    if (w.intents.empty()) {
        return {};
    }
    w.arrays = m_arrays;
    w.health = m_health;
    w.bootstrap = m_bootstrap;
    // The jobs just taken from the resume file decide placement groups (core/placement.h);
    // without placement they are not read.
    const bool placed = std::any_of(w.intents.begin(), w.intents.end(), [&](const auto& e) {
        const std::string array = array_of_range(e.second.nodearray);
        return effective_placement(settings().placement(array), m_arrays.at(array)) !=
               Placement::k_none;
    });
    if (!placed) {
        return start_requests(w, settings());
    }
    if (auto jobs = m_journal.jobs(); jobs) {
        for (auto& j : *jobs) {
            w.jobs.emplace(j.job_id, std::move(j));
        }
    } else {
        log::warn("{}; the pass asks for these nodes", jobs.error().describe());
        w.intents.clear();
        return {};
    }
    return start_requests(w, settings());
}

// Only the daemon writes intents, and it changes m_intents with each write (intake's
// record_request, execute's save): the journal is read once, not every pass (31 ms and a
// second map of 10,000 intents at 10,000 nodes).
Status Daemon::load_intents() {
    if (m_intents_loaded) {
        return ok_status();
    }
    auto intents = m_journal.intents();
    if (!intents) {
        return intents.error();
    }
    m_intents.clear();
    for (auto& n : *intents) {
        m_intents.emplace(n.name, std::move(n));
    }
    m_intents_loaded = true;
    return ok_status();
}

Result<World> Daemon::snapshot(std::int64_t now_ms) {
    World w;
    w.now_ms = now_ms;
    // The node list first: its response body (12 MB for 10,000 nodes) is the largest thing a
    // pass holds, and it is freed before the rest of the snapshot is built.
    {
        auto cloud = m_cloud.nodes();
        if (!cloud) {
            return cloud.error().with_context("listing CycleCloud nodes");
        }
        std::vector<std::string_view> seen;
        seen.reserve(cloud->size());
        for (const auto& n : *cloud) {
            if (n.status != VmStatus::k_off) {
                seen.push_back(n.name);
            }
        }
        m_vms_seen = NameSet(std::move(seen));
        for (auto& n : *cloud) {
            w.cloud.emplace(n.name, std::move(n));
        }
    }
    if (auto st = load_intents(); !st) {
        return st.error();
    }
    w.intents = m_intents;
    bool wants_arrays = false;
    for (const auto& [name, n] : w.intents) {
        wants_arrays = wants_arrays || n.phase == Phase::k_requested;
    }
    if (m_arrays.empty() || now_ms - m_arrays_fetched_ms > k_array_refresh_ms ||
        (wants_arrays && now_ms - m_arrays_fetched_ms > 30000)) {
        auto arrays = m_cloud.node_arrays();
        if (!arrays) {
            return arrays.error().with_context("reading CycleCloud node arrays");
        }
        m_arrays.clear();
        for (auto& a : *arrays) {
            m_arrays.emplace(a.name, std::move(a));
        }
        m_arrays_fetched_ms = now_ms;
    }
    w.arrays = m_arrays;
    w.health = m_health;
    w.bootstrap = m_bootstrap;
    auto jobs = m_journal.jobs();
    if (!jobs) {
        return jobs.error();
    }
    for (auto& j : *jobs) {
        w.jobs.emplace(j.job_id, std::move(j));
    }
    for (const auto& [name, asked_ms] : m_retry) {
        w.retry.insert(name);
    }
    auto slurm = m_scheduler.nodes();
    if (!slurm) {
        return slurm.error().with_context("reading Slurm nodes");
    }
    remember_cloud_nodes(*slurm, m_slurm_cloud);
    for (auto& n : *slurm) {
        if (n.state.has("CLOUD") || w.intents.count(n.name) != 0) {
            w.slurm.emplace(n.name, std::move(n));
        }
    }
    return w;
}

// A retry is done when its node went back to the pool (or was never failed); one whose VM is
// still being removed waits for it, at most the longest ResumeTimeout.
void Daemon::forget_retries(const World& world, const Plan& plan, std::int64_t now_ms) {
    if (m_retry.empty()) {
        return;  // the usual case: no map of every node's phase to build
    }
    std::map<std::string, Phase> phase;
    for (const auto& [name, n] : world.intents) {
        phase[name] = n.phase;
    }
    for (const auto& n : plan.changed) {
        phase[n.name] = n.phase;
    }
    const std::int64_t keep_ms = m_config.longest_resume_timeout().count();
    for (auto it = m_retry.begin(); it != m_retry.end();) {
        const auto p = phase.find(it->first);
        const bool failed = p != phase.end() && p->second == Phase::k_failed;
        if (!failed || now_ms - it->second > keep_ms) {
            it = m_retry.erase(it);
        } else {
            ++it;
        }
    }
}

void Daemon::count_error(const Error& error) {
    ++m_stats.errors;
    ++m_stats.errors_by_class[std::string(to_string(error.kind))];
}

void Daemon::write_events(const std::vector<OpsEvent>& events) {
    if (auto st = m_events.append(events); !st) {
        log::warn("{}", st.error().describe());
    }
}

void Daemon::observe_changes(const Plan& plan, const World& world) {
    const std::int64_t now = world.now_ms;
    write_events(node_events(m_intents, plan.changed, now));
    for (const auto& n : plan.changed) {
        const auto it = m_intents.find(n.name);
        if (it != m_intents.end()) {
            const NodeIntent& old = it->second;
            const double waited = static_cast<double>(now - old.since_ms) / 1000.0;
            if (old.phase == Phase::k_creating && n.phase == Phase::k_registering) {
                m_stats.boot_seconds.observe(waited);
            } else if (old.phase == Phase::k_registering && n.phase == Phase::k_running) {
                m_stats.registration_seconds.observe(waited);
                m_awaiting_job[n.name] = now;
            } else if (old.phase == Phase::k_idle && n.phase == Phase::k_stopping) {
                ++m_stats.orphans_removed;
            }
        }
        if (n.phase != Phase::k_running) {
            m_awaiting_job.erase(n.name);
        }
        m_intents[n.name] = n;
    }
}

void Daemon::observe_first_jobs(const World& world) {
    for (auto it = m_awaiting_job.begin(); it != m_awaiting_job.end();) {
        const auto node = world.slurm.find(it->first);
        if (node == world.slurm.end()) {
            it = m_awaiting_job.erase(it);
            continue;
        }
        const std::string& base = node->second.state.base;
        if (base == "ALLOCATED" || base == "MIXED" || base == "COMPLETING") {
            m_stats.first_job_seconds.observe(static_cast<double>(world.now_ms - it->second) /
                                              1000.0);
            it = m_awaiting_job.erase(it);
        } else {
            ++it;
        }
    }
}

void Daemon::count_nodes(const World& world) {
    m_stats.nodes.clear();
    for (const auto& [name, n] : m_intents) {
        ++m_stats.nodes[n.nodearray][std::string(to_string(n.phase))];
    }
    m_stats.vms.clear();
    for (const auto& [name, vm] : world.cloud) {
        if (vm.status == VmStatus::k_off) {
            continue;
        }
        const VmStatusInfo* info = vm_status_info(vm.status);
        ++m_stats.vms[vm.nodearray][info != nullptr ? std::string(info->text) : "Unknown"];
    }
}

void Daemon::fill_report(StatusReport& r) const {
    r.passes = m_stats.passes;
    r.requests = m_stats.requests;
    r.create_calls = m_stats.create_calls;
    r.nodes_created = m_stats.nodes_created;
    r.start_calls = m_stats.start_calls;
    r.shutdown_calls = m_stats.shutdown_calls;
    r.slurm_updates = m_stats.slurm_updates;
    r.orphans_removed = m_stats.orphans_removed;
    r.errors_by_class = m_stats.errors_by_class;
    r.last_pass_ms = m_stats.last_pass_ms;
    r.last_pass_duration_ms = m_stats.last_pass_duration_ms;
    r.last_pass_error = m_stats.last_pass_error;
    r.nodes = m_stats.nodes;
    r.vms = m_stats.vms;
    r.creates_in_flight = 0;
    for (const auto& [array, phases] : m_stats.nodes) {
        const auto it = phases.find("creating");
        r.creates_in_flight += it == phases.end() ? 0 : it->second;
    }
    r.blocked.clear();
    for (const auto& [range, h] : m_health) {
        const auto known = find_node_range(m_arrays, range);
        r.blocked.push_back({known ? known->array : range, health_kind(h), h.reason, h.until_ms,
                             h.failures, h.bootstrap, range,
                             known ? known->machine_type : std::string()});
    }
    r.create_call_seconds = m_stats.create_call_seconds;
    r.boot_seconds = m_stats.boot_seconds;
    r.registration_seconds = m_stats.registration_seconds;
    r.first_job_seconds = m_stats.first_job_seconds;
    r.currency = m_config.cost.currency;
    r.budgets = m_spend.states();
}

std::string health_file_path(const Config& config) {
    return config.paths.state_db + ".health.json";
}

std::map<std::string, ArrayHealth> read_health_file(const Config& config, std::int64_t now_ms) {
    std::map<std::string, ArrayHealth> out;
    auto text = read_file(health_file_path(config), 1 << 20);
    if (!text) {
        return out;
    }
    const auto table = nlohmann::json::parse(*text, nullptr, false);
    if (!table.is_object()) {
        return out;
    }
    for (const auto& [array, h] : table.items()) {
        if (!h.is_object() || !is_plain_name(array)) {
            continue;
        }
        ArrayHealth a;
        try {  // value() throws when a key holds another type: such an entry is skipped
            a.reason = without_control_chars(h.value("reason", std::string()));
            a.until_ms = h.value("until_ms", std::int64_t{0});
            a.failures = h.value("failures", 0);
            a.bootstrap = h.value("bootstrap", false);
            a.budget = h.value("kind", std::string()) == "budget";
        } catch (const nlohmann::json::exception&) {
            continue;
        }
        if (a.until_ms > now_ms || a.bootstrap) {
            out.emplace(array, std::move(a));
        }
    }
    return out;
}

// One line when a node array is backed off or its breaker opens, and when it recovers; the
// whole table goes to <state_db>.health.json for `cloudburst buckets`.
void Daemon::log_health_changes(const std::map<std::string, ArrayHealth>& next) {
    bool changed = next.size() != m_health.size();
    for (const auto& [array, h] : next) {
        const auto old = m_health.find(array);
        if (old == m_health.end() || old->second.failures != h.failures) {
            changed = true;
            log::warn("node array {}: {} (failure {}; no create call before {})", array, h.reason,
                      h.failures, clock_text(h.until_ms));
        }
    }
    for (const auto& [array, h] : m_health) {
        if (next.count(array) == 0) {
            log::info("node array {}: healthy again", array);
        }
    }
    write_events(health_events(m_health, next, wall_ms()));
    if (changed) {
        nlohmann::json table = nlohmann::json::object();
        for (const auto& [array, h] : next) {
            table[array] = {{"kind", health_kind(h)},
                            {"reason", h.reason},
                            {"until_ms", h.until_ms},
                            {"failures", h.failures},
                            {"bootstrap", h.bootstrap}};
        }
        if (auto st = write_file_atomic(health_file_path(m_config), table.dump(2) + "\n", 0644,
                                        Durability::k_process_crash);
            !st) {
            log::warn("{}", st.error().describe());
        }
    }
}

// `cloudburst buckets reset ARRAY`: the operator fixed what tripped the array (an image, a
// quota, a cluster-init); forget its backoff, breaker and bootstrap streak.
void Daemon::reset_array(const std::string& array) {
    if (!is_plain_name(array)) {
        log::error("reset request for '{}', which is not a node array name", escaped(array));
        return;
    }
    // An array's reset is its every VM size's (node range's); a range's is its own.
    const auto of_it = [&](const std::string& range) {
        return range == array || array_of_range(range) == array;
    };
    auto health = m_health;
    const bool had = std::erase_if(health, [&](const auto& e) { return of_it(e.first); }) +
                         std::erase_if(m_bootstrap, [&](const auto& e) { return of_it(e.first); }) >
                     0;
    log::info("node array {}: reset by the operator{}", array,
              had ? "" : " (it had no backoff or breaker)");
    log_health_changes(health);
    m_health = std::move(health);
}

// CycleCloud refuses us outright (credentials, unknown cluster): no snapshot, so no pass.
// Nodes waiting to be created fail now with the reason in Slurm, instead of timing out
// silently; their node arrays' breakers open.
void Daemon::fail_waiting_nodes(const Error& error, std::int64_t now_ms) {
    if (!load_intents()) {
        return;
    }
    const std::string reason = "cloudburst: permanent: " + error.describe();
    Plan plan;
    std::map<std::string, ArrayHealth> health = m_health;
    for (auto [name, n] : m_intents) {  // copies: m_intents changes when the plan is journaled
        if (n.desired != Desired::k_powered_up || n.phase != Phase::k_requested) {
            continue;
        }
        record_failure(health, n.nodearray, ErrorKind::k_permanent, reason, now_ms, settings());
        plan.slurm.push_back({{n.name}, "DOWN", reason, {}, {}});
        plan.slurm.push_back({{n.name}, "POWER_DOWN", "", {}, {}});
        n.desired = Desired::k_powered_down;
        n.phase = Phase::k_failed;
        n.deadline_ms = 0;
        n.since_ms = now_ms;
        n.last_reason = reason;
        plan.events.push_back({0, now_ms, n.name, "error", reason, {}});
        plan.changed.push_back(n);
    }
    log_health_changes(health);
    m_health = std::move(health);
    if (!plan.changed.empty()) {
        World none;
        none.now_ms = now_ms;
        plan.health = m_health;
        execute(plan, none);
    }
}

Status Daemon::read_slurm_cloud_nodes() {
    auto slurm = m_scheduler.nodes();
    if (!slurm) {
        return slurm.error().with_context("reading Slurm nodes");
    }
    remember_cloud_nodes(*slurm, m_slurm_cloud);
    return ok_status();
}

void Daemon::update_slurm(const NodeUpdate& update, bool& refreshed) {
    std::vector<std::string> dropped;
    NodeUpdate cloud_only = only_cloud_nodes(update, m_slurm_cloud, dropped);
    if (!dropped.empty() && !refreshed) {
        // Slurm may list nodes it did not at the last read (a reconfigure, the first pass).
        refreshed = true;
        if (auto st = read_slurm_cloud_nodes(); !st) {
            log::warn("{}", st.error().describe());
        }
        dropped.clear();
        cloud_only = only_cloud_nodes(update, m_slurm_cloud, dropped);
    }
    if (!dropped.empty()) {
        log::warn("not updating {} in Slurm: Slurm does not list it as a cloud node",
                  name_list(dropped));
    }
    if (cloud_only.names.empty()) {
        return;
    }
    ++m_stats.slurm_updates;
    if (auto st = m_scheduler.update_nodes(cloud_only); !st) {
        log::error("slurm update failed: {}", st.error().describe());
        count_error(st.error());
    }
}

std::vector<Result<CreateResult>> Daemon::create_all(const std::vector<CreateBatch>& batches,
                                                     std::int64_t now_ms) {
    std::vector<std::optional<Result<CreateResult>>> results(batches.size());
    std::vector<std::string> request_ids;
    for (const auto& batch : batches) {
        ++m_stats.create_calls;
        m_stats.nodes_created += static_cast<long>(batch.requests.size());
        // Unique per call (CycleCloud refuses a repeated requestId): the intake-time create
        // and a pass may both ask for the same array in the same millisecond.
        request_ids.push_back("cloudburst-" + std::to_string(now_ms) + "-" +
                              std::to_string(++m_create_seq) + "-" + batch.nodearray);
    }
    std::vector<double> seconds(batches.size(), 0.0);
    const auto create = [&](std::size_t i) {
        const auto call_start = std::chrono::steady_clock::now();
        results[i].emplace(m_cloud.create_nodes(batches[i].requests, request_ids[i]));
        seconds[i] =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - call_start).count();
    };
    // One node array's call at a time per worker, at most max_concurrent_calls() workers:
    // with four arrays, the four calls go out together.
    const std::size_t workers = std::min<std::size_t>(
        batches.size(), static_cast<std::size_t>(std::max(1, m_cloud.max_concurrent_calls())));
    if (workers <= 1) {
        for (std::size_t i = 0; i < batches.size(); ++i) {
            create(i);
        }
    } else {
        std::atomic<std::size_t> next{0};
        std::vector<std::thread> threads;
        for (std::size_t w = 0; w < workers; ++w) {
            threads.emplace_back([&] {
                for (std::size_t i = next++; i < batches.size(); i = next++) {
                    create(i);
                }
            });
        }
        for (auto& t : threads) {
            t.join();
        }
    }
    std::vector<Result<CreateResult>> out;
    for (std::size_t i = 0; i < batches.size(); ++i) {
        m_stats.create_call_seconds.observe(seconds[i]);
        if (!*results[i]) {
            log::error("create of {} node(s) in {} failed: {}", batches[i].requests.size(),
                       batches[i].nodearray, results[i]->error().describe());
            count_error(results[i]->error());
        }
        out.push_back(std::move(*results[i]));
    }
    return out;
}

void Daemon::execute(Plan& plan, const World& world, bool journaled) {
    // Updates that only tell Slurm where nodes are (NodeAddr and NodeHostName, no state) go
    // first: nothing is in flight because of them, and the next pass makes them again from
    // the cloud's addresses if we die before the journal has them (publish_addresses for a
    // node still "creating"; finish_stops resets an address Slurm still shows). Setting
    // 10,000 addresses then waits for no journal write of 20,000 rows.
    bool refreshed = false;
    const auto address_only = [](const NodeUpdate& u) {
        return u.state.empty() && u.reason.empty() && !u.node_addrs.empty();
    };
    for (const auto& u : plan.slurm) {
        if (address_only(u)) {
            update_slurm(u, refreshed);
        }
    }
    // Journal first: if we die during a call, the next start knows what may be in flight.
    if (!journaled) {
        if (auto st = m_journal.save(plan.changed, plan.events); !st) {
            log::error("{}", st.error().describe());
            count_error(st.error());
            return;
        }
    }
    if (auto st = m_journal.save_jobs(plan.jobs, plan.forgotten_jobs); !st) {
        log::error("{}", st.error().describe());
        count_error(st.error());
    }
    observe_changes(plan, world);
    for (const auto& line : event_log_lines(plan.events)) {
        log::info("{}", line);
    }
    for (const auto& u : plan.slurm) {
        if (!address_only(u)) {
            update_slurm(u, refreshed);
        }
    }
    Plan follow_up;
    follow_up.health = plan.health;
    const auto results = create_all(plan.creates, world.now_ms);
    for (std::size_t i = 0; i < plan.creates.size(); ++i) {
        apply_create_result(follow_up, world, plan.creates[i], results[i], settings());
    }
    log_health_changes(follow_up.health);
    m_health = follow_up.health;
    if (!plan.starts.empty()) {
        ++m_stats.start_calls;
        if (auto r = m_cloud.start_nodes(plan.starts); !r) {
            log::error("start failed: {}", r.error().describe());
            count_error(r.error());
        }
    }
    std::map<ShutdownMode, std::vector<std::string>> shutdowns;
    for (const auto& name : plan.shutdowns) {
        const auto it = world.intents.find(name);
        const std::string array =
            it != world.intents.end() ? array_of_range(it->second.nodearray) : "";
        const bool dealloc = m_config.node_array(array).shutdown == ShutdownPolicy::k_deallocate;
        shutdowns[dealloc ? ShutdownMode::k_deallocate : ShutdownMode::k_terminate].push_back(name);
    }
    for (const auto& [mode, names] : shutdowns) {
        ++m_stats.shutdown_calls;
        if (auto r = m_cloud.shutdown_nodes(names, mode); !r) {
            log::error("shutdown of {} node(s) failed: {}", names.size(), r.error().describe());
            count_error(r.error());
        }
    }
    if (!follow_up.empty()) {
        execute(follow_up, world);
    }
}

Status Daemon::pass(std::int64_t now_ms) {
    const auto started = std::chrono::steady_clock::now();
    Status status = pass_once(now_ms);
    m_stats.last_pass_ms = now_ms;
    m_stats.last_pass_duration_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                        std::chrono::steady_clock::now() - started)
                                        .count();
    m_stats.last_pass_error = status ? std::string() : status.error().describe();
    return status;
}

Status Daemon::pass_once(std::int64_t now_ms) {
    ++m_stats.passes;
    m_cloud_ok = false;  // until this pass's snapshot has read the cloud
    auto world = snapshot(now_ms);
    if (!world) {
        count_error(world.error());
        if (world.error().kind == ErrorKind::k_permanent) {
            fail_waiting_nodes(world.error(), now_ms);
        }
        m_busy = true;  // try again soon
        return world.error();
    }
    m_cloud_ok = true;
    observe_first_jobs(*world);
    m_spend.observe(m_journal, *world, settings().node_prefix);
    if (auto health = m_health; m_spend.apply_budgets(m_journal, *world, health)) {
        log_health_changes(health);
        m_health = std::move(health);
        world->health = m_health;
    }
    Plan plan = reconcile(*world, settings());
    execute(plan, *world);
    count_nodes(*world);
    m_bootstrap = std::move(plan.bootstrap);
    forget_retries(*world, plan, now_ms);
    m_last_pass_changed = !plan.changed.empty();
    m_busy = false;
    for (const auto& [name, n] : world->intents) {
        m_busy = m_busy || in_flight(n);
    }
    for (const auto& n : plan.changed) {
        m_busy = m_busy || in_flight(n);
    }
    return ok_status();
}

namespace {

// RAII: the single-instance lock (flock on <state_db>.lock, holding our pid).
class InstanceLock {
  public:
    static Result<InstanceLock> take(const std::string& path) {
        const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0) {
            return make_error(ErrorKind::k_io,
                              "cannot open lock file " + path + ": " + std::strerror(errno));
        }
        if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
            char buf[32] = {0};
            const ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
            ::close(fd);
            std::string pid = n > 0 ? std::string(buf, static_cast<size_t>(n)) : "?";
            while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) {
                pid.pop_back();
            }
            return make_error(ErrorKind::k_config, "another cloudburstd is already running (pid " +
                                                       pid + ", lock " + path + "); stop it first");
        }
        const std::string pid = std::to_string(::getpid()) + "\n";
        (void)!::ftruncate(fd, 0);
        (void)!::pwrite(fd, pid.data(), pid.size(), 0);
        return InstanceLock(fd);
    }
    InstanceLock(InstanceLock&& o) noexcept : m_fd(o.m_fd) { o.m_fd = -1; }
    InstanceLock(const InstanceLock&) = delete;
    InstanceLock& operator=(const InstanceLock&) = delete;
    InstanceLock& operator=(InstanceLock&&) = delete;
    ~InstanceLock() {
        if (m_fd >= 0) {
            ::close(m_fd);
        }
    }

  private:
    explicit InstanceLock(int fd) : m_fd(fd) {}
    int m_fd = -1;
};

// RAII: the control socket the hooks poke. Only root and SlurmUser may connect.
class ControlSocket {
  public:
    static Result<ControlSocket> listen(const std::string& path, uid_t slurm_uid) {
        sockaddr_un addr{};
        if (path.size() >= sizeof addr.sun_path) {
            return make_error(ErrorKind::k_config, "socket path too long: " + path);
        }
        addr.sun_family = AF_UNIX;
        std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
        const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        ::unlink(path.c_str());  // a stale socket of a crashed run; the lock says we are alone
        if (fd < 0 || ::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0 ||
            ::listen(fd, 64) != 0) {
            const int err = errno;
            if (fd >= 0) {
                ::close(fd);
            }
            return make_error(ErrorKind::k_io,
                              "cannot listen on " + path + ": " + std::strerror(err));
        }
        ::chmod(path.c_str(), 0600);
        if (::geteuid() == 0) {  // else it is SlurmUser's own already
            (void)!::chown(path.c_str(), slurm_uid, static_cast<gid_t>(-1));
        }
        return ControlSocket(fd, path, slurm_uid);
    }
    ControlSocket(ControlSocket&& o) noexcept
        : m_fd(o.m_fd), m_path(std::move(o.m_path)), m_slurm_uid(o.m_slurm_uid) {
        o.m_fd = -1;
    }
    ControlSocket(const ControlSocket&) = delete;
    ControlSocket& operator=(const ControlSocket&) = delete;
    ControlSocket& operator=(ControlSocket&&) = delete;
    ~ControlSocket() {
        if (m_fd >= 0) {
            ::close(m_fd);
            ::unlink(m_path.c_str());
        }
    }
    int fd() const { return m_fd; }

    struct Drained {
        bool poked = false;  // a hook (or anyone of root or SlurmUser) asked for a pass
        std::vector<std::pair<int, GateRequest>> gates;  // prolog gates; the fds are theirs
        std::vector<int> status;  // `cloudburst status` connections, to answer; the caller's
    };
    // Accepts every pending connection of root or SlurmUser and reads its one line
    // (classify_control_line): "poke" (or nothing: older hooks) asks for a pass, "wait JOB
    // HOSTLIST" is a prolog gate, which keeps its connection open for the answer, "status"
    // waits for a status report. A gate whose line is malformed is answered at once: the gate
    // never holds a job back by mistake. Any other line is logged and closed.
    Drained drain() const {
        Drained out;
        for (;;) {
            const int c = ::accept4(m_fd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
            if (c < 0) {
                return out;
            }
            ucred cred{};
            socklen_t len = sizeof cred;
            if (::getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 ||
                (cred.uid != 0 && cred.uid != m_slurm_uid)) {
                ::close(c);
                continue;
            }
            const std::string line = read_line(c);
            const ControlRequest kind = classify_control_line(line);
            if (kind == ControlRequest::k_status) {
                out.status.push_back(c);
                continue;
            }
            if (kind == ControlRequest::k_unknown) {
                log::warn("control socket: ignored a request of {} bytes from uid {}", line.size(),
                          cred.uid);
            } else if (kind == ControlRequest::k_wait) {
                if (auto request = parse_gate_request(line); request) {
                    out.gates.emplace_back(c, std::move(*request));
                    continue;
                } else {
                    log::warn("prolog gate: {}; letting the job go", request.error().describe());
                }
                (void)!::send(c, "go\n", 3, MSG_NOSIGNAL | MSG_DONTWAIT);
            } else {
                out.poked = true;
            }
            ::close(c);
        }
    }

  private:
    // The first line a client sent right after connecting; waits at most 100 ms for it (the
    // hooks and the gate write it at once). "" on EOF, time-out or a line over the limit.
    static std::string read_line(int fd) {
        std::string line;
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(100);
        char buf[4096];
        while (line.size() <= k_max_gate_request_bytes) {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                deadline - std::chrono::steady_clock::now());
            pollfd p{fd, POLLIN, 0};
            if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) {
                return {};
            }
            const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
            if (n <= 0) {
                return line.find('\n') == std::string::npos ? std::string() : line;
            }
            line.append(buf, static_cast<std::size_t>(n));
            if (const auto nl = line.find('\n'); nl != std::string::npos) {
                line.resize(nl + 1);
                return line;
            }
        }
        return {};
    }

    ControlSocket(int fd, std::string path, uid_t uid)
        : m_fd(fd), m_path(std::move(path)), m_slurm_uid(uid) {}
    int m_fd = -1;
    std::string m_path;
    uid_t m_slurm_uid = 0;
};

// Waiting gates beyond this many are answered at once (slurmscriptd runs a thread per
// script): their jobs start by Slurm's periodic check instead, as without the gate.
constexpr std::size_t k_max_waiting_gates = 512;

// The longest any job's nodes may take to come up (the largest ResumeTimeout) and a margin:
// after that a gate is answered whatever its nodes do. Slurm has given up on them by then.
std::int64_t gate_max_wait_ms(const Config& config) {
    return (config.longest_resume_timeout() + std::chrono::seconds(30)).count();
}

// One read of Slurm's nodes for every waiting gate. A failed read releases nothing: the
// gates wait for the next one (and, at worst, their own time-out).
void release_gates(GateTable& gates, Scheduler& slurm, std::int64_t now_ms) {
    auto nodes = slurm.nodes();
    if (!nodes) {
        log::warn("prolog gates: {}", nodes.error().describe());
        return;
    }
    std::map<std::string, SlurmNode> by_name;
    for (auto& n : *nodes) {
        by_name.emplace(n.name, std::move(n));
    }
    const auto released = gates.release(by_name, now_ms);
    if (!released.empty()) {
        log::info(
            "prolog gate: released job{} {}{}", released.size() == 1 ? "" : "s", released.front(),
            released.size() == 1 ? "" : " and " + std::to_string(released.size() - 1) + " more");
    }
}

// Writes the status report to a `cloudburst status` connection and closes it. The client
// reads at once; a second at most, so a client that does not read cannot hold the loop.
void answer_status(int fd, const std::string& text) {
    const int flags = ::fcntl(fd, F_GETFL);
    (void)!::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
    const timeval limit{1, 0};
    (void)!::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit);
    std::size_t sent = 0;
    while (sent < text.size()) {
        const ssize_t n = ::send(fd, text.data() + sent, text.size() - sent, MSG_NOSIGNAL);
        if (n <= 0) {
            break;
        }
        sent += static_cast<std::size_t>(n);
    }
    ::close(fd);
}

std::string parent_of(const std::string& path) {
    const auto slash = path.rfind('/');
    return slash == std::string::npos || slash == 0 ? "/" : path.substr(0, slash);
}

}  // namespace

void configure_heap() {
    // Setting the threshold at all also turns off glibc's dynamic adjustment of it.
    ::mallopt(M_MMAP_THRESHOLD, 128 * 1024);
    // The create calls' worker threads (Daemon::create_all) share two arenas, not one each.
    ::mallopt(M_ARENA_MAX, 2);
}

Result<int> run_daemon(const DaemonRunOptions& options) {
    // Before the password is read: no core dump of it, and no other process of our uid (the
    // daemon runs as SlurmUser, as do the hooks) may ptrace us or read /proc/PID/mem.
    ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    configure_heap();
    // Before anything from the config is used: it names directories to create and chown,
    // the socket to unlink, scontrol to run and where the password goes.
    auto config =
        load_chosen_config({options.config_path, options.config_chosen_by}, PasswordUse::k_read);
    if (!config) {
        return config.error();
    }
    for (const std::string& dir : {config->paths.log_dir, parent_of(config->paths.state_db),
                                   parent_of(config->paths.socket), config->paths.spool_dir}) {
        if (auto st = make_directories(dir, 0755); !st) {
            return st.error();
        }
    }
    const auto slurm_uid = lookup_user_id(config->slurm.user).value_or(0);
    // The hooks run as SlurmUser and write here; nobody else may. Run as SlurmUser (the
    // packaged unit), the daemon made the directory itself; run as root, it hands it over.
    ::chmod(config->paths.spool_dir.c_str(), 0700);
    if (::geteuid() == 0) {
        (void)!::chown(config->paths.spool_dir.c_str(), slurm_uid, static_cast<gid_t>(-1));
    }
    log::init({"cloudburstd", config->paths.log_dir + "/cloudburstd.log", config->daemon.log_level,
               true});
    auto lock = InstanceLock::take(config->paths.state_db + ".lock");
    if (!lock) {
        return lock.error();
    }
    auto journal = Journal::open(config->paths.state_db);
    if (!journal) {
        return journal.error();
    }
    auto socket = ControlSocket::listen(config->paths.socket, slurm_uid);
    if (!socket) {
        return socket.error();
    }
    EventLog events;
    if (!config->events.file.empty()) {
        auto opened = EventLog::open(config->events.file,
                                     std::int64_t{config->events.max_size_mb} * 1024 * 1024,
                                     config->events.keep);
        if (!opened) {
            return opened.error();
        }
        events = std::move(*opened);
    }
    std::optional<MetricsServer> metrics;
    if (!config->metrics.listen.empty()) {
        auto server = MetricsServer::listen(config->metrics.listen);
        if (!server) {
            return server.error();
        }
        metrics.emplace(std::move(*server));
    }
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGINT);
    sigprocmask(SIG_BLOCK, &signals, nullptr);
    ::signal(SIGPIPE, SIG_IGN);
    const int sig_fd = ::signalfd(-1, &signals, SFD_CLOEXEC | SFD_NONBLOCK);
    if (sig_fd < 0) {
        return make_error(ErrorKind::k_io, std::string("signalfd: ") + std::strerror(errno));
    }
    // A signal ends the client's retry waits and its request in flight: the pass ends soon
    // and the loop below reads the signal (a pass in retries took tens of seconds to stop).
    CycleCloudOptions cloud_options = cyclecloud_options(*config);
    cloud_options.stop_fd = sig_fd;
    CycleCloudRest cloud(std::move(cloud_options));
    SlurmCli slurm(slurm_cli_options(*config));

    Daemon daemon(*config, cloud, slurm, *journal);
    if (auto st = daemon.load_prices(); !st) {
        return st.error();
    }
    daemon.trust_spool_owners({0, slurm_uid});
    daemon.set_event_log(std::move(events));
    log::info("{} started: cluster '{}' at {}, journal {}", version_line("cloudburstd"),
              config->cyclecloud.cluster, config->cyclecloud.url, config->paths.state_db);
    if (metrics) {
        log::info("metrics: http://{}/metrics", config->metrics.listen);
    }
    const std::int64_t started_ms = wall_ms();
    const auto poll_fast = std::chrono::milliseconds(1000);
    // While prolog gates wait, Slurm's nodes are read this often (scontrol alone, never the
    // cloud): a job starts within this long of its last node registering.
    constexpr std::int64_t k_gate_poll_ms = 250;
    GateTable gates(k_max_waiting_gates, gate_max_wait_ms(*config));
    const auto report = [&]() {
        StatusReport r;
        r.version = version_line("cloudburstd");
        r.config_path = options.config_path;
        r.cluster = config->cyclecloud.cluster;
        r.pid = static_cast<long>(::getpid());
        r.started_ms = started_ms;
        r.now_ms = wall_ms();
        daemon.fill_report(r);
        const CloudCallStats api = cloud.stats();
        r.api_requests = api.requests;
        r.api_retries = api.retries;
        r.api_throttled = api.throttled;
        r.api_paced = api.paced;
        r.gates_waiting = static_cast<long>(gates.size());
        r.gates = gates.waiting(k_max_listed_gates);
        return r;
    };
    const std::function<std::string()> render_metrics = [&]() {
        return render_prometheus(report());
    };
    std::int64_t next_pass_ms = 0;
    std::int64_t last_gate_check_ms = 0;
    bool poked = true;
    bool deferred_pass = false;  // the last intake's pass was left out (see below)
    int failed_passes = 0;       // in a row: the cloud or Slurm could not be read
    bool running = true;
    while (running && (options.stop == nullptr || !options.stop->load())) {
        std::int64_t now = wall_ms();
        if (poked || now >= next_pass_ms) {
            poked = false;
            auto taken = daemon.intake(now);
            if (!taken) {
                log::error("intake: {}", taken.error().describe());
            }
            if (taken && !daemon.intake_wants_pass() && !deferred_pass) {
                // Every request was a resume whose create calls went out just now: a pass
                // would only see the VMs being acquired. The next one comes a poll_fast
                // later; never two in a row left out, so resume calls every second (a
                // ResumeRate) still get a pass every other second.
                deferred_pass = true;
                next_pass_ms = wall_ms() + std::min(poll_fast, config->daemon.sync_period).count();
                continue;
            }
            deferred_pass = false;
            if (auto st = daemon.pass(now); !st) {
                log::error("pass: {}", st.error().describe());
                ++failed_passes;
            } else {
                failed_passes = 0;
            }
            // A pass over 10,000 nodes frees tens of MB. Given back before a long wait (idle:
            // sync_period) and after a pass that changed nodes (a burst's plans, journal
            // writes and create threads leave garbage of their own); kept while busy with
            // nothing changing, when the next pass comes a poll_fast later and builds the same
            // again: had it to fault every page back in, that was 5,000 faults and 70 ms of a
            // 10,000-node pass (bench/scale_bench.sh, issue 16).
            if (!daemon.busy() || daemon.last_pass_changed()) {
                ::malloc_trim(0);
            }
            // Busy: poll fast; while passes fail (API down), back off 1, 2, 4 s... up to
            // sync_period, so an outage is not hammered.
            auto wait = daemon.busy() ? std::min(poll_fast, config->daemon.sync_period)
                                      : config->daemon.sync_period;
            if (failed_passes > 0) {
                wait = std::min(config->daemon.sync_period,
                                poll_fast * (std::int64_t{1} << std::min(failed_passes - 1, 10)));
            }
            now = wall_ms();
            next_pass_ms = now + wait.count();
        }
        if (!gates.empty() && now - last_gate_check_ms >= k_gate_poll_ms) {
            last_gate_check_ms = now;
            release_gates(gates, slurm, now);
        }
        std::int64_t timeout = std::max<std::int64_t>(0, next_pass_ms - now);
        if (!gates.empty()) {
            timeout = std::min(timeout, k_gate_poll_ms);
        }
        std::vector<pollfd> fds{{socket->fd(), POLLIN, 0}, {sig_fd, POLLIN, 0}};
        for (const int fd : gates.fds()) {
            fds.push_back({fd, POLLIN, 0});
        }
        const std::size_t metrics_from = fds.size();
        if (metrics) {
            metrics->expire(now);
            for (const auto& p : metrics->poll_fds()) {
                fds.push_back(p);
            }
            timeout = std::min<std::int64_t>(timeout, k_connection_deadline_ms);
        }
        const int n = ::poll(fds.data(), fds.size(),
                             static_cast<int>(std::min<std::int64_t>(timeout, 1000L * 3600)));
        if (n <= 0) {
            continue;
        }
        if ((fds[1].revents & POLLIN) != 0) {
            signalfd_siginfo info{};
            (void)!::read(sig_fd, &info, sizeof info);
            log::info("signal {} received; stopping", info.ssi_signo);
            running = false;
        }
        for (std::size_t i = 2; i < metrics_from; ++i) {
            if (fds[i].revents != 0) {
                gates.gone(fds[i].fd);  // slurmctld killed the gate: cancelled or requeued
            }
        }
        for (std::size_t i = metrics_from; i < fds.size(); ++i) {
            if (fds[i].revents != 0) {
                metrics->on_ready(fds[i].fd, fds[i].revents, wall_ms(), render_metrics);
            }
        }
        if ((fds[0].revents & POLLIN) != 0) {
            auto drained = socket->drain();
            poked = poked || drained.poked;
            if (!drained.status.empty()) {
                const std::string text = status_json(report());
                for (const int fd : drained.status) {
                    answer_status(fd, text);
                }
            }
            for (auto& [fd, request] : drained.gates) {
                const std::string job = request.job_id;
                if (gates.add(fd, std::move(request), now, [&daemon](const std::string& node) {
                        return daemon.is_cloud_node(node);
                    })) {
                    log::info("prolog gate: job {} waits for its cloud nodes to register", job);
                    last_gate_check_ms = 0;  // look at once: they may be up already
                }
            }
        }
    }
    ::close(sig_fd);
    log::info("cloudburstd stopped");
    return 0;
}

}  // namespace cb
