// Plain-text output shared by the operator commands.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace cb::cli {

// "2026-12-06 18:30:00" in local time for a wall-clock time in ms; "-" for 0 or less.
std::string format_time(std::int64_t ms);

// Prints rows as columns separated by two spaces, each as wide as its widest cell.
void print_table(const std::vector<std::vector<std::string>>& rows);

}  // namespace cb::cli
