// HTTPS with the emulator's generated CA: clients that trust the CA connect; clients that do
// not, fail.
#include <gtest/gtest.h>
#include <httplib.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>

#include "emulator/http_server.h"
#include "emulator/tls_cert.h"
#include "unit/emulator_fixtures.h"

namespace cb::emulator {
namespace {

using testing::TempDir;

class TlsServer {
  public:
    TlsServer() {
        auto files = generate_tls_files(dir.path(), {"127.0.0.1", "::1", "localhost"});
        EXPECT_TRUE(files) << files.error().describe();
        tls = *files;
        ServerOptions options;
        options.transport = Transport::k_https;
        options.cert_file = tls.server_cert;
        options.key_file = tls.server_key;
        auto started = HttpServer::start(options, [](const HttpRequest& r) {
            HttpResponse out;
            out.body = R"({"path": ")" + r.path + "\"}";
            return out;
        });
        EXPECT_TRUE(started) << started.error().describe();
        server = std::move(*started);
    }
    TempDir dir;
    TlsFiles tls;
    std::unique_ptr<HttpServer> server;
};

TEST(EmulatorTls, GeneratedFilesAreInTheStateDirectory) {
    TempDir dir;
    auto files = generate_tls_files(dir.path(), {"127.0.0.1", "localhost"});
    ASSERT_TRUE(files) << files.error().describe();
    EXPECT_EQ(files->ca_cert, dir.path() + "/ca.pem");
    struct stat key {};
    ASSERT_EQ(::stat(files->server_key.c_str(), &key), 0);
    EXPECT_EQ(key.st_mode & 0777, 0600u);
    for (const auto& path : {files->ca_cert, files->server_cert}) {
        EXPECT_GT(std::filesystem::file_size(path), 300u) << path;
    }
    auto missing = generate_tls_files(dir.path() + "/missing", {"127.0.0.1"});
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().kind, ErrorKind::k_io);
}

TEST(EmulatorTls, AClientThatTrustsTheCaConnects) {
    TlsServer s;
    ASSERT_EQ(s.server->url().rfind("https://127.0.0.1:", 0), 0u);
    for (const std::string host : {"127.0.0.1", "localhost"}) {
        httplib::Client client("https://" + host + ":" + std::to_string(s.server->port()));
        client.set_ca_cert_path(s.tls.ca_cert.c_str());
        client.enable_server_certificate_verification(true);
        const auto r = client.Get("/x");
        ASSERT_TRUE(r) << host << ": " << httplib::to_string(r.error());
        EXPECT_EQ(r->status, 200);
        EXPECT_EQ(r->body, R"({"path": "/x"})");
    }
    ClientRequest request;
    request.url = s.server->url();
    request.path = "/y";
    request.ca_file = s.tls.ca_cert;
    auto answer = send_request(request);
    ASSERT_TRUE(answer) << answer.error().describe();
    EXPECT_EQ(answer->status, 200);
}

TEST(EmulatorTls, AClientWithoutTheCaIsRefused) {
    TlsServer s;
    httplib::Client system_cas(s.server->url());
    system_cas.enable_server_certificate_verification(true);
    const auto r = system_cas.Get("/x");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), httplib::Error::SSLServerVerification);

    TlsServer other;  // a different emulator's CA does not vouch for this one
    httplib::Client wrong_ca(s.server->url());
    wrong_ca.set_ca_cert_path(other.tls.ca_cert.c_str());
    wrong_ca.enable_server_certificate_verification(true);
    const auto w = wrong_ca.Get("/x");
    ASSERT_FALSE(w);
    EXPECT_EQ(w.error(), httplib::Error::SSLServerVerification);

    ClientRequest request;
    request.url = s.server->url();
    request.path = "/y";
    auto answer = send_request(request);
    ASSERT_FALSE(answer);
    EXPECT_EQ(answer.error().kind, ErrorKind::k_transient);
    request.verify = false;  // the explicit opt-out
    EXPECT_TRUE(send_request(request));
}

TEST(EmulatorTls, PlainHttpClientsGetNoAnswer) {
    TlsServer s;
    httplib::Client plain("http://127.0.0.1:" + std::to_string(s.server->port()));
    plain.set_read_timeout(2, 0);
    const auto r = plain.Get("/x");
    EXPECT_TRUE(!r || r->status == 400);
}

TEST(EmulatorTls, AMissingCertificateIsAConfigError) {
    ServerOptions options;
    options.transport = Transport::k_https;
    options.cert_file = "/nonexistent/server.pem";
    options.key_file = "/nonexistent/server.key";
    auto r = HttpServer::start(options, [](const HttpRequest&) { return HttpResponse{}; });
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind, ErrorKind::k_config);
    EXPECT_EQ(r.error().message,
              "cannot load the TLS certificate /nonexistent/server.pem or key "
              "/nonexistent/server.key");
}

}  // namespace
}  // namespace cb::emulator
