// Resume at scale through the real client over loopback HTTP, against the emulator's `none`
// backend: wall time from the request in the spool to every create call answered, the number
// of HTTP calls; then the pass that finds every VM with its address (N intents change), and a
// steady-state sync pass with every node running (the periodic pass: nothing to do), as CPU
// time; and the process's RSS: the peak during the steady pass and between passes, with the
// parts that are not the daemon's (the fake Slurm, the bench's own start) shown apart. The
// emulator runs as a child process, so neither its CPU nor its memory is counted. The Slurm side is
// FakeScheduler (N cloud nodes in memory, reported apart), so what is measured is the daemon's own
// work plus CycleCloud round trips.
//
//   build/bench/resume_bench [--passes K] [--record-bytes B]... [--max-response-mb M] [N...]
//       (default: 5 steady passes; record sizes 4096 16384; cyclecloud.max_response_mb's
//       default; 1000 10000 nodes)
//
// The steady pass is run K times: its CPU time is reported as the median, with the fastest
// and slowest, and the peak RSS is the highest over all K. It is run first against the
// emulator's own records (about 1.2 KB a node), then again, on the same nodes, with records
// padded to each B bytes (the emulator's record-bytes setting: the attributes real CycleCloud
// records carry; docs/emulator.md "Size and speed"), with the node list's size as the
// emulator counted it. `--record-bytes 0` leaves that out.
//
// Last, the node list the daemon reads every pass is parsed in a fresh process each by the tree
// parser the client used first, by the SAX reader it used next, and as the daemon reads it now
// (the fast path: adapters/cyclecloud_node_list.h).
//
// Targets (issue #4): 1,000 nodes under 1 s with one create call per node array; a sync pass
// over 10,000 nodes under 200 ms CPU; RSS under 50 MB.
#include <malloc.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "adapters/cyclecloud_node_list.h"
#include "adapters/cyclecloud_rest.h"
#include "daemon/daemon.h"
#include "fakes/fake_cloud.h"
#include "fakes/temp_dir.h"
#include "util/files.h"
#include "util/hostlist.h"
#include "util/process.h"

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

