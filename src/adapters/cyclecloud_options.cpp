#include "adapters/cyclecloud_options.h"

#include <cstdlib>

namespace cb {

CycleCloudOptions cyclecloud_options(const Config& config) {
    CycleCloudOptions cc;
    cc.url = config.cyclecloud.url;
    cc.cluster = config.cyclecloud.cluster;
    cc.username = config.cyclecloud.username;
    cc.password = config.cyclecloud.password;
    cc.ca_bundle = config.cyclecloud.ca_bundle;
    cc.verify_tls = config.cyclecloud.verify_tls;
    cc.tls_pin = config.cyclecloud.tls_pin;
    cc.connect_timeout = config.cyclecloud.connect_timeout;
    cc.request_timeout = config.cyclecloud.request_timeout;
    cc.max_response_bytes = static_cast<std::size_t>(config.cyclecloud.max_response_mb) << 20;
    cc.max_connections = config.cyclecloud.max_connections;
    return cc;
}

SlurmCliOptions slurm_cli_options(const Config& config) {
    SlurmCliOptions so;
    so.scontrol = config.slurm.bin_dir + "/scontrol";
    const char* env = std::getenv("SLURM_CONF");
    so.slurm_conf = env != nullptr && *env ? env : config.slurm.conf_dir + "/slurm.conf";
    return so;
}

}  // namespace cb
