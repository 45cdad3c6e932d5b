// Issue 11, finding 9: /sched was exported rw,no_root_squash from a directory of /, so root on
// any host in the export subnet could replace the munge key every new node installs, plant
// setuid programs, or reach files outside the export. These tests show what setup writes,
// what doctor flags, how the template mounts, and when setup warns.
#include <grp.h>
#include <gtest/gtest.h>
#include <pwd.h>

#include <algorithm>
#include <sstream>
#include <string>
#include <vector>

#include "core/doctor_checks.h"
#include "core/scheduler_setup.h"
#include "fakes/temp_dir.h"
#include "unit/emulator_fixtures.h"
#include "util/files.h"
#include "util/process.h"

namespace cb {
namespace {

using testing_fakes::TempDir;

std::string read_or_empty(const std::string& path) {
    auto text = read_file(path);
    return text ? *text : std::string();
}

const ExportFilesystem k_own_filesystem{"/sched", "/"};
const ExportFilesystem k_directory_of_root{"/", "/sched"};

std::vector<std::string> split(const std::string& text, char separator) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string item; std::getline(in, item, separator);) {
        out.push_back(item);
    }
    return out;
}

// The /etc/exports text setup writes on a machine whose exports file was the seed's.
std::string setup_exports(const ExportFilesystem& sched_fs) {
    std::vector<std::string> changes;
    return edit_exports("/sched *(rw,sync,no_root_squash)\n/shared *(rw,sync,no_root_squash)\n",
                        scheduler_exports("/sched", "/shared", {"10.0.0.0/24"}, sched_fs), changes);
}

// Issue 11, finding 9: NFS /sched is rw,no_root_squash on a subdirectory of /
TEST(SecurityNfsExports, SetupExportsSchedReadOnlyAndRootSquashedNeverNoRootSquash) {
    EXPECT_EQ(setup_exports(k_own_filesystem),
              "/sched 10.0.0.0/24(ro,sync,root_squash,secure,no_subtree_check)\n"
              "/shared 10.0.0.0/24(rw,sync,root_squash,secure,no_subtree_check)\n");
    // A directory of /: subtree_check, so nfsd also checks a handle's directory.
    EXPECT_EQ(setup_exports(k_directory_of_root),
              "/sched 10.0.0.0/24(ro,sync,root_squash,secure,subtree_check)\n"
              "/shared 10.0.0.0/24(rw,sync,root_squash,secure,no_subtree_check)\n");
    for (const auto& fs : {k_own_filesystem, k_directory_of_root}) {
        EXPECT_EQ(setup_exports(fs).find("no_root_squash"), std::string::npos);
    }
}

