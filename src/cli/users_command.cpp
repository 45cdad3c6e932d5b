// `cloudburst users sync --file users.txt`: the accounts a list file names, with the same
// UIDs and GIDs as on the burst nodes, homes on the shared file system and an SSH key pair
// each for passwordless SSH between nodes (cli/user_ssh.h). Existing accounts that differ are
// reported, never changed; a user whose SSH files are wrong is reported and the others go
// on. The file format is in core/users_file.h and docs/setup.md.
#include <sys/stat.h>
#include <CLI/CLI.hpp>

#include <filesystem>
#include <iostream>
#include <memory>

#include "cli/accounts.h"
#include "cli/commands.h"
#include "cli/system_changes.h"
#include "cli/user_ssh.h"
#include "core/users_file.h"
#include "util/files.h"
#include "util/process.h"

namespace cb::cli {

namespace {

struct UsersOptions {
    std::string file;
    std::string home_base = "/shared/home";
    std::string shell = "/bin/bash";
    bool dry_run = false;
};

Command tool(std::vector<std::string> argv) {
    return Command{std::move(argv), minimal_environment(), {}, std::chrono::seconds(60)};
}

Result<int> run_users_sync(const UsersOptions& o) {
    if (o.home_base.empty() || o.home_base.front() != '/') {
        return make_error(ErrorKind::k_usage, "--home-base must be absolute");
    }
    auto text = read_file(o.file, std::size_t{4} << 20);
    if (!text) {
        return text.error();
    }
    auto list = parse_users_file(*text, o.file);
    if (!list) {
        return list.error();
    }
    const UsersPlan plan = plan_users(*list, lookup_accounts(*list), o.home_base);
    auto changes =
        make_system_changes(o.dry_run ? ChangeMode::k_dry_run : ChangeMode::k_apply, std::cout);
    struct stat st {};
    if (!plan.create_users.empty() && ::lstat(o.home_base.c_str(), &st) != 0) {
        if (auto s = changes->other("create directory " + o.home_base,
                                    [&o] { return make_directories(o.home_base, 0755); });
            !s) {
            return s.error();
        }
    }
    for (const auto& g : plan.create_groups) {
        if (auto s =
                changes->run(tool({"/usr/sbin/groupadd", "--gid", std::to_string(g.gid), g.name}),
                             "create group " + g.name);
            !s) {
            return s.error();
        }
    }
    for (const auto& u : plan.create_users) {
        std::vector<std::string> argv{"/usr/sbin/useradd",
                                      "--uid",
                                      std::to_string(u.uid),
                                      "--gid",
                                      std::to_string(u.gid),
                                      "--home-dir",
                                      o.home_base + "/" + u.name,
                                      "--create-home",
                                      "--shell",
                                      o.shell};
        std::string groups;
        for (const auto& g : u.groups) {
            groups += (groups.empty() ? "" : ",") + g;
        }
        if (!groups.empty()) {
            argv.insert(argv.end(), {"--groups", groups});
        }
        argv.push_back(u.name);
        if (auto s = changes->run(tool(argv), "create user " + u.name); !s) {
            return s.error();
        }
    }
    std::vector<ExistingUser> ready;
    for (const auto& name : plan.ready_users) {
        if (auto u = user_by_name(name)) {
            ready.push_back(*u);
            continue;
        }
        // Only in a dry run: the user is not created yet.
        if (auto s = changes->other(
                "create an SSH key pair for " + name + " and authorize it",
                [&name] {
                    return make_error(ErrorKind::k_io, "user " + name +
                                                           " is not in the account database "
                                                           "after useradd; check NSS, then rerun");
                });
            !s) {
            return s.error();
        }
    }
    const auto failed = ensure_users_ssh(*changes, ready, std::cerr);
    for (const auto& m : plan.mismatches) {
        std::cout << "mismatch: " << m << "\n";
    }
    if (changes->count() == 0) {
        std::cout << "no changes\n";
    } else if (o.dry_run) {
        std::cout << changes->count() << " change(s) would be made; nothing was changed\n";
    }
    if (!plan.mismatches.empty()) {
        std::cerr << "cloudburst: " << plan.mismatches.size() << " account(s) differ from "
                  << o.file
                  << ": nothing was changed for them; fix them by hand (or fix the list) so "
                     "the IDs match the burst nodes, then rerun\n";
    }
    if (!failed.empty()) {
        std::string names;
        for (const auto& name : failed) {
            names += (names.empty() ? "" : ", ") + name;
        }
        std::cerr << "cloudburst: SSH is not set up for " << failed.size() << " user(s) (" << names
                  << "): fix what is reported above for them, then rerun\n";
    }
    return plan.mismatches.empty() && failed.empty() ? 0 : 1;
}

}  // namespace

std::vector<CommandSpec> users_commands() {
    return {
        {"users", "manage the accounts that must match the burst nodes", [](CLI::App& app) {
             app.require_subcommand(1);
             auto o = std::make_shared<UsersOptions>();
             CLI::App* s = app.add_subcommand(
                 "sync", "create the users and groups of a list file, with SSH keys");
             s->add_option("-f,--file", o->file,
                           "the list: 'NAME UID GID [GROUP...]' and 'group NAME GID' lines")
                 ->required();
             s->add_option("--home-base", o->home_base, "homes are created here")
                 ->capture_default_str();
             s->add_option("--shell", o->shell, "login shell of new users")->capture_default_str();
             s->add_flag("-n,--dry-run", o->dry_run, "print every change; change nothing");
             auto action = std::make_shared<std::function<Result<int>()>>();
             s->callback([o, action] { *action = [o] { return run_users_sync(*o); }; });
             return std::function<Result<int>()>([action]() -> Result<int> {
                 if (!*action) {
                     return make_error(ErrorKind::k_usage,
                                       "choose what to do: cloudburst users sync");
                 }
                 return (*action)();
             });
         }}};
}

}  // namespace cb::cli
