// The emulated CycleCloud cluster: node arrays and their buckets, node records and their
// lifecycle, operations, limits, quota, usage and node-level faults.
//
// Pure and single-threaded: every call takes `now`, nothing sleeps, nothing does I/O. The
// caller (ModelRunner) serialises calls and runs the VM backend. Lifecycle:
//
//   create/start -> Acquiring --(acquire time)--> [create_vm] -> Preparing
//     --(prepare time)--> [start_software] -> Ready
//   terminate -> Terminating --(terminate time)--> [destroy_vm] -> record removed
//   deallocate -> Deallocating --(deallocate time)--> [destroy_vm] -> Deallocated
//   Azure out of capacity or quota at the end of Acquiring -> Failed, no VM
//   a failure (create_vm/start_software error, prepare-fail, ready-fail) -> Failed; a VM that
//     exists is kept (and billed) until the node is terminated, deallocated or retried
//
// advance(now) returns the backend calls due ([...] above) and marks those nodes busy; the
// caller makes the calls outside any lock and reports each back with complete_*(). A node has
// at most one call in flight; a record is never removed while a call for it is in flight.
//
// Counting rules (reference/cyclecloud-rest-api.md, "Limits"):
//   active    = Status not in {Off, Deallocated}; counts against node array, cluster and
//               placement-group limits at create time (so Terminating nodes still count);
//   started   = TargetState == Started; what availableCount is computed from (CycleCloud's
//               own availableCount ignores Terminating nodes; clients must cap it themselves);
//   consuming = the node holds a VM or is acquiring one; counts against quota as CycleCloud
//               sees it (at create time);
//   holding   = the node holds a VM or its create_vm call is in flight; what Azure's own
//               capacity and quota (the capacity and azure-quota faults) count, at the end of
//               Acquiring.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/sku_catalog.h"
#include "emulator/clock.h"
#include "emulator/cluster_template.h"
#include "emulator/faults.h"
#include "emulator/vm_backend.h"
#include "util/result.h"

namespace cb::emulator {

enum class NodeStatus {
    k_off,
    k_acquiring,
    k_preparing,
    k_ready,
    k_failed,
    k_terminating,
    k_deallocating,
    k_deallocated,
    k_unavailable,  // seen from real CycleCloud; only the status fault produces it
    k_started,      // likewise
};
inline constexpr std::size_t k_node_status_count = 10;
std::string_view to_string(NodeStatus status);  // "Off", "Acquiring", ...

enum class TargetState { k_started, k_terminated, k_deallocated, k_off };
std::string_view to_string(TargetState state);  // "Started", "Terminated", ...

struct Timings {
    std::chrono::milliseconds acquire{1000};
    std::chrono::milliseconds prepare{2000};
    std::chrono::milliseconds terminate{1000};
    std::chrono::milliseconds deallocate{1000};

    static Timings fast() { return {}; }
    // Roughly what Azure and CycleCloud take (reference: about a minute to allocate, several
    // to converge).
    static Timings realistic() {
        using std::chrono::minutes;
        using std::chrono::seconds;
        return {seconds(60), minutes(4), seconds(60), seconds(90)};
    }
};

// Configured quota in cores. Lookups: "REGION/FAMILY", then "FAMILY", then the default.
struct QuotaSettings {
    std::int64_t default_family_cores = 1'000'000;
    std::map<std::string, std::int64_t> family_cores;
    std::int64_t default_regional_cores = 1'000'000;
    std::map<std::string, std::int64_t> regional_cores;  // by region
    std::int64_t default_spot_cores = 1'000'000;
    std::map<std::string, std::int64_t> spot_cores;  // by region
};

struct ModelOptions {
    Timings timings;
    QuotaSettings quota;
    FaultSettings faults;
    std::uint64_t seed = 1;
};

struct Node {
    std::string name;
    std::string node_id;
    std::size_t array = 0;   // index into definition().node_arrays
    std::size_t bucket = 0;  // index into that array's machine_types
    NodeStatus status = NodeStatus::k_off;
    TargetState target = TargetState::k_off;
    std::string hostname;
    std::string private_ip;
    std::string instance_id;
    std::string placement_group_id;
    std::string status_message;
    bool keep_alive = false;
    std::vector<KeyValue> configuration;  // per-node overrides (nodeAttributes.Configuration)
    std::vector<KeyValue> attributes;     // other scalar nodeAttributes, reported as given

