// The checks of `cloudburst doctor` (and the slurm.conf checks `cloudburst init` shares), as
// pure functions over what was read: slurm.conf settings, file facts, command results. Each
// returns one CheckResult whose detail says, for a problem, how to fix it. The texts are
// part of the interface: tests assert them verbatim.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/config.h"
#include "core/dynamic_nodes.h"
#include "core/sku_catalog.h"
#include "core/slurm_conf_gen.h"
#include "core/slurm_settings.h"
#include "ports/cloud.h"

namespace cb {

// k_warning: works, but a setting the operator chose costs something (the credentials at
// risk, jobs that start late); printed loudly, does not fail the run.

enum class CheckOutcome { k_ok, k_problem, k_skipped, k_warning };

struct CheckResult {
    std::string name;  // short and stable: "munge", "ResumeProgram", "clock"
    CheckOutcome outcome = CheckOutcome::k_ok;
    std::string detail;  // what was found; for a problem also how to fix it; for skipped why
};

CheckResult check_ok(std::string name, std::string detail);
CheckResult check_problem(std::string name, std::string detail);
CheckResult check_skipped(std::string name, std::string why);
CheckResult check_warning(std::string name, std::string detail);

// "ok       NAME: DETAIL", "problem  NAME: DETAIL", "skipped  NAME: WHY",
// "WARNING  NAME: DETAIL".
std::string format_check(const CheckResult& result);
std::string_view to_string(CheckOutcome outcome);  // "ok", "problem", "skipped", "WARNING"
// True when no result is a problem.
bool all_passed(const std::vector<CheckResult>& results);

// What stat() says about a path.
struct FileFacts {
    mode_t mode = 0;  // permission bits and type (st_mode)
    uid_t uid = 0;
    gid_t gid = 0;
};
// nullopt: the path does not exist (or cannot be looked at).
using FileLookup = std::function<std::optional<FileFacts>(const std::string& path)>;

struct UserIds {
    std::string name;
    uid_t uid = 0;
    gid_t gid = 0;
};

// Whether the hooks must be cloudburst's own programs (init) or just valid (doctor).
enum class HookExpectation { k_any_valid, k_cloudburst };

// One result per power-saving program (ResumeProgram, SuspendProgram, ResumeFailProgram):
// set, an absolute path, an existing regular file, executable by SlurmUser (`slurm_user`;
// nullopt: that user does not exist), not writable by group or others (else slurmctld turns
// power saving off), and with k_cloudburst named cloudburst-resume etc.
std::vector<CheckResult> check_hooks(const SlurmSettings& settings, const FileLookup& files,
                                     const std::optional<UserIds>& slurm_user,
                                     HookExpectation expectation);

// slurm.conf (at `slurm_conf`) includes `generated_conf` (relative Include paths are taken
// from slurm.conf's directory).
CheckResult check_include(const SlurmSettings& settings, const std::string& slurm_conf,
                          const std::string& generated_conf);

// No node that is not State=CLOUD gets a finite SuspendTime (global or from its partitions)
// unless SuspendExcNodes or SuspendExcParts exempts it.
CheckResult check_onprem_not_suspended(const SlurmSettings& settings);

// One PrologSlurmctld (of a comma list or several lines) is cloudburst's registration gate
// (cloudburst-prolog); a warning otherwise: batch jobs then start up to 30 s after their cloud
// nodes register (Slurm's periodic check), with the fix for the version: a second line from
// 24.05, slurm.prolog_chain before. `prolog_chain` is the config's slurm.prolog_chain.
CheckResult check_prolog_gate(const SlurmSettings& settings, const std::string& prolog_chain);

// Slurm 23.11.0 to 23.11.7 can crash slurmctld on `scontrol reconfigure` while a
// PrologSlurmctld runs (fixed in 23.11.8), and the gate makes that window as long as a boot.
CheckResult check_slurm_release_bugs(const SlurmSettings& settings);

// ResumeTimeout for the cloud nodes (their partitions' value, else the global one) covers a
// VM boot: at least k_min_resume_timeout.
constexpr std::chrono::seconds k_min_resume_timeout{300};
CheckResult check_resume_timeout(const SlurmSettings& settings);

// SuspendTimeout covers a VM deletion: at least k_min_suspend_timeout.
constexpr std::chrono::seconds k_min_suspend_timeout{300};
CheckResult check_suspend_timeout(const SlurmSettings& settings);

// Before 23.11 slurmd forwards messages to other nodes by name; cloud names do not resolve
// there, so TreeWidth must be at least the node count (65533 recommended).
CheckResult check_tree_width(const SlurmSettings& settings);
// ResumeRate or SuspendRate (`key`): how many nodes a minute slurmctld hands to the hooks
// (Slurm's defaults 300 and 60; 0 is no limit). A warning when the limit is below the number
// of cloud nodes, since a full burst (or the power-down after it) would then take minutes
// longer than cloudburst needs: it batches create calls and paces CycleCloud itself.
CheckResult check_power_rate(const SlurmSettings& settings, std::string_view key);

// ReturnToService=2 lets a node that registered late (after ResumeTimeout) rejoin.
CheckResult check_return_to_service(const SlurmSettings& settings);

// On 22.05 and older, powered-down cloud nodes are hidden without PrivateData=cloud.
CheckResult check_private_data(const SlurmSettings& settings);

// SlurmctldHost names an address cloud nodes can use: "name(ip)", or a name that resolves
// (`resolve` returns its addresses; empty: it does not resolve) to a non-loopback address.
using Resolver = std::function<std::vector<std::string>(const std::string& host)>;
CheckResult check_slurmctld_host(const SlurmSettings& settings, const Resolver& resolve);

// The port slurmctld listens on (SlurmctldPort, default 6817; the first of a range).
int slurmctld_port(const SlurmSettings& settings);
CheckResult check_slurmctld_listening(const SlurmSettings& settings, bool listening);
// SlurmdPort (default 6818), for the firewall note.
CheckResult check_slurmd_port(const SlurmSettings& settings);
// SrunPortRange is set, so a firewall can let cloud nodes reach srun.
CheckResult check_srun_port_range(const SlurmSettings& settings);

// The munge key: exists, owned by root or `munge_uid`, readable by nobody else.
CheckResult check_munge_key(const std::string& path, const std::optional<FileFacts>& facts,
                            std::optional<uid_t> munge_uid);

// /etc/exports text: no export to the world ("*", or no client at all).
CheckResult check_nfs_exports(std::string_view text, const std::string& path);

// "TLS": how the password travels to CycleCloud. A warning (transport_warning in config.h)
// for an allowed http:// URL to another host or verify_tls = false, else ok.
CheckResult check_transport(const CycleCloudConfig& cc);

// Whether the config holds the CycleCloud password inline.
enum class ConfigSecret { k_none, k_inline_password };

// The cloudburst config file (docs/design/security.md): owned by root, not writable by group
// or others, readable by SlurmUser (the hooks read it), and holding no secret.
CheckResult check_config_file(const std::string& path, const std::optional<FileFacts>& facts,
                              const std::optional<UserIds>& slurm_user, ConfigSecret secret);

// cyclecloud.password_file: owned by root, no group or other permissions (0600 or 0400).
CheckResult check_password_file(const std::string& path, const std::optional<FileFacts>& facts);

// The HTTP Date header of CycleCloud's answer against our clock: at most k_max_clock_skew
// apart. nullopt header: skipped.
constexpr std::chrono::seconds k_max_clock_skew{60};
CheckResult check_clock_skew(const std::optional<std::string>& date_header,
                             std::chrono::system_clock::time_point now);

// An HTTP date ("Sun, 06 Nov 1994 08:49:37 GMT"); nullopt if unreadable.
std::optional<std::chrono::system_clock::time_point> parse_http_date(std::string_view text);

// An exports file's name and text (/etc/exports, /etc/exports.d/*.exports).
struct ExportsFile {
    std::string path;
    std::string text;
};

// `sched_dir` holds the munge key every new node installs: every line of `files` that
// exports it, a directory above it or one below it must do so read-only with root squashed
// (no rw, no no_root_squash, no anonuid=0), as exportfs reads the options: ro and
// root_squash by default, then the line's "-options", then the client's, later ones
// winning; continuation lines ("\") and comments ("#") are understood. Skipped when no line
// exports it.
CheckResult check_sched_export(const std::vector<ExportsFile>& files, const std::string& sched_dir);

// Whether VM size `machine_type` has InfiniBand: the SKU catalog's `rdma`, or for a size the
// catalog does not know an 'r' among its feature letters after the vCPU count
// ("Standard_HB120rs_v3", "Standard_ND96asr_v4"; Azure's naming).
bool infiniband_size(const SkuCatalog& catalog, std::string_view machine_type);

// The dynamic node arrays (`slurm.dynamic_config`) against `generated` (what `scale` makes of
// `arrays` with slurmctld's TopologyPlugin) and the nodes slurmctld has (`existing`): a problem
// for an array `scale` skips (its warning: a topology plugin, an unreadable setting) and for
// nodes slurmctld lacks (run scale); a warning for nodes that differ from their spec; ok
// naming the ranges when all are there, or when there is no dynamic array.
CheckResult check_dynamic_nodes(const std::vector<NodeArray>& arrays,
                                const GeneratedSlurmConf& generated,
                                const std::vector<ExistingNode>& existing);

// Node arrays whose VM size has InfiniBand and that ask for no placement group
// (effective_placement none): their VMs would not share a fabric, so multi-node MPI jobs fail
// or crawl. A warning naming them and the setting; ok when there is none.
CheckResult check_infiniband_placement(const std::vector<NodeArray>& arrays,
                                       const SkuCatalog& catalog, const Config& config);

}  // namespace cb
