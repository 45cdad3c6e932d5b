// Reading the machine's account database (NSS: /etc/passwd, LDAP, ...) for the setup
// commands. Lookups only; changes go through useradd/groupadd (cli/system_changes.h).
#pragma once

#include <optional>
#include <string>

#include "core/users_file.h"

namespace cb::cli {

std::optional<ExistingUser> user_by_name(const std::string& name);
std::optional<ExistingUser> user_by_uid(unsigned uid);
std::optional<ExistingGroup> group_by_name(const std::string& name);
std::optional<ExistingGroup> group_by_gid(unsigned gid);

// The accounts `list` names, by name or ID, as they exist now.
AccountLookup lookup_accounts(const UsersList& list);

}  // namespace cb::cli
