// CycleCloud cluster templates (the `cyclecloud import_template` format) and the cluster
// definition the emulator builds from one plus `-p NAME=VALUE` overrides.
//
// Syntax understood:
//   # comment                       whole-line comments
//   [cluster NAME]                  exactly one; holds [[node NAME]] / [[nodearray NAME]]
//   [[node defaults]]               inherited by every node and node array
//   [[node base]] Abstract = true   inherited through `Extends = base`
//   [[[configuration]]]             software configuration (slurm.* keys); a name
//   [[[configuration a.b]]]         prefixes every key with "a.b."
//   [[[cluster-init ...]]] [[[volume ...]]] [[[network-interface ...]]] [[[input-endpoint ...]]]
//                                   accepted and checked, not modelled
//   [parameters LABEL] [[parameters LABEL]] [[[parameter NAME]]] with DefaultValue = ...
//   Key = value                     value: literal, $Parameter or ${expression}
//   Key := value                    literal string, never substituted
//   Key = '''...'''                 a string that may span lines
// Errors name the file and line: "slurm-headless.txt:42: ...".
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "emulator/template_value.h"
#include "util/result.h"

namespace cb::emulator {

struct TemplateAttribute {
    std::string key;
    std::string raw;       // the text after = or := (triple-quoted: the inner text)
    bool literal = false;  // ":=" or a triple-quoted string: never substituted
    int line = 0;
};

struct TemplateSection {
    std::string type;  // "cluster", "node", "nodearray", "configuration", "parameter", ...
    std::string name;  // may be empty (e.g. [[[configuration]]])
    int line = 0;
    std::vector<TemplateAttribute> attributes;
    std::vector<TemplateSection> children;

    const TemplateAttribute* find(std::string_view key) const;
};

struct ClusterTemplate {
    std::string source;                     // shown in error messages (file name)
    std::vector<TemplateSection> sections;  // depth-1 sections in file order

    // Syntax only; $references are checked by resolve_cluster().
    static Result<ClusterTemplate> parse(std::string_view text, std::string_view source);
    // Reads `path` (k_io when unreadable); messages name its last path component.
    static Result<ClusterTemplate> load(const std::string& path);
};

// "NAME=VALUE" as given to -p. Errors (k_usage) for a missing '=' or empty name.
struct ParameterOverride {
    std::string name;
    std::string value;
};
Result<ParameterOverride> parse_parameter_override(std::string_view text);

enum class ShutdownPolicy { k_terminate, k_deallocate };
std::string_view to_string(ShutdownPolicy policy);  // "Terminate" / "Deallocate"

struct KeyValue {
    std::string key;
    TemplateValue value;
};

struct NodeArrayDefinition {
    std::string name;
    std::vector<std::string> machine_types;  // at least one; MachineType split at commas
    std::optional<std::int64_t> max_count;
    std::optional<std::int64_t> max_core_count;
    std::int64_t max_scaleset_size = 100;  // Azure.MaxScalesetSize
    bool interruptible = false;
    std::string region;
    std::string placement_group_id;  // PlacementGroupId attribute; empty: none
    ShutdownPolicy shutdown_policy = ShutdownPolicy::k_terminate;
    std::vector<KeyValue> attributes;     // every set attribute (inherited ones included)
    std::vector<KeyValue> configuration;  // dotted keys ("slurm.partition"), sorted
};

struct ClusterDefinition {
    std::string name;           // the cluster name served in URLs (ClusterName)
    std::string template_name;  // from [cluster NAME]
    std::optional<std::int64_t> max_count;
    std::optional<std::int64_t> max_core_count;
    std::vector<NodeArrayDefinition> node_arrays;  // template order; abstract nodes excluded
    std::vector<KeyValue> parameters;              // every parameter's effective value
};

// Substitutes parameters (defaults, then `overrides`), evaluates expressions, applies
// inheritance (defaults <- Extends chain <- array) and types the attributes the emulator
// needs. `cluster_name` empty: the template's name. Errors are k_config with file:line, or
// k_usage for an override naming no parameter ("did you mean ...").
Result<ClusterDefinition> resolve_cluster(const ClusterTemplate& tmpl,
                                          const std::vector<ParameterOverride>& overrides,
                                          const std::string& cluster_name);

}  // namespace cb::emulator
