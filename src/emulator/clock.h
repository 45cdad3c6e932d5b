// Where the emulator's "now" comes from: the system clock when serving, a hand-moved clock in
// tests (so lifecycle timings are tested without sleeping).
#pragma once

#include <chrono>
#include <mutex>

namespace cb::emulator {

using Time = std::chrono::system_clock::time_point;

class Clock {
  public:
    virtual ~Clock() = default;
    virtual Time now() const = 0;
};

class SystemClock final : public Clock {
  public:
    Time now() const override { return std::chrono::system_clock::now(); }
};

// Stands still until advanced. Thread-safe.
class ManualClock final : public Clock {
  public:
    explicit ManualClock(Time start = Time(std::chrono::hours(24 * 365 * 56))) : m_now(start) {}
    Time now() const override {
        std::lock_guard lock(m_mutex);
        return m_now;
    }
    void advance(std::chrono::milliseconds by) {
        std::lock_guard lock(m_mutex);
        m_now += by;
    }

  private:
    mutable std::mutex m_mutex;
    Time m_now;
};

}  // namespace cb::emulator
