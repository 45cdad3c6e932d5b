#include "core/users_file.h"

#include <algorithm>
#include <charconv>
#include <map>
#include <sstream>
#include <utility>

namespace cb {

namespace {

constexpr unsigned k_min_id = 1000;
constexpr unsigned k_max_id = 2147483647;
constexpr unsigned k_nobody = 65534;

bool valid_name(const std::string& name) {
    if (name.empty() || name.size() > 32) {
        return false;
    }
    if (!((name[0] >= 'a' && name[0] <= 'z') || name[0] == '_')) {
        return false;
    }
    return std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    });
}

class LineParser {
  public:
    LineParser(const std::string& source, int line)
        : m_where(source + ":" + std::to_string(line)) {}

    Error error(const std::string& what) const {
        return make_error(ErrorKind::k_invalid_input, m_where + ": " + what);
    }

    Result<std::string> name(const std::string& token, const char* what) const {
        if (!valid_name(token)) {
            return error("'" + token + "' is not a valid " + what +
                         " name (lower-case letters, digits, '_' and '-', starting with a "
                         "letter or '_', at most 32 characters)");
        }
        return token;
    }

    Result<unsigned> id(const std::string& token, const char* what) const {
        unsigned value = 0;
        const auto [ptr, ec] = std::from_chars(token.data(), token.data() + token.size(), value);
        if (ec != std::errc() || ptr != token.data() + token.size()) {
            return error(std::string(what) + " '" + token + "' is not a number");
        }
        if (value < k_min_id || value > k_max_id || value == k_nobody) {
            return error(std::string(what) + " " + token + " is outside 1000-2147483647 " +
                         "(system and root IDs are not managed here; 65534 is nobody)");
        }
        return value;
    }

  private:
    std::string m_where;
};

std::vector<std::string> words_of(std::string_view line) {
    const auto hash = line.find('#');
    std::istringstream in{std::string(line.substr(0, hash))};
    std::vector<std::string> out;
    for (std::string w; in >> w;) {
        out.push_back(w);
    }
    return out;
}

}  // namespace

Result<UsersList> parse_users_file(std::string_view text, const std::string& source) {
    UsersList list;
    std::istringstream in{std::string(text)};
    int line_no = 0;
    for (std::string line; std::getline(in, line);) {
        ++line_no;
        const auto w = words_of(line);
        if (w.empty()) {
            continue;
        }
        const LineParser p(source, line_no);
        if (w[0] == "group") {
            if (w.size() != 3) {
                return p.error("expected 'group NAME GID'");
            }
            auto name = p.name(w[1], "group");
            if (!name) {
                return name.error();
            }
            auto gid = p.id(w[2], "GID");
            if (!gid) {
                return gid.error();
            }
            for (const auto& g : list.groups) {
                if (g.name == *name) {
                    return p.error("group '" + *name + "' is already defined on line " +
                                   std::to_string(g.line));
                }
                if (g.gid == *gid) {
                    return p.error("GID " + w[2] + " is already group '" + g.name + "' (line " +
                                   std::to_string(g.line) + ")");
                }
            }
            list.groups.push_back({*name, *gid, line_no});
            continue;
        }
        if (w.size() < 3) {
            return p.error("expected 'NAME UID GID [GROUP...]' or 'group NAME GID'");
        }
        ListedUser u;
        u.line = line_no;
        auto name = p.name(w[0], "user");
        if (!name) {
            return name.error();
        }
        u.name = *name;
        auto uid = p.id(w[1], "UID");
        if (!uid) {
            return uid.error();
        }
        u.uid = *uid;
        auto gid = p.id(w[2], "GID");
        if (!gid) {
            return gid.error();
        }
        u.gid = *gid;
        for (std::size_t i = 3; i < w.size(); ++i) {
            auto g = p.name(w[i], "group");
            if (!g) {
                return g.error();
            }
            u.groups.push_back(*g);
        }
        for (const auto& other : list.users) {
            if (other.name == u.name) {
                return p.error("user '" + u.name + "' is already listed on line " +
                               std::to_string(other.line));
            }
            if (other.uid == u.uid) {
                return p.error("UID " + w[1] + " is already user '" + other.name + "' (line " +
                               std::to_string(other.line) + ")");
            }
        }
        list.users.push_back(std::move(u));
    }
    // Primary groups: a listed group with that GID, else the user's own group.
    const std::size_t listed_groups = list.groups.size();
    for (auto& u : list.users) {
        const LineParser p(source, u.line);
        for (std::size_t i = 0; i < listed_groups; ++i) {
            const auto& g = list.groups[i];
            if (g.gid == u.gid) {
                u.primary_group = g.name;
            } else if (g.name == u.name) {
                return p.error("user '" + u.name + "' has GID " + std::to_string(u.gid) +
                               ", but group '" + g.name + "' has GID " + std::to_string(g.gid) +
                               " (line " + std::to_string(g.line) + ")");
            }
        }
        if (u.primary_group.empty()) {
            for (std::size_t i = listed_groups; i < list.groups.size(); ++i) {
                if (list.groups[i].gid == u.gid) {
                    return p.error("GID " + std::to_string(u.gid) +
                                   " is already the group of user '" + list.groups[i].name +
                                   "'; to share it, define it with a line 'group NAME " +
                                   std::to_string(u.gid) + "'");
                }
            }
            u.primary_group = u.name;
            list.groups.push_back({u.name, u.gid, u.line});
        }
        for (const auto& g : u.groups) {
            const bool defined =
                std::any_of(list.groups.begin(), list.groups.begin() + listed_groups,
                            [&g](const ListedGroup& lg) { return lg.name == g; });
            if (!defined) {
                std::string what = "group '" + g;
                what += "' is not defined (add a line 'group " + g;
                what += " GID')";
                return p.error(what);
            }
        }
    }
    return list;
}

