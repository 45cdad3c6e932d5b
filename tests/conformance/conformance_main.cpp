// Conformance probes: CycleCloud's REST API reference, written down as requests and what the
// reference says about each answer (status code, headers, body shape), run over real HTTPS
// against a started cyclecloud-emulator. The probes are data (probes.json); every probe names
// the part of the reference it comes from. This program only sends them and checks.
//
//   conformance-probes --emulator build/cyclecloud-emulator --probes tests/conformance/probes.json
//                      --source-dir .
//
// Prints one line per probe (PASS or FAIL, with the source and what differed) and exits 1 if
// any probe failed, 2 if the emulator could not be started.
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "util/process.h"

namespace {

using Json = nlohmann::json;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

struct Server {
    std::string url;
    std::string ca;
    std::string user;
    std::string password;
};

std::string read_file(const fs::path& path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

// "key=value" out of the emulator's ready line.
std::string ready_field(const std::string& line, const std::string& key) {
    const auto at = line.find(" " + key + "=");
    if (at == std::string::npos) {
        return "";
    }
    const auto begin = at + key.size() + 2;
    const auto end = line.find(' ', begin);
    return line.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
}

// ${name} replaced by its value; unknown names are left as they are (and will fail).
std::string substitute(std::string text, const std::map<std::string, std::string>& vars) {
    for (const auto& [name, value] : vars) {
        const std::string key = "${" + name + "}";
        for (auto at = text.find(key); at != std::string::npos; at = text.find(key, at)) {
            text.replace(at, key.size(), value);
            at += value.size();
        }
    }
    return text;
}

std::string type_of(const Json& v) {
    if (v.is_number_integer()) {
        return "integer";
    }
    return v.type_name();
}

// Checks `value` against a schema of probes.json (see the "schemas" comment there).
void check_schema(const Json& schema, const Json& value, const std::string& where, const Json& defs,
                  std::vector<std::string>& errors) {
    if (schema.is_string()) {
        const std::string s = schema.get<std::string>();
        if (!s.empty() && s[0] == '$') {
            check_schema(defs.at(s.substr(1)), value, where, defs, errors);
            return;
        }
        bool ok = false;
        if (s == "any") {
            ok = true;
        } else if (s == "string") {
            ok = value.is_string();
        } else if (s == "integer") {
            ok = value.is_number_integer();
        } else if (s == "number") {
            ok = value.is_number();
        } else if (s == "boolean") {
            ok = value.is_boolean();
        } else if (s == "object") {
            ok = value.is_object();
        } else if (s == "array") {
            ok = value.is_array();
        } else if (s == "date-time") {
            static const std::regex k_iso(
                R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:?\d\d))");
            ok = value.is_string() && std::regex_match(value.get<std::string>(), k_iso);
        } else {
            errors.push_back(where + ": the probe names an unknown type " + s);
            return;
        }
        if (!ok) {
            errors.push_back(where + ": expected " + s + ", got " + type_of(value) + " " +
                             value.dump().substr(0, 80));
        }
        return;
    }
    if (schema.contains("enum")) {
        for (const auto& allowed : schema["enum"]) {
            if (allowed == value) {
                return;
            }
        }
        errors.push_back(where + ": " + value.dump() + " is not one of " + schema["enum"].dump());
        return;
    }
    if (schema.contains("const")) {
        if (schema["const"] != value) {
            errors.push_back(where + ": expected " + schema["const"].dump() + ", got " +
                             value.dump().substr(0, 80));
        }
        return;
    }
    if (schema.contains("array")) {
        if (!value.is_array()) {
            errors.push_back(where + ": expected an array, got " + type_of(value));
            return;
        }
        if (schema.contains("min_items") && value.size() < schema["min_items"].get<std::size_t>()) {
            errors.push_back(where + ": expected at least " + schema["min_items"].dump() +
                             " elements, got " + std::to_string(value.size()));
        }
        if (schema.contains("max_items") && value.size() > schema["max_items"].get<std::size_t>()) {
            errors.push_back(where + ": expected at most " + schema["max_items"].dump() +
                             " elements, got " + std::to_string(value.size()));
        }
        for (std::size_t i = 0; i < value.size(); ++i) {
            check_schema(schema["array"], value[i], where + "/" + std::to_string(i), defs, errors);
        }
        return;
    }
    // An object: "required" and "optional" members with their schemas, "absent" names.
    if (!value.is_object()) {
        errors.push_back(where + ": expected an object, got " + type_of(value));
        return;
    }
    const Json required = schema.value("required", Json::object());
    const Json optional = schema.value("optional", Json::object());
    const Json absent = schema.value("absent", Json::array());
    for (const auto& [name, member] : required.items()) {
        if (!value.contains(name)) {
            errors.push_back(std::string(where)
                                 .append(": required member '")
                                 .append(name)
                                 .append("' is missing"));
        } else {
            check_schema(member, value[name], std::string(where).append("/").append(name), defs,
                         errors);
        }
    }
    for (const auto& [name, member] : optional.items()) {
        if (value.contains(name)) {
            check_schema(member, value[name], std::string(where).append("/").append(name), defs,
                         errors);
        }
    }
    for (const auto& name : absent) {
        if (value.contains(name.get<std::string>())) {
            errors.push_back(where + ": member '" + name.get<std::string>() +
                             "' must not be there");
        }
    }
}

std::optional<Json> at_pointer(const Json& body, const std::string& pointer) {
    try {
        return body.at(Json::json_pointer(pointer));
    } catch (const Json::exception&) {
        return std::nullopt;
    }
}

// The weekday of an ISO date ("2026-12-06..."), Sunday = 0.
std::optional<unsigned> weekday_of(const std::string& iso) {
    static const std::regex k_date(R"((\d{4})-(\d\d)-(\d\d).*)");
    std::smatch match;
    if (!std::regex_match(iso, match, k_date)) {
        return std::nullopt;
    }
    const int y = std::stoi(match[1].str());
    const auto m = static_cast<unsigned>(std::stoi(match[2].str()));
    const auto d = static_cast<unsigned>(std::stoi(match[3].str()));
    const std::chrono::year_month_day date{std::chrono::year(y), std::chrono::month(m),
                                           std::chrono::day(d)};
    if (!date.ok()) {
        return std::nullopt;
    }
    return std::chrono::weekday(std::chrono::sys_days(date)).c_encoding();
}

// The "checks" of a probe: values at JSON pointers.
void run_checks(const Json& checks, const Json& body,
                const std::map<std::string, std::string>& vars, std::vector<std::string>& errors) {
    for (const auto& c : checks) {
        const std::string pointer = c.at("pointer");
        const auto value = at_pointer(body, pointer);
        if (!value) {
            errors.push_back(pointer + ": not in the answer");
            continue;
        }
        if (c.contains("equals")) {
            Json expected = c["equals"];
            if (expected.is_string()) {
                expected = substitute(expected.get<std::string>(), vars);
            }
            if (*value != expected) {
                errors.push_back(pointer + ": expected " + expected.dump() + ", got " +
                                 value->dump().substr(0, 120));
            }
        }
        if (c.contains("size") && (!value->is_array() || value->size() != c["size"])) {
            errors.push_back(pointer + ": expected " + c["size"].dump() + " elements, got " +
                             (value->is_array() ? std::to_string(value->size()) : type_of(*value)));
        }
        if (c.contains("min_size") && (!value->is_array() || value->size() < c["min_size"])) {
            errors.push_back(std::string(pointer)
                                 .append(": expected at least ")
                                 .append(c["min_size"].dump())
                                 .append(" elements"));
        }
        if (c.contains("each")) {  // every element's member `each` equals `is`
            const std::string member = c["each"];
            for (const auto& element : *value) {
                if (!element.contains(member) || element[member] != c["is"]) {
                    errors.push_back(std::string(pointer)
                                         .append(": an element's ")
                                         .append(member)
                                         .append(" is ")
                                         .append(element.value(member, Json()).dump())
                                         .append(", not ")
                                         .append(c["is"].dump()));
                    break;
                }
            }
        }
        if (c.contains("weekday")) {
            static const char* const k_days[] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                                 "Thursday", "Friday", "Saturday"};
            const auto day =
                value->is_string() ? weekday_of(value->get<std::string>()) : std::nullopt;
            if (!day || c["weekday"] != k_days[*day]) {
                errors.push_back(pointer + ": " + value->dump() + " is not a " +
                                 c["weekday"].get<std::string>());
            }
        }
    }
}

