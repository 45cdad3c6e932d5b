// `cloudburst doctor`'s check of what the hooks can reach, run as SlurmUser (the pure part
// is core/hook_access.h).
#pragma once

#include <string>

#include "core/doctor_checks.h"
#include "core/hook_access.h"

namespace cb::cli {

// The child side (`cloudburst doctor-hook-access`, run as SlurmUser): loads t.config as the
// hooks do (PasswordUse::k_skip), creates and removes a ".doctor-probe-*" file in
// t.spool_dir, checks write permission on t.socket if it exists, and tries to open
// t.password_file.
HookAccessReport probe_hook_access(const HookAccessTarget& t);

// The parent side, as root: runs `cloudburst doctor-hook-access` from the program
// `cloudburst` with `user`'s uid, gid and supplementary groups (setpriv, no shell, a minimal
// environment) and turns its report into one check. Skipped when not root; a warning when
// `user` is root.
CheckResult check_hook_access_as(const UserIds& user, const std::string& cloudburst,
                                 const HookAccessTarget& t);

// This program's own path (/proc/self/exe).
std::string self_executable();

}  // namespace cb::cli
