// The only file that includes toml++. It turns the TOML document into TomlValues for the
// schema (config_schema.h), collects every problem with its position, and keeps toml++'s
// exceptions inside.
#include "core/config_loader.h"

#include <sys/stat.h>
#include <toml++/toml.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <exception>
#include <map>
#include <set>
#include <utility>
#include <vector>

#include "core/config_schema.h"
#include "util/log.h"
#include "util/spelling.h"

namespace cb {

namespace {

constexpr std::size_t k_max_config_bytes = std::size_t{1} << 20;
constexpr std::size_t k_max_password_bytes = 4096;

struct Position {
    std::uint32_t line = 0;  // 0: the problem has no place in the file (a missing key)
    std::uint32_t column = 0;
};

Position position_of(const toml::source_region& region) {
    return {region.begin.line, region.begin.column};
}

// Collects problems and turns them into one Error, in file order.
class Problems {
  public:
    explicit Problems(std::string_view source) : m_source(source) {}

    void add(Position at, std::string text) { m_items.push_back({at, std::move(text)}); }
    bool empty() const { return m_items.empty(); }

    Error error() const {
        auto items = m_items;
        std::stable_sort(items.begin(), items.end(), [](const Item& a, const Item& b) {
            // Problems with a line first, by line; those without (missing keys) last.
            const auto key = [](const Item& i) {
                return std::pair(i.at.line == 0 ? UINT32_MAX : i.at.line, i.at.column);
            };
            return key(a) < key(b);
        });
        std::string message;
        for (const auto& item : items) {
            if (!message.empty()) {
                message += '\n';
            }
            message += m_source;
            if (item.at.line != 0) {
                message += ':' + std::to_string(item.at.line);
            }
            message += ": " + item.text;
        }
        return make_error(ErrorKind::k_config, std::move(message));
    }

  private:
    struct Item {
        Position at;
        std::string text;
    };
    std::string m_source;
    std::vector<Item> m_items;
};

// A name from the file, as it appears in messages: bare if it could be a bare TOML key,
// quoted otherwise (so odd bytes cannot garble the message).
std::string key_text(std::string_view name) {
    const bool bare = !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '-';
    });
    return bare ? std::string(name) : quote_for_message(name);
}

std::string quoted_key(std::string_view dotted) {
    // Appended, not "'" + std::string(...): GCC 12 -O3 reports a false -Wrestrict.
    std::string out = "'";
    return out.append(dotted).append("'");
}

TomlType toml_type(toml::node_type type) {
    switch (type) {
        case toml::node_type::string:
            return TomlType::k_string;
        case toml::node_type::integer:
            return TomlType::k_integer;
        case toml::node_type::floating_point:
            return TomlType::k_float;
        case toml::node_type::boolean:
            return TomlType::k_boolean;
        case toml::node_type::array:
            return TomlType::k_array;
        case toml::node_type::date:
            return TomlType::k_date;
        case toml::node_type::time:
            return TomlType::k_time;
        case toml::node_type::date_time:
            return TomlType::k_date_time;
        case toml::node_type::table:
        case toml::node_type::none:
            break;
    }
    return TomlType::k_table;
}

TomlValue to_toml_value(const toml::node& node) {
    TomlValue out;
    out.type = toml_type(node.type());
    if (const auto* s = node.as_string()) {
        out.value = s->get();
    } else if (const auto* i = node.as_integer()) {
        out.value = i->get();
    } else if (const auto* f = node.as_floating_point()) {
        out.value = f->get();
    } else if (const auto* b = node.as_boolean()) {
        out.value = b->get();
    } else if (const auto* array = node.as_array()) {
        std::vector<std::string> items;
        for (std::size_t n = 0; n < array->size(); ++n) {
            const auto* item = (*array)[n].as_string();
            if (item == nullptr) {
                out.bad_item = n + 1;
                out.bad_item_type = toml_type((*array)[n].type());
                return out;
            }
            items.push_back(item->get());
        }
        out.value = std::move(items);
    }
    return out;
}

template <typename Target>
const KeySpec<Target>* find_key(std::span<const KeySpec<Target>> keys, std::string_view section,
                                std::string_view key) {
    for (const auto& spec : keys) {
        if (spec.section == section && spec.key == key) {
            return &spec;
        }
    }
    return nullptr;
}

bool is_section(std::string_view name) {
    const auto sections = config_sections();
    return std::find(sections.begin(), sections.end(), name) != sections.end();
}

