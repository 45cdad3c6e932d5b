// The spool directory: hook requests not yet taken by the daemon. Each request is one file,
// written atomically (temporary file, fsync, rename), named so that listing in name order is
// arrival order: "<received_ms, 16 digits>-<pid>-<seq>.req". Anything else in the directory
// (temporary files, strays) is ignored by readers.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "core/hook_request.h"
#include "util/result.h"

namespace cb {

struct SpoolEntry {
    std::string path;
    HookRequest request;
};

// A spool file the daemon did not carry out, and why. `kind` and `hostlist` come from the
// file's first lines when it is one of our regular files whose start could be read (an
// oversize or corrupt request), so the refusal can be shown for its nodes; empty otherwise.
struct RefusedSpoolFile {
    std::string path;
    Error error;
    std::string kind;
    std::string hostlist;
};

class Spool {
  public:
    explicit Spool(std::string dir) : m_dir(std::move(dir)) {}

    // Writes one request; returns the file's path. `mode`: 0640 for a hook's request (SlurmUser's,
    // like the daemon); the CLI, as root, writes a reset with 0644 so that the daemon (SlurmUser)
    // can read a file it does not own.
    Result<std::string> submit(const HookRequest& request, mode_t mode = 0640) const;

    // Every complete request, oldest first. Each "*.req" name is opened relative to the
    // directory, never following a symlink and never blocking (O_NOFOLLOW|O_NONBLOCK), and
    // read only if the open file is a regular file with one link, of a trusted owner (see
    // trust_only) and at most k_max_hook_request_bytes long: a FIFO, device, symlink or hard
    // link planted in the spool is never read. Anything refused, or a file that does not
    // parse, is reported in `bad` and left in place; it never blocks the rest.
    struct Listing {
        std::vector<SpoolEntry> entries;
        std::vector<RefusedSpoolFile> bad;
    };
    Result<Listing> pending() const;

    // Removes a request once the daemon has journaled it. Removing a missing file succeeds.
    Status remove(const SpoolEntry& entry) const;

    // Renames a refused file to "<name>.refused" (kept for an operator, no longer listed).
    // Returns the new path.
    Result<std::string> set_aside(const std::string& path) const;

    const std::string& dir() const { return m_dir; }

    // When set, pending() carries out only regular files owned by one of these users (root
    // and SlurmUser): a file planted by anyone else is reported in `bad` and left alone.
    void trust_only(std::vector<uid_t> owners) { m_trusted = std::move(owners); }

  private:
    std::string m_dir;
    std::vector<uid_t> m_trusted;  // empty: any owner
};

}  // namespace cb
