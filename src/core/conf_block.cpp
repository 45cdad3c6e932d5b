#include "core/conf_block.h"

#include "util/text.h"

namespace cb {

Result<std::string> conf_with_block(std::string_view existing, std::string_view lines,
                                    const ConfBlockMarks& marks) {
    const auto all = split_lines(existing);
    const std::string file(marks.file);
    std::size_t begin = all.size();
    std::size_t end = all.size();
    for (std::size_t i = 0; i < all.size(); ++i) {
        if (all[i] == marks.begin) {
            if (begin != all.size()) {
                return make_error(ErrorKind::k_config,
                                  file + " has two cloudburst blocks (line " +
                                      std::to_string(begin + 1) + " and line " +
                                      std::to_string(i + 1) +
                                      "): remove one, from its BEGIN line to its END line");
            }
            begin = i;
        } else if (all[i] == marks.end && begin != all.size() && end == all.size()) {
            end = i;
        }
    }
    if (begin != all.size() && end == all.size()) {
        return make_error(ErrorKind::k_config,
                          file + " line " + std::to_string(begin + 1) +
                              " begins cloudburst's block but no line '" + std::string(marks.end) +
                              "' ends it: add that line after cloudburst's lines");
    }
    std::string block;
    if (!lines.empty()) {
        block.append(marks.begin).append("\n");
        block.append(lines);
        block.append(marks.end).append("\n");
    }
    std::string out;
    if (begin == all.size()) {
        out = std::string(existing);
        if (!block.empty()) {
            if (!out.empty() && out.back() != '\n') {
                out += '\n';
            }
            out += block;
        }
        return out;
    }
    for (std::size_t i = 0; i < begin; ++i) {
        out += all[i] + "\n";
    }
    out += block;
    for (std::size_t i = end + 1; i < all.size(); ++i) {
        out += all[i] + "\n";
    }
    return out;
}

}  // namespace cb
