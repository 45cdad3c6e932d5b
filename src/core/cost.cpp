#include "core/cost.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <set>

#include "util/hostlist.h"
#include "util/sanitize.h"
#include "util/text.h"

namespace cb {

namespace {

constexpr double k_ms_per_hour = 3600.0 * 1000.0;

std::vector<std::string_view> split(std::string_view line, char sep) {
    std::vector<std::string_view> out;
    std::size_t start = 0;
    for (;;) {
        const auto at = line.find(sep, start);
        out.push_back(line.substr(start, at == std::string_view::npos ? at : at - start));
        if (at == std::string_view::npos) {
            return out;
        }
        start = at + 1;
    }
}

std::optional<double> parse_price(std::string_view text) {
    double v = 0;
    const auto* end = text.data() + text.size();
    const auto [p, ec] = std::from_chars(text.data(), end, v);
    if (ec != std::errc() || p != end || !std::isfinite(v) || v < 0) {
        return std::nullopt;
    }
    return v;
}

bool is_size_or_region(std::string_view s) {
    return !s.empty() && s.size() <= 64 && is_plain_name(s);
}

std::string spot_label(const VmUsage& u) {
    return u.spot ? u.machine_type + " (spot)" : u.machine_type;
}

void add_unpriced(CostLine& line, const VmUsage& u) {
    const std::string label = spot_label(u);
    if (std::find(line.unpriced.begin(), line.unpriced.end(), label) == line.unpriced.end()) {
        line.unpriced.push_back(label);
    }
}

// Adds `ms` of `u` to `line`.
void charge(CostLine& line, const VmUsage& u, std::int64_t ms, const PriceTable& prices) {
    const double hours = static_cast<double>(ms) / k_ms_per_hour;
    line.vm_hours += hours;
    if (const auto price = prices.hourly(u.machine_type, u.region, u.spot)) {
        line.cost += hours * *price;
    } else {
        add_unpriced(line, u);
    }
}

std::vector<CostLine> lines_of(std::map<std::string, CostLine>& by_key) {
    std::vector<CostLine> out;
    out.reserve(by_key.size());
    for (auto& [key, line] : by_key) {
        line.key = key;
        std::sort(line.unpriced.begin(), line.unpriced.end());
        out.push_back(std::move(line));
    }
    return out;
}

// "1733500000" -> ms; "Unknown"/"None"/"" -> 0.
Result<std::int64_t> parse_epoch(std::string_view text, std::size_t line_no) {
    if (text.empty() || text == "Unknown" || text == "None") {
        return std::int64_t{0};
    }
    std::int64_t v = 0;
    const auto* end = text.data() + text.size();
    const auto [p, ec] = std::from_chars(text.data(), end, v);
    if (ec != std::errc() || p != end || v < 0 || v > std::int64_t{1} << 40) {
        return make_error(ErrorKind::k_slurm, "sacct line " + std::to_string(line_no) + ": '" +
                                                  escaped(text) +
                                                  "' is not a time in seconds since the epoch (was "
                                                  "SLURM_TIME_FORMAT=%s honoured?)");
    }
    return v * 1000;
}

}  // namespace

Result<PriceTable> PriceTable::parse(std::string_view text, std::string_view source) {
    PriceTable table;
    const std::string where(source);
    auto bad = [&](std::size_t line_no, const std::string& what) {
        return make_error(ErrorKind::k_config,
                          where + " line " + std::to_string(line_no) + ": " + what);
    };
    bool header_seen = false;
    std::size_t line_no = 0;
    for (std::string_view rest = text; !rest.empty();) {
        const auto nl = rest.find('\n');
        std::string_view line = trim(rest.substr(0, nl));
        rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
        ++line_no;
        if (line.empty() || line.front() == '#') {
            continue;
        }
        const auto fields = split(line, ',');
        if (!header_seen) {
            if (fields.size() != 4 || trim(fields[0]) != "vm_size" || trim(fields[1]) != "region" ||
                trim(fields[2]) != "hourly" || trim(fields[3]) != "spot_hourly") {
                return bad(line_no,
                           "expected the header 'vm_size,region,hourly,spot_hourly', got '" +
                               escaped(line) + "'");
            }
            header_seen = true;
            continue;
        }
        if (fields.size() != 4) {
            return bad(line_no,
                       "expected 4 comma-separated fields (vm_size,region,hourly,"
                       "spot_hourly), got " +
                           std::to_string(fields.size()));
        }
        const std::string_view size = trim(fields[0]);
        const std::string_view region = trim(fields[1]);
        if (!is_size_or_region(size)) {
            return bad(line_no, "'" + escaped(size) +
                                    "' is not a VM size (letters, digits, '_', '-', '.'; like "
                                    "Standard_F2s_v2)");
        }
        if (region != "*" && !is_size_or_region(region)) {
            return bad(line_no, "'" + escaped(region) +
                                    "' is not a region (like eastus) or '*' for any region");
        }
        Price price;
        if (auto v = parse_price(trim(fields[2]))) {
            price.hourly = *v;
        } else {
            return bad(line_no, "hourly '" + escaped(trim(fields[2])) +
                                    "' is not a price (a number of currency units per hour, "
                                    "like 3.60)");
        }
        if (const auto spot = trim(fields[3]); !spot.empty()) {
            if (auto v = parse_price(spot)) {
                price.spot_hourly = *v;
            } else {
                return bad(line_no, "spot_hourly '" + escaped(spot) +
                                        "' is not a price (a number, or empty for none)");
            }
        }
        auto key = std::make_pair(to_lower(size), to_lower(region));
        if (!table.m_prices.emplace(key, price).second) {
            return bad(line_no,
                       "a second price for " + std::string(size) + " in " + std::string(region));
        }
    }
    if (!header_seen) {
        return make_error(ErrorKind::k_config,
                          where +
                              ": empty; expected the header 'vm_size,region,hourly,"
                              "spot_hourly' and one line per VM size");
    }
    return table;
}

std::optional<double> PriceTable::hourly(std::string_view vm_size, std::string_view region,
                                         bool spot) const {
    const std::string size = to_lower(vm_size);
    auto it = m_prices.find({size, to_lower(region)});
    if (it == m_prices.end()) {
        it = m_prices.find({size, "*"});
    }
    if (it == m_prices.end()) {
        return std::nullopt;
    }
    return spot ? it->second.spot_hourly : std::optional<double>(it->second.hourly);
}

std::optional<CostGrouping> cost_grouping_from_string(std::string_view s) {
    if (s == "nodearray") {
        return CostGrouping::k_nodearray;
    }
    if (s == "partition") {
        return CostGrouping::k_partition;
    }
    if (s == "vm-size") {
        return CostGrouping::k_vm_size;
    }
    if (s == "spot") {
        return CostGrouping::k_spot;
    }
    if (s == "node") {
        return CostGrouping::k_node;
    }
    return std::nullopt;
}

std::vector<CostLine> cost_by(const std::vector<VmUsage>& usage, const PriceTable& prices,
                              CostGrouping grouping, std::int64_t from_ms, std::int64_t to_ms,
                              std::int64_t now_ms, const PartitionOf& partition_of) {
    std::map<std::string, CostLine> by_key;
    for (const auto& u : usage) {
        const std::int64_t ms = usage_ms_between(u, from_ms, to_ms, now_ms);
        if (ms <= 0) {
            continue;
        }
        std::string key;
        switch (grouping) {
            case CostGrouping::k_nodearray:
                key = u.nodearray;
                break;
            case CostGrouping::k_partition:
                key = partition_of(u.nodearray);
                break;
            case CostGrouping::k_vm_size:
                key = u.machine_type;
                break;
            case CostGrouping::k_spot:
                key = u.spot ? "spot" : "regular";
                break;
            case CostGrouping::k_node:
                key = u.node;
                break;
        }
        CostLine& line = by_key[key];
        ++line.vms;
        charge(line, u, ms, prices);
    }
    return lines_of(by_key);
}

Result<std::vector<JobRecord>> parse_sacct_jobs(std::string_view text) {
    std::vector<JobRecord> out;
    std::size_t line_no = 0;
    for (std::string_view rest = text; !rest.empty();) {
        const auto nl = rest.find('\n');
        const std::string_view line = rest.substr(0, nl);
        rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
        ++line_no;
        if (trim(line).empty()) {
            continue;
        }
        const auto f = split(line, '|');
        if (f.size() != 7) {
            return make_error(ErrorKind::k_slurm,
                              "sacct line " + std::to_string(line_no) +
                                  ": expected 7 fields (JobID|User|Account|Partition|NodeList|"
                                  "Start|End), got " +
                                  std::to_string(f.size()));
        }
        JobRecord job;
        job.id = without_control_chars(f[0]);
        job.user = without_control_chars(f[1]);
        job.account = without_control_chars(f[2]);
        job.partition = without_control_chars(f[3]);
        if (!f[4].empty() && f[4] != "None assigned") {
            auto hosts = Hostlist::parse(f[4]);
            if (!hosts) {
                return make_error(ErrorKind::k_slurm, "sacct line " + std::to_string(line_no) +
                                                          ": node list: " + hosts.error().message);
            }
            job.nodes = hosts->expand();
        }
        auto start = parse_epoch(f[5], line_no);
        auto end = parse_epoch(f[6], line_no);
        if (!start) {
            return start.error();
        }
        if (!end) {
            return end.error();
        }
        job.start_ms = *start;
        job.end_ms = *end;
        out.push_back(std::move(job));
    }
    return out;
}

std::vector<CostLine> job_cost(const std::vector<JobRecord>& jobs,
                               const std::vector<VmUsage>& usage, const PriceTable& prices,
                               JobGrouping grouping, std::int64_t from_ms, std::int64_t to_ms,
                               std::int64_t now_ms) {
    std::map<std::string, std::vector<const VmUsage*>> by_node;
    for (const auto& u : usage) {
        by_node[u.node].push_back(&u);
    }
    std::map<std::string, CostLine> by_key;
    for (const auto& job : jobs) {
        if (job.start_ms == 0) {
            continue;
        }
        const std::int64_t lo = std::max(job.start_ms, from_ms);
        const std::int64_t hi = std::min(job.end_ms == 0 ? now_ms : job.end_ms, to_ms);
        if (hi <= lo) {
            continue;
        }
        const std::string& key = grouping == JobGrouping::k_job       ? job.id
                                 : grouping == JobGrouping::k_account ? job.account
                                                                      : job.user;
        std::set<const VmUsage*> seen;
        for (const auto& node : job.nodes) {
            const auto it = by_node.find(node);
            if (it == by_node.end()) {
                continue;  // an on-prem node: not ours to price
            }
            for (const VmUsage* u : it->second) {
                const std::int64_t ms = usage_ms_between(*u, lo, hi, now_ms);
                if (ms <= 0 || !seen.insert(u).second) {
                    continue;
                }
                CostLine& line = by_key[key];
                ++line.vms;
                charge(line, *u, ms, prices);
            }
        }
    }
    return lines_of(by_key);
}

std::int64_t month_start_ms(std::int64_t ms) {
    using namespace std::chrono;
    const sys_days day = floor<days>(sys_time<milliseconds>(milliseconds(ms)));
    const year_month_day ymd(day);
    const sys_days first = ymd.year() / ymd.month() / 1;
    return duration_cast<milliseconds>(first.time_since_epoch()).count();
}

std::int64_t next_month_start_ms(std::int64_t ms) {
    using namespace std::chrono;
    const sys_days day = floor<days>(sys_time<milliseconds>(milliseconds(ms)));
    const year_month_day ymd(day);
    const year_month_day next = (ymd.year() / ymd.month() / 1) + months(1);
    return duration_cast<milliseconds>(sys_days(next).time_since_epoch()).count();
}

std::string date_text(std::int64_t ms) {
    using namespace std::chrono;
    const year_month_day ymd(floor<days>(sys_time<milliseconds>(milliseconds(ms))));
    char buf[16];
    std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(ymd.year()),
                  static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
    return buf;
}

std::string_view to_string(BudgetScope scope) {
    return scope == BudgetScope::k_partition ? "partition" : "node array";
}

std::string_view label_of(BudgetScope scope) {
    return scope == BudgetScope::k_partition ? "partition" : "nodearray";
}

std::vector<Budget> monthly_budgets(const Config& config) {
    std::vector<Budget> out;
    for (const auto& a : config.node_arrays) {
        if (a.monthly_budget) {
            out.push_back({BudgetScope::k_nodearray, a.name, *a.monthly_budget});
        }
    }
    for (const auto& item : config.cost.partition_budgets) {
        if (const auto b = parse_partition_budget(item)) {  // the loader has checked them
            out.push_back({BudgetScope::k_partition, b->partition, b->monthly});
        }
    }
    return out;
}

bool budget_covers(BudgetScope scope, const std::string& name, const std::string& array,
                   const PartitionOf& partition_of) {
    return scope == BudgetScope::k_nodearray ? array == name : partition_of(array) == name;
}

std::vector<BudgetState> budget_states(const std::vector<Budget>& budgets,
                                       const std::vector<VmUsage>& usage, const PriceTable& prices,
                                       int warn_percent, std::int64_t now_ms,
                                       const PartitionOf& partition_of) {
    const std::int64_t from = month_start_ms(now_ms);
    std::vector<BudgetState> out;
    for (const auto& budget : budgets) {
        CostLine line;
        for (const auto& u : usage) {
            if (!budget_covers(budget.scope, budget.name, u.nodearray, partition_of)) {
                continue;
            }
            if (const std::int64_t ms = usage_ms_between(u, from, now_ms, now_ms); ms > 0) {
                charge(line, u, ms, prices);
            }
        }
        BudgetState s;
        s.scope = budget.scope;
        s.name = budget.name;
        s.monthly = budget.monthly;
        s.spent = line.cost;
        s.exhausted = line.cost >= budget.monthly;
        s.warned = line.cost * 100.0 >= budget.monthly * warn_percent;
        std::sort(line.unpriced.begin(), line.unpriced.end());
        s.unpriced = std::move(line.unpriced);
        out.push_back(std::move(s));
    }
    return out;
}

std::map<std::string, const BudgetState*> spent_budgets(const std::vector<BudgetState>& states,
                                                        const std::vector<std::string>& arrays,
                                                        const PartitionOf& partition_of) {
    std::map<std::string, const BudgetState*> out;
    for (const BudgetScope scope : {BudgetScope::k_nodearray, BudgetScope::k_partition}) {
        for (const auto& s : states) {
            if (s.scope != scope || !s.exhausted) {
                continue;
            }
            for (const auto& array : arrays) {
                if (budget_covers(s.scope, s.name, array, partition_of)) {
                    out.emplace(array, &s);  // the first (the array's own) stays
                }
            }
        }
    }
    return out;
}

}  // namespace cb
