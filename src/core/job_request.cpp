#include "core/job_request.h"

#include <algorithm>
#include <array>
#include <map>
#include <nlohmann/json.hpp>

#include "util/hostlist.h"
#include "util/name_set.h"
#include "util/sanitize.h"
#include "util/text.h"

namespace cb {

namespace {

using json = nlohmann::json;

constexpr int k_max_depth = 16;
constexpr std::size_t k_max_skipped_lines = 10;

struct PhaseName {
    JobPhase phase;
    std::string_view name;
};
constexpr std::array k_phases{
    PhaseName{JobPhase::k_starting, "starting"},
    PhaseName{JobPhase::k_started, "started"},
    PhaseName{JobPhase::k_failed, "failed"},
};

// Slurm's file is two or three levels deep. What walks a parsed tree (copy, destruction of
// old versions, dump) may recurse, so a deeper text is refused before it is parsed.
bool nested_deeper_than(std::string_view text, int limit) {
    int depth = 0;
    bool in_string = false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (in_string) {
            if (c == '\\') {
                ++i;
            } else if (c == '"') {
                in_string = false;
            }
        } else if (c == '"') {
            in_string = true;
        } else if (c == '[' || c == '{') {
            if (++depth > limit) {
                return true;
            }
        } else if (c == ']' || c == '}') {
            --depth;
        }
    }
    return false;
}

class Reader {
  public:
    Reader(const std::vector<std::string>& requested, ResumeJobs& out) : m_out(out) {
        std::vector<std::string_view> names(requested.begin(), requested.end());
        m_requested = NameSet(std::move(names));
        m_max_hosts = std::max<std::size_t>(requested.size(), 1);
        // All entries together: Slurm lists a node under each job that shares it, a few
        // times over at most; a file that repeats one big entry stops here, not in memory.
        m_names_left = std::max<std::size_t>(8 * requested.size(), 64);
    }

    void read_job(std::size_t index, const json& entry) {
        if (!entry.is_object()) {
            skip("jobs[" + std::to_string(index) + "] is not an object");
            return;
        }
        const auto id = entry.find("job_id");
        if (id == entry.end() || !id->is_number_integer() || id->get<std::int64_t>() < 1 ||
            id->get<std::int64_t>() > k_max_job_id) {
            skip("jobs[" + std::to_string(index) +
                 "]: 'job_id' is not a job id (an integer from 1)");
            return;
        }
        const std::int64_t job_id = id->get<std::int64_t>();
        const std::string job = "job " + std::to_string(job_id);
        // Key presence decides the schema: 23.02+ says nodes_resume, 22.05 nodes.
        auto nodes = entry.find("nodes_resume");
        const char* key = "nodes_resume";
        if (nodes == entry.end()) {
            nodes = entry.find("nodes");
            key = "nodes";
        }
        if (nodes == entry.end() || !nodes->is_string()) {
            skip(job + ": no hostlist string in 'nodes_resume' or 'nodes'");
            return;
        }
        std::string partition;
        if (const auto p = entry.find("partition"); p != entry.end() && !p->is_null()) {
            if (!p->is_string() || !is_plain_name(p->get_ref<const std::string&>())) {
                skip(job + ": 'partition' is not a partition name");
                return;
            }
            partition = p->get<std::string>();
        }
        HostlistOptions options;
        options.max_hosts = m_max_hosts;  // a job gets no more nodes than the hook was given
        auto hosts = Hostlist::parse(nodes->get_ref<const std::string&>(), options);
        if (!hosts) {
            skip(job + ": '" + key + "' is not a hostlist of at most " +
                 std::to_string(m_max_hosts) + " nodes");
            return;
        }
        if (hosts->size() > m_names_left) {
            skip(job + ": more nodes in all than the file can name for this request");
            m_names_left = 0;
            return;
        }
        m_names_left -= hosts->size();
        std::vector<std::string> mine;
        std::size_t foreign = 0;
        for (auto& name : hosts->expand()) {
            if (m_requested.contains(name)) {
                mine.push_back(std::move(name));
            } else {
                ++foreign;
            }
        }
        if (foreign > 0) {
            skip(job + ": " + std::to_string(foreign) +
                 " node(s) not in the hook's hostlist left out");
        }
        if (mine.empty()) {
            if (foreign == 0) {
                skip(job + ": no node");
            }
            return;
        }
        std::vector<std::string> allocation = read_allocation(job, entry);
        const auto [it, fresh] = m_index.emplace(job_id, m_out.jobs.size());
        if (fresh) {
            JobRequest r;
            r.job_id = job_id;
            r.nodes = std::move(mine);
            r.partition = std::move(partition);
            r.allocation = std::move(allocation);
            m_out.jobs.push_back(std::move(r));
            return;
        }
        // The same job twice: one request with both entries' nodes.
        JobRequest& r = m_out.jobs[it->second];
        merge_sorted(r.nodes, mine);
        merge_sorted(r.allocation, allocation);
        if (r.partition.empty()) {
            r.partition = std::move(partition);
        }
    }

