// The `cloudburst` operator command: a table of subcommands, each a small module in cli/.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/config_loader.h"
#include "util/result.h"

namespace CLI {
class App;
}

namespace cb::cli {

// A subcommand: `setup` adds its options to `app` and returns the action to run when the
// subcommand was chosen (called after parsing).
struct CommandSpec {
    const char* name;
    const char* help;
    std::function<std::function<Result<int>()>(CLI::App& app)> setup;
};

// Global options every subcommand can read.
struct GlobalOptions {
    std::string config_path;  // --config, CLOUDBURST_CONFIG, else /etc/cloudburst/cloudburst.toml
    std::string config_chosen_by;  // the environment variable that chose it, if one did
};

const GlobalOptions& global_options();

// load_config of global_options().config_path: the only way a subcommand reads the
// configuration, so every one applies the trust rule (config_loader.h) before it uses a path,
// URL or program named there, and a refusal names the environment variable that chose the file.
Result<Config> load_global_config(PasswordUse use);

// Entry point of the `cloudburst` program.
int cloudburst_main(int argc, char** argv);

// Subcommand tables contributed by modules (each defined in its own .cpp).
std::vector<CommandSpec> hostlist_commands();
std::vector<CommandSpec> config_commands();
std::vector<CommandSpec> scale_commands();
std::vector<CommandSpec> node_commands();
std::vector<CommandSpec> init_commands();
std::vector<CommandSpec> doctor_commands();
std::vector<CommandSpec> users_commands();
std::vector<CommandSpec> setup_commands();
std::vector<CommandSpec> completion_commands();
std::vector<CommandSpec> cost_commands();
std::vector<CommandSpec> limits_commands();
std::vector<CommandSpec> status_commands();
std::vector<CommandSpec> keep_alive_commands();

// The bash completion script for the command tree under `root` (`cloudburst completion bash`).
std::string bash_completion(const CLI::App& root);

}  // namespace cb::cli
