// cloudburst's marked block inside a file the site owns (gres.conf, topology.conf): the lines
// between a BEGIN and an END comment are cloudburst's, everything else is left byte for byte.
// Pure: the caller reads and writes the file.
#pragma once

#include <string>
#include <string_view>

#include "util/result.h"

namespace cb {

struct ConfBlockMarks {
    std::string_view file;   // for messages: "gres.conf"
    std::string_view begin;  // the first line of the block, whole
    std::string_view end;    // its last line
};

// `existing` (possibly empty) with the block holding `lines` (whole lines, each ending in
// '\n'; empty: the block is removed). A new block goes at the end. Errors (k_config) when the
// file has a BEGIN line without its END, or more than one block: the operator fixes the file,
// nothing is guessed.
Result<std::string> conf_with_block(std::string_view existing, std::string_view lines,
                                    const ConfBlockMarks& marks);

}  // namespace cb
