#include "core/config_path.h"

#include <unistd.h>

#include <cstdlib>

#include "core/config_loader.h"

namespace cb {

std::string default_config_path() {
    if (const char* env = std::getenv("CLOUDBURST_CONFIG"); env != nullptr && *env) {
        return env;
    }
    if (const char* conf = std::getenv("SLURM_CONF"); conf != nullptr && *conf) {
        std::string dir = conf;
        const auto slash = dir.rfind('/');
        dir = slash == std::string::npos ? "." : dir.substr(0, slash);
        std::string sibling = dir + "/cloudburst.toml";
        if (::access(sibling.c_str(), F_OK) == 0) {
            return sibling;
        }
    }
    return std::string(k_default_config_path);
}

}  // namespace cb
