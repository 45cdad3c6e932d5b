// The operations event file (`[events] file`): one JSON object per line for each node phase
// change, node failure (with its class), node array blocked or healthy again, and orphan VM
// removed, so that a log shipper can alert on them (format: docs/operations.md). Rotated by
// size: FILE -> FILE.1 -> ... -> FILE.<keep>, the oldest removed.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/node_intent.h"
#include "core/reconciler.h"
#include "util/result.h"

namespace cb {

struct OpsEvent {
    std::int64_t at_ms = 0;
    // "node_phase", "node_failed", "orphan_removed", "nodearray_blocked", "nodearray_healthy"
    std::string type;
    std::string node;           // node events
    std::string nodearray;      // every event ("" for a node of no array)
    std::string from;           // node_phase, node_failed, orphan_removed: the phase left
    std::string to;             // ... and the phase entered
    std::string error_class;    // node_failed, nodearray_blocked: ErrorKind's name
    std::string reason;         // why, as cloudburst put it in Slurm or the journal
    std::int64_t until_ms = 0;  // nodearray_blocked: no create call before this
    int failures = 0;           // nodearray_blocked: failures in a row
};

// The events of a plan's changed intents against what they were (`before`, by name): a
// phase change each; a move to "failed" is node_failed, idle to stopping is orphan_removed.
// Intents whose phase did not change give none.
std::vector<OpsEvent> node_events(const std::map<std::string, NodeIntent>& before,
                                  const std::vector<NodeIntent>& changed, std::int64_t now_ms);

// The events of node array health going from `before` to `after`: nodearray_blocked for an
// array new in `after` or with more failures, nodearray_healthy for one gone from it.
std::vector<OpsEvent> health_events(const std::map<std::string, ArrayHealth>& before,
                                    const std::map<std::string, ArrayHealth>& after,
                                    std::int64_t now_ms);

// "capacity" for "cloudburst: capacity: Standard_F2s_v2 unavailable ..."; "" when the reason
// has no such prefix.
std::string failure_class(const std::string& reason);

// One line of the file (with its newline): the fields that apply, JSON-escaped; invalid
// UTF-8 from CycleCloud is replaced, never passed on.
std::string event_json_line(const OpsEvent& event);

class EventLog {
  public:
    // No file: append() does nothing.
    EventLog() = default;
    // Opens (creates, mode 0640) `path` for appending. Errors: k_io.
    static Result<EventLog> open(const std::string& path, std::int64_t max_bytes, int keep);
    EventLog(EventLog&& other) noexcept;
    EventLog& operator=(EventLog&& other) noexcept;
    EventLog(const EventLog&) = delete;
    EventLog& operator=(const EventLog&) = delete;
    ~EventLog();

    // Appends the events, rotating first when the file would grow past max_bytes. A failed
    // write is returned (the daemon logs it and goes on: events are for people, the journal
    // is the record).
    Status append(const std::vector<OpsEvent>& events);

  private:
    Status rotate();
    int m_fd = -1;
    std::string m_path;
    std::int64_t m_max_bytes = 0;
    int m_keep = 0;
    std::int64_t m_size = 0;
};

}  // namespace cb