  private:
    static void merge_sorted(std::vector<std::string>& into, const std::vector<std::string>& add) {
        into.insert(into.end(), add.begin(), add.end());
        sort_unique(into);
    }

    // A job's `nodes_alloc` (23.02+), when it is a hostlist within what is left of the file's
    // allowance; else nothing (noted when present but unreadable).
    std::vector<std::string> read_allocation(const std::string& job, const json& entry) {
        const auto alloc = entry.find("nodes_alloc");
        if (alloc == entry.end() || alloc->is_null()) {
            return {};
        }
        const std::string left_out = job +
                                     ": 'nodes_alloc' left out (not a hostlist, or more than " +
                                     std::to_string(k_max_allocation_names) + " names in all)";
        if (!alloc->is_string() || m_allocation_left == 0) {
            skip(left_out);
            return {};
        }
        HostlistOptions options;
        options.max_hosts = m_allocation_left;
        auto hosts = Hostlist::parse(alloc->get_ref<const std::string&>(), options);
        if (!hosts) {
            skip(left_out);
            return {};
        }
        m_allocation_left -= hosts->size();
        auto names = hosts->expand();
        sort_unique(names);
        return names;
    }

    void skip(std::string line) {
        ++m_out.skipped_count;
        if (m_out.skipped.size() < k_max_skipped_lines) {
            m_out.skipped.push_back(std::move(line));
        }
    }

    ResumeJobs& m_out;
    NameSet m_requested;
    std::size_t m_max_hosts = 1;
    std::size_t m_names_left = 0;
    std::size_t m_allocation_left = k_max_allocation_names;
    std::map<std::int64_t, std::size_t> m_index;  // job id -> its entry in m_out.jobs
};

Error bad_file(const std::string& what) {
    return make_error(ErrorKind::k_invalid_input, "SLURM_RESUME_FILE: " + what);
}

}  // namespace

std::string_view to_string(JobPhase p) {
    for (const auto& k : k_phases) {
        if (k.phase == p) {
            return k.name;
        }
    }
    return "starting";
}

std::optional<JobPhase> job_phase_from_string(std::string_view s) {
    for (const auto& k : k_phases) {
        if (k.name == s) {
            return k.phase;
        }
    }
    return std::nullopt;
}

Result<ResumeJobs> parse_resume_file(std::string_view text,
                                     const std::vector<std::string>& requested) {
    if (nested_deeper_than(text, k_max_depth)) {
        return bad_file("nested deeper than " + std::to_string(k_max_depth) +
                        " levels; Slurm writes two");
    }
    const json root = json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (root.is_discarded()) {
        return bad_file("not JSON (expected Slurm's {\"jobs\":[...],...})");
    }
    if (!root.is_object()) {
        return bad_file("not a JSON object (expected Slurm's {\"jobs\":[...],...})");
    }
    ResumeJobs out;
    const auto jobs = root.find("jobs");
    if (jobs == root.end() || jobs->is_null()) {
        return out;  // a power-up with no job (scontrol update state=power_up)
    }
    if (!jobs->is_array()) {
        return bad_file("'jobs' is not an array");
    }
    Reader reader(requested, out);
    for (std::size_t i = 0; i < jobs->size(); ++i) {
        reader.read_job(i, (*jobs)[i]);
    }
    return out;
}

}  // namespace cb
