#include "emulator/cluster_template.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <map>
#include <set>

#include <fmt/format.h>

#include "util/files.h"
#include "util/spelling.h"
#include "util/text.h"

namespace cb::emulator {

namespace {

bool valid_key(std::string_view key) {
    return !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '.' || c == '-';
    });
}

// Which section types may sit directly inside which; depth-1 types have parent "".
struct Nesting {
    std::string_view parent;
    std::string_view child;
    bool needs_name;
};
constexpr std::array k_nesting{
    Nesting{"", "cluster", true},
    Nesting{"", "parameters", false},
    Nesting{"cluster", "node", true},
    Nesting{"cluster", "nodearray", true},
    Nesting{"node", "configuration", false},
    Nesting{"nodearray", "configuration", false},
    Nesting{"node", "cluster-init", true},
    Nesting{"nodearray", "cluster-init", true},
    Nesting{"node", "volume", true},
    Nesting{"nodearray", "volume", true},
    Nesting{"node", "network-interface", true},
    Nesting{"nodearray", "network-interface", true},
    Nesting{"node", "input-endpoint", true},
    Nesting{"nodearray", "input-endpoint", true},
    Nesting{"parameters", "parameters", false},
    Nesting{"parameters", "parameter", true},
};

const Nesting* find_nesting(std::string_view parent, std::string_view child) {
    for (const auto& n : k_nesting) {
        if (n.parent == parent && n.child == child) {
            return &n;
        }
    }
    return nullptr;
}

std::string header_text(int depth, const TemplateSection& s) {
    const std::string open(static_cast<std::size_t>(depth), '[');
    const std::string close(static_cast<std::size_t>(depth), ']');
    return open + s.type + (s.name.empty() ? "" : " " + s.name) + close;
}

// Line-oriented parser; keeps the stack of open sections as indices into the tree.
class Parser {
  public:
    Parser(std::string_view text, std::string source) : m_text(text) {
        m_out.source = std::move(source);
    }

    Result<ClusterTemplate> run() {
        std::vector<std::string_view> lines;
        std::size_t start = 0;
        while (start <= m_text.size()) {
            const std::size_t end = m_text.find('\n', start);
            std::string_view line = m_text.substr(
                start, end == std::string_view::npos ? std::string_view::npos : end - start);
            if (!line.empty() && line.back() == '\r') {
                line.remove_suffix(1);
            }
            lines.push_back(line);
            if (end == std::string_view::npos) {
                break;
            }
            start = end + 1;
        }
        for (std::size_t i = 0; i < lines.size(); ++i) {
            const int number = static_cast<int>(i) + 1;
            const std::string_view line = trim(lines[i]);
            if (line.empty() || line.front() == '#') {
                continue;
            }
            Status st =
                line.front() == '[' ? header(line, number) : assignment(line, number, lines, i);
            if (!st) {
                return std::move(st).error();
            }
        }
        int clusters = 0;
        for (const auto& s : m_out.sections) {
            clusters += s.type == "cluster" ? 1 : 0;
        }
        if (clusters == 0) {
            return make_error(ErrorKind::k_config, m_out.source + ": no [cluster NAME] section");
        }
        return std::move(m_out);
    }

  private:
    Error error_at(int line, const std::string& message) const {
        return make_error(ErrorKind::k_config,
                          fmt::format("{}:{}: {}", m_out.source, line, message));
    }

    TemplateSection* open_section(std::size_t depth) {
        TemplateSection* s = &m_out.sections.back();
        for (std::size_t d = 1; d < depth; ++d) {
            s = &s->children.back();
        }
        return s;
    }

