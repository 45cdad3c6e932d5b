// Hostlists against the shared reference, slurm-power-saving.md §4: every row of the §4.6
// edge-case table and the examples of §4.1-§4.4 (all Slurm 22.05.8 results). Where Slurm
// guesses and we refuse on purpose, the test pins our error message instead.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include "util/hostlist.h"
#include "util/program.h"

namespace cb {
namespace {

using Names = std::vector<std::string>;

Hostlist parse_ok(const std::string& text, const HostlistOptions& options = {}) {
    auto list = Hostlist::parse(text, options);
    EXPECT_TRUE(list.ok()) << text << ": " << (list.ok() ? "" : list.error().message);
    return list.ok() ? std::move(*list) : Hostlist{};
}

std::string parse_error(const std::string& text, const HostlistOptions& options = {}) {
    auto list = Hostlist::parse(text, options);
    if (list.ok()) {
        ADD_FAILURE() << "accepted \"" << text << "\" as " << list->compress();
        return {};
    }
    EXPECT_EQ(list.error().kind, ErrorKind::k_invalid_input);
    return list.error().message;
}

Names n_range(int lo, int hi) {
    Names out;
    for (int i = lo; i <= hi; ++i) {
        out.push_back("n" + std::to_string(i));
    }
    return out;
}

// ---- §4.6, the rows Slurm and we agree on ----

struct Row {
    const char* input;
    Names hostnames;
    const char* hostlist;
    const char* sorted;
};

TEST(Hostlist, EdgeCaseTableValidRows) {
    const std::vector<Row> rows = {
        {"n[01-10]",
         {"n01", "n02", "n03", "n04", "n05", "n06", "n07", "n08", "n09", "n10"},
         "n[01-10]",
         "n[01-10]"},
        {"n[1-10]", n_range(1, 10), "n[1-10]", "n[1-10]"},
        {"n[001-3]", {"n001", "n002", "n003"}, "n[001-003]", "n[001-003]"},
        {"n[3,1,2]", {"n3", "n1", "n2"}, "n[3,1-2]", "n[1-3]"},
        {"n1,n1,n2", {"n1", "n1", "n2"}, "n[1,1-2]", "n[1,1-2]"},
        {"n[1-3],n[2-4]", {"n1", "n2", "n3", "n2", "n3", "n4"}, "n[1-3,2-4]", "n[1-2,2-3,3-4]"},
        {"foo-1,foo-2,foo-3", {"foo-1", "foo-2", "foo-3"}, "foo-[1-3]", "foo-[1-3]"},
        {"10.0.0.1,10.0.0.2,10.0.0.4",
         {"10.0.0.1", "10.0.0.2", "10.0.0.4"},
         "10.0.0.[1-2,4]",
         "10.0.0.[1-2,4]"},
        {"a1,b1,a2", {"a1", "b1", "a2"}, "a1,b1,a2", "a[1-2],b1"},
        {"node,node", {"node", "node"}, "node,node", "node,node"},
        {"[1-3]", {"1", "2", "3"}, "[1-3]", "[1-3]"},
    };
    for (const Row& row : rows) {
        SCOPED_TRACE(row.input);
        const Hostlist list = parse_ok(row.input);
        EXPECT_EQ(list.expand(), row.hostnames);
        EXPECT_EQ(list.size(), row.hostnames.size());
        EXPECT_EQ(list.compress(), row.hostlist);
        EXPECT_EQ(list.compress_sorted(), row.sorted);
    }
}

// ---- §4.6, invalid in Slurm 22.05 (exit 1) and for us ----

TEST(Hostlist, EdgeCaseTableInvalidRows) {
    const std::vector<std::pair<std::string, std::string>> rows = {
        {"n[a-b]", R"(invalid hostlist "n[a-b]": unexpected 'a' inside brackets at position 3)"},
        {"n[3-1]", R"(invalid hostlist "n[3-1]": decreasing range 3-1 at position 3)"},
        {"n[-1]", R"(invalid hostlist "n[-1]": missing number before '-' at position 3)"},
        {"n[1--2]", R"(invalid hostlist "n[1--2]": unexpected '-' inside brackets at position 5)"},
        {"n[]", R"(invalid hostlist "n[]": empty range at position 3)"},
        {"n[1,,2]", R"(invalid hostlist "n[1,,2]": empty range at position 5)"},
        {"n[0x1-0x3]",
         R"(invalid hostlist "n[0x1-0x3]": unexpected 'x' inside brackets at position 4)"},
        {"n[1-70000]",
         R"(invalid hostlist "n[1-70000]": range 1-70000 has more than 65536 hosts at position 3)"},
        // Invalid in 22.05 and 23.02; 23.11+ reads it as a suffix (see SuffixIsAnOption).
        {"n[1-3]-ib",
         "invalid hostlist \"n[1-3]-ib\": text after ']' (a shared suffix is Slurm "
         "23.11+ syntax, not enabled) at position 7"},
    };
    for (const auto& [input, message] : rows) {
        EXPECT_EQ(parse_error(input), message);
    }
}

// ---- §4.6, rows where Slurm 22.05 guesses and we refuse (the reference's recommendation) ----

TEST(Hostlist, EdgeCaseTableOdditiesAreRefused) {
    const std::vector<std::pair<std::string, std::string>> rows = {
        // Slurm 22.05: the single host "n]"; 23.02+: invalid.
        {"n[1-2", R"(invalid hostlist "n[1-2": unclosed '[' at position 2)"},
        // Slurm: the host "n]1". A stray ']' splits tokens oddly in Slurm ("a]b[1,2]"), so no.
        {"n]1", R"(invalid hostlist "n]1": unmatched ']' at position 2)"},
        // Slurm: n1.
        {"n[1-]", R"(invalid hostlist "n[1-]": missing number after '-' at position 4)"},
        // Slurm: n01 n02 (the '+' counts towards the width).
        {"n[+1-2]", R"(invalid hostlist "n[+1-2]": unexpected '+' inside brackets at position 3)"},
        // Slurm: n01 n02.
        {"n[1 - 2]",
         R"(invalid hostlist "n[1 - 2]": unexpected space inside brackets at position 4)"},
        // Slurm: n01 n02 n03.
        {"n[ 1-3]",
         R"(invalid hostlist "n[ 1-3]": unexpected space inside brackets at position 3)"},
    };
    for (const auto& [input, message] : rows) {
        EXPECT_EQ(parse_error(input), message);
    }
}

TEST(Hostlist, SuffixIsAnOption) {
    HostlistOptions allow;
    allow.suffix = HostlistSuffix::k_allow;
    const Hostlist list = parse_ok("n[1-3]-ib", allow);
    EXPECT_EQ(list.expand(), (Names{"n1-ib", "n2-ib", "n3-ib"}));
    // §4.3: a suffixed list stays uncompressed in every version.
    EXPECT_EQ(list.compress(), "n1-ib,n2-ib,n3-ib");
    EXPECT_EQ(parse_ok("rack[1-2]-n[1-2].ib", allow).expand(),
              (Names{"rack1-n1.ib", "rack1-n2.ib", "rack2-n1.ib", "rack2-n2.ib"}));
    EXPECT_EQ(parse_ok("n1-ib,n2-ib").compress(), "n1-ib,n2-ib");
}

// ---- §4.1 parsing ----

TEST(Hostlist, SeparatorsAndEmptyInput) {
    EXPECT_EQ(parse_ok("n[1-2],,n5").expand(), (Names{"n1", "n2", "n5"}));
    EXPECT_EQ(parse_ok(",n1").expand(), (Names{"n1"}));
    EXPECT_EQ(parse_ok("n1,").expand(), (Names{"n1"}));
    EXPECT_EQ(parse_ok("n[1-3] m[1-2]").expand(), (Names{"n1", "n2", "n3", "m1", "m2"}));
    EXPECT_EQ(parse_ok("n1\tn2\nn3").expand(), (Names{"n1", "n2", "n3"}));
    EXPECT_TRUE(parse_ok("").empty());
    EXPECT_TRUE(parse_ok(" ,\t").empty());
    EXPECT_EQ(parse_ok("").compress(), "");
}

TEST(Hostlist, WidthComesFromTheFirstNumber) {
    EXPECT_EQ(parse_ok("n[9-011]").expand(), (Names{"n9", "n10", "n11"}));
    EXPECT_EQ(parse_ok("n[001-3]").expand(), (Names{"n001", "n002", "n003"}));
    EXPECT_EQ(parse_ok("n[00-01]").expand(), (Names{"n00", "n01"}));
}

TEST(Hostlist, PrefixGroupsExpandAsSlurmDoes) {
    EXPECT_EQ(parse_ok("a[1-2]b[3-4]").expand(), (Names{"a1b3", "a1b4", "a2b3", "a2b4"}));
    EXPECT_EQ(parse_ok("rack[1-2]-n[01-02]").expand(),
              (Names{"rack1-n01", "rack1-n02", "rack2-n01", "rack2-n02"}));
    EXPECT_EQ(parse_ok("n[1,2]x[3]").expand(), (Names{"n1x3", "n2x3"}));
    EXPECT_EQ(parse_ok("a[1-2][3-4]").expand(), (Names{"a13", "a14", "a23", "a24"}));
    // Observed with libslurm 22.05.8: among prefix groups the left-most varies fastest.
    EXPECT_EQ(parse_ok("a[1-2]b[3-4]c[5]").expand(),
              (Names{"a1b3c5", "a2b3c5", "a1b4c5", "a2b4c5"}));
    // Each prefix is its own range: the names do not merge into a1[3-4] and so on.
    EXPECT_EQ(parse_ok("a[1-2][3-4]").compress(), "a1[3-4],a2[3-4]");
}

TEST(Hostlist, OrderAndDuplicatesAreKept) {
    EXPECT_EQ(parse_ok("n[3,1,2]").expand(), (Names{"n3", "n1", "n2"}));
    EXPECT_EQ(parse_ok("n1,n1").expand(), (Names{"n1", "n1"}));
}

TEST(Hostlist, LimitsMatchSlurm) {
    EXPECT_EQ(parse_ok("n[1-65536]").size(), 65536U);
    EXPECT_EQ(parse_error("n[0-65536]"),
              R"(invalid hostlist "n[0-65536]": range 0-65536 has more than 65536 hosts at )"
              "position 3");
    // Prefix groups may expand to 65536 prefixes, counted over the whole group (observed
    // with libslurm 22.05.8: 40000 + 25536 passes, 40000 + 25537 does not).
    EXPECT_EQ(parse_ok("a[1-40000,1-25536]b[1]").size(), 65536U);
    EXPECT_EQ(parse_error("a[1-40000,1-25537]b[1]"),
              "invalid hostlist \"a[1-40000,1-25537]b[1]\": brackets expand to more than 65536 "
              "prefixes at position 2");
}

TEST(Hostlist, HugeListsAreRefusedBeforeExpanding) {
    // 2^48 names: refused at once, without allocating them.
    EXPECT_EQ(parse_error("a[1-65536]b[1-65536]c[1-65536]"),
              "invalid hostlist \"a[1-65536]b[1-65536]c[1-65536]\": expands to more than 1048576 "
              "hosts (the limit) at position 1");
    HostlistOptions small;
    small.max_hosts = 10;
    EXPECT_EQ(parse_ok("n[1-10]", small).size(), 10U);
    EXPECT_EQ(parse_error("n[1-5],n[6-11]", small),
              R"(invalid hostlist "n[1-5],n[6-11]": expands to more than 10 hosts (the limit) )"
              "at position 8");
    EXPECT_EQ(parse_error("n[1-10],x", small),
              R"(invalid hostlist "n[1-10],x": expands to more than 10 hosts (the limit) at )"
              "position 9");
}

TEST(Hostlist, NamesAndNumbersAreBounded) {
    const std::string longest(255, 'x');
    EXPECT_EQ(parse_ok(longest).expand(), (Names{longest}));
    EXPECT_EQ(parse_error(longest + "y").substr(0, 20), "invalid hostlist \"xx");
    EXPECT_NE(parse_error(longest + "y").find("host name longer than 255 characters at position 1"),
              std::string::npos);
    EXPECT_NE(parse_error(std::string(254, 'x') + "[1-10]").find("host name longer"),
              std::string::npos);
    // Slurm 22.05 silently turns this into n18446744073709551615.
    EXPECT_EQ(parse_error("n99999999999999999999"),
              R"(invalid hostlist "n99999999999999999999": number larger than )"
              "999999999999999999 at position 2");
    EXPECT_EQ(parse_error("n[1-99999999999999999999]"),
              R"(invalid hostlist "n[1-99999999999999999999]": number larger than )"
              "999999999999999999 at position 5");
    EXPECT_EQ(parse_ok("n999999999999999999").expand(), (Names{"n999999999999999999"}));
    // Digits of the prefix or the suffix run on into the number of the names we make; those
    // names must read back as names too (found by the fuzzer).
    EXPECT_EQ(parse_error("n1[000000000000000001-2]"),
              R"(invalid hostlist "n1[000000000000000001-2]": host names would end in a number )"
              "larger than 999999999999999999 at position 1");
    EXPECT_EQ(parse_ok("n1[00000000000000001-2]").expand(),
              (Names{"n100000000000000001", "n100000000000000002"}));
    HostlistOptions allow;
    allow.suffix = HostlistSuffix::k_allow;
    EXPECT_EQ(parse_error("n[1-2]-1234567890123456789", allow),
              R"(invalid hostlist "n[1-2]-1234567890123456789": host names would end in a )"
              "number larger than 999999999999999999 at position 1");
    EXPECT_EQ(parse_ok("n[1-2]7", allow).expand(), (Names{"n17", "n27"}));
}

TEST(Hostlist, ErrorMessagesNameThePosition) {
    EXPECT_EQ(parse_error("n[1-"), R"(invalid hostlist "n[1-": unclosed '[' at position 2)");
    EXPECT_EQ(parse_error("n1,n[1-2,n3"),
              R"(invalid hostlist "n1,n[1-2,n3": unclosed '[' at position 5)");
    EXPECT_EQ(parse_error("n[1[2]]"), R"(invalid hostlist "n[1[2]]": '[' inside brackets at )"
                                      "position 4");
    EXPECT_EQ(parse_error("n[1-2]]"), R"(invalid hostlist "n[1-2]]": unmatched ']' at position 7)");
    EXPECT_EQ(parse_error("n[1,]"), R"(invalid hostlist "n[1,]": empty range at position 5)");
    EXPECT_EQ(parse_error("n[1-2-3]"),
              R"(invalid hostlist "n[1-2-3]": unexpected '-' inside brackets at position 6)");
    EXPECT_EQ(parse_error("a\x01"
                          "b"),
              R"(invalid hostlist "a\x01b": invalid character '\x01' at position 2)");
    EXPECT_EQ(parse_error("n\xc3\xa9"),
              R"(invalid hostlist "n\xc3\xa9": invalid character '\xc3' at position 2)");
    EXPECT_EQ(parse_error("n\r"), R"(invalid hostlist "n\x0d": invalid character '\x0d' at )"
                                  "position 2");
}

TEST(Hostlist, LongInputIsQuotedAroundTheProblem) {
    std::string text;
    for (int i = 1; i <= 1000; ++i) {
        text += "node" + std::to_string(i) + ",";
    }
    text += "bad[1-";
    EXPECT_EQ(
        parse_error(text),
        "invalid hostlist \"...e994,node995,node996,node997,node998,node999,node1000,bad[1-\": "
        "unclosed '[' at position 7897");
}

// ---- §4.2 internal model: when neighbours merge ----

TEST(Hostlist, WidthCompatibilityDecidesMerging) {
    const std::vector<std::pair<std::string, std::string>> rows = {
        {"n9,n10", "n[9-10]"}, {"n98,n99,n100", "n[98-100]"}, {"n098,n099,n100", "n[098-100]"},
        {"n8,n09", "n[8,09]"}, {"n7,n007", "n[7,007]"},       {"node-1,node-01", "node-[1,01]"},
    };
    for (const auto& [input, hostlist] : rows) {
        EXPECT_EQ(parse_ok(input).compress(), hostlist) << input;
    }
}

// ---- §4.3 output ----

TEST(Hostlist, BracketsOnlyWhenNeeded) {
    EXPECT_EQ(parse_ok("n[5]").compress(), "n5");
    EXPECT_EQ(parse_ok("n[0-0]").compress(), "n0");
    EXPECT_EQ(parse_ok("n[5],n7").compress(), "n[5,7]");
    EXPECT_EQ(parse_ok("n[5],m7").compress(), "n5,m7");
}

// ---- §4.4 sorting (observed with 22.05.8) ----

TEST(Hostlist, SortsAsSlurmDoes) {
    const std::vector<std::pair<std::string, std::string>> rows = {
        {"n3,n1,n2", "n[1-3]"},
        {"n10,n9,n8", "n[8-10]"},
        {"n1,n1,n2", "n[1,1-2]"},
        {"n[1-3],n[2-4]", "n[1-2,2-3,3-4]"},
        {"n08,n9,n10", "n[9-10,08]"},
        {"b2,a10,a9,a1b,a", "a,a[9-10],a1b,b2"},
        {"n[1-2],m[3-4],n3", "m[3-4],n[1-3]"},
        {"N1,n2", "N1,n2"},
    };
    for (const auto& [input, sorted] : rows) {
        EXPECT_EQ(parse_ok(input).compress_sorted(), sorted) << input;
        Hostlist list = parse_ok(input);
        list.sort();
        EXPECT_EQ(list.compress(), sorted) << input;
    }
}

TEST(Hostlist, SortKeepsEveryHostWhereSlurmLosesSome) {
    // libslurm 22.05.8 prints "n[3000000000]" for this: it compares numbers as 32-bit ints.
    EXPECT_EQ(parse_ok("n1,n3000000000").compress_sorted(), "n[1,3000000000]");
    // And here its overlap splitting frees a range it still uses; it prints
    // "n[11-73,73-95,95-96,...,133-134,134,1140-1143]", losing 017 and 135-320.
    const Hostlist list = parse_ok("n[1140-1143,017,11-134,73,95-320]");
    Hostlist sorted = list;
    sorted.sort();
    EXPECT_EQ(sorted.size(), list.size());
    auto before = list.expand();
    auto after = sorted.expand();
    std::sort(before.begin(), before.end());
    std::sort(after.begin(), after.end());
    EXPECT_EQ(after, before);
}

// Lists crafted to make Slurm's algorithms quadratic must not make ours so. The bounds
// are generous (both take well under a second); the quadratic versions take minutes.
TEST(Hostlist, SortIsNotQuadraticInLongDigitRuns) {
    // 20,000 prefixes that share a 200-digit run: strnatcmp rescans the run at each digit.
    std::vector<std::string> names;
    const std::string run(200, '2');
    for (int i = 0; i < 20000; ++i) {
        std::string tag;
        for (int v = i; tag.size() < 4; v /= 26) {
            tag += static_cast<char>('a' + v % 26);
        }
        names.push_back("n" + run + tag + "1");
    }
    auto list = Hostlist::from_names(names);
    ASSERT_TRUE(list.ok());
    list->sort();
    auto sorted = list->expand();
    EXPECT_EQ(sorted.front(), "n" + run + "aaaa1");
    std::sort(names.begin(), names.end());
    EXPECT_EQ(sorted, names);  // same length and shape, so byte order is natural order here
}

TEST(Hostlist, SortOfManyNestedOverlapsFinishes) {
    // Each n[1-10] would be walked past every one of the 200,000 n5 after it.
    std::string text;
    for (int i = 0; i < 20000; ++i) {
        text += "n[1-10],";
    }
    for (int i = 0; i < 200000; ++i) {
        text += "n5,";
    }
    Hostlist list = parse_ok(text);
    list.sort();
    EXPECT_EQ(list.size(), 400000U);
    const auto names = list.expand();
    EXPECT_TRUE(std::is_sorted(names.begin(), names.end(), [](const auto& a, const auto& b) {
        return natural_compare(a, b) < 0;
    }));
    EXPECT_EQ(std::count(names.begin(), names.end(), "n5"), 220000);
    EXPECT_EQ(std::count(names.begin(), names.end(), "n10"), 20000);
}

// ---- the rest of the interface ----

TEST(Hostlist, FromNamesIsPushHostForEachName) {
    auto list = Hostlist::from_names({"n3", "n1", "n2", "login", "n007"});
    ASSERT_TRUE(list.ok());
    EXPECT_EQ(list->compress(), "n[3,1-2],login,n007");
    // Brackets are not expanded in a name: they are refused.
    auto bad = Hostlist::from_names({"n1", "n[2-3]"});
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(bad.error().kind, ErrorKind::k_invalid_input);
    EXPECT_EQ(bad.error().message,
              R"(invalid host name "n[2-3]": invalid character '[' at position 2)");
    auto empty = Hostlist::from_names({""});
    ASSERT_FALSE(empty.ok());
    EXPECT_EQ(empty.error().message, R"(invalid host name "": the name is empty)");
    auto spaced = Hostlist::from_names({"n 1"});
    ASSERT_FALSE(spaced.ok());
    EXPECT_EQ(spaced.error().message,
              R"(invalid host name "n 1": invalid character space at position 2)");
}

TEST(Hostlist, AppendIsLikeJoiningWithAComma) {
    Hostlist list = parse_ok("n[1-2]");
    list.append(parse_ok("n3,m1"));
    EXPECT_EQ(list.compress(), parse_ok("n[1-2],n3,m1").compress());
    EXPECT_EQ(list.compress(), "n[1-3],m1");
    EXPECT_EQ(list.size(), 4U);
}

TEST(Hostlist, ExpandIntoAppendsTerminatedNames) {
    std::string out = "x\n";
    parse_ok("n[1-2],login").expand_into(out, '\n');
    EXPECT_EQ(out, "x\nn1\nn2\nlogin\n");
}

TEST(Hostlist, NaturalCompareIsSlurmsStrnatcmp) {
    EXPECT_LT(natural_compare("a9", "a10"), 0);
    EXPECT_GT(natural_compare("a10", "a9"), 0);
    EXPECT_LT(natural_compare("a", "a1b"), 0);
    EXPECT_LT(natural_compare("a1b", "b2"), 0);
    EXPECT_LT(natural_compare("N1", "n2"), 0);  // case-sensitive: 'N' < 'n'
    EXPECT_EQ(natural_compare("rack1-n", "rack1-n"), 0);
    // A run starting with '0' compares digit by digit: 010 < 09 < 1.
    EXPECT_LT(natural_compare("n010", "n09"), 0);
    EXPECT_LT(natural_compare("n09", "n1"), 0);
}

TEST(Hostlist, InvalidInputExitsWithOne) {
    EXPECT_EQ(exit_code_for(ErrorKind::k_invalid_input), ExitCode::k_failure);
    EXPECT_EQ(to_string(ErrorKind::k_invalid_input), "invalid-input");
}

}  // namespace
}  // namespace cb