    // Lifecycle bookkeeping, not reported.
    Time phase_end{};   // when the current phase's wait (or a retry delay) is over
    bool busy = false;  // a backend call is in flight
    bool vm_exists = false;
    bool destroy_due = false;  // the VM must go (failure, terminate, deallocate, eviction)
    bool fail_in_prepare = false;
    bool skip_software = false;
    std::optional<Time> billed_since;
    std::optional<Time> evict_at;  // an eviction notice was given; the VM goes then

    bool active() const {
        return status != NodeStatus::k_off && status != NodeStatus::k_deallocated;
    }
    bool started() const { return target == TargetState::k_started; }
    bool consuming() const;
    bool holding() const { return vm_exists || (busy && status == NodeStatus::k_acquiring); }
};

// ---- requests and results (typed; the API layer turns JSON into these) -------------------

struct CreateSet {
    std::string nodearray;
    std::int64_t count = 0;
    std::string machine_type;  // empty: the array's first
    std::string name_format;   // empty: "<nodearray>-<n>" with the lowest free n
    std::optional<std::int64_t> name_offset;
    std::string placement_group_id;  // empty: the array's PlacementGroupId, if any
    std::optional<bool> keep_alive;
    std::vector<KeyValue> configuration;
    std::vector<KeyValue> attributes;
};

struct CreateRequest {
    std::string request_id;  // optional; a repeat is rejected
    std::vector<CreateSet> sets;
};

struct SetResult {
    std::int64_t added = 0;
    std::string message;  // why fewer than asked were added; empty when all were
};

struct CreateResult {
    std::string operation_id;
    std::vector<SetResult> sets;
};

// restart and reimage (API) are accepted for nodes with a VM and change nothing here: the
// emulator does not model a reboot or a new OS disk.
enum class NodeAction {
    k_start,
    k_shutdown,
    k_terminate,
    k_deallocate,
    k_remove,
    k_restart,
    k_reimage
};
std::string_view to_string(NodeAction action);  // "start", "shutdown", ...

// Which nodes a management request is about; the union of all given selectors.
struct NodeSelector {
    std::vector<std::string> names;
    std::vector<std::string> ids;
    std::vector<std::string> hostnames;
    std::vector<std::string> ip_addresses;
    std::string filter;  // e.g. Status === "Ready" && Template === "hpc"
    bool empty() const {
        return names.empty() && ids.empty() && hostnames.empty() && ip_addresses.empty() &&
               filter.empty();
    }
};

struct NodeOutcome {
    std::string id;
    std::string name;
    bool ok = false;
    std::string error;
};

struct ManagementResult {
    std::string operation_id;
    std::vector<NodeOutcome> nodes;
};

struct Operation {
    std::string id;
    std::string action;  // "create", "start", "shutdown", "terminate", ...
    std::string request_id;
    Time start_time{};
    std::vector<std::string> node_ids;  // the nodes it touched
};

// ---- status -------------------------------------------------------------------------------

struct PlacementGroupCount {
    std::string name;
    std::int64_t active_count = 0;
    std::int64_t active_core_count = 0;
};

struct BucketStatus {
    std::string bucket_id;
    std::string machine_type;
    const Sku* sku = nullptr;  // owned by the model
    std::int64_t max_count = 0;
    std::int64_t max_core_count = 0;
    std::int64_t active_count = 0;
    std::int64_t active_core_count = 0;
    std::int64_t available_count = 0;
    std::int64_t available_core_count = 0;
    std::int64_t quota_count = 0;
    std::int64_t quota_core_count = 0;
    std::int64_t consumed_core_count = 0;
    std::int64_t family_quota_count = 0;
    std::int64_t family_quota_core_count = 0;
    std::int64_t family_consumed_core_count = 0;
    std::int64_t regional_quota_count = 0;
    std::int64_t regional_quota_core_count = 0;
    std::int64_t regional_consumed_core_count = 0;
    std::int64_t max_placement_group_size = 0;
    std::int64_t max_placement_group_core_size = 0;
    std::vector<PlacementGroupCount> placement_groups;
    double last_capacity_failure = -1;  // seconds ago; negative: never
    bool valid = true;
    std::string invalid_reason;        // NotActivated, DisabledMachineType; "" when valid
    std::string spot_placement_score;  // Spot buckets: High, Medium, Low; others ""
    std::vector<std::string> active_nodes;
};

struct NodeArrayStatus {
    const NodeArrayDefinition* definition = nullptr;
    std::int64_t max_count = 0;
    std::int64_t max_core_count = 0;
    std::vector<BucketStatus> buckets;
};

struct ClusterStatus {
    std::string state = "Started";  // Started, Off, Starting, Terminated
    std::int64_t max_count = 0;
    std::int64_t max_core_count = 0;
    std::vector<NodeArrayStatus> node_arrays;
};

struct UsageLine {
    std::string nodearray;
    std::string machine_type;
    std::string region;
    bool spot = false;
    std::int64_t core_count = 0;  // vCPUs per VM
    double hours = 0;
    double core_hours = 0;
    double cost = 0;
};

struct UsageReport {
    Time start{};
    Time end{};
    std::vector<UsageLine> lines;  // one per (node array, VM size) with any use
    double hours = 0;
    double core_hours = 0;
    double cost = 0;
};

// ---- the backend calls advance() asks for -------------------------------------------------

enum class VmStep { k_create_vm, k_start_software, k_destroy_vm };

struct BackendCall {
    VmStep step = VmStep::k_create_vm;
    std::string node;
    VmSoftware software;    // k_start_software: what the VM's software finds
    VmPlacement placement;  // k_create_vm: the node's placement group and its size's network
};

class ClusterModel {
  public:
    // Errors (k_config) when a node array names a VM size the catalog does not have.
    static Result<ClusterModel> create(ClusterDefinition definition, const SkuCatalog& catalog,
                                       ModelOptions options);

