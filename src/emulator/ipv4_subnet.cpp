#include "emulator/ipv4_subnet.h"

#include <charconv>

namespace cb::emulator {

namespace {

// Parses a decimal number in [0, max] that makes up all of `text`.
bool parse_number(std::string_view text, std::uint32_t max, std::uint32_t& out) {
    if (text.empty() || text.size() > 3) {
        return false;
    }
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    return ec == std::errc() && end == text.data() + text.size() && out <= max;
}

Error bad_subnet(std::string_view text, std::string_view why) {
    return make_error(ErrorKind::k_config,
                      "invalid subnet '" + std::string(text) + "': " + std::string(why));
}

}  // namespace

std::string Ipv4Subnet::to_string() const {
    return format_ipv4(network) + "/" + std::to_string(prefix_length);
}

Ipv4Subnet emulator_address_range() {
    return Ipv4Subnet{(198u << 24) | (18u << 16), 15};
}

Result<Ipv4Subnet> parse_ipv4_subnet(std::string_view text) {
    const auto slash = text.find('/');
    if (slash == std::string_view::npos) {
        return bad_subnet(text, "expected a.b.c.d/len");
    }
    std::uint32_t address = 0;
    std::string_view rest = text.substr(0, slash);
    for (int i = 0; i < 4; ++i) {
        const auto dot = rest.find('.');
        if ((dot == std::string_view::npos) != (i == 3)) {
            return bad_subnet(text, "expected four numbers separated by dots");
        }
        std::uint32_t octet = 0;
        if (!parse_number(rest.substr(0, dot), 255, octet)) {
            return bad_subnet(text, "each address part must be a number from 0 to 255");
        }
        address = (address << 8) | octet;
        rest = dot == std::string_view::npos ? std::string_view() : rest.substr(dot + 1);
    }
    std::uint32_t length = 0;
    if (!parse_number(text.substr(slash + 1), 32, length)) {
        return bad_subnet(text, "the prefix length must be a number from 0 to 32");
    }
    const Ipv4Subnet subnet{address, static_cast<int>(length)};
    const auto host_mask = static_cast<std::uint32_t>(subnet.size() - 1);
    if ((address & host_mask) != 0) {
        return bad_subnet(
            text, "host bits are set; the network address is " + format_ipv4(address & ~host_mask));
    }
    return subnet;
}

std::string format_ipv4(std::uint32_t address) {
    return std::to_string(address >> 24) + "." + std::to_string((address >> 16) & 255) + "." +
           std::to_string((address >> 8) & 255) + "." + std::to_string(address & 255);
}

}  // namespace cb::emulator
