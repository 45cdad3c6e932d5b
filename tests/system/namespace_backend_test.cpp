// The namespaces VM backend against a real slurmctld: its VMs' slurmd register with Slurm,
// run jobs under their own hostnames, and leave nothing behind, also after a crash.
#include "emulator/namespace_backend.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <time.h>

#include <algorithm>
#include <ctime>
#include <map>
#include <sstream>

#include "emulator/netns.h"
#include "testbed.h"
#include "util/files.h"

namespace cb::emulator {
namespace {

using namespace std::chrono_literals;
using system_test::lines_of;
using system_test::process_alive;
using system_test::Testbed;
using system_test::wait_until;

// Everything of `instance` that can be left behind on the system.
struct Leftovers {
    std::vector<std::string> namespaces;
    std::vector<std::string> links;  // veths and the instance's own bridge
};

Leftovers leftovers_of(const std::string& instance) {
    Leftovers left{netns::list_namespaces(namespace_prefix(instance)),
                   netns::list_links(veth_prefix(instance))};
    if (netns::link_exists(default_bridge(instance))) {
        left.links.push_back(default_bridge(instance));
    }
    return left;
}

std::string describe(const Leftovers& left) {
    std::string out;
    for (const auto& n : left.namespaces) {
        out += " netns:" + n;
    }
    for (const auto& l : left.links) {
        out += " link:" + l;
    }
    return out;
}

class NamespaceBackendSystem : public ::testing::Test {
  protected:
    void SetUp() override {
        if (auto why = system_test::why_system_tests_cannot_run(); !why.empty()) {
            GTEST_SKIP() << why;
        }
        auto testbed = Testbed::up({"--cloud-nodes", "cloud[1-2]"});
        ASSERT_TRUE(testbed) << testbed.error().describe();
        m_testbed = std::move(*testbed);
    }

    // Options for an instance of the backend on the testbed's bridge.
    NamespaceBackendOptions options_for(const std::string& instance_suffix) const {
        NamespaceBackendOptions o;
        o.instance = m_testbed->env("CB_TESTBED_PREFIX") + instance_suffix;
        o.subnet = m_testbed->env("CB_TESTBED_SUBNET");
        o.pool = m_testbed->env("CB_TESTBED_TEST_POOL");
        o.bridge = m_testbed->env("CB_TESTBED_BRIDGE");
        o.bridge_owner = BridgeOwner::k_external;
        o.slurm_conf = m_testbed->slurm_conf();
        o.slurmd = m_testbed->slurm_daemon("slurmd");  // the testbed's Slurm version
        o.state_dir = m_testbed->dir() + "/vms/" + o.instance;
        return o;
    }

