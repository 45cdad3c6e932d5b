#include "core/slurm_conf_gen.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include "core/gres_conf.h"
#include "core/keep_alive.h"
#include "core/node_range.h"
#include "core/placement.h"
#include "core/slurm_options.h"
#include "core/topology_conf.h"
#include "util/sanitize.h"
#include "util/text.h"

namespace cb {

namespace {

constexpr std::string_view k_plain_name_rule =
    "is not a plain name (1 to 63 letters, digits, '.', '_' or '-')";

std::string seconds(Duration d) {
    return std::to_string(d.count() / 1000);
}

bool is_true(const NodeArray& a, const std::string& key) {
    const auto it = a.configuration.find(key);
    return it != a.configuration.end() && (it->second == "true" || it->second == "True");
}

// The options of a node array's config, parsed again (the loader has checked them): an error
// here is a Config that did not come through the loader.
Result<std::vector<SlurmOption>> parsed_options(const std::vector<std::string>& items,
                                                SlurmLine line, const std::string& array) {
    std::vector<SlurmOption> out;
    for (const auto& item : items) {
        auto option = parse_slurm_option(item, line);
        if (!option) {
            return Error{ErrorKind::k_config, option.error().message, {}}.with_context(
                "node array " + array + ": " +
                (line == SlurmLine::k_node ? "node_options" : "partition_options"));
        }
        out.push_back(std::move(*option));
    }
    return out;
}

// A partition option and the node array that gave it.
struct OptionFrom {
    SlurmOption option;
    std::string array;
};

// Adds `options` of node array `array` to its partition's; one key with two values is an error.
Status merge_partition_options(std::vector<OptionFrom>& merged,
                               const std::vector<SlurmOption>& options,
                               const std::string& partition, const std::string& array) {
    for (const auto& o : options) {
        const auto it = std::find_if(merged.begin(), merged.end(),
                                     [&](const OptionFrom& m) { return m.option.key == o.key; });
        if (it == merged.end()) {
            merged.push_back({o, array});
        } else if (it->option.value != o.value) {
            std::string message = "node arrays " + it->array + " and " + array;
            message.append(" of partition ").append(partition).append(" set its ").append(o.key);
            message.append(" to ").append(it->option.value).append(" and ").append(o.value);
            message += ": give both the same partition_options";
            return make_error(ErrorKind::k_config, message);
        }
    }
    return ok_status();
}

// The bucket CycleCloud lists for `machine_type` in `a` (a valid one when there are several).
const Bucket& bucket_of(const NodeArray& a, const std::string& machine_type) {
    const Bucket* found = nullptr;
    for (const auto& b : a.buckets) {
        if (b.machine_type == machine_type && (found == nullptr || (!found->valid && b.valid))) {
            found = &b;
        }
    }
    return *found;  // node_ranges names only sizes of the array's buckets
}

// Why range `r` (not its array's first) gets no nodes; "" when it does. `array_names` are all
// node arrays' names (an array's own names come first); `taken` the ranges written so far.
std::string range_refusal(const NodeRange& r, const std::set<std::string>& array_names,
                          const std::set<std::string>& taken) {
    if (r.rank == 0) {
        return {};
    }
    if (!r.valid) {
        const std::string said = without_control_chars(r.invalid_reason);
        return "CycleCloud marks it not valid (" + (said.empty() ? "no reason given" : said) +
               "); activate it for the subscription or take it out of the node array";
    }
    // "-" and up to 7 digits of a node index must fit in a node name.
    constexpr std::size_t k_index_room = 8;
    if (!is_plain_name(r.name) || r.name.size() + k_index_room > 63) {
        return "its node names (" + r.name + "-N) would be longer than 63 characters";
    }
    if (array_names.count(r.name) != 0 || taken.count(r.name) != 0) {
        return "its node names (" + r.name + "-N) are another node array's or VM size's";
    }
    if (!is_plain_name(r.machine_type)) {
        return std::string(k_plain_name_rule);
    }
    return {};
}

// How many nodes range `r` of array `a` has: its VM size's, within the array's own limit.
int range_node_count(const NodeArray& a, const NodeRange& r) {
    const int count = bucket_of(a, r.machine_type).max_count;
    return a.max_count > 0 ? std::min(count, a.max_count) : count;
}

// Whether array `a` makes scale write topology.conf switches (core/topology_conf.h): with
// partition placement, one of its VM sizes has more nodes than one placement group holds.
bool needs_switches(const NodeArray& a, Placement placement) {
    std::vector<TopologyArray> ranges;
    for (const auto& r : node_ranges(a)) {
        if (r.valid) {
            ranges.push_back({r.name, range_node_count(a, r), placement,
                              placement_group_size(a, r.machine_type)});
        }
    }
    return needs_switches(ranges);
}

// What `scale` writes for one range of a node array.
struct RangeLines {
    std::string nodes;  // its comment and node line (or why it has none)
    std::string gres;   // its gres.conf line, if it has GPUs
    std::string hostlist;
    int count = 0;
    std::vector<NodeField> fields;  // a dynamic range's scontrol create fields
};

Result<RangeLines> range_lines(const NodeArray& a, const NodeRange& r, const SkuCatalog& catalog,
                               const NodeArrayConfig& settings,
                               const std::vector<SlurmOption>& node_options,
                               const std::optional<std::vector<std::string>>& dynamic_features,
                               std::vector<std::string>& warnings) {
    RangeLines out;
    const Bucket& b = bucket_of(a, r.machine_type);
    const std::string who =
        "node array '" + a.name + "'" + (r.rank == 0 ? "" : " (" + r.machine_type + ")");
    const Sku* sku = catalog.find(b.machine_type);
    const int vcpus = sku != nullptr ? sku->vcpus : b.vcpu_count;
    const int pcpus =
        sku != nullptr ? sku->physical_cores : (b.pcpu_count > 0 ? b.pcpu_count : vcpus);
    const double memory_gb = sku != nullptr ? sku->memory_gb : b.memory_gb;
    const int gpus = settings.gpu_count.value_or(sku != nullptr ? sku->gpus : b.gpu_count);
    const std::string gpu_type = sku != nullptr ? gpu_gres_type(sku->gpu_model) : "";
    // What the node checks at boot comes from the template (cloudburst.gpus): it must be
    // what Slurm is told, or a node short of GPUs passes, or a whole one fails.
    if (const auto it = a.configuration.find("cloudburst.gpus");
        it != a.configuration.end() && it->second != std::to_string(gpus)) {
        warnings.push_back(who + ": its nodes check for " + escaped(it->second) +
                           " GPUs at boot (cloudburst.gpus, the template's GPUCount) "
                           "but Slurm is told " +
                           std::to_string(gpus) + " (" + b.machine_type + "): make them the same");
    }
    const int count = range_node_count(a, r);
    std::ostringstream nodes;
    nodes << ": " << b.machine_type << " (" << vcpus << " vCPUs, " << pcpus << " cores, "
          << memory_gb << " GB" << (gpus > 0 ? ", " + std::to_string(gpus) + " GPUs" : "")
          << "), up to " << count << " nodes\n";
    if (sku == nullptr) {
        warnings.push_back("VM size " + b.machine_type +
                           " is not in the SKU catalog; using CycleCloud's figures");
    }
    const std::string prefix = r.name + "-";
    out.hostlist = count == 1 ? prefix + "1" : prefix + "[1-" + std::to_string(count) + "]";
    std::vector<std::string> features{"cloud", b.machine_type, a.name};
    if (dynamic_features) {
        for (const auto& f : *dynamic_features) {
            if (std::find(features.begin(), features.end(), f) == features.end()) {
                features.push_back(f);
            }
        }
    }
    features.insert(features.end(), settings.features.begin(), settings.features.end());
    const long memory =
        dampened_memory_mb(memory_gb, settings.dampen_memory, settings.dampen_memory_min_mb);
    std::vector<ConfField> fields{
        {"NodeName", out.hostlist},
        {"State", "CLOUD"},
        {"CPUs", std::to_string(vcpus)},
        {"ThreadsPerCore", std::to_string(std::max(1, pcpus > 0 ? vcpus / pcpus : 1))},
        {"RealMemory", std::to_string(memory)},
        // Slurm takes lower weights first: the array's sizes in CycleCloud's order.
        {"Weight", std::to_string(settings.weight + r.rank)},
        {"Feature", join(features, ",")}};
    if (gpus > 0) {
        fields.push_back(
            {"Gres", "gpu:" + (gpu_type.empty() ? "" : gpu_type + ":") + std::to_string(gpus)});
    }
    for (const auto& o : node_options) {
        fields.push_back({o.key, o.value});
    }
    auto line = slurm_conf_line(fields);
    if (!line) {
        return line.error();
    }
    if (count <= 0) {
        nodes << "# no capacity (maxCount 0: quota or limits): no nodes defined\n";
        warnings.push_back(who + " has no capacity; commented out");
        out.nodes = nodes.str();
        return out;
    }
    out.count = count;
    if (dynamic_features) {
        // Made in slurmctld by `scale` (scontrol create), not read from this file: shown as
        // a comment, so the file still says what the nodes are.
        nodes << "# dynamic nodes: `cloudburst scale` creates them in slurmctld as\n#   " << *line
              << "\n";
        for (const auto& f : fields) {
            if (f.key != "NodeName") {
                out.fields.push_back({std::string(f.key), f.value});
            }
        }
    } else {
        nodes << *line << "\n";
    }
    out.nodes = nodes.str();
    if (gpus > 0) {
        std::vector<ConfField> gres_fields{{"NodeName", out.hostlist}, {"Name", "gpu"}};
        if (!gpu_type.empty()) {
            gres_fields.push_back({"Type", gpu_type});
        }
        if (sku != nullptr && !sku->gpu_model.empty()) {
            gres_fields.push_back({"File", nvidia_device_files(gpus)});  // all NVIDIA
        } else {
            // A size the catalog does not know may have AMD GPUs (ND MI300X v5, NVv4):
            // no NVIDIA device files for it, only the count.
            gres_fields.push_back({"Count", std::to_string(gpus)});
            warnings.push_back(who + ": the GPUs of " + b.machine_type +
                               " are not in the SKU catalog; gres.conf gets Count=" +
                               std::to_string(gpus) + " without device files");
        }
        auto gres_line = slurm_conf_line(gres_fields);
        if (!gres_line) {
            return gres_line.error();
        }
        out.gres = *gres_line + "\n";
    }
    return out;
}

// The MaxNodeCount line for `needed` nodes: written, or a comment when the site's own value
// has room; an error (k_config) when it has not.
Result<std::string> max_node_count_line(long needed, std::string_view site_value) {
    if (site_value.empty()) {
        return "# slurmctld holds at most MaxNodeCount nodes: the site's, the cloud's and the "
               "dynamic ones.\nMaxNodeCount=" +
               std::to_string(needed) + "\n";
    }
    long site = -1;
    const auto [end, ec] =
        std::from_chars(site_value.data(), site_value.data() + site_value.size(), site);
    if (ec != std::errc() || end != site_value.data() + site_value.size() || site < needed) {
        return make_error(ErrorKind::k_config,
                          "slurm.conf sets MaxNodeCount=" + escaped(site_value) +
                              ", but its nodes and the cloud's, dynamic ones included, are " +
                              std::to_string(needed) +
                              ": raise it, or remove it and `cloudburst scale` writes it");
    }
    return "# MaxNodeCount: slurm.conf's own (" + std::string(site_value) + ") has room for " +
           std::to_string(needed) + " nodes.\n";
}

}  // namespace

long dampened_memory_mb(double memory_gb, int dampen_percent, int dampen_min_mb) {
    const long total = std::lround(memory_gb * 1024.0);
    const long by_percent = std::lround(static_cast<double>(total) * dampen_percent / 100.0);
    return std::max(0L, total - std::max<long>(by_percent, dampen_min_mb));
}

Result<std::string> slurm_conf_line(const std::vector<ConfField>& fields) {
    std::string out;
    for (const auto& [key, value] : fields) {
        const bool bad = value.empty() || std::any_of(value.begin(), value.end(), [](char c) {
                             const auto u = static_cast<unsigned char>(c);
                             return u <= ' ' || u == 0x7f || c == '#' || c == '=';
                         });
        if (bad) {
            return make_error(ErrorKind::k_invalid_input,
                              "refusing to write " + std::string(key) + "=\"" + escaped(value) +
                                  "\" to the Slurm configuration: a value must not be empty or "
                                  "hold whitespace, '#', '=' or control characters");
        }
        if (!out.empty()) {
            out += ' ';
        }
        out.append(key).append("=").append(value);
    }
    return out;
}

Result<std::string> slurm_conf_comment(std::string_view text) {
    if (without_control_chars(text) != text) {
        return make_error(ErrorKind::k_invalid_input,
                          "refusing to write the comment \"" + escaped(text) +
                              "\" to the Slurm configuration: it holds control characters");
    }
    return "# " + std::string(text);
}

Result<GeneratedSlurmConf> generate_slurm_conf(const std::vector<NodeArray>& arrays,
                                               const SkuCatalog& catalog, const Config& config,
                                               std::string_view site_gres_types,
                                               std::string_view site_topology_plugin,
                                               const std::vector<std::string>& site_nodes,
                                               long site_node_count,
                                               std::string_view site_max_node_count) {
    GeneratedSlurmConf out;
    std::ostringstream nodes;
    std::ostringstream gres;
    auto header = slurm_conf_comment("Generated by `cloudburst scale` from CycleCloud cluster '" +
                                     config.cyclecloud.cluster + "'.");
    if (!header) {
        return header.error();
    }
    nodes << *header << "\n"
          << "# Do not edit: rerunning `cloudburst scale` overwrites it. Per-array settings\n"
          << "# belong in the cloudburst configuration ([nodearrays.<name>]).\n";
    // Partition name -> node hostlists, in array order.
    std::map<std::string, std::vector<std::string>> partitions;
    std::map<std::string, std::string> array_nodes;  // node array -> its hostlist (keep-alive)
    std::vector<TopologyArray> topology;             // arrays as topology.conf sees them
    std::map<std::string, NodeArrayConfig> partition_settings;
    std::map<std::string, bool> partition_default;
    std::map<std::string, std::vector<OptionFrom>> partition_options;
    std::map<std::string, std::vector<std::string>> hybrids;  // hybrid partition -> cloud lists
    std::vector<NodeArray> sorted = arrays;
    std::sort(sorted.begin(), sorted.end(),
              [](const NodeArray& a, const NodeArray& b) { return a.name < b.name; });
    std::set<std::string> array_names;  // an array's own node names come before further sizes'
    for (const auto& a : sorted) {
        array_names.insert(a.name);
    }
    std::set<std::string> range_names;  // further sizes' ranges written so far
    // Slurm (22.05 to 24.11) places no job on a dynamic node under a topology plugin: such a
    // node joins no switch ("Requested topology configuration is not available"; nodes learn
    // a switch at creation only from 25.05). Who needs the plugin, if anyone.
    std::string topology_user;
    if (!site_topology_plugin.empty() && !iequals(site_topology_plugin, "topology/none") &&
        !iequals(site_topology_plugin, "topology/default")) {
        topology_user = "slurm.conf's TopologyPlugin=" + escaped(site_topology_plugin);
    }
    for (const auto& a : sorted) {
        if (topology_user.empty() && a.configuration.count("slurm.dynamic_config") == 0 &&
            needs_switches(a, effective_placement(config.node_array(a.name).placement, a))) {
            topology_user = "the placement groups of node array " + a.name +
                            " (more nodes than one group holds: TopologyPlugin=topology/tree; set "
                            "its placement to \"job\" or \"none\", or its nodes to one group's)";
        }
    }
    std::vector<std::string> nodesets;  // the Nodeset lines of dynamic arrays
    long cloud_nodes = 0;               // every node the file defines or scale creates
    for (const auto& a : sorted) {
        if (!is_plain_name(a.name)) {
            out.warnings.push_back("node array '" + escaped(a.name) + "' skipped: its name " +
                                   std::string(k_plain_name_rule));
            continue;
        }
        const NodeArrayConfig settings = config.node_array(a.name);
        nodes << "\n# node array " << a.name;
        const std::vector<NodeRange> ranges = node_ranges(a);
        if (ranges.empty() || !ranges.front().valid || a.buckets.empty()) {
            nodes << ": no valid VM size; nothing generated\n";
            out.warnings.push_back("node array '" + a.name + "' has no valid bucket; skipped");
            continue;
        }
        if (!is_plain_name(ranges.front().machine_type)) {
            nodes << ": a VM size Slurm cannot take; nothing generated\n";
            out.warnings.push_back("node array '" + a.name + "' skipped: its VM size '" +
                                   escaped(ranges.front().machine_type) + "' " +
                                   std::string(k_plain_name_rule));
            continue;
        }
        std::optional<std::vector<std::string>> dynamic_features;
        if (const auto it = a.configuration.find("slurm.dynamic_config");
            it != a.configuration.end()) {
            auto features = dynamic_config_features(it->second);
            if (!features) {
                nodes << ": its slurm.dynamic_config is not one Slurm can take; nothing "
                         "generated\n";
                out.warnings.push_back("node array '" + a.name +
                                       "' skipped: " + features.error().message);
                continue;
            }
            if (!topology_user.empty()) {
                nodes << ": dynamic nodes, which Slurm places no job on under a topology "
                         "plugin; nothing generated\n";
                out.warnings.push_back(
                    "node array '" + a.name +
                    "' skipped: Slurm places no job on dynamic nodes under a topology plugin "
                    "(they join no switch before Slurm 25.05), which " +
                    topology_user + " needs; or make the array static (no slurm.dynamic_config)");
                continue;
            }
            dynamic_features = std::move(*features);
        }
        if (a.configuration.count("slurm.autoscale") != 0 && !is_true(a, "slurm.autoscale")) {
            nodes << ": slurm.autoscale is false; nothing generated\n";
            continue;
        }
        auto node_options = parsed_options(settings.node_options, SlurmLine::k_node, a.name);
        if (!node_options) {
            return node_options.error();
        }
        bool any_nodes = false;
        for (const auto& r : ranges) {
            if (r.rank > 0) {
                nodes << "\n# node array " << a.name << ", VM size " << r.rank + 1;
            }
            if (const std::string refusal = range_refusal(r, array_names, range_names);
                !refusal.empty()) {
                nodes << ": " << without_control_chars(r.machine_type) << " skipped\n";
                out.warnings.push_back("node array '" + a.name + "': VM size '" +
                                       escaped(r.machine_type) + "' skipped: " + refusal);
                continue;
            }
            range_names.insert(r.name);
            auto lines =
                range_lines(a, r, catalog, settings, *node_options, dynamic_features, out.warnings);
            if (!lines) {
                return lines.error();
            }
            nodes << lines->nodes;
            if (lines->count <= 0) {
                continue;
            }
            any_nodes = true;
            gres << lines->gres;
            cloud_nodes += lines->count;
            if (dynamic_features) {
                out.dynamic_nodes.push_back(
                    {a.name, r.name, lines->hostlist, std::move(lines->fields)});
                continue;  // in the partition through the array's Nodeset
            }
            partitions[settings.partition].push_back(lines->hostlist);
            if (r.rank == 0) {
                array_nodes[a.name] = lines->hostlist;  // keep-alive: the first size's nodes
            }
            topology.push_back({r.name, lines->count, effective_placement(settings.placement, a),
                                placement_group_size(a, r.machine_type)});
            if (!settings.hybrid_partition.empty()) {
                hybrids[settings.hybrid_partition].push_back(lines->hostlist);
            }
        }
        if (!any_nodes) {
            continue;
        }
        if (dynamic_features) {
            auto nodeset = slurm_conf_line({{"Nodeset", dynamic_nodeset_name(a.name)},
                                            {"Feature", dynamic_nodeset_feature(a.name)}});
            if (!nodeset) {
                return nodeset.error();
            }
            nodesets.push_back(*nodeset);
            partitions[settings.partition].push_back(dynamic_nodeset_name(a.name));
            if (!settings.hybrid_partition.empty()) {
                hybrids[settings.hybrid_partition].push_back(dynamic_nodeset_name(a.name));
            }
            if (settings.keep_alive > 0) {
                out.warnings.push_back(
                    "node array '" + a.name +
                    "': keep_alive is not written for dynamic nodes (slurm.conf's "
                    "SuspendExcNodes is read before they exist); use "
                    "`cloudburst keep-alive` once they do");
            }
        }
        partition_settings.emplace(settings.partition, settings);
        auto options = parsed_options(settings.partition_options, SlurmLine::k_partition, a.name);
        if (!options) {
            return options.error();
        }
        // def_cpu_per_gpu is one more partition option of its array: arrays sharing a
        // partition must agree on it as on the others.
        if (settings.def_cpu_per_gpu) {
            if (std::any_of(options->begin(), options->end(),
                            [](const SlurmOption& o) { return o.key == "DefCpuPerGPU"; })) {
                return make_error(ErrorKind::k_config,
                                  "node array " + a.name +
                                      ": DefCpuPerGPU is set twice, by def_cpu_per_gpu and in "
                                      "partition_options; keep one");
            }
            options->insert(options->begin(),
                            SlurmOption{"DefCpuPerGPU", std::to_string(*settings.def_cpu_per_gpu)});
        }
        if (auto st = merge_partition_options(partition_options[settings.partition], *options,
                                              settings.partition, a.name);
            !st) {
            return st.error();
        }
        partition_default[settings.partition] =
            partition_default[settings.partition] || is_true(a, "slurm.default_partition");
    }
    if (!nodesets.empty()) {
        nodes << "\n# Dynamic node arrays: their nodes join the partition by the array's "
                 "feature.\n";
        for (const auto& line : nodesets) {
            nodes << line << "\n";
        }
        auto room = max_node_count_line(site_node_count + cloud_nodes, site_max_node_count);
        if (!room) {
            return room.error();
        }
        nodes << *room;
    }
    for (const auto& [name, hostlists] : partitions) {
        const NodeArrayConfig& s = partition_settings.at(name);
        const Duration suspend =
            s.suspend_time.count() > 0 ? s.suspend_time : config.slurm.suspend_time;
        const Duration resume =
            s.resume_timeout.count() > 0 ? s.resume_timeout : config.slurm.resume_timeout;
        std::vector<ConfField> fields{
            {"PartitionName", name}, {"Nodes", join(hostlists, ",")}, {"State", "UP"}};
        if (partition_default[name]) {
            fields.push_back({"Default", "YES"});
        }
        fields.push_back({"SuspendTime", seconds(suspend)});
        fields.push_back({"ResumeTimeout", seconds(resume)});
        for (const auto& o : partition_options[name]) {
            fields.push_back({o.option.key, o.option.value});
        }
        auto line = slurm_conf_line(fields);
        if (!line) {
            return line.error();
        }
        nodes << "\n" << *line << "\n";
    }
    for (const auto& [name, hostlists] : hybrids) {
        if (partitions.count(name) != 0) {
            out.warnings.push_back("hybrid partition '" + escaped(name) +
                                   "' is also a cloud partition; not written");
            continue;
        }
        if (config.slurm.onprem_nodes.empty()) {
            out.warnings.push_back("hybrid partition '" + escaped(name) +
                                   "' has no on-prem nodes: set slurm.onprem_nodes");
        }
        std::vector<std::string> members;
        if (!config.slurm.onprem_nodes.empty()) {
            members.push_back(config.slurm.onprem_nodes);
        }
        members.insert(members.end(), hostlists.begin(), hostlists.end());
        auto line = slurm_conf_line(
            {{"PartitionName", name}, {"Nodes", join(members, ",")}, {"State", "UP"}});
        if (!line) {
            return line.error();
        }
        nodes << "\n# hybrid: on-prem first, cloud nodes (higher Weight) only when on-prem is "
                 "busy.\n# No SuspendTime here: on-prem nodes keep the global value (INFINITE), "
                 "cloud nodes\n# their cloud partition's.\n"
              << *line << "\n";
    }
    if (!gres.str().empty()) {
        auto plan = gres_types_plan(site_gres_types);
        if (!plan) {
            return plan.error();
        }
        nodes << "\n# GPUs are generic resources of type gpu; their device files are in "
                 "gres.conf.\n"
              << (*plan == GresTypesPlan::k_write ? "GresTypes=gpu\n"
                                                  : "# GresTypes: slurm.conf's own names gpu.\n");
    }
    auto topology_lines = topology_conf_lines(config.cyclecloud.cluster, topology, site_nodes);
    if (!topology_lines) {
        return topology_lines.error();
    }
    if (!topology_lines->empty()) {
        auto plan = topology_plugin_plan(site_topology_plugin);
        if (!plan) {
            return plan.error();
        }
        nodes << "\n# Placement groups: one topology.conf switch each, so that a job stays in "
                 "one.\n"
              << (*plan == TopologyPluginPlan::k_write
                      ? "TopologyPlugin=topology/tree\n"
                      : "# TopologyPlugin: slurm.conf's own is topology/tree.\n");
    }
    out.topology_conf = *topology_lines;
    auto keep = suspend_exc_nodes(keep_alive_entries(config, array_nodes));
    if (!keep) {
        return keep.error();
    }
    out.suspend_exc_nodes = *keep;
    out.nodes_conf = with_suspend_exc_nodes(nodes.str(), *keep);
    out.gres_conf = gres.str();
    return out;
}

std::string line_diff(const std::string& before, const std::string& after) {
    if (before == after) {
        return {};
    }
    const auto a = split_lines(before);
    const auto b = split_lines(after);
    // Longest common subsequence; the files are small (a few hundred lines at most).
    std::vector<std::vector<int>> lcs(a.size() + 1, std::vector<int>(b.size() + 1, 0));
    for (std::size_t i = a.size(); i-- > 0;) {
        for (std::size_t j = b.size(); j-- > 0;) {
            lcs[i][j] =
                a[i] == b[j] ? lcs[i + 1][j + 1] + 1 : std::max(lcs[i + 1][j], lcs[i][j + 1]);
        }
    }
    std::string out;
    std::size_t i = 0;
    std::size_t j = 0;
    while (i < a.size() || j < b.size()) {
        if (i < a.size() && j < b.size() && a[i] == b[j]) {
            ++i;
            ++j;
        } else if (i < a.size() && (j == b.size() || lcs[i + 1][j] >= lcs[i][j + 1])) {
            out += "-" + a[i++] + "\n";
        } else {
            out += "+" + b[j++] + "\n";
        }
    }
    return out;
}

}  // namespace cb
