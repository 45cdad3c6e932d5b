// The pure decisions of `cloudburst setup scheduler`: OS detection, packages, the bursting
// settings per Slurm release, NFS exports.
#include "core/scheduler_setup.h"

#include <gtest/gtest.h>

#include "util/text.h"

namespace cb {
namespace {

TEST(OsRelease, DebianAndUbuntuUseApt) {
    auto d = parse_os_release(
        "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\n"
        "VERSION_ID=\"12\"\n");
    ASSERT_TRUE(d) << d.error().message;
    EXPECT_EQ(d->package_manager, PackageManager::k_apt);
    auto u = parse_os_release("ID=ubuntu\nVERSION_ID=\"24.04\"\n");
    ASSERT_TRUE(u);
    EXPECT_EQ(u->package_manager, PackageManager::k_apt);
}

TEST(OsRelease, AlmaRockyAndRhelUseDnf) {
    for (const char* text :
         {"ID=\"almalinux\"\nVERSION_ID=\"8.9\"\n", "ID=rhel\nVERSION_ID=9.4\n",
          "ID=\"rocky\"\nID_LIKE=\"rhel centos fedora\"\nVERSION_ID=\"9.3\"\n"}) {
        auto os = parse_os_release(text);
        ASSERT_TRUE(os) << text;
        EXPECT_EQ(os->package_manager, PackageManager::k_dnf) << text;
    }
}

TEST(OsRelease, OthersAreRefusedWithTheSupportedList) {
    auto os = parse_os_release(
        "PRETTY_NAME=\"CentOS Linux 7 (Core)\"\nID=centos\n"
        "ID_LIKE=\"rhel fedora\"\nVERSION_ID=\"7\"\n");
    ASSERT_FALSE(os);
    EXPECT_EQ(os.error().message,
              "unsupported operating system 'CentOS Linux 7 (Core)': cloudburst setup supports "
              "AlmaLinux, Rocky Linux and RHEL 8 and 9, Debian 12 and Ubuntu 22.04 or later");
    EXPECT_FALSE(parse_os_release("ID=debian\nVERSION_ID=11\n"));
    EXPECT_FALSE(parse_os_release("ID=ubuntu\nVERSION_ID=20.04\n"));
}

TEST(SchedulerPackages, PinTheSlurmPackagesOnly) {
    EXPECT_EQ(
        scheduler_packages(PackageManager::k_apt, ""),
        (std::vector<std::string>{"slurmctld", "slurm-client", "munge", "nfs-kernel-server"}));
    EXPECT_EQ(scheduler_packages(PackageManager::k_dnf, "23.11.10-1.el9"),
              (std::vector<std::string>{"slurm-23.11.10-1.el9", "slurm-slurmctld-23.11.10-1.el9",
                                        "munge", "nfs-utils"}));
}

TEST(SlurmRelease, ReadsSlurmctldAndPackageVersions) {
    for (const char* text : {"slurm-wlm 22.05.8\n", "slurm 22.05.11", "22.05.8-4+deb12u3"}) {
        auto r = parse_slurm_release(text);
        ASSERT_TRUE(r) << text;
        EXPECT_EQ(r->major, 22);
        EXPECT_EQ(r->minor, 5);
    }
    EXPECT_FALSE(parse_slurm_release("command not found"));
}

std::string value_of(const std::vector<SlurmConfSetting>& s, const std::string& key) {
    for (const auto& x : s) {
        if (x.key == key) {
            return x.value;
        }
    }
    return "(absent)";
}

TEST(BurstingSettings, FollowTheSlurmRelease) {
    SchedulerSettings s{"sched", "10.0.0.5", "/usr/bin", "/etc/slurm/cloudburst.conf",
                        {22, 5}, "",         false};
    const auto old = bursting_settings(s);
    EXPECT_EQ(value_of(old, "SlurmctldHost"), "sched(10.0.0.5)");
    EXPECT_EQ(value_of(old, "SuspendTime"), "INFINITE");
    EXPECT_EQ(value_of(old, "ReturnToService"), "2");
    EXPECT_EQ(value_of(old, "ResumeProgram"), "/usr/bin/cloudburst-resume");
    EXPECT_EQ(value_of(old, "SuspendProgram"), "/usr/bin/cloudburst-suspend");
    EXPECT_EQ(value_of(old, "ResumeFailProgram"), "/usr/bin/cloudburst-resume-fail");
    EXPECT_EQ(value_of(old, "SlurmctldParameters"),
              "idle_on_node_suspend,enable_configless,cloud_reg_addrs");
    EXPECT_EQ(value_of(old, "PrivateData"), "cloud");
    EXPECT_EQ(value_of(old, "TreeWidth"), "65533");
    EXPECT_EQ(value_of(old, "SrunPortRange"), "60001-63000");
    EXPECT_EQ(value_of(old, "ResumeRate"), "0");  // no limit: cloudburst batches itself
    EXPECT_EQ(value_of(old, "SuspendRate"), "0");
    s.release = {23, 2};
    EXPECT_EQ(value_of(bursting_settings(s), "PrivateData"), "(absent)");
    EXPECT_EQ(value_of(bursting_settings(s), "TreeWidth"), "65533");
    s.release = {24, 5};
    const auto fresh = bursting_settings(s);
    EXPECT_EQ(value_of(fresh, "SlurmctldParameters"), "idle_on_node_suspend,enable_configless");
    EXPECT_EQ(value_of(fresh, "TreeWidth"), "(absent)");
}

TEST(ExportSubnet, OnlyRealSubnets) {
    EXPECT_TRUE(check_export_subnet("10.1.0.0/16"));
    EXPECT_TRUE(check_export_subnet("192.168.7.128/25"));
    EXPECT_EQ(check_export_subnet("*").error().message,
              "--export-subnet '*': wildcards export to the world; give the subnets of the "
              "cloud nodes, e.g. 10.1.0.0/16");
    EXPECT_EQ(check_export_subnet("10.1.2.0/16").error().message,
              "--export-subnet '10.1.2.0/16': host bits are set; did you mean the network "
              "address?");
    EXPECT_FALSE(check_export_subnet("0.0.0.0/0"));
    EXPECT_FALSE(check_export_subnet("example.com"));
    EXPECT_FALSE(check_export_subnet("10.1.0.0"));
    EXPECT_FALSE(check_export_subnet("10.1.0.0/33"));
    EXPECT_FALSE(check_export_subnet("300.1.0.0/16"));
}

TEST(Exports, WorldExportsBecomeSubnetExports) {
    const std::string before =
        "# site exports\n/data 192.168.0.0/24(ro)\n/sched *(rw,sync,no_root_squash)\n"
        "/sched 10.9.0.0/16(rw)\n";
    std::vector<std::string> changes;
    const std::vector<NfsExport> wanted{{"/sched", {"10.1.0.0/16"}, "rw,sync"},
                                        {"/shared", {"10.1.0.0/16", "10.2.0.0/16"}, "rw"}};
    const std::string after = edit_exports(before, wanted, changes);
    EXPECT_EQ(after,
              "# site exports\n/data 192.168.0.0/24(ro)\n/sched 10.1.0.0/16(rw,sync)\n"
              "/shared 10.1.0.0/16(rw) 10.2.0.0/16(rw)\n");
    EXPECT_EQ(changes.size(), 3u);
    std::vector<std::string> again;
    EXPECT_EQ(edit_exports(after, wanted, again), after);
    EXPECT_TRUE(again.empty());
}

TEST(ClusterName, EscapedAsCycleCloudDoes) {
    EXPECT_EQ(escaped_cluster_name("My_Cluster.1"), "my-cluster-1");
}

// The cluster-init reads these lines (templates/cluster-init, 10-cloudburst-node.sh); the
// port is where the configless nodes fetch their configuration.
TEST(NodeEnvironment, NamesTheControllersAddressPortVersionAndPinnedIds) {
    NodeEnvironment env{"hpc1", "sched", "10.0.0.5", "22.05.8-4+deb12u3",
                        11100,  11100,   11101,      11101};
    env.controller_port = 6820;
    EXPECT_EQ(node_environment_file(env),
              "# Written by `cloudburst setup scheduler` for the burst nodes' cluster-init\n"
              "# (templates/cluster-init). KEY=VALUE lines; read, never sourced.\n"
              "CLUSTER=hpc1\nSLURMCTLD_HOST=sched\nSLURMCTLD_ADDR=10.0.0.5\nSLURMCTLD_PORT=6820\n"
              "SLURM_VERSION=22.05.8-4+deb12u3\nSLURM_UID=11100\nSLURM_GID=11100\n"
              "MUNGE_UID=11101\nMUNGE_GID=11101\n");
}

}  // namespace
}  // namespace cb

