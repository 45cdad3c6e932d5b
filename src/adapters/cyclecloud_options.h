// CycleCloud client settings from the configuration (shared by the daemon and the CLI).
#pragma once

#include "adapters/cyclecloud_rest.h"
#include "adapters/slurm_cli.h"
#include "core/config.h"

namespace cb {

CycleCloudOptions cyclecloud_options(const Config& config);

// scontrol from slurm.bin_dir; SLURM_CONF from the environment if set, else
// <slurm.conf_dir>/slurm.conf.
SlurmCliOptions slurm_cli_options(const Config& config);

}  // namespace cb
