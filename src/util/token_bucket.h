// A token bucket: `capacity` requests at once, refilled at `refill_per_second`. Azure Resource
// Manager throttles each subscription this way (reads 250 / 25 per s, writes and deletes
// 200 / 10 per s); pacing our own calls to the same shape keeps a burst of creates from
// being throttled at all. Pure: time is an argument.
#pragma once

#include <chrono>

namespace cb {

class TokenBucket {
  public:
    using Clock = std::chrono::steady_clock;

    TokenBucket(double capacity, double refill_per_second)
        : m_capacity(capacity), m_refill(refill_per_second), m_tokens(capacity) {}

    // Takes one token: returns how long to wait before sending (zero when one was there).
    // The token is reserved either way, so callers that wait in turn are spaced out.
    std::chrono::milliseconds take(Clock::time_point now);

    double capacity() const { return m_capacity; }

  private:
    double m_capacity;
    double m_refill;
    double m_tokens;
    Clock::time_point m_last{};
    bool m_started = false;
};

}  // namespace cb
