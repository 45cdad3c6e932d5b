// The one place where a program turns an Error into "program: error: ..." and an exit code.
//
// Exit codes (documented in README.md and each program's --help):
//   0  success
//   1  the command ran but the answer is negative (bad hostlist, a failed check)
//   2  usage: bad command line
//   3  configuration error
//   4  an external system failed (cloud API, Slurm, a file or socket)
//   70 internal error (a bug)
#pragma once

#include <functional>
#include <string_view>

#include "util/result.h"

namespace cb {

enum class ExitCode : int {
    k_ok = 0,
    k_failure = 1,
    k_usage = 2,
    k_config = 3,
    k_external = 4,
    k_internal = 70,
};

ExitCode exit_code_for(ErrorKind kind);

// Runs `body`. On an Error prints "<program>: error: <description>" to stderr (secrets
// redacted) and returns the matching exit code; an escaping exception is an internal error.
int run_main(std::string_view program, const std::function<Result<int>()>& body);

}  // namespace cb
