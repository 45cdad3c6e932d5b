#include "core/doctor_checks.h"

#include <sys/stat.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <set>
#include <utility>

#include "util/hostlist.h"
#include "util/sanitize.h"
#include "util/text.h"

namespace cb {

namespace {

std::string seconds_text(std::chrono::seconds s) {
    return std::to_string(s.count()) + " s";
}

std::string octal_mode(mode_t mode) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
    return buf;
}

std::vector<std::string> expand_names(std::string_view expr) {
    auto list = Hostlist::parse(expr);
    if (!list) {
        return {};
    }
    return list->expand();
}

std::string compress_names(const std::vector<std::string>& names) {
    auto list = Hostlist::from_names(names);
    return list ? list->compress_sorted() : std::string();
}

bool is_cloud_state(std::string_view state) {
    return iequals(state, "CLOUD") || iequals(state, "FUTURE");
}

std::vector<std::string> cloud_nodes(const SlurmSettings& s) {
    std::vector<std::string> out;
    for (const auto& n : s.nodes) {
        if (is_cloud_state(n.state)) {
            auto names = expand_names(n.names);
            out.insert(out.end(), names.begin(), names.end());
        }
    }
    return out;
}

bool partition_has(const SlurmPartitionLine& p, const std::set<std::string>& names) {
    if (iequals(p.nodes, "ALL")) {
        return !names.empty();
    }
    for (const auto& n : expand_names(p.nodes)) {
        if (names.count(n) != 0) {
            return true;
        }
    }
    return false;
}

std::optional<std::string> part_value(const SlurmPartitionLine& p, const char* key) {
    const auto it = p.values.find(key);
    if (it == p.values.end()) {
        return std::nullopt;
    }
    return it->second;
}

// The smallest of `key` over the partitions holding cloud nodes, falling back to the global
// value (or `fallback`) where a partition does not set it.
std::optional<std::chrono::seconds> cloud_timeout(const SlurmSettings& s, const char* key,
                                                  std::chrono::seconds fallback) {
    const auto names = cloud_nodes(s);
    const std::set<std::string> set(names.begin(), names.end());
    const auto global = s.get(key);
    const std::chrono::seconds global_value =
        global ? parse_slurm_seconds(*global).value_or(std::chrono::seconds::max()) : fallback;
    std::optional<std::chrono::seconds> lowest;
    for (const auto& p : s.partitions) {
        if (!partition_has(p, set)) {
            continue;
        }
        const auto v = part_value(p, key);
        const auto value =
            v ? parse_slurm_seconds(*v).value_or(std::chrono::seconds::max()) : global_value;
        lowest = lowest ? std::min(*lowest, value) : value;
    }
    return lowest ? lowest : std::optional(global_value);
}

}  // namespace

CheckResult check_ok(std::string name, std::string detail) {
    return {std::move(name), CheckOutcome::k_ok, std::move(detail)};
}
CheckResult check_problem(std::string name, std::string detail) {
    return {std::move(name), CheckOutcome::k_problem, std::move(detail)};
}
CheckResult check_skipped(std::string name, std::string why) {
    return {std::move(name), CheckOutcome::k_skipped, std::move(why)};
}
CheckResult check_warning(std::string name, std::string detail) {
    return {std::move(name), CheckOutcome::k_warning, std::move(detail)};
}

std::string_view to_string(CheckOutcome outcome) {
    switch (outcome) {
        case CheckOutcome::k_ok:
            return "ok";
        case CheckOutcome::k_problem:
            return "problem";
        case CheckOutcome::k_skipped:
            return "skipped";
        case CheckOutcome::k_warning:
            return "WARNING";
    }
    return "?";
}

std::string format_check(const CheckResult& result) {
    std::string head(to_string(result.outcome));
    head.resize(9, ' ');
    return head + result.name + ": " + result.detail;
}

bool all_passed(const std::vector<CheckResult>& results) {
    return std::none_of(results.begin(), results.end(),
                        [](const CheckResult& r) { return r.outcome == CheckOutcome::k_problem; });
}

