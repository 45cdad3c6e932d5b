#include <gtest/gtest.h>

#include "util/token_bucket.h"

namespace cb {
namespace {

using namespace std::chrono_literals;

TEST(TokenBucket, BurstUpToCapacityThenPacedAtTheRefillRate) {
    TokenBucket writes(200, 10);  // Azure Resource Manager's writes per subscription
    const auto t0 = TokenBucket::Clock::time_point{} + 1h;
    for (int i = 0; i < 200; ++i) {
        ASSERT_EQ(writes.take(t0), 0ms) << "request " << i;
    }
    EXPECT_EQ(writes.take(t0), 100ms);
    EXPECT_EQ(writes.take(t0), 200ms) << "waiters are spaced out, not sent together";
    // A second later ten tokens came back, two of them already promised.
    EXPECT_EQ(writes.take(t0 + 1s), 0ms);
}

TEST(TokenBucket, RefillsNoHigherThanCapacity) {
    TokenBucket reads(2, 25);
    const auto t0 = TokenBucket::Clock::time_point{} + 1h;
    EXPECT_EQ(reads.take(t0), 0ms);
    EXPECT_EQ(reads.take(t0 + 10min), 0ms);
    EXPECT_EQ(reads.take(t0 + 10min), 0ms);
    EXPECT_EQ(reads.take(t0 + 10min), 40ms);
}

}  // namespace
}  // namespace cb