namespace cb {
namespace {

// slurm.conf after setup's edit, for a site whose slurm.conf is `conf`.
std::string set_up(const std::string& conf, SlurmRelease release, bool chained) {
    const SchedulerSettings s{"sched",
                              "10.0.0.5",
                              "/usr/libexec/cloudburst",
                              "/etc/slurm/cloudburst.conf",
                              release,
                              slurm_conf_value(conf, "PrologSlurmctld"),
                              chained};
    return edit_slurm_conf(conf, bursting_settings(s), s.include_path).text;
}

int lines_with(const std::string& text, const std::string& line) {
    int n = 0;
    for (const auto& l : split_lines(text)) {
        n += l == line ? 1 : 0;
    }
    return n;
}

TEST(BurstingSettings, TheGateJoinsASitesPrologSlurmctldAsTheVersionAllows) {
    const std::string gate = "PrologSlurmctld=/usr/libexec/cloudburst/cloudburst-prolog";
    const std::string site = "PrologSlurmctld=/opt/site/prolog.sh";
    // None yet: the gate's line.
    EXPECT_EQ(lines_with(set_up("ClusterName=c\n", {22, 5}, false), gate), 1);
    // 24.05 and later run several: the site's stays and the gate gets a second line, once.
    const std::string both = set_up(site + "\n", {24, 11}, false);
    EXPECT_EQ(lines_with(both, site), 1) << both;
    EXPECT_EQ(lines_with(both, gate), 1) << both;
    EXPECT_EQ(set_up(both, {24, 11}, false), both);
    // Before 24.05 one line: the gate takes it only when the config chains the site's.
    const std::string kept = set_up(site + "\n", {23, 11}, false);
    EXPECT_EQ(lines_with(kept, site), 1) << kept;
    EXPECT_EQ(lines_with(kept, gate), 0) << kept;
    const std::string chained = set_up(site + "\n", {22, 5}, true);
    EXPECT_EQ(lines_with(chained, site), 0) << chained;
    EXPECT_EQ(lines_with(chained, gate), 1) << chained;
    EXPECT_EQ(set_up(chained, {22, 5}, false), chained);  // a rerun changes nothing
    SchedulerSettings s;
    s.release = {23, 11};
    s.site_prolog = "/opt/site/prolog.sh";
    EXPECT_EQ(prolog_plan(s), PrologPlan::k_chain);
    s.release = {24, 5};
    EXPECT_EQ(prolog_plan(s), PrologPlan::k_second_line);
    s.site_prolog = "/usr/libexec/cloudburst/cloudburst-prolog";
    EXPECT_EQ(prolog_plan(s), PrologPlan::k_none);
}

}  // namespace
}  // namespace cb