// " (did you mean 'x'?)" or "".
std::string suggestion(const std::string& guess) {
    return guess.empty() ? "" : " (did you mean '" + guess + "'?)";
}

// Walks the document, setting keys and collecting problems.
class ConfigReader {
  public:
    explicit ConfigReader(std::string_view source) : m_problems(source) {}

    Result<Config> read(const toml::table& root) {
        for (auto&& [key, node] : root) {
            const Position at = position_of(key.source());
            if (key.str() == k_node_arrays_section) {
                read_node_arrays(node, at);
            } else if (is_section(key.str())) {
                read_section(key.str(), node, at);
            } else {
                unknown_top_level(key.str(), node, at);
            }
        }
        check_required();
        check_combinations();
        fill_derived_defaults();
        check_partition_budgets();
        if (!m_problems.empty()) {
            return m_problems.error();
        }
        return std::move(m_config);
    }

  private:
    struct GivenArray {
        NodeArrayConfig settings;
        std::set<std::string_view> keys;          // the keys the file sets
        std::map<std::string_view, Position> at;  // where it sets them
    };

    void read_section(std::string_view section, const toml::node& node, Position at) {
        const auto* table = node.as_table();
        if (table == nullptr) {
            m_problems.add(at, quoted_key(section) + " must be a table ([" + std::string(section) +
                                   "]), not " + std::string(describe(toml_type(node.type()))));
            return;
        }
        for (auto&& [key, value] : *table) {
            const std::string dotted = std::string(section) + "." + key_text(key.str());
            const auto* spec = find_key(config_keys(), section, key.str());
            if (spec == nullptr) {
                m_problems.add(position_of(key.source()),
                               "unknown key " + quoted_key(dotted) +
                                   suggestion(guess_key(section, key.str())));
                continue;
            }
            m_given.emplace(dotted, position_of(key.source()));
            auto interpreted = interpret(*spec, to_toml_value(value));
            if (!interpreted) {
                m_problems.add(position_of(value.source()),
                               quoted_key(dotted) + " " + interpreted.error().message);
                continue;
            }
            spec->access.set(m_config, *interpreted);
        }
    }

    void read_node_arrays(const toml::node& node, Position at) {
        const auto* table = node.as_table();
        if (table == nullptr) {
            m_problems.add(at,
                           "'nodearrays' must be a table of node arrays, such as "
                           "[nodearrays.hpc], not " +
                               std::string(describe(toml_type(node.type()))));
            return;
        }
        for (auto&& [key, value] : *table) {
            const Position key_at = position_of(key.source());
            if (auto bad = check_node_array_name(key.str()); !bad.empty()) {
                m_problems.add(key_at, bad);
                continue;
            }
            const std::string section = "nodearrays." + std::string(key.str());
            const auto* array_table = value.as_table();
            if (array_table == nullptr) {
                m_problems.add(key_at, quoted_key(section) + " must be a table ([" + section +
                                           "]) of settings for node array '" +
                                           std::string(key.str()) + "', not " +
                                           std::string(describe(toml_type(value.type()))));
                continue;
            }
            read_node_array(std::string(key.str()), section, *array_table);
        }
    }

    void read_node_array(std::string name, const std::string& section, const toml::table& table) {
        GivenArray array;
        array.settings.name = std::move(name);
        for (auto&& [key, value] : table) {
            const std::string dotted = section + "." + key_text(key.str());
            const auto* spec = find_key(node_array_keys(), "nodearrays.<name>", key.str());
            if (spec == nullptr) {
                std::vector<std::string> names;
                for (const auto& candidate : node_array_keys()) {
                    names.emplace_back(candidate.key);
                }
                std::string guess = closest_match(key.str(), names);
                if (!guess.empty()) {
                    guess.insert(0, section + ".");
                }
                m_problems.add(position_of(key.source()),
                               "unknown key " + quoted_key(dotted) + suggestion(guess));
                continue;
            }
            auto interpreted = interpret(*spec, to_toml_value(value));
            if (!interpreted) {
                m_problems.add(position_of(value.source()),
                               quoted_key(dotted) + " " + interpreted.error().message);
                continue;
            }
            spec->access.set(array.settings, *interpreted);
            array.keys.insert(spec->key);
            array.at.emplace(spec->key, position_of(key.source()));
        }
        m_arrays.push_back(std::move(array));
    }

