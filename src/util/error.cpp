#include "util/error.h"

#include <array>
#include <utility>

namespace cb {

namespace {
struct KindName {
    ErrorKind kind;
    std::string_view name;
};
constexpr std::array k_kind_names{
    KindName{ErrorKind::k_config, "config"},
    KindName{ErrorKind::k_usage, "usage"},
    KindName{ErrorKind::k_cloud, "cloud"},
    KindName{ErrorKind::k_throttled, "throttled"},
    KindName{ErrorKind::k_capacity, "capacity"},
    KindName{ErrorKind::k_quota, "quota"},
    KindName{ErrorKind::k_permanent, "permanent"},
    KindName{ErrorKind::k_transient, "transient"},
    KindName{ErrorKind::k_slurm, "slurm"},
    KindName{ErrorKind::k_io, "io"},
    KindName{ErrorKind::k_not_found, "not-found"},
    KindName{ErrorKind::k_internal, "internal"},
    KindName{ErrorKind::k_invalid_input, "invalid-input"},
};
}  // namespace

std::string_view to_string(ErrorKind kind) {
    for (const auto& entry : k_kind_names) {
        if (entry.kind == kind) {
            return entry.name;
        }
    }
    return "internal";
}

Error Error::with_context(std::string what) const& {
    Error copy = *this;
    copy.context.insert(copy.context.begin(), std::move(what));
    return copy;
}

Error Error::with_context(std::string what) && {
    context.insert(context.begin(), std::move(what));
    return std::move(*this);
}

std::string Error::describe() const {
    std::string out;
    for (const auto& step : context) {
        out += step;
        out += ": ";
    }
    out += message;
    return out;
}

Error make_error(ErrorKind kind, std::string message) {
    return Error{kind, std::move(message), {}};
}

}  // namespace cb
