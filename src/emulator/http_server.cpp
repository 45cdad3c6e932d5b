#include "emulator/http_server.h"

#include <arpa/inet.h>
#include <httplib.h>
#include <sys/socket.h>

#include <charconv>
#include <exception>
#include <thread>

#include <fmt/format.h>

namespace cb::emulator {

namespace {

bool is_loopback(const std::string& host) {
    if (host == "localhost") {
        return true;
    }
    in_addr v4{};
    if (inet_pton(AF_INET, host.c_str(), &v4) == 1) {
        return (ntohl(v4.s_addr) >> 24) == 127;
    }
    in6_addr v6{};
    return inet_pton(AF_INET6, host.c_str(), &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6);
}

HttpRequest from_httplib(const httplib::Request& req) {
    HttpRequest out;
    out.method = req.method;
    out.path = req.path;
    for (const auto& [key, value] : req.params) {
        out.query.emplace_back(key, value);
    }
    out.body = req.body;
    out.authorization = req.get_header_value("Authorization");
    return out;
}

}  // namespace

Result<ListenAddress> parse_listen_address(std::string_view text) {
    const auto usage = [&](const std::string& why) {
        return make_error(ErrorKind::k_usage, fmt::format("--listen {}: {}", text, why));
    };
    ListenAddress out;
    std::string_view port;
    if (!text.empty() && text.front() == '[') {
        const auto close = text.find("]:");
        if (close == std::string_view::npos) {
            return usage("expected [IPV6]:PORT");
        }
        out.host = std::string(text.substr(1, close - 1));
        port = text.substr(close + 2);
    } else {
        const auto colon = text.rfind(':');
        if (colon == std::string_view::npos) {
            return usage("expected ADDRESS:PORT, e.g. 127.0.0.1:8443 (port 0 picks a free one)");
        }
        out.host = std::string(text.substr(0, colon));
        port = text.substr(colon + 1);
    }
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), out.port);
    if (ec != std::errc() || end != port.data() + port.size() || out.port < 0 || out.port > 65535) {
        return usage("the port must be a number from 0 to 65535");
    }
    if (!is_loopback(out.host)) {
        return usage(
            "the emulator listens on loopback addresses only (127.0.0.0/8, ::1, "
            "localhost)");
    }
    return out;
}

struct HttpServer::Impl {
    std::unique_ptr<httplib::Server> server;
    std::thread thread;
    std::string scheme;
    std::string host;
    int port = 0;
};

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}

HttpServer::~HttpServer() {
    stop();
}

Result<std::unique_ptr<HttpServer>> HttpServer::start(const ServerOptions& options,
                                                      Handler handler) {
    auto impl = std::make_unique<Impl>();
    if (options.transport == Transport::k_https) {
        impl->server = std::make_unique<httplib::SSLServer>(options.cert_file.c_str(),
                                                            options.key_file.c_str());
        impl->scheme = "https";
    } else {
        impl->server = std::make_unique<httplib::Server>();
        impl->scheme = "http";
    }
    if (!impl->server->is_valid()) {
        return make_error(ErrorKind::k_config,
                          fmt::format("cannot load the TLS certificate {} or key {}",
                                      options.cert_file, options.key_file));
    }
    httplib::Server& server = *impl->server;
    const std::size_t threads = options.threads;
    server.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
    server.set_keep_alive_max_count(1000);
    server.set_keep_alive_timeout(5);
    server.set_read_timeout(30, 0);
    server.set_write_timeout(30, 0);
    server.set_payload_max_length(64U << 20);
    // httplib's default also sets SO_REUSEPORT, which would let a second emulator bind the
    // same port and silently share its requests; keep SO_REUSEADDR only.
    server.set_socket_options([](int sock) {
        int yes = 1;
        ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    });
    auto serve = [handler = std::move(handler)](const httplib::Request& req,
                                                httplib::Response& res) {
        HttpResponse r;
        try {
            r = handler(from_httplib(req));
        } catch (const std::exception& e) {
            r.status = 500;
            r.body = fmt::format(R"({{"code": 500, "message": "internal error: {}"}})", e.what());
        }
        res.status = r.status;
        for (const auto& [key, value] : r.headers) {
            res.set_header(key, value);
        }
        // httplib compresses a body whose type is exactly "application/json" when the client
        // accepts it; brotli on a 12 MB status of 10,000 nodes took 8 s. Over loopback that
        // buys nothing, so JSON goes out with its charset, which httplib leaves alone.
        const std::string type = r.content_type == "application/json"
                                     ? "application/json; charset=utf-8"
                                     : r.content_type;
        res.body = std::move(r.body);  // set_content() would copy a 12 MB answer
        res.set_header("Content-Type", type);
    };
    server.Get(".*", serve);
    server.Post(".*", serve);
    server.Put(".*", serve);
    server.Delete(".*", serve);
    server.Patch(".*", serve);

    impl->host = options.listen.host;
    if (options.listen.port == 0) {
        impl->port = server.bind_to_any_port(impl->host);
    } else {
        impl->port =
            server.bind_to_port(impl->host, options.listen.port) ? options.listen.port : -1;
    }
    if (impl->port <= 0) {
        return make_error(ErrorKind::k_io,
                          fmt::format("cannot listen on {}:{} (is the port in use?)", impl->host,
                                      options.listen.port));
    }
    impl->thread = std::thread([&server] { server.listen_after_bind(); });
    // httplib's stop() does nothing until the listener has marked itself running; a stop()
    // that came earlier would leave the thread in accept() for good.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!server.is_running() && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    if (!server.is_running()) {
        impl->thread.join();  // the listener marks itself running first, so it has ended
        return make_error(ErrorKind::k_io, "the HTTP listener stopped as it started");
    }
    return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

int HttpServer::port() const {
    return m_impl->port;
}

std::string HttpServer::url() const {
    const bool v6 = m_impl->host.find(':') != std::string::npos;
    return fmt::format("{}://{}{}{}:{}", m_impl->scheme, v6 ? "[" : "", m_impl->host, v6 ? "]" : "",
                       m_impl->port);
}

void HttpServer::stop() {
    if (m_impl && m_impl->thread.joinable()) {
        m_impl->server->stop();
        m_impl->thread.join();
    }
}

Result<HttpResponse> send_request(const ClientRequest& request) {
    if (request.url.rfind("http://", 0) != 0 && request.url.rfind("https://", 0) != 0) {
        return make_error(
            ErrorKind::k_usage,
            fmt::format("--url {}: expected http://HOST:PORT or https://HOST:PORT", request.url));
    }
    httplib::Client client(request.url);
    if (!client.is_valid()) {
        return make_error(ErrorKind::k_usage, fmt::format("--url {}: not a URL", request.url));
    }
    client.set_connection_timeout(request.timeout);
    client.set_read_timeout(request.timeout);
    client.set_write_timeout(request.timeout);
    if (!request.user.empty()) {
        client.set_basic_auth(request.user.c_str(), request.password.c_str());
    }
    if (!request.ca_file.empty()) {
        client.set_ca_cert_path(request.ca_file.c_str());
    }
    client.enable_server_certificate_verification(request.verify);
    httplib::Result result =
        request.method == "POST"
            ? client.Post(request.path.c_str(), request.body, "application/json")
            : client.Get(request.path.c_str());
    if (!result) {
        return make_error(ErrorKind::k_transient, fmt::format("{}{}: {}", request.url, request.path,
                                                              httplib::to_string(result.error())));
    }
    HttpResponse out;
    out.status = result->status;
    out.body = result->body;
    out.content_type = result->get_header_value("Content-Type");
    return out;
}

}  // namespace cb::emulator
