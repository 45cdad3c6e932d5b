#include "testbed.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <sstream>
#include <thread>
#include <tuple>

#include "util/files.h"

namespace cb::system_test {

namespace {

const std::string k_script = std::string(CB_SOURCE_DIR) + "/scripts/testbed.sh";

Result<CommandOutput> run_script(std::vector<std::string> args) {
    args.insert(args.begin(), {"/bin/bash", k_script});
    auto out = run_command({args, {}, {}, std::chrono::seconds(150)});
    if (!out) {
        return out;
    }
    if (!out->ok()) {
        return make_error(ErrorKind::k_io, "testbed.sh " + args[2] + " failed (exit " +
                                               std::to_string(out->exit_code) + "):\n" + out->out +
                                               out->err);
    }
    return out;
}

// Parses the "export NAME='value'" lines testbed.sh writes.
std::map<std::string, std::string> parse_env_file(const std::string& text) {
    std::map<std::string, std::string> env;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        const std::string prefix = "export ";
        const auto eq = line.find('=');
        if (line.rfind(prefix, 0) != 0 || eq == std::string::npos) {
            continue;
        }
        std::string value = line.substr(eq + 1);
        if (value.size() >= 2 && value.front() == '\'' && value.back() == '\'') {
            value = value.substr(1, value.size() - 2);
        }
        env[line.substr(prefix.size(), eq - prefix.size())] = value;
    }
    return env;
}

// The value of FIELD in `scontrol show WHAT -o ID`; see Testbed::node_field and job_field.
std::string show_field(const Testbed& testbed, const std::string& what, const std::string& id,
                       const std::string& field) {
    auto out = testbed.slurm({"/usr/bin/scontrol", "show", what, "-o", id});
    if (!out) {
        return "";
    }
    const std::string key = " " + field + "=";
    auto at = out->out.find(key);
    if (at == std::string::npos) {
        return "";
    }
    at += key.size();
    // A node's Reason is free text followed by " [user@time]".
    const auto end =
        what == "node" && field == "Reason" ? out->out.find(" [", at) : out->out.find(' ', at);
    return out->out.substr(at, end == std::string::npos ? std::string::npos : end - at);
}

void print_tail(const std::filesystem::path& file, std::size_t lines) {
    auto text = read_file(file.string());
    if (!text) {
        return;
    }
    const auto all = lines_of(*text);
    std::cerr << "---- " << file.string() << " (last " << lines << " lines)\n";
    for (std::size_t i = all.size() > lines ? all.size() - lines : 0; i < all.size(); ++i) {
        std::cerr << all[i] << "\n";
    }
}

}  // namespace

std::string test_slurm_version() {
    const char* v = std::getenv("CLOUDBURST_TEST_SLURM");
    return v == nullptr || *v == '\0' ? std::string("host") : std::string(v);
}

std::string why_system_tests_cannot_run() {
    if (::geteuid() != 0) {
        return "system tests need root (network namespaces, bridges, Slurm daemons)";
    }
    const std::string helper = std::string(CB_BINARY_DIR) + "/tests/namespace-vms";
    for (const std::string path :
         {"/usr/sbin/slurmctld", "/usr/sbin/slurmd", "/usr/sbin/munged", "/usr/bin/scontrol",
          "/usr/bin/srun", "/usr/sbin/ip", helper.c_str()}) {
        if (::access(path.c_str(), X_OK) != 0) {
            return path + " is missing (scripts/install-deps.sh installs the packages)";
        }
    }
    return "";
}

bool wait_until(std::chrono::milliseconds timeout, const std::function<bool()>& condition) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!condition()) {
        if (std::chrono::steady_clock::now() > deadline) {
            return false;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return true;
}

bool process_alive(pid_t pid) {
    auto stat = read_file("/proc/" + std::to_string(pid) + "/stat", 4096);
    if (!stat) {
        return false;
    }
    const auto paren = stat->rfind(')');
    return paren == std::string::npos || stat->substr(paren + 1, 3) != " Z ";
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        lines.push_back(line);
    }
    return lines;
}

