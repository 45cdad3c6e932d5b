// What slurm.conf says, as far as bursting cares: global settings, Include lines, node and
// partition definitions. Read from the file text (and the files it includes) or from
// `scontrol show config`, whose values override the file's when slurmctld is up. Pure: the
// caller reads the files and runs scontrol.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cb {

struct SlurmNodeLine {
    std::string names;  // a hostlist expression
    std::string state;  // as written ("CLOUD", "UNKNOWN", ...); "" if not given
};

struct SlurmPartitionLine {
    std::string name;
    std::string nodes;                          // a hostlist expression, or "ALL"
    std::map<std::string, std::string> values;  // other keys, lower-case
};

struct SlurmSettings {
    std::map<std::string, std::string> values;  // global keys, lower-case, value as written
    std::vector<std::string> includes;          // Include arguments, as written
    std::vector<SlurmNodeLine> nodes;
    std::vector<SlurmPartitionLine> partitions;
    std::string version;  // "22.05.8"; "" if unknown

    // The value of global key `key` (any case), if set.
    std::optional<std::string> get(std::string_view key) const;
};

// Parses slurm.conf text. Unknown lines are kept as global key=value pairs; lines that are
// not key=value are ignored (slurmctld reports those itself). Never fails.
SlurmSettings parse_slurm_conf(std::string_view text);

// Adds the node and partition lines of an included file.
void merge_included_conf(std::string_view text, SlurmSettings& settings);

// Overrides global values with the "Key = Value" lines of `scontrol show config`
// ("SlurmctldHost[0]" becomes "slurmctldhost"; SLURM_VERSION sets `version`).
void merge_scontrol_config(std::string_view text, SlurmSettings& settings);

// A Slurm duration in seconds: "300", "300 sec", "30:00" are 300 s; INFINITE, NONE, UNLIMITED,
// -1 and "" are nullopt (never). Unreadable text is nullopt too.
std::optional<std::chrono::seconds> parse_slurm_seconds(std::string_view text);

// The major.minor of a version as a number, 22.05 -> 2205; 0 if unknown.
int slurm_release(std::string_view version);

}  // namespace cb
