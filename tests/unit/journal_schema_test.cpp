// The journal's schema versions: an upgrade of the package opens the journal an older
// cloudburst wrote, keeps every row, and a journal from a newer one is refused untouched.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include "fakes/temp_dir.h"

#include <string>

#include "store/journal.h"
#include "util/files.h"

namespace cb {
namespace {

// What cloudburst 0.1.0 wrote: the tables without a user_version, and a node's history.
std::string journal_0_1_0() {
    auto sql = read_file(std::string(CB_SOURCE_DIR) + "/tests/data/journal-0.1.0.sql");
    return sql ? *sql : std::string("-- tests/data/journal-0.1.0.sql is missing");
}

void write_db(const std::string& path, const std::string& sql) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    char* msg = nullptr;
    const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &msg);
    const std::string error = msg != nullptr ? msg : "";
    sqlite3_free(msg);
    sqlite3_close(db);
    ASSERT_EQ(rc, SQLITE_OK) << error;
}

int user_version(const std::string& path) {
    sqlite3* db = nullptr;
    sqlite3_stmt* s = nullptr;
    int version = -1;
    if (sqlite3_open(path.c_str(), &db) == SQLITE_OK &&
        sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &s, nullptr) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW) {
        version = sqlite3_column_int(s, 0);
    }
    sqlite3_finalize(s);
    sqlite3_close(db);
    return version;
}

class JournalSchema : public testing::Test {
  protected:
    testing_fakes::TempDir m_tmp{"cb-journal-schema"};
    const std::string m_path = m_tmp.path() + "/state.db";
};

TEST_F(JournalSchema, ANewJournalHasTheCurrentVersion) {
    ASSERT_TRUE(Journal::open(m_path));
    EXPECT_GE(journal_schema_version(), 1);
    EXPECT_EQ(user_version(m_path), journal_schema_version());
}

TEST_F(JournalSchema, AJournalOfVersion010IsMigratedWithEveryRow) {
    write_db(m_path, journal_0_1_0());
    ASSERT_EQ(user_version(m_path), 0);
    auto j = Journal::open(m_path);
    ASSERT_TRUE(j) << j.error().describe();
    auto intents = j->intents();
    ASSERT_TRUE(intents);
    ASSERT_EQ(intents->size(), 1u);
    EXPECT_EQ((*intents)[0].name, "hpc-3");
    EXPECT_EQ((*intents)[0].private_ip, "198.18.0.7");
    auto events = j->events_for("hpc-3", 10);
    ASSERT_TRUE(events);
    ASSERT_EQ(events->size(), 1u);
    EXPECT_EQ((*events)[0].message, "up");
    EXPECT_EQ(user_version(m_path), journal_schema_version());
}

TEST_F(JournalSchema, OpeningAgainChangesNothing) {
    write_db(m_path, journal_0_1_0());
    ASSERT_TRUE(Journal::open(m_path));
    auto again = Journal::open(m_path);
    ASSERT_TRUE(again) << again.error().describe();
    auto intents = again->intents();
    ASSERT_TRUE(intents);
    EXPECT_EQ(intents->size(), 1u);
    EXPECT_EQ(user_version(m_path), journal_schema_version());
}

TEST_F(JournalSchema, AJournalOfANewerVersionIsRefusedAndLeftAlone) {
    const int newer = journal_schema_version() + 1;
    write_db(m_path, journal_0_1_0() + "PRAGMA journal_mode = DELETE;\n" +
                         "PRAGMA user_version = " + std::to_string(newer) + ";\n");
    auto before = read_file(m_path);
    ASSERT_TRUE(before);
    auto j = Journal::open(m_path);
    ASSERT_FALSE(j);
    EXPECT_EQ(j.error().kind, ErrorKind::k_config);
    EXPECT_NE(j.error().message.find("schema version " + std::to_string(newer) +
                                     " was written by a newer cloudburst"),
              std::string::npos)
        << j.error().message;
    EXPECT_EQ(user_version(m_path), newer);
    auto after = read_file(m_path);
    ASSERT_TRUE(after);
    EXPECT_TRUE(*after == *before) << "the journal of a newer version was modified";
}

}  // namespace
}  // namespace cb
