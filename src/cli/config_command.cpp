#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "util/program.h"

namespace cb::cli {

std::vector<CommandSpec> config_commands() {
    return {{"config", "show or check the configuration", [](CLI::App& app) {
                 app.allow_extras();
                 return std::function<Result<int>()>(
                     []() -> Result<int> { return not_implemented("config"); });
             }}};
}

}  // namespace cb::cli
