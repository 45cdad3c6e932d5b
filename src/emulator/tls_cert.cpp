#include "emulator/tls_cert.h"

#include <arpa/inet.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <filesystem>
#include <memory>
#include <tuple>

#include <fmt/format.h>

#include "util/files.h"

namespace cb::emulator {

namespace {

template <typename T, void (*Free)(T*)>
struct Deleter {
    void operator()(T* p) const { Free(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;
using BnPtr = std::unique_ptr<BIGNUM, Deleter<BIGNUM, BN_free>>;
using ExtPtr = std::unique_ptr<X509_EXTENSION, Deleter<X509_EXTENSION, X509_EXTENSION_free>>;

// OpenSSL's error queue as one message (and cleared).
Error openssl_error(const std::string& what) {
    std::string detail;
    for (unsigned long e = ERR_get_error(); e != 0; e = ERR_get_error()) {
        char buffer[256];
        ERR_error_string_n(e, buffer, sizeof buffer);
        detail += detail.empty() ? "" : "; ";
        detail += buffer;
    }
    return make_error(ErrorKind::k_internal,
                      fmt::format("{}: {}", what, detail.empty() ? "OpenSSL failed" : detail));
}

Result<PkeyPtr> new_key() {
    PkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
    if (!key) {
        return openssl_error("generating a P-256 key");
    }
    return key;
}

Status add_extension(X509* cert, X509* issuer, int nid, const std::string& value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
    ExtPtr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()));
    if (!ext || X509_add_ext(cert, ext.get(), -1) != 1) {
        return openssl_error(fmt::format("adding the certificate extension '{}'", value));
    }
    return ok_status();
}

struct CertSpec {
    std::string common_name;
    bool ca = false;
    std::string subject_alt_names;  // "IP:127.0.0.1,DNS:localhost"
    bool expired = false;
};

constexpr long k_day = 24L * 3600;

// A certificate for `key`, signed by `issuer_key` as `issuer` (self-signed when null).
Result<X509Ptr> new_certificate(const CertSpec& spec, EVP_PKEY* key, X509* issuer,
                                EVP_PKEY* issuer_key) {
    X509Ptr cert(X509_new());
    BnPtr serial(BN_new());
    if (!cert || !serial || X509_set_version(cert.get(), 2) != 1 ||
        BN_rand(serial.get(), 63, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1 ||
        BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get())) == nullptr ||
        X509_gmtime_adj(X509_getm_notBefore(cert.get()), spec.expired ? -31 * k_day : -3600) ==
            nullptr ||
        X509_gmtime_adj(X509_getm_notAfter(cert.get()), spec.expired ? -k_day : 30 * k_day) ==
            nullptr ||
        X509_set_pubkey(cert.get(), key) != 1) {
        return openssl_error("creating a certificate");
    }
    X509_NAME* name = X509_get_subject_name(cert.get());
    const auto* cn = reinterpret_cast<const unsigned char*>(spec.common_name.c_str());
    const auto* org = reinterpret_cast<const unsigned char*>("cloudburst cyclecloud-emulator");
    if (X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, org, -1, -1, 0) != 1 ||
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, cn, -1, -1, 0) != 1 ||
        X509_set_issuer_name(cert.get(),
                             issuer != nullptr ? X509_get_subject_name(issuer) : name) != 1) {
        return openssl_error("naming a certificate");
    }
    X509* signer = issuer != nullptr ? issuer : cert.get();
    std::vector<std::pair<int, std::string>> extensions;
    if (spec.ca) {
        extensions = {{NID_basic_constraints, "critical,CA:TRUE,pathlen:0"},
                      {NID_key_usage, "critical,keyCertSign,cRLSign"},
                      {NID_subject_key_identifier, "hash"}};
    } else {
        extensions = {{NID_basic_constraints, "critical,CA:FALSE"},
                      {NID_key_usage, "critical,digitalSignature,keyEncipherment"},
                      {NID_ext_key_usage, "serverAuth"},
                      {NID_subject_key_identifier, "hash"},
                      {NID_authority_key_identifier, "keyid:always"},
                      {NID_subject_alt_name, spec.subject_alt_names}};
    }
    for (const auto& [nid, value] : extensions) {
        if (Status st = add_extension(cert.get(), signer, nid, value); !st) {
            return std::move(st).error();
        }
    }
    if (X509_sign(cert.get(), issuer_key != nullptr ? issuer_key : key, EVP_sha256()) == 0) {
        return openssl_error("signing a certificate");
    }
    return cert;
}

