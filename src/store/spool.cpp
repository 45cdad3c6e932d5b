#include "store/spool.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "util/files.h"

namespace cb {

namespace {

bool is_request_name(const char* name) {
    const std::size_t n = std::strlen(name);
    return n > 4 && name[0] != '.' && std::strcmp(name + n - 4, ".req") == 0;
}

}  // namespace

Result<std::string> Spool::submit(const HookRequest& request) const {
    static std::atomic<unsigned> seq{0};
    auto text = serialize(request);
    if (!text) {
        return text.error();
    }
    char name[96];
    std::snprintf(name, sizeof name, "%016lld-%lld-%u.req",
                  static_cast<long long>(request.received_ms), static_cast<long long>(request.pid),
                  seq.fetch_add(1));
    std::string path = m_dir + "/" + name;
    // No fsync: it costs the hook milliseconds (slurmctld waits on it) and only protects
    // against a machine crash, after which slurmctld runs ResumeProgram again for the jobs
    // still waiting, and the orphan sweep finds VMs whose suspend was lost.
    if (auto st = write_file_atomic(path, *text, 0640, Durability::k_process_crash); !st) {
        return st.error();
    }
    return path;
}

Result<Spool::Listing> Spool::pending() const {
    DIR* d = ::opendir(m_dir.c_str());
    if (d == nullptr) {
        return make_error(ErrorKind::k_io,
                          "cannot read spool directory " + m_dir + ": " + std::strerror(errno));
    }
    std::vector<std::string> names;
    while (const dirent* e = ::readdir(d)) {
        if (is_request_name(e->d_name)) {
            names.emplace_back(e->d_name);
        }
    }
    ::closedir(d);
    std::sort(names.begin(), names.end());
    Listing out;
    for (const auto& name : names) {
        std::string path = m_dir + "/" + name;
        if (!m_trusted.empty()) {
            struct stat st {};
            if (::lstat(path.c_str(), &st) != 0) {
                continue;  // taken by someone else between listing and reading
            }
            if (!S_ISREG(st.st_mode) ||
                std::find(m_trusted.begin(), m_trusted.end(), st.st_uid) == m_trusted.end()) {
                out.bad.emplace_back(
                    path, make_error(ErrorKind::k_invalid_input,
                                     "not a regular file owned by root or SlurmUser (owner uid " +
                                         std::to_string(st.st_uid) + "); not carried out"));
                continue;
            }
        }
        auto text = read_file(path, 4u << 20);
        if (!text) {
            if (text.error().message.find("No such file") != std::string::npos) {
                continue;  // taken by someone else between listing and reading
            }
            out.bad.emplace_back(path, text.error());
            continue;
        }
        auto request = parse_hook_request(*text);
        if (!request) {
            out.bad.emplace_back(path, request.error());
            continue;
        }
        out.entries.push_back({std::move(path), std::move(*request)});
    }
    return out;
}

Status Spool::remove(const SpoolEntry& entry) const {
    if (::unlink(entry.path.c_str()) != 0 && errno != ENOENT) {
        return make_error(ErrorKind::k_io,
                          "cannot remove " + entry.path + ": " + std::strerror(errno));
    }
    return ok_status();
}

}  // namespace cb
