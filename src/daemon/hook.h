// The three Slurm hooks (cloudburst-resume, -suspend, -resume-fail) share this code. They run
// as SlurmUser with no PATH and (on 22.05) fds 0-2 closed. Each copies SLURM_RESUME_FILE at
// once, writes one request into the spool atomically, pokes the daemon over its socket if
// it is there, and exits 0. Nothing slow: no network, no Slurm calls. If the daemon is down
// the request waits in the spool.
#pragma once

#include <string>

namespace cb {

// Entry point of the hook programs; returns the process exit code. Which hook it is comes
// from argv[0]'s file name.
int run_hook(int argc, char** argv);

// Slurm 22.05 starts its scripts with fds 0, 1 and 2 closed: gives them /dev/null so that the
// files we open never land on them.
void ensure_standard_fds();

// Connects to the daemon's control socket and writes "poke\n". Never blocks for long;
// returns false if nobody listens (the caller does not care: the spool is the handoff).
bool poke_daemon(const std::string& socket_path);

}  // namespace cb
