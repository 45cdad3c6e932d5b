// cloudburstd: takes hook requests from the spool, journals them, and runs reconcile passes
// (core/reconciler.h) against the cloud and Slurm, on every poke and event and at least every
// daemon.sync_period. One instance per state database (a lock file next to it).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <string>

#include "core/config.h"
#include "core/reconciler.h"
#include "daemon/event_log.h"
#include "daemon/spend.h"
#include "daemon/status_report.h"
#include "ports/cloud.h"
#include "ports/scheduler.h"
#include "store/journal.h"
#include "store/spool.h"
#include "util/name_set.h"

namespace cb {

// Counters for one daemon's life (`cloudburst status`, the metrics).
struct DaemonStats {
    long passes = 0;
    long requests = 0;
    long create_calls = 0;
    long nodes_created = 0;  // nodes asked for in create calls
    long start_calls = 0;
    long shutdown_calls = 0;
    long slurm_updates = 0;
    long orphans_removed = 0;
    long errors = 0;
    std::map<std::string, long> errors_by_class;  // by ErrorKind name
    std::int64_t last_pass_ms = 0;
    std::int64_t last_pass_duration_ms = 0;
    std::string last_pass_error;
    // By node array, then phase (the journal's intents) or CycleCloud status (VMs not Off),
    // as the last pass left them.
    std::map<std::string, std::map<std::string, long>> nodes;
    std::map<std::string, std::map<std::string, long>> vms;
    Histogram create_call_seconds{call_seconds_buckets()};
    Histogram boot_seconds{boot_seconds_buckets()};
    Histogram registration_seconds{boot_seconds_buckets()};
    Histogram first_job_seconds{boot_seconds_buckets()};  // registered -> Slurm gives it a job
};

class Daemon {
  public:
    Daemon(Config config, Cloud& cloud, Scheduler& scheduler, Journal& journal);

    // Moves every complete spool request into the journal (then deletes its file). A request
    // whose hostlist does not parse is journaled as an error and removed. A spool file that is
    // refused (not a regular file of root or SlurmUser with one link, larger than
    // k_max_hook_request_bytes, or not a request) is logged as an error, journaled for
    // `cloudburst why` and renamed to "<name>.refused" for an operator. Never blocks on a
    // file (see Spool::pending).
    Status intake(std::int64_t now_ms);

    // False when the last intake took only resume requests whose nodes all got their create
    // calls at once: a pass right after it would see their VMs still being acquired, so the
    // loop may leave it for later (it runs the next one a poll_fast after).
    bool intake_wants_pass() const { return m_intake_wants_pass; }

    // One reconcile pass: snapshot the cloud and Slurm, decide, act, journal.
    Status pass(std::int64_t now_ms);

    // True while any node is on its way up or down (the loop then polls faster).
    bool busy() const { return m_busy; }
    // True when the last pass changed any node's intent.
    bool last_pass_changed() const { return m_last_pass_changed; }
    // True when Slurm listed `name` as a CLOUD node at the last read (the prolog gate's test).
    bool is_cloud_node(const std::string& name) const { return m_slurm_cloud.contains(name); }
    const DaemonStats& stats() const { return m_stats; }
    // The nodes' intents as journaled (read from the journal once, kept since).
    const std::map<std::string, NodeIntent>& intents() const { return m_intents; }
    // Reads the price file when a node array has a budget (see SpendTracker::load_prices).
    Status load_prices() { return m_spend.load_prices(); }
    const std::map<std::string, ArrayHealth>& health() const { return m_health; }
    // The daemon's part of a status report: counters, nodes, VMs, blocked node arrays.
    void fill_report(StatusReport& report) const;
    // Where operations events go (`[events] file`); none until set.
    void set_event_log(EventLog log) { m_events = std::move(log); }
    // Spool files owned by anyone else are refused (see Spool::trust_only).
    void trust_spool_owners(std::vector<uid_t> owners) { m_spool.trust_only(std::move(owners)); }

