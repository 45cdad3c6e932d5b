// `cloudburst setup`: not built yet (see the open issues).
#include "cli/commands.h"

namespace cb::cli {

std::vector<CommandSpec> setup_commands() {
    return {planned_command("setup")};
}

}  // namespace cb::cli
