// CycleCloudRest: the Cloud port over CycleCloud's REST API (libcurl; the only file that
// includes curl or parses CycleCloud's JSON is cyclecloud_rest.cpp).
//
// * HTTP Basic auth; the password is handed to libcurl directly, never put in a URL, a log
//   line, an error message or argv.
// * TLS verification is on by default: the chain against `ca_bundle` (or the system's CAs),
//   the host name and the dates. With `tls_pin` the server's public key is checked instead
//   (libcurl's CURLOPT_PINNEDPUBLICKEY, before any byte is sent): the key is the trust
//   anchor, so the chain, the name and the dates are not checked. Turning verification off
//   (verify_tls = false, no pin) logs a warning every time a client is made. A TLS failure's
//   message says which of these failed and what to do (translate_curl_error).
// * Calls may come from several threads: up to `max_connections` run at once, each on a
//   connection of its own, kept open for the next call (the daemon sends the create calls
//   of a pass's node arrays together). Pacing, retries' jitter and the counts are shared.
// * Transient failures (connect errors, timeouts, 5xx, malformed bodies) are retried with
//   jittered exponential backoff; 429 waits for Retry-After. After `max_attempts` the last
//   error is returned with its kind: k_throttled, k_transient, k_permanent (401/403, unknown
//   cluster, TLS failure), k_not_found, k_cloud (other 4xx).
// * Node and node array records are screened (core/cloud_input.h) before they are returned:
//   one Slurm could not take is dropped, and a warning logged once.
// * Answers are untrusted: a body larger than `max_response_bytes` is refused while it arrives
//   (k_transient, not retried), and every answer is read with a depth limit
//   (k_max_answer_depth), so no code walks deeper nesting than that.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "ports/cloud.h"

namespace cb {

struct CycleCloudOptions {
    std::string url;  // "https://cyclecloud.example.com[:port]", no trailing path
    std::string cluster;
    std::string username;
    std::string password;
    std::string ca_bundle;  // empty: the system's CA store
    bool verify_tls = true;
    std::string tls_pin;  // "sha256//BASE64[;...]": trust this key instead; empty: the CA
    std::chrono::milliseconds connect_timeout{5000};
    std::chrono::milliseconds request_timeout{30000};
    int max_attempts = 4;
    // Calls in flight at once (cyclecloud.max_connections), each on its own connection.
    int max_connections = 4;
    std::chrono::milliseconds backoff_initial{250};
    std::chrono::milliseconds backoff_max{5000};
    std::chrono::milliseconds retry_after_max{60000};  // cap on a server's Retry-After
    // The largest answer body taken (cyclecloud.max_response_mb): a Content-Length above it is
    // refused before any of the body is read, a body that grows past it is cut off.
    std::size_t max_response_bytes = std::size_t{128} << 20;
    // Our own pacing, shaped like Azure Resource Manager's per-subscription token buckets:
    // {burst, refill per second} for reads (GET) and for writes and deletes (POST).
    std::pair<double, double> read_bucket{250, 25};
    std::pair<double, double> write_bucket{200, 10};
    // Injected so tests do not sleep; defaults to std::this_thread::sleep_for.
    std::function<void(std::chrono::milliseconds)> sleep;
    // Readable once the program is stopping (the daemon's signalfd; never read here), or -1:
    // then a request in flight is cut off, a wait for pacing or for a retry ends at once, and
    // the call returns its last error (k_transient) instead of trying again.
    int stop_fd = -1;
};

// Counts of what the client did, for `cloudburst status` and the benchmarks.
struct CloudCallStats {
    long requests = 0;  // HTTP requests sent, retries included
    long retries = 0;
    long throttled = 0;
    long paced = 0;  // requests we held back to stay inside the token buckets
};

class CycleCloudRest final : public Cloud {
  public:
    explicit CycleCloudRest(CycleCloudOptions options);
    ~CycleCloudRest() override;
    CycleCloudRest(const CycleCloudRest&) = delete;
    CycleCloudRest& operator=(const CycleCloudRest&) = delete;

    Result<std::vector<NodeArray>> node_arrays() override;
    Result<std::vector<CloudNode>> nodes() override;
    Result<CreateResult> create_nodes(const std::vector<CreateRequest>& requests,
                                      const std::string& request_id) override;
    Result<ManagementResult> start_nodes(const std::vector<std::string>& names) override;
    Result<ManagementResult> shutdown_nodes(const std::vector<std::string>& names,
                                            ShutdownMode mode) override;
    Result<std::vector<CloudNode>> operation_nodes(const std::string& operation_id) override;
    int max_concurrent_calls() const override;

    // The cluster's own MaxCount and MaxCoreCount, for `cloudburst limits`.
    Result<ClusterLimits> cluster_limits();

    // GET status, for `cloudburst init` and `doctor`: checks URL, TLS, credentials, cluster.
    Status check_connection();

    CloudCallStats stats() const;

  private:
    struct Impl;
    template <typename Record>
    Result<std::vector<Record>> screened(Result<std::vector<Record>> records);
    std::unique_ptr<Impl> m_impl;
};

// The certificate the server at `url` (https://) presents, as PEM, read during a TLS
// handshake without verifying it; nothing is sent after the handshake: no HTTP request, no
// credentials. For `cloudburst init`, to show an unverified certificate (adapters/tls_probe.h).
// Errors: k_usage for a URL that is not https://, k_transient when the server cannot be
// reached or the handshake fails, k_cloud when it presents no certificate.
Result<std::string> fetch_server_certificate(const std::string& url,
                                             std::chrono::milliseconds timeout);

// The deepest nesting of objects and lists taken in an answer from CycleCloud. Its own answers
// nest five levels at most (a node array's Configuration); a deeper one is malformed. Every
// reader of an answer stops at this depth, so whatever walks a parsed answer (by recursion
// or not) never goes deeper.
constexpr int k_max_answer_depth = 128;

// The longest wait a Retry-After header can ask for; a larger value counts as this.
constexpr std::chrono::seconds k_retry_after_ceiling{3600};

// Exposed for tests and fuzzing: JSON text -> records. Errors are k_transient ("malformed
// response from CycleCloud: ..."): "<what> is not a JSON object: '<excerpt>'", "<what> is
// nested deeper than 128 levels", or a missing or wrong part.
Result<std::vector<NodeArray>> parse_cluster_status(const std::string& body);
Result<std::vector<CloudNode>> parse_node_list(const std::string& body);
Result<ClusterLimits> parse_cluster_limits(const std::string& body);
// The answer to POST nodes/create; `sets` is resized to `request_count` (one per request).
Result<CreateResult> parse_create_result(const std::string& body, std::size_t request_count);
// The answer to POST nodes/<action> (start, shutdown, terminate, deallocate).
Result<ManagementResult> parse_management_result(const std::string& body,
                                                 const std::string& action);
VmStatus parse_vm_status(const std::string& text);

// A Retry-After header's value: delta-seconds or an HTTP-date (taken relative to `now`; a
// date in the past is 0 s). At most k_retry_after_ceiling, however large the number;
// std::nullopt for anything else (a negative number, garbage).
std::optional<std::chrono::seconds> parse_retry_after(std::string_view value,
                                                      std::chrono::system_clock::time_point now);

// For the adapter's parsers: a printable excerpt of at most 200 bytes of a response body, the
// k_transient "malformed response from CycleCloud: <what>" error, and that error for an
// answer nested deeper than k_max_answer_depth ("<what> is nested deeper than 128 levels").
std::string excerpt(std::string_view body);
Error malformed(const std::string& what);
Error nested_too_deep(const std::string& what);

}  // namespace cb
