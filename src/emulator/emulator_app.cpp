#include "emulator/emulator_app.h"

#include <malloc.h>
#include <unistd.h>
#include <CLI/CLI.hpp>

#include <charconv>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <random>
#include <tuple>

#include <fmt/format.h>

#include "emulator/api_service.h"
#include "emulator/credentials.h"
#include "emulator/model_runner.h"
#include "emulator/tls_cert.h"
#include "emulator/vm_backend.h"
#include "util/files.h"
#include "util/log.h"
#include "util/program.h"

#if __has_include("emulator/namespace_backend.h")
#include "emulator/namespace_backend.h"
#define CB_HAVE_NAMESPACE_BACKEND 1
#endif

namespace cb::emulator {

namespace {

constexpr const char* k_program = "cyclecloud-emulator";

// A directory made for this run and removed with everything in it when the run ends.
class TempDir {
  public:
    static Result<TempDir> create() {
        std::string path = (std::filesystem::temp_directory_path() / "cyclecloud-emulator.XXXXXX");
        if (::mkdtemp(path.data()) == nullptr) {
            return make_error(ErrorKind::k_io,
                              fmt::format("cannot create a temporary directory {}", path));
        }
        return TempDir(path);
    }
    TempDir() = default;
    TempDir(TempDir&& other) noexcept : m_path(std::exchange(other.m_path, "")) {}
    TempDir& operator=(TempDir&& other) noexcept {
        std::swap(m_path, other.m_path);
        return *this;
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    ~TempDir() {
        if (!m_path.empty()) {
            std::error_code ignored;
            std::filesystem::remove_all(m_path, ignored);
        }
    }
    const std::string& path() const { return m_path; }

  private:
    explicit TempDir(std::string path) : m_path(std::move(path)) {}
    std::string m_path;
};

// The file at `relative` in the working directory, or beside the executable's parent (a
// build directory inside the repository), or in ../share/cloudburst (an installed binary).
std::string find_data_file(const std::string& relative) {
    std::error_code ec;
    const std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
    std::vector<std::filesystem::path> candidates{relative};
    if (!ec) {
        for (auto dir = exe.parent_path(); dir.has_parent_path() && dir != dir.parent_path();
             dir = dir.parent_path()) {
            candidates.push_back(dir / relative);
            candidates.push_back(dir / "share/cloudburst" / relative);
        }
    }
    for (const auto& c : candidates) {
        if (std::filesystem::exists(c, ec)) {
            return c.string();
        }
    }
    return relative;
}

std::string random_password() {
    std::random_device random;
    std::string out;
    for (int i = 0; i < 4; ++i) {
        out += fmt::format("{:08x}", random());
    }
    return out;
}

Result<std::unique_ptr<VmBackend>> make_backend(const EmulatorOptions& o,
                                                const std::string& state_dir,
                                                const std::string& cluster) {
    if (o.backend == "none") {
        return make_none_backend();
    }
    if (o.backend != "namespaces") {
        return make_error(ErrorKind::k_usage,
                          fmt::format("--backend {}: expected none or namespaces", o.backend));
    }
#ifdef CB_HAVE_NAMESPACE_BACKEND
    NamespaceBackendOptions ns;
    ns.instance = o.namespaces.instance;
    ns.subnet = o.namespaces.subnet;
    ns.pool = o.namespaces.pool;
    ns.bridge = o.namespaces.bridge;
    // By default the fabrics take the /16 of 198.18.0.0/15 that the VMs' subnet is not in.
    std::string fabric = o.namespaces.fabric_subnet;
    if (fabric.empty()) {
        fabric = o.namespaces.subnet.starts_with("198.19.") ? "198.18.0.0/16" : "198.19.0.0/16";
    }
    ns.fabric_subnet = fabric == "none" ? "" : fabric;
    ns.bridge_owner =
        o.namespaces.external_bridge ? BridgeOwner::k_external : BridgeOwner::k_backend;
    ns.slurmd = o.namespaces.slurmd;
    ns.config_source = o.namespaces.conf_server.empty() ? SlurmdConfigSource::k_file
                                                        : SlurmdConfigSource::k_server;
    ns.slurm_conf = o.namespaces.slurm_conf;
    ns.conf_server = o.namespaces.conf_server;
    ns.slurmd_args = o.namespaces.slurmd_args;
    ns.state_dir = std::filesystem::absolute(state_dir + "/vms").string();
    ns.boot_time = o.namespaces.host_boot_time ? BootTime::k_host : BootTime::k_fresh;
    if (!o.namespaces.cluster_init.empty()) {
        if (o.namespaces.vm_boot.empty()) {
            return make_error(ErrorKind::k_usage,
                              "--cluster-init needs --vm-boot (scripts/emulator-vm-boot.sh)");
        }
        auto absolute = [](const std::string& p) {
            return p.empty() ? p : std::filesystem::absolute(p).string();
        };
        ClusterInitBoot& boot = ns.cluster_init;
        boot.boot_script = absolute(o.namespaces.vm_boot);
        boot.project = absolute(o.namespaces.cluster_init);
        boot.cluster = cluster;
        boot.root = absolute(o.namespaces.vm_root);
        boot.sched = absolute(o.namespaces.sched);
        boot.shared = absolute(o.namespaces.shared);
        for (const auto& bind : o.namespaces.vm_binds) {
            boot.binds.push_back(absolute(bind));
        }
        boot.munge_socket = o.namespaces.vm_munge_socket;
    }
    return make_namespace_backend(ns);
#else
    (void)state_dir;
    (void)cluster;
    return make_error(ErrorKind::k_usage,
                      "--backend namespaces: not available yet in this build (the namespace "
                      "VM backend is still being written); use --backend none");
#endif
}

}  // namespace

struct Emulator::Impl {
    EmulatorOptions options;
    TempDir temp_dir;
    std::string state_dir;
    std::string credentials_file;
    std::pair<std::string, std::string> user;
    TlsFiles tls;
    SystemClock clock;
    std::unique_ptr<VmBackend> backend;
    std::unique_ptr<ModelRunner> runner;
    std::unique_ptr<ApiService> api;
    std::unique_ptr<HttpServer> server;
    bool stopped = false;

