// The operations event file: which journal changes become events, how a line reads (JSON
// with untrusted strings escaped), and rotation by size in a real directory.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "daemon/event_log.h"
#include "fakes/temp_dir.h"

namespace cb {
namespace {

using json = nlohmann::json;

NodeIntent intent(const std::string& name, Phase phase, std::string reason = {}) {
    NodeIntent n;
    n.name = name;
    n.nodearray = "hpc";
    n.phase = phase;
    n.last_reason = std::move(reason);
    return n;
}

std::vector<std::string> lines_of(const std::string& path) {
    std::ifstream in(path);
    std::vector<std::string> out;
    for (std::string line; std::getline(in, line);) {
        out.push_back(line);
    }
    return out;
}

TEST(EventLog, FailureClassIsTheWordAfterTheCloudburstPrefix) {
    EXPECT_EQ(failure_class("cloudburst: capacity: Standard_F2s_v2 unavailable in westeurope"),
              "capacity");
    EXPECT_EQ(failure_class("cloudburst: bootstrap: 5 nodes of hpc in a row"), "bootstrap");
    EXPECT_EQ(failure_class("node did not register"), "");
    EXPECT_EQ(failure_class("cloudburst: no colon"), "");
    EXPECT_EQ(failure_class("cloudburst: Capa city: x"), "");
}

TEST(EventLog, PhaseChangesFailuresAndOrphansBecomeEventsUnchangedPhasesDoNot) {
    const std::map<std::string, NodeIntent> before{
        {"hpc-1", intent("hpc-1", Phase::k_creating)},
        {"hpc-2", intent("hpc-2", Phase::k_creating)},
        {"hpc-3", intent("hpc-3", Phase::k_idle)},
        {"hpc-4", intent("hpc-4", Phase::k_running)},
    };
    const std::vector<NodeIntent> changed{
        intent("hpc-1", Phase::k_registering, "VM Ready at 198.18.0.5"),
        intent("hpc-2", Phase::k_failed, "cloudburst: quota: Standard_F2s_v2 in westeurope"),
        intent("hpc-3", Phase::k_stopping, "orphan VM (Ready) removed after the grace period"),
        intent("hpc-4", Phase::k_running, "still running"),       // same phase: no event
        intent("hpc-5", Phase::k_requested, "resume requested"),  // new: from idle
    };
    const auto events = node_events(before, changed, 1000);
    ASSERT_EQ(events.size(), 4u);
    EXPECT_EQ(events[0].type, "node_phase");
    EXPECT_EQ(events[0].from, "creating");
    EXPECT_EQ(events[0].to, "registering");
    EXPECT_EQ(events[1].type, "node_failed");
    EXPECT_EQ(events[1].error_class, "quota");
    EXPECT_EQ(events[2].type, "orphan_removed");
    EXPECT_EQ(events[3].node, "hpc-5");
    EXPECT_EQ(events[3].from, "idle");
}

TEST(EventLog, TwoChangesOfOneNodeInAPlanGiveTwoEventsInOrder) {
    const std::map<std::string, NodeIntent> before{{"hpc-1", intent("hpc-1", Phase::k_requested)}};
    const auto events = node_events(before,
                                    {intent("hpc-1", Phase::k_creating),
                                     intent("hpc-1", Phase::k_failed, "cloudburst: capacity: x")},
                                    5);
    ASSERT_EQ(events.size(), 2u);
    EXPECT_EQ(events[1].from, "creating");
    EXPECT_EQ(events[1].to, "failed");
}

TEST(EventLog, ArraysBlockedAgainOrHealthyAgainAreEvents) {
    ArrayHealth h;
    h.kind = ErrorKind::k_capacity;
    h.reason = "cloudburst: capacity: x";
    h.until_ms = 60'000;
    h.failures = 1;
    ArrayHealth worse = h;
    worse.failures = 2;
    const auto events = health_events({{"gpu", h}, {"old", h}, {"same", h}},
                                      {{"gpu", worse}, {"new", h}, {"same", h}}, 7);
    ASSERT_EQ(events.size(), 3u);
    EXPECT_EQ(events[0].type, "nodearray_blocked");
    EXPECT_EQ(events[0].nodearray, "gpu");
    EXPECT_EQ(events[0].failures, 2);
    EXPECT_EQ(events[1].nodearray, "new");
    EXPECT_EQ(events[2].type, "nodearray_healthy");
    EXPECT_EQ(events[2].nodearray, "old");
}

TEST(EventLog, ALineIsOneJsonObjectWithTheFieldsThatApply) {
    OpsEvent e;
    e.at_ms = 1'700'000'000'123;
    e.type = "node_failed";
    e.node = "hpc-2";
    e.nodearray = "hpc";
    e.from = "creating";
    e.to = "failed";
    e.error_class = "capacity";
    e.reason = "cloudburst: capacity: none left";
    const std::string line = event_json_line(e);
    EXPECT_EQ(line,
              "{\"class\":\"capacity\",\"event\":\"node_failed\",\"from\":\"creating\","
              "\"node\":\"hpc-2\",\"nodearray\":\"hpc\",\"reason\":\"cloudburst: capacity: none "
              "left\",\"time\":\"2023-11-14T22:13:20.123Z\",\"to\":\"failed\",\"ts_ms\":"
              "1700000000123}\n");
}

TEST(EventLog, SecurityUntrustedReasonsCannotBreakTheLineOrItsJson) {
    OpsEvent e;
    e.at_ms = 1;
    e.type = "nodearray_blocked";
    e.nodearray = "hpc";
    e.error_class = "capacity";
    e.reason = std::string("x\"}\n{\"event\":\"forged\"} \xff\x01");
    const std::string line = event_json_line(e);
    EXPECT_EQ(line.find('\n'), line.size() - 1);
    const json j = json::parse(line);
    EXPECT_EQ(j["event"], "nodearray_blocked");
    EXPECT_EQ(j["reason"], "x\"}\n{\"event\":\"forged\"} \xEF\xBF\xBD\x01");
}

TEST(EventLog, AppendsLinesAndRotatesBeforeTheFileGrowsPastItsSize) {
    testing_fakes::TempDir dir("cb-events");
    const std::string path = dir.path() + "/events.jsonl";
    OpsEvent e;
    e.type = "node_phase";
    e.node = "hpc-1";
    e.nodearray = "hpc";
    e.from = "idle";
    e.to = "requested";
    const std::size_t line = event_json_line(e).size();
    auto log = EventLog::open(path, static_cast<std::int64_t>(line * 3), 2);
    ASSERT_TRUE(log) << log.error().describe();
    for (int i = 0; i < 10; ++i) {
        e.at_ms = i;  // same width: "1970-01-01T00:00:00.00Ni"
        ASSERT_TRUE(log->append({e}));
    }
    // 10 lines, 3 per file: FILE has the 10th, FILE.1 the 7th-9th, FILE.2 the 4th-6th; the
    // first three fell off.
    EXPECT_EQ(lines_of(path).size(), 1u);
    EXPECT_EQ(lines_of(path + ".1").size(), 3u);
    EXPECT_EQ(lines_of(path + ".2").size(), 3u);
    EXPECT_FALSE(std::filesystem::exists(path + ".3"));
    EXPECT_EQ(json::parse(lines_of(path).front())["ts_ms"], 9);
    EXPECT_EQ(json::parse(lines_of(path + ".2").front())["ts_ms"], 3);
    struct stat st {};
    ASSERT_EQ(::stat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0640u);
}

TEST(EventLog, AReopenedFileIsAppendedToNotTruncated) {
    testing_fakes::TempDir dir("cb-events");
    const std::string path = dir.path() + "/events.jsonl";
    OpsEvent e;
    e.type = "nodearray_healthy";
    e.nodearray = "hpc";
    for (int round = 0; round < 2; ++round) {
        auto log = EventLog::open(path, 1 << 20, 3);
        ASSERT_TRUE(log);
        ASSERT_TRUE(log->append({e, e}));
    }
    EXPECT_EQ(lines_of(path).size(), 4u);
}

TEST(EventLog, SecurityASymlinkInPlaceOfTheFileIsRefused) {
    testing_fakes::TempDir dir("cb-events");
    const std::string path = dir.path() + "/events.jsonl";
    std::filesystem::create_symlink(dir.path() + "/elsewhere", path);
    auto log = EventLog::open(path, 1 << 20, 3);
    ASSERT_FALSE(log);
    EXPECT_EQ(log.error().kind, ErrorKind::k_io);
    EXPECT_NE(log.error().message.find("cannot open event file " + path), std::string::npos);
}

}  // namespace
}  // namespace cb
