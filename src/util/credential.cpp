#include "util/credential.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "util/unique_fd.h"

namespace cb {

namespace {

std::string octal(mode_t mode) {
    std::string out = "0000";
    for (int i = 3; i >= 0; --i) {
        out[static_cast<std::size_t>(i)] = static_cast<char>('0' + (mode & 7));
        mode >>= 3;
    }
    return out;
}

constexpr const char* k_fix =
    "; systemd writes credentials itself: start cloudburstd with the packaged unit "
    "(LoadCredential=cyclecloud.password:...) or unset CREDENTIALS_DIRECTORY";

}  // namespace

std::optional<std::string> systemd_credential_path(const std::string& name) {
    const char* dir = std::getenv("CREDENTIALS_DIRECTORY");  // NOLINT(concurrency-mt-unsafe)
    if (dir == nullptr || *dir == '\0') {
        return std::nullopt;
    }
    std::string path = std::string(dir) + "/" + name;
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) {
        return std::nullopt;
    }
    return path;
}

Result<FileSnapshot> read_systemd_credential(const std::string& path, std::size_t max_bytes) {
    // O_NOFOLLOW: a symlink planted in place of the credential is refused (ELOOP), not read;
    // O_NONBLOCK: a FIFO is refused below instead of hanging the open.
    const UniqueFd fd(
        ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | O_NOFOLLOW));
    if (fd.get() < 0) {
        const int err = errno;
        return make_error(ErrorKind::k_io, "cannot open " + path + ": " +
                                               (err == ELOOP ? std::string("it is a symlink")
                                                             : std::string(std::strerror(err))));
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) {
        const int err = errno;
        return make_error(ErrorKind::k_io, "cannot stat " + path + ": " + std::strerror(err));
    }
    if (!S_ISREG(st.st_mode)) {
        return make_error(ErrorKind::k_io, path + " is not a regular file");
    }
    const uid_t me = ::geteuid();
    if (st.st_uid != me && st.st_uid != 0) {
        return make_error(ErrorKind::k_io, "credential " + path + " is owned by uid " +
                                               std::to_string(st.st_uid) + ", not by uid " +
                                               std::to_string(me) +
                                               " (the service's user) or root" + k_fix);
    }
    if ((st.st_mode & 022) != 0) {
        return make_error(ErrorKind::k_io, "credential " + path +
                                               " is writable by other users (mode " +
                                               octal(st.st_mode & 07777) + ")" + k_fix);
    }
    FileSnapshot snapshot;
    snapshot.mode = st.st_mode & 07777;
    snapshot.owner = st.st_uid;
    char buf[4096];
    for (;;) {
        const ssize_t n = ::read(fd.get(), buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            const int err = errno;
            return make_error(ErrorKind::k_io, "cannot read " + path + ": " + std::strerror(err));
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

}  // namespace cb
