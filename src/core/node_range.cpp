#include "core/node_range.h"

#include <algorithm>
#include <cctype>

namespace cb {

namespace {

bool starts_with_nocase(std::string_view text, std::string_view prefix) {
    return text.size() >= prefix.size() &&
           std::equal(prefix.begin(), prefix.end(), text.begin(), [](char a, char b) {
               return std::tolower(static_cast<unsigned char>(a)) ==
                      std::tolower(static_cast<unsigned char>(b));
           });
}

NodeRange range_of(const NodeArray& array, const Bucket& b, std::string name, int rank) {
    return {std::move(name), array.name, b.machine_type, rank, b.valid, b.invalid_reason};
}

// The first range of `array` alone (node_ranges' first): find_node_range is asked for it once
// a node per pass, and building every range (a slug per bucket) for it was most of its cost.
NodeRange first_range(const NodeArray& array) {
    if (array.buckets.empty()) {
        // CycleCloud listed no bucket (or a test did not): the array's own size, as before.
        return {array.name, array.name, array.machine_type, 0, true, {}};
    }
    // The first range never depends on which sizes are valid now: `scale` wrote the node
    // names once, and a node must keep its size when a bucket turns invalid later (its nodes
    // then fail with CycleCloud's reason, and jobs move to the next size).
    const Bucket* first = &array.buckets.front();
    for (const auto& b : array.buckets) {
        if (b.machine_type == array.machine_type) {
            first = &b;
            break;
        }
    }
    return range_of(array, *first, array.name, 0);
}

}  // namespace

std::string vm_size_slug(std::string_view machine_type) {
    for (const std::string_view tier : {"Standard_", "Basic_"}) {
        if (starts_with_nocase(machine_type, tier)) {
            machine_type.remove_prefix(tier.size());
            break;
        }
    }
    std::string out;
    for (const char c : machine_type) {
        const auto u = static_cast<unsigned char>(c);
        if (std::isalnum(u) != 0 && u < 0x80) {
            out += static_cast<char>(std::tolower(u));
        } else if ((c == '_' || c == '.' || c == '-') && !out.empty() && out.back() != '-') {
            out += '-';
        }
    }
    while (!out.empty() && out.back() == '-') {
        out.pop_back();
    }
    return out;
}

std::vector<NodeRange> node_ranges(const NodeArray& array) {
    std::vector<NodeRange> out{first_range(array)};
    if (array.buckets.empty()) {
        return out;
    }
    std::vector<std::string> slugs{vm_size_slug(out.front().machine_type)};
    for (const auto& b : array.buckets) {
        const std::string slug = vm_size_slug(b.machine_type);
        if (slug.empty() || std::find(slugs.begin(), slugs.end(), slug) != slugs.end()) {
            continue;  // the first size, a repeat (a Spot or placement bucket), or unnameable
        }
        slugs.push_back(slug);
        out.push_back(range_of(array, b, array.name + "-" + slug, static_cast<int>(out.size())));
    }
    return out;
}

std::string node_range_name(const NodeArray& array, std::string_view machine_type) {
    for (const auto& r : node_ranges(array)) {
        if (r.machine_type == machine_type) {
            return r.name;
        }
    }
    return {};
}

std::optional<NodeRange> find_node_range(const std::map<std::string, NodeArray>& arrays,
                                         std::string_view name) {
    if (const auto it = arrays.find(std::string(name)); it != arrays.end()) {
        return first_range(it->second);
    }
    for (const auto& [array_name, array] : arrays) {
        if (name.size() <= array_name.size() + 1 ||
            name.substr(0, array_name.size()) != array_name || name[array_name.size()] != '-') {
            continue;
        }
        for (const auto& r : node_ranges(array)) {
            if (r.name == name) {
                return r;
            }
        }
    }
    return std::nullopt;
}

}  // namespace cb
