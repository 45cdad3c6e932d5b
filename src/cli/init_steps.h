// The pieces of `cloudburst init` that are pure text, exposed for tests.
#pragma once

#include <string>
#include <string_view>

#include "core/config_edit.h"

namespace cb::cli {

// What init writes into cloudburst.toml.
struct InitSettings {
    std::string url;
    std::string cluster;
    std::string username;
    std::string password;    // written inline: the file is 0600
    std::string ca_bundle;   // empty: the key is removed (system CAs)
    std::string conf_dir;    // [slurm] conf_dir; empty: left as it is
    std::string slurm_user;  // [slurm] user; empty: left as it is
};

// The config text: `existing` (the current file, or "" for a new one) with init's keys set
// and cyclecloud.password_file removed; `changed` names the keys that differ.
TomlEditResult render_init_config(std::string_view existing, const InitSettings& settings);

// The systemd unit for cloudburstd: packaging/cloudburstd.service with these paths.
std::string daemon_unit(const std::string& cloudburstd, const std::string& config_path);

}  // namespace cb::cli
