// The pieces of `cloudburst init` that are pure text or plain file writes, exposed for tests.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

#include "core/config.h"
#include "core/config_edit.h"
#include "util/result.h"

namespace cb::cli {

// What init writes into cloudburst.toml. The config holds no secret: the password is in
// password_file (docs/design/security.md).
struct InitSettings {
    std::string url;
    std::string cluster;
    std::string username;
    std::string password_file;  // cyclecloud.password_file; cyclecloud.password is removed
    std::string ca_bundle;      // empty: the key is removed (system CAs)
    std::string tls_pin;        // cyclecloud.tls_pin; empty: the key is removed (not pinned)
    std::string conf_dir;       // [slurm] conf_dir; empty: left as it is
    std::string slurm_user;     // [slurm] user; empty: left as it is
};

// The password file init writes when the config names none: beside the config, so
// /etc/cloudburst/cyclecloud.password for the default config.
std::string default_password_file(const std::string& config_path);

// The config text: `existing` (the current file, or "" for a new one) with init's keys set
// and an inline cyclecloud.password removed; `changed` names the keys that differ.
TomlEditResult render_init_config(std::string_view existing, const InitSettings& settings);

// The files of the layout: the config root:root 0644 (SlurmUser must read it), the password
// file root:root 0600 (nobody else may).
constexpr mode_t k_config_mode = 0644;
constexpr mode_t k_password_file_mode = 0600;

// Writes `content` to `path` atomically with `mode`, owned by root, unless it already holds
// exactly that; returns what happened ("written", "unchanged", "mode set to 0600", ...),
// never the content. The temporary file is created 0600, so a secret is never readable by
// others, not even for a moment.
Result<std::string> write_layout_file(const std::string& path, const std::string& content,
                                      mode_t mode);

// The spool directory the hooks write and the daemon reads: created if missing, owner
// `uid`:`gid`, mode 0700, without following a symlink. Returns what happened.
Result<std::string> prepare_spool(const std::string& path, uid_t uid, gid_t gid);

// A user or group name fit for a unit file: systemd's strict rule, [A-Za-z_][A-Za-z0-9_-]*,
// at most 31 characters.
bool is_plain_user_name(std::string_view name);

// What the daemon's unit says.
struct DaemonUnit {
    std::string cloudburstd = "/usr/sbin/cloudburstd";
    std::string config_path = "/etc/cloudburst/cloudburst.toml";
    std::string user = "slurm";   // SlurmUser: the daemon runs as it
    std::string group = "slurm";  // its primary group
    std::string password_file = "/etc/cloudburst/cyclecloud.password";  // empty: inline
    PathsConfig paths;
};

// The systemd unit for cloudburstd (packaging/cloudburstd.service from [Unit] on, for the
// defaults): runs as `user`, gets the password as a credential, may write only its own
// directories. Errors: k_config when user or group is not a plain name (it would end up in
// the unit file verbatim).
Result<std::string> daemon_unit(const DaemonUnit& unit);

}  // namespace cb::cli
