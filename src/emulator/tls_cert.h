// A throwaway certificate authority and a server certificate signed by it, so the emulator
// can serve HTTPS that clients verify (with the CA file) instead of turning verification off.
// OpenSSL is used only in tls_cert.cpp.
#pragma once

#include <string>
#include <vector>

#include "util/result.h"

namespace cb::emulator {

struct TlsFiles {
    std::string ca_cert;      // <dir>/ca.pem: give this to clients
    std::string server_cert;  // <dir>/server.pem
    std::string server_key;   // <dir>/server.key, mode 0600
};

// Generates a fresh P-256 CA and a server certificate for `hosts` (IP addresses and DNS
// names, e.g. {"127.0.0.1", "::1", "localhost"}), valid from an hour ago for 30 days, and
// writes them into `dir` (which must exist), replacing files from an earlier run.
// Errors: k_io when a file cannot be written, k_internal when OpenSSL fails.
Result<TlsFiles> generate_tls_files(const std::string& dir, const std::vector<std::string>& hosts);

}  // namespace cb::emulator
