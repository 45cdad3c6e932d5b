#include "core/config_path.h"

#include <unistd.h>

#include <cstdlib>

namespace cb {

ConfigPathChoice choose_config_path() {
    if (const char* env = std::getenv("CLOUDBURST_CONFIG"); env != nullptr && *env) {
        return {env, "CLOUDBURST_CONFIG"};
    }
    if (const char* conf = std::getenv("SLURM_CONF"); conf != nullptr && *conf) {
        std::string dir = conf;
        const auto slash = dir.rfind('/');
        dir = slash == std::string::npos ? "." : dir.substr(0, slash);
        std::string sibling = dir + "/cloudburst.toml";
        if (::access(sibling.c_str(), F_OK) == 0) {
            return {sibling, "SLURM_CONF"};
        }
    }
    return {std::string(k_default_config_path), ""};
}

Result<Config> load_chosen_config(const ConfigPathChoice& choice, PasswordUse use,
                                  const ConfigFileAccess& files) {
    auto config = load_config(choice.path, use, files);
    if (config || choice.chosen_by.empty()) {
        return config;
    }
    return std::move(config).error().with_context("$" + choice.chosen_by + " chose " + choice.path +
                                                  " (unset " + choice.chosen_by +
                                                  " or pass --config to use another file)");
}

}  // namespace cb