    Status header(std::string_view line, int number) {
        const auto depth = line.find_first_not_of('[');
        const auto closing = line.size() - line.find_last_not_of(']') - 1;
        if (depth == std::string_view::npos ||
            line.find_last_not_of(']') == std::string_view::npos) {
            return error_at(number, fmt::format("'{}' is not a section header", line));
        }
        if (depth != closing) {
            return error_at(number, fmt::format("'{}' opens with {} '[' but closes with {} ']'",
                                                line, depth, closing));
        }
        if (depth > 3) {
            return error_at(number, fmt::format("'{}': sections nest at most 3 deep", line));
        }
        const std::string_view inner = trim(line.substr(depth, line.size() - 2 * depth));
        const auto space = inner.find_first_of(" \t");
        TemplateSection section;
        section.type = std::string(inner.substr(0, space));
        section.name =
            space == std::string_view::npos ? "" : std::string(trim(inner.substr(space)));
        section.line = number;
        if (section.type.empty()) {
            return error_at(number, fmt::format("'{}' has no section type", line));
        }
        if (depth - 1 > m_depth) {
            return error_at(number, fmt::format("{} is not inside a {} section",
                                                header_text(static_cast<int>(depth), section),
                                                std::string(depth - 1, '[') + "..." +
                                                    std::string(depth - 1, ']')));
        }
        const std::string parent_type = depth == 1 ? "" : open_section(depth - 1)->type;
        const Nesting* nesting = find_nesting(parent_type, section.type);
        if (nesting == nullptr) {
            if (depth == 1) {
                return error_at(number, fmt::format("unknown section {} (expected [cluster NAME] "
                                                    "or [parameters LABEL])",
                                                    header_text(1, section)));
            }
            return error_at(
                number, fmt::format("{} cannot be inside a [{}] section",
                                    header_text(static_cast<int>(depth), section), parent_type));
        }
        if (nesting->needs_name && section.name.empty()) {
            return error_at(number, fmt::format("{} needs a name",
                                                header_text(static_cast<int>(depth), section)));
        }
        if (Status st = check_unique(section, number); !st) {
            return st;
        }
        if (depth == 1) {
            m_out.sections.push_back(std::move(section));
        } else {
            open_section(depth - 1)->children.push_back(std::move(section));
        }
        m_depth = depth;
        return ok_status();
    }

    // Node, node array and parameter names are unique; so is the [cluster] section.
    Status check_unique(const TemplateSection& section, int number) {
        std::string key;
        if (section.type == "cluster") {
            key = "cluster";
        } else if (section.type == "node" || section.type == "nodearray") {
            key = "node " + section.name;
        } else if (section.type == "parameter") {
            key = "parameter " + section.name;
        } else {
            return ok_status();
        }
        const auto [it, inserted] = m_seen.emplace(key, number);
        if (inserted) {
            return ok_status();
        }
        if (section.type == "cluster") {
            return error_at(number, fmt::format("a second [cluster] section (the first is on "
                                                "line {})",
                                                it->second));
        }
        return error_at(number, fmt::format("{} {} is already defined on line {}", section.type,
                                            section.name, it->second));
    }

    Status assignment(std::string_view line, int number, const std::vector<std::string_view>& lines,
                      std::size_t& index) {
        const auto eq = line.find('=');
        if (eq == std::string_view::npos) {
            return error_at(number, fmt::format("expected 'Key = value', a [section] header or a "
                                                "# comment, not '{}'",
                                                line));
        }
        TemplateAttribute attr;
        attr.line = number;
        attr.literal = eq > 0 && line[eq - 1] == ':';
        attr.key = std::string(trim(line.substr(0, attr.literal ? eq - 1 : eq)));
        if (!valid_key(attr.key)) {
            return error_at(number, fmt::format("'{}' is not a valid attribute name", attr.key));
        }
        std::string_view value = trim(line.substr(eq + 1));
        if (value.substr(0, 3) == "'''" || value.substr(0, 3) == "\"\"\"") {
            const std::string_view fence = value.substr(0, 3);
            std::string text(value.substr(3));
            std::size_t close = text.find(fence);
            while (close == std::string::npos && index + 1 < lines.size()) {
                ++index;
                text += '\n';
                text += lines[index];
                close = text.find(fence);
            }
            if (close == std::string::npos) {
                return error_at(number, fmt::format("{} string is never closed", fence));
            }
            if (!trim(std::string_view(text).substr(close + 3)).empty()) {
                return error_at(static_cast<int>(index) + 1,
                                fmt::format("text after the closing {}", fence));
            }
            attr.raw = text.substr(0, close);
            attr.literal = true;
        } else {
            attr.raw = std::string(value);
        }
        if (m_depth == 0) {
            return error_at(number, fmt::format("'{} = ...' is outside any section", attr.key));
        }
        TemplateSection* section = open_section(m_depth);
        if (const TemplateAttribute* previous = section->find(attr.key)) {
            return error_at(number, fmt::format("{} is already set on line {} in this section",
                                                attr.key, previous->line));
        }
        section->attributes.push_back(std::move(attr));
        return ok_status();
    }

    std::string_view m_text;
    ClusterTemplate m_out;
    std::size_t m_depth = 0;
    std::map<std::string, int> m_seen;
};

// ---- resolution -------------------------------------------------------------------------

struct Parameter {
    TemplateValue value;
    int line = 0;
};

