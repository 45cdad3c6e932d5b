#include <gtest/gtest.h>

#include <csignal>

#include "util/process.h"

namespace cb {
namespace {

TEST(RunCommand, CapturesOutputAndExitCode) {
    auto r = run_command({{"/bin/sh", "-c", "echo out; echo err >&2; exit 3"}, {}, {}});
    ASSERT_TRUE(r) << r.error().describe();
    EXPECT_EQ(r->exit_code, 3);
    EXPECT_EQ(r->out, "out\n");
    EXPECT_EQ(r->err, "err\n");
}

TEST(RunCommand, StdoutGoesToItsSinkAsItComes) {
    std::string seen;
    int pieces = 0;
    Command c{{"/bin/sh", "-c", "head -c 300000 /dev/zero | tr '\\0' x; echo err >&2"}, {}, {}};
    auto r = run_command(c, [&](std::string_view piece) {
        seen.append(piece);
        ++pieces;
    });
    ASSERT_TRUE(r) << r.error().describe();
    EXPECT_EQ(r->exit_code, 0);
    EXPECT_EQ(seen, std::string(300000, 'x'));
    EXPECT_GT(pieces, 1);         // more than one pipe's worth: it came in pieces
    EXPECT_TRUE(r->out.empty());  // not held twice
    EXPECT_EQ(r->err, "err\n");
}

TEST(RunCommand, FeedsInput) {
    Command c{{"/bin/cat"}, {}, "hello"};
    auto r = run_command(c);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->out, "hello");
}

TEST(RunCommand, RefusesRelativePath) {
    auto r = run_command({{"sh", "-c", "true"}, {}, {}});
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind, ErrorKind::k_internal);
}

TEST(RunCommand, MissingProgramIsIoError) {
    auto r = run_command({{"/nonexistent/prog"}, {}, {}});
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind, ErrorKind::k_io);
    EXPECT_NE(r.error().message.find("No such file"), std::string::npos);
}

TEST(RunCommand, TimeoutKillsAndReports) {
    Command c{{"/bin/sleep", "30"}, {}, {}, std::chrono::milliseconds(200)};
    auto r = run_command(c);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind, ErrorKind::k_transient);
}

TEST(RunCommand, EnvironmentIsMinimalByDefault) {
    auto r = run_command({{"/usr/bin/env"}, {}, {}});
    ASSERT_TRUE(r);
    EXPECT_EQ(r->out, "PATH=/usr/sbin:/usr/bin:/sbin:/bin\n");
}

// The daemon blocks the signals it reads from a signalfd; a command it runs must not inherit
// that: here the command's shell sends itself SIGTERM, which ends it at once only when the
// signal is not blocked (blocked, it stays pending and the shell exits 0 after the sleep).
TEST(RunCommand, TheCommandStartsWithNoSignalBlockedOrIgnored) {
    sigset_t term;
    sigset_t old;
    sigemptyset(&term);
    sigaddset(&term, SIGTERM);
    ASSERT_EQ(::pthread_sigmask(SIG_BLOCK, &term, &old), 0);
    struct sigaction ignore {};
    struct sigaction old_int {};
    ignore.sa_handler = SIG_IGN;
    ASSERT_EQ(::sigaction(SIGINT, &ignore, &old_int), 0);
    auto r = run_command({{"/bin/sh", "-c", "kill -TERM $$; sleep 3"}, {}, {}});
    auto i = run_command({{"/bin/sh", "-c", "kill -INT $$; sleep 3"}, {}, {}});
    ::sigaction(SIGINT, &old_int, nullptr);
    ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
    ASSERT_TRUE(r) << r.error().describe();
    EXPECT_EQ(r->term_signal, SIGTERM);
    ASSERT_TRUE(i) << i.error().describe();
    EXPECT_EQ(i->term_signal, SIGINT);
}

TEST(ChildProcess, StopEndsTheProcessGroup) {
    auto child = ChildProcess::spawn({{"/bin/sleep", "30"}, {}, {}, {}, true, {}});
    ASSERT_TRUE(child) << child.error().describe();
    const pid_t pid = child->pid();
    EXPECT_TRUE(child->running());
    child->stop();
    EXPECT_FALSE(child->running());
    EXPECT_NE(::kill(pid, 0), 0);
}

}  // namespace
}  // namespace cb
