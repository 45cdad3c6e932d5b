#include "emulator/netns.h"

#include <dirent.h>
#include <fcntl.h>
#include <net/if.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <thread>

#include "util/process.h"

namespace cb::emulator::netns {

namespace {

constexpr const char* k_ip = "/usr/sbin/ip";
constexpr const char* k_netns_dir = "/run/netns";

using Clock = std::chrono::steady_clock;

std::string trimmed(std::string text) {
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back())) != 0) {
        text.pop_back();
    }
    return text;
}

// Runs ip with `args`; a non-zero exit is an error carrying ip's stderr.
Status run_ip(std::vector<std::string> args, std::string input = {}) {
    args.insert(args.begin(), k_ip);
    Command command{args, {}, std::move(input), std::chrono::seconds(20)};
    auto out = run_command(command);
    if (!out) {
        return std::move(out).error();
    }
    if (!out->ok()) {
        std::string shown;
        for (const auto& a : args) {
            shown += (shown.empty() ? "" : " ") + a;
        }
        return make_error(ErrorKind::k_io, "'" + shown + "' failed: " + trimmed(out->err));
    }
    return ok_status();
}

bool same_file(const struct stat& a, const struct stat& b) {
    return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

}  // namespace

Status ip_batch(std::string_view netns, const std::vector<std::string>& commands) {
    std::string input;
    for (const auto& c : commands) {
        input += c;
        input += '\n';
    }
    std::vector<std::string> args;
    if (!netns.empty()) {
        args = {"-n", std::string(netns)};
    }
    args.emplace_back("-batch");
    args.emplace_back("-");
    if (auto st = run_ip(std::move(args), std::move(input)); !st) {
        return std::move(st).error().with_context(
            netns.empty() ? std::string("configuring the host network")
                          : "configuring network namespace " + std::string(netns));
    }
    return ok_status();
}

Status add_namespace(const std::string& name) {
    return run_ip({"netns", "add", name});
}

bool namespace_exists(const std::string& name) {
    struct stat st {};
    return ::lstat((std::string(k_netns_dir) + "/" + name).c_str(), &st) == 0;
}

bool link_exists(const std::string& name) {
    return ::if_nametoindex(name.c_str()) != 0;
}

std::vector<std::string> list_namespaces(std::string_view prefix) {
    std::vector<std::string> names;
    DIR* dir = ::opendir(k_netns_dir);
    if (dir == nullptr) {
        return names;
    }
    while (const dirent* entry = ::readdir(dir)) {
        const std::string_view name(entry->d_name);
        if (name != "." && name != ".." && name.substr(0, prefix.size()) == prefix) {
            names.emplace_back(name);
        }
    }
    ::closedir(dir);
    std::sort(names.begin(), names.end());
    return names;
}

std::vector<std::string> list_links(std::string_view prefix) {
    std::vector<std::string> names;
    struct if_nameindex* links = ::if_nameindex();
    if (links == nullptr) {
        return names;
    }
    for (const struct if_nameindex* l = links; l->if_index != 0; ++l) {
        const std::string_view name(l->if_name);
        if (name.substr(0, prefix.size()) == prefix) {
            names.emplace_back(name);
        }
    }
    ::if_freenameindex(links);
    std::sort(names.begin(), names.end());
    return names;
}

namespace {

std::vector<pid_t> pids_in(const struct stat& target) {
    std::vector<pid_t> pids;
    DIR* proc = ::opendir("/proc");
    if (proc == nullptr) {
        return pids;
    }
    while (const dirent* entry = ::readdir(proc)) {
        const std::string_view pid_text(entry->d_name);
        if (pid_text.empty() || !std::all_of(pid_text.begin(), pid_text.end(), [](char c) {
                return std::isdigit(static_cast<unsigned char>(c)) != 0;
            })) {
            continue;
        }
        struct stat st {};
        const std::string path = "/proc/" + std::string(pid_text) + "/ns/net";
        if (::stat(path.c_str(), &st) == 0 && same_file(st, target)) {
            pids.push_back(static_cast<pid_t>(std::stol(std::string(pid_text))));
        }
    }
    ::closedir(proc);
    return pids;
}

Status kill_all_in(const struct stat& target, const std::string& what,
                   std::chrono::milliseconds patience) {
    const auto deadline = Clock::now() + patience;
    for (;;) {
        const auto pids = pids_in(target);
        if (pids.empty()) {
            return ok_status();
        }
        if (Clock::now() > deadline) {
            return make_error(ErrorKind::k_io, std::to_string(pids.size()) + " processes in " +
                                                   what + " survived SIGKILL (first: pid " +
                                                   std::to_string(pids.front()) + ")");
        }
        for (const pid_t pid : pids) {
            ::kill(pid, SIGKILL);
        }
        // A killed process leaves the namespace only once the kernel has torn it down.
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
}

}  // namespace

std::vector<pid_t> pids_in_namespace(const std::string& name) {
    struct stat target {};
    if (::stat((std::string(k_netns_dir) + "/" + name).c_str(), &target) != 0) {
        return {};
    }
    return pids_in(target);
}

Status kill_namespace_processes(const std::string& name, std::chrono::milliseconds patience) {
    struct stat target {};
    if (::stat((std::string(k_netns_dir) + "/" + name).c_str(), &target) != 0) {
        return ok_status();
    }
    return kill_all_in(target, "network namespace " + name, patience);
}

Status kill_namespace_processes(int netns_fd, std::chrono::milliseconds patience) {
    struct stat target {};
    if (::fstat(netns_fd, &target) != 0) {
        return make_error(ErrorKind::k_io,
                          std::string("cannot stat a network namespace: ") + std::strerror(errno));
    }
    return kill_all_in(target, "a deleted network namespace", patience);
}

Status delete_namespace(const std::string& name) {
    if (!namespace_exists(name)) {
        return ok_status();
    }
    if (auto st = kill_namespace_processes(name); !st) {
        return st;
    }
    auto st = run_ip({"netns", "del", name});
    return st || !namespace_exists(name) ? ok_status() : st;
}

Status delete_link(const std::string& name) {
    if (!link_exists(name)) {
        return ok_status();
    }
    auto st = run_ip({"link", "del", name});
    return st || !link_exists(name) ? ok_status() : st;
}

Status keep_host_off_link(const std::string& name) {
    struct Setting {
        std::string path;
        std::string_view value;
        bool required;  // disable_ipv6 is missing when the kernel has no IPv6
    };
    const Setting settings[] = {
        {"/proc/sys/net/ipv4/conf/" + name + "/arp_ignore", "8\n", true},
        {"/proc/sys/net/ipv6/conf/" + name + "/disable_ipv6", "1\n", false}};
    for (const auto& [path, value, required] : settings) {
        const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
        if (fd < 0 && errno == ENOENT && !required) {
            continue;
        }
        const ssize_t n = fd < 0 ? -1 : ::write(fd, value.data(), value.size());
        const int err = errno;
        if (fd >= 0) {
            ::close(fd);
        }
        if (n != static_cast<ssize_t>(value.size())) {
            return make_error(ErrorKind::k_io,
                              "cannot write " + path + ": " + std::strerror(n < 0 ? err : EIO));
        }
    }
    return ok_status();
}

}  // namespace cb::emulator::netns
