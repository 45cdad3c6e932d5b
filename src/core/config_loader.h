// Reading /etc/cloudburst/cloudburst.toml into a Config (the model is in config.h, the keys in
// config_schema.h, every key documented in docs/configuration.md).
//
// The format is strict: an unknown key, an unknown section, a wrong type or a bad value is an
// error that names the file and line and says what was expected, with "did you mean ...?"
// when a known name is close. Errors are ErrorKind::k_config; when there are several, the
// message has one per line, in file order. No error ever contains the password.
#pragma once

#include <sys/types.h>
#include <unistd.h>

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "core/config.h"
#include "util/credential.h"
#include "util/file_snapshot.h"
#include "util/result.h"

namespace cb {

constexpr std::string_view k_default_config_path = "/etc/cloudburst/cloudburst.toml";

// Whether load_config reads cyclecloud.password_file. The hooks run as SlurmUser, need only
// paths, and usually may not read the password file.
enum class PasswordUse { k_read, k_skip };

// What the loader needs from the system, so tests can fake file modes, owners, the directories
// on the path and the user the process runs as, without being root. The defaults are the
// real thing.
struct ConfigFileAccess {
    std::function<Result<FileSnapshot>(const std::string& path, std::size_t max_bytes)> read =
        read_file_snapshot;
    std::function<uid_t()> effective_uid = ::geteuid;
    // The systemd credential NAME ($CREDENTIALS_DIRECTORY/NAME) if there is one, and how it
    // is read (util/credential.h).
    std::function<std::optional<std::string>(const std::string& name)> credential_path =
        systemd_credential_path;
    std::function<Result<FileSnapshot>(const std::string& path, std::size_t max_bytes)>
        read_credential = read_systemd_credential;
};

// The name of the systemd credential that carries the CycleCloud password
// (LoadCredential=cyclecloud.password:/etc/cloudburst/cyclecloud.password in the unit).
constexpr std::string_view k_password_credential = "cyclecloud.password";

// Parses configuration text; `source_name` (a path) begins every error message. Fills in all
// defaults. Checks everything the text alone can tell, including that exactly one of
// cyclecloud.password and cyclecloud.password_file is set; does not read the password file
// or look at file permissions. Never throws, whatever the input.
Result<Config> parse_config(std::string_view text, std::string_view source_name);

// Reads and parses the file at `path`, then enforces who may have written it, because it
// says which programs run, where the CycleCloud credentials are sent and which files are
// changed. The trust rule:
//  * it is a regular file, opened without following a symbolic link as its last component,
//    owned by root (or, in a process that is not root, by the process's own user) and not
//    writable by group or others;
//  * every directory on its path (symbolic links to directories are followed, and must be
//    owned likewise) is owned the same way and not writable by group or others unless it has
//    the sticky bit (as /tmp);
//  * nothing in the file widens this: slurm.user names who runs the hooks, not who may write
//    the configuration;
//  * if it contains the password inline, it has no group or other permissions at all (0600);
//  * with PasswordUse::k_read, cyclecloud.password_file must meet the same rules and be
//    non-empty; its content without trailing newlines becomes cyclecloud.password. When
//    systemd hands the service the credential k_password_credential ($CREDENTIALS_DIRECTORY/
//    cyclecloud.password, read_systemd_credential's checks), that is read instead of the file;
//    a process not running as root that may not read the file is told to run under the unit.
// Refusals say the command that fixes them. The password is registered with
// log::register_secret.
Result<Config> load_config(const std::string& path, PasswordUse use = PasswordUse::k_read,
                           const ConfigFileAccess& files = {});

// The text of the configuration file at `path` if it passes the trust rule above (the rules
// on the file and its directories, not those on an inline password), without parsing it: for
// `init`, which takes its defaults from an existing file and must not take them from one it
// cannot trust. Errors: ErrorKind::k_not_found when there is no such file, else k_config
// naming every problem and its fix.
Result<std::string> read_trusted_config_text(const std::string& path,
                                             const ConfigFileAccess& files = {});

// slurm.prolog_chain of the file at `path` (trust rule as above) even when the rest of the file
// does not load: the gate must not skip a site's prolog because of an unrelated typo. "" when
// the key is absent or the file is not TOML; an error when the file cannot be read or trusted.
Result<std::string> read_prolog_chain(const std::string& path, const ConfigFileAccess& files = {});

}  // namespace cb
