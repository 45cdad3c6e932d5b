#include "core/gres_conf.h"

#include <algorithm>
#include <cctype>

#include "util/sanitize.h"
#include "util/text.h"

namespace cb {

std::string gpu_gres_type(std::string_view gpu_model) {
    const std::string_view model = trim(gpu_model);
    const std::string word = to_lower(model.substr(0, model.find_first_of(" \t")));
    const bool plain = !word.empty() && std::all_of(word.begin(), word.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '-';
    });
    return plain ? word : std::string();
}

std::string nvidia_device_files(int gpus) {
    if (gpus <= 1) {
        return "/dev/nvidia0";
    }
    return "/dev/nvidia[0-" + std::to_string(gpus - 1) + "]";
}

Result<std::string> gres_conf_with_block(std::string_view existing, std::string_view lines) {
    const auto all = split_lines(existing);
    std::size_t begin = all.size();
    std::size_t end = all.size();
    for (std::size_t i = 0; i < all.size(); ++i) {
        if (all[i] == k_gres_block_begin) {
            if (begin != all.size()) {
                return make_error(ErrorKind::k_config,
                                  "gres.conf has two cloudburst blocks (line " +
                                      std::to_string(begin + 1) + " and line " +
                                      std::to_string(i + 1) +
                                      "): remove one, from its BEGIN line to its END line");
            }
            begin = i;
        } else if (all[i] == k_gres_block_end && begin != all.size() && end == all.size()) {
            end = i;
        }
    }
    if (begin != all.size() && end == all.size()) {
        return make_error(ErrorKind::k_config,
                          "gres.conf line " + std::to_string(begin + 1) +
                              " begins cloudburst's block but no line '" +
                              std::string(k_gres_block_end) +
                              "' ends it: add that line after cloudburst's lines");
    }
    std::string block;
    if (!lines.empty()) {
        block.append(k_gres_block_begin).append("\n");
        block.append(lines);
        block.append(k_gres_block_end).append("\n");
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

Result<GresTypesPlan> gres_types_plan(std::string_view site) {
    if (trim(site).empty()) {
        return GresTypesPlan::k_write;
    }
    for (const auto& item : split_list(site)) {
        if (iequals(trim(item), "gpu")) {
            return GresTypesPlan::k_site_has;
        }
    }
    const std::string value(trim(site));
    return make_error(ErrorKind::k_config,
                      "slurm.conf sets GresTypes=" + escaped(value) +
                          " without gpu, and node arrays have GPUs: change that line to "
                          "GresTypes=" +
                          escaped(value) + ",gpu and run `cloudburst scale` again");
}

}  // namespace cb
