// `cloudburst cost`: VM-hours and money from the journal's VM lifetimes, grouped by node
// array, partition, VM size, Spot or node, or per job, account or user from Slurm's
// accounting; and each budget's month (docs/cost.md).
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "adapters/cyclecloud_options.h"
#include "adapters/slurm_cli.h"
#include "cli/commands.h"
#include "cli/journal_reader.h"
#include "cli/text_output.h"
#include "core/cost.h"
#include "daemon/spend.h"
#include "util/sanitize.h"
#include "util/text.h"

namespace cb::cli {

namespace {

using json = nlohmann::json;

std::int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// The digits of text[at, at + n) as a number, or -1.
int digits(const std::string& text, std::size_t at, std::size_t n) {
    int v = 0;
    if (at + n > text.size()) {
        return -1;
    }
    const char* first = text.data() + at;
    const auto [p, ec] = std::from_chars(first, first + n, v);
    return ec == std::errc() && p == first + n && std::isdigit(static_cast<unsigned char>(*first))
               ? v
               : -1;
}

// "2026-12-01", "2026-12-01T08:00" or "2026-12-01T08:00:30", UTC -> ms.
Result<std::int64_t> parse_utc(const std::string& text, const char* option) {
    const std::size_t n = text.size();
    const bool shape = (n == 10 || n == 16 || n == 19) && text[4] == '-' && text[7] == '-' &&
                       (n == 10 || (text[10] == 'T' && text[13] == ':')) &&
                       (n != 19 || text[16] == ':');
    const int y = digits(text, 0, 4);
    const int mo = digits(text, 5, 2);
    const int d = digits(text, 8, 2);
    const int h = n > 10 ? digits(text, 11, 2) : 0;
    const int mi = n > 10 ? digits(text, 14, 2) : 0;
    const int s = n > 16 ? digits(text, 17, 2) : 0;
    using namespace std::chrono;
    const year_month_day ymd{year{y}, month{static_cast<unsigned>(std::max(mo, 0))},
                             day{static_cast<unsigned>(std::max(d, 0))}};
    if (!shape || y < 0 || mo < 0 || d < 0 || h < 0 || mi < 0 || s < 0 || !ymd.ok() || h > 23 ||
        mi > 59 || s > 59) {
        return make_error(ErrorKind::k_usage,
                          std::string(option) + " '" + escaped(text) +
                              "' is not a UTC time like 2026-12-01 or 2026-12-01T08:00[:30]");
    }
    const auto t = sys_days(ymd) + hours(h) + minutes(mi) + seconds(s);
    return duration_cast<milliseconds>(t.time_since_epoch()).count();
}

// Cents, and below one unit four places (a short burst costs fractions of a cent).
std::string money(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, v != 0 && v < 1 ? "%.4f" : "%.2f", v);
    return buf;
}

std::string hours_text(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3f", v);
    return buf;
}

std::string upper(std::string v) {
    for (char& c : v) {
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    return v;
}

// CSV cells are names, numbers and sizes we validated; a cell with a comma or quote is quoted.
std::string csv_cell(const std::string& v) {
    if (v.find_first_of(",\"\n") == std::string::npos) {
        return v;
    }
    std::string out = "\"";
    for (const char c : v) {
        out += c == '"' ? std::string("\"\"") : std::string(1, c);
    }
    return out + "\"";
}

struct CostOptions {
    std::string from;
    std::string to;
    std::string by = "nodearray";
    bool as_json = false;
    bool as_csv = false;
};

Result<int> run_cost(const CostOptions& o) {
    const std::int64_t now = now_ms();
    std::int64_t from = month_start_ms(now);
    std::int64_t to = now;
    if (!o.from.empty()) {
        auto v = parse_utc(o.from, "--from");
        if (!v) {
            return v.error();
        }
        from = *v;
    }
    if (!o.to.empty()) {
        auto v = parse_utc(o.to, "--to");
        if (!v) {
            return v.error();
        }
        to = *v;
    }
    if (to <= from) {
        return make_error(ErrorKind::k_usage, "--to must be later than --from");
    }
    const auto grouping = cost_grouping_from_string(o.by);
    const bool by_job = o.by == "job" || o.by == "account" || o.by == "user";
    if (!grouping && !by_job) {
        return make_error(ErrorKind::k_usage,
                          "--by '" + escaped(o.by) +
                              "' is not one of nodearray, partition, vm-size, spot, node, job, "
                              "account, user");
    }
    auto config = load_global_config(PasswordUse::k_skip);
    if (!config) {
        return config.error();
    }
    const PartitionOf partition_of = [&](const std::string& a) {
        return config->node_array(a).partition;
    };
    PriceTable prices;
    const bool priced = !config->cost.prices.empty();
    if (priced) {
        auto table = read_price_file(config->cost.prices);
        if (!table) {
            return table.error();
        }
        prices = std::move(*table);
    }
    auto journal = require_journal(*config);
    if (!journal) {
        return journal.error();
    }
    auto usage = journal->usage_between(from, to);
    if (!usage) {
        return usage.error();
    }
    std::vector<CostLine> lines;
    if (by_job) {
        SlurmCli slurm(slurm_cli_options(*config));
        auto text = slurm.accounting(from, to);
        if (!text) {
            return text.error().with_context("cost per " + o.by + " needs Slurm's accounting");
        }
        auto jobs = parse_sacct_jobs(*text);
        if (!jobs) {
            return jobs.error();
        }
        const JobGrouping g = o.by == "job"       ? JobGrouping::k_job
                              : o.by == "account" ? JobGrouping::k_account
                                                  : JobGrouping::k_user;
        lines = job_cost(*jobs, *usage, prices, g, from, to, now);
    } else {
        lines = cost_by(*usage, prices, *grouping, from, to, now, partition_of);
    }
    const auto budgets = monthly_budgets(*config);
    std::vector<BudgetState> budget_lines;
    if (priced && !budgets.empty()) {
        auto month = journal->usage_between(month_start_ms(now), now + 1);
        if (!month) {
            return month.error();
        }
        budget_lines = budget_states(budgets, *month, prices, config->cost.budget_warn_percent, now,
                                     partition_of);
    }
    const std::string& currency = config->cost.currency;
    double total_hours = 0;
    double total_cost = 0;
    for (const auto& l : lines) {
        total_hours += l.vm_hours;
        total_cost += l.cost;
    }
    if (o.as_json) {
        json out{{"from_ms", from},
                 {"to_ms", to},
                 {"by", o.by},
                 {"currency", currency},
                 {"priced", priced},
                 {"vm_hours", total_hours},
                 {"cost", priced ? json(total_cost) : json(nullptr)}};
        json rows = json::array();
        for (const auto& l : lines) {
            rows.push_back({{"key", l.key},
                            {"vms", l.vms},
                            {"vm_hours", l.vm_hours},
                            {"cost", priced ? json(l.cost) : json(nullptr)},
                            {"unpriced", l.unpriced}});
        }
        out["lines"] = std::move(rows);
        json b = json::array();
        for (const auto& s : budget_lines) {
            b.push_back({{std::string(label_of(s.scope)), s.name},
                         {"monthly", s.monthly},
                         {"spent", s.spent},
                         {"warned", s.warned},
                         {"exhausted", s.exhausted},
                         {"unpriced", s.unpriced}});
        }
        out["budgets"] = std::move(b);
        std::cout << out.dump(2) << "\n";
        return 0;
    }
    if (o.as_csv) {
        std::cout << csv_cell(o.by) << ",vms,vm_hours,cost_" << currency << ",unpriced\n";
        for (const auto& l : lines) {
            std::cout << csv_cell(l.key) << "," << l.vms << "," << hours_text(l.vm_hours) << ","
                      << (priced ? money(l.cost) : "") << "," << csv_cell(join(l.unpriced, " "))
                      << "\n";
        }
        return 0;
    }
    std::cout << "from " << format_time(from) << " to " << format_time(to) << " (local time)\n";
    std::vector<std::vector<std::string>> rows{
        {upper(o.by), "VMS", "VM-HOURS", "COST " + currency, "UNPRICED"}};
    for (const auto& l : lines) {
        rows.push_back({l.key, std::to_string(l.vms), hours_text(l.vm_hours),
                        priced ? money(l.cost) : "-",
                        l.unpriced.empty() ? "" : join(l.unpriced, " ")});
    }
    rows.push_back({"total", "", hours_text(total_hours), priced ? money(total_cost) : "-", ""});
    print_table(rows);
    if (!priced) {
        std::cout << "no prices: set cost.prices to a price file for money (docs/cost.md)\n";
    }
    if (!budget_lines.empty()) {
        std::cout << "\n";
        std::vector<std::vector<std::string>> brows{
            {"BUDGET", "MONTHLY " + currency, "SPENT THIS MONTH", "USED", "STATE"}};
        for (const auto& s : budget_lines) {
            const int pct = s.monthly > 0 ? static_cast<int>(s.spent * 100 / s.monthly) : 100;
            brows.push_back({std::string(to_string(s.scope)) + " " + s.name, money(s.monthly),
                             money(s.spent), std::to_string(pct) + "%",
                             s.exhausted ? "spent: no new VMs until next month"
                             : s.warned  ? "warning"
                                         : "ok"});
        }
        print_table(brows);
    }
    return 0;
}

}  // namespace

std::vector<CommandSpec> cost_commands() {
    return {
        {"cost", "VM-hours and money per node array, partition, VM size, Spot, job or account",
         [](CLI::App& app) {
             auto o = std::make_shared<CostOptions>();
             app.add_option("--from", o->from,
                            "start, UTC: 2026-12-01 or 2026-12-01T08:00 (default: the start of "
                            "this month)");
             app.add_option("--to", o->to, "end, UTC (default: now)");
             app.add_option("--by", o->by,
                            "nodearray (default), partition, vm-size, spot, node, job, account "
                            "or user (the last three from Slurm's accounting)");
             auto* j = app.add_flag("--json", o->as_json, "print JSON");
             app.add_flag("--csv", o->as_csv, "print CSV")->excludes(j);
             return std::function<Result<int>()>([o] { return run_cost(*o); });
         }},
    };
}

}  // namespace cb::cli
