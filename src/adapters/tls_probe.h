// CycleCloud's TLS certificate as the operator needs to see it before trusting it, and why a
// TLS connection to CycleCloud failed, in words that say what to do. A fresh CycleCloud serves
// a self-signed, short-lived certificate whose name rarely matches the address used
// (docs/design/security.md, "CycleCloud's certificate"). In the product, OpenSSL (libcrypto)
// is included only by tls_probe.cpp; the handshake itself is libcurl's
// (fetch_server_certificate in cyclecloud_rest.h).
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "util/result.h"

namespace cb {

// Why a TLS connection to CycleCloud failed.
enum class TlsProblem {
    k_expired,        // the certificate's validity has ended (or not begun)
    k_name_mismatch,  // it does not name the host in the URL
    k_untrusted,      // self-signed, or signed by a CA this machine does not trust
    k_pin_mismatch,   // its key is not the one in cyclecloud.tls_pin
    k_other,          // a handshake or CA file failure: `detail` says which
};

// The problem behind a failed peer verification, from OpenSSL's verify result as libcurl
// reports it (CURLINFO_SSL_VERIFYRESULT). 0 (X509_V_OK) or 1 (X509_V_ERR_UNSPECIFIED) means
// the chain verified and libcurl's own host name check failed.
TlsProblem tls_problem_of_verify_result(long verify_result);

// The operator's message for `problem` with `url` (whose host it names), saying what to do.
// `detail` (libcurl's words) is used by k_other only. Tests assert these texts verbatim.
std::string tls_problem_message(TlsProblem problem, const std::string& url,
                                const std::string& detail);

// The facts of one certificate that let an operator decide to trust it.
struct ServerCertificate {
    std::string subject;     // OpenSSL's one-line form, "CN = cyclecloud, O = ..."
    std::string issuer;      // likewise
    std::string not_before;  // "2026-12-06 06:20:05 UTC"
    std::string not_after;
    bool self_signed = false;  // the issuer is the subject and the signature its own
    bool expired = false;      // not valid at `now` (ended, or not begun)
    // SHA-256 of the DER certificate, "AB:CD:...", as `openssl x509 -fingerprint -sha256`
    // prints it, to compare with the certificate on the CycleCloud host.
    std::string sha256_fingerprint;
    // Its public key for cyclecloud.tls_pin: "sha256//" and the base64 of the SHA-256 of the
    // DER SubjectPublicKeyInfo (libcurl's CURLOPT_PINNEDPUBLICKEY form).
    std::string key_pin;
};

// Reads one PEM certificate. Errors: k_cloud when `pem` is not a certificate.
Result<ServerCertificate> read_server_certificate(std::string_view pem,
                                                  std::chrono::system_clock::time_point now);

// The certificate the server at `url` presents, fetched without verifying it and without
// sending anything (fetch_server_certificate), then read. Errors as those two.
Result<ServerCertificate> probe_server_certificate(const std::string& url,
                                                   std::chrono::milliseconds timeout);

// Lines for the terminal: subject, issuer, validity, fingerprint and pin, each indented.
std::string describe_certificate(const ServerCertificate& certificate);

}  // namespace cb
