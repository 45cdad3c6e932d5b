// The configuration model: what /etc/cloudburst/cloudburst.toml says, with every default
// filled in. Plain values; the file format, the key table and the checks live in
// config_schema.h and config_loader.h, so code that only reads settings includes just this.
//
// Defaults here are the documented ones (docs/configuration.md is generated from the key
// table, which reads them from a default-constructed Config).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/placement.h"
#include "util/log.h"

namespace cb {

// Every duration in the configuration; written in the file as "15s", "10m", "1h30m".
using Duration = std::chrono::milliseconds;

// What suspending a node does to its VM.
enum class ShutdownPolicy {
    k_terminate,   // delete the VM: no cost while powered down, a full boot on resume
    k_deallocate,  // keep the disk: small storage cost, faster and quota-friendly resume
};

struct CycleCloudConfig {
    std::string url;  // required; "https://host[:port][/path]"
    std::string cluster;
    std::string username;
    // The API password: inline in the file, or read from password_file by load_config (with
    // PasswordUse::k_read). Registered with log::register_secret; never print it.
    std::string password;
    std::string password_file;  // empty: the password is inline
    std::string ca_bundle;      // empty: the system's CA certificates
    bool verify_tls = true;
    // CycleCloud's public key, pinned (libcurl's "sha256//BASE64", several joined by ';'):
    // when set, the key is the trust anchor instead of a CA and the host name. Empty: not
    // pinned.
    std::string tls_pin;
    // Allows an http:// URL to a host other than this machine: the password then crosses the
    // network in clear text with every request. For labs only.
    bool allow_insecure_http = false;
    Duration connect_timeout = std::chrono::seconds(10);
    Duration request_timeout = std::chrono::seconds(60);
    // The largest answer taken from CycleCloud, in MiB: a 10,000-node list at 13 KB a node.
    int max_response_mb = 128;
    // Calls to CycleCloud in flight at once, each on its own connection.
    int max_connections = 4;
};

struct SlurmConfig {
    std::string bin_dir = "/usr/bin";  // scontrol, sinfo and squeue are run from here
    std::string user = "slurm";        // SlurmUser: runs the hooks, may own the config
    std::string conf_dir = "/etc/slurm";
    std::string generated_conf =
        "/etc/slurm/cloudburst.conf";                    // default: <conf_dir>/cloudburst.conf
    Duration suspend_time = std::chrono::minutes(5);     // default for every node array
    Duration resume_timeout = std::chrono::minutes(30);  // default for every node array
    std::string onprem_nodes;  // hostlist of the site's own nodes, for hybrid partitions
    // Cloud nodes kept up once they are up, each of them (`cloudburst keep-alive NODES`);
    // a hostlist. Counts per node array are nodearrays.<n>.keep_alive.
    std::string keep_alive_nodes;
    // The site's own PrologSlurmctld, which cloudburst-prolog runs first on Slurm before 24.05
    // (one PrologSlurmctld line only there); empty: none.
    std::string prolog_chain;
};

struct PathsConfig {
    std::string spool_dir = "/var/spool/cloudburst";
    std::string state_db = "/var/lib/cloudburst/state.db";
    std::string log_dir = "/var/log/cloudburst";
    std::string socket = "/run/cloudburst/cloudburstd.sock";
};

struct DaemonConfig {
    Duration sync_period = std::chrono::seconds(15);
    Duration orphan_grace = std::chrono::minutes(5);
    log::Level log_level = log::Level::k_info;
};

// How long a bucket (node array + VM size) is avoided after a capacity, quota or throttling
// failure: initial, then multiplied by factor on each further failure, at most max.
struct BackoffConfig {
    Duration initial = std::chrono::minutes(1);
    Duration max = std::chrono::minutes(30);
    double factor = 2.0;
    // Nodes of one array in a row that get a VM but never register before the array is
    // stopped (the bootstrap breaker); 0: never.
    int bootstrap_failures = 5;
};

// What VMs cost, for `cloudburst cost` and budgets (docs/cost.md).
struct CostConfig {
    std::string prices;            // the price file (CSV); empty: no prices, no budgets
    std::string currency = "USD";  // printed beside amounts; the price file's unit
    int budget_warn_percent = 80;  // a budget's warning, in percent of it
    // Monthly budgets of Slurm partitions, "PARTITION=AMOUNT" each (parse_partition_budget):
    // the spend of every node array in the partition counts against it.
    std::vector<std::string> partition_budgets;
};

// The Prometheus endpoint (docs/operations.md): off unless `listen` is set.
struct MetricsConfig {
    std::string listen;  // "127.0.0.1:9101": a loopback address and a port
};

// The operations event file: one JSON line per event, rotated by size (docs/operations.md).
struct EventsConfig {
    std::string file;      // empty: no event file
    int max_size_mb = 64;  // the file is rotated before it grows past this
    int keep = 3;          // rotated files kept: FILE.1 (newest) ... FILE.<keep>
};

// Settings for one CycleCloud node array. Arrays the file does not name get the defaults
// (see Config::node_array).
struct NodeArrayConfig {
    std::string name;
    std::string partition;  // default: the node array's name
    // A partition that lists the on-prem nodes and this array's nodes together (empty: none).
    std::string hybrid_partition;
    int weight = 100;       // Slurm Weight; on-prem nodes default to 1, so cloud nodes go last
    int dampen_memory = 5;  // percent of the VM's memory kept from Slurm's RealMemory...
    int dampen_memory_min_mb = 1024;     // ...but at least this many MB
    std::optional<int> gpu_count;        // unset: what CycleCloud reports for the VM size
    std::optional<int> def_cpu_per_gpu;  // the partition's DefCpuPerGPU; unset: Slurm's default
    std::vector<std::string> features;
    int keep_alive = 0;         // nodes of this array that are never suspended once up
    Duration suspend_time{};    // default: slurm.suspend_time
    Duration resume_timeout{};  // default: slurm.resume_timeout
    ShutdownPolicy shutdown = ShutdownPolicy::k_terminate;
    // Placement groups for MPI (core/placement.h); unset: partition when CycleCloud's
    // configuration of the array has slurm.hpc = true, else none.
    std::optional<Placement> placement;
    // Spend per calendar month (UTC, in cost.currency) after which no new VMs are made for the
    // array until the next month; unset: no budget.
    std::optional<double> monthly_budget;
    // More `Key=value` options for this array's NodeName= line and for its partition's
    // PartitionName= line, as written; only the keys core/slurm_options.h allows.
    std::vector<std::string> node_options;
    std::vector<std::string> partition_options;
};

struct Config {
    CycleCloudConfig cyclecloud;
    SlurmConfig slurm;
    PathsConfig paths;
    DaemonConfig daemon;
    BackoffConfig backoff;
    CostConfig cost;
    MetricsConfig metrics;
    EventsConfig events;
    std::vector<NodeArrayConfig> node_arrays;  // the arrays the file names, sorted by name

