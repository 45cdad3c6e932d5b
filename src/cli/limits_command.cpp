// `cloudburst limits`: per node array and VM size, every limit that can stop a burst and
// which one binds now (core/limits.h).
#include <CLI/CLI.hpp>

#include <chrono>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "adapters/cyclecloud_options.h"
#include "cli/commands.h"
#include "cli/text_output.h"
#include "core/limits.h"
#include "daemon/daemon.h"

namespace cb::cli {

namespace {

using json = nlohmann::json;

std::string used_of(const BurstLimit& l) {
    if (l.limit == 0) {
        return std::to_string(l.room_nodes) + " nodes";  // CycleCloud's availableCount
    }
    return std::to_string(l.used) + "/" + std::to_string(l.limit) + " " + l.unit;
}

Result<int> run_limits(bool as_json) {
    auto config = load_global_config(PasswordUse::k_read);
    if (!config) {
        return config.error();
    }
    CycleCloudRest cloud(cyclecloud_options(*config));
    auto arrays = cloud.node_arrays();
    if (!arrays) {
        return arrays.error();
    }
    auto cluster = cloud.cluster_limits();
    if (!cluster) {
        return cluster.error();
    }
    const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    const auto rows = burst_limits(*arrays, *cluster, read_health_file(*config, now_ms), now_ms);
    if (as_json) {
        json out = json::array();
        for (const auto& r : rows) {
            json limits = json::array();
            for (const auto& l : r.limits) {
                limits.push_back({{"name", l.name},
                                  {"unit", l.unit},
                                  {"used", l.used},
                                  {"limit", l.limit},
                                  {"room_nodes", l.room_nodes}});
            }
            out.push_back({{"nodearray", r.nodearray},
                           {"vm_size", r.vm_size},
                           {"range", r.range},
                           {"spot", r.spot},
                           {"vcpus", r.vcpus},
                           {"available", r.available},
                           {"room_nodes", r.room_nodes},
                           {"binding", r.binding},
                           {"max_placement_group_size", r.max_placement_group_size},
                           {"last_capacity_failure_seconds", r.last_capacity_failure_seconds},
                           {"limits", std::move(limits)}});
        }
        std::cout << out.dump(2) << "\n";
        return 0;
    }
    for (const auto& r : rows) {
        std::cout << r.nodearray << " " << r.vm_size << (r.spot ? " (spot)" : "")
                  << (r.range.empty() || r.range == r.nodearray ? "" : " (nodes " + r.range + "-N)")
                  << ": room for " << r.room_nodes << " more node(s); binding: " << r.binding
                  << "\n";
        std::vector<std::vector<std::string>> table{{"  LIMIT", "USED/LIMIT", "ROOM (NODES)"}};
        for (const auto& l : r.limits) {
            table.push_back({"  " + l.name, used_of(l), std::to_string(l.room_nodes)});
        }
        if (r.max_placement_group_size > 0) {
            table.push_back({"  placement group size",
                             std::to_string(r.max_placement_group_size) + " nodes per group", "-"});
        }
        if (r.last_capacity_failure_seconds >= 0) {
            table.push_back(
                {"  last capacity failure",
                 std::to_string(static_cast<long>(r.last_capacity_failure_seconds)) + " s ago",
                 "-"});
        }
        print_table(table);
    }
    return 0;
}

}  // namespace

std::vector<CommandSpec> limits_commands() {
    return {
        {"limits", "per node array and VM size: every limit that can stop a burst, and which binds",
         [](CLI::App& app) {
             auto as_json = std::make_shared<bool>(false);
             app.add_flag("--json", *as_json, "print JSON");
             return std::function<Result<int>()>([as_json] { return run_limits(*as_json); });
         }},
    };
}

}  // namespace cb::cli
