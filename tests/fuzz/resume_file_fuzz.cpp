// libFuzzer target for core/job_request's parse_resume_file (SLURM_RESUME_FILE, written by
// slurmctld, read by the daemon). Run: scripts/fuzz.sh resume_file SECONDS
//
// Input: the file's text; the hook's hostlist is fixed ("cloud[1-8],hpc-[1-4]"). Besides
// "never crash, never hang", it checks what must hold for every file it reads: every job id
// is in 1..k_max_job_id and appears once, every job has nodes and each is one the hook was
// given, every partition is a plain name, and at most 10 skipped lines are kept. A rejected
// file is k_invalid_input with a message of our own ("SLURM_RESUME_FILE: ...").
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/job_request.h"
#include "util/hostlist.h"
#include "util/sanitize.h"

namespace {

void check(bool ok, const char* what) {
    if (!ok) {
        std::fprintf(stderr, "invariant failed: %s\n", what);
        std::abort();
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const std::vector<std::string> requested =
        cb::Hostlist::parse("cloud[1-8],hpc-[1-4]")->expand();
    static const std::set<std::string> allowed(requested.begin(), requested.end());
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    auto read = cb::parse_resume_file(text, requested);
    if (!read) {
        check(read.error().kind == cb::ErrorKind::k_invalid_input, "error kind");
        check(read.error().message.rfind("SLURM_RESUME_FILE: ", 0) == 0, "error message");
        return 0;
    }
    std::set<std::int64_t> ids;
    for (const auto& job : read->jobs) {
        check(job.job_id >= 1 && job.job_id <= cb::k_max_job_id, "job id in range");
        check(ids.insert(job.job_id).second, "one entry per job id");
        check(!job.nodes.empty(), "a job has nodes");
        for (const auto& node : job.nodes) {
            check(allowed.count(node) != 0, "node in the hook's hostlist");
        }
        check(job.partition.empty() || cb::is_plain_name(job.partition), "plain partition");
    }
    check(read->skipped.size() <= 10 && read->skipped.size() <= read->skipped_count,
          "skipped lines capped");
    return 0;
}
