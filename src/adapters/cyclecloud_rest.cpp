#include "adapters/cyclecloud_rest.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <thread>
#include <type_traits>

#include "adapters/cyclecloud_node_list.h"
#include "core/cloud_input.h"
#include "util/log.h"
#include "util/token_bucket.h"

namespace cb {

using json = nlohmann::json;

namespace {

std::once_flag g_curl_init;

struct HttpResponse {
    long status = 0;
    std::string body;
    std::optional<long> retry_after_seconds;
};

size_t write_body(char* data, size_t size, size_t n, void* user) {
    static_cast<std::string*>(user)->append(data, size * n);
    return size * n;
}

size_t read_header(char* data, size_t size, size_t n, void* user) {
    auto* resp = static_cast<HttpResponse*>(user);
    std::string line(data, size * n);
    std::string lower = line;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (lower.rfind("content-length:", 0) == 0) {
        // Room for the whole body at once: a 10,000-node list is 12 MB, and growing a string
        // to it by doubling holds up to twice that while it copies.
        constexpr long long k_max_reserve = 256LL << 20;
        const long long length = std::strtoll(line.c_str() + 15, nullptr, 10);
        if (length > 0 && length <= k_max_reserve) {
            resp->body.reserve(static_cast<std::size_t>(length));
        }
    } else if (lower.rfind("retry-after:", 0) == 0) {
        try {
            resp->retry_after_seconds = std::stol(line.substr(12));
        } catch (const std::exception&) {
            // An HTTP-date form: treat as "soon"; our own backoff applies.
        }
    }
    return size * n;
}

std::string url_escape(const std::string& s) {
    std::string out;
    for (unsigned char c : s) {
        if (std::isalnum(c) != 0 || c == '-' || c == '_' || c == '.' || c == '~') {
            out += static_cast<char>(c);
        } else {
            constexpr const char* k_hex = "0123456789ABCDEF";
            out += '%';
            out += k_hex[c >> 4];
            out += k_hex[c & 15];
        }
    }
    return out;
}

std::string str(const json& j, const char* key) {
    const auto it = j.find(key);
    if (it == j.end() || it->is_null()) {
        return {};
    }
    if (it->is_string()) {
        return it->get<std::string>();
    }
    return it->dump();
}

template <typename T>
T num(const json& j, const char* key, T fallback) {
    const auto it = j.find(key);
    if (it == j.end() || !it->is_number()) {
        return fallback;
    }
    return it->get<T>();
}

bool boolean(const json& j, const char* key) {
    const auto it = j.find(key);
    if (it == j.end()) {
        return false;
    }
    if (it->is_boolean()) {
        return it->get<bool>();
    }
    return it->is_string() &&
           (it->get<std::string>() == "true" || it->get<std::string>() == "True");
}

void flatten(const json& j, const std::string& prefix, std::map<std::string, std::string>& out) {
    if (j.is_object()) {
        for (auto it = j.begin(); it != j.end(); ++it) {
            flatten(it.value(), prefix.empty() ? it.key() : prefix + "." + it.key(), out);
        }
    } else if (j.is_string()) {
        out[prefix] = j.get<std::string>();
    } else {
        out[prefix] = j.dump();
    }
}

CloudNode node_from_json(const json& n) {
    CloudNode node;
    node.name = str(n, "Name");
    node.node_id = str(n, "NodeId");
    node.nodearray = str(n, "Template");
    node.machine_type = str(n, "MachineType");
    node.status_text = str(n, "Status");
    node.status = parse_vm_status(node.status_text);
    node.target_state = str(n, "TargetState");
    node.private_ip = str(n, "PrivateIp");
    node.hostname = str(n, "Hostname");
    node.instance_id = str(n, "InstanceId");
    node.status_message = str(n, "StatusMessage");
    node.keep_alive = boolean(n, "KeepAlive");
    return node;
}

json parse_json(const std::string& body) {
    return json::parse(body, nullptr, false);
}

}  // namespace

// A printable, bounded excerpt of a response body for error messages.
std::string excerpt(std::string_view body) {
    std::string out;
    for (char c : body.substr(0, 200)) {
        out += (std::isprint(static_cast<unsigned char>(c)) != 0) ? c : ' ';
    }
    if (body.size() > 200) {
        out += "...";
    }
    return out;
}

Error malformed(const std::string& what) {
    return make_error(ErrorKind::k_transient, "malformed response from CycleCloud: " + what);
}

VmStatus parse_vm_status(const std::string& text) {
    static const std::map<std::string, VmStatus> k_table{
        {"Off", VmStatus::k_off},
        {"Acquiring", VmStatus::k_acquiring},
        {"Preparing", VmStatus::k_preparing},
        {"Ready", VmStatus::k_ready},
        {"Started", VmStatus::k_ready},
        {"Failed", VmStatus::k_failed},
        {"Terminating", VmStatus::k_terminating},
        {"Deallocating", VmStatus::k_deallocating},
        {"Deallocated", VmStatus::k_deallocated},
    };
    const auto it = k_table.find(text);
    return it == k_table.end() ? VmStatus::k_unknown : it->second;
}

Result<std::vector<NodeArray>> parse_cluster_status(const std::string& body) {
    const json j = parse_json(body);
    if (j.is_discarded() || !j.is_object()) {
        return malformed("cluster status is not a JSON object: '" + excerpt(body) + "'");
    }
    const auto arrays = j.find("nodearrays");
    if (arrays == j.end() || !arrays->is_array()) {
        return malformed("cluster status has no 'nodearrays' list");
    }
    std::vector<NodeArray> out;
    try {
        for (const auto& a : *arrays) {
            NodeArray na;
            na.name = str(a, "name");
            na.max_count = num<int>(a, "maxCount", 0);
            na.max_core_count = num<int>(a, "maxCoreCount", 0);
            if (const auto rec = a.find("nodearray"); rec != a.end() && rec->is_object()) {
                na.region = str(*rec, "Region");
                const auto mt = rec->find("MachineType");
                if (mt != rec->end()) {
                    na.machine_type = mt->is_array() && !mt->empty() && (*mt)[0].is_string()
                                          ? (*mt)[0].get<std::string>()
                                          : str(*rec, "MachineType");
                }
                na.interruptible = boolean(*rec, "Interruptible");
                if (const auto cfg = rec->find("Configuration"); cfg != rec->end()) {
                    flatten(*cfg, "", na.configuration);
                }
            }
            if (const auto buckets = a.find("buckets"); buckets != a.end() && buckets->is_array()) {
                for (const auto& b : *buckets) {
                    Bucket bk;
                    if (const auto def = b.find("definition"); def != b.end() && def->is_object()) {
                        bk.machine_type = str(*def, "machineType");
                    }
                    bk.valid = !b.contains("valid") || boolean(b, "valid");
                    bk.invalid_reason = str(b, "invalidReason");
                    if (const auto vm = b.find("virtualMachine");
                        vm != b.end() && vm->is_object()) {
                        bk.vcpu_count = num<int>(*vm, "vcpuCount", 0);
                        bk.pcpu_count = num<int>(*vm, "pcpuCount", bk.vcpu_count);
                        bk.gpu_count = num<int>(*vm, "gpuCount", 0);
                        bk.memory_gb = num<double>(*vm, "memory", 0);
                    }
                    bk.max_count = num<int>(b, "maxCount", 0);
                    bk.active_count = num<int>(b, "activeCount", 0);
                    bk.available_count = num<int>(b, "availableCount", 0);
                    bk.max_placement_group_size = num<int>(b, "maxPlacementGroupSize", 0);
                    bk.last_capacity_failure_seconds = num<double>(b, "lastCapacityFailure", -1);
                    na.buckets.push_back(std::move(bk));
                }
            }
            if (na.name.empty()) {
                return malformed("a node array has no name");
            }
            // A multi-select MachineType ("A, B") names several sizes: new nodes take the
            // first valid bucket's.
            if (na.machine_type.empty() || na.machine_type.find(',') != std::string::npos) {
                for (const auto& b : na.buckets) {
                    if (b.valid && !b.machine_type.empty()) {
                        na.machine_type = b.machine_type;
                        break;
                    }
                }
            }
            out.push_back(std::move(na));
        }
    } catch (const json::exception& e) {
        return malformed(e.what());
    }
    return out;
}

Result<std::vector<CloudNode>> parse_node_list(const std::string& body) {
    const json j = parse_json(body);
    if (j.is_discarded() || !j.is_object()) {
        return malformed("node list is not a JSON object: '" + excerpt(body) + "'");
    }
    const auto nodes = j.find("nodes");
    if (nodes == j.end() || !nodes->is_array()) {
        return malformed("node list has no 'nodes' list");
    }
    std::vector<CloudNode> out;
    out.reserve(nodes->size());
    try {
        for (const auto& n : *nodes) {
            if (!n.is_object()) {
                return malformed("a node record is not an object");
            }
            out.push_back(node_from_json(n));
            if (out.back().name.empty()) {
                return malformed("a node record has no Name");
            }
        }
    } catch (const json::exception& e) {
        return malformed(e.what());
    }
    return out;
}

struct CycleCloudRest::Impl {
    CycleCloudOptions options;
    CURL* curl = nullptr;
    std::mutex mutex;  // one call at a time on the shared handle
    CloudCallStats stats;
    std::mt19937 rng{std::random_device{}()};
    TokenBucket reads{250, 25};  // set from options by the constructor
    TokenBucket writes{200, 10};
    std::set<std::string> warned;  // screening warnings already logged (guarded by mutex)

