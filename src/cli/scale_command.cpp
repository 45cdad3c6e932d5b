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
#include "adapters/slurm_cli.h"
#include "cli/commands.h"
#include "cli/system_facts.h"
#include "core/builtin_skus.h"
#include "core/config_loader.h"
#include "core/dynamic_nodes.h"
#include "core/gres_conf.h"
#include "core/slurm_conf_edit.h"
#include "core/slurm_conf_gen.h"
#include "core/slurm_settings.h"
#include "core/topology_conf.h"
#include "util/files.h"
#include "util/hostlist.h"
#include "util/process.h"
#include "util/text.h"

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

// What the site's own files say: slurm.conf, then the files it includes other than the
// generated one (for a key, the last line wins, as in Slurm). Empty when slurm.conf is missing
// (setup or doctor deal with that).
struct SiteConf {
    std::string gres_types;
    std::string topology_plugin;
    std::string max_node_count;
    std::vector<std::string> nodes;  // NodeName= hostlists, DEFAULT left out
    long node_count = 0;             // the names in `nodes`
};

SiteConf read_site_conf(const std::string& slurm_conf, const std::string& generated) {
    SiteConf site;
    auto text = read_file(slurm_conf);
    if (!text) {
        return site;
    }
    const auto take = [&site](const std::string& file_text) {
        if (auto v = slurm_conf_value(file_text, "GresTypes"); !v.empty()) {
            site.gres_types = v;
        }
        if (auto v = slurm_conf_value(file_text, "TopologyPlugin"); !v.empty()) {
            site.topology_plugin = v;
        }
        if (auto v = slurm_conf_value(file_text, "MaxNodeCount"); !v.empty()) {
            site.max_node_count = v;
        }
        for (const auto& n : parse_slurm_conf(file_text).nodes) {
            if (!iequals(n.names, "DEFAULT")) {
                site.nodes.push_back(n.names);
                if (auto names = Hostlist::parse(n.names)) {
                    site.node_count += static_cast<long>(names->size());
                }
            }
        }
    };
    take(*text);
    std::error_code ec;
    const auto ours = std::filesystem::weakly_canonical(generated, ec);
    for (const auto& file : included_conf_files(slurm_conf, parse_slurm_conf(*text))) {
        if (std::filesystem::weakly_canonical(file, ec) == ours) {
            continue;
        }
        if (auto included = read_file(file)) {
            take(*included);
        }
    }
    return site;
}

// The new text of a site file that holds a block of cloudburst's lines (gres.conf's,
// topology.conf's: `with_block`), from its text `old` (nullopt: no such file); nullopt when
// there is nothing to write (no lines and no file), or when `live` is false (-o: a file of the
// admin's choice is written, the live one is not touched and its lines are shown instead).
Result<std::optional<std::string>> file_with_block(
    const std::string& path, const std::optional<std::string>& old, const std::string& lines,
    Result<std::string> (*with_block)(std::string_view, std::string_view), bool live,
    std::string_view what) {
    if (!live) {
        if (!lines.empty()) {
            std::cerr << "cloudburst: warning: with -o, " << path << " is not written; its " << what
                      << " would be:\n"
                      << lines;
        }
        return std::optional<std::string>();
    }
    if (lines.empty() && !old) {
        return std::optional<std::string>();
    }
    auto block = with_block(old ? *old : "", lines);
    if (!block) {
        return block.error().with_context(path);
    }
    return std::optional<std::string>(std::move(*block));
}

// Whether a topology.conf has lines of the site's own outside cloudburst's block.
bool has_site_switches(const std::string& topology) {
    auto without = topology_conf_with_block(topology, "");
    if (!without) {
        return true;
    }
    for (const auto& line : split_lines(*without)) {
        const auto t = trim(line);
        if (!t.empty() && t.front() != '#') {
            return true;
        }
    }
    return false;
}

// The names of `ranges` slurmctld does not have yet (`existing`), as one hostlist each; ""
// when it has them all.
std::vector<std::string> still_missing(const std::vector<DynamicRange>& ranges,
                                       const std::vector<ExistingNode>& existing) {
    std::vector<std::string> out;
    for (const auto& r : ranges) {
        if (auto plan = plan_dynamic_range(r, existing); plan && !plan->create.empty()) {
            out.push_back(plan->create);
        }
    }
    return out;
}

