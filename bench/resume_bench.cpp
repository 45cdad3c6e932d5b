// Resume at scale through the real client over loopback HTTP, against the emulator's `none`
// backend: wall time from the request in the spool to every create call answered, the number
// of HTTP calls, then one steady-state sync pass over all the nodes (CPU time) and the
// process's RSS. The Slurm side is FakeScheduler (it holds N cloud nodes in memory), so what
// is measured is the daemon's own work plus CycleCloud round trips.
//
//   build/bench/resume_bench [N...]     (default: 1000 10000)
//
// Targets (issue #4): 1,000 nodes under 1 s with one create call per node array; a sync pass
// over 10,000 nodes under 200 ms CPU; RSS under 50 MB.
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

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

long rss_kb() {
    std::ifstream in("/proc/self/status");
    for (std::string line; std::getline(in, line);) {
        if (line.rfind("VmRSS:", 0) == 0) {
            return std::stol(line.substr(6));
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

int run(int n) {
    cb::testing_fakes::TempDir tmp("cb-resume-bench");
    const std::string dir = tmp.path();
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
    cb::CycleCloudRest cloud(cc);
    cb::testing_fakes::FakeScheduler slurm;
    std::vector<std::string> names;
    const char* arrays[] = {"hpc", "htc", "gpu", "dynamic"};
    for (int i = 0; i < n; ++i) {
        names.push_back(std::string(arrays[i % 4]) + "-" + std::to_string(i / 4 + 1));
        slurm.add_cloud_node(names.back());
    }
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

    // Steady state: every node is on its way up; a pass reads cloud and Slurm and decides.
    const double cpu0 = cpu_ms();
    const auto sync_start = Clock::now();
    (void)daemon.pass(now_ms + 1000);
    const double sync_wall =
        std::chrono::duration<double, std::milli>(Clock::now() - sync_start).count();
    const double sync_cpu = cpu_ms() - cpu0;
    std::printf(
        "nodes=%d  resume: %.0f ms, %ld HTTP calls, %ld create calls (4 node arrays)  |  "
        "sync pass: %.0f ms CPU, %.0f ms wall  |  RSS %.1f MB\n",
        n, resume_ms, calls, creates, sync_cpu, sync_wall, rss_kb() / 1024.0);
    child->stop();
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<int> sizes;
    for (int i = 1; i < argc; ++i) {
        sizes.push_back(std::atoi(argv[i]));
    }
    if (sizes.empty()) {
        sizes = {1000, 10000};
    }
    for (int n : sizes) {
        if (run(n) != 0) {
            return 1;
        }
    }
    return 0;
}
