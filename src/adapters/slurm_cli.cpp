#include "adapters/slurm_cli.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <ctime>
#include <map>

#include "util/process.h"
#include "util/sanitize.h"

namespace cb {

namespace {

// Keys scontrol prints in one-line node and partition records (22.05 .. 25.05). A value
// runs until the next " Key=" of this table, so values with spaces (Reason, OS) survive; a
// key missing here would run into the value before it (24.11 prints PowerDownOnIdle right
// after a partition's SuspendTime).
constexpr std::array<std::string_view, 87> k_known_keys{"NodeName",
                                                        "Arch",
                                                        "CoresPerSocket",
                                                        "CPUAlloc",
                                                        "CPUEfctv",
                                                        "CPUTot",
                                                        "CPULoad",
                                                        "AvailableFeatures",
                                                        "ActiveFeatures",
                                                        "Gres",
                                                        "GresDrain",
                                                        "GresUsed",
                                                        "NodeAddr",
                                                        "NodeHostName",
                                                        "Port",
                                                        "Version",
                                                        "OS",
                                                        "RealMemory",
                                                        "AllocMem",
                                                        "FreeMem",
                                                        "Sockets",
                                                        "Boards",
                                                        "MemSpecLimit",
                                                        "State",
                                                        "ThreadsPerCore",
                                                        "TmpDisk",
                                                        "Weight",
                                                        "Owner",
                                                        "MCS_label",
                                                        "Partitions",
                                                        "BootTime",
                                                        "SlurmdStartTime",
                                                        "LastBusyTime",
                                                        "ResumeAfterTime",
                                                        "CfgTRES",
                                                        "AllocTRES",
                                                        "CapWatts",
                                                        "CurrentWatts",
                                                        "AveWatts",
                                                        "ExtSensorsJoules",
                                                        "ExtSensorsWatts",
                                                        "ExtSensorsTemp",
                                                        "Reason",
                                                        "Comment",
                                                        "Extra",
                                                        "InstanceId",
                                                        "InstanceType",
                                                        "CPUSpecList",
                                                        "CoreSpecCount",
                                                        "PartitionName",
                                                        "AllowGroups",
                                                        "AllowAccounts",
                                                        "AllowQos",
                                                        "AllocNodes",
                                                        "Default",
                                                        "QoS",
                                                        "DefaultTime",
                                                        "DisableRootJobs",
                                                        "ExclusiveUser",
                                                        "GraceTime",
                                                        "Hidden",
                                                        "MaxNodes",
                                                        "MaxTime",
                                                        "MinNodes",
                                                        "LLN",
                                                        "MaxCPUsPerNode",
                                                        "Nodes",
                                                        "PriorityJobFactor",
                                                        "PriorityTier",
                                                        "RootOnly",
                                                        "ReqResv",
                                                        "OverSubscribe",
                                                        "PreemptMode",
                                                        "ResumeTimeout",
                                                        "SuspendTimeout",
                                                        "SuspendTime",
                                                        "PowerDownOnIdle",
                                                        "ExclusiveTopo",
                                                        "MaxCPUsPerSocket",
                                                        "OverTimeLimit",
                                                        "TotalCPUs",
                                                        "TotalNodes",
                                                        "SelectTypeParameters",
                                                        "JobDefaults",
                                                        "DefMemPerNode",
                                                        "MaxMemPerNode",
                                                        "TRES"};

bool is_known_key(std::string_view key) {
    return std::find(k_known_keys.begin(), k_known_keys.end(), key) != k_known_keys.end();
}

// Splits one record line into key -> value.
std::map<std::string, std::string, std::less<>> split_record(std::string_view line) {
    std::map<std::string, std::string, std::less<>> out;
    std::string key;
    std::size_t value_start = 0;
    auto flush = [&](std::size_t end) {
        if (!key.empty()) {
            std::string_view v = line.substr(value_start, end - value_start);
            while (!v.empty() && v.back() == ' ') {
                v.remove_suffix(1);
            }
            out.emplace(key, std::string(v));
        }
    };
    std::size_t pos = 0;
    while (pos < line.size()) {
        // A key starts the line or follows a space, and is made of [A-Za-z_].
        if (pos == 0 || line[pos - 1] == ' ') {
            std::size_t end = pos;
            while (end < line.size() &&
                   (std::isalpha(static_cast<unsigned char>(line[end])) != 0 || line[end] == '_')) {
                ++end;
            }
            if (end < line.size() && line[end] == '=' && end > pos &&
                (key.empty() || is_known_key(line.substr(pos, end - pos)))) {
                flush(pos);
                key = std::string(line.substr(pos, end - pos));
                value_start = end + 1;
                pos = end + 1;
                continue;
            }
        }
        ++pos;
    }
    flush(line.size());
    return out;
}

std::vector<std::string> split_list(std::string_view text, char sep) {
    std::vector<std::string> out;
    if (text.empty() || text == "(null)") {
        return out;
    }
    std::size_t start = 0;
    while (start <= text.size()) {
        const auto end = text.find(sep, start);
        const auto item =
            text.substr(start, end == std::string_view::npos ? text.npos : end - start);
        if (!item.empty()) {
            out.emplace_back(item);
        }
        if (end == std::string_view::npos) {
            break;
        }
        start = end + 1;
    }
    return out;
}

std::optional<long> parse_seconds(std::string_view v) {
    long out = 0;
    const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
    if (ec != std::errc() || end != v.data() + v.size()) {
        return std::nullopt;  // GLOBAL, INFINITE, NONE, ...
    }
    return out;
}

template <typename Record, typename Build>
Result<std::vector<Record>> parse_lines(std::string_view text, std::string_view first_key,
                                        Build build) {
    std::vector<Record> out;
    std::size_t line_no = 0;
    while (!text.empty()) {
        ++line_no;
        const auto nl = text.find('\n');
        std::string_view line = text.substr(0, nl);
        text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
        while (!line.empty() && (line.back() == ' ' || line.back() == '\r')) {
            line.remove_suffix(1);
        }
        if (line.empty() || line.rfind("No ", 0) == 0) {  // "No nodes in the system"
            continue;
        }
        auto fields = split_record(line);
        const auto it = fields.find(first_key);
        if (it == fields.end() || it->second.empty()) {
            return make_error(ErrorKind::k_slurm, "scontrol output line " +
                                                      std::to_string(line_no) + " has no " +
                                                      std::string(first_key) + "=: '" +
                                                      std::string(line.substr(0, 80)) + "'");
        }
        out.push_back(build(fields));
    }
    return out;
}

std::string get(const std::map<std::string, std::string, std::less<>>& f, std::string_view key) {
    const auto it = f.find(key);
    return it == f.end() ? std::string() : it->second;
}

}  // namespace

SlurmNodeState parse_node_state(std::string_view text) {
    SlurmNodeState state;
    auto parts = split_list(text, '+');
    for (auto& p : parts) {
        std::transform(p.begin(), p.end(), p.begin(),
                       [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    }
    if (!parts.empty()) {
        // sinfo's one-character suffixes ("IDLE~") are not part of this format; strip any.
        std::string base = parts.front();
        while (!base.empty() && std::isalpha(static_cast<unsigned char>(base.back())) == 0) {
            base.pop_back();
        }
        state.base = base;
        state.flags.insert(parts.begin() + 1, parts.end());
    }
    return state;
}

Result<std::vector<SlurmNode>> parse_scontrol_nodes(std::string_view text) {
    return parse_lines<SlurmNode>(text, "NodeName", [](const auto& f) {
        SlurmNode n;
        n.name = get(f, "NodeName");
        n.state = parse_node_state(get(f, "State"));
        n.node_addr = get(f, "NodeAddr");
        n.node_hostname = get(f, "NodeHostName");
        n.features = split_list(get(f, "AvailableFeatures"), ',');
        n.partitions = split_list(get(f, "Partitions"), ',');
        n.reason = get(f, "Reason");
        if (n.reason == "(null)" || n.reason == "none") {
            n.reason.clear();
        }
        return n;
    });
}

Result<std::vector<SlurmPartition>> parse_scontrol_partitions(std::string_view text) {
    return parse_lines<SlurmPartition>(text, "PartitionName", [](const auto& f) {
        SlurmPartition p;
        p.name = get(f, "PartitionName");
        p.nodes = get(f, "Nodes");
        if (p.nodes == "(null)") {
            p.nodes.clear();
        }
        p.suspend_time_seconds = parse_seconds(get(f, "SuspendTime"));
        p.resume_timeout_seconds = parse_seconds(get(f, "ResumeTimeout"));
        return p;
    });
}

namespace {

// Runs one of Slurm's commands; its output, or k_slurm naming `what` with its message.
Result<std::string> run_slurm_command(const Command& cmd, const std::string& what) {
    auto out = run_command(cmd);
    if (!out) {
        return out.error().with_context("running " + what);
    }
    if (!out->ok()) {
        std::string msg = out->err.empty() ? out->out : out->err;
        while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) {
            msg.pop_back();
        }
        return make_error(ErrorKind::k_slurm, what + " failed (exit " +
                                                  std::to_string(out->exit_code) +
                                                  "): " + without_control_chars(msg));
    }
    return std::move(out->out);
}

}  // namespace

Result<std::string> SlurmCli::run_scontrol(const std::vector<std::string>& args) const {
    Command cmd;
    cmd.argv.push_back(m_options.scontrol);
    cmd.argv.insert(cmd.argv.end(), args.begin(), args.end());
    cmd.env = minimal_environment();
    if (!m_options.slurm_conf.empty()) {
        cmd.env.push_back("SLURM_CONF=" + m_options.slurm_conf);
    }
    cmd.timeout = m_options.timeout;
    return run_slurm_command(cmd,
                             "scontrol " + args.front() + " " + (args.size() > 1 ? args[1] : ""));
}

Result<std::string> SlurmCli::accounting(std::int64_t from_ms, std::int64_t to_ms) const {
    auto local = [](std::int64_t ms) {
        const std::time_t t = static_cast<std::time_t>(ms / 1000);
        std::tm tm{};
        ::localtime_r(&t, &tm);
        char buf[32];
        std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
        return std::string(buf);
    };
    const auto slash = m_options.scontrol.rfind('/');
    Command cmd;
    cmd.argv = {m_options.scontrol.substr(0, slash == std::string::npos ? 0 : slash + 1) + "sacct",
                "-X",
                "-P",
                "-n",
                "-a",
                "-o",
                "JobID,User,Account,Partition,NodeList,Start,End",
                "-S",
                local(from_ms),
                "-E",
                local(to_ms)};
    cmd.env = minimal_environment();
    cmd.env.push_back("SLURM_TIME_FORMAT=%s");
    if (!m_options.slurm_conf.empty()) {
        cmd.env.push_back("SLURM_CONF=" + m_options.slurm_conf);
    }
    cmd.timeout = m_options.timeout;
    return run_slurm_command(cmd, "sacct");
}

Result<std::optional<SlurmJob>> SlurmCli::job(std::int64_t job_id) const {
    const auto slash = m_options.scontrol.rfind('/');
    Command cmd;
    cmd.argv = {m_options.scontrol.substr(0, slash == std::string::npos ? 0 : slash + 1) + "squeue",
                "-h",
                "-j",
                std::to_string(job_id),
                "-o",
                "%i|%T|%P|%D|%N|%r"};
    cmd.env = minimal_environment();
    if (!m_options.slurm_conf.empty()) {
        cmd.env.push_back("SLURM_CONF=" + m_options.slurm_conf);
    }
    cmd.timeout = m_options.timeout;
    auto text = run_slurm_command(cmd, "squeue");
    if (!text) {
        // A job Slurm has forgotten (past MinJobAge) or never had.
        if (text.error().message.find("Invalid job id") != std::string::npos) {
            return std::optional<SlurmJob>();
        }
        return text.error();
    }
    return parse_squeue_job(*text);
}

Result<std::optional<SlurmJob>> parse_squeue_job(std::string_view text) {
    const std::string_view line = text.substr(0, text.find('\n'));
    if (line.empty()) {
        return std::optional<SlurmJob>();
    }
    // The reason comes last: whatever it holds, the fields before it are split right.
    std::vector<std::string> fields;
    std::size_t start = 0;
    for (int i = 0; i < 5; ++i) {
        const auto bar = line.find('|', start);
        if (bar == std::string_view::npos) {
            return make_error(ErrorKind::k_slurm, "squeue printed '" + escaped(line) +
                                                      "', expected ID|STATE|PARTITION|NODES|"
                                                      "NODELIST|REASON");
        }
        fields.push_back(without_control_chars(line.substr(start, bar - start)));
        start = bar + 1;
    }
    SlurmJob job;
    job.id = fields[0];
    job.state = fields[1];
    job.partition = fields[2];
    job.num_nodes = fields[3];
    job.nodes = fields[4];
    job.reason = without_control_chars(line.substr(start));
    return std::optional<SlurmJob>(std::move(job));
}

Result<std::vector<SlurmNode>> SlurmCli::nodes() {
    auto text = run_scontrol({"show", "node", "-o"});
    if (!text) {
        return text.error();
    }
    return parse_scontrol_nodes(*text);
}

Result<std::vector<SlurmPartition>> SlurmCli::partitions() {
    auto text = run_scontrol({"show", "partition", "-o"});
    if (!text) {
        return text.error();
    }
    return parse_scontrol_partitions(*text);
}

std::vector<std::vector<std::string>> SlurmCli::update_commands(const NodeUpdate& u) const {
    std::vector<std::vector<std::string>> out;
    auto join = [](const std::vector<std::string>& v, std::size_t from, std::size_t to) {
        std::string s;
        for (std::size_t i = from; i < to; ++i) {
            if (i > from) {
                s += ',';
            }
            s += v[i];
        }
        return s;
    };
    for (std::size_t from = 0; from < u.names.size(); from += k_max_batch) {
        const std::size_t to = std::min(u.names.size(), from + k_max_batch);
        std::vector<std::string> args{"update", "NodeName=" + join(u.names, from, to)};
        if (!u.node_addrs.empty()) {
            args.push_back("NodeAddr=" + join(u.node_addrs, from, to));
        }
        if (!u.node_hostnames.empty()) {
            args.push_back("NodeHostName=" + join(u.node_hostnames, from, to));
        }
        if (!u.state.empty()) {
            args.push_back("State=" + u.state);
        }
        if (!u.reason.empty()) {
            args.push_back("Reason=" + without_control_chars(u.reason));
        }
        out.push_back(std::move(args));
    }
    return out;
}

Status check_node_update(const NodeUpdate& update) {
    if ((!update.node_addrs.empty() && update.node_addrs.size() != update.names.size()) ||
        (!update.node_hostnames.empty() && update.node_hostnames.size() != update.names.size())) {
        return make_error(ErrorKind::k_internal,
                          "node update: addresses and hostnames must pair with names");
    }
    auto refuse = [](const std::string& what) {
        return make_error(ErrorKind::k_invalid_input,
                          "refusing to run scontrol update: " + what + "; nothing was changed");
    };
    for (std::size_t i = 0; i < update.names.size(); ++i) {
        const std::string& name = update.names[i];
        if (!is_plain_name(name)) {
            return refuse("'" + escaped(name) + "' is not a plain node name");
        }
        // An address is CycleCloud's, checked; resetting it means giving the node's own name.
        if (i < update.node_addrs.size() && update.node_addrs[i] != name &&
            !is_ip_address(update.node_addrs[i])) {
            return refuse("NodeAddr '" + escaped(update.node_addrs[i]) + "' of " + name +
                          " is neither an IP address nor the node's name");
        }
        if (i < update.node_hostnames.size() && !is_plain_name(update.node_hostnames[i]) &&
            !is_ip_address(update.node_hostnames[i])) {
            return refuse("NodeHostName '" + escaped(update.node_hostnames[i]) + "' of " + name +
                          " is neither a plain name nor an IP address");
        }
    }
    const bool state_ok = std::all_of(update.state.begin(), update.state.end(),
                                      [](char c) { return (c >= 'A' && c <= 'Z') || c == '_'; });
    if (!state_ok) {
        return refuse("State '" + escaped(update.state) + "' is not a Slurm node state");
    }
    return ok_status();
}

Status SlurmCli::update_nodes(const NodeUpdate& update) {
    if (auto st = check_node_update(update); !st) {
        return st;
    }
    for (const auto& args : update_commands(update)) {
        if (auto r = run_scontrol(args); !r) {
            return r.error();
        }
    }
    return ok_status();
}

}  // namespace cb
