// Issue 5's failures against the real stack: real slurmctld, the emulator with namespace VMs
// running slurmd, cloudburstd and its hooks (testbed.sh up --cloudburst). Each test injects
// one failure and checks that it heals without an operator, and that Slurm shows why.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <optional>

#include "adapters/cyclecloud_rest.h"
#include "testbed.h"
#include "util/files.h"

namespace cb::system_test {
namespace {

using namespace std::chrono_literals;

class HealSystem : public ::testing::Test {
  protected:
    void SetUp() override {
        if (auto why = why_system_tests_cannot_run(); !why.empty()) {
            GTEST_SKIP() << why;
        }
    }

    // A testbed whose requeued jobs may start again after 15 s (AuthInfo cred_expire; the
    // default makes them wait 121 s), with `cloudburst_conf` added to the [daemon] section.
    void bring_up(const std::string& cloud_nodes, const std::string& cloudburst_conf,
                  std::vector<std::string> extra = {}) {
        auto files = TempDir::create("cb-heal");
        ASSERT_TRUE(files) << files.error().describe();
        m_files.emplace(std::move(*files));
        auto cb_extra = m_files->write("cloudburst-extra.toml", cloudburst_conf);
        ASSERT_TRUE(cb_extra) << cb_extra.error().describe();
        std::vector<std::string> args{
            "--cloudburst", "--cloud-nodes",     cloud_nodes, "--cred-expire",
            "15",           "--cloudburst-conf", *cb_extra};
        args.insert(args.end(), extra.begin(), extra.end());
        auto tb = Testbed::up(args);
        ASSERT_TRUE(tb) << tb.error().describe();
        m_tb = std::move(*tb);
    }

    // `cloudburst ARGS...` as root with the testbed's config: its output, or a test failure.
    nlohmann::json cloudburst_json(std::vector<std::string> args) const {
        std::vector<std::string> argv{std::string(CB_BINARY_DIR) + "/cloudburst", "--config",
                                      m_tb->dir() + "/etc/cloudburst.toml"};
        argv.insert(argv.end(), args.begin(), args.end());
        Command c{argv, minimal_environment(), {}, 30s};
        c.env.push_back("SLURM_CONF=" + m_tb->slurm_conf());
        auto out = run_command(c);
        if (!out || !out->ok()) {
            ADD_FAILURE() << "cloudburst " << args.front()
                          << " failed: " << (out ? out->out + out->err : out.error().describe());
            return nlohmann::json();
        }
        return nlohmann::json::parse(out->out, nullptr, false);
    }

    std::string why(const std::string& name) const {
        Command c{{std::string(CB_BINARY_DIR) + "/cloudburst", "--config",
                   m_tb->dir() + "/etc/cloudburst.toml", "why", name},
                  minimal_environment(),
                  {},
                  30s};
        auto out = run_command(c);
        return out ? out->out + out->err : out.error().describe();
    }

