// `cloudburst-prolog`, slurmctld's PrologSlurmctld (core/prolog_gate.h): holds a job until its
// cloud nodes have registered, so slurmctld launches it the moment the gate ends instead of
// at its next 30 s periodic check. Built like the hooks (static C++ runtime, no Slurm calls).
#pragma once

namespace cb {

// Entry point; always returns 0. A non-zero exit would requeue, hold or kill the job, so
// every failure (no daemon, no config, a bad environment, a time-out) lets the job go: it then
// starts as it would without the gate.
int run_prolog(int argc, char** argv);

}  // namespace cb
