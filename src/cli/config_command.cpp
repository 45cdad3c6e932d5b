// `cloudburst config show|check` (and the hidden `config docs`, which writes
// docs/configuration.md). The file is global_options().config_path.
#include <CLI/CLI.hpp>

#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "core/config_loader.h"
#include "core/config_render.h"

namespace cb::cli {

namespace {

struct ConfigSubcommand {
    const char* name;
    const char* help;  // empty: hidden from --help
    Result<int> (*run)();
};

Result<int> show() {
    const auto& path = global_options().config_path;
    auto config = load_global_config(PasswordUse::k_read);
    if (!config) {
        return std::move(config).error();
    }
    std::cout << render_effective_config(*config, path);
    return 0;
}

Result<int> check() {
    const auto& path = global_options().config_path;
    auto config = load_global_config(PasswordUse::k_read);
    if (!config) {
        return std::move(config).error();
    }
    std::cout << path << ": OK\n";
    if (auto warning = transport_warning(config->cyclecloud); !warning.empty()) {
        std::cout << "WARNING: " << warning << "\n";
    }
    return 0;
}

Result<int> docs() {
    std::cout << render_config_reference();
    return 0;
}

constexpr ConfigSubcommand k_subcommands[] = {
    {"show", "print the effective configuration, defaults included, secrets masked", show},
    {"check", "validate the configuration file (exit 0: valid, 3: not)", check},
    {"docs", "", docs},  // regenerates docs/configuration.md
};

}  // namespace

std::vector<CommandSpec> config_commands() {
    return {{"config", "show or check the configuration", [](CLI::App& app) {
                 app.require_subcommand(1);
                 auto chosen = std::make_shared<Result<int> (*)()>(nullptr);
                 for (const auto& sub : k_subcommands) {
                     CLI::App* cmd = app.add_subcommand(sub.name, sub.help);
                     if (*sub.help == '\0') {
                         cmd->group("");
                     }
                     cmd->callback([chosen, run = sub.run]() { *chosen = run; });
                 }
                 return std::function<Result<int>()>([chosen]() -> Result<int> {
                     if (*chosen == nullptr) {
                         return make_error(ErrorKind::k_internal, "no config subcommand ran");
                     }
                     return (*chosen)();
                 });
             }}};
}

}  // namespace cb::cli
