// The changes `cloudburst setup` and `cloudburst users` make to a machine, either applied
// (RealSystemChanges) or only described (DryRunSystemChanges, for --dry-run). The commands
// decide what differs from what they want; these print one line per change ("changed: ..."
// or "would: ...") and count them, so a rerun that finds nothing to do can say so.
#pragma once

#include <sys/types.h>

#include <functional>
#include <iosfwd>
#include <memory>
#include <string>

#include "util/process.h"
#include "util/result.h"

namespace cb::cli {

class SystemChanges {
  public:
    virtual ~SystemChanges() = default;

    // Replaces `path` atomically with `content`, then sets owner and mode. `what` says what
    // it is ("munge key"); text files' diffs are the caller's to print.
    virtual Status write_file(const std::string& path, const std::string& content, mode_t mode,
                              uid_t uid, gid_t gid, const std::string& what) = 0;
    // Creates a directory (not its parents) with this owner and mode.
    virtual Status make_directory(const std::string& path, mode_t mode, uid_t uid, gid_t gid) = 0;
    // Sets owner and mode of an existing path (symlinks are not followed).
    virtual Status set_owner_mode(const std::string& path, mode_t mode, uid_t uid, gid_t gid) = 0;
    // Runs a program (no shell). A non-zero exit is an error (k_io) with its stderr.
    virtual Status run(const Command& command, const std::string& what) = 0;
    // Something the caller does itself when changes are applied (`apply`), described by
    // `what` either way.
    virtual Status other(const std::string& what, const std::function<Status()>& apply) = 0;

    int count() const { return m_count; }

  protected:
    explicit SystemChanges(std::ostream& out) : m_out(out) {}
    void say(const std::string& prefix, const std::string& what);

  private:
    std::ostream& m_out;
    int m_count = 0;
};

enum class ChangeMode { k_apply, k_dry_run };

std::unique_ptr<SystemChanges> make_system_changes(ChangeMode mode, std::ostream& out);

// "0644 root:root"-style description of an owner and mode, for messages.
std::string describe_owner_mode(mode_t mode, uid_t uid, gid_t gid);

}  // namespace cb::cli
