// What cloudburstd wants for one cloud node and how far it got: the record the reconcile
// passes read and write, and the journal stores. Plain data; no I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace cb {

enum class Desired { k_powered_down, k_powered_up };

// Where a node is on its way. Stored by name in the journal.
enum class Phase {
    k_idle,         // nothing in flight: no VM wanted, none known
    k_requested,    // resume asked; no create/start call made yet
    k_creating,     // create or start call made; waiting for the VM to be Ready with an IP
    k_registering,  // Slurm has the VM's address; waiting for slurmd to register
    k_running,      // registered in Slurm
    k_stopping,     // shutdown call made; waiting for the VM to be gone
    k_failed,       // gave up on this attempt; cleanup then back to the pool
};

std::string_view to_string(Desired d);
std::string_view to_string(Phase p);
std::optional<Desired> desired_from_string(std::string_view s);
std::optional<Phase> phase_from_string(std::string_view s);

struct NodeIntent {
    std::string name;
    // The node's range (core/node_range.h): its node array for the array's first VM size,
    // "<array>-<size slug>" for a further one. Health and backoff are kept per range.
    std::string nodearray;
    Desired desired = Desired::k_powered_down;
    Phase phase = Phase::k_idle;
    std::int64_t since_ms = 0;     // when the phase was entered
    std::int64_t deadline_ms = 0;  // when the phase must be over (0: none)
    std::string operation_id;      // the cloud operation in flight, if any
    std::string private_ip;
    std::string last_reason;    // why the last transition happened (for people)
    std::int64_t attempts = 0;  // create attempts for the current resume
};

// Something that happened to a node, in a plain sentence (journaled; read by `why`).
struct NodeEvent {
    std::int64_t id = 0;  // assigned by the journal
    std::int64_t at_ms = 0;
    std::string node;
    std::string kind;  // "request", "transition", "cloud", "slurm", "error"
    std::string message;
    // The message without what differs per node (an address), so that the log can name many
    // nodes in one line; empty when the message has no such part.
    std::string summary;
};

}  // namespace cb