    // Files that outlive testbed.sh's reading of them (declared first: removed last).
    std::optional<TempDir> m_files;
    std::unique_ptr<Testbed> m_tb;
};

// Azure has no Standard_HB120rs_v3 to give: CycleCloud accepts the create and the job's first
// node (hpc-1) goes Failed in Acquiring with AllocationFailed, as on real Azure. The daemon
// treats that as capacity: the reason in Slurm, the job requeues and runs on the other node
// array, and hpc stays backed off (held DOWN) while htc is used.
TEST_F(HealSystem, CapacityShortfallRequeuesOnAnotherNodeArray) {
    bring_up("hpc-[1-2],htc-[1-2]", "[backoff]\ninitial = \"10m\"\n",
             {"--emulator-arg", "-p", "--emulator-arg", "HPCMachineType=Standard_HB120rs_v3",
              "--emulator-arg", "-p", "--emulator-arg", "MaxHPCExecuteCoreCount=1200",
              "--emulator-arg", "--fault", "--emulator-arg", "capacity=Standard_HB120rs_v3:0"});
    const std::string id =
        m_tb->submit(RunAs::k_nobody, {"--requeue", "-p", "cloud", "-N1", "--wrap", "hostname"});
    ASSERT_FALSE(id.empty());
    ASSERT_TRUE(wait_until(60s,
                           [&] {
                               return m_tb->node_field("hpc-1", "Reason")
                                          .rfind("cloudburst: capacity: Standard_HB120rs_v3", 0) ==
                                      0;
                           }))
        << "hpc-1: " << m_tb->node_state("hpc-1") << " " << m_tb->node_field("hpc-1", "Reason");
    EXPECT_NE(m_tb->node_field("hpc-1", "Reason").find("AllocationFailed"), std::string::npos);
    ASSERT_TRUE(wait_until(150s, [&] { return m_tb->job_state(id) == "COMPLETED"; }))
        << "job " << id << ": " << m_tb->job_state(id) << " on " << m_tb->job_field(id, "NodeList");
    EXPECT_EQ(m_tb->job_field(id, "NodeList").rfind("htc-", 0), 0u)
        << m_tb->job_field(id, "NodeList");
    EXPECT_GE(std::stoi(m_tb->job_field(id, "Restarts")), 1);
    // Still backed off: hpc-1 is held DOWN, so Slurm keeps away from it.
    EXPECT_TRUE(wait_until(30s, [&] { return m_tb->node_state("hpc-1").rfind("DOWN", 0) == 0; }))
        << m_tb->node_state("hpc-1");
    EXPECT_NE(why("hpc-1").find("cloudburst: capacity"), std::string::npos) << why("hpc-1");
    expect_no_secret_in_logs(*m_tb);
}

// A Spot VM is evicted while its job runs: the job requeues and completes, the node comes
// back to the pool by itself.
TEST_F(HealSystem, SpotEvictionDuringAJobRequeuesAndCompletes) {
    bring_up("htc-[1-2]", "");
    // First run: wait to be evicted. After the requeue: finish at once.
    const std::string id =
        m_tb->submit(RunAs::k_nobody,
                     {"--requeue", "-p", "cloud", "-N1", "--wrap",
                      "if [ \"${SLURM_RESTART_COUNT:-0}\" = 0 ]; then sleep 600; fi; hostname"});
    ASSERT_FALSE(id.empty());
    ASSERT_TRUE(wait_until(90s, [&] { return m_tb->job_state(id) == "RUNNING"; }))
        << m_tb->job_state(id) << " " << m_tb->job_field(id, "Reason");
    const std::string first = m_tb->job_field(id, "NodeList");
    ASSERT_TRUE(emulator_fault(*m_tb, {"evict=" + first}));
    ASSERT_TRUE(wait_until(
        60s,
        [&] {
            return m_tb->node_field(first, "Reason").rfind("cloudburst: lost: the VM", 0) == 0 ||
                   std::stoi("0" + m_tb->job_field(id, "Restarts")) >= 1;
        }))
        << first << ": " << m_tb->node_state(first) << " " << m_tb->node_field(first, "Reason");
    ASSERT_TRUE(wait_until(180s, [&] { return m_tb->job_state(id) == "COMPLETED"; }))
        << "job " << id << ": " << m_tb->job_state(id) << " " << m_tb->job_field(id, "Reason");
    EXPECT_GE(std::stoi(m_tb->job_field(id, "Restarts")), 1);
    EXPECT_NE(why(first).find("cloudburst: lost: the VM"), std::string::npos) << why(first);
    // The evicted node returns to the pool (idle~ or up again), never stuck down~.
    EXPECT_TRUE(wait_until(60s, [&] { return m_tb->node_state(first).rfind("DOWN", 0) != 0; }))
        << first << ": " << m_tb->node_state(first) << " " << m_tb->node_field(first, "Reason");
}

// CycleCloud marks the node of a running job Failed on a health event while its VM and
// slurmd keep running: the job is not killed. The node is drained, the job completes where
// it runs, and then the node is replaced (its Failed VM terminated, the node back in the pool).
TEST_F(HealSystem, HealthEventDuringAJobDrainsTheNodeAndTheJobCompletes) {
    bring_up("htc-[1-2]", "");
    // The job runs as nobody on the VM: the file the test writes is in the testbed's
    // directory (0755), which a VM sees at the same path (its /tmp is its own).
    const std::string marker = m_tb->dir() + "/release";
    // The job runs until the test lets it finish (a file it polls), then prints its host.
    const std::string id = m_tb->submit(
        RunAs::k_nobody,
        {"--requeue", "-p", "cloud", "-N1", "--wrap",
         "for i in $(seq 600); do [ -e " + marker + " ] && break; sleep 1; done; hostname"});
    ASSERT_FALSE(id.empty());
    ASSERT_TRUE(wait_until(90s, [&] { return m_tb->job_state(id) == "RUNNING"; }))
        << m_tb->job_state(id) << " " << m_tb->job_field(id, "Reason");
    const std::string node = m_tb->job_field(id, "NodeList");
    ASSERT_TRUE(emulator_fault(*m_tb, {"ready-fail=" + node}));
    ASSERT_TRUE(wait_until(
        60s,
        [&] {
            return m_tb->node_field(node, "Reason").find("draining: replaced when its jobs end") !=
                   std::string::npos;
        }))
        << node << ": " << m_tb->node_state(node) << " " << m_tb->node_field(node, "Reason");
    EXPECT_EQ(m_tb->job_state(id), "RUNNING") << "the health event must not kill the job";
    ASSERT_TRUE(write_file_atomic(marker, "", 0644));
    ASSERT_TRUE(wait_until(60s, [&] { return m_tb->job_state(id) == "COMPLETED"; }))
        << "job " << id << ": " << m_tb->job_state(id) << " " << m_tb->job_field(id, "Reason");
    EXPECT_EQ(m_tb->job_field(id, "Restarts"), "0");
    // Idle now: the Failed VM is terminated and the node returns to the pool.
    ASSERT_TRUE(wait_until(120s, [&] {
        return why(node).find("returned to the powered-down pool") != std::string::npos;
    })) << why(node);
    EXPECT_NE(why(node).find("cloudburst: cloud: VM failed"), std::string::npos) << why(node);
}

// Azure's eviction notice comes about 30 s before a Spot VM goes: the job is requeued at the
// notice, not when the VM disappears, and completes elsewhere.
TEST_F(HealSystem, SpotEvictionNoticeRequeuesTheJobBeforeTheVmGoes) {
    bring_up("htc-[1-2]", "");
    const std::string id =
        m_tb->submit(RunAs::k_nobody,
                     {"--requeue", "-p", "cloud", "-N1", "--wrap",
                      "if [ \"${SLURM_RESTART_COUNT:-0}\" = 0 ]; then sleep 600; fi; hostname"});
    ASSERT_FALSE(id.empty());
    ASSERT_TRUE(wait_until(90s, [&] { return m_tb->job_state(id) == "RUNNING"; }))
        << m_tb->job_state(id) << " " << m_tb->job_field(id, "Reason");
    const std::string first = m_tb->job_field(id, "NodeList");
    ASSERT_TRUE(emulator_fault(*m_tb, {"evict-notice=" + first}));
    ASSERT_TRUE(wait_until(180s, [&] { return m_tb->job_state(id) == "COMPLETED"; }))
        << "job " << id << ": " << m_tb->job_state(id) << " " << m_tb->job_field(id, "Reason");
    EXPECT_GE(std::stoi(m_tb->job_field(id, "Restarts")), 1);
    const std::string history = why(first);
    EXPECT_NE(history.find("cloudburst: evicted: Azure is reclaiming this Spot VM"),
              std::string::npos)
        << history;
    EXPECT_EQ(history.find("cloudburst: lost: the VM"), std::string::npos)
        << "the node was taken out at the notice, before the VM went: " << history;
}

// The VM boots but slurmd never registers: Slurm gives up at ResumeTimeout (down~,
// "ResumeTimeout reached") and calls the resume-fail hook; the VM is removed and the node
// returns to the pool by itself, where the requeued job later runs once VMs work again.
TEST_F(HealSystem, VmThatNeverRegistersIsRemovedAndTheNodeReturns) {
    bring_up(
        "hpc-[1-2]", "",
        {"--resume-timeout", "15", "--emulator-arg", "--fault", "--emulator-arg", "no-slurmd=1"});
    const std::string id =
        m_tb->submit(RunAs::k_nobody, {"--requeue", "-p", "cloud", "-N1", "--wrap", "hostname"});
    ASSERT_FALSE(id.empty());
    ASSERT_TRUE(wait_until(
        60s,
        [&] { return m_tb->node_field("hpc-1", "Reason").rfind("ResumeTimeout reached", 0) == 0; }))
        << "hpc-1: " << m_tb->node_state("hpc-1") << " " << m_tb->node_field("hpc-1", "Reason");
    ASSERT_TRUE(emulator_fault(*m_tb, {"no-slurmd=0"}));
    // The VM goes, and the node is back in the pool.
    ASSERT_TRUE(wait_until(60s, [&] {
        return why("hpc-1").find("returned to the powered-down pool") != std::string::npos;
    })) << why("hpc-1");
    EXPECT_NE(why("hpc-1").find("ResumeTimeout"), std::string::npos) << why("hpc-1");
    ASSERT_TRUE(wait_until(120s, [&] { return m_tb->job_state(id) == "COMPLETED"; }))
        << "job " << id << ": " << m_tb->job_state(id) << " " << m_tb->job_field(id, "Reason");
}

// A bad image: every VM boots, slurmd never starts. After bootstrap_failures nodes in a row
// the array stops getting VMs (not one VM per node per ResumeTimeout for ever) and Slurm says
// why; `cloudburst buckets reset` after the fix lets the requeued job run.
TEST_F(HealSystem, VmsThatNeverRegisterOpenTheBootstrapBreakerUntilReset) {
    bring_up(
        "hpc-[1-4]", "[backoff]\ninitial = \"10m\"\nbootstrap_failures = 2\n",
        {"--resume-timeout", "15", "--emulator-arg", "--fault", "--emulator-arg", "no-slurmd=1"});
    const std::string id =
        m_tb->submit(RunAs::k_nobody, {"--requeue", "-p", "cloud", "-N2", "--wrap", "hostname"});
    ASSERT_FALSE(id.empty());
    const std::string opened = "cloudburst: bootstrap: 2 nodes of hpc in a row never registered";
    const auto nodes_with_reason = [&] {
        int n = 0;
        for (const char* node : {"hpc-1", "hpc-2", "hpc-3", "hpc-4"}) {
            n += m_tb->node_field(node, "Reason").rfind(opened, 0) == 0 ? 1 : 0;
        }
        return n;
    };
    // The first two VMs never register; the requeued job's next two nodes fail at once.
    ASSERT_TRUE(wait_until(120s, [&] { return nodes_with_reason() >= 2; }))
        << "hpc-3: " << m_tb->node_state("hpc-3") << " " << m_tb->node_field("hpc-3", "Reason")
        << "\n"
        << why("hpc-3");
    EXPECT_LE(emulator_create_calls(*m_tb), 2) << "one create per ask of two nodes";
    for (const char* node : {"hpc-3", "hpc-4"}) {
        EXPECT_EQ(why(node).find("asked CycleCloud for a"), std::string::npos)
            << "no VM for a node of an array whose breaker is open:\n"
            << why(node);
    }
    // The operator fixes the image and resets the array (the backoff alone would last 10 min).
    ASSERT_TRUE(emulator_fault(*m_tb, {"no-slurmd=0"}));
    Command reset{{std::string(CB_BINARY_DIR) + "/cloudburst", "--config",
                   m_tb->dir() + "/etc/cloudburst.toml", "buckets", "reset", "hpc"},
                  minimal_environment(),
                  {},
                  30s};
    auto out = run_command(reset);
    ASSERT_TRUE(out) << out.error().describe();
    EXPECT_EQ(out->exit_code, 0) << out->out << out->err;
    EXPECT_NE(out->out.find("asked cloudburstd to forget the backoff and breakers of node "
                            "array hpc"),
              std::string::npos)
        << out->out;
    ASSERT_TRUE(wait_until(180s, [&] { return m_tb->job_state(id) == "COMPLETED"; }))
        << "job " << id << ": " << m_tb->job_state(id) << " " << m_tb->job_field(id, "Reason")
        << "\n"
        << why("hpc-1");
    EXPECT_NE(daemon_log(*m_tb).find("node array hpc: reset by the operator"), std::string::npos);
}

// A VM created behind cloudburst's back for a name Slurm does not know is removed after the
// orphan grace period, and nothing else is touched.
TEST_F(HealSystem, OrphanVmCreatedBehindOurBackIsRemovedAfterTheGrace) {
    bring_up("hpc-[1-2]", "orphan_grace = \"15s\"\n");
    CycleCloudOptions o;
    o.url = m_tb->env("CB_TESTBED_EMULATOR_URL");
    o.cluster = m_tb->env("CB_TESTBED_EMULATOR_CLUSTER");
    o.username = m_tb->env("CB_TESTBED_EMULATOR_USER");
    o.password = cyclecloud_password(*m_tb);
    o.ca_bundle = m_tb->env("CB_TESTBED_EMULATOR_CA");
    CycleCloudRest cloud(o);
    auto created = cloud.create_nodes({{"hpc", "", "hpc-9", ""}}, "behind-our-back");
    ASSERT_TRUE(created) << created.error().describe();
    ASSERT_EQ(created->sets.at(0).added, 1) << created->sets.at(0).message;
    ASSERT_TRUE(wait_until(30s, [&] {
        return why("hpc-9").find("removing it after") != std::string::npos;
    })) << why("hpc-9");
    EXPECT_EQ(emulator_vms(*m_tb), 1) << "noted, not yet removed";
    ASSERT_TRUE(wait_until(90s, [&] { return emulator_vms(*m_tb) == 0; }))
        << "the orphan is still there";
    EXPECT_NE(why("hpc-9").find("orphan VM"), std::string::npos) << why("hpc-9");
}

// A monthly budget, spent: at a price of 36,000 an hour one VM spends 10 a second, so a
// budget of 100 is gone about 10 s after the first VM came up. The next nodes asked for go
// DOWN with the budget's reason and get no VM; `cloudburst cost` shows what the burst cost
// and the spent budget, `cloudburst limits` names the budget as what binds.
// A price file in which every size of the shipped sample costs 36,000 an hour (10 a second),
// in a directory of its own that the daemon (slurm) can read; its path.
std::string expensive_prices(std::optional<TempDir>& dir) {
    auto sample = read_file(std::string(CB_SOURCE_DIR) + "/packaging/prices-sample.csv");
    EXPECT_TRUE(sample) << sample.error().describe();
    std::string prices = "vm_size,region,hourly,spot_hourly\n";
    for (const auto& line : lines_of(sample ? *sample : std::string())) {
        if (!line.empty() && line[0] != '#' && line.rfind("vm_size,", 0) != 0) {
            prices += line.substr(0, line.find(',')) + ",*,36000,\n";
        }
    }
    auto files = TempDir::create("cb-budget");
    EXPECT_TRUE(files) << files.error().describe();
    if (!files) {
        return "";
    }
    dir.emplace(std::move(*files));
    auto price_file = dir->write("prices.csv", prices);
    EXPECT_TRUE(price_file) << price_file.error().describe();
    EXPECT_EQ(::chmod(dir->path().c_str(), 0755), 0);
    return price_file ? *price_file : "";
}

TEST_F(HealSystem, ASpentMonthlyBudgetStopsNewVmsAndCostShowsTheBurst) {
    std::optional<TempDir> files;
    const std::string price_file = expensive_prices(files);
    ASSERT_FALSE(price_file.empty());
    bring_up("hpc-[1-4]",
             "[cost]\nprices = \"" + price_file + "\"\n[nodearrays.hpc]\nmonthly_budget = 100.0\n");
    auto first = m_tb->run_as(RunAs::k_nobody, {"/usr/bin/srun", "-p", "cloud", "-N1", "hostname"});
    ASSERT_TRUE(first && first->ok()) << (first ? first->err : first.error().describe());
    const std::string spent = "cloudburst: budget: node array hpc spent ";
    ASSERT_TRUE(wait_until(60s, [&] {
        return daemon_log(*m_tb).find("node array hpc: " + spent) != std::string::npos;
    })) << daemon_log(*m_tb);
    const long vms = emulator_vms(*m_tb);
    EXPECT_EQ(vms, 1);
    // Three more nodes: the array may not grow, so they fail at once and no VM is made.
    const std::string id =
        m_tb->submit(RunAs::k_nobody, {"-p", "cloud", "-N4", "--wrap", "hostname"});
    ASSERT_FALSE(id.empty());
    ASSERT_TRUE(wait_until(60s, [&] {
        int down = 0;
        for (const char* node : {"hpc-1", "hpc-2", "hpc-3", "hpc-4"}) {
            down += m_tb->node_field(node, "Reason").rfind(spent, 0) == 0 ? 1 : 0;
        }
        return down >= 3;
    })) << why("hpc-2");
    EXPECT_EQ(emulator_vms(*m_tb), vms) << "a VM was made for an array whose budget is spent";

    const auto cost = cloudburst_json({"cost", "--json"});
    ASSERT_TRUE(cost.is_object()) << cost.dump();
    ASSERT_EQ(cost["lines"].size(), 1u) << cost.dump(2);
    EXPECT_EQ(cost["lines"][0]["key"], "hpc");
    EXPECT_EQ(cost["lines"][0]["vms"], 1) << "one VM lifetime for the one VM made";
    EXPECT_GE(cost["lines"][0]["cost"].get<double>(), 100.0) << cost.dump(2);
    ASSERT_EQ(cost["budgets"].size(), 1u) << cost.dump(2);
    EXPECT_TRUE(cost["budgets"][0]["exhausted"].get<bool>()) << cost.dump(2);
    // The VM-hours agree with the price: cost = hours * 36000.
    EXPECT_NEAR(cost["cost"].get<double>(), cost["vm_hours"].get<double>() * 36000, 1e-6);

    const auto limits = cloudburst_json({"limits", "--json"});
    ASSERT_TRUE(limits.is_array() && !limits.empty()) << limits.dump();
    for (const auto& row : limits) {
        if (row["nodearray"] == "hpc") {
            EXPECT_EQ(row["binding"].get<std::string>().rfind("budget: " + spent, 0), 0u)
                << row.dump(2);
            EXPECT_EQ(row["room_nodes"], 0);
        }
    }
}

// A partition's budget: hpc and htc are both in partition "cloud" (cloudburst's and the
// testbed's Slurm partition), the budget of 100 is the partition's alone. A job on hpc spends
// it; then the nodes of both arrays that Slurm asks for go DOWN with the partition's reason
// and get no VM (htc never made one), and status, the metrics and `cost` show the budget.
TEST_F(HealSystem, ASpentPartitionBudgetStopsEveryNodeArrayOfThePartition) {
    std::optional<TempDir> files;
    const std::string price_file = expensive_prices(files);
    ASSERT_FALSE(price_file.empty());
    bring_up(
        "hpc-[1-2],htc-[1-2]",
        "[cost]\nprices = \"" + price_file +
            "\"\npartition_budgets = [\"cloud=100\"]\n"
            "[nodearrays.hpc]\npartition = \"cloud\"\n[nodearrays.htc]\npartition = \"cloud\"\n");
    auto first = m_tb->run_as(RunAs::k_nobody,
                              {"/usr/bin/srun", "-p", "cloud", "-w", "hpc-1", "-N1", "hostname"});
    ASSERT_TRUE(first && first->ok()) << (first ? first->err : first.error().describe());
    const std::string spent = "cloudburst: budget: partition cloud spent ";
    ASSERT_TRUE(wait_until(60s, [&] {
        const std::string log = daemon_log(*m_tb);
        return log.find("node array hpc: " + spent) != std::string::npos &&
               log.find("node array htc: " + spent) != std::string::npos;
    })) << daemon_log(*m_tb);
    const long vms = emulator_vms(*m_tb);
    EXPECT_EQ(vms, 1);
    // The other three nodes, of both arrays: no VM for either array.
    const std::string id = m_tb->submit(
        RunAs::k_nobody, {"-p", "cloud", "-N3", "-w", "hpc-2,htc-[1-2]", "--wrap", "hostname"});
    ASSERT_FALSE(id.empty());
    ASSERT_TRUE(wait_until(60s, [&] {
        int down = 0;
        for (const char* node : {"hpc-2", "htc-1", "htc-2"}) {
            down += m_tb->node_field(node, "Reason").rfind(spent, 0) == 0 ? 1 : 0;
        }
        return down == 3;
    })) << why("htc-1");
    EXPECT_EQ(emulator_vms(*m_tb), vms) << "a VM was made in a partition whose budget is spent";

    const auto status = cloudburst_json({"status", "--json"});
    ASSERT_TRUE(status.is_object()) << status.dump();
    ASSERT_EQ(status["budgets"].size(), 1u) << status.dump(2);
    EXPECT_EQ(status["budgets"][0]["partition"], "cloud") << status.dump(2);
    EXPECT_TRUE(status["budgets"][0]["exhausted"].get<bool>()) << status.dump(2);
    int blocked = 0;
    for (const auto& b : status["blocked"]) {
        blocked += b["kind"] == "budget" ? 1 : 0;
    }
    EXPECT_EQ(blocked, 2) << status.dump(2);
    Command scrape{
        {"/usr/bin/curl", "-sS", "--max-time", "10", m_tb->env("CLOUDBURST_METRICS_URL")},
        {},
        "",
        15s};
    auto metrics = run_command(scrape);
    ASSERT_TRUE(metrics && metrics->ok()) << (metrics ? metrics->err : metrics.error().describe());
    EXPECT_NE(metrics->out.find("\ncloudburst_budget_monthly{partition=\"cloud\",currency=\"USD\"} "
                                "100\n"),
              std::string::npos)
        << metrics->out;

    const auto cost = cloudburst_json({"cost", "--json"});
    ASSERT_TRUE(cost.is_object()) << cost.dump();
    ASSERT_EQ(cost["budgets"].size(), 1u) << cost.dump(2);
    EXPECT_EQ(cost["budgets"][0]["partition"], "cloud") << cost.dump(2);
    EXPECT_GE(cost["budgets"][0]["spent"].get<double>(), 100.0) << cost.dump(2);
    EXPECT_TRUE(cost["budgets"][0]["exhausted"].get<bool>()) << cost.dump(2);
}

}  // namespace
}  // namespace cb::system_test
