#include "cli/journal_reader.h"

#include <sys/stat.h>

namespace cb::cli {

std::optional<Journal> open_journal(const Config& config) {
    struct stat st {};
    if (::stat(config.paths.state_db.c_str(), &st) != 0) {
        return std::nullopt;
    }
    auto j = Journal::open(config.paths.state_db);
    if (!j) {
        return std::nullopt;
    }
    return std::move(*j);
}

}  // namespace cb::cli
