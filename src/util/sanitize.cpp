#include "util/sanitize.h"

#include <arpa/inet.h>

#include <array>

namespace cb {

namespace {

bool plain_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
}

bool ascii_control(unsigned char c) {
    return c < 0x20 || c == 0x7f;
}

// The length of the control character at `text[i]`: 1 for ASCII, 2 for a C1 control in
// UTF-8 (0xC2 0x80 .. 0xC2 0x9F), 0 for anything else.
std::size_t control_at(std::string_view text, std::size_t i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (ascii_control(c)) {
        return 1;
    }
    if (c == 0xc2 && i + 1 < text.size()) {
        const auto next = static_cast<unsigned char>(text[i + 1]);
        if (next >= 0x80 && next <= 0x9f) {
            return 2;
        }
    }
    return 0;
}

}  // namespace

bool is_plain_name(std::string_view text) {
    if (text.empty() || text.size() > k_max_plain_name) {
        return false;
    }
    for (const char c : text) {
        if (!plain_char(c)) {
            return false;
        }
    }
    return true;
}

bool is_ip_address(std::string_view text) {
    // inet_pton reads up to a NUL: a copy, so that "1.2.3.4\0junk" is not "1.2.3.4".
    if (text.empty() || text.size() > 64 || text.find('\0') != std::string_view::npos) {
        return false;
    }
    const std::string copy(text);
    std::array<unsigned char, 16> addr{};
    return inet_pton(AF_INET, copy.c_str(), addr.data()) == 1 ||
           inet_pton(AF_INET6, copy.c_str(), addr.data()) == 1;
}

std::string without_control_chars(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    bool in_run = false;
    for (std::size_t i = 0; i < text.size();) {
        if (const std::size_t n = control_at(text, i); n > 0) {
            if (!in_run) {
                out += ' ';
            }
            in_run = true;
            i += n;
            continue;
        }
        in_run = false;
        out += text[i++];
    }
    return out;
}

std::string escaped(std::string_view text) {
    static constexpr char k_hex[] = "0123456789abcdef";
    std::string out;
    out.reserve(text.size());
    for (const char c : text) {
        const auto u = static_cast<unsigned char>(c);
        if (c == '\\') {
            out += "\\\\";
        } else if (u >= 0x20 && u < 0x7f) {
            out += c;
        } else {
            out += "\\x";
            out += k_hex[u >> 4];
            out += k_hex[u & 0xf];
        }
    }
    return out;
}

}  // namespace cb
