#include <gtest/gtest.h>

#include "core/cost.h"
#include "core/limits.h"
#include "core/usage.h"
#include "util/files.h"

namespace cb {
namespace {

constexpr std::int64_t k_hour = 3600 * 1000;
// 2026-12-06T00:00:00Z
constexpr std::int64_t k_day = 1796515200000;

PriceTable prices(const std::string& text) {
    auto t = PriceTable::parse(text, "prices.csv");
    EXPECT_TRUE(t) << t.error().describe();
    return t ? *t : PriceTable{};
}

const std::string k_prices =
    "# sample\n"
    "vm_size,region,hourly,spot_hourly\n"
    "Standard_F2s_v2,*,0.10,0.02\n"
    "Standard_F2s_v2,westeurope,0.12,\n"
    "Standard_HB176rs_v4,eastus,7.20,1.44\n";

VmUsage usage(std::string node, std::string array, std::string size, std::int64_t start,
              std::int64_t end, bool spot = false, std::string region = "eastus") {
    VmUsage u;
    u.node = std::move(node);
    u.nodearray = std::move(array);
    u.machine_type = std::move(size);
    u.region = std::move(region);
    u.spot = spot;
    u.started_ms = start;
    u.ended_ms = end;
    return u;
}

TEST(PriceTable, RegionBeatsAnyRegionAndSizesIgnoreCase) {
    const auto t = prices(k_prices);
    EXPECT_EQ(t.size(), 3u);
    EXPECT_DOUBLE_EQ(*t.hourly("standard_f2s_v2", "eastus", false), 0.10);
    EXPECT_DOUBLE_EQ(*t.hourly("Standard_F2s_v2", "westeurope", false), 0.12);
    EXPECT_DOUBLE_EQ(*t.hourly("Standard_F2s_v2", "eastus", true), 0.02);
    EXPECT_FALSE(t.hourly("Standard_F2s_v2", "westeurope", true));  // no Spot price there
    EXPECT_FALSE(t.hourly("Standard_HB176rs_v4", "westeurope", false));
    EXPECT_FALSE(t.hourly("Standard_D2s_v5", "eastus", false));
}

// The sample we ship parses and prices the sizes of the template's node arrays.
TEST(PriceTable, TheShippedSampleParses) {
    auto text = read_file(std::string(CB_SOURCE_DIR) + "/packaging/prices-sample.csv");
    ASSERT_TRUE(text) << text.error().describe();
    auto t = PriceTable::parse(*text, "prices-sample.csv");
    ASSERT_TRUE(t) << t.error().describe();
    EXPECT_GT(t->size(), 20u);
    EXPECT_TRUE(t->hourly("Standard_F2s_v2", "eastus", false));
    EXPECT_TRUE(t->hourly("Standard_HB176rs_v4", "westeurope", false));
}

TEST(PriceTable, BadLinesSayWhichLineAndWhatIsExpected) {
    struct Case {
        std::string text;
        std::string message;
    };
    const Case cases[] = {
        {"", "prices.csv: empty; expected the header"},
        {"size,hourly\n",
         "prices.csv line 1: expected the header 'vm_size,region,hourly,"
         "spot_hourly', got 'size,hourly'"},
        {"vm_size,region,hourly,spot_hourly\nStandard_F2s_v2,*,abc,\n",
         "prices.csv line 2: hourly 'abc' is not a price"},
        {"vm_size,region,hourly,spot_hourly\nStandard_F2s_v2,*,-1,\n",
         "prices.csv line 2: hourly '-1' is not a price"},
        {"vm_size,region,hourly,spot_hourly\n\nStandard_F2s_v2,*,1,x\n",
         "prices.csv line 3: spot_hourly 'x' is not a price"},
        {"vm_size,region,hourly,spot_hourly\nStandard_F2s_v2,*,1\n",
         "prices.csv line 2: expected 4 comma-separated fields"},
        {"vm_size,region,hourly,spot_hourly\nStandard F2,*,1,\n",
         "prices.csv line 2: 'Standard F2' is not a VM size"},
        {"vm_size,region,hourly,spot_hourly\nA,east us,1,\n",
         "prices.csv line 2: 'east us' is not a region"},
        {"vm_size,region,hourly,spot_hourly\nA,*,1,\na,*,2,\n",
         "prices.csv line 3: a second price for a in *"},
        {"vm_size,region,hourly,spot_hourly\nA,*,nan,\n",
         "prices.csv line 2: hourly 'nan' is not a price"},
    };
    for (const auto& c : cases) {
        auto t = PriceTable::parse(c.text, "prices.csv");
        ASSERT_FALSE(t) << c.text;
        EXPECT_EQ(t.error().kind, ErrorKind::k_config);
        EXPECT_EQ(t.error().message.rfind(c.message, 0), 0u)
            << t.error().message << "\n  expected to start with: " << c.message;
    }
}

TEST(Usage, BillingVmsOpenRecordsAndGoneOnesCloseThem) {
    std::map<std::string, CloudNode> cloud;
    auto vm = [&](std::string name, VmStatus st, std::string ip, std::string array = "hpc") {
        CloudNode n;
        n.name = name;
        n.nodearray = std::move(array);
        n.machine_type = "Standard_F2s_v2";
        n.status = st;
        n.private_ip = std::move(ip);
        cloud[name] = n;
    };
    vm("hpc-1", VmStatus::k_ready, "198.18.0.2");
    vm("hpc-2", VmStatus::k_acquiring, "");                // not allocated yet
    vm("hpc-3", VmStatus::k_failed, "");                   // never got a VM
    vm("hpc-4", VmStatus::k_failed, "198.18.0.5");         // a VM that failed: still bills
    vm("hpc-5", VmStatus::k_deallocated, "198.18.0.6");    // stopped
    vm("scheduler", VmStatus::k_ready, "198.18.0.1", "");  // not a node of ours
    vm("gpu-1", VmStatus::k_ready, "198.18.0.7", "hpc");   // its name says another array
    std::map<std::string, NodeArray> arrays;
    arrays["hpc"].name = "hpc";
    arrays["hpc"].region = "eastus";
    arrays["hpc"].interruptible = true;

    const auto first = usage_changes({}, cloud, arrays, "", k_day);
    ASSERT_EQ(first.opened.size(), 2u);
    EXPECT_TRUE(first.closed.empty());
    EXPECT_EQ(first.opened[0].node, "hpc-1");
    EXPECT_EQ(first.opened[1].node, "hpc-4");
    EXPECT_EQ(first.opened[0].region, "eastus");
    EXPECT_TRUE(first.opened[0].spot);
    EXPECT_EQ(first.opened[0].started_ms, k_day);

    std::vector<VmUsage> open = first.opened;
    open[0].id = 1;
    open[1].id = 2;
    EXPECT_TRUE(usage_changes(open, cloud, arrays, "", k_day + 1000).empty());

    cloud["hpc-1"].status = VmStatus::k_terminating;  // still billing while it is deleted
    cloud.erase("hpc-4");
    const auto later = usage_changes(open, cloud, arrays, "", k_day + k_hour);
    EXPECT_TRUE(later.opened.empty());
    ASSERT_EQ(later.closed.size(), 1u);
    EXPECT_EQ(later.closed[0].id, 2);
    EXPECT_EQ(later.closed[0].ended_ms, k_day + k_hour);

    // The same name with another size is another VM.
    cloud["hpc-1"].status = VmStatus::k_ready;
    cloud["hpc-1"].machine_type = "Standard_F4s_v2";
    const auto resized = usage_changes({open[0]}, cloud, arrays, "", k_day + 2 * k_hour);
    ASSERT_EQ(resized.closed.size(), 1u);
    ASSERT_EQ(resized.opened.size(), 1u);
    EXPECT_EQ(resized.opened[0].machine_type, "Standard_F4s_v2");
}

TEST(Cost, GroupsHoursAndMoneyInsideTheRange) {
    const auto t = prices(k_prices);
    const std::vector<VmUsage> u = {
        usage("hpc-1", "hpc", "Standard_F2s_v2", k_day, k_day + 2 * k_hour),
        usage("hpc-2", "hpc", "Standard_F2s_v2", k_day + k_hour, 0),  // still running
        usage("spot-1", "spot", "Standard_F2s_v2", k_day, k_day + k_hour, true),
        usage("big-1", "big", "Standard_D96_v5", k_day, k_day + k_hour),  // no price
    };
    const auto partition = [](const std::string& a) { return a == "spot" ? "hpc" : a; };
    const std::int64_t now = k_day + 3 * k_hour;
    const auto by_array = cost_by(u, t, CostGrouping::k_nodearray, k_day, now, now, partition);
    ASSERT_EQ(by_array.size(), 3u);
    EXPECT_EQ(by_array[0].key, "big");
    EXPECT_DOUBLE_EQ(by_array[0].vm_hours, 1.0);
    EXPECT_DOUBLE_EQ(by_array[0].cost, 0.0);
    EXPECT_EQ(by_array[0].unpriced, std::vector<std::string>{"Standard_D96_v5"});
    EXPECT_EQ(by_array[1].key, "hpc");
    EXPECT_EQ(by_array[1].vms, 2);
    EXPECT_DOUBLE_EQ(by_array[1].vm_hours, 4.0);  // 2 h + 2 h of the running one
    EXPECT_NEAR(by_array[1].cost, 0.40, 1e-9);
    EXPECT_EQ(by_array[2].key, "spot");
    EXPECT_NEAR(by_array[2].cost, 0.02, 1e-9);

    const auto by_partition = cost_by(u, t, CostGrouping::k_partition, k_day, now, now, partition);
    ASSERT_EQ(by_partition.size(), 2u);
    EXPECT_EQ(by_partition[1].key, "hpc");
    EXPECT_NEAR(by_partition[1].cost, 0.42, 1e-9);

    const auto by_spot = cost_by(u, t, CostGrouping::k_spot, k_day, now, now, partition);
    ASSERT_EQ(by_spot.size(), 2u);
    EXPECT_EQ(by_spot[0].key, "regular");
    EXPECT_EQ(by_spot[1].key, "spot");

    // Only the part inside the range counts: the first half hour of the day is cut off.
    const auto late =
        cost_by(u, t, CostGrouping::k_node, k_day + k_hour / 2, k_day + k_hour, now, partition);
    ASSERT_EQ(late.size(), 3u);  // hpc-2 starts at the range's end
    EXPECT_EQ(late[1].key, "hpc-1");
    EXPECT_DOUBLE_EQ(late[1].vm_hours, 0.5);
}

TEST(Cost, SacctLinesAreParsedAndJobsPayForTheirCloudNodes) {
    const std::int64_t s = k_day / 1000;
    const std::string sacct = "101|alice|physics|hpc|hpc-[1-2]|" + std::to_string(s) + "|" +
                              std::to_string(s + 3600) +
                              "\n"
                              "102|bob|chem|hpc|onprem-1|" +
                              std::to_string(s) + "|" + std::to_string(s + 3600) +
                              "\n"
                              "103|bob|chem|hpc|None assigned|Unknown|Unknown\n"
                              "104|carol|physics|hpc|hpc-1|" +
                              std::to_string(s + 1800) + "|Unknown\n";
    auto jobs = parse_sacct_jobs(sacct);
    ASSERT_TRUE(jobs) << jobs.error().describe();
    ASSERT_EQ(jobs->size(), 4u);
    EXPECT_EQ((*jobs)[0].nodes, (std::vector<std::string>{"hpc-1", "hpc-2"}));
    EXPECT_EQ((*jobs)[0].start_ms, k_day);
    EXPECT_EQ((*jobs)[3].end_ms, 0);
    EXPECT_TRUE((*jobs)[2].nodes.empty());

    const auto t = prices(k_prices);
    const std::vector<VmUsage> u = {
        usage("hpc-1", "hpc", "Standard_F2s_v2", k_day - k_hour, 0),
        usage("hpc-2", "hpc", "Standard_F2s_v2", k_day, k_day + k_hour / 2),
    };
    const std::int64_t now = k_day + 2 * k_hour;
    const auto by_job = job_cost(*jobs, u, t, JobGrouping::k_job, 0, now, now);
    ASSERT_EQ(by_job.size(), 2u);  // 102 ran on-prem, 103 never started
    EXPECT_EQ(by_job[0].key, "101");
    EXPECT_DOUBLE_EQ(by_job[0].vm_hours, 1.5);  // hpc-1 1 h, hpc-2 until its VM went
    EXPECT_EQ(by_job[1].key, "104");
    EXPECT_DOUBLE_EQ(by_job[1].vm_hours, 1.5);  // still running at `now`
    const auto by_account = job_cost(*jobs, u, t, JobGrouping::k_account, 0, now, now);
    ASSERT_EQ(by_account.size(), 1u);
    EXPECT_EQ(by_account[0].key, "physics");
    EXPECT_NEAR(by_account[0].cost, 0.30, 1e-9);
}

TEST(Cost, SacctGarbageIsAnErrorNamingTheLine) {
    for (const std::string bad : {"1|a|b|c|hpc-1|x|1\n", "1|a|b|c|hpc-[1|1|1\n", "1|a|b\n"}) {
        auto jobs = parse_sacct_jobs("101|a|b|hpc|hpc-1|1|2\n" + bad);
        ASSERT_FALSE(jobs) << bad;
        EXPECT_EQ(jobs.error().kind, ErrorKind::k_slurm);
        EXPECT_NE(jobs.error().message.find("sacct line 2: "), std::string::npos)
            << jobs.error().message;
    }
}

TEST(Cost, MonthsAreCalendarMonthsInUtc) {
    EXPECT_EQ(date_text(k_day), "2026-12-06");
    EXPECT_EQ(date_text(month_start_ms(k_day)), "2026-12-01");
    EXPECT_EQ(date_text(next_month_start_ms(k_day)), "2027-01-01");
    EXPECT_EQ(next_month_start_ms(k_day) % (24 * k_hour), 0);
    EXPECT_EQ(month_start_ms(month_start_ms(k_day)), month_start_ms(k_day));
}

TEST(Cost, BudgetsWarnThenRunOutThisMonthOnly) {
    const auto t = prices(k_prices);
    const std::int64_t month = month_start_ms(k_day);
    const std::vector<VmUsage> u = {
        // Last month: does not count.
        usage("hpc-1", "hpc", "Standard_HB176rs_v4", month - 10 * k_hour, month - k_hour),
        // This month: 1 h and a running one.
        usage("hpc-2", "hpc", "Standard_HB176rs_v4", month, month + k_hour),
        usage("hpc-3", "hpc", "Standard_HB176rs_v4", month + k_hour, 0),
        usage("other-1", "other", "Standard_HB176rs_v4", month, 0),
    };
    const std::vector<Budget> budgets{{BudgetScope::k_nodearray, "hpc", 20.0}};
    const PartitionOf partition_of = [](const std::string& a) { return a; };
    // At month + 1.5 h: 1 h + 0.5 h = 1.5 h * 7.20 = 10.80 (54 %).
    auto s = budget_states(budgets, u, t, 50, month + 3 * k_hour / 2, partition_of);
    ASSERT_EQ(s.size(), 1u);
    EXPECT_NEAR(s[0].spent, 10.80, 1e-9);
    EXPECT_TRUE(s[0].warned);
    EXPECT_FALSE(s[0].exhausted);
    // At month + 2 h: 2 h = 14.40; at + 3 h: 21.60 >= 20.
    s = budget_states(budgets, u, t, 80, month + 2 * k_hour, partition_of);
    EXPECT_FALSE(s[0].warned);
    s = budget_states(budgets, u, t, 80, month + 3 * k_hour, partition_of);
    EXPECT_TRUE(s[0].exhausted);
    EXPECT_NEAR(s[0].spent, 21.60, 1e-9);
}

// A partition's budget counts the VMs of every node array in it (and of no other), warns at
// the warning share, and once spent stops each of its arrays; an array's own spent budget is
// the one named for it.
TEST(Cost, APartitionBudgetCountsAndStopsAllItsNodeArrays) {
    const auto t = prices(k_prices);
    const std::int64_t month = month_start_ms(k_day);
    const PartitionOf partition_of = [](const std::string& a) {
        return a == "hpc" || a == "hpcspot" ? std::string("hpc") : a;
    };
    const std::vector<VmUsage> u = {
        usage("hpc-1", "hpc", "Standard_HB176rs_v4", month, 0),                // 7.20 an hour
        usage("hpcspot-1", "hpcspot", "Standard_HB176rs_v4", month, 0, true),  // 1.44
        usage("gpu-1", "gpu", "Standard_HB176rs_v4", month, 0),
    };
    Config config;
    config.cost.partition_budgets = {"hpc=40"};
    NodeArrayConfig gpu;
    gpu.name = "gpu";
    gpu.monthly_budget = 100.0;
    config.node_arrays = {gpu};
    const std::vector<Budget> budgets = monthly_budgets(config);
    ASSERT_EQ(budgets.size(), 2u);
    EXPECT_EQ(budgets[0].scope, BudgetScope::k_nodearray);
    EXPECT_EQ(budgets[0].name, "gpu");
    EXPECT_EQ(budgets[1].scope, BudgetScope::k_partition);
    EXPECT_EQ(budgets[1].name, "hpc");
    EXPECT_DOUBLE_EQ(budgets[1].monthly, 40.0);

    // 4 h: hpc 4 * (7.20 + 1.44) = 34.56 (86 %: warned); gpu 28.80 (28 %).
    auto s = budget_states(budgets, u, t, 80, month + 4 * k_hour, partition_of);
    ASSERT_EQ(s.size(), 2u);
    EXPECT_NEAR(s[0].spent, 28.80, 1e-9);
    EXPECT_FALSE(s[0].warned);
    EXPECT_NEAR(s[1].spent, 34.56, 1e-9);
    EXPECT_TRUE(s[1].warned);
    EXPECT_FALSE(s[1].exhausted);
    const std::vector<std::string> arrays{"gpu", "hpc", "hpcspot", "htc"};
    EXPECT_TRUE(spent_budgets(s, arrays, partition_of).empty());

    // 5 h: hpc 43.20 >= 40: both of its arrays stop, gpu and htc do not.
    s = budget_states(budgets, u, t, 80, month + 5 * k_hour, partition_of);
    EXPECT_TRUE(s[1].exhausted);
    auto spent = spent_budgets(s, arrays, partition_of);
    ASSERT_EQ(spent.size(), 2u);
    EXPECT_EQ(spent.at("hpc"), &s[1]);
    EXPECT_EQ(spent.at("hpcspot"), &s[1]);

    // gpu in partition hpc too, its own budget spent as well: its own is the one named.
    const PartitionOf all_hpc = [](const std::string& a) {
        return a == "htc" ? a : std::string("hpc");
    };
    s = budget_states(budgets, u, t, 80, month + 14 * k_hour, all_hpc);
    EXPECT_TRUE(s[0].exhausted);  // gpu: 100.80
    EXPECT_TRUE(s[1].exhausted);
    EXPECT_NEAR(s[1].spent, 14 * (7.20 + 1.44 + 7.20), 1e-9);
    spent = spent_budgets(s, arrays, all_hpc);
    ASSERT_EQ(spent.size(), 3u);
    EXPECT_EQ(spent.at("gpu"), &s[0]);
    EXPECT_EQ(spent.at("hpc"), &s[1]);
    EXPECT_EQ(spent.count("htc"), 0u);
}

TEST(Limits, TheLimitWithTheLeastRoomBindsAndHealthOverrides) {
    NodeArray a;
    a.name = "hpc";
    a.max_count = 10;
    Bucket b;
    b.machine_type = "Standard_HB176rs_v4";
    b.vcpu_count = 176;
    b.max_count = 10;
    b.active_count = 4;
    b.available_count = 2;
    b.family_quota_core_count = 176 * 8;
    b.family_consumed_core_count = 176 * 6;  // room for 2
    b.regional_quota_core_count = 10000;
    b.regional_consumed_core_count = 0;
    b.max_placement_group_size = 100;
    a.buckets = {b};
    const auto rows = burst_limits({a}, ClusterLimits{100, 0}, {}, k_day);
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_EQ(rows[0].binding, "family quota");
    EXPECT_EQ(rows[0].room_nodes, 2);
    bool saw_array = false;
    for (const auto& l : rows[0].limits) {
        if (l.name == "node array MaxCount") {
            saw_array = true;
            EXPECT_EQ(l.used, 4);
            EXPECT_EQ(l.room_nodes, 6);
        }
    }
    EXPECT_TRUE(saw_array);

    // The array's own limit, when it is the tightest, is named rather than the bucket's.
    a.max_count = 5;
    a.buckets[0].max_count = 5;
    a.buckets[0].family_quota_core_count = 176 * 100;
    a.buckets[0].available_count = 1;
    auto tight = burst_limits({a}, ClusterLimits{}, {}, k_day);
    EXPECT_EQ(tight[0].binding, "node array MaxCount");
    EXPECT_EQ(tight[0].room_nodes, 1);

    std::map<std::string, ArrayHealth> health;
    health["hpc"].budget = true;
    health["hpc"].reason = "cloudburst: budget: spent";
    health["hpc"].until_ms = k_day + k_hour;
    tight = burst_limits({a}, ClusterLimits{}, health, k_day);
    EXPECT_EQ(tight[0].binding, "budget: cloudburst: budget: spent");
    EXPECT_EQ(tight[0].room_nodes, 0);
    tight = burst_limits({a}, ClusterLimits{}, health, k_day + 2 * k_hour);  // over
    EXPECT_EQ(tight[0].binding, "node array MaxCount");

    a.buckets[0].valid = false;
    a.buckets[0].invalid_reason = "DisabledMachineType\x1b[31m";
    tight = burst_limits({a}, ClusterLimits{}, {}, k_day);
    EXPECT_EQ(tight[0].binding.rfind("invalid: DisabledMachineType", 0), 0u);
    EXPECT_EQ(tight[0].binding.find('\x1b'), std::string::npos);
}

}  // namespace
}  // namespace cb
