#include "daemon/gate_table.h"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>

namespace cb {

GateTable::~GateTable() {
    for (const auto& [fd, gate] : m_gates) {
        answer(fd);
    }
}

void GateTable::answer(int fd) {
    // Non-blocking, and the gate reads nothing else: a gate that is gone costs nothing.
    (void)!::send(fd, "go\n", 3, MSG_NOSIGNAL | MSG_DONTWAIT);
    ::close(fd);
}

std::vector<int> GateTable::fds() const {
    std::vector<int> out;
    out.reserve(m_gates.size());
    for (const auto& [fd, gate] : m_gates) {
        out.push_back(fd);
    }
    return out;
}

std::vector<WaitingGate> GateTable::waiting(std::size_t limit) const {
    std::vector<WaitingGate> out;
    for (const auto& [fd, gate] : m_gates) {
        out.push_back({gate.request.job_id, gate.request.nodes.size(), gate.since_ms});
    }
    std::stable_sort(out.begin(), out.end(), [](const WaitingGate& a, const WaitingGate& b) {
        return a.since_ms < b.since_ms;
    });
    if (out.size() > limit) {
        out.resize(limit);
    }
    return out;
}

void GateTable::gone(int fd) {
    if (m_gates.erase(fd) != 0) {
        ::close(fd);
    }
}

std::vector<std::string> GateTable::release(const std::map<std::string, SlurmNode>& slurm,
                                            std::int64_t now_ms) {
    std::vector<std::string> released;
    const auto find = [&slurm](const std::string& name) -> const SlurmNode* {
        const auto it = slurm.find(name);
        return it == slurm.end() ? nullptr : &it->second;
    };
    for (auto it = m_gates.begin(); it != m_gates.end();) {
        const Gate& g = it->second;
        if (now_ms - g.since_ms >= m_max_wait_ms || gate_nodes_ready(g.request.nodes, find) ||
            gate_nodes_failed(g.request.nodes, find)) {
            released.push_back(g.request.job_id);
            answer(it->first);
            it = m_gates.erase(it);
        } else {
            ++it;
        }
    }
    return released;
}

}  // namespace cb
