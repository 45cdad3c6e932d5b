#include <gtest/gtest.h>

#include "util/program.h"
#include "util/result.h"

namespace cb {
namespace {

Result<int> parse_positive(int v) {
    if (v <= 0) {
        return make_error(ErrorKind::k_usage, "must be positive, got " + std::to_string(v));
    }
    return v;
}

TEST(Result, CarriesValueOrError) {
    auto good = parse_positive(3);
    ASSERT_TRUE(good);
    EXPECT_EQ(*good, 3);
    auto bad = parse_positive(-1);
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().kind, ErrorKind::k_usage);
    EXPECT_EQ(bad.error().message, "must be positive, got -1");
}

TEST(Error, ContextIsPrependedOuterFirst) {
    Error e = make_error(ErrorKind::k_io, "permission denied")
                  .with_context("opening /x")
                  .with_context("loading config");
    EXPECT_EQ(e.describe(), "loading config: opening /x: permission denied");
}

TEST(ExitCodes, KindsMapToDocumentedCodes) {
    EXPECT_EQ(exit_code_for(ErrorKind::k_usage), ExitCode::k_usage);
    EXPECT_EQ(exit_code_for(ErrorKind::k_config), ExitCode::k_config);
    EXPECT_EQ(exit_code_for(ErrorKind::k_throttled), ExitCode::k_external);
    EXPECT_EQ(exit_code_for(ErrorKind::k_internal), ExitCode::k_internal);
}

TEST(RunMain, PrintsProgramErrorAndReturnsCode) {
    testing::internal::CaptureStderr();
    const int code = run_main(
        "prog", []() -> Result<int> { return make_error(ErrorKind::k_config, "bad key 'x'"); });
    const std::string err = testing::internal::GetCapturedStderr();
    EXPECT_EQ(code, 3);
    EXPECT_EQ(err, "prog: error: bad key 'x'\n");
}

TEST(RunMain, ExceptionIsInternalError) {
    testing::internal::CaptureStderr();
    const int code = run_main("prog", []() -> Result<int> { throw std::runtime_error("boom"); });
    const std::string err = testing::internal::GetCapturedStderr();
    EXPECT_EQ(code, 70);
    EXPECT_EQ(err, "prog: error: internal: boom (this is a bug)\n");
}

}  // namespace
}  // namespace cb
