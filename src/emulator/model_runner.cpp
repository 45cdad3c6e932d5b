#include "emulator/model_runner.h"

#include <algorithm>
#include <exception>
#include <iterator>
#include <vector>

#include "util/log.h"

namespace cb::emulator {

ModelRunner::ModelRunner(ClusterModel model, VmBackend& backend, const Clock& clock,
                         std::size_t parallel_calls)
    : m_model(std::move(model)),
      m_backend(backend),
      m_clock(clock),
      m_parallel_calls(std::max<std::size_t>(1, parallel_calls)) {}

ModelRunner::~ModelRunner() {
    stop();
}

void ModelRunner::run_call(const BackendCall& call) {
    // A backend that throws is a bug in the backend; the node fails instead of the emulator.
    auto guarded = [&](auto&& f) -> decltype(f()) {
        try {
            return f();
        } catch (const std::exception& e) {
            return make_error(ErrorKind::k_internal,
                              std::string("the VM backend threw: ") + e.what());
        }
    };
    switch (call.step) {
        case VmStep::k_create_vm: {
            const Result<VmIdentity> r = guarded([&]() -> Result<VmIdentity> {
                return m_backend.create_vm(call.node, call.placement);
            });
            if (!r) {
                log::warn("create_vm {}: {}", call.node, r.error().describe());
            }
            with_model([&](ClusterModel& m, Time now) { m.complete_create_vm(call.node, r, now); });
            break;
        }
        case VmStep::k_start_software: {
            const Status r = guarded(
                [&]() -> Status { return m_backend.start_software(call.node, call.software); });
            if (!r) {
                log::warn("start_software {}: {}", call.node, r.error().describe());
            }
            with_model(
                [&](ClusterModel& m, Time now) { m.complete_start_software(call.node, r, now); });
            break;
        }
        case VmStep::k_destroy_vm: {
            const Status r = guarded([&]() -> Status { return m_backend.destroy_vm(call.node); });
            if (!r) {
                log::warn("destroy_vm {}: {}", call.node, r.error().describe());
            }
            with_model(
                [&](ClusterModel& m, Time now) { m.complete_destroy_vm(call.node, r, now); });
            break;
        }
    }
}

void ModelRunner::start_in_background(const BackendCall& call) {
    // At most parallel_calls boots at once (as many workers); the others wait their turn.
    std::lock_guard lock(m_background_mutex);
    m_waiting_software.push_back(call);
    if (m_background_workers >= m_parallel_calls) {
        return;
    }
    ++m_background_workers;
    auto done = std::make_shared<std::atomic<bool>>(false);
    std::thread worker([this, done] {
        for (;;) {
            BackendCall next;
            {
                std::lock_guard worker_lock(m_background_mutex);
                if (m_waiting_software.empty()) {
                    --m_background_workers;
                    done->store(true);
                    return;
                }
                next = std::move(m_waiting_software.front());
                m_waiting_software.pop_front();
            }
            run_call(next);
        }
    });
    m_background.push_back({std::move(worker), std::move(done)});
}

void ModelRunner::join_finished_background(bool all) {
    std::vector<Background> finished;
    {
        std::lock_guard lock(m_background_mutex);
        auto still = std::partition(m_background.begin(), m_background.end(),
                                    [all](const Background& b) { return !all && !b.done->load(); });
        std::move(still, m_background.end(), std::back_inserter(finished));
        m_background.erase(still, m_background.end());
    }
    for (auto& b : finished) {
        b.thread.join();
    }
}

std::size_t ModelRunner::step() {
    join_finished_background(false);
    std::vector<BackendCall> calls =
        with_model([](ClusterModel& m, Time now) { return m.advance(now); });
    bool ticking = false;
    {
        std::lock_guard lock(m_ticker_mutex);
        ticking = m_ticking;
    }
    const std::size_t count = calls.size();
    if (ticking && m_backend.slow_software()) {
        const auto software = std::stable_partition(
            calls.begin(), calls.end(),
            [](const BackendCall& c) { return c.step != VmStep::k_start_software; });
        std::for_each(software, calls.end(),
                      [this](const BackendCall& c) { start_in_background(c); });
        calls.erase(software, calls.end());
    }
    const std::size_t workers = std::min(m_parallel_calls, calls.size());
    if (workers <= 1) {
        for (const auto& call : calls) {
            run_call(call);
        }
        return count;
    }
    std::atomic<std::size_t> next{0};
    std::vector<std::thread> threads;
    threads.reserve(workers);
    for (std::size_t w = 0; w < workers; ++w) {
        threads.emplace_back([&] {
            for (std::size_t i = next++; i < calls.size(); i = next++) {
                run_call(calls[i]);
            }
        });
    }
    for (auto& t : threads) {
        t.join();
    }
    return count;
}

void ModelRunner::start(std::chrono::milliseconds period) {
    {
        std::lock_guard lock(m_ticker_mutex);
        m_stopping = false;
        m_ticking = true;
    }
    m_ticker = std::thread([this, period] {
        std::unique_lock lock(m_ticker_mutex);
        while (!m_stopping) {
            lock.unlock();
            step();
            lock.lock();
            m_ticker_wake.wait_for(lock, period, [this] { return m_stopping; });
        }
    });
}

void ModelRunner::stop_ticker() {
    {
        std::lock_guard lock(m_ticker_mutex);
        m_stopping = true;
    }
    m_ticker_wake.notify_all();
    if (m_ticker.joinable()) {
        m_ticker.join();
    }
    {
        // Software starts not begun yet never begin: the backend's shutdown comes next, and a
        // boot begun after it would outlive the emulator.
        std::lock_guard lock(m_background_mutex);
        m_waiting_software.clear();
    }
    std::lock_guard lock(m_ticker_mutex);
    m_ticking = false;
}

void ModelRunner::stop() {
    stop_ticker();
    join_finished_background(true);
}

}  // namespace cb::emulator
