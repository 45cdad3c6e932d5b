#include "emulator/namespace_backend.h"

#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "emulator/ipv4_subnet.h"
#include "emulator/netns.h"
#include "util/files.h"
#include "util/log.h"
#include "util/process.h"
#include "util/unique_fd.h"

namespace cb::emulator {

namespace {

constexpr std::size_t k_max_instance_length = 6;  // keeps "cb<instance>-<offset>" <= 15
constexpr std::size_t k_max_node_name_length = 63;
constexpr int k_min_prefix_length = 16;  // offsets fit in 5 digits
constexpr int k_max_prefix_length = 30;  // room for a gateway and one VM

Error config_error(std::string message) {
    return make_error(ErrorKind::k_config, "namespaces backend: " + std::move(message));
}

bool is_lower_alnum(char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

bool is_node_name_char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '_' || c == '.';
}

Status check_node_name(const std::string& name) {
    if (name.empty() || name.size() > k_max_node_name_length || name.front() == '-' ||
        name.front() == '.' || !std::all_of(name.begin(), name.end(), is_node_name_char)) {
        return make_error(ErrorKind::k_usage,
                          "invalid node name '" + name +
                              "': use 1-63 letters, digits, '-', '_' or '.', not starting "
                              "with '-' or '.'");
    }
    return ok_status();
}

// Options after validation, with everything derived from them.
struct Plan {
    NamespaceBackendOptions options;
    Ipv4Subnet subnet;
    Ipv4Subnet pool;
    std::uint32_t gateway = 0;
    std::string bridge;
    std::optional<Ipv4Subnet> fabric;  // none: no VM gets ib0
};

Result<Plan> make_plan(const NamespaceBackendOptions& options) {
    Plan plan;
    plan.options = options;
    const std::string& instance = options.instance;
    if (instance.empty() || instance.size() > k_max_instance_length ||
        !std::all_of(instance.begin(), instance.end(), is_lower_alnum)) {
        return config_error("invalid instance name '" + instance +
                            "': use 1-6 lower-case letters or digits");
    }
    auto subnet = parse_ipv4_subnet(options.subnet);
    if (!subnet) {
        return config_error(subnet.error().message);
    }
    if (!emulator_address_range().contains(*subnet)) {
        return config_error("subnet " + subnet->to_string() + " is outside " +
                            emulator_address_range().to_string() +
                            ", the only range emulated VMs may use");
    }
    if (subnet->prefix_length < k_min_prefix_length ||
        subnet->prefix_length > k_max_prefix_length) {
        return config_error("subnet " + subnet->to_string() +
                            ": the prefix length must be from 16 to 30");
    }
    plan.subnet = *subnet;
    plan.gateway = subnet->network + 1;
    plan.pool = plan.subnet;
    if (!options.pool.empty()) {
        auto pool = parse_ipv4_subnet(options.pool);
        if (!pool) {
            return config_error("pool: " + pool.error().message);
        }
        if (!plan.subnet.contains(*pool)) {
            return config_error("pool " + pool->to_string() + " is not inside subnet " +
                                plan.subnet.to_string());
        }
        plan.pool = *pool;
    }
    if (!options.fabric_subnet.empty()) {
        auto fabric = parse_ipv4_subnet(options.fabric_subnet);
        if (!fabric) {
            return config_error("fabric subnet: " + fabric.error().message);
        }
        if (!emulator_address_range().contains(*fabric)) {
            return config_error("fabric subnet " + fabric->to_string() + " is outside " +
                                emulator_address_range().to_string() +
                                ", the only range emulated VMs may use");
        }
        if (fabric->contains(plan.subnet) || plan.subnet.contains(*fabric)) {
            return config_error("fabric subnet " + fabric->to_string() + " overlaps subnet " +
                                plan.subnet.to_string() +
                                ": the InfiniBand fabrics need addresses of their own");
        }
        if (fabric->prefix_length > plan.subnet.prefix_length) {
            return config_error("fabric subnet " + fabric->to_string() +
                                " is smaller than subnet " + plan.subnet.to_string() +
                                ": a VM's fabric address has the host part of its address, so "
                                "the fabric's prefix can be at most /" +
                                std::to_string(plan.subnet.prefix_length));
        }
        plan.fabric = *fabric;
    }
    plan.bridge = options.bridge.empty() ? default_bridge(instance) : options.bridge;
    if (plan.bridge.size() > 15) {
        return config_error("bridge name '" + plan.bridge + "' is longer than 15 characters");
    }
    if (options.slurmd.empty() || options.slurmd.front() != '/') {
        return config_error("the slurmd path must be absolute, got '" + options.slurmd + "'");
    }
    if (options.config_source == SlurmdConfigSource::k_file &&
        (options.slurm_conf.empty() || options.slurm_conf.front() != '/')) {
        return config_error("slurm_conf must be an absolute path, got '" + options.slurm_conf +
                            "'");
    }
    if (options.config_source == SlurmdConfigSource::k_server && options.conf_server.empty()) {
        return config_error("conf_server is empty (expected host[:port])");
    }
    if (options.state_dir.empty() || options.state_dir.front() != '/') {
        return config_error("state_dir must be an absolute path, got '" + options.state_dir + "'");
    }
    if (!options.cluster_init.boot_script.empty()) {
        if (auto st = check_cluster_init_boot(options.cluster_init); !st) {
            return config_error("cluster-init: " + st.error().message);
        }
    }
    return plan;
}

// What a pid file holds, "PID STARTTIME\n": the start time (field 22 of /proc/PID/stat,
// clock ticks after boot) names one process for good, since PIDs are reused but a (pid,
// start time) pair is not.
struct PidRecord {
    pid_t pid = -1;
    std::uint64_t start_time = 0;
};

// The two fields of /proc/PID/stat we need.
struct ProcStat {
    char state = '?';              // field 3: 'Z' for a zombie
    std::uint64_t start_time = 0;  // field 22
};

std::optional<ProcStat> read_proc_stat(pid_t pid) {
    auto stat = read_file("/proc/" + std::to_string(pid) + "/stat", 4096);
    const auto paren = stat ? stat->rfind(')') : std::string::npos;  // the name may hold ')'
    if (paren == std::string::npos) {
        return std::nullopt;
    }
    std::istringstream fields(stat->substr(paren + 1));
    ProcStat result;
    std::string field;
    for (int i = 3; i <= 22 && (fields >> field); ++i) {
        if (i == 3) {
            result.state = field.front();
        }
    }
    const auto [end, ec] =
        std::from_chars(field.data(), field.data() + field.size(), result.start_time);
    if (ec != std::errc() || end != field.data() + field.size()) {
        return std::nullopt;
    }
    return result;
}

// The recorded process is still running: not gone, not a zombie, not someone else's.
bool is_running(const PidRecord& record) {
    const auto stat = read_proc_stat(record.pid);
    return stat && stat->state != 'Z' && stat->start_time == record.start_time;
}

std::optional<PidRecord> read_pid_file(const std::string& path) {
    auto text = read_file(path, 256);
    if (!text) {
        return std::nullopt;
    }
    std::istringstream in(*text);
    PidRecord record;
    if (!(in >> record.pid >> record.start_time) || record.pid <= 1) {
        return std::nullopt;
    }
    return record;
}

// Kills the recorded process and its process group (it was started as a session leader) if
// it is still the process we started, and waits until it is gone; a PID that now belongs to
// someone else is left alone.
Status kill_recorded_process(const std::string& pid_file) {
    const auto record = read_pid_file(pid_file);
    if (!record || !is_running(*record)) {
        return ok_status();
    }
    ::kill(-record->pid, SIGKILL);
    ::kill(record->pid, SIGKILL);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (is_running(*record)) {
        if (std::chrono::steady_clock::now() > deadline) {
            return make_error(ErrorKind::k_io, "pid " + std::to_string(record->pid) + " from " +
                                                   pid_file + " survived SIGKILL");
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return ok_status();
}

std::string hex(std::uint64_t value, int digits) {
    static constexpr char k_digits[] = "0123456789abcdef";
    std::string out(static_cast<std::size_t>(digits), '0');
    for (int i = digits - 1; i >= 0 && value != 0; --i, value >>= 4) {
        out[static_cast<std::size_t>(i)] = k_digits[value & 15];
    }
    return out;
}

// CycleCloud's host name for a VM before its cluster-init names it: "ip-" and the address in
// hex, e.g. "ip-C6126480" for 198.18.100.128.
std::string cycle_host_name(std::uint32_t address) {
    std::string name = "ip-" + hex(address, 8);
    std::transform(name.begin() + 3, name.end(), name.begin() + 3,
                   [](char c) { return static_cast<char>(std::toupper(c)); });
    return name;
}

// "boottime -SECONDS 0": written to /proc/self/timens_offsets of a new time namespace, makes
// the VM's boot time now (its uptime starts at 0).
std::string fresh_boot_offsets() {
    timespec now{};
    ::clock_gettime(CLOCK_BOOTTIME, &now);
    return "boottime -" + std::to_string(now.tv_sec) + " 0\n";
}

struct Vm {
    VmIdentity identity;
    std::string netns;
    std::string veth;
    std::uint32_t offset = 0;
    ChildProcess slurmd;  // not started: pid() == -1
    // Its InfiniBand fabric ("" without ib0): the key of NamespaceBackend::m_fabrics.
    std::string fabric;
    std::string fabric_veth;    // host side of ib0
    std::string fabric_bridge;  // the fabric's bridge
    std::string fabric_ip;
};

// A fabric's key: the VMs of a placement group share one; a VM of an InfiniBand size in no
// group has one of its own.
std::string fabric_key(const std::string& node, const VmPlacement& placement) {
    return placement.placement_group.empty() ? "vm " + node
                                             : "placement group " + placement.placement_group;
}

// One InfiniBand fabric: a bridge, made with its first VM and removed with its last.
struct Fabric {
    int number = 0;
    std::string bridge;
    int vms = 0;  // VMs on it, or being put on it
};

class NamespaceBackend final : public VmBackend {
  public:
    explicit NamespaceBackend(Plan plan)
        : m_plan(std::move(plan)), m_id_nonce(std::random_device{}()) {}
    NamespaceBackend(const NamespaceBackend&) = delete;
    NamespaceBackend& operator=(const NamespaceBackend&) = delete;
    ~NamespaceBackend() override { shutdown(); }

    Status recover() override;
    Result<VmIdentity> create_vm(const std::string& node_name,
                                 const VmPlacement& placement) override;
    Status start_software(const std::string& node_name, const VmSoftware& software) override;
    bool slow_software() const override { return runs_cluster_init(); }
    Status destroy_vm(const std::string& node_name) override;
    void shutdown() override;

  private:
    std::string netns_name(const std::string& node) const {
        return namespace_prefix(m_plan.options.instance) + node;
    }
    std::string run_dir() const { return m_plan.options.state_dir + "/run"; }
    std::string log_dir() const { return m_plan.options.state_dir + "/log"; }
    std::string pid_file(const std::string& node) const { return run_dir() + "/" + node + ".pid"; }
    std::string boot_status_file(const std::string& node) const {
        return run_dir() + "/" + node + ".boot";
    }
    bool runs_cluster_init() const { return !m_plan.options.cluster_init.boot_script.empty(); }

    Status ensure_bridge();
    Status delete_owned_bridge();
    Result<std::uint32_t> reserve_offset();  // caller holds m_mutex
    Status build_network(const Vm& vm);
    // Counts one more VM on the fabric `key`, making its bridge if it has none; returns the
    // bridge. leave_fabric() undoes it, removing the bridge with the fabric's last VM.
    Result<std::string> join_fabric(const std::string& key);
    Status leave_fabric(const std::string& key);
    std::vector<std::string> slurmd_argv(const std::string& node) const;
    // Waits until the VM's cluster-init has finished (its status file) or its boot died.
    Status wait_for_cluster_init(const std::string& node, ChildProcess& boot);
    std::vector<std::string> slurmd_env() const;
    // Stops everything of one VM (its processes, veths, namespace, pid file); `vm.netns` names
    // the namespace even for a VM this instance does not know.
    Status tear_down(const std::string& node, Vm& vm);

    const Plan m_plan;
    const std::uint64_t m_id_nonce;

    std::mutex m_bridge_mutex;
    bool m_bridge_ready = false;  // guarded by m_bridge_mutex

    std::mutex m_mutex;
    std::map<std::string, Vm> m_vms;           // guarded by m_mutex
    std::set<std::uint32_t> m_offsets_in_use;  // guarded; includes VMs being torn down
    std::uint64_t m_vms_created = 0;           // guarded

    std::mutex m_fabric_mutex;                // never held with m_mutex
    std::map<std::string, Fabric> m_fabrics;  // guarded by m_fabric_mutex
};

Status NamespaceBackend::ensure_bridge() {
    std::lock_guard lock(m_bridge_mutex);
    if (m_bridge_ready) {
        return ok_status();
    }
    const std::string& bridge = m_plan.bridge;
    if (m_plan.options.bridge_owner == BridgeOwner::k_external) {
        if (!netns::link_exists(bridge)) {
            return config_error("bridge " + bridge + " does not exist; whoever runs the " +
                                "emulator must create it with address " +
                                format_ipv4(m_plan.gateway) + "/" +
                                std::to_string(m_plan.subnet.prefix_length));
        }
        m_bridge_ready = true;
        return ok_status();
    }
    if (netns::link_exists(bridge)) {
        return make_error(ErrorKind::k_io, "bridge " + bridge + " already exists: left by a " +
                                               "crashed run of instance '" +
                                               m_plan.options.instance + "'? recover() removes it");
    }
    const std::string gateway =
        format_ipv4(m_plan.gateway) + "/" + std::to_string(m_plan.subnet.prefix_length);
    auto st = netns::ip_batch(
        "", {"link add name " + bridge + " type bridge", "addr add " + gateway + " dev " + bridge,
             "link set dev " + bridge + " up"});
    if (!st) {
        (void)netns::delete_link(bridge);
        return std::move(st).error().with_context("creating bridge " + bridge);
    }
    m_bridge_ready = true;
    log::info("namespaces: created bridge {} with {}", bridge, gateway);
    return ok_status();
}

Status NamespaceBackend::delete_owned_bridge() {
    if (m_plan.options.bridge_owner != BridgeOwner::k_backend) {
        return ok_status();
    }
    std::lock_guard lock(m_bridge_mutex);
    m_bridge_ready = false;
    return netns::delete_link(m_plan.bridge);
}

Result<std::string> NamespaceBackend::join_fabric(const std::string& key) {
    std::lock_guard lock(m_fabric_mutex);
    if (auto it = m_fabrics.find(key); it != m_fabrics.end()) {
        it->second.vms += 1;
        return it->second.bridge;
    }
    std::set<int> numbers;
    for (const auto& [name, fabric] : m_fabrics) {
        numbers.insert(fabric.number);
    }
    int number = 0;
    while (numbers.contains(number)) {
        ++number;
    }
    Fabric fabric{number, veth_prefix(m_plan.options.instance) + "g" + std::to_string(number), 1};
    if (fabric.bridge.size() > 15) {
        return make_error(ErrorKind::k_capacity,
                          "namespaces backend: no fabric bridge name left for " + key);
    }
    if (netns::link_exists(fabric.bridge)) {
        return make_error(ErrorKind::k_io, "fabric bridge " + fabric.bridge +
                                               " already exists: left by a crashed run of "
                                               "instance '" +
                                               m_plan.options.instance + "'? recover() removes it");
    }
    auto st = netns::ip_batch("", {"link add name " + fabric.bridge + " type bridge",
                                   "link set dev " + fabric.bridge + " up"});
    if (st) {
        st = netns::keep_host_off_link(fabric.bridge);
    }
    if (!st) {
        (void)netns::delete_link(fabric.bridge);
        return std::move(st).error().with_context("creating fabric bridge " + fabric.bridge +
                                                  " for " + key);
    }
    log::info("namespaces: created fabric bridge {} for {}", fabric.bridge, key);
    std::string bridge = fabric.bridge;
    m_fabrics.emplace(key, std::move(fabric));
    return bridge;
}

Status NamespaceBackend::leave_fabric(const std::string& key) {
    std::lock_guard lock(m_fabric_mutex);
    auto it = m_fabrics.find(key);
    if (it == m_fabrics.end() || --it->second.vms > 0) {
        return ok_status();
    }
    log::info("namespaces: removing fabric bridge {} of {}", it->second.bridge, key);
    auto st = netns::delete_link(it->second.bridge);
    if (st) {
        m_fabrics.erase(it);  // else kept, with no VM, for shutdown() to try again
    }
    return st;
}

Result<std::uint32_t> NamespaceBackend::reserve_offset() {
    const std::uint32_t first = std::max(m_plan.pool.network, m_plan.gateway + 1);
    const std::uint32_t last = std::min(m_plan.pool.broadcast(), m_plan.subnet.broadcast() - 1);
    for (std::uint32_t address = first; address <= last && address >= first; ++address) {
        const std::uint32_t offset = address - m_plan.subnet.network;
        if (m_offsets_in_use.insert(offset).second) {
            return offset;
        }
    }
    return make_error(ErrorKind::k_capacity,
                      "namespaces backend: no free address left in " + m_plan.pool.to_string());
}

Status NamespaceBackend::build_network(const Vm& vm) {
    if (auto st = netns::add_namespace(vm.netns); !st) {
        return st;
    }
    std::vector<std::string> host{
        "link add name " + vm.veth + " type veth peer name eth0 netns " + vm.netns,
        "link set dev " + vm.veth + " master " + m_plan.bridge + " up"};
    std::vector<std::string> inside{"addr add " + vm.identity.private_ip + "/" +
                                        std::to_string(m_plan.subnet.prefix_length) + " dev eth0",
                                    "link set dev eth0 up", "link set dev lo up",
                                    "route add default via " + format_ipv4(m_plan.gateway)};
    if (!vm.fabric.empty()) {
        host.push_back("link add name " + vm.fabric_veth + " type veth peer name ib0 netns " +
                       vm.netns);
        host.push_back("link set dev " + vm.fabric_veth + " master " + vm.fabric_bridge + " up");
        // The whole fabric subnet on-link, as Azure gives every IPoIB address a /16.
        inside.push_back("addr add " + vm.fabric_ip + "/" +
                         std::to_string(m_plan.fabric->prefix_length) + " dev ib0");
        inside.push_back("link set dev ib0 up");
    } else if (m_plan.fabric) {
        inside.push_back("route add unreachable " + m_plan.fabric->to_string());
    }
    if (auto st = netns::ip_batch("", host); !st) {
        return st;
    }
    return netns::ip_batch(vm.netns, inside);
}

Result<VmIdentity> NamespaceBackend::create_vm(const std::string& node_name,
                                               const VmPlacement& placement) {
    if (auto st = check_node_name(node_name); !st) {
        return st.error();
    }
    if (auto st = ensure_bridge(); !st) {
        return st.error();
    }
    Vm vm;
    {
        std::lock_guard lock(m_mutex);
        if (auto it = m_vms.find(node_name); it != m_vms.end()) {
            return it->second.identity;
        }
        auto offset = reserve_offset();
        if (!offset) {
            return offset.error();
        }
        vm.offset = *offset;
        vm.identity.instance_id =
            "ns-" + m_plan.options.instance + "-" + hex(m_id_nonce, 8) + hex(++m_vms_created, 4);
    }
    vm.identity.private_ip = format_ipv4(m_plan.subnet.network + vm.offset);
    vm.identity.hostname = node_name;
    vm.netns = netns_name(node_name);
    vm.veth = veth_prefix(m_plan.options.instance) + std::to_string(vm.offset);
    if (placement.infiniband && m_plan.fabric) {
        auto bridge = join_fabric(fabric_key(node_name, placement));
        if (!bridge) {
            std::lock_guard lock(m_mutex);
            m_offsets_in_use.erase(vm.offset);
            return std::move(bridge).error().with_context("creating VM " + node_name);
        }
        vm.fabric = fabric_key(node_name, placement);
        vm.fabric_bridge = *bridge;
        vm.fabric_veth = veth_prefix(m_plan.options.instance) + "i" + std::to_string(vm.offset);
        const std::uint32_t host_part = (m_plan.subnet.network + vm.offset) &
                                        static_cast<std::uint32_t>(m_plan.fabric->size() - 1);
        vm.fabric_ip = format_ipv4(m_plan.fabric->network | host_part);
    }

    auto built = build_network(vm);
    if (!built) {
        (void)tear_down(node_name, vm);
        if (!vm.fabric.empty()) {
            (void)leave_fabric(vm.fabric);
        }
        std::lock_guard lock(m_mutex);
        m_offsets_in_use.erase(vm.offset);
        return std::move(built).error().with_context("creating VM " + node_name);
    }
    if (vm.fabric.empty()) {
        log::info("namespaces: created VM {} at {} (netns {}, veth {})", node_name,
                  vm.identity.private_ip, vm.netns, vm.veth);
    } else {
        log::info("namespaces: created VM {} at {}, ib0 {} on {} of {} (netns {}, veths {}, {})",
                  node_name, vm.identity.private_ip, vm.fabric_ip, vm.fabric_bridge, vm.fabric,
                  vm.netns, vm.veth, vm.fabric_veth);
    }
    VmIdentity identity = vm.identity;
    std::lock_guard lock(m_mutex);
    m_vms.emplace(node_name, std::move(vm));
    return identity;
}

std::vector<std::string> NamespaceBackend::slurmd_argv(const std::string& node) const {
    const auto& o = m_plan.options;
    // -D: stay in the foreground so the process we start is slurmd itself (we own and reap
    // it); -b: report "just booted", or slurmctld ignores the registration of a node it is
    // powering up whose host booted before the resume request.
    std::vector<std::string> argv{o.slurmd, "-D", "-b", "-N", node};
    if (o.config_source == SlurmdConfigSource::k_file) {
        argv.insert(argv.end(), {"-f", o.slurm_conf});
    } else {
        argv.insert(argv.end(), {"--conf-server", o.conf_server});
    }
    argv.insert(argv.end(), o.slurmd_args.begin(), o.slurmd_args.end());
    return argv;
}

std::vector<std::string> NamespaceBackend::slurmd_env() const {
    auto env = minimal_environment();
    if (m_plan.options.config_source == SlurmdConfigSource::k_file) {
        env.push_back("SLURM_CONF=" + m_plan.options.slurm_conf);
    }
    return env;
}

Status NamespaceBackend::start_software(const std::string& node_name, const VmSoftware& software) {
    std::string netns;
    VmIdentity identity;
    std::uint32_t address = 0;
    {
        std::lock_guard lock(m_mutex);
        auto it = m_vms.find(node_name);
        if (it == m_vms.end()) {
            return make_error(ErrorKind::k_not_found,
                              "namespaces backend: no VM named " + node_name);
        }
        if (it->second.slurmd.running()) {
            return ok_status();
        }
        netns = it->second.netns;
        identity = it->second.identity;
        address = m_plan.subnet.network + it->second.offset;
    }
    if (auto st = make_directories(run_dir(), 0700); !st) {
        return st;
    }
    if (auto st = make_directories(log_dir(), 0755); !st) {
        return st;
    }
    // Everything the child needs is prepared here: after fork it may only make raw syscalls.
    const UniqueFd netns_fd(::open(("/run/netns/" + netns).c_str(), O_RDONLY | O_CLOEXEC));
    if (netns_fd.get() < 0) {
        return make_error(ErrorKind::k_io,
                          "cannot open /run/netns/" + netns + ": " + std::strerror(errno));
    }
    const bool fresh_boot = m_plan.options.boot_time == BootTime::k_fresh;
    const std::string offsets = fresh_boot ? fresh_boot_offsets() : std::string();
    const int fd = netns_fd.get();
    const bool cluster_init = runs_cluster_init();
    // A VM that runs the cluster-init boots with CycleCloud's host name, and the
    // cluster-init sets the node name.
    const std::string hostname = cluster_init ? cycle_host_name(address) : node_name;
    SpawnOptions spawn;
    if (cluster_init) {
        const std::string status = boot_status_file(node_name);
        if (::unlink(status.c_str()) != 0 && errno != ENOENT) {
            return make_error(ErrorKind::k_io,
                              "cannot remove " + status + ": " + std::strerror(errno));
        }
        spawn.argv = vm_boot_argv(m_plan.options.cluster_init,
                                  {node_name, identity.instance_id, identity.private_ip,
                                   m_plan.options.state_dir + "/mnt/" + node_name, status,
                                   software.gpus, software.jetpack_config});
        spawn.env = minimal_environment();
    } else {
        spawn.argv = slurmd_argv(node_name);
        spawn.env = slurmd_env();
    }
    spawn.stdout_path = log_dir() + "/" + node_name + ".log";
    spawn.new_session = true;
    spawn.pre_exec = [fd, fresh_boot, cluster_init, &offsets, &hostname]() -> int {
        // A VM's processes start with default signal handling, whatever the emulator blocks
        // or ignores (a signal thread, SIGPIPE): both are inherited across execve.
        sigset_t none;
        ::sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        struct sigaction default_action {};
        default_action.sa_handler = SIG_DFL;
        for (int sig = 1; sig < NSIG; ++sig) {
            ::sigaction(sig, &default_action, nullptr);
        }
        if (::setns(fd, CLONE_NEWNET) != 0) {
            return errno;
        }
        if (::unshare(CLONE_NEWUTS | (fresh_boot ? CLONE_NEWTIME : 0) |
                      (cluster_init ? CLONE_NEWNS : 0)) != 0) {
            return errno;
        }
        if (::sethostname(hostname.data(), hostname.size()) != 0) {
            return errno;
        }
        if (fresh_boot) {
            // Offsets of the new time namespace, which execve() then enters.
            const int t = ::open("/proc/self/timens_offsets", O_WRONLY | O_CLOEXEC);
            if (t < 0) {
                return errno;
            }
            const ssize_t n = ::write(t, offsets.data(), offsets.size());
            const int err = n < 0 ? errno : 0;
            ::close(t);
            if (n != static_cast<ssize_t>(offsets.size())) {
                return err != 0 ? err : EIO;
            }
        }
        return 0;
    };
    auto child = ChildProcess::spawn(spawn);
    if (!child) {
        return std::move(child).error().with_context(
            (cluster_init ? "booting VM " : "starting slurmd in VM ") + node_name);
    }
    const auto stat = read_proc_stat(child->pid());
    const std::string record =
        std::to_string(child->pid()) + " " + std::to_string(stat ? stat->start_time : 0) + "\n";
    auto written = write_file_atomic(pid_file(node_name), record, 0600);
    Status booted = ok_status();
    if (cluster_init) {
        log::info("namespaces: booting {} (pid {}): cluster-init", node_name, child->pid());
        booted = wait_for_cluster_init(node_name, *child);
    }
    if (booted) {
        log::info("namespaces: started slurmd for {} (pid {})", node_name, child->pid());
    } else {
        // A boot that failed or ran out of time is stopped, as CycleCloud stops converging a
        // node it marks Failed: nothing of it goes on to start slurmd later.
        if (auto st = kill_recorded_process(pid_file(node_name)); !st) {
            log::warn("namespaces: {}", st.error().describe());
        }
        child->stop(std::chrono::milliseconds(0));
    }
    bool destroyed = false;
    {
        std::lock_guard lock(m_mutex);
        auto it = m_vms.find(node_name);
        destroyed = it == m_vms.end() || it->second.identity.instance_id != identity.instance_id;
        if (!destroyed) {
            it->second.slurmd = std::move(*child);
        }
    }
    if (destroyed) {
        // The VM was deleted (a terminate, the emulator shutting down) while this boot was
        // starting: its sweep of the namespace may have come before the boot entered it, so
        // what the boot started is found through the namespace it still holds open.
        if (auto st = netns::kill_namespace_processes(fd); !st) {
            log::warn("namespaces: {}", st.error().describe());
        }
        child->stop(std::chrono::milliseconds(0));
        return make_error(ErrorKind::k_not_found,
                          "namespaces backend: VM " + node_name + " was deleted while it booted");
    }
    if (!booted) {
        return booted;
    }
    return written;
}

Status NamespaceBackend::wait_for_cluster_init(const std::string& node, ChildProcess& boot) {
    const auto deadline = std::chrono::steady_clock::now() + m_plan.options.cluster_init.timeout;
    const std::string status_file = boot_status_file(node);
    for (;;) {
        // Read the status before looking at the process: a boot that wrote "failed ..."
        // and exited is reported with its message.
        const bool running = boot.running();
        if (auto text = read_file(status_file, 4096)) {
            if (auto outcome = parse_boot_status(*text)) {
                return *outcome;
            }
        }
        if (!running) {
            return make_error(ErrorKind::k_io,
                              "the VM's boot exited before its cluster-init finished (see " +
                                  log_dir() + "/" + node + ".log)");
        }
        if (std::chrono::steady_clock::now() > deadline) {
            return make_error(ErrorKind::k_io,
                              "the cluster-init did not finish within " +
                                  std::to_string(m_plan.options.cluster_init.timeout.count()) +
                                  " s (see " + log_dir() + "/" + node + ".log)");
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
}

Status NamespaceBackend::tear_down(const std::string& node, Vm& vm) {
    // A deleted VM vanishes at once: SIGKILL, no graceful slurmd shutdown.
    Status result = kill_recorded_process(pid_file(node));
    auto keep_first_error = [&result](Status st) {
        if (result && !st) {
            result = std::move(st);
        }
    };
    keep_first_error(netns::kill_namespace_processes(vm.netns));
    vm.slurmd.stop(std::chrono::milliseconds(0));  // reaps it
    for (const std::string* veth : {&vm.veth, &vm.fabric_veth}) {
        if (!veth->empty()) {
            keep_first_error(netns::delete_link(*veth));
        }
    }
    keep_first_error(netns::delete_namespace(vm.netns));
    if (::unlink(pid_file(node).c_str()) != 0 && errno != ENOENT) {
        keep_first_error(make_error(
            ErrorKind::k_io, "cannot remove " + pid_file(node) + ": " + std::strerror(errno)));
    }
    // The cluster-init's files: its status, and the (empty once its processes are gone)
    // directory its file system was mounted on, in the VM's own mount namespace.
    ::unlink(boot_status_file(node).c_str());
    ::rmdir((m_plan.options.state_dir + "/mnt/" + node).c_str());
    if (!result) {
        return std::move(result).error().with_context("destroying VM " + node);
    }
    return result;
}

Status NamespaceBackend::destroy_vm(const std::string& node_name) {
    if (auto st = check_node_name(node_name); !st) {
        return st;
    }
    Vm vm;
    bool known = false;
    {
        std::lock_guard lock(m_mutex);
        if (auto node = m_vms.extract(node_name)) {
            vm = std::move(node.mapped());
            known = true;
        }
    }
    // An unknown name may still have a namespace from an earlier run: remove that too.
    if (!known) {
        vm.netns = netns_name(node_name);
    }
    auto st = tear_down(node_name, vm);
    if (known) {
        if (!vm.fabric.empty()) {
            auto left = leave_fabric(vm.fabric);
            if (st && !left) {
                st = std::move(left).error().with_context("destroying VM " + node_name);
            }
        }
        std::lock_guard lock(m_mutex);
        m_offsets_in_use.erase(vm.offset);
        log::info("namespaces: destroyed VM {}", node_name);
    }
    return st;
}

Status NamespaceBackend::recover() {
    Status result;
    auto keep_first_error = [&result](Status st) {
        if (result && !st) {
            result = std::move(st);
        }
    };
    if (DIR* dir = ::opendir(run_dir().c_str())) {
        std::vector<std::string> files;
        while (const dirent* entry = ::readdir(dir)) {
            const std::string name(entry->d_name);
            if (name.size() > 4 && name.compare(name.size() - 4, 4, ".pid") == 0) {
                files.push_back(run_dir() + "/" + name);
            }
        }
        ::closedir(dir);
        for (const auto& file : files) {
            keep_first_error(kill_recorded_process(file));
            ::unlink(file.c_str());
        }
    }
    const auto& instance = m_plan.options.instance;
    for (const auto& name : netns::list_namespaces(namespace_prefix(instance))) {
        log::info("namespaces: removing network namespace {} left by an earlier run", name);
        keep_first_error(netns::delete_namespace(name));
    }
    for (const auto& name : netns::list_links(veth_prefix(instance))) {
        keep_first_error(netns::delete_link(name));
    }
    keep_first_error(delete_owned_bridge());
    if (!result) {
        return std::move(result).error().with_context("recovering emulator instance '" + instance +
                                                      "'");
    }
    return result;
}

void NamespaceBackend::shutdown() {
    std::vector<std::string> names;
    {
        std::lock_guard lock(m_mutex);
        for (const auto& [name, vm] : m_vms) {
            names.push_back(name);
        }
    }
    for (const auto& name : names) {
        if (auto st = destroy_vm(name); !st) {
            log::warn("namespaces: {}", st.error().describe());
        }
    }
    // Every fabric went with its last VM; one whose removal failed is tried once more.
    std::map<std::string, Fabric> fabrics;
    {
        std::lock_guard lock(m_fabric_mutex);
        fabrics.swap(m_fabrics);
    }
    for (const auto& [key, fabric] : fabrics) {
        if (auto st = netns::delete_link(fabric.bridge); !st) {
            log::warn("namespaces: {}", st.error().describe());
        }
    }
    bool made_bridge = false;
    {
        std::lock_guard lock(m_bridge_mutex);
        made_bridge = m_bridge_ready;
    }
    if (made_bridge) {
        if (auto st = delete_owned_bridge(); !st) {
            log::warn("namespaces: {}", st.error().describe());
        }
    }
    ::rmdir(run_dir().c_str());
    ::rmdir((m_plan.options.state_dir + "/mnt").c_str());
}

}  // namespace

std::string namespace_prefix(const std::string& instance) {
    return "cb-" + instance + "-";
}

std::string veth_prefix(const std::string& instance) {
    return "cb" + instance + "-";
}

std::string default_bridge(const std::string& instance) {
    return "cb" + instance + "br";
}

Result<std::unique_ptr<VmBackend>> make_namespace_backend(const NamespaceBackendOptions& options) {
    auto plan = make_plan(options);
    if (!plan) {
        return plan.error();
    }
    if (::geteuid() != 0) {
        return config_error("needs root (it creates network namespaces and bridges)");
    }
    return std::unique_ptr<VmBackend>(std::make_unique<NamespaceBackend>(std::move(*plan)));
}

}  // namespace cb::emulator
