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

// `list`, sorted, as hostlists without a comma inside brackets ("hpc-[3,5]" gives "hpc-3" and
// "hpc-5"): from 23.02 Slurm splits a SuspendExcNodes with a count at every comma.
std::vector<std::string> comma_free_pieces(Hostlist list) {
    list.sort();
    std::vector<std::string> out;
    std::vector<std::string> run;
    for (auto& name : list.expand()) {
        run.push_back(name);
        auto joined = Hostlist::from_names(run);
        if (joined && joined->compress().find(',') != std::string::npos) {
            run.pop_back();
            if (auto done = Hostlist::from_names(run)) {
                out.push_back(done->compress());
            }
            run = {std::move(name)};
        }
    }
    if (auto done = Hostlist::from_names(run); done && !run.empty()) {
        out.push_back(done->compress());
    }
    return out;
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
        const bool plain_text = plain_hostlist_text(e.nodes);
        auto list = Hostlist::parse(plain_text ? e.nodes : std::string());
        if (!plain_text || !list || list->empty()) {
            return make_error(ErrorKind::k_invalid_input,
                              "keep-alive nodes " + quote_for_message(e.nodes) +
                                  " are not a hostlist of plain node names");
        }
        if (e.count < 0) {
            return make_error(ErrorKind::k_invalid_input,
                              "keep-alive count for " + e.nodes + " is negative");
        }
        std::vector<std::string> pieces = comma_free_pieces(*list);
        if (e.count == 0) {
            plain.insert(plain.end(), pieces.begin(), pieces.end());
            continue;
        }
        if (pieces.size() != 1) {
            return make_error(ErrorKind::k_invalid_input,
                              "keep-alive: " + e.nodes +
                                  " is not one range of nodes, and Slurm reads a count only "
                                  "after one (" +
                                  pieces.front() + ", ...)");
        }
        // 22.05 drops the whole line for a count above its set's size.
        const auto count = std::min<std::size_t>(static_cast<std::size_t>(e.count), list->size());
        counted.push_back(pieces.front() + ":" + std::to_string(count));
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
