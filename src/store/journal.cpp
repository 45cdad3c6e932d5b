#include "store/journal.h"

#include <sqlite3.h>

#include <array>
#include <string>
#include <utility>

#include "util/hostlist.h"
#include "util/sanitize.h"

namespace cb {

namespace {

constexpr const char* k_pragmas = R"sql(
PRAGMA journal_mode = WAL;
PRAGMA synchronous = FULL;
PRAGMA foreign_keys = ON;
)sql";

// The schema is versioned with PRAGMA user_version. Migration i takes a journal from version i
// to i + 1 inside one transaction, so an upgrade of the package never loses the journal (which
// is the only record of the VMs cloudburst created). Version 0 is a new file, or a journal of
// cloudburst 0.1.0, which wrote these same tables without a version: the first migration
// creates only what is missing. A journal newer than this program is refused, unchanged.
// Append migrations; never edit one that has shipped.
constexpr const char* k_schema_v1 = R"sql(
CREATE TABLE IF NOT EXISTS requests (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    hostlist TEXT NOT NULL,
    resume_file TEXT NOT NULL,
    received_ms INTEGER NOT NULL,
    hook_pid INTEGER NOT NULL,
    recorded_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS intents (
    name TEXT PRIMARY KEY,
    nodearray TEXT NOT NULL,
    desired TEXT NOT NULL,
    phase TEXT NOT NULL,
    since_ms INTEGER NOT NULL,
    deadline_ms INTEGER NOT NULL,
    operation_id TEXT NOT NULL,
    private_ip TEXT NOT NULL,
    last_reason TEXT NOT NULL,
    attempts INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at_ms INTEGER NOT NULL,
    node TEXT NOT NULL,
    kind TEXT NOT NULL,
    message TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_by_node ON events(node, id);
CREATE TABLE IF NOT EXISTS refused_requests (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at_ms INTEGER NOT NULL,
    file TEXT NOT NULL,
    kind TEXT NOT NULL,
    hostlist TEXT NOT NULL,
    message TEXT NOT NULL,
    nodes INTEGER NOT NULL
);
)sql";

// Version 2: VM lifetimes for `cloudburst cost` and budgets (core/usage.h).
constexpr const char* k_schema_v2 = R"sql(
CREATE TABLE IF NOT EXISTS vm_usage (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    node TEXT NOT NULL,
    nodearray TEXT NOT NULL,
    machine_type TEXT NOT NULL,
    region TEXT NOT NULL,
    spot INTEGER NOT NULL,
    started_ms INTEGER NOT NULL,
    ended_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS vm_usage_open ON vm_usage(ended_ms);
CREATE INDEX IF NOT EXISTS vm_usage_started ON vm_usage(started_ms);
)sql";

// Version 3: which job asked for which nodes, from the resume file (core/job_request.h), while
// they come up; `nodes` is a hostlist.
constexpr const char* k_schema_v3 = R"sql(
CREATE TABLE IF NOT EXISTS jobs (
    job_id INTEGER PRIMARY KEY,
    nodes TEXT NOT NULL,
    partition TEXT NOT NULL,
    recorded_ms INTEGER NOT NULL,
    phase TEXT NOT NULL,
    reason TEXT NOT NULL
);
)sql";

constexpr std::array k_migrations{k_schema_v1, k_schema_v2, k_schema_v3};

Error db_error(sqlite3* db, const std::string& what) {
    return make_error(ErrorKind::k_io,
                      what + ": " + (db != nullptr ? sqlite3_errmsg(db) : "out of memory"));
}

// A prepared statement, finalized on scope exit. Bound text is not copied: it must outlive
// the next step() (every caller binds values that live across the call).
class Stmt {
  public:
    Stmt() = default;
    Stmt(sqlite3* db, const char* sql, unsigned flags = 0) {
        sqlite3_prepare_v3(db, sql, -1, flags, &m_stmt, nullptr);
    }
    Stmt(const Stmt&) = delete;
    Stmt& operator=(const Stmt&) = delete;
    Stmt(Stmt&& o) noexcept : m_stmt(o.m_stmt) { o.m_stmt = nullptr; }
    Stmt& operator=(Stmt&& o) noexcept {
        std::swap(m_stmt, o.m_stmt);
        return *this;
    }
    ~Stmt() { sqlite3_finalize(m_stmt); }
    bool ok() const { return m_stmt != nullptr; }
    Stmt& bind(int i, std::string_view v) {
        sqlite3_bind_text(m_stmt, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
        return *this;
    }
    Stmt& bind(int i, std::int64_t v) {
        sqlite3_bind_int64(m_stmt, i, v);
        return *this;
    }
    int step() { return sqlite3_step(m_stmt); }
    // Makes a cached statement ready for its next use.
    void reset() {
        sqlite3_reset(m_stmt);
        sqlite3_clear_bindings(m_stmt);
    }
    std::string text(int col) const {
        const auto* p = sqlite3_column_text(m_stmt, col);
        if (p == nullptr) {
            return {};
        }
        return {reinterpret_cast<const char*>(p),
                static_cast<std::size_t>(sqlite3_column_bytes(m_stmt, col))};
    }
    std::int64_t int64(int col) const { return sqlite3_column_int64(m_stmt, col); }

  private:
    sqlite3_stmt* m_stmt = nullptr;
};

// Insert, or update only when a column differs: a pass that journals an intent it did not
// change writes no page and no WAL frame.
constexpr const char* k_put_intent =
    "INSERT INTO intents (name, nodearray, desired, phase, since_ms, deadline_ms, operation_id, "
    "private_ip, last_reason, attempts) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) "
    "ON CONFLICT(name) DO UPDATE SET nodearray = excluded.nodearray, desired = "
    "excluded.desired, phase = excluded.phase, since_ms = excluded.since_ms, deadline_ms = "
    "excluded.deadline_ms, operation_id = excluded.operation_id, private_ip = "
    "excluded.private_ip, last_reason = excluded.last_reason, attempts = excluded.attempts "
    "WHERE nodearray IS NOT excluded.nodearray OR desired IS NOT excluded.desired OR phase IS "
    "NOT excluded.phase OR since_ms IS NOT excluded.since_ms OR deadline_ms IS NOT "
    "excluded.deadline_ms OR operation_id IS NOT excluded.operation_id OR private_ip IS NOT "
    "excluded.private_ip OR last_reason IS NOT excluded.last_reason OR attempts IS NOT "
    "excluded.attempts";

constexpr const char* k_put_event =
    "INSERT INTO events (at_ms, node, kind, message) VALUES (?1, ?2, ?3, ?4)";

constexpr const char* k_select_intents =
    "SELECT name, nodearray, desired, phase, since_ms, deadline_ms, operation_id, private_ip, "
    "last_reason, attempts FROM intents";

NodeIntent intent_from_row(const Stmt& s) {
    NodeIntent n;
    n.name = s.text(0);
    n.nodearray = s.text(1);
    n.desired = desired_from_string(s.text(2)).value_or(Desired::k_powered_down);
    n.phase = phase_from_string(s.text(3)).value_or(Phase::k_idle);
    n.since_ms = s.int64(4);
    n.deadline_ms = s.int64(5);
    n.operation_id = s.text(6);
    n.private_ip = s.text(7);
    n.last_reason = s.text(8);
    n.attempts = s.int64(9);
    return n;
}

}  // namespace

struct Journal::Db {
    sqlite3* db = nullptr;
    // Prepared once, reused by every save (preparing per row was most of a big save's time).
    Stmt put_intent_stmt;
    Stmt put_event_stmt;
    ~Db() {
        put_intent_stmt = Stmt();
        put_event_stmt = Stmt();
        sqlite3_close_v2(db);
    }

