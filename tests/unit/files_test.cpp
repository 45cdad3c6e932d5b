#include <gtest/gtest.h>

#include <sys/stat.h>
#include "fakes/temp_dir.h"

#include <cstdlib>
#include <filesystem>

#include "util/files.h"

namespace cb {
namespace {

class FilesTest : public testing::Test {
  protected:
    testing_fakes::TempDir m_tmp{"cb-files"};
    const std::string m_dir = m_tmp.path();
};

TEST_F(FilesTest, AtomicWriteReplacesWholeFileWithMode) {
    const std::string path = m_dir + "/f";
    ASSERT_TRUE(write_file_atomic(path, "first", 0600));
    ASSERT_TRUE(write_file_atomic(path, "second", 0640));
    auto got = read_file(path);
    ASSERT_TRUE(got);
    EXPECT_EQ(*got, "second");
    struct stat st {};
    ASSERT_EQ(::stat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0640u);
    // No temporary files are left next to it.
    int entries = 0;
    for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(m_dir)) {
        ++entries;
    }
    EXPECT_EQ(entries, 1);
}

TEST_F(FilesTest, AtomicWriteIntoMissingDirectoryFails) {
    auto st = write_file_atomic(m_dir + "/nope/f", "x");
    ASSERT_FALSE(st);
    EXPECT_EQ(st.error().kind, ErrorKind::k_io);
    EXPECT_NE(st.error().message.find(m_dir + "/nope/f"), std::string::npos);
}

TEST_F(FilesTest, ReadFileRefusesOversize) {
    const std::string path = m_dir + "/big";
    ASSERT_TRUE(write_file_atomic(path, std::string(100, 'x')));
    auto got = read_file(path, 10);
    ASSERT_FALSE(got);
    EXPECT_EQ(got.error().message, "file " + path + " is larger than 10 bytes");
}

TEST_F(FilesTest, MakeDirectoriesCreatesNestedAndIsIdempotent) {
    const std::string path = m_dir + "/a/b/c";
    ASSERT_TRUE(make_directories(path));
    ASSERT_TRUE(make_directories(path));
    EXPECT_TRUE(std::filesystem::is_directory(path));
}

}  // namespace
}  // namespace cb
