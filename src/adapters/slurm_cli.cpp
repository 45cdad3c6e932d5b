#include "adapters/slurm_cli.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <ctime>
#include <unordered_set>

#include "util/hostlist.h"
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
    // Asked for every word followed by '=' of every line (10,000 node lines a pass): a hash
    // set, not a scan of the table.
    static const std::unordered_set<std::string_view> k_keys(k_known_keys.begin(),
                                                             k_known_keys.end());
    return k_keys.count(key) != 0;
}

// Calls visit(key, value) for each field of one record line, in order, without copying: a
// value runs until the next " Key=" of k_known_keys (its trailing spaces dropped).
template <typename Visit>
void for_each_field(std::string_view line, Visit&& visit) {
    std::string_view key;
    std::size_t value_start = 0;
    auto flush = [&](std::size_t end) {
        if (!key.empty()) {
            std::string_view v = line.substr(value_start, end - value_start);
            while (!v.empty() && v.back() == ' ') {
                v.remove_suffix(1);
            }
            visit(key, v);
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
                key = line.substr(pos, end - pos);
                value_start = end + 1;
                pos = end + 1;
                continue;
            }
        }
        ++pos;
    }
    flush(line.size());
}

// The fields a parser takes from a record: `keys` in the order of `values`; the first
// occurrence of a key counts (a value never repeats a key scontrol prints, but a Reason may
// quote one).
template <std::size_t N>
struct Fields {
    const std::array<std::string_view, N>& keys;
    std::array<std::string_view, N> values{};
    std::array<bool, N> seen{};

    void take(std::string_view line) {
        for_each_field(line, [this](std::string_view key, std::string_view value) {
            for (std::size_t i = 0; i < N; ++i) {
                if (!seen[i] && keys[i] == key) {
                    seen[i] = true;
                    values[i] = value;
                    return;
                }
            }
        });
    }
    std::string_view operator[](std::size_t i) const { return values[i]; }
};

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

// One line read into Fields over `keys` (keys[0] must be set: the record's name) and handed
// to `build`; nullopt for a line that holds no record (empty, "No nodes in the system").
template <typename Record, std::size_t N, typename Build>
Result<std::optional<Record>> parse_line(std::string_view line, std::size_t line_no,
                                         const std::array<std::string_view, N>& keys,
                                         const Build& build) {
    while (!line.empty() && (line.back() == ' ' || line.back() == '\r')) {
        line.remove_suffix(1);
    }
    if (line.empty() || line.rfind("No ", 0) == 0) {
        return std::optional<Record>();
    }
    Fields<N> fields{keys};
    fields.take(line);
    if (fields[0].empty()) {
        return make_error(ErrorKind::k_slurm, "scontrol output line " + std::to_string(line_no) +
                                                  " has no " + std::string(keys[0]) + "=: '" +
                                                  std::string(line.substr(0, 80)) + "'");
    }
    return std::optional<Record>(build(fields));
}

// Records from scontrol's output, whole or in pieces as it comes (feed), lines split anywhere.
template <typename Record, std::size_t N, typename Build>
class LineReader {
  public:
    LineReader(const std::array<std::string_view, N>& keys, Build build)
        : m_keys(keys), m_build(std::move(build)) {}
    void feed(std::string_view text) {
        std::size_t start = 0;
        if (!m_partial.empty()) {
            const auto nl = text.find('\n');
            m_partial.append(text.substr(0, nl));
            if (nl == std::string_view::npos) {
                return;
            }
            take(m_partial);
            m_partial.clear();
            start = nl + 1;
        }
        for (auto nl = text.find('\n', start); nl != std::string_view::npos;
             nl = text.find('\n', start)) {
            take(text.substr(start, nl - start));
            start = nl + 1;
        }
        m_partial.append(text.substr(start));
    }
    void reserve(std::size_t records) { m_records.reserve(records); }
    Result<std::vector<Record>> finish() {
        if (!m_partial.empty()) {
            take(m_partial);
            m_partial.clear();
        }
        if (m_error) {
            return *m_error;
        }
        return std::move(m_records);
    }

  private:
    void take(std::string_view line) {
        ++m_line_no;
        if (m_error) {
            return;
        }
        auto r = parse_line<Record>(line, m_line_no, m_keys, m_build);
        if (!r) {
            m_error = r.error();
        } else if (*r) {
            m_records.push_back(std::move(**r));
        }
    }
    const std::array<std::string_view, N>& m_keys;
    Build m_build;
    std::vector<Record> m_records;
    std::string m_partial;
    std::size_t m_line_no = 0;
    std::optional<Error> m_error;
};