UsersPlan plan_users(const UsersList& list, const AccountLookup& existing,
                     const std::string& home_base) {
    UsersPlan plan;
    std::vector<std::string> bad_groups;
    std::map<std::string, const ExistingGroup*> group_by_name;
    for (const auto& g : existing.groups) {
        group_by_name[g.name] = &g;
    }
    for (const auto& g : list.groups) {
        const auto by_name = group_by_name.find(g.name);
        const auto by_gid = std::find_if(existing.groups.begin(), existing.groups.end(),
                                         [&g](const ExistingGroup& e) { return e.gid == g.gid; });
        if (by_name != group_by_name.end() && by_name->second->gid != g.gid) {
            plan.mismatches.push_back("group '" + g.name + "' exists with GID " +
                                      std::to_string(by_name->second->gid) + ", the list says " +
                                      std::to_string(g.gid));
            bad_groups.push_back(g.name);
        } else if (by_name == group_by_name.end() && by_gid != existing.groups.end()) {
            plan.mismatches.push_back("GID " + std::to_string(g.gid) + " belongs to group '" +
                                      by_gid->name + "', the list gives it to '" + g.name + "'");
            bad_groups.push_back(g.name);
        } else if (by_name == group_by_name.end()) {
            plan.create_groups.push_back(g);
        }
    }
    auto is_bad = [&bad_groups](const std::string& g) {
        return std::find(bad_groups.begin(), bad_groups.end(), g) != bad_groups.end();
    };
    for (const auto& u : list.users) {
        const auto by_name = std::find_if(existing.users.begin(), existing.users.end(),
                                          [&u](const ExistingUser& e) { return e.name == u.name; });
        const auto by_uid = std::find_if(existing.users.begin(), existing.users.end(),
                                         [&u](const ExistingUser& e) { return e.uid == u.uid; });
        const std::string home = home_base + "/" + u.name;
        if (by_name != existing.users.end()) {
            bool ok = true;
            if (by_name->uid != u.uid) {
                plan.mismatches.push_back("user '" + u.name + "' exists with UID " +
                                          std::to_string(by_name->uid) + ", the list says " +
                                          std::to_string(u.uid));
                ok = false;
            }
            if (by_name->gid != u.gid) {
                plan.mismatches.push_back("user '" + u.name + "' has primary GID " +
                                          std::to_string(by_name->gid) + ", the list says " +
                                          std::to_string(u.gid));
                ok = false;
            }
            if (by_name->home != home) {
                plan.mismatches.push_back("user '" + u.name + "' has home " + by_name->home +
                                          ", not " + home);
            }
            for (const auto& g : u.groups) {
                const auto eg = group_by_name.find(g);
                const bool member =
                    eg != group_by_name.end() &&
                    std::find(eg->second->members.begin(), eg->second->members.end(), u.name) !=
                        eg->second->members.end();
                if (!member) {
                    std::string what = "user '" + u.name;
                    what += "' is not in group '" + g;
                    what += "' (add it yourself: usermod -a -G " + g;
                    what += " " + u.name + ")";
                    plan.mismatches.push_back(std::move(what));
                }
            }
            if (ok) {
                plan.ready_users.push_back(u.name);
            }
            continue;
        }
        if (by_uid != existing.users.end()) {
            plan.mismatches.push_back("UID " + std::to_string(u.uid) + " belongs to user '" +
                                      by_uid->name + "', the list gives it to '" + u.name + "'");
            continue;
        }
        std::string conflict;
        if (is_bad(u.primary_group)) {
            conflict = u.primary_group;
        }
        for (const auto& g : u.groups) {
            if (conflict.empty() && is_bad(g)) {
                conflict = g;
            }
        }
        if (!conflict.empty()) {
            plan.mismatches.push_back("user '" + u.name + "' not created: its group '" + conflict +
                                      "' does not match the machine (see above)");
            continue;
        }
        plan.create_users.push_back(u);
        plan.ready_users.push_back(u.name);
    }
    return plan;
}

}  // namespace cb
