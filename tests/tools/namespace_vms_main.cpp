// namespace-vms: owns a few namespace VMs with running slurmd until it is told to stop. The
// testbed's always-on "on-prem" nodes run under it, and system tests use it to leave a
// crashed instance behind (SIGKILL it) for recover() to clean up.
//
//   namespace-vms --instance I --state-dir D --slurm-conf F [options] NODE...
//
// Cleans up what an earlier run of instance I left, creates one VM per NODE (addresses
// lowest free first from --pool), starts slurmd in each, writes --ready-file ("NODE IP
// INSTANCE_ID" per line), then waits for SIGTERM/SIGINT/SIGHUP and removes everything.
// With --recover-only it only cleans up and exits.
#include <signal.h>
#include <CLI/CLI.hpp>

#include "emulator/namespace_backend.h"
#include "util/files.h"
#include "util/log.h"
#include "util/program.h"

namespace {

using cb::emulator::NamespaceBackendOptions;

cb::Result<int> run(const NamespaceBackendOptions& options, const std::vector<std::string>& nodes,
                    const std::string& ready_file, bool recover_only) {
    // Blocked here and taken with sigwait() below; the backend resets the mask for slurmd.
    sigset_t stop_signals;
    ::sigemptyset(&stop_signals);
    for (const int sig : {SIGTERM, SIGINT, SIGHUP}) {
        ::sigaddset(&stop_signals, sig);
    }
    ::sigprocmask(SIG_BLOCK, &stop_signals, nullptr);

    auto backend = cb::emulator::make_namespace_backend(options);
    if (!backend) {
        return backend.error();
    }
    if (auto st = (*backend)->recover(); !st) {
        return st.error();
    }
    if (recover_only) {
        return 0;
    }
    std::string ready;
    for (const auto& node : nodes) {
        auto vm = (*backend)->create_vm(node, {});
        if (!vm) {
            return vm.error();
        }
        if (auto st = (*backend)->start_software(node, {}); !st) {
            return st.error();
        }
        ready += node + " " + vm->private_ip + " " + vm->instance_id + "\n";
    }
    if (!ready_file.empty()) {
        if (auto st = cb::write_file_atomic(ready_file, ready); !st) {
            return st.error();
        }
    }
    int sig = 0;
    ::sigwait(&stop_signals, &sig);
    cb::log::info("namespace-vms: signal {}, removing the VMs", sig);
    (*backend)->shutdown();
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    return cb::run_main("namespace-vms", [&]() -> cb::Result<int> {
        cb::log::init({"namespace-vms", "", cb::log::Level::k_info, true});
        NamespaceBackendOptions options;
        std::vector<std::string> nodes;
        std::string ready_file;
        bool external_bridge = false;
        bool host_boot_time = false;
        bool recover_only = false;
        CLI::App app{"Run namespace VMs with slurmd until SIGTERM", "namespace-vms"};
        app.add_option("--instance", options.instance, "instance name ([a-z0-9]{1,6})")->required();
        app.add_option("--state-dir", options.state_dir, "pid files and logs")->required();
        app.add_option("--subnet", options.subnet, "bridge subnet in 198.18.0.0/15")
            ->capture_default_str();
        app.add_option("--pool", options.pool, "VM addresses (default: the whole subnet)");
        app.add_option("--bridge", options.bridge, "bridge name (default: cb<instance>br)");
        app.add_flag("--external-bridge", external_bridge,
                     "the bridge exists already and is not ours to create or remove");
        app.add_option("--slurmd", options.slurmd, "slurmd binary")->capture_default_str();
        auto* conf = app.add_option("--slurm-conf", options.slurm_conf, "slurm.conf for slurmd");
        auto* server = app.add_option("--conf-server", options.conf_server,
                                      "configless: slurmctld host[:port]");
        conf->excludes(server);
        app.add_option("--slurmd-arg", options.slurmd_args, "extra slurmd argument (repeat)")
            ->allow_extra_args(false);
        app.add_flag("--host-boot-time", host_boot_time, "no time namespace");
        app.add_option("--ready-file", ready_file, "written when every VM runs slurmd");
        app.add_flag("--recover-only", recover_only, "clean up the instance and exit");
        app.add_option("nodes", nodes, "node names");
        try {
            app.parse(argc, argv);
        } catch (const CLI::ParseError& e) {
            return app.exit(e);
        }
        if (external_bridge) {
            options.bridge_owner = cb::emulator::BridgeOwner::k_external;
        }
        if (host_boot_time) {
            options.boot_time = cb::emulator::BootTime::k_host;
        }
        if (!options.conf_server.empty()) {
            options.config_source = cb::emulator::SlurmdConfigSource::k_server;
        }
        return run(options, nodes, ready_file, recover_only);
    });
}
