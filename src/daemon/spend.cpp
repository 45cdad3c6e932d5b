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
        return make_error(ErrorKind::k_config, "budgets need 'cost.prices' (the price file)");
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

bool SpendTracker::apply_budgets(Journal& journal, const World& world,
                                 std::map<std::string, ArrayHealth>& health) {
    if (m_budgets.empty() || !m_prices) {
        return false;
    }
    const std::int64_t now_ms = world.now_ms;
    const std::int64_t month = month_start_ms(now_ms);
    auto usage = journal.usage_between(month, now_ms + 1);
    if (!usage) {
        log::warn("budgets not checked: {}", usage.error().describe());
        return false;
    }
    const PartitionOf partition_of = [this](const std::string& array) {
        return m_config.node_array(array).partition;
    };
    m_states = budget_states(m_budgets, *usage, *m_prices, m_config.cost.budget_warn_percent,
                             now_ms, partition_of);
    warn(month);

    std::set<std::string> names;
    for (const auto& [name, array] : world.arrays) {
        names.insert(name);
    }
    for (const auto& a : m_config.node_arrays) {
        names.insert(a.name);
    }
    const auto spent =
        spent_budgets(m_states, std::vector<std::string>(names.begin(), names.end()), partition_of);
    bool changed = false;
    for (const auto& [array, state] : spent) {
        if (const auto it = health.find(array); it != health.end() && it->second.budget) {
            continue;
        }
        ArrayHealth h;
        h.kind = ErrorKind::k_quota;
        h.budget = true;
        h.failures = 1;
        h.until_ms = next_month_start_ms(now_ms);
        h.reason = budget_reason(*state, m_config.cost.currency, h.until_ms);
        health[array] = h;
        changed = true;
    }
    // A new month: the spend starts again.
    for (auto it = health.begin(); it != health.end();) {
        if (it->second.budget && !spent.contains(it->first)) {
            it = health.erase(it);
            changed = true;
        } else {
            ++it;
        }
    }
    return changed;
}

void SpendTracker::warn(std::int64_t month) {
    const std::string& currency = m_config.cost.currency;
    for (const auto& state : m_states) {
        const std::string what = fmt::format("{} {}", to_string(state.scope), state.name);
        if (!state.unpriced.empty() &&
            m_warned.insert(what + " unpriced " + std::to_string(month)).second) {
            log::warn(
                "{}: the price file has no price for {}; its budget counts those VMs as "
                "free",
                what, fmt::join(state.unpriced, ", "));
        }
        if (state.warned && !state.exhausted &&
            m_warned.insert(what + " " + std::to_string(month)).second) {
            log::warn("{}: {:.2f} {} spent this month, {}% of its budget of {:.2f}", what,
                      state.spent, currency, static_cast<int>(state.spent * 100 / state.monthly),
                      state.monthly);
        }
    }
}

std::string budget_reason(const BudgetState& state, const std::string& currency,
                          std::int64_t until_ms) {
    return fmt::format(
        "cloudburst: budget: {} {} spent {:.2f} {} of its monthly budget of {:.2f} {}; "
        "no new VMs before {} (UTC)",
        to_string(state.scope), state.name, state.spent, currency, state.monthly, currency,
        date_text(until_ms));
}

}  // namespace cb
