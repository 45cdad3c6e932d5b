#include <gtest/gtest.h>

#include "util/spelling.h"

namespace cb {
namespace {

TEST(EditDistance, CountsEditsAndAdjacentSwaps) {
    EXPECT_EQ(edit_distance("", ""), 0u);
    EXPECT_EQ(edit_distance("abc", ""), 3u);
    EXPECT_EQ(edit_distance("pasword", "password"), 1u);
    EXPECT_EQ(edit_distance("wieght", "weight"), 1u);
    EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
}

TEST(ClosestMatch, SuggestsOnlyPlausibleTypos) {
    const std::vector<std::string> keys{"password", "password_file", "url", "cluster"};
    EXPECT_EQ(closest_match("pasword", keys), "password");
    EXPECT_EQ(closest_match("clutser", keys), "cluster");
    EXPECT_EQ(closest_match("uri", keys), "url");
    EXPECT_EQ(closest_match("timeout", keys), "");
    EXPECT_EQ(closest_match("ur", std::vector<std::string>{}), "");
}

}  // namespace
}  // namespace cb
