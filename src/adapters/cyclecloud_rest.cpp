#include "adapters/cyclecloud_rest.h"

#include <curl/curl.h>
#include <poll.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <thread>
#include <type_traits>

#include "adapters/cyclecloud_node_list.h"
#include "adapters/tls_probe.h"
#include "core/cloud_input.h"
#include "core/vm_status.h"
#include "util/log.h"
#include "util/text.h"
#include "util/token_bucket.h"

namespace cb {

using json = nlohmann::json;

namespace {

std::once_flag g_curl_init;

struct HttpResponse {
    long status = 0;
    std::string body;
    // Given, a 2xx answer's body goes here as it arrives instead of into `body`.
    NodeListStream* stream = nullptr;
    CURL* curl = nullptr;
    bool decided = false;  // whether to stream: decided at the body's first bytes, by the status
    bool streaming = false;
    std::size_t received = 0;  // the body's bytes so far
    std::optional<std::chrono::seconds> retry_after;
    std::size_t limit = 0;  // CycleCloudOptions::max_response_bytes
    // Set when the body is over `limit`; the transfer was cut off, `body` is incomplete.
    bool too_big = false;
    std::optional<unsigned long long> announced;  // a Content-Length over `limit`
};

// A header's value without the spaces around it.
std::string_view header_value(std::string_view line, std::size_t name_length) {
    std::string_view value = line.substr(name_length);
    const auto first = value.find_first_not_of(" \t\r\n");
    if (first == std::string_view::npos) {
        return {};
    }
    value.remove_prefix(first);
    return value.substr(0, value.find_last_not_of(" \t\r\n") + 1);
}

// Returning less than the bytes given makes libcurl stop the transfer (CURLE_WRITE_ERROR).
size_t write_body(char* data, size_t size, size_t n, void* user) {
    auto* resp = static_cast<HttpResponse*>(user);
    const size_t bytes = size * n;
    if (bytes > resp->limit - resp->received) {
        resp->too_big = true;
        return 0;
    }
    resp->received += bytes;
    if (!resp->decided) {
        long status = 0;
        curl_easy_getinfo(resp->curl, CURLINFO_RESPONSE_CODE, &status);
        resp->streaming = resp->stream != nullptr && status >= 200 && status < 300;
        resp->decided = true;
    }
    if (resp->streaming) {
        resp->stream->feed(std::string_view(data, bytes));
    } else {
        resp->body.append(data, bytes);
    }
    return bytes;
}

// Whether `fd` (CycleCloudOptions::stop_fd) is readable, waiting up to `wait`.
bool readable(int fd, std::chrono::milliseconds wait) {
    if (fd < 0) {
        return false;
    }
    pollfd p{fd, POLLIN, 0};
    return ::poll(&p, 1, static_cast<int>(std::min<std::int64_t>(wait.count(), 1 << 30))) > 0 &&
           (p.revents & POLLIN) != 0;
}

// libcurl calls it often during a transfer (at least once a second): non-zero cuts the transfer
// off (CURLE_ABORTED_BY_CALLBACK).
int stop_transfer(void* user, curl_off_t /*dltotal*/, curl_off_t /*dlnow*/, curl_off_t /*ultotal*/,
                  curl_off_t /*ulnow*/) {
    return readable(*static_cast<const int*>(user), std::chrono::milliseconds(0)) ? 1 : 0;
}

size_t read_header(char* data, size_t size, size_t n, void* user) {
    auto* resp = static_cast<HttpResponse*>(user);
    const std::string_view line(data, size * n);
    std::string lower(line.substr(0, 16));
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    constexpr std::string_view k_content_length = "content-length:";
    constexpr std::string_view k_retry_after = "retry-after:";
    if (lower.starts_with(k_content_length)) {
        const std::string_view value = header_value(line, k_content_length.size());
        unsigned long long length = 0;
        const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), length);
        if (ec == std::errc::result_out_of_range) {
            resp->too_big = true;  // more than 2^64 bytes
            return 0;
        }
        if (ec != std::errc() || end != value.data() + value.size()) {
            return size * n;  // not a length: no room made; write_body holds the limit
        }
        if (length > resp->limit) {
            resp->too_big = true;
            resp->announced = length;
            return 0;
        }
        // Room for the whole body at once: a 10,000-node list is 12 MB, and growing a string
        // to it by doubling holds up to twice that while it copies. (A streamed node list
        // needs none, and an error's body is small.)
        if (resp->stream == nullptr) {
            resp->body.reserve(static_cast<std::size_t>(length));
        } else {
            resp->stream->expect_bytes(static_cast<std::size_t>(length));
        }
    } else if (lower.starts_with(k_retry_after)) {
        resp->retry_after = parse_retry_after(header_value(line, k_retry_after.size()),
                                              std::chrono::system_clock::now());
    }
    return size * n;
}

