// What an installed cloudburst says about itself and where it finds its parts: the version
// line with the git commit, the bash completion, the man page's command list, and the
// programs' installed locations (issue 14).
#include <gtest/gtest.h>

#include "fakes/temp_dir.h"

#include <sys/stat.h>

#include <filesystem>
#include <regex>
#include <string>
#include <vector>

#include "cli/system_facts.h"
#include "util/files.h"
#include "util/process.h"

namespace cb {
namespace {

CommandOutput run(std::vector<std::string> argv) {
    auto out = run_command({std::move(argv), {}, {}});
    EXPECT_TRUE(out.ok()) << (out.ok() ? "" : out.error().message);
    return out.ok() ? *out : CommandOutput{};
}

std::string cloudburst_binary() {
    return std::string(CB_BINARY_DIR) + "/cloudburst";
}

// The commit of the source tree, as git itself names it.
std::string source_commit() {
    auto head = run({"/usr/bin/git", "-C", CB_SOURCE_DIR, "rev-parse", "--short=12", "HEAD"});
    if (head.exit_code != 0) {
        return "unknown";
    }
    std::string commit = head.out.substr(0, head.out.find('\n'));
    auto diff = run({"/usr/bin/git", "-C", CB_SOURCE_DIR, "diff", "--quiet", "HEAD", "--"});
    return diff.exit_code == 1 ? commit + "-dirty" : commit;
}

TEST(InstallVersion, NamesTheVersionAndTheGitCommitOfTheSource) {
    const auto out = run({cloudburst_binary(), "version"});
    EXPECT_EQ(out.exit_code, 0);
    // The build reads the commit when it builds; the tree may have changed since, so only
    // the commit itself is compared, not the dirty mark.
    const std::regex shape(R"(cloudburst (\d+\.\d+\.\d+) \(git ([0-9a-f]{12})(-dirty)?\)\n)");
    std::smatch m;
    ASSERT_TRUE(std::regex_match(out.out, m, shape)) << out.out;
    EXPECT_EQ(m[2].str(), source_commit().substr(0, 12));
    EXPECT_EQ(run({cloudburst_binary(), "--version"}).out, out.out);
}

std::string complete(const std::string& script, const std::vector<std::string>& words) {
    std::string array;
    for (const auto& w : words) {
        array += " '" + w + "'";
    }
    const std::string program = "source '" + script + "' && COMP_WORDS=(" + array +
                                ") && COMP_CWORD=" + std::to_string(words.size() - 1) +
                                " && _cloudburst && echo \"${COMPREPLY[*]}\"";
    return run({"/bin/bash", "-c", program}).out;
}

TEST(InstallCompletion, OffersSubcommandsAndOptionsOfTheWordTyped) {
    testing_fakes::TempDir dir{"cb-completion"};
    const auto script = run({cloudburst_binary(), "completion", "bash"});
    ASSERT_EQ(script.exit_code, 0) << script.err;
    const std::string path = dir.path() + "/cloudburst.bash";
    ASSERT_TRUE(write_file_atomic(path, script.out, 0644));
    EXPECT_EQ(complete(path, {"cloudburst", "hostlist", ""}), "expand compress sort --help -h\n");
    EXPECT_EQ(complete(path, {"cloudburst", "host"}), "hostlist\n");
    EXPECT_EQ(complete(path, {"cloudburst", "--config", "/etc/x.toml", "scale", "--dr"}),
              "--dry-run\n");
    // Internal commands are not offered.
    EXPECT_EQ(complete(path, {"cloudburst", "doctor-"}), "\n");
}

TEST(InstallManPage, NamesEveryCommandThatHelpLists) {
    auto page = read_file(std::string(CB_SOURCE_DIR) + "/packaging/man/cloudburst.1.md");
    ASSERT_TRUE(page);
    const auto help = run({cloudburst_binary(), "--help"});
    const auto start = help.out.find("Subcommands:\n");
    ASSERT_NE(start, std::string::npos) << help.out;
    const std::regex line(R"(\n  ([a-z][a-z-]*) )");
    int commands = 0;
    for (std::sregex_iterator
             it(help.out.begin() + static_cast<std::ptrdiff_t>(start), help.out.end(), line),
         end;
         it != end; ++it) {
        ++commands;
        const std::string name = (*it)[1].str();
        // "**nodes**", or "**setup scheduler**" for a command with subcommands.
        const bool described = page->find("**" + name + "**") != std::string::npos ||
                               page->find("**" + name + " ") != std::string::npos;
        EXPECT_TRUE(described) << "cloudburst(1) does not describe '" << name << "'";
    }
    EXPECT_GT(commands, 10);
}

TEST(InstallPaths, ProgramsAreFoundBesideTheCliOrWhereCmakeInstallsThem) {
    // This test runs from <build>/tests, where none of them is: what is named is the layout
    // `cmake --install` makes below the prefix (<build>). Programs beside the CLI (a build
    // tree) are what every system test runs.
    const std::filesystem::path self = cli::program_dir();
    const std::filesystem::path prefix = self.parent_path();
    EXPECT_EQ(cli::installed_program("cloudburstd"), (prefix / "sbin/cloudburstd").string());
    EXPECT_EQ(cli::installed_program("cloudburst-resume"),
              (prefix / "libexec/cloudburst/cloudburst-resume").string());
    EXPECT_EQ(cli::installed_program("cloudburst"), (prefix / "bin/cloudburst").string());
}

}  // namespace
}  // namespace cb