void collect_parameters(const TemplateSection& section, std::map<std::string, Parameter>& out,
                        std::vector<std::string>& order) {
    for (const auto& child : section.children) {
        if (child.type == "parameter") {
            const TemplateAttribute* def = child.find("DefaultValue");
            Parameter p;
            p.line = child.line;
            if (def != nullptr) {
                p.value = def->literal ? TemplateValue(def->raw) : parse_literal(def->raw);
            }
            out[child.name] = std::move(p);
            order.push_back(child.name);
        } else {
            collect_parameters(child, out, order);
        }
    }
}

class Resolver {
  public:
    Resolver(const ClusterTemplate& tmpl, std::string cluster_name)
        : m_tmpl(tmpl), m_cluster_name(std::move(cluster_name)) {}

    Result<ClusterDefinition> run(const std::vector<ParameterOverride>& overrides) {
        const TemplateSection* cluster = nullptr;
        for (const auto& s : m_tmpl.sections) {
            if (s.type == "cluster") {
                cluster = &s;
            } else {
                collect_parameters(s, m_parameters, m_parameter_order);
            }
        }
        if (cluster == nullptr) {
            return make_error(ErrorKind::k_config, m_tmpl.source + ": no [cluster NAME] section");
        }
        if (Status st = apply_overrides(overrides); !st) {
            return std::move(st).error();
        }
        ClusterDefinition def;
        def.template_name = cluster->name;
        def.name = m_cluster_name.empty() ? cluster->name : m_cluster_name;
        m_cluster_name = def.name;

        auto cluster_attrs = evaluate_attributes(*cluster);
        if (!cluster_attrs) {
            return std::move(cluster_attrs).error();
        }
        for (const char* key : {"MaxCount", "MaxCoreCount"}) {
            auto limit = whole_number(*cluster_attrs, *cluster, key, 0);
            if (!limit) {
                return std::move(limit).error();
            }
            (std::string_view(key) == "MaxCount" ? def.max_count : def.max_core_count) = *limit;
        }

        for (const auto& child : cluster->children) {
            m_nodes[child.name] = &child;
        }
        for (const auto& child : cluster->children) {
            // Every section is checked, even those the emulator does not model, so a typo in
            // a $reference shows up here and not in CycleCloud.
            if (Status st = check_references(child); !st) {
                return std::move(st).error();
            }
        }
        for (const auto& child : cluster->children) {
            if (child.type != "nodearray") {
                continue;
            }
            auto array = resolve_array(child);
            if (!array) {
                return std::move(array).error();
            }
            def.node_arrays.push_back(std::move(*array));
        }
        for (const auto& name : m_parameter_order) {
            def.parameters.push_back({name, m_parameters[name].value});
        }
        return def;
    }

  private:
    Error error_at(int line, const std::string& message) const {
        return make_error(ErrorKind::k_config,
                          fmt::format("{}:{}: {}", m_tmpl.source, line, message));
    }

    Status apply_overrides(const std::vector<ParameterOverride>& overrides) {
        for (const auto& o : overrides) {
            auto it = m_parameters.find(o.name);
            if (it == m_parameters.end()) {
                std::string message =
                    fmt::format("-p {}: {} has no parameter {}", o.name, m_tmpl.source, o.name);
                const std::string guess = closest_match(o.name, m_parameter_order);
                if (!guess.empty()) {
                    message += fmt::format(" (did you mean {}?)", guess);
                }
                return make_error(ErrorKind::k_usage, message);
            }
            it->second.value = parse_literal(o.value);
        }
        return ok_status();
    }

    std::optional<TemplateValue> lookup(std::string_view name) const {
        if (name == "ClusterName") {
            return TemplateValue(m_cluster_name);
        }
        const auto it = m_parameters.find(std::string(name));
        if (it == m_parameters.end()) {
            return std::nullopt;
        }
        return it->second.value;
    }

    Result<TemplateValue> evaluate(const TemplateAttribute& attr) const {
        if (attr.literal) {
            const auto quoted = parse_literal(attr.raw);
            if (const auto* s = std::get_if<std::string>(&quoted)) {
                return TemplateValue(*s);
            }
            return TemplateValue(attr.raw);
        }
        const std::string_view raw = attr.raw;
        if (raw.size() >= 3 && raw.substr(0, 2) == "${" && raw.back() == '}') {
            auto value = evaluate_expression(raw.substr(2, raw.size() - 3),
                                             [this](std::string_view n) { return lookup(n); });
            if (!value) {
                return error_at(attr.line, fmt::format("in {}: {}", raw, value.error().message));
            }
            return value;
        }
        if (raw.size() > 1 && raw.front() == '$' && valid_key(raw.substr(1))) {
            if (auto value = lookup(raw.substr(1))) {
                return *value;
            }
            std::string message = fmt::format("unknown parameter {}", raw);
            const std::string guess = closest_match(raw.substr(1), m_parameter_order);
            if (!guess.empty()) {
                message += fmt::format(" (did you mean ${}?)", guess);
            }
            return error_at(attr.line, message);
        }
        return parse_literal(raw);
    }

