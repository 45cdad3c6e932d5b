#include "daemon/event_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include <cerrno>
#include <cstring>
#include <ctime>

#include "util/error.h"

namespace cb {

namespace {

// "2026-12-06T18:30:00.123Z"
std::string utc_text(std::int64_t ms) {
    const std::time_t t = static_cast<std::time_t>(ms / 1000);
    std::tm tm{};
    ::gmtime_r(&t, &tm);
    char buf[40];
    const std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    std::snprintf(buf + n, sizeof buf - n, ".%03dZ", static_cast<int>(ms % 1000));
    return buf;
}

OpsEvent node_event(const NodeIntent& n, std::string type, Phase from, std::int64_t now_ms) {
    OpsEvent e;
    e.at_ms = now_ms;
    e.type = std::move(type);
    e.node = n.name;
    e.nodearray = n.nodearray;
    e.from = std::string(to_string(from));
    e.to = std::string(to_string(n.phase));
    e.reason = n.last_reason;
    return e;
}

}  // namespace

std::string failure_class(const std::string& reason) {
    constexpr std::string_view k_prefix = "cloudburst: ";
    if (reason.rfind(k_prefix, 0) != 0) {
        return "";
    }
    const auto colon = reason.find(':', k_prefix.size());
    if (colon == std::string::npos) {
        return "";
    }
    const std::string word = reason.substr(k_prefix.size(), colon - k_prefix.size());
    for (const char c : word) {
        if (c < 'a' || c > 'z') {
            return "";
        }
    }
    return word;
}

std::vector<OpsEvent> node_events(const std::map<std::string, NodeIntent>& before,
                                  const std::vector<NodeIntent>& changed, std::int64_t now_ms) {
    std::vector<OpsEvent> out;
    std::map<std::string, Phase> last;  // the phase each node is in as the events go
    for (const auto& n : changed) {
        auto it = last.find(n.name);
        if (it == last.end()) {
            const auto b = before.find(n.name);
            it = last.emplace(n.name, b == before.end() ? Phase::k_idle : b->second.phase).first;
        }
        const Phase from = it->second;
        if (from == n.phase) {
            continue;
        }
        it->second = n.phase;
        if (n.phase == Phase::k_failed) {
            OpsEvent e = node_event(n, "node_failed", from, now_ms);
            e.error_class = failure_class(n.last_reason);
            out.push_back(std::move(e));
        } else if (from == Phase::k_idle && n.phase == Phase::k_stopping) {
            out.push_back(node_event(n, "orphan_removed", from, now_ms));
        } else {
            out.push_back(node_event(n, "node_phase", from, now_ms));
        }
    }
    return out;
}

std::vector<OpsEvent> health_events(const std::map<std::string, ArrayHealth>& before,
                                    const std::map<std::string, ArrayHealth>& after,
                                    std::int64_t now_ms) {
    std::vector<OpsEvent> out;
    for (const auto& [array, h] : after) {
        const auto old = before.find(array);
        if (old != before.end() && old->second.failures == h.failures) {
            continue;
        }
        OpsEvent e;
        e.at_ms = now_ms;
        e.type = "nodearray_blocked";
        e.nodearray = array;
        e.error_class = health_kind(h);
        e.reason = h.reason;
        e.until_ms = h.until_ms;
        e.failures = h.failures;
        out.push_back(std::move(e));
    }
    for (const auto& [array, h] : before) {
        if (after.count(array) == 0) {
            OpsEvent e;
            e.at_ms = now_ms;
            e.type = "nodearray_healthy";
            e.nodearray = array;
            out.push_back(std::move(e));
        }
    }
    return out;
}

std::string event_json_line(const OpsEvent& e) {
    using json = nlohmann::json;
    json j = {{"time", utc_text(e.at_ms)}, {"ts_ms", e.at_ms}, {"event", e.type}};
    if (!e.node.empty()) {
        j["node"] = e.node;
    }
    j["nodearray"] = e.nodearray;
    if (!e.from.empty()) {
        j["from"] = e.from;
        j["to"] = e.to;
    }
    if (!e.error_class.empty()) {
        j["class"] = e.error_class;
    }
    if (!e.reason.empty()) {
        j["reason"] = e.reason;
    }
    if (e.type == "nodearray_blocked") {
        j["until"] = utc_text(e.until_ms);
        j["failures"] = e.failures;
    }
    return j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

Result<EventLog> EventLog::open(const std::string& path, std::int64_t max_bytes, int keep) {
    EventLog log;
    log.m_path = path;
    log.m_max_bytes = max_bytes;
    log.m_keep = keep;
    log.m_fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
    if (log.m_fd < 0) {
        return make_error(ErrorKind::k_io,
                          "cannot open event file " + path + ": " + std::strerror(errno));
    }
    struct stat st {};
    if (::fstat(log.m_fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        return make_error(ErrorKind::k_io, "event file " + path + " is not a regular file");
    }
    log.m_size = st.st_size;
    return log;
}

EventLog::EventLog(EventLog&& other) noexcept
    : m_fd(other.m_fd),
      m_path(std::move(other.m_path)),
      m_max_bytes(other.m_max_bytes),
      m_keep(other.m_keep),
      m_size(other.m_size) {
    other.m_fd = -1;
}

EventLog& EventLog::operator=(EventLog&& other) noexcept {
    if (this != &other) {
        if (m_fd >= 0) {
            ::close(m_fd);
        }
        m_fd = other.m_fd;
        m_path = std::move(other.m_path);
        m_max_bytes = other.m_max_bytes;
        m_keep = other.m_keep;
        m_size = other.m_size;
        other.m_fd = -1;
    }
    return *this;
}

EventLog::~EventLog() {
    if (m_fd >= 0) {
        ::close(m_fd);
    }
}

Status EventLog::rotate() {
    ::close(m_fd);
    m_fd = -1;
    // FILE.<keep> falls off; FILE.<i> becomes FILE.<i+1>; FILE becomes FILE.1.
    (void)::unlink((m_path + "." + std::to_string(m_keep)).c_str());
    for (int i = m_keep - 1; i >= 1; --i) {
        (void)::rename((m_path + "." + std::to_string(i)).c_str(),
                       (m_path + "." + std::to_string(i + 1)).c_str());
    }
    (void)::rename(m_path.c_str(), (m_path + ".1").c_str());
    auto fresh = open(m_path, m_max_bytes, m_keep);
    if (!fresh) {
        return fresh.error();
    }
    *this = std::move(*fresh);
    return ok_status();
}

Status EventLog::append(const std::vector<OpsEvent>& events) {
    if (m_path.empty() || events.empty()) {
        return ok_status();
    }
    std::string text;
    for (const auto& e : events) {
        std::string line = event_json_line(e);
        if (m_size + static_cast<std::int64_t>(text.size() + line.size()) > m_max_bytes &&
            (m_size > 0 || !text.empty())) {
            if (m_fd >= 0 && !text.empty() &&
                ::write(m_fd, text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
                return make_error(ErrorKind::k_io, "cannot write event file " + m_path + ": " +
                                                       std::strerror(errno));
            }
            text.clear();
            if (auto st = rotate(); !st) {
                return st;
            }
        }
        text += line;
    }
    if (m_fd < 0) {
        // Opening the fresh file failed at the last rotation: try again.
        auto fresh = open(m_path, m_max_bytes, m_keep);
        if (!fresh) {
            return fresh.error();
        }
        *this = std::move(*fresh);
    }
    if (::write(m_fd, text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
        return make_error(ErrorKind::k_io,
                          "cannot write event file " + m_path + ": " + std::strerror(errno));
    }
    m_size += static_cast<std::int64_t>(text.size());
    return ok_status();
}

}  // namespace cb
