#include "util/file_snapshot.h"
#include "util/unique_fd.h"

#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <deque>
#include <vector>

namespace cb {

namespace {

// Like the kernel's limit on links followed in one lookup.
constexpr int k_max_links = 40;

Error io_error(const std::string& what, const std::string& path, int err) {
    return make_error(err == ENOENT ? ErrorKind::k_not_found : ErrorKind::k_io,
                      what + " " + path + ": " + std::strerror(err));
}

std::deque<std::string> components(const std::string& path) {
    std::deque<std::string> out;
    std::size_t start = 0;
    while (start <= path.size()) {
        const auto slash = std::min(path.find('/', start), path.size());
        if (slash > start) {
            out.push_back(path.substr(start, slash - start));
        }
        start = slash + 1;
    }
    return out;
}

std::string joined(const std::vector<std::string>& names) {
    std::string out;
    for (const auto& name : names) {
        out += "/" + name;
    }
    return out.empty() ? "/" : out;
}

Result<std::string> link_target(int dir, const std::string& name, const std::string& path) {
    std::string target(PATH_MAX, '\0');
    const ssize_t n = ::readlinkat(dir, name.c_str(), target.data(), target.size());
    if (n < 0) {
        return io_error("cannot open", path, errno);
    }
    target.resize(static_cast<std::size_t>(n));
    return target;
}

// The path walked so far and the descriptor of the directory reached.
struct Walk {
    UniqueFd dir;
    std::vector<std::string> names;  // of the directories below "/", as walked
};

Status open_root(Walk& walk, std::vector<PathStep>& steps, const std::string& path) {
    walk.dir = UniqueFd(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
    walk.names.clear();
    struct stat st {};
    if (walk.dir.get() < 0 || ::fstat(walk.dir.get(), &st) != 0) {
        return io_error("cannot open", path, errno);
    }
    steps.push_back({"/", st.st_mode, st.st_uid});
    return ok_status();
}

}  // namespace

Result<FileSnapshot> read_file_snapshot(const std::string& path, std::size_t max_bytes) {
    if (path.empty()) {
        return make_error(ErrorKind::k_not_found,
                          "cannot open an empty path: No such file or directory");
    }
    std::string absolute = path;
    if (absolute.front() != '/') {
        std::string cwd(PATH_MAX, '\0');
        if (::getcwd(cwd.data(), cwd.size()) == nullptr) {
            return io_error("cannot open", path, errno);
        }
        absolute = std::string(cwd.c_str()) + "/" + path;
    }
    auto rest = components(absolute);
    if (rest.empty()) {
        return make_error(ErrorKind::k_io, path + " is not a regular file");
    }
    FileSnapshot snapshot;
    Walk walk;
    if (auto st = open_root(walk, snapshot.directories, path); !st) {
        return std::move(st).error();
    }
    int links = 0;
    UniqueFd file;
    while (!rest.empty()) {
        const std::string name = std::move(rest.front());
        rest.pop_front();
        if (name == ".") {
            continue;
        }
        if (name == "..") {
            // Every directory walked so far is a real one, so ".." is the one before it.
            walk.dir = UniqueFd(::openat(walk.dir.get(), "..", O_PATH | O_DIRECTORY | O_CLOEXEC));
            if (walk.dir.get() < 0) {
                return io_error("cannot open", path, errno);
            }
            if (!walk.names.empty()) {
                walk.names.pop_back();
            }
            continue;
        }
        if (rest.empty()) {
            // The file itself. O_NONBLOCK: a FIFO must not hang us; it is refused below.
            file = UniqueFd(::openat(walk.dir.get(), name.c_str(),
                                     O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | O_NOFOLLOW));
            if (file.get() < 0 && errno == ELOOP) {
                return make_error(ErrorKind::k_io,
                                  path +
                                      " is a symbolic link, which is not followed for this "
                                      "file; name the file it points to");
            }
            if (file.get() < 0) {
                return io_error("cannot open", path, errno);
            }
            break;
        }
        UniqueFd next(::openat(walk.dir.get(), name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
        struct stat st {};
        if (next.get() < 0 || ::fstat(next.get(), &st) != 0) {
            return io_error("cannot open", path, errno);
        }
        walk.names.push_back(name);
        snapshot.directories.push_back({joined(walk.names), st.st_mode, st.st_uid});
        walk.names.pop_back();
        if (S_ISLNK(st.st_mode)) {
            if (++links > k_max_links) {
                return io_error("cannot open", path, ELOOP);
            }
            auto target = link_target(walk.dir.get(), name, path);
            if (!target) {
                return std::move(target).error();
            }
            auto more = components(*target);
            rest.insert(rest.begin(), more.begin(), more.end());
            if (target->starts_with('/')) {
                if (auto opened = open_root(walk, snapshot.directories, path); !opened) {
                    return std::move(opened).error();
                }
            }
            continue;
        }
        if (!S_ISDIR(st.st_mode)) {
            return io_error("cannot open", path, ENOTDIR);
        }
        walk.dir = std::move(next);
        walk.names.push_back(name);
    }
    struct stat st {};
    if (::fstat(file.get(), &st) != 0) {
        return io_error("cannot stat", path, errno);
    }
    if (!S_ISREG(st.st_mode)) {
        return make_error(ErrorKind::k_io, path + " is not a regular file");
    }
    snapshot.mode = st.st_mode & 07777;
    snapshot.owner = st.st_uid;
    char buf[65536];
    for (;;) {
        const ssize_t n = ::read(file.get(), buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return io_error("cannot read", path, errno);
        }
        if (n == 0) {
            break;
        }
        snapshot.content.append(buf, static_cast<std::size_t>(n));
        if (snapshot.content.size() > max_bytes) {
            return make_error(ErrorKind::k_io,
                              path + " is larger than " + std::to_string(max_bytes) + " bytes");
        }
    }
    return snapshot;
}
std::optional<uid_t> lookup_user_id(const std::string& name) {
    const long size = ::sysconf(_SC_GETPW_R_SIZE_MAX);
    std::vector<char> buf(size > 0 ? static_cast<std::size_t>(size) : 16384);
    struct passwd pwd {};
    struct passwd* found = nullptr;
    for (;;) {
        const int rc = ::getpwnam_r(name.c_str(), &pwd, buf.data(), buf.size(), &found);
        if (rc == ERANGE && buf.size() < (1u << 20)) {
            buf.resize(buf.size() * 2);
            continue;
        }
        if (rc != 0 || found == nullptr) {
            return std::nullopt;
        }
        return found->pw_uid;
    }
}

}  // namespace cb
