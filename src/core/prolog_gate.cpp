#include "core/prolog_gate.h"

#include <algorithm>
#include <cctype>

#include "util/hostlist.h"

namespace cb {

namespace {

bool all_digits(std::string_view text) {
    return !text.empty() && text.size() <= 20 && std::all_of(text.begin(), text.end(), [](char c) {
        return std::isdigit(static_cast<unsigned char>(c)) != 0;
    });
}

bool has_space(std::string_view text) {
    return std::any_of(text.begin(), text.end(), [](char c) {
        return std::isspace(static_cast<unsigned char>(c)) != 0 ||
               std::iscntrl(static_cast<unsigned char>(c)) != 0;
    });
}

}  // namespace

std::string gate_request_line(std::string_view job_id, std::string_view hostlist) {
    if (!all_digits(job_id) || hostlist.empty() || has_space(hostlist) ||
        hostlist.size() + 32 > k_max_gate_request_bytes) {
        return {};
    }
    std::string line = "wait ";
    line.append(job_id).append(" ").append(hostlist).append("\n");
    return line;
}

Result<GateRequest> parse_gate_request(std::string_view line) {
    if (!line.empty() && line.back() == '\n') {
        line.remove_suffix(1);
    }
    constexpr std::string_view k_verb = "wait ";
    if (line.substr(0, k_verb.size()) != k_verb) {
        return make_error(ErrorKind::k_invalid_input, "a gate request starts with 'wait '");
    }
    line.remove_prefix(k_verb.size());
    const auto space = line.find(' ');
    if (space == std::string_view::npos || !all_digits(line.substr(0, space))) {
        return make_error(ErrorKind::k_invalid_input,
                          "a gate request is 'wait JOBID HOSTLIST' with a numeric job id");
    }
    const std::string_view hostlist = line.substr(space + 1);
    if (hostlist.empty() || has_space(hostlist)) {
        return make_error(ErrorKind::k_invalid_input, "a gate request names its job's nodes");
    }
    auto hosts = Hostlist::parse(std::string(hostlist));
    if (!hosts) {
        return hosts.error();
    }
    GateRequest out;
    out.job_id = std::string(line.substr(0, space));
    out.nodes = hosts->expand();
    return out;
}

}  // namespace cb
