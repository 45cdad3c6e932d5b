// Faults the emulator can inject, set by `--fault KIND=VALUE` at start or at run time through
// `POST /_emulator/faults` (and `cyclecloud-emulator fault --url ... KIND=VALUE`). The table of
// kinds is in faults.cpp (fault_help() prints it); each injected fault is counted by class.
//
// HTTP faults are decided per API request by HttpFaultInjector (never for /_emulator/*);
// node faults (capacity, quota, prepare-fail, no-slurmd, evict, deallocate-fail, ready-fail,
// ...) by the cluster model. All random draws come from RNGs seeded by --seed.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <string_view>

#include "util/result.h"

namespace cb::emulator {

enum class FaultKind {
    k_http_5xx,
    k_http_429,
    k_latency,
    k_hang,
    k_malformed_json,
    k_capacity,
    k_quota,
    k_prepare_fail,
    k_no_slurmd,
    k_evict,
    k_deallocate_fail,
    k_azure_quota,
    k_ready_fail,
    k_status,
    k_evict_notice,
    k_acquire_stall,
};
inline constexpr std::size_t k_fault_kind_count = 16;

// "http-5xx", "http-429", "latency", "hang", "malformed-json", "capacity", "quota",
// "prepare-fail", "no-slurmd", "evict", "deallocate-fail", "azure-quota", "ready-fail",
// "status", "evict-notice", "acquire-stall".
std::string_view to_string(FaultKind kind);

struct FaultSettings {
    // HTTP, per API request.
    double http_5xx_rate = 0;  // 0..1: answered 503 without doing anything
    double http_429_rate = 0;  // 0..1: answered 429 with Retry-After, without doing anything
    std::chrono::seconds retry_after{5};
    std::chrono::milliseconds latency{0};  // added before every answer
    // Added after the answer is made, per MiB of its body, on top of `latency`: a large
    // answer takes longer to make and to send (a real CycleCloud is a Java server).
    std::chrono::milliseconds latency_per_mb{0};
    double hang_rate = 0;  // 0..1: carried out, then no answer for hang_time
    std::chrono::milliseconds hang_time{120000};
    double malformed_json_rate = 0;  // 0..1: the request is carried out, its JSON body cut short
    // Nodes.
    double prepare_fail_rate = 0;     // 0..1 per node: Failed at the end of Preparing
    double no_slurmd_rate = 0;        // 0..1 per node: Ready without start_software
    double deallocate_fail_rate = 0;  // 0..1 per deallocation: Failed, VM left running
    double evict_rate = 0;            // evictions per Ready Spot node per minute
    // Lower-case VM size -> how many VMs of it Azure can run at once; absent: no limit.
    // CycleCloud does not know it: creates are accepted and the nodes fail in Acquiring.
    std::map<std::string, std::int64_t> capacity;
    // Lower-case VM size -> how many VMs of it Azure can run at once; the nodes beyond stay in
    // Acquiring with AllocationFailed in StatusMessage while CycleCloud retries, never Failed.
    std::map<std::string, std::int64_t> acquire_stall;
    // Quota overrides in cores as CycleCloud sees them (creates add fewer): a family name,
    // "regional" or "spot" -> limit in every region.
    std::map<std::string, std::int64_t> quota;
    // Quota only Azure knows (same keys): creates are accepted, the nodes fail in Acquiring.
    std::map<std::string, std::int64_t> azure_quota;
    // Cores used outside this cluster (same keys): in the consumed counts and against quota.
    std::map<std::string, std::int64_t> external_load;
    // Lower-case VM size -> why its buckets are not valid (NotActivated, DisabledMachineType).
    std::map<std::string, std::string> invalid_buckets;
    // Lower-case VM size -> the spotPlacementScore of its Spot buckets (High, Medium, Low).
    std::map<std::string, std::string> spot_scores;
    // The cluster's state (Started, Off, Starting, Terminated); creates and starts need
    // Started.
    std::string cluster_state = "Started";
    // Size. Node records in node lists and status answers padded to about this many bytes
    // with the attributes real records carry (record_padding.h); 0: the emulator's own.
    std::size_t record_bytes = 0;
};

// What a one-shot fault does to existing nodes.
enum class OneShotKind {
    k_evict,         // evict=N|NODE: the VM is reclaimed, the record disappears
    k_evict_notice,  // evict-notice=N|NODE: Ready, with the Scheduled Event; evicted later
    k_ready_fail,    // ready-fail=N|NODE: Ready -> Failed, the VM and its slurmd keep running
    k_status,        // status=NODE:STATUS: the node's Status becomes Unavailable or Started
    k_keep_alive,    // keep-alive=NODE:true|false: sets KeepAlive, as an admin would
};

// A one-shot fault: `count` nodes (Spot ones first for evictions) or the named `node`.
struct OneShotFault {
    OneShotKind kind = OneShotKind::k_evict;
    std::int64_t count = 0;
    std::string node;
    std::string value;  // k_status: the status; k_keep_alive: "true" or "false"
};
using EvictRequest = OneShotFault;

// Parses "KIND=VALUE" and applies it to `settings`. One-shot faults (evict, evict-notice,
// ready-fail, status, keep-alive) change no setting and are returned instead. `clear=all`
// resets every setting. Errors are k_usage and say what was expected.
Result<std::optional<OneShotFault>> apply_fault_spec(std::string_view spec,
                                                     FaultSettings& settings);

// One line per KIND: "  http-5xx=RATE   ...". For --help and the docs.
std::string fault_help();

// "250ms", "2s", "5m", "1h" (a unit is required). k_usage errors.
Result<std::chrono::milliseconds> parse_duration(std::string_view text);

// The latency-per-mb part of an answer's delay: `per_mib` for each 1,048,576 bytes of its
// body, pro rata (a 512 KiB answer at 100ms per MiB waits 50 ms).
std::chrono::microseconds size_latency(std::chrono::milliseconds per_mib, std::size_t bytes);

// Injected-fault counts by kind; safe from any thread.
class FaultCounters {
  public:
    void add(FaultKind kind, std::uint64_t n = 1) {
        m_counts[static_cast<std::size_t>(kind)].fetch_add(n, std::memory_order_relaxed);
    }
    std::uint64_t get(FaultKind kind) const {
        return m_counts[static_cast<std::size_t>(kind)].load(std::memory_order_relaxed);
    }

