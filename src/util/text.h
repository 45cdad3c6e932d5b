// Small text helpers for names people and files spell in any case (VM sizes, policies).
// ASCII only: these are identifiers, not prose.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace cb {

std::string to_lower(std::string_view s);
bool iequals(std::string_view a, std::string_view b);
// Without leading and trailing whitespace.
std::string_view trim(std::string_view s);
// `items` with `separator` between each two.
std::string join(const std::vector<std::string>& items, std::string_view separator);
// The lines of `text` without their '\n'; a last line without one counts, an empty text has
// none ("a\n\nb\n" gives "a", "", "b").
std::vector<std::string> split_lines(std::string_view text);
// The non-empty items of a comma list ("a,,b" gives "a", "b"), untrimmed.
std::vector<std::string> split_list(std::string_view text);

// Sorts `items` and drops repeats.
void sort_unique(std::vector<std::string>& items);

}  // namespace cb
