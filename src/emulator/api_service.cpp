#include "emulator/api_service.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <charconv>
#include <ctime>
#include <functional>
#include <optional>
#include <set>

#include <fmt/format.h>

#include "emulator/record_padding.h"
#include "util/log.h"

namespace cb::emulator {

namespace {

using Json = nlohmann::json;
using Params = std::map<std::string, std::string>;

// ---- JSON and time helpers ----------------------------------------------------------------

// Dotted keys ("slurm.partition") into nested objects, as CycleCloud reports Configuration.
void put_nested(Json& out, const std::string& dotted, Json value) {
    Json* at = &out;
    std::size_t start = 0;
    for (std::size_t dot = dotted.find('.'); dot != std::string::npos;
         dot = dotted.find('.', start)) {
        Json& next = (*at)[dotted.substr(start, dot - start)];
        if (next.is_null()) {
            next = Json::object();
        }
        if (!next.is_object()) {
            return;  // "a" is a value and "a.b" cannot also be one; the first wins
        }
        at = &next;
        start = dot + 1;
    }
    (*at)[dotted.substr(start)] = std::move(value);
}

Json nested(const std::vector<KeyValue>& flat) {
    Json out = Json::object();
    for (const auto& kv : flat) {
        put_nested(out, kv.key, template_value_json(kv.value));
    }
    return out;
}

// Nested JSON object into dotted keys with scalar values (arrays are kept as JSON text).
void flatten(const Json& j, const std::string& prefix, std::vector<KeyValue>& out) {
    for (const auto& [key, value] : j.items()) {
        std::string name = prefix;
        if (!name.empty()) {
            name += '.';
        }
        name += key;
        if (value.is_object()) {
            flatten(value, name, out);
        } else if (value.is_boolean()) {
            out.push_back({name, value.get<bool>()});
        } else if (value.is_number_integer()) {
            out.push_back({name, value.get<std::int64_t>()});
        } else if (value.is_number()) {
            out.push_back({name, value.get<double>()});
        } else if (value.is_string()) {
            out.push_back({name, value.get<std::string>()});
        } else if (value.is_null()) {
            out.push_back({name, TemplateValue()});
        } else {
            out.push_back({name, value.dump()});
        }
    }
}

std::string iso_time(Time t) {
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch());
    const std::time_t seconds = static_cast<std::time_t>(ms.count() / 1000);
    std::tm tm{};
    gmtime_r(&seconds, &tm);
    return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}+00:00", tm.tm_year + 1900,
                       tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                       ms.count() % 1000);
}

Time from_tm(std::tm tm) {
    return std::chrono::system_clock::from_time_t(timegm(&tm));
}

// "YYYY-MM-DD" or "YYYY-MM-DDTHH:MM:SS" with an optional fraction and "Z" or "+00:00".
std::optional<Time> parse_time(std::string_view text) {
    auto number = [&](std::size_t pos, std::size_t len, int& out) {
        if (text.size() < pos + len) {
            return false;
        }
        const char* first = text.data() + pos;
        const auto [end, ec] = std::from_chars(first, first + len, out);
        return ec == std::errc() && end == first + len;
    };
    std::tm tm{};
    if (!number(0, 4, tm.tm_year) || text.size() < 10 || text[4] != '-' || text[7] != '-' ||
        !number(5, 2, tm.tm_mon) || !number(8, 2, tm.tm_mday)) {
        return std::nullopt;
    }
    std::string_view rest = text.substr(10);
    if (!rest.empty()) {
        if (rest.size() < 9 || rest[0] != 'T' || rest[3] != ':' || rest[6] != ':' ||
            !number(11, 2, tm.tm_hour) || !number(14, 2, tm.tm_min) || !number(17, 2, tm.tm_sec)) {
            return std::nullopt;
        }
        rest.remove_prefix(9);
        if (!rest.empty() && rest.front() == '.') {
            rest.remove_prefix(1);
            while (!rest.empty() && std::isdigit(static_cast<unsigned char>(rest.front())) != 0) {
                rest.remove_prefix(1);
            }
        }
        if (!rest.empty() && rest != "Z" && rest != "+00:00") {
            return std::nullopt;
        }
    }
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    if (tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 ||
        tm.tm_min > 59 || tm.tm_sec > 60) {
        return std::nullopt;
    }
    return from_tm(tm);
}

// Never throws: text that is not UTF-8 (a template may hold anything) is replaced.
std::string dump(const Json& j) {
    return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

void append_json_string(std::string& out, std::string_view s) {
    out += '"';
    for (const char c : s) {
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\r':
                out += "\\r";
                break;
            case '\t':
                out += "\\t";
                break;
            default:
                if (static_cast<unsigned char>(c) < 0x20) {
                    out += fmt::format("\\u{:04x}", static_cast<unsigned>(c));
                } else {
                    out += c;
                }
        }
    }
    out += '"';
}

// The fields every node record has; nodeAttributes cannot replace them.
const std::set<std::string, std::less<>> k_node_fields{
    "Name",      "NodeId",     "Template",         "MachineType",   "Status",       "TargetState",
    "State",     "Region",     "Interruptible",    "KeepAlive",     "CoreCount",    "Hostname",
    "PrivateIp", "InstanceId", "PlacementGroupId", "StatusMessage", "Configuration"};

HttpResponse json_response(int status, const Json& body) {
    HttpResponse r;
    r.status = status;
    r.body = dump(body);
    return r;
}

HttpResponse error_response(int status, const std::string& message) {
    return json_response(status, Json{{"code", status}, {"message", message}});
}

// Model errors to status codes: invalid input 409, unknown things 404.
HttpResponse error_response(const Error& error) {
    const int status = error.kind == ErrorKind::k_not_found ? 404
                       : error.kind == ErrorKind::k_usage   ? 409
                                                            : 500;
    return error_response(status, error.describe());
}

