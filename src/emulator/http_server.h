// Serves a request handler over HTTP or HTTPS on a loopback address (cpp-httplib is used
// only in http_server.cpp), and a small client for the emulator's own subcommands.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "emulator/http_message.h"
#include "util/result.h"

namespace cb::emulator {

// "127.0.0.1:8443", "[::1]:0", "localhost:0". Errors (k_usage) for anything that is not a
// loopback address (127.0.0.0/8, ::1, localhost) with a port 0-65535; port 0 picks a free one.
struct ListenAddress {
    std::string host;  // without brackets
    int port = 0;
};
Result<ListenAddress> parse_listen_address(std::string_view text);

enum class Transport { k_http, k_https };

struct ServerOptions {
    ListenAddress listen{"127.0.0.1", 0};
    Transport transport = Transport::k_https;
    std::string cert_file;     // PEM, for k_https
    std::string key_file;      // PEM, for k_https
    std::size_t threads = 32;  // concurrent requests (hanging requests hold one each)
};

class HttpServer {
  public:
    using Handler = std::function<HttpResponse(const HttpRequest&)>;

    // Binds and starts serving on a background thread. Errors: k_io when the address cannot
    // be bound, k_config when the certificate or key cannot be loaded.
    static Result<std::unique_ptr<HttpServer>> start(const ServerOptions& options, Handler handler);
    ~HttpServer();  // stop()
    HttpServer(const HttpServer&) = delete;
    HttpServer& operator=(const HttpServer&) = delete;

    int port() const;
    // "https://127.0.0.1:8443" (IPv6 hosts in brackets).
    std::string url() const;
    // Stops accepting, waits for requests in progress. Idempotent.
    void stop();

  private:
    struct Impl;
    explicit HttpServer(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> m_impl;
};

struct ClientRequest {
    std::string url;  // "https://127.0.0.1:8443"
    std::string method = "GET";
    std::string path;
    std::string body;
    std::string user;
    std::string password;
    std::string ca_file;  // verify the server against this CA (https)
    bool verify = true;   // false: do not verify the certificate at all
    std::chrono::seconds timeout{30};
};

// One request. Errors: k_transient when the server cannot be reached or does not answer,
// k_usage for a malformed URL. Any HTTP status is a successful answer here.
Result<HttpResponse> send_request(const ClientRequest& request);

}  // namespace cb::emulator
