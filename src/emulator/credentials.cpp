#include "emulator/credentials.h"

#include <array>

#include <fmt/format.h>

#include "util/files.h"

namespace cb::emulator {

namespace {

constexpr std::string_view k_alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// Compares every byte even after a difference, so timing does not leak the password.
bool same(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) {
        return false;
    }
    unsigned diff = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        diff |= static_cast<unsigned char>(a[i]) ^ static_cast<unsigned char>(b[i]);
    }
    return diff == 0;
}

}  // namespace

std::string base64_encode(std::string_view data) {
    std::string out;
    std::size_t i = 0;
    for (; i + 2 < data.size(); i += 3) {
        const unsigned n = (static_cast<unsigned char>(data[i]) << 16) |
                           (static_cast<unsigned char>(data[i + 1]) << 8) |
                           static_cast<unsigned char>(data[i + 2]);
        for (int shift : {18, 12, 6, 0}) {
            out += k_alphabet[(n >> shift) & 63];
        }
    }
    if (i < data.size()) {
        unsigned n = static_cast<unsigned char>(data[i]) << 16;
        if (i + 1 < data.size()) {
            n |= static_cast<unsigned char>(data[i + 1]) << 8;
        }
        out += k_alphabet[(n >> 18) & 63];
        out += k_alphabet[(n >> 12) & 63];
        out += i + 1 < data.size() ? k_alphabet[(n >> 6) & 63] : '=';
        out += '=';
    }
    return out;
}

bool base64_decode(std::string_view text, std::string& out) {
    out.clear();
    if (text.size() % 4 != 0) {
        return false;
    }
    for (std::size_t i = 0; i < text.size(); i += 4) {
        unsigned n = 0;
        int pad = 0;
        for (std::size_t j = 0; j < 4; ++j) {
            const char c = text[i + j];
            unsigned v = 0;
            if (c == '=' && i + 4 == text.size() && j >= 2) {
                ++pad;
            } else if (const auto pos = k_alphabet.find(c);
                       pos != std::string_view::npos && pad == 0) {
                v = static_cast<unsigned>(pos);
            } else {
                return false;
            }
            n = (n << 6) | v;
        }
        out += static_cast<char>((n >> 16) & 0xff);
        if (pad < 2) {
            out += static_cast<char>((n >> 8) & 0xff);
        }
        if (pad < 1) {
            out += static_cast<char>(n & 0xff);
        }
    }
    return true;
}

Result<Credentials> Credentials::parse(std::string_view text, std::string_view source) {
    Credentials out;
    std::size_t start = 0;
    int line_number = 0;
    while (start < text.size()) {
        ++line_number;
        const std::size_t end = text.find('\n', start);
        std::string_view line =
            text.substr(start, end == std::string_view::npos ? text.size() - start : end - start);
        start = end == std::string_view::npos ? text.size() : end + 1;
        if (!line.empty() && line.back() == '\r') {
            line.remove_suffix(1);
        }
        if (line.empty() || line.front() == '#') {
            continue;
        }
        const auto colon = line.find(':');
        if (colon == std::string_view::npos || colon == 0 || colon + 1 == line.size()) {
            return make_error(ErrorKind::k_config,
                              fmt::format("{}:{}: expected user:password", source, line_number));
        }
        out.m_users.emplace_back(std::string(line.substr(0, colon)),
                                 std::string(line.substr(colon + 1)));
    }
    if (out.m_users.empty()) {
        return make_error(ErrorKind::k_config, fmt::format("{}: no user:password line", source));
    }
    return out;
}

Result<Credentials> Credentials::load(const std::string& path) {
    auto text = read_file(path, 1 << 20);
    if (!text) {
        return std::move(text).error().with_context("reading the credentials file");
    }
    return parse(*text, path);
}

Credentials Credentials::single(std::string user, std::string password) {
    Credentials out;
    out.m_users.emplace_back(std::move(user), std::move(password));
    return out;
}

bool Credentials::check(std::string_view authorization) const {
    return !user_of(authorization).empty();
}

std::string Credentials::user_of(std::string_view authorization) const {
    constexpr std::string_view k_basic = "Basic ";
    if (authorization.substr(0, k_basic.size()) != k_basic) {
        return "";
    }
    std::string decoded;
    if (!base64_decode(authorization.substr(k_basic.size()), decoded)) {
        return "";
    }
    const auto colon = decoded.find(':');
    if (colon == std::string::npos || colon == 0) {
        return "";
    }
    const std::string_view user = std::string_view(decoded).substr(0, colon);
    const std::string_view password = std::string_view(decoded).substr(colon + 1);
    bool ok = false;
    for (const auto& [u, p] : m_users) {
        ok = (u == user && same(password, p)) || ok;
    }
    return ok ? std::string(user) : std::string();
}

}  // namespace cb::emulator
