#include "util/token_bucket.h"

#include <algorithm>
#include <cmath>

namespace cb {

std::chrono::milliseconds TokenBucket::take(Clock::time_point now) {
    if (!m_started) {
        m_started = true;
        m_last = now;
    }
    if (now > m_last) {
        const double seconds = std::chrono::duration<double>(now - m_last).count();
        m_tokens = std::min(m_capacity, m_tokens + seconds * m_refill);
        m_last = now;
    }
    m_tokens -= 1;
    if (m_tokens >= 0 || m_refill <= 0) {
        return std::chrono::milliseconds(0);
    }
    return std::chrono::milliseconds(static_cast<long>(std::ceil(-m_tokens / m_refill * 1000.0)));
}

}  // namespace cb
