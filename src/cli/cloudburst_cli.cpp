#include <CLI/CLI.hpp>

#include <cstdlib>
#include <iostream>
#include <string>

#include "cli/commands.h"
#include "core/config_path.h"
#include "util/build_info.h"
#include "util/program.h"

namespace cb::cli {

namespace {

GlobalOptions g_options;

std::vector<CommandSpec> all_commands() {
    std::vector<CommandSpec> out;
    auto add = [&out](std::vector<CommandSpec> more) {
        for (auto& c : more) {
            out.push_back(std::move(c));
        }
    };
    add(hostlist_commands());
    add(config_commands());
    add(scale_commands());
    add(node_commands());
    add(init_commands());
    add(doctor_commands());
    add(users_commands());
    add(setup_commands());
    add(completion_commands());
    add(cost_commands());
    add(limits_commands());
    add(status_commands());
    add(keep_alive_commands());
    out.push_back({"version", "print the version", [](CLI::App&) {
                       return std::function<Result<int>()>([]() -> Result<int> {
                           std::cout << version_line("cloudburst") << "\n";
                           return 0;
                       });
                   }});
    return out;
}

}  // namespace

const GlobalOptions& global_options() {
    return g_options;
}

Result<Config> load_global_config(PasswordUse use) {
    return load_chosen_config({g_options.config_path, g_options.config_chosen_by}, use);
}

int cloudburst_main(int argc, char** argv) {
    return run_main("cloudburst", [&]() -> Result<int> {
        CLI::App app{"cloudburst: burst a Slurm cluster into Azure through CycleCloud"};
        app.require_subcommand(1);
        app.set_version_flag("--version", version_line("cloudburst"));
        auto chosen = choose_config_path();
        g_options.config_path = chosen.path;
        g_options.config_chosen_by = chosen.chosen_by;
        CLI::Option* config_option =
            app.add_option("-c,--config", g_options.config_path,
                           "configuration file (default: $CLOUDBURST_CONFIG, else cloudburst.toml "
                           "next to $SLURM_CONF, else /etc/cloudburst/cloudburst.toml)");
        std::function<Result<int>()> action;
        const auto commands = all_commands();
        for (const auto& spec : commands) {
            CLI::App* sub = app.add_subcommand(spec.name, spec.help);
            auto run = spec.setup(*sub);
            sub->callback([&action, run]() { action = run; });
        }
        try {
            app.parse(argc, argv);
        } catch (const CLI::CallForHelp& e) {
            return app.exit(e);
        } catch (const CLI::CallForAllHelp& e) {
            return app.exit(e);
        } catch (const CLI::CallForVersion& e) {
            return app.exit(e);
        } catch (const CLI::ParseError& e) {
            return make_error(ErrorKind::k_usage,
                              std::string(e.what()) + " (run 'cloudburst --help')");
        }
        if (config_option->count() > 0) {
            g_options.config_chosen_by.clear();
        }
        if (!action) {
            return make_error(ErrorKind::k_internal, "no subcommand ran");
        }
        return action();
    });
}

}  // namespace cb::cli