// How the handle verifies the server (CycleCloudRest's header says why each way).
void set_tls_options(CURL* curl, const CycleCloudOptions& options) {
    if (!options.tls_pin.empty()) {
        // The pinned key is the trust anchor: libcurl checks it even with VERIFYPEER off
        // (CURLOPT_PINNEDPUBLICKEY(3)), and a self-signed certificate for another name, as a
        // fresh CycleCloud serves, could pass neither the chain nor the name check.
        curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 0L);
        curl_easy_setopt(curl, CURLOPT_PINNEDPUBLICKEY, options.tls_pin.c_str());
        return;
    }
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, options.verify_tls ? 1L : 0L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, options.verify_tls ? 2L : 0L);
    if (!options.ca_bundle.empty()) {
        curl_easy_setopt(curl, CURLOPT_CAINFO, options.ca_bundle.c_str());
    }
}

// libcurl's failure as our Error, with what to do. `verify_result` is
// CURLINFO_SSL_VERIFYRESULT: why the certificate was refused, when it was.
Error translate_curl_error(CURLcode rc, long verify_result, const char* errbuf,
                           const std::string& url) {
    const std::string detail = errbuf[0] != 0 ? errbuf : curl_easy_strerror(rc);
    switch (rc) {
        case CURLE_COULDNT_RESOLVE_HOST:
            return make_error(ErrorKind::k_transient,
                              "cannot resolve the host in " + url + ": " + detail);
        case CURLE_COULDNT_CONNECT:
            return make_error(ErrorKind::k_transient, "cannot connect to " + url + ": " + detail);
        case CURLE_OPERATION_TIMEDOUT:
            return make_error(ErrorKind::k_transient,
                              "no answer from " + url + " in time: " + detail);
        case CURLE_PEER_FAILED_VERIFICATION:
            return make_error(
                ErrorKind::k_permanent,
                tls_problem_message(tls_problem_of_verify_result(verify_result), url, detail));
        case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
            return make_error(ErrorKind::k_permanent,
                              tls_problem_message(TlsProblem::k_pin_mismatch, url, detail));
        case CURLE_SSL_CACERT_BADFILE:
        case CURLE_SSL_CONNECT_ERROR:
        case CURLE_SSL_CERTPROBLEM:
            return make_error(ErrorKind::k_permanent,
                              tls_problem_message(TlsProblem::k_other, url, detail));
        default:
            return make_error(ErrorKind::k_transient, "request to " + url + " failed: " + detail);
    }
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

// A number of the record, or `fallback` if it is missing, not a number or out of T's range
// (CycleCloud's counts are small; a cast of 1e300 to int would be undefined).
template <typename T>
T num(const json& j, const char* key, T fallback) {
    const auto it = j.find(key);
    if (it == j.end() || !it->is_number()) {
        return fallback;
    }
    if constexpr (std::is_floating_point_v<T>) {
        return it->get<T>();
    } else {
        constexpr auto k_min = std::numeric_limits<T>::min();
        constexpr auto k_max = std::numeric_limits<T>::max();
        if (it->is_number_float()) {
            const double d = it->get<double>();
            const bool fits = d >= static_cast<double>(k_min) && d <= static_cast<double>(k_max);
            return fits ? static_cast<T>(d) : fallback;
        }
        if (it->is_number_unsigned()) {
            const auto u = it->get<std::uint64_t>();
            return u <= static_cast<std::uint64_t>(k_max) ? static_cast<T>(u) : fallback;
        }
        const auto i = it->get<std::int64_t>();
        return i >= k_min && i <= k_max ? static_cast<T>(i) : fallback;
    }
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

// The leaves of a node array's Configuration by dotted path ("slurm.partition"): a loop with
// its own stack, in the order a recursive walk would take (a later duplicate path wins).
void flatten(const json& configuration, std::map<std::string, std::string>& out) {
    std::vector<std::pair<const json*, std::string>> todo{{&configuration, std::string()}};
    while (!todo.empty()) {
        auto [j, prefix] = std::move(todo.back());
        todo.pop_back();
        if (j->is_object()) {
            for (auto it = j->rbegin(); it != j->rend(); ++it) {
                todo.emplace_back(&it.value(), prefix.empty() ? it.key() : prefix + "." + it.key());
            }
        } else if (j->is_string()) {
            out[prefix] = j->get<std::string>();
        } else {
            out[prefix] = j->dump();
        }
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

// nlohmann's DOM builder behind a depth limit. nlohmann parses with a loop and a heap stack,
// but what walks the tree afterwards (dump(), the copy constructor, ==) recurses: the limit
// keeps that at k_max_answer_depth frames.
class DepthLimitedTree {
  public:
    explicit DepthLimitedTree(json& root) : m_dom(root, /*allow_exceptions_=*/false) {}
    bool too_deep() const { return m_too_deep; }

    bool null() { return m_dom.null(); }
    bool boolean(bool v) { return m_dom.boolean(v); }
    bool number_integer(json::number_integer_t v) { return m_dom.number_integer(v); }
    bool number_unsigned(json::number_unsigned_t v) { return m_dom.number_unsigned(v); }
    bool number_float(json::number_float_t v, const json::string_t& text) {
        return m_dom.number_float(v, text);
    }
    bool string(json::string_t& v) { return m_dom.string(v); }
    bool binary(json::binary_t& v) { return m_dom.binary(v); }
    bool key(json::string_t& k) { return m_dom.key(k); }
    bool start_object(std::size_t size) { return deeper() && m_dom.start_object(size); }
    bool end_object() {
        --m_depth;
        return m_dom.end_object();
    }
    bool start_array(std::size_t size) { return deeper() && m_dom.start_array(size); }
    bool end_array() {
        --m_depth;
        return m_dom.end_array();
    }
    template <class Exception>
    bool parse_error(std::size_t position, const std::string& last_token, const Exception& ex) {
        return m_dom.parse_error(position, last_token, ex);
    }

  private:
    bool deeper() {
        if (++m_depth > k_max_answer_depth) {
            m_too_deep = true;
            return false;  // stops the parser
        }
        return true;
    }

    nlohmann::detail::json_sax_dom_parser<json> m_dom;
    int m_depth = 0;
    bool m_too_deep = false;
};

// The answer `body` as a JSON object; `what` names it in the error ("cluster status").
Result<json> parse_answer(const std::string& body, const std::string& what) {
    json root;
    DepthLimitedTree tree(root);
    const bool parsed = json::sax_parse(body, &tree, json::input_format_t::json, /*strict=*/true);
    if (tree.too_deep()) {
        return nested_too_deep(what);
    }
    if (!parsed || !root.is_object()) {
        return malformed(what + " is not a JSON object: '" + excerpt(body) + "'");
    }
    return root;
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

Error nested_too_deep(const std::string& what) {
    return malformed(what + " is nested deeper than " + std::to_string(k_max_answer_depth) +
                     " levels");
}

std::optional<std::chrono::seconds> parse_retry_after(std::string_view value,
                                                      std::chrono::system_clock::time_point now) {
    if (value.empty()) {
        return std::nullopt;
    }
    if (std::isdigit(static_cast<unsigned char>(value.front())) != 0) {
        std::uint64_t seconds = 0;
        const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
        if (end != value.data() + value.size()) {
            return std::nullopt;  // "12abc"
        }
        if (ec == std::errc::result_out_of_range ||
            seconds > static_cast<std::uint64_t>(k_retry_after_ceiling.count())) {
            return k_retry_after_ceiling;
        }
        return std::chrono::seconds(seconds);
    }
    // An HTTP-date starts with the day's name ("Sun, 06 Nov 1994 08:49:37 GMT").
    if (std::isalpha(static_cast<unsigned char>(value.front())) == 0) {
        return std::nullopt;
    }
    const std::string text(value);
    const time_t when = curl_getdate(text.c_str(), nullptr);
    if (when == -1) {
        return std::nullopt;
    }
    const auto delta = std::chrono::seconds(when) -
                       std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch());
    return std::clamp(delta, std::chrono::seconds(0), k_retry_after_ceiling);
}

Result<ClusterLimits> parse_cluster_limits(const std::string& body) {
    const auto parsed = parse_answer(body, "cluster status");
    if (!parsed) {
        return parsed.error();
    }
    try {
        return ClusterLimits{num<int>(*parsed, "maxCount", 0),
                             num<int>(*parsed, "maxCoreCount", 0)};
    } catch (const json::exception& e) {
        return malformed(e.what());
    }
}

VmStatus parse_vm_status(const std::string& text) {
    return vm_status_from_text(text);
}

Result<std::vector<NodeArray>> parse_cluster_status(const std::string& body) {
    const auto parsed = parse_answer(body, "cluster status");
    if (!parsed) {
        return parsed.error();
    }
    const json& j = *parsed;
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
                    flatten(*cfg, na.configuration);
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
                    bk.max_core_count = num<int>(b, "maxCoreCount", -1);
                    bk.active_core_count = num<int>(b, "activeCoreCount", -1);
                    bk.quota_core_count = num<int>(b, "quotaCoreCount", -1);
                    bk.consumed_core_count = num<int>(b, "consumedCoreCount", -1);
                    bk.family_quota_core_count = num<int>(b, "familyQuotaCoreCount", -1);
                    bk.family_consumed_core_count = num<int>(b, "familyConsumedCoreCount", -1);
                    bk.regional_quota_core_count = num<int>(b, "regionalQuotaCoreCount", -1);
                    bk.regional_consumed_core_count = num<int>(b, "regionalConsumedCoreCount", -1);
                    na.buckets.push_back(std::move(bk));
                }
            }
            if (na.name.empty()) {
                return malformed("a node array has no name");
            }
            // A multi-select MachineType ("A, B", as a string) names several sizes: the
            // array's own is the first listed, as with a list value, valid or not (node
            // ranges keep their sizes). No MachineType at all: the first valid bucket's.
            if (const auto comma = na.machine_type.find(','); comma != std::string::npos) {
                na.machine_type =
                    std::string(trim(std::string_view(na.machine_type).substr(0, comma)));
            }
            if (na.machine_type.empty()) {
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
    const auto parsed = parse_answer(body, "node list");
    if (!parsed) {
        return parsed.error();
    }
    const json& j = *parsed;
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

Result<CreateResult> parse_create_result(const std::string& body, std::size_t request_count) {
    const auto parsed = parse_answer(body, "create result");
    if (!parsed) {
        return parsed.error();
    }
    const json& j = *parsed;
    CreateResult out;
    out.operation_id = str(j, "operationId");
    if (const auto s = j.find("sets"); s != j.end() && s->is_array()) {
        for (const auto& set : *s) {
            if (out.sets.size() == request_count) {
                break;  // more answers than requests: the rest answer nothing we asked
            }
            out.sets.push_back({set.is_object() ? num<int>(set, "added", 0) : 0,
                                set.is_object() ? str(set, "message") : std::string()});
        }
    }
    out.sets.resize(request_count);
    return out;
}

Result<ManagementResult> parse_management_result(const std::string& body,
                                                 const std::string& action) {
    const auto parsed = parse_answer(body, action + " result");
    if (!parsed) {
        return parsed.error();
    }
    const json& j = *parsed;
    ManagementResult out;
    out.operation_id = str(j, "operationId");
    if (const auto nodes = j.find("nodes"); nodes != j.end() && nodes->is_array()) {
        for (const auto& n : *nodes) {
            if (n.is_object()) {
                out.nodes.push_back({str(n, "name"), str(n, "status") == "OK", str(n, "error")});
            }
        }
    }
    return out;
}

struct CycleCloudRest::Impl {
    CycleCloudOptions options;
    // Connections (libcurl handles, each keeping its connection open between calls): one per
    // call in progress, at most options.max_connections, made as calls need them and kept.
    std::vector<CURL*> idle;
    int handles = 0;
    std::mutex mutex;  // guards everything below and the handle pool
    std::condition_variable handle_free;
    CloudCallStats stats;
    std::mt19937 rng{std::random_device{}()};
    TokenBucket reads{250, 25};  // set from options by the constructor
    TokenBucket writes{200, 10};
    std::set<std::string> warned;  // screening warnings already logged

    ~Impl() {
        for (CURL* c : idle) {
            curl_easy_cleanup(c);
        }
    }

    // A handle for one call: an idle one, a new one while fewer than max_connections exist,
    // else the first one given back.
    CURL* take_handle() {
        std::unique_lock lock(mutex);
        handle_free.wait(lock, [this] {
            return !idle.empty() || handles < std::max(1, options.max_connections);
        });
        if (!idle.empty()) {
            CURL* c = idle.back();
            idle.pop_back();
            return c;
        }
        ++handles;
        return curl_easy_init();
    }
    void give_back(CURL* c) {
        {
            std::lock_guard lock(mutex);
            if (c != nullptr) {
                idle.push_back(c);
            } else {
                --handles;
            }
        }
        handle_free.notify_one();
    }

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

    // Waits for a token of the request's kind (see CycleCloudOptions::read_bucket); false
    // when the wait was cut short because the program is stopping.
    bool pace(const char* method) {
        std::chrono::milliseconds wait{0};
        {
            std::lock_guard lock(mutex);
            TokenBucket& bucket = std::string_view(method) == "GET" ? reads : writes;
            wait = bucket.take(TokenBucket::Clock::now());
            if (wait.count() > 0) {
                ++stats.paced;
            }
        }
        if (wait.count() > 0) {
            log::debug("cyclecloud: pacing a {} for {} ms", method, wait.count());
            return sleep_for(wait);
        }
        return !stopping();
    }

    // False when the program is stopping (CycleCloudOptions::stop_fd), at once if it is.
    bool sleep_for(std::chrono::milliseconds d) const {
        if (options.sleep) {
            options.sleep(d);
            return !stopping();
        }
        if (options.stop_fd >= 0) {
            return !readable(options.stop_fd, d);
        }
        std::this_thread::sleep_for(d);
        return true;
    }

    bool stopping() const { return readable(options.stop_fd, std::chrono::milliseconds(0)); }

    // One HTTP exchange on `curl`; no retries. Transport failures become Errors with their
    // kind.
    Result<HttpResponse> exchange(CURL* curl, const char* method, const std::string& path,
                                  const std::string* body, NodeListStream* stream) {
        HttpResponse resp;
        resp.limit = options.max_response_bytes;
        resp.stream = stream;
        resp.curl = curl;
        if (stream != nullptr) {
            stream->restart();  // a retry's answer is a new document
        }
        {
            std::lock_guard lock(mutex);
            ++stats.requests;
        }
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
        set_tls_options(curl, options);
        curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
        curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, write_body);
        curl_easy_setopt(curl, CURLOPT_WRITEDATA, &resp);
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
        if (options.stop_fd >= 0) {
            curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
            curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, stop_transfer);
            curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &options.stop_fd);
        }
        const CURLcode rc = curl_easy_perform(curl);
        curl_slist_free_all(headers);
        if (rc != CURLE_OK && !resp.too_big) {
            long verify_result = 0;
            curl_easy_getinfo(curl, CURLINFO_SSL_VERIFYRESULT, &verify_result);
            return translate_curl_error(rc, verify_result, errbuf, options.url);
        }
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &resp.status);
        return resp;
    }

    // An answer over max_response_bytes: a CycleCloud this large needs a larger limit, and
    // anything else should not make us hold more than the limit in memory.
    Error too_large(const char* method, const std::string& path, const HttpResponse& r) const {
        const std::string limit = std::to_string(options.max_response_bytes);
        const std::string size =
            r.announced ? "is " + std::to_string(*r.announced) + " bytes, more than the " + limit
                        : "is more than the " + limit + " bytes";
        return make_error(ErrorKind::k_transient,
                          "the answer to " + std::string(method) + " " + path + " " + size +
                              " that cyclecloud.max_response_mb allows: raise it if "
                              "CycleCloud's answers are really this large");
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
            return make_error(
                ErrorKind::k_throttled,
                "CycleCloud throttled " + what + " (" + status + ", Retry-After " +
                    std::to_string(r.retry_after.value_or(std::chrono::seconds(0)).count()) +
                    " s)");
        }
        if (r.status >= 500) {
            return make_error(ErrorKind::k_transient,
                              status + " for " + what + ": " + excerpt(r.body));
        }
        return make_error(ErrorKind::k_cloud, status + " for " + what + ": " + excerpt(r.body));
    }

    // Retries transient and throttled failures; returns the body of a 2xx answer, or, given
    // `stream`, "" with the body fed to it as it arrived.
    // Up to options.max_connections calls run at once, each on a handle of its own.
    Result<std::string> call(const char* method, const std::string& path,
                             const std::string* body = nullptr, NodeListStream* stream = nullptr) {
        CURL* curl = take_handle();
        struct Release {
            Impl* owner;
            CURL* handle;
            ~Release() { owner->give_back(handle); }
        } release{this, curl};
        if (curl == nullptr) {
            return make_error(ErrorKind::k_internal, "curl_easy_init failed");
        }
        std::chrono::milliseconds backoff = options.backoff_initial;
        for (int attempt = 1;; ++attempt) {
            if (!pace(method)) {
                return make_error(ErrorKind::k_transient, "stopping: " + std::string(method) + " " +
                                                              path + " was not sent");
            }
            auto resp = exchange(curl, method, path, body, stream);
            std::optional<Error> err;
            std::chrono::milliseconds wait = backoff;
            if (!resp) {
                err = resp.error();
            } else if (resp->too_big) {
                // Not retried: the next attempt would be as large.
                return too_large(method, path, *resp);
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
                    std::lock_guard lock(mutex);
                    ++stats.throttled;
                    if (resp->retry_after) {
                        // At most k_retry_after_ceiling: no overflow in milliseconds.
                        wait = std::min(options.retry_after_max,
                                        std::chrono::milliseconds(*resp->retry_after));
                    }
                }
            }
            const bool retryable =
                err->kind == ErrorKind::k_transient || err->kind == ErrorKind::k_throttled;
            if (!retryable || attempt >= options.max_attempts || stopping()) {
                return *err;
            }
            {
                std::lock_guard lock(mutex);
                if (err->kind != ErrorKind::k_throttled || wait == backoff) {
                    // Full jitter: a random wait in [backoff/2, backoff].
                    std::uniform_int_distribution<long> dist(backoff.count() / 2, backoff.count());
                    wait = std::chrono::milliseconds(dist(rng));
                }
                ++stats.retries;
            }
            log::debug("cyclecloud: {} (attempt {}/{}), retrying in {} ms", err->message, attempt,
                       options.max_attempts, wait.count());
            if (!sleep_for(wait)) {
                return *err;  // stopping: the daemon's next start asks again
            }
            backoff = std::min(options.backoff_max, backoff * 2);
        }
    }

    // A node list, read as it arrives (NodeListStream). A document the stream leaves to the
    // general reader, which CycleCloud does not send, is asked for again and read whole.
    Result<std::vector<CloudNode>> node_list(const std::string& path) {
        NodeListStream stream;
        if (auto text = call("GET", path, nullptr, &stream); !text) {
            return text.error();
        }
        if (auto read = stream.finish()) {
            return std::move(*read);
        }
        auto text = call("GET", path);
        if (!text) {
            return text.error();
        }
        return parse_node_list_streaming(*text);
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
        return parse_management_result(*text, action);
    }
};

