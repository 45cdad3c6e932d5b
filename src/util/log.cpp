#include "util/log.h"

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <mutex>
#include <vector>

#include "util/sanitize.h"

namespace cb::log {

namespace {
std::mutex g_mutex;
std::shared_ptr<spdlog::logger> g_logger;  // guarded by g_mutex

spdlog::level::level_enum to_spdlog(Level level) {
    switch (level) {
        case Level::k_debug:
            return spdlog::level::debug;
        case Level::k_info:
            return spdlog::level::info;
        case Level::k_warn:
            return spdlog::level::warn;
        case Level::k_error:
            return spdlog::level::err;
    }
    return spdlog::level::info;
}

std::shared_ptr<spdlog::logger> logger() {
    std::lock_guard lock(g_mutex);
    if (!g_logger) {
        g_logger = std::make_shared<spdlog::logger>(
            "cloudburst", std::make_shared<spdlog::sinks::stderr_sink_mt>());
        g_logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %l %v");
    }
    return g_logger;
}
}  // namespace

void init(const Options& options) {
    std::vector<spdlog::sink_ptr> sinks;
    if (options.also_stderr || options.file.empty()) {
        sinks.push_back(std::make_shared<spdlog::sinks::stderr_sink_mt>());
    }
    if (!options.file.empty()) {
        sinks.push_back(std::make_shared<spdlog::sinks::basic_file_sink_mt>(options.file));
    }
    auto created = std::make_shared<spdlog::logger>("cloudburst", sinks.begin(), sinks.end());
    created->set_pattern("%Y-%m-%dT%H:%M:%S.%e " + options.program + "[%P] %l %v");
    created->set_level(to_spdlog(options.level));
    created->flush_on(spdlog::level::info);
    std::lock_guard lock(g_mutex);
    g_logger = created;
}

void write(Level level, std::string_view message) {
    // Names and messages from CycleCloud or Slurm end up here: one line each, no escape
    // sequences for the terminal that shows the log.
    logger()->log(to_spdlog(level), "{}", redact(without_control_chars(message)));
}

}  // namespace cb::log
