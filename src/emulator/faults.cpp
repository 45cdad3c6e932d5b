#include "emulator/faults.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <functional>
#include <vector>

#include <fmt/format.h>

#include "emulator/record_padding.h"
#include "util/text.h"

namespace cb::emulator {

namespace {

constexpr std::array<std::string_view, k_fault_kind_count> k_kind_names{
    "http-5xx",   "http-429",     "latency",      "hang",          "malformed-json",  "capacity",
    "quota",      "prepare-fail", "no-slurmd",    "evict",         "deallocate-fail", "azure-quota",
    "ready-fail", "status",       "evict-notice", "acquire-stall",
};

Error usage(std::string message) {
    return make_error(ErrorKind::k_usage, std::move(message));
}

Result<double> parse_rate(std::string_view text) {
    const bool percent = !text.empty() && text.back() == '%';
    if (percent) {
        text.remove_suffix(1);
    }
    double value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() || text.empty()) {
        return usage("expected a rate between 0 and 1 (or a percentage such as 10%)");
    }
    if (percent) {
        value /= 100;
    }
    if (value < 0 || value > 1) {
        return usage("a rate must be between 0 and 1");
    }
    return value;
}

Result<double> parse_non_negative(std::string_view text) {
    double value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() || text.empty() || value < 0) {
        return usage("expected a number, 0 or more");
    }
    return value;
}

Result<std::int64_t> parse_count(std::string_view text) {
    std::int64_t value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() || text.empty() || value < 0) {
        return usage("expected a whole number, 0 or more");
    }
    return value;
}

// "NAME:N" into a map entry; N = -1 or "none" removes the entry.
Status set_limit(std::string_view value, std::map<std::string, std::int64_t>& map, bool lower_case,
                 const char* what) {
    const auto colon = value.rfind(':');
    if (colon == std::string_view::npos || colon == 0) {
        return usage(fmt::format("expected {}:N (N = -1 or none removes the limit)", what));
    }
    std::string name(value.substr(0, colon));
    if (lower_case) {
        name = to_lower(name);
    }
    const std::string_view n = value.substr(colon + 1);
    if (n == "-1" || n == "none") {
        map.erase(name);
        return ok_status();
    }
    auto count = parse_count(n);
    if (!count) {
        return count.error();
    }
    map[name] = *count;
    return ok_status();
}

// "SIZE:WORD" into a map entry (lower-case size); WORD one of `allowed`, or none to remove.
Status set_word(std::string_view value, std::map<std::string, std::string>& map, const char* what,
                std::initializer_list<std::string_view> allowed) {
    const auto colon = value.rfind(':');
    std::string words;
    for (const auto a : allowed) {
        words += words.empty() ? "" : ", ";
        words += a;
    }
    if (colon == std::string_view::npos || colon == 0) {
        return usage(
            fmt::format("expected {}:WORD, WORD one of {} (none removes it)", what, words));
    }
    const std::string name = to_lower(value.substr(0, colon));
    const std::string_view word = value.substr(colon + 1);
    if (word == "none") {
        map.erase(name);
        return ok_status();
    }
    if (std::find(allowed.begin(), allowed.end(), word) == allowed.end()) {
        return usage(fmt::format("'{}' is not one of {} (or none)", word, words));
    }
    map[name] = std::string(word);
    return ok_status();
}

using Apply = std::function<Result<std::optional<OneShotFault>>(std::string_view, FaultSettings&)>;

// Adapts a setter that returns Status to the table's signature.
template <typename F>
Apply setting(F f) {
    return [f](std::string_view v, FaultSettings& s) -> Result<std::optional<OneShotFault>> {
        Status st = f(v, s);
        if (!st) {
            return std::move(st).error();
        }
        return std::optional<OneShotFault>();
    };
}

Apply rate_of(double FaultSettings::*member) {
    return setting([member](std::string_view v, FaultSettings& s) -> Status {
        auto r = parse_rate(v);
        if (!r) {
            return r.error();
        }
        s.*member = *r;
        return ok_status();
    });
}

Apply duration_of(std::chrono::milliseconds FaultSettings::*member) {
    return setting([member](std::string_view v, FaultSettings& s) -> Status {
        auto d = parse_duration(v);
        if (!d) {
            return d.error();
        }
        s.*member = *d;
        return ok_status();
    });
}

