// `cloudburst keep-alive`: which cloud nodes Slurm never suspends once they are up, and
// changing that at run time (core/keep_alive.h says where the wish lives and why).
//
//   cloudburst keep-alive [--json]              what the config asks and what Slurm runs with
//   cloudburst keep-alive ARRAY --set N         keep N of the array's nodes up (0: none)
//   cloudburst keep-alive NODES --set           keep each of these nodes up
//   cloudburst keep-alive ARRAY|NODES --remove
//
// A change is written to the config (so it lasts), then to the generated conf's
// SuspendExcNodes line, then given to slurmctld: `scontrol update SuspendExcNodes=` from
// Slurm 23.02 on, `scontrol reconfigure` before (22.05 cannot change it otherwise).
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstring>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>

#include "adapters/cyclecloud_options.h"
#include "adapters/slurm_cli.h"
#include "cli/commands.h"
#include "cli/system_facts.h"
#include "core/config_edit.h"
#include "core/config_loader.h"
#include "core/config_schema.h"
#include "core/keep_alive.h"
#include "core/slurm_conf_edit.h"
#include "core/slurm_settings.h"
#include "util/files.h"
#include "util/hostlist.h"
#include "util/process.h"
#include "util/sanitize.h"
#include "util/text.h"

namespace cb::cli {

namespace {

using json = nlohmann::json;

struct KeepAliveOptions {
    std::string target;  // a node array or a hostlist; empty: show
    std::string set;     // --set's value ("" for nodes)
    bool set_given = false;
    bool remove = false;
    bool as_json = false;
};

// What Slurm knows: its cloud nodes by node array, and the SuspendExcNodes it runs with.
struct SlurmView {
    std::vector<std::string> cloud_nodes;
    std::map<std::string, std::string> arrays;  // node array -> hostlist
    std::string running;                        // SuspendExcNodes from `scontrol show config`
    int release = 0;                            // 2205 for 22.05; 0 unknown
};

Result<SlurmView> read_slurm(const Config& config) {
    const SlurmCliOptions so = slurm_cli_options(config);
    SlurmCli slurm(so);
    auto nodes = slurm.nodes();
    if (!nodes) {
        return nodes.error().with_context("reading Slurm's nodes");
    }
    SlurmView view;
    for (const auto& n : *nodes) {
        if (n.state.has("CLOUD")) {
            view.cloud_nodes.push_back(n.name);
        }
    }
    view.arrays = nodes_by_array(view.cloud_nodes);
    auto settings = read_slurm_settings(so.slurm_conf, so.scontrol);
    if (!settings) {
        return settings.error();
    }
    if (auto v = settings->settings.get("SuspendExcNodes"); v && *v != "(null)") {
        view.running = *v;
    }
    view.release = slurm_release(settings->settings.version);
    return view;
}

Result<std::string> wanted_value(const Config& config, const SlurmView& view) {
    return suspend_exc_nodes(keep_alive_entries(config, view.arrays));
}

Result<int> show(const Config& config, const SlurmView& view, bool as_json) {
    auto wanted = wanted_value(config, view);
    if (!wanted) {
        return wanted.error();
    }
    json arrays = json::object();
    for (const auto& [array, nodes] : view.arrays) {
        arrays[array] = {{"nodes", nodes}, {"keep_alive", config.node_array(array).keep_alive}};
    }
    if (as_json) {
        json out{{"nodearrays", arrays},
                 {"nodes", config.slurm.keep_alive_nodes},
                 {"suspend_exc_nodes", {{"config", *wanted}, {"slurm", view.running}}},
                 {"in_sync", *wanted == view.running}};
        std::cout << out.dump(2) << "\n";
        return 0;
    }
    for (const auto& [array, a] : arrays.items()) {
        const int n = a["keep_alive"].get<int>();
        std::cout << array << " (" << a["nodes"].get<std::string>()
                  << "): " << (n > 0 ? "keep " + std::to_string(n) + " up" : "none kept up")
                  << "\n";
    }
    std::cout << "nodes kept up: "
              << (config.slurm.keep_alive_nodes.empty() ? "none" : config.slurm.keep_alive_nodes)
              << "\n"
              << "SuspendExcNodes from the config: " << (wanted->empty() ? "(none)" : *wanted)
              << "\n"
              << "SuspendExcNodes in slurmctld:    "
              << (view.running.empty() ? "(none)" : view.running) << "\n";
    if (*wanted != view.running) {
        std::cout << "slurmctld runs with another value: `cloudburst scale --reconfigure` (or a "
                     "keep-alive change) gives it the config's\n";
    }
    return 0;
}

// Every name of `hostlist`, checked to be one of Slurm's cloud nodes.
Result<std::vector<std::string>> cloud_node_names(const std::string& hostlist,
                                                  const SlurmView& view) {
    auto parsed = Hostlist::parse(hostlist);
    if (!parsed || parsed->empty()) {
        return make_error(ErrorKind::k_usage,
                          escaped(hostlist) + " is neither a node array of this cluster (" +
                              join(
                                  [&] {
                                      std::vector<std::string> names;
                                      for (const auto& [a, _] : view.arrays) {
                                          names.push_back(a);
                                      }
                                      return names;
                                  }(),
                                  ", ") +
                              ") nor a hostlist" +
                              (parsed ? std::string() : ": " + parsed.error().message));
    }
    const std::set<std::string> known(view.cloud_nodes.begin(), view.cloud_nodes.end());
    std::vector<std::string> names = parsed->expand();
    for (const auto& n : names) {
        if (known.count(n) == 0) {
            return make_error(ErrorKind::k_usage,
                              escaped(n) + " is not a cloud node Slurm knows (State=CLOUD)");
        }
    }
    return names;
}

// The config text with the change made, and a sentence saying what it is.
Result<std::pair<TomlEditResult, std::string>> edit_config(const std::string& text,
                                                           const Config& config,
                                                           const KeepAliveOptions& o,
                                                           const SlurmView& view) {
    if (view.arrays.count(o.target) != 0) {
        int count = 0;
        if (o.set_given) {
            const auto& s = o.set;
            if (s.empty() || s.size() > 6 ||
                s.find_first_not_of("0123456789") != std::string::npos) {
                return make_error(ErrorKind::k_usage,
                                  "--set for node array " + o.target +
                                      " takes how many of its nodes to keep up (0 to 100000), "
                                      "not " +
                                      quote_for_message(s));
            }
            count = std::stoi(s);
            if (count > 100000) {
                return make_error(ErrorKind::k_usage, "--set: at most 100000 nodes");
            }
        }
        std::optional<std::string> value;
        if (count > 0) {
            value = std::to_string(count);
        }
        return std::make_pair(
            edit_toml_section(text, "nodearrays." + o.target, {{"keep_alive", value}}),
            "node array " + o.target + ": " +
                (count > 0 ? "keep " + std::to_string(count) + " of its nodes up"
                           : "no node kept up"));
    }
    if (o.set_given && !o.set.empty()) {
        return make_error(ErrorKind::k_usage,
                          "a count is for a node array; for named nodes --set keeps each of "
                          "them up (no count)");
    }
    auto names = cloud_node_names(o.target, view);
    if (!names) {
        return names.error();
    }
    std::set<std::string> kept;
    if (!config.slurm.keep_alive_nodes.empty()) {
        if (auto current = Hostlist::parse(config.slurm.keep_alive_nodes)) {
            for (auto& n : current->expand()) {
                kept.insert(std::move(n));
            }
        }
    }
    for (const auto& n : *names) {
        if (o.remove) {
            kept.erase(n);
        } else {
            kept.insert(n);
        }
    }
    std::optional<std::string> value;
    if (!kept.empty()) {
        auto list = Hostlist::from_names({kept.begin(), kept.end()});
        if (!list) {
            return list.error();
        }
        value = toml_string(list->compress_sorted());
    }
    auto listed = Hostlist::from_names(*names);
    const std::string shown = listed ? listed->compress_sorted() : o.target;
    return std::make_pair(edit_toml_section(text, "slurm", {{"keep_alive_nodes", value}}),
                          shown + (o.remove ? ": no longer kept up" : ": kept up"));
}

Result<int> change(const std::string& path, const Config& config, const KeepAliveOptions& o,
                   const SlurmView& view) {
    // One SuspendExcNodes wins (the last line, or the last `scontrol update`): a site's own in
    // slurm.conf would be lost, or would hide ours.
    const SlurmCliOptions cli = slurm_cli_options(config);
    if (auto site = read_file(cli.slurm_conf)) {
        if (const std::string own = slurm_conf_value(*site, "SuspendExcNodes"); !own.empty()) {
            return make_error(ErrorKind::k_config,
                              cli.slurm_conf +
                                  " sets SuspendExcNodes=" + without_control_chars(own) +
                                  " itself, and Slurm keeps one value: put those nodes in "
                                  "slurm.keep_alive_nodes (`cloudburst keep-alive NODES --set`) "
                                  "and remove the line from " +
                                  cli.slurm_conf + ", then run this again");
        }
    }
    auto text = read_trusted_config_text(path);
    if (!text) {
        return text.error();
    }
    auto edited = edit_config(*text, config, o, view);
    if (!edited) {
        return edited.error();
    }
    const auto& [edit, what] = *edited;
    auto updated = parse_config(edit.text, path);
    if (!updated) {
        return updated.error().with_context("the changed configuration would not load");
    }
    auto value = wanted_value(*updated, view);
    if (!value) {
        return value.error();
    }
    if (!edit.changed.empty()) {
        // The file keeps its mode, owner and group (a root:slurm 0640 config stays readable
        // by the hooks).
        struct stat st {};
        if (::stat(path.c_str(), &st) != 0) {
            return make_error(ErrorKind::k_io, "cannot stat " + path + ": " + std::strerror(errno));
        }
        if (auto st_write = write_file_atomic(path, edit.text, st.st_mode & 0777); !st_write) {
            return st_write.error();
        }
        if (::chown(path.c_str(), st.st_uid, st.st_gid) != 0) {
            return make_error(ErrorKind::k_io,
                              "cannot give " + path + " back its owner: " + std::strerror(errno));
        }
        std::cout << path << ": " << what << "\n";
    } else {
        std::cout << path << ": unchanged (" << what << " already)\n";
    }
    const std::string& conf_path = updated->slurm.generated_conf;
    auto conf = read_file(conf_path);
    if (!conf) {
        return conf.error().with_context("reading the generated conf (run `cloudburst scale`)");
    }
    const std::string new_conf = with_suspend_exc_nodes(*conf, *value);
    if (new_conf != *conf) {
        if (auto st = write_file_atomic(conf_path, new_conf, 0644); !st) {
            return st.error();
        }
        std::cout << conf_path << ": SuspendExcNodes=" << (value->empty() ? "(none)" : *value)
                  << "\n";
    }
    if (*value == view.running) {
        std::cout << "slurmctld already runs with it\n";
        return 0;
    }
    const SlurmCliOptions so = slurm_cli_options(*updated);
    // From 23.02 on slurmctld takes a new list at once, with no reconfigure (which restarts
    // slurmctld's scripts, and crashes 23.11.0-.7 while a prolog gate waits); before 23.02 only
    // a reconfigure reads it. An empty list is a reconfigure on every version: 24.11 shows
    // `SuspendExcNodes=` as cleared but keeps the nodes it had excluded (tested).
    const bool live = view.release >= 2302 && !value->empty();
    if (auto st = live ? run_scontrol(so, {"update", "SuspendExcNodes=" + *value})
                       : run_scontrol(so, {"reconfigure"});
        !st) {
        return st.error();
    }
    std::cout << (live ? "slurmctld updated (scontrol update SuspendExcNodes)\n"
                       : "slurmctld reconfigured\n");
    return 0;
}

Result<int> run_keep_alive(const KeepAliveOptions& o) {
    if (o.set_given && o.remove) {
        return make_error(ErrorKind::k_usage, "--set and --remove exclude each other");
    }
    if (o.target.empty() != (!o.set_given && !o.remove)) {
        return make_error(ErrorKind::k_usage,
                          o.target.empty()
                              ? "--set and --remove need an ARRAY or NODES"
                              : "say what to do with " + escaped(o.target) + ": --set or --remove");
    }
    auto config = load_global_config(PasswordUse::k_skip);
    if (!config) {
        return config.error();
    }
    auto view = read_slurm(*config);
    if (!view) {
        return view.error();
    }
    if (o.target.empty()) {
        return show(*config, *view, o.as_json);
    }
    return change(global_options().config_path, *config, o, *view);
}

}  // namespace

std::vector<CommandSpec> keep_alive_commands() {
    return {{"keep-alive", "show or change which cloud nodes Slurm never suspends once up",
             [](CLI::App& app) {
                 auto o = std::make_shared<KeepAliveOptions>();
                 app.add_option("target", o->target,
                                "a node array (with --set N) or a hostlist of cloud nodes");
                 app.add_option("--set", o->set,
                                "keep N of the array's nodes up, or each named node (no N)")
                     ->expected(0, 1);
                 app.add_flag("--remove", o->remove, "keep them up no longer");
                 app.add_flag("--json", o->as_json, "show as JSON");
                 return std::function<Result<int>()>([o, &app] {
                     o->set_given = app.count("--set") > 0;
                     return run_keep_alive(*o);
                 });
             }}};
}

}  // namespace cb::cli
