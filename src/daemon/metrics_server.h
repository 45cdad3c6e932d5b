// cloudburstd's metrics endpoint (`[metrics] listen`): a loopback HTTP/1.x responder for
// GET /metrics, on plain sockets in the daemon's own poll loop (no thread, no HTTP library:
// it answers one fixed request, and cpp-httplib would bring threads and TLS into the daemon).
// It never blocks the loop: connections are non-blocking, at most k_max_connections are
// open (a new one closes the oldest), a request head is at most k_max_request_head bytes and
// every connection is closed after k_connection_deadline_ms.
#pragma once

#include <poll.h>

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace cb {

constexpr std::size_t k_max_request_head = 8192;
constexpr std::size_t k_max_metrics_connections = 16;
constexpr std::int64_t k_connection_deadline_ms = 5000;

// The whole HTTP answer (status line, headers, body; "Connection: close") to a request head
// (the bytes up to and including the blank line): 200 and `metrics()` for GET /metrics (a
// query string is ignored), 404 for another path, 405 for another method, 400 for anything
// that is not an HTTP/1.x request line. `metrics` is called only for a 200.
std::string metrics_http_answer(std::string_view head, const std::function<std::string()>& metrics);

class MetricsServer {
  public:
    // Listens on "HOST:PORT" (a loopback address: the config checks it; "localhost" is
    // 127.0.0.1). Errors: k_config for an address that does not parse, k_io when bind fails.
    static Result<MetricsServer> listen(const std::string& address);
    MetricsServer(MetricsServer&& other) noexcept;
    MetricsServer& operator=(MetricsServer&&) = delete;
    MetricsServer(const MetricsServer&) = delete;
    MetricsServer& operator=(const MetricsServer&) = delete;
    ~MetricsServer();

    // The port it listens on (the one asked for, or the kernel's choice for port 0).
    int port() const { return m_port; }
    // The fds to poll and for what: the listener, then each connection.
    std::vector<pollfd> poll_fds() const;
    // Handles `fd` (one of poll_fds) after poll said `revents`.
    void on_ready(int fd, short revents, std::int64_t now_ms,
                  const std::function<std::string()>& metrics);
    // Closes connections past their deadline.
    void expire(std::int64_t now_ms);

  private:
    struct Connection {
        std::string in;
        std::string out;
        std::size_t sent = 0;
        std::int64_t deadline_ms = 0;
    };
    MetricsServer(int fd, int port) : m_fd(fd), m_port(port) {}
    void accept_all(std::int64_t now_ms);
    void close_connection(int fd);

    int m_fd = -1;
    int m_port = 0;
    std::map<int, Connection> m_connections;  // by fd
};

}  // namespace cb
