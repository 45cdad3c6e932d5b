#include "core/keep_alive.h"

#include <algorithm>

#include "core/config_schema.h"
#include "core/reconciler.h"
#include "util/hostlist.h"
#include "util/sanitize.h"
#include "util/text.h"

namespace cb {

namespace {

constexpr std::string_view k_comment =
    "# keep-alive (nodearrays.<n>.keep_alive, slurm.keep_alive_nodes; `cloudburst keep-alive`)";

bool plain_hostlist_text(const std::string& text) {
    return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
        return c == '[' || c == ']' || c == ',' || is_plain_name({&c, 1});
    });
}

// The key of a global `Key=value` line, lower case; empty for anything else.
std::string line_key(std::string_view line) {
    const auto start = line.find_first_not_of(" \t");
    if (start == std::string_view::npos || line[start] == '#') {
        return {};
    }
    const auto eq = line.find('=', start);
    if (eq == std::string_view::npos) {
        return {};
    }
    return to_lower(trim(line.substr(start, eq - start)));
}

}  // namespace

std::vector<KeepAliveEntry> keep_alive_entries(
    const Config& config, const std::map<std::string, std::string>& array_nodes) {
    std::vector<KeepAliveEntry> out;
    for (const auto& [array, nodes] : array_nodes) {
        const int count = config.node_array(array).keep_alive;
        if (count > 0 && !nodes.empty()) {
            out.push_back({nodes, count});
        }
    }
    if (!config.slurm.keep_alive_nodes.empty()) {
        out.push_back({config.slurm.keep_alive_nodes, 0});
    }
    return out;
}

Result<std::string> suspend_exc_nodes(const std::vector<KeepAliveEntry>& entries) {
    std::vector<std::string> counted;
    std::vector<std::string> plain;
    for (const auto& e : entries) {
        if (!plain_hostlist_text(e.nodes) || !Hostlist::parse(e.nodes)) {
            return make_error(ErrorKind::k_invalid_input,
                              "keep-alive nodes " + quote_for_message(e.nodes) +
                                  " are not a hostlist of plain node names");
        }
        if (e.count < 0) {
            return make_error(ErrorKind::k_invalid_input,
                              "keep-alive count for " + e.nodes + " is negative");
        }
        if (e.count > 0) {
            counted.push_back(e.nodes + ":" + std::to_string(e.count));
        } else {
            plain.push_back(e.nodes);
        }
    }
    counted.insert(counted.end(), plain.begin(), plain.end());
    return join(counted, ",");
}

std::map<std::string, std::string> nodes_by_array(const std::vector<std::string>& names) {
    std::map<std::string, std::vector<std::string>> grouped;
    for (const auto& name : names) {
        if (std::string array = nodearray_of(name, ""); !array.empty()) {
            grouped[array].push_back(name);
        }
    }
    std::map<std::string, std::string> out;
    for (const auto& [array, members] : grouped) {
        if (auto list = Hostlist::from_names(members)) {
            out[array] = list->compress_sorted();
        }
    }
    return out;
}

std::string with_suspend_exc_nodes(std::string_view conf, const std::string& value) {
    std::vector<std::string> kept;
    for (auto& line : split_lines(conf)) {
        if (line == k_comment || line_key(line) == "suspendexcnodes") {
            continue;
        }
        kept.push_back(std::move(line));
    }
    while (!kept.empty() && trim(kept.back()).empty()) {
        kept.pop_back();
    }
    std::string out;
    for (const auto& line : kept) {
        out += line + "\n";
    }
    if (!value.empty()) {
        out += (out.empty() ? "" : "\n") + std::string(k_comment) + "\nSuspendExcNodes=" + value +
               "\n";
    }
    return out;
}

}  // namespace cb
