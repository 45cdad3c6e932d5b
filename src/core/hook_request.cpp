#include "core/hook_request.h"

#include <array>
#include <charconv>

namespace cb {

namespace {

struct KindName {
    HookKind kind;
    std::string_view name;
    std::string_view program;
};
constexpr std::array k_kinds{
    KindName{HookKind::k_resume, "resume", "cloudburst-resume"},
    KindName{HookKind::k_suspend, "suspend", "cloudburst-suspend"},
    KindName{HookKind::k_resume_fail, "resume-fail", "cloudburst-resume-fail"},
    KindName{HookKind::k_reset, "reset", ""},  // from the CLI only: no hook program
    KindName{HookKind::k_retry, "retry", ""},  // from the CLI only
};

Error bad(std::size_t line, const std::string& what) {
    return make_error(ErrorKind::k_io, "hook request line " + std::to_string(line) + ": " + what);
}

Result<std::int64_t> parse_int(std::string_view v, std::size_t line, std::string_view key) {
    std::int64_t out = 0;
    const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
    if (ec != std::errc() || end != v.data() + v.size()) {
        // Appended, not "'" + std::string(...): GCC 12 -O3 reports a false -Wrestrict.
        std::string what = "'";
        return bad(line, what.append(key).append("' must be an integer"));
    }
    return out;
}

}  // namespace

std::string_view to_string(HookKind kind) {
    for (const auto& k : k_kinds) {
        if (k.kind == kind) {
            return k.name;
        }
    }
    return "resume";
}

std::optional<HookKind> hook_kind_from_string(std::string_view name) {
    for (const auto& k : k_kinds) {
        if (k.name == name) {
            return k.kind;
        }
    }
    return std::nullopt;
}

std::optional<HookKind> hook_kind_from_program(std::string_view program) {
    const auto slash = program.rfind('/');
    if (slash != std::string_view::npos) {
        program.remove_prefix(slash + 1);
    }
    for (const auto& k : k_kinds) {
        if (!k.program.empty() && k.program == program) {
            return k.kind;
        }
    }
    return std::nullopt;
}

Result<std::string> serialize(const HookRequest& request) {
    for (const std::string* v : {&request.hostlist, &request.resume_file}) {
        if (v->find('\n') != std::string::npos) {
            return make_error(ErrorKind::k_io, "hook request values must not contain newlines");
        }
    }
    std::string out;
    out.reserve(64 + request.hostlist.size() + request.resume_file.size());
    out += "kind=";
    out += to_string(request.kind);
    out += "\nhostlist=" + request.hostlist;
    out += "\nreceived_ms=" + std::to_string(request.received_ms);
    out += "\npid=" + std::to_string(request.pid);
    out += "\nresume_file=" + request.resume_file;
    out += "\n";
    if (out.size() > k_max_hook_request_bytes) {
        return make_error(ErrorKind::k_invalid_input,
                          "the request is " + std::to_string(out.size()) +
                              " bytes, more than the " + std::to_string(k_max_hook_request_bytes) +
                              " bytes cloudburstd reads; nothing was handed over: resume fewer "
                              "nodes at once");
    }
    return out;
}

Result<HookRequest> parse_hook_request(std::string_view text) {
    HookRequest r;
    bool seen_kind = false;
    bool seen_hostlist = false;
    std::size_t line_no = 0;
    while (!text.empty()) {
        ++line_no;
        const auto nl = text.find('\n');
        if (nl == std::string_view::npos) {
            return bad(line_no, "truncated (no final newline)");
        }
        const std::string_view line = text.substr(0, nl);
        text.remove_prefix(nl + 1);
        const auto eq = line.find('=');
        if (eq == std::string_view::npos) {
            return bad(line_no, "expected key=value");
        }
        const std::string_view key = line.substr(0, eq);
        const std::string_view value = line.substr(eq + 1);
        if (key == "kind") {
            auto k = hook_kind_from_string(value);
            if (!k) {
                return bad(line_no, "unknown kind '" + std::string(value) + "'");
            }
            r.kind = *k;
            seen_kind = true;
        } else if (key == "hostlist") {
            r.hostlist = value;
            seen_hostlist = true;
        } else if (key == "received_ms" || key == "pid") {
            auto n = parse_int(value, line_no, key);
            if (!n) {
                return n.error();
            }
            (key == "pid" ? r.pid : r.received_ms) = *n;
        } else if (key == "resume_file") {
            r.resume_file = value;
        } else {
            return bad(line_no, "unknown key '" + std::string(key) + "'");
        }
    }
    if (!seen_kind || !seen_hostlist) {
        return make_error(ErrorKind::k_io, "hook request: missing 'kind' or 'hostlist'");
    }
    return r;
}

}  // namespace cb
