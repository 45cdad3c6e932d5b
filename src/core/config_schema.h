// The configuration schema: one row per key (dotted name, type, default, description,
// secrecy, rules, and how to read and write it in the model). The loader, `config show` and
// docs/configuration.md are all driven by these tables, so a key cannot be parsed without
// being documented, or documented with a default it does not have.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/config.h"
#include "util/result.h"

namespace cb {

// A setting's value, whatever its type. std::monostate: not set (optional keys).
using ConfigValue = std::variant<std::monostate, bool, std::int64_t, double, std::string, Duration,
                                 std::vector<std::string>>;

enum class ValueType {
    k_string,
    k_boolean,
    k_integer,      // within limits
    k_number,       // an integer or a float, within limits
    k_duration,     // a string such as "15s" or "1h30m", within limits (in milliseconds)
    k_path,         // an absolute path
    k_url,          // http:// or https://, without credentials
    k_choice,       // one of `choices`
    k_string_list,  // an array of strings
};

enum class Presence {
    k_required,   // must be set (or its alternative, when it has one)
    k_defaulted,  // has a default value
    k_optional,   // may be left unset
};

enum class Secrecy { k_plain, k_secret };

// The type of a value as written in TOML, before the schema interprets it.
enum class TomlType {
    k_string,
    k_integer,
    k_float,
    k_boolean,
    k_array,
    k_table,
    k_date,
    k_time,
    k_date_time,
};

// "a string", "an integer", "a floating-point number", ... (for "..., not a string").
std::string_view describe(TomlType type);

struct TomlValue {
    TomlType type = TomlType::k_string;
    // bool, std::int64_t, double or std::string as written; for an array whose items are all
    // strings, the items. std::monostate for anything else.
    ConfigValue value;
    std::size_t bad_item = 0;  // arrays: 1-based index of the first item that is not a string
    TomlType bad_item_type = TomlType::k_string;
};

struct Limits {
    std::int64_t min = 0;
    std::int64_t max = 0;  // integers and numbers: the value; durations: milliseconds
};

// An extra rule for a value of the right type: returns what is wrong ("must not be empty")
// or an empty string.
using ExtraCheck = std::string (*)(const ConfigValue& value);

template <typename Target>
struct Accessor {
    ConfigValue (*get)(const Target&);
    void (*set)(Target&, const ConfigValue&);  // the value has passed interpret()
};

// One key. Target is Config for the fixed sections, NodeArrayConfig for [nodearrays.<name>].
template <typename Target>
struct KeySpec {
    std::string_view section;  // "cyclecloud"; node array keys: "nodearrays.<name>"
    std::string_view key;      // "url"
    ValueType type;
    Presence presence;
    std::string_view description;  // one sentence or two, for the docs
    Accessor<Target> access;
    Limits limits{};
    std::span<const std::string_view> choices{};
    ExtraCheck check = nullptr;
    Secrecy secrecy = Secrecy::k_plain;
    // A key of the same section that replaces this one: exactly one of the two may be set.
    std::string_view alternative{};
    // The default in words when it is not a fixed value ("the node array's name").
    std::string_view default_note{};
    // Fills in the default from other settings when the key is absent (runs after every key
    // given in the file is set).
    void (*derive)(Target&, const Config&) = nullptr;
};

// The keys of the fixed sections, in documentation order (sections appear in the order of
// config_sections()).
std::span<const KeySpec<Config>> config_keys();
// The keys of a [nodearrays.<name>] section.
std::span<const KeySpec<NodeArrayConfig>> node_array_keys();
// "cyclecloud", "slurm", "paths", "daemon", "backoff" (not "nodearrays").
std::span<const std::string_view> config_sections();
constexpr std::string_view k_node_arrays_section = "nodearrays";

// Converts a value as written into the key's type and applies its rules. The error message
// (kind k_config) is what follows the quoted key name, e.g. "must be a boolean (true or false),
// not a string". Values of secret keys are never quoted in it.
template <typename Target>
Result<ConfigValue> interpret(const KeySpec<Target>& spec, const TomlValue& value);

// True when the key has a value in `target` (a secret key whose alternative is set counts as
// unset: its value was read from the alternative, not written in the file).
template <typename Target>
bool is_set(const KeySpec<Target>& spec, const Target& target);

// The documentation of the key's type, e.g. "duration, 1s to 1h".
template <typename Target>
std::string describe_type(const KeySpec<Target>& spec);

// The documented default, e.g. `"15s"`, "required", "the node array's name".
template <typename Target>
std::string describe_default(const KeySpec<Target>& spec);

// The default settings of a node array the file does not mention.
NodeArrayConfig default_node_array(const Config& config, std::string_view name);

// Node array names: letters, digits, '-' and '_'. Returns the problem or "".
std::string check_node_array_name(std::string_view name);

// Durations as written in the file: whole numbers with the units h, m, s and ms, largest
// first, each at most once ("1h30m", "15s", "500ms"). The error is the problem text.
Result<Duration> parse_duration(std::string_view text);
// The shortest text parse_duration reads back as `duration` ("1h30m"; "0s" for zero).
std::string format_duration(Duration duration);

// A value as a TOML literal: "text" (escaped), true, 42, 2.0, "15s", ["a", "b"].
std::string toml_literal(const ConfigValue& value);
// A string quoted as in TOML, shortened to about 60 bytes for error messages.
std::string quote_for_message(std::string_view text);

}  // namespace cb