namespace {

struct Hook {
    const char* key;
    const char* ours;
};

CheckResult check_hook(const Hook& hook, const SlurmSettings& settings, const FileLookup& files,
                       const std::optional<UserIds>& slurm_user, HookExpectation expectation) {
    const std::string fix_set = std::string("set ") + hook.key + "=/usr/bin/" + hook.ours +
                                " in slurm.conf, then `scontrol reconfigure`";
    const auto value = settings.get(hook.key);
    if (!value || value->empty() || iequals(*value, "(null)")) {
        return check_problem(hook.key, "not set: " + fix_set);
    }
    const std::string& path = *value;
    if (path.front() != '/') {
        return check_problem(hook.key, path +
                                           " is not an absolute path (slurmctld runs it with "
                                           "no PATH): " +
                                           fix_set);
    }
    if (expectation == HookExpectation::k_cloudburst &&
        std::filesystem::path(path).filename() != hook.ours) {
        return check_problem(hook.key, path + " is not cloudburst's hook: " + fix_set);
    }
    const auto facts = files(path);
    if (!facts || !S_ISREG(facts->mode)) {
        return check_problem(hook.key, path + " does not exist or is not a file: " +
                                           "install cloudburst or " + fix_set);
    }
    if ((facts->mode & (S_IWGRP | S_IWOTH)) != 0) {
        return check_problem(
            hook.key, path + " is writable by group or others (mode " + octal_mode(facts->mode) +
                          "), so slurmctld disables power saving: chmod go-w " + path);
    }
    if (!slurm_user) {
        return check_problem(hook.key,
                             "SlurmUser does not exist on this machine: create it or "
                             "fix SlurmUser in slurm.conf");
    }
    mode_t bit = S_IXOTH;
    if (slurm_user->uid == 0) {
        bit = S_IXUSR | S_IXGRP | S_IXOTH;
    } else if (facts->uid == slurm_user->uid) {
        bit = S_IXUSR;
    } else if (facts->gid == slurm_user->gid) {
        bit = S_IXGRP;
    }
    if ((facts->mode & bit) == 0) {
        return check_problem(hook.key, path + " is not executable by SlurmUser " +
                                           slurm_user->name + ": chmod 0755 " + path);
    }
    return check_ok(hook.key, path);
}

}  // namespace

std::vector<CheckResult> check_hooks(const SlurmSettings& settings, const FileLookup& files,
                                     const std::optional<UserIds>& slurm_user,
                                     HookExpectation expectation) {
    constexpr Hook k_hooks[] = {{"ResumeProgram", "cloudburst-resume"},
                                {"SuspendProgram", "cloudburst-suspend"},
                                {"ResumeFailProgram", "cloudburst-resume-fail"}};
    std::vector<CheckResult> out;
    for (const auto& hook : k_hooks) {
        out.push_back(check_hook(hook, settings, files, slurm_user, expectation));
    }
    return out;
}

CheckResult check_include(const SlurmSettings& settings, const std::string& slurm_conf,
                          const std::string& generated_conf) {
    namespace fs = std::filesystem;
    const fs::path dir = fs::path(slurm_conf).parent_path();
    const fs::path want = fs::path(generated_conf).lexically_normal();
    const bool included =
        std::any_of(settings.includes.begin(), settings.includes.end(), [&](const auto& inc) {
            fs::path p(inc);
            if (p.is_relative()) {
                p = dir / p;
            }
            return p.lexically_normal() == want;
        });
    if (included) {
        return check_ok("Include", slurm_conf + " includes " + generated_conf);
    }
    return check_problem("Include", slurm_conf + " does not include " + generated_conf +
                                        ": add the line `Include " + generated_conf +
                                        "` to it, then `scontrol reconfigure`");
}

CheckResult check_prolog_gate(const SlurmSettings& settings, const std::string& prolog_chain) {
    constexpr const char* k_name = "PrologSlurmctld";
    constexpr const char* k_late =
        "batch jobs on cloud nodes start up to 30 s after their nodes register (Slurm's "
        "periodic check)";
    constexpr const char* k_gate = "/usr/libexec/cloudburst/cloudburst-prolog";
    const auto value = settings.get(k_name);
    if (!value || value->empty() || iequals(*value, "(null)")) {
        return check_warning(k_name, std::string("not set: ") + k_late +
                                         "; set PrologSlurmctld=" + k_gate +
                                         " and restart slurmctld (22.05 does not read it on "
                                         "reconfigure)");
    }
    std::string site;
    for (const auto& item : split_list(*value)) {
        if (std::filesystem::path(item).filename() == "cloudburst-prolog") {
            return check_ok(k_name, item + " (jobs start when their nodes register" +
                                        (prolog_chain.empty()
                                             ? std::string(")")
                                             : "; it runs the site's " + prolog_chain + " first)"));
        }
        site = item;
    }
    const int release = slurm_release(settings.version);
    if (release >= 2405) {
        return check_warning(k_name, site + " is the site's own: " + k_late +
                                         "; add a second line PrologSlurmctld=" + k_gate +
                                         " (Slurm " + settings.version +
                                         " runs both), or rerun `cloudburst setup scheduler`");
    }
    return check_warning(k_name,
                         site + " is the site's own: " + k_late +
                             "; this Slurm takes one PrologSlurmctld: set slurm.prolog_chain "
                             "= \"" +
                             site +
                             "\" in the cloudburst config and "
                             "PrologSlurmctld=" +
                             k_gate +
                             " (the gate runs the site's first), or rerun `cloudburst "
                             "setup scheduler`, which does both");
}

