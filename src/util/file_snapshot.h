// Reading a file together with the mode and owner it had, for files whose permissions
// matter (credentials). Both come from one open descriptor (fstat), so they describe exactly
// the bytes returned, not whatever is at the path a moment later.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <optional>
#include <string>

#include "util/result.h"

namespace cb {

struct FileSnapshot {
    std::string content;
    mode_t mode = 0;  // permission bits only (mode & 07777)
    uid_t owner = 0;
};

// Reads the regular file at `path` (symlinks are followed). Errors (k_io): "cannot open
// PATH: <strerror>", "PATH is not a regular file", "PATH is larger than N bytes".
Result<FileSnapshot> read_file_snapshot(const std::string& path, std::size_t max_bytes);

// The uid of the user called `name` (getpwnam_r), or nothing if there is no such user.
std::optional<uid_t> lookup_user_id(const std::string& name);

}  // namespace cb
