#include "util/program.h"

#include <cstdio>
#include <exception>
#include <string>

#include "util/log.h"

namespace cb {

ExitCode exit_code_for(ErrorKind kind) {
    switch (kind) {
        case ErrorKind::k_usage:
            return ExitCode::k_usage;
        case ErrorKind::k_config:
            return ExitCode::k_config;
        case ErrorKind::k_internal:
            return ExitCode::k_internal;
        case ErrorKind::k_not_found:
        case ErrorKind::k_invalid_input:
            return ExitCode::k_failure;
        case ErrorKind::k_cloud:
        case ErrorKind::k_throttled:
        case ErrorKind::k_capacity:
        case ErrorKind::k_quota:
        case ErrorKind::k_permanent:
        case ErrorKind::k_transient:
        case ErrorKind::k_slurm:
        case ErrorKind::k_io:
            return ExitCode::k_external;
    }
    return ExitCode::k_internal;
}

int run_main(std::string_view program, const std::function<Result<int>()>& body) {
    try {
        auto result = body();
        if (result) {
            return *result;
        }
        const Error& err = result.error();
        const std::string line =
            std::string(program) + ": error: " + log::redact(err.describe()) + "\n";
        std::fputs(line.c_str(), stderr);
        return static_cast<int>(exit_code_for(err.kind));
    } catch (const std::exception& e) {
        const std::string line = std::string(program) +
                                 ": error: internal: " + log::redact(e.what()) +
                                 " (this is a bug)\n";
        std::fputs(line.c_str(), stderr);
        return static_cast<int>(ExitCode::k_internal);
    }
}

}  // namespace cb
