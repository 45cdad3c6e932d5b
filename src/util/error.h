// Error values passed across module boundaries. The kind decides the reaction (retry, back
// off, mark a node down, refuse to start); the message is for people and is part of the
// interface (tests assert it verbatim).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace cb {

enum class ErrorKind {
    k_config,     // bad configuration file, flag or environment: operator must fix it
    k_usage,      // bad command line or bad input given to a command
    k_cloud,      // the cloud API refused or failed, not otherwise classified
    k_throttled,  // HTTP 429 or equivalent: pace and retry, never treated as capacity
    k_capacity,   // the cloud has no VMs of this size right now
    k_quota,      // subscription/family/regional quota too low for the request
    k_permanent,  // bad credentials, unknown cluster, invalid SKU: retrying will not help
    k_transient,  // timeouts, connection resets, 5xx: retry with backoff
    k_slurm,      // scontrol/sinfo failed or printed something we cannot use
    k_io,         // local file, socket or process failure
    k_not_found,  // the thing asked for does not exist
    k_internal,   // a bug in cloudburst
    // Data given to a command is malformed (a bad hostlist): it ran, the answer is "no".
    k_invalid_input,
};

// Stable lower-case name ("config", "throttled", ...), used in logs and Slurm reasons.
std::string_view to_string(ErrorKind kind);

struct Error {
    ErrorKind kind = ErrorKind::k_internal;
    std::string message;
    // Outer-to-inner chain of what we were doing ("reading /etc/cloudburst/cloudburst.toml").
    std::vector<std::string> context;

    // Returns a copy with `what` prepended to the context chain.
    Error with_context(std::string what) const&;
    Error with_context(std::string what) &&;

    // "context: context: message", as printed after "program: error: ".
    std::string describe() const;
};

Error make_error(ErrorKind kind, std::string message);

}  // namespace cb
