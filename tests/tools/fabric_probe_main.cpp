// fabric-probe: what an MPI job's first exchange does over IP over InfiniBand, for the system
// tests of the emulator's fabrics (docs/emulator.md, "InfiniBand fabrics"). It runs inside
// emulated VMs, as a job step or in a VM's network namespace, on either Slurm's root: it is
// linked with a static C++ runtime and needs the VM's libc alone.
//
//   fabric-probe address IFACE
//       prints "HOST ADDRESS": this host's name and IFACE's IPv4 address (exit 1 when IFACE
//       has none)
//   fabric-probe peers PORT ADDRESS...
//       opens a TCP connection to PORT of each ADDRESS that is not one of this host's own, at
//       most 5 s each, and prints for each "HOST -> ADDRESS: reached", "HOST -> ADDRESS:
//       reached (port closed)" (the peer's kernel refused it: the network carried the packets
//       both ways) or "HOST -> ADDRESS: WHY" (the error, e.g. "No route to host"); exit 0 when
//       every peer was reached, 1 when one was not
//
// Exit 2 for a command line it cannot read.
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>
#include <string>
#include <vector>

namespace {

constexpr int k_connect_timeout_ms = 5000;

std::string host_name() {
    char name[256] = {};
    if (::gethostname(name, sizeof(name) - 1) != 0) {
        return "?";
    }
    return name;
}

// This host's IPv4 addresses, by interface name.
std::vector<std::pair<std::string, std::string>> ipv4_addresses() {
    std::vector<std::pair<std::string, std::string>> out;
    ifaddrs* list = nullptr;
    if (::getifaddrs(&list) != 0) {
        return out;
    }
    for (const ifaddrs* a = list; a != nullptr; a = a->ifa_next) {
        if (a->ifa_addr == nullptr || a->ifa_addr->sa_family != AF_INET) {
            continue;
        }
        char text[INET_ADDRSTRLEN] = {};
        const auto* in = reinterpret_cast<const sockaddr_in*>(a->ifa_addr);
        if (::inet_ntop(AF_INET, &in->sin_addr, text, sizeof(text)) != nullptr) {
            out.emplace_back(a->ifa_name, text);
        }
    }
    ::freeifaddrs(list);
    return out;
}

// "" when a TCP connection to address:port was made or refused by the peer; else why not.
std::string reach(const std::string& address, int port, bool& refused) {
    refused = false;
    sockaddr_in peer{};
    peer.sin_family = AF_INET;
    peer.sin_port = htons(static_cast<std::uint16_t>(port));
    if (::inet_pton(AF_INET, address.c_str(), &peer.sin_addr) != 1) {
        return "not an IPv4 address";
    }
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return std::strerror(errno);
    }
    int err = 0;
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&peer), sizeof(peer)) != 0) {
        err = errno;
        if (err == EINPROGRESS) {
            pollfd p{fd, POLLOUT, 0};
            const int ready = ::poll(&p, 1, k_connect_timeout_ms);
            if (ready == 0) {
                ::close(fd);
                return "no answer within " + std::to_string(k_connect_timeout_ms / 1000) + " s";
            }
            socklen_t length = sizeof(err);
            if (ready < 0 || ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &length) != 0) {
                err = errno;
            }
        }
    }
    ::close(fd);
    if (err == ECONNREFUSED) {
        refused = true;
        return "";
    }
    return err == 0 ? "" : std::strerror(err);
}

int usage() {
    std::fputs(
        "usage: fabric-probe address IFACE\n"
        "       fabric-probe peers PORT ADDRESS...\n",
        stderr);
    return 2;
}

int address(const std::string& iface) {
    for (const auto& [name, addr] : ipv4_addresses()) {
        if (name == iface) {
            std::printf("%s %s\n", host_name().c_str(), addr.c_str());
            return 0;
        }
    }
    std::fprintf(stderr, "fabric-probe: error: %s has no IPv4 address on %s\n", host_name().c_str(),
                 iface.c_str());
    return 1;
}

int peers(int port, const std::vector<std::string>& addresses) {
    std::set<std::string> own;
    for (const auto& [name, addr] : ipv4_addresses()) {
        own.insert(addr);
    }
    const std::string host = host_name();
    int status = 0;
    for (const auto& peer : addresses) {
        if (own.contains(peer)) {
            continue;
        }
        bool refused = false;
        const std::string why = reach(peer, port, refused);
        if (!why.empty()) {
            status = 1;
        }
        std::printf("%s -> %s: %s\n", host.c_str(), peer.c_str(),
                    why.empty() ? (refused ? "reached (port closed)" : "reached") : why.c_str());
    }
    return status;
}

}  // namespace

int main(int argc, char** argv) {
    const std::vector<std::string> args(argv + 1, argv + argc);
    if (args.size() == 2 && args[0] == "address") {
        return address(args[1]);
    }
    if (args.size() >= 3 && args[0] == "peers") {
        char* end = nullptr;
        const long port = std::strtol(args[1].c_str(), &end, 10);
        if (end == args[1].c_str() || *end != '\0' || port < 1 || port > 65535) {
            return usage();
        }
        return peers(static_cast<int>(port), {args.begin() + 2, args.end()});
    }
    return usage();
}
