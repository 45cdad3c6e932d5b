// The status report's renderings: the JSON `cloudburst status` reads, the Prometheus text the
// metrics endpoint serves (checked by promtool, the Prometheus project's own parser), and the
// control socket's request lines.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <unistd.h>

#include "daemon/status_report.h"
#include "util/process.h"

namespace cb {
namespace {

StatusReport sample_report() {
    StatusReport r;
    r.version = "cloudburstd 1.2.3 (abc)";
    r.config_path = "/etc/cloudburst/cloudburst.toml";
    r.cluster = "slurm";
    r.pid = 42;
    r.started_ms = 1'700'000'000'000;
    r.now_ms = 1'700'000'100'000;
    r.last_pass_ms = 1'700'000'099'000;
    r.last_pass_duration_ms = 35;
    r.passes = 7;
    r.create_calls = 2;
    r.nodes_created = 5;
    r.api_throttled = 3;
    r.errors_by_class = {{"capacity", 2}};
    r.nodes = {{"hpc", {{"running", 3}, {"creating", 2}}}};
    r.vms = {{"hpc", {{"Ready", 3}, {"Acquiring", 2}}}};
    r.creates_in_flight = 2;
    r.blocked.push_back({"gpu", "capacity", "cloudburst: capacity: Standard_ND96 unavailable",
                         1'700'000'200'000, 2, false, "gpu", "Standard_ND96"});
    // A further VM size of gpu, held back on its own (core/node_range.h).
    r.blocked.push_back({"gpu", "quota", "cloudburst: quota: Standard_ND40rs_v2 in westeurope",
                         1'700'000'300'000, 1, false, "gpu-nd40rs-v2", "Standard_ND40rs_v2"});
    r.gates_waiting = 1;
    r.gates.push_back({"17", 4, 1'700'000'090'000});
    r.create_call_seconds.observe(0.2);
    r.create_call_seconds.observe(3);
    r.boot_seconds.observe(45);
    r.currency = "EUR";
    BudgetState array_budget;
    array_budget.name = "hpc";
    array_budget.monthly = 500;
    array_budget.spent = 120.5;
    BudgetState partition_budget;
    partition_budget.scope = BudgetScope::k_partition;
    partition_budget.name = "batch";
    partition_budget.monthly = 2000;
    partition_budget.spent = 2001.25;
    partition_budget.exhausted = true;
    r.budgets = {array_budget, partition_budget};
    return r;
}

// The value of the sample `line_start` ("cloudburst_nodes{nodearray=\"hpc\",phase=\"running\"}")
// in a Prometheus text, or "" when no line starts with it.
std::string sample_value(const std::string& text, const std::string& line_start) {
    const std::string key = "\n" + line_start + " ";
    const auto at = text.find(key);
    if (at == std::string::npos) {
        return "";
    }
    const auto from = at + key.size();
    return text.substr(from, text.find('\n', from) - from);
}

TEST(StatusReport, HistogramCountsEachObservationInItsBucketAndSumsThem) {
    Histogram h({1, 5});
    h.observe(0.5);
    h.observe(1);  // le="1" includes 1
    h.observe(4);
    h.observe(100);
    EXPECT_EQ(h.counts(), (std::vector<long>{2, 1, 1}));
    EXPECT_EQ(h.count(), 4);
    EXPECT_DOUBLE_EQ(h.sum(), 105.5);
}

TEST(StatusReport, JsonCarriesEveryPartTheStatusCommandShows) {
    const auto j = nlohmann::json::parse(status_json(sample_report()));
    EXPECT_EQ(j["version"], "cloudburstd 1.2.3 (abc)");
    EXPECT_EQ(j["config"], "/etc/cloudburst/cloudburst.toml");
    EXPECT_EQ(j["last_pass"]["duration_ms"], 35);
    EXPECT_EQ(j["api"]["throttled"], 3);
    EXPECT_EQ(j["api"]["errors"]["capacity"], 2);
    EXPECT_EQ(j["nodes"]["hpc"]["running"], 3);
    EXPECT_EQ(j["vms"]["hpc"]["Acquiring"], 2);
    EXPECT_EQ(j["creates_in_flight"], 2);
    EXPECT_EQ(j["blocked"][0]["nodearray"], "gpu");
    EXPECT_EQ(j["blocked"][0]["until_ms"], 1'700'000'200'000);
    EXPECT_EQ(j["blocked"][0]["range"], "gpu");
    EXPECT_EQ(j["blocked"][1]["nodearray"], "gpu");
    EXPECT_EQ(j["blocked"][1]["range"], "gpu-nd40rs-v2");
    EXPECT_EQ(j["blocked"][1]["vm_size"], "Standard_ND40rs_v2");
    EXPECT_EQ(j["gates"]["waiting"], 1);
    EXPECT_EQ(j["gates"]["jobs"][0]["job"], "17");
    EXPECT_EQ(j["histograms"]["create_call_seconds"]["count"], 2);
    ASSERT_EQ(j["budgets"].size(), 2u);
    EXPECT_EQ(j["budgets"][0]["nodearray"], "hpc");
    EXPECT_FALSE(j["budgets"][0].contains("partition"));
    EXPECT_EQ(j["budgets"][1]["partition"], "batch");
    EXPECT_FALSE(j["budgets"][1].contains("nodearray"));
    EXPECT_EQ(j["budgets"][1]["exhausted"], true);
    EXPECT_EQ(j["budgets"][1]["currency"], "EUR");
}

TEST(StatusReport, SecurityJsonReplacesInvalidUtf8FromTheCloud) {
    StatusReport r = sample_report();
    r.blocked[0].reason = std::string("cloudburst: capacity: \xff\xfe\"}\n");
    const std::string text = status_json(r);
    const auto j = nlohmann::json::parse(text);  // throws on invalid UTF-8
    EXPECT_EQ(j["blocked"][0]["reason"], "cloudburst: capacity: \xEF\xBF\xBD\xEF\xBF\xBD\"}\n");
    EXPECT_EQ(text.find('\n'), text.size() - 1) << "one line";
}

TEST(StatusReport, PrometheusTextHasTheFiguresOfTheReport) {
    const std::string text = "\n" + render_prometheus(sample_report());
    EXPECT_EQ(sample_value(text, "cloudburst_passes_total"), "7");
    EXPECT_EQ(sample_value(text, "cloudburst_create_calls_total"), "2");
    EXPECT_EQ(sample_value(text, "cloudburst_create_nodes_total"), "5");
    EXPECT_EQ(sample_value(text, "cloudburst_api_throttled_total"), "3");
    EXPECT_EQ(sample_value(text, "cloudburst_errors_total{class=\"capacity\"}"), "2");
    EXPECT_EQ(sample_value(text, "cloudburst_errors_total{class=\"quota\"}"), "0");
    EXPECT_EQ(sample_value(text, "cloudburst_nodes{nodearray=\"hpc\",phase=\"running\"}"), "3");
    EXPECT_EQ(sample_value(text, "cloudburst_nodes{nodearray=\"hpc\",phase=\"failed\"}"), "0");
    EXPECT_EQ(sample_value(text, "cloudburst_vms{nodearray=\"hpc\",status=\"Acquiring\"}"), "2");
    EXPECT_EQ(sample_value(text, "cloudburst_creates_in_flight"), "2");
    EXPECT_EQ(sample_value(text,
                           "cloudburst_nodearray_blocked{nodearray=\"gpu\",state=\"backoff\","
                           "class=\"capacity\"}"),
              "1");
    EXPECT_EQ(sample_value(text, "cloudburst_nodearray_blocked_until_seconds{nodearray=\"gpu\"}"),
              "1700000200");
    // A further VM size's series is its node range's, so the two never collide.
    EXPECT_EQ(sample_value(
                  text, "cloudburst_nodearray_blocked_until_seconds{nodearray=\"gpu-nd40rs-v2\"}"),
              "1700000300");
    EXPECT_EQ(sample_value(text, "cloudburst_last_pass_duration_seconds"), "0.035");
    EXPECT_EQ(sample_value(text, "cloudburst_gates_waiting"), "1");
    EXPECT_EQ(sample_value(text, "cloudburst_create_call_duration_seconds_bucket{le=\"0.25\"}"),
              "1");
    EXPECT_EQ(sample_value(text, "cloudburst_create_call_duration_seconds_bucket{le=\"+Inf\"}"),
              "2");
    EXPECT_EQ(sample_value(text, "cloudburst_create_call_duration_seconds_sum"), "3.2");
    EXPECT_EQ(sample_value(text, "cloudburst_node_boot_seconds_count"), "1");
    EXPECT_EQ(sample_value(text, "cloudburst_budget_spent{nodearray=\"hpc\",currency=\"EUR\"}"),
              "120.5");
    EXPECT_EQ(sample_value(text, "cloudburst_budget_spent{partition=\"batch\",currency=\"EUR\"}"),
              "2001.25");
    EXPECT_EQ(sample_value(text, "cloudburst_budget_monthly{partition=\"batch\",currency=\"EUR\"}"),
              "2000");
}

TEST(StatusReport, PrometheusLabelsEscapeWhatPrometheusWouldMisread) {
    EXPECT_EQ(prometheus_label("hpc"), "hpc");
    EXPECT_EQ(prometheus_label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    EXPECT_EQ(prometheus_label(std::string("x\x01y\x7f")), "x?y?");
    EXPECT_EQ(prometheus_label("gr\xC3\xBC\xC3\x9F"), "gr\xC3\xBC\xC3\x9F");  // UTF-8 passes
    EXPECT_EQ(prometheus_label(std::string("a\xff\xc3")), "a??");  // broken UTF-8 does not
    EXPECT_EQ(prometheus_label(std::string("\xC0\xAF")), "??");    // nor an overlong '/'
}

// promtool (Debian's prometheus package) parses and lints the text as Prometheus would; the
// report has every kind of series, and hostile label values from the cloud.
TEST(StatusReport, PrometheusTextPassesPromtoolCheckMetrics) {
    const std::string promtool = "/usr/bin/promtool";
    ASSERT_EQ(::access(promtool.c_str(), X_OK), 0)
        << promtool << " is missing: install Debian's prometheus package (scripts/install-deps.sh)";
    StatusReport r = sample_report();
    r.nodes["we\"ird\\array\n"] = {{"idle", 1}};
    r.blocked.push_back({"bad", "permanent", "x", 1, 5, true, "bad", ""});
    Command check;
    check.argv = {promtool, "check", "metrics"};
    check.input = render_prometheus(r);
    auto out = run_command(check);
    ASSERT_TRUE(out) << out.error().describe();
    EXPECT_EQ(out->exit_code, 0) << out->out << out->err;
    EXPECT_EQ(out->out + out->err, "") << "promtool lint findings";
}

TEST(StatusReport, ControlLinesAreClassifiedAndAnythingElseIsUnknown) {
    EXPECT_EQ(classify_control_line(""), ControlRequest::k_poke);  // older hooks send nothing
    EXPECT_EQ(classify_control_line("poke\n"), ControlRequest::k_poke);
    EXPECT_EQ(classify_control_line("status\n"), ControlRequest::k_status);
    EXPECT_EQ(classify_control_line("status\r\n"), ControlRequest::k_status);
    EXPECT_EQ(classify_control_line("wait 12 hpc-[1-2]\n"), ControlRequest::k_wait);
    EXPECT_EQ(classify_control_line("status please\n"), ControlRequest::k_unknown);
    EXPECT_EQ(classify_control_line("reset hpc\n"), ControlRequest::k_unknown);
    EXPECT_EQ(classify_control_line("STATUS\n"), ControlRequest::k_unknown);
}

}  // namespace
}  // namespace cb
