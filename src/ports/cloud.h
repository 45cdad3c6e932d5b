// The Cloud port: the six calls the daemon needs from CycleCloud. Implemented by
// CycleCloudRest (adapters/, libcurl), and by FakeCloud in unit tests. Sizes, SKUs and
// limits are data in the returned records, not extra virtual calls.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "util/result.h"

namespace cb {

enum class VmStatus {
    k_off,
    k_acquiring,
    k_preparing,
    k_ready,
    k_failed,
    k_terminating,
    k_deallocating,
    k_deallocated,
    k_unavailable,  // CycleCloud lost touch with the VM; it may still run (core/vm_status.h)
    k_unknown,      // a status string we do not know; treated as "still changing"
};

struct Bucket {
    std::string machine_type;
    bool valid = true;
    std::string invalid_reason;
    int vcpu_count = 0;
    int pcpu_count = 0;
    int gpu_count = 0;
    double memory_gb = 0;
    int max_count = 0;
    int active_count = 0;
    int available_count = 0;  // already includes quota; may be below max - active
    int max_placement_group_size = 0;
    double last_capacity_failure_seconds = -1;  // negative: never
    // Cores (vCPUs) and quota, for `cloudburst limits`; -1: CycleCloud did not say.
    int max_core_count = -1;
    int active_core_count = -1;
    int quota_core_count = -1;     // the family quota, accounting for the regional one
    int consumed_core_count = -1;  // of that quota
    int family_quota_core_count = -1;
    int family_consumed_core_count = -1;
    int regional_quota_core_count = -1;
    int regional_consumed_core_count = -1;
};

// The cluster's own limits (0: none).
struct ClusterLimits {
    int max_count = 0;
    int max_core_count = 0;
};

struct NodeArray {
    std::string name;
    std::string region;
    std::string machine_type;
    bool interruptible = false;
    int max_count = 0;
    int max_core_count = 0;
    // Flattened Configuration ("slurm.partition" -> "hpc"), values as strings.
    std::map<std::string, std::string> configuration;
    std::vector<Bucket> buckets;
};

struct CloudNode {
    std::string name;
    std::string node_id;
    std::string nodearray;
    std::string machine_type;
    VmStatus status = VmStatus::k_unknown;
    std::string status_text;  // as CycleCloud printed it
    std::string target_state;
    std::string private_ip;
    std::string hostname;
    std::string instance_id;
    std::string status_message;  // why a node failed, when CycleCloud says
    bool keep_alive = false;
};

// One node to create, by its literal name (so a retry can never create a duplicate).
struct CreateRequest {
    std::string nodearray;
    std::string machine_type;
    std::string name;
    std::string placement_group;  // empty: none
};

struct CreateSetResult {
    int added = 0;
    std::string message;  // CycleCloud's reason when added < asked
};

struct CreateResult {
    std::string operation_id;
    std::vector<CreateSetResult> sets;  // one per CreateRequest, same order
};

struct NodeActionResult {
    std::string name;
    bool ok = false;
    std::string error;
};

struct ManagementResult {
    std::string operation_id;
    std::vector<NodeActionResult> nodes;
};

enum class ShutdownMode { k_node_policy, k_terminate, k_deallocate };

class Cloud {
  public:
    virtual ~Cloud() = default;
    virtual Result<std::vector<NodeArray>> node_arrays() = 0;
    virtual Result<std::vector<CloudNode>> nodes() = 0;
    // One API call for all of `requests`; `request_id` makes the call idempotent.
    virtual Result<CreateResult> create_nodes(const std::vector<CreateRequest>& requests,
                                              const std::string& request_id) = 0;
    virtual Result<ManagementResult> start_nodes(const std::vector<std::string>& names) = 0;
    virtual Result<ManagementResult> shutdown_nodes(const std::vector<std::string>& names,
                                                    ShutdownMode mode) = 0;
    // Exactly the nodes an operation touched.
    virtual Result<std::vector<CloudNode>> operation_nodes(const std::string& operation_id) = 0;
    // How many calls the caller may make at once from different threads (create calls for
    // several node arrays); 1: one at a time, the calls need not be thread-safe.
    virtual int max_concurrent_calls() const { return 1; }
};

}  // namespace cb
