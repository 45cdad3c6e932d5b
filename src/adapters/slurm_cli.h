// SlurmCli: the Scheduler port over Slurm's own commands. Runs scontrol by absolute path
// with execve (no shell, no PATH), reads all nodes in one call per pass, and updates nodes
// in batches of at most k_max_batch names. Works from the fixed one-line formats of
// `scontrol show node -o` / `scontrol show partition -o`, which 22.05 to 25.x share, instead
// of libslurm (its ABI changes every release) or --json (its shape changes every release).
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "ports/scheduler.h"

namespace cb {

struct SlurmCliOptions {
    std::string scontrol = "/usr/bin/scontrol";
    std::string slurm_conf;  // exported as SLURM_CONF when not empty
    std::chrono::milliseconds timeout{30000};
};

class SlurmCli final : public Scheduler {
  public:
    static constexpr std::size_t k_max_batch = 100;

    explicit SlurmCli(SlurmCliOptions options) : m_options(std::move(options)) {}

    Result<std::vector<SlurmNode>> nodes() override;
    Result<std::vector<SlurmPartition>> partitions() override;
    // Checks the update (check_node_update), then splits it into batches of k_max_batch;
    // stops at the first failing batch (k_slurm, with scontrol's message). The reason is
    // passed without control characters.
    Status update_nodes(const NodeUpdate& update) override;

    // Slurm's accounting of the jobs that ran in [from_ms, to_ms): sacct's lines in the shape
    // parse_sacct_jobs (core/cost.h) reads, run beside scontrol. Errors: k_slurm with sacct's
    // message (accounting off: "Slurm accounting storage is disabled").
    Result<std::string> accounting(std::int64_t from_ms, std::int64_t to_ms) const;

    // The argv of each scontrol call an update makes (exposed for tests).
    std::vector<std::vector<std::string>> update_commands(const NodeUpdate& update) const;

  private:
    Result<std::string> run_scontrol(const std::vector<std::string>& args) const;
    SlurmCliOptions m_options;
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

}  // namespace cb