double cpu_ms() {
    rusage u{};
    ::getrusage(RUSAGE_SELF, &u);
    return (u.ru_utime.tv_sec + u.ru_stime.tv_sec) * 1000.0 +
           (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1000.0;
}

// A field of /proc/self/status in kB: "VmRSS:" (now) or "VmHWM:" (peak).
long rss_kb(const std::string& field) {
    std::ifstream in("/proc/self/status");
    for (std::string line; std::getline(in, line);) {
        if (line.rfind(field, 0) == 0) {
            return std::stol(line.substr(field.size()));
        }
    }
    return -1;
}

std::string field(const std::string& line, const std::string& key) {
    std::istringstream words(line);
    for (std::string w; words >> w;) {
        if (w.rfind(key + "=", 0) == 0) {
            return w.substr(key.size() + 1);
        }
    }
    return {};
}

// One parser on a saved node list, in a fresh process (`resume_bench --parse MODE FILE`), so
// that its peak RSS is its own: prints CPU ms and the peak RSS growth while parsing.
int parse_only(const std::string& mode, const std::string& file) {
    auto body = cb::read_file(file, 1u << 30);
    if (!body) {
        return 1;
    }
    cb::configure_heap();  // as cloudburstd does
    {
        std::ofstream clear("/proc/self/clear_refs");  // the peak from here on, not the read's
        clear << "5";
    }
    const long rss0 = rss_kb("VmHWM:");
    const double cpu0 = cpu_ms();
    auto nodes = mode == "tree"      ? cb::parse_node_list(*body)
                 : mode == "general" ? cb::parse_node_list_general(*body)
                                     : cb::parse_node_list_streaming(*body);
    std::printf("%.0f %.1f %zu\n", cpu_ms() - cpu0,
                static_cast<double>(rss_kb("VmHWM:") - rss0) / 1024.0, nodes ? nodes->size() : 0);
    return nodes ? 0 : 1;
}

// The node list, as every pass reads it: CPU time and peak RSS growth of the tree parser
// (parse_node_list), the SAX reader (parse_node_list_general) and what the client uses
// (parse_node_list_streaming: the fast path).
void compare_node_list_parsers(const cb::CycleCloudConfig& cc, const std::string& dir) {
    httplib::Client http(cc.url);
    http.set_basic_auth(cc.username, cc.password);
    http.set_read_timeout(120, 0);
    auto res = http.Get("/clusters/" + cc.cluster + "/nodes");
    if (!res || res->status != 200 ||
        !cb::write_file_atomic(dir + "/nodes.json", res->body, 0600)) {
        std::fprintf(stderr, "cannot read the node list\n");
        return;
    }
    char self[4096] = {0};
    if (::readlink("/proc/self/exe", self, sizeof self - 1) <= 0) {
        return;
    }
    for (const std::string mode : {"tree", "general", "streaming"}) {
        cb::Command cmd;
        cmd.argv = {self, "--parse", mode, dir + "/nodes.json"};
        cmd.timeout = std::chrono::minutes(2);
        const auto out = cb::run_command(cmd);
        const bool got = out && out->ok();
        std::istringstream fields(got ? out->out : "");
        double ms = 0;
        double mb = 0;
        std::size_t count = 0;
        if (fields >> ms >> mb >> count) {
            std::printf(
                "  node list (%.1f MB, %zu nodes) parsed %-20s %4.0f ms CPU, peak RSS +%.1f MB\n",
                static_cast<double>(res->body.size()) / 1e6, count,
                mode == "tree"      ? "as a JSON tree:"
                : mode == "general" ? "by the SAX reader:"
                                    : "as the daemon does:",
                ms, mb);
        }
    }
}

// GET /_emulator/status: the node lists answered so far, and their bytes.
std::pair<double, double> node_list_answers(httplib::Client& http) {
    auto res = http.Get("/_emulator/status");
    if (!res || res->status != 200) {
        return {0, 0};
    }
    const auto j = nlohmann::json::parse(res->body, nullptr, false);
    const auto& tally = j["answers"]["GET /clusters/{cluster}/nodes"];
    if (!tally.is_object()) {
        return {0, 0};
    }
    return {tally["count"].get<double>(), tally["bytes"].get<double>()};
}

bool set_record_bytes(httplib::Client& http, std::size_t bytes) {
    const std::string body = "[\"record-bytes=" + std::to_string(bytes) + "\"]";
    auto res = http.Post("/_emulator/faults", body, "application/json");
    return res && res->status == 200;
}

int run(int n, int steady_passes, const std::vector<std::size_t>& record_sizes,
        long max_response_mb) {
    cb::configure_heap();  // as cloudburstd does
    // The bench's own memory before any work (its code and libraries; cloudburstd has its own).
    ::malloc_trim(0);
    const long baseline_kb = rss_kb("VmRSS:");
    cb::testing_fakes::TempDir tmp("cb-resume-bench");
    const std::string& dir = tmp.path();
    const std::string src = CB_SOURCE_DIR;
    cb::SpawnOptions emu;
    emu.argv = {std::string(CB_BINARY_DIR) + "/cyclecloud-emulator",
                "--backend",
                "none",
                "--http",
                "--template",
                src + "/templates/slurm-headless.txt",
                "--skus",
                src + "/data/azure-skus.json",
                "--state-dir",
                dir + "/emu",
                "--ready-file",
                dir + "/ready",
                "-p",
                "MaxHPCExecuteCoreCount=1000000",
                "-p",
                "MaxHTCExecuteCoreCount=1000000",
                "-p",
                "MaxHTCExecuteNodeCount=100000",
                "-p",
                "MaxGPUExecuteCoreCount=10000000",
                "-p",
                "MaxDynamicExecuteCoreCount=1000000",
                "--log-level",
                "warn"};
    emu.stdout_path = dir + "/emulator.log";
    auto child = cb::ChildProcess::spawn(emu);
    if (!child) {
        std::fprintf(stderr, "%s\n", child.error().describe().c_str());
        return 1;
    }
    const auto deadline = Clock::now() + 30s;
    std::string ready;
    while (ready.empty() && Clock::now() < deadline) {
        if (auto r = cb::read_file(dir + "/ready"); r && !r->empty()) {
            ready = *r;
        } else {
            std::this_thread::sleep_for(20ms);  // polling for the emulator's ready file
        }
    }
    if (ready.empty()) {
        std::fprintf(stderr, "emulator not ready (see %s/emulator.log)\n", dir.c_str());
        return 1;
    }
    auto creds = cb::read_file(field(ready, "credentials"));
    const std::string line = creds ? creds->substr(0, creds->find('\n')) : "";

    cb::Config config;
    config.cyclecloud.url = field(ready, "url");
    config.cyclecloud.cluster = field(ready, "cluster");
    config.cyclecloud.username = line.substr(0, line.find(':'));
    config.cyclecloud.password = line.substr(line.find(':') + 1);
    config.paths.spool_dir = dir + "/spool";
    config.paths.state_db = dir + "/state.db";
    (void)cb::make_directories(config.paths.spool_dir);
    cb::CycleCloudOptions cc;
    cc.url = config.cyclecloud.url;
    cc.cluster = config.cyclecloud.cluster;
    cc.username = config.cyclecloud.username;
    cc.password = config.cyclecloud.password;
    cc.request_timeout = 120s;
    if (max_response_mb > 0) {
        cc.max_response_bytes = static_cast<std::size_t>(max_response_mb) << 20;
    }
    cb::CycleCloudRest cloud(cc);
    cb::testing_fakes::FakeScheduler slurm;
    std::vector<std::string> names;
    const char* arrays[] = {"hpc", "htc", "gpu", "dynamic"};
    // The fake Slurm's own memory is not the daemon's (with real Slurm it is slurmctld's);
    // it is measured here and reported apart.
    const long before_fake_kb = rss_kb("VmRSS:");
    for (int i = 0; i < n; ++i) {
        names.push_back(std::string(arrays[i % 4]) + "-" + std::to_string(i / 4 + 1));
        slurm.add_cloud_node(names.back());
    }
    const long fake_slurm_kb = rss_kb("VmRSS:") - before_fake_kb;
    auto journal = cb::Journal::open(config.paths.state_db);
    if (!journal) {
        std::fprintf(stderr, "%s\n", journal.error().describe().c_str());
        return 1;
    }
    auto hosts = cb::Hostlist::from_names(names);
    cb::Daemon daemon(config, cloud, slurm, *journal);
    (void)cb::Spool(config.paths.spool_dir)
        .submit({cb::HookKind::k_resume, hosts->compress_sorted(), "", 1, 1});

    const auto start = Clock::now();
    const std::int64_t now_ms = 1'700'000'000'000;
    auto intake = daemon.intake(now_ms);
    auto pass = daemon.pass(now_ms);
    const double resume_ms =
        std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    if (!intake || !pass) {
        std::fprintf(stderr, "resume failed: %s\n",
                     (!intake ? intake.error() : pass.error()).describe().c_str());
        return 1;
    }
    const auto calls = cloud.stats().requests;
    const auto creates = daemon.stats().create_calls;

    // The pass after the create: every VM has its address (or gets it during the pass), so
    // up to N intents change and N events are journaled. Wait (bounded) until the emulator
    // reports them all with an address, so that the pass is the worst case every time.
    const auto ips_deadline = Clock::now() + 60s;
    for (;;) {
        auto vms = cloud.nodes();
        long with_ip = 0;
        for (const auto& vm : vms ? *vms : std::vector<cb::CloudNode>{}) {
            with_ip += vm.private_ip.empty() ? 0 : 1;
        }
        if (with_ip == n || Clock::now() > ips_deadline) {
            break;
        }
        std::this_thread::sleep_for(200ms);  // polling the emulator's clock-driven lifecycle
    }
    long failed_passes = 0;
    auto measure = [&](std::int64_t at_ms) {
        const double cpu0 = cpu_ms();
        const auto t0 = Clock::now();
        if (auto st = daemon.pass(at_ms); !st) {
            ++failed_passes;
            std::fprintf(stderr, "pass failed: %s\n", st.error().describe().c_str());
        }
        return std::pair{cpu_ms() - cpu0,
                         std::chrono::duration<double, std::milli>(Clock::now() - t0).count()};
    };
    const auto [addr_cpu, addr_wall] = measure(now_ms + 1000);
    // slurmd registers everywhere (as Slurm would report it), then a pass sees it.
    for (auto& [name, node] : slurm.nodes_by_name) {
        node.state.flags = {"CLOUD"};
    }
    (void)measure(now_ms + 2000);
    httplib::Client control(config.cyclecloud.url);
    control.set_basic_auth(config.cyclecloud.username, config.cyclecloud.password);
    std::printf(
        "nodes=%d  resume: %.0f ms, %ld HTTP calls, %ld create calls (4 node arrays)\n"
        "  pass publishing %d addresses: %.0f ms CPU, %.0f ms wall\n",
        n, resume_ms, calls, creates, n, addr_cpu, addr_wall);
    // Steady state, the periodic sync: every node running, nothing to do. K passes against
    // node records of `bytes` (0: the emulator's own).
    std::int64_t at_ms = now_ms + 3000;
    auto steady_passes_with = [&](std::size_t bytes) {
        if (!set_record_bytes(control, bytes)) {
            std::fprintf(stderr, "cannot set record-bytes=%zu\n", bytes);
            return false;
        }
        const auto answers0 = node_list_answers(control);
        // cloudburstd gives freed memory back after every pass (malloc_trim); so does the
        // bench. The peak is then measured over the steady passes alone (clear_refs "5"
        // resets VmHWM).
        ::malloc_trim(0);
        {
            std::ofstream clear("/proc/self/clear_refs");
            clear << "5";
        }
        std::vector<std::pair<double, double>> steady;
        const long failures0 = failed_passes;
        for (int i = 0; i < steady_passes; ++i) {
            steady.push_back(measure(at_ms));
            at_ms += 1000;
            ::malloc_trim(0);
        }
        const long failed = failed_passes - failures0;
        std::sort(steady.begin(), steady.end());
        const auto [sync_cpu, sync_wall] = steady[steady.size() / 2];
        const double peak_mb = rss_kb("VmHWM:") / 1024.0;
        ::malloc_trim(0);
        const double between_mb = rss_kb("VmRSS:") / 1024.0;
        const auto answers1 = node_list_answers(control);
        const double lists = answers1.first - answers0.first;
        const double list_mb = lists > 0 ? (answers1.second - answers0.second) / lists / 1e6 : 0;
        const std::string records = bytes == 0 ? std::string("the emulator's own records")
                                               : "records of " + std::to_string(bytes) + " bytes";
        std::printf(
            "  steady sync pass, %s (node list %.1f MB; median of %zu%s): %.0f ms CPU "
            "(%.0f to %.0f), %.0f ms wall\n"
            "    RSS: peak during the steady passes %.1f MB, between passes %.1f MB\n",
            records.c_str(), list_mb, steady.size(),
            failed > 0 ? (", " + std::to_string(failed) + " FAILED").c_str() : "", sync_cpu,
            steady.front().first, steady.back().first, sync_wall, peak_mb, between_mb);
        return true;
    };
    if (!steady_passes_with(0)) {
        return 1;
    }
    std::printf("    of which the fake Slurm %.1f MB and the bench before any work %.1f MB\n",
                fake_slurm_kb / 1024.0, baseline_kb / 1024.0);
    for (const std::size_t bytes : record_sizes) {
        if (!steady_passes_with(bytes)) {
            return 1;
        }
    }
    (void)set_record_bytes(control, 0);
    compare_node_list_parsers(config.cyclecloud, dir);
    child->stop();
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc == 4 && std::string(argv[1]) == "--parse") {
        return parse_only(argv[2], argv[3]);
    }
    std::vector<int> sizes;
    int steady_passes = 5;
    std::vector<std::size_t> record_sizes;
    bool records_given = false;
    long max_response_mb = 0;
    for (int i = 1; i < argc; ++i) {
        const bool is_passes = std::string(argv[i]) == "--passes";
        const bool is_records = std::string(argv[i]) == "--record-bytes";
        const bool is_cap = std::string(argv[i]) == "--max-response-mb";
        if ((is_passes || is_records || is_cap) && ++i == argc) {
            std::fprintf(stderr,
                         "usage: resume_bench [--passes K] [--record-bytes B]... "
                         "[--max-response-mb M] [N...]\n");
            return 2;
        }
        char* end = nullptr;
        const long value = std::strtol(argv[i], &end, 10);
        const long least = is_records ? 0 : 1;
        if (end == argv[i] || *end != '\0' || value < least || value > 1000000) {
            std::fprintf(stderr, "resume_bench: '%s' is not a count from %ld to 1000000\n", argv[i],
                         least);
            return 2;
        }
        if (is_passes) {
            steady_passes = static_cast<int>(value);
        } else if (is_cap) {
            max_response_mb = value;
        } else if (is_records) {
            records_given = true;
            if (value > 0) {
                record_sizes.push_back(static_cast<std::size_t>(value));
            }
        } else {
            sizes.push_back(static_cast<int>(value));
        }
    }
    if (sizes.empty()) {
        sizes = {1000, 10000};
    }
    if (!records_given) {
        record_sizes = {4096, 16384};
    }
    for (int n : sizes) {
        if (run(n, steady_passes, record_sizes, max_response_mb) != 0) {
            return 1;
        }
    }
    return 0;
}
