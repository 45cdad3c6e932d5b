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

// Version 3 added the jobs table: a journal of version 2 keeps its rows and gains it.
TEST_F(JournalSchema, AJournalOfVersion2GainsTheJobsTable) {
    write_db(m_path, journal_0_1_0());
    {
        auto v1 = Journal::open(m_path);
        ASSERT_TRUE(v1);
    }
    write_db(m_path, "DROP TABLE jobs; PRAGMA user_version = 2;");
    auto j = Journal::open(m_path);
    ASSERT_TRUE(j) << j.error().describe();
    EXPECT_EQ(user_version(m_path), journal_schema_version());
    auto intents = j->intents();
    ASSERT_TRUE(intents);
    EXPECT_EQ(intents->size(), 1u);
    auto jobs = j->jobs();
    ASSERT_TRUE(jobs) << jobs.error().describe();
    EXPECT_TRUE(jobs->empty());
}

TEST_F(JournalSchema, JobsAreSavedReplacedAndForgotten) {
    auto j = Journal::open(m_path);
    ASSERT_TRUE(j);
    JobRequest a;
    a.job_id = 6;
    a.nodes = {"hpc-3", "hpc-1", "hpc-2"};
    a.partition = "hpc";
    a.recorded_ms = 1234;
    JobRequest b;
    b.job_id = 7;
    b.nodes = {"hpc-9"};
    ASSERT_TRUE(j->save_jobs({a, b}, {}));
    a.phase = JobPhase::k_failed;
    a.reason = "cloudburst: job 6\ncannot";
    ASSERT_TRUE(j->save_jobs({a}, {7}));
    auto jobs = j->jobs();
    ASSERT_TRUE(jobs);
    ASSERT_EQ(jobs->size(), 1u);
    EXPECT_EQ((*jobs)[0].job_id, 6);
    EXPECT_EQ((*jobs)[0].nodes, (std::vector<std::string>{"hpc-1", "hpc-2", "hpc-3"}));
    EXPECT_EQ((*jobs)[0].partition, "hpc");
    EXPECT_EQ((*jobs)[0].recorded_ms, 1234);
    EXPECT_EQ((*jobs)[0].phase, JobPhase::k_failed);
    EXPECT_EQ((*jobs)[0].reason, "cloudburst: job 6 cannot");
    auto one = j->job(6);
    ASSERT_TRUE(one);
    ASSERT_TRUE(one->has_value());
    auto none = j->job(7);
    ASSERT_TRUE(none);
    EXPECT_FALSE(none->has_value());
}

}  // namespace
}  // namespace cb
