#include "core/slurm_conf_edit.h"

#include <cctype>
#include <optional>
#include <utility>

#include "util/text.h"

namespace cb {

namespace {

bool is_space(char c) {
    return std::isspace(static_cast<unsigned char>(c)) != 0;
}

// Where the first `Key=value` of a line sits. Only the first token counts: on node and
// partition lines the later keys belong to that node or partition.
struct KeyValueSpan {
    std::string key;
    std::size_t value_begin = 0;
    std::size_t value_end = 0;  // before trailing blanks, a comment or the next key
};

std::optional<KeyValueSpan> first_key_value(const std::string& line) {
    std::size_t i = 0;
    while (i < line.size() && is_space(line[i])) {
        ++i;
    }
    if (i == line.size() || line[i] == '#') {
        return std::nullopt;
    }
    const std::size_t key_begin = i;
    while (i < line.size() && line[i] != '=' && !is_space(line[i]) && line[i] != '#') {
        ++i;
    }
    if (i == line.size() || line[i] != '=' || i == key_begin) {
        return std::nullopt;
    }
    KeyValueSpan span;
    span.key = line.substr(key_begin, i - key_begin);
    span.value_begin = i + 1;
    std::size_t end = span.value_begin;
    while (end < line.size() && !is_space(line[end]) && line[end] != '#') {
        ++end;
    }
    span.value_end = end;
    return span;
}

// The path of an `Include PATH` line, or nothing.
std::optional<std::string> include_target(const std::string& line) {
    const std::string_view t = trim(line);
    if (t.size() < 8 || !iequals(t.substr(0, 7), "include") || !is_space(t[7])) {
        return std::nullopt;
    }
    std::string_view rest = trim(t.substr(7));
    std::size_t end = 0;
    while (end < rest.size() && !is_space(rest[end]) && rest[end] != '#') {
        ++end;
    }
    return std::string(rest.substr(0, end));
}

std::string base_name(const std::string& path) {
    const auto slash = path.rfind('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string item_name(const std::string& item) {
    return to_lower(item.substr(0, item.find('=')));
}

// `current` with the items of `wanted` it lacks appended (by name, case-insensitively).
std::string merged_list(const std::string& current, const std::string& wanted) {
    std::vector<std::string> items = split_list(current);
    for (const auto& w : split_list(wanted)) {
        bool present = false;
        for (const auto& i : items) {
            present = present || item_name(i) == item_name(w);
        }
        if (!present) {
            items.push_back(w);
        }
    }
    std::string out;
    for (const auto& i : items) {
        out += (out.empty() ? "" : ",") + i;
    }
    return out;
}

}  // namespace

SlurmConfEdit edit_slurm_conf(std::string_view text, const std::vector<SlurmConfSetting>& settings,
                              const std::string& include_path) {
    std::vector<std::string> lines = split_lines(text);
    SlurmConfEdit edit;
    std::vector<std::string> appended;
    for (const auto& s : settings) {
        bool seen = false;
        for (auto& line : lines) {
            const auto span = first_key_value(line);
            if (!span || !iequals(span->key, s.key)) {
                continue;
            }
            if (seen && s.mode == SettingMode::k_replace_first) {
                break;
            }
            const std::string old_value =
                line.substr(span->value_begin, span->value_end - span->value_begin);
            if (s.mode == SettingMode::k_add_line) {
                seen = seen || old_value == s.value;
                continue;
            }
            seen = true;
            std::string new_value = old_value;
            if (s.mode == SettingMode::k_replace || s.mode == SettingMode::k_replace_first) {
                new_value = s.value;
            } else if (s.mode == SettingMode::k_merge_list) {
                new_value = merged_list(old_value, s.value);
            }
            if (new_value != old_value) {
                std::string edited = line.substr(0, span->value_begin);
                edited += new_value;
                edited += line.substr(span->value_end);
                line = std::move(edited);
                std::string change = span->key;
                change += "=" + old_value;
                change += " -> " + span->key;
                change += "=" + new_value;
                edit.changes.push_back(std::move(change));
            }
        }
        if (!seen) {
            appended.push_back(s.key + "=" + s.value);
            edit.changes.push_back("add " + appended.back());
        }
    }
    bool included = false;
    for (const auto& line : lines) {
        const auto target = include_target(line);
        included = included || (target && base_name(*target) == base_name(include_path));
    }
    if (!included) {
        appended.push_back("Include " + include_path);
        edit.changes.push_back("add " + appended.back());
    }
    for (const auto& line : lines) {
        edit.text += line + "\n";
    }
    if (!appended.empty()) {
        if (!edit.text.empty() && edit.text.size() >= 2 &&
            edit.text.substr(edit.text.size() - 2) != "\n\n") {
            edit.text += "\n";
        }
        edit.text +=
            "# Cloud bursting (added by `cloudburst setup scheduler`; see docs/setup.md).\n";
        for (const auto& a : appended) {
            edit.text += a + "\n";
        }
    }
    return edit;
}

std::string slurm_conf_value(std::string_view text, std::string_view key) {
    std::string value;
    for (const auto& line : split_lines(text)) {
        const auto span = first_key_value(line);
        if (span && iequals(span->key, key)) {
            value = line.substr(span->value_begin, span->value_end - span->value_begin);
        }
    }
    return value;
}

}  // namespace cb
