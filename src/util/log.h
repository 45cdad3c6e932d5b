// Logging. One process-wide logger set up by each main (stderr, a file, or both); spdlog is
// included only by log.cpp. Secrets registered with register_secret() are replaced by "****"
// in every message before it reaches any sink, as a last line of defence.
#pragma once

#include <fmt/format.h>

#include <string>
#include <string_view>

namespace cb::log {

enum class Level { k_debug, k_info, k_warn, k_error };

struct Options {
    std::string program;  // shown in each line
    std::string file;     // empty: stderr only
    Level level = Level::k_info;
    bool also_stderr = true;
};

// Sets up the process logger. Safe to call again (replaces the sinks).
void init(const Options& options);

// Never logged verbatim from now on. Empty strings are ignored.
void register_secret(std::string secret);

// Masks registered secrets in `text` (exposed for tests and for error output).
std::string redact(std::string_view text);

void write(Level level, std::string_view message);

template <typename... Args>
void debug(fmt::format_string<Args...> f, Args&&... args) {
    write(Level::k_debug, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void info(fmt::format_string<Args...> f, Args&&... args) {
    write(Level::k_info, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void warn(fmt::format_string<Args...> f, Args&&... args) {
    write(Level::k_warn, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void error(fmt::format_string<Args...> f, Args&&... args) {
    write(Level::k_error, fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace cb::log
