// The pure checks of `cloudburst doctor` over slurm.conf fixtures, and their messages.
#include "core/doctor_checks.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <map>

#include "core/slurm_settings.h"

namespace cb {
namespace {

using namespace std::chrono_literals;

// A burst-ready slurm.conf: two on-prem nodes never suspended, four cloud nodes.
constexpr const char* k_good_conf = R"(# site config
ClusterName=hpc
SlurmctldHost=sched(10.0.0.4)
SlurmUser=slurm
ReturnToService=2
PrivateData=cloud
TreeWidth=65533
SrunPortRange=60001-63000
ResumeProgram=/usr/sbin/cloudburst-resume
SuspendProgram=/usr/sbin/cloudburst-suspend
ResumeFailProgram=/usr/sbin/cloudburst-resume-fail
ResumeTimeout=1800
SuspendTimeout=600
SuspendTime=INFINITE
Include /etc/slurm/cloudburst.conf
NodeName=onprem[1-2] CPUs=4 State=UNKNOWN
NodeName=DEFAULT State=CLOUD
NodeName=hpc-[1-4] CPUs=4
PartitionName=work Nodes=onprem[1-2],hpc-[1-4] Default=YES
PartitionName=cloud Nodes=hpc-[1-4] SuspendTime=300
)";

SlurmSettings good() {
    SlurmSettings s = parse_slurm_conf(k_good_conf);
    s.version = "22.05.8";
    return s;
}

SlurmSettings with(const std::string& extra) {
    SlurmSettings s = parse_slurm_conf(std::string(k_good_conf) + extra);
    s.version = "22.05.8";
    return s;
}

TEST(SlurmSettings, ParsesGlobalsIncludesNodesAndPartitions) {
    const SlurmSettings s = good();
    EXPECT_EQ(s.get("resumeprogram"), "/usr/sbin/cloudburst-resume");
    EXPECT_EQ(s.get("SLURMCTLDHOST"), "sched(10.0.0.4)");
    ASSERT_EQ(s.includes.size(), 1u);
    EXPECT_EQ(s.includes[0], "/etc/slurm/cloudburst.conf");
    ASSERT_EQ(s.nodes.size(), 2u);
    EXPECT_EQ(s.nodes[0].state, "UNKNOWN");
    EXPECT_EQ(s.nodes[1].state, "CLOUD");  // from NodeName=DEFAULT
    ASSERT_EQ(s.partitions.size(), 2u);
    EXPECT_EQ(s.partitions[1].values.at("suspendtime"), "300");
    EXPECT_FALSE(s.get("ClusterName # site config").has_value());
}

TEST(SlurmSettings, ScontrolShowConfigOverridesTheFile) {
    SlurmSettings s = good();
    merge_scontrol_config(
        "Configuration data as of 2026-01-01T00:00:00\n"
        "ResumeTimeout           = 60 sec\n"
        "SlurmctldHost[0]        = sched(10.0.0.4)\n"
        "SlurmctldHost[1]        = backup\n"
        "SLURM_VERSION           = 23.11.4\n",
        s);
    EXPECT_EQ(s.get("ResumeTimeout"), "60 sec");
    EXPECT_EQ(s.get("SlurmctldHost"), "sched(10.0.0.4)");
    EXPECT_EQ(s.version, "23.11.4");
}

TEST(SlurmSettings, DurationsAndVersions) {
    EXPECT_EQ(parse_slurm_seconds("300"), 300s);
    EXPECT_EQ(parse_slurm_seconds("60 sec"), 60s);
    EXPECT_EQ(parse_slurm_seconds("1:30"), 90s);
    EXPECT_FALSE(parse_slurm_seconds("INFINITE"));
    EXPECT_FALSE(parse_slurm_seconds("NONE"));
    EXPECT_FALSE(parse_slurm_seconds("-1"));
    EXPECT_FALSE(parse_slurm_seconds("soon"));
    EXPECT_EQ(slurm_release("22.05.8"), 2205);
    EXPECT_EQ(slurm_release("25.05.0-1"), 2505);
    EXPECT_EQ(slurm_release(""), 0);
}

TEST(DoctorChecks, FormatsOneLinePerCheck) {
    EXPECT_EQ(format_check(check_ok("munge", "works")), "ok       munge: works");
    EXPECT_EQ(format_check(check_problem("clock", "off")), "problem  clock: off");
    EXPECT_EQ(format_check(check_skipped("NFS exports", "none")), "skipped  NFS exports: none");
    EXPECT_TRUE(all_passed({check_ok("a", ""), check_skipped("b", "")}));
    EXPECT_FALSE(all_passed({check_ok("a", ""), check_problem("b", "")}));
}

// Files for the hook checks: root-owned, 0755.
FileLookup files(std::map<std::string, FileFacts> table) {
    return [table = std::move(table)](const std::string& path) -> std::optional<FileFacts> {
        const auto it = table.find(path);
        if (it == table.end()) {
            return std::nullopt;
        }
        return it->second;
    };
}

const std::map<std::string, FileFacts> k_hook_files{
    {"/usr/sbin/cloudburst-resume", {S_IFREG | 0755, 0, 0}},
    {"/usr/sbin/cloudburst-suspend", {S_IFREG | 0755, 0, 0}},
    {"/usr/sbin/cloudburst-resume-fail", {S_IFREG | 0755, 0, 0}},
    {"/opt/site/resume.sh", {S_IFREG | 0775, 0, 0}},
    {"/opt/site/private", {S_IFREG | 0700, 0, 0}},
};
const UserIds k_slurm{"slurm", 11100, 11100};

TEST(DoctorChecks, HooksThatAreOursAndExecutablePass) {
    const auto results =
        check_hooks(good(), files(k_hook_files), k_slurm, HookExpectation::k_cloudburst);
    ASSERT_EQ(results.size(), 3u);
    for (const auto& r : results) {
        EXPECT_EQ(r.outcome, CheckOutcome::k_ok) << format_check(r);
    }
    EXPECT_EQ(format_check(results[0]), "ok       ResumeProgram: /usr/sbin/cloudburst-resume");
}

TEST(DoctorChecks, HookProblemsSayHowToFixThem) {
    auto first = [](const std::string& extra, HookExpectation e = HookExpectation::k_any_valid) {
        return format_check(check_hooks(with(extra), files(k_hook_files), k_slurm, e).front());
    };
    EXPECT_EQ(first("ResumeProgram=cloudburst-resume\n"),
              "problem  ResumeProgram: cloudburst-resume is not an absolute path (slurmctld runs "
              "it with no PATH): set ResumeProgram=/usr/bin/cloudburst-resume in slurm.conf, "
              "then `scontrol reconfigure`");
    EXPECT_EQ(first("ResumeProgram=/opt/site/resume.sh\n"),
              "problem  ResumeProgram: /opt/site/resume.sh is writable by group or others (mode "
              "0775), so slurmctld disables power saving: chmod go-w /opt/site/resume.sh");
    EXPECT_EQ(first("ResumeProgram=/opt/site/private\n"),
              "problem  ResumeProgram: /opt/site/private is not executable by SlurmUser slurm: "
              "chmod 0755 /opt/site/private");
    EXPECT_EQ(first("ResumeProgram=/opt/site/missing\n"),
              "problem  ResumeProgram: /opt/site/missing does not exist or is not a file: "
              "install cloudburst or set ResumeProgram=/usr/bin/cloudburst-resume in "
              "slurm.conf, then `scontrol reconfigure`");
    EXPECT_EQ(first("ResumeProgram=/opt/site/private\n", HookExpectation::k_cloudburst),
              "problem  ResumeProgram: /opt/site/private is not cloudburst's hook: set "
              "ResumeProgram=/usr/bin/cloudburst-resume in slurm.conf, then `scontrol "
              "reconfigure`");
    SlurmSettings none = good();
    none.values.erase("suspendprogram");
    EXPECT_EQ(format_check(
                  check_hooks(none, files(k_hook_files), k_slurm, HookExpectation::k_any_valid)[1]),
              "problem  SuspendProgram: not set: set SuspendProgram=/usr/bin/cloudburst-suspend "
              "in slurm.conf, then `scontrol reconfigure`");
}

TEST(DoctorChecks, IncludeMayBeRelativeToSlurmConf) {
    EXPECT_EQ(check_include(good(), "/etc/slurm/slurm.conf", "/etc/slurm/cloudburst.conf").outcome,
              CheckOutcome::k_ok);
    const SlurmSettings relative = parse_slurm_conf("Include cloudburst.conf\n");
    EXPECT_EQ(
        check_include(relative, "/etc/slurm/slurm.conf", "/etc/slurm/cloudburst.conf").outcome,
        CheckOutcome::k_ok);
    EXPECT_EQ(format_check(check_include(parse_slurm_conf(""), "/etc/slurm/slurm.conf",
                                         "/etc/slurm/cloudburst.conf")),
              "problem  Include: /etc/slurm/slurm.conf does not include "
              "/etc/slurm/cloudburst.conf: add the line `Include /etc/slurm/cloudburst.conf` to "
              "it, then `scontrol reconfigure`");
}

TEST(DoctorChecks, PrologGateMissingOrForeignIsAWarning) {
    EXPECT_EQ(format_check(check_prolog_gate(good(), "")),
              "WARNING  PrologSlurmctld: not set: batch jobs on cloud nodes start up to 30 s "
              "after their nodes register (Slurm's periodic check); set "
              "PrologSlurmctld=/usr/libexec/cloudburst/cloudburst-prolog and restart slurmctld "
              "(22.05 does not read it on reconfigure)");
    // 22.05 takes one line: chain the site's behind the gate.
    EXPECT_EQ(format_check(check_prolog_gate(with("PrologSlurmctld=/opt/site/prolog.sh\n"), "")),
              "WARNING  PrologSlurmctld: /opt/site/prolog.sh is the site's own: batch jobs on "
              "cloud nodes start up to 30 s after their nodes register (Slurm's periodic "
              "check); this Slurm takes one PrologSlurmctld: set slurm.prolog_chain = "
              "\"/opt/site/prolog.sh\" in the cloudburst config and "
              "PrologSlurmctld=/usr/libexec/cloudburst/cloudburst-prolog (the gate runs the "
              "site's first), or rerun `cloudburst setup scheduler`, which does both");
    SlurmSettings newer = with("PrologSlurmctld=/opt/site/prolog.sh\n");
    newer.version = "24.11.5";
    EXPECT_NE(format_check(check_prolog_gate(newer, ""))
                  .find("add a second line "
                        "PrologSlurmctld=/usr/libexec/cloudburst/cloudburst-prolog (Slurm "
                        "24.11.5 runs both)"),
              std::string::npos);
    EXPECT_EQ(
        check_prolog_gate(with("PrologSlurmctld=/usr/libexec/cloudburst/cloudburst-prolog\n"), "")
            .outcome,
        CheckOutcome::k_ok);
    // Chained, or one of several (scontrol shows them as a comma list).
    EXPECT_EQ(format_check(check_prolog_gate(
                  with("PrologSlurmctld=/usr/libexec/cloudburst/cloudburst-prolog\n"),
                  "/opt/site/prolog.sh")),
              "ok       PrologSlurmctld: /usr/libexec/cloudburst/cloudburst-prolog (jobs start "
              "when their nodes register; it runs the site's /opt/site/prolog.sh first)");
    // 24.05+ print one line per program; the gate may be the second.
    newer = with(
        "PrologSlurmctld=/opt/site/prolog.sh\n"
        "PrologSlurmctld=/usr/lib/cloudburst/cloudburst-prolog\n");
    newer.version = "24.11.5";
    EXPECT_EQ(check_prolog_gate(newer, "").outcome, CheckOutcome::k_ok);
    merge_scontrol_config(
        "PrologSlurmctld[0]      = /opt/site/prolog.sh\n"
        "PrologSlurmctld[1]      = /usr/lib/cloudburst/cloudburst-prolog\n"
        "SlurmctldHost[1]        = backup\n",
        newer);
    EXPECT_EQ(newer.get("PrologSlurmctld"),
              "/opt/site/prolog.sh,/usr/lib/cloudburst/cloudburst-prolog");
    EXPECT_EQ(check_prolog_gate(newer, "").outcome, CheckOutcome::k_ok);
}

TEST(DoctorChecks, Slurm2311BeforeItsEighthFixIsAWarning) {
    SlurmSettings s = good();
    for (const auto& [version, outcome] :
         std::vector<std::pair<std::string, CheckOutcome>>{{"23.11.0", CheckOutcome::k_warning},
                                                           {"23.11.7", CheckOutcome::k_warning},
                                                           {"23.11.8", CheckOutcome::k_ok},
                                                           {"23.11.10", CheckOutcome::k_ok},
                                                           {"22.05.8", CheckOutcome::k_ok},
                                                           {"24.11.5", CheckOutcome::k_ok}}) {
        s.version = version;
        EXPECT_EQ(check_slurm_release_bugs(s).outcome, outcome) << version;
    }
    s.version = "";
    EXPECT_EQ(check_slurm_release_bugs(s).outcome, CheckOutcome::k_skipped);
}

TEST(DoctorChecks, OnPremNodesMustNotBeSuspended) {
    EXPECT_EQ(check_onprem_not_suspended(good()).outcome, CheckOutcome::k_ok);
    const std::string msg =
        "problem  SuspendTime: on-prem nodes onprem[1-2] would be powered down when idle: set "
        "SuspendTime=INFINITE globally and SuspendTime on the cloud partitions only (or list "
        "the nodes in SuspendExcNodes)";
    EXPECT_EQ(format_check(check_onprem_not_suspended(with("SuspendTime=300\n"))), msg);
    EXPECT_EQ(check_onprem_not_suspended(with("SuspendTime=300\nSuspendExcNodes=onprem[1-2]:1\n"))
                  .outcome,
              CheckOutcome::k_ok);
    // A partition value beats the global INFINITE for the nodes in it.
    EXPECT_EQ(format_check(check_onprem_not_suspended(
                  with("PartitionName=local Nodes=onprem1 SuspendTime=600\n"))),
              "problem  SuspendTime: on-prem nodes onprem1 would be powered down when idle: set "
              "SuspendTime=INFINITE globally and SuspendTime on the cloud partitions only (or "
              "list the nodes in SuspendExcNodes)");
    EXPECT_EQ(
        check_onprem_not_suspended(
            with("PartitionName=local Nodes=onprem1 SuspendTime=600\nSuspendExcParts=local\n"))
            .outcome,
        CheckOutcome::k_ok);
}

TEST(DoctorChecks, TimeoutsMustCoverVmBootAndDeletion) {
    EXPECT_EQ(format_check(check_resume_timeout(good())), "ok       ResumeTimeout: 1800 s");
    EXPECT_EQ(format_check(check_resume_timeout(with("ResumeTimeout=60\n"))),
              "problem  ResumeTimeout: 60 s is too short for a VM to boot and start slurmd: set "
              "ResumeTimeout=1800 on the cloud partitions (at least 300 s)");
    // The cloud partition's own value counts.
    EXPECT_EQ(check_resume_timeout(
                  with("ResumeTimeout=60\nPartitionName=work2 Nodes=hpc-1 ResumeTimeout=900\n"))
                  .outcome,
              CheckOutcome::k_problem);  // work and cloud still use 60
    EXPECT_EQ(format_check(check_suspend_timeout(with("SuspendTimeout=30\n"))),
              "problem  SuspendTimeout: 30 s is shorter than deleting a VM can take, so a node "
              "could be resumed while its old VM still exists: set SuspendTimeout=600 (at "
              "least 300 s)");
    EXPECT_EQ(check_suspend_timeout(good()).outcome, CheckOutcome::k_ok);
}

TEST(DoctorChecks, VersionDependentSettings) {
    EXPECT_EQ(check_tree_width(good()).outcome, CheckOutcome::k_ok);
    EXPECT_EQ(format_check(check_tree_width(with("TreeWidth=2\n"))),
              "problem  TreeWidth: 2 is less than the 6 nodes, so slurmd forwards messages to "
              "cloud nodes by names they cannot resolve: set TreeWidth=65533");
    SlurmSettings newer = with("TreeWidth=2\n");
    newer.version = "23.11.1";
    EXPECT_EQ(check_tree_width(newer).outcome, CheckOutcome::k_ok);

    EXPECT_EQ(check_private_data(good()).outcome, CheckOutcome::k_ok);
    EXPECT_EQ(format_check(check_private_data(with("PrivateData=jobs\n"))),
              "problem  PrivateData: Slurm 22.05.8 hides powered-down cloud nodes: add "
              "PrivateData=cloud");
    SlurmSettings unknown = good();
    unknown.version.clear();
    EXPECT_EQ(check_private_data(unknown).outcome, CheckOutcome::k_skipped);

    EXPECT_EQ(format_check(check_return_to_service(with("ReturnToService=1\n"))),
              "problem  ReturnToService: 1 keeps a cloud node that registers after ResumeTimeout "
              "DOWN for good: set ReturnToService=2");
}

// ResumeRate and SuspendRate: no limit, or one no lower than the cloud nodes, is fine; a lower
// one (Slurm's defaults are 300 and 60) is a warning that says what it costs.
TEST(DoctorChecks, PowerRatesBelowTheCloudNodesAreAWarning) {
    EXPECT_EQ(format_check(check_power_rate(good(), "ResumeRate")),
              "ok       ResumeRate: 300 nodes a minute, no fewer than the 4 cloud nodes");
    EXPECT_EQ(format_check(check_power_rate(with("SuspendRate=0\n"), "SuspendRate")),
              "ok       SuspendRate: 0 (no limit)");
    EXPECT_EQ(format_check(check_power_rate(with("ResumeRate=3\n"), "ResumeRate")),
              "WARNING  ResumeRate: 3 nodes a minute: a burst of all 4 cloud nodes reaches "
              "cloudburst over 2 minutes: set ResumeRate=0 (cloudburst batches and paces its own "
              "cloud calls)");
    EXPECT_EQ(
        format_check(check_power_rate(with("NodeName=big-[1-400] State=CLOUD\n"), "SuspendRate")),
        "WARNING  SuspendRate: 60 nodes a minute (Slurm's default): 404 idle cloud nodes "
        "take 7 minutes to power down, their VMs billed meanwhile: set SuspendRate=0 "
        "(cloudburst batches and paces its own cloud calls)");
    // As `scontrol show config` prints it.
    SlurmSettings live = good();
    merge_scontrol_config("ResumeRate              = 2 nodes/min\n", live);
    EXPECT_EQ(check_power_rate(live, "ResumeRate").outcome, CheckOutcome::k_warning);
    EXPECT_EQ(format_check(check_power_rate(with("ResumeRate=fast\n"), "ResumeRate")),
              "problem  ResumeRate: 'fast' is not a number of nodes a minute: set ResumeRate=0");
}

TEST(DoctorChecks, SlurmctldHostMustBeReachableFromTheCloud) {
    auto none = [](const std::string&) { return std::vector<std::string>{}; };
    auto loopback = [](const std::string&) { return std::vector<std::string>{"127.0.1.1"}; };
    auto lan = [](const std::string&) { return std::vector<std::string>{"10.0.0.4"}; };
    EXPECT_EQ(format_check(check_slurmctld_host(good(), none)),
              "ok       SlurmctldHost: sched(10.0.0.4)");
    const SlurmSettings bare = with("SlurmctldHost=sched\n");
    EXPECT_EQ(format_check(check_slurmctld_host(bare, none)),
              "problem  SlurmctldHost: sched does not resolve: cloud nodes cannot find "
              "slurmctld; set SlurmctldHost=sched(IP)");
    EXPECT_EQ(format_check(check_slurmctld_host(bare, loopback)),
              "problem  SlurmctldHost: sched resolves only to loopback (127.0.1.1): set "
              "SlurmctldHost=sched(IP) with an address cloud nodes can reach");
    EXPECT_EQ(format_check(check_slurmctld_host(bare, lan)),
              "ok       SlurmctldHost: sched is 10.0.0.4");
}

TEST(DoctorChecks, Ports) {
    EXPECT_EQ(slurmctld_port(good()), 6817);
    EXPECT_EQ(slurmctld_port(with("SlurmctldPort=7000-7003\n")), 7000);
    EXPECT_EQ(format_check(check_slurmctld_listening(good(), false)),
              "problem  slurmctld: nothing listens on port 6817: start slurmctld (systemctl "
              "enable --now slurmctld)");
    EXPECT_EQ(check_slurmctld_listening(good(), true).outcome, CheckOutcome::k_ok);
    EXPECT_EQ(check_srun_port_range(good()).outcome, CheckOutcome::k_ok);
    EXPECT_EQ(format_check(check_srun_port_range(with("SrunPortRange=0-0\n"))),
              "problem  SrunPortRange: not set, so srun listens on random ports cloud nodes "
              "cannot reach through a firewall: set SrunPortRange=60001-63000 and open that "
              "range");
}

TEST(DoctorChecks, MungeKeyAndConfigFilePermissions) {
    const std::string key = "/etc/munge/munge.key";
    EXPECT_EQ(check_munge_key(key, FileFacts{S_IFREG | 0400, 999, 999}, uid_t{999}).outcome,
              CheckOutcome::k_ok);
    EXPECT_EQ(format_check(check_munge_key(key, FileFacts{S_IFREG | 0644, 0, 0}, uid_t{999})),
              "problem  munge key: /etc/munge/munge.key has mode 0644, readable by others: chmod "
              "0400 /etc/munge/munge.key");
    EXPECT_EQ(format_check(check_munge_key(key, std::nullopt, std::nullopt)),
              "problem  munge key: /etc/munge/munge.key does not exist: create it with `mungekey "
              "--create` and copy it to every node");

    const std::string conf = "/etc/cloudburst/cloudburst.toml";
    EXPECT_EQ(format_check(check_config_file(conf, FileFacts{S_IFREG | 0644, 11100, 0}, k_slurm,
                                             ConfigSecret::k_none)),
              "problem  config file: /etc/cloudburst/cloudburst.toml is owned by uid 11100, not "
              "root: chown root:root /etc/cloudburst/cloudburst.toml");
    EXPECT_EQ(format_check(check_config_file(conf, FileFacts{S_IFREG | 0664, 0, 0}, k_slurm,
                                             ConfigSecret::k_none)),
              "problem  config file: /etc/cloudburst/cloudburst.toml is writable by group or "
              "others (mode 0664): chmod go-w /etc/cloudburst/cloudburst.toml");
}

// Issue 11, finding 2: init's config cannot be read by the hooks
TEST(SecurityConfigLayout, DoctorAcceptsTheLayoutInitWrites) {
    const std::optional<UserIds> slurm = UserIds{"slurm", 64030, 64030};
    EXPECT_EQ(format_check(check_config_file("/etc/cloudburst/cloudburst.toml",
                                             FileFacts{S_IFREG | 0644, 0, 0}, slurm,
                                             ConfigSecret::k_none)),
              "ok       config file: /etc/cloudburst/cloudburst.toml (root, mode 0644, no secret)");
    EXPECT_EQ(format_check(check_password_file("/etc/cloudburst/cyclecloud.password",
                                               FileFacts{S_IFREG | 0600, 0, 0})),
              "ok       password file: /etc/cloudburst/cyclecloud.password (root, mode 0600)");
}

// Issue 11, finding 2: init's config cannot be read by the hooks
TEST(SecurityConfigLayout, DoctorFlagsAnInlinePassword) {
    const std::optional<UserIds> slurm = UserIds{"slurm", 64030, 64030};
    // What init wrote before: root 0600 with the password inline.
    EXPECT_EQ(format_check(check_config_file("/etc/cloudburst/cloudburst.toml",
                                             FileFacts{S_IFREG | 0600, 0, 0}, slurm,
                                             ConfigSecret::k_inline_password)),
              "problem  config file: /etc/cloudburst/cloudburst.toml holds the CycleCloud "
              "password inline, so the hooks (SlurmUser) may not read it: move the password to "
              "a root-only file named by cyclecloud.password_file (run `cloudburst init`, which "
              "does so)");
}

// Issue 11, finding 2: init's config cannot be read by the hooks
TEST(SecurityConfigLayout, DoctorFlagsAPasswordFileOthersCanRead) {
    EXPECT_EQ(format_check(check_password_file("/etc/cloudburst/cyclecloud.password",
                                               FileFacts{S_IFREG | 0644, 0, 0})),
              "problem  password file: /etc/cloudburst/cyclecloud.password has mode 0644, so "
              "others can read the CycleCloud password: chmod 0600 "
              "/etc/cloudburst/cyclecloud.password");
    EXPECT_EQ(format_check(check_password_file("/etc/cloudburst/cyclecloud.password",
                                               FileFacts{S_IFREG | 0600, 64030, 0})),
              "problem  password file: /etc/cloudburst/cyclecloud.password is owned by uid 64030, "
              "not root: chown root:root /etc/cloudburst/cyclecloud.password");
}

// Issue 11, finding 2: init's config cannot be read by the hooks
TEST(SecurityConfigLayout, DoctorFlagsAConfigSlurmUserCannotRead) {
    const std::optional<UserIds> slurm = UserIds{"slurm", 64030, 64030};
    EXPECT_EQ(format_check(check_config_file("/etc/cloudburst/cloudburst.toml",
                                             FileFacts{S_IFREG | 0600, 0, 0}, slurm,
                                             ConfigSecret::k_none)),
              "problem  config file: /etc/cloudburst/cloudburst.toml (mode 0600) is not readable "
              "by SlurmUser slurm, so every hook fails: chmod 0644 "
              "/etc/cloudburst/cloudburst.toml");
    // Readable through SlurmUser's group is enough.
    EXPECT_EQ(check_config_file("/etc/cloudburst/cloudburst.toml",
                                FileFacts{S_IFREG | 0640, 0, 64030}, slurm, ConfigSecret::k_none)
                  .outcome,
              CheckOutcome::k_ok);
}

// Issue 11, finding 6: cleartext and unverified TLS pass silently. doctor said nothing about
// either; now each is a WARNING line that says what to do (and does not fail the run: the
// operator chose it).
TEST(SecurityCleartext, DoctorWarnsAboutUnverifiedTlsAndAllowedHttp) {
    CycleCloudConfig cc;
    cc.url = "https://cc.example.com";
    EXPECT_EQ(format_check(check_transport(cc)),
              "ok       TLS: https:// with CycleCloud's certificate verified by the system's CAs");
    cc.ca_bundle = "/etc/cloudburst/ca.pem";
    EXPECT_EQ(format_check(check_transport(cc)),
              "ok       TLS: https:// with CycleCloud's certificate verified against "
              "/etc/cloudburst/ca.pem");
    cc.ca_bundle.clear();
    cc.verify_tls = false;
    const CheckResult unverified = check_transport(cc);
    EXPECT_EQ(unverified.outcome, CheckOutcome::k_warning);
    EXPECT_EQ(format_check(unverified),
              "WARNING  TLS: cyclecloud.verify_tls = false: CycleCloud's certificate is not "
              "checked, so anyone on the way to cc.example.com can pose as CycleCloud and "
              "collect the password; pin CycleCloud's key with `cloudburst init --tls-pin` "
              "(init shows it), or put CycleCloud's CA certificate in a file and set "
              "cyclecloud.ca_bundle to it, and remove verify_tls");
    EXPECT_TRUE(all_passed({unverified}));
    cc.verify_tls = true;
    cc.tls_pin = "sha256//0123456789abcdefghijklmnopqrstuvwxyzABCDEFG=";
    EXPECT_EQ(format_check(check_transport(cc)),
              "ok       TLS: https:// with CycleCloud's key pinned (cyclecloud.tls_pin): only a "
              "server holding that key is sent the password; the certificate's CA, name and "
              "dates are not checked");

    cc.verify_tls = true;
    cc.url = "http://10.0.0.4:8080";
    cc.allow_insecure_http = true;
    EXPECT_EQ(format_check(check_transport(cc)),
              "WARNING  TLS: cyclecloud.url is http:// to 10.0.0.4 "
              "(cyclecloud.allow_insecure_http = true): the CycleCloud password crosses the "
              "network in clear text with every request, readable by anyone on the way; switch "
              "CycleCloud to https://, set that URL and remove allow_insecure_http");
    cc.url = "http://127.0.0.1:8080";
    EXPECT_EQ(format_check(check_transport(cc)),
              "ok       TLS: none, but 127.0.0.1 is this machine: the password does not leave it");
}

TEST(DoctorChecks, NfsExportsToTheWorldAreAProblem) {
    EXPECT_EQ(check_nfs_exports("# none\n/sched 10.0.0.0/16(rw) 10.1.0.0/16(ro)\n", "/etc/exports")
                  .outcome,
              CheckOutcome::k_ok);
    EXPECT_EQ(
        format_check(check_nfs_exports(
            "/sched *(rw,sync,no_root_squash)\n/shared 10.0.0.0/16(rw)\n/data\n", "/etc/exports")),
        "problem  NFS exports: /etc/exports exports /sched, /data to the world: name the "
        "subnets instead of '*' (e.g. 10.0.0.0/16), then `exportfs -ra`");
}

TEST(DoctorChecks, ClockSkewAgainstTheHttpDate) {
    const auto date = parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT");
    ASSERT_TRUE(date);
    EXPECT_EQ(std::chrono::system_clock::to_time_t(*date), 784111777);
    EXPECT_FALSE(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"));
    EXPECT_FALSE(parse_http_date("Sun, 06 Nov 1994 08:49:37 XYZ"));

    const std::string header = "Sun, 06 Nov 1994 08:49:37 GMT";
    EXPECT_EQ(format_check(check_clock_skew(header, *date + 30s)),
              "ok       clock: within 60 s of CycleCloud's");
    EXPECT_EQ(format_check(check_clock_skew(header, *date + 90s)),
              "problem  clock: this machine's clock is 90 s ahead of CycleCloud's: run a time "
              "service (chrony) on both");
    EXPECT_EQ(format_check(check_clock_skew(header, *date - 120s)),
              "problem  clock: this machine's clock is 120 s behind CycleCloud's: run a time "
              "service (chrony) on both");
    EXPECT_EQ(check_clock_skew(std::nullopt, *date).outcome, CheckOutcome::k_skipped);
}

}  // namespace
}  // namespace cb