// Reads a body that must be a JSON object; the content type is ignored, as CycleCloud does.
Result<Json> json_body(const HttpRequest& request) {
    Json j = Json::parse(request.body, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) {
        return make_error(ErrorKind::k_usage, "the request body is not JSON");
    }
    if (!j.is_object()) {
        return make_error(ErrorKind::k_usage, "the request body must be a JSON object");
    }
    return j;
}

Error bad_field(const std::string& where, const std::string& what) {
    return make_error(ErrorKind::k_usage, where + " " + what);
}

// Optional typed fields of an object; errors name the field ("sets[0].count").
template <typename T>
Status read_field(const Json& object, const char* key, const std::string& where,
                  std::optional<T>& out) {
    const auto it = object.find(key);
    if (it == object.end() || it->is_null()) {
        return ok_status();
    }
    const std::string name = where + key;
    if constexpr (std::is_same_v<T, std::string>) {
        if (!it->is_string()) {
            return bad_field(name, "must be a string");
        }
    } else if constexpr (std::is_same_v<T, bool>) {
        if (!it->is_boolean()) {
            return bad_field(name, "must be true or false");
        }
    } else {
        if (!it->is_number_integer()) {
            return bad_field(name, "must be a whole number");
        }
    }
    out = it->get<T>();
    return ok_status();
}

Status read_strings(const Json& object, const char* key, std::vector<std::string>& out) {
    const auto it = object.find(key);
    if (it == object.end() || it->is_null()) {
        return ok_status();
    }
    if (!it->is_array()) {
        return bad_field(key, "must be an array of strings");
    }
    for (const auto& v : *it) {
        if (!v.is_string()) {
            return bad_field(key, "must be an array of strings");
        }
        out.push_back(v.get<std::string>());
    }
    return ok_status();
}

Result<CreateSet> parse_set(const Json& j, std::size_t index) {
    const std::string where = fmt::format("sets[{}].", index);
    if (!j.is_object()) {
        return bad_field(where.substr(0, where.size() - 1), "must be an object");
    }
    CreateSet set;
    std::optional<std::string> nodearray;
    std::optional<std::int64_t> count;
    std::optional<std::string> name_format;
    std::optional<std::string> placement_group;
    for (Status st :
         {read_field(j, "nodearray", where, nodearray), read_field(j, "count", where, count),
          read_field(j, "nameFormat", where, name_format),
          read_field(j, "nameOffset", where, set.name_offset),
          read_field(j, "placementGroupId", where, placement_group)}) {
        if (!st) {
            return std::move(st).error();
        }
    }
    if (!nodearray) {
        return bad_field(where + "nodearray", "is required");
    }
    if (!count) {
        return bad_field(where + "count", "is required");
    }
    set.nodearray = *nodearray;
    set.count = *count;
    set.name_format = name_format.value_or("");
    set.placement_group_id = placement_group.value_or("");
    if (const auto def = j.find("definition"); def != j.end() && !def->is_null()) {
        if (!def->is_object()) {
            return bad_field(where + "definition", "must be an object");
        }
        std::optional<std::string> machine_type;
        if (Status st = read_field(*def, "machineType", where + "definition.", machine_type); !st) {
            return std::move(st).error();
        }
        set.machine_type = machine_type.value_or("");
    }
    if (const auto attrs = j.find("nodeAttributes"); attrs != j.end() && !attrs->is_null()) {
        if (!attrs->is_object()) {
            return bad_field(where + "nodeAttributes", "must be an object");
        }
        for (const auto& [key, value] : attrs->items()) {
            if (key == "KeepAlive") {
                if (!value.is_boolean()) {
                    return bad_field(where + "nodeAttributes.KeepAlive", "must be true or false");
                }
                set.keep_alive = value.get<bool>();
            } else if (key == "Configuration") {
                if (!value.is_object()) {
                    return bad_field(where + "nodeAttributes.Configuration", "must be an object");
                }
                flatten(value, "", set.configuration);
            } else if (!value.is_object() && !value.is_array()) {
                std::vector<KeyValue> one;
                flatten(Json{{key, value}}, "", one);
                set.attributes.insert(set.attributes.end(), one.begin(), one.end());
            }
        }
    }
    return set;
}

Result<CreateRequest> parse_create(const Json& j) {
    CreateRequest request;
    std::optional<std::string> request_id;
    if (Status st = read_field(j, "requestId", "", request_id); !st) {
        return std::move(st).error();
    }
    request.request_id = request_id.value_or("");
    const auto sets = j.find("sets");
    if (sets == j.end() || !sets->is_array()) {
        return make_error(ErrorKind::k_usage, "the body needs a \"sets\" array");
    }
    for (std::size_t i = 0; i < sets->size(); ++i) {
        auto set = parse_set((*sets)[i], i);
        if (!set) {
            return std::move(set).error();
        }
        request.sets.push_back(std::move(*set));
    }
    return request;
}

struct ManagementRequest {
    NodeSelector selector;
    std::string request_id;
};

Result<ManagementRequest> parse_management(const Json& j) {
    ManagementRequest out;
    std::optional<std::string> filter;
    std::optional<std::string> request_id;
    for (Status st :
         {read_strings(j, "names", out.selector.names), read_strings(j, "ids", out.selector.ids),
          read_strings(j, "hostnames", out.selector.hostnames),
          read_strings(j, "ip_addresses", out.selector.ip_addresses),
          read_field(j, "filter", "", filter), read_field(j, "requestId", "", request_id)}) {
        if (!st) {
            return std::move(st).error();
        }
    }
    out.selector.filter = filter.value_or("");
    out.request_id = request_id.value_or("");
    return out;
}