struct Answer {
    int status = 0;
    httplib::Headers headers;
    std::string body;
};

std::optional<Answer> send(const Server& server, const Json& request,
                           const std::map<std::string, std::string>& vars, std::string& error) {
    httplib::Client client(server.url);
    client.set_ca_cert_path(server.ca.c_str());
    client.enable_server_certificate_verification(true);
    client.set_connection_timeout(10s);
    client.set_read_timeout(30s);
    if (request.value("auth", true)) {
        client.set_basic_auth(server.user.c_str(), server.password.c_str());
    }
    const std::string method = request.value("method", "GET");
    const std::string path = substitute(request.at("path").get<std::string>(), vars);
    std::string body;
    if (request.contains("raw")) {
        body = substitute(request["raw"].get<std::string>(), vars);
    } else if (request.contains("body")) {
        body = substitute(request["body"].dump(), vars);
    }
    const std::string content_type = request.value("content_type", "application/json");
    httplib::Result result =
        method == "POST" ? client.Post(path, body, content_type) : client.Get(path);
    if (!result) {
        error = method + " " + path + ": " + httplib::to_string(result.error());
        return std::nullopt;
    }
    return Answer{result->status, result->headers, result->body};
}

// One try of a probe: the errors (empty: it passed).
std::vector<std::string> try_probe(const Server& server, const Json& probe, const Json& defs,
                                   std::map<std::string, std::string>& vars) {
    std::vector<std::string> errors;
    std::string error;
    const auto answer = send(server, probe.at("request"), vars, error);
    if (!answer) {
        return {error};
    }
    const Json& expect = probe.at("expect");
    if (answer->status != expect.at("status").get<int>()) {
        errors.push_back("status " + std::to_string(answer->status) + ", the reference says " +
                         expect["status"].dump() + " (body: " + answer->body.substr(0, 200) + ")");
        return errors;
    }
    const Json headers = expect.value("headers", Json::object());
    for (const auto& [name, pattern] : headers.items()) {
        const auto it = answer->headers.find(name);
        if (it == answer->headers.end()) {
            errors.push_back("header " + name + " is missing");
        } else if (!std::regex_match(it->second, std::regex(pattern.get<std::string>()))) {
            errors.push_back("header " + name + ": '" + it->second + "' does not match " +
                             pattern.get<std::string>());
        }
    }
    if (!expect.contains("body") && !expect.contains("checks") && !probe.contains("save")) {
        return errors;
    }
    Json body;
    try {
        body = Json::parse(answer->body);
    } catch (const Json::exception& e) {
        errors.push_back(std::string("the body is not JSON: ") + e.what());
        return errors;
    }
    if (expect.contains("body")) {
        check_schema(expect["body"], body, "", defs, errors);
    }
    run_checks(expect.value("checks", Json::array()), body, vars, errors);
    if (errors.empty()) {
        const Json save = probe.value("save", Json::object());
        for (const auto& [name, pointer] : save.items()) {
            const auto value = at_pointer(body, pointer.get<std::string>());
            if (!value) {
                errors.push_back("save " + name + ": " + pointer.get<std::string>() +
                                 " is not in the answer");
            } else {
                vars[name] = value->is_string() ? value->get<std::string>() : value->dump();
            }
        }
    }
    return errors;
}

