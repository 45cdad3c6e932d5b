#include "util/name_set.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace cb {
namespace {

TEST(NameSet, FindsEveryNameAndNothingElse) {
    std::vector<std::string> names;
    for (int i = 1; i <= 1000; i += 2) {
        names.push_back("hpc-" + std::to_string(i));
        names.push_back("a-long-cluster-prefix-dynamic-" + std::to_string(i));  // not SSO
    }
    const NameSet set(std::vector<std::string_view>(names.begin(), names.end()));
    EXPECT_EQ(set.size(), names.size());
    for (const auto& n : names) {
        EXPECT_TRUE(set.contains(n)) << n;
    }
    for (int i = 2; i <= 1000; i += 2) {
        EXPECT_FALSE(set.contains("hpc-" + std::to_string(i)));
    }
    EXPECT_FALSE(set.contains("hpc-"));
    EXPECT_FALSE(set.contains("hpc-11x"));
    EXPECT_FALSE(set.contains(""));
}

TEST(NameSet, DuplicatesCountOnceAndEmptyHoldsNothing) {
    const NameSet set({"gpu-2", "gpu-1", "gpu-2"});
    EXPECT_EQ(set.size(), 2u);
    EXPECT_TRUE(set.contains("gpu-1"));
    EXPECT_TRUE(set.contains("gpu-2"));
    const NameSet empty;
    EXPECT_EQ(empty.size(), 0u);
    EXPECT_FALSE(empty.contains("gpu-1"));
    const NameSet none(std::vector<std::string_view>{});
    EXPECT_FALSE(none.contains(""));
}

}  // namespace
}  // namespace cb
