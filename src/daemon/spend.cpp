#include "daemon/spend.h"

#include <fmt/format.h>

#include "util/files.h"
#include "util/log.h"

namespace cb {

namespace {

// A price file of 10,000 sizes and regions is under 1 MiB.
constexpr std::size_t k_max_price_file_bytes = std::size_t{4} << 20;

}  // namespace

Result<PriceTable> read_price_file(const std::string& path) {
    auto text = read_file(path, k_max_price_file_bytes);
    if (!text) {
        return Error{ErrorKind::k_config, text.error().message, text.error().context}.with_context(
            "reading the price file (cost.prices)");
    }
    return PriceTable::parse(*text, path);
}

SpendTracker::SpendTracker(const Config& config)
    : m_config(config), m_budgets(monthly_budgets(config)) {}

Status SpendTracker::load_prices() {
    if (m_budgets.empty()) {
        return ok_status();
    }
    const std::string& path = m_config.cost.prices;
    if (path.empty()) {
        return make_error(ErrorKind::k_config,
                          "node array budgets need 'cost.prices' (the price file)");
    }
    auto table = read_price_file(path);
    if (!table) {
        return table.error();
    }
    m_prices = std::move(*table);
    return ok_status();
}

void SpendTracker::observe(Journal& journal, const World& world, const std::string& node_prefix) {
    if (!m_open_loaded) {
        auto open = journal.open_usage();
        if (!open) {
            log::warn("{}", open.error().describe());
            return;
        }
        m_open = std::move(*open);
        m_open_loaded = true;
    }
    const UsageChanges changes =
        usage_changes(m_open, world.cloud, world.arrays, node_prefix, world.now_ms);
    if (changes.empty()) {
        return;
    }
    if (auto st = journal.save_usage(changes); !st) {
        log::warn("{}", st.error().describe());
        return;
    }
    // The new records' ids come from the journal: read the open ones again (a few per VM).
    m_open_loaded = false;
}

bool SpendTracker::apply_budgets(Journal& journal, std::map<std::string, ArrayHealth>& health,
                                 std::int64_t now_ms) {
    if (m_budgets.empty() || !m_prices) {
        return false;
    }
    const std::int64_t month = month_start_ms(now_ms);
    auto usage = journal.usage_between(month, now_ms + 1);
    if (!usage) {
        log::warn("budgets not checked: {}", usage.error().describe());
        return false;
    }
    bool changed = false;
    m_states =
        budget_states(m_budgets, *usage, *m_prices, m_config.cost.budget_warn_percent, now_ms);
    for (const auto& state : m_states) {
        const auto it = health.find(state.nodearray);
        const bool open = it != health.end() && it->second.budget;
        if (!state.unpriced.empty() &&
            m_warned.insert(state.nodearray + " unpriced " + std::to_string(month)).second) {
            log::warn(
                "node array {}: the price file has no price for {}; its budget counts "
                "those VMs as free",
                state.nodearray, fmt::join(state.unpriced, ", "));
        }
        if (state.exhausted && !open) {
            ArrayHealth h;
            h.kind = ErrorKind::k_quota;
            h.budget = true;
            h.failures = 1;
            h.until_ms = next_month_start_ms(now_ms);
            h.reason = budget_reason(state, m_config.cost.currency, h.until_ms);
            health[state.nodearray] = h;
            changed = true;
        } else if (!state.exhausted && open) {
            health.erase(it);  // a new month, or a larger budget
            changed = true;
        }
        if (state.warned && !state.exhausted &&
            m_warned.insert(state.nodearray + " " + std::to_string(month)).second) {
            log::warn("node array {}: {:.2f} {} spent this month, {}% of its budget of {:.2f}",
                      state.nodearray, state.spent, m_config.cost.currency,
                      static_cast<int>(state.spent * 100 / state.monthly), state.monthly);
        }
    }
    return changed;
}

std::string budget_reason(const BudgetState& state, const std::string& currency,
                          std::int64_t until_ms) {
    return fmt::format(
        "cloudburst: budget: node array {} spent {:.2f} {} of its monthly budget of {:.2f} {}; "
        "no new VMs before {} (UTC)",
        state.nodearray, state.spent, currency, state.monthly, currency, date_text(until_ms));
}

}  // namespace cb