struct Args {
    std::string emulator;
    std::string probes;
    std::string source_dir;
    std::string only;
};

std::optional<Args> parse_args(int argc, char** argv) {
    Args a;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string flag = argv[i];
        if (flag == "--emulator") {
            a.emulator = argv[i + 1];
        } else if (flag == "--probes") {
            a.probes = argv[i + 1];
        } else if (flag == "--source-dir") {
            a.source_dir = argv[i + 1];
        } else if (flag == "--only") {
            a.only = argv[i + 1];
        } else {
            return std::nullopt;
        }
    }
    if (a.emulator.empty() || a.probes.empty() || a.source_dir.empty()) {
        return std::nullopt;
    }
    return a;
}

}  // namespace

int main(int argc, char** argv) {
    const auto args = parse_args(argc, argv);
    if (!args) {
        std::cerr << "usage: conformance-probes --emulator BIN --probes FILE --source-dir DIR "
                     "[--only PROBE_ID]\n";
        return 2;
    }
    Json suite;
    try {
        suite = Json::parse(read_file(args->probes));
    } catch (const Json::exception& e) {
        std::cerr << args->probes << ": " << e.what() << "\n";
        return 2;
    }

    std::string dir_template = (fs::temp_directory_path() / "cb-conformance-XXXXXX").string();
    if (::mkdtemp(dir_template.data()) == nullptr) {
        std::cerr << "cannot create a temporary directory\n";
        return 2;
    }
    const fs::path dir = dir_template;
    const fs::path source = args->source_dir;
    const std::string cluster = suite.at("cluster");
    cb::SpawnOptions spawn;
    spawn.argv = {fs::absolute(args->emulator).string(),
                  "--state-dir",
                  (dir / "state").string(),
                  "--cluster",
                  cluster,
                  "--template",
                  (source / "templates/slurm-headless.txt").string(),
                  "--skus",
                  (source / "data/azure-skus.json").string(),
                  "--ready-file",
                  (dir / "ready").string()};
    spawn.env = cb::minimal_environment();
    spawn.stdout_path = (dir / "emulator.log").string();
    auto child = cb::ChildProcess::spawn(spawn);
    int exit_code = 0;
    if (!child) {
        std::cerr << "cannot start " << args->emulator << ": " << child.error().describe() << "\n";
        exit_code = 2;
    }
    std::string ready;
    for (const auto deadline = std::chrono::steady_clock::now() + 30s;
         exit_code == 0 && ready.empty() && std::chrono::steady_clock::now() < deadline;) {
        ready = read_file(dir / "ready");
        if (ready.empty()) {
            if (!child->running()) {
                break;
            }
            std::this_thread::sleep_for(50ms);  // waiting for the ready file, with a deadline
        }
    }
    if (exit_code == 0 && ready.empty()) {
        std::cerr << "the emulator did not get ready within 30 s; its log:\n"
                  << read_file(dir / "emulator.log");
        exit_code = 2;
    }
    if (exit_code == 0) {
        Server server{ready_field(ready, "url"), ready_field(ready, "ca"), "", ""};
        const std::string credentials = read_file(ready_field(ready, "credentials"));
        const auto colon = credentials.find(':');
        server.user = credentials.substr(0, colon);
        server.password = credentials.substr(colon + 1);
        while (!server.password.empty() && server.password.back() == '\n') {
            server.password.pop_back();
        }
        std::map<std::string, std::string> vars{{"cluster", cluster}};
        const Json& defs = suite.at("schemas");
        int passed = 0;
        int failed = 0;
        for (const auto& probe : suite.at("probes")) {
            const std::string id = probe.at("id");
            if (!args->only.empty() && id != args->only && !probe.value("setup", false)) {
                continue;
            }
            // "until": the answer may take a while to become what the reference says (a node
            // on its way to Ready): ask again until it does, with a deadline.
            const auto deadline = std::chrono::steady_clock::now() +
                                  std::chrono::seconds(probe.value("until_seconds", 0));
            std::vector<std::string> errors = try_probe(server, probe, defs, vars);
            while (!errors.empty() && std::chrono::steady_clock::now() < deadline) {
                std::this_thread::sleep_for(200ms);  // polling for a condition, with a deadline
                errors = try_probe(server, probe, defs, vars);
            }
            if (errors.empty()) {
                ++passed;
                std::cout << "PASS " << id << "\n";
            } else {
                ++failed;
                std::cout << "FAIL " << id << " [" << probe.at("source").get<std::string>()
                          << "]\n";
                for (const auto& e : errors) {
                    std::cout << "     " << e << "\n";
                }
            }
        }
        std::cout << passed << " probes passed, " << failed << " failed\n";
        exit_code = failed == 0 ? 0 : 1;
    }
    if (child) {
        child->stop();
    }
    std::error_code ec;
    fs::remove_all(dir, ec);
    return exit_code;
}
