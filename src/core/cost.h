// What bursting cost: the price file, VM-hours and money from the journal's VM lifetimes
// (core/usage.h) grouped by node array, partition, VM size or Spot, and per job and account
// from Slurm's accounting; and each node array's month against its budget. Pure: files and
// sacct are read by the callers, time is an argument.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/config.h"
#include "core/usage.h"
#include "util/result.h"

namespace cb {

struct Price {
    double hourly = 0;                  // regular (pay-as-you-go or negotiated) rate
    std::optional<double> spot_hourly;  // unset: Spot VMs of this size have no price here
};

// The price file: CSV with a header line `vm_size,region,hourly,spot_hourly`; `region` may be
// `*` (any region); `spot_hourly` may be empty. Lines starting with `#` and blank lines are
// skipped. Sizes compare without case (Azure spells them in either).
class PriceTable {
  public:
    // Errors (k_config) name the line and what is expected there; `source` is the file name.
    static Result<PriceTable> parse(std::string_view text, std::string_view source);
    // The price of `vm_size` in `region`, else in any region (`*`); nullopt when neither is in
    // the file, or when `spot` is asked and the row has no Spot price.
    std::optional<double> hourly(std::string_view vm_size, std::string_view region,
                                 bool spot) const;
    std::size_t size() const { return m_prices.size(); }

  private:
    std::map<std::pair<std::string, std::string>, Price> m_prices;  // (lower size, region)
};

// Maps a node array to its Slurm partition (config.node_array(a).partition).
using PartitionOf = std::function<std::string(const std::string&)>;

enum class CostGrouping { k_nodearray, k_partition, k_vm_size, k_spot, k_node };

std::optional<CostGrouping> cost_grouping_from_string(std::string_view s);

struct CostLine {
    std::string key;  // the group's value ("hpc", "Standard_HB176rs_v4", "spot", ...)
    double vm_hours = 0;
    double cost = 0;  // of the priced hours
    int vms = 0;      // VM lifetimes that overlap the range
    // VM sizes (with " (spot)") that have no price: their hours are in vm_hours, not in cost.
    std::vector<std::string> unpriced;
};

// One line per group value, sorted by key, for the usage inside [from_ms, to_ms).
// `partition_of` maps a node array to its Slurm partition (for k_partition).
std::vector<CostLine> cost_by(const std::vector<VmUsage>& usage, const PriceTable& prices,
                              CostGrouping grouping, std::int64_t from_ms, std::int64_t to_ms,
                              std::int64_t now_ms, const PartitionOf& partition_of);

// A job from Slurm's accounting (`sacct -X -P -n -o JobID,User,Account,Partition,NodeList,
// Start,End` with SLURM_TIME_FORMAT=%s: times in seconds since the epoch).
struct JobRecord {
    std::string id;
    std::string user;
    std::string account;
    std::string partition;
    std::vector<std::string> nodes;
    std::int64_t start_ms = 0;  // 0: not started
    std::int64_t end_ms = 0;    // 0: still running
};

// Parses sacct's lines as above. A line that does not have the seven fields, a node list that
// is not a hostlist, or a time that is not a number (other than "Unknown"/"None") is an
// error (k_slurm) naming the line.
Result<std::vector<JobRecord>> parse_sacct_jobs(std::string_view text);

enum class JobGrouping { k_job, k_account, k_user };

// Cost per job (or account, or user): each job pays for the cloud VMs of its nodes while it
// ran on them, whole VMs (a node shared by several jobs is paid by each; see docs/cost.md).
std::vector<CostLine> job_cost(const std::vector<JobRecord>& jobs,
                               const std::vector<VmUsage>& usage, const PriceTable& prices,
                               JobGrouping grouping, std::int64_t from_ms, std::int64_t to_ms,
                               std::int64_t now_ms);

// The first instant of the calendar month (UTC) that holds `ms`, and of the next one.
std::int64_t month_start_ms(std::int64_t ms);
std::int64_t next_month_start_ms(std::int64_t ms);
// "2027-01-01" for a wall-clock time in ms (UTC).
std::string date_text(std::int64_t ms);

// What a budget counts: one node array's VMs, or those of every node array in a partition.
enum class BudgetScope { k_nodearray, k_partition };

// "node array" or "partition", as messages and the status report name a scope.
std::string_view to_string(BudgetScope scope);
// "nodearray" or "partition": the JSON key and the metric label that name a budget.
std::string_view label_of(BudgetScope scope);

struct Budget {
    BudgetScope scope = BudgetScope::k_nodearray;
    std::string name;  // the node array, or the partition
    double monthly = 0;
};

// The budgets of `config`: each node array's monthly_budget (by array name), then each of
// cost.partition_budgets (by partition name).
std::vector<Budget> monthly_budgets(const Config& config);

struct BudgetState {
    BudgetScope scope = BudgetScope::k_nodearray;
    std::string name;  // the node array, or the partition
    double monthly = 0;
    double spent = 0;     // this calendar month (UTC), priced hours only
    bool warned = false;  // spent >= warn_percent of monthly
    bool exhausted = false;
    std::vector<std::string> unpriced;  // sizes used this month that the price file lacks
};

// Whether the budget of `scope` and `name` counts node array `array`.
bool budget_covers(BudgetScope scope, const std::string& name, const std::string& array,
                   const PartitionOf& partition_of);

// Every budget against this month's usage; a partition budget counts the VMs of each node
// array that `partition_of` puts in it.
std::vector<BudgetState> budget_states(const std::vector<Budget>& budgets,
                                       const std::vector<VmUsage>& usage, const PriceTable& prices,
                                       int warn_percent, std::int64_t now_ms,
                                       const PartitionOf& partition_of);

// For each of `arrays`, the spent budget that stops it, if any: its own before its
// partition's. Arrays no spent budget covers are absent. Pointers into `states`.
std::map<std::string, const BudgetState*> spent_budgets(const std::vector<BudgetState>& states,
                                                        const std::vector<std::string>& arrays,
                                                        const PartitionOf& partition_of);

}  // namespace cb