  private:
    Status pass_once(std::int64_t now_ms);
    Result<World> snapshot(std::int64_t now_ms);
    // Journals the plan (unless `journaled`: the caller wrote it already), then carries it
    // out: Slurm updates, create calls (together, see create_all), starts, shutdowns; and the
    // create calls' outcomes, journaled before anything acts on them.
    void execute(Plan& plan, const World& world, bool journaled = false);
    // One create call per batch, up to the cloud's max_concurrent_calls() at once; the
    // results in the batches' order. Counts and logs each call.
    std::vector<Result<CreateResult>> create_all(const std::vector<CreateBatch>& batches,
                                                 std::int64_t now_ms);
    // The create calls for `requested` (nodes of `changed`, just asked up) that had no VM at
    // the last snapshot, planned without waiting for the next pass (see start_requests);
    // `w` gets the world the plan was made in (its intents empty: nothing to create here).
    Plan plan_at_once(const std::vector<NodeIntent>& changed,
                      const std::vector<std::string>& requested, std::int64_t now_ms, World& w);
    // Reads which job asked for which of `names` from a resume request's SLURM_RESUME_FILE
    // and journals it (with the job's other cloud nodes in `intents` that are wanted up, when
    // Slurm names the whole allocation); a file that cannot be read is logged (the nodes come
    // up anyway). Errors: the journal's.
    Status take_jobs(const std::string& resume_file, const std::vector<std::string>& names,
                     const std::map<std::string, NodeIntent>& intents, std::int64_t now_ms);
    ReconcileSettings settings() const;
    // The node array of node range `range` (core/node_range.h), as far as the arrays last
    // read from CycleCloud tell; `range` itself when they do not.
    std::string array_of_range(const std::string& range) const;
    void log_health_changes(const std::map<std::string, ArrayHealth>& next);
    void reset_array(const std::string& array);
    void forget_retries(const World& world, const Plan& plan, std::int64_t now_ms);
    void fail_waiting_nodes(const Error& error, std::int64_t now_ms);
    Status read_slurm_cloud_nodes();
    // Reads the journal's intents into m_intents, the first time.
    Status load_intents();
    // Runs the part of `update` that names Slurm's cloud nodes (reading them again once per
    // plan, `refreshed`, when a name is missing); logs the names it leaves out.
    void update_slurm(const NodeUpdate& update, bool& refreshed);
    void refuse_spool_file(const RefusedSpoolFile& refused, std::int64_t now_ms);
    void count_error(const Error& error);
    // Phase changes of `plan` against `world`: events, histograms, orphans removed.
    void observe_changes(const Plan& plan, const World& world);
    void count_nodes(const World& world);
    // Observes first_job_seconds for the registered nodes Slurm now shows running a job.
    void observe_first_jobs(const World& world);
    void write_events(const std::vector<OpsEvent>& events);

    Config m_config;
    Cloud& m_cloud;
    Scheduler& m_scheduler;
    Journal& m_journal;
    Spool m_spool;
    std::map<std::string, NodeArray> m_arrays;
    std::int64_t m_arrays_fetched_ms = 0;
    std::map<std::string, ArrayHealth> m_health;         // backoff and breakers, by node array
    std::map<std::string, BootstrapStreak> m_bootstrap;  // VMs that never registered, by array
    // The names of the VMs the last snapshot saw (any status but Off); empty before the first.
    NameSet m_vms_seen;
    // The nodes Slurm listed as CLOUD when last read: the only ones we ever update.
    NameSet m_slurm_cloud;
    bool m_cloud_ok = false;        // the last pass's snapshot read the node list
    std::int64_t m_create_seq = 0;  // makes each create call's requestId unique
    bool m_busy = false;
    bool m_last_pass_changed = false;
    bool m_intake_wants_pass = true;
    // Refused spool files that could not be renamed, already logged and journaled.
    std::map<std::string, std::string> m_reported_bad;
    DaemonStats m_stats;
    std::map<std::string, std::int64_t> m_retry;  // `cloudburst retry` nodes -> when asked
    SpendTracker m_spend;                         // VM lifetimes and budgets; refers to m_config
    EventLog m_events;
    // The journal's intents: read from it once (load_intents), then changed with every write.
    std::map<std::string, NodeIntent> m_intents;
    bool m_intents_loaded = false;
    // Nodes whose slurmd registered and that have had no job yet -> when they registered.
    std::map<std::string, std::int64_t> m_awaiting_job;
};

// The log lines for a pass's events: one per distinct message, naming its nodes as a hostlist,
// so that a resume of 10,000 nodes logs a few lines, not 10,000 (the journal keeps every
// node's own event). Messages that differ only per node (an address: NodeEvent::summary)
// share one line without it when more than four nodes have them.
std::vector<std::string> event_log_lines(const std::vector<NodeEvent>& events);

// Where the daemon keeps its node-array health (backoff, breakers) for `cloudburst buckets`.
std::string health_file_path(const Config& config);
// What that file says is in force at `now_ms` (entries whose backoff is over, but a bootstrap
// breaker waiting for its probe, are kept); empty when there is none or it cannot be read.
std::map<std::string, ArrayHealth> read_health_file(const Config& config, std::int64_t now_ms);

// The heap of a long-running process that reads 10,000-node lists every pass: blocks of
// 128 KiB and more (a 12 MB response body, a vector of nodes) are mapped on their own and
// given back when freed. glibc's default raises that threshold to the largest block ever
// freed, so from the second pass on the body was carved from the heap and stayed resident,
// under everything the rest of the pass built (the peak grew by about 10 MB). run_daemon
// calls it first; the benchmarks call it too.
void configure_heap();

struct DaemonRunOptions {
    std::string config_path;
    std::string config_chosen_by;       // the environment variable that chose config_path, if any
    std::atomic<bool>* stop = nullptr;  // set to stop the loop (tests); signals also stop it
};

// The whole program: load config, take the lock, open journal and socket, loop until
// SIGTERM/SIGINT. Returns the exit code.
Result<int> run_daemon(const DaemonRunOptions& options);

}  // namespace cb
