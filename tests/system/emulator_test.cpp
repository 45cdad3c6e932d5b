// cyclecloud-emulator --backend namespaces against a real slurmctld: nodes created through
// its REST API boot real slurmd that register with Slurm and run jobs under their own
// names, and terminating them leaves nothing behind.
#include <gtest/gtest.h>
#include <httplib.h>
#include <unistd.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <sstream>

#include "emulator/namespace_backend.h"
#include "emulator/netns.h"
#include "testbed.h"
#include "util/files.h"

namespace cb::system_test {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

// The emulator's REST API, as the testbed started it (plain HTTP, Basic auth).
class EmulatorApi {
  public:
    explicit EmulatorApi(const Testbed& testbed)
        : m_client(testbed.env("CB_TESTBED_EMULATOR_URL")),
          m_cluster_path("/clusters/" + testbed.env("CB_TESTBED_EMULATOR_CLUSTER")) {
        const std::string user = testbed.env("CB_TESTBED_EMULATOR_USER");
        std::string password;
        if (auto file = read_file(testbed.env("CB_TESTBED_EMULATOR_CREDENTIALS"))) {
            std::istringstream lines(*file);
            for (std::string line; std::getline(lines, line);) {
                if (line.rfind(user + ":", 0) == 0) {
                    password = line.substr(user.size() + 1);
                }
            }
        }
        m_client.set_basic_auth(user, password);
        m_client.set_connection_timeout(5);
        m_client.set_read_timeout(10);
    }

    // POST to a cluster path; returns the status code (0 if the request failed) and body.
    std::pair<int, json> post(const std::string& path, const json& body) {
        auto r = m_client.Post(m_cluster_path + path, body.dump(), "application/json");
        if (!r) {
            return {0, json()};
        }
        return {r->status, json::parse(r->body, nullptr, false)};
    }

    // The cluster's node records, or an empty array if the API did not answer.
    json nodes() {
        auto r = m_client.Get(m_cluster_path + "/nodes");
        if (!r || r->status != 200) {
            return json::array();
        }
        auto body = json::parse(r->body, nullptr, false);
        return body.is_object() && body.contains("nodes") ? body["nodes"] : json::array();
    }

  private:
    httplib::Client m_client;
    std::string m_cluster_path;
};

class EmulatorSystem : public ::testing::Test {
  protected:
    void SetUp() override {
        if (auto why = why_system_tests_cannot_run(); !why.empty()) {
            GTEST_SKIP() << why;
        }
        const std::string emulator = std::string(CB_BINARY_DIR) + "/cyclecloud-emulator";
        if (::access(emulator.c_str(), X_OK) != 0) {
            GTEST_SKIP() << emulator << " is not built";
        }
        auto help = run_command({{emulator, "--help"}, {}, {}, 10s});
        if (!help || !help->ok() || help->out.find("namespaces") == std::string::npos) {
            GTEST_SKIP() << emulator << " has no --backend namespaces yet";
        }
    }
};

TEST_F(EmulatorSystem, NamespaceNodesRegisterRunJobsAndTerminateWithoutLeftovers) {
    auto up = Testbed::up({"--cloud-nodes", "cloud[1-2]", "--emulator", "--emulator-arg", "--http",
                           "--emulator-arg", "--timing", "--emulator-arg", "fast"});
    ASSERT_TRUE(up) << up.error().describe();
    const Testbed& testbed = **up;
    EmulatorApi api(testbed);
    const std::string instance = testbed.env("CB_TESTBED_PREFIX") + "c";  // the emulator's

    // What cloudburst will do: Slurm resumes the nodes, the VMs are created with exactly
    // those names, and Slurm learns each address as soon as the VM has one.
    ASSERT_TRUE(
        testbed.slurm({"/usr/bin/scontrol", "update", "nodename=cloud[1-2]", "state=power_up"}));
    ASSERT_TRUE(wait_until(20s, [&] {
        return testbed.node_state("cloud2").find("POWERING_UP") != std::string::npos;
    })) << testbed.node_state("cloud2");
    auto [status, created] = api.post(
        "/nodes/create", {{"sets",
                           {{{"nodearray", "htc"}, {"count", 1}, {"nameFormat", "cloud1"}},
                            {{"nodearray", "htc"}, {"count", 1}, {"nameFormat", "cloud2"}}}}});
    ASSERT_EQ(status, 202) << created.dump();
    std::map<std::string, std::string> addresses;
    ASSERT_TRUE(wait_until(30s, [&] {
        for (const auto& node : api.nodes()) {
            if (node.contains("PrivateIp") && node["PrivateIp"].is_string()) {
                addresses[node["Name"].get<std::string>()] = node["PrivateIp"].get<std::string>();
            }
        }
        return addresses.size() == 2;
    })) << api.nodes().dump();
    ASSERT_TRUE(testbed.slurm({"/usr/bin/scontrol", "update", "nodename=cloud1,cloud2",
                               "nodeaddr=" + addresses["cloud1"] + "," + addresses["cloud2"],
                               "nodehostname=cloud1,cloud2"}));
    ASSERT_TRUE(
        wait_until(60s, [&] { return testbed.node_up("cloud1") && testbed.node_up("cloud2"); }))
        << testbed.node_state("cloud1") << " " << testbed.node_state("cloud2");

    auto hostnames = testbed.slurm({"/usr/bin/srun", "-N2", "-w", "cloud[1-2]", "hostname"});
    ASSERT_TRUE(hostnames) << hostnames.error().describe();
    auto names = lines_of(hostnames->out);
    std::sort(names.begin(), names.end());
    EXPECT_EQ(names, (std::vector<std::string>{"cloud1", "cloud2"}));

    std::vector<pid_t> pids;
    for (const auto& node : {"cloud1", "cloud2"}) {
        const auto in_vm =
            emulator::netns::pids_in_namespace(emulator::namespace_prefix(instance) + node);
        EXPECT_FALSE(in_vm.empty()) << node << " runs slurmd";
        pids.insert(pids.end(), in_vm.begin(), in_vm.end());
    }
    auto [terminated, answer] = api.post("/nodes/terminate", {{"names", {"cloud1", "cloud2"}}});
    ASSERT_EQ(terminated, 202) << answer.dump();
    EXPECT_TRUE(wait_until(30s, [&] { return api.nodes().empty(); })) << api.nodes().dump();
    EXPECT_TRUE(wait_until(10s, [&] {
        return emulator::netns::list_namespaces(emulator::namespace_prefix(instance)).empty() &&
               emulator::netns::list_links(emulator::veth_prefix(instance)).empty();
    }));
    for (const pid_t pid : pids) {
        EXPECT_FALSE(process_alive(pid)) << "pid " << pid;
    }
}

}  // namespace
}  // namespace cb::system_test
