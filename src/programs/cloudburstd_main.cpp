#include <CLI/CLI.hpp>

#include <cstdlib>

#include "core/config_path.h"
#include "daemon/daemon.h"
#include "util/program.h"

int main(int argc, char** argv) {
    return cb::run_main("cloudburstd", [&]() -> cb::Result<int> {
        CLI::App app{"cloudburstd: the cloudburst daemon (runs in the foreground)"};
        cb::DaemonRunOptions options;
        options.config_path = cb::default_config_path();
        app.add_option("-c,--config", options.config_path, "configuration file");
        try {
            app.parse(argc, argv);
        } catch (const CLI::CallForHelp& e) {
            return app.exit(e);
        } catch (const CLI::ParseError& e) {
            return cb::make_error(cb::ErrorKind::k_usage, e.what());
        }
        return cb::run_daemon(options);
    });
}
