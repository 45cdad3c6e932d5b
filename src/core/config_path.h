// Which configuration file a program reads when no --config is given:
//   1. $CLOUDBURST_CONFIG, if set and not empty;
//   2. cloudburst.toml next to slurm.conf, if $SLURM_CONF is set and that file exists (the
//      hooks get only SLURM_CONF from slurmctld; this lets one scheduler host run several
//      clusters, each with its own slurm.conf directory);
//   3. /etc/cloudburst/cloudburst.toml.
#pragma once

#include <string>

namespace cb {

std::string default_config_path();

}  // namespace cb
