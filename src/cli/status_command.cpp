// `cloudburst status`: the running daemon's state in one screen, read over its control socket
// ("status\n" -> one JSON object, daemon/status_report.h). The socket is SlurmUser's, mode
// 0600: root and SlurmUser may ask; the answer holds counts, node array names, reasons and
// job ids, never a secret, and the request can do nothing but read.
#include <CLI/CLI.hpp>

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/text_output.h"
#include "daemon/status_report.h"
#include "util/sanitize.h"
#include "util/unique_fd.h"

namespace cb::cli {

namespace {

using json = nlohmann::json;

// A pass over 10,000 nodes takes a few seconds, and the daemon answers between passes.
constexpr auto k_answer_timeout = std::chrono::seconds(30);

// The daemon's answer to "status" on `socket_path`. Errors (k_io) say whether nothing listens
// (the daemon is down), the socket refused us, or the answer was late, empty or too large.
Result<std::string> read_daemon_status(const std::string& socket_path) {
    sockaddr_un addr{};
    if (socket_path.size() >= sizeof addr.sun_path) {
        return make_error(ErrorKind::k_config, "paths.socket is too long: " + socket_path);
    }
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, socket_path.c_str(), socket_path.size() + 1);
    const UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (fd.get() < 0) {
        return make_error(ErrorKind::k_io, std::string("socket: ") + std::strerror(errno));
    }
    if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
        const int err = errno;
        if (err == EACCES || err == EPERM) {
            return make_error(ErrorKind::k_io,
                              "cannot ask cloudburstd for its status: permission denied on " +
                                  socket_path +
                                  " (run `cloudburst status` as root or as "
                                  "slurm.user)");
        }
        return make_error(ErrorKind::k_io, "cloudburstd is not running: nothing answers on " +
                                               socket_path + " (" + std::strerror(err) +
                                               "); start it (systemctl start cloudburstd) and see "
                                               "`cloudburst doctor`");
    }
    const std::string request = "status\n";
    if (::send(fd.get(), request.data(), request.size(), MSG_NOSIGNAL) !=
        static_cast<ssize_t>(request.size())) {
        return make_error(ErrorKind::k_io, "cloudburstd closed its socket " + socket_path +
                                               " before the status request was sent");
    }
    std::string answer;
    const auto deadline = std::chrono::steady_clock::now() + k_answer_timeout;
    char buf[65536];
    for (;;) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        pollfd p{fd.get(), POLLIN, 0};
        if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) {
            return make_error(ErrorKind::k_io, "cloudburstd did not answer within " +
                                                   std::to_string(k_answer_timeout.count()) +
                                                   " s on " + socket_path);
        }
        const ssize_t n = ::recv(fd.get(), buf, sizeof buf, 0);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break;
        }
        answer.append(buf, static_cast<std::size_t>(n));
        if (answer.size() > k_max_status_bytes) {
            return make_error(ErrorKind::k_io, "cloudburstd's status answer is larger than " +
                                                   std::to_string(k_max_status_bytes) +
                                                   " bytes; refused");
        }
    }
    if (answer.empty()) {
        return make_error(ErrorKind::k_io,
                          "cloudburstd closed the connection without a status: it is older than "
                          "this cloudburst (restart it after an upgrade)");
    }
    return answer;
}

std::string duration_text(std::int64_t ms) {
    std::int64_t s = std::max<std::int64_t>(0, ms / 1000);
    const std::int64_t d = s / 86400;
    const std::int64_t h = s % 86400 / 3600;
    const std::int64_t m = s % 3600 / 60;
    s %= 60;
    if (d > 0) {
        return std::to_string(d) + "d " + std::to_string(h) + "h";
    }
    if (h > 0) {
        return std::to_string(h) + "h " + std::to_string(m) + "m";
    }
    return m > 0 ? std::to_string(m) + "m " + std::to_string(s) + "s" : std::to_string(s) + "s";
}

std::string text_of(const json& j, const char* key) {
    const auto it = j.find(key);
    return it != j.end() && it->is_string() ? escaped(it->get<std::string>()) : std::string();
}

std::int64_t int_of(const json& j, const char* key) {
    const auto it = j.find(key);
    return it != j.end() && it->is_number() ? it->get<std::int64_t>() : 0;
}

constexpr const char* k_phases[] = {"idle",    "requested", "creating", "registering",
                                    "running", "stopping",  "failed"};

