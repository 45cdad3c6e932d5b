// The PrologSlurmctld gates waiting in cloudburstd (core/prolog_gate.h): one connection each,
// answered "go" when the job's cloud nodes have registered in Slurm, when the gate has waited
// `max_wait`, when too many wait, or when the daemon stops. A gate that hangs up (slurmctld
// killed it: the job was cancelled or requeued) is forgotten. Owns the connections' fds.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/prolog_gate.h"
#include "daemon/status_report.h"
#include "ports/scheduler.h"

namespace cb {

class GateTable {
  public:
    GateTable(std::size_t capacity, std::int64_t max_wait_ms)
        : m_capacity(capacity), m_max_wait_ms(max_wait_ms) {}
    GateTable(const GateTable&) = delete;
    GateTable& operator=(const GateTable&) = delete;
    ~GateTable();  // answers every waiting gate: a stopping daemon holds no job back

    // Takes `fd` (a connection that sent `request`). Answers at once when the table is full or
    // `is_cloud` knows none of the job's nodes as a cloud node (an on-prem job waits for
    // nothing); returns true when the gate waits.
    template <typename IsCloud>
    bool add(int fd, GateRequest request, std::int64_t now_ms, IsCloud&& is_cloud) {
        bool any_cloud = false;
        for (const auto& n : request.nodes) {
            any_cloud = any_cloud || is_cloud(n);
        }
        if (!any_cloud || m_gates.size() >= m_capacity) {
            answer(fd);
            return false;
        }
        m_gates.emplace(fd, Gate{std::move(request), now_ms});
        return true;
    }

    bool empty() const { return m_gates.empty(); }
    std::size_t size() const { return m_gates.size(); }
    // The first `limit` waiting gates, oldest first (for `cloudburst status`).
    std::vector<WaitingGate> waiting(std::size_t limit) const;
    // The waiting gates' fds, to poll for a hang-up.
    std::vector<int> fds() const;
    // `fd` is readable or hung up: the gate sends nothing more, so it is gone.
    void gone(int fd);

    // Answers the gates whose nodes are ready in `slurm` (Slurm's nodes, by name), whose nodes
    // failed (the job is being requeued) or that have waited max_wait; returns the jobs
    // released, for the log.
    std::vector<std::string> release(const std::map<std::string, SlurmNode>& slurm,
                                     std::int64_t now_ms);

  private:
    struct Gate {
        GateRequest request;
        std::int64_t since_ms = 0;
    };
    static void answer(int fd);  // "go\n", then close

    std::size_t m_capacity;
    std::int64_t m_max_wait_ms;
    std::map<int, Gate> m_gates;  // by fd
};

}  // namespace cb