CheckResult check_slurm_release_bugs(const SlurmSettings& settings) {
    constexpr const char* k_name = "Slurm version";
    const std::string& v = settings.version;
    if (v.empty()) {
        return check_skipped(k_name, "the Slurm version is unknown");
    }
    if (v.rfind("23.11.", 0) == 0) {
        int patch = 0;
        const std::string rest = v.substr(6);
        const auto [p, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), patch);
        if (ec == std::errc() && p != rest.data() && patch <= 7) {
            return check_warning(
                k_name, "Slurm " + v +
                            " can crash slurmctld on `scontrol reconfigure` while a "
                            "PrologSlurmctld runs (fixed in 23.11.8), and cloudburst's gate "
                            "runs while cloud nodes boot: upgrade to 23.11.8 or later, or "
                            "restart slurmctld instead of reconfiguring");
        }
    }
    return check_ok(k_name, v);
}

CheckResult check_onprem_not_suspended(const SlurmSettings& settings) {
    const char* name = "SuspendTime";
    std::set<std::string> excluded;
    if (const auto exc = settings.get("SuspendExcNodes")) {
        // "a[1-4]:2,b[1-3]" : the ":N" counts do not matter here.
        std::string text;
        bool skip = false;
        for (char c : *exc) {
            if (c == ':') {
                skip = true;
            } else if (c == ',' && skip) {
                skip = false;
                text += c;
            } else if (!skip) {
                text += c;
            }
        }
        for (auto& n : expand_names(text)) {
            excluded.insert(std::move(n));
        }
    }
    std::set<std::string> excluded_parts;
    if (const auto exc = settings.get("SuspendExcParts")) {
        std::string_view rest = *exc;
        while (!rest.empty()) {
            const auto comma = rest.find(',');
            excluded_parts.insert(std::string(trim(rest.substr(0, comma))));
            rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
        }
    }
    const auto global = settings.get("SuspendTime");
    const auto global_time = global ? parse_slurm_seconds(*global) : std::nullopt;
    std::vector<std::string> suspended;
    for (const auto& line : settings.nodes) {
        if (is_cloud_state(line.state)) {
            continue;
        }
        for (const auto& node : expand_names(line.names)) {
            if (excluded.count(node) != 0) {
                continue;
            }
            const std::set<std::string> one{node};
            bool any_set = false;
            bool exempt = false;
            std::optional<std::chrono::seconds> effective;  // max over its partitions
            bool infinite = false;
            for (const auto& p : settings.partitions) {
                if (!partition_has(p, one)) {
                    continue;
                }
                if (excluded_parts.count(p.name) != 0) {
                    exempt = true;
                }
                if (const auto v = part_value(p, "suspendtime")) {
                    any_set = true;
                    const auto t = parse_slurm_seconds(*v);
                    if (!t) {
                        infinite = true;
                    } else {
                        effective = effective ? std::max(*effective, *t) : *t;
                    }
                }
            }
            const bool finite = any_set ? !infinite : global_time.has_value();
            if (!exempt && finite) {
                suspended.push_back(node);
            }
        }
    }
    if (!suspended.empty()) {
        return check_problem(name, "on-prem nodes " + compress_names(suspended) +
                                       " would be powered down when idle: set "
                                       "SuspendTime=INFINITE globally and SuspendTime on the "
                                       "cloud partitions only (or list the nodes in "
                                       "SuspendExcNodes)");
    }
    return check_ok(name, "only cloud nodes are powered down when idle");
}

CheckResult check_resume_timeout(const SlurmSettings& settings) {
    const auto t = cloud_timeout(settings, "resumetimeout", std::chrono::seconds(60));
    if (t && *t < k_min_resume_timeout) {
        return check_problem("ResumeTimeout", seconds_text(*t) +
                                                  " is too short for a VM to boot and start "
                                                  "slurmd: set ResumeTimeout=1800 on the cloud "
                                                  "partitions (at least " +
                                                  seconds_text(k_min_resume_timeout) + ")");
    }
    return check_ok("ResumeTimeout",
                    t && *t != std::chrono::seconds::max() ? seconds_text(*t) : "never");
}

CheckResult check_suspend_timeout(const SlurmSettings& settings) {
    const auto t = cloud_timeout(settings, "suspendtimeout", std::chrono::seconds(30));
    if (t && *t < k_min_suspend_timeout) {
        return check_problem("SuspendTimeout",
                             seconds_text(*t) +
                                 " is shorter than deleting a VM can take, so a node could be "
                                 "resumed while its old VM still exists: set "
                                 "SuspendTimeout=600 (at least " +
                                 seconds_text(k_min_suspend_timeout) + ")");
    }
    return check_ok("SuspendTimeout",
                    t && *t != std::chrono::seconds::max() ? seconds_text(*t) : "never");
}

