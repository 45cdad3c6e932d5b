// What `cloudburst init` and `cloudburst doctor` read from this machine: file modes, users,
// slurm.conf (the file and, when slurmctld answers, `scontrol show config`).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "adapters/slurm_cli.h"
#include "core/doctor_checks.h"
#include "core/slurm_settings.h"
#include "util/result.h"

namespace cb::cli {

// stat() of `path`; nullopt if it does not exist or cannot be looked at.
std::optional<FileFacts> stat_file(const std::string& path);

// The user named `name` ("slurm", or scontrol's "slurm(11100)"); nullopt if unknown.
std::optional<UserIds> lookup_user(const std::string& name);

// The slurm.conf cloudburst works with: `explicit_path` if given, else $SLURM_CONF, else
// `conf_dir`/slurm.conf.
std::string slurm_conf_path(const std::string& explicit_path, const std::string& conf_dir);

// The files slurm.conf at `path` includes, as paths (relative ones against its directory).
std::vector<std::string> included_conf_files(const std::string& path,
                                             const SlurmSettings& settings);

struct SlurmConfRead {
    SlurmSettings settings;
    bool from_slurmctld = false;  // global values came from `scontrol show config`
};

// Reads `path` and the files it includes that exist (relative to its directory); when
// `scontrol` answers `show config` (slurmctld is up), its values override the file's; the
// version comes from there or from `scontrol --version`. Errors: k_io when `path` cannot be
// read.
Result<SlurmConfRead> read_slurm_settings(const std::string& path, const std::string& scontrol);

// The directory of the running program.
// `scontrol ARGS...` by absolute path with SLURM_CONF (an admin's command: reconfigure,
// update). Errors: k_slurm with scontrol's message, without control characters.
Status run_scontrol(const SlurmCliOptions& so, const std::vector<std::string>& args);

std::string program_dir();

// Where one of our programs is: beside the running program (a build tree), else where
// `cmake --install` put it relative to the running program's prefix (cloudburstd in sbin,
// the hooks in libexec/cloudburst). When neither exists, the installed path, so that the
// message that follows names where it was expected.
std::string installed_program(std::string_view name);

}  // namespace cb::cli