// What cloudburst reads of each node: the rest of a 600-byte line is skipped.
constexpr std::array<std::string_view, 6> k_node_keys{
    "NodeName", "State", "NodeAddr", "NodeHostName", "AvailableFeatures", "Reason"};
constexpr std::array<std::string_view, 4> k_partition_keys{"PartitionName", "Nodes", "SuspendTime",
                                                           "ResumeTimeout"};

constexpr std::array<std::string_view, 7> k_spec_keys{
    "NodeName", "State", "CPUTot", "RealMemory", "AvailableFeatures", "Gres", "Weight"};

SlurmNode build_node(const Fields<6>& f);
SlurmPartition build_partition(const Fields<4>& f);
ExistingNode build_existing_node(const Fields<7>& f);

using NodeReader = LineReader<SlurmNode, 6, SlurmNode (*)(const Fields<6>&)>;
using PartitionReader = LineReader<SlurmPartition, 4, SlurmPartition (*)(const Fields<4>&)>;

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
        state.flags.assign(std::make_move_iterator(parts.begin() + 1),
                           std::make_move_iterator(parts.end()));
    }
    return state;
}

namespace {

SlurmNode build_node(const Fields<6>& f) {
    SlurmNode n;
    n.name = std::string(f[0]);
    n.state = parse_node_state(f[1]);
    n.node_addr = std::string(f[2]);
    n.node_hostname = std::string(f[3]);
    n.features = split_list(f[4], ',');
    if (f[5] != "(null)" && f[5] != "none") {
        n.reason = std::string(f[5]);
    }
    return n;
}

ExistingNode build_existing_node(const Fields<7>& f) {
    const auto value = [](std::string_view v) {
        return v == "(null)" ? std::string() : std::string(v);
    };
    ExistingNode n;
    n.name = std::string(f[0]);
    n.dynamic = parse_node_state(f[1]).has("DYNAMIC_NORM");
    n.cpus = value(f[2]);
    n.real_memory = value(f[3]);
    n.features = value(f[4]);
    n.gres = value(f[5]);
    n.weight = value(f[6]);
    return n;
}

SlurmPartition build_partition(const Fields<4>& f) {
    SlurmPartition p;
    p.name = std::string(f[0]);
    if (f[1] != "(null)") {
        p.nodes = std::string(f[1]);
    }
    p.suspend_time_seconds = parse_seconds(f[2]);
    p.resume_timeout_seconds = parse_seconds(f[3]);
    return p;
}

}  // namespace

Result<std::vector<SlurmNode>> parse_scontrol_nodes(std::string_view text) {
    NodeReader reader(k_node_keys, &build_node);
    reader.feed(text);
    return reader.finish();
}

Result<std::vector<ExistingNode>> parse_scontrol_node_specs(std::string_view text) {
    LineReader<ExistingNode, 7, ExistingNode (*)(const Fields<7>&)> reader(k_spec_keys,
                                                                           &build_existing_node);
    reader.feed(text);
    return reader.finish();
}

Result<std::vector<SlurmPartition>> parse_scontrol_partitions(std::string_view text) {
    PartitionReader reader(k_partition_keys, &build_partition);
    reader.feed(text);
    return reader.finish();
}

