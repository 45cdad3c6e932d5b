#include "testbed.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <sstream>
#include <thread>

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

Result<CommandOutput> Testbed::slurm(const std::vector<std::string>& argv,
                                     std::chrono::milliseconds timeout) const {
    Command command{argv, minimal_environment(), {}, timeout};
    command.env.push_back("SLURM_CONF=" + slurm_conf());
    auto out = run_command(command);
    if (out && !out->ok()) {
        return make_error(ErrorKind::k_slurm, argv[0] + " exited with " +
                                                  std::to_string(out->exit_code) + ": " + out->err);
    }
    return out;
}

std::string Testbed::node_state(const std::string& node) const {
    auto out = slurm({"/usr/bin/scontrol", "show", "node", "-o", node});
    if (!out) {
        return "";
    }
    const auto at = out->out.find(" State=");
    if (at == std::string::npos) {
        return "";
    }
    const auto begin = at + 7;
    return out->out.substr(begin, out->out.find(' ', begin) - begin);
}

bool Testbed::node_up(const std::string& node) const {
    const std::string state = node_state(node);
    return !state.empty() && state.find("POWERED_DOWN") == std::string::npos &&
           state.find("POWERING_UP") == std::string::npos &&
           state.find("NOT_RESPONDING") == std::string::npos;
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