Json management_json(const ManagementResult& r) {
    Json nodes = Json::array();
    for (const auto& n : r.nodes) {
        Json j{{"id", n.id}, {"name", n.name}, {"status", n.ok ? "OK" : "Error"}};
        if (!n.ok) {
            j["error"] = n.error;
        }
        nodes.push_back(std::move(j));
    }
    return Json{{"operationId", r.operation_id}, {"nodes", std::move(nodes)}};
}

Json creation_json(const CreateResult& r) {
    Json sets = Json::array();
    for (const auto& s : r.sets) {
        Json j{{"added", s.added}};
        if (!s.message.empty()) {
            j["message"] = s.message;
        }
        sets.push_back(std::move(j));
    }
    return Json{{"operationId", r.operation_id}, {"sets", std::move(sets)}};
}

Json bucket_json(const BucketStatus& b, bool with_nodes) {
    const Sku& sku = *b.sku;
    Json groups = Json::array();
    for (const auto& g : b.placement_groups) {
        groups.push_back({{"name", g.name},
                          {"activeCount", g.active_count},
                          {"activeCoreCount", g.active_core_count}});
    }
    Json j{
        {"bucketId", b.bucket_id},
        {"valid", b.valid},
        {"invalidReason", b.invalid_reason},
        {"spotPlacementScore", b.spot_placement_score},
        {"definition", {{"machineType", b.machine_type}}},
        {"virtualMachine",
         {{"vcpuCount", sku.vcpus},
          {"pcpuCount", sku.physical_cores},
          {"gpuCount", sku.gpus},
          {"memory", sku.memory_gb},
          {"infiniband", sku.rdma},
          {"vcpuQuotaCount", sku.vcpus}}},
        {"maxCount", b.max_count},
        {"maxCoreCount", b.max_core_count},
        {"activeCount", b.active_count},
        {"activeCoreCount", b.active_core_count},
        {"availableCount", b.available_count},
        {"availableCoreCount", b.available_core_count},
        {"quotaCount", b.quota_count},
        {"quotaCoreCount", b.quota_core_count},
        {"consumedCoreCount", b.consumed_core_count},
        {"familyQuotaCount", b.family_quota_count},
        {"familyQuotaCoreCount", b.family_quota_core_count},
        {"familyConsumedCoreCount", b.family_consumed_core_count},
        {"regionalQuotaCount", b.regional_quota_count},
        {"regionalQuotaCoreCount", b.regional_quota_core_count},
        {"regionalConsumedCoreCount", b.regional_consumed_core_count},
        {"maxPlacementGroupSize", b.max_placement_group_size},
        {"maxPlacementGroupCoreSize", b.max_placement_group_core_size},
        {"placementGroups", std::move(groups)},
        {"lastCapacityFailure", b.last_capacity_failure},
    };
    if (with_nodes) {
        j["activeNodes"] = b.active_nodes;
    }
    return j;
}

}  // namespace

// ---- the service --------------------------------------------------------------------------

struct ApiService::Impl {
    using Handler = HttpResponse (Impl::*)(const HttpRequest&, const Params&);
    struct Route {
        std::string_view method;
        std::string_view pattern;
        bool api;  // a CycleCloud endpoint: subject to HTTP faults
        Handler handler;
    };

    Impl(ModelRunner& r, Credentials c, ApiOptions o)
        : runner(r),
          credentials(std::move(c)),
          options(std::move(o)),
          injector(options.seed ^ 0x5eedULL, http_counters),
          faults(options.faults) {
        injector.set(faults);
        record_bytes = faults.record_bytes;
        runner.with_model([&](ClusterModel& m, Time now) {
            m.set_faults(faults);
            started = now;
            cluster = m.definition().name;
            for (const auto& array : m.definition().node_arrays) {
                Json record = Json::object();
                for (const auto& kv : array.attributes) {
                    record[kv.key] = template_value_json(kv.value);
                }
                record["Name"] = array.name;
                record["Configuration"] = nested(array.configuration);
                paddings.emplace_back(array.attributes, [](std::string_view key) {
                    return k_node_fields.count(key) != 0;
                });
                array_configuration.push_back(record["Configuration"]);
                array_configuration_text.push_back(dump(record["Configuration"]));
                array_records.push_back(std::move(record));
            }
        });
    }

    static const std::vector<Route>& routes() {
        static const std::vector<Route> table{
            {"GET", "/clusters/{cluster}/status", true, &Impl::get_status},
            {"GET", "/clusters/{cluster}/nodes", true, &Impl::get_nodes},
            {"POST", "/clusters/{cluster}/nodes/create", true, &Impl::create_nodes},
            {"POST", "/clusters/{cluster}/nodes/start", true, &Impl::start_nodes},
            {"POST", "/clusters/{cluster}/nodes/shutdown", true, &Impl::shutdown_nodes},
            {"POST", "/clusters/{cluster}/nodes/terminate", true, &Impl::terminate_nodes},
            {"POST", "/clusters/{cluster}/nodes/deallocate", true, &Impl::deallocate_nodes},
            {"POST", "/clusters/{cluster}/nodes/remove", true, &Impl::remove_nodes},
            {"POST", "/clusters/{cluster}/nodes/restart", true, &Impl::restart_nodes},
            {"POST", "/clusters/{cluster}/nodes/reimage", true, &Impl::reimage_nodes},
            {"GET", "/clusters/{cluster}/nodes/{node}/ghr", true, &Impl::get_ghr},
            {"POST", "/clusters/{cluster}/nodes/{node}/ghr", true, &Impl::post_ghr},
            {"POST", "/clusters/{cluster}/scale/{nodearray}", true, &Impl::scale},
            {"GET", "/operations/{id}", true, &Impl::get_operation},
            {"GET", "/operations", true, &Impl::list_operations},
            {"POST", "/cloud/actions/retry/{cluster}", true, &Impl::retry},
            {"GET", "/clusters/{cluster}/usage", true, &Impl::usage},
            {"GET", "/_emulator/status", false, &Impl::emulator_status},
            {"GET", "/_emulator/faults", false, &Impl::get_faults},
            {"POST", "/_emulator/faults", false, &Impl::post_faults},
        };
        return table;
    }