    std::unique_ptr<Testbed> m_testbed;
};

// When the testbed's ResumeProgram last ran (epoch seconds), from its hooks.log.
std::time_t last_resume_request(const Testbed& testbed) {
    std::time_t at = 0;
    if (auto log = read_file(testbed.env("CB_TESTBED_HOOKS_LOG"))) {
        for (const auto& line : lines_of(*log)) {
            std::istringstream fields(line);
            std::time_t t = 0;
            std::string program;
            if (fields >> t >> program && program == "resume") {
                at = t;
            }
        }
    }
    return at;
}

double uptime_seconds(const std::string& proc_uptime) {
    return std::stod(proc_uptime.substr(0, proc_uptime.find(' ')));
}

TEST_F(NamespaceBackendSystem, TwoVmsRegisterRunJobsAndLeaveNothingBehind) {
    const auto options = options_for("t");
    auto made = make_namespace_backend(options);
    ASSERT_TRUE(made) << made.error().describe();
    VmBackend& backend = **made;
    ASSERT_TRUE(backend.recover());
    const std::vector<std::string> nodes{"cloud1", "cloud2"};

    // As in a burst: Slurm powers the nodes up (the testbed's ResumeProgram only records
    // it), the VMs get addresses, Slurm learns them, then the VMs boot slurmd.
    ASSERT_TRUE(
        m_testbed->slurm({"/usr/bin/scontrol", "update", "nodename=cloud[1-2]", "state=power_up"}));
    ASSERT_TRUE(wait_until(
        20s,
        [&] {
            return m_testbed->node_state("cloud1").find("POWERING_UP") != std::string::npos &&
                   m_testbed->node_state("cloud2").find("POWERING_UP") != std::string::npos;
        }))
        << m_testbed->node_state("cloud1") << " " << m_testbed->node_state("cloud2");
    std::vector<VmIdentity> vms;
    for (const auto& node : nodes) {
        auto vm = backend.create_vm(node, {});
        ASSERT_TRUE(vm) << vm.error().describe();
        EXPECT_EQ(vm->hostname, node);
        vms.push_back(*vm);
    }
    EXPECT_NE(vms[0].private_ip, vms[1].private_ip);
    EXPECT_NE(vms[0].instance_id, vms[1].instance_id);
    auto again = backend.create_vm("cloud1", {});
    ASSERT_TRUE(again);
    EXPECT_EQ(again->instance_id, vms[0].instance_id) << "create_vm is idempotent";
    ASSERT_TRUE(m_testbed->slurm({"/usr/bin/scontrol", "update", "nodename=cloud1,cloud2",
                                  "nodeaddr=" + vms[0].private_ip + "," + vms[1].private_ip,
                                  "nodehostname=cloud1,cloud2"}));
    // slurmctld accepts a powering-up node only if it booted after the resume request, and
    // compares the two in whole seconds: like a real VM, boot at least 2 s after it.
    const std::time_t requested = last_resume_request(*m_testbed);
    ASSERT_NE(requested, 0) << "the ResumeProgram ran";
    ASSERT_TRUE(wait_until(5s, [&] { return std::time(nullptr) >= requested + 2; }));
    const auto booted = std::chrono::steady_clock::now();
    for (const auto& node : nodes) {
        auto st = backend.start_software(node, {});
        ASSERT_TRUE(st) << st.error().describe();
    }
    ASSERT_TRUE(wait_until(
        60s, [&] { return m_testbed->node_up("cloud1") && m_testbed->node_up("cloud2"); }))
        << m_testbed->node_state("cloud1") << " " << m_testbed->node_state("cloud2");

    auto hostnames = m_testbed->slurm({"/usr/bin/srun", "-N2", "-w", "cloud[1-2]", "hostname"});
    ASSERT_TRUE(hostnames) << hostnames.error().describe();
    auto names = lines_of(hostnames->out);
    std::sort(names.begin(), names.end());
    EXPECT_EQ(names, nodes);

    // Each VM has its own time namespace: it booted when its slurmd started.
    auto uptime = m_testbed->slurm({"/usr/bin/srun", "-w", "cloud1", "cat", "/proc/uptime"});
    ASSERT_TRUE(uptime) << uptime.error().describe();
    const double since_boot =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - booted).count();
    EXPECT_LE(uptime_seconds(uptime->out), since_boot + 1) << uptime->out;