std::vector<pid_t> processes_mentioning(const std::string& text) {
    std::vector<pid_t> pids;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
        const std::string name = entry.path().filename().string();
        if (name.find_first_not_of("0123456789") != std::string::npos) {
            continue;
        }
        const auto pid = static_cast<pid_t>(std::stol(name));
        auto cmdline = read_file(entry.path().string() + "/cmdline", 65536);
        if (pid != ::getpid() && cmdline && cmdline->find(text) != std::string::npos &&
            process_alive(pid)) {
            pids.push_back(pid);
        }
    }
    return pids;
}

Result<std::unique_ptr<Testbed>> Testbed::up(const std::vector<std::string>& args) {
    std::string dir = "/tmp/cb-testbed.XXXXXX";
    if (::mkdtemp(dir.data()) == nullptr) {
        return make_error(ErrorKind::k_io, "cannot create a temporary directory in /tmp");
    }
    std::unique_ptr<Testbed> testbed(new Testbed(dir));
    std::vector<std::string> up_args{"up", dir, "--build", CB_BINARY_DIR};
    if (std::find(args.begin(), args.end(), "--slurm") == args.end()) {
        up_args.insert(up_args.end(), {"--slurm", test_slurm_version()});
    }
    // The emulator's VMs run the real cluster-init (testbed.sh's default);
    // CLOUDBURST_TEST_CLUSTER_INIT=0 starts slurmd directly in every test that does not ask
    // for the cluster-init.
    const char* cluster_init = std::getenv("CLOUDBURST_TEST_CLUSTER_INIT");
    if (cluster_init != nullptr && std::string(cluster_init) == "0" &&
        std::find(args.begin(), args.end(), "--cluster-init") == args.end()) {
        up_args.push_back("--no-cluster-init");
    }
    up_args.insert(up_args.end(), args.begin(), args.end());
    testbed->m_up = true;  // from here on, the destructor runs `down` whatever happens
    auto out = run_script(up_args);
    if (!out) {
        return out.error();
    }
    auto env = read_file(dir + "/testbed.env");
    if (!env) {
        return env.error();
    }
    testbed->m_env = parse_env_file(*env);
    return testbed;
}

Testbed::~Testbed() {
    if (::testing::Test::HasFailure()) {
        print_logs();
    }
    if (auto st = down(); !st) {
        ADD_FAILURE() << st.error().describe();
    }
    std::error_code ignored;
    std::filesystem::remove_all(m_dir, ignored);
}

Status Testbed::down() {
    if (!m_up) {
        return ok_status();
    }
    m_up = false;
    auto out = run_script({"down", m_dir});
    if (!out) {
        return out.error();
    }
    return ok_status();
}

std::string Testbed::env(const std::string& name) const {
    auto it = m_env.find(name);
    return it == m_env.end() ? std::string() : it->second;
}

std::string Testbed::slurm_client(const std::string& name) const {
    const std::string dir = env("CB_TESTBED_SLURM_BIN");
    return (dir.empty() ? std::string("/usr/bin") : dir) + "/" + name;
}

std::string Testbed::slurm_daemon(const std::string& name) const {
    const std::string dir = env("CB_TESTBED_SLURM_SBIN");
    return (dir.empty() ? std::string("/usr/sbin") : dir) + "/" + name;
}

std::vector<std::string> Testbed::with_testbed_slurm(std::vector<std::string> argv) const {
    static const std::vector<std::string> k_clients{
        "scontrol", "sinfo", "squeue", "sbatch", "srun", "salloc", "scancel", "sacct", "sdiag"};
    static const std::vector<std::string> k_daemons{"slurmctld", "slurmd", "munged"};
    if (argv.empty()) {
        return argv;
    }
    for (const auto& [prefix, names, map] :
         {std::tuple{std::string("/usr/bin/"), &k_clients, &Testbed::slurm_client},
          std::tuple{std::string("/usr/sbin/"), &k_daemons, &Testbed::slurm_daemon}}) {
        if (argv[0].rfind(prefix, 0) == 0) {
            const std::string name = argv[0].substr(prefix.size());
            if (std::find(names->begin(), names->end(), name) != names->end()) {
                argv[0] = (this->*map)(name);
            }
        }
    }
    return argv;
}