    static bool match(std::string_view pattern, std::string_view path, Params& params) {
        params.clear();
        while (!pattern.empty() && !path.empty()) {
            if (pattern.front() != '/' || path.front() != '/') {
                return false;
            }
            pattern.remove_prefix(1);
            path.remove_prefix(1);
            const std::string_view p = pattern.substr(0, pattern.find('/'));
            const std::string_view s = path.substr(0, path.find('/'));
            if (p.size() > 2 && p.front() == '{' && p.back() == '}') {
                if (s.empty()) {
                    return false;
                }
                params[std::string(p.substr(1, p.size() - 2))] = std::string(s);
            } else if (p != s) {
                return false;
            }
            pattern.remove_prefix(p.size());
            path.remove_prefix(s.size());
        }
        return pattern.empty() && (path.empty() || path == "/");
    }

    HttpResponse handle(const HttpRequest& request) {
        const Route* route = nullptr;
        bool path_known = false;
        Params params;
        for (const auto& r : routes()) {
            if (match(r.pattern, request.path, params)) {
                path_known = true;
                if (r.method == request.method) {
                    route = &r;
                    break;
                }
            }
        }
        const std::string endpoint =
            route != nullptr ? fmt::format("{} {}", route->method, route->pattern) : "other";
        std::chrono::microseconds size_wait{0};
        HttpResponse response = respond(route, path_known, request, params, size_wait);
        {
            std::lock_guard lock(mutex);
            calls[endpoint] += 1;
            statuses[response.status] += 1;
            if (route != nullptr && route->api) {
                AnswerTally& tally = answers[endpoint];
                tally.count += 1;
                tally.bytes += response.body.size();
                tally.size_wait += size_wait;
            }
        }
        log::debug("{} {} -> {}", request.method, request.path, response.status);
        return response;
    }

    // `size_wait`: the latency-per-mb delay given to the answer.
    HttpResponse respond(const Route* route, bool path_known, const HttpRequest& request,
                         const Params& params, std::chrono::microseconds& size_wait) {
        const std::string user = credentials.user_of(request.authorization);
        if (user.empty()) {
            HttpResponse r = error_response(401, "authentication required (HTTP Basic)");
            r.headers.emplace_back("WWW-Authenticate", "Basic realm=\"cyclecloud-emulator\"");
            return r;
        }
        if (route != nullptr && route->api &&
            std::find(options.users_without_rights.begin(), options.users_without_rights.end(),
                      user) != options.users_without_rights.end()) {
            return error_response(
                403, fmt::format("user {} has no rights on cluster {}", user, cluster));
        }
        if (route == nullptr) {
            return path_known ? error_response(405, fmt::format("{} is not allowed on {}",
                                                                request.method, request.path))
                              : error_response(404, fmt::format("no such endpoint: {} {}",
                                                                request.method, request.path));
        }
        HttpFaultInjector::Decision fault;
        if (route->api) {
            fault = injector.decide();
        }
        if (fault.latency.count() > 0 && !injector.sleep(fault.latency)) {
            return shutting_down();
        }
        if (fault.status == 429) {
            HttpResponse r = error_response(429,
                                            "Too many requests (injected fault); retry "
                                            "after the time in Retry-After");
            r.headers.emplace_back("Retry-After", std::to_string(fault.retry_after.count()));
            return r;
        }
        if (fault.status != 0) {
            return error_response(fault.status, "Service unavailable (injected fault)");
        }
        if (route->pattern.find("{cluster}") != std::string_view::npos &&
            params.at("cluster") != cluster) {
            return error_response(404, fmt::format("cluster {} not found", params.at("cluster")));
        }
        HttpResponse response = (this->*(route->handler))(request, params);
        // Making and sending an answer takes longer the larger it is (the whole answer,
        // before a malformed-json fault cuts it).
        size_wait = size_latency(fault.latency_per_mb, response.body.size());
        if (size_wait.count() > 0 && !injector.sleep(size_wait)) {
            return shutting_down();
        }
        if (fault.malformed && response.content_type == "application/json") {
            response.body.resize(response.body.size() / 2);
        }
        if (fault.hang.count() > 0 && !injector.sleep(fault.hang)) {
            return shutting_down();
        }
        return response;
    }

    static HttpResponse shutting_down() {
        return error_response(503, "the emulator is shutting down");
    }

    // ---- node records ----