    Status prepare_state_dir() {
        if (options.state_dir.empty()) {
            auto dir = TempDir::create();
            if (!dir) {
                return std::move(dir).error();
            }
            temp_dir = std::move(*dir);
            state_dir = temp_dir.path();
        } else {
            state_dir = std::filesystem::absolute(options.state_dir).string();
            if (Status st = make_directories(state_dir, 0700); !st) {
                return std::move(st).error().with_context("--state-dir");
            }
        }
        if (state_dir.find_first_of(" \t\n") != std::string::npos) {
            return make_error(ErrorKind::k_usage,
                              fmt::format("--state-dir {}: paths with spaces would break the "
                                          "ready line; choose another directory",
                                          state_dir));
        }
        return ok_status();
    }

    Result<Credentials> credentials() {
        if (!options.credentials_path.empty()) {
            credentials_file = std::filesystem::absolute(options.credentials_path).string();
            return Credentials::load(credentials_file);
        }
        credentials_file = state_dir + "/credentials";
        const std::string password = random_password();
        log::register_secret(password);
        if (Status st = write_file_atomic(credentials_file, "cyclecloud:" + password + "\n", 0600);
            !st) {
            return std::move(st).error();
        }
        return Credentials::single("cyclecloud", password);
    }
};

Emulator::Emulator(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}

Emulator::~Emulator() {
    stop();
}

Result<std::unique_ptr<Emulator>> Emulator::start(const EmulatorOptions& options) {
    auto impl = std::make_unique<Impl>();
    impl->options = options;
    if (Status st = impl->prepare_state_dir(); !st) {
        return std::move(st).error();
    }
    const std::string template_path = options.template_path.empty()
                                          ? find_data_file("templates/slurm-headless.txt")
                                          : options.template_path;
    const std::string skus_path =
        options.skus_path.empty() ? find_data_file("data/azure-skus.json") : options.skus_path;
    auto tmpl = ClusterTemplate::load(template_path);
    if (!tmpl) {
        return std::move(tmpl).error();
    }
    auto definition = resolve_cluster(*tmpl, options.parameters, options.cluster);
    if (!definition) {
        return std::move(definition).error();
    }
    auto catalog = SkuCatalog::load(skus_path);
    if (!catalog) {
        return std::move(catalog).error();
    }
    FaultSettings faults;
    for (const auto& spec : options.faults) {
        auto r = apply_fault_spec(spec, faults);
        if (!r) {
            return std::move(r).error().with_context("--fault");
        }
        if (*r) {
            return make_error(ErrorKind::k_usage,
                              "--fault " + spec +
                                  ": a one-shot action on existing nodes; use it "
                                  "while the emulator runs (`cyclecloud-emulator "
                                  "fault ...`), or evict-rate at start");
        }
    }
    ModelOptions model_options;
    model_options.timings = options.timings;
    model_options.quota = options.quota;
    model_options.faults = faults;
    model_options.seed = options.seed;
    auto model = ClusterModel::create(std::move(*definition), *catalog, model_options);
    if (!model) {
        return std::move(model).error().with_context(template_path);
    }
    auto credentials = impl->credentials();
    if (!credentials) {
        return std::move(credentials).error();
    }
    impl->user = credentials->users().front();

    const std::string cluster_name = model->definition().name;
    auto backend = make_backend(options, impl->state_dir, cluster_name);
    if (!backend) {
        return std::move(backend).error();
    }
    impl->backend = std::move(*backend);
    if (Status st = impl->backend->recover(); !st) {
        return std::move(st).error().with_context("cleaning up after an earlier run");
    }
    const std::size_t parallel = options.backend == "none" ? 1 : 8;
    impl->runner =
        std::make_unique<ModelRunner>(std::move(*model), *impl->backend, impl->clock, parallel);
    ApiOptions api_options;
    api_options.backend = options.backend;
    api_options.seed = options.seed;
    api_options.faults = faults;
    api_options.users_without_rights = options.users_without_rights;
    impl->api = std::make_unique<ApiService>(*impl->runner, std::move(*credentials), api_options);

    ServerOptions server_options;
    server_options.listen = options.listen;
    server_options.transport = options.transport;
    server_options.threads = options.threads;
    if (options.transport == Transport::k_https) {
        auto tls =
            generate_tls_files(impl->state_dir, {"127.0.0.1", "::1", "localhost"}, options.tls);
        if (!tls) {
            return std::move(tls).error();
        }
        impl->tls = *tls;
        server_options.cert_file = tls->server_cert;
        server_options.key_file = tls->server_key;
    }
    ApiService* api = impl->api.get();
    auto server =
        HttpServer::start(server_options, [api](const HttpRequest& r) { return api->handle(r); });
    if (!server) {
        impl->backend->shutdown();
        return std::move(server).error();
    }
    impl->server = std::move(*server);
    impl->api->set_base_url(impl->server->url());
    impl->runner->start(options.tick);
    return std::unique_ptr<Emulator>(new Emulator(std::move(impl)));
}

void Emulator::stop() {
    if (!m_impl || m_impl->stopped) {
        return;
    }
    m_impl->stopped = true;
    m_impl->api->release_waiters();
    m_impl->server->stop();
    // The VMs go before the wait for boots under way: a cluster-init whose VM is gone ends.
    m_impl->runner->stop_ticker();
    m_impl->backend->shutdown();
    m_impl->runner->stop();
}

std::string Emulator::url() const {
    return m_impl->server->url();
}
std::string Emulator::ca_file() const {
    return m_impl->tls.ca_cert;
}
std::string Emulator::tls_pin() const {
    return m_impl->tls.key_pin;
}
std::string Emulator::credentials_file() const {
    return m_impl->credentials_file;
}
std::string Emulator::user() const {
    return m_impl->user.first;
}
std::string Emulator::password() const {
    return m_impl->user.second;
}
std::string Emulator::state_dir() const {
    return m_impl->state_dir;
}
std::string Emulator::cluster() const {
    return m_impl->runner->with_model([](ClusterModel& m, Time) { return m.definition().name; });
}

std::string Emulator::ready_line() const {
    std::string line = fmt::format("ready url={} cluster={}", url(), cluster());
    if (!ca_file().empty()) {
        line += " ca=" + ca_file();
    }
    if (!tls_pin().empty()) {
        line += " tls-pin=" + tls_pin();
    }
    line += fmt::format(" credentials={} user={} state-dir={} pid={}", credentials_file(), user(),
                        state_dir(), ::getpid());
    return line;
}

// ---- the command line ---------------------------------------------------------------------

namespace {

Result<std::chrono::milliseconds> duration_flag(const std::string& flag, const std::string& v) {
    auto d = parse_duration(v);
    if (!d) {
        return make_error(ErrorKind::k_usage, fmt::format("{} {}: {}", flag, v, d.error().message));
    }
    return d;
}

// "[KEY=]CORES" or "KEY=CORES" into a quota map (KEY required when `key_required`).
Status quota_flag(const std::string& flag, const std::string& value,
                  std::map<std::string, std::int64_t>& by_key, std::int64_t* default_value) {
    const auto eq = value.rfind('=');
    const std::string key = eq == std::string::npos ? "" : value.substr(0, eq);
    const std::string number = eq == std::string::npos ? value : value.substr(eq + 1);
    std::int64_t cores = 0;
    const auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), cores);
    if (ec != std::errc() || end != number.data() + number.size() || cores < 0 ||
        (key.empty() && default_value == nullptr)) {
        return make_error(ErrorKind::k_usage,
                          fmt::format("{} {}: expected {}CORES", flag, value,
                                      default_value == nullptr ? "[REGION/]FAMILY=" : "[REGION=]"));
    }
    if (key.empty()) {
        *default_value = cores;
    } else {
        by_key[key] = cores;
    }
    return ok_status();
}

// Client flags shared by `fault` and `status`.
struct ClientFlags {
    std::string url;
    std::string credentials;
    std::string user;
    std::string password;
    std::string ca;
    bool insecure = false;

