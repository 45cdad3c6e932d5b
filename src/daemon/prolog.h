// `cloudburst-prolog`, slurmctld's PrologSlurmctld (core/prolog_gate.h): holds a job until its
// cloud nodes have registered, so slurmctld launches it the moment the gate ends instead of
// at its next 30 s periodic check. Built like the hooks (static C++ runtime, no Slurm calls).
#pragma once

#include <string>

namespace cb {

// Entry point. A non-zero exit would requeue, hold or kill the job, so every failure of the
// gate's own (no daemon, no config, a bad environment, a time-out) lets the job go: it then
// starts as it would without the gate. The one non-zero exit is the site's: with
// slurm.prolog_chain set (Slurm before 24.05 takes one PrologSlurmctld), that program runs
// first and its failure is returned, as slurmctld would have seen it.
int run_prolog(int argc, char** argv);

// Runs `path` with this process's environment and descriptors, no arguments; its exit code
// (128+N for signal N, 1 when it cannot be run, with a line on stderr).
int run_chained_prolog(const std::string& path);

}  // namespace cb
