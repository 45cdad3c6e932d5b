#include "cli/connection_check.h"
#include "util/unique_fd.h"

#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <memory>

namespace cb::cli {

namespace {

struct AddrInfoFree {
    void operator()(addrinfo* ai) const { freeaddrinfo(ai); }
};
using AddrInfoPtr = std::unique_ptr<addrinfo, AddrInfoFree>;

// 0 when a TCP connection to `ai` succeeds within `timeout_ms`, else the errno (ETIMEDOUT
// for no answer).
int try_connect(const addrinfo& ai, int timeout_ms) {
    UniqueFd s(
        ::socket(ai.ai_family, ai.ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai.ai_protocol));
    if (s.get() < 0) {
        return errno;
    }
    if (::connect(s.get(), ai.ai_addr, ai.ai_addrlen) == 0) {
        return 0;
    }
    if (errno != EINPROGRESS) {
        return errno;
    }
    pollfd p{s.get(), POLLOUT, 0};
    const int n = ::poll(&p, 1, timeout_ms);
    if (n == 0) {
        return ETIMEDOUT;
    }
    if (n < 0) {
        return errno;
    }
    int err = 0;
    socklen_t len = sizeof err;
    if (::getsockopt(s.get(), SOL_SOCKET, SO_ERROR, &err, &len) != 0) {
        return errno;
    }
    return err;
}

bool contains(const std::string& text, const char* what) {
    return text.find(what) != std::string::npos;
}

}  // namespace

Result<ConnectionTarget> parse_connection_target(const CycleCloudOptions& options) {
    ConnectionTarget t;
    t.url = options.url;
    t.cluster = options.cluster;
    t.username = options.username;
    t.timeout_seconds =
        std::max<long>(1, static_cast<long>(options.connect_timeout.count() / 1000));
    std::string rest;
    if (options.url.rfind("https://", 0) == 0) {
        rest = options.url.substr(8);
        t.port = 443;
    } else if (options.url.rfind("http://", 0) == 0) {
        rest = options.url.substr(7);
        t.port = 80;
    } else {
        return make_error(ErrorKind::k_usage, connection_message(ConnectionProblem::k_bad_url, t));
    }
    rest = rest.substr(0, rest.find('/'));
    std::string port;
    if (!rest.empty() && rest.front() == '[') {
        const auto close = rest.find(']');
        if (close == std::string::npos) {
            return make_error(ErrorKind::k_usage,
                              connection_message(ConnectionProblem::k_bad_url, t));
        }
        t.host = rest.substr(1, close - 1);
        if (close + 1 < rest.size() && rest[close + 1] == ':') {
            port = rest.substr(close + 2);
        }
    } else {
        const auto colon = rest.find(':');
        t.host = rest.substr(0, colon);
        if (colon != std::string::npos) {
            port = rest.substr(colon + 1);
        }
    }
    if (!port.empty()) {
        const bool digits =
            port.size() <= 5 && port.find_first_not_of("0123456789") == std::string::npos;
        const int p = digits ? std::stoi(port) : 0;
        if (p < 1 || p > 65535) {
            return make_error(ErrorKind::k_usage,
                              connection_message(ConnectionProblem::k_bad_url, t));
        }
        t.port = p;
    }
    if (t.host.empty() || t.host.find('@') != std::string::npos) {
        return make_error(ErrorKind::k_usage, connection_message(ConnectionProblem::k_bad_url, t));
    }
    return t;
}

std::string connection_message(ConnectionProblem problem, const ConnectionTarget& t,
                               const std::string& detail) {
    const std::string port = std::to_string(t.port);
    switch (problem) {
        case ConnectionProblem::k_none:
            return "connected to cluster '" + t.cluster + "' at " + t.url + " as '" + t.username +
                   "'";
        case ConnectionProblem::k_bad_url:
            return "'" + t.url +
                   "' is not a CycleCloud URL: give it as https://HOST[:PORT], e.g. "
                   "https://cyclecloud.example.com";
        case ConnectionProblem::k_dns:
            return "cannot resolve the host name '" + t.host + "' of " + t.url +
                   ": check the host in the URL and this machine's DNS settings "
                   "(/etc/resolv.conf)";
        case ConnectionProblem::k_refused:
            return "connection to " + t.host + " port " + port +
                   " refused: nothing listens there; check the port in the URL and that "
                   "CycleCloud is running";
        case ConnectionProblem::k_timeout:
            return "no answer from " + t.host + " port " + port + " within " +
                   std::to_string(t.timeout_seconds) +
                   " s: check the address in the URL and that firewalls let this machine "
                   "reach CycleCloud over HTTPS";
        case ConnectionProblem::k_tls:
            if (!detail.empty()) {
                return detail;  // the client's message for the exact problem (tls_probe.h)
            }
            return "TLS verification of " + t.url +
                   " failed: its certificate is not signed by a CA this machine trusts or does "
                   "not name '" +
                   t.host + "'; give the CA certificate with --ca-bundle FILE";
        case ConnectionProblem::k_credentials:
            return "CycleCloud at " + t.url + " rejected user '" + t.username +
                   "' (HTTP 401): check the user name and password";
        case ConnectionProblem::k_unknown_cluster:
            return "CycleCloud at " + t.url + " has no cluster named '" + t.cluster +
                   "': check the name (it is case-sensitive) or import the cluster first";
        case ConnectionProblem::k_other:
            return "cannot use CycleCloud at " + t.url + ": " + detail;
    }
    return detail;
}

ConnectionDiagnosis diagnose_connection(const CycleCloudOptions& options) {
    auto target = parse_connection_target(options);
    if (!target) {
        return {ConnectionProblem::k_bad_url, target.error().message};
    }
    const ConnectionTarget& t = *target;
    auto fail = [&t](ConnectionProblem p, const std::string& detail = {}) {
        return ConnectionDiagnosis{p, connection_message(p, t, detail)};
    };

    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* raw = nullptr;
    const std::string port = std::to_string(t.port);
    const int rc = ::getaddrinfo(t.host.c_str(), port.c_str(), &hints, &raw);
    AddrInfoPtr addresses(raw);
    if (rc != 0 || !addresses) {
        return fail(ConnectionProblem::k_dns);
    }
    int last = ECONNREFUSED;
    bool connected = false;
    const int timeout_ms = static_cast<int>(t.timeout_seconds * 1000);
    for (const addrinfo* ai = addresses.get(); ai != nullptr && !connected; ai = ai->ai_next) {
        last = try_connect(*ai, timeout_ms);
        connected = last == 0;
    }
    if (!connected) {
        return fail(last == ECONNREFUSED ? ConnectionProblem::k_refused
                                         : ConnectionProblem::k_timeout);
    }

    CycleCloudOptions once = options;
    once.max_attempts = 1;
    CycleCloudRest cloud(once);
    auto arrays = cloud.node_arrays();
    if (arrays) {
        return {ConnectionProblem::k_none, connection_message(ConnectionProblem::k_none, t)};
    }
    // The client's error kinds say "permanent" for TLS and credentials alike; its messages
    // tell them apart (see CycleCloudRest's transport_error and http_error).
    const Error& e = arrays.error();
    if (e.kind == ErrorKind::k_not_found) {
        return fail(ConnectionProblem::k_unknown_cluster);
    }
    if (contains(e.message, "rejected the credentials")) {
        return fail(ConnectionProblem::k_credentials);
    }
    if (contains(e.message, "TLS verification") || contains(e.message, "'s TLS ")) {
        return fail(ConnectionProblem::k_tls, e.message);
    }
    if (contains(e.message, "cannot resolve")) {
        return fail(ConnectionProblem::k_dns);
    }
    if (contains(e.message, "cannot connect")) {
        return fail(ConnectionProblem::k_refused);
    }
    return fail(ConnectionProblem::k_other, e.describe());
}

}  // namespace cb::cli
