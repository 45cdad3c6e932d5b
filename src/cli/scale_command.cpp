#include <CLI/CLI.hpp>

#include <iostream>
#include <memory>

#include "adapters/cyclecloud_options.h"
#include "cli/commands.h"
#include "cli/system_facts.h"
#include "core/builtin_skus.h"
#include "core/config_loader.h"
#include "core/gres_conf.h"
#include "core/slurm_conf_edit.h"
#include "core/slurm_conf_gen.h"
#include "util/files.h"
#include "util/process.h"

namespace cb::cli {

namespace {

struct ScaleOptions {
    bool dry_run = false;
    bool reconfigure = false;
    std::string skus;    // empty: the built-in catalog
    std::string output;  // empty: slurm.generated_conf
};

Result<SkuCatalog> load_catalog(const std::string& path) {
    if (path.empty()) {
        return SkuCatalog::parse(builtin_sku_catalog_json(), "built-in SKU catalog");
    }
    return SkuCatalog::load(path);
}

// Writes `content` to `path` unless it is already there; prints the diff. Returns whether
// anything changed.
Result<bool> update_file(const std::string& path, const std::string& content, bool dry_run) {
    auto old = read_file(path);
    const std::string before = old ? *old : std::string();
    const std::string diff = line_diff(before, content);
    if (diff.empty()) {
        std::cout << path << ": unchanged\n";
        return false;
    }
    std::cout << "--- " << path << (old ? "" : " (new file)") << "\n" << diff;
    if (dry_run) {
        std::cout << path << ": not written (--dry-run)\n";
        return true;
    }
    if (auto st = write_file_atomic(path, content, 0644); !st) {
        return st.error();
    }
    std::cout << path << ": written\n";
    return true;
}

Result<int> run_scale(const ScaleOptions& options) {
    auto config = load_global_config(PasswordUse::k_read);
    if (!config) {
        return config.error();
    }
    auto catalog = load_catalog(options.skus);
    if (!catalog) {
        return catalog.error();
    }
    CycleCloudRest cloud(cyclecloud_options(*config));
    auto arrays = cloud.node_arrays();
    if (!arrays) {
        return arrays.error().with_context("reading node arrays of cluster '" +
                                           config->cyclecloud.cluster + "'");
    }
    // slurm.conf's own GresTypes decides whether the generated conf sets it (a missing
    // slurm.conf has none; setup or doctor deal with that).
    const std::string conf_dir = config->slurm.conf_dir;
    const std::string slurm_conf = conf_dir + "/slurm.conf";
    auto site = read_file(slurm_conf);
    const std::string site_gres_types = site ? slurm_conf_value(*site, "GresTypes") : "";
    auto result = generate_slurm_conf(*arrays, *catalog, *config, site_gres_types);
    if (!result) {
        return result.error().with_context("generating the Slurm node lines");
    }
    const GeneratedSlurmConf& generated = *result;
    for (const auto& w : generated.warnings) {
        std::cerr << "cloudburst: warning: " << w << "\n";
    }
    const std::string out = options.output.empty() ? config->slurm.generated_conf : options.output;
    auto changed = update_file(out, generated.nodes_conf, options.dry_run);
    if (!changed) {
        return changed.error();
    }
    bool any = *changed;
    // Slurm reads gres.conf beside slurm.conf (configless slurmd fetches it from there): the
    // GPU lines are one block of that file, the site's own lines stay as they are.
    const std::string gres_path = conf_dir + "/gres.conf";
    auto old_gres = read_file(gres_path);
    if (!generated.gres_conf.empty() || old_gres) {
        auto gres = gres_conf_with_block(old_gres ? *old_gres : "", generated.gres_conf);
        if (!gres) {
            return gres.error().with_context(gres_path);
        }
        auto gres_changed = update_file(gres_path, *gres, options.dry_run);
        if (!gres_changed) {
            return gres_changed.error();
        }
        any = any || *gres_changed;
    }
    if (options.reconfigure && any && !options.dry_run) {
        if (auto st = run_scontrol(slurm_cli_options(*config), {"reconfigure"}); !st) {
            return st.error();
        }
        std::cout << "slurmctld reconfigured\n";
    } else if (any && !options.dry_run) {
        std::cout << "Slurm has not read the change yet: run `scontrol reconfigure` "
                     "(or `cloudburst scale --reconfigure`)\n";
    }
    return 0;
}

}  // namespace

std::vector<CommandSpec> scale_commands() {
    return {{"scale", "generate Slurm node and partition lines from the CycleCloud node arrays",
             [](CLI::App& app) {
                 auto options = std::make_shared<ScaleOptions>();
                 app.add_flag("-n,--dry-run", options->dry_run,
                              "show the change without writing anything");
                 app.add_flag("--reconfigure", options->reconfigure,
                              "run `scontrol reconfigure` after a change (never a restart)");
                 app.add_option("--skus", options->skus,
                                "SKU catalog JSON (default: the built-in catalog)");
                 app.add_option("-o,--output", options->output,
                                "file to write (default: slurm.generated_conf)");
                 return std::function<Result<int>()>([options] { return run_scale(*options); });
             }}};
}

}  // namespace cb::cli
