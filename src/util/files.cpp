#include "util/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string_view>

namespace cb {

namespace {

Error io_error(const std::string& what, const std::string& path, int err) {
    return make_error(ErrorKind::k_io, what + " " + path + ": " + std::strerror(err));
}

std::string parent_dir(const std::string& path) {
    const auto slash = path.rfind('/');
    if (slash == std::string::npos) {
        return ".";
    }
    return slash == 0 ? "/" : path.substr(0, slash);
}

Status write_all(int fd, std::string_view data, const std::string& path) {
    while (!data.empty()) {
        const ssize_t n = ::write(fd, data.data(), data.size());
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return io_error("cannot write", path, errno);
        }
        data.remove_prefix(static_cast<std::size_t>(n));
    }
    return ok_status();
}

}  // namespace

Status write_file_atomic(const std::string& path, std::string_view content, mode_t mode,
                         Durability durability) {
    const bool sync = durability == Durability::k_power_loss;
    const std::string dir = parent_dir(path);
    std::string tmp = path + ".tmp.XXXXXX";
    const int fd = ::mkostemp(tmp.data(), O_CLOEXEC);
    if (fd < 0) {
        return io_error("cannot create a temporary file next to", path, errno);
    }
    auto fail = [&](Error e) -> Status {
        ::close(fd);
        ::unlink(tmp.c_str());
        return e;
    };
    if (::fchmod(fd, mode) != 0) {
        return fail(io_error("cannot chmod", tmp, errno));
    }
    if (auto st = write_all(fd, content, tmp); !st) {
        return fail(st.error());
    }
    if (sync && ::fsync(fd) != 0) {
        return fail(io_error("cannot fsync", tmp, errno));
    }
    if (::close(fd) != 0) {
        ::unlink(tmp.c_str());
        return io_error("cannot close", tmp, errno);
    }
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        const int err = errno;
        ::unlink(tmp.c_str());
        return io_error("cannot rename into", path, err);
    }
    const int dfd = sync ? ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
    if (dfd >= 0) {
        ::fsync(dfd);
        ::close(dfd);
    }
    return ok_status();
}

Result<std::string> read_file(const std::string& path, std::size_t max_bytes) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return io_error("cannot open", path, errno);
    }
    std::string out;
    char buf[65536];
    for (;;) {
        const ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            const int err = errno;
            ::close(fd);
            return io_error("cannot read", path, err);
        }
        if (n == 0) {
            break;
        }
        out.append(buf, static_cast<std::size_t>(n));
        if (out.size() > max_bytes) {
            ::close(fd);
            return make_error(ErrorKind::k_io, "file " + path + " is larger than " +
                                                   std::to_string(max_bytes) + " bytes");
        }
    }
    ::close(fd);
    return out;
}

Status make_directories(const std::string& path, mode_t mode) {
    if (path.empty()) {
        return ok_status();
    }
    std::string partial;
    std::size_t pos = 0;
    while (pos != std::string::npos) {
        pos = path.find('/', pos + 1);
        partial = path.substr(0, pos);
        if (partial.empty()) {
            continue;
        }
        if (::mkdir(partial.c_str(), mode) != 0 && errno != EEXIST) {
            return io_error("cannot create directory", partial, errno);
        }
    }
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
        return make_error(ErrorKind::k_io, path + " exists and is not a directory");
    }
    return ok_status();
}

}  // namespace cb
