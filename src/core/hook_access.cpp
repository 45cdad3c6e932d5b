#include "core/hook_access.h"

#include <array>
#include <vector>

namespace cb {

namespace {

std::string one_line(std::string_view text) {
    std::string out;
    for (char c : text) {
        const auto u = static_cast<unsigned char>(c);
        if (c == '\n') {
            out += "; ";
        } else if (u < 0x20 || u == 0x7f) {
            out += ' ';
        } else {
            out += c;
        }
        if (out.size() >= k_max_hook_access_error) {
            out.resize(k_max_hook_access_error);
            break;
        }
    }
    while (!out.empty() && (out.back() == ' ' || out.back() == ';')) {
        out.pop_back();
    }
    return out;
}

std::string check_name(const HookAccessTarget& target) {
    return "Hook access (as " + target.user + ")";
}

// One "KEY STATE [MESSAGE]" line.
struct ReportLine {
    std::string_view key;
    std::string_view state;
    std::string_view message;
};

Error bad_line(std::size_t number, const std::string& what) {
    return make_error(ErrorKind::k_invalid_input,
                      "hook access report line " + std::to_string(number) + ": " + what);
}

}  // namespace

std::string format_hook_access_report(const HookAccessReport& report) {
    std::string out;
    out += report.config_error ? "config error " + one_line(*report.config_error) + "\n"
                               : "config ok\n";
    out +=
        report.spool_error ? "spool error " + one_line(*report.spool_error) + "\n" : "spool ok\n";
    switch (report.socket) {
        case SocketAccess::k_ok:
            out += "socket ok\n";
            break;
        case SocketAccess::k_absent:
            out += "socket absent\n";
            break;
        case SocketAccess::k_refused:
            out += "socket error " + one_line(report.socket_error) + "\n";
            break;
    }
    switch (report.password) {
        case PasswordAccess::k_none:
            out += "password none\n";
            break;
        case PasswordAccess::k_unreadable:
            out += "password unreadable\n";
            break;
        case PasswordAccess::k_readable:
            out += "password readable\n";
            break;
    }
    return out;
}

Result<HookAccessReport> parse_hook_access_report(std::string_view text) {
    if (text.size() > k_max_hook_access_report) {
        return make_error(ErrorKind::k_invalid_input,
                          "hook access report is " + std::to_string(text.size()) +
                              " bytes, more than the " + std::to_string(k_max_hook_access_report) +
                              " allowed");
    }
    static constexpr std::array<std::string_view, 4> k_keys = {"config", "spool", "socket",
                                                               "password"};
    std::vector<ReportLine> lines;
    std::size_t number = 0;
    while (!text.empty()) {
        ++number;
        const auto nl = text.find('\n');
        if (nl == std::string_view::npos) {
            return bad_line(number, "does not end with a newline");
        }
        const std::string_view line = text.substr(0, nl);
        text.remove_prefix(nl + 1);
        for (char c : line) {
            const auto u = static_cast<unsigned char>(c);
            if (u < 0x20 || u == 0x7f) {
                return bad_line(number, "holds a control character");
            }
        }
        if (number > k_keys.size()) {
            return bad_line(number, "is one line too many (expected " +
                                        std::to_string(k_keys.size()) + " lines)");
        }
        const std::string_view key = k_keys[number - 1];
        if (line.substr(0, key.size() + 1) != std::string(key) + " ") {
            return bad_line(number, "expected \"" + std::string(key) + " STATE\"");
        }
        std::string_view rest = line.substr(key.size() + 1);
        const auto space = rest.find(' ');
        ReportLine parsed{key, rest.substr(0, space), {}};
        if (space != std::string_view::npos) {
            parsed.message = rest.substr(space + 1);
            if (parsed.state != "error") {
                return bad_line(number, "only \"error\" carries a message");
            }
            if (parsed.message.empty() || parsed.message.size() > k_max_hook_access_error) {
                return bad_line(number, "error message empty or longer than " +
                                            std::to_string(k_max_hook_access_error) + " bytes");
            }
        } else if (parsed.state == "error") {
            return bad_line(number, "\"error\" without a message");
        }
        lines.push_back(parsed);
    }
    if (lines.size() != k_keys.size()) {
        return bad_line(number + 1,
                        "missing: expected \"" + std::string(k_keys[lines.size()]) + " STATE\"");
    }
    HookAccessReport report;
    auto unknown = [](std::size_t n, const ReportLine& l, const char* expected) {
        return bad_line(n, "unknown " + std::string(l.key) + " state \"" + std::string(l.state) +
                               "\" (expected " + expected + ")");
    };
    if (lines[0].state == "error") {
        report.config_error = std::string(lines[0].message);
    } else if (lines[0].state != "ok") {
        return unknown(1, lines[0], "ok or error");
    }
    if (lines[1].state == "error") {
        report.spool_error = std::string(lines[1].message);
    } else if (lines[1].state != "ok") {
        return unknown(2, lines[1], "ok or error");
    }
    if (lines[2].state == "ok") {
        report.socket = SocketAccess::k_ok;
    } else if (lines[2].state == "absent") {
        report.socket = SocketAccess::k_absent;
    } else if (lines[2].state == "error") {
        report.socket = SocketAccess::k_refused;
        report.socket_error = std::string(lines[2].message);
    } else {
        return unknown(3, lines[2], "ok, absent or error");
    }
    if (lines[3].state == "none") {
        report.password = PasswordAccess::k_none;
    } else if (lines[3].state == "unreadable") {
        report.password = PasswordAccess::k_unreadable;
    } else if (lines[3].state == "readable") {
        report.password = PasswordAccess::k_readable;
    } else {
        return unknown(4, lines[3], "none, unreadable or readable");
    }
    return report;
}

CheckResult check_hook_access(const HookAccessTarget& t, const HookAccessReport& report) {
    std::vector<std::string> problems;
    if (report.config_error) {
        problems.push_back(
            "the hooks cannot load " + t.config + " (" + *report.config_error +
            "): keep the password in a root-only cyclecloud.password_file and run: chmod 0644 " +
            t.config);
    }
    if (report.spool_error) {
        problems.push_back(t.user + " cannot create files in " + t.spool_dir + " (" +
                           *report.spool_error + "): run: chown " + t.user + ": " + t.spool_dir +
                           " && chmod 0700 " + t.spool_dir);
    }
    if (report.socket == SocketAccess::k_refused) {
        problems.push_back(t.user + " cannot connect to " + t.socket + " (" + report.socket_error +
                           "): run cloudburstd as " + t.user +
                           " (systemctl restart cloudburstd), which creates the socket");
    }
    if (report.password == PasswordAccess::k_readable) {
        problems.push_back(t.user + " can read the CycleCloud password in " + t.password_file +
                           ": run: chown root:root " + t.password_file + " && chmod 0600 " +
                           t.password_file);
    }
    if (!problems.empty()) {
        std::string detail;
        for (const auto& p : problems) {
            detail += (detail.empty() ? "" : "; ") + p;
        }
        return check_problem(check_name(t), detail);
    }
    std::string detail = "reads " + t.config + ", writes " + t.spool_dir;
    if (report.socket == SocketAccess::k_ok) {
        detail += ", connects to " + t.socket;
    }
    detail += report.password == PasswordAccess::k_unreadable ? ", cannot read " + t.password_file
                                                              : std::string(", no password file");
    return check_ok(check_name(t), detail);
}

CheckResult hook_access_unknown(const HookAccessTarget& target, const std::string& why) {
    return check_problem(check_name(target), "cannot check what the hooks can reach: " + why);
}

}  // namespace cb
