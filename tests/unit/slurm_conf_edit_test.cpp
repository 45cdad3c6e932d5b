// Editing a site's slurm.conf in place: keys set, the site's nodes, partitions and comments
// kept byte for byte, nothing appended on a rerun.
#include "core/slurm_conf_edit.h"

#include <gtest/gtest.h>

namespace cb {
namespace {

const std::vector<SlurmConfSetting> k_settings{
    {"SlurmctldHost", "sched(10.0.0.5)", SettingMode::k_replace_first},
    {"SuspendTime", "INFINITE", SettingMode::k_replace},
    {"ResumeTimeout", "1800", SettingMode::k_if_absent},
    {"SlurmctldParameters", "idle_on_node_suspend,cloud_reg_addrs", SettingMode::k_merge_list},
};

const std::string k_site = R"(# our cluster
ClusterName=site
SlurmctldHost=sched
SlurmctldHost=backup
suspendtime=300   # five minutes
ResumeTimeout=600
SlurmctldParameters=enable_configless,idle_on_node_suspend
NodeName=node[1-4] CPUs=8 SuspendTime=10 State=UNKNOWN
PartitionName=work Nodes=node[1-4] Default=YES
Include /etc/slurm/cloudburst.conf
)";

TEST(SlurmConfEdit, SetsKeysInPlaceAndKeepsTheSitesLines) {
    const SlurmConfEdit e = edit_slurm_conf(k_site, k_settings, "/etc/slurm/cloudburst.conf");
    EXPECT_EQ(e.text, R"(# our cluster
ClusterName=site
SlurmctldHost=sched(10.0.0.5)
SlurmctldHost=backup
suspendtime=INFINITE   # five minutes
ResumeTimeout=600
SlurmctldParameters=enable_configless,idle_on_node_suspend,cloud_reg_addrs
NodeName=node[1-4] CPUs=8 SuspendTime=10 State=UNKNOWN
PartitionName=work Nodes=node[1-4] Default=YES
Include /etc/slurm/cloudburst.conf
)");
    EXPECT_EQ(e.changes, (std::vector<std::string>{
                             "SlurmctldHost=sched -> SlurmctldHost=sched(10.0.0.5)",
                             "suspendtime=300 -> suspendtime=INFINITE",
                             "SlurmctldParameters=enable_configless,idle_on_node_suspend -> "
                             "SlurmctldParameters=enable_configless,idle_on_node_suspend,"
                             "cloud_reg_addrs",
                         }));
}

TEST(SlurmConfEdit, SecondEditChangesNothing) {
    const SlurmConfEdit first = edit_slurm_conf(k_site, k_settings, "/etc/slurm/cloudburst.conf");
    const SlurmConfEdit second =
        edit_slurm_conf(first.text, k_settings, "/etc/slurm/cloudburst.conf");
    EXPECT_EQ(second.text, first.text);
    EXPECT_TRUE(second.changes.empty());
}

TEST(SlurmConfEdit, AppendsMissingKeysAndTheIncludeOnce) {
    const std::string site = "ClusterName=x\nNodeName=n1 State=UNKNOWN\n";
    const SlurmConfEdit e = edit_slurm_conf(site, k_settings, "/etc/slurm/cloudburst.conf");
    EXPECT_EQ(e.text, R"(ClusterName=x
NodeName=n1 State=UNKNOWN

# Cloud bursting (added by `cloudburst setup scheduler`; see docs/setup.md).
SlurmctldHost=sched(10.0.0.5)
SuspendTime=INFINITE
ResumeTimeout=1800
SlurmctldParameters=idle_on_node_suspend,cloud_reg_addrs
Include /etc/slurm/cloudburst.conf
)");
    EXPECT_EQ(edit_slurm_conf(e.text, k_settings, "/etc/slurm/cloudburst.conf").text, e.text);
}

TEST(SlurmConfEdit, NodeAndPartitionKeysAreNotGlobalKeys) {
    const std::string site = "PartitionName=cloud Nodes=c[1-2] SuspendTime=60\n";
    const SlurmConfEdit e = edit_slurm_conf(
        site, {{"SuspendTime", "INFINITE", SettingMode::k_replace}}, "cloudburst.conf");
    EXPECT_NE(e.text.find("PartitionName=cloud Nodes=c[1-2] SuspendTime=60\n"), std::string::npos);
    EXPECT_NE(e.text.find("\nSuspendTime=INFINITE\n"), std::string::npos);
}

TEST(SlurmConfEdit, AnIncludeOfTheSameFileNameCounts) {
    const std::string site = "include cloudburst.conf\n";
    EXPECT_EQ(edit_slurm_conf(site, {}, "/etc/slurm/cloudburst.conf").text, site);
}

TEST(SlurmConfEdit, ReadsTheLastValueOfAKey) {
    EXPECT_EQ(slurm_conf_value("A=1\na=2 # x\nNodeName=n A=3\n", "A"), "2");
    EXPECT_EQ(slurm_conf_value("B=1\n", "A"), "");
}

}  // namespace
}  // namespace cb
