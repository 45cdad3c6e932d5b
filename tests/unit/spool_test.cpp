#include <gtest/gtest.h>

#include <unistd.h>

#include "fakes/temp_dir.h"

#include <sys/stat.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <thread>

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
    EXPECT_EQ(listing->bad[0].path, m_dir + "/garbage.req");
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
    EXPECT_NE(theirs->bad[0].error.message.find("not carried out"), std::string::npos);
}

TEST_F(SpoolTest, MissingDirectoryIsAnIoError) {
    Spool spool(m_dir + "/missing");
    auto listing = spool.pending();
    ASSERT_FALSE(listing);
    EXPECT_EQ(listing.error().kind, ErrorKind::k_io);
}

// Issue 11, finding 7: spool intake
class SecuritySpoolIntake : public SpoolTest {};

TEST_F(SecuritySpoolIntake, AFifoInTheSpoolIsRefusedWithoutBlocking) {
    Spool spool(m_dir);
    ASSERT_EQ(::mkfifo((m_dir + "/0000000000000001-1-0.req").c_str(), 0600), 0);
    ASSERT_TRUE(spool.submit({HookKind::k_resume, "n1", "", 2000, 1}));
    // Run in a thread so that a blocking open fails the test instead of hanging it.
    std::promise<Result<Spool::Listing>> done;
    auto result = done.get_future();
    std::thread([&spool, p = std::move(done)]() mutable { p.set_value(spool.pending()); }).detach();
    ASSERT_EQ(result.wait_for(std::chrono::seconds(10)), std::future_status::ready)
        << "pending() blocked on a FIFO";
    auto listing = result.get();
    ASSERT_TRUE(listing);
    ASSERT_EQ(listing->entries.size(), 1u);
    ASSERT_EQ(listing->bad.size(), 1u);
    EXPECT_EQ(listing->bad[0].error.message, "a FIFO, not a regular file; not read");
}

TEST_F(SecuritySpoolIntake, ASymlinkAndAHardLinkAreNotRead) {
    Spool spool(m_dir);
    const std::string secret = m_dir + "/secret";
    ASSERT_TRUE(write_file_atomic(secret, "kind=resume\nhostlist=SECRET\n", 0600));
    ASSERT_EQ(::symlink(secret.c_str(), (m_dir + "/0000000000000001-1-0.req").c_str()), 0);
    ASSERT_EQ(::link(secret.c_str(), (m_dir + "/0000000000000002-1-0.req").c_str()), 0);
    auto listing = spool.pending();
    ASSERT_TRUE(listing);
    EXPECT_TRUE(listing->entries.empty());
    ASSERT_EQ(listing->bad.size(), 2u);
    EXPECT_EQ(listing->bad[0].error.message, "a symlink, not a regular file; not read");
    EXPECT_EQ(listing->bad[1].error.message, "has 2 links (a hard link to another file); not read");
    EXPECT_EQ(listing->bad[1].hostlist, "");
}

TEST_F(SecuritySpoolIntake, AnOversizeRequestIsRefusedWithItsNodes) {
    Spool spool(m_dir);
    const std::string big = "kind=resume\nhostlist=hpc-[1-2]\nresume_file=" +
                            std::string(k_max_hook_request_bytes, 'x') + "\n";
    ASSERT_TRUE(write_file_atomic(m_dir + "/0000000000000001-1-0.req", big, 0600));
    auto listing = spool.pending();
    ASSERT_TRUE(listing);
    ASSERT_EQ(listing->bad.size(), 1u);
    EXPECT_EQ(listing->bad[0].error.message, "is " + std::to_string(big.size()) +
                                                 " bytes, more than the 16777216 bytes a hook "
                                                 "writes; not carried out");
    EXPECT_EQ(listing->bad[0].kind, "resume");
    EXPECT_EQ(listing->bad[0].hostlist, "hpc-[1-2]");
    auto aside = spool.set_aside(listing->bad[0].path);
    ASSERT_TRUE(aside);
    auto again = spool.pending();
    ASSERT_TRUE(again);
    EXPECT_TRUE(again->bad.empty());
}

TEST(SecuritySpoolIntakeHook, TheHookRefusesARequestLargerThanTheDaemonReads) {
    HookRequest in{HookKind::k_resume, "hpc-1", std::string(k_max_hook_request_bytes, 'x'), 1, 1};
    auto text = serialize(in);
    ASSERT_FALSE(text);
    EXPECT_EQ(text.error().kind, ErrorKind::k_invalid_input);
}

}  // namespace
}  // namespace cb
