// systemd credentials (LoadCredential=): a secret systemd copies into a directory of its own
// for one service and names in $CREDENTIALS_DIRECTORY. The file is owned by the service's
// user, mode 0400 (or 0440), in a directory nobody else can enter, so a service that runs
// unprivileged can read a secret whose source stays root-only.
#pragma once

#include <cstddef>
#include <optional>
#include <string>

#include "util/file_snapshot.h"
#include "util/result.h"

namespace cb {

// $CREDENTIALS_DIRECTORY/NAME if the variable is set (non-empty) and something named NAME is
// there (lstat), else nothing: the caller falls back to its own source.
std::optional<std::string> systemd_credential_path(const std::string& name);

// Reads the credential file at `path` (from systemd_credential_path) without following a
// symlink and without blocking on a FIFO, and checks on the open descriptor that it is a
// regular file owned by this process's effective user (or root) and writable by nobody else.
// Errors (k_io): "cannot open PATH: <strerror>" ("... is a symlink" for one), "PATH is not a
// regular file", "PATH is larger than N bytes", and, for a file others may have written,
// "credential PATH is owned by uid U, not by UID (the service's user) or root" and
// "credential PATH is writable by other users (mode M)"; the last two end in what to fix.
Result<FileSnapshot> read_systemd_credential(const std::string& path, std::size_t max_bytes);

}  // namespace cb
