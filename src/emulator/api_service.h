// The CycleCloud REST API (reference/cyclecloud-rest-api.md) over a ClusterModel, plus the
// emulator's own control endpoints, as a function from HttpRequest to HttpResponse. JSON is
// parsed and written here (nlohmann/json stays in the .cpp); the socket side is HttpServer.
//
// Every request needs HTTP Basic credentials (401 otherwise; 403 for a user without rights on
// the cluster). Status codes: 400 for a query that cannot be read, 404 for an unknown
// cluster, node array, operation or path, 405 for a known path with the wrong method, 409 for
// invalid input to create, scale and the node calls (as the reference documents) and for a
// repeated requestId, 503/429 when an HTTP fault says so.
//
// Control endpoints (not subject to HTTP faults):
//   GET  /_emulator/status   API calls per endpoint, responses per status, faults injected
//                            by class, nodes by status, API answers per endpoint (count,
//                            bytes, the latency-per-mb delay they got)
//   GET  /_emulator/faults   the fault settings in force
//   POST /_emulator/faults   ["KIND=VALUE", ...] or {"KIND": VALUE, ...}: applied in the order
//                            written (a setting holds for the one-shot faults after it), all
//                            or none (400) if one is invalid or finds no node
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "emulator/credentials.h"
#include "emulator/faults.h"
#include "emulator/http_message.h"
#include "emulator/model_runner.h"

namespace cb::emulator {

struct ApiOptions {
    std::string backend = "none";  // reported by /_emulator/status
    std::uint64_t seed = 1;        // for the HTTP fault draws
    FaultSettings faults;          // in force from the start (also given to the model)
    // Users who authenticate but have no rights on the cluster: 403 on every API call.
    std::vector<std::string> users_without_rights;
};

class ApiService {
  public:
    ApiService(ModelRunner& runner, Credentials credentials, ApiOptions options);
    ~ApiService();
    ApiService(const ApiService&) = delete;
    ApiService& operator=(const ApiService&) = delete;

    // Thread-safe; may block for injected latency or hangs.
    HttpResponse handle(const HttpRequest& request);

    // The URL clients use ("https://127.0.0.1:8443"), for Location headers and the status.
    void set_base_url(std::string url);
    // Ends every injected wait now and answers those requests with 503 (for shutdown).
    void release_waiters();

    // Applies "KIND=VALUE" specs to the HTTP injector and the model, in order, all or none.
    // Returns the names of the nodes one-shot faults changed (evict, ready-fail, ...).
    // k_usage errors for a bad spec, k_not_found for a one-shot fault that finds no node.
    Result<std::vector<std::string>> apply_faults(const std::vector<std::string>& specs);

  private:
    struct Impl;
    std::unique_ptr<Impl> m_impl;
};

// The body of POST /_emulator/faults for these "KIND=VALUE" specs.
std::string fault_request_body(const std::vector<std::string>& specs);

}  // namespace cb::emulator
