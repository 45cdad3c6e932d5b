// Text from outside (CycleCloud's answers, Slurm's output, a user's file) on its way into a
// place that gives characters a meaning: Slurm's configuration and `scontrol` arguments, the
// journal, log lines and terminals. One set of checks for every boundary, so that what is
// refused at one is refused at all of them.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace cb {

// The longest plain name: a DNS label, and the longest node name we let reach Slurm.
constexpr std::size_t k_max_plain_name = 63;

// True for 1 to k_max_plain_name characters of [A-Za-z0-9._-]: a node, node array,
// partition or VM size name that Slurm reads as one word (no hostlist brackets or commas,
// no '=', '#', whitespace or control characters).
bool is_plain_name(std::string_view text);

// True for a numeric IPv4 or IPv6 address as inet_pton reads it ("10.1.0.4", "fd00::4"),
// nothing before or after it.
bool is_ip_address(std::string_view text);

// `text` with every control character (ASCII 0x00-0x1F and 0x7F, and the C1 controls
// U+0080-U+009F in UTF-8) replaced: a run of them becomes one space. For messages that reach
// Slurm (Reason=), the journal or a log, where a newline would forge a line and an escape
// sequence would drive the reader's terminal. Other bytes are kept.
std::string without_control_chars(std::string_view text);

// `text` quoted for a message that names something untrusted: printable ASCII as it is, a
// backslash doubled, every other byte as \xNN. "x\nProlog=" is shown as "x\x0aProlog=", so a
// name can neither forge a log line nor pass for another name.
std::string escaped(std::string_view text);

}  // namespace cb