CheckResult check_tree_width(const SlurmSettings& settings) {
    const int release = slurm_release(settings.version);
    if (release >= 2311) {
        return check_ok("TreeWidth", "Slurm " + settings.version + " forwards node addresses");
    }
    std::size_t count = 0;
    for (const auto& n : settings.nodes) {
        count += expand_names(n.names).size();
    }
    long width = 50;
    if (const auto v = settings.get("TreeWidth")) {
        try {
            width = std::stol(*v);
        } catch (const std::exception&) {
            width = 50;
        }
    }
    if (width < static_cast<long>(count) && width < 65533) {
        return check_problem("TreeWidth",
                             std::to_string(width) + " is less than the " + std::to_string(count) +
                                 " nodes, so slurmd forwards messages to cloud nodes by names "
                                 "they cannot resolve: set TreeWidth=65533");
    }
    return check_ok("TreeWidth", std::to_string(width));
}

CheckResult check_power_rate(const SlurmSettings& settings, std::string_view key) {
    const bool resume = key == "ResumeRate";
    const long slurm_default = resume ? 300 : 60;
    const std::string name(key);
    // The file says "300"; `scontrol show config` says "300 nodes/min".
    const std::string text = settings.get(key).value_or(std::to_string(slurm_default));
    long rate = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), rate);
    if (ec != std::errc() || rate < 0 || (end != text.data() + text.size() && *end != ' ')) {
        return check_problem(
            name, "'" + escaped(text) + "' is not a number of nodes a minute: set " + name + "=0");
    }
    if (rate == 0) {
        return check_ok(name, "0 (no limit)");
    }
    const std::size_t cloud = cloud_nodes(settings).size();
    const std::string rate_text = std::to_string(rate) + " nodes a minute";
    if (cloud <= static_cast<std::size_t>(rate)) {
        return check_ok(
            name, rate_text + ", no fewer than the " + std::to_string(cloud) + " cloud nodes");
    }
    const long minutes = static_cast<long>((cloud + static_cast<std::size_t>(rate) - 1) /
                                           static_cast<std::size_t>(rate));
    return check_warning(
        name,
        rate_text + (settings.get(key) ? "" : " (Slurm's default)") + ": " +
            (resume ? "a burst of all " + std::to_string(cloud) +
                          " cloud nodes reaches cloudburst over " + std::to_string(minutes) +
                          " minutes"
                    : std::to_string(cloud) + " idle cloud nodes take " + std::to_string(minutes) +
                          " minutes to power down, their VMs billed meanwhile") +
            ": set " + name + "=0 (cloudburst batches and paces its own cloud calls)");
}

CheckResult check_return_to_service(const SlurmSettings& settings) {
    const std::string v = settings.get("ReturnToService").value_or("1");
    if (v != "2") {
        return check_problem("ReturnToService",
                             v + " keeps a cloud node that registers after ResumeTimeout DOWN "
                                 "for good: set ReturnToService=2");
    }
    return check_ok("ReturnToService", "2");
}

CheckResult check_private_data(const SlurmSettings& settings) {
    const int release = slurm_release(settings.version);
    if (release == 0) {
        return check_skipped("PrivateData", "the Slurm version is unknown");
    }
    if (release > 2205) {
        return check_ok("PrivateData", "not needed on Slurm " + settings.version);
    }
    const std::string v = to_lower(settings.get("PrivateData").value_or(""));
    if (v.find("cloud") == std::string::npos) {
        return check_problem("PrivateData", "Slurm " + settings.version +
                                                " hides powered-down cloud nodes: add "
                                                "PrivateData=cloud");
    }
    return check_ok("PrivateData", "cloud");
}

CheckResult check_slurmctld_host(const SlurmSettings& settings, const Resolver& resolve) {
    auto v = settings.get("SlurmctldHost");
    if (!v) {
        v = settings.get("ControlMachine");
    }
    if (!v || v->empty()) {
        return check_problem("SlurmctldHost", "not set: set SlurmctldHost=NAME(IP) in slurm.conf");
    }
    const auto open = v->find('(');
    if (open != std::string::npos && v->back() == ')') {
        return check_ok("SlurmctldHost", *v);
    }
    const std::string host = v->substr(0, open);
    const auto addresses = resolve(host);
    if (addresses.empty()) {
        return check_problem("SlurmctldHost", host +
                                                  " does not resolve: cloud nodes cannot find "
                                                  "slurmctld; set SlurmctldHost=" +
                                                  host + "(IP)");
    }
    const auto usable = std::find_if(addresses.begin(), addresses.end(), [](const auto& a) {
        return a.rfind("127.", 0) != 0 && a != "::1";
    });
    if (usable != addresses.end()) {
        return check_ok("SlurmctldHost", host + " is " + *usable);
    }
    return check_problem("SlurmctldHost", host + " resolves only to loopback (" +
                                              addresses.front() + "): set SlurmctldHost=" + host +
                                              "(IP) with an address cloud nodes can reach");
}

int slurmctld_port(const SlurmSettings& settings) {
    const std::string v = settings.get("SlurmctldPort").value_or("6817");
    try {
        return std::stoi(v);
    } catch (const std::exception&) {
        return 6817;
    }
}

