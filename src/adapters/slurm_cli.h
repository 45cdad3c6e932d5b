// SlurmCli: the Scheduler port over Slurm's own commands. Runs scontrol by absolute path
// with execve (no shell, no PATH), reads all nodes in one call per pass, and updates nodes
// in few batches (k_max_batch, k_max_argument_bytes). Works from the fixed one-line formats of
// `scontrol show node -o` / `scontrol show partition -o`, which 22.05 to 25.x share, instead
// of libslurm (its ABI changes every release) or --json (its shape changes every release).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/dynamic_nodes.h"
#include "ports/scheduler.h"

namespace cb {

struct SlurmCliOptions {
    std::string scontrol = "/usr/bin/scontrol";
    std::string slurm_conf;  // exported as SLURM_CONF when not empty
    std::chrono::milliseconds timeout{30000};
};

// One job as squeue prints it (`cloudburst why JOBID`); Slurm's words, without control
// characters.
struct SlurmJob {
    std::string id;     // "6", or "6_1" for an array task
    std::string state;  // "PENDING", "CONFIGURING", "RUNNING", ...
    std::string partition;
    std::string nodes;      // a hostlist; empty while pending
    std::string num_nodes;  // how many nodes it has or asks for
    std::string reason;     // why it pends ("Resources", "Priority", "BeginTime", ...) or "None"
};

class SlurmCli final : public Scheduler {
  public:
    // Names per `scontrol update`. A call costs slurmctld about the same for 2,500 names as
    // for 100 (0.12 s on 22.05 with 10,000 nodes, bench/scale_bench.sh), so few, large calls:
    // up to k_max_batch names, as many as keep each argument (the names, the addresses, the
    // host names, each joined by commas) within k_max_argument_bytes, half of Linux's limit
    // on one argument (MAX_ARG_STRLEN, 128 KiB). 10,000 addresses take 2 calls (10 at the
    // 1,000 names a call of before); names of 63 characters, about 1,000 a call.
    static constexpr std::size_t k_max_batch = 5000;
    static constexpr std::size_t k_max_argument_bytes = std::size_t{64} * 1024;

    explicit SlurmCli(SlurmCliOptions options) : m_options(std::move(options)) {}

    Result<std::vector<SlurmNode>> nodes() override;
    Result<std::vector<SlurmPartition>> partitions() override;
    // Checks the update (check_node_update), then splits it into batches (see k_max_batch);
    // stops at the first failing batch (k_slurm, with scontrol's message). The reason is
    // passed without control characters.
    Status update_nodes(const NodeUpdate& update) override;

    // Slurm's accounting of the jobs that ran in [from_ms, to_ms): sacct's lines in the shape
    // parse_sacct_jobs (core/cost.h) reads, run beside scontrol. Errors: k_slurm with sacct's
    // message (accounting off: "Slurm accounting storage is disabled").
    Result<std::string> accounting(std::int64_t from_ms, std::int64_t to_ms) const;

    // The job `job_id` as squeue shows it (run beside scontrol; it lists a job until
    // MinJobAge after it ended); nullopt when Slurm does not know it. Errors: k_slurm.
    Result<std::optional<SlurmJob>> job(std::int64_t job_id) const;

    // Every node as `cloudburst scale` compares it with a dynamic range's spec
    // (core/dynamic_nodes.h). Errors: k_slurm.
    Result<std::vector<ExistingNode>> node_specs() const;

    // `scontrol create NodeName=<hostlist> <fields>` (Slurm's dynamic nodes). The hostlist
    // must be plain node names and each field one Key=value word, else k_invalid_input and
    // nothing is run. Slurm 22.05 exits 0 even when it created nothing (a full node table,
    // a name it has): read the nodes back. Errors: k_slurm with scontrol's message.
    Status create_nodes(const std::string& hostlist, const std::vector<NodeField>& fields);
    // Its argv after scontrol (exposed for tests).
    static std::vector<std::string> create_command(const std::string& hostlist,
                                                   const std::vector<NodeField>& fields);

    // The argv of each scontrol call an update makes (exposed for tests).
    std::vector<std::vector<std::string>> update_commands(const NodeUpdate& update) const;

  private:
    // scontrol's output; with `on_out`, its output goes there as it comes instead.
    Result<std::string> run_scontrol(
        const std::vector<std::string>& args,
        const std::function<void(std::string_view)>& on_out = {}) const;
    SlurmCliOptions m_options;
    std::size_t m_nodes_last = 0;  // how many nodes the last nodes() read
};

// The last check before names and addresses become scontrol arguments: every name a plain node
// name (no hostlist that would touch other nodes), every NodeAddr an IP address or the node's
// own name (the reset), every NodeHostName a plain name or an IP address, the state a word of
// capitals. Errors: k_invalid_input naming the value (escaped); k_internal when addresses do
// not pair with names.
Status check_node_update(const NodeUpdate& update);

// Parsers for scontrol's one-line output, exposed for tests and fuzzing. Unknown keys and
// unknown state flags are ignored; a line without NodeName=/PartitionName= is an error
// (k_slurm) naming the line.
SlurmNodeState parse_node_state(std::string_view text);
Result<std::vector<SlurmNode>> parse_scontrol_nodes(std::string_view text);
Result<std::vector<SlurmPartition>> parse_scontrol_partitions(std::string_view text);
// `scontrol show node -o` as ExistingNode records ("(null)" values as "").
Result<std::vector<ExistingNode>> parse_scontrol_node_specs(std::string_view text);
// squeue's lines in the format SlurmCli::job asks for ("%i|%T|%P|%D|%N|%r"): the first job;
// nullopt for no line. A line with fewer fields is an error (k_slurm).
Result<std::optional<SlurmJob>> parse_squeue_job(std::string_view text);

}  // namespace cb