    // The settings for node array `name`: those from the file, or the defaults.
    NodeArrayConfig node_array(std::string_view name) const;
    // The largest ResumeTimeout of any node array (the default included): how long any
    // job's cloud nodes may take to come up.
    Duration longest_resume_timeout() const;
};

// One item of cost.partition_budgets.
struct PartitionBudget {
    std::string partition;
    double monthly = 0;
};

// "hpc=500" -> {hpc, 500}: a partition name (letters, digits, '.', '_', '-'), '=', and an
// amount above 0 and at most 1e9 in plain decimal ("500", "1250.50"); nullopt otherwise.
std::optional<PartitionBudget> parse_partition_budget(std::string_view item);

// The host of an http:// or https:// URL, without user, port or IPv6 brackets ("" if none).
std::string url_host(std::string_view url);

// Whether `text` is one or more pinned public keys in libcurl's form, joined by ';': each
// "sha256//" and the base64 of a SHA-256 (43 characters and '=').
bool is_tls_pin(std::string_view text);

// localhost, 127.0.0.0/8 and ::1: a connection to them never leaves this machine.
bool is_loopback_host(std::string_view host);

// Why cyclecloud.url may not be used as configured, or "" if it may: an http:// URL to a host
// other than this machine, unless allow_insecure_http is set, would send the password across
// the network in clear text.
std::string cleartext_url_refusal(const CycleCloudConfig& cc);

// The warning to print loudly wherever the configuration is checked (`config check`,
// `doctor`, `init`) when the password may be read or collected on the way to CycleCloud (an
// allowed http:// URL to another host, or verify_tls = false), with what to do instead; ""
// when there is nothing to warn about.
std::string transport_warning(const CycleCloudConfig& cc);

}  // namespace cb