CheckResult check_slurmctld_listening(const SlurmSettings& settings, bool listening) {
    const std::string port = std::to_string(slurmctld_port(settings));
    if (!listening) {
        return check_problem("slurmctld", "nothing listens on port " + port +
                                              ": start slurmctld (systemctl enable --now "
                                              "slurmctld)");
    }
    return check_ok("slurmctld", "listening on port " + port +
                                     "; cloud nodes must reach it there through the firewall");
}

CheckResult check_slurmd_port(const SlurmSettings& settings) {
    const std::string port = settings.get("SlurmdPort").value_or("6818");
    return check_ok("SlurmdPort",
                    port + "; this machine must reach the cloud nodes on it through the firewall");
}

CheckResult check_srun_port_range(const SlurmSettings& settings) {
    const auto v = settings.get("SrunPortRange");
    if (!v || v->empty() || *v == "0-0" || iequals(*v, "(null)")) {
        return check_problem("SrunPortRange",
                             "not set, so srun listens on random ports cloud nodes cannot "
                             "reach through a firewall: set SrunPortRange=60001-63000 and open "
                             "that range");
    }
    return check_ok("SrunPortRange", *v + "; open it to the cloud nodes in the firewall");
}

CheckResult check_munge_key(const std::string& path, const std::optional<FileFacts>& facts,
                            std::optional<uid_t> munge_uid) {
    if (!facts) {
        return check_problem("munge key", path +
                                              " does not exist: create it with `mungekey "
                                              "--create` and copy it to every node");
    }
    if (facts->uid != 0 && (!munge_uid || facts->uid != *munge_uid)) {
        return check_problem("munge key", path + " is owned by uid " + std::to_string(facts->uid) +
                                              ": chown munge:munge " + path);
    }
    if ((facts->mode & 077) != 0) {
        return check_problem("munge key", path + " has mode " + octal_mode(facts->mode) +
                                              ", readable by others: chmod 0400 " + path);
    }
    return check_ok("munge key", path + " (mode " + octal_mode(facts->mode) + ")");
}

CheckResult check_nfs_exports(std::string_view text, const std::string& path) {
    std::vector<std::string> world;
    std::string_view rest = text;
    while (!rest.empty()) {
        const auto nl = rest.find('\n');
        std::string_view line = rest.substr(0, nl);
        rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
        if (const auto hash = line.find('#'); hash != std::string_view::npos) {
            line = line.substr(0, hash);
        }
        line = trim(line);
        if (line.empty()) {
            continue;
        }
        std::vector<std::string_view> words;
        std::size_t i = 0;
        while (i < line.size()) {
            while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) {
                ++i;
            }
            const auto start = i;
            while (i < line.size() && line[i] != ' ' && line[i] != '\t') {
                ++i;
            }
            if (i > start) {
                words.push_back(line.substr(start, i - start));
            }
        }
        bool open = words.size() < 2;  // no client: exported to everyone
        for (std::size_t w = 1; w < words.size(); ++w) {
            const auto client = words[w].substr(0, words[w].find('('));
            if (client.empty() || client == "*") {
                open = true;
            }
        }
        if (open) {
            world.emplace_back(words[0]);
        }
    }
    if (!world.empty()) {
        std::string list;
        for (const auto& w : world) {
            if (!list.empty()) {
                list += ", ";
            }
            list += w;
        }
        return check_problem("NFS exports", path + " exports " + list +
                                                " to the world: name the subnets instead of "
                                                "'*' (e.g. 10.0.0.0/16), then `exportfs -ra`");
    }
    return check_ok("NFS exports", path + " exports nothing to the world");
}

CheckResult check_transport(const CycleCloudConfig& cc) {
    if (auto warning = transport_warning(cc); !warning.empty()) {
        return check_warning("TLS", std::move(warning));
    }
    if (cc.url.starts_with("http://")) {
        return check_ok("TLS", "none, but " + url_host(cc.url) +
                                   " is this machine: the password does not leave it");
    }
    if (!cc.tls_pin.empty()) {
        return check_ok("TLS",
                        "https:// with CycleCloud's key pinned (cyclecloud.tls_pin): "
                        "only a server holding that key is sent the password; the "
                        "certificate's CA, name and dates are not checked");
    }
    return check_ok("TLS", "https:// with CycleCloud's certificate verified" +
                               (cc.ca_bundle.empty() ? std::string(" by the system's CAs")
                                                     : " against " + cc.ca_bundle));
}