void print_status(const json& s) {
    const std::int64_t now = int_of(s, "now_ms");
    const json pass = s.value("last_pass", json::object());
    const json counters = s.value("counters", json::object());
    const json api = s.value("api", json::object());
    const json errors_by_class = api.value("errors", json::object());
    const json nodes = s.value("nodes", json::object());
    const json vms = s.value("vms", json::object());
    const json blocked = s.value("blocked", json::array());
    const json gates = s.value("gates", json::object());
    const json jobs = gates.value("jobs", json::array());
    std::cout << text_of(s, "version") << ", pid " << int_of(s, "pid") << ", up "
              << duration_text(now - int_of(s, "started_ms")) << " (since "
              << format_time(int_of(s, "started_ms")) << ")\n";
    std::cout << "config:            " << text_of(s, "config") << " (cluster '"
              << text_of(s, "cluster") << "')\n";
    if (int_of(pass, "started_ms") == 0) {
        std::cout << "last pass:         none yet\n";
    } else {
        const std::string error = text_of(pass, "error");
        std::cout << "last pass:         " << format_time(int_of(pass, "started_ms")) << " ("
                  << duration_text(now - int_of(pass, "started_ms")) << " ago), took "
                  << int_of(pass, "duration_ms") << " ms, "
                  << (error.empty() ? "ok" : "failed: " + error) << "\n";
    }
    std::cout << "passes:            " << int_of(counters, "passes") << ", hook requests "
              << int_of(counters, "requests") << "\n";
    std::cout << "CycleCloud calls:  " << int_of(api, "requests") << " HTTP requests ("
              << int_of(api, "retries") << " retried, " << int_of(api, "throttled")
              << " throttled with 429, " << int_of(api, "paced") << " paced); create "
              << int_of(counters, "create_calls") << " (" << int_of(counters, "nodes_created")
              << " nodes), start " << int_of(counters, "start_calls") << ", shutdown "
              << int_of(counters, "shutdown_calls") << "\n";
    std::string errors;
    for (const auto& [cls, n] : errors_by_class.items()) {
        errors += (errors.empty() ? "" : ", ") + escaped(cls) + " " +
                  std::to_string(n.is_number() ? n.get<long>() : 0);
    }
    std::cout << "errors by class:   " << (errors.empty() ? "none" : errors) << "\n";
    std::cout << "orphans removed:   " << int_of(counters, "orphans_removed") << "\n";
    std::cout << "creates in flight: " << int_of(s, "creates_in_flight") << "\n";

    std::cout << "\nnodes by phase:\n";
    std::vector<std::vector<std::string>> rows{{"  NODEARRAY"}};
    for (const char* p : k_phases) {
        std::string head = p;
        for (auto& c : head) {
            c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        }
        rows[0].push_back(head);
    }
    rows[0].push_back("VMS");
    for (const auto& [array, phases] : nodes.items()) {
        std::vector<std::string> row{"  " + (array.empty() ? "-" : escaped(array))};
        for (const char* p : k_phases) {
            row.push_back(std::to_string(phases.is_object() ? int_of(phases, p) : 0));
        }
        std::string vm_text;
        if (vms.contains(array) && vms[array].is_object()) {
            for (const auto& [status, n] : vms[array].items()) {
                vm_text += (vm_text.empty() ? "" : ", ") + escaped(status) + " " +
                           std::to_string(n.is_number() ? n.get<long>() : 0);
            }
        }
        row.push_back(vm_text.empty() ? "-" : vm_text);
        rows.push_back(std::move(row));
    }
    if (rows.size() == 1) {
        std::cout << "  (no node has been asked for yet)\n";
    } else {
        print_table(rows);
    }

    std::cout << "\nnode arrays blocked:\n";
    bool any = false;
    for (const auto& b : blocked) {
        any = true;
        const std::int64_t until = int_of(b, "until_ms");
        const std::string kind = text_of(b, "kind");
        const bool breaker = kind == "permanent" || b.value("bootstrap", false);
        // A further VM size of an array is held back on its own (core/node_range.h).
        const std::string range = text_of(b, "range");
        const std::string size = text_of(b, "vm_size");
        std::cout << "  " << text_of(b, "nodearray") << (size.empty() ? "" : " " + size)
                  << (range.empty() || range == text_of(b, "nodearray")
                          ? ""
                          : " (nodes " + range + "-N)")
                  << ": " << (breaker ? "breaker open" : "backed off") << " (" << kind
                  << ", failure " << int_of(b, "failures") << "), "
                  << (until > now ? "no create call before " + format_time(until)
                                  : std::string("probing again since ") + format_time(until))
                  << "\n    " << text_of(b, "reason") << "\n";
    }
    if (!any) {
        std::cout << "  none\n";
    }
    std::cout << "\njobs held by the prolog gate: " << int_of(gates, "waiting") << "\n";
    for (const auto& g : jobs) {
        std::cout << "  job " << text_of(g, "job") << " (" << int_of(g, "nodes")
                  << " nodes) waiting since " << format_time(int_of(g, "since_ms")) << "\n";
    }
}

Result<int> run_status(bool as_json) {
    auto config = load_global_config(PasswordUse::k_skip);
    if (!config) {
        return config.error();
    }
    auto answer = read_daemon_status(config->paths.socket);
    if (!answer) {
        return answer.error();
    }
    const json status = json::parse(*answer, nullptr, false);
    if (!status.is_object() || !status.contains("version")) {
        return make_error(ErrorKind::k_io, "cloudburstd answered on " + config->paths.socket +
                                               " with something that is not a status report");
    }
    if (as_json) {
        std::cout << status.dump(2, ' ', false, json::error_handler_t::replace) << "\n";
    } else {
        print_status(status);
    }
    return 0;
}

}  // namespace

std::vector<CommandSpec> status_commands() {
    return {{"status",
             "the running daemon: passes, CycleCloud calls and errors, nodes per phase, "
             "blocked node arrays, waiting jobs",
             [](CLI::App& app) {
                 auto as_json = std::make_shared<bool>(false);
                 app.add_flag("--json", *as_json, "print the daemon's status report as JSON");
                 return std::function<Result<int>()>([as_json] { return run_status(*as_json); });
             }}};
}

}  // namespace cb::cli
