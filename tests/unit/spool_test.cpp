#include <gtest/gtest.h>

#include <unistd.h>

#include "fakes/temp_dir.h"

#include <cstdlib>
#include <filesystem>

#include "store/spool.h"
#include "util/files.h"

namespace cb {
namespace {

TEST(HookRequest, RoundTrips) {
    HookRequest in{HookKind::k_resume, "hpc-[1-4]",
                   R"({"jobs":[{"job_id":1,"nodes":"hpc-1"}],"all_nodes":"hpc-[1-4]"})",
                   1700000000123, 4242};
    auto text = serialize(in);
    ASSERT_TRUE(text);
    auto out = parse_hook_request(*text);
    ASSERT_TRUE(out) << out.error().describe();
    EXPECT_EQ(out->kind, HookKind::k_resume);
    EXPECT_EQ(out->hostlist, in.hostlist);
    EXPECT_EQ(out->resume_file, in.resume_file);
    EXPECT_EQ(out->received_ms, in.received_ms);
    EXPECT_EQ(out->pid, in.pid);
}

TEST(HookRequest, RejectsNewlinesAndGarbage) {
    HookRequest in{HookKind::k_suspend, "a\nb", "", 1, 1};
    EXPECT_FALSE(serialize(in));
    auto trunc = parse_hook_request("kind=resume\nhostlist=n1");
    ASSERT_FALSE(trunc);
    EXPECT_EQ(trunc.error().message, "hook request line 2: truncated (no final newline)");
    auto kind = parse_hook_request("kind=explode\nhostlist=n1\n");
    ASSERT_FALSE(kind);
    EXPECT_EQ(kind.error().message, "hook request line 1: unknown kind 'explode'");
    auto num = parse_hook_request("kind=resume\nhostlist=n1\npid=12x\n");
    ASSERT_FALSE(num);
    EXPECT_EQ(num.error().message, "hook request line 3: 'pid' must be an integer");
    auto missing = parse_hook_request("kind=resume\n");
    ASSERT_FALSE(missing);
}

TEST(HookRequest, KindFromProgramName) {
    EXPECT_EQ(hook_kind_from_program("/usr/sbin/cloudburst-resume"), HookKind::k_resume);
    EXPECT_EQ(hook_kind_from_program("cloudburst-resume-fail"), HookKind::k_resume_fail);
    EXPECT_EQ(hook_kind_from_program("cloudburst-suspend"), HookKind::k_suspend);
    EXPECT_FALSE(hook_kind_from_program("cloudburst"));
}

class SpoolTest : public testing::Test {
  protected:
    testing_fakes::TempDir m_tmp{"cb-spool"};
    const std::string m_dir = m_tmp.path();
};

TEST_F(SpoolTest, ListsInArrivalOrderAndSkipsStrays) {
    Spool spool(m_dir);
    ASSERT_TRUE(spool.submit({HookKind::k_suspend, "n2", "", 2000, 1}));
    ASSERT_TRUE(spool.submit({HookKind::k_resume, "n1", "{}", 1000, 2}));
    ASSERT_TRUE(write_file_atomic(m_dir + "/.n3.req.tmp", "partial"));
    ASSERT_TRUE(write_file_atomic(m_dir + "/garbage.req", "not a request\n"));
    auto listing = spool.pending();
    ASSERT_TRUE(listing);
    ASSERT_EQ(listing->entries.size(), 2u);
    EXPECT_EQ(listing->entries[0].request.hostlist, "n1");
    EXPECT_EQ(listing->entries[1].request.hostlist, "n2");
    ASSERT_EQ(listing->bad.size(), 1u);
    EXPECT_EQ(listing->bad[0].first, m_dir + "/garbage.req");
    ASSERT_TRUE(spool.remove(listing->entries[0]));
    ASSERT_TRUE(spool.remove(listing->entries[0]));  // idempotent
    auto again = spool.pending();
    ASSERT_TRUE(again);
    EXPECT_EQ(again->entries.size(), 1u);
}

TEST_F(SpoolTest, TrustsOnlyFilesOfTheGivenOwners) {
    Spool spool(m_dir);
    ASSERT_TRUE(spool.submit({HookKind::k_resume, "n1", "", 1000, 1}));
    const uid_t me = ::getuid();
    spool.trust_only({me});
    auto mine = spool.pending();
    ASSERT_TRUE(mine);
    EXPECT_EQ(mine->entries.size(), 1u);
    spool.trust_only({me + 1});
    auto theirs = spool.pending();
    ASSERT_TRUE(theirs);
    EXPECT_TRUE(theirs->entries.empty());
    ASSERT_EQ(theirs->bad.size(), 1u);
    EXPECT_NE(theirs->bad[0].second.message.find("not carried out"), std::string::npos);
}

TEST_F(SpoolTest, MissingDirectoryIsAnIoError) {
    Spool spool(m_dir + "/missing");
    auto listing = spool.pending();
    ASSERT_FALSE(listing);
    EXPECT_EQ(listing.error().kind, ErrorKind::k_io);
}

}  // namespace
}  // namespace cb