// N|NODE: a count of nodes or a node's name.
Apply one_shot(OneShotKind kind) {
    return [kind](std::string_view v, FaultSettings&) -> Result<std::optional<OneShotFault>> {
        OneShotFault request;
        request.kind = kind;
        if (!v.empty() && std::isdigit(static_cast<unsigned char>(v.front())) != 0) {
            auto n = parse_count(v);
            if (!n) {
                return n.error();
            }
            request.count = *n;
        } else if (v.empty()) {
            return usage("expected a number of nodes or a node name");
        } else {
            request.node = std::string(v);
        }
        return std::optional<OneShotFault>(request);
    };
}

// NODE:VALUE, VALUE one of `allowed`.
Apply node_value(OneShotKind kind, const std::vector<std::string_view>& allowed) {
    return
        [kind, allowed](std::string_view v, FaultSettings&) -> Result<std::optional<OneShotFault>> {
            const auto colon = v.rfind(':');
            std::string names;
            for (const auto a : allowed) {
                names += names.empty() ? "" : " or ";
                names += a;
            }
            if (colon == std::string_view::npos || colon == 0 ||
                std::find(allowed.begin(), allowed.end(), v.substr(colon + 1)) == allowed.end()) {
                return usage(fmt::format("expected NODE:VALUE, VALUE {}", names));
            }
            OneShotFault request;
            request.kind = kind;
            request.node = std::string(v.substr(0, colon));
            request.value = std::string(v.substr(colon + 1));
            return std::optional<OneShotFault>(request);
        };
}

struct FaultSpec {
    std::string_view kind;
    std::string_view value;
    std::string_view help;
    Apply apply;
};

