// The journal as the operator commands read it.
#pragma once

#include <optional>

#include "core/config.h"
#include "store/journal.h"

namespace cb::cli {

// The journal if the daemon has made one; reading it never creates it.
std::optional<Journal> open_journal(const Config& config);

}  // namespace cb::cli
