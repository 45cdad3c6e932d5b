#include "store/spool.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "util/files.h"
#include "util/unique_fd.h"

namespace cb {

namespace {

bool is_request_name(const char* name) {
    const std::size_t n = std::strlen(name);
    return n > 4 && name[0] != '.' && std::strcmp(name + n - 4, ".req") == 0;
}

}  // namespace

Result<std::string> Spool::submit(const HookRequest& request, mode_t mode) const {
    static std::atomic<unsigned> seq{0};
    auto text = serialize(request);
    if (!text) {
        return text.error();
    }
    char name[96];
    std::snprintf(name, sizeof name, "%016lld-%lld-%u.req",
                  static_cast<long long>(request.received_ms), static_cast<long long>(request.pid),
                  seq.fetch_add(1));
    std::string path = m_dir + "/" + name;
    // No fsync: it costs the hook milliseconds (slurmctld waits on it) and only protects
    // against a machine crash, after which slurmctld runs ResumeProgram again for the jobs
    // still waiting, and the orphan sweep finds VMs whose suspend was lost.
    if (auto st = write_file_atomic(path, *text, mode, Durability::k_process_crash); !st) {
        return st.error();
    }
    return path;
}

namespace {

// What reading one spool file gave: a request's text, a refusal, or nothing (the file went
// away between listing and reading: another reader took it).
struct ReadOutcome {
    enum class Kind { k_text, k_refused, k_gone } kind = Kind::k_gone;
    std::string text;
    RefusedSpoolFile refused;
};

std::string file_type(mode_t mode) {
    if (S_ISLNK(mode)) {
        return "a symlink";
    }
    if (S_ISFIFO(mode)) {
        return "a FIFO";
    }
    if (S_ISCHR(mode) || S_ISBLK(mode)) {
        return "a device";
    }
    if (S_ISSOCK(mode)) {
        return "a socket";
    }
    if (S_ISDIR(mode)) {
        return "a directory";
    }
    return "not a regular file";
}

// The kind and hostlist of a request from its first two lines ("kind=...", "hostlist=..."),
// so that a refused request can be shown for the nodes it names.
void parse_head(std::string_view text, RefusedSpoolFile& out) {
    for (int line = 0; line < 2; ++line) {
        const auto nl = text.find('\n');
        if (nl == std::string_view::npos) {
            return;
        }
        const std::string_view head = text.substr(0, nl);
        text.remove_prefix(nl + 1);
        if (head.starts_with("kind=") && hook_kind_from_string(head.substr(5))) {
            out.kind = head.substr(5);
        } else if (head.starts_with("hostlist=")) {
            out.hostlist = head.substr(9);
        }
    }
}

ReadOutcome refuse(std::string message) {
    ReadOutcome out;
    out.kind = ReadOutcome::Kind::k_refused;
    out.refused.error = make_error(ErrorKind::k_invalid_input, std::move(message));
    return out;
}

// Opens `name` in the spool without following a symlink and without blocking (a FIFO opened
// O_NONBLOCK for reading returns at once), then judges the open file, not the name: another
// file may have been swapped in after the listing.
ReadOutcome read_one(int dir_fd, const std::string& name, const std::vector<uid_t>& trusted) {
    struct stat st {};
    if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
        return {};
    }
    if (!S_ISREG(st.st_mode)) {
        // Not even opened: opening a device can have effects of its own.
        return refuse(file_type(st.st_mode) + ", not a regular file; not read");
    }
    const int fd =
        ::openat(dir_fd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) {
            return {};
        }
        if (errno == ELOOP) {
            return refuse("a symlink, not a regular file; not read");
        }
        return refuse(std::string("cannot open: ") + std::strerror(errno));
    }
    const UniqueFd file(fd);
    if (::fstat(fd, &st) != 0) {
        return refuse(std::string("cannot stat: ") + std::strerror(errno));
    }
    if (!S_ISREG(st.st_mode)) {
        return refuse(file_type(st.st_mode) + ", not a regular file; not read");
    }
    if (!trusted.empty() && std::find(trusted.begin(), trusted.end(), st.st_uid) == trusted.end()) {
        return refuse("owned by uid " + std::to_string(st.st_uid) +
                      ", not by root or SlurmUser; not carried out");
    }
    if (st.st_nlink != 1) {
        return refuse("has " + std::to_string(st.st_nlink) +
                      " links (a hard link to another file); not read");
    }
    ReadOutcome out;
    if (static_cast<std::size_t>(st.st_size) > k_max_hook_request_bytes) {
        out = refuse("is " + std::to_string(st.st_size) + " bytes, more than the " +
                     std::to_string(k_max_hook_request_bytes) +
                     " bytes a hook writes; not carried out");
        std::string head(4096, '\0');
        const ssize_t n = ::pread(fd, head.data(), head.size(), 0);
        head.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
        parse_head(head, out.refused);
        return out;
    }
    // A regular file never blocks; it may still grow after the fstat: read one byte more
    // than the limit at most.
    std::string text(static_cast<std::size_t>(st.st_size) + 1, '\0');
    std::size_t got = 0;
    while (got < text.size()) {
        const ssize_t n = ::read(fd, text.data() + got, text.size() - got);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            return refuse(std::string("cannot read: ") + std::strerror(errno));
        }
        if (n == 0) {
            break;
        }
        got += static_cast<std::size_t>(n);
    }
    if (got > static_cast<std::size_t>(st.st_size)) {
        return refuse(
            "grew while it was read (a hook writes a new file and renames it); not "
            "carried out");
    }
    text.resize(got);
    out.kind = ReadOutcome::Kind::k_text;
    out.text = std::move(text);
    return out;
}

}  // namespace