const std::vector<FaultSpec>& fault_table() {
    static const std::vector<FaultSpec> table{
        {"http-5xx", "RATE", "answer this share of API requests with 503 (nothing is done)",
         rate_of(&FaultSettings::http_5xx_rate)},
        {"http-429", "RATE", "answer this share with 429 and Retry-After (nothing is done)",
         rate_of(&FaultSettings::http_429_rate)},
        {"retry-after", "SECONDS", "the Retry-After of those 429s (default 5)",
         setting([](std::string_view v, FaultSettings& s) -> Status {
             auto n = parse_count(v);
             if (!n) {
                 return n.error();
             }
             s.retry_after = std::chrono::seconds(*n);
             return ok_status();
         })},
        {"latency", "DURATION", "delay every API answer (e.g. 200ms)",
         duration_of(&FaultSettings::latency)},
        {"latency-per-mb", "DURATION",
         "delay every API answer by this much per MiB of its body, on top of latency "
         "(e.g. 20ms)",
         duration_of(&FaultSettings::latency_per_mb)},
        {"record-bytes", "BYTES",
         "pad every node record to about this many bytes with the attributes real records "
         "carry (0: the emulator's own, about 1.2 KB; at most 1048576)",
         setting([](std::string_view v, FaultSettings& s) -> Status {
             auto n = parse_count(v);
             if (!n) {
                 return n.error();
             }
             if (static_cast<std::uint64_t>(*n) > k_max_record_bytes) {
                 return usage(fmt::format("at most {} bytes", k_max_record_bytes));
             }
             s.record_bytes = static_cast<std::size_t>(*n);
             return ok_status();
         })},
        {"hang", "RATE",
         "this share of API requests are carried out but answered only after hang-time",
         rate_of(&FaultSettings::hang_rate)},
        {"hang-time", "DURATION", "how long a hanging request hangs (default 2m)",
         duration_of(&FaultSettings::hang_time)},
        {"malformed-json", "RATE",
         "this share of requests are carried out but their JSON "
         "answer is cut short",
         rate_of(&FaultSettings::malformed_json_rate)},
        {"capacity", "SIZE:N",
         "Azure can run at most N VMs of this size at once (creates are accepted, the "
         "nodes beyond go Failed with AllocationFailed in Acquiring; -1 lifts it)",
         setting([](std::string_view v, FaultSettings& s) {
             return set_limit(v, s.capacity, true, "VM_SIZE");
         })},
        {"acquire-stall", "SIZE:N",
         "Azure can run at most N VMs of this size at once; the nodes beyond stay in Acquiring "
         "with AllocationFailed in StatusMessage while CycleCloud retries, and never go Failed "
         "(-1 lifts it)",
         setting([](std::string_view v, FaultSettings& s) {
             return set_limit(v, s.acquire_stall, true, "VM_SIZE");
         })},
        {"quota", "FAMILY:CORES",
         "quota for a VM family, or regional / spot, in every region "
         "(-1 restores the configured one)",
         setting([](std::string_view v, FaultSettings& s) {
             return set_limit(v, s.quota, false, "FAMILY");
         })},
        {"azure-quota", "FAMILY:CORES",
         "quota only Azure knows, for a family, or regional / spot (creates are accepted, "
         "the nodes beyond go Failed with QuotaExceeded in Acquiring; -1 lifts it)",
         setting([](std::string_view v, FaultSettings& s) {
             return set_limit(v, s.azure_quota, false, "FAMILY");
         })},
        {"external-load", "FAMILY:CORES",
         "cores of a family, or regional / spot, used outside this cluster: in the "
         "consumed counts and against quota (-1 removes it)",
         setting([](std::string_view v, FaultSettings& s) {
             return set_limit(v, s.external_load, false, "FAMILY");
         })},
        {"invalid-bucket", "SIZE:REASON",
         "buckets of this VM size are not valid (valid=false, invalidReason NotActivated or "
         "DisabledMachineType; none makes them valid again); creates for them add 0",
         setting([](std::string_view v, FaultSettings& s) {
             return set_word(v, s.invalid_buckets, "VM_SIZE",
                             {"NotActivated", "DisabledMachineType"});
         })},
        {"spot-score", "SIZE:SCORE",
         "spotPlacementScore of this VM size's Spot buckets: High (default), Medium or Low",
         setting([](std::string_view v, FaultSettings& s) {
             return set_word(v, s.spot_scores, "VM_SIZE", {"High", "Medium", "Low"});
         })},
        {"cluster-state", "STATE",
         "the cluster's state: Started (default), Off, Starting or Terminated; creates and "
         "starts are refused (409) unless Started",
         setting([](std::string_view v, FaultSettings& s) -> Status {
             for (const std::string_view state : {"Started", "Off", "Starting", "Terminated"}) {
                 if (v == state) {
                     s.cluster_state = std::string(v);
                     return ok_status();
                 }
             }
             return usage("expected Started, Off, Starting or Terminated");
         })},
        {"prepare-fail", "RATE", "this share of nodes go Failed at the end of Preparing",
         rate_of(&FaultSettings::prepare_fail_rate)},
        {"no-slurmd", "RATE", "this share of nodes become Ready but their slurmd never starts",
         rate_of(&FaultSettings::no_slurmd_rate)},
        {"deallocate-fail", "RATE",
         "this share of deallocations fail (node Failed, VM left "
         "running)",
         rate_of(&FaultSettings::deallocate_fail_rate)},
        {"evict-rate", "PER_MINUTE", "Spot evictions per Ready Spot node per minute",
         setting([](std::string_view v, FaultSettings& s) -> Status {
             auto r = parse_non_negative(v);
             if (!r) {
                 return r.error();
             }
             s.evict_rate = *r;
             return ok_status();
         })},
        {"evict", "N|NODE",
         "evict now: N Ready nodes (Spot first) or the named node; its record disappears",
         one_shot(OneShotKind::k_evict)},
        {"evict-notice", "N|NODE",
         "Spot eviction notice now (Scheduled Events): N Ready nodes (Spot first) or the named "
         "node stay Ready with the notice in StatusMessage, and are evicted 30 s later",
         one_shot(OneShotKind::k_evict_notice)},
        {"ready-fail", "N|NODE",
         "a health event now: N Ready nodes or the named node go Failed; the VM and its slurmd "
         "keep running",
         one_shot(OneShotKind::k_ready_fail)},
        {"status", "NODE:STATUS",
         "the node's Status becomes STATUS (Unavailable or Started), its VM unchanged",
         node_value(OneShotKind::k_status, {"Unavailable", "Started"})},
        {"keep-alive", "NODE:true|false",
         "sets the node's KeepAlive, as an admin does in CycleCloud (true: terminate and "
         "deallocate are refused for it)",
         node_value(OneShotKind::k_keep_alive, {"true", "false"})},
        {"clear", "all", "remove every fault (record-bytes stays)",
         setting([](std::string_view v, FaultSettings& s) -> Status {
             if (v != "all") {
                 return usage("expected clear=all");
             }
             // The record size is how big answers are, not a fault: it stays.
             const std::size_t record_bytes = s.record_bytes;
             s = FaultSettings{};
             s.record_bytes = record_bytes;
             return ok_status();
         })},
    };
    return table;
}

}  // namespace

