// The journal as the operator commands read it.
#pragma once

#include <optional>

#include "core/config.h"
#include "store/journal.h"
#include "util/result.h"

namespace cb::cli {

// The journal if the daemon has made one (nullopt when there is none); reading it never
// creates it. Errors: it is there but cannot be opened (permissions, not a journal), saying
// which file.
Result<std::optional<Journal>> open_journal(const Config& config);

// The same for commands that have nothing to show without it: no journal is an error too
// (k_not_found, naming the path and what makes one).
Result<Journal> require_journal(const Config& config);

}  // namespace cb::cli
