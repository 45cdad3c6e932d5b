#include "core/placement.h"

#include <charconv>
#include <string>

namespace cb {

namespace {

bool alnum(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

}  // namespace

std::string_view to_string(Placement p) {
    return k_placement_names.at(static_cast<std::size_t>(p));
}

Placement effective_placement(std::optional<Placement> configured, const NodeArray& array) {
    if (configured) {
        return *configured;
    }
    const auto it = array.configuration.find("slurm.hpc");
    const bool hpc = it != array.configuration.end() &&
                     (it->second == "true" || it->second == "True" || it->second == "TRUE");
    return hpc ? Placement::k_partition : Placement::k_none;
}

int placement_group_size(const NodeArray& array, std::string_view machine_type) {
    const Bucket* chosen = array.buckets.empty() ? nullptr : &array.buckets.front();
    for (const auto& b : array.buckets) {
        if (b.machine_type == machine_type) {
            chosen = &b;
            break;
        }
    }
    return chosen != nullptr && chosen->max_placement_group_size > 0
               ? chosen->max_placement_group_size
               : k_default_placement_group_size;
}

std::int64_t node_index(std::string_view node, std::string_view prefix, std::string_view array) {
    if (node.size() <= prefix.size() + array.size() + 1 ||
        node.substr(0, prefix.size()) != prefix ||
        node.substr(prefix.size(), array.size()) != array ||
        node[prefix.size() + array.size()] != '-') {
        return 0;
    }
    const std::string_view digits = node.substr(prefix.size() + array.size() + 1);
    if (digits.front() == '0' || digits.size() > 12) {
        return 0;
    }
    std::int64_t n = 0;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
    return ec == std::errc() && end == digits.data() + digits.size() ? n : 0;
}

std::int64_t placement_slot(std::int64_t index, int size) {
    return size <= 0 || index <= 0 ? 0 : (index - 1) / size;
}

std::string partition_group_name(std::string_view cluster, std::string_view array,
                                 std::int64_t slot) {
    return (cluster.empty() ? "" : std::string(cluster) + "-") + std::string(array) + "-pg" +
           std::to_string(slot);
}

std::string job_group_name(std::string_view cluster, std::string_view array, std::int64_t job_id) {
    return (cluster.empty() ? "" : std::string(cluster) + "-") + std::string(array) + "-job" +
           std::to_string(job_id);
}

bool valid_placement_group_name(std::string_view name) {
    if (name.empty() || name.size() > 64 || !alnum(name.front()) ||
        !(alnum(name.back()) || name.back() == '_')) {
        return false;
    }
    for (const char c : name) {
        if (!alnum(c) && c != '-' && c != '_' && c != '.') {
            return false;
        }
    }
    return true;
}

}  // namespace cb