    void unknown_top_level(std::string_view name, const toml::node& node, Position at) {
        if (node.is_table()) {
            std::vector<std::string> sections(config_sections().begin(), config_sections().end());
            sections.emplace_back(k_node_arrays_section);
            m_problems.add(at, "unknown section " + quoted_key(key_text(name)) +
                                   suggestion(closest_match(name, sections)));
            return;
        }
        // A key outside any section: suggest the section that has a key of that name.
        std::string guess;
        for (const auto& spec : config_keys()) {
            if (spec.key == name) {
                guess = std::string(spec.section) + "." + std::string(spec.key);
                break;
            }
        }
        m_problems.add(at, "unknown key " + quoted_key(key_text(name)) + suggestion(guess));
    }

    // The closest key of the same section, else a key of that exact name in another one.
    static std::string guess_key(std::string_view section, std::string_view key) {
        std::vector<std::string> same_section;
        for (const auto& spec : config_keys()) {
            if (spec.section == section) {
                same_section.emplace_back(spec.key);
            }
        }
        if (auto guess = closest_match(key, same_section); !guess.empty()) {
            return std::string(section) + "." + guess;
        }
        for (const auto& spec : config_keys()) {
            if (spec.key == key) {
                return std::string(spec.section) + "." + std::string(spec.key);
            }
        }
        return "";
    }

    static std::string dotted_name(const KeySpec<Config>& spec, std::string_view key) {
        return std::string(spec.section) + "." + std::string(key);
    }

    std::optional<Position> given(const std::string& dotted) const {
        const auto it = m_given.find(dotted);
        return it == m_given.end() ? std::nullopt : std::optional(it->second);
    }

    void check_required() {
        for (const auto& spec : config_keys()) {
            if (spec.presence != Presence::k_required) {
                continue;
            }
            const std::string name = dotted_name(spec, spec.key);
            if (spec.alternative.empty()) {
                if (!given(name)) {
                    m_problems.add({}, "missing required key " + quoted_key(name));
                }
                continue;
            }
            // A pair of which exactly one must be set; reported once, by its first key.
            if (spec.key > spec.alternative) {
                continue;
            }
            const std::string other = dotted_name(spec, spec.alternative);
            const auto mine = given(name);
            const auto theirs = given(other);
            if (!mine && !theirs) {
                m_problems.add(
                    {}, "missing required key " + quoted_key(name) + " or " + quoted_key(other));
            } else if (mine && theirs) {
                m_problems.add(std::max(*mine, *theirs,
                                        [](Position a, Position b) { return a.line < b.line; }),
                               quoted_key(name) + " and " + quoted_key(other) +
                                   " are both set; keep only one of them");
            }
        }
    }

    // Rules that involve two keys.
    void check_combinations() {
        const auto& cc = m_config.cyclecloud;
        if (auto at = given("cyclecloud.ca_bundle"); at && !cc.verify_tls) {
            m_problems.add(*at,
                           "'cyclecloud.ca_bundle' is set but 'cyclecloud.verify_tls' is "
                           "false; remove one of them");
        }
        if (auto at = given("cyclecloud.tls_pin"); at && !cc.verify_tls) {
            m_problems.add(*at,
                           "'cyclecloud.tls_pin' is set but 'cyclecloud.verify_tls' is false; "
                           "the pin is a way to verify: remove verify_tls");
        }
        if (auto pin = given("cyclecloud.tls_pin"), ca = given("cyclecloud.ca_bundle"); pin && ca) {
            m_problems.add(
                std::max(*pin, *ca, [](Position a, Position b) { return a.line < b.line; }),
                "'cyclecloud.tls_pin' and 'cyclecloud.ca_bundle' are both set; the "
                "pinned key replaces the CA: keep only one of them");
        }
        if (auto refusal = cleartext_url_refusal(cc); !refusal.empty()) {
            m_problems.add(given("cyclecloud.url").value_or(Position{}),
                           "'cyclecloud.url' " + refusal);
        }
        for (const auto& array : m_arrays) {
            if (const auto b = array.at.find("monthly_budget");
                b != array.at.end() && m_config.cost.prices.empty()) {
                m_problems.add(b->second, "'nodearrays." + array.settings.name +
                                              ".monthly_budget' needs prices: set "
                                              "'cost.prices' to the price file (docs/cost.md)");
            }
        }
        const auto& backoff = m_config.backoff;
        if (backoff.initial > backoff.max) {
            const auto at =
                given("backoff.initial").value_or(given("backoff.max").value_or(Position{}));
            m_problems.add(at, "'backoff.initial' (" + format_duration(backoff.initial) +
                                   ") is longer than 'backoff.max' (" +
                                   format_duration(backoff.max) + ")");
        }
    }