  private:
    std::array<std::atomic<std::uint64_t>, k_fault_kind_count> m_counts{};
};

// Decides the HTTP faults for each API request. Thread-safe.
class HttpFaultInjector {
  public:
    HttpFaultInjector(std::uint64_t seed, FaultCounters& counters)
        : m_rng(seed), m_counters(counters) {}

    struct Decision {
        std::chrono::milliseconds latency{0};  // wait before carrying the request out
        // Wait after, per MiB of the answer's body (size_latency()).
        std::chrono::milliseconds latency_per_mb{0};
        std::chrono::milliseconds hang{0};  // wait after carrying it out, before answering
        int status = 0;  // 0: carry the request out; 503 or 429: answer this instead
        std::chrono::seconds retry_after{0};
        bool malformed = false;  // cut the JSON body short
    };

    void set(const FaultSettings& settings);
    // Draws what happens to one request and counts the faults it gets.
    Decision decide();
    // Sleeps for `d`, or less if release_all() is called (shutdown). Returns false if released.
    bool sleep(std::chrono::microseconds d);
    // Wakes every sleeper now and makes later sleeps return at once.
    void release_all();

  private:
    std::mutex m_mutex;
    std::condition_variable m_wake;
    bool m_released = false;
    FaultSettings m_settings;
    std::mt19937_64 m_rng;
    FaultCounters& m_counters;
};

}  // namespace cb::emulator