// Issue 11, finding 9: the command itself, in its dry run, on a temporary tree.
TEST(SecurityNfsExports, SetupDryRunShowsReadOnlyRootSquashedExportsAndWarns) {
    TempDir dir("cb-nfs-setup");
    const std::string root = dir.path();
    ASSERT_TRUE(write_file_atomic(root + "/os-release", "ID=debian\nVERSION_ID=12\n"));
    ASSERT_TRUE(write_file_atomic(root + "/exports", "/data 192.168.1.0/24(ro)\n" + root +
                                                         "/sched *(rw,sync,no_root_squash)\n"));
    // Existing accounts must keep their IDs; absent ones are only "would create".
    unsigned munge_uid = 11101, munge_gid = 11101, slurm_uid = 11100, slurm_gid = 11100;
    if (const passwd* pw = ::getpwnam("munge")) {
        munge_uid = pw->pw_uid;
        munge_gid = pw->pw_gid;
    }
    if (const passwd* pw = ::getpwnam("slurm")) {
        slurm_uid = pw->pw_uid;
        slurm_gid = pw->pw_gid;
    }
    const std::vector<std::string> argv{std::string(CB_BINARY_DIR) + "/cloudburst",
                                        "setup",
                                        "scheduler",
                                        "--dry-run",
                                        "--cluster",
                                        "hpc1",
                                        "--export-subnet",
                                        "10.0.0.0/24",
                                        "--controller-name",
                                        "sched",
                                        "--controller-addr",
                                        "10.0.0.5",
                                        "--hook-dir",
                                        "/usr/bin",
                                        "--sysconfdir",
                                        root + "/etc/slurm",
                                        "--munge-dir",
                                        root + "/etc/munge",
                                        "--exports-file",
                                        root + "/exports",
                                        "--sched-dir",
                                        root + "/sched",
                                        "--shared-dir",
                                        root + "/shared",
                                        "--os-release",
                                        root + "/os-release",
                                        "--sbin-dir",
                                        root + "/sbin",
                                        "--munge-uid",
                                        std::to_string(munge_uid),
                                        "--munge-gid",
                                        std::to_string(munge_gid),
                                        "--slurm-uid",
                                        std::to_string(slurm_uid),
                                        "--slurm-gid",
                                        std::to_string(slurm_gid),
                                        "--no-install",
                                        "--no-start"};
    auto out = run_command({argv, minimal_environment(), {}, std::chrono::seconds(60)});
    ASSERT_TRUE(out) << out.error().describe();
    ASSERT_EQ(out->exit_code, 0) << out->out << out->err;
    EXPECT_NE(out->out.find("exports: replace export '" + root +
                            "/sched *(rw,sync,no_root_squash)' with '" + root +
                            "/sched 10.0.0.0/24(ro,sync,root_squash,secure,subtree_check)'\n"),
              std::string::npos)
        << out->out;
    EXPECT_NE(out->out.find("exports: add export '" + root +
                            "/shared 10.0.0.0/24(rw,sync,root_squash,secure,no_subtree_check)'\n"),
              std::string::npos)
        << out->out;
    // The diff of the exports file: no line it adds says no_root_squash.
    EXPECT_NE(out->out.find("\n+" + root +
                            "/sched 10.0.0.0/24(ro,sync,root_squash,secure,subtree_check)\n"),
              std::string::npos)
        << out->out;
    for (const auto& line : split(out->out, '\n')) {
        if (line.starts_with("+")) {
            EXPECT_EQ(line.find("no_root_squash"), std::string::npos) << line;
        }
    }
    EXPECT_NE(out->err.find("cloudburst: warning: export " + root +
                            "/sched is not a filesystem of its own but a directory on the "
                            "filesystem mounted at "),
              std::string::npos)
        << out->err;
    EXPECT_NE(out->err.find("cloudburst: warning: export " + root + "/shared is not"),
              std::string::npos)
        << out->err;
    EXPECT_EQ(read_or_empty(root + "/exports"),
              "/data 192.168.1.0/24(ro)\n" + root + "/sched *(rw,sync,no_root_squash)\n");
}

const std::string k_doctor_fix =
    ": root on those hosts must neither write /sched nor be root there, or it can replace the "
    "munge key every new node installs and plant setuid programs; export /sched with "
    "ro,root_squash (rerun `cloudburst setup scheduler`), then run `exportfs -ra`";

// Issue 11, finding 9: doctor flags the export the issue found.
TEST(SecurityNfsExports, DoctorFlagsAWritableSchedWithoutRootSquash) {
    EXPECT_EQ(format_check(check_sched_export(
                  {{"/etc/exports", "/sched 10.0.0.0/24(rw,no_root_squash)\n"}}, "/sched")),
              "problem  NFS /sched: /etc/exports:1 exports /sched to 10.0.0.0/24 with "
              "rw,no_root_squash" +
                  k_doctor_fix);
}

