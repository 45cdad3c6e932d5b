// Which configuration file a program reads when no --config is given:
//   1. $CLOUDBURST_CONFIG, if set and not empty;
//   2. cloudburst.toml next to slurm.conf, if $SLURM_CONF is set and that file exists (the
//      hooks get only SLURM_CONF from slurmctld; this lets one scheduler host run several
//      clusters, each with its own slurm.conf directory);
//   3. /etc/cloudburst/cloudburst.toml.
// The environment chooses only the path: the file must pass load_config's trust rule like
// any other (for root: owned by root, reached through directories only root can change), and
// a refusal names the variable that chose it.
#pragma once

#include <string>

#include "core/config.h"
#include "core/config_loader.h"
#include "util/result.h"

namespace cb {

struct ConfigPathChoice {
    std::string path;
    // The environment variable that chose `path` ("CLOUDBURST_CONFIG" or "SLURM_CONF"); empty
    // for the default and for --config.
    std::string chosen_by;
};

ConfigPathChoice choose_config_path();

// load_config(choice.path, use); an error gets the context "$VAR chose PATH (...)" when an
// environment variable chose the file, so the operator knows where the path came from.
Result<Config> load_chosen_config(const ConfigPathChoice& choice, PasswordUse use,
                                  const ConfigFileAccess& files = {});

}  // namespace cb