    Status exec(const char* sql) const {
        char* msg = nullptr;
        if (sqlite3_exec(db, sql, nullptr, nullptr, &msg) != SQLITE_OK) {
            std::string text = msg != nullptr ? msg : "unknown error";
            sqlite3_free(msg);
            return make_error(ErrorKind::k_io, "journal: " + text);
        }
        return ok_status();
    }

    Result<int> schema_version() const {
        Stmt s(db, "PRAGMA user_version");
        if (!s.ok() || s.step() != SQLITE_ROW) {
            return db_error(db, "journal: reading the schema version");
        }
        return static_cast<int>(s.int64(0));
    }

    Status refuse_newer() const {
        auto version = schema_version();
        if (!version) {
            return version.error();
        }
        if (const int newest = journal_schema_version(); *version > newest) {
            return make_error(ErrorKind::k_config,
                              "journal: schema version " + std::to_string(*version) +
                                  " was written by a newer cloudburst (this one knows up to " +
                                  std::to_string(newest) +
                                  "); install that version again, the journal was not changed");
        }
        return ok_status();
    }

    // Brings the schema to journal_schema_version(), one migration per transaction.
    Status migrate() const {
        auto version = schema_version();
        if (!version) {
            return version.error();
        }
        const int newest = journal_schema_version();
        for (int v = *version; v < newest; ++v) {
            auto st = transaction([&]() -> Status {
                if (auto applied = exec(k_migrations.at(static_cast<std::size_t>(v))); !applied) {
                    return applied;
                }
                return exec(("PRAGMA user_version = " + std::to_string(v + 1)).c_str());
            });
            if (!st) {
                return st.error().with_context("migrating the journal to schema version " +
                                               std::to_string(v + 1));
            }
        }
        return ok_status();
    }

