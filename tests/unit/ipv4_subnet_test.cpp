#include "emulator/ipv4_subnet.h"

#include <gtest/gtest.h>

namespace cb::emulator {
namespace {

TEST(Ipv4Subnet, ParsesAndFormats) {
    auto subnet = parse_ipv4_subnet("198.18.4.0/24");
    ASSERT_TRUE(subnet) << subnet.error().describe();
    EXPECT_EQ(subnet->to_string(), "198.18.4.0/24");
    EXPECT_EQ(subnet->size(), 256u);
    EXPECT_EQ(format_ipv4(subnet->broadcast()), "198.18.4.255");
    EXPECT_EQ(parse_ipv4_subnet("0.0.0.0/0")->size(), std::uint64_t{1} << 32);
}

TEST(Ipv4Subnet, Contains) {
    const auto range = emulator_address_range();
    EXPECT_EQ(range.to_string(), "198.18.0.0/15");
    EXPECT_TRUE(range.contains(*parse_ipv4_subnet("198.19.255.0/24")));
    EXPECT_FALSE(range.contains(*parse_ipv4_subnet("198.20.0.0/24")));
    EXPECT_FALSE(range.contains(*parse_ipv4_subnet("198.0.0.0/8")));
    EXPECT_FALSE(parse_ipv4_subnet("198.18.4.0/24")->contains(*parse_ipv4_subnet("198.18.4.0/23")));
}

TEST(Ipv4Subnet, RejectsWithReasons) {
    auto host_bits = parse_ipv4_subnet("198.18.4.7/24");
    ASSERT_FALSE(host_bits);
    EXPECT_EQ(host_bits.error().kind, ErrorKind::k_config);
    EXPECT_EQ(host_bits.error().message,
              "invalid subnet '198.18.4.7/24': host bits are set; the network address is "
              "198.18.4.0");
    EXPECT_EQ(parse_ipv4_subnet("198.18.4.0").error().message,
              "invalid subnet '198.18.4.0': expected a.b.c.d/len");
    for (const char* bad : {"198.18.4/24", "198.18.4.0.1/24", "198.18.256.0/24", "a.b.c.d/8",
                            "198.18.4.0/33", "198.18.4.0/", "198.18..0/24", "198.18.4.0/-1"}) {
        EXPECT_FALSE(parse_ipv4_subnet(bad)) << bad;
    }
}

}  // namespace
}  // namespace cb::emulator