TEST(SecurityNfsExports, DoctorReadsOptionsAsExportfsDoes) {
    auto detail = [](const std::string& text) {
        const CheckResult r =
            check_sched_export({{"/etc/exports", "# site\n/data 10.9.0.0/16(rw,no_root_squash)\n"},
                                {"/etc/exports.d/burst.exports", text}},
                               "/sched");
        if (r.outcome != CheckOutcome::k_problem) {
            return std::string(to_string(r.outcome));
        }
        return r.detail.substr(0, r.detail.size() - k_doctor_fix.size());
    };
    const std::string file = "/etc/exports.d/burst.exports:";
    // The defaults are ro and root_squash; later options win; "-opts" sets a line's defaults.
    EXPECT_EQ(detail("/sched 10.0.0.0/24\n"), "ok");
    EXPECT_EQ(detail("/sched 10.0.0.0/24(rw,ro,no_root_squash,root_squash)\n"), "ok");
    EXPECT_EQ(detail("/sched 10.0.0.0/24(ro,no_root_squash,all_squash)\n"), "ok");
    EXPECT_EQ(detail("/sched -rw 10.0.0.0/24 10.1.0.0/24(ro)\n"),
              file + "1 exports /sched to 10.0.0.0/24 with rw");
    EXPECT_EQ(detail("/sched/ 10.0.0.0/24(ro,anonuid=0)\n"),
              file + "1 exports /sched to 10.0.0.0/24 with anonuid=0");
    // The classic typo: a space before the options exports rw to everyone.
    EXPECT_EQ(detail("\n/sched 10.0.0.0/24 (rw)\n"), file + "2 exports /sched to everyone with rw");
    // Continuation lines; a directory above /sched exports it too, one below exports the key.
    EXPECT_EQ(detail("/sched \\\n  10.0.0.0/24(no_root_squash)\n/ 10.0.0.0/24(rw)\n"
                     "/sched/hpc1 10.0.0.0/24(rw)\n/schedule 10.0.0.0/24(rw)\n"),
              file + "1 exports /sched to 10.0.0.0/24 with no_root_squash; " + file +
                  "3 exports / to 10.0.0.0/24 with rw; " + file +
                  "4 exports /sched/hpc1 to 10.0.0.0/24 with rw");
    EXPECT_EQ(detail("/schedule 10.0.0.0/24(rw)\n"), "skipped");
    EXPECT_EQ(
        format_check(check_sched_export({{"/etc/exports", "/data 10.9.0.0/16(rw)\n"}}, "/sched")),
        "skipped  NFS /sched: no line of /etc/exports exports /sched");
}

// Issue 11, finding 9: what setup writes passes doctor.
TEST(SecurityNfsExports, DoctorPassesTheExportsSetupWrites) {
    for (const auto& fs : {k_own_filesystem, k_directory_of_root}) {
        EXPECT_EQ(format_check(check_sched_export({{"/etc/exports", setup_exports(fs)}}, "/sched")),
                  "ok       NFS /sched: /sched is exported read-only with root squashed "
                  "(/etc/exports)");
        // The world check agrees.
        EXPECT_EQ(check_nfs_exports(setup_exports(fs), "/etc/exports").outcome, CheckOutcome::k_ok);
    }
}

// The effective state of a mount option list: the last of `on` and `off` wins.
bool last_wins(const std::vector<std::string>& options, const std::string& on,
               const std::string& off) {
    bool state = false;
    for (const auto& o : options) {
        if (o == on) {
            state = true;
        } else if (o == off) {
            state = false;
        }
    }
    return state;
}

std::string mount_options(const emulator::NodeArrayDefinition& array, const std::string& mount) {
    for (const auto& kv : array.configuration) {
        if (kv.key == "cyclecloud.mounts." + mount + ".options") {
            return emulator::to_text(kv.value);
        }
    }
    return "<unset>";
}

// Issue 11, finding 9: every node array mounts /sched ro,nosuid,nodev,noexec and /shared
// nosuid,nodev, whatever the mount option parameters say.
TEST(SecurityNfsExports, TemplateMountsSchedReadOnlyNoexecAndBothNosuidNodev) {
    const auto defaults = emulator::testing::definition();
    const auto overridden = emulator::testing::definition(
        {"NFSSchedMountOptions=rw,suid,dev,exec", "NFSSharedMountOptions=rw,suid,dev"});
    for (const auto* def : {&defaults, &overridden}) {
        ASSERT_FALSE(def->node_arrays.empty());
        for (const auto& array : def->node_arrays) {
            const auto sched = split(mount_options(array, "nfs_sched"), ',');
            const auto shared = split(mount_options(array, "nfs_shared"), ',');
            EXPECT_TRUE(last_wins(sched, "ro", "rw")) << array.name;
            EXPECT_TRUE(last_wins(sched, "nosuid", "suid")) << array.name;
            EXPECT_TRUE(last_wins(sched, "nodev", "dev")) << array.name;
            EXPECT_TRUE(last_wins(sched, "noexec", "exec")) << array.name;
            EXPECT_TRUE(last_wins(shared, "nosuid", "suid")) << array.name;
            EXPECT_TRUE(last_wins(shared, "nodev", "dev")) << array.name;
        }
    }
    EXPECT_EQ(mount_options(defaults.node_arrays.front(), "nfs_sched"),
              "hard,vers=4.1,ro,nosuid,nodev,noexec");
    EXPECT_EQ(mount_options(defaults.node_arrays.front(), "nfs_shared"),
              "rw,hard,vers=4.1,nosuid,nodev");
}

