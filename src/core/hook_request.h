// What a Slurm hook hands to the daemon: which hook ran, the hostlist Slurm passed, and (for
// resume) a verbatim copy of SLURM_RESUME_FILE, which disappears when the hook exits.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "util/result.h"

namespace cb {

// k_reset is not a hook: `cloudburst buckets reset ARRAY` spools it (hostlist: the node
// array's name) to make the daemon forget the array's backoff, breakers and streaks.
enum class HookKind { k_resume, k_suspend, k_resume_fail, k_reset, k_retry };

std::string_view to_string(HookKind kind);
std::optional<HookKind> hook_kind_from_string(std::string_view name);
// From the program name: "cloudburst-resume" -> k_resume, ... ; nullopt for anything else.
std::optional<HookKind> hook_kind_from_program(std::string_view program);

struct HookRequest {
    HookKind kind = HookKind::k_resume;
    std::string hostlist;          // argv[1], as Slurm gave it
    std::string resume_file;       // SLURM_RESUME_FILE content (resume only; may be empty)
    std::int64_t received_ms = 0;  // wall clock, Unix epoch milliseconds
    std::int64_t pid = 0;          // the hook's pid, for tracing
};

// The largest request, serialized, that a hook writes and the daemon reads: one limit for
// both, so a request the hook spools is one the daemon accepts. Sized for the largest real
// request: a resume of 10,000 nodes that are not contiguous (argv "hpc-[1,3,5,...]", 54 KB)
// whose SLURM_RESUME_FILE lists 10,000 one-node jobs. Slurm writes each job as about 230
// bytes of indented JSON plus the user's --extra and --features strings; with 1 KiB of
// --extra and 256 bytes of features per job the file is 15.1 MB (2.3 MB without them).
// 16 MiB holds that with room (docs/design/node-lifecycle.md, "refused hook request").
inline constexpr std::size_t k_max_hook_request_bytes = std::size_t{16} << 20;

// A small line format ("key=value\n", fixed keys, values without newlines) that the daemon
// parses without a JSON library. serialize() rejects values containing newlines (k_io) and a
// request larger than k_max_hook_request_bytes (k_invalid_input: it would not be read).
Result<std::string> serialize(const HookRequest& request);
// Errors (k_io: a corrupt spool file): missing or unknown keys, bad numbers, bad kind; says which
// line.
Result<HookRequest> parse_hook_request(std::string_view text);

}  // namespace cb
