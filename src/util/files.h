// Small, careful file operations.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <string>

#include "util/result.h"

namespace cb {

// How durable a write must be.
enum class Durability {
    k_process_crash,  // survives our own death (rename is atomic); no fsync: fast
    k_power_loss,     // also survives a machine crash: fsync the file and its directory
};

// Writes `content` to `path` so that readers see either the old file or the whole new one,
// and a crash leaves no half-written file: write a temporary file in the same directory,
// (fsync it,) rename it over `path`, (fsync the directory). Errors: k_io with the path and
// errno.
Status write_file_atomic(const std::string& path, std::string_view content, mode_t mode = 0644,
                         Durability durability = Durability::k_power_loss);

// Reads a whole file of at most `max_bytes` (larger is an error, k_io).
Result<std::string> read_file(const std::string& path, std::size_t max_bytes = 16u << 20);

// mkdir -p with `mode` for the directories it creates.
Status make_directories(const std::string& path, mode_t mode = 0755);

}  // namespace cb
