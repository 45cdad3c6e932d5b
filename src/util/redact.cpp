// The secret registry of util/log.h, apart from log.cpp: programs that only redact (the
// Slurm hooks print errors, never log) then do not load spdlog and fmt at start.
#include "util/log.h"

#include <algorithm>
#include <mutex>
#include <string>
#include <vector>

namespace cb::log {

namespace {
std::mutex g_secrets_mutex;
std::vector<std::string> g_secrets;  // guarded by g_secrets_mutex
}  // namespace

void register_secret(std::string secret) {
    if (secret.empty()) {
        return;
    }
    std::lock_guard lock(g_secrets_mutex);
    if (std::find(g_secrets.begin(), g_secrets.end(), secret) == g_secrets.end()) {
        g_secrets.push_back(std::move(secret));
    }
}

std::string redact(std::string_view text) {
    std::string out(text);
    std::lock_guard lock(g_secrets_mutex);
    for (const auto& secret : g_secrets) {
        for (auto pos = out.find(secret); pos != std::string::npos;
             pos = out.find(secret, pos + 4)) {
            out.replace(pos, secret.size(), "****");
        }
    }
    return out;
}

}  // namespace cb::log
