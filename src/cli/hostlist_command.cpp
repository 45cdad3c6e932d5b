#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "util/program.h"

namespace cb::cli {

std::vector<CommandSpec> hostlist_commands() {
    return {{"hostlist", "expand, compress or sort Slurm hostlist expressions", [](CLI::App& app) {
                 app.allow_extras();
                 return std::function<Result<int>()>(
                     []() -> Result<int> { return not_implemented("hostlist"); });
             }}};
}

}  // namespace cb::cli
