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

class Spool {
  public:
    explicit Spool(std::string dir) : m_dir(std::move(dir)) {}

    // Writes one request; returns the file's path. Mode 0640.
    Result<std::string> submit(const HookRequest& request) const;

    // Every complete request, oldest first. A file that does not parse is reported in
    // `bad` (path and error) and left in place for an operator; it never blocks the rest.
    struct Listing {
        std::vector<SpoolEntry> entries;
        std::vector<std::pair<std::string, Error>> bad;
    };
    Result<Listing> pending() const;

    // Removes a request once the daemon has journaled it. Removing a missing file succeeds.
    Status remove(const SpoolEntry& entry) const;

    const std::string& dir() const { return m_dir; }

    // When set, pending() carries out only regular files owned by one of these users (root
    // and SlurmUser): a file planted by anyone else is reported in `bad` and left alone.
    void trust_only(std::vector<uid_t> owners) { m_trusted = std::move(owners); }

  private:
    std::string m_dir;
    std::vector<uid_t> m_trusted;  // empty: any owner
};

}  // namespace cb
