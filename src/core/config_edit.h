// Changing a few keys of cloudburst.toml in place, as `cloudburst init` does on a rerun:
// every other line (comments, other sections, other keys) stays as the operator wrote it.
// Pure text in, text out.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cb {

struct TomlKeyEdit {
    std::string key;                   // a key of the section ("url")
    std::optional<std::string> value;  // a TOML value literal ("\"https://x\""); nullopt: remove
};

struct TomlEditResult {
    std::string text;
    std::vector<std::string> changed;  // "section.key" of every key whose line changed
};

// Sets (or removes) `edits` in `[section]` of `text`, adding the section at the end if it is
// missing and a key after the section's last key line if it is missing. Values spanning
// several lines are not supported (the keys init writes are scalars).
TomlEditResult edit_toml_section(std::string_view text, std::string_view section,
                                 const std::vector<TomlKeyEdit>& edits);

// A TOML basic string literal for `value`, escaped.
std::string toml_string(std::string_view value);

}  // namespace cb