CheckResult check_config_file(const std::string& path, const std::optional<FileFacts>& facts,
                              const std::optional<UserIds>& slurm_user, ConfigSecret secret) {
    const char* name = "config file";
    if (!facts) {
        return check_problem(name, path + " does not exist: run `cloudburst init`");
    }
    if (facts->uid != 0) {
        return check_problem(name, path + " is owned by uid " + std::to_string(facts->uid) +
                                       ", not root: chown root:root " + path);
    }
    if ((facts->mode & (S_IWGRP | S_IWOTH)) != 0) {
        return check_problem(name, path + " is writable by group or others (mode " +
                                       octal_mode(facts->mode) + "): chmod go-w " + path);
    }
    if (secret == ConfigSecret::k_inline_password) {
        return check_problem(name, path +
                                       " holds the CycleCloud password inline, so the hooks "
                                       "(SlurmUser) may not read it: move the password to a "
                                       "root-only file named by cyclecloud.password_file (run "
                                       "`cloudburst init`, which does so)");
    }
    if (!slurm_user) {
        return check_problem(name,
                             "SlurmUser does not exist on this machine: create it or fix "
                             "SlurmUser in slurm.conf");
    }
    mode_t bit = S_IROTH;
    if (slurm_user->uid == 0) {
        bit = S_IRUSR | S_IRGRP | S_IROTH;
    } else if (facts->gid == slurm_user->gid) {
        bit = S_IRGRP;
    }
    if ((facts->mode & bit) == 0) {
        return check_problem(name, path + " (mode " + octal_mode(facts->mode) +
                                       ") is not readable by SlurmUser " + slurm_user->name +
                                       ", so every hook fails: chmod 0644 " + path);
    }
    return check_ok(name, path + " (root, mode " + octal_mode(facts->mode) + ", no secret)");
}

CheckResult check_password_file(const std::string& path, const std::optional<FileFacts>& facts) {
    const char* name = "password file";
    if (!facts) {
        return check_problem(name, path + " does not exist: run `cloudburst init`");
    }
    if (facts->uid != 0) {
        return check_problem(name, path + " is owned by uid " + std::to_string(facts->uid) +
                                       ", not root: chown root:root " + path);
    }
    if ((facts->mode & 077) != 0) {
        return check_problem(name, path + " has mode " + octal_mode(facts->mode) +
                                       ", so others can read the CycleCloud password: chmod 0600 " +
                                       path);
    }
    return check_ok(name, path + " (root, mode " + octal_mode(facts->mode) + ")");
}

std::optional<std::chrono::system_clock::time_point> parse_http_date(std::string_view text) {
    // IMF-fixdate only ("Sun, 06 Nov 1994 08:49:37 GMT"), which every current server sends.
    static constexpr std::string_view k_months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    text = trim(text);
    if (text.size() != 29 || text.substr(25) != " GMT" || text[3] != ',') {
        return std::nullopt;
    }
    auto number = [&](std::size_t pos, std::size_t len) -> int {
        int v = 0;
        for (std::size_t i = pos; i < pos + len; ++i) {
            if (text[i] < '0' || text[i] > '9') {
                return -1;
            }
            v = v * 10 + (text[i] - '0');
        }
        return v;
    };
    std::tm tm{};
    tm.tm_mday = number(5, 2);
    tm.tm_mon = -1;
    for (int m = 0; m < 12; ++m) {
        if (text.substr(8, 3) == k_months[m]) {
            tm.tm_mon = m;
        }
    }
    tm.tm_year = number(12, 4) - 1900;
    tm.tm_hour = number(17, 2);
    tm.tm_min = number(20, 2);
    tm.tm_sec = number(23, 2);
    if (tm.tm_mday < 1 || tm.tm_mon < 0 || tm.tm_year < 70 || tm.tm_hour < 0 || tm.tm_min < 0 ||
        tm.tm_sec < 0 || text[19] != ':' || text[22] != ':') {
        return std::nullopt;
    }
    return std::chrono::system_clock::from_time_t(timegm(&tm));
}

CheckResult check_clock_skew(const std::optional<std::string>& date_header,
                             std::chrono::system_clock::time_point now) {
    if (!date_header) {
        return check_skipped("clock", "CycleCloud's answer has no Date header to compare with");
    }
    const auto theirs = parse_http_date(*date_header);
    if (!theirs) {
        return check_skipped("clock",
                             "CycleCloud's Date header '" + *date_header + "' is not an HTTP date");
    }
    const auto skew = std::chrono::duration_cast<std::chrono::seconds>(now - *theirs);
    const auto size = skew < std::chrono::seconds(0) ? -skew : skew;
    if (size > k_max_clock_skew) {
        return check_problem("clock", "this machine's clock is " + seconds_text(size) +
                                          (skew.count() > 0 ? " ahead of" : " behind") +
                                          " CycleCloud's: run a time service (chrony) on both");
    }
    return check_ok("clock", "within " + seconds_text(k_max_clock_skew) + " of CycleCloud's");
}