std::string_view to_string(FaultKind kind) {
    return k_kind_names.at(static_cast<std::size_t>(kind));
}

Result<std::optional<OneShotFault>> apply_fault_spec(std::string_view spec,
                                                     FaultSettings& settings) {
    const auto eq = spec.find('=');
    const std::string_view kind = spec.substr(0, eq);
    const auto& table = fault_table();
    const auto it = std::find_if(table.begin(), table.end(),
                                 [&](const FaultSpec& f) { return f.kind == kind; });
    if (it == table.end()) {
        std::string known;
        for (const auto& f : table) {
            known += known.empty() ? "" : ", ";
            known += f.kind;
        }
        return usage(fmt::format("unknown fault '{}' (known: {})", kind, known));
    }
    if (eq == std::string_view::npos) {
        return usage(fmt::format("fault '{}' needs a value: {}={}", kind, kind, it->value));
    }
    auto result = it->apply(spec.substr(eq + 1), settings);
    if (!result) {
        return usage(fmt::format("{}: {}", spec, result.error().message));
    }
    return result;
}

std::string fault_help() {
    std::string out;
    for (const auto& f : fault_table()) {
        out += fmt::format("  {:<28} {}\n", fmt::format("{}={}", f.kind, f.value), f.help);
    }
    return out;
}

Result<std::chrono::milliseconds> parse_duration(std::string_view text) {
    struct Unit {
        std::string_view suffix;
        double ms;
    };
    static constexpr std::array k_units{Unit{"ms", 1}, Unit{"s", 1000}, Unit{"m", 60000},
                                        Unit{"h", 3600000}};
    for (const auto& unit : k_units) {
        if (text.size() <= unit.suffix.size() ||
            text.substr(text.size() - unit.suffix.size()) != unit.suffix) {
            continue;
        }
        const std::string_view number = text.substr(0, text.size() - unit.suffix.size());
        double value = 0;
        const auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), value);
        if (ec == std::errc() && end == number.data() + number.size() && value >= 0) {
            return std::chrono::milliseconds(static_cast<std::int64_t>(value * unit.ms));
        }
        break;
    }
    return usage(fmt::format("'{}' is not a duration (give a unit: 250ms, 2s, 5m, 1h)", text));
}

void HttpFaultInjector::set(const FaultSettings& settings) {
    std::lock_guard lock(m_mutex);
    m_settings = settings;
}

HttpFaultInjector::Decision HttpFaultInjector::decide() {
    Decision d;
    std::lock_guard lock(m_mutex);
    std::uniform_real_distribution<double> uniform(0.0, 1.0);
    auto happens = [&](double rate) { return rate > 0 && uniform(m_rng) < rate; };
    if (m_settings.latency.count() > 0) {
        d.latency = m_settings.latency;
        m_counters.add(FaultKind::k_latency);
    }
    d.latency_per_mb = m_settings.latency_per_mb;
    if (happens(m_settings.http_5xx_rate)) {
        d.status = 503;
        m_counters.add(FaultKind::k_http_5xx);
    } else if (happens(m_settings.http_429_rate)) {
        d.status = 429;
        d.retry_after = m_settings.retry_after;
        m_counters.add(FaultKind::k_http_429);
    } else if (happens(m_settings.malformed_json_rate)) {
        d.malformed = true;
        m_counters.add(FaultKind::k_malformed_json);
    }
    // A request that was refused is answered at once; one that is carried out may then hang.
    if (d.status == 0 && happens(m_settings.hang_rate)) {
        d.hang = m_settings.hang_time;
        m_counters.add(FaultKind::k_hang);
    }
    return d;
}

std::chrono::microseconds size_latency(std::chrono::milliseconds per_mib, std::size_t bytes) {
    constexpr double k_mib = 1024.0 * 1024.0;
    const double us = static_cast<double>(std::chrono::microseconds(per_mib).count()) *
                      static_cast<double>(bytes) / k_mib;
    return std::chrono::microseconds(static_cast<std::int64_t>(us));
}

bool HttpFaultInjector::sleep(std::chrono::microseconds d) {
    std::unique_lock lock(m_mutex);
    return !m_wake.wait_for(lock, d, [this] { return m_released; });
}

void HttpFaultInjector::release_all() {
    {
        std::lock_guard lock(m_mutex);
        m_released = true;
    }
    m_wake.notify_all();
}

}  // namespace cb::emulator
