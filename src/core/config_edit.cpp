#include "core/config_edit.h"

#include <cstdio>

#include "util/text.h"

namespace cb {

namespace {

// The section a "[name]" header line opens, or nullopt for other lines.
std::optional<std::string> header_of(std::string_view line) {
    line = trim(line);
    if (line.size() < 2 || line.front() != '[') {
        return std::nullopt;
    }
    const auto close = line.find(']');
    if (close == std::string_view::npos) {
        return std::nullopt;
    }
    return std::string(trim(line.substr(1, close - 1)));
}

// The key a "key = value" line sets, or "" for other lines.
std::string key_of(std::string_view line) {
    line = trim(line);
    const auto eq = line.find('=');
    if (line.empty() || line.front() == '#' || eq == std::string_view::npos) {
        return {};
    }
    return std::string(trim(line.substr(0, eq)));
}

}  // namespace

std::string toml_string(std::string_view value) {
    std::string out = "\"";
    for (char c : value) {
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\t':
                out += "\\t";
                break;
            case '\r':
                out += "\\r";
                break;
            default:
                if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
                    char buf[8];
                    std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
                    out += buf;
                } else {
                    out += c;
                }
        }
    }
    return out + "\"";
}

TomlEditResult edit_toml_section(std::string_view text, std::string_view section,
                                 const std::vector<TomlKeyEdit>& edits) {
    std::vector<std::string> lines = split_lines(text);
    TomlEditResult result;
    const std::string prefix = std::string(section) + ".";

    // Where the section starts and ends, and its last key line.
    std::optional<std::size_t> start;
    std::size_t end = lines.size();
    for (std::size_t i = 0; i < lines.size(); ++i) {
        const auto h = header_of(lines[i]);
        if (!h) {
            continue;
        }
        if (start) {
            end = i;
            break;
        }
        if (*h == section) {
            start = i;
        }
    }
    if (!start) {
        if (!lines.empty() && !trim(lines.back()).empty()) {
            lines.emplace_back();
        }
        // Appended, not "[" + std::string(...): GCC 12 -O3 reports a false -Wrestrict.
        std::string header = "[";
        lines.push_back(header.append(section).append("]"));
        start = lines.size() - 1;
        end = lines.size();
    }

    for (const auto& edit : edits) {
        const std::string wanted = edit.value ? edit.key + " = " + *edit.value : std::string();
        std::optional<std::size_t> found;
        for (std::size_t i = *start + 1; i < end; ++i) {
            if (key_of(lines[i]) == edit.key) {
                found = i;
                break;
            }
        }
        if (found) {
            if (!edit.value) {
                lines.erase(lines.begin() + static_cast<std::ptrdiff_t>(*found));
                --end;
                result.changed.push_back(prefix + edit.key);
            } else if (lines[*found] != wanted) {
                lines[*found] = wanted;
                result.changed.push_back(prefix + edit.key);
            }
            continue;
        }
        if (!edit.value) {
            continue;
        }
        // After the section's last key line (before trailing blank lines and comments).
        std::size_t at = *start + 1;
        for (std::size_t i = *start + 1; i < end; ++i) {
            if (!key_of(lines[i]).empty()) {
                at = i + 1;
            }
        }
        lines.insert(lines.begin() + static_cast<std::ptrdiff_t>(at), wanted);
        ++end;
        result.changed.push_back(prefix + edit.key);
    }

    for (const auto& line : lines) {
        result.text += line;
        result.text += '\n';
    }
    return result;
}

}  // namespace cb