const std::string k_mountinfo =
    "21 26 0:20 / /proc rw,relatime - proc proc rw\n"
    "26 1 254:0 / / rw,relatime - ext4 /dev/vda rw\n"
    "40 26 8:16 / /sched rw,relatime - xfs /dev/sdb rw\n"
    "41 26 254:0 /srv/shared /shared rw,relatime - ext4 /dev/vda rw\n"
    "42 26 8:32 / /mnt/my\\040disk rw,relatime - ext4 /dev/sdc rw\n"
    "43 26 8:48 / /data rw,relatime - ext4 /dev/sdd rw\n"
    "44 43 8:64 / /data rw,relatime - ext4 /dev/sde rw\n";

// Issue 11, finding 9: setup says when an export is not a filesystem of its own.
TEST(SecurityNfsExports, ExportsThatAreNotTheirOwnFilesystemAreFound) {
    auto fs = [](std::string_view path) { return export_filesystem(k_mountinfo, path); };
    EXPECT_TRUE(fs("/sched").own());
    EXPECT_TRUE(fs("/mnt/my disk").own());
    EXPECT_TRUE(fs("/data").own());  // the last of stacked mounts
    EXPECT_FALSE(fs("/sched/hpc1").own());
    EXPECT_EQ(fs("/sched/hpc1").mount_point, "/sched");
    EXPECT_EQ(fs("/sched/hpc1").directory, "/hpc1");
    EXPECT_EQ(fs("/schedule").mount_point, "/");
    EXPECT_EQ(fs("/schedule").directory, "/schedule");
    EXPECT_EQ(fs("/shared").directory, "/srv/shared");  // a bind mount of a directory
    EXPECT_EQ(fs("/shared/home").directory, "/srv/shared/home");
    EXPECT_TRUE(export_filesystem("", "/").own());

    EXPECT_EQ(export_filesystem_warning("/sched", fs("/sched")), "");
    const std::string why =
        ": a host in the export subnet that guesses NFS file handles can reach files of that "
        "filesystem outside ";
    EXPECT_EQ(export_filesystem_warning("/schedule", fs("/schedule")),
              "export /schedule is not a filesystem of its own but a directory on the filesystem "
              "mounted at /" +
                  why +
                  "/schedule (nfsd checks only a handle's filesystem unless the export has "
                  "subtree_check, see exports(5)). Mount a filesystem of its own at /schedule (a "
                  "disk, an LVM volume or a loop-mounted image), then rerun `cloudburst setup "
                  "scheduler`; until then keep the export subnet to the burst nodes alone");
    EXPECT_TRUE(export_filesystem_warning("/shared", fs("/shared"))
                    .starts_with("export /shared is not a filesystem of its own but the "
                                 "directory /srv/shared of a filesystem mounted there (a bind "
                                 "mount or a btrfs subvolume)" +
                                 why + "/shared "));

    // This machine: /proc is a filesystem of its own, a directory of /tmp is not.
    auto mountinfo = read_file("/proc/self/mountinfo");
    ASSERT_TRUE(mountinfo) << mountinfo.error().describe();
    EXPECT_TRUE(export_filesystem(*mountinfo, "/proc").own());
    TempDir dir("cb-nfs-fs");
    EXPECT_FALSE(export_filesystem(*mountinfo, dir.path()).own());
}

}  // namespace
}  // namespace cb
