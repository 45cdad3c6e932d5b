#include <gtest/gtest.h>

#include "fakes/temp_dir.h"
#include "store/journal.h"

namespace cb {
namespace {

// VM lifetimes in a real SQLite file: opened and closed in one transaction per pass, read back
// by range, and kept across a reopen (a daemon restart).
TEST(JournalUsage, LifetimesAreStoredClosedAndReadByRange) {
    testing_fakes::TempDir dir{"cb-usage"};
    const std::string path = dir.path() + "/state.db";
    {
        auto j = Journal::open(path);
        ASSERT_TRUE(j) << j.error().describe();
        UsageChanges first;
        for (const char* node : {"hpc-1", "hpc-2"}) {
            VmUsage u;
            u.node = node;
            u.nodearray = "hpc";
            u.machine_type = "Standard_F2s_v2\x1b[2J";  // CycleCloud's words, kept printable
            u.region = "eastus";
            u.spot = true;
            u.started_ms = 1000;
            first.opened.push_back(u);
        }
        ASSERT_TRUE(j->save_usage(first));
        auto open = j->open_usage();
        ASSERT_TRUE(open);
        ASSERT_EQ(open->size(), 2u);
        EXPECT_GT((*open)[0].id, 0);
        EXPECT_TRUE((*open)[0].spot);
        EXPECT_EQ((*open)[0].machine_type.find('\x1b'), std::string::npos);
        UsageChanges later;
        VmUsage ended = (*open)[0];
        ended.ended_ms = 5000;
        later.closed.push_back(ended);
        ASSERT_TRUE(j->save_usage(later));
    }
    auto j = Journal::open(path);
    ASSERT_TRUE(j);
    auto open = j->open_usage();
    ASSERT_TRUE(open);
    ASSERT_EQ(open->size(), 1u);
    EXPECT_EQ((*open)[0].node, "hpc-2");
    auto all = j->usage_between(0, 10000);
    ASSERT_TRUE(all);
    EXPECT_EQ(all->size(), 2u);
    auto after = j->usage_between(6000, 10000);  // hpc-1 ended at 5000
    ASSERT_TRUE(after);
    ASSERT_EQ(after->size(), 1u);
    EXPECT_EQ((*after)[0].node, "hpc-2");
    auto before = j->usage_between(0, 1000);  // nothing started before 1000
    ASSERT_TRUE(before);
    EXPECT_TRUE(before->empty());
}

}  // namespace
}  // namespace cb
