// The users list of `cloudburst users sync`: parsing (errors name file and line) and the
// plan against existing accounts (mismatches are reported, never changed).
#include "core/users_file.h"

#include <gtest/gtest.h>

namespace cb {
namespace {

const char* k_list = R"(# research users
group hpc 30000
alice 20001 20001 hpc   # her own group
bob   20002 30000       # primary group hpc
)";

UsersList parsed(const std::string& text) {
    auto list = parse_users_file(text, "users.txt");
    EXPECT_TRUE(list) << list.error().message;
    return list ? *list : UsersList{};
}

std::string error_of(const std::string& text) {
    auto list = parse_users_file(text, "users.txt");
    return list ? "(parsed)" : list.error().message;
}

TEST(UsersFile, ParsesUsersAndGroups) {
    const UsersList list = parsed(k_list);
    ASSERT_EQ(list.users.size(), 2u);
    EXPECT_EQ(list.users[0].name, "alice");
    EXPECT_EQ(list.users[0].uid, 20001u);
    EXPECT_EQ(list.users[0].primary_group, "alice");
    EXPECT_EQ(list.users[0].groups, std::vector<std::string>{"hpc"});
    EXPECT_EQ(list.users[1].primary_group, "hpc");
    ASSERT_EQ(list.groups.size(), 2u);
    EXPECT_EQ(list.groups[0].name, "hpc");
    EXPECT_EQ(list.groups[1].name, "alice");
    EXPECT_EQ(list.groups[1].gid, 20001u);
}

TEST(UsersFile, ErrorsNameTheLine) {
    EXPECT_EQ(error_of("alice 20001\n"),
              "users.txt:1: expected 'NAME UID GID [GROUP...]' or 'group NAME GID'");
    EXPECT_EQ(error_of("\nAlice 20001 20001\n"),
              "users.txt:2: 'Alice' is not a valid user name (lower-case letters, digits, '_' "
              "and '-', starting with a letter or '_', at most 32 characters)");
    EXPECT_EQ(error_of("alice 0 0\n"),
              "users.txt:1: UID 0 is outside 1000-2147483647 (system and root IDs are not "
              "managed here; 65534 is nobody)");
    EXPECT_EQ(error_of("alice x1 20001\n"), "users.txt:1: UID 'x1' is not a number");
    EXPECT_EQ(error_of("alice 20001 20001\nbob 20001 20002\n"),
              "users.txt:2: UID 20001 is already user 'alice' (line 1)");
    EXPECT_EQ(error_of("alice 20001 20001\nalice 20002 20002\n"),
              "users.txt:2: user 'alice' is already listed on line 1");
    EXPECT_EQ(error_of("alice 20001 20001 hpc\n"),
              "users.txt:1: group 'hpc' is not defined (add a line 'group hpc GID')");
    EXPECT_EQ(error_of("group hpc 30000\ngroup gpu 30000\n"),
              "users.txt:2: GID 30000 is already group 'hpc' (line 1)");
    EXPECT_EQ(error_of("alice 20001 20001\nbob 20002 20001\n"),
              "users.txt:2: GID 20001 is already the group of user 'alice'; to share it, "
              "define it with a line 'group NAME 20001'");
    EXPECT_EQ(error_of("group alice 30000\nalice 20001 20001\n"),
              "users.txt:2: user 'alice' has GID 20001, but group 'alice' has GID 30000 (line "
              "1)");
    EXPECT_EQ(error_of("group hpc\n"), "users.txt:1: expected 'group NAME GID'");
}

TEST(UsersPlan, CreatesWhatIsMissing) {
    const UsersPlan plan = plan_users(parsed(k_list), {}, "/shared/home");
    ASSERT_EQ(plan.create_groups.size(), 2u);
    ASSERT_EQ(plan.create_users.size(), 2u);
    EXPECT_EQ(plan.ready_users, (std::vector<std::string>{"alice", "bob"}));
    EXPECT_TRUE(plan.mismatches.empty());
}

TEST(UsersPlan, MatchingAccountsNeedNothing) {
    AccountLookup existing;
    existing.groups = {{"hpc", 30000, {"alice"}}, {"alice", 20001, {}}};
    existing.users = {{"alice", 20001, 20001, "/shared/home/alice"},
                      {"bob", 20002, 30000, "/shared/home/bob"}};
    const UsersPlan plan = plan_users(parsed(k_list), existing, "/shared/home");
    EXPECT_TRUE(plan.create_groups.empty());
    EXPECT_TRUE(plan.create_users.empty());
    EXPECT_EQ(plan.ready_users, (std::vector<std::string>{"alice", "bob"}));
    EXPECT_TRUE(plan.mismatches.empty());
}

TEST(UsersPlan, MismatchesAreReportedNotChanged) {
    AccountLookup existing;
    existing.groups = {{"hpc", 31000, {}}, {"alice", 20001, {}}, {"staff", 20002, {}}};
    existing.users = {{"alice", 1001, 20001, "/home/alice"}, {"carol", 20002, 20002, "/x"}};
    const UsersPlan plan = plan_users(parsed(k_list), existing, "/shared/home");
    EXPECT_TRUE(plan.create_groups.empty());
    EXPECT_TRUE(plan.create_users.empty());
    EXPECT_TRUE(plan.ready_users.empty());
    EXPECT_EQ(plan.mismatches,
              (std::vector<std::string>{
                  "group 'hpc' exists with GID 31000, the list says 30000",
                  "user 'alice' exists with UID 1001, the list says 20001",
                  "user 'alice' has home /home/alice, not /shared/home/alice",
                  "user 'alice' is not in group 'hpc' (add it yourself: usermod -a -G hpc alice)",
                  "UID 20002 belongs to user 'carol', the list gives it to 'bob'",
              }));
}

TEST(UsersPlan, AUserWhoseGroupConflictsIsNotCreated) {
    AccountLookup existing;
    existing.groups = {{"other", 30000, {}}};
    const UsersPlan plan = plan_users(parsed(k_list), existing, "/shared/home");
    EXPECT_EQ(plan.mismatches,
              (std::vector<std::string>{
                  "GID 30000 belongs to group 'other', the list gives it to 'hpc'",
                  "user 'alice' not created: its group 'hpc' does not match the machine (see "
                  "above)",
                  "user 'bob' not created: its group 'hpc' does not match the machine (see "
                  "above)",
              }));
    EXPECT_TRUE(plan.create_users.empty());
}

}  // namespace
}  // namespace cb
