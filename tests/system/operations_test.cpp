// Operating a burst (issue #17): `cloudburst status` over the daemon's socket, the Prometheus
// endpoint scraped over loopback HTTP during a real burst (real slurmctld, the emulator with
// namespace VMs running slurmd) and checked by promtool, and the JSON-line event file.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "testbed.h"
#include "util/files.h"

namespace cb::system_test {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;

const std::string k_cloudburst = std::string(CB_BINARY_DIR) + "/cloudburst";

// The value of the sample whose line starts with `series` (name and labels), or -1.
double sample(const std::string& text, const std::string& series) {
    for (const auto& line : lines_of(text)) {
        if (line.rfind(series + " ", 0) == 0) {
            return std::stod(line.substr(series.size() + 1));
        }
    }
    return -1;
}

class OperationsSystem : public ::testing::Test {
  protected:
    void SetUp() override {
        if (auto why = why_system_tests_cannot_run(); !why.empty()) {
            GTEST_SKIP() << why;
        }
        auto tb = Testbed::up({"--cloudburst", "--cloud-nodes", "hpc-[1-8]"});
        ASSERT_TRUE(tb) << tb.error().describe();
        m_tb = std::move(*tb);
    }
    std::string scrape() const {
        Command c{{"/usr/bin/curl", "-sS", "--max-time", "10", m_tb->env("CLOUDBURST_METRICS_URL")},
                  {},
                  "",
                  15s};
        auto out = run_command(c);
        EXPECT_TRUE(out && out->ok()) << (out ? out->err : out.error().describe());
        return out ? out->out : "";
    }
    Result<CommandOutput> status(RunAs who, const std::vector<std::string>& args) const {
        std::vector<std::string> argv{k_cloudburst, "--config", m_tb->env("CLOUDBURST_CONFIG"),
                                      "status"};
        argv.insert(argv.end(), args.begin(), args.end());
        return m_tb->run_as(who, argv, 60s);
    }
    std::unique_ptr<Testbed> m_tb;
};

TEST_F(OperationsSystem, StatusMetricsAndEventsMatchABurstOfTwoNodes) {
    ASSERT_FALSE(m_tb->env("CLOUDBURST_METRICS_URL").empty()) << "testbed.env has no metrics URL";
    const std::string job =
        m_tb->submit(RunAs::k_nobody, {"-p", "cloud", "-N2", "--wrap", "sleep 60"});
    ASSERT_FALSE(job.empty());
    ASSERT_TRUE(wait_until(180s, [&] { return m_tb->job_state(job) == "RUNNING"; }))
        << "job " << job << " did not start: " << m_tb->job_state(job);

    // The daemon learns of the registrations at its next pass (every 2 s here).
    std::string metrics;
    ASSERT_TRUE(wait_until(30s, [&] {
        metrics = scrape();
        return sample(metrics, "cloudburst_nodes{nodearray=\"hpc\",phase=\"running\"}") == 2;
    })) << metrics;
    const long creates = emulator_create_calls(*m_tb);
    EXPECT_EQ(creates, 1);
    EXPECT_EQ(sample(metrics, "cloudburst_create_calls_total"), static_cast<double>(creates));
    EXPECT_EQ(sample(metrics, "cloudburst_create_nodes_total"), 2);
    EXPECT_EQ(sample(metrics, "cloudburst_vms{nodearray=\"hpc\",status=\"Ready\"}"),
              static_cast<double>(emulator_vms(*m_tb)));
    EXPECT_EQ(sample(metrics, "cloudburst_creates_in_flight"), 0);
    EXPECT_EQ(sample(metrics, "cloudburst_node_boot_seconds_count"), 2);
    EXPECT_EQ(sample(metrics, "cloudburst_node_registration_seconds_count"), 2);
    EXPECT_EQ(sample(metrics, "cloudburst_create_call_duration_seconds_count"), 1);
    EXPECT_EQ(sample(metrics, "cloudburst_errors_total{class=\"capacity\"}"), 0);
    EXPECT_EQ(sample(metrics, "cloudburst_last_pass_ok"), 1);
    EXPECT_GT(sample(metrics, "cloudburst_api_requests_total"), 0);

    // promtool is part of the test's tools (scripts/install-deps.sh): missing, the test fails.
    ASSERT_EQ(::access("/usr/bin/promtool", X_OK), 0)
        << "/usr/bin/promtool is missing: install Debian's prometheus package";
    Command check{{"/usr/bin/promtool", "check", "metrics"}, {}, metrics, 30s};
    auto checked = run_command(check);
    ASSERT_TRUE(checked) << checked.error().describe();
    EXPECT_EQ(checked->exit_code, 0) << checked->out << checked->err;
    EXPECT_EQ(checked->out + checked->err, "") << "promtool lint findings";

    // `cloudburst status` as root (the operator) tells the same story.
    auto out = status(RunAs::k_root, {"--json"});
    ASSERT_TRUE(out) << out.error().describe();
    ASSERT_EQ(out->exit_code, 0) << out->err;
    const json s = json::parse(out->out);
    EXPECT_EQ(s["nodes"]["hpc"]["running"], 2);
    EXPECT_EQ(s["counters"]["create_calls"], creates);
    EXPECT_EQ(s["config"], m_tb->env("CLOUDBURST_CONFIG"));
    EXPECT_TRUE(s["blocked"].empty());
    auto text = status(RunAs::k_root, {});
    ASSERT_TRUE(text) << text.error().describe();
    EXPECT_EQ(text->exit_code, 0) << text->err;
    EXPECT_NE(text->out.find("creates in flight: 0\n"), std::string::npos) << text->out;
    EXPECT_NE(text->out.find("node arrays blocked:\n  none\n"), std::string::npos) << text->out;

    // A cluster user may not ask: the socket is root's and SlurmUser's.
    auto user = status(RunAs::k_nobody, {});
    ASSERT_TRUE(user) << user.error().describe();
    EXPECT_EQ(user->exit_code, 4);
    EXPECT_NE(user->err.find("permission denied"), std::string::npos) << user->err;

    // The event file has each node's way up, ending in "running".
    auto events = read_file(m_tb->dir() + "/log/cloudburst/events.jsonl");
    ASSERT_TRUE(events) << events.error().describe();
    int running = 0;
    for (const auto& line : lines_of(*events)) {
        const json e = json::parse(line);  // every line is one JSON object
        running += e["event"] == "node_phase" && e["to"] == "running" ? 1 : 0;
    }
    EXPECT_EQ(running, 2) << *events;
    expect_no_secret_in_logs(*m_tb);

    // The daemon down: a clear message and exit 4.
    ASSERT_TRUE(stop_daemon(*m_tb, SIGTERM));
    auto down = status(RunAs::k_root, {});
    ASSERT_TRUE(down) << down.error().describe();
    EXPECT_EQ(down->exit_code, 4);
    EXPECT_NE(down->err.find("cloudburst: error: cloudburstd is not running: nothing answers on "),
              std::string::npos)
        << down->err;
}

}  // namespace
}  // namespace cb::system_test