    void add(CLI::App& app) {
        app.add_option("--url", url, "the emulator's URL, as printed on its ready line")
            ->required();
        app.add_option("--credentials", credentials,
                       "file of user:password lines (the first is used)");
        app.add_option("--user", user, "user name (instead of --credentials)");
        app.add_option("--password", password, "password (instead of --credentials)");
        app.add_option("--ca", ca, "CA certificate to verify the emulator with (its ca=)");
        app.add_flag("--insecure", insecure, "do not verify the certificate");
    }

    Result<ClientRequest> request() const {
        ClientRequest r;
        r.url = url;
        r.ca_file = ca;
        r.verify = !insecure;
        r.user = user;
        r.password = password;
        if (!credentials.empty()) {
            auto c = Credentials::load(credentials);
            if (!c) {
                return std::move(c).error();
            }
            r.user = c->users().front().first;
            r.password = c->users().front().second;
        }
        return r;
    }
};

Result<int> print_answer(const Result<HttpResponse>& answer) {
    if (!answer) {
        return answer.error();
    }
    std::cout << answer->body << "\n";
    if (answer->status != 200) {
        return make_error(ErrorKind::k_cloud,
                          fmt::format("the emulator answered HTTP {}", answer->status));
    }
    return 0;
}

int wait_for_signal() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    int signal = 0;
    sigwait(&set, &signal);
    return signal;
}

}  // namespace

