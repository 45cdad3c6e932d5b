// What the hooks can reach when they run as SlurmUser, checked by really trying as that user.
// `cloudburst doctor` (root) runs the hidden `cloudburst doctor-hook-access` with SlurmUser's
// uid, gid and groups; the child tries what a hook does (load the config as the hooks do,
// create a file in the spool, connect permission on the socket) and whether it can open the
// password file, and prints a HookAccessReport. The parent parses that text strictly (it
// comes from a less privileged process) and turns it into one CheckResult.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "core/doctor_checks.h"
#include "util/result.h"

namespace cb {

// The paths the hooks use, from the configuration root loaded; password_file is empty when
// there is none (inline password or systemd credential).
struct HookAccessTarget {
    std::string user;  // SlurmUser's name
    std::string config;
    std::string spool_dir;
    std::string socket;
    std::string password_file;
};

enum class SocketAccess { k_ok, k_absent, k_refused };
enum class PasswordAccess { k_none, k_unreadable, k_readable };

// What the child found. An error text is one line, without control characters.
struct HookAccessReport {
    std::optional<std::string> config_error;  // nullopt: the config loads as the hooks load it
    std::optional<std::string> spool_error;   // nullopt: a file can be created in the spool
    SocketAccess socket = SocketAccess::k_absent;
    std::string socket_error;  // for k_refused
    PasswordAccess password = PasswordAccess::k_none;
};

// The longest report text parse_hook_access_report accepts, and the longest error in it.
constexpr std::size_t k_max_hook_access_report = std::size_t{16} * 1024;
constexpr std::size_t k_max_hook_access_error = 2048;

// The report as text, one line per item, in this order:
//   config ok | config error MESSAGE
//   spool ok | spool error MESSAGE
//   socket ok | socket absent | socket error MESSAGE
//   password none | password unreadable | password readable
// Control characters in a message (a multi-line load error) become "; " or a space, and a
// message is cut at k_max_hook_access_error bytes.
std::string format_hook_access_report(const HookAccessReport& report);

// The inverse. Anything else is ErrorKind::k_invalid_input naming the line and what was
// expected: a missing, repeated, reordered or unknown item, an unknown state, a control
// character, an over-long message or text.
Result<HookAccessReport> parse_hook_access_report(std::string_view text);

// "Hook access (as USER)": ok when the config loads, the spool takes a file, the socket (if
// there is one) may be connected to and the password file cannot be opened; else a problem
// naming each failure and the command that fixes it.
CheckResult check_hook_access(const HookAccessTarget& target, const HookAccessReport& report);

// The same check when the child's output could not be had or parsed: a problem with `why`.
CheckResult hook_access_unknown(const HookAccessTarget& target, const std::string& why);

}  // namespace cb
