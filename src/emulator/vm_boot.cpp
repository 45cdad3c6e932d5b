#include "emulator/vm_boot.h"

#include <algorithm>
#include <cctype>

#include "util/sanitize.h"

namespace cb::emulator {

namespace {

bool absolute(const std::string& path) {
    return !path.empty() && path.front() == '/';
}

}  // namespace

Status check_cluster_init_boot(const ClusterInitBoot& boot) {
    const std::pair<const char*, const std::string*> paths[] = {
        {"the boot script", &boot.boot_script},
        {"the cluster-init project", &boot.project},
        {"the VM root", &boot.root}};
    for (const auto& [what, path] : paths) {
        if (!absolute(*path)) {
            return make_error(ErrorKind::k_config,
                              std::string(what) + " must be an absolute path, got '" + *path + "'");
        }
    }
    for (const std::string* path : {&boot.sched, &boot.shared, &boot.munge_socket}) {
        if (!path->empty() && !absolute(*path)) {
            return make_error(ErrorKind::k_config,
                              "/sched, /shared and the munge socket must be absolute paths, "
                              "got '" +
                                  *path + "'");
        }
    }
    for (const auto& bind : boot.binds) {
        if (!absolute(bind)) {
            return make_error(ErrorKind::k_config,
                              "a VM bind must be an absolute path, got '" + bind + "'");
        }
    }
    if (boot.cluster.empty()) {
        return make_error(ErrorKind::k_config, "the cluster name for jetpack is empty");
    }
    return ok_status();
}

std::vector<std::string> vm_boot_argv(const ClusterInitBoot& boot, const VmBootTarget& vm) {
    std::vector<std::string> argv{
        "/bin/bash",  boot.boot_script, "boot",       "--node",   vm.node,   "--cluster",
        boot.cluster, "--project",      boot.project, "--spec",   boot.spec, "--root",
        boot.root,    "--mnt",          vm.mnt,       "--status", vm.status};
    auto add = [&argv](const char* option, const std::string& value) {
        if (!value.empty()) {
            argv.insert(argv.end(), {option, value});
        }
    };
    add("--sched", boot.sched);
    add("--shared", boot.shared);
    add("--munge-socket", boot.munge_socket);
    for (const auto& bind : boot.binds) {
        add("--bind", bind);
    }
    if (vm.gpus > 0) {
        add("--gpus", std::to_string(vm.gpus));
    }
    add("--config", "cyclecloud.instance.id=" + vm.instance_id);
    add("--config", "cyclecloud.instance.ipv4=" + vm.private_ip);
    for (const auto& [key, value] : vm.jetpack_config) {
        const bool plain_key = !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
            return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.' || c == '_' ||
                   c == '-';
        });
        if (plain_key && without_control_chars(value) == value) {
            add("--config", std::string(key).append("=").append(value));
        }
    }
    return argv;
}

std::optional<Status> parse_boot_status(std::string_view text) {
    if (text.empty() || text.back() != '\n') {
        return std::nullopt;
    }
    text.remove_suffix(1);
    if (text == "ok") {
        return ok_status();
    }
    constexpr std::string_view k_failed = "failed ";
    if (text.starts_with(k_failed)) {
        text.remove_prefix(k_failed.size());
    }
    return Status(make_error(ErrorKind::k_io, std::string(text)));
}

}  // namespace cb::emulator
