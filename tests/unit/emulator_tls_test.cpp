// HTTPS with the emulator's generated CA: clients that trust the CA connect; clients that do
// not, fail. And the certificates of a fresh CycleCloud (--tls self-signed, --tls-cn,
// --tls-expired): a verifying client refuses each for its own reason.
#include <gtest/gtest.h>
#include <httplib.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
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
    explicit TlsServer(const TlsCertOptions& cert = {}) {
        auto files = generate_tls_files(dir.path(), {"127.0.0.1", "::1", "localhost"}, cert);
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

// OpenSSL's verdict on `cert_file` for `host`, trusting `ca_file`: X509_V_OK or the error.
long verify_certificate(const std::string& cert_file, const std::string& ca_file,
                        const std::string& host) {
    BIO* bio = BIO_new_file(cert_file.c_str(), "r");
    X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
    BIO_free(bio);
    X509_STORE* store = X509_STORE_new();
    X509_STORE_load_file(store, ca_file.c_str());
    X509_STORE_CTX* ctx = X509_STORE_CTX_new();
    X509_STORE_CTX_init(ctx, store, cert, nullptr);
    X509_VERIFY_PARAM_set1_host(X509_STORE_CTX_get0_param(ctx), host.c_str(), 0);
    X509_verify_cert(ctx);
    const long result = X509_STORE_CTX_get_error(ctx);
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    X509_free(cert);
    return result;
}

// The pin of the public key in `cert_file`, computed here from the certificate (the emulator
// computes it from its key).
std::string pin_of_certificate(const std::string& cert_file) {
    BIO* bio = BIO_new_file(cert_file.c_str(), "r");
    X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
    BIO_free(bio);
    unsigned char* der = nullptr;
    const int size = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &der);
    unsigned char digest[32];
    unsigned int digest_size = 0;
    EVP_Digest(der, static_cast<std::size_t>(size), digest, &digest_size, EVP_sha256(), nullptr);
    OPENSSL_free(der);
    X509_free(cert);
    unsigned char base64[45];
    EVP_EncodeBlock(base64, digest, 32);
    return "sha256//" + std::string(reinterpret_cast<const char*>(base64));
}

TEST(EmulatorTls, SelfSignedServesACertificateThatSignsItselfAndNoCaFile) {
    TlsServer s({TlsMode::k_self_signed, "", false});
    EXPECT_EQ(s.tls.ca_cert, "");
    EXPECT_FALSE(std::filesystem::exists(s.dir.path() + "/ca.pem"));
    EXPECT_EQ(verify_certificate(s.tls.server_cert, "/dev/null", "127.0.0.1"),
              X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT);
    EXPECT_EQ(s.tls.key_pin, pin_of_certificate(s.tls.server_cert));
    EXPECT_EQ(s.tls.key_pin.size(), 8u + 44u);

    httplib::Client verifying(s.server->url());
    verifying.enable_server_certificate_verification(true);
    const auto r = verifying.Get("/x");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), httplib::Error::SSLServerVerification);
    ClientRequest request;
    request.url = s.server->url();
    request.path = "/y";
    request.verify = false;
    EXPECT_TRUE(send_request(request));
}

TEST(EmulatorTls, AnEarlierRunsCaFileIsRemovedInTheSelfSignedMode) {
    TempDir dir;
    ASSERT_TRUE(generate_tls_files(dir.path(), {"127.0.0.1"}));
    ASSERT_TRUE(std::filesystem::exists(dir.path() + "/ca.pem"));
    ASSERT_TRUE(generate_tls_files(dir.path(), {"127.0.0.1"}, {TlsMode::k_self_signed, "", false}));
    EXPECT_FALSE(std::filesystem::exists(dir.path() + "/ca.pem"));
}

TEST(EmulatorTls, TlsCnNamesOnlyThatHost) {
    TlsServer s({TlsMode::k_ca_signed, "other-host", false});
    EXPECT_EQ(verify_certificate(s.tls.server_cert, s.tls.ca_cert, "other-host"), X509_V_OK);
    EXPECT_EQ(verify_certificate(s.tls.server_cert, s.tls.ca_cert, "127.0.0.1"),
              X509_V_ERR_HOSTNAME_MISMATCH);
    httplib::Client client(s.server->url());
    client.set_ca_cert_path(s.tls.ca_cert.c_str());
    client.enable_server_certificate_verification(true);
    const auto r = client.Get("/x");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), httplib::Error::SSLServerVerification);
}

TEST(EmulatorTls, TlsExpiredServesACertificateWhoseValidityEnded) {
    TlsServer s({TlsMode::k_ca_signed, "", true});
    EXPECT_EQ(verify_certificate(s.tls.server_cert, s.tls.ca_cert, "localhost"),
              X509_V_ERR_CERT_HAS_EXPIRED);
    httplib::Client client(s.server->url());
    client.set_ca_cert_path(s.tls.ca_cert.c_str());
    client.enable_server_certificate_verification(true);
    const auto r = client.Get("/x");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), httplib::Error::SSLServerVerification);
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
