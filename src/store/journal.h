// The journal: cloudburstd's durable memory, one SQLite file in WAL mode
// (/var/lib/cloudburst/state.db). It holds what we were asked (requests), what we want for
// each node and what we are doing about it (node intents, with deadlines and the cloud
// operation), which job asked for which nodes while they come up, what happened (events, for
// `cloudburst why`), and how long each VM billed
// (VM lifetimes, for `cloudburst cost` and budgets). Every change is one
// transaction, so a daemon killed at any point restarts from a consistent state.
// SQLite is included only by journal.cpp.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/hook_request.h"
#include "core/job_request.h"
#include "core/node_intent.h"
#include "core/usage.h"
#include "util/result.h"

namespace cb {

using JournalEvent = NodeEvent;

// A spool file the daemon refused (not a regular file of ours, too large, corrupt): what
// `cloudburst why` shows instead of silence.
struct RefusedRequest {
    std::int64_t at_ms = 0;
    std::string file;        // where the file was, and where it was kept, for the operator
    std::string kind;        // "resume", ... when its first line could be read; else empty
    std::string hostlist;    // as the file gave it, when it could be read; else empty
    std::string message;     // why it was refused
    std::int64_t nodes = 0;  // how many nodes got an "error" event for it
};

// The schema version this program writes (PRAGMA user_version of the file).
int journal_schema_version();

class Journal {
  public:
    // Opens (creating if needed) the database and brings its schema up to
    // journal_schema_version(). Errors: k_io; k_config for a journal of a newer schema, which
    // is left unchanged.
    static Result<Journal> open(const std::string& path);

    Journal(Journal&&) noexcept;
    Journal& operator=(Journal&&) noexcept;
    ~Journal();

    // Records a hook request: the request row, the changed intents with an event each, and
    // `events` (what the daemon did at once with them: the create calls it is about to
    // make), in one transaction. Returns the request's id.
    Result<std::int64_t> record_request(const HookRequest& request,
                                        const std::vector<NodeIntent>& changed, std::int64_t now_ms,
                                        const std::vector<JournalEvent>& events = {});

    // Records a refused spool file and, for each of `nodes` (those its hostlist names, if it
    // could be read), an "error" event, in one transaction.
    Status record_refused_request(const RefusedRequest& refused,
                                  const std::vector<std::string>& nodes);
    // The most recent `limit` refusals that named no node (their hostlist was not readable),
    // oldest first.
    Result<std::vector<RefusedRequest>> refusals_without_nodes(int limit) const;

    Result<std::vector<NodeIntent>> intents() const;
    std::optional<NodeIntent> intent(const std::string& node) const;

    // Stores intents (insert or replace) and their events in one transaction.
    Status save(const std::vector<NodeIntent>& intents, const std::vector<JournalEvent>& events);

    // The most recent `limit` events of a node, oldest first.
    Result<std::vector<JournalEvent>> events_for(const std::string& node, int limit) const;
    Result<std::int64_t> count_requests() const;

    // Which job asked for which nodes (core/job_request.h): all, by job id; one (nullopt when
    // none); and a pass's changes (insert or replace whole records, drop forgotten ones) in
    // one transaction.
    Result<std::vector<JobRequest>> jobs() const;
    Result<std::optional<JobRequest>> job(std::int64_t job_id) const;
    Status save_jobs(const std::vector<JobRequest>& jobs,
                     const std::vector<std::int64_t>& forgotten);

    // VM lifetimes (core/usage.h): those still billing; those that overlap [from_ms, to_ms);
    // and a pass's changes, in one transaction.
    Result<std::vector<VmUsage>> open_usage() const;
    Result<std::vector<VmUsage>> usage_between(std::int64_t from_ms, std::int64_t to_ms) const;
    Status save_usage(const UsageChanges& changes);

    const std::string& path() const { return m_path; }

  private:
    struct Db;
    explicit Journal(std::unique_ptr<Db> db, std::string path);
    std::unique_ptr<Db> m_db;
    std::string m_path;
};

}  // namespace cb
