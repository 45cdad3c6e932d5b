// One snapshot of cloudburstd's state: what `cloudburst status` shows (read over the control
// socket as JSON) and what the metrics endpoint serves (Prometheus text). The daemon fills it;
// the renderers here are pure. Every string in it that CycleCloud or Slurm chose (node array
// names, reasons) is escaped by the renderer that writes it out.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/cost.h"
#include "util/result.h"

namespace cb {

// A Prometheus-style histogram of durations in seconds: counts per bucket (not cumulative;
// the renderer sums them), the last bucket +Inf.
class Histogram {
  public:
    explicit Histogram(std::vector<double> bounds)
        : m_bounds(std::move(bounds)), m_counts(m_bounds.size() + 1, 0) {}
    void observe(double seconds);
    const std::vector<double>& bounds() const { return m_bounds; }
    const std::vector<long>& counts() const { return m_counts; }
    double sum() const { return m_sum; }
    long count() const { return m_count; }

  private:
    std::vector<double> m_bounds;
    std::vector<long> m_counts;
    double m_sum = 0;
    long m_count = 0;
};

// Buckets for calls to CycleCloud (0.05 s to 60 s) and for node boots (5 s to 30 min).
std::vector<double> call_seconds_buckets();
std::vector<double> boot_seconds_buckets();

// A node array that may not be asked for VMs now: backed off (capacity, quota, throttled,
// transient) or with its breaker open (permanent, bootstrap).
// A node range (one VM size of a node array, core/node_range.h) held back.
struct ArrayBlock {
    std::string nodearray;
    std::string kind;    // ErrorKind's name: "capacity", "quota", "permanent", ...
    std::string reason;  // as put in Slurm
    std::int64_t until_ms = 0;
    int failures = 0;
    bool bootstrap = false;
    std::string range;    // the health entry's key: `nodearray` for the array's first size
    std::string vm_size;  // "" when the arrays last read do not name the range
};

struct WaitingGate {
    std::string job;
    std::size_t nodes = 0;
    std::int64_t since_ms = 0;
};

struct StatusReport {
    std::string version;      // version_line("cloudburstd")
    std::string config_path;  // the configuration file the daemon read
    std::string cluster;      // cyclecloud.cluster
    long pid = 0;
    std::int64_t started_ms = 0;
    std::int64_t now_ms = 0;
    std::int64_t last_pass_ms = 0;  // when the last pass started; 0: none yet
    std::int64_t last_pass_duration_ms = 0;
    std::string last_pass_error;  // "" when the last pass read the cloud and Slurm
    long passes = 0;
    long requests = 0;       // hook requests taken from the spool
    long create_calls = 0;   // create calls made (one per node array per pass)
    long nodes_created = 0;  // nodes asked for in them
    long start_calls = 0;
    long shutdown_calls = 0;
    long slurm_updates = 0;
    long orphans_removed = 0;  // orphan VMs shut down after their grace period
    long api_requests = 0;     // HTTP requests to CycleCloud, retries included
    long api_retries = 0;
    long api_throttled = 0;                       // answers 429
    long api_paced = 0;                           // requests held back by our own token buckets
    std::map<std::string, long> errors_by_class;  // failed calls and passes, by ErrorKind name
    // By node array (the journal's nodes, "" for a node of no array), then phase or status.
    std::map<std::string, std::map<std::string, long>> nodes;
    std::map<std::string, std::map<std::string, long>> vms;  // CycleCloud's nodes, not Off
    long creates_in_flight = 0;                              // nodes in phase "creating"
    std::vector<ArrayBlock> blocked;
    std::vector<WaitingGate> gates;  // the first k_max_listed_gates of them
    long gates_waiting = 0;
    Histogram create_call_seconds{call_seconds_buckets()};
    Histogram boot_seconds{boot_seconds_buckets()};          // create call -> VM with address
    Histogram registration_seconds{boot_seconds_buckets()};  // address -> slurmd registered
    Histogram first_job_seconds{boot_seconds_buckets()};     // registered -> first job on it
    std::string currency;
    std::vector<BudgetState> budgets;  // every budget (node arrays, partitions), this month
};

// Gates listed by name in a report (all are counted): the answer stays small.
constexpr std::size_t k_max_listed_gates = 50;
// The largest status answer the CLI reads; the daemon's is far smaller.
constexpr std::size_t k_max_status_bytes = std::size_t{1} << 20;

// The control socket's answer to "status": one JSON object (docs/operations.md), newline
// terminated. Invalid UTF-8 from CycleCloud is replaced, never passed on.
std::string status_json(const StatusReport& report);

// The Prometheus text exposition format (version 0.0.4) of the report: every metric of
// docs/operations.md, each with HELP and TYPE.
std::string render_prometheus(const StatusReport& report);

// A label value as Prometheus reads it: backslash, double quote and newline escaped; other
// control bytes and bytes of invalid UTF-8 become '?'.
std::string prometheus_label(std::string_view value);

// The control socket's requests (one line each, at most k_max_control_line bytes):
// "poke" (or nothing: older hooks) asks for a pass, "wait JOB HOSTLIST" is a prolog gate,
// "status" asks for a StatusReport. Anything else is k_unknown and gets no answer.
enum class ControlRequest { k_poke, k_wait, k_status, k_unknown };
ControlRequest classify_control_line(std::string_view line);

}  // namespace cb
