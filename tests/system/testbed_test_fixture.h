// The fixture of system tests that bring up a testbed, some with files of their own for it
// (a cloudburst.toml addition, an extra slurm.conf).
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "testbed.h"

namespace cb::system_test {

class TestbedTest : public ::testing::Test {
  protected:
    void SetUp() override {
        if (auto why = why_system_tests_cannot_run(); !why.empty()) {
            GTEST_SKIP() << why;
        }
    }

    // Writes NAME with `text` into a directory of the test's own (made at the first call,
    // removed after the testbed is down) and returns its path. Errors: k_io.
    Result<std::string> write_file(const std::string& name, std::string_view text) {
        if (!m_files) {
            auto files = TempDir::create("cb-system");
            if (!files) {
                return files.error();
            }
            m_files.emplace(std::move(*files));
        }
        return m_files->write(name, text);
    }

    // Files that outlive testbed.sh's reading of them (declared first: removed last).
    std::optional<TempDir> m_files;
    std::unique_ptr<Testbed> m_tb;
};

}  // namespace cb::system_test
