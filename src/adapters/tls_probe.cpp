#include "adapters/tls_probe.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <ctime>
#include <memory>

#include "adapters/cyclecloud_rest.h"
#include "core/config.h"

namespace cb {

namespace {

constexpr const char* k_ssl_how_to =
    "https://learn.microsoft.com/azure/cyclecloud/how-to/ssl-configuration";

template <typename T, void (*Free)(T*)>
struct Deleter {
    void operator()(T* p) const { Free(p); }
};
using X509Ptr = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;

std::string one_line_name(const X509_NAME* name) {
    BioPtr bio(BIO_new(BIO_s_mem()));
    if (!bio ||
        X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_ONELINE & ~ASN1_STRFLGS_ESC_MSB) < 0) {
        return "(unreadable)";
    }
    char* data = nullptr;
    const long size = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(size));
}

std::string utc_text(const ASN1_TIME* time) {
    std::tm tm{};
    if (ASN1_TIME_to_tm(time, &tm) != 1) {
        return "(unreadable)";
    }
    char buffer[32];
    std::strftime(buffer, sizeof buffer, "%Y-%m-%d %H:%M:%S UTC", &tm);
    return buffer;
}

std::string hex_colons(const unsigned char* bytes, unsigned int size) {
    constexpr const char* k_hex = "0123456789ABCDEF";
    std::string out;
    for (unsigned int i = 0; i < size; ++i) {
        out += i == 0 ? "" : ":";
        out += k_hex[bytes[i] >> 4];
        out += k_hex[bytes[i] & 15];
    }
    return out;
}

// "sha256//" + base64(SHA-256(DER SubjectPublicKeyInfo)): what libcurl compares with a pin.
std::string key_pin(X509* cert) {
    unsigned char* der = nullptr;
    const int size = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &der);
    if (size <= 0) {
        return "";
    }
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int digest_size = 0;
    const int hashed = EVP_Digest(der, static_cast<std::size_t>(size), digest, &digest_size,
                                  EVP_sha256(), nullptr);
    OPENSSL_free(der);
    if (hashed != 1) {
        return "";
    }
    unsigned char base64[4 * ((EVP_MAX_MD_SIZE + 2) / 3) + 1];
    const int length = EVP_EncodeBlock(base64, digest, static_cast<int>(digest_size));
    return "sha256//" +
           std::string(reinterpret_cast<const char*>(base64), static_cast<std::size_t>(length));
}

}  // namespace

TlsProblem tls_problem_of_verify_result(long verify_result) {
    switch (verify_result) {
        case X509_V_OK:
        case X509_V_ERR_UNSPECIFIED:
            // The chain verified, so libcurl's own host name check refused it: libcurl 7.88
            // then reports X509_V_ERR_UNSPECIFIED (measured against --tls-cn other-host).
        case X509_V_ERR_HOSTNAME_MISMATCH:
        case X509_V_ERR_IP_ADDRESS_MISMATCH:
            return TlsProblem::k_name_mismatch;
        case X509_V_ERR_CERT_HAS_EXPIRED:
        case X509_V_ERR_CERT_NOT_YET_VALID:
            return TlsProblem::k_expired;
        case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
        case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
        case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
        case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
        case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
        case X509_V_ERR_CERT_UNTRUSTED:
            return TlsProblem::k_untrusted;
        default:
            return TlsProblem::k_other;
    }
}

std::string tls_problem_message(TlsProblem problem, const std::string& url,
                                const std::string& detail) {
    const std::string pin_it =
        "trust this server's key with `cloudburst init --tls-pin` (init shows its fingerprint "
        "and key)";
    const std::string install =
        std::string("install a CA-signed certificate in CycleCloud (") + k_ssl_how_to + ")";
    switch (problem) {
        case TlsProblem::k_expired:
            return "CycleCloud's TLS certificate at " + url +
                   " has expired (or is not valid yet): " + install + ", or " + pin_it;
        case TlsProblem::k_name_mismatch: {
            const std::string host = url_host(url);
            return "CycleCloud's TLS certificate at " + url + " does not name '" + host +
                   "': set cyclecloud.url to a name the certificate holds, " + install + " for '" +
                   host + "', or " + pin_it;
        }
        case TlsProblem::k_untrusted:
            return "CycleCloud's TLS certificate at " + url +
                   " is self-signed or signed by a CA this machine does not trust (a fresh "
                   "CycleCloud serves a self-signed one): " +
                   pin_it + ", give its CA certificate in cyclecloud.ca_bundle, or " + install;
        case TlsProblem::k_pin_mismatch:
            return "CycleCloud's TLS key at " + url +
                   " is not the one in cyclecloud.tls_pin, so nothing was sent: its certificate "
                   "was replaced, or something between here and CycleCloud poses as it. If the "
                   "certificate was replaced, compare the new fingerprint `cloudburst init` shows "
                   "with the certificate on the CycleCloud host, then pin it with `cloudburst "
                   "init --tls-pin sha256//...`";
        case TlsProblem::k_other:
            break;
    }
    return "TLS verification of " + url + " failed: " + detail +
           " (give the server's CA certificate in cyclecloud.ca_bundle)";
}

Result<ServerCertificate> read_server_certificate(std::string_view pem,
                                                  std::chrono::system_clock::time_point now) {
    BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    X509Ptr cert(bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr);
    if (!cert) {
        return make_error(ErrorKind::k_cloud, "the server's TLS certificate cannot be read");
    }
    ServerCertificate out;
    out.subject = one_line_name(X509_get_subject_name(cert.get()));
    out.issuer = one_line_name(X509_get_issuer_name(cert.get()));
    out.not_before = utc_text(X509_get0_notBefore(cert.get()));
    out.not_after = utc_text(X509_get0_notAfter(cert.get()));
    out.self_signed = X509_self_signed(cert.get(), 1) == 1;
    std::time_t at = std::chrono::system_clock::to_time_t(now);
    out.expired = X509_cmp_time(X509_get0_notAfter(cert.get()), &at) < 0 ||
                  X509_cmp_time(X509_get0_notBefore(cert.get()), &at) > 0;
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int digest_size = 0;
    if (X509_digest(cert.get(), EVP_sha256(), digest, &digest_size) != 1) {
        return make_error(ErrorKind::k_cloud, "the server's TLS certificate cannot be hashed");
    }
    out.sha256_fingerprint = hex_colons(digest, digest_size);
    out.key_pin = key_pin(cert.get());
    if (out.key_pin.empty()) {
        return make_error(ErrorKind::k_cloud, "the server's TLS key cannot be read");
    }
    return out;
}

Result<ServerCertificate> probe_server_certificate(const std::string& url,
                                                   std::chrono::milliseconds timeout) {
    auto pem = fetch_server_certificate(url, timeout);
    if (!pem) {
        return std::move(pem).error();
    }
    return read_server_certificate(*pem, std::chrono::system_clock::now());
}

std::string describe_certificate(const ServerCertificate& c) {
    return "  subject  " + c.subject + "\n  issuer   " +
           (c.self_signed ? "itself (self-signed)" : c.issuer) + "\n  valid    " + c.not_before +
           " to " + c.not_after + (c.expired ? " (EXPIRED)" : "") + "\n  SHA-256  " +
           c.sha256_fingerprint + "\n  key pin  " + c.key_pin + "\n";
}

}  // namespace cb
