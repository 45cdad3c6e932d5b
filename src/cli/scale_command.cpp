#include <sys/stat.h>
#include <unistd.h>
#include <CLI/CLI.hpp>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>

#include "adapters/cyclecloud_options.h"
#include "cli/commands.h"
#include "cli/system_facts.h"
#include "core/builtin_skus.h"
#include "core/config_loader.h"
#include "core/gres_conf.h"
#include "core/slurm_conf_edit.h"
#include "core/slurm_conf_gen.h"
#include "core/slurm_settings.h"
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

// A file's text, or nullopt when there is no such file; any other failure to read it (rights,
// size) is an error, never taken for an empty file.
Result<std::optional<std::string>> read_if_present(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0 && errno == ENOENT) {
        return std::optional<std::string>();
    }
    auto text = read_file(path);
    if (!text) {
        return text.error();
    }
    return std::optional<std::string>(std::move(*text));
}

// Writes `content` to `path` unless it is already there; prints the diff. Returns whether
// anything changed. A file that is there keeps its owner and mode, and a symbolic link (a
// gres.conf kept on NFS or by configuration management) has its target written.
Result<bool> update_file(const std::string& path, const std::string& content, bool dry_run) {
    auto old = read_if_present(path);
    if (!old) {
        return old.error();
    }
    const std::string before = *old ? **old : std::string();
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
    std::string target = path;
    struct stat st {};
    if (*old) {
        std::error_code ec;
        target = std::filesystem::canonical(path, ec).string();
        if (ec || ::stat(target.c_str(), &st) != 0) {
            return make_error(ErrorKind::k_io, "cannot resolve " + path + ": " +
                                                   (ec ? ec.message() : std::strerror(errno)));
        }
    }
    if (auto w = write_file_atomic(target, content, *old ? (st.st_mode & 07777) : 0644); !w) {
        return w.error();
    }
    if (*old && ::chown(target.c_str(), st.st_uid, st.st_gid) != 0) {
        return make_error(ErrorKind::k_io,
                          "cannot give " + target + " back its owner: " + std::strerror(errno));
    }
    std::cout << path << ": written\n";
    return true;
}

// GresTypes as the site's own files set it: slurm.conf, then the files it includes other than
// the generated one (the last line wins, as in Slurm); "" when none sets it or slurm.conf is
// missing (setup or doctor deal with that).
std::string site_gres_types(const std::string& slurm_conf, const std::string& generated) {
    auto text = read_file(slurm_conf);
    if (!text) {
        return "";
    }
    std::string value = slurm_conf_value(*text, "GresTypes");
    std::error_code ec;
    const auto ours = std::filesystem::weakly_canonical(generated, ec);
    for (const auto& file : included_conf_files(slurm_conf, parse_slurm_conf(*text))) {
        if (std::filesystem::weakly_canonical(file, ec) == ours) {
            continue;
        }
        if (auto included = read_file(file)) {
            if (auto v = slurm_conf_value(*included, "GresTypes"); !v.empty()) {
                value = v;
            }
        }
    }
    return value;
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
    // The site's own GresTypes decides whether the generated conf sets it.
    const std::string conf_dir = config->slurm.conf_dir;
    auto result = generate_slurm_conf(
        *arrays, *catalog, *config,
        site_gres_types(conf_dir + "/slurm.conf", config->slurm.generated_conf));
    if (!result) {
        return result.error().with_context("generating the Slurm node lines");
    }
    const GeneratedSlurmConf& generated = *result;
    for (const auto& w : generated.warnings) {
        std::cerr << "cloudburst: warning: " << w << "\n";
    }
    const std::string out = options.output.empty() ? config->slurm.generated_conf : options.output;
    // Slurm reads gres.conf beside slurm.conf (configless slurmd fetches it from there): the
    // GPU lines are one block of that file, the site's own lines stay as they are. Both files
    // are made before either is written, so a gres.conf that cannot take the block leaves
    // the node lines as they were too (their Gres= and File= go together). With -o (a file
    // of the admin's choice) the live gres.conf is not touched.
    const std::string gres_path = conf_dir + "/gres.conf";
    std::optional<std::string> gres;
    if (options.output.empty()) {
        auto old_gres = read_if_present(gres_path);
        if (!old_gres) {
            return old_gres.error();
        }
        if (!generated.gres_conf.empty() || *old_gres) {
            auto block = gres_conf_with_block(*old_gres ? **old_gres : "", generated.gres_conf);
            if (!block) {
                return block.error().with_context(gres_path);
            }
            gres = std::move(*block);
        }
    } else if (!generated.gres_conf.empty()) {
        std::cerr << "cloudburst: warning: with -o, " << gres_path
                  << " is not written; its GPU lines would be:\n"
                  << generated.gres_conf;
    }
    auto changed = update_file(out, generated.nodes_conf, options.dry_run);
    if (!changed) {
        return changed.error();
    }
    bool any = *changed;
    if (gres) {
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