    // Node records are written straight into the answer: a status of 10,000 nodes built as
    // a JSON tree first took half a second and hundreds of MB. Each array's Configuration
    // is serialised once, at start.
    // `padded_size`: pad the record to about this size (0: no padding).
    void append_node(std::string& out, const ClusterModel& m, const Node& n,
                     std::size_t padded_size) const {
        const auto& array = m.definition().node_arrays[n.array];
        const std::size_t begin = out.size();
        out += '{';
        auto key = [&](std::string_view k) {
            if (out.back() != '{') {
                out += ',';
            }
            append_json_string(out, k);
            out += ':';
        };
        auto text = [&](std::string_view k, std::string_view v) {
            key(k);
            append_json_string(out, v);
        };
        auto optional = [&](std::string_view k, std::string_view v) {
            if (!v.empty()) {
                text(k, v);
            }
        };
        text("Name", n.name);
        text("NodeId", n.node_id);
        text("Template", array.name);
        text("MachineType", array.machine_types[n.bucket]);
        text("Status", to_string(n.status));
        text("TargetState", to_string(n.target));
        text("State", to_string(n.target));
        text("Region", array.region);
        key("Interruptible");
        out += array.interruptible ? "true" : "false";
        key("KeepAlive");
        out += n.keep_alive ? "true" : "false";
        key("CoreCount");
        out += std::to_string(m.sku_of(n).vcpus);
        optional("Hostname", n.hostname);
        optional("PrivateIp", n.private_ip);
        optional("InstanceId", n.instance_id);
        optional("PlacementGroupId", n.placement_group_id);
        optional("StatusMessage", n.status_message);
        key("Configuration");
        if (n.configuration.empty()) {
            out += array_configuration_text[n.array];
        } else {
            Json configuration = array_configuration[n.array];
            for (const auto& kv : n.configuration) {
                put_nested(configuration, kv.key, template_value_json(kv.value));
            }
            out += dump(configuration);
        }
        for (const auto& kv : n.attributes) {
            if (k_node_fields.count(kv.key) == 0) {
                key(kv.key);
                out += dump(template_value_json(kv.value));
            }
        }
        paddings[n.array].append(out, begin, padded_size, [&](std::string_view k) {
            return std::any_of(n.attributes.begin(), n.attributes.end(),
                               [&](const KeyValue& kv) { return kv.key == k; });
        });
        out += '}';
    }

    // "[node,node,...]" for `nodes`.
    template <typename Nodes, typename Get>
    std::string node_array(const ClusterModel& m, const Nodes& nodes, Get get) const {
        const std::size_t padded = record_bytes.load();
        std::string out = "[";
        out.reserve(nodes.size() * std::max<std::size_t>(1024, padded + 64));
        for (const auto& entry : nodes) {
            if (out.size() > 1) {
                out += ',';
            }
            append_node(out, m, get(entry), padded);
        }
        out += ']';
        return out;
    }

    // ---- CycleCloud endpoints ----

    HttpResponse get_status(const HttpRequest& request, const Params&) {
        const bool with_nodes = request.query_value("nodes").value_or("false") == "true";
        std::string body = runner.with_model([&](ClusterModel& m, Time now) {
            const ClusterStatus s = m.status(now);
            Json arrays = Json::array();
            for (std::size_t a = 0; a < s.node_arrays.size(); ++a) {
                const NodeArrayStatus& array = s.node_arrays[a];
                Json buckets = Json::array();
                for (const auto& b : array.buckets) {
                    buckets.push_back(bucket_json(b, with_nodes));
                }
                arrays.push_back({{"name", array.definition->name},
                                  {"maxCount", array.max_count},
                                  {"maxCoreCount", array.max_core_count},
                                  {"nodearray", array_records[a]},
                                  {"buckets", std::move(buckets)}});
            }
            Json out{{"state", s.state},
                     {"targetState", s.state},
                     {"maxCount", s.max_count},
                     {"maxCoreCount", s.max_core_count},
                     {"nodearrays", std::move(arrays)}};
            std::string text = dump(out);
            if (with_nodes) {
                text.pop_back();  // the closing brace
                text += ",\"nodes\":";
                text += node_array(m, m.nodes(),
                                   [](const auto& entry) -> const Node& { return entry.second; });
                text += '}';
            }
            return text;
        });
        HttpResponse r;
        r.body = std::move(body);
        return r;
    }

    HttpResponse get_nodes(const HttpRequest& request, const Params&) {
        const auto operation = request.query_value("operation");
        const auto request_id = request.query_value("request_id");
        return runner.with_model([&](ClusterModel& m, Time) -> HttpResponse {
            HttpResponse r;
            if (!operation && !request_id) {
                r.body = "{\"nodes\":" +
                         node_array(m, m.nodes(),
                                    [](const auto& entry) -> const Node& { return entry.second; }) +
                         "}";
                return r;
            }
            const Operation* op =
                operation ? m.operation(*operation) : m.operation_by_request(*request_id);
            if (op == nullptr) {
                return error_response(
                    404, operation ? fmt::format("operation {} not found", *operation)
                                   : fmt::format("no operation has requestId {}", *request_id));
            }
            r.body = "{\"nodes\":" +
                     node_array(m, m.operation_nodes(*op),
                                [](const Node* node) -> const Node& { return *node; }) +
                     ",\"operation\":" + dump(operation_json(*op)) + "}";
            return r;
        });
    }

    static Json operation_json(const Operation& op) {
        Json j{{"id", op.id}, {"action", op.action}, {"startTime", iso_time(op.start_time)}};
        if (!op.request_id.empty()) {
            j["requestId"] = op.request_id;
        }
        return j;
    }

    HttpResponse accepted_creation(const Result<CreateResult>& result) {
        if (!result) {
            return error_response(result.error());
        }
        HttpResponse r = json_response(202, creation_json(*result));
        r.headers.emplace_back("Location", location(result->operation_id));
        return r;
    }

    std::string location(const std::string& operation_id) {
        std::lock_guard lock(mutex);
        return base_url + "/operations/" + operation_id;
    }

    HttpResponse create_nodes(const HttpRequest& request, const Params&) {
        auto body = json_body(request);
        if (!body) {
            return error_response(409, body.error().message);
        }
        auto parsed = parse_create(*body);
        if (!parsed) {
            return error_response(409, parsed.error().message);
        }
        return accepted_creation(runner.with_model(
            [&](ClusterModel& m, Time now) { return m.create_nodes(*parsed, now); }));
    }

