// `cloudburst hostlist ...`, run as a program: output, exit codes and error lines.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "util/process.h"

namespace cb {
namespace {

CommandOutput cloudburst(std::vector<std::string> args, std::string input = {}) {
    Command command;
    command.argv = {std::string(CB_BINARY_DIR) + "/cloudburst"};
    command.argv.insert(command.argv.end(), args.begin(), args.end());
    command.input = std::move(input);
    auto out = run_command(command);
    EXPECT_TRUE(out.ok()) << (out.ok() ? "" : out.error().message);
    return out.ok() ? *out : CommandOutput{};
}

TEST(HostlistCommand, ExpandPrintsOneNamePerLine) {
    const auto out = cloudburst({"hostlist", "expand", "n[1-3],login"});
    EXPECT_EQ(out.exit_code, 0);
    EXPECT_EQ(out.out, "n1\nn2\nn3\nlogin\n");
    EXPECT_EQ(out.err, "");
}

TEST(HostlistCommand, CompressKeepsOrderAndSortSorts) {
    EXPECT_EQ(cloudburst({"hostlist", "compress", "n3,n1,n2"}).out, "n[3,1-2]\n");
    EXPECT_EQ(cloudburst({"hostlist", "sort", "n3,n1,n2"}).out, "n[1-3]\n");
    EXPECT_EQ(cloudburst({"hostlist", "sort", "n[1-3],n[2-4]"}).out, "n[1-2,2-3,3-4]\n");
}

TEST(HostlistCommand, SeveralArgumentsFormOneList) {
    EXPECT_EQ(cloudburst({"hostlist", "compress", "n1", "n2", "n[3-4]"}).out, "n[1-4]\n");
    EXPECT_EQ(cloudburst({"hostlist", "sort", "n3", "n1,n2"}).out, "n[1-3]\n");
    // Each argument is a list of its own: brackets do not continue across arguments.
    const auto split = cloudburst({"hostlist", "expand", "n[1-2", "3]"});
    EXPECT_EQ(split.exit_code, 1);
    EXPECT_EQ(split.err,
              "cloudburst: error: invalid hostlist \"n[1-2\": unclosed '[' at "
              "position 2\n");
}

TEST(HostlistCommand, BadHostlistExitsOneWithTheReason) {
    const auto out = cloudburst({"hostlist", "compress", "n[1-"});
    EXPECT_EQ(out.exit_code, 1);
    EXPECT_EQ(out.out, "");
    EXPECT_EQ(out.err,
              "cloudburst: error: invalid hostlist \"n[1-\": unclosed '[' at position 2\n");
}

TEST(HostlistCommand, SuffixNeedsTheFlag) {
    const auto refused = cloudburst({"hostlist", "expand", "n[1-2]-ib"});
    EXPECT_EQ(refused.exit_code, 1);
    EXPECT_EQ(refused.err,
              "cloudburst: error: invalid hostlist \"n[1-2]-ib\": text after ']' (a "
              "shared suffix is Slurm 23.11+ syntax, not enabled) at position 7\n");
    const auto allowed = cloudburst({"hostlist", "expand", "--suffix", "n[1-2]-ib"});
    EXPECT_EQ(allowed.exit_code, 0);
    EXPECT_EQ(allowed.out, "n1-ib\nn2-ib\n");
    EXPECT_EQ(cloudburst({"hostlist", "compress", "n[1-2]-ib", "--suffix"}).out, "n1-ib,n2-ib\n");
}

TEST(HostlistCommand, DashReadsStandardInput) {
    const auto out = cloudburst({"hostlist", "compress", "-"}, "n3\nn1\nn2\n");
    EXPECT_EQ(out.exit_code, 0);
    EXPECT_EQ(out.out, "n[3,1-2]\n");
    EXPECT_EQ(cloudburst({"hostlist", "sort", "n4", "-"}, "n3 n2\n").out, "n[2-4]\n");
}

TEST(HostlistCommand, MissingExpressionIsAUsageError) {
    const auto out = cloudburst({"hostlist", "expand"});
    EXPECT_EQ(out.exit_code, 2);
    EXPECT_EQ(out.err, "cloudburst: error: EXPR is required (run 'cloudburst --help')\n");
    EXPECT_EQ(cloudburst({"hostlist"}).exit_code, 2);
    EXPECT_EQ(cloudburst({"hostlist", "shuffle", "n1"}).exit_code, 2);
}

TEST(HostlistCommand, TooManyHostsTogetherAreRefused) {
    // Each argument is within the limit; together they are not.
    std::vector<std::string> args = {"hostlist", "compress"};
    for (int i = 0; i < 17; ++i) {
        args.push_back("a" + std::to_string(i) + "-[1-65536]");
    }
    const auto out = cloudburst(args);
    EXPECT_EQ(out.exit_code, 1);
    EXPECT_EQ(out.err,
              "cloudburst: error: the hostlists hold more than 1048576 hosts together "
              "(the limit)\n");
}

}  // namespace
}  // namespace cb
