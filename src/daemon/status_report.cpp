#include "daemon/status_report.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>

namespace cb {

void Histogram::observe(double seconds) {
    seconds = std::max(0.0, seconds);
    const auto it = std::lower_bound(m_bounds.begin(), m_bounds.end(), seconds);
    m_counts[static_cast<std::size_t>(it - m_bounds.begin())] += 1;
    m_sum += seconds;
    m_count += 1;
}

std::vector<double> call_seconds_buckets() {
    return {0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
}

std::vector<double> boot_seconds_buckets() {
    return {5, 10, 20, 30, 60, 120, 180, 300, 600, 900, 1800};
}

namespace {

using json = nlohmann::json;

json histogram_json(const Histogram& h) {
    json buckets = json::array();
    long cumulative = 0;
    for (std::size_t i = 0; i < h.counts().size(); ++i) {
        cumulative += h.counts()[i];
        buckets.push_back({{"le", i < h.bounds().size() ? json(h.bounds()[i]) : json("+Inf")},
                           {"count", cumulative}});
    }
    return {{"count", h.count()}, {"sum", h.sum()}, {"buckets", buckets}};
}

}  // namespace

std::string status_json(const StatusReport& r) {
    json blocked = json::array();
    for (const auto& b : r.blocked) {
        blocked.push_back({{"nodearray", b.nodearray},
                           {"kind", b.kind},
                           {"reason", b.reason},
                           {"until_ms", b.until_ms},
                           {"failures", b.failures},
                           {"bootstrap", b.bootstrap},
                           {"range", b.range},
                           {"vm_size", b.vm_size}});
    }
    json gates = json::array();
    for (const auto& g : r.gates) {
        gates.push_back({{"job", g.job}, {"nodes", g.nodes}, {"since_ms", g.since_ms}});
    }
    json budgets = json::array();
    for (const auto& b : r.budgets) {
        budgets.push_back({{std::string(label_of(b.scope)), b.name},
                           {"monthly", b.monthly},
                           {"spent", b.spent},
                           {"currency", r.currency},
                           {"exhausted", b.exhausted}});
    }
    const json out = {
        {"version", r.version},
        {"config", r.config_path},
        {"cluster", r.cluster},
        {"pid", r.pid},
        {"started_ms", r.started_ms},
        {"now_ms", r.now_ms},
        {"last_pass",
         {{"started_ms", r.last_pass_ms},
          {"duration_ms", r.last_pass_duration_ms},
          {"error", r.last_pass_error}}},
        {"counters",
         {{"passes", r.passes},
          {"requests", r.requests},
          {"create_calls", r.create_calls},
          {"nodes_created", r.nodes_created},
          {"start_calls", r.start_calls},
          {"shutdown_calls", r.shutdown_calls},
          {"slurm_updates", r.slurm_updates},
          {"orphans_removed", r.orphans_removed}}},
        {"api",
         {{"requests", r.api_requests},
          {"retries", r.api_retries},
          {"throttled", r.api_throttled},
          {"paced", r.api_paced},
          {"errors", r.errors_by_class}}},
        {"nodes", r.nodes},
        {"vms", r.vms},
        {"creates_in_flight", r.creates_in_flight},
        {"blocked", blocked},
        {"gates", {{"waiting", r.gates_waiting}, {"jobs", gates}}},
        {"histograms",
         {{"create_call_seconds", histogram_json(r.create_call_seconds)},
          {"boot_seconds", histogram_json(r.boot_seconds)},
          {"registration_seconds", histogram_json(r.registration_seconds)},
          {"first_job_seconds", histogram_json(r.first_job_seconds)}}},
        {"budgets", budgets},
    };
    return out.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

std::string prometheus_label(std::string_view value) {
    std::string out;
    out.reserve(value.size());
    for (std::size_t i = 0; i < value.size(); ++i) {
        const auto c = static_cast<unsigned char>(value[i]);
        if (c == '\\') {
            out += "\\\\";
        } else if (c == '"') {
            out += "\\\"";
        } else if (c == '\n') {
            out += "\\n";
        } else if (c < 0x20 || c == 0x7f) {
            out += '?';
        } else if (c < 0x80) {
            out += static_cast<char>(c);
        } else {
            // A well-formed UTF-8 sequence passes whole; anything else is one '?'.
            const std::size_t len = (c & 0xe0) == 0xc0   ? 2
                                    : (c & 0xf0) == 0xe0 ? 3
                                    : (c & 0xf8) == 0xf0 ? 4
                                                         : 0;
            bool ok = len != 0 && i + len <= value.size() && c >= 0xc2;
            for (std::size_t k = 1; ok && k < len; ++k) {
                ok = (static_cast<unsigned char>(value[i + k]) & 0xc0) == 0x80;
            }
            if (ok) {
                out.append(value.substr(i, len));
                i += len - 1;
            } else {
                out += '?';
            }
        }
    }
    return out;
}

namespace {

// Prometheus floats: integers as integers, others with enough digits to read back.
std::string number(double v) {
    if (std::isinf(v)) {
        return v > 0 ? "+Inf" : "-Inf";
    }
    if (v == std::floor(v) && std::fabs(v) < 1e15) {
        return std::to_string(static_cast<long long>(v));  // 1700000200, not 1.7000002e+09
    }
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.17g", v);
    std::string s = buf;
    // %.17g prints 0.1 as 0.10000000000000001: use the shortest that reads back.
    for (int digits = 1; digits <= 17; ++digits) {
        std::snprintf(buf, sizeof buf, "%.*g", digits, v);
        if (std::strtod(buf, nullptr) == v) {
            return buf;
        }
    }
    return s;
}

std::string seconds(std::int64_t ms) {
    return number(static_cast<double>(ms) / 1000.0);
}

class Exposition {
  public:
    void family(std::string_view name, std::string_view type, std::string_view help) {
        m_out += "# HELP ";
        m_out += name;
        m_out += ' ';
        m_out += help;
        m_out += "\n# TYPE ";
        m_out += name;
        m_out += ' ';
        m_out += type;
        m_out += '\n';
    }
    // `labels`: pairs of name and (unescaped) value.
    void sample(std::string_view name,
                const std::vector<std::pair<std::string_view, std::string_view>>& labels,
                const std::string& value) {
        m_out += name;
        if (!labels.empty()) {
            m_out += '{';
            for (std::size_t i = 0; i < labels.size(); ++i) {
                m_out += (i == 0 ? "" : ",");
                m_out += labels[i].first;
                m_out += "=\"" + prometheus_label(labels[i].second) + "\"";
            }
            m_out += '}';
        }
        m_out += ' ' + value + '\n';
    }
    void gauge(std::string_view name, std::string_view help, const std::string& value) {
        family(name, "gauge", help);
        sample(name, {}, value);
    }
    void counter(std::string_view name, std::string_view help, long value) {
        family(name, "counter", help);
        sample(name, {}, std::to_string(value));
    }
    void histogram(const std::string& name, std::string_view help, const Histogram& h) {
        family(name, "histogram", help);
        long cumulative = 0;
        for (std::size_t i = 0; i < h.counts().size(); ++i) {
            cumulative += h.counts()[i];
            const std::string le =
                i < h.bounds().size() ? number(h.bounds()[i]) : std::string("+Inf");
            sample(name + "_bucket", {{"le", le}}, std::to_string(cumulative));
        }
        sample(name + "_sum", {}, number(h.sum()));
        sample(name + "_count", {}, std::to_string(h.count()));
    }
    std::string take() { return std::move(m_out); }

  private:
    std::string m_out;
};

// The plain counters, as a table: name, help, field.
struct CounterSpec {
    const char* name;
    const char* help;
    long StatusReport::*field;
};

constexpr CounterSpec k_counters[] = {
    {"cloudburst_passes_total", "Reconcile passes run.", &StatusReport::passes},
    {"cloudburst_requests_total", "Hook requests (resume, suspend, resume-fail) taken.",
     &StatusReport::requests},
    {"cloudburst_create_calls_total", "CycleCloud create calls made.", &StatusReport::create_calls},
    {"cloudburst_create_nodes_total", "Nodes asked for in create calls.",
     &StatusReport::nodes_created},
    {"cloudburst_start_calls_total", "CycleCloud start calls made (deallocated VMs).",
     &StatusReport::start_calls},
    {"cloudburst_shutdown_calls_total", "CycleCloud shutdown calls made.",
     &StatusReport::shutdown_calls},
    {"cloudburst_slurm_updates_total", "scontrol update commands run.",
     &StatusReport::slurm_updates},
    {"cloudburst_orphans_removed_total",
     "VMs shut down because Slurm had their node powered down past the grace period.",
     &StatusReport::orphans_removed},
    {"cloudburst_api_requests_total", "HTTP requests sent to CycleCloud, retries included.",
     &StatusReport::api_requests},
    {"cloudburst_api_retries_total", "CycleCloud requests repeated after a transient error.",
     &StatusReport::api_retries},
    {"cloudburst_api_throttled_total", "CycleCloud answers 429 (Too Many Requests).",
     &StatusReport::api_throttled},
    {"cloudburst_api_paced_total", "CycleCloud requests held back by cloudburst's own pacing.",
     &StatusReport::api_paced},
};

// Every ErrorKind a call can fail with, so each series exists from the start (a rate() over
// a series that appears with its first error misses that error).
constexpr const char* k_error_classes[] = {"capacity",  "quota", "throttled", "transient",
                                           "permanent", "cloud", "slurm",     "io"};

constexpr const char* k_phases[] = {"idle",    "requested", "creating", "registering",
                                    "running", "stopping",  "failed"};

}  // namespace

std::string render_prometheus(const StatusReport& r) {
    Exposition x;
    x.family("cloudburst_build_info", "gauge", "The running cloudburstd's version; always 1.");
    x.sample("cloudburst_build_info", {{"version", r.version}}, "1");
    x.gauge("cloudburst_start_time_seconds", "When cloudburstd started (Unix time).",
            seconds(r.started_ms));
    x.gauge("cloudburst_last_pass_timestamp_seconds",
            "When the last reconcile pass started (Unix time; 0: none yet).",
            seconds(r.last_pass_ms));
    x.gauge("cloudburst_last_pass_duration_seconds", "How long the last reconcile pass took.",
            seconds(r.last_pass_duration_ms));
    x.gauge("cloudburst_last_pass_ok",
            "1 when the last pass could read CycleCloud and Slurm, else 0.",
            r.last_pass_error.empty() && r.last_pass_ms != 0 ? "1" : "0");
    for (const auto& c : k_counters) {
        x.counter(c.name, c.help, r.*(c.field));
    }
    x.family("cloudburst_errors_total", "counter",
             "Failed CycleCloud and Slurm calls and passes, by error class.");
    std::map<std::string, long> errors = r.errors_by_class;
    for (const char* c : k_error_classes) {
        errors.emplace(c, 0);
    }
    for (const auto& [cls, n] : errors) {
        x.sample("cloudburst_errors_total", {{"class", cls}}, std::to_string(n));
    }
    x.family("cloudburst_nodes", "gauge", "Nodes cloudburst knows, by node array and phase.");
    for (const auto& [array, phases] : r.nodes) {
        std::map<std::string, long> all = phases;
        for (const char* p : k_phases) {
            all.emplace(p, 0);
        }
        for (const auto& [phase, n] : all) {
            x.sample("cloudburst_nodes", {{"nodearray", array}, {"phase", phase}},
                     std::to_string(n));
        }
    }
    x.family("cloudburst_vms", "gauge",
             "CycleCloud's nodes that are not Off, by node array and CycleCloud status.");
    for (const auto& [array, statuses] : r.vms) {
        for (const auto& [status, n] : statuses) {
            x.sample("cloudburst_vms", {{"nodearray", array}, {"status", status}},
                     std::to_string(n));
        }
    }
    x.gauge("cloudburst_creates_in_flight",
            "Nodes whose create call was made and whose VM has no address yet.",
            std::to_string(r.creates_in_flight));
    x.family("cloudburst_nodearray_blocked", "gauge",
             "1 for a node array that gets no create call now: backed off (state=\"backoff\") "
             "or with its breaker open (state=\"breaker\"), with the error class. A further "
             "VM size of an array is labelled with its node range (<array>-<size>).");
    x.family("cloudburst_nodearray_blocked_until_seconds", "gauge",
             "Until when a blocked node array gets no create call (Unix time).");
    for (const auto& b : r.blocked) {
        const bool active = b.until_ms > r.now_ms;
        const std::string_view state = b.kind == "permanent" || b.bootstrap ? "breaker" : "backoff";
        x.sample("cloudburst_nodearray_blocked",
                 {{"nodearray", b.range.empty() ? b.nodearray : b.range},
                  {"state", state},
                  {"class", b.kind}},
                 active ? "1" : "0");
    }
    for (const auto& b : r.blocked) {
        x.sample("cloudburst_nodearray_blocked_until_seconds",
                 {{"nodearray", b.range.empty() ? b.nodearray : b.range}}, seconds(b.until_ms));
    }
    x.gauge("cloudburst_gates_waiting",
            "Jobs held by the prolog gate until their cloud nodes register.",
            std::to_string(r.gates_waiting));
    x.histogram("cloudburst_create_call_duration_seconds",
                "How long CycleCloud took to answer a create call.", r.create_call_seconds);
    x.histogram("cloudburst_node_boot_seconds",
                "From a node's create call to its VM having an address.", r.boot_seconds);
    x.histogram("cloudburst_node_registration_seconds",
                "From a node's VM having an address to slurmd registering with Slurm.",
                r.registration_seconds);
    x.histogram("cloudburst_node_first_job_seconds",
                "From slurmd registering to Slurm giving the node its first job (at the "
                "daemon's pass resolution).",
                r.first_job_seconds);
    x.family("cloudburst_budget_spent", "gauge",
             "This month's spend (UTC) against a monthly budget (labelled by its node array or "
             "its partition), in the config's currency.");
    for (const auto& b : r.budgets) {
        x.sample("cloudburst_budget_spent", {{label_of(b.scope), b.name}, {"currency", r.currency}},
                 number(b.spent));
    }
    x.family("cloudburst_budget_monthly", "gauge",
             "A monthly budget of a node array or a partition, in the config's currency.");
    for (const auto& b : r.budgets) {
        x.sample("cloudburst_budget_monthly",
                 {{label_of(b.scope), b.name}, {"currency", r.currency}}, number(b.monthly));
    }
    return x.take();
}

ControlRequest classify_control_line(std::string_view line) {
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) {
        line.remove_suffix(1);
    }
    if (line.empty() || line == "poke") {
        return ControlRequest::k_poke;
    }
    if (line == "status") {
        return ControlRequest::k_status;
    }
    if (line.rfind("wait ", 0) == 0) {
        return ControlRequest::k_wait;
    }
    return ControlRequest::k_unknown;
}

}  // namespace cb
