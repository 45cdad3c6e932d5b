// The emulator's server certificate: by default a throwaway certificate authority and a
// certificate signed by it, so clients verify it (with the CA file) instead of turning
// verification off; or, like a fresh CycleCloud, a self-signed certificate, perhaps for
// another name, perhaps expired (docs/emulator.md, "TLS"). OpenSSL is used only in
// tls_cert.cpp.
#pragma once

#include <string>
#include <vector>

#include "util/result.h"

namespace cb::emulator {

enum class TlsMode {
    k_ca_signed,    // a CA (ca.pem, for clients) signs the server's certificate
    k_self_signed,  // the server's certificate signs itself; no CA file
};

struct TlsCertOptions {
    TlsMode mode = TlsMode::k_ca_signed;
    // The certificate's CN and only subject alternative name; empty: the listen hosts.
    std::string common_name;
    bool expired = false;  // valid from 31 days ago until 1 day ago
};

struct TlsFiles {
    std::string ca_cert;      // <dir>/ca.pem: give this to clients; empty when self-signed
    std::string server_cert;  // <dir>/server.pem
    std::string server_key;   // <dir>/server.key, mode 0600
    // The server key as libcurl's pinned public key: "sha256//" and the base64 of the SHA-256
    // of its DER SubjectPublicKeyInfo.
    std::string key_pin;
};

// Generates a fresh P-256 server key and certificate for `hosts` (IP addresses and DNS names,
// e.g. {"127.0.0.1", "::1", "localhost"}) or for options.common_name, valid from an hour ago
// for 30 days (or expired), signed by a fresh CA or by itself, and writes them into `dir`
// (which must exist), replacing files from an earlier run (a stale ca.pem is removed in the
// self-signed mode). Errors: k_io when a file cannot be written, k_internal when OpenSSL
// fails.
Result<TlsFiles> generate_tls_files(const std::string& dir, const std::vector<std::string>& hosts,
                                    const TlsCertOptions& options = {});

}  // namespace cb::emulator