    Status prepare() {
        put_intent_stmt = Stmt(db, k_put_intent, SQLITE_PREPARE_PERSISTENT);
        put_event_stmt = Stmt(db, k_put_event, SQLITE_PREPARE_PERSISTENT);
        if (!put_intent_stmt.ok() || !put_event_stmt.ok()) {
            return db_error(db, "journal: preparing statements");
        }
        return ok_status();
    }

    // Runs `body` inside BEGIN IMMEDIATE .. COMMIT; rolls back on error.
    template <typename Body>
    Status transaction(Body body) const {
        if (auto st = exec("BEGIN IMMEDIATE"); !st) {
            return st;
        }
        if (auto st = body(); !st) {
            (void)exec("ROLLBACK");
            return st;
        }
        return exec("COMMIT");
    }

    Status put_intent(const NodeIntent& n) {
        Stmt& s = put_intent_stmt;
        // Bound SQLITE_STATIC: the text must outlive step(). Reasons may quote CycleCloud;
        // `cloudburst why` prints them to a terminal.
        const std::string reason = without_control_chars(n.last_reason);
        s.bind(1, n.name).bind(2, n.nodearray).bind(3, to_string(n.desired));
        s.bind(4, to_string(n.phase)).bind(5, n.since_ms).bind(6, n.deadline_ms);
        s.bind(7, n.operation_id).bind(8, n.private_ip).bind(9, reason);
        s.bind(10, n.attempts);
        const int rc = s.step();
        s.reset();
        if (rc != SQLITE_DONE) {
            return db_error(db, "journal: saving node " + n.name);
        }
        return ok_status();
    }