namespace {

// One /etc/exports entry: the exported path and its clients with their options.
struct ExportEntry {
    int line = 0;
    std::string path;
    std::vector<std::pair<std::string, std::string>> clients;  // "10.0.0.0/24", "rw,sync"
};

std::vector<std::string_view> split_words(std::string_view text) {
    std::vector<std::string_view> words;
    std::size_t i = 0;
    while (i < text.size()) {
        while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) {
            ++i;
        }
        const auto start = i;
        if (i < text.size() && text[i] == '"') {  // a quoted path may hold spaces
            const auto close = text.find('"', i + 1);
            i = close == std::string_view::npos ? text.size() : close + 1;
        }
        while (i < text.size() && text[i] != ' ' && text[i] != '\t') {
            ++i;
        }
        if (i > start) {
            words.push_back(text.substr(start, i - start));
        }
    }
    return words;
}

std::vector<ExportEntry> parse_exports(std::string_view text) {
    std::vector<ExportEntry> out;
    std::string logical;
    int line_no = 0;
    int first_line = 0;
    std::string_view rest = text;
    while (!rest.empty()) {
        const auto nl = rest.find('\n');
        std::string_view line = rest.substr(0, nl);
        rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
        ++line_no;
        if (const auto hash = line.find('#'); hash != std::string_view::npos) {
            line = line.substr(0, hash);
        }
        if (logical.empty()) {
            first_line = line_no;
        }
        const bool continued = !trim(line).empty() && trim(line).back() == '\\';
        line = trim(line);
        logical += continued ? line.substr(0, line.size() - 1) : line;
        logical += ' ';
        if (continued && !rest.empty()) {
            continue;
        }
        const std::string entry = std::exchange(logical, std::string());
        const auto words = split_words(entry);
        if (words.empty()) {
            continue;
        }
        ExportEntry e;
        e.line = first_line;
        e.path = std::string(words[0]);
        if (e.path.size() >= 2 && e.path.front() == '"' && e.path.back() == '"') {
            e.path = e.path.substr(1, e.path.size() - 2);
        }
        while (e.path.size() > 1 && e.path.back() == '/') {
            e.path.pop_back();
        }
        std::string defaults;
        for (std::size_t w = 1; w < words.size(); ++w) {
            const std::string_view word = words[w];
            if (word.front() == '-') {
                defaults = std::string(word.substr(1));
                continue;
            }
            const auto open = word.find('(');
            std::string options = defaults;
            if (open != std::string_view::npos) {
                const auto close = word.find(')', open);
                const auto own =
                    word.substr(open + 1, close == std::string_view::npos ? std::string_view::npos
                                                                          : close - open - 1);
                if (!options.empty() && !own.empty()) {
                    options += ',';
                }
                options += own;
            }
            e.clients.emplace_back(std::string(word.substr(0, open)), options);
        }
        if (e.clients.empty()) {
            e.clients.emplace_back("", defaults);  // no client: everyone, default options
        }
        out.push_back(std::move(e));
    }
    return out;
}

// What makes `options` dangerous for /sched: "rw", "no_root_squash", "anonuid=0" (the
// options in effect after exportfs's defaults and later-wins rule).
std::vector<std::string> unsafe_sched_options(std::string_view options) {
    bool writable = false;
    bool root_squash = true;
    bool all_squash = false;
    bool anon_root = false;
    std::size_t i = 0;
    while (i <= options.size()) {
        const auto comma = options.find(',', i);
        const std::string_view o = trim(options.substr(
            i, comma == std::string_view::npos ? std::string_view::npos : comma - i));
        i = comma == std::string_view::npos ? options.size() + 1 : comma + 1;
        if (o == "rw") {
            writable = true;
        } else if (o == "ro") {
            writable = false;
        } else if (o == "root_squash") {
            root_squash = true;
        } else if (o == "no_root_squash") {
            root_squash = false;
        } else if (o == "all_squash") {
            all_squash = true;
        } else if (o == "no_all_squash") {
            all_squash = false;
        } else if (o.starts_with("anonuid=")) {
            anon_root = o == "anonuid=0";
        }
    }
    std::vector<std::string> bad;
    if (writable) {
        bad.emplace_back("rw");
    }
    if (!root_squash && !all_squash) {
        bad.emplace_back("no_root_squash");
    } else if (anon_root) {
        bad.emplace_back("anonuid=0");
    }
    return bad;
}

// `outer` is `inner` or a directory above it.
bool path_holds(std::string_view outer, std::string_view inner) {
    return outer == "/" || inner == outer ||
           (inner.starts_with(outer) && inner.size() > outer.size() && inner[outer.size()] == '/');
}

}  // namespace