Result<CommandOutput> Testbed::slurm(const std::vector<std::string>& argv,
                                     std::chrono::milliseconds timeout) const {
    Command command{with_testbed_slurm(argv), minimal_environment(), {}, timeout};
    command.env.push_back("SLURM_CONF=" + slurm_conf());
    auto out = run_command(command);
    if (out && !out->ok()) {
        return make_error(ErrorKind::k_slurm, argv[0] + " exited with " +
                                                  std::to_string(out->exit_code) + ": " + out->err);
    }
    return out;
}

std::string Testbed::node_state(const std::string& node) const {
    return node_field(node, "State");
}

bool Testbed::node_up(const std::string& node) const {
    const std::string state = node_state(node);
    return !state.empty() && state.find("POWERED_DOWN") == std::string::npos &&
           state.find("POWERING_UP") == std::string::npos &&
           state.find("NOT_RESPONDING") == std::string::npos;
}

std::string Testbed::node_field(const std::string& node, const std::string& field) const {
    return show_field(*this, "node", node, field);
}

std::string Testbed::job_field(const std::string& id, const std::string& field) const {
    return show_field(*this, "job", id, field);
}

Result<CommandOutput> Testbed::run_as(RunAs who, const std::vector<std::string>& argv,
                                      std::chrono::milliseconds timeout) const {
    Command command{{}, minimal_environment(), {}, timeout};
    if (who != RunAs::k_root) {
        command.argv = {"/usr/sbin/runuser", "-u", who == RunAs::k_slurm ? k_slurm_user : "nobody",
                        "--"};
    }
    const auto mapped = with_testbed_slurm(argv);
    command.argv.insert(command.argv.end(), mapped.begin(), mapped.end());
    command.env.push_back("SLURM_CONF=" + slurm_conf());
    return run_command(command);
}

std::string Testbed::submit(RunAs who, const std::vector<std::string>& args) const {
    std::vector<std::string> argv{"/usr/bin/sbatch", "--parsable", "-o", "/dev/null"};
    argv.insert(argv.end(), args.begin(), args.end());
    auto out = run_as(who, argv, std::chrono::seconds(30));
    if (!out || !out->ok()) {
        ADD_FAILURE() << "sbatch failed: " << (out ? out->err : out.error().describe());
        return "";
    }
    std::string id = out->out;
    id.erase(id.find_last_not_of(" \n") + 1);
    return id;
}

void Testbed::print_logs() const {
    std::error_code ec;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(m_dir, ec)) {
        if (entry.is_regular_file() && entry.path().extension() == ".log") {
            print_tail(entry.path(), 30);
        }
    }
}

}  // namespace cb::system_test

// ---- Helpers for the burst, heal, failure, security and soak tests -------------------------

namespace cb::system_test {

namespace {

Command emulator_command(const Testbed& testbed, std::vector<std::string> args) {
    std::vector<std::string> argv{std::string(CB_BINARY_DIR) + "/cyclecloud-emulator"};
    argv.insert(argv.end(), args.begin(), args.end());
    for (const auto& [flag, var] : std::vector<std::pair<std::string, std::string>>{
             {"--url", "CB_TESTBED_EMULATOR_URL"},
             {"--credentials", "CB_TESTBED_EMULATOR_CREDENTIALS"},
             {"--ca", "CB_TESTBED_EMULATOR_CA"}}) {
        if (!testbed.env(var).empty()) {
            argv.push_back(flag);
            argv.push_back(testbed.env(var));
        }
    }
    return {argv, minimal_environment(), {}, std::chrono::seconds(20)};
}

bool socket_accepts(const std::string& path) {
    sockaddr_un addr{};
    if (path.size() >= sizeof addr.sun_path) {
        return false;
    }
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return false;
    }
    const bool ok = ::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0;
    ::close(fd);
    return ok;
}

}  // namespace