void limit_malloc_arenas() {
    mallopt(M_ARENA_MAX, 2);
}

int emulator_main(int argc, char** argv) {
    return run_main(k_program, [&]() -> Result<int> {
        CLI::App app{
            "cyclecloud-emulator: a CycleCloud REST API stand-in for tests, benchmarks "
            "and the demo.\nServes the cluster of a CycleCloud template on loopback; "
            "prints one 'ready url=...' line when it is up; SIGTERM or SIGINT stops it."};
        app.require_subcommand(0, 1);
        EmulatorOptions o;
        std::vector<std::string> parameters;
        std::string listen = "127.0.0.1:0";
        bool plain_http = false;
        std::string tls_mode = "ca";
        std::string timing = "fast";
        std::string acquire;
        std::string prepare;
        std::string terminate;
        std::string deallocate;
        std::string tick = "50ms";
        std::vector<std::string> family_quota;
        std::vector<std::string> regional_quota;
        std::vector<std::string> spot_quota;
        std::string ready_file;
        std::string log_level = "info";
        std::string record_bytes;
        std::string latency_per_mb;

        app.add_option("--template", o.template_path,
                       "CycleCloud cluster template (default: templates/slurm-headless.txt)");
        app.add_option("-p,--parameter", parameters,
                       "NAME=VALUE: override a template parameter, as cyclecloud import_cluster "
                       "-p (repeatable)");
        app.add_option("--cluster", o.cluster, "cluster name in URLs (default: the template's)");
        app.add_option("--skus", o.skus_path, "SKU catalog (default: data/azure-skus.json)");
        app.add_option("--listen", listen,
                       "ADDRESS:PORT on loopback (default 127.0.0.1:0; port 0 picks a free one)");
        app.add_flag("--http", plain_http, "serve plain HTTP instead of HTTPS");
        app.add_option("--tls", tls_mode,
                       "ca (default: a generated CA signs the certificate; ca= on the ready "
                       "line) or self-signed (like a fresh CycleCloud: no CA file)")
            ->check(CLI::IsMember({"ca", "self-signed"}));
        app.add_option("--tls-cn", o.tls.common_name,
                       "the certificate's only name (CN and subject alternative name) instead "
                       "of 127.0.0.1, ::1 and localhost");
        app.add_flag("--tls-expired", o.tls.expired,
                     "serve a certificate whose validity ended a day ago");
        app.add_option("--credentials", o.credentials_path,
                       "file of user:password lines (default: user cyclecloud with a random "
                       "password, written to <state-dir>/credentials)");
        app.add_option("--no-rights", o.users_without_rights,
                       "a user of --credentials who has no rights on the cluster (403)");
        app.add_option("--state-dir", o.state_dir,
                       "directory for the CA, certificate, credentials, log and VM state "
                       "(default: a temporary directory removed on exit)");
        app.add_option("--ready-file", ready_file, "also write the ready line to this file");
        app.add_option("--backend", o.backend, "VMs: none (API only) or namespaces (root)")
            ->check(CLI::IsMember({"none", "namespaces"}));
        app.add_option("--timing", timing,
                       "fast (acquire 1s, prepare 2s, terminate 1s, deallocate 1s) or realistic "
                       "(60s, 4m, 60s, 90s)")
            ->check(CLI::IsMember({"fast", "realistic"}));
        app.add_option("--acquire-time", acquire, "time in Acquiring, e.g. 500ms");
        app.add_option("--prepare-time", prepare, "time in Preparing");
        app.add_option("--terminate-time", terminate, "time in Terminating");
        app.add_option("--deallocate-time", deallocate, "time in Deallocating");
        app.add_option("--tick", tick, "how often the lifecycle advances (default 50ms)");
        app.add_option("--family-quota", family_quota,
                       "[REGION/]FAMILY=CORES, e.g. standardHBv3Family=480 (repeatable; "
                       "default 1000000)");
        app.add_option("--regional-quota", regional_quota,
                       "[REGION=]CORES: total regional vCPU quota (repeatable; default 1000000)");
        app.add_option("--spot-quota", spot_quota,
                       "[REGION=]CORES: Spot (low priority) vCPU quota (default 1000000)");
        app.add_option("--fault", o.faults,
                       "KIND=VALUE: inject a fault from the start "
                       "(repeatable; kinds below)");
        app.add_option("--record-bytes", record_bytes,
                       "BYTES: pad every node record to about this size with the attributes "
                       "real records carry (the record-bytes fault setting; default 0: about "
                       "1.2 KB)");
        app.add_option("--latency-per-mb", latency_per_mb,
                       "DURATION: delay API answers by this much per MiB of body, on top of "
                       "the latency fault (the latency-per-mb fault setting)");
        app.add_option("--seed", o.seed, "seed for every random choice (default 1)");
        app.add_option("--threads", o.threads, "concurrent HTTP requests (default 32)");
        app.add_option("--log-level", log_level, "debug, info, warn or error")
            ->check(CLI::IsMember({"debug", "info", "warn", "error"}));
        auto* ns = app.add_option_group("namespaces backend");
        ns->add_option("--instance", o.namespaces.instance,
                       "backend instance name, 1-6 of [a-z0-9]; distinct per emulator "
                       "(default emu)");
        ns->add_option("--subnet", o.namespaces.subnet, "bridge subnet in 198.18.0.0/15");
        ns->add_option("--pool", o.namespaces.pool, "VM addresses from this part of --subnet");
        ns->add_option("--bridge", o.namespaces.bridge, "bridge name (default cb<instance>br)");
        ns->add_option(
            "--fabric-subnet", o.namespaces.fabric_subnet,
            "InfiniBand (ib0) addresses of VMs of InfiniBand sizes, in 198.18.0.0/15 "
            "apart from --subnet (default 198.19.0.0/16, or 198.18.0.0/16 when --subnet is "
            "in 198.19); none: no ib0");
        ns->add_flag("--external-bridge", o.namespaces.external_bridge,
                     "the bridge exists already and is not ours to remove");
        ns->add_option("--slurmd", o.namespaces.slurmd, "slurmd to run in each VM");
        ns->add_option("--slurm-conf", o.namespaces.slurm_conf, "slurm.conf for slurmd -f");
        ns->add_option("--conf-server", o.namespaces.conf_server,
                       "HOST[:PORT] for configless slurmd instead of --slurm-conf");
        ns->add_option("--slurmd-arg", o.namespaces.slurmd_args, "extra slurmd argument");
        ns->add_flag("--host-boot-time", o.namespaces.host_boot_time,
                     "no time namespace: VMs share the host's uptime");
        ns->add_option("--cluster-init", o.namespaces.cluster_init,
                       "VMs boot as CycleCloud nodes: run this cluster-init project's execute "
                       "spec (a jetpack, /sched, /shared) instead of starting slurmd");
        ns->add_option("--vm-boot", o.namespaces.vm_boot,
                       "the boot script for --cluster-init (scripts/emulator-vm-boot.sh)");
        ns->add_option("--vm-root", o.namespaces.vm_root,
                       "the VMs' image for --cluster-init (default /, this host's)");
        ns->add_option("--sched", o.namespaces.sched, "the scheduler's /sched for the VMs");
        ns->add_option("--shared", o.namespaces.shared, "the scheduler's /shared for the VMs");
        ns->add_option("--vm-bind", o.namespaces.vm_binds,
                       "a host directory the VMs see at the same path (repeat)");
        ns->add_option("--vm-munge-socket", o.namespaces.vm_munge_socket,
                       "slurm.conf's AuthInfo socket: in a VM, its own munged");
        app.footer(
            "Faults (--fault KIND=VALUE, or at run time: cyclecloud-emulator fault --url "
            "URL KIND=VALUE):\n" +
            fault_help() +
            "\nExit codes: 0 stopped by SIGTERM/SIGINT, 2 bad command line, 3 bad "
            "template/catalog/credentials, 4 cannot listen or a client call failed.");

        ClientFlags fault_client;
        std::vector<std::string> fault_specs;
        CLI::App* fault = app.add_subcommand("fault", "change faults of a running emulator");
        fault_client.add(*fault);
        fault->add_option("faults", fault_specs, "KIND=VALUE ...")->required();
        ClientFlags status_client;
        CLI::App* status = app.add_subcommand("status", "print a running emulator's counters");
        status_client.add(*status);

        try {
            app.parse(argc, argv);
        } catch (const CLI::ParseError& e) {
            return app.exit(e);
        }

        if (fault->parsed()) {
            auto request = fault_client.request();
            if (!request) {
                return std::move(request).error();
            }
            request->method = "POST";
            request->path = "/_emulator/faults";
            request->body = fault_request_body(fault_specs);
            return print_answer(send_request(*request));
        }
        if (status->parsed()) {
            auto request = status_client.request();
            if (!request) {
                return std::move(request).error();
            }
            request->path = "/_emulator/status";
            return print_answer(send_request(*request));
        }

        for (const auto& p : parameters) {
            auto parsed = parse_parameter_override(p);
            if (!parsed) {
                return std::move(parsed).error();
            }
            o.parameters.push_back(*parsed);
        }
        auto address = parse_listen_address(listen);
        if (!address) {
            return std::move(address).error();
        }
        o.listen = *address;
        // Before the --fault specs, which may change them again.
        for (const auto& [kind, value] : {std::pair{"latency-per-mb", &latency_per_mb},
                                          std::pair{"record-bytes", &record_bytes}}) {
            if (!value->empty()) {
                o.faults.insert(o.faults.begin(), std::string(kind) + "=" + *value);
            }
        }
        o.transport = plain_http ? Transport::k_http : Transport::k_https;
        o.tls.mode = tls_mode == "self-signed" ? TlsMode::k_self_signed : TlsMode::k_ca_signed;
        if (plain_http && (tls_mode != "ca" || !o.tls.common_name.empty() || o.tls.expired)) {
            return make_error(ErrorKind::k_usage,
                              "--http serves no certificate: --tls, --tls-cn and --tls-expired "
                              "need HTTPS");
        }
        o.timings = timing == "realistic" ? Timings::realistic() : Timings::fast();
        for (const auto& [flag, value, target] :
             {std::tuple{"--acquire-time", &acquire, &o.timings.acquire},
              std::tuple{"--prepare-time", &prepare, &o.timings.prepare},
              std::tuple{"--terminate-time", &terminate, &o.timings.terminate},
              std::tuple{"--deallocate-time", &deallocate, &o.timings.deallocate},
              std::tuple{"--tick", &tick, &o.tick}}) {
            if (value->empty()) {
                continue;
            }
            auto d = duration_flag(flag, *value);
            if (!d) {
                return std::move(d).error();
            }
            *target = *d;
        }
        for (const auto& v : family_quota) {
            if (Status st = quota_flag("--family-quota", v, o.quota.family_cores, nullptr); !st) {
                return std::move(st).error();
            }
        }
        for (const auto& v : regional_quota) {
            if (Status st = quota_flag("--regional-quota", v, o.quota.regional_cores,
                                       &o.quota.default_regional_cores);
                !st) {
                return std::move(st).error();
            }
        }
        for (const auto& v : spot_quota) {
            if (Status st =
                    quota_flag("--spot-quota", v, o.quota.spot_cores, &o.quota.default_spot_cores);
                !st) {
                return std::move(st).error();
            }
        }

        limit_malloc_arenas();
        // Signals are taken by sigwait() below; every thread started from here inherits the
        // block, so none of them is interrupted.
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGTERM);
        sigaddset(&set, SIGINT);
        pthread_sigmask(SIG_BLOCK, &set, nullptr);

        std::string log_file;
        if (!o.state_dir.empty()) {
            if (Status st = make_directories(o.state_dir, 0700); !st) {
                return std::move(st).error().with_context("--state-dir");
            }
            log_file = o.state_dir + "/emulator.log";
        }
        const std::map<std::string, log::Level> levels{{"debug", log::Level::k_debug},
                                                       {"info", log::Level::k_info},
                                                       {"warn", log::Level::k_warn},
                                                       {"error", log::Level::k_error}};
        log::init({k_program, log_file, levels.at(log_level), true});

        auto emulator = Emulator::start(o);
        if (!emulator) {
            return std::move(emulator).error();
        }
        const std::string line = (*emulator)->ready_line();
        std::cout << line << std::endl;
        if (!ready_file.empty()) {
            if (Status st = write_file_atomic(ready_file, line + "\n"); !st) {
                return std::move(st).error().with_context("--ready-file");
            }
        }
        log::info("serving cluster {} at {}", (*emulator)->cluster(), (*emulator)->url());
        const int signal = wait_for_signal();
        log::info("{} received: stopping", signal == SIGINT ? "SIGINT" : "SIGTERM");
        (*emulator)->stop();
        return 0;
    });
}

}  // namespace cb::emulator
