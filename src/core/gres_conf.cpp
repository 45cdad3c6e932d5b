#include "core/gres_conf.h"

#include <algorithm>
#include <cctype>

#include "core/conf_block.h"
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
    return conf_with_block(existing, lines, {"gres.conf", k_gres_block_begin, k_gres_block_end});
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
