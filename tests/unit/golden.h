// Golden files of the unit tests (tests/unit/golden/): what a generator writes, checked in.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "core/slurm_conf_gen.h"

namespace cb::testing_golden {

inline std::string golden_path(const std::string& name) {
    return std::string(CB_SOURCE_DIR) + "/tests/unit/golden/" + name;
}

// Compares `text` with the golden file; CB_UPDATE_GOLDEN=1 rewrites the file instead (then
// read the diff before committing it).
inline void expect_golden(const std::string& name, const std::string& text) {
    if (std::getenv("CB_UPDATE_GOLDEN") != nullptr) {
        std::ofstream(golden_path(name), std::ios::binary) << text;
        return;
    }
    std::ifstream in(golden_path(name), std::ios::binary);
    ASSERT_TRUE(in) << golden_path(name) << " is missing (CB_UPDATE_GOLDEN=1 writes it)";
    std::stringstream want;
    want << in.rdbuf();
    EXPECT_EQ(text, want.str()) << name << " differs: " << line_diff(want.str(), text);
}

}  // namespace cb::testing_golden
