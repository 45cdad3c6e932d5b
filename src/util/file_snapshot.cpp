#include "util/file_snapshot.h"
#include "util/unique_fd.h"

#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace cb {

namespace {

Error io_error(const std::string& what, const std::string& path, int err) {
    return make_error(ErrorKind::k_io, what + " " + path + ": " + std::strerror(err));
}

}  // namespace

Result<FileSnapshot> read_file_snapshot(const std::string& path, std::size_t max_bytes) {
    // O_NONBLOCK: opening a FIFO named by mistake must not hang; it is refused below.
    const UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
    if (fd.get() < 0) {
        return io_error("cannot open", path, errno);
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) {
        return io_error("cannot stat", path, errno);
    }
    if (!S_ISREG(st.st_mode)) {
        return make_error(ErrorKind::k_io, path + " is not a regular file");
    }
    FileSnapshot snapshot;
    snapshot.mode = st.st_mode & 07777;
    snapshot.owner = st.st_uid;
    char buf[65536];
    for (;;) {
        const ssize_t n = ::read(fd.get(), buf, sizeof buf);
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
