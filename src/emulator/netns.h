// Linux network plumbing for emulated VMs: named network namespaces (/run/netns/NAME, as
// `ip netns` makes them), links, and the processes that live in a namespace. Changes are
// made by running /usr/sbin/ip without a shell; lookups read /run/netns and /proc directly.
// Needs root. Every "delete" here is idempotent: deleting what does not exist succeeds.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace cb::emulator::netns {

// Runs `ip [-n NAMESPACE] -batch -` with one `ip` command per line of `commands`, stopping
// at the first that fails. An empty `netns` runs them in our own namespace. Errors: k_io
// with ip's own message.
Status ip_batch(std::string_view netns, const std::vector<std::string>& commands);

// `ip netns add NAME`. Errors: k_io (including when it exists already).
Status add_namespace(const std::string& name);

bool namespace_exists(const std::string& name);
bool link_exists(const std::string& name);  // in our own namespace

// Names in /run/netns, or links in our namespace, that start with `prefix`, sorted.
std::vector<std::string> list_namespaces(std::string_view prefix);
std::vector<std::string> list_links(std::string_view prefix);

// Live processes whose network namespace is NAME (zombies have none and are not listed).
std::vector<pid_t> pids_in_namespace(const std::string& name);

// SIGKILLs every process in the namespace, again and again until none is left (processes
// may fork meanwhile). Errors: k_io if some are still alive after `patience`.
Status kill_namespace_processes(const std::string& name,
                                std::chrono::milliseconds patience = std::chrono::seconds(5));
// The same for the namespace an open file descriptor refers to (/run/netns/NAME opened
// earlier): it still finds the processes once NAME is deleted.
Status kill_namespace_processes(int netns_fd,
                                std::chrono::milliseconds patience = std::chrono::seconds(5));

// Kills the namespace's processes, then unmounts and removes /run/netns/NAME; the kernel
// frees the namespace, and the interfaces inside it, when nothing refers to it any more.
Status delete_namespace(const std::string& name);

// `ip link del NAME` if it exists (for a veth, this removes both ends).
Status delete_link(const std::string& name);

// Keeps the host out of the traffic on link NAME (a bridge with no address of the host): it
// answers no ARP request arriving there, for any address of its own (arp_ignore 8), and has
// no IPv6 address on it. Errors: k_io naming the setting that could not be written.
Status keep_host_off_link(const std::string& name);

}  // namespace cb::emulator::netns
