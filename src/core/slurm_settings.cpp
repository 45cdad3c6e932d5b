#include "core/slurm_settings.h"

#include <charconv>

#include "util/text.h"

namespace cb {

namespace {

// Keys slurm.conf may repeat from Slurm 24.05 on, one program a line; kept as a comma list.
bool repeatable(std::string_view key) {
    return key == "prologslurmctld" || key == "epilogslurmctld" || key == "prolog" ||
           key == "epilog";
}

std::vector<std::string_view> split_words(std::string_view line) {
    std::vector<std::string_view> out;
    std::size_t i = 0;
    while (i < line.size()) {
        while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) {
            ++i;
        }
        const std::size_t start = i;
        while (i < line.size() && line[i] != ' ' && line[i] != '\t') {
            ++i;
        }
        if (i > start) {
            out.push_back(line.substr(start, i - start));
        }
    }
    return out;
}

// The line without its comment ('#' not escaped as "\#") and surrounding blanks.
std::string_view strip_comment(std::string_view line) {
    for (std::size_t i = 0; i < line.size(); ++i) {
        if (line[i] == '#' && (i == 0 || line[i - 1] != '\\')) {
            line = line.substr(0, i);
            break;
        }
    }
    return trim(line);
}

std::map<std::string, std::string> pairs_of(const std::vector<std::string_view>& words) {
    std::map<std::string, std::string> out;
    for (auto w : words) {
        const auto eq = w.find('=');
        if (eq != std::string_view::npos && eq > 0) {
            out[to_lower(w.substr(0, eq))] = std::string(w.substr(eq + 1));
        }
    }
    return out;
}

template <typename Fn>
void for_each_line(std::string_view text, Fn fn) {
    while (!text.empty()) {
        const auto nl = text.find('\n');
        fn(text.substr(0, nl));
        if (nl == std::string_view::npos) {
            break;
        }
        text.remove_prefix(nl + 1);
    }
}

// Node and partition lines go into `settings`; returns false for other lines.
bool take_definition(std::string_view line, SlurmSettings& settings, std::string& default_state) {
    const auto words = split_words(line);
    if (words.empty()) {
        return false;
    }
    auto pairs = pairs_of(words);
    if (pairs.count("nodename") != 0) {
        const std::string& names = pairs["nodename"];
        if (iequals(names, "DEFAULT")) {
            if (pairs.count("state") != 0) {
                default_state = pairs["state"];
            }
            return true;
        }
        settings.nodes.push_back(
            {names, pairs.count("state") != 0 ? pairs["state"] : default_state});
        return true;
    }
    if (pairs.count("partitionname") != 0) {
        if (iequals(pairs["partitionname"], "DEFAULT")) {
            return true;
        }
        SlurmPartitionLine p;
        p.name = pairs["partitionname"];
        p.nodes = pairs["nodes"];
        pairs.erase("partitionname");
        pairs.erase("nodes");
        p.values = std::move(pairs);
        settings.partitions.push_back(std::move(p));
        return true;
    }
    if (pairs.count("nodeset") != 0 || pairs.count("downnodes") != 0 ||
        pairs.count("frontendname") != 0) {
        return true;
    }
    return false;
}

void parse_into(std::string_view text, SlurmSettings& settings, bool globals) {
    std::string default_state;
    for_each_line(text, [&](std::string_view raw) {
        const std::string_view line = strip_comment(raw);
        if (line.empty()) {
            return;
        }
        const auto words = split_words(line);
        if (words.size() >= 2 && iequals(words[0], "Include")) {
            if (globals) {
                settings.includes.emplace_back(trim(line.substr(words[0].size())));
            }
            return;
        }
        if (take_definition(line, settings, default_state) || !globals) {
            return;
        }
        for (auto& [k, v] : pairs_of(words)) {
            if (auto it = settings.values.find(k); it != settings.values.end() && repeatable(k)) {
                it->second += "," + v;
            } else {
                settings.values[k] = v;
            }
        }
    });
}

}  // namespace

std::optional<std::string> SlurmSettings::get(std::string_view key) const {
    const auto it = values.find(to_lower(key));
    if (it == values.end()) {
        return std::nullopt;
    }
    return it->second;
}

SlurmSettings parse_slurm_conf(std::string_view text) {
    SlurmSettings settings;
    parse_into(text, settings, true);
    return settings;
}

void merge_included_conf(std::string_view text, SlurmSettings& settings) {
    parse_into(text, settings, false);
}

void merge_scontrol_config(std::string_view text, SlurmSettings& settings) {
    for_each_line(text, [&](std::string_view line) {
        const auto eq = line.find(" = ");
        if (eq == std::string_view::npos) {
            return;
        }
        std::string key = to_lower(trim(line.substr(0, eq)));
        const std::string value(trim(line.substr(eq + 3)));
        if (const auto bracket = key.find('['); bracket != std::string::npos) {
            const bool first = key.substr(bracket) == "[0]";
            key.resize(bracket);
            if (!first) {
                // PrologSlurmctld[1] (24.05+ prints one line per program): a list, as in
                // slurm.conf; SlurmctldHost[1] is a backup controller.
                if (repeatable(key) && settings.values.count(key) != 0) {
                    settings.values[key] += "," + value;
                }
                return;
            }
        }
        if (key == "slurm_version") {
            settings.version = value;
            return;
        }
        settings.values[key] = value;
    });
}

std::optional<std::chrono::seconds> parse_slurm_seconds(std::string_view text) {
    text = trim(text);
    if (text.size() > 4 && text.substr(text.size() - 4) == " sec") {
        text.remove_suffix(4);
    }
    if (text.empty() || text == "-1" || iequals(text, "INFINITE") || iequals(text, "NONE") ||
        iequals(text, "UNLIMITED")) {
        return std::nullopt;
    }
    long total = 0;
    long part = 0;
    bool digits = false;
    for (char c : text) {
        if (c >= '0' && c <= '9') {
            part = part * 10 + (c - '0');
            digits = true;
            if (part > 100'000'000) {
                return std::nullopt;
            }
        } else if (c == ':' && digits) {
            total = (total + part) * 60;
            part = 0;
            digits = false;
        } else {
            return std::nullopt;
        }
    }
    if (!digits) {
        return std::nullopt;
    }
    return std::chrono::seconds(total + part);
}

int slurm_release(std::string_view version) {
    int major = 0;
    int minor = 0;
    const char* end = version.data() + version.size();
    auto r = std::from_chars(version.data(), end, major);
    if (r.ec != std::errc() || r.ptr == end || *r.ptr != '.') {
        return 0;
    }
    r = std::from_chars(r.ptr + 1, end, minor);
    if (r.ec != std::errc()) {
        return 0;
    }
    return major * 100 + minor;
}

}  // namespace cb