CheckResult check_sched_export(const std::vector<ExportsFile>& files,
                               const std::string& sched_dir) {
    const std::string name = "NFS /sched";
    std::vector<std::string> problems;
    std::vector<std::string> exporting;
    std::vector<std::string> looked;
    for (const auto& file : files) {
        looked.push_back(file.path);
        for (const auto& e : parse_exports(file.text)) {
            if (!path_holds(e.path, sched_dir) && !path_holds(sched_dir, e.path)) {
                continue;
            }
            if (std::find(exporting.begin(), exporting.end(), file.path) == exporting.end()) {
                exporting.push_back(file.path);
            }
            for (const auto& [client, options] : e.clients) {
                const auto bad = unsafe_sched_options(options);
                if (!bad.empty()) {
                    problems.push_back(file.path + ":" + std::to_string(e.line) + " exports " +
                                       e.path + " to " + (client.empty() ? "everyone" : client) +
                                       " with " + join(bad, ","));
                }
            }
        }
    }
    if (!problems.empty()) {
        return check_problem(
            name, join(problems, "; ") + ": root on those hosts must neither write " + sched_dir +
                      " nor be root there, or it can replace the munge key every new node "
                      "installs and plant setuid programs; export " +
                      sched_dir +
                      " with ro,root_squash (rerun `cloudburst setup scheduler`), then run "
                      "`exportfs -ra`");
    }
    if (exporting.empty()) {
        return check_skipped(name, "no line of " + join(looked, ", ") + " exports " + sched_dir);
    }
    return check_ok(name, sched_dir + " is exported read-only with root squashed (" +
                              join(exporting, ", ") + ")");
}

bool infiniband_size(const SkuCatalog& catalog, std::string_view machine_type) {
    if (const Sku* sku = catalog.find(machine_type); sku != nullptr) {
        return sku->rdma;
    }
    std::string_view name = machine_type;
    if (name.substr(0, 9) == "Standard_") {
        name.remove_prefix(9);
    }
    name = name.substr(0, name.find('_'));
    std::size_t i = 0;
    while (i < name.size() && name[i] >= 'A' && name[i] <= 'Z') {
        ++i;
    }
    const std::size_t digits = i;
    while (i < name.size() && ((name[i] >= '0' && name[i] <= '9') || name[i] == '-')) {
        ++i;
    }
    return i > digits && name.substr(i).find('r') != std::string_view::npos;
}

CheckResult check_dynamic_nodes(const std::vector<NodeArray>& arrays,
                                const GeneratedSlurmConf& generated,
                                const std::vector<ExistingNode>& existing) {
    std::vector<std::string> problems;
    std::vector<std::string> differences;
    std::vector<std::string> present;
    for (const auto& a : arrays) {
        if (a.configuration.count("slurm.dynamic_config") == 0) {
            continue;
        }
        const std::string skipped = "node array '" + a.name + "' skipped: ";
        for (const auto& w : generated.warnings) {
            if (w.rfind(skipped, 0) == 0) {
                problems.push_back(w);
            }
        }
        for (const auto& r : generated.dynamic_nodes) {
            if (r.array != a.name) {
                continue;
            }
            auto plan = plan_dynamic_range(r, existing);
            if (!plan) {
                problems.push_back(plan.error().message);
                continue;
            }
            if (!plan->create.empty()) {
                problems.push_back("slurmctld lacks dynamic nodes " + plan->create +
                                   ": run `cloudburst scale` (after a change of the array, "
                                   "restart slurmctld first so that it reads their Nodeset and "
                                   "MaxNodeCount)");
            } else {
                present.push_back(r.hostlist);
            }
            differences.insert(differences.end(), plan->mismatches.begin(), plan->mismatches.end());
        }
    }
    if (!problems.empty()) {
        return check_problem("dynamic-nodes", join(problems, "; "));
    }
    if (!differences.empty()) {
        return check_warning("dynamic-nodes", join(differences, "; "));
    }
    if (present.empty()) {
        return check_ok("dynamic-nodes", "no dynamic node arrays");
    }
    return check_ok("dynamic-nodes", "slurmctld has the dynamic nodes " + join(present, ","));
}

CheckResult check_infiniband_placement(const std::vector<NodeArray>& arrays,
                                       const SkuCatalog& catalog, const Config& config) {
    std::vector<std::string> lacking;
    for (const auto& a : arrays) {
        if (infiniband_size(catalog, a.machine_type) &&
            effective_placement(config.node_array(a.name).placement, a) == Placement::k_none) {
            lacking.push_back(escaped(a.name) + " (" + escaped(a.machine_type) + ")");
        }
    }
    if (lacking.empty()) {
        return check_ok("placement",
                        "every node array with InfiniBand VM sizes asks for "
                        "placement groups");
    }
    std::string names;
    for (const auto& l : lacking) {
        names += (names.empty() ? "" : ", ") + l;
    }
    return check_warning(
        "placement",
        "InfiniBand VM sizes without placement groups: " + names +
            ". Their VMs will not share a fabric, so multi-node MPI jobs fail or crawl: set "
            "nodearrays.<n>.placement = \"partition\" or \"job\" (or slurm.hpc = true in "
            "the template), or ignore this for arrays that run single-node jobs only");
}

}  // namespace cb