Result<std::string> fetch_server_certificate(const std::string& url,
                                             std::chrono::milliseconds timeout) {
    if (!url.starts_with("https://")) {
        return make_error(ErrorKind::k_usage,
                          url + " is not an https:// URL: it has no certificate");
    }
    std::call_once(g_curl_init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
    std::unique_ptr<CURL, void (*)(CURL*)> curl(curl_easy_init(), curl_easy_cleanup);
    if (!curl) {
        return make_error(ErrorKind::k_internal, "curl_easy_init failed");
    }
    char errbuf[CURL_ERROR_SIZE] = {0};
    curl_easy_setopt(curl.get(), CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl.get(), CURLOPT_PROTOCOLS_STR, "https");
    curl_easy_setopt(curl.get(), CURLOPT_NOSIGNAL, 1L);
    // The handshake alone: CONNECT_ONLY stops before the request, so nothing (no credentials,
    // not even a path) reaches a server that is not yet trusted.
    curl_easy_setopt(curl.get(), CURLOPT_CONNECT_ONLY, 1L);
    curl_easy_setopt(curl.get(), CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(curl.get(), CURLOPT_SSL_VERIFYHOST, 0L);
    curl_easy_setopt(curl.get(), CURLOPT_CERTINFO, 1L);
    curl_easy_setopt(curl.get(), CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(timeout.count()));
    curl_easy_setopt(curl.get(), CURLOPT_ERRORBUFFER, errbuf);
    const CURLcode rc = curl_easy_perform(curl.get());
    if (rc != CURLE_OK) {
        return translate_curl_error(rc, 0, errbuf, url);
    }
    curl_certinfo* info = nullptr;
    if (curl_easy_getinfo(curl.get(), CURLINFO_CERTINFO, &info) != CURLE_OK || info == nullptr ||
        info->num_of_certs < 1) {
        return make_error(ErrorKind::k_cloud, url + " presented no TLS certificate");
    }
    // The server's own certificate comes first; its "Cert:" field is the PEM.
    constexpr std::string_view k_field = "Cert:";
    for (const curl_slist* field = info->certinfo[0]; field != nullptr; field = field->next) {
        const std::string_view text = field->data;
        if (text.starts_with(k_field)) {
            return std::string(text.substr(k_field.size()));
        }
    }
    return make_error(ErrorKind::k_cloud, url + " presented no TLS certificate");
}

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
    log::register_secret(m_impl->options.password);
    if (!m_impl->options.verify_tls && m_impl->options.tls_pin.empty()) {
        log::warn(
            "cyclecloud: TLS verification is OFF for {} (cyclecloud.verify_tls = false); "
            "anyone on the path can read the CycleCloud password",
            m_impl->options.url);
    }
}

CycleCloudRest::~CycleCloudRest() = default;

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

Result<ClusterLimits> CycleCloudRest::cluster_limits() {
    auto text = m_impl->call("GET", m_impl->cluster_path("/status?nodes=false"));
    if (!text) {
        return text.error();
    }
    return parse_cluster_limits(*text);
}

Result<std::vector<CloudNode>> CycleCloudRest::nodes() {
    return screened(m_impl->node_list(m_impl->cluster_path("/nodes")));
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
    return parse_create_result(*text, requests.size());
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
    return screened(
        m_impl->node_list(m_impl->cluster_path("/nodes?operation=" + url_escape(operation_id))));
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

int CycleCloudRest::max_concurrent_calls() const {
    return std::max(1, m_impl->options.max_connections);
}

CloudCallStats CycleCloudRest::stats() const {
    std::lock_guard lock(m_impl->mutex);
    return m_impl->stats;
}

}  // namespace cb
