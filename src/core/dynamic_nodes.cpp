#include "core/dynamic_nodes.h"

#include <algorithm>
#include <array>
#include <map>
#include <optional>

#include "util/hostlist.h"
#include "util/sanitize.h"
#include "util/text.h"

namespace cb {

namespace {

constexpr std::string_view k_expected_form =
    "expected -Z, optionally followed by --conf \"Key=value ...\" (as the template's "
    "-Z --conf \"Feature=dyn\")";

Error bad_dynamic_config(std::string_view value, std::string_view why) {
    return Error{ErrorKind::k_config,
                 "slurm.dynamic_config \"" + escaped(value) + "\" " + std::string(why) + ": " +
                     std::string(k_expected_form),
                 {}};
}

// The words of `text` split at spaces, a double-quoted stretch being one word (without its
// quotes); nullopt when a quote does not close. No escapes: a backslash is a character.
std::optional<std::vector<std::string>> shell_words(std::string_view text) {
    std::vector<std::string> out;
    std::string word;
    bool in_word = false;
    bool quoted = false;
    for (const char c : text) {
        if (quoted) {
            if (c == '"') {
                quoted = false;
            } else {
                word += c;
            }
        } else if (c == '"') {
            quoted = true;
            in_word = true;
        } else if (c == ' ' || c == '\t') {
            if (in_word) {
                out.push_back(std::move(word));
                word.clear();
                in_word = false;
            }
        } else {
            word += c;
            in_word = true;
        }
    }
    if (quoted) {
        return std::nullopt;
    }
    if (in_word) {
        out.push_back(std::move(word));
    }
    return out;
}

}  // namespace

std::string DynamicRange::field(std::string_view key) const {
    for (const auto& f : fields) {
        if (f.key == key) {
            return f.value;
        }
    }
    return {};
}

Result<std::vector<std::string>> dynamic_config_features(std::string_view dynamic_config) {
    if (without_control_chars(dynamic_config) != dynamic_config) {
        return bad_dynamic_config(dynamic_config, "holds control characters");
    }
    auto words = shell_words(dynamic_config);
    if (!words) {
        return bad_dynamic_config(dynamic_config, "has a quote that does not close");
    }
    if (words->empty() || words->front() != "-Z") {
        return bad_dynamic_config(dynamic_config, "does not start with -Z");
    }
    std::string conf;
    if (words->size() == 3 && (*words)[1] == "--conf") {
        conf = (*words)[2];
    } else if (words->size() == 2 && (*words)[1].rfind("--conf=", 0) == 0) {
        conf = (*words)[1].substr(7);
    } else if (words->size() != 1) {
        return bad_dynamic_config(dynamic_config, "has slurmd options other than --conf");
    }
    std::vector<std::string> features;
    auto conf_words = shell_words(conf);
    for (const auto& word : conf_words ? *conf_words : std::vector<std::string>{}) {
        const auto eq = word.find('=');
        if (eq == std::string::npos || eq == 0) {
            return bad_dynamic_config(
                dynamic_config, "has --conf word '" + escaped(word) + "', which is not Key=value");
        }
        const std::string key = word.substr(0, eq);
        if (!iequals(key, "Feature") && !iequals(key, "Features")) {
            continue;  // the VM's slurmd gets them; Slurm keeps the created node's own
        }
        for (const auto& f : split_list(word.substr(eq + 1))) {
            if (!is_plain_name(f)) {
                return bad_dynamic_config(dynamic_config,
                                          "has feature '" + escaped(f) + "', not a plain name");
            }
            if (std::find(features.begin(), features.end(), f) == features.end()) {
                features.push_back(f);
            }
        }
    }
    return features;
}

std::string dynamic_nodeset_feature(const std::string& array) {
    return array;
}

std::string dynamic_nodeset_name(const std::string& array) {
    return array + "ns";
}

Result<DynamicRangePlan> plan_dynamic_range(const DynamicRange& range,
                                            const std::vector<ExistingNode>& existing) {
    auto list = Hostlist::parse(range.hostlist);
    if (!list) {
        return list.error();
    }
    std::map<std::string, const ExistingNode*> by_name;
    for (const auto& n : existing) {
        by_name.emplace(n.name, &n);
    }
    // Each compared key of the spec, and what slurmctld prints for it.
    constexpr std::array<std::pair<std::string_view, std::string ExistingNode::*>, 5> k_compared{
        {{"CPUs", &ExistingNode::cpus},
         {"RealMemory", &ExistingNode::real_memory},
         {"Feature", &ExistingNode::features},
         {"Gres", &ExistingNode::gres},
         {"Weight", &ExistingNode::weight}}};
    DynamicRangePlan plan;
    std::vector<std::string> missing;
    for (const auto& name : list->expand()) {
        const auto it = by_name.find(name);
        if (it == by_name.end()) {
            missing.push_back(name);
            continue;
        }
        ++plan.existing;
        const ExistingNode& n = *it->second;
        if (!n.dynamic) {
            plan.mismatches.push_back("node " + name +
                                      " is defined in slurm.conf, not created at run time: take "
                                      "its NodeName line out of the site's configuration");
            continue;
        }
        for (const auto& [key, member] : k_compared) {
            const std::string want = range.field(key);
            const std::string& have = n.*member;
            // Slurm adds the socket binding to a registered node's Gres ("gpu:a100:1(S:0)").
            const std::string shown = key == "Gres" ? have.substr(0, have.find('(')) : have;
            if (shown != want) {
                std::string m = "node " + name + " exists with ";
                m.append(key).append("=");
                m += shown.empty() ? "(none)" : without_control_chars(shown);
                m.append(", scale makes ").append(key).append("=");
                m += want.empty() ? "(none)" : want;
                m += ": when it is powered down and idle, `scontrol delete NodeName=";
                m += name;
                m += "` and run `cloudburst scale` again";
                plan.mismatches.push_back(std::move(m));
            }
        }
    }
    if (!missing.empty()) {
        auto names = Hostlist::from_names(missing);
        if (!names) {
            return names.error();
        }
        plan.create = names->compress();
    }
    return plan;
}

}  // namespace cb