namespace {

// Runs one of Slurm's commands; its output, or k_slurm naming `what` with its message.
Result<std::string> run_slurm_command(const Command& cmd, const std::string& what,
                                      const std::function<void(std::string_view)>& on_out = {}) {
    auto out = run_command(cmd, on_out);
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

Result<std::string> SlurmCli::run_scontrol(
    const std::vector<std::string>& args,
    const std::function<void(std::string_view)>& on_out) const {
    Command cmd;
    cmd.argv.push_back(m_options.scontrol);
    cmd.argv.insert(cmd.argv.end(), args.begin(), args.end());
    cmd.env = minimal_environment();
    if (!m_options.slurm_conf.empty()) {
        cmd.env.push_back("SLURM_CONF=" + m_options.slurm_conf);
    }
    cmd.timeout = m_options.timeout;
    return run_slurm_command(
        cmd, "scontrol " + args.front() + " " + (args.size() > 1 ? args[1] : ""), on_out);
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
    // Read as it comes: 10,000 nodes print 5.5 MB, never held whole beside their records.
    NodeReader reader(k_node_keys, &build_node);
    // Room for as many as the last time and a few more: 10,000 records are not moved as the
    // list grows.
    reader.reserve(m_nodes_last + m_nodes_last / 16);
    auto text = run_scontrol({"show", "node", "-o"},
                             [&reader](std::string_view piece) { reader.feed(piece); });
    if (!text) {
        return text.error();
    }
    auto nodes = reader.finish();
    if (nodes) {
        m_nodes_last = nodes->size();
    }
    return nodes;
}

Result<std::vector<SlurmPartition>> SlurmCli::partitions() {
    auto text = run_scontrol({"show", "partition", "-o"});
    if (!text) {
        return text.error();
    }
    return parse_scontrol_partitions(*text);
}

Result<std::vector<ExistingNode>> SlurmCli::node_specs() const {
    auto text = run_scontrol({"show", "node", "-o"});
    if (!text) {
        return text.error();
    }
    return parse_scontrol_node_specs(*text);
}

std::vector<std::string> SlurmCli::create_command(const std::string& hostlist,
                                                  const std::vector<NodeField>& fields) {
    std::vector<std::string> args{"create", "NodeName=" + hostlist};
    for (const auto& f : fields) {
        args.push_back(f.key + "=" + f.value);
    }
    return args;
}

Status SlurmCli::create_nodes(const std::string& hostlist, const std::vector<NodeField>& fields) {
    // Every word one argument of Key=value: a value with a space, '=' or a control character
    // would make scontrol read more keys than we meant.
    auto names = Hostlist::parse(hostlist);
    if (!names || names->empty()) {
        return make_error(ErrorKind::k_invalid_input,
                          "refusing to run scontrol create: '" + escaped(hostlist) +
                              "' is not a hostlist; nothing was changed");
    }
    for (const auto& name : names->expand()) {
        if (!is_plain_name(name)) {
            return make_error(ErrorKind::k_invalid_input,
                              "refusing to run scontrol create: '" + escaped(name) +
                                  "' is not a plain node name; nothing was changed");
        }
    }
    for (const auto& f : fields) {
        const bool key_ok = !f.key.empty() && std::all_of(f.key.begin(), f.key.end(), [](char c) {
            return std::isalpha(static_cast<unsigned char>(c)) != 0;
        });
        const bool value_ok =
            !f.value.empty() && std::none_of(f.value.begin(), f.value.end(), [](char c) {
                const auto u = static_cast<unsigned char>(c);
                return u <= ' ' || u == 0x7f || c == '=' || c == '#';
            });
        if (!key_ok || !value_ok) {
            return make_error(ErrorKind::k_invalid_input,
                              "refusing to run scontrol create: " + escaped(f.key) + "=\"" +
                                  escaped(f.value) +
                                  "\" is not one Key=value word; nothing was changed");
        }
    }
    auto r = run_scontrol(create_command(hostlist, fields));
    if (!r) {
        return r.error();
    }
    return ok_status();
}

std::vector<std::vector<std::string>> SlurmCli::update_commands(const NodeUpdate& u) const {
    std::vector<std::vector<std::string>> out;
    std::size_t from = 0;
    while (from < u.names.size()) {
        std::string names = "NodeName=";
        std::string addrs = "NodeAddr=";
        std::string hosts = "NodeHostName=";
        std::size_t to = from;
        // As many names as keep every argument within k_max_argument_bytes (at least one: a
        // name is at most 63 characters, an address or host name too), at most k_max_batch.
        while (to < u.names.size() && to - from < k_max_batch) {
            const std::size_t more =
                std::max({u.names[to].size(),
                          to < u.node_addrs.size() ? u.node_addrs[to].size() : 0,
                          to < u.node_hostnames.size() ? u.node_hostnames[to].size() : 0}) +
                1;
            if (to > from && std::max({names.size(), addrs.size(), hosts.size()}) + more >
                                 k_max_argument_bytes) {
                break;
            }
            const char* sep = to > from ? "," : "";
            names.append(sep).append(u.names[to]);
            if (!u.node_addrs.empty()) {
                addrs.append(sep).append(u.node_addrs[to]);
            }
            if (!u.node_hostnames.empty()) {
                hosts.append(sep).append(u.node_hostnames[to]);
            }
            ++to;
        }
        std::vector<std::string> args{"update", std::move(names)};
        if (!u.node_addrs.empty()) {
            args.push_back(std::move(addrs));
        }
        if (!u.node_hostnames.empty()) {
            args.push_back(std::move(hosts));
        }
        if (!u.state.empty()) {
            args.push_back("State=" + u.state);
        }
        if (!u.reason.empty()) {
            args.push_back("Reason=" + without_control_chars(u.reason));
        }
        out.push_back(std::move(args));
        from = to;
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