namespace cb {
namespace {

NodeArray array_of(const std::string& name, const std::string& sku, const std::string& hpc) {
    NodeArray a;
    a.name = name;
    a.machine_type = sku;
    if (!hpc.empty()) {
        a.configuration["slurm.hpc"] = hpc;
    }
    return a;
}

TEST(DoctorPlacement, InfiniBandSizesFromTheCatalogElseFromTheName) {
    const SkuCatalog catalog({{"Standard_HB120rs_v3", "f", 120, 120, 448, 0, true, "", 0},
                              {"Standard_F2s_v2", "f", 2, 1, 4, 0, false, "", 0}});
    EXPECT_TRUE(infiniband_size(catalog, "Standard_HB120rs_v3"));
    EXPECT_FALSE(infiniband_size(catalog, "Standard_F2s_v2"));
    EXPECT_TRUE(infiniband_size(catalog, "Standard_ND96asr_v4"));
    EXPECT_TRUE(infiniband_size(catalog, "Standard_HC44rs"));
    EXPECT_FALSE(infiniband_size(catalog, "Standard_NC24ads_A100_v4"));
    EXPECT_FALSE(infiniband_size(catalog, "Standard_D4s_v5"));
    EXPECT_FALSE(infiniband_size(catalog, "r"));
}

TEST(DoctorPlacement, WarnsAboutInfiniBandArraysWithoutPlacement) {
    const SkuCatalog catalog({{"Standard_HB120rs_v3", "f", 120, 120, 448, 0, true, "", 0}});
    Config config;
    const std::vector<NodeArray> fine{array_of("hpc", "Standard_HB120rs_v3", "true"),
                                      array_of("htc", "Standard_F2s_v2", "false")};
    EXPECT_EQ(format_check(check_infiniband_placement(fine, catalog, config)),
              "ok       placement: every node array with InfiniBand VM sizes asks for placement "
              "groups");
    std::vector<NodeArray> lacking = fine;
    lacking.push_back(array_of("mpi", "Standard_HB120rs_v3", ""));
    lacking.push_back(array_of("nd", "Standard_ND96asr_v4", "false"));
    const CheckResult r = check_infiniband_placement(lacking, catalog, config);
    EXPECT_EQ(r.outcome, CheckOutcome::k_warning);
    EXPECT_EQ(r.detail,
              "InfiniBand VM sizes without placement groups: mpi (Standard_HB120rs_v3), nd "
              "(Standard_ND96asr_v4). Their VMs will not share a fabric, so multi-node MPI jobs "
              "fail or crawl: set nodearrays.<n>.placement = \"partition\" or \"job\" (or "
              "slurm.hpc = true in the template), or ignore this for arrays that run single-node "
              "jobs only");
    NodeArrayConfig mpi;
    mpi.name = "mpi";
    mpi.placement = Placement::k_job;
    NodeArrayConfig nd;
    nd.name = "nd";
    nd.placement = Placement::k_partition;
    config.node_arrays = {mpi, nd};
    EXPECT_EQ(check_infiniband_placement(lacking, catalog, config).outcome, CheckOutcome::k_ok);
}

}  // namespace
}  // namespace cb
