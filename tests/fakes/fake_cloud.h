// FakeCloud and FakeScheduler: in-memory stand-ins for the Cloud and Scheduler ports, for
// unit tests of pure logic (the daemon's decisions). End-to-end tests use the emulator and
// real Slurm instead.
#pragma once

#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "ports/cloud.h"
#include "ports/scheduler.h"

namespace cb::testing_fakes {

class FakeCloud final : public Cloud {
  public:
    std::vector<NodeArray> arrays;
    std::map<std::string, CloudNode> vms;
    std::vector<std::vector<CreateRequest>> create_calls;
    std::vector<std::vector<std::string>> start_calls;
    std::vector<std::pair<std::vector<std::string>, ShutdownMode>> shutdown_calls;
    std::optional<Error> fail_next;     // the next call of any kind fails with this
    std::set<std::string> request_ids;  // of the create calls so far
    int ip_counter = 10;
    // Called by each create call before it does anything (to look at the journal then).
    std::function<void(const std::vector<CreateRequest>&)> on_create;

    Result<std::vector<NodeArray>> node_arrays() override {
        if (auto e = take_failure()) {
            return *e;
        }
        return arrays;
    }
    Result<std::vector<CloudNode>> nodes() override {
        if (auto e = take_failure()) {
            return *e;
        }
        std::vector<CloudNode> out;
        for (const auto& [name, vm] : vms) {
            out.push_back(vm);
        }
        return out;
    }
    Result<CreateResult> create_nodes(const std::vector<CreateRequest>& requests,
                                      const std::string& request_id) override {
        if (on_create) {
            on_create(requests);
        }
        if (auto e = take_failure()) {
            return *e;
        }
        // As CycleCloud: a repeated requestId is refused (HTTP 409).
        if (!request_id.empty() && !request_ids.insert(request_id).second) {
            return make_error(ErrorKind::k_cloud,
                              "HTTP 409: requestId " + request_id + " was already used");
        }
        create_calls.push_back(requests);
        CreateResult r{"op-" + std::to_string(create_calls.size()), {}};
        for (const auto& req : requests) {
            const bool exists = vms.count(req.name) != 0;
            if (!exists) {
                CloudNode n;
                n.name = req.name;
                n.nodearray = req.nodearray;
                n.machine_type = req.machine_type;
                n.status = VmStatus::k_acquiring;
                n.status_text = "Acquiring";
                vms[req.name] = n;
            }
            r.sets.push_back({exists ? 0 : 1, exists ? "node already exists" : ""});
        }
        return r;
    }
    Result<ManagementResult> start_nodes(const std::vector<std::string>& names) override {
        start_calls.push_back(names);
        for (const auto& n : names) {
            vms[n].status = VmStatus::k_acquiring;
        }
        return ManagementResult{"op-start", {}};
    }
    Result<ManagementResult> shutdown_nodes(const std::vector<std::string>& names,
                                            ShutdownMode mode) override {
        shutdown_calls.emplace_back(names, mode);
        for (const auto& n : names) {
            vms[n].status = mode == ShutdownMode::k_deallocate ? VmStatus::k_deallocating
                                                               : VmStatus::k_terminating;
        }
        return ManagementResult{"op-stop", {}};
    }
    Result<std::vector<CloudNode>> operation_nodes(const std::string&) override {
        return std::vector<CloudNode>{};
    }

    // Test helpers: move VMs along as the cloud would.
    void make_ready(const std::string& name) {
        auto& vm = vms[name];
        vm.status = VmStatus::k_ready;
        vm.status_text = "Ready";
        vm.private_ip = "198.18.0." + std::to_string(ip_counter++);
    }
    void finish_shutdowns() {
        for (auto it = vms.begin(); it != vms.end();) {
            if (it->second.status == VmStatus::k_terminating) {
                it = vms.erase(it);
            } else {
                if (it->second.status == VmStatus::k_deallocating) {
                    it->second.status = VmStatus::k_deallocated;
                }
                ++it;
            }
        }
    }

  private:
    std::optional<Error> take_failure() {
        auto e = fail_next;
        fail_next.reset();
        return e;
    }
};

class FakeScheduler final : public Scheduler {
  public:
    std::map<std::string, SlurmNode> nodes_by_name;
    std::vector<NodeUpdate> updates;

    void add_cloud_node(const std::string& name) {
        SlurmNode n;
        n.name = name;
        n.state.base = "IDLE";
        n.state.flags = {"CLOUD", "POWERED_DOWN"};
        n.node_addr = name;
        n.node_hostname = name;
        nodes_by_name[name] = n;
    }
    Result<std::vector<SlurmNode>> nodes() override {
        std::vector<SlurmNode> out;
        for (const auto& [name, n] : nodes_by_name) {
            out.push_back(n);
        }
        return out;
    }
    Result<std::vector<SlurmPartition>> partitions() override {
        return std::vector<SlurmPartition>{};
    }
    Status update_nodes(const NodeUpdate& update) override {
        updates.push_back(update);
        for (std::size_t i = 0; i < update.names.size(); ++i) {
            auto& n = nodes_by_name[update.names[i]];
            if (i < update.node_addrs.size()) {
                n.node_addr = update.node_addrs[i];
            }
        }
        return ok_status();
    }
};

}  // namespace cb::testing_fakes
