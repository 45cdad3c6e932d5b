#include "core/ssh_public_key.h"

#include <array>
#include <cstdint>
#include <optional>
#include <vector>

namespace cb {

namespace {

// Those OpenSSH 9 writes and accepts (DSA is gone from it).
constexpr std::array<std::string_view, 7> k_key_types = {
    "ssh-ed25519",
    "ssh-rsa",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
};

// Large enough for a 16384-bit RSA key (about 2.8 KB of base64).
constexpr std::size_t k_max_line = std::size_t{16} * 1024;

Error bad_key(const std::string& what) {
    return make_error(ErrorKind::k_invalid_input, what);
}

int base64_value(char c) {
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }
    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }
    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }
    if (c == '+') {
        return 62;
    }
    if (c == '/') {
        return 63;
    }
    return -1;
}

// Standard base64 with padding; nothing if `text` is not that.
std::optional<std::vector<std::uint8_t>> decode_base64(std::string_view text) {
    if (text.empty() || text.size() % 4 != 0) {
        return std::nullopt;
    }
    std::size_t padding = 0;
    while (padding < 2 && text[text.size() - 1 - padding] == '=') {
        ++padding;
    }
    std::vector<std::uint8_t> out;
    std::uint32_t bits = 0;
    int count = 0;
    for (std::size_t i = 0; i < text.size() - padding; ++i) {
        const int v = base64_value(text[i]);
        if (v < 0) {
            return std::nullopt;
        }
        bits = (bits << 6) | static_cast<std::uint32_t>(v);
        count += 6;
        if (count >= 8) {
            count -= 8;
            out.push_back(static_cast<std::uint8_t>((bits >> count) & 0xff));
        }
    }
    return out;
}

// The blob starts with the key type as an SSH string (a 4-byte big-endian length, then it).
bool blob_has_type(const std::vector<std::uint8_t>& blob, std::string_view type) {
    if (blob.size() < 4 + type.size()) {
        return false;
    }
    const std::uint32_t length = (std::uint32_t{blob[0]} << 24) | (std::uint32_t{blob[1]} << 16) |
                                 (std::uint32_t{blob[2]} << 8) | std::uint32_t{blob[3]};
    return length == type.size() &&
           std::string_view(reinterpret_cast<const char*>(blob.data()) + 4, type.size()) == type;
}

bool is_known_type(std::string_view type) {
    for (const auto known : k_key_types) {
        if (type == known) {
            return true;
        }
    }
    return false;
}

std::vector<std::string_view> fields_of(std::string_view line) {
    std::vector<std::string_view> out;
    std::size_t i = 0;
    while (i < line.size()) {
        while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) {
            ++i;
        }
        const std::size_t start = i;
        while (i < line.size() && line[i] != ' ' && line[i] != '\t') {
            ++i;
        }
        if (i > start) {
            out.push_back(line.substr(start, i - start));
        }
    }
    return out;
}

}  // namespace

std::string SshPublicKey::line() const {
    return type + " " + body + (comment.empty() ? "" : " " + comment) + "\n";
}

std::string known_ssh_key_types() {
    std::string out;
    for (const auto type : k_key_types) {
        out += (out.empty() ? "" : ", ") + std::string(type);
    }
    return out;
}

Result<SshPublicKey> parse_ssh_public_key(std::string_view text) {
    if (text.ends_with('\n')) {
        text.remove_suffix(1);
    }
    if (text.empty()) {
        return bad_key("is empty");
    }
    if (text.find('\n') != std::string_view::npos) {
        return bad_key("holds more than one line");
    }
    if (text.size() > k_max_line) {
        return bad_key("holds a line longer than " + std::to_string(k_max_line) + " bytes");
    }
    for (const char c : text) {
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
            return bad_key("holds a control character");
        }
    }
    const std::size_t type_end = text.find(' ');
    const std::string_view type = text.substr(0, type_end);
    if (!is_known_type(type)) {
        return bad_key("does not start with a known key type (" + known_ssh_key_types() + ")");
    }
    std::string_view rest =
        type_end == std::string_view::npos ? std::string_view{} : text.substr(type_end + 1);
    const std::size_t body_end = rest.find(' ');
    const std::string_view body = rest.substr(0, body_end);
    if (body.empty()) {
        return bad_key("has no key after the key type");
    }
    const auto blob = decode_base64(body);
    if (!blob) {
        return bad_key("has a key that is not base64");
    }
    if (!blob_has_type(*blob, type)) {
        return bad_key("has a key that is not a " + std::string(type) + " key");
    }
    std::string_view comment =
        body_end == std::string_view::npos ? std::string_view{} : rest.substr(body_end + 1);
    while (!comment.empty() && comment.back() == ' ') {
        comment.remove_suffix(1);
    }
    return SshPublicKey{std::string(type), std::string(body), std::string(comment)};
}

bool authorizes(std::string_view authorized_keys, const SshPublicKey& key) {
    std::size_t start = 0;
    while (start < authorized_keys.size()) {
        const std::size_t end = std::min(authorized_keys.find('\n', start), authorized_keys.size());
        const auto fields = fields_of(authorized_keys.substr(start, end - start));
        for (std::size_t i = 0; i + 1 < fields.size(); ++i) {
            if (fields[i] == key.type && fields[i + 1] == key.body) {
                return true;
            }
        }
        start = end + 1;
    }
    return false;
}

}  // namespace cb
