// Issue 11, finding 4: CycleCloud data in scontrol arguments. A node record named like a
// hostlist made the daemon reset the address of hundreds of nodes, PrivateIp went unchecked
// into NodeAddr=, and StatusMessage went with its newlines into Reason= and the logs.
#include <gtest/gtest.h>

#include <filesystem>

#include "adapters/slurm_cli.h"
#include "core/cloud_input.h"
#include "daemon/daemon.h"
#include "fakes/fake_cloud.h"
#include "fakes/temp_dir.h"
#include "util/files.h"
#include "util/log.h"
#include "util/sanitize.h"

namespace cb {
namespace {

using testing_fakes::FakeCloud;
using testing_fakes::FakeScheduler;

constexpr const char* k_hostlist_name = "hpc-[1-500],onprem-[1-64]";

class SecurityScontrolArguments : public testing::Test {
  protected:
    void SetUp() override {
        std::filesystem::create_directories(m_dir + "/spool");
        m_config.paths.spool_dir = m_dir + "/spool";
        m_config.paths.state_db = m_dir + "/state.db";
        NodeArray hpc;
        hpc.name = "hpc";
        hpc.machine_type = "Standard_F2s_v2";
        m_cloud.arrays = {hpc};
        for (int i = 1; i <= 4; ++i) {
            m_slurm.add_cloud_node("hpc-" + std::to_string(i));
        }
        // On-prem nodes: Slurm lists them, but not as cloud nodes.
        for (int i = 1; i <= 2; ++i) {
            SlurmNode n;
            n.name = "onprem-" + std::to_string(i);
            n.state.base = "IDLE";
            n.node_addr = "10.0.0." + std::to_string(i);
            m_slurm.nodes_by_name[n.name] = n;
        }
        auto j = Journal::open(m_config.paths.state_db);
        ASSERT_TRUE(j);
        m_journal.emplace(std::move(*j));
    }

    void spool(HookKind kind, const std::string& hosts) {
        ASSERT_TRUE(Spool(m_config.paths.spool_dir).submit({kind, hosts, "", m_now, 1}));
    }
    void step(Daemon& d, std::int64_t advance_ms = 1000) {
        ASSERT_TRUE(d.intake(m_now));
        auto st = d.pass(m_now);
        ASSERT_TRUE(st) << st.error().describe();
        m_now += advance_ms;
    }
    // Every name of every update Slurm received.
    std::vector<std::string> updated_names() const {
        std::vector<std::string> out;
        for (const auto& u : m_slurm.updates) {
            out.insert(out.end(), u.names.begin(), u.names.end());
        }
        return out;
    }

