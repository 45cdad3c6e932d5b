#include "emulator/vm_boot.h"

#include <gtest/gtest.h>

namespace cb::emulator {
namespace {

ClusterInitBoot boot() {
    ClusterInitBoot b;
    b.boot_script = "/src/scripts/emulator-vm-boot.sh";
    b.project = "/src/templates/cluster-init/cloudburst";
    b.cluster = "hpc1";
    b.sched = "/tb/sched";
    b.binds = {"/tb"};
    return b;
}

TEST(VmBoot, CommandLineCarriesTheNodeTheClusterAndJetpacksValues) {
    const auto argv = vm_boot_argv(
        boot(), {"hpc-3", "ns-x-1", "198.18.4.130", "/tb/mnt/hpc-3", "/tb/run/b", 0, {}});
    const std::vector<std::string> expected{"/bin/bash",
                                            "/src/scripts/emulator-vm-boot.sh",
                                            "boot",
                                            "--node",
                                            "hpc-3",
                                            "--cluster",
                                            "hpc1",
                                            "--project",
                                            "/src/templates/cluster-init/cloudburst",
                                            "--spec",
                                            "execute",
                                            "--root",
                                            "/",
                                            "--mnt",
                                            "/tb/mnt/hpc-3",
                                            "--status",
                                            "/tb/run/b",
                                            "--sched",
                                            "/tb/sched",
                                            "--bind",
                                            "/tb",
                                            "--config",
                                            "cyclecloud.instance.id=ns-x-1",
                                            "--config",
                                            "cyclecloud.instance.ipv4=198.18.4.130"};
    EXPECT_EQ(argv, expected);
}

// A GPU size's VM gets its device stand-ins; the node's cloudburst.* settings reach jetpack,
// except a value that would start another line of jetpack's file or a key that is no name.
TEST(VmBoot, GpusAndTheNodesSettingsReachTheVm) {
    const auto argv = vm_boot_argv(boot(), {"gpu-1",
                                            "ns-x-2",
                                            "198.18.4.131",
                                            "/tb/mnt/gpu-1",
                                            "/tb/run/b",
                                            2,
                                            {{"cloudburst.gpus", "2"},
                                             {"cloudburst.x", "a\ncyclecloud.node.name=evil"},
                                             {"cloud burst", "1"}}});
    const std::vector<std::string> tail(argv.end() - 8, argv.end());
    EXPECT_EQ(tail, (std::vector<std::string>{
                        "--gpus", "2", "--config", "cyclecloud.instance.id=ns-x-2", "--config",
                        "cyclecloud.instance.ipv4=198.18.4.131", "--config", "cloudburst.gpus=2"}));
}

TEST(VmBoot, RelativePathsAndAMissingClusterAreConfigErrors) {
    auto b = boot();
    b.project = "templates/cluster-init/cloudburst";
    auto st = check_cluster_init_boot(b);
    ASSERT_FALSE(st);
    EXPECT_EQ(st.error().kind, ErrorKind::k_config);
    EXPECT_EQ(st.error().message,
              "the cluster-init project must be an absolute path, got "
              "'templates/cluster-init/cloudburst'");
    b = boot();
    b.binds = {"tb"};
    EXPECT_EQ(check_cluster_init_boot(b).error().message,
              "a VM bind must be an absolute path, got 'tb'");
    b = boot();
    b.cluster.clear();
    EXPECT_EQ(check_cluster_init_boot(b).error().message, "the cluster name for jetpack is empty");
    EXPECT_TRUE(check_cluster_init_boot(boot()));
}

TEST(VmBoot, StatusIsPendingUntilALineIsComplete) {
    EXPECT_FALSE(parse_boot_status(""));
    EXPECT_FALSE(parse_boot_status("o"));
    EXPECT_FALSE(parse_boot_status("failed cluster-init x exited"));
    auto ok = parse_boot_status("ok\n");
    ASSERT_TRUE(ok);
    EXPECT_TRUE(*ok);
}

TEST(VmBoot, AFailedBootCarriesItsMessage) {
    auto failed = parse_boot_status(
        "failed cluster-init cloudburst/execute/scripts/10-cloudburst-node.sh exited with 1: "
        "cloudburst cluster-init: error: user munge exists with UID 102, the scheduler uses "
        "11101\n");
    ASSERT_TRUE(failed);
    ASSERT_FALSE(*failed);
    EXPECT_EQ(failed->error().message,
              "cluster-init cloudburst/execute/scripts/10-cloudburst-node.sh exited with 1: "
              "cloudburst cluster-init: error: user munge exists with UID 102, the scheduler "
              "uses 11101");
}

}  // namespace
}  // namespace cb::emulator
