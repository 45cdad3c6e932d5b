#include "util/sanitize.h"

#include <gtest/gtest.h>

namespace cb {
namespace {

TEST(PlainName, LettersDigitsDotUnderscoreDashOneTo63) {
    for (const char* good : {"hpc-1", "Standard_F2s_v2", "a", "node.example", "A9"}) {
        EXPECT_TRUE(is_plain_name(good)) << good;
    }
    EXPECT_TRUE(is_plain_name(std::string(63, 'n')));
    EXPECT_FALSE(is_plain_name(std::string(64, 'n')));
    for (const char* bad :
         {"", "hpc-[1-2]", "a,b", "a b", "a=b", "a#", "a\nb", "caf\xc3\xa9", "a/b", "a:b"}) {
        EXPECT_FALSE(is_plain_name(bad)) << bad;
    }
}

TEST(IpAddress, Ipv4AndIpv6AsInetPtonReadsThem) {
    for (const char* good : {"10.1.0.4", "198.18.0.10", "::1", "fd00::4", "2001:db8::1"}) {
        EXPECT_TRUE(is_ip_address(good)) << good;
    }
    for (const char* bad : {"", "not-an-ip", "1.2.3.4 State=DOWN", " 1.2.3.4", "1.2.3.4\n", "1.2.3",
                            "256.1.1.1", "hpc-1", "1.2.3.4,5.6.7.8"}) {
        EXPECT_FALSE(is_ip_address(bad)) << bad;
    }
    EXPECT_FALSE(is_ip_address(std::string_view("1.2.3.4\0x", 9)));
}

TEST(WithoutControlChars, ARunOfControlCharactersBecomesOneSpace) {
    EXPECT_EQ(without_control_chars("plain text, kept"), "plain text, kept");
    EXPECT_EQ(without_control_chars("a\nb\x1b[31m"), "a b [31m");
    EXPECT_EQ(without_control_chars("a\r\n\tb\x7f"), "a b ");
    EXPECT_EQ(without_control_chars("C1 \xc2\x9b"
                                    "2J here"),
              "C1  2J here");
    EXPECT_EQ(without_control_chars("caf\xc3\xa9"), "caf\xc3\xa9");  // UTF-8 stays
}

TEST(Escaped, PrintableAsIsEverythingElseAsHex) {
    EXPECT_EQ(escaped("hpc-1"), "hpc-1");
    EXPECT_EQ(escaped("x\nProlog=/shared/evil.sh\n#"), "x\\x0aProlog=/shared/evil.sh\\x0a#");
    EXPECT_EQ(escaped("a\\x0ab"), "a\\\\x0ab");  // cannot pass for an escaped newline
    EXPECT_EQ(escaped("\x1b[31m\xc3\xa9"), "\\x1b[31m\\xc3\\xa9");
}

}  // namespace
}  // namespace cb