Result<Spool::Listing> Spool::pending() const {
    const int dir_fd = ::open(m_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir_fd < 0) {
        return make_error(ErrorKind::k_io,
                          "cannot read spool directory " + m_dir + ": " + std::strerror(errno));
    }
    const UniqueFd dir(dir_fd);
    std::vector<std::string> names;
    {
        const int list_fd = ::dup(dir.get());
        DIR* d = list_fd >= 0 ? ::fdopendir(list_fd) : nullptr;
        if (d == nullptr) {
            const int err = errno;
            if (list_fd >= 0) {
                ::close(list_fd);
            }
            return make_error(ErrorKind::k_io,
                              "cannot read spool directory " + m_dir + ": " + std::strerror(err));
        }
        while (const dirent* e = ::readdir(d)) {
            if (is_request_name(e->d_name)) {
                names.emplace_back(e->d_name);
            }
        }
        ::closedir(d);
    }
    std::sort(names.begin(), names.end());
    Listing out;
    for (const auto& name : names) {
        std::string path = m_dir + "/" + name;
        ReadOutcome read = read_one(dir.get(), name, m_trusted);
        if (read.kind == ReadOutcome::Kind::k_gone) {
            continue;
        }
        if (read.kind == ReadOutcome::Kind::k_refused) {
            read.refused.path = std::move(path);
            out.bad.push_back(std::move(read.refused));
            continue;
        }
        auto request = parse_hook_request(read.text);
        if (!request) {
            RefusedSpoolFile refused{path, request.error(), {}, {}};
            parse_head(read.text, refused);
            out.bad.push_back(std::move(refused));
            continue;
        }
        out.entries.push_back({std::move(path), std::move(*request)});
    }
    return out;
}

Status Spool::remove(const SpoolEntry& entry) const {
    if (::unlink(entry.path.c_str()) != 0 && errno != ENOENT) {
        return make_error(ErrorKind::k_io,
                          "cannot remove " + entry.path + ": " + std::strerror(errno));
    }
    return ok_status();
}

Result<std::string> Spool::set_aside(const std::string& path) const {
    std::string aside = path + ".refused";
    if (::rename(path.c_str(), aside.c_str()) != 0) {
        return make_error(ErrorKind::k_io,
                          "cannot rename " + path + " to " + aside + ": " + std::strerror(errno));
    }
    return aside;
}

}  // namespace cb
