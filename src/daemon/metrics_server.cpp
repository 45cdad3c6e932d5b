#include "daemon/metrics_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>

#include "util/error.h"

namespace cb {

namespace {

std::string answer(int code, std::string_view reason, std::string_view type,
                   const std::string& body) {
    return "HTTP/1.1 " + std::to_string(code) + " " + std::string(reason) +
           "\r\nContent-Type: " + std::string(type) +
           "\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" +
           body;
}

}  // namespace

std::string metrics_http_answer(std::string_view head,
                                const std::function<std::string()>& metrics) {
    const auto eol = head.find("\r\n");
    const std::string_view line = head.substr(0, eol == std::string_view::npos ? head.size() : eol);
    const auto sp1 = line.find(' ');
    const auto sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
    if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos ||
        !line.substr(sp2 + 1).starts_with("HTTP/1.")) {
        return answer(400, "Bad Request", "text/plain; charset=utf-8", "bad request\n");
    }
    const std::string_view method = line.substr(0, sp1);
    std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    target = target.substr(0, target.find('?'));
    if (method != "GET") {
        return answer(405, "Method Not Allowed", "text/plain; charset=utf-8",
                      "only GET /metrics is served\n");
    }
    if (target != "/metrics") {
        return answer(404, "Not Found", "text/plain; charset=utf-8",
                      "cloudburstd serves GET /metrics only\n");
    }
    return answer(200, "OK", "text/plain; version=0.0.4; charset=utf-8", metrics());
}

Result<MetricsServer> MetricsServer::listen(const std::string& address) {
    const auto colon = address.rfind(':');
    if (colon == std::string::npos) {
        return make_error(ErrorKind::k_config, "metrics.listen '" + address + "' has no port");
    }
    std::string host = address.substr(0, colon);
    int port = -1;
    const std::string port_text = address.substr(colon + 1);
    const auto [end, ec] =
        std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc() || end != port_text.data() + port_text.size() || port < 0 ||
        port > 65535) {
        return make_error(ErrorKind::k_config, "metrics.listen '" + address + "': bad port");
    }
    if (host == "localhost") {
        host = "127.0.0.1";
    }
    sockaddr_storage storage{};
    socklen_t len = 0;
    int family = AF_INET;
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
        family = AF_INET6;
        auto* a = reinterpret_cast<sockaddr_in6*>(&storage);
        a->sin6_family = AF_INET6;
        a->sin6_port = htons(static_cast<std::uint16_t>(port));
        if (::inet_pton(AF_INET6, host.substr(1, host.size() - 2).c_str(), &a->sin6_addr) != 1) {
            return make_error(ErrorKind::k_config, "metrics.listen '" + address + "': bad address");
        }
        len = sizeof *a;
    } else {
        auto* a = reinterpret_cast<sockaddr_in*>(&storage);
        a->sin_family = AF_INET;
        a->sin_port = htons(static_cast<std::uint16_t>(port));
        if (::inet_pton(AF_INET, host.c_str(), &a->sin_addr) != 1) {
            return make_error(ErrorKind::k_config, "metrics.listen '" + address + "': bad address");
        }
        len = sizeof *a;
    }
    const int fd = ::socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    const int one = 1;
    if (fd < 0 || ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        ::bind(fd, reinterpret_cast<const sockaddr*>(&storage), len) != 0 ||
        ::listen(fd, 16) != 0) {
        const int err = errno;
        if (fd >= 0) {
            ::close(fd);
        }
        return make_error(ErrorKind::k_io,
                          "cannot serve metrics on " + address + ": " + std::strerror(err));
    }
    sockaddr_storage bound{};
    socklen_t bound_len = sizeof bound;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &bound_len);
    const int actual = ntohs(family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                                : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
    return MetricsServer(fd, actual);
}

MetricsServer::MetricsServer(MetricsServer&& other) noexcept
    : m_fd(other.m_fd), m_port(other.m_port), m_connections(std::move(other.m_connections)) {
    other.m_fd = -1;
    other.m_connections.clear();
}

MetricsServer::~MetricsServer() {
    for (const auto& [fd, c] : m_connections) {
        ::close(fd);
    }
    if (m_fd >= 0) {
        ::close(m_fd);
    }
}

std::vector<pollfd> MetricsServer::poll_fds() const {
    std::vector<pollfd> out{{m_fd, POLLIN, 0}};
    for (const auto& [fd, c] : m_connections) {
        out.push_back({fd, static_cast<short>(c.out.empty() ? POLLIN : POLLOUT), 0});
    }
    return out;
}

void MetricsServer::close_connection(int fd) {
    ::close(fd);
    m_connections.erase(fd);
}

void MetricsServer::accept_all(std::int64_t now_ms) {
    for (;;) {
        const int c = ::accept4(m_fd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (c < 0) {
            return;
        }
        if (m_connections.size() >= k_max_metrics_connections) {
            // The oldest gives way: a client that holds connections open cannot lock out
            // Prometheus.
            int oldest = m_connections.begin()->first;
            for (const auto& [fd, conn] : m_connections) {
                if (conn.deadline_ms < m_connections.at(oldest).deadline_ms) {
                    oldest = fd;
                }
            }
            close_connection(oldest);
        }
        m_connections[c].deadline_ms = now_ms + k_connection_deadline_ms;
    }
}

void MetricsServer::on_ready(int fd, short revents, std::int64_t now_ms,
                             const std::function<std::string()>& metrics) {
    if (fd == m_fd) {
        accept_all(now_ms);
        return;
    }
    const auto it = m_connections.find(fd);
    if (it == m_connections.end()) {
        return;
    }
    Connection& c = it->second;
    if (c.out.empty()) {
        char buf[4096];
        const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) {
            if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
                close_connection(fd);
            }
            return;
        }
        c.in.append(buf, static_cast<std::size_t>(n));
        const auto end = c.in.find("\r\n\r\n");
        if (end == std::string::npos && c.in.size() <= k_max_request_head) {
            return;
        }
        c.out = end == std::string::npos
                    ? metrics_http_answer("", metrics)  // over the limit: 400
                    : metrics_http_answer(std::string_view(c.in).substr(0, end + 2), metrics);
        c.in.clear();
    } else if ((revents & (POLLERR | POLLHUP)) != 0) {
        close_connection(fd);
        return;
    }
    const ssize_t n = ::send(fd, c.out.data() + c.sent, c.out.size() - c.sent, MSG_NOSIGNAL);
    if (n < 0 && errno != EAGAIN && errno != EINTR) {
        close_connection(fd);
        return;
    }
    c.sent += n > 0 ? static_cast<std::size_t>(n) : 0;
    if (c.sent == c.out.size()) {
        // Unread input at close makes the kernel reset the connection, which can discard the
        // answer on the client's side: read what is there first (a little, not forever).
        char sink[4096];
        for (int i = 0; i < 16 && ::recv(fd, sink, sizeof sink, MSG_DONTWAIT) > 0; ++i) {
        }
        ::shutdown(fd, SHUT_WR);
        close_connection(fd);
    }
}

void MetricsServer::expire(std::int64_t now_ms) {
    std::vector<int> late;
    for (const auto& [fd, c] : m_connections) {
        if (now_ms >= c.deadline_ms) {
            late.push_back(fd);
        }
    }
    for (const int fd : late) {
        close_connection(fd);
    }
}

}  // namespace cb