    const ClusterDefinition& definition() const { return m_definition; }
    const std::map<std::string, Node>& nodes() const { return m_nodes; }
    const Node* find_node(const std::string& name) const;
    // Create requests (create and scale calls that were accepted) per node array, and the nodes
    // they added: what a test counts to see how often a client asks a node array for VMs.
    struct CreateCount {
        std::int64_t requests = 0;
        std::int64_t nodes = 0;
    };
    const std::map<std::string, CreateCount>& creates_by_array() const { return m_creates; }
    // Records a Guest Health Report for an existing node; false if it already has one.
    bool submit_health_report(const std::string& name) {
        return m_health_reports.insert(name).second;
    }
    const Sku& sku_of(const Node& node) const;
    // What the node's VM software finds: its size's GPUs, its array and VM size, and its
    // `cloudburst.*` and slurm.dynamic_config settings (the array's configuration, then the
    // node's own overrides), as jetpack answers them (VmSoftware).
    VmSoftware software_of(const Node& node) const;
    const Timings& timings() const { return m_options.timings; }
    const FaultSettings& faults() const { return m_options.faults; }
    // Node faults injected so far, by FaultKind (the HTTP kinds stay 0 here).
    const std::array<std::uint64_t, k_fault_kind_count>& fault_counts() const {
        return m_fault_counts;
    }

    // ---- the API ----
    // Errors: k_usage (HTTP 409) for invalid input (unknown nodearray or VM size, bad
    // nameFormat, negative count), for a requestId already used and for a cluster that is
    // not Started.
    Result<CreateResult> create_nodes(const CreateRequest& request, Time now);
    // Errors: k_usage for an empty selector, a bad filter or a requestId already used.
    Result<ManagementResult> manage(NodeAction action, const NodeSelector& selector,
                                    const std::string& request_id, Time now);
    // Grows `nodearray` to the total (nodes or cores, exactly one given); never shrinks.
    // Errors: k_not_found for an unknown array, k_usage for bad totals.
    Result<CreateResult> scale(const std::string& nodearray, std::optional<std::int64_t> nodes,
                               std::optional<std::int64_t> cores, Time now);
    // Starts every Failed node again (toward its TargetState).
    ManagementResult retry_failed(Time now);
    ClusterStatus status(Time now) const;
    const Operation* operation(const std::string& id) const;
    const Operation* operation_by_request(const std::string& request_id) const;
    // Every operation still kept, oldest first.
    std::vector<const Operation*> operations() const;
    // The nodes of `op` that still exist, in the order the operation touched them.
    std::vector<const Node*> operation_nodes(const Operation& op) const;
    UsageReport usage(Time from, Time to, Time now) const;

    // ---- faults and lifecycle ----
    void set_faults(const FaultSettings& faults) { m_options.faults = faults; }
    // Carries out a one-shot fault now; returns the names of the nodes it changed. k_not_found
    // for an unknown node, or one in a status the fault does not apply to (evict,
    // evict-notice and ready-fail need a Ready node).
    Result<std::vector<std::string>> inject(const OneShotFault& fault, Time now);
    Result<std::vector<std::string>> evict(const EvictRequest& request, Time now) {
        return inject(request, now);
    }

    // Moves every node whose wait is over and returns the backend calls now due.
    std::vector<BackendCall> advance(Time now);
    void complete_create_vm(const std::string& node, const Result<VmIdentity>& result, Time now);
    void complete_start_software(const std::string& node, const Status& result, Time now);
    void complete_destroy_vm(const std::string& node, const Status& result, Time now);

    std::array<std::int64_t, k_node_status_count> count_by_status() const;

