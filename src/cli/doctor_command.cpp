// `cloudburst doctor`: not built yet (see the open issues).
#include "cli/commands.h"

namespace cb::cli {

std::vector<CommandSpec> doctor_commands() {
    return {planned_command("doctor")};
}

}  // namespace cb::cli
