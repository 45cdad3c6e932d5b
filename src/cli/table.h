// What several operator commands print: local times, aligned tables, and the journal opened
// only when the daemon has made one.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/config.h"
#include "store/journal.h"

namespace cb::cli {

// "2026-12-06 18:02:11" in local time; "-" for 0 or less.
std::string format_time(std::int64_t ms);

// Rows of cells in columns two spaces apart (the first row is the header).
void print_table(const std::vector<std::vector<std::string>>& rows);

// The journal if the daemon has made one; reading it never creates it.
std::optional<Journal> open_journal(const Config& config);

}  // namespace cb::cli
