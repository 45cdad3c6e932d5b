#include <CLI/CLI.hpp>

#include <cstdlib>

#include "core/config_path.h"
#include "daemon/daemon.h"
#include "util/build_info.h"
#include "util/program.h"

int main(int argc, char** argv) {
    return cb::run_main("cloudburstd", [&]() -> cb::Result<int> {
        CLI::App app{"cloudburstd: the cloudburst daemon (runs in the foreground)"};
        cb::DaemonRunOptions options;
        auto chosen = cb::choose_config_path();
        options.config_path = chosen.path;
        options.config_chosen_by = chosen.chosen_by;
        CLI::Option* config_option =
            app.add_option("-c,--config", options.config_path, "configuration file");
        app.set_version_flag("--version", std::string(cb::version_line("cloudburstd")));
        try {
            app.parse(argc, argv);
        } catch (const CLI::CallForHelp& e) {
            return app.exit(e);
        } catch (const CLI::CallForVersion& e) {
            return app.exit(e);
        } catch (const CLI::ParseError& e) {
            return cb::make_error(cb::ErrorKind::k_usage, e.what());
        }
        if (config_option->count() > 0) {
            options.config_chosen_by.clear();
        }
        return cb::run_daemon(options);
    });
}
