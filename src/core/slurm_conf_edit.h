// Editing a site's slurm.conf in place: set the global keys cloud bursting needs and keep
// everything else (node and partition lines, comments, the site's other keys) byte for byte.
// Pure: the caller reads and writes the file (`cloudburst setup scheduler`).
//
// Slurm keys are case-insensitive; a key is recognised only as the first `Key=` of a line
// (NodeName=, PartitionName= and other multi-key lines are never touched). Keys slurm.conf
// does not have yet are appended at the end under one comment, so a rerun appends nothing.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace cb {

enum class SettingMode {
    k_replace,        // every occurrence gets exactly this value
    k_replace_first,  // the first occurrence only (SlurmctldHost: later ones are backups)
    k_if_absent,      // added when missing; a site's own value is kept
    k_merge_list,     // a comma list: items (compared by the part before '=') are added
    k_add_line,       // a line of its own unless one has this value (a key that may repeat:
                      // PrologSlurmctld from 24.05)
};

struct SlurmConfSetting {
    std::string key;  // spelled as Slurm's documentation spells it ("SuspendTime")
    std::string value;
    SettingMode mode = SettingMode::k_replace;
};

struct SlurmConfEdit {
    std::string text;                  // the edited file
    std::vector<std::string> changes;  // one sentence per change, in file order; empty: none
};

// Applies `settings` to `text` and makes sure a line `Include <include_path>` is there (a
// line including a file of the same base name counts: relative includes are the site's
// business).
SlurmConfEdit edit_slurm_conf(std::string_view text, const std::vector<SlurmConfSetting>& settings,
                              const std::string& include_path);

// The value of global key `key` (its last occurrence, as Slurm reads it), or "" if absent.
std::string slurm_conf_value(std::string_view text, std::string_view key);

}  // namespace cb
