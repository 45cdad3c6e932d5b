#include "cli/system_facts.h"

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <vector>

#include "util/files.h"
#include "util/process.h"
#include "util/sanitize.h"
#include "util/text.h"

namespace cb::cli {

std::optional<FileFacts> stat_file(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
        return std::nullopt;
    }
    return FileFacts{st.st_mode, st.st_uid, st.st_gid};
}

std::optional<UserIds> lookup_user(const std::string& name) {
    const std::string bare = name.substr(0, name.find('('));
    std::vector<char> buf(16384);
    passwd pw{};
    passwd* found = nullptr;
    if (bare.empty() || ::getpwnam_r(bare.c_str(), &pw, buf.data(), buf.size(), &found) != 0 ||
        found == nullptr) {
        return std::nullopt;
    }
    return UserIds{bare, found->pw_uid, found->pw_gid};
}

std::string slurm_conf_path(const std::string& explicit_path, const std::string& conf_dir) {
    if (!explicit_path.empty()) {
        return explicit_path;
    }
    const char* env = std::getenv("SLURM_CONF");
    if (env != nullptr && *env != '\0') {
        return env;
    }
    return conf_dir + "/slurm.conf";
}

std::vector<std::string> included_conf_files(const std::string& path,
                                             const SlurmSettings& settings) {
    const std::filesystem::path dir = std::filesystem::path(path).parent_path();
    std::vector<std::string> out;
    for (const auto& inc : settings.includes) {
        std::filesystem::path p(inc);
        out.push_back((p.is_relative() ? dir / p : p).string());
    }
    return out;
}

Result<SlurmConfRead> read_slurm_settings(const std::string& path, const std::string& scontrol) {
    auto text = read_file(path);
    if (!text) {
        return text.error().with_context("reading slurm.conf");
    }
    SlurmConfRead out;
    out.settings = parse_slurm_conf(*text);
    for (const auto& file : included_conf_files(path, out.settings)) {
        if (auto included = read_file(file)) {
            merge_included_conf(*included, out.settings);
        }
    }
    std::vector<std::string> env = minimal_environment();
    env.push_back("SLURM_CONF=" + path);
    auto shown = run_command({{scontrol, "show", "config"}, env, {}, std::chrono::seconds(10)});
    if (shown && shown->ok()) {
        merge_scontrol_config(shown->out, out.settings);
        out.from_slurmctld = true;
    }
    if (out.settings.version.empty()) {
        auto version = run_command({{scontrol, "--version"}, env, {}, std::chrono::seconds(10)});
        if (version && version->ok()) {
            // "slurm 22.05.8"
            const auto space = version->out.find(' ');
            std::string v =
                space == std::string::npos ? version->out : version->out.substr(space + 1);
            while (!v.empty() && (v.back() == '\n' || v.back() == ' ')) {
                v.pop_back();
            }
            out.settings.version = v;
        }
    }
    return out;
}

Status run_scontrol(const SlurmCliOptions& so, const std::vector<std::string>& args) {
    Command cmd{{so.scontrol}, minimal_environment(), {}, so.timeout};
    cmd.argv.insert(cmd.argv.end(), args.begin(), args.end());
    cmd.env.push_back("SLURM_CONF=" + so.slurm_conf);
    auto r = run_command(cmd);
    if (!r) {
        return r.error();
    }
    if (!r->ok()) {
        return make_error(ErrorKind::k_slurm, "scontrol " + args.front() + " failed: " +
                                                  without_control_chars(trim(r->err)));
    }
    return ok_status();
}

std::string program_dir() {
    std::error_code ec;
    const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (ec) {
        return "/usr/bin";
    }
    return exe.parent_path().string();
}

std::string installed_program(std::string_view name) {
    namespace fs = std::filesystem;
    const fs::path here = program_dir();
    if (fs::path beside = here / name; ::access(beside.c_str(), X_OK) == 0) {
        return beside.string();
    }
    // CB_INSTALL_*DIR are GNUInstallDirs' values: relative to the prefix, or absolute.
    const bool daemon = name == "cloudburstd";
    const bool hook = name.rfind("cloudburst-", 0) == 0;
    const fs::path dir = daemon ? fs::path(CB_INSTALL_SBINDIR)
                         : hook ? fs::path(CB_INSTALL_LIBEXECDIR) / "cloudburst"
                                : fs::path(CB_INSTALL_BINDIR);
    const fs::path prefix = here.parent_path();
    return (dir.is_absolute() ? dir / name : prefix / dir / name).lexically_normal().string();
}

}  // namespace cb::cli