nlohmann::json emulator_status(const Testbed& testbed) {
    auto out = run_command(emulator_command(testbed, {"status"}));
    if (!out || !out->ok()) {
        return nlohmann::json::object();
    }
    auto status = nlohmann::json::parse(out->out, nullptr, false);
    return status.is_object() ? status : nlohmann::json::object();
}

Status emulator_fault(const Testbed& testbed, const std::vector<std::string>& specs) {
    std::vector<std::string> args{"fault"};
    args.insert(args.end(), specs.begin(), specs.end());
    auto out = run_command(emulator_command(testbed, args));
    if (!out) {
        return out.error();
    }
    if (!out->ok()) {
        return make_error(ErrorKind::k_io, "cyclecloud-emulator fault failed: " + out->err);
    }
    return ok_status();
}

long emulator_api_calls(const nlohmann::json& status, const std::string& endpoint_part) {
    long n = 0;
    if (!status.contains("apiCalls") || !status["apiCalls"].is_object()) {
        return 0;
    }
    for (const auto& [endpoint, count] : status["apiCalls"].items()) {
        if (endpoint.find("/_emulator/") == std::string::npos &&
            endpoint.find(endpoint_part) != std::string::npos && count.is_number()) {
            n += count.get<long>();
        }
    }
    return n;
}

long emulator_vms(const Testbed& testbed) {
    const nlohmann::json status = emulator_status(testbed);
    return status.contains("nodes") ? status["nodes"].value("total", -1L) : -1;
}

long emulator_create_calls(const Testbed& testbed) {
    return emulator_api_calls(emulator_status(testbed), "nodes/create");
}

pid_t daemon_pid(const Testbed& testbed) {
    auto text = read_file(testbed.dir() + "/run/cloudburstd.pid", 64);
    if (!text) {
        return -1;
    }
    char* end = nullptr;
    const long pid = std::strtol(text->c_str(), &end, 10);
    return end != text->c_str() && pid > 0 ? static_cast<pid_t>(pid) : -1;
}

Status start_daemon(const Testbed& testbed) {
    SpawnOptions o;
    const std::string user = k_slurm_user;
    o.argv = {"/usr/bin/setpriv",
              "--reuid=" + user,
              "--regid=" + user,
              "--init-groups",
              std::string(CB_BINARY_DIR) + "/cloudburstd",
              "--config",
              testbed.dir() + "/etc/cloudburst.toml"};
    o.env = minimal_environment();
    o.env.push_back("SLURM_CONF=" + testbed.slurm_conf());
    // testbed.sh made the credential as systemd does; it stays until `down`.
    o.env.push_back("CREDENTIALS_DIRECTORY=" + testbed.dir() + "/credentials");
    o.stdout_path = testbed.dir() + "/log/cloudburstd.out";
    auto child = ChildProcess::spawn(o);
    if (!child) {
        return child.error();
    }
    const pid_t pid = child->pid();
    if (auto st =
            write_file_atomic(testbed.dir() + "/run/cloudburstd.pid", std::to_string(pid) + "\n");
        !st) {
        return st;
    }
    child->release();  // `down` stops it by its pid file, as the one testbed.sh started
    const std::string sock = testbed.dir() + "/cloudburst/cloudburstd.sock";
    if (!wait_until(std::chrono::seconds(30),
                    [&] {
                        int status = 0;
                        if (::waitpid(pid, &status, WNOHANG) == pid) {
                            return true;  // exited: reported below
                        }
                        return socket_accepts(sock);
                    }) ||
        !process_alive(pid)) {
        return make_error(ErrorKind::k_io, "cloudburstd (pid " + std::to_string(pid) +
                                               ") did not start listening on " + sock + " (see " +
                                               testbed.dir() + "/log/cloudburstd.out)");
    }
    return ok_status();
}

