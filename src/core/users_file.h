// The users list of `cloudburst users sync` and the plan that brings a machine's accounts in
// line with it. Pure: the command reads the file and the account database and applies the
// plan.
//
// File format (docs/setup.md, "Users"), one entry per line, `#` starts a comment:
//
//   group NAME GID              a group of its own (for sharing, or a common primary group)
//   NAME UID GID [GROUP...]     a user; GID is the primary group: the `group` line with that
//                               GID if there is one, else a group named after the user
//                               (created with that GID); GROUPs are supplementary groups,
//                               each defined by a `group` line
//
// Names are [a-z_][a-z0-9_-]* (at most 32 characters); IDs are 1000 to 2147483647 (root's
// and system IDs are refused, and 65534 is nobody).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace cb {

struct ListedGroup {
    std::string name;
    unsigned gid = 0;
    int line = 0;
};

struct ListedUser {
    std::string name;
    unsigned uid = 0;
    unsigned gid = 0;                 // primary group
    std::string primary_group;        // its name (resolved by parse_users_file)
    std::vector<std::string> groups;  // supplementary, by name
    int line = 0;
};

struct UsersList {
    std::vector<ListedGroup> groups;  // every group to exist: listed ones and user groups
    std::vector<ListedUser> users;
};

// Parses the list. Errors (k_invalid_input) name the place: "users.txt:3: ...".
Result<UsersList> parse_users_file(std::string_view text, const std::string& source);

// What the machine has (from the account database).
struct ExistingGroup {
    std::string name;
    unsigned gid = 0;
    std::vector<std::string> members;  // supplementary members
};
struct ExistingUser {
    std::string name;
    unsigned uid = 0;
    unsigned gid = 0;
    std::string home;
};
struct AccountLookup {
    std::vector<ExistingGroup> groups;  // those the list names by name or gid
    std::vector<ExistingUser> users;    // those the list names by name or uid
};

struct UsersPlan {
    std::vector<ListedGroup> create_groups;
    std::vector<ListedUser> create_users;
    // Users that exist and match (or are created): their homes get SSH keys.
    std::vector<std::string> ready_users;
    // Differences with existing accounts, one sentence each; nothing is changed for them.
    std::vector<std::string> mismatches;
};

// Compares the list with the machine. A user whose groups conflict is not created; a user
// that exists with other IDs is reported, never changed. `home_base`: where homes should be
// (a user whose home is elsewhere is reported, and still gets keys in the home it has).
UsersPlan plan_users(const UsersList& list, const AccountLookup& existing,
                     const std::string& home_base);

}  // namespace cb
