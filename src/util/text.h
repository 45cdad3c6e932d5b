// Small text helpers for names people and files spell in any case (VM sizes, policies).
// ASCII only: these are identifiers, not prose.
#pragma once

#include <string>
#include <string_view>

namespace cb {

std::string to_lower(std::string_view s);
bool iequals(std::string_view a, std::string_view b);
// Without leading and trailing whitespace.
std::string_view trim(std::string_view s);

}  // namespace cb
