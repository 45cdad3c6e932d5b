#include "core/usage.h"

#include <algorithm>

#include "core/node_range.h"
#include "core/reconciler.h"

namespace cb {

bool vm_bills(const CloudNode& vm) {
    switch (vm.status) {
        case VmStatus::k_off:
        case VmStatus::k_acquiring:
        case VmStatus::k_deallocated:
            return false;
        case VmStatus::k_preparing:
        case VmStatus::k_ready:
        case VmStatus::k_unavailable:
        case VmStatus::k_terminating:
        case VmStatus::k_deallocating:
            return true;
        case VmStatus::k_failed:
        case VmStatus::k_unknown:
            return !vm.private_ip.empty();
    }
    return false;
}

UsageChanges usage_changes(const std::vector<VmUsage>& open,
                           const std::map<std::string, CloudNode>& cloud,
                           const std::map<std::string, NodeArray>& arrays,
                           const std::string& node_prefix, std::int64_t now_ms) {
    UsageChanges out;
    std::map<std::string, const VmUsage*> open_by_node;
    for (const auto& u : open) {
        if (u.ended_ms == 0) {
            open_by_node.emplace(u.node, &u);
        }
    }
    auto billing_vm = [&](const std::string& node) -> const CloudNode* {
        const auto it = cloud.find(node);
        if (it == cloud.end() || !vm_bills(it->second) || it->second.nodearray.empty()) {
            return nullptr;
        }
        // The node's name must be of its VM's array (a further VM size's range names it too).
        const std::string range = nodearray_of(node, node_prefix);
        const auto r = find_node_range(arrays, range);
        if ((r ? r->array : range) != it->second.nodearray) {
            return nullptr;
        }
        return &it->second;
    };
    for (const auto& [node, u] : open_by_node) {
        const CloudNode* vm = billing_vm(node);
        if (vm == nullptr || (!vm->machine_type.empty() && vm->machine_type != u->machine_type)) {
            VmUsage ended = *u;
            ended.ended_ms = std::max(now_ms, u->started_ms);
            out.closed.push_back(std::move(ended));
        }
    }
    for (const auto& [node, vm] : cloud) {
        if (billing_vm(node) == nullptr) {
            continue;
        }
        const auto it = open_by_node.find(node);
        if (it != open_by_node.end() &&
            (vm.machine_type.empty() || vm.machine_type == it->second->machine_type)) {
            continue;  // still the same VM
        }
        VmUsage u;
        u.node = node;
        u.nodearray = vm.nodearray;
        u.machine_type = vm.machine_type;
        u.started_ms = now_ms;
        if (const auto a = arrays.find(vm.nodearray); a != arrays.end()) {
            u.region = a->second.region;
            u.spot = a->second.interruptible;
            if (u.machine_type.empty()) {
                u.machine_type = a->second.machine_type;
            }
        }
        out.opened.push_back(std::move(u));
    }
    return out;
}

std::int64_t usage_ms_between(const VmUsage& u, std::int64_t from_ms, std::int64_t to_ms,
                              std::int64_t now_ms) {
    const std::int64_t end = u.ended_ms == 0 ? now_ms : u.ended_ms;
    const std::int64_t lo = std::max(u.started_ms, from_ms);
    const std::int64_t hi = std::min(end, to_ms);
    return std::max<std::int64_t>(0, hi - lo);
}

}  // namespace cb
