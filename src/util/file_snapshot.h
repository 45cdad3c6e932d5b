// Reading a file together with the mode and owner it had, for files whose permissions
// matter (credentials, the configuration that says where they go). Everything comes from open
// descriptors (fstat), so it describes exactly the bytes returned, not whatever is at the path
// a moment later, and the directories walked to reach the file are reported too, so the
// caller can decide whether whoever could have replaced the file is trusted.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "util/result.h"

namespace cb {

// A directory walked through on the way to a file, or a symbolic link followed there.
struct PathStep {
    std::string path;  // absolute, as walked ("/", "/etc", "/etc/cloudburst")
    mode_t mode = 0;   // st_mode: the type (S_ISDIR or S_ISLNK) and permission bits
    uid_t owner = 0;
};

struct FileSnapshot {
    std::string content;
    mode_t mode = 0;  // permission bits only (mode & 07777)
    uid_t owner = 0;
    // From "/" down to the file's own directory, in walk order; a symbolic link among the
    // directories appears as its own step, followed by the steps of its target.
    std::vector<PathStep> directories;
};

// Reads the regular file at `path` (a relative path starts at the working directory), walking
// the path one component at a time from "/" with openat: symbolic links to directories are
// followed (and reported as steps), a symbolic link as the file itself is refused, and a FIFO
// or device is refused without blocking. Errors: "cannot open PATH: <strerror>" (k_not_found
// when something on the path does not exist, else k_io), "PATH is a symbolic link, which is
// not followed for this file; name the file it points to", "PATH is not a regular file",
// "PATH is larger than N bytes" (all k_io).
Result<FileSnapshot> read_file_snapshot(const std::string& path, std::size_t max_bytes);

// The uid of the user called `name` (getpwnam_r), or nothing if there is no such user.
std::optional<uid_t> lookup_user_id(const std::string& name);

}  // namespace cb
