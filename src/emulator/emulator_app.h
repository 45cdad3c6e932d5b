// The cyclecloud-emulator program: an Emulator (model + VM backend + API + HTTP server, all
// started and stopped together) and the command line around it.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "emulator/cluster_model.h"
#include "emulator/cluster_template.h"
#include "emulator/http_server.h"
#include "emulator/tls_cert.h"
#include "util/result.h"

namespace cb::emulator {

struct NamespaceFlags {
    std::string instance = "emu";
    std::string subnet = "198.18.0.0/24";
    std::string pool;
    std::string bridge;
    bool external_bridge = false;
    // InfiniBand fabrics (NamespaceBackendOptions::fabric_subnet); "none": no VM gets ib0;
    // "": 198.19.0.0/16, or 198.18.0.0/16 when `subnet` is in 198.19 (default_fabric_subnet).
    std::string fabric_subnet;
    std::string slurmd = "/usr/sbin/slurmd";
    std::string slurm_conf;
    std::string conf_server;
    std::vector<std::string> slurmd_args;
    bool host_boot_time = false;
    // --cluster-init: VMs boot as CycleCloud nodes do (NamespaceBackendOptions::cluster_init).
    std::string cluster_init;  // the project directory; empty: slurmd is started directly
    std::string vm_boot;       // scripts/emulator-vm-boot.sh
    std::string vm_root = "/";
    std::string sched;
    std::string shared;
    std::vector<std::string> vm_binds;
    std::string vm_munge_socket;
};

struct EmulatorOptions {
    std::string template_path;  // empty: templates/slurm-headless.txt, found near the binary
    std::string skus_path;      // empty: data/azure-skus.json, likewise
    std::string cluster;        // empty: the template's cluster name
    std::vector<ParameterOverride> parameters;
    ListenAddress listen{"127.0.0.1", 0};
    Transport transport = Transport::k_https;
    TlsCertOptions tls;            // --tls, --tls-cn, --tls-expired (HTTPS only)
    std::string credentials_path;  // empty: a random password in <state dir>/credentials
    std::vector<std::string> users_without_rights;  // --no-rights: 403 on the cluster
    std::string state_dir;                          // empty: a temporary directory, removed on stop
    std::string backend = "none";                   // "none" or "namespaces"
    NamespaceFlags namespaces;
    Timings timings;
    QuotaSettings quota;
    std::vector<std::string> faults;  // "KIND=VALUE"
    std::uint64_t seed = 1;
    std::chrono::milliseconds tick{50};
    std::size_t threads = 32;
};

class Emulator {
  public:
    // Loads the template and catalog, makes the backend (recover() included), binds and
    // serves. Errors say which input was wrong (k_config, k_usage) or what failed (k_io).
    static Result<std::unique_ptr<Emulator>> start(const EmulatorOptions& options);
    ~Emulator();  // stop()
    Emulator(const Emulator&) = delete;
    Emulator& operator=(const Emulator&) = delete;

    std::string url() const;
    std::string ca_file() const;  // empty for plain HTTP and a self-signed certificate
    // The server key as libcurl's pinned public key ("sha256//BASE64"); empty for plain HTTP.
    std::string tls_pin() const;
    std::string credentials_file() const;
    std::string user() const;      // the first user in the credentials file
    std::string password() const;  // that user's password
    std::string state_dir() const;
    std::string cluster() const;
    // One machine-readable line: "ready url=... cluster=... [ca=...] [tls-pin=...]
    // credentials=... user=... state-dir=... pid=...", printed on start and written to
    // --ready-file.
    std::string ready_line() const;

    // Stops serving, stops the lifecycle, calls the backend's shutdown(). Idempotent.
    void stop();

  private:
    struct Impl;
    explicit Emulator(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> m_impl;
};

// Caps glibc's malloc arenas at two. Answers of 10+ MB built on any of the server's worker
// threads otherwise leave freed memory parked in one arena per thread: 10,000 nodes measured
// 670 MB RSS instead of about 100 MB (bench/emulator_bench.cpp). Call before serving.
void limit_malloc_arenas();

// Entry point of cyclecloud-emulator (serve; or the `fault` and `status` subcommands).
int emulator_main(int argc, char** argv);

}  // namespace cb::emulator
