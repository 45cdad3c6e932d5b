#include "cli/journal_reader.h"

#include <sys/stat.h>

namespace cb::cli {

Result<std::optional<Journal>> open_journal(const Config& config) {
    struct stat st {};
    if (::stat(config.paths.state_db.c_str(), &st) != 0) {
        return std::optional<Journal>();
    }
    auto j = Journal::open(config.paths.state_db);
    if (!j) {
        return j.error();
    }
    return std::optional<Journal>(std::move(*j));
}

Result<Journal> require_journal(const Config& config) {
    auto j = open_journal(config);
    if (!j) {
        return j.error();
    }
    if (!*j) {
        return make_error(ErrorKind::k_not_found, "no journal at " + config.paths.state_db +
                                                      " (has cloudburstd run on this machine?)");
    }
    return std::move(**j);
}

}  // namespace cb::cli