    HttpResponse manage(NodeAction action, const HttpRequest& request) {
        auto body = json_body(request);
        if (!body) {
            return error_response(409, body.error().message);
        }
        auto parsed = parse_management(*body);
        if (!parsed) {
            return error_response(409, parsed.error().message);
        }
        auto result = runner.with_model([&](ClusterModel& m, Time now) {
            return m.manage(action, parsed->selector, parsed->request_id, now);
        });
        if (!result) {
            return error_response(result.error());
        }
        HttpResponse r = json_response(202, management_json(*result));
        r.headers.emplace_back("Location", location(result->operation_id));
        return r;
    }
    HttpResponse restart_nodes(const HttpRequest& r, const Params&) {
        return manage(NodeAction::k_restart, r);
    }
    HttpResponse reimage_nodes(const HttpRequest& r, const Params&) {
        return manage(NodeAction::k_reimage, r);
    }

    // Guest Health Reports (API): GET tells the node's workload impact (200, no body here),
    // POST submits one (202), once per node (409 after that); 404 for a node that does not
    // exist. Nothing else changes: Azure's handling of a report is outside CycleCloud.
    HttpResponse get_ghr(const HttpRequest&, const Params& params) {
        return runner.with_model([&](ClusterModel& m, Time) {
            if (m.find_node(params.at("node")) == nullptr) {
                return error_response(404, fmt::format("node {} not found", params.at("node")));
            }
            return HttpResponse{200, "", "text/plain", {}};
        });
    }
    HttpResponse post_ghr(const HttpRequest&, const Params& params) {
        return runner.with_model([&](ClusterModel& m, Time) {
            const std::string& node = params.at("node");
            if (m.find_node(node) == nullptr) {
                return error_response(404, fmt::format("node {} not found", node));
            }
            if (!m.submit_health_report(node)) {
                return error_response(
                    409,
                    fmt::format("a Guest Health Report was already submitted for node {}", node));
            }
            return HttpResponse{202, "", "text/plain", {}};
        });
    }
    HttpResponse start_nodes(const HttpRequest& r, const Params&) {
        return manage(NodeAction::k_start, r);
    }
    HttpResponse shutdown_nodes(const HttpRequest& r, const Params&) {
        return manage(NodeAction::k_shutdown, r);
    }
    HttpResponse terminate_nodes(const HttpRequest& r, const Params&) {
        return manage(NodeAction::k_terminate, r);
    }
    HttpResponse deallocate_nodes(const HttpRequest& r, const Params&) {
        return manage(NodeAction::k_deallocate, r);
    }
    HttpResponse remove_nodes(const HttpRequest& r, const Params&) {
        return manage(NodeAction::k_remove, r);
    }

    HttpResponse scale(const HttpRequest& request, const Params& params) {
        std::optional<std::int64_t> totals[2];
        const char* names[2] = {"totalNodeCount", "totalCoreCount"};
        for (int i = 0; i < 2; ++i) {
            const auto text = request.query_value(names[i]);
            if (!text) {
                continue;
            }
            std::int64_t value = 0;
            const auto [end, ec] =
                std::from_chars(text->data(), text->data() + text->size(), value);
            if (ec != std::errc() || end != text->data() + text->size()) {
                return error_response(409, fmt::format("{} must be a whole number", names[i]));
            }
            totals[i] = value;
        }
        if (totals[0].has_value() == totals[1].has_value()) {
            return error_response(409, "give exactly one of totalNodeCount and totalCoreCount");
        }
        auto result = runner.with_model([&](ClusterModel& m, Time now) {
            return m.scale(params.at("nodearray"), totals[0], totals[1], now);
        });
        // The reference gives scale only 202 and 409 (invalid input): an unknown node array
        // is invalid input.
        if (!result && result.error().kind == ErrorKind::k_not_found) {
            return error_response(409, result.error().message);
        }
        return accepted_creation(result);
    }

    HttpResponse get_operation(const HttpRequest&, const Params& params) {
        return runner.with_model([&](ClusterModel& m, Time) {
            const Operation* op = m.operation(params.at("id"));
            if (op == nullptr) {
                return error_response(404, fmt::format("operation {} not found", params.at("id")));
            }
            return json_response(200, operation_json(*op));
        });
    }

    // GET /operations/?request_id=ID: a list of 0 or 1 operations; without a filter, every
    // operation still kept, oldest first.
    HttpResponse list_operations(const HttpRequest& request, const Params&) {
        const auto request_id = request.query_value("request_id");
        return runner.with_model([&](ClusterModel& m, Time) {
            Json list = Json::array();
            if (request_id) {
                if (const Operation* op = m.operation_by_request(*request_id); op != nullptr) {
                    list.push_back(operation_json(*op));
                }
            } else {
                for (const Operation* op : m.operations()) {
                    list.push_back(operation_json(*op));
                }
            }
            return json_response(200, list);
        });
    }

    HttpResponse retry(const HttpRequest&, const Params&) {
        const ManagementResult r =
            runner.with_model([](ClusterModel& m, Time now) { return m.retry_failed(now); });
        return json_response(200, management_json(r));
    }

