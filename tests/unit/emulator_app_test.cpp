// The whole emulator: Emulator::start wiring, its ready line, startup errors, and the real
// cyclecloud-emulator binary stopping cleanly on SIGTERM.
#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <thread>

#include "emulator/emulator_app.h"
#include "unit/emulator_fixtures.h"
#include "util/process.h"

namespace cb::emulator {
namespace {

using namespace std::chrono_literals;

using testing::TempDir;

EmulatorOptions options_in(const std::string& state_dir) {
    EmulatorOptions o;
    o.template_path = testing::source_path("templates/slurm-headless.txt");
    o.skus_path = testing::source_path("data/azure-skus.json");
    o.state_dir = state_dir;
    o.cluster = "burst1";
    return o;
}

TEST(EmulatorApp, StartsServesAndStops) {
    TempDir dir;
    auto emulator = Emulator::start(options_in(dir.path()));
    ASSERT_TRUE(emulator) << emulator.error().describe();
    Emulator& e = **emulator;
    ASSERT_EQ(e.url().rfind("https://127.0.0.1:", 0), 0u) << e.url();
    EXPECT_EQ(e.ready_line(), "ready url=" + e.url() + " cluster=burst1 ca=" + dir.path() +
                                  "/ca.pem tls-pin=" + e.tls_pin() + " credentials=" + dir.path() +
                                  "/credentials user=cyclecloud state-dir=" + dir.path() +
                                  " pid=" + std::to_string(::getpid()));
    EXPECT_EQ(e.password().size(), 32u);
    std::ifstream credentials(e.credentials_file());
    std::string line;
    std::getline(credentials, line);
    EXPECT_EQ(line, "cyclecloud:" + e.password());

    httplib::Client client(e.url());
    client.set_ca_cert_path(e.ca_file().c_str());
    client.enable_server_certificate_verification(true);
    client.set_basic_auth(e.user().c_str(), e.password().c_str());
    const auto created =
        client.Post("/clusters/burst1/nodes/create",
                    R"({"sets": [{"nodearray": "htc", "count": 1, "nameFormat": "burst1-htc-1"}]})",
                    "application/json");
    ASSERT_TRUE(created) << httplib::to_string(created.error());
    EXPECT_EQ(created->status, 202);
    // The ticker moves the node along in real time (fast timings: Ready after 3 s).
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    std::string status;
    while (status != "Ready" && std::chrono::steady_clock::now() < deadline) {
        const auto nodes = client.Get("/clusters/burst1/nodes");
        ASSERT_TRUE(nodes);
        status = nlohmann::json::parse(nodes->body)["nodes"][0]["Status"];
        std::this_thread::sleep_for(50ms);  // polling for the condition, with a deadline
    }
    EXPECT_EQ(status, "Ready");
    e.stop();
    e.stop();
    EXPECT_FALSE(client.Get("/clusters/burst1/status"));
}

TEST(EmulatorApp, PlainHttpAndATemporaryStateDirectory) {
    EmulatorOptions o = options_in("");
    o.transport = Transport::k_http;
    o.listen = {"127.0.0.1", 0};
    std::string state_dir;
    {
        auto emulator = Emulator::start(o);
        ASSERT_TRUE(emulator) << emulator.error().describe();
        state_dir = (*emulator)->state_dir();
        EXPECT_TRUE(std::filesystem::exists(state_dir + "/credentials"));
        EXPECT_EQ((*emulator)->ca_file(), "");
        EXPECT_EQ((*emulator)->ready_line().find(" ca="), std::string::npos);
        EXPECT_EQ((*emulator)->url().rfind("http://127.0.0.1:", 0), 0u);
    }
    EXPECT_FALSE(std::filesystem::exists(state_dir));
}

TEST(EmulatorApp, StartupErrorsSayWhatIsWrong) {
    TempDir dir;
    struct Case {
        std::function<void(EmulatorOptions&)> change;
        std::string message;
    };
    const std::vector<Case> cases{
        {[](EmulatorOptions& o) {
             o.parameters = {{"HPCMachineType", "Standard_HB120rs_v9"}};
         },
         testing::source_path("templates/slurm-headless.txt") +
             ": nodearray hpc: VM size Standard_HB120rs_v9 is not in the SKU catalog (did you "
             "mean Standard_HB120rs_v2?)"},
        {[](EmulatorOptions& o) {
             o.parameters = {{"NoSuchParameter", "1"}};
         },
         "-p NoSuchParameter: slurm-headless.txt has no parameter NoSuchParameter"},
        {[](EmulatorOptions& o) { o.faults = {"evict=1"}; },
         "--fault evict=1: a one-shot action on existing nodes; use it while the emulator "
         "runs (`cyclecloud-emulator fault ...`), or evict-rate at start"},
        {[](EmulatorOptions& o) { o.faults = {"http-5xx=9"}; },
         "--fault: http-5xx=9: a rate must be between 0 and 1"},
        {[](EmulatorOptions& o) { o.backend = "docker"; },
         "--backend docker: expected none or namespaces"},
    };
    for (const auto& c : cases) {
        EmulatorOptions o = options_in(dir.path());
        c.change(o);
        auto r = Emulator::start(o);
        ASSERT_FALSE(r) << c.message;
        EXPECT_EQ(r.error().describe(), c.message);
    }
    EmulatorOptions missing = options_in(dir.path());
    missing.template_path = dir.path() + "/none.txt";
    auto r = Emulator::start(missing);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind, ErrorKind::k_io);
}

TEST(EmulatorApp, TwoEmulatorsRunSideBySide) {
    TempDir a_dir;
    TempDir b_dir;
    EmulatorOptions a = options_in(a_dir.path());
    EmulatorOptions b = options_in(b_dir.path());
    b.cluster = "burst2";
    auto first = Emulator::start(a);
    auto second = Emulator::start(b);
    ASSERT_TRUE(first && second);
    EXPECT_NE((*first)->url(), (*second)->url());
    EXPECT_NE((*first)->password(), (*second)->password());
    EXPECT_EQ((*second)->cluster(), "burst2");
    // A port in use is an I/O error naming the address.
    EmulatorOptions clash = options_in(b_dir.path() + "/c");
    clash.listen.port = std::stoi((*first)->url().substr((*first)->url().rfind(':') + 1));
    auto third = Emulator::start(clash);
    ASSERT_FALSE(third);
    EXPECT_EQ(third.error().kind, ErrorKind::k_io);
    EXPECT_EQ(third.error().message,
              "cannot listen on 127.0.0.1:" + std::to_string(clash.listen.port) +
                  " (is the port in use?)");
}

// The real program: ready file, then SIGTERM stops it with exit status 0.
TEST(EmulatorProgram, ReadyFileAndCleanExitOnSigterm) {
    const std::string binary = std::string(CB_BINARY_DIR) + "/cyclecloud-emulator";
    ASSERT_TRUE(std::filesystem::exists(binary)) << binary << " is built with unit_tests";
    TempDir dir;
    const std::string ready = dir.path() + "/ready";
    SpawnOptions spawn;
    spawn.argv = {binary,         "--http", "--state-dir", dir.path() + "/state",
                  "--ready-file", ready,    "-p",          "MaxHTCExecuteNodeCount=7",
                  "--log-level",  "warn"};
    spawn.stdout_path = dir.path() + "/out";
    auto child = ChildProcess::spawn(spawn);
    ASSERT_TRUE(child) << child.error().describe();
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (!std::filesystem::exists(ready) && std::chrono::steady_clock::now() < deadline &&
           child->running()) {
        std::this_thread::sleep_for(20ms);  // polling for the condition, with a deadline
    }
    ASSERT_TRUE(std::filesystem::exists(ready));
    std::ifstream in(ready);
    std::string line;
    std::getline(in, line);
    EXPECT_EQ(line.rfind("ready url=http://127.0.0.1:", 0), 0u) << line;
    std::ifstream out(dir.path() + "/out");
    std::string printed;
    std::getline(out, printed);
    EXPECT_EQ(printed, line);

    const std::string url = line.substr(10, line.find(' ', 10) - 10);
    std::ifstream creds(dir.path() + "/state/credentials");
    std::string user_password;
    std::getline(creds, user_password);
    httplib::Client client(url);
    const auto colon = user_password.find(':');
    client.set_basic_auth(user_password.substr(0, colon).c_str(),
                          user_password.substr(colon + 1).c_str());
    const auto status = client.Get("/clusters/slurm-headless/status");
    ASSERT_TRUE(status);
    EXPECT_EQ(nlohmann::json::parse(status->body)["nodearrays"][1]["maxCount"], 7);

    ASSERT_EQ(::kill(child->pid(), SIGTERM), 0);
    while (child->running() && std::chrono::steady_clock::now() < deadline + 10s) {
        std::this_thread::sleep_for(20ms);  // polling for the exit, with a deadline
    }
    ASSERT_FALSE(child->running());
    ASSERT_TRUE(child->exit_status().has_value());
    EXPECT_TRUE(WIFEXITED(*child->exit_status()));
    EXPECT_EQ(WEXITSTATUS(*child->exit_status()), 0);
}

TEST(EmulatorProgram, RefusesANonLoopbackAddress) {
    const std::string binary = std::string(CB_BINARY_DIR) + "/cyclecloud-emulator";
    auto r = run_command({{binary, "--listen", "0.0.0.0:8443"}, {}, {}});
    ASSERT_TRUE(r) << r.error().describe();
    EXPECT_EQ(r->exit_code, 2);
    EXPECT_EQ(r->err,
              "cyclecloud-emulator: error: --listen 0.0.0.0:8443: the emulator listens on "
              "loopback addresses only (127.0.0.0/8, ::1, localhost)\n");
}

}  // namespace
}  // namespace cb::emulator