    // Logs each warning about CycleCloud's records once: the node list is read every pass.
    void warn_once(const std::vector<std::string>& warnings) {
        constexpr std::size_t k_max_remembered = 10000;
        std::lock_guard lock(mutex);
        for (const auto& w : warnings) {
            if (warned.size() >= k_max_remembered) {
                warned.clear();
            }
            if (warned.insert(w).second) {
                log::warn("{}", w);
            }
        }
    }

    // Waits for a token of the request's kind (see CycleCloudOptions::read_bucket).
    void pace(const char* method) {
        TokenBucket& bucket = std::string_view(method) == "GET" ? reads : writes;
        const auto wait = bucket.take(TokenBucket::Clock::now());
        if (wait.count() > 0) {
            ++stats.paced;
            log::debug("cyclecloud: pacing a {} for {} ms", method, wait.count());
            sleep_for(wait);
        }
    }

    void sleep_for(std::chrono::milliseconds d) const {
        if (options.sleep) {
            options.sleep(d);
        } else {
            std::this_thread::sleep_for(d);
        }
    }

    // One HTTP exchange; no retries. Transport failures become Errors with their kind.
    Result<HttpResponse> exchange(const char* method, const std::string& path,
                                  const std::string* body) {
        HttpResponse resp;
        char errbuf[CURL_ERROR_SIZE] = {0};
        const std::string url = options.url + path;
        curl_easy_reset(curl);
        curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
        curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
        curl_easy_setopt(curl, CURLOPT_HTTPAUTH, static_cast<long>(CURLAUTH_BASIC));
        curl_easy_setopt(curl, CURLOPT_USERNAME, options.username.c_str());
        curl_easy_setopt(curl, CURLOPT_PASSWORD, options.password.c_str());
        curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                         static_cast<long>(options.connect_timeout.count()));
        curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS,
                         static_cast<long>(options.request_timeout.count()));
        curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, options.verify_tls ? 1L : 0L);
        curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, options.verify_tls ? 2L : 0L);
        if (!options.ca_bundle.empty()) {
            curl_easy_setopt(curl, CURLOPT_CAINFO, options.ca_bundle.c_str());
        }
        curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
        curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, write_body);
        curl_easy_setopt(curl, CURLOPT_WRITEDATA, &resp.body);
        curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, read_header);
        curl_easy_setopt(curl, CURLOPT_HEADERDATA, &resp);
        curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
        curl_slist* headers = curl_slist_append(nullptr, "Accept: application/json");
        if (body != nullptr) {
            headers = curl_slist_append(headers, "Content-Type: application/json");
            curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body->c_str());
            curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(body->size()));
        }
        curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
        const CURLcode rc = curl_easy_perform(curl);
        curl_slist_free_all(headers);
        ++stats.requests;
        if (rc != CURLE_OK) {
            return transport_error(rc, errbuf);
        }
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &resp.status);
        return resp;
    }

    Error transport_error(CURLcode rc, const char* errbuf) const {
        const std::string detail = errbuf[0] != 0 ? errbuf : curl_easy_strerror(rc);
        switch (rc) {
            case CURLE_COULDNT_RESOLVE_HOST:
                return make_error(ErrorKind::k_transient,
                                  "cannot resolve the host in " + options.url + ": " + detail);
            case CURLE_COULDNT_CONNECT:
                return make_error(ErrorKind::k_transient,
                                  "cannot connect to " + options.url + ": " + detail);
            case CURLE_OPERATION_TIMEDOUT:
                return make_error(ErrorKind::k_transient,
                                  "no answer from " + options.url + " in time: " + detail);
            case CURLE_PEER_FAILED_VERIFICATION:
            case CURLE_SSL_CACERT_BADFILE:
            case CURLE_SSL_CONNECT_ERROR:
            case CURLE_SSL_CERTPROBLEM:
                return make_error(ErrorKind::k_permanent,
                                  "TLS verification of " + options.url + " failed: " + detail +
                                      " (give the server's CA certificate in "
                                      "cyclecloud.ca_bundle)");
            default:
                return make_error(ErrorKind::k_transient,
                                  "request to " + options.url + " failed: " + detail);
        }
    }

    Error http_error(const char* method, const std::string& path, const HttpResponse& r) const {
        const std::string what = std::string(method) + " " + path;
        const std::string status = "HTTP " + std::to_string(r.status);
        if (r.status == 401 || r.status == 403) {
            return make_error(ErrorKind::k_permanent,
                              "CycleCloud rejected the credentials of user '" + options.username +
                                  "' (" + status + " for " + what + ")");
        }
        if (r.status == 404) {
            return make_error(ErrorKind::k_not_found,
                              status + " for " + what + ": " + excerpt(r.body));
        }
        if (r.status == 429) {
            return make_error(ErrorKind::k_throttled,
                              "CycleCloud throttled " + what + " (" + status + ", Retry-After " +
                                  std::to_string(r.retry_after_seconds.value_or(0)) + " s)");
        }
        if (r.status >= 500) {
            return make_error(ErrorKind::k_transient,
                              status + " for " + what + ": " + excerpt(r.body));
        }
        return make_error(ErrorKind::k_cloud, status + " for " + what + ": " + excerpt(r.body));
    }

    // Retries transient and throttled failures; returns the body of a 2xx answer.
    Result<std::string> call(const char* method, const std::string& path,
                             const std::string* body = nullptr) {
        std::lock_guard lock(mutex);
        std::chrono::milliseconds backoff = options.backoff_initial;
        for (int attempt = 1;; ++attempt) {
            pace(method);
            auto resp = exchange(method, path, body);
            std::optional<Error> err;
            std::chrono::milliseconds wait = backoff;
            if (!resp) {
                err = resp.error();
            } else if (resp->status >= 200 && resp->status < 300) {
                return std::move(resp->body);
            } else if (resp->status == 409 && attempt > 1 && body != nullptr) {
                // The same body was refused on a retry, after an attempt that got no answer:
                // CycleCloud refuses a repeated requestId, so that attempt was carried out and
                // only its answer was lost. Not a permanent error: the next pass sees the
                // nodes it made.
                return make_error(ErrorKind::k_transient,
                                  std::string(method) + " " + path +
                                      " was carried out by an attempt whose answer was lost "
                                      "(the retry got HTTP 409: " +
                                      excerpt(resp->body) + ")");
            } else {
                err = http_error(method, path, *resp);
                if (resp->status == 429) {
                    ++stats.throttled;
                    if (resp->retry_after_seconds) {
                        wait =
                            std::min(options.retry_after_max,
                                     std::chrono::milliseconds(*resp->retry_after_seconds * 1000));
                    }
                }
            }
            const bool retryable =
                err->kind == ErrorKind::k_transient || err->kind == ErrorKind::k_throttled;
            if (!retryable || attempt >= options.max_attempts) {
                return *err;
            }
            if (err->kind != ErrorKind::k_throttled || wait == backoff) {
                // Full jitter: a random wait in [backoff/2, backoff].
                std::uniform_int_distribution<long> dist(backoff.count() / 2, backoff.count());
                wait = std::chrono::milliseconds(dist(rng));
            }
            log::debug("cyclecloud: {} (attempt {}/{}), retrying in {} ms", err->message, attempt,
                       options.max_attempts, wait.count());
            ++stats.retries;
            sleep_for(wait);
            backoff = std::min(options.backoff_max, backoff * 2);
        }
    }

    std::string cluster_path(const std::string& rest) const {
        return "/clusters/" + url_escape(options.cluster) + rest;
    }

    Result<ManagementResult> manage(const char* action, const std::vector<std::string>& names) {
        const std::string body = json{{"names", names}}.dump();
        auto text = call("POST", cluster_path("/nodes/" + std::string(action)), &body);
        if (!text) {
            return text.error();
        }
        const json j = parse_json(*text);
        if (j.is_discarded() || !j.is_object()) {
            return malformed(std::string(action) + " result is not a JSON object: '" +
                             excerpt(*text) + "'");
        }
        ManagementResult out;
        out.operation_id = str(j, "operationId");
        if (const auto nodes = j.find("nodes"); nodes != j.end() && nodes->is_array()) {
            for (const auto& n : *nodes) {
                if (n.is_object()) {
                    out.nodes.push_back(
                        {str(n, "name"), str(n, "status") == "OK", str(n, "error")});
                }
            }
        }
        return out;
    }
};

