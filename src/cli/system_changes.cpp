#include "cli/system_changes.h"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <functional>
#include <ostream>

#include "util/files.h"

namespace cb::cli {

namespace {

std::string user_name(uid_t uid) {
    const passwd* pw = ::getpwuid(uid);
    return pw != nullptr ? pw->pw_name : std::to_string(uid);
}

std::string group_name(gid_t gid) {
    const group* gr = ::getgrgid(gid);
    return gr != nullptr ? gr->gr_name : std::to_string(gid);
}

std::string command_line(const Command& command) {
    std::string out;
    for (const auto& a : command.argv) {
        out += (out.empty() ? "" : " ") + a;
    }
    return out;
}

Status owner_mode(const std::string& path, mode_t mode, uid_t uid, gid_t gid) {
    if (::lchown(path.c_str(), uid, gid) != 0) {
        return make_error(ErrorKind::k_io,
                          "cannot change the owner of " + path + ": " + std::strerror(errno));
    }
    if (::chmod(path.c_str(), mode) != 0) {
        return make_error(ErrorKind::k_io,
                          "cannot change the mode of " + path + ": " + std::strerror(errno));
    }
    return ok_status();
}

class RealSystemChanges final : public SystemChanges {
  public:
    explicit RealSystemChanges(std::ostream& out) : SystemChanges(out) {}

    Status write_file(const std::string& path, const std::string& content, mode_t mode, uid_t uid,
                      gid_t gid, const std::string& what) override {
        say("changed",
            "wrote " + what + " " + path + " (" + describe_owner_mode(mode, uid, gid) + ")");
        if (auto st = write_file_atomic(path, content, mode); !st) {
            return st;
        }
        return owner_mode(path, mode, uid, gid);
    }

    Status make_directory(const std::string& path, mode_t mode, uid_t uid, gid_t gid) override {
        say("changed",
            "created directory " + path + " (" + describe_owner_mode(mode, uid, gid) + ")");
        if (::mkdir(path.c_str(), mode) != 0 && errno != EEXIST) {
            return make_error(ErrorKind::k_io,
                              "cannot create directory " + path + ": " + std::strerror(errno));
        }
        return owner_mode(path, mode, uid, gid);
    }

    Status set_owner_mode(const std::string& path, mode_t mode, uid_t uid, gid_t gid) override {
        say("changed", "set " + path + " to " + describe_owner_mode(mode, uid, gid));
        return owner_mode(path, mode, uid, gid);
    }

    Status run(const Command& command, const std::string& what) override {
        say("changed", what + ": " + command_line(command));
        auto r = run_command(command);
        if (!r) {
            return r.error();
        }
        if (!r->ok()) {
            std::string err(r->err.empty() ? r->out : r->err);
            while (!err.empty() && err.back() == '\n') {
                err.pop_back();
            }
            return make_error(ErrorKind::k_io, command.argv[0] + " failed (exit " +
                                                   std::to_string(r->exit_code) + "): " + err);
        }
        return ok_status();
    }

    Status other(const std::string& what, const std::function<Status()>& apply) override {
        say("changed", what);
        return apply();
    }
};

class DryRunSystemChanges final : public SystemChanges {
  public:
    explicit DryRunSystemChanges(std::ostream& out) : SystemChanges(out) {}

    Status write_file(const std::string& path, const std::string&, mode_t mode, uid_t uid,
                      gid_t gid, const std::string& what) override {
        say("would",
            "write " + what + " " + path + " (" + describe_owner_mode(mode, uid, gid) + ")");
        return ok_status();
    }
    Status make_directory(const std::string& path, mode_t mode, uid_t uid, gid_t gid) override {
        say("would", "create directory " + path + " (" + describe_owner_mode(mode, uid, gid) + ")");
        return ok_status();
    }
    Status set_owner_mode(const std::string& path, mode_t mode, uid_t uid, gid_t gid) override {
        say("would", "set " + path + " to " + describe_owner_mode(mode, uid, gid));
        return ok_status();
    }
    Status run(const Command& command, const std::string& what) override {
        say("would", what + ": " + command_line(command));
        return ok_status();
    }
    Status other(const std::string& what, const std::function<Status()>&) override {
        say("would", what);
        return ok_status();
    }
};

}  // namespace

void SystemChanges::say(const std::string& prefix, const std::string& what) {
    ++m_count;
    m_out << prefix << ": " << what << "\n" << std::flush;
}

std::unique_ptr<SystemChanges> make_system_changes(ChangeMode mode, std::ostream& out) {
    if (mode == ChangeMode::k_dry_run) {
        return std::make_unique<DryRunSystemChanges>(out);
    }
    return std::make_unique<RealSystemChanges>(out);
}

std::string describe_owner_mode(mode_t mode, uid_t uid, gid_t gid) {
    char octal[8];
    std::snprintf(octal, sizeof octal, "%04o", static_cast<unsigned>(mode & 07777));
    return std::string(octal) + " " + user_name(uid) + ":" + group_name(gid);
}

}  // namespace cb::cli
