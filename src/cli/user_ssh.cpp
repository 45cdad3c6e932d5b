#include "cli/user_ssh.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ostream>

#include "cli/accounts.h"
#include "core/ssh_public_key.h"
#include "util/process.h"
#include "util/unique_fd.h"

namespace cb::cli {

namespace {

constexpr std::size_t k_max_public_key = std::size_t{64} * 1024;
constexpr std::size_t k_max_authorized_keys = std::size_t{1} << 20;

// A file or directory in the user's home, with what the operator must do when it is wrong.
struct Item {
    std::string path;
    std::string remedy;  // "make it ...", completed by ", then rerun"
};

// The items ensure_user_ssh touches, for one user.
struct SshItems {
    explicit SshItems(const ExistingUser& u)
        : home{u.home, "make it a directory owned by " + u.name},
          ssh{u.home + "/.ssh", "make it a directory owned by " + u.name +
                                    " (mode 0700), or remove it so that users sync creates it"},
          private_key(ssh.path + "/id_ed25519"),
          public_key{private_key + ".pub", "make it a regular file owned by " + u.name +
                                               " that holds the public key of " + private_key +
                                               " (as " + u.name + ": ssh-keygen -y -f " +
                                               private_key + " > " + private_key + ".pub)"},
          authorized_keys{ssh.path + "/authorized_keys",
                          "make it a regular file owned by " + u.name +
                              " (mode 0600) with no other link, or remove it so that users "
                              "sync creates it"} {}
    Item home;
    Item ssh;
    std::string private_key;
    Item public_key;
    Item authorized_keys;
};

enum class Want { k_directory, k_file };

Error item_error(ErrorKind kind, const Item& item, const std::string& wrong) {
    return make_error(kind, item.path + " " + wrong + ": " + item.remedy + ", then rerun");
}

std::string owner_name(uid_t uid) {
    auto u = user_by_uid(uid);
    return u ? u->name : "uid " + std::to_string(uid);
}

std::string kind_of(mode_t mode) {
    if (S_ISDIR(mode)) {
        return "a directory";
    }
    if (S_ISREG(mode)) {
        return "a regular file";
    }
    if (S_ISFIFO(mode)) {
        return "a FIFO";
    }
    if (S_ISSOCK(mode)) {
        return "a socket";
    }
    return "a device";
}

// What is wrong with `st` as the user's `want`, or "" when nothing is.
std::string wrong_with(const struct stat& st, Want want, const ExistingUser& u) {
    if (S_ISLNK(st.st_mode)) {
        return "is a symbolic link, which is not followed in a user's home";
    }
    if (want == Want::k_directory && !S_ISDIR(st.st_mode)) {
        return "is " + kind_of(st.st_mode) + ", not a directory";
    }
    if (want == Want::k_file && !S_ISREG(st.st_mode)) {
        return "is " + kind_of(st.st_mode) + ", not a regular file";
    }
    if (want == Want::k_file && st.st_nlink != 1) {
        return "has " + std::to_string(st.st_nlink) + " hard links, so it is also a file elsewhere";
    }
    if (st.st_uid != u.uid) {
        return "is owned by " + owner_name(st.st_uid) + ", not by " + u.name;
    }
    return "";
}

// Opens `name` in `parent` without following a symbolic link or blocking on a FIFO, and
// checks the descriptor: `want`, owned by the user, a file with one link. Errors: k_not_found
// "PATH does not exist: REMEDY, then rerun"; k_io for anything else wrong.
Result<UniqueFd> open_checked(int parent, const std::string& name, int flags, Want want,
                              const Item& item, const ExistingUser& u) {
    UniqueFd fd(
        ::openat(parent, name.c_str(), flags | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
    struct stat st {};
    if (fd.get() < 0) {
        const int err = errno;
        if (err == ENOENT) {
            return item_error(ErrorKind::k_not_found, item, "does not exist");
        }
        if (::fstatat(parent, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
            if (auto wrong = wrong_with(st, want, u); !wrong.empty()) {
                return item_error(ErrorKind::k_io, item, wrong);
            }
        }
        return make_error(ErrorKind::k_io, "cannot open " + item.path + ": " + std::strerror(err));
    }
    if (::fstat(fd.get(), &st) != 0) {
        return make_error(ErrorKind::k_io,
                          "cannot stat " + item.path + ": " + std::strerror(errno));
    }
    if (auto wrong = wrong_with(st, want, u); !wrong.empty()) {
        return item_error(ErrorKind::k_io, item, wrong);
    }
    return fd;
}

// The content of an open, checked file, from its start.
Result<std::string> read_all(int fd, const Item& item, std::size_t max_bytes) {
    std::string out;
    char buf[16384];
    for (;;) {
        const ssize_t n = ::pread(fd, buf, sizeof buf, static_cast<off_t>(out.size()));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            return make_error(ErrorKind::k_io,
                              "cannot read " + item.path + ": " + std::strerror(errno));
        }
        if (n == 0) {
            return out;
        }
        out.append(buf, static_cast<std::size_t>(n));
        if (out.size() > max_bytes) {
            return item_error(ErrorKind::k_io, item,
                              "is larger than " + std::to_string(max_bytes) + " bytes");
        }
    }
}

Result<std::string> read_checked(int dir, const std::string& name, const Item& item,
                                 const ExistingUser& u, std::size_t max_bytes) {
    auto fd = open_checked(dir, name, O_RDONLY, Want::k_file, item, u);
    if (!fd) {
        return std::move(fd).error();
    }
    return read_all(fd->get(), item, max_bytes);
}

// Opens authorized_keys for appending, creating it if it is not there: O_EXCL, so that a
// link planted meanwhile makes the creation fail instead of being followed; the new file is
// root's and 0600 until it is given to the user, so nobody else can open it meanwhile.
Result<UniqueFd> open_authorized_keys(int ssh, const Item& item, const ExistingUser& u) {
    auto fd = open_checked(ssh, "authorized_keys", O_RDWR | O_APPEND, Want::k_file, item, u);
    if (fd || fd.error().kind != ErrorKind::k_not_found) {
        return fd;
    }
    UniqueFd created(::openat(ssh, "authorized_keys",
                              O_RDWR | O_APPEND | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (created.get() < 0) {
        return make_error(ErrorKind::k_io, "cannot create " + item.path + ": " +
                                               std::strerror(errno) +
                                               "; rerun (something else created it meanwhile)");
    }
    if (::fchown(created.get(), u.uid, u.gid) != 0 || ::fchmod(created.get(), 0600) != 0) {
        const int err = errno;
        ::unlinkat(ssh, "authorized_keys", 0);
        return make_error(ErrorKind::k_io,
                          "cannot give " + item.path + " to " + u.name + ": " + std::strerror(err));
    }
    return created;
}

Status append_key(int ssh, const SshPublicKey& key, const Item& item, const ExistingUser& u) {
    auto fd = open_authorized_keys(ssh, item, u);
    if (!fd) {
        return std::move(fd).error();
    }
    auto current = read_all(fd->get(), item, k_max_authorized_keys);
    if (!current) {
        return std::move(current).error();
    }
    if (authorizes(*current, key)) {
        return ok_status();
    }
    std::string line = current->empty() || current->back() == '\n' ? "" : "\n";
    line += key.line();
    if (::write(fd->get(), line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
        return make_error(ErrorKind::k_io,
                          "cannot write " + item.path + ": " + std::strerror(errno));
    }
    return ok_status();
}

Command as_user(const ExistingUser& u, std::vector<std::string> argv) {
    std::vector<std::string> full{"/usr/bin/setpriv", "--reuid=" + std::to_string(u.uid),
                                  "--regid=" + std::to_string(u.gid), "--init-groups"};
    full.insert(full.end(), argv.begin(), argv.end());
    return Command{std::move(full), minimal_environment(), {}, std::chrono::seconds(60)};
}

bool exists_in(int dir, const char* name) {
    struct stat st {};
    return ::fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) == 0 || errno != ENOENT;
}

}  // namespace

Status ensure_user_ssh(SystemChanges& changes, const ExistingUser& user) {
    const SshItems items(user);
    auto home = open_checked(AT_FDCWD, user.home, O_RDONLY | O_DIRECTORY, Want::k_directory,
                             items.home, user);
    if (!home) {
        return std::move(home).error();
    }
    auto ssh = open_checked(home->get(), ".ssh", O_RDONLY | O_DIRECTORY, Want::k_directory,
                            items.ssh, user);
    if (!ssh && ssh.error().kind == ErrorKind::k_not_found) {
        if (auto s = changes.run(as_user(user, {"/usr/bin/mkdir", "-m", "0700", items.ssh.path}),
                                 "create " + items.ssh.path);
            !s) {
            return s;
        }
        ssh = open_checked(home->get(), ".ssh", O_RDONLY | O_DIRECTORY, Want::k_directory,
                           items.ssh, user);
    }
    // Still not there: a dry run, which describes the rest without looking.
    const bool dry = !ssh && ssh.error().kind == ErrorKind::k_not_found;
    if (!ssh && !dry) {
        return std::move(ssh).error();
    }
    bool generated = false;
    if (dry || !exists_in(ssh->get(), "id_ed25519")) {
        if (auto s = changes.run(
                as_user(user, {"/usr/bin/ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C",
                               user.name + "@cloudburst", "-f", items.private_key}),
                "create an SSH key pair for " + user.name);
            !s) {
            return s;
        }
        generated = true;
    }
    const std::string what = "authorize " + user.name + "'s key in " + items.authorized_keys.path;
    // In a dry run, ~/.ssh or the key pair is not there yet: the rest is described only.
    const auto pending = [&items] {
        return make_error(ErrorKind::k_io,
                          "ssh-keygen did not create " + items.public_key.path + "; rerun");
    };
    if (dry) {
        return changes.other(what, pending);
    }
    auto pub = read_checked(ssh->get(), "id_ed25519.pub", items.public_key, user, k_max_public_key);
    if (!pub && pub.error().kind == ErrorKind::k_not_found && generated) {
        return changes.other(what, pending);
    }
    if (!pub) {
        return std::move(pub).error();
    }
    auto key = parse_ssh_public_key(*pub);
    if (!key) {
        return make_error(ErrorKind::k_io, items.public_key.path + " " + key.error().message +
                                               ": " + items.public_key.remedy + ", then rerun");
    }
    auto authorized = read_checked(ssh->get(), "authorized_keys", items.authorized_keys, user,
                                   k_max_authorized_keys);
    if (authorized && authorizes(*authorized, *key)) {
        return ok_status();
    }
    if (!authorized && authorized.error().kind != ErrorKind::k_not_found) {
        return std::move(authorized).error();
    }
    const int ssh_fd = ssh->get();
    return changes.other(what,
                         [&] { return append_key(ssh_fd, *key, items.authorized_keys, user); });
}

std::vector<std::string> ensure_users_ssh(SystemChanges& changes,
                                          const std::vector<ExistingUser>& users,
                                          std::ostream& problems) {
    std::vector<std::string> failed;
    for (const auto& user : users) {
        if (auto s = ensure_user_ssh(changes, user); !s) {
            problems << "cloudburst: user " << user.name << ": " << s.error().describe() << "\n";
            failed.push_back(user.name);
        }
    }
    return failed;
}

}  // namespace cb::cli
