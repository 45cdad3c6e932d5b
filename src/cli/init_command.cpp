// `cloudburst init`: not built yet (see the open issues).
#include "cli/commands.h"

namespace cb::cli {

std::vector<CommandSpec> init_commands() {
    return {planned_command("init")};
}

}  // namespace cb::cli