    // The section's own attributes, evaluated; undefined values are kept (they unset
    // inherited ones).
    Result<std::map<std::string, std::pair<TemplateValue, int>>> evaluate_attributes(
        const TemplateSection& section) const {
        std::map<std::string, std::pair<TemplateValue, int>> out;
        for (const auto& attr : section.attributes) {
            auto value = evaluate(attr);
            if (!value) {
                return std::move(value).error();
            }
            out[attr.key] = {std::move(*value), attr.line};
        }
        return out;
    }

    Status check_references(const TemplateSection& section) const {
        for (const auto& attr : section.attributes) {
            if (auto value = evaluate(attr); !value) {
                return std::move(value).error();
            }
        }
        for (const auto& child : section.children) {
            if (Status st = check_references(child); !st) {
                return st;
            }
        }
        return ok_status();
    }

    using Values = std::map<std::string, std::pair<TemplateValue, int>>;

    Result<std::optional<std::int64_t>> whole_number(const Values& values,
                                                     const TemplateSection& section,
                                                     const std::string& key,
                                                     std::int64_t minimum) const {
        const auto it = values.find(key);
        if (it == values.end() || is_undefined(it->second.first)) {
            return std::optional<std::int64_t>();
        }
        const auto* n = std::get_if<std::int64_t>(&it->second.first);
        if (n == nullptr || *n < minimum) {
            return error_at(it->second.second,
                            fmt::format("{} of {} {} must be a whole number{}, not '{}'", key,
                                        section.type, section.name, minimum > 0 ? " above 0" : "",
                                        to_text(it->second.first)));
        }
        return std::optional<std::int64_t>(*n);
    }

    // Applies `section` (and what it extends) on top of `attrs` / `config`, base first.
    Status merge(const TemplateSection& section, Values& attrs, Values& config,
                 std::vector<std::string>& chain) const {
        if (std::find(chain.begin(), chain.end(), section.name) != chain.end()) {
            return error_at(section.line,
                            fmt::format("{} {} extends itself (through {})", section.type,
                                        section.name, fmt::join(chain, " -> ")));
        }
        chain.push_back(section.name);
        if (const TemplateAttribute* extends = section.find("Extends")) {
            auto base_name = evaluate(*extends);
            if (!base_name) {
                return std::move(base_name).error();
            }
            const std::string base = to_text(*base_name);
            const auto it = m_nodes.find(base);
            if (it == m_nodes.end() || it->second->type != "node") {
                return error_at(extends->line, fmt::format("{} {} extends {}, which is not a "
                                                           "[[node]] in this cluster",
                                                           section.type, section.name, base));
            }
            if (Status st = merge(*it->second, attrs, config, chain); !st) {
                return st;
            }
        }
        auto own = evaluate_attributes(section);
        if (!own) {
            return std::move(own).error();
        }
        for (auto& [key, value] : *own) {
            attrs[key] = std::move(value);
        }
        for (const auto& child : section.children) {
            if (child.type != "configuration") {
                continue;
            }
            auto values = evaluate_attributes(child);
            if (!values) {
                return std::move(values).error();
            }
            const std::string prefix = child.name.empty() ? "" : child.name + ".";
            for (auto& [key, value] : *values) {
                config[prefix + key] = std::move(value);
            }
        }
        return ok_status();
    }

