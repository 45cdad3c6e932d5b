// What CycleCloud reports, checked before anything acts on it. CycleCloud's node and node
// array records end up in scontrol arguments, slurm.conf, the journal and the logs; anyone
// who can edit the cluster (or answer in CycleCloud's place) writes them. The adapter runs
// these on every answer it translates (adapters/cyclecloud_rest.cpp); the reconciler and the
// slurm.conf generator check again what they use, so a record that slips past one boundary
// is still refused at the next.
#pragma once

#include <string>
#include <vector>

#include "ports/cloud.h"

namespace cb {

// Drops node records whose Name, or node array (Template) when given, is not a plain name
// (util/sanitize.h): "hpc-[1-500],onprem-[1-64]" would be read by Slurm as 564 nodes. Clears
// a PrivateIp that is not an IP address. Free text (status, message, hostname, ...) loses
// its control characters. Returns one warning per record dropped or value cleared, naming it
// escaped.
std::vector<std::string> screen_cloud_nodes(std::vector<CloudNode>& nodes);

// Drops node arrays whose name or VM size is not a plain name; a bucket whose VM size is not
// one is marked invalid (so nothing is generated or created from it). Returns the warnings.
std::vector<std::string> screen_node_arrays(std::vector<NodeArray>& arrays);

}  // namespace cb
