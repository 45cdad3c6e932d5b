#include "emulator/model_runner.h"

#include <algorithm>
#include <exception>
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
            const Result<VmIdentity> r =
                guarded([&]() -> Result<VmIdentity> { return m_backend.create_vm(call.node); });
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

std::size_t ModelRunner::step() {
    const std::vector<BackendCall> calls =
        with_model([](ClusterModel& m, Time now) { return m.advance(now); });
    const std::size_t workers = std::min(m_parallel_calls, calls.size());
    if (workers <= 1) {
        for (const auto& call : calls) {
            run_call(call);
        }
        return calls.size();
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
    return calls.size();
}

void ModelRunner::start(std::chrono::milliseconds period) {
    {
        std::lock_guard lock(m_ticker_mutex);
        m_stopping = false;
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

void ModelRunner::stop() {
    {
        std::lock_guard lock(m_ticker_mutex);
        m_stopping = true;
    }
    m_ticker_wake.notify_all();
    if (m_ticker.joinable()) {
        m_ticker.join();
    }
}

}  // namespace cb::emulator