    Result<NodeArrayDefinition> resolve_array(const TemplateSection& section) const {
        Values attrs;
        Values config;
        std::vector<std::string> chain;
        if (const auto it = m_nodes.find("defaults"); it != m_nodes.end()) {
            if (Status st = merge(*it->second, attrs, config, chain); !st) {
                return std::move(st).error();
            }
        }
        if (Status st = merge(section, attrs, config, chain); !st) {
            return std::move(st).error();
        }
        NodeArrayDefinition array;
        array.name = section.name;
        auto text_of = [&](const std::string& key) -> std::string {
            const auto it = attrs.find(key);
            return it == attrs.end() ? "" : to_text(it->second.first);
        };
        const std::string machine_types = text_of("MachineType");
        std::size_t start = 0;
        while (start <= machine_types.size()) {
            const std::size_t comma = machine_types.find(',', start);
            const std::string_view one = trim(
                std::string_view(machine_types)
                    .substr(start, comma == std::string::npos ? std::string::npos : comma - start));
            if (!one.empty()) {
                array.machine_types.emplace_back(one);
            }
            if (comma == std::string::npos) {
                break;
            }
            start = comma + 1;
        }
        if (array.machine_types.empty()) {
            return error_at(section.line,
                            fmt::format("nodearray {} has no MachineType", section.name));
        }
        auto max_count = whole_number(attrs, section, "MaxCount", 0);
        auto max_cores = whole_number(attrs, section, "MaxCoreCount", 0);
        auto scaleset = whole_number(attrs, section, "Azure.MaxScalesetSize", 1);
        for (auto* r : {&max_count, &max_cores, &scaleset}) {
            if (!*r) {
                return std::move(*r).error();
            }
        }
        array.max_count = *max_count;
        array.max_core_count = *max_cores;
        array.max_scaleset_size = scaleset->value_or(100);
        if (const auto it = attrs.find("Interruptible"); it != attrs.end()) {
            const auto* b = std::get_if<bool>(&it->second.first);
            if (b == nullptr && !is_undefined(it->second.first)) {
                return error_at(it->second.second,
                                fmt::format("Interruptible of nodearray {} must be true or "
                                            "false, not '{}'",
                                            section.name, to_text(it->second.first)));
            }
            array.interruptible = b != nullptr && *b;
        }
        if (const auto it = attrs.find("ShutdownPolicy"); it != attrs.end()) {
            const std::string policy = to_text(it->second.first);
            if (iequals(policy, "Deallocate")) {
                array.shutdown_policy = ShutdownPolicy::k_deallocate;
            } else if (!iequals(policy, "Terminate") && !policy.empty()) {
                return error_at(it->second.second,
                                fmt::format("ShutdownPolicy of nodearray {} must be Terminate "
                                            "or Deallocate, not '{}'",
                                            section.name, policy));
            }
        }
        array.region = text_of("Region");
        if (array.region.empty()) {
            array.region = "eastus";
        }
        array.placement_group_id = text_of("PlacementGroupId");
        for (auto& [key, value] : attrs) {
            if (key != "Extends" && key != "Abstract" && !is_undefined(value.first)) {
                array.attributes.push_back({key, value.first});
            }
        }
        for (auto& [key, value] : config) {
            if (!is_undefined(value.first)) {
                array.configuration.push_back({key, value.first});
            }
        }
        return array;
    }

    const ClusterTemplate& m_tmpl;
    std::string m_cluster_name;
    std::map<std::string, Parameter> m_parameters;
    std::vector<std::string> m_parameter_order;
    std::map<std::string, const TemplateSection*> m_nodes;
};

}  // namespace

const TemplateAttribute* TemplateSection::find(std::string_view key) const {
    const auto it = std::find_if(attributes.begin(), attributes.end(),
                                 [&](const TemplateAttribute& a) { return a.key == key; });
    return it == attributes.end() ? nullptr : &*it;
}

Result<ClusterTemplate> ClusterTemplate::parse(std::string_view text, std::string_view source) {
    return Parser(text, std::string(source)).run();
}

Result<ClusterTemplate> ClusterTemplate::load(const std::string& path) {
    auto text = read_file(path);
    if (!text) {
        return std::move(text).error().with_context("reading the cluster template");
    }
    const auto slash = path.rfind('/');
    return parse(*text, slash == std::string::npos ? path : path.substr(slash + 1));
}

Result<ParameterOverride> parse_parameter_override(std::string_view text) {
    const auto eq = text.find('=');
    if (eq == std::string_view::npos || trim(text.substr(0, eq)).empty()) {
        return make_error(ErrorKind::k_usage, fmt::format("-p {}: expected NAME=VALUE (e.g. -p "
                                                          "HPCMachineType=Standard_HB120rs_v3)",
                                                          text));
    }
    return ParameterOverride{std::string(trim(text.substr(0, eq))),
                             std::string(text.substr(eq + 1))};
}

std::string_view to_string(ShutdownPolicy policy) {
    return policy == ShutdownPolicy::k_deallocate ? "Deallocate" : "Terminate";
}

Result<ClusterDefinition> resolve_cluster(const ClusterTemplate& tmpl,
                                          const std::vector<ParameterOverride>& overrides,
                                          const std::string& cluster_name) {
    return Resolver(tmpl, cluster_name).run(overrides);
}

}  // namespace cb::emulator
