// Runs a ClusterModel against a VmBackend: serialises access to the model and moves the
// lifecycle forward, either by a background ticker or one step() at a time (tests).
//
// Backend calls are made outside the model lock (the API keeps answering while VMs are being
// made), by up to `parallel_calls` threads at once; calls for one node never overlap because
// the model has at most one call per node in flight. Under the ticker, starting a VM's
// software when the backend says it may be slow (a cluster-init may run for minutes) goes on
// in the background (at most `parallel_calls` at once), so one slow boot holds up no other
// node; a step() by hand waits for it
// (tests move time themselves).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "emulator/clock.h"
#include "emulator/cluster_model.h"
#include "emulator/vm_backend.h"

namespace cb::emulator {

class ModelRunner {
  public:
    ModelRunner(ClusterModel model, VmBackend& backend, const Clock& clock,
                std::size_t parallel_calls = 1);
    ModelRunner(const ModelRunner&) = delete;
    ModelRunner& operator=(const ModelRunner&) = delete;
    ~ModelRunner();  // stops the ticker

    // Calls f(model, now) under the model lock and returns what it returns.
    template <typename F>
    decltype(auto) with_model(F&& f) {
        std::lock_guard lock(m_mutex);
        return std::forward<F>(f)(m_model, m_clock.now());
    }

    // advance(now), the backend calls it asks for, and their completions. Returns the number
    // of backend calls made.
    std::size_t step();

    // Calls step() every `period` on a background thread until stop().
    void start(std::chrono::milliseconds period);
    // Stops the ticker and drops the software starts still waiting for a worker; those under
    // way go on (the backend's shutdown ends them quickly).
    void stop_ticker();
    // stop_ticker(), then waits for the software starts under way.
    void stop();

    const Clock& clock() const { return m_clock; }

  private:
    void run_call(const BackendCall& call);

    std::mutex m_mutex;
    ClusterModel m_model;
    VmBackend& m_backend;
    const Clock& m_clock;
    std::size_t m_parallel_calls;

    std::mutex m_ticker_mutex;
    std::condition_variable m_ticker_wake;
    bool m_stopping = false;
    bool m_ticking = false;  // start() ran: software starts go to the background
    std::thread m_ticker;

    // Software starts made in the background by at most parallel_calls workers, and whether
    // each worker has finished.
    struct Background {
        std::thread thread;
        std::shared_ptr<std::atomic<bool>> done;
    };
    std::mutex m_background_mutex;
    std::vector<Background> m_background;        // workers, each taking waiting calls in turn
    std::deque<BackendCall> m_waiting_software;  // software starts no worker has taken yet
    std::size_t m_background_workers = 0;        // workers still taking calls
    void start_in_background(const BackendCall& call);
    void join_finished_background(bool all);
};

}  // namespace cb::emulator