    Status put_event(const JournalEvent& e) {
        Stmt& s = put_event_stmt;
        const std::string message = without_control_chars(e.message);  // outlives step()
        s.bind(1, e.at_ms).bind(2, e.node).bind(3, e.kind).bind(4, message);
        const int rc = s.step();
        s.reset();
        if (rc != SQLITE_DONE) {
            return db_error(db, "journal: saving event");
        }
        return ok_status();
    }
};

Journal::Journal(std::unique_ptr<Db> db, std::string path)
    : m_db(std::move(db)), m_path(std::move(path)) {}
Journal::Journal(Journal&&) noexcept = default;
Journal& Journal::operator=(Journal&&) noexcept = default;
Journal::~Journal() = default;

int journal_schema_version() {
    return static_cast<int>(k_migrations.size());
}

Result<Journal> Journal::open(const std::string& path) {
    auto db = std::make_unique<Db>();
    if (sqlite3_open_v2(path.c_str(), &db->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                        nullptr) != SQLITE_OK) {
        return db_error(db->db, "cannot open journal " + path);
    }
    sqlite3_busy_timeout(db->db, 5000);
    // The version is checked before anything is written: a newer journal stays as it is.
    if (auto st = db->refuse_newer(); !st) {
        return st.error().with_context("opening journal " + path);
    }
    if (auto st = db->exec(k_pragmas); !st) {
        return st.error().with_context("opening journal " + path);
    }
    if (auto st = db->migrate(); !st) {
        return st.error().with_context("opening journal " + path);
    }
    if (auto st = db->prepare(); !st) {
        return st.error().with_context("opening journal " + path);
    }
    return Journal(std::move(db), path);
}

Result<std::int64_t> Journal::record_request(const HookRequest& request,
                                             const std::vector<NodeIntent>& changed,
                                             std::int64_t now_ms,
                                             const std::vector<JournalEvent>& events) {
    std::int64_t id = 0;
    auto st = m_db->transaction([&]() -> Status {
        Stmt s(m_db->db,
               "INSERT INTO requests (kind, hostlist, resume_file, received_ms, hook_pid, "
               "recorded_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
        // Slurm's resume file, kept as it came for the record (the daemon reads it through
        // parse_resume_file): no control character of it reaches a reader's terminal.
        const std::string resume_file = without_control_chars(request.resume_file);
        s.bind(1, to_string(request.kind)).bind(2, request.hostlist).bind(3, resume_file);
        s.bind(4, request.received_ms).bind(5, request.pid).bind(6, now_ms);
        if (!s.ok() || s.step() != SQLITE_DONE) {
            return db_error(m_db->db, "journal: saving request");
        }
        id = sqlite3_last_insert_rowid(m_db->db);
        JournalEvent event{0,
                           now_ms,
                           "",
                           "request",
                           "Slurm asked to " +
                               std::string(request.kind == HookKind::k_resume    ? "power up"
                                           : request.kind == HookKind::k_suspend ? "power down"
                                                                                 : "give up on") +
                               " this node (request " + std::to_string(id) + ")",
                           {}};
        for (const auto& n : changed) {
            if (auto put = m_db->put_intent(n); !put) {
                return put;
            }
            event.node = n.name;
            if (auto ev = m_db->put_event(event); !ev) {
                return ev;
            }
        }
        for (const auto& e : events) {
            if (auto ev = m_db->put_event(e); !ev) {
                return ev;
            }
        }
        return ok_status();
    });
    if (!st) {
        return st.error();
    }
    return id;
}

Status Journal::record_refused_request(const RefusedRequest& refused,
                                       const std::vector<std::string>& nodes) {
    return m_db->transaction([&]() -> Status {
        Stmt s(m_db->db,
               "INSERT INTO refused_requests (at_ms, file, kind, hostlist, message, nodes) "
               "VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
        s.bind(1, refused.at_ms).bind(2, refused.file).bind(3, refused.kind);
        s.bind(4, refused.hostlist).bind(5, refused.message);
        s.bind(6, static_cast<std::int64_t>(nodes.size()));
        if (!s.ok() || s.step() != SQLITE_DONE) {
            return db_error(m_db->db, "journal: saving a refused request");
        }
        JournalEvent event{0, refused.at_ms, "", "error", refused.message, {}};
        for (const auto& node : nodes) {
            event.node = node;
            if (auto ev = m_db->put_event(event); !ev) {
                return ev;
            }
        }
        return ok_status();
    });
}

Result<std::vector<RefusedRequest>> Journal::refusals_without_nodes(int limit) const {
    Stmt s(m_db->db,
           "SELECT at_ms, file, kind, hostlist, message, nodes FROM (SELECT * FROM "
           "refused_requests WHERE nodes = 0 ORDER BY id DESC LIMIT ?1) ORDER BY id");
    s.bind(1, static_cast<std::int64_t>(limit));
    std::vector<RefusedRequest> out;
    int rc = 0;
    while ((rc = s.step()) == SQLITE_ROW) {
        out.push_back({s.int64(0), s.text(1), s.text(2), s.text(3), s.text(4), s.int64(5)});
    }
    if (rc != SQLITE_DONE) {
        return db_error(m_db->db, "journal: reading refused requests");
    }
    return out;
}

Result<std::vector<NodeIntent>> Journal::intents() const {
    Stmt s(m_db->db, k_select_intents);
    if (!s.ok()) {
        return db_error(m_db->db, "journal: reading nodes");
    }
    std::vector<NodeIntent> out;
    int rc = 0;
    while ((rc = s.step()) == SQLITE_ROW) {
        out.push_back(intent_from_row(s));
    }
    if (rc != SQLITE_DONE) {
        return db_error(m_db->db, "journal: reading nodes");
    }
    return out;
}

std::optional<NodeIntent> Journal::intent(const std::string& node) const {
    Stmt s(m_db->db, (std::string(k_select_intents) + " WHERE name = ?1").c_str());
    s.bind(1, node);
    if (s.ok() && s.step() == SQLITE_ROW) {
        return intent_from_row(s);
    }
    return std::nullopt;
}

Status Journal::save(const std::vector<NodeIntent>& intents,
                     const std::vector<JournalEvent>& events) {
    if (intents.empty() && events.empty()) {
        return ok_status();  // a quiet pass: no transaction, no fsync
    }
    return m_db->transaction([&]() -> Status {
        for (const auto& n : intents) {
            if (auto st = m_db->put_intent(n); !st) {
                return st;
            }
        }
        for (const auto& e : events) {
            if (auto st = m_db->put_event(e); !st) {
                return st;
            }
        }
        return ok_status();
    });
}

Result<std::vector<JournalEvent>> Journal::events_for(const std::string& node, int limit) const {
    Stmt s(m_db->db,
           "SELECT id, at_ms, node, kind, message FROM (SELECT * FROM events WHERE node = ?1 "
           "ORDER BY id DESC LIMIT ?2) ORDER BY id");
    s.bind(1, node).bind(2, static_cast<std::int64_t>(limit));
    std::vector<JournalEvent> out;
    int rc = 0;
    while ((rc = s.step()) == SQLITE_ROW) {
        out.push_back({s.int64(0), s.int64(1), s.text(2), s.text(3), s.text(4), {}});
    }
    if (rc != SQLITE_DONE) {
        return db_error(m_db->db, "journal: reading events");
    }
    return out;
}

namespace {

constexpr const char* k_select_usage =
    "SELECT id, node, nodearray, machine_type, region, spot, started_ms, ended_ms FROM vm_usage";

Result<std::vector<VmUsage>> usage_rows(sqlite3* db, Stmt& s) {
    std::vector<VmUsage> out;
    int rc = 0;
    while ((rc = s.step()) == SQLITE_ROW) {
        VmUsage u;
        u.id = s.int64(0);
        u.node = s.text(1);
        u.nodearray = s.text(2);
        u.machine_type = s.text(3);
        u.region = s.text(4);
        u.spot = s.int64(5) != 0;
        u.started_ms = s.int64(6);
        u.ended_ms = s.int64(7);
        out.push_back(std::move(u));
    }
    if (rc != SQLITE_DONE) {
        return db_error(db, "journal: reading VM lifetimes");
    }
    return out;
}

}  // namespace

Result<std::vector<VmUsage>> Journal::open_usage() const {
    Stmt s(m_db->db, (std::string(k_select_usage) + " WHERE ended_ms = 0 ORDER BY id").c_str());
    if (!s.ok()) {
        return db_error(m_db->db, "journal: reading VM lifetimes");
    }
    return usage_rows(m_db->db, s);
}

Result<std::vector<VmUsage>> Journal::usage_between(std::int64_t from_ms,
                                                    std::int64_t to_ms) const {
    Stmt s(m_db->db, (std::string(k_select_usage) +
                      " WHERE started_ms < ?2 AND (ended_ms = 0 OR ended_ms > ?1) ORDER BY id")
                         .c_str());
    if (!s.ok()) {
        return db_error(m_db->db, "journal: reading VM lifetimes");
    }
    s.bind(1, from_ms).bind(2, to_ms);
    return usage_rows(m_db->db, s);
}

Status Journal::save_usage(const UsageChanges& changes) {
    if (changes.empty()) {
        return ok_status();
    }
    return m_db->transaction([&]() -> Status {
        for (const auto& u : changes.closed) {
            Stmt s(m_db->db, "UPDATE vm_usage SET ended_ms = ?2 WHERE id = ?1 AND ended_ms = 0");
            s.bind(1, u.id).bind(2, u.ended_ms);
            if (!s.ok() || s.step() != SQLITE_DONE) {
                return db_error(m_db->db, "journal: ending the VM lifetime of " + u.node);
            }
        }
        for (const auto& u : changes.opened) {
            Stmt s(m_db->db,
                   "INSERT INTO vm_usage (node, nodearray, machine_type, region, spot, "
                   "started_ms, ended_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0)");
            // CycleCloud's words: kept printable (`cloudburst cost` prints them).
            const std::string type = without_control_chars(u.machine_type);
            const std::string region = without_control_chars(u.region);
            s.bind(1, u.node).bind(2, u.nodearray).bind(3, type).bind(4, region);
            s.bind(5, std::int64_t{u.spot ? 1 : 0}).bind(6, u.started_ms);
            if (!s.ok() || s.step() != SQLITE_DONE) {
                return db_error(m_db->db, "journal: recording the VM lifetime of " + u.node);
            }
        }
        return ok_status();
    });
}

namespace {

constexpr const char* k_select_jobs =
    "SELECT job_id, nodes, partition, recorded_ms, phase, reason FROM jobs";

Result<std::vector<JobRequest>> job_rows(sqlite3* db, Stmt& s) {
    std::vector<JobRequest> out;
    int rc = 0;
    while ((rc = s.step()) == SQLITE_ROW) {
        JobRequest j;
        j.job_id = s.int64(0);
        if (auto hosts = Hostlist::parse(s.text(1)); hosts) {
            j.nodes = hosts->expand();
        }
        j.partition = s.text(2);
        j.recorded_ms = s.int64(3);
        j.phase = job_phase_from_string(s.text(4)).value_or(JobPhase::k_starting);
        j.reason = s.text(5);
        out.push_back(std::move(j));
    }
    if (rc != SQLITE_DONE) {
        return db_error(db, "journal: reading jobs");
    }
    return out;
}

}  // namespace

Result<std::vector<JobRequest>> Journal::jobs() const {
    Stmt s(m_db->db, (std::string(k_select_jobs) + " ORDER BY job_id").c_str());
    if (!s.ok()) {
        return db_error(m_db->db, "journal: reading jobs");
    }
    return job_rows(m_db->db, s);
}

Result<std::optional<JobRequest>> Journal::job(std::int64_t job_id) const {
    Stmt s(m_db->db, (std::string(k_select_jobs) + " WHERE job_id = ?1").c_str());
    if (!s.ok()) {
        return db_error(m_db->db, "journal: reading jobs");
    }
    s.bind(1, job_id);
    auto rows = job_rows(m_db->db, s);
    if (!rows) {
        return rows.error();
    }
    if (rows->empty()) {
        return std::optional<JobRequest>();
    }
    return std::optional<JobRequest>(std::move(rows->front()));
}

Status Journal::save_jobs(const std::vector<JobRequest>& jobs,
                          const std::vector<std::int64_t>& forgotten) {
    if (jobs.empty() && forgotten.empty()) {
        return ok_status();
    }
    return m_db->transaction([&]() -> Status {
        // One statement for all rows: a resume of 10,000 one-node jobs saves 10,000.
        Stmt s(m_db->db,
               "INSERT OR REPLACE INTO jobs (job_id, nodes, partition, recorded_ms, phase, "
               "reason) VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
        for (const auto& j : jobs) {
            auto hosts = Hostlist::from_names(j.nodes);
            if (!hosts) {
                return hosts.error().with_context("journal: job " + std::to_string(j.job_id));
            }
            const std::string nodes = hosts->compress_sorted();
            const std::string reason = without_control_chars(j.reason);
            s.bind(1, j.job_id).bind(2, nodes).bind(3, j.partition).bind(4, j.recorded_ms);
            s.bind(5, to_string(j.phase)).bind(6, reason);
            const int rc = s.ok() ? s.step() : SQLITE_ERROR;
            s.reset();
            if (rc != SQLITE_DONE) {
                return db_error(m_db->db, "journal: saving job " + std::to_string(j.job_id));
            }
        }
        Stmt forget(m_db->db, "DELETE FROM jobs WHERE job_id = ?1");
        for (const auto id : forgotten) {
            forget.bind(1, id);
            const int rc = forget.ok() ? forget.step() : SQLITE_ERROR;
            forget.reset();
            if (rc != SQLITE_DONE) {
                return db_error(m_db->db, "journal: forgetting job " + std::to_string(id));
            }
        }
        return ok_status();
    });
}

Result<std::int64_t> Journal::count_requests() const {
    Stmt s(m_db->db, "SELECT COUNT(*) FROM requests");
    if (!s.ok() || s.step() != SQLITE_ROW) {
        return db_error(m_db->db, "journal: counting requests");
    }
    return s.int64(0);
}

}  // namespace cb