    void fill_derived_defaults() {
        for (const auto& spec : config_keys()) {
            if (spec.derive != nullptr && !given(dotted_name(spec, spec.key))) {
                spec.derive(m_config, m_config);
            }
        }
        for (auto& array : m_arrays) {
            for (const auto& spec : node_array_keys()) {
                if (spec.derive != nullptr && !array.keys.contains(spec.key)) {
                    spec.derive(array.settings, m_config);
                }
            }
            m_config.node_arrays.push_back(std::move(array.settings));
        }
    }

    // Each partition budget's partition is that of a node array the file names: a node array
    // without a section is only known once CycleCloud lists it, and a misspelt partition would
    // otherwise be a budget that never counts anything.
    void check_partition_budgets() {
        const auto at = given("cost.partition_budgets");
        if (!at || m_config.cost.partition_budgets.empty()) {
            return;
        }
        if (m_config.cost.prices.empty()) {
            m_problems.add(*at,
                           "'cost.partition_budgets' needs prices: set 'cost.prices' to the price "
                           "file (docs/cost.md)");
        }
        std::set<std::string> partitions;
        for (const auto& array : m_config.node_arrays) {
            partitions.insert(array.partition);
        }
        const auto& items = m_config.cost.partition_budgets;
        for (std::size_t i = 0; i < items.size(); ++i) {
            const auto budget = parse_partition_budget(items[i]);
            if (!budget || partitions.contains(budget->partition)) {
                continue;  // a malformed item is reported by the key's own check
            }
            std::string known;
            for (const auto& p : partitions) {
                known += (known.empty() ? "" : ", ") + p;
            }
            m_problems.add(*at,
                           "'cost.partition_budgets' item " + std::to_string(i + 1) +
                               " names partition " + quote_for_message(budget->partition) +
                               ", which no node array in this file has (" +
                               (known.empty() ? "it names none" : "their partitions: " + known) +
                               "); set 'nodearrays.<name>.partition' or add a "
                               "[nodearrays.<name>] section for the array");
        }
    }

    Config m_config;
    Problems m_problems;
    std::map<std::string, Position> m_given;  // dotted names of fixed-section keys in the file
    std::vector<GivenArray> m_arrays;
};

bool mentions_password(std::string_view text) {
    std::string lower(text);
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return lower.find("password") != std::string::npos;
}

// The lines of the statement that contains line `line` (1-based): back to the nearest line
// that starts a statement (has an '=', or starts with '[') in case `line` continues a
// multi-line value, then on to `line`.
std::string_view statement_text(std::string_view text, std::uint32_t line) {
    std::vector<std::size_t> starts{0};
    for (std::size_t i = 0; i < text.size() && starts.size() <= line; ++i) {
        if (text[i] == '\n') {
            starts.push_back(i + 1);
        }
    }
    if (line == 0 || line > starts.size()) {
        return text;
    }
    const std::size_t end = line < starts.size() ? starts[line] : text.size();
    const auto line_text = [&](std::size_t index) {
        const auto rest = text.substr(starts[index], end - starts[index]);
        return rest.substr(0, rest.find('\n'));
    };
    std::size_t first = line - 1;
    while (first > 0) {
        const auto current = line_text(first);
        const auto content =
            current.substr(std::min(current.find_first_not_of(" \t"), current.size()));
        if (current.find('=') != std::string_view::npos || content.starts_with('[')) {
            break;
        }
        --first;
    }
    return text.substr(starts[first], end - starts[first]);
}

// toml++ quotes some of what it saw ("saw 'x'", "'123...' is not representable"), which in a
// password's value would print part of the password. Such a description is replaced when the
// statement it is about mentions a password. Key names ("cannot redefine existing string
// 'x'") are safe.
Error syntax_error(std::string_view text, std::string_view source, std::uint32_t line,
                   std::uint32_t column, std::string_view description) {
    std::string where =
        std::string(source) + ":" + std::to_string(line) + ":" + std::to_string(column) + ": ";
    const bool quotes_input = description.find('\'') != std::string_view::npos &&
                              description.find("cannot redefine") == std::string_view::npos;
    if (quotes_input && mentions_password(statement_text(text, line))) {
        return make_error(ErrorKind::k_config,
                          where +
                              "TOML syntax error in the value of a password (the details "
                              "are not shown, to keep the password secret); write it as "
                              "password = \"...\"");
    }
    return make_error(ErrorKind::k_config, where + std::string(description));
}

