#include "util/text.h"

#include <gtest/gtest.h>

namespace cb {
namespace {

TEST(Text, LowerEqualsAndTrim) {
    EXPECT_EQ(to_lower("Standard_HB120rs_V3"), "standard_hb120rs_v3");
    EXPECT_TRUE(iequals("Deallocate", "deALLOCATE"));
    EXPECT_FALSE(iequals("Deallocate", "Deallocated"));
    EXPECT_TRUE(iequals("", ""));
    EXPECT_EQ(trim("  a b \t\n"), "a b");
    EXPECT_EQ(trim(" \t "), "");
}

}  // namespace
}  // namespace cb
