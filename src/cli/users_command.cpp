// `cloudburst users sync --file users.txt`: the accounts a list file names, with the same
// UIDs and GIDs as on the burst nodes, homes on the shared file system and an SSH key pair
// each for passwordless SSH between nodes. Existing accounts that differ are reported, never
// changed. The file format is in core/users_file.h and docs/setup.md.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <CLI/CLI.hpp>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <memory>

#include "cli/accounts.h"
#include "cli/commands.h"
#include "cli/system_changes.h"
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

// A directory that belongs to `uid` and is not a symlink, opened so that what follows
// cannot be redirected elsewhere by its owner. -1 if not so (errno set).
int open_owned_dir(int parent, const char* name, uid_t uid) {
    const int fd = ::openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    struct stat st {};
    if (fd >= 0 && (::fstat(fd, &st) != 0 || st.st_uid != uid)) {
        ::close(fd);
        errno = EPERM;
        return -1;
    }
    return fd;
}

// Adds `public_key` to HOME/.ssh/authorized_keys unless it is there. Runs as root in a
// directory the user owns: no symlinks or hard links are followed.
Status authorize_key(const std::string& home, const ExistingUser& u,
                     const std::string& public_key) {
    const int home_fd = open_owned_dir(AT_FDCWD, home.c_str(), u.uid);
    if (home_fd < 0) {
        return make_error(ErrorKind::k_io, home + " is not a directory owned by " + u.name);
    }
    const int ssh_fd = open_owned_dir(home_fd, ".ssh", u.uid);
    ::close(home_fd);
    if (ssh_fd < 0) {
        return make_error(ErrorKind::k_io, home + "/.ssh is not a directory owned by " + u.name);
    }
    const int fd = ::openat(ssh_fd, "authorized_keys",
                            O_RDWR | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    ::close(ssh_fd);
    if (fd < 0) {
        return make_error(ErrorKind::k_io,
                          "cannot open " + home + "/.ssh/authorized_keys: " + std::strerror(errno));
    }
    struct stat st {};
    std::string current;
    bool ok = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_nlink == 1 &&
              (st.st_uid == u.uid || st.st_uid == 0) && st.st_size < (1 << 20);
    if (ok) {
        current.resize(static_cast<std::size_t>(st.st_size));
        ok = ::pread(fd, current.data(), current.size(), 0) == st.st_size;
    }
    if (ok && current.find(public_key) == std::string::npos) {
        const std::string line =
            (current.empty() || current.back() == '\n' ? "" : "\n") + public_key;
        ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
    }
    ok = ok && ::fchown(fd, u.uid, u.gid) == 0 && ::fchmod(fd, 0600) == 0;
    ::close(fd);
    if (!ok) {
        return make_error(ErrorKind::k_io, "cannot update " + home + "/.ssh/authorized_keys");
    }
    return ok_status();
}

// ~/.ssh with a key pair and the public key authorized, made as the user (setpriv), so the
// user's own files can never point our writes elsewhere.
Status ensure_ssh(SystemChanges& changes, const std::string& name) {
    auto u = user_by_name(name);
    if (!u) {
        // Only in a dry run: the user is not created yet.
        return changes.other("create an SSH key pair for " + name + " and authorize it",
                             [] { return ok_status(); });
    }
    const std::string ssh = u->home + "/.ssh";
    const std::string key = ssh + "/id_ed25519";
    const std::vector<std::string> as_user{"/usr/bin/setpriv", "--reuid=" + std::to_string(u->uid),
                                           "--regid=" + std::to_string(u->gid), "--init-groups"};
    struct stat st {};
    if (::lstat(u->home.c_str(), &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != u->uid) {
        return make_error(ErrorKind::k_io, "home " + u->home + " of user " + name +
                                               " is missing or not owned by it: create it "
                                               "(owner " +
                                               name + ") and rerun");
    }
    if (::lstat(ssh.c_str(), &st) != 0) {
        auto argv = as_user;
        argv.insert(argv.end(), {"/usr/bin/mkdir", "-m", "0700", ssh});
        if (auto s = changes.run(tool(argv), "create " + ssh); !s) {
            return s;
        }
    }
    if (::lstat(key.c_str(), &st) != 0) {
        auto argv = as_user;
        argv.insert(argv.end(), {"/usr/bin/ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C",
                                 name + "@cloudburst", "-f", key});
        if (auto s = changes.run(tool(argv), "create an SSH key pair for " + name); !s) {
            return s;
        }
    }
    auto pub = read_file(key + ".pub", std::size_t{64} * 1024);
    if (!pub) {
        // A dry run: the key does not exist yet.
        return changes.other("authorize " + name + "'s key in " + ssh + "/authorized_keys",
                             [] { return ok_status(); });
    }
    auto authorized = read_file(ssh + "/authorized_keys", 1 << 20);
    if (authorized && authorized->find(*pub) != std::string::npos) {
        return ok_status();
    }
    return changes.other("authorize " + name + "'s key in " + ssh + "/authorized_keys",
                         [&] { return authorize_key(u->home, *u, *pub); });
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
    for (const auto& name : plan.ready_users) {
        if (auto s = ensure_ssh(*changes, name); !s) {
            return s.error().with_context("setting up SSH for " + name);
        }
    }
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
        return 1;
    }
    return 0;
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