Result<Config> parse_document(std::string_view text, std::string_view source) {
#if TOML_EXCEPTIONS
    try {
        const toml::table root = toml::parse(text, source);
        return ConfigReader(source).read(root);
    } catch (const toml::parse_error& e) {
        const auto at = e.source().begin;
        return syntax_error(text, source, at.line, at.column, e.description());
    }
#else
    const auto parsed = toml::parse(text, source);
    if (!parsed) {
        const auto at = parsed.error().source().begin;
        return syntax_error(text, source, at.line, at.column, parsed.error().description());
    }
    return ConfigReader(source).read(parsed.table());
#endif
}

std::string octal_mode(mode_t mode) {
    std::string out = "0000";
    for (int i = 3; i >= 0; --i) {
        out[static_cast<std::size_t>(i)] = static_cast<char>('0' + (mode & 7));
        mode >>= 3;
    }
    return out;
}

// Who may have written a file that holds or directs the credentials: root, and for a process
// that is not root also its own user. Never a user named in the file itself: whoever writes
// the file could name themselves.
struct AllowedOwners {
    uid_t euid = 0;

    bool allows(uid_t uid) const { return uid == 0 || uid == euid; }
    std::string describe() const {
        return euid == 0 ? "root"
                         : "root or uid " + std::to_string(euid) + " (the user running this)";
    }
};

bool writable_by_others(mode_t mode) {
    return (mode & 022) != 0 && (mode & S_ISVTX) == 0;
}

// Whoever may change a directory on the path (or a link followed there) can swap the file.
void check_directories(const std::string& what, const FileSnapshot& file,
                       const AllowedOwners& owners, std::vector<std::string>& problems) {
    for (const auto& step : file.directories) {
        const bool link = S_ISLNK(step.mode);
        const std::string where =
            what + (link ? " is reached through the symbolic link " : " is in the directory ") +
            step.path + ", which";
        if (!owners.allows(step.owner)) {
            problems.push_back(where + " is owned by uid " + std::to_string(step.owner) +
                               ", not by " + owners.describe() +
                               (link ? "; name the file by its real path"
                                     : "; move the file to a directory that only root can "
                                       "change, such as /etc/cloudburst"));
        } else if (!link && writable_by_others(step.mode)) {
            problems.push_back(where + " is writable by other users (mode " +
                               octal_mode(step.mode & 07777) + "); run: chmod go-w " + step.path);
        }
    }
}

// `what` is how the file is named in the message ("/etc/x.toml", "password file /etc/pw").
void check_permissions(const std::string& path, const std::string& what, const FileSnapshot& file,
                       bool holds_password, const AllowedOwners& owners,
                       std::vector<std::string>& problems) {
    if (holds_password && (file.mode & 077) != 0) {
        problems.push_back(what + (what == path ? " contains a password but" : "") + " is mode " +
                           octal_mode(file.mode) + "; run: chmod 0600 " + path);
    } else if ((file.mode & 022) != 0) {
        problems.push_back(what + " is writable by other users (mode " + octal_mode(file.mode) +
                           "); run: chmod go-w " + path);
    }
    if (!owners.allows(file.owner)) {
        problems.push_back(what + " is owned by uid " + std::to_string(file.owner) + ", not by " +
                           owners.describe() + "; run: chown root " + path);
    }
    check_directories(what, file, owners, problems);
}

Error join(const std::vector<std::string>& problems) {
    std::string message;
    for (const auto& p : problems) {
        message += (message.empty() ? "" : "\n") + p;
    }
    return make_error(ErrorKind::k_config, std::move(message));
}

// The password as systemd hands it to the unit (LoadCredential=), if it does; the file's
// checks (owner, mode, no symlink) are read_systemd_credential's.
Result<std::optional<std::string>> read_password_credential(const ConfigFileAccess& files) {
    const auto path = files.credential_path(std::string(k_password_credential));
    if (!path) {
        return std::optional<std::string>();
    }
    auto file = files.read_credential(*path, k_max_password_bytes);
    if (!file) {
        return make_error(ErrorKind::k_config, file.error().message);
    }
    std::string password = std::move(file->content);
    while (!password.empty() && (password.back() == '\n' || password.back() == '\r')) {
        password.pop_back();
    }
    if (password.empty()) {
        return make_error(ErrorKind::k_config, "credential " + *path +
                                                   " is empty; write the CycleCloud password "
                                                   "into the file its LoadCredential= names");
    }
    return std::optional<std::string>(std::move(password));
}

