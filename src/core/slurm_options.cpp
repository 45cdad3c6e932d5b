#include "core/slurm_options.h"

#include <algorithm>
#include <map>

#include "util/sanitize.h"
#include "util/spelling.h"
#include "util/text.h"

namespace cb {

namespace {

constexpr std::size_t k_max_value = 256;

// Keys cloudburst writes or derives itself.
struct OwnedKey {
    SlurmLine line;
    std::string_view key;
    std::string_view why;  // why it is ours, and what to set instead
};

constexpr std::string_view k_size = "it comes from the VM size";

constexpr OwnedKey k_owned[] = {
    {SlurmLine::k_node, "NodeName", "it names the nodes after the node array"},
    {SlurmLine::k_node, "NodeAddr", "the daemon sets it when the VM has an address"},
    {SlurmLine::k_node, "NodeHostname", "the daemon sets it when the VM has an address"},
    {SlurmLine::k_node, "State", "cloudburst writes State=CLOUD"},
    {SlurmLine::k_node, "CPUs", k_size},
    {SlurmLine::k_node, "Procs", k_size},
    {SlurmLine::k_node, "Boards", k_size},
    {SlurmLine::k_node, "SocketsPerBoard", k_size},
    {SlurmLine::k_node, "Sockets", k_size},
    {SlurmLine::k_node, "CoresPerSocket", k_size},
    {SlurmLine::k_node, "ThreadsPerCore", k_size},
    {SlurmLine::k_node, "RealMemory",
     "it comes from the VM size; set nodearrays.<name>.dampen_memory instead"},
    {SlurmLine::k_node, "Weight", "set nodearrays.<name>.weight instead"},
    {SlurmLine::k_node, "Feature", "set nodearrays.<name>.features instead"},
    {SlurmLine::k_node, "Features", "set nodearrays.<name>.features instead"},
    {SlurmLine::k_node, "Gres",
     "it comes from the VM size; set nodearrays.<name>.gpu_count instead"},
    {SlurmLine::k_partition, "PartitionName", "set nodearrays.<name>.partition instead"},
    {SlurmLine::k_partition, "Nodes", "it lists the partition's node arrays"},
    {SlurmLine::k_partition, "State", "cloudburst writes State=UP"},
    {SlurmLine::k_partition, "Default", "it comes from the template's slurm.default_partition"},
    {SlurmLine::k_partition, "SuspendTime", "set nodearrays.<name>.suspend_time instead"},
    {SlurmLine::k_partition, "ResumeTimeout", "set nodearrays.<name>.resume_timeout instead"},
    {SlurmLine::k_partition, "SuspendTimeout",
     "it is slurm.conf's own, written by cloudburst setup scheduler"},
    {SlurmLine::k_partition, "PowerDownOnIdle", "power saving is cloudburst's (SuspendTime)"},
};

std::string_view line_name(SlurmLine line) {
    return line == SlurmLine::k_node ? "NodeName=" : "PartitionName=";
}

bool value_char(char c) {
    const auto u = static_cast<unsigned char>(c);
    return u > ' ' && u < 0x7f && c != '#' && c != '=' && c != '"' && c != '\'' && c != '\\';
}

}  // namespace

const std::vector<std::string>& allowed_slurm_options(SlurmLine line) {
    // Options of slurm.conf(5) in Slurm 22.05 and later that neither name nor size the nodes
    // nor take part in power saving.
    static const std::vector<std::string> node{"CoreSpecCount", "CpuBind", "CpuSpecList",
                                               "MemSpecLimit", "TmpDisk"};
    static const std::vector<std::string> partition{
        "AllocNodes",        "AllowAccounts",   "AllowGroups",
        "AllowQos",          "Alternate",       "CpuBind",
        "DefCpuPerGPU",      "DefMemPerCPU",    "DefMemPerGPU",
        "DefMemPerNode",     "DefaultTime",     "DenyAccounts",
        "DenyQos",           "DisableRootJobs", "ExclusiveUser",
        "GraceTime",         "Hidden",          "LLN",
        "MaxCPUsPerNode",    "MaxMemPerCPU",    "MaxMemPerNode",
        "MaxNodes",          "MaxTime",         "MinNodes",
        "OverSubscribe",     "OverTimeLimit",   "PreemptMode",
        "PriorityJobFactor", "PriorityTier",    "QOS",
        "ReqResv",           "RootOnly",        "SelectTypeParameters"};
    return line == SlurmLine::k_node ? node : partition;
}

Result<SlurmOption> parse_slurm_option(std::string_view item, SlurmLine line) {
    const auto eq = item.find('=');
    const std::string_view key = eq == std::string_view::npos ? item : item.substr(0, eq);
    if (eq == std::string_view::npos || key.empty()) {
        return make_error(
            ErrorKind::k_config,
            "must be Key=value such as \"" +
                std::string(line == SlurmLine::k_node ? "TmpDisk=100000" : "MaxTime=24:00:00") +
                "\", not \"" + escaped(item) + "\"");
    }
    const std::string wanted = to_lower(key);
    for (const auto& owned : k_owned) {
        if (owned.line == line && to_lower(owned.key) == wanted) {
            return make_error(ErrorKind::k_config,
                              "sets " + std::string(owned.key) +
                                  ", which is cloudburst's own: " + std::string(owned.why));
        }
    }
    const auto& allowed = allowed_slurm_options(line);
    const auto it = std::find_if(allowed.begin(), allowed.end(),
                                 [&](const std::string& k) { return to_lower(k) == wanted; });
    if (it == allowed.end()) {
        std::vector<std::string> lowered;
        for (const auto& k : allowed) {
            lowered.push_back(to_lower(k));
        }
        const std::string guess = closest_match(wanted, lowered);
        std::string hint;
        if (!guess.empty()) {
            hint = " (did you mean " +
                   allowed[static_cast<std::size_t>(
                       std::find(lowered.begin(), lowered.end(), guess) - lowered.begin())] +
                   "?)";
        }
        std::string list;
        for (const auto& k : allowed) {
            list += (list.empty() ? "" : ", ") + k;
        }
        return make_error(ErrorKind::k_config, "names '" + escaped(key) + "', which is not a " +
                                                   std::string(line_name(line)) +
                                                   " option cloudburst passes on" + hint +
                                                   "; allowed: " + list);
    }
    const std::string_view value = item.substr(eq + 1);
    if (value.empty() || value.size() > k_max_value ||
        !std::all_of(value.begin(), value.end(), value_char)) {
        return make_error(ErrorKind::k_config,
                          "has the value \"" + escaped(value) + "\" for " + *it +
                              ": a value is 1 to 256 printable characters without spaces, '#', "
                              "'=', quotes or backslashes");
    }
    return SlurmOption{*it, std::string(value)};
}

std::string slurm_options_problem(const std::vector<std::string>& items, SlurmLine line) {
    std::map<std::string, std::size_t> seen;  // key -> item number
    for (std::size_t i = 0; i < items.size(); ++i) {
        auto option = parse_slurm_option(items[i], line);
        if (!option) {
            return "item " + std::to_string(i + 1) + " " + option.error().message;
        }
        if (const auto [at, added] = seen.emplace(option->key, i + 1); !added) {
            return "item " + std::to_string(i + 1) + " sets " + option->key + " again (item " +
                   std::to_string(at->second) + " is the first); keep one";
        }
    }
    // slurm.conf(5): a partition has one default and one limit of memory, per CPU, GPU or node.
    static const std::vector<std::vector<std::string>> k_exclusive{
        {"DefMemPerCPU", "DefMemPerGPU", "DefMemPerNode"}, {"MaxMemPerCPU", "MaxMemPerNode"}};
    for (const auto& group : k_exclusive) {
        std::vector<std::string> set;
        for (const auto& key : group) {
            if (const auto at = seen.find(key); at != seen.end()) {
                set.push_back(key + " (item " + std::to_string(at->second) + ")");
            }
        }
        if (set.size() > 1) {
            std::string list;
            for (const auto& s : set) {
                list += (list.empty() ? "" : " and ") + s;
            }
            return "sets " + list + ", which Slurm takes one of at most; keep one";
        }
    }
    return "";
}

}  // namespace cb
