// IPv4 subnets for emulated VMs. Emulated VMs only ever get addresses in 198.18.0.0/15
// (RFC 2544's benchmarking range), so a test can never take an address a real network uses.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "util/result.h"

namespace cb::emulator {

// Addresses are in host byte order.
struct Ipv4Subnet {
    std::uint32_t network = 0;  // host bits are zero
    int prefix_length = 32;

    std::uint64_t size() const { return std::uint64_t{1} << (32 - prefix_length); }
    std::uint32_t broadcast() const { return network + static_cast<std::uint32_t>(size() - 1); }
    bool contains(std::uint32_t address) const { return address - network < size(); }
    bool contains(const Ipv4Subnet& other) const {
        return other.prefix_length >= prefix_length && contains(other.network);
    }
    std::string to_string() const;  // "198.18.4.0/24"
};

// The only range emulated VMs and their bridges may use.
Ipv4Subnet emulator_address_range();

// Parses "a.b.c.d/len". Errors (k_config) name the text and what is wrong with it; host bits
// that are set ("198.18.4.7/24") are an error, not silently cleared.
Result<Ipv4Subnet> parse_ipv4_subnet(std::string_view text);

// Dotted quad.
std::string format_ipv4(std::uint32_t address);

}  // namespace cb::emulator
