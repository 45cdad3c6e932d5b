// Why cloudburst cannot use CycleCloud, step by step: the URL, DNS, a TCP connection, TLS,
// the credentials, the cluster. Shared by `cloudburst init` and `cloudburst doctor`. The
// messages are part of the interface (tests assert them verbatim) and each says what to do.
#pragma once

#include <string>

#include "adapters/cyclecloud_rest.h"
#include "util/result.h"

namespace cb::cli {

enum class ConnectionProblem {
    k_none,
    k_bad_url,
    k_dns,              // the host name does not resolve
    k_refused,          // nothing listens on the port
    k_timeout,          // no TCP answer in time (firewall, wrong address)
    k_tls,              // the certificate is not trusted or does not name the host
    k_credentials,      // HTTP 401/403
    k_unknown_cluster,  // HTTP 404 for the cluster
    k_other,
};

struct ConnectionTarget {
    std::string url;
    std::string host;
    int port = 443;
    std::string cluster;
    std::string username;
    long timeout_seconds = 10;
};

struct ConnectionDiagnosis {
    ConnectionProblem problem = ConnectionProblem::k_none;
    std::string message;
    bool ok() const { return problem == ConnectionProblem::k_none; }
};

// "https://host[:port][/...]" -> host and port (default 443, or 80 for http). Errors: k_usage
// with the k_bad_url message.
Result<ConnectionTarget> parse_connection_target(const CycleCloudOptions& options);

// The message for `problem` (`detail`: the underlying error, used by k_other, and by k_tls,
// whose message is the client's own when given: it names the exact TLS problem).
std::string connection_message(ConnectionProblem problem, const ConnectionTarget& target,
                               const std::string& detail = {});

// Tries the URL step by step (resolve, connect, then one authenticated GET of the cluster's
// status with no retries) and names the first step that fails.
ConnectionDiagnosis diagnose_connection(const CycleCloudOptions& options);

}  // namespace cb::cli