Status stop_daemon(const Testbed& testbed, int signal) {
    const pid_t pid = daemon_pid(testbed);
    if (pid <= 0) {
        return make_error(ErrorKind::k_io,
                          "no cloudburstd pid in " + testbed.dir() + "/run/cloudburstd.pid");
    }
    if (::kill(pid, signal) != 0) {
        const int err = errno;
        return make_error(ErrorKind::k_io, "kill(" + std::to_string(pid) + ", " +
                                               std::to_string(signal) + "): " + std::strerror(err));
    }
    if (!wait_until(std::chrono::seconds(20), [&] {
            ::waitpid(pid, nullptr, WNOHANG);  // ours if start_daemon made it
            return !process_alive(pid);
        })) {
        return make_error(ErrorKind::k_io, "cloudburstd (pid " + std::to_string(pid) +
                                               ") still runs 20 s after signal " +
                                               std::to_string(signal));
    }
    return ok_status();
}

std::string daemon_log_path(const Testbed& testbed) {
    return testbed.dir() + "/log/cloudburst/cloudburstd.log";
}

std::string daemon_log(const Testbed& testbed) {
    auto text = read_file(daemon_log_path(testbed));
    return text ? *text : std::string();
}

std::string cyclecloud_password(const Testbed& testbed) {
    auto text = read_file(testbed.dir() + "/etc/cloudburst.password", 4096);
    if (!text) {
        return "";
    }
    std::string password = *text;
    while (!password.empty() && (password.back() == '\n' || password.back() == '\r')) {
        password.pop_back();
    }
    return password;
}

std::vector<std::string> files_containing(const Testbed& testbed, const std::string& secret) {
    std::vector<std::string> found;
    if (secret.empty()) {
        return found;
    }
    const std::filesystem::path log_dir = testbed.dir() + "/log";
    std::error_code ec;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(testbed.dir(), ec)) {
        if (!entry.is_regular_file(ec)) {
            continue;
        }
        const auto& path = entry.path();
        const std::string name = path.filename().string();
        const std::string ext = path.extension().string();
        const bool in_log_dir = path.string().rfind(log_dir.string() + "/", 0) == 0;
        const bool journal = name.rfind("state.db", 0) == 0;
        if (!in_log_dir && ext != ".log" && ext != ".out" && !journal) {
            continue;
        }
        auto text = read_file(path.string(), std::size_t{256} << 20);
        if (text && text->find(secret) != std::string::npos) {
            found.push_back(path.string());
        }
    }
    return found;
}

void expect_no_secret_in_logs(const Testbed& testbed) {
    const std::string password = cyclecloud_password(testbed);
    ASSERT_FALSE(password.empty())
        << "no password in " << testbed.dir() << "/etc/cloudburst.password";
    // The check must be able to fail: it reads the files the daemon and emulator write.
    ASSERT_TRUE(std::filesystem::exists(daemon_log_path(testbed)));
    for (const auto& file : files_containing(testbed, password)) {
        ADD_FAILURE() << "the CycleCloud password appears in " << file;
    }
}

Result<TempDir> TempDir::create(const std::string& prefix) {
    std::string path = "/tmp/" + prefix + ".XXXXXX";
    if (::mkdtemp(path.data()) == nullptr) {
        const int err = errno;
        return make_error(ErrorKind::k_io, "cannot create " + path + ": " + std::strerror(err));
    }
    return TempDir(std::move(path));
}

TempDir::~TempDir() {
    if (!m_path.empty()) {
        std::error_code ignored;
        std::filesystem::remove_all(m_path, ignored);
    }
}

Result<std::string> TempDir::write(const std::string& name, std::string_view text,
                                   mode_t mode) const {
    std::string path = m_path + "/" + name;
    if (auto st = write_file_atomic(path, text, mode, Durability::k_process_crash); !st) {
        return st.error();
    }
    return path;
}

}  // namespace cb::system_test