    testing_fakes::TempDir m_tmp{"cb-scontrol-args"};
    const std::string m_dir = m_tmp.path();
    Config m_config;
    FakeCloud m_cloud;
    FakeScheduler m_slurm;
    std::optional<Journal> m_journal;
    std::int64_t m_now = 1'700'000'000'000;
};

// The review's reproduction: CycleCloud lists a running VM of node array hpc whose name is a
// hostlist. As an orphan it was shut down, and its "address reset" then went to scontrol as
// NodeName=hpc-[1-500],onprem-[1-64] NodeAddr=...: 564 nodes.
TEST_F(SecurityScontrolArguments, AHostlistNamedRecordChangesNothingInSlurm) {
    CloudNode vm;
    vm.name = k_hostlist_name;
    vm.nodearray = "hpc";
    vm.status = VmStatus::k_ready;
    vm.status_text = "Ready";
    vm.private_ip = "198.18.0.66";
    m_cloud.vms[vm.name] = vm;
    const auto before = m_slurm.nodes_by_name;

    Daemon d(m_config, m_cloud, m_slurm, *m_journal);
    step(d);
    m_now += m_config.daemon.orphan_grace.count();
    step(d);
    m_cloud.finish_shutdowns();
    step(d);
    step(d);

    EXPECT_EQ(updated_names(), std::vector<std::string>{});
    EXPECT_TRUE(m_cloud.shutdown_calls.empty()) << "not a node of ours: left alone";
    ASSERT_EQ(m_slurm.nodes_by_name.size(), before.size());
    for (const auto& [name, node] : before) {
        EXPECT_EQ(m_slurm.nodes_by_name[name].node_addr, node.node_addr) << name;
    }

    // The adapter drops the record before the daemon sees it, and says so.
    std::vector<CloudNode> records{vm};
    records.push_back(vm);
    records.back().name = "hpc-2";
    const auto warnings = screen_cloud_nodes(records);
    ASSERT_EQ(records.size(), 1u);
    EXPECT_EQ(records[0].name, "hpc-2");
    ASSERT_EQ(warnings.size(), 1u);
    EXPECT_EQ(warnings[0],
              "cyclecloud: ignoring the node record 'hpc-[1-500],onprem-[1-64]': its name is not "
              "a plain node name (1 to 63 letters, digits, '.', '_' or '-')");

    // And scontrol never gets such a name as an argument.
    NodeUpdate reset{{k_hostlist_name}, "", "", {k_hostlist_name}, {k_hostlist_name}};
    auto st = check_node_update(reset);
    ASSERT_FALSE(st);
    EXPECT_EQ(st.error().kind, ErrorKind::k_invalid_input);
    EXPECT_EQ(st.error().message,
              "refusing to run scontrol update: 'hpc-[1-500],onprem-[1-64]' is not a plain node "
              "name; nothing was changed");
    SlurmCli cli({"/nonexistent/scontrol", "", std::chrono::milliseconds(1000)});
    auto ran = cli.update_nodes(reset);
    ASSERT_FALSE(ran);
    EXPECT_EQ(ran.error().kind, ErrorKind::k_invalid_input) << "refused before running anything";
}

// Only nodes Slurm lists as cloud nodes are ever updated: a request for an on-prem node (a
// spool file SlurmUser wrote) used to mark it DOWN.
TEST_F(SecurityScontrolArguments, OnlyNodesSlurmListsAsCloudNodesAreUpdated) {
    Daemon d(m_config, m_cloud, m_slurm, *m_journal);
    step(d);
    spool(HookKind::k_resume, "onprem-1,hpc-1");
    step(d);
    m_cloud.make_ready("hpc-1");
    step(d);
    const auto names = updated_names();
    EXPECT_EQ(names, std::vector<std::string>{"hpc-1"}) << "hpc-1's address, nothing else";
    EXPECT_EQ(m_slurm.nodes_by_name["onprem-1"].state.base, "IDLE");
    EXPECT_EQ(m_slurm.nodes_by_name["onprem-1"].node_addr, "10.0.0.1");

    std::vector<std::string> dropped;
    const std::vector<std::string_view> cloud_names{"hpc-1", "hpc-2"};
    const NodeUpdate only = only_cloud_nodes(
        {{"onprem-1", "hpc-2"}, "", "", {"onprem-1", "10.1.0.2"}, {"onprem-1", "hpc-2"}},
        NameSet(cloud_names), dropped);
    EXPECT_EQ(only.names, std::vector<std::string>{"hpc-2"});
    EXPECT_EQ(only.node_addrs, std::vector<std::string>{"10.1.0.2"});
    EXPECT_EQ(only.node_hostnames, std::vector<std::string>{"hpc-2"});
    EXPECT_EQ(dropped, std::vector<std::string>{"onprem-1"});
}

TEST_F(SecurityScontrolArguments, APrivateIpThatIsNotAnAddressIsIgnoredWithAWarning) {
    const std::vector<std::pair<std::string, std::string>> bad{{"hpc-1", "1.2.3.4 State=DOWN"},
                                                               {"hpc-2", "not-an-ip"}};
    Daemon d(m_config, m_cloud, m_slurm, *m_journal);
    spool(HookKind::k_resume, "hpc-[1-2]");
    step(d);
    for (const auto& [name, ip] : bad) {
        m_cloud.vms[name].status = VmStatus::k_ready;
        m_cloud.vms[name].status_text = "Ready";
        m_cloud.vms[name].private_ip = ip;
    }
    step(d);
    step(d);
    for (const auto& u : m_slurm.updates) {
        EXPECT_TRUE(u.node_addrs.empty()) << "no NodeAddr= for " << u.names.front();
    }
    for (const auto& [name, ip] : bad) {
        EXPECT_EQ(m_slurm.nodes_by_name[name].node_addr, name);
        auto events = m_journal->events_for(name, 50);
        ASSERT_TRUE(events);
        int warnings = 0;
        for (const auto& e : *events) {
            if (e.message == "CycleCloud reports the address '" + ip +
                                 "', which is not an IP address; NodeAddr not set") {
                ++warnings;
                EXPECT_EQ(e.kind, "error");
            }
        }
        EXPECT_EQ(warnings, 1) << name << ": one warning, not one per pass";
    }

    // The adapter clears such an address, with a warning naming it.
    std::vector<CloudNode> records(1);
    records[0].name = "hpc-1";
    records[0].private_ip = "1.2.3.4 State=DOWN";
    const auto warnings = screen_cloud_nodes(records);
    ASSERT_EQ(records.size(), 1u);
    EXPECT_EQ(records[0].private_ip, "");
    ASSERT_EQ(warnings.size(), 1u);
    EXPECT_EQ(warnings[0],
              "cyclecloud: node hpc-1: ignoring its PrivateIp '1.2.3.4 State=DOWN': not an IP "
              "address");

    // And scontrol refuses a NodeAddr that is neither an address nor the node's own name.
    for (const auto& [name, ip] : bad) {
        auto st = check_node_update({{name}, "", "", {ip}, {name}});
        ASSERT_FALSE(st);
        std::string expected = "refusing to run scontrol update: NodeAddr '";
        expected.append(ip).append("' of ").append(name).append(
            " is neither an IP address nor the node's name; nothing was changed");
        EXPECT_EQ(st.error().message, expected);
    }
    EXPECT_TRUE(check_node_update({{"hpc-1"}, "", "", {"fd00::4"}, {"hpc-1"}}));
    EXPECT_TRUE(check_node_update({{"hpc-1"}, "", "", {"hpc-1"}, {"hpc-1"}}));  // the reset
}

TEST_F(SecurityScontrolArguments, AStatusMessageReachesReasonAndTheLogWithoutControlChars) {
    const std::string log_path = m_dir + "/cloudburstd.log";
    log::init({"cloudburstd", log_path, log::Level::k_info, false});
    Daemon d(m_config, m_cloud, m_slurm, *m_journal);
    spool(HookKind::k_resume, "hpc-1");
    step(d);
    m_cloud.vms["hpc-1"].status = VmStatus::k_failed;
    m_cloud.vms["hpc-1"].status_text = "Failed";
    m_cloud.vms["hpc-1"].status_message = "a\nb\x1b[31m";
    step(d);
    log::warn("node {} is odd", "evil\nforged line\x1b[2J");  // any message, any origin
    log::init({"unit_tests", "", log::Level::k_info, true});

    // "a", the newline as a space, "b", the escape as a space, then the rest as it was.
    const std::string expected_reason = "cloudburst: cloud: VM failed: a b [31m";
    std::vector<std::string> reasons;
    for (const auto& u : m_slurm.updates) {
        if (u.state == "DOWN") {
            reasons.push_back(u.reason);
        }
    }
    EXPECT_EQ(reasons, std::vector<std::string>{expected_reason});

    auto log_text = read_file(log_path);
    ASSERT_TRUE(log_text) << log_text.error().describe();
    EXPECT_NE(log_text->find("hpc-1: " + expected_reason), std::string::npos) << *log_text;
    EXPECT_NE(log_text->find("node evil forged line [2J is odd\n"), std::string::npos) << *log_text;
    for (const char c : *log_text) {
        const auto u = static_cast<unsigned char>(c);
        EXPECT_TRUE(c == '\n' || (u >= 0x20 && u != 0x7f)) << "byte " << int{u} << " in the log";
    }
    auto events = m_journal->events_for("hpc-1", 50);
    ASSERT_TRUE(events);
    for (const auto& e : *events) {
        EXPECT_EQ(e.message, without_control_chars(e.message)) << "journal: " << e.message;
    }

    // scontrol gets the reason without them too, whoever built the update.
    SlurmCli cli({"/usr/bin/scontrol", "", std::chrono::milliseconds(1000)});
    const auto commands =
        cli.update_commands({{"hpc-1"}, "DOWN", "VM failed: a\nb\x1b[31m", {}, {}});
    ASSERT_EQ(commands.size(), 1u);
    EXPECT_EQ(commands[0], (std::vector<std::string>{"update", "NodeName=hpc-1", "State=DOWN",
                                                     "Reason=VM failed: a b [31m"}));
}

}  // namespace
}  // namespace cb
