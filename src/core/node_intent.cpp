#include "core/node_intent.h"

#include <array>
#include <utility>

namespace cb {

namespace {
constexpr std::array<std::pair<Desired, std::string_view>, 2> k_desired{{
    {Desired::k_powered_down, "powered-down"},
    {Desired::k_powered_up, "powered-up"},
}};
constexpr std::array<std::pair<Phase, std::string_view>, 7> k_phases{{
    {Phase::k_idle, "idle"},
    {Phase::k_requested, "requested"},
    {Phase::k_creating, "creating"},
    {Phase::k_registering, "registering"},
    {Phase::k_running, "running"},
    {Phase::k_stopping, "stopping"},
    {Phase::k_failed, "failed"},
}};

template <typename Table, typename T>
std::string_view name_of(const Table& table, T value) {
    for (const auto& [v, name] : table) {
        if (v == value) {
            return name;
        }
    }
    return "unknown";
}

template <typename T, typename Table>
std::optional<T> value_of(const Table& table, std::string_view name) {
    for (const auto& [v, n] : table) {
        if (n == name) {
            return v;
        }
    }
    return std::nullopt;
}
}  // namespace

std::string_view to_string(Desired d) {
    return name_of(k_desired, d);
}
std::string_view to_string(Phase p) {
    return name_of(k_phases, p);
}
std::optional<Desired> desired_from_string(std::string_view s) {
    return value_of<Desired>(k_desired, s);
}
std::optional<Phase> phase_from_string(std::string_view s) {
    return value_of<Phase>(k_phases, s);
}

}  // namespace cb
