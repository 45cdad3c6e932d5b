#include <gtest/gtest.h>

#include "fakes/temp_dir.h"

#include <cstdlib>
#include <filesystem>

#include "store/journal.h"

namespace cb {
namespace {

class JournalTest : public testing::Test {
  protected:
    testing_fakes::TempDir m_tmp{"cb-journal"};
    const std::string m_dir = m_tmp.path();
};

NodeIntent up(const std::string& name) {
    NodeIntent n;
    n.name = name;
    n.nodearray = "hpc";
    n.desired = Desired::k_powered_up;
    n.phase = Phase::k_requested;
    n.since_ms = 1000;
    n.deadline_ms = 61000;
    return n;
}

TEST_F(JournalTest, RequestsAndIntentsSurviveReopen) {
    const std::string path = m_dir + "/state.db";
    {
        auto j = Journal::open(path);
        ASSERT_TRUE(j) << j.error().describe();
        auto id = j->record_request({HookKind::k_resume, "hpc-[1-2]", "{}", 900, 7},
                                    {up("hpc-1"), up("hpc-2")}, 1000);
        ASSERT_TRUE(id) << id.error().describe();
        EXPECT_EQ(*id, 1);
    }
    auto j = Journal::open(path);
    ASSERT_TRUE(j);
    auto intents = j->intents();
    ASSERT_TRUE(intents);
    ASSERT_EQ(intents->size(), 2u);
    EXPECT_EQ((*intents)[0].phase, Phase::k_requested);
    EXPECT_EQ((*intents)[0].deadline_ms, 61000);
    EXPECT_EQ(*j->count_requests(), 1);
    auto events = j->events_for("hpc-2", 10);
    ASSERT_TRUE(events);
    ASSERT_EQ(events->size(), 1u);
    EXPECT_EQ((*events)[0].message, "Slurm asked to power up this node (request 1)");
}

TEST_F(JournalTest, SaveReplacesIntentAndAppendsEventsInOrder) {
    auto j = Journal::open(m_dir + "/state.db");
    ASSERT_TRUE(j);
    NodeIntent n = up("gpu-1");
    ASSERT_TRUE(j->save({n}, {{0, 1, "gpu-1", "transition", "first", {}}}));
    n.phase = Phase::k_creating;
    n.operation_id = "op-9";
    ASSERT_TRUE(j->save(
        {n}, {{0, 2, "gpu-1", "transition", "second", {}}, {0, 3, "gpu-1", "cloud", "third", {}}}));
    auto got = j->intent("gpu-1");
    ASSERT_TRUE(got);
    EXPECT_EQ(got->phase, Phase::k_creating);
    EXPECT_EQ(got->operation_id, "op-9");
    auto last_two = j->events_for("gpu-1", 2);
    ASSERT_TRUE(last_two);
    ASSERT_EQ(last_two->size(), 2u);
    EXPECT_EQ((*last_two)[0].message, "second");
    EXPECT_EQ((*last_two)[1].message, "third");
    EXPECT_FALSE(j->intent("nope"));
}

TEST_F(JournalTest, UnwritableLocationIsAnIoError) {
    auto j = Journal::open(m_dir + "/missing-dir/state.db");
    ASSERT_FALSE(j);
    EXPECT_EQ(j.error().kind, ErrorKind::k_io);
}

}  // namespace
}  // namespace cb
