// The PrologSlurmctld gate: its request line, the readiness rule, and the daemon's table of
// waiting gates over real socket pairs.
#include <gtest/gtest.h>

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <map>

#include "core/prolog_gate.h"
#include "daemon/gate_table.h"
#include "daemon/prolog.h"
#include "emulator_fixtures.h"
#include "util/files.h"

namespace cb {
namespace {

SlurmNode node(const std::string& name, const std::string& base, std::set<std::string> flags) {
    SlurmNode n;
    n.name = name;
    n.state.base = base;
    n.state.flags.assign(flags.begin(), flags.end());
    return n;
}

// The site's PrologSlurmctld chained behind the gate (slurm.prolog_chain, Slurm before
// 24.05): run with the job's environment, its exit code is the gate's.
TEST(PrologGate, TheChainedSitePrologRunsWithTheJobsEnvironmentAndDecides) {
    const emulator::testing::TempDir tmp;
    const std::string& dir = tmp.path();
    const std::string marker = dir + "/ran";
    const std::string script = dir + "/site-prolog";
    ASSERT_TRUE(write_file_atomic(
        script, "#!/bin/sh\necho \"$SLURM_JOB_ID\" > " + marker + "\nexit \"$SITE_EXIT\"\n", 0755));
    ::setenv("SLURM_JOB_ID", "4242", 1);
    ::setenv("SITE_EXIT", "0", 1);
    EXPECT_EQ(run_chained_prolog(script), 0);
    auto ran = read_file(marker);
    ASSERT_TRUE(ran);
    EXPECT_EQ(*ran, "4242\n");
    ::setenv("SITE_EXIT", "3", 1);
    EXPECT_EQ(run_chained_prolog(script), 3);
    EXPECT_EQ(run_chained_prolog(dir + "/missing"), 1);
    ::unsetenv("SITE_EXIT");
    ::unsetenv("SLURM_JOB_ID");
}

TEST(PrologGate, RequestLineRoundTrips) {
    const std::string line = gate_request_line("42", "hpc-[1-3]");
    EXPECT_EQ(line, "wait 42 hpc-[1-3]\n");
    auto parsed = parse_gate_request(line);
    ASSERT_TRUE(parsed) << parsed.error().describe();
    EXPECT_EQ(parsed->job_id, "42");
    EXPECT_EQ(parsed->nodes, (std::vector<std::string>{"hpc-1", "hpc-2", "hpc-3"}));
}

TEST(PrologGate, NothingToAskForLetsTheJobGo) {
    EXPECT_EQ(gate_request_line("", "hpc-1"), "");
    EXPECT_EQ(gate_request_line("4x", "hpc-1"), "");
    EXPECT_EQ(gate_request_line("42", ""), "");
    EXPECT_EQ(gate_request_line("42", "hpc-1 hpc-2"), "");
    EXPECT_EQ(gate_request_line("42", "hpc-1\nwait 1 x"), "");
}

TEST(PrologGate, MalformedRequestsAreRefused) {
    for (const char* bad : {"", "poke\n", "wait\n", "wait 42\n", "wait x hpc-1\n",
                            "wait 42 hpc-[1-\n", "wait 42 hpc-1 extra\n", "go 42 hpc-1\n"}) {
        EXPECT_FALSE(parse_gate_request(bad)) << bad;
    }
}

// slurmctld's own rule (test_job_nodes_ready): none powered down, powering up or not
// responding. CLOUD itself is no reason to wait: 24.11 shows ALLOCATED+CLOUD for good.
TEST(PrologGate, ReadyWhenNoCloudNodeOfTheJobIsStillComingUp) {
    std::map<std::string, SlurmNode> slurm{
        {"hpc-1", node("hpc-1", "ALLOCATED", {"CLOUD"})},
        {"hpc-2", node("hpc-2", "ALLOCATED", {"CLOUD", "POWERING_UP"})},
        {"hpc-3", node("hpc-3", "ALLOCATED", {"CLOUD", "NOT_RESPONDING"})},
        {"hpc-4", node("hpc-4", "IDLE", {"CLOUD", "POWERED_DOWN"})},
        {"onprem1", node("onprem1", "ALLOCATED", {"NOT_RESPONDING"})},
    };
    const auto find = [&slurm](const std::string& n) -> const SlurmNode* {
        const auto it = slurm.find(n);
        return it == slurm.end() ? nullptr : &it->second;
    };
    EXPECT_TRUE(gate_nodes_ready({"hpc-1"}, find));
    EXPECT_TRUE(gate_nodes_ready({"hpc-1", "onprem1", "unknown"}, find));
    EXPECT_FALSE(gate_nodes_ready({"hpc-1", "hpc-2"}, find));
    EXPECT_FALSE(gate_nodes_ready({"hpc-3"}, find));
    EXPECT_FALSE(gate_nodes_ready({"hpc-4"}, find));
}

// One end of a socket pair, as the daemon holds a gate's connection; the other end is the gate.
struct Pair {
    int daemon = -1;
    int gate = -1;
    Pair() {
        int fds[2];
        EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
        daemon = fds[0];
        gate = fds[1];
    }
    ~Pair() { ::close(gate); }
    // What the gate got: "go\n", "" (closed without a word) or "waiting".
    std::string answer() const {
        pollfd p{gate, POLLIN, 0};
        if (::poll(&p, 1, 0) <= 0) {
            return "waiting";
        }
        char buf[16] = {};
        const ssize_t n = ::recv(gate, buf, sizeof buf - 1, MSG_DONTWAIT);
        return n <= 0 ? "" : std::string(buf, static_cast<std::size_t>(n));
    }
};

GateRequest request(const std::string& job, std::vector<std::string> nodes) {
    return {job, std::move(nodes)};
}

TEST(GateTable, ReleasesAGateWhenItsCloudNodesRegister) {
    GateTable gates(8, 60'000);
    Pair a;
    const auto cloud = [](const std::string& n) { return n.rfind("hpc-", 0) == 0; };
    ASSERT_TRUE(gates.add(a.daemon, request("7", {"hpc-1", "hpc-2"}), 0, cloud));
    std::map<std::string, SlurmNode> slurm{
        {"hpc-1", node("hpc-1", "ALLOCATED", {"CLOUD"})},
        {"hpc-2", node("hpc-2", "ALLOCATED", {"CLOUD", "POWERING_UP"})}};
    EXPECT_TRUE(gates.release(slurm, 1000).empty());
    EXPECT_EQ(a.answer(), "waiting");
    std::erase(slurm["hpc-2"].state.flags, "POWERING_UP");
    EXPECT_EQ(gates.release(slurm, 2000), std::vector<std::string>{"7"});
    EXPECT_EQ(a.answer(), "go\n");
    EXPECT_TRUE(gates.empty());
}

// Slurm gave up on a node (ResumeTimeout: down~) and requeues the job, but only once its
// PrologSlurmctld has ended: the gate is let go at once, not at the end of its wait.
TEST(GateTable, AGateWhoseNodesFailedIsReleased) {
    GateTable gates(8, 60'000);
    Pair a;
    const auto cloud = [](const std::string&) { return true; };
    ASSERT_TRUE(gates.add(a.daemon, request("9", {"hpc-1", "hpc-2"}), 0, cloud));
    std::map<std::string, SlurmNode> slurm{
        {"hpc-1", node("hpc-1", "ALLOCATED", {"CLOUD", "POWERING_UP"})},
        {"hpc-2", node("hpc-2", "ALLOCATED", {"CLOUD", "POWERING_UP"})}};
    EXPECT_TRUE(gates.release(slurm, 1000).empty());
    slurm["hpc-2"] = node("hpc-2", "DOWN", {"CLOUD", "POWERED_DOWN"});
    EXPECT_EQ(gates.release(slurm, 2000), std::vector<std::string>{"9"});
    EXPECT_EQ(a.answer(), "go\n");
}

TEST(GateTable, OnPremJobsFullTablesAndLongWaitsGoAtOnce) {
    GateTable gates(1, 60'000);
    const auto cloud = [](const std::string& n) { return n.rfind("hpc-", 0) == 0; };
    Pair onprem;
    EXPECT_FALSE(gates.add(onprem.daemon, request("1", {"onprem1"}), 0, cloud));
    EXPECT_EQ(onprem.answer(), "go\n");
    Pair first;
    Pair second;
    EXPECT_TRUE(gates.add(first.daemon, request("2", {"hpc-1"}), 0, cloud));
    EXPECT_FALSE(gates.add(second.daemon, request("3", {"hpc-2"}), 0, cloud)) << "over the cap";
    EXPECT_EQ(second.answer(), "go\n");
    const std::map<std::string, SlurmNode> slurm{
        {"hpc-1", node("hpc-1", "ALLOCATED", {"CLOUD", "POWERING_UP"})}};
    EXPECT_TRUE(gates.release(slurm, 59'999).empty());
    EXPECT_EQ(gates.release(slurm, 60'000), std::vector<std::string>{"2"}) << "waited max_wait";
    EXPECT_EQ(first.answer(), "go\n");
}

TEST(GateTable, AGateThatHangsUpIsForgottenAndAStoppingDaemonAnswersTheRest) {
    const auto cloud = [](const std::string&) { return true; };
    Pair kept;
    {
        GateTable gates(8, 60'000);
        Pair killed;
        ASSERT_TRUE(gates.add(killed.daemon, request("1", {"hpc-1"}), 0, cloud));
        ASSERT_TRUE(gates.add(kept.daemon, request("2", {"hpc-2"}), 0, cloud));
        gates.gone(killed.daemon);
        EXPECT_EQ(gates.size(), 1u);
        EXPECT_EQ(killed.answer(), "") << "closed: nothing to answer";
        EXPECT_EQ(kept.answer(), "waiting");
    }
    EXPECT_EQ(kept.answer(), "go\n");
}

}  // namespace
}  // namespace cb