  private:
    struct BucketState {
        std::string bucket_id;
        Sku sku;  // a copy: the model does not depend on the catalog living on
        std::optional<Time> last_capacity_failure;
    };
    struct QuotaPools;  // cores by quota pool (cluster_model_internal.h)
    struct Tally;       // limit and quota counts (cluster_model_internal.h)
    struct Holdings;    // what Azure holds (cluster_model_internal.h)

    ClusterModel(ClusterDefinition definition, ModelOptions options);

    Tally tally() const;
    std::string new_uuid();
    bool draw(double rate);
    Operation& new_operation(std::string action, const std::string& request_id, Time now);
    Status check_request_id(const std::string& request_id) const;
    // k_usage unless the cluster is Started (the cluster-state fault); `what` is the call.
    Status check_started(std::string_view what) const;
    // (array index, bucket index) of a set, or why the set is invalid.
    Result<std::pair<std::size_t, std::size_t>> resolve_set(const CreateSet& set,
                                                            std::size_t index) const;
    SetResult create_set(const CreateSet& set, std::size_t array, std::size_t bucket, Tally& t,
                         Operation& op, Time now);
    // Names of the selected nodes; selectors that match nothing become errors.
    std::vector<std::string> select(const NodeSelector& selector,
                                    const std::function<bool(const Node&)>& filter,
                                    std::vector<NodeOutcome>& errors) const;
    NodeOutcome apply_action(NodeAction action, Node& node, Tally& t, Time now);
    void begin_acquire(Node& node, Time now);
    void begin_terminate(Node& node, Time now);
    void begin_deallocate(Node& node, Time now);
    // Failed with `message`; a VM that exists is kept (and billed) until terminated.
    void fail(Node& node, std::string message);
    void evict_node(Node& node, Time now);
    // Moves a node whose VM exists into Preparing (after create_vm, or a retry of a Failed
    // node that kept its VM), drawing its Preparing faults.
    void begin_prepare(Node& node, Time now);
    // Why Azure fails the allocation of `node`'s VM at the end of Acquiring (capacity,
    // azure-quota faults); "" if it does not. Counts the fault and the bucket's capacity
    // failure. `h` counts the VMs held so far.
    std::string allocation_problem(const Node& node, const Holdings& h, Time now);
    // The acquire-stall fault: Azure has no VM of the node's size for it now, and CycleCloud
    // keeps it in Acquiring and retries. Empty if a VM can be had.
    std::string allocation_stall(Node& node, const Holdings& h, Time now);
    Holdings holdings() const;
    // The eviction-notice and ready-fail parts of advance().
    void advance_faults(Node& node, Time now, double evict_chance);
    void erase(const std::string& name);
    // Why one more node would break a node array, cluster or placement-group limit; "" if not.
    std::string limit_problem(const Tally& t, std::size_t array, std::size_t bucket,
                              const std::string& placement_group) const;
    // Why one more VM would exceed the quota as CycleCloud sees it (configured, or the quota
    // fault); "" if not. Counts the fault.
    std::string quota_problem(const Tally& t, std::size_t array, std::size_t bucket);
    std::int64_t family_quota(const std::string& region, const std::string& family) const;
    std::int64_t regional_quota(const std::string& region) const;
    std::int64_t spot_quota(const std::string& region) const;
    // Cores of a quota pool ("regional", "spot" or a family) used outside this cluster.
    std::int64_t external_load(const std::string& pool) const;
    // Azure's own limit for a quota pool ("regional", "spot" or a family), if a fault sets it.
    std::optional<std::int64_t> azure_quota(const std::string& pool) const;

    ClusterDefinition m_definition;
    ModelOptions m_options;
    std::vector<std::vector<BucketState>> m_buckets;  // [array][machine type]
    std::map<std::string, Node> m_nodes;
    std::unordered_map<std::string, std::string> m_names_by_id;
    std::map<std::string, Operation> m_operations;
    std::map<std::string, std::string> m_operations_by_request;
    std::deque<std::string> m_operation_order;  // oldest first
    std::size_t m_operation_nodes = 0;          // node ids held by all but the newest
    struct UsageInterval {
        std::size_t array;
        std::size_t bucket;
        Time start;
        Time end;
    };
    std::vector<UsageInterval> m_usage;
    std::mt19937_64 m_rng;
    std::array<std::uint64_t, k_fault_kind_count> m_fault_counts{};
    std::set<std::string> m_health_reports;  // nodes with a Guest Health Report
    std::map<std::string, CreateCount> m_creates;
    std::optional<Time> m_last_advance;
};

}  // namespace cb::emulator
