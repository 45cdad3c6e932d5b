// GPUs for Slurm: what the generated configuration says about a GPU node array, and how the
// generated gres.conf lines live in the scheduler's own gres.conf.
//
// Slurm reads gres.conf from the directory of slurm.conf, and configless slurmd fetches it
// from slurmctld, so the lines must be in that file itself: `cloudburst scale` keeps them in
// one marked block of it and leaves a site's own lines alone. Pure: the caller reads and
// writes the files.
#pragma once

#include <string>
#include <string_view>

#include "util/result.h"

namespace cb {

// The Slurm GRES type of a GPU model from the SKU catalog: its first word in lower case
// ("A100 80GB PCIe" -> "a100", "H100 NVL" -> "h100"); "" when the model is unknown or its first
// word is not letters, digits, '_' or '-'.
std::string gpu_gres_type(std::string_view gpu_model);

// The device files of `gpus` NVIDIA GPUs, as gres.conf's File= takes them: "/dev/nvidia0",
// "/dev/nvidia[0-3]". `gpus` must be at least 1.
std::string nvidia_device_files(int gpus);

// The first and last line of cloudburst's block in gres.conf.
inline constexpr std::string_view k_gres_block_begin =
    "# BEGIN cloudburst: GPUs of the cloud node arrays (`cloudburst scale` rewrites this block)";
inline constexpr std::string_view k_gres_block_end = "# END cloudburst";

// `existing` (a gres.conf, possibly empty) with cloudburst's block holding `lines` (whole
// lines, each ending in '\n'; empty: the block is removed). The rest of the file is kept byte
// for byte; a new block goes at the end. Errors (k_config) when the file has a BEGIN line
// without its END, or more than one block: the operator fixes the file, nothing is guessed.
Result<std::string> gres_conf_with_block(std::string_view existing, std::string_view lines);

// How the generated conf gets GresTypes=gpu, given slurm.conf's own GresTypes value
// (`site`, "" when slurm.conf has none):
enum class GresTypesPlan {
    k_write,     // slurm.conf has none: the generated conf sets GresTypes=gpu
    k_site_has,  // slurm.conf's list names gpu already: nothing to write
};
// Errors (k_config) when slurm.conf's GresTypes lacks gpu: a second GresTypes line would
// replace the site's list (Slurm takes the last), so the operator adds gpu to it.
Result<GresTypesPlan> gres_types_plan(std::string_view site);

}  // namespace cb
