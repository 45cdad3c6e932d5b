// What the daemon knows of money: it records each VM's lifetime from every pass's read of the
// cloud (core/usage.h, kept in the journal) and, for each monthly budget (a node array's, or a
// partition's over all its node arrays), stops new VMs for the arrays it covers once the
// month's spend reaches it (an ArrayHealth with `budget`, until the next month), warning first
// at cost.budget_warn_percent.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/cost.h"
#include "core/reconciler.h"
#include "store/journal.h"

namespace cb {

// The price file `path` (cost.prices), read and parsed. Errors: k_config, naming the file (and
// the line).
Result<PriceTable> read_price_file(const std::string& path);

class SpendTracker {
  public:
    explicit SpendTracker(const Config& config);

    // Reads cost.prices when there is a budget (the daemon refuses to start without
    // them: a budget it cannot price would be no budget). Errors: k_config.
    Status load_prices();

    // Records the VM lifetimes that began or ended since the last call (`world` must hold a
    // complete read of the cloud).
    void observe(Journal& journal, const World& world, const std::string& node_prefix);

    // Opens or closes the budget breakers in `health` for the node arrays of `world` (the
    // cloud's, and those the config names), at world.now_ms: a partition budget opens the
    // breaker of every array in the partition. True when it changed anything.
    bool apply_budgets(Journal& journal, const World& world,
                       std::map<std::string, ArrayHealth>& health);

    // The budgets as the last apply_budgets left them (metrics, status).
    const std::vector<BudgetState>& states() const { return m_states; }

  private:
    // Logs each budget's warning and unpriced sizes, once a month.
    void warn(std::int64_t month);

    const Config& m_config;
    std::vector<BudgetState> m_states;
    std::vector<Budget> m_budgets;
    std::optional<PriceTable> m_prices;
    std::vector<VmUsage> m_open;
    bool m_open_loaded = false;
    std::set<std::string> m_warned;  // "<scope> <name> <month start>": warned once a month
};

// The Slurm reason of a node array stopped by the spent budget `state` (its own or its
// partition's, which the reason names).
std::string budget_reason(const BudgetState& state, const std::string& currency,
                          std::int64_t until_ms);

}  // namespace cb