CycleCloudRest::CycleCloudRest(CycleCloudOptions options) : m_impl(std::make_unique<Impl>()) {
    std::call_once(g_curl_init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
    while (!options.url.empty() && options.url.back() == '/') {
        options.url.pop_back();
    }
    m_impl->options = std::move(options);
    m_impl->reads =
        TokenBucket(m_impl->options.read_bucket.first, m_impl->options.read_bucket.second);
    m_impl->writes =
        TokenBucket(m_impl->options.write_bucket.first, m_impl->options.write_bucket.second);
    m_impl->curl = curl_easy_init();
    log::register_secret(m_impl->options.password);
    if (!m_impl->options.verify_tls) {
        log::warn(
            "cyclecloud: TLS verification is OFF for {} (cyclecloud.verify_tls = false); "
            "anyone on the path can read the CycleCloud password",
            m_impl->options.url);
    }
}

CycleCloudRest::~CycleCloudRest() {
    if (m_impl && m_impl->curl != nullptr) {
        curl_easy_cleanup(m_impl->curl);
    }
}

// Records leave the adapter only through here (core/cloud_input.h): a record Slurm could not
// take is dropped, with a warning, before anything acts on it.
template <typename Record>
Result<std::vector<Record>> CycleCloudRest::screened(Result<std::vector<Record>> records) {
    if (records) {
        if constexpr (std::is_same_v<Record, CloudNode>) {
            m_impl->warn_once(screen_cloud_nodes(*records));
        } else {
            m_impl->warn_once(screen_node_arrays(*records));
        }
    }
    return records;
}

Result<std::vector<NodeArray>> CycleCloudRest::node_arrays() {
    auto text = m_impl->call("GET", m_impl->cluster_path("/status?nodes=false"));
    if (!text) {
        return text.error();
    }
    return screened(parse_cluster_status(*text));
}

Result<std::vector<CloudNode>> CycleCloudRest::nodes() {
    auto text = m_impl->call("GET", m_impl->cluster_path("/nodes"));
    if (!text) {
        return text.error();
    }
    return screened(parse_node_list_streaming(*text));
}

Result<CreateResult> CycleCloudRest::create_nodes(const std::vector<CreateRequest>& requests,
                                                  const std::string& request_id) {
    json sets = json::array();
    for (const auto& r : requests) {
        json set{{"nodearray", r.nodearray}, {"count", 1}, {"nameFormat", r.name}};
        if (!r.machine_type.empty()) {
            set["definition"] = {{"machineType", r.machine_type}};
        }
        if (!r.placement_group.empty()) {
            set["placementGroupId"] = r.placement_group;
        }
        sets.push_back(std::move(set));
    }
    json body{{"sets", std::move(sets)}};
    if (!request_id.empty()) {
        body["requestId"] = request_id;
    }
    const std::string text_body = body.dump();
    auto text = m_impl->call("POST", m_impl->cluster_path("/nodes/create"), &text_body);
    if (!text) {
        return text.error();
    }
    const json j = parse_json(*text);
    if (j.is_discarded() || !j.is_object()) {
        return malformed("create result is not a JSON object: '" + excerpt(*text) + "'");
    }
    CreateResult out;
    out.operation_id = str(j, "operationId");
    if (const auto s = j.find("sets"); s != j.end() && s->is_array()) {
        for (const auto& set : *s) {
            out.sets.push_back({set.is_object() ? num<int>(set, "added", 0) : 0,
                                set.is_object() ? str(set, "message") : std::string()});
        }
    }
    out.sets.resize(requests.size());
    return out;
}

Result<ManagementResult> CycleCloudRest::start_nodes(const std::vector<std::string>& names) {
    return m_impl->manage("start", names);
}

Result<ManagementResult> CycleCloudRest::shutdown_nodes(const std::vector<std::string>& names,
                                                        ShutdownMode mode) {
    static const std::map<ShutdownMode, const char*> k_action{
        {ShutdownMode::k_node_policy, "shutdown"},
        {ShutdownMode::k_terminate, "terminate"},
        {ShutdownMode::k_deallocate, "deallocate"}};
    return m_impl->manage(k_action.at(mode), names);
}

Result<std::vector<CloudNode>> CycleCloudRest::operation_nodes(const std::string& operation_id) {
    auto text =
        m_impl->call("GET", m_impl->cluster_path("/nodes?operation=" + url_escape(operation_id)));
    if (!text) {
        return text.error();
    }
    return screened(parse_node_list_streaming(*text));
}

Status CycleCloudRest::check_connection() {
    auto text = m_impl->call("GET", m_impl->cluster_path("/status?nodes=false"));
    if (!text) {
        if (text.error().kind == ErrorKind::k_not_found) {
            return make_error(ErrorKind::k_permanent, "CycleCloud at " + m_impl->options.url +
                                                          " has no cluster named '" +
                                                          m_impl->options.cluster + "'");
        }
        return text.error();
    }
    if (auto parsed = parse_cluster_status(*text); !parsed) {
        return parsed.error();
    }
    return ok_status();
}

CloudCallStats CycleCloudRest::stats() const {
    std::lock_guard lock(m_impl->mutex);
    return m_impl->stats;
}

}  // namespace cb