    // timeframe: monthToDate (default), lastMonth, weekToDate, custom (with from and to);
    // granularity: total (default), daily, hourly.
    HttpResponse usage(const HttpRequest& request, const Params&) {
        const Time now = runner.clock().now();
        const std::time_t now_t = std::chrono::system_clock::to_time_t(now);
        std::tm today{};
        gmtime_r(&now_t, &today);
        today.tm_hour = today.tm_min = today.tm_sec = 0;
        const std::string timeframe = request.query_value("timeframe").value_or("monthToDate");
        Time from;
        Time to = now;
        if (timeframe == "monthToDate" || timeframe == "lastMonth") {
            std::tm first = today;
            first.tm_mday = 1;
            from = from_tm(first);
            if (timeframe == "lastMonth") {
                to = from;
                first.tm_mon -= 1;
                from = from_tm(first);
            }
        } else if (timeframe == "weekToDate") {
            // "current week, starting Sunday" (API).
            from = from_tm(today) - std::chrono::hours(24 * today.tm_wday);
        } else if (timeframe == "custom") {
            const auto f = parse_time(request.query_value("from").value_or(""));
            const auto t = parse_time(request.query_value("to").value_or(""));
            if (!f || !t || *t < *f) {
                return error_response(400,
                                      "timeframe=custom needs from and to (YYYY-MM-DD or "
                                      "YYYY-MM-DDTHH:MM:SSZ), from before to");
            }
            from = *f;
            to = *t;
        } else {
            return error_response(400, fmt::format("unknown timeframe '{}' (monthToDate, "
                                                   "lastMonth, weekToDate or custom)",
                                                   timeframe));
        }
        const std::string granularity = request.query_value("granularity").value_or("daily");
        std::chrono::seconds step{0};
        if (granularity == "daily") {
            step = std::chrono::hours(24);
        } else if (granularity == "hourly") {
            step = std::chrono::hours(1);
        } else if (granularity != "total") {
            return error_response(400, fmt::format("unknown granularity '{}' (total, daily or "
                                                   "hourly)",
                                                   granularity));
        }
        if (step.count() > 0 && (to - from) / step > 10'000) {
            return error_response(400,
                                  "that is more than 10000 periods; choose a coarser "
                                  "granularity");
        }
        Json periods = Json::array();
        runner.with_model([&](ClusterModel& m, Time) {
            for (Time start = from; start < to || periods.empty();) {
                const Time end = step.count() > 0 ? std::min(to, start + step) : to;
                periods.push_back(usage_json(m.usage(start, end, now)));
                if (end <= start) {
                    break;
                }
                start = end;
            }
        });
        return json_response(200, Json{{"usage", std::move(periods)}});
    }

    // ClusterUsage (API): `hours` are core-hours; the total's category is "cluster";
    // priority Regular or Spot, os Windows or Linux.
    static Json usage_json(const UsageReport& r) {
        std::map<std::string, Json> by_array;
        for (const auto& line : r.lines) {
            Json& entry = by_array[line.nodearray];
            if (entry.is_null()) {
                entry = {{"category", "nodearray"},
                         {"node", line.nodearray},
                         {"hours", 0.0},
                         {"cost", 0.0},
                         {"details", Json::array()}};
            }
            entry["hours"] = entry["hours"].get<double>() + line.core_hours;
            entry["cost"] = entry["cost"].get<double>() + line.cost;
            entry["details"].push_back({{"vm_size", line.machine_type},
                                        {"region", line.region},
                                        {"priority", line.spot ? "Spot" : "Regular"},
                                        {"os", "Linux"},
                                        {"core_count", line.core_count},
                                        {"hours", line.core_hours},
                                        {"cost", line.cost}});
        }
        Json breakdown = Json::array();
        for (auto& [name, entry] : by_array) {
            breakdown.push_back(std::move(entry));
        }
        return {{"start", iso_time(r.start)},
                {"end", iso_time(r.end)},
                {"total", {{"category", "cluster"}, {"hours", r.core_hours}, {"cost", r.cost}}},
                {"breakdown", std::move(breakdown)}};
    }

    // ---- control endpoints ----

    Json faults_json() {
        std::lock_guard lock(mutex);
        const FaultSettings& f = faults;
        return {{"http-5xx", f.http_5xx_rate},
                {"http-429", f.http_429_rate},
                {"retry-after", f.retry_after.count()},
                {"latency", fmt::format("{}ms", f.latency.count())},
                {"hang", f.hang_rate},
                {"hang-time", fmt::format("{}ms", f.hang_time.count())},
                {"malformed-json", f.malformed_json_rate},
                {"latency-per-mb", fmt::format("{}ms", f.latency_per_mb.count())},
                {"record-bytes", f.record_bytes},
                {"capacity", f.capacity},
                {"acquire-stall", f.acquire_stall},
                {"quota", f.quota},
                {"azure-quota", f.azure_quota},
                {"prepare-fail", f.prepare_fail_rate},
                {"no-slurmd", f.no_slurmd_rate},
                {"deallocate-fail", f.deallocate_fail_rate},
                {"evict-rate", f.evict_rate}};
    }

    HttpResponse emulator_status(const HttpRequest&, const Params&) {
        Json body = runner.with_model([&](ClusterModel& m, Time now) {
            Json by_status = Json::object();
            const auto counts = m.count_by_status();
            for (std::size_t i = 0; i < counts.size(); ++i) {
                by_status[std::string(to_string(static_cast<NodeStatus>(i)))] = counts[i];
            }
            Json injected = Json::object();
            for (std::size_t i = 0; i < k_fault_kind_count; ++i) {
                const auto kind = static_cast<FaultKind>(i);
                injected[std::string(to_string(kind))] =
                    http_counters.get(kind) + m.fault_counts()[i];
            }
            Json creates = Json::object();
            for (const auto& [array, c] : m.creates_by_array()) {
                creates[array] = {{"requests", c.requests}, {"nodes", c.nodes}};
            }
            return Json{
                {"cluster", m.definition().name},
                {"createsByNodearray", std::move(creates)},
                {"backend", options.backend},
                {"uptimeSeconds", std::chrono::duration<double>(now - started).count()},
                {"nodes", {{"total", m.nodes().size()}, {"byStatus", std::move(by_status)}}},
                {"faultsInjected", std::move(injected)}};
        });
        {
            std::lock_guard lock(mutex);
            body["url"] = base_url;
            Json per_endpoint = Json::object();
            for (const auto& [endpoint, n] : calls) {
                per_endpoint[endpoint] = n;
            }
            body["apiCalls"] = std::move(per_endpoint);
            Json per_status = Json::object();
            for (const auto& [status, n] : statuses) {
                per_status[std::to_string(status)] = n;
            }
            body["responses"] = std::move(per_status);
            Json per_answer = Json::object();
            for (const auto& [endpoint, tally] : answers) {
                per_answer[endpoint] = {
                    {"count", tally.count},
                    {"bytes", tally.bytes},
                    {"sizeLatencyMs",
                     std::chrono::duration<double, std::milli>(tally.size_wait).count()}};
            }
            body["answers"] = std::move(per_answer);
        }
        body["faults"] = faults_json();
        return json_response(200, body);
    }