template <typename Write>
Result<std::string> to_pem(Write write) {
    BioPtr bio(BIO_new(BIO_s_mem()));
    if (!bio || write(bio.get()) != 1) {
        return openssl_error("writing PEM");
    }
    char* data = nullptr;
    const long size = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(size));
}

// libcurl's form of a pinned public key: "sha256//" + base64(SHA-256(DER SubjectPublicKeyInfo)).
Result<std::string> key_pin(EVP_PKEY* key) {
    unsigned char* der = nullptr;
    const int size = i2d_PUBKEY(key, &der);
    if (size <= 0) {
        return openssl_error("encoding the public key");
    }
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int digest_size = 0;
    const int hashed = EVP_Digest(der, static_cast<std::size_t>(size), digest, &digest_size,
                                  EVP_sha256(), nullptr);
    OPENSSL_free(der);
    if (hashed != 1) {
        return openssl_error("hashing the public key");
    }
    unsigned char base64[4 * ((EVP_MAX_MD_SIZE + 2) / 3) + 1];
    const int length = EVP_EncodeBlock(base64, digest, static_cast<int>(digest_size));
    return "sha256//" +
           std::string(reinterpret_cast<const char*>(base64), static_cast<std::size_t>(length));
}

std::string subject_alt_names(const std::vector<std::string>& hosts) {
    std::string out;
    for (const auto& host : hosts) {
        in6_addr v6{};
        in_addr v4{};
        const bool ip = inet_pton(AF_INET, host.c_str(), &v4) == 1 ||
                        inet_pton(AF_INET6, host.c_str(), &v6) == 1;
        out += out.empty() ? "" : ",";
        out += (ip ? "IP:" : "DNS:") + host;
    }
    return out;
}

}  // namespace

Result<TlsFiles> generate_tls_files(const std::string& dir, const std::vector<std::string>& hosts,
                                    const TlsCertOptions& options) {
    const bool self_signed = options.mode == TlsMode::k_self_signed;
    auto server_key = new_key();
    if (!server_key) {
        return std::move(server_key).error();
    }
    PkeyPtr ca_key;
    X509Ptr ca;
    if (!self_signed) {
        auto key = new_key();
        if (!key) {
            return std::move(key).error();
        }
        auto cert = new_certificate({"cyclecloud-emulator CA", true, "", false}, key->get(),
                                    nullptr, nullptr);
        if (!cert) {
            return std::move(cert).error();
        }
        ca_key = std::move(*key);
        ca = std::move(*cert);
    }
    // A name given with --tls-cn is the certificate's only name, as on a CycleCloud whose
    // certificate was made for another host name than the one clients use.
    const std::vector<std::string> names =
        options.common_name.empty() ? hosts : std::vector<std::string>{options.common_name};
    auto server = new_certificate({names.empty() ? "localhost" : names.front(), false,
                                   subject_alt_names(names), options.expired},
                                  server_key->get(), ca.get(), ca_key.get());
    if (!server) {
        return std::move(server).error();
    }
    auto pin = key_pin(server_key->get());
    if (!pin) {
        return std::move(pin).error();
    }
    auto server_pem = to_pem([&](BIO* b) { return PEM_write_bio_X509(b, server->get()); });
    auto key_pem = to_pem([&](BIO* b) {
        return PEM_write_bio_PrivateKey(b, server_key->get(), nullptr, nullptr, 0, nullptr,
                                        nullptr);
    });
    auto ca_pem = self_signed ? Result<std::string>(std::string())
                              : to_pem([&](BIO* b) { return PEM_write_bio_X509(b, ca.get()); });
    for (const auto* pem : {&ca_pem, &server_pem, &key_pem}) {
        if (!*pem) {
            return pem->error();
        }
    }
    TlsFiles files{self_signed ? "" : dir + "/ca.pem", dir + "/server.pem", dir + "/server.key",
                   *pin};
    std::vector<std::tuple<std::string, std::string, int>> writes{
        {files.server_cert, *server_pem, 0644}, {files.server_key, *key_pem, 0600}};
    if (self_signed) {
        // A CA file left by an earlier run would vouch for nothing; clients must not find one.
        std::error_code ignored;
        std::filesystem::remove(dir + "/ca.pem", ignored);
    } else {
        writes.emplace_back(files.ca_cert, *ca_pem, 0644);
    }
    for (const auto& [path, content, mode] : writes) {
        if (Status st = write_file_atomic(path, content, static_cast<mode_t>(mode)); !st) {
            return std::move(st).error().with_context("writing the emulator's TLS files");
        }
    }
    return files;
}

}  // namespace cb::emulator
