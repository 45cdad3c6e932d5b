// Runs a ClusterModel against a VmBackend: serialises access to the model and moves the
// lifecycle forward, either by a background ticker or one step() at a time (tests).
//
// Backend calls are made outside the model lock (the API keeps answering while VMs are being
// made), by up to `parallel_calls` threads at once; calls for one node never overlap because
// the model has at most one call per node in flight.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <thread>
#include <utility>

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
    std::thread m_ticker;
};

}  // namespace cb::emulator
