#include "cli/accounts.h"

#include <grp.h>
#include <pwd.h>

#include <algorithm>

namespace cb::cli {

namespace {

ExistingUser from_passwd(const passwd& pw) {
    return {pw.pw_name, pw.pw_uid, pw.pw_gid, pw.pw_dir != nullptr ? pw.pw_dir : ""};
}

ExistingGroup from_group(const group& gr) {
    ExistingGroup g{gr.gr_name, gr.gr_gid, {}};
    for (char** m = gr.gr_mem; m != nullptr && *m != nullptr; ++m) {
        g.members.emplace_back(*m);
    }
    return g;
}

template <typename T>
void add_unique(std::vector<T>& to, const std::optional<T>& item) {
    if (item &&
        std::none_of(to.begin(), to.end(), [&item](const T& x) { return x.name == item->name; })) {
        to.push_back(*item);
    }
}

}  // namespace

std::optional<ExistingUser> user_by_name(const std::string& name) {
    const passwd* pw = ::getpwnam(name.c_str());
    return pw != nullptr ? std::optional(from_passwd(*pw)) : std::nullopt;
}

std::optional<ExistingUser> user_by_uid(unsigned uid) {
    const passwd* pw = ::getpwuid(uid);
    return pw != nullptr ? std::optional(from_passwd(*pw)) : std::nullopt;
}

std::optional<ExistingGroup> group_by_name(const std::string& name) {
    const group* gr = ::getgrnam(name.c_str());
    return gr != nullptr ? std::optional(from_group(*gr)) : std::nullopt;
}

std::optional<ExistingGroup> group_by_gid(unsigned gid) {
    const group* gr = ::getgrgid(gid);
    return gr != nullptr ? std::optional(from_group(*gr)) : std::nullopt;
}

AccountLookup lookup_accounts(const UsersList& list) {
    AccountLookup out;
    for (const auto& g : list.groups) {
        add_unique(out.groups, group_by_name(g.name));
        add_unique(out.groups, group_by_gid(g.gid));
    }
    for (const auto& u : list.users) {
        add_unique(out.users, user_by_name(u.name));
        add_unique(out.users, user_by_uid(u.uid));
        for (const auto& g : u.groups) {
            add_unique(out.groups, group_by_name(g));
        }
    }
    return out;
}

}  // namespace cb::cli
