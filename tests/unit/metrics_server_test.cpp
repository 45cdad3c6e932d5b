// The metrics endpoint: what each request head is answered, and the server over a real
// loopback socket (one thread: the test drives the server's poll loop as the daemon does).
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>

#include "daemon/metrics_server.h"
#include "util/unique_fd.h"

namespace cb {
namespace {

const std::function<std::string()> k_metrics = [] { return std::string("cloudburst_up 1\n"); };

std::string status_line(const std::string& answer) {
    return answer.substr(0, answer.find("\r\n"));
}

TEST(MetricsHttp, GetMetricsIsAnsweredWithTheTextFormat) {
    const std::string a =
        metrics_http_answer("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", k_metrics);
    EXPECT_EQ(status_line(a), "HTTP/1.1 200 OK");
    EXPECT_NE(a.find("\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"),
              std::string::npos);
    EXPECT_NE(a.find("\r\nContent-Length: 16\r\n"), std::string::npos);
    EXPECT_NE(a.find("\r\nConnection: close\r\n"), std::string::npos);
    EXPECT_EQ(a.substr(a.find("\r\n\r\n") + 4), "cloudburst_up 1\n");
    EXPECT_EQ(status_line(metrics_http_answer("GET /metrics?x=1 HTTP/1.0\r\n\r\n", k_metrics)),
              "HTTP/1.1 200 OK");
}

TEST(MetricsHttp, OtherRequestsGetTheirErrorAndNeverTheMetrics) {
    bool called = false;
    const std::function<std::string()> spy = [&called] {
        called = true;
        return std::string();
    };
    EXPECT_EQ(status_line(metrics_http_answer("GET / HTTP/1.1\r\n\r\n", spy)),
              "HTTP/1.1 404 Not Found");
    EXPECT_EQ(status_line(metrics_http_answer("GET /metrics/../etc HTTP/1.1\r\n\r\n", spy)),
              "HTTP/1.1 404 Not Found");
    EXPECT_EQ(status_line(metrics_http_answer("POST /metrics HTTP/1.1\r\n\r\n", spy)),
              "HTTP/1.1 405 Method Not Allowed");
    for (const char* bad : {"", "GET /metrics\r\n\r\n", "GET  /metrics HTTP/1.1\r\n\r\n",
                            "GET /metrics HTTP/2\r\n\r\n", "\x16\x03\x01 tls hello"}) {
        EXPECT_EQ(status_line(metrics_http_answer(bad, spy)), "HTTP/1.1 400 Bad Request") << bad;
    }
    EXPECT_FALSE(called);
}

TEST(MetricsServer, AddressesThatAreNotHostAndPortAreConfigErrors) {
    for (const char* bad : {"127.0.0.1", "127.0.0.1:99999", "127.0.0.1:x", "example:9101"}) {
        auto s = MetricsServer::listen(bad);
        ASSERT_FALSE(s) << bad;
        EXPECT_EQ(s.error().kind, ErrorKind::k_config) << bad;
    }
}

class MetricsServerTest : public testing::Test {
  protected:
    void SetUp() override {
        auto s = MetricsServer::listen("127.0.0.1:0");
        ASSERT_TRUE(s) << s.error().describe();
        m_server.emplace(std::move(*s));
    }
    UniqueFd connect_client() const {
        UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(static_cast<std::uint16_t>(m_server->port()));
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        EXPECT_EQ(::connect(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
        return fd;
    }
    // Runs the server's side until `client` has read the whole answer (EOF) or 5 s passed.
    std::string exchange(int client, std::int64_t now_ms = 0) {
        std::string got;
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
        while (std::chrono::steady_clock::now() < deadline) {
            auto fds = m_server->poll_fds();
            fds.push_back({client, POLLIN, 0});
            ::poll(fds.data(), fds.size(), 100);
            for (std::size_t i = 0; i + 1 < fds.size(); ++i) {
                if (fds[i].revents != 0) {
                    m_server->on_ready(fds[i].fd, fds[i].revents, now_ms, k_metrics);
                }
            }
            if ((fds.back().revents & (POLLIN | POLLHUP)) != 0) {
                char buf[4096];
                const ssize_t n = ::recv(client, buf, sizeof buf, 0);
                if (n <= 0) {
                    return got;
                }
                got.append(buf, static_cast<std::size_t>(n));
            }
        }
        ADD_FAILURE() << "no complete answer within 5 s; got: " << got;
        return got;
    }
    std::optional<MetricsServer> m_server;
};

TEST_F(MetricsServerTest, AnswersARequestSentInPiecesAndClosesTheConnection) {
    ASSERT_NE(m_server->port(), 0);
    const UniqueFd client = connect_client();
    ASSERT_EQ(::send(client.get(), "GET /metr", 9, 0), 9);
    auto fds = m_server->poll_fds();
    ::poll(fds.data(), fds.size(), 100);
    m_server->on_ready(fds[0].fd, fds[0].revents, 0, k_metrics);  // accept
    ASSERT_EQ(::send(client.get(), "ics HTTP/1.1\r\n\r\n", 16, 0), 16);
    const std::string got = exchange(client.get());
    EXPECT_EQ(status_line(got), "HTTP/1.1 200 OK");
    EXPECT_EQ(got.substr(got.find("\r\n\r\n") + 4), "cloudburst_up 1\n");
    EXPECT_EQ(m_server->poll_fds().size(), 1u) << "the connection is closed";
}

TEST_F(MetricsServerTest, SecurityAnOversizeRequestHeadIsRefusedWithoutWaitingForItsEnd) {
    const UniqueFd client = connect_client();
    const std::string junk(k_max_request_head + 100, 'a');
    ASSERT_EQ(::send(client.get(), junk.data(), junk.size(), 0), static_cast<ssize_t>(junk.size()));
    EXPECT_EQ(status_line(exchange(client.get())), "HTTP/1.1 400 Bad Request");
}

TEST_F(MetricsServerTest, SecurityIdleConnectionsAreClosedAtTheirDeadlineAndCapped) {
    std::vector<UniqueFd> idle;
    for (std::size_t i = 0; i < k_max_metrics_connections + 4; ++i) {
        idle.push_back(connect_client());
        auto fds = m_server->poll_fds();
        ::poll(fds.data(), 1, 1000);
        m_server->on_ready(fds[0].fd, fds[0].revents, 0, k_metrics);  // accepts it
    }
    EXPECT_EQ(m_server->poll_fds().size(), k_max_metrics_connections + 1) << "capped";
    // A new client is still served: the oldest idle one gave way.
    const UniqueFd client = connect_client();
    ASSERT_EQ(::send(client.get(), "GET /metrics HTTP/1.1\r\n\r\n", 25, 0), 25);
    EXPECT_EQ(status_line(exchange(client.get())), "HTTP/1.1 200 OK");
    m_server->expire(k_connection_deadline_ms);
    EXPECT_EQ(m_server->poll_fds().size(), 1u) << "all idle connections expired";
}

}  // namespace
}  // namespace cb