Status read_password_file(Config& config, const std::string& config_path,
                          const AllowedOwners& owners, const ConfigFileAccess& files) {
    auto credential = read_password_credential(files);
    if (!credential) {
        return std::move(credential).error();
    }
    if (*credential) {
        config.cyclecloud.password = std::move(**credential);
        return ok_status();
    }
    const std::string& path = config.cyclecloud.password_file;
    auto file = files.read(path, k_max_password_bytes);
    if (!file) {
        const uid_t euid = files.effective_uid();
        if (euid != 0 && file.error().message.ends_with(": Permission denied")) {
            // The root-only file is the source systemd copies for cloudburstd, which runs as
            // SlurmUser; read directly, it is root's alone.
            return make_error(ErrorKind::k_config,
                              "cannot read the password file " + path + " as uid " +
                                  std::to_string(euid) +
                                  " (it is root's alone): run cloudburstd under its systemd "
                                  "unit, which hands it the password as a credential "
                                  "(LoadCredential=" +
                                  std::string(k_password_credential) + ":" + path +
                                  "), or run this command as root");
        }
        return make_error(ErrorKind::k_config, file.error().message +
                                                   " (the password file named by "
                                                   "'cyclecloud.password_file' in " +
                                                   config_path + ")");
    }
    std::vector<std::string> problems;
    check_permissions(path, "password file " + path, *file, true, owners, problems);
    if (!problems.empty()) {
        return join(problems);
    }
    std::string password = std::move(file->content);
    while (!password.empty() && (password.back() == '\n' || password.back() == '\r')) {
        password.pop_back();
    }
    if (password.empty()) {
        return make_error(ErrorKind::k_config, "password file " + path +
                                                   " is empty; write the CycleCloud password "
                                                   "into it");
    }
    config.cyclecloud.password = std::move(password);
    return ok_status();
}

}  // namespace

Result<Config> parse_config(std::string_view text, std::string_view source_name) {
    try {
        return parse_document(text, source_name);
    } catch (const std::exception& e) {
        return make_error(ErrorKind::k_config,
                          std::string(source_name) + ": cannot parse: " + e.what());
    } catch (...) {
        return make_error(ErrorKind::k_config, std::string(source_name) + ": cannot parse");
    }
}

Result<std::string> read_trusted_config_text(const std::string& path,
                                             const ConfigFileAccess& files) {
    auto file = files.read(path, k_max_config_bytes);
    if (!file) {
        return make_error(file.error().kind == ErrorKind::k_not_found ? ErrorKind::k_not_found
                                                                      : ErrorKind::k_config,
                          file.error().message);
    }
    std::vector<std::string> problems;
    check_permissions(path, path, *file, false, AllowedOwners{files.effective_uid()}, problems);
    if (!problems.empty()) {
        return join(problems);
    }
    return std::move(file->content);
}

Result<std::string> read_prolog_chain(const std::string& path, const ConfigFileAccess& files) {
    auto text = read_trusted_config_text(path, files);
    if (!text) {
        return text.error();
    }
#if TOML_EXCEPTIONS
    try {
        const toml::table root = toml::parse(*text, path);
        return std::string(root["slurm"]["prolog_chain"].value_or(std::string_view()));
    } catch (const toml::parse_error&) {
        return std::string();
    }
#else
    const auto parsed = toml::parse(*text, path);
    if (!parsed) {
        return std::string();
    }
    return std::string(parsed.table()["slurm"]["prolog_chain"].value_or(std::string_view()));
#endif
}

Result<Config> load_config(const std::string& path, PasswordUse use,
                           const ConfigFileAccess& files) {
    auto file = files.read(path, k_max_config_bytes);
    if (!file) {
        return make_error(
            ErrorKind::k_config,
            file.error().message + " (pass --config or set CLOUDBURST_CONFIG to use another file)");
    }
    auto config = parse_config(file->content, path);
    if (!config) {
        return config;
    }
    const AllowedOwners owners{files.effective_uid()};
    const bool inline_password = config->cyclecloud.password_file.empty();
    std::vector<std::string> problems;
    check_permissions(path, path, *file, inline_password, owners, problems);
    if (!problems.empty()) {
        return join(problems);
    }
    if (!inline_password && use == PasswordUse::k_read) {
        if (auto read = read_password_file(*config, path, owners, files); !read) {
            return std::move(read).error();
        }
    }
    log::register_secret(config->cyclecloud.password);
    return config;
}

}  // namespace cb
