// `cloudburst users`: not built yet (see the open issues).
#include "cli/commands.h"

namespace cb::cli {

std::vector<CommandSpec> users_commands() {
    return {planned_command("users")};
}

}  // namespace cb::cli
