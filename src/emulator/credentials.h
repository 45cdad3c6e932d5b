// Who may call the emulator: users and passwords from a file of `user:password` lines
// (blank lines and # comments allowed), checked against HTTP Basic authorization headers.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/result.h"

namespace cb::emulator {

class Credentials {
  public:
    // Errors (k_config) name the source and line: "creds:3: expected user:password".
    static Result<Credentials> parse(std::string_view text, std::string_view source);
    static Result<Credentials> load(const std::string& path);
    static Credentials single(std::string user, std::string password);

    // True when `authorization` is "Basic <base64 user:password>" for a known user.
    bool check(std::string_view authorization) const;
    // The user `authorization` authenticates, or "" when it does not.
    std::string user_of(std::string_view authorization) const;
    const std::vector<std::pair<std::string, std::string>>& users() const { return m_users; }

  private:
    std::vector<std::pair<std::string, std::string>> m_users;
};

// RFC 4648 base64 (with padding), for Basic authorization headers.
std::string base64_encode(std::string_view data);
// Decodes into `out`; false when `text` is not valid base64.
bool base64_decode(std::string_view text, std::string& out);

}  // namespace cb::emulator