    HttpResponse get_faults(const HttpRequest&, const Params&) {
        return json_response(200, faults_json());
    }

    HttpResponse post_faults(const HttpRequest& request, const Params&) {
        // Ordered: {"KIND": VALUE, ...} is applied in the order written, as a list is.
        const nlohmann::ordered_json j =
            nlohmann::ordered_json::parse(request.body, nullptr, /*allow_exceptions=*/false);
        std::vector<std::string> specs;
        if (j.is_array()) {
            for (const auto& v : j) {
                if (!v.is_string()) {
                    return error_response(400,
                                          "expected [\"KIND=VALUE\", ...] or {\"KIND\": "
                                          "VALUE, ...}");
                }
                specs.push_back(v.get<std::string>());
            }
        } else if (j.is_object()) {
            for (const auto& [kind, value] : j.items()) {
                specs.push_back(kind + "=" +
                                (value.is_string() ? value.get<std::string>() : value.dump()));
            }
        } else {
            return error_response(400, "expected [\"KIND=VALUE\", ...] or {\"KIND\": VALUE, ...}");
        }
        std::vector<std::string> evicted;
        auto affected = apply_faults(specs, &evicted);
        if (!affected) {
            return error_response(400, affected.error().message);
        }
        Json body = faults_json();
        return json_response(
            200, Json{{"faults", std::move(body)}, {"evicted", evicted}, {"nodes", *affected}});
    }

    // Applies the specs in the order written: a setting is in force for the one-shot faults
    // after it, not for those before. All or nothing: every spec is read first, and the
    // one-shot faults are tried on a copy of the model, so that a bad spec or a one-shot
    // fault that finds no node changes nothing. Returns the nodes the one-shot faults
    // changed; `evicted` gets those evicted at once.
    Result<std::vector<std::string>> apply_faults(const std::vector<std::string>& specs,
                                                  std::vector<std::string>* evicted = nullptr) {
        struct Step {
            FaultSettings settings;  // in force from this spec on
            std::optional<OneShotFault> one_shot;
        };
        std::vector<Step> steps;
        FaultSettings next;
        {
            std::lock_guard lock(mutex);
            next = faults;
        }
        for (const auto& spec : specs) {
            auto r = apply_fault_spec(spec, next);
            if (!r) {
                return std::move(r).error();
            }
            steps.push_back({next, *r});
        }
        auto applied =
            runner.with_model([&](ClusterModel& m, Time now) -> Result<std::vector<std::string>> {
                const bool one_shots = std::any_of(steps.begin(), steps.end(), [](const Step& s) {
                    return s.one_shot.has_value();
                });
                if (!one_shots) {
                    m.set_faults(next);
                    return std::vector<std::string>{};
                }
                ClusterModel trial = m;
                std::vector<std::string> affected;
                std::vector<std::string> gone;
                for (const auto& step : steps) {
                    trial.set_faults(step.settings);
                    if (!step.one_shot) {
                        continue;
                    }
                    auto names = trial.inject(*step.one_shot, now);
                    if (!names) {
                        return std::move(names).error();
                    }
                    affected.insert(affected.end(), names->begin(), names->end());
                    if (step.one_shot->kind == OneShotKind::k_evict) {
                        gone.insert(gone.end(), names->begin(), names->end());
                    }
                }
                m = std::move(trial);
                if (evicted != nullptr) {
                    *evicted = std::move(gone);
                }
                return affected;
            });
        if (!applied) {
            return applied;
        }
        {
            std::lock_guard lock(mutex);
            faults = next;
        }
        record_bytes = next.record_bytes;
        injector.set(next);
        return applied;
    }

    ModelRunner& runner;
    Credentials credentials;
    ApiOptions options;
    FaultCounters http_counters;
    HttpFaultInjector injector;

    std::mutex mutex;  // guards what follows
    FaultSettings faults;
    std::string base_url;
    std::map<std::string, std::uint64_t> calls;
    std::map<int, std::uint64_t> statuses;
    // API answers per endpoint: how many, their bytes and the latency-per-mb delay they got.
    struct AnswerTally {
        std::uint64_t count = 0;
        std::uint64_t bytes = 0;
        std::chrono::microseconds size_wait{0};
    };
    std::map<std::string, AnswerTally> answers;
    std::atomic<std::size_t> record_bytes{0};  // faults.record_bytes, read without the mutex

    Time started;
    std::string cluster;
    std::vector<Json> array_records;        // the nodearray record of each array
    std::vector<Json> array_configuration;  // its Configuration, the base of each node's
    std::vector<std::string> array_configuration_text;  // the same as JSON text
    std::vector<RecordPadding> paddings;                // of each array's node records
};

ApiService::ApiService(ModelRunner& runner, Credentials credentials, ApiOptions options)
    : m_impl(std::make_unique<Impl>(runner, std::move(credentials), std::move(options))) {}

ApiService::~ApiService() = default;

HttpResponse ApiService::handle(const HttpRequest& request) {
    return m_impl->handle(request);
}

void ApiService::set_base_url(std::string url) {
    std::lock_guard lock(m_impl->mutex);
    m_impl->base_url = std::move(url);
}

void ApiService::release_waiters() {
    m_impl->injector.release_all();
}

std::string fault_request_body(const std::vector<std::string>& specs) {
    return Json(specs).dump();
}

Result<std::vector<std::string>> ApiService::apply_faults(const std::vector<std::string>& specs) {
    return m_impl->apply_faults(specs);
}

}  // namespace cb::emulator