// Creates the nodes of dynamic node arrays that slurmctld lacks (core/dynamic_nodes.h), once
// it has read the configuration that gives them room (MaxNodeCount) and a partition (their
// Nodeset): `conf_read` false says it has not (a file changed and nobody reconfigured).
// Existing nodes are never touched: one that differs from its spec is a warning. Slurm 22.05
// exits 0 when it creates nothing, so the nodes are read back.
Status create_dynamic_nodes(const Config& config, const std::vector<DynamicRange>& ranges,
                            bool conf_read, bool dry_run) {
    if (ranges.empty()) {
        return ok_status();
    }
    if (!conf_read && !dry_run) {
        std::cout << "dynamic nodes: not created yet: slurmctld must first read the new "
                     "configuration (their Nodeset and MaxNodeCount): restart slurmctld, then "
                     "run `cloudburst scale` again\n";
        return ok_status();
    }
    SlurmCli slurm(slurm_cli_options(config));
    auto existing = slurm.node_specs();
    if (!existing) {
        return existing.error().with_context(
            "reading slurmctld's nodes to create the dynamic "
            "ones (is slurmctld running?)");
    }
    bool created = false;
    for (const auto& r : ranges) {
        auto plan = plan_dynamic_range(r, *existing);
        if (!plan) {
            return plan.error();
        }
        for (const auto& m : plan->mismatches) {
            std::cerr << "cloudburst: warning: " << m << "\n";
        }
        if (plan->create.empty()) {
            std::cout << "dynamic nodes " << r.hostlist << ": in slurmctld already\n";
            continue;
        }
        if (dry_run) {
            std::cout << "dynamic nodes " << plan->create << ": not created (--dry-run)\n";
            continue;
        }
        if (auto st = slurm.create_nodes(plan->create, r.fields); !st) {
            return st.error().with_context("creating dynamic nodes " + plan->create);
        }
        std::cout << "dynamic nodes " << plan->create << ": created";
        if (plan->existing > 0) {
            std::cout << " (" << plan->existing << " of " << r.hostlist << " were there)";
        }
        std::cout << "\n";
        created = true;
    }
    if (!created) {
        return ok_status();
    }
    auto after = slurm.node_specs();
    if (!after) {
        return after.error().with_context("reading the dynamic nodes back");
    }
    if (const auto missing = still_missing(ranges, *after); !missing.empty()) {
        return make_error(ErrorKind::k_slurm,
                          "slurmctld did not create dynamic nodes " + join(missing, ",") +
                              " (its log says why; \"node table is full\": it has not read "
                              "MaxNodeCount yet): restart slurmctld, then run `cloudburst "
                              "scale` again");
    }
    return ok_status();
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
    // The site's own GresTypes and TopologyPlugin decide whether the generated conf sets them.
    const std::string conf_dir = config->slurm.conf_dir;
    const SiteConf site = read_site_conf(conf_dir + "/slurm.conf", config->slurm.generated_conf);
    // topology.conf: when the site describes switches of its own, its nodes are under those
    // (Slurm refuses a node under two leaves); else cloudburst's tree holds them too, because
    // with topology/tree a node under no switch can take no part in a multi-node job.
    const std::string topology_path = conf_dir + "/topology.conf";
    auto old_topology = read_if_present(topology_path);
    if (!old_topology) {
        return old_topology.error();
    }
    const bool site_switches = *old_topology && has_site_switches(**old_topology);
    auto result =
        generate_slurm_conf(*arrays, *catalog, *config, site.gres_types, site.topology_plugin,
                            site_switches ? std::vector<std::string>() : site.nodes,
                            site.node_count, site.max_node_count);
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
    auto old_gres = read_if_present(gres_path);
    if (!old_gres) {
        return old_gres.error();
    }
    auto gres = file_with_block(gres_path, *old_gres, generated.gres_conf, gres_conf_with_block,
                                options.output.empty(), "GPU lines");
    if (!gres) {
        return gres.error();
    }
    auto topology =
        file_with_block(topology_path, *old_topology, generated.topology_conf,
                        topology_conf_with_block, options.output.empty(), "placement group lines");
    if (!topology) {
        return topology.error();
    }
    auto changed = update_file(out, generated.nodes_conf, options.dry_run);
    if (!changed) {
        return changed.error();
    }
    bool any = *changed;
    if (*gres) {
        auto gres_changed = update_file(gres_path, **gres, options.dry_run);
        if (!gres_changed) {
            return gres_changed.error();
        }
        any = any || *gres_changed;
    }
    if (*topology) {
        auto topology_changed = update_file(topology_path, **topology, options.dry_run);
        if (!topology_changed) {
            return topology_changed.error();
        }
        any = any || *topology_changed;
    }
    const bool reconfigured = options.reconfigure && any && !options.dry_run;
    if (reconfigured) {
        if (auto st = run_scontrol(slurm_cli_options(*config), {"reconfigure"}); !st) {
            return st.error();
        }
        std::cout << "slurmctld reconfigured\n";
    } else if (any && !options.dry_run) {
        std::cout << "Slurm has not read the change yet: run `scontrol reconfigure` "
                     "(or `cloudburst scale --reconfigure`)\n";
    }
    // With -o the file is not the one slurmctld reads: nothing to create from it.
    if (options.output.empty()) {
        if (auto st = create_dynamic_nodes(*config, generated.dynamic_nodes, !any || reconfigured,
                                           options.dry_run);
            !st) {
            return st.error();
        }
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