    std::vector<pid_t> pids;
    for (const auto& node : nodes) {
        const auto in_vm = netns::pids_in_namespace(namespace_prefix(options.instance) + node);
        EXPECT_FALSE(in_vm.empty()) << node << " runs slurmd";
        pids.insert(pids.end(), in_vm.begin(), in_vm.end());
    }
    for (const auto& node : nodes) {
        auto st = backend.destroy_vm(node);
        ASSERT_TRUE(st) << st.error().describe();
    }
    ASSERT_TRUE(backend.destroy_vm("cloud1")) << "destroy_vm is idempotent";
    const auto left = leftovers_of(options.instance);
    EXPECT_TRUE(left.namespaces.empty() && left.links.empty()) << describe(left);
    for (const pid_t pid : pids) {
        EXPECT_FALSE(process_alive(pid)) << "pid " << pid;
    }
    EXPECT_FALSE(read_file(options.state_dir + "/run/cloud1.pid")) << "pid file removed";
    EXPECT_TRUE(netns::link_exists(options.bridge)) << "the testbed's bridge is not ours";
    backend.shutdown();
}

TEST_F(NamespaceBackendSystem, RecoverRemovesWhatACrashedInstanceLeftBehind) {
    // A crashed run: namespace-vms with its own bridge, SIGKILLed while its VMs run slurmd.
    auto options = options_for("r");
    options.bridge.clear();
    options.bridge_owner = BridgeOwner::k_backend;
    options.pool.clear();
    options.subnet = "198.19." +
                     std::to_string(std::stoi(m_testbed->env("CB_TESTBED_PREFIX").substr(2))) +
                     ".0/24";
    const std::string ready = m_testbed->dir() + "/run/crash.ready";
    SpawnOptions spawn;
    spawn.argv = {std::string(CB_BINARY_DIR) + "/tests/namespace-vms",
                  "--instance",
                  options.instance,
                  "--subnet",
                  options.subnet,
                  "--state-dir",
                  options.state_dir,
                  "--slurm-conf",
                  options.slurm_conf,
                  "--slurmd",
                  options.slurmd,
                  "--ready-file",
                  ready,
                  "cloud1",
                  "cloud2"};
    spawn.stdout_path = m_testbed->dir() + "/log/crashed-vms.log";
    auto crashed = ChildProcess::spawn(spawn);
    ASSERT_TRUE(crashed) << crashed.error().describe();
    ASSERT_TRUE(wait_until(30s, [&] { return read_file(ready).ok() || !crashed->running(); }));
    ASSERT_TRUE(crashed->running()) << "namespace-vms failed; see crashed-vms.log";
    ::kill(crashed->pid(), SIGKILL);
    ASSERT_TRUE(wait_until(10s, [&] { return !crashed->running(); }));

    const std::string prefix = namespace_prefix(options.instance);
    std::vector<pid_t> pids;
    for (const auto& node : {"cloud1", "cloud2"}) {
        const auto in_vm = netns::pids_in_namespace(prefix + node);
        ASSERT_FALSE(in_vm.empty()) << node << "'s slurmd outlived its emulator";
        pids.insert(pids.end(), in_vm.begin(), in_vm.end());
    }
    auto before = leftovers_of(options.instance);
    EXPECT_EQ(before.namespaces.size(), 2u) << describe(before);
    EXPECT_EQ(before.links.size(), 3u) << describe(before);  // 2 veths, the bridge
    // The crash came mid-destroy of cloud2: its namespace is unmounted, so its slurmd can
    // only be found through the pid file.
    ASSERT_TRUE(netns::ip_batch("", {"netns del " + prefix + "cloud2"}));

    auto made = make_namespace_backend(options);
    ASSERT_TRUE(made) << made.error().describe();
    auto st = (*made)->recover();
    ASSERT_TRUE(st) << st.error().describe();
    const auto after = leftovers_of(options.instance);
    EXPECT_TRUE(after.namespaces.empty() && after.links.empty()) << describe(after);
    for (const pid_t pid : pids) {
        EXPECT_FALSE(process_alive(pid)) << "pid " << pid;
    }

    // The recovered instance works again and removes its bridge at shutdown.
    auto vm = (*made)->create_vm("cloud1", {});
    ASSERT_TRUE(vm) << vm.error().describe();
    EXPECT_TRUE(netns::link_exists(default_bridge(options.instance)));
    (*made)->shutdown();
    const auto end = leftovers_of(options.instance);
    EXPECT_TRUE(end.namespaces.empty() && end.links.empty()) << describe(end);
}

// fabric-probe (tests/tools) run in the network namespace of VM `node` of `instance`.
CommandOutput probe_in_vm(const std::string& instance, const std::string& node,
                          const std::vector<std::string>& args) {
    Command command{{"/usr/sbin/ip", "netns", "exec", namespace_prefix(instance) + node,
                     std::string(CB_BINARY_DIR) + "/tests/fabric-probe"},
                    {},
                    {},
                    30s};
    command.argv.insert(command.argv.end(), args.begin(), args.end());
    auto out = run_command(command);
    EXPECT_TRUE(out) << out.error().describe();
    return out ? *out : CommandOutput{};
}

// The instance's fabric bridges (cb<instance>-g<k>).
std::vector<std::string> fabric_bridges(const std::string& instance) {
    return netns::list_links(veth_prefix(instance) + "g");
}

// Placement groups as InfiniBand fabrics (docs/emulator.md): VMs of an InfiniBand size get ib0
// on their group's bridge, with the host part of their private address in the fabric subnet;
// only VMs of one group reach each other there. A fabric's bridge goes with its last VM, and
// recover() removes what a crashed instance left of its fabrics.
TEST_F(NamespaceBackendSystem, VmsReachEachOtherOverIb0OnlyInsideOnePlacementGroup) {
    auto options = options_for("f");
    options.fabric_subnet = "198.19.0.0/16";
    auto made = make_namespace_backend(options);
    ASSERT_TRUE(made) << made.error().describe();
    VmBackend& backend = **made;
    ASSERT_TRUE(backend.recover());
    const VmPlacement group_a{"burst-hpc-pg0", true};
    const VmPlacement group_b{"burst-hpc-pg1", true};
    const VmPlacement alone{"", true};                   // an InfiniBand size in no group
    const VmPlacement ethernet{"burst-hpc-pg0", false};  // a size without InfiniBand
    const std::vector<std::pair<std::string, VmPlacement>> vms{
        {"a1", group_a}, {"a2", group_a}, {"b1", group_b}, {"s1", alone}, {"e1", ethernet}};
    std::map<std::string, std::string> fabric_ip;
    for (const auto& [node, placement] : vms) {
        auto vm = backend.create_vm(node, placement);
        ASSERT_TRUE(vm) << vm.error().describe();
        ASSERT_EQ(vm->private_ip.rfind("198.18.", 0), 0u) << vm->private_ip;
        const auto shown = probe_in_vm(options.instance, node, {"address", "ib0"});
        if (!placement.infiniband) {
            EXPECT_EQ(shown.exit_code, 1) << shown.out;
            EXPECT_NE(shown.err.find("has no IPv4 address on ib0"), std::string::npos) << shown.err;
            continue;
        }
        ASSERT_TRUE(shown.ok()) << shown.err;
        const std::string address = shown.out.substr(shown.out.find(' ') + 1);
        // 198.18.N.M -> 198.19.N.M
        EXPECT_EQ(address, "198.19." + vm->private_ip.substr(7) + "\n") << node;
        fabric_ip[node] = address.substr(0, address.size() - 1);
    }
    EXPECT_EQ(fabric_bridges(options.instance).size(), 3u) << "groups a and b, and s1's own";

    // From a1: its group's a2 answers (nothing listens on port 9: the kernel refuses);
    // b1 and s1, on other fabrics, are never found on a1's.
    const auto from_a1 = probe_in_vm(
        options.instance, "a1",
        {"peers", "9", fabric_ip["a1"], fabric_ip["a2"], fabric_ip["b1"], fabric_ip["s1"]});
    EXPECT_EQ(from_a1.exit_code, 1) << from_a1.out << from_a1.err;
    auto lines = lines_of(from_a1.out);
    ASSERT_EQ(lines.size(), 3u) << from_a1.out;
    EXPECT_NE(lines[0].find("-> " + fabric_ip["a2"] + ": reached (port closed)"), std::string::npos)
        << lines[0];
    EXPECT_NE(lines[1].find("-> " + fabric_ip["b1"] + ": No route to host"), std::string::npos)
        << lines[1];
    EXPECT_NE(lines[2].find("-> " + fabric_ip["s1"] + ": No route to host"), std::string::npos)
        << lines[2];
    const auto from_a2 = probe_in_vm(options.instance, "a2", {"peers", "9", fabric_ip["a1"]});
    EXPECT_TRUE(from_a2.ok()) << from_a2.out << from_a2.err;
    // A VM without InfiniBand has no route into any fabric, not even through eth0: its kernel
    // refuses at once (an unreachable route), where a fabric's ARP gives up after seconds.
    const auto from_e1 = probe_in_vm(options.instance, "e1", {"peers", "9", fabric_ip["a1"]});
    EXPECT_EQ(from_e1.exit_code, 1);
    EXPECT_NE(from_e1.out.find(": No route to host"), std::string::npos) << from_e1.out;
    Command route_command;
    route_command.argv = {"/usr/sbin/ip", "-n",   namespace_prefix(options.instance) + "e1",
                          "route",        "show", "type",
                          "unreachable"};
    auto route = run_command(route_command);
    ASSERT_TRUE(route);
    EXPECT_EQ(route->out, "unreachable 198.19.0.0/16 \n") << route->err;

    // Group a's bridge stays while a2 is on it and goes with it.
    ASSERT_TRUE(backend.destroy_vm("a1"));
    EXPECT_EQ(fabric_bridges(options.instance).size(), 3u);
    ASSERT_TRUE(backend.destroy_vm("a2"));
    EXPECT_EQ(fabric_bridges(options.instance).size(), 2u);

    // A crashed instance's fabrics (b1's and s1's here) are removed by the next run's recover().
    auto next = make_namespace_backend(options);
    ASSERT_TRUE(next) << next.error().describe();
    auto st = (*next)->recover();
    ASSERT_TRUE(st) << st.error().describe();
    const auto after = leftovers_of(options.instance);
    EXPECT_TRUE(after.namespaces.empty() && after.links.empty()) << describe(after);
    backend.shutdown();  // finds nothing left of its VMs, and minds not
    const auto end = leftovers_of(options.instance);
    EXPECT_TRUE(end.namespaces.empty() && end.links.empty()) << describe(end);
}

}  // namespace
}  // namespace cb::emulator
