// Reads CycleCloud's node list (`GET /clusters/{c}/nodes`: {"nodes": [record, ...]}) as a
// stream: each record's top-level fields become a CloudNode, nested values (Configuration,
// several hundred bytes per node) are skipped without being built. At 10,000 nodes the
// document is about 7 MB; parse_node_list (cyclecloud_rest.h) builds it as a JSON tree
// first, which costs most of a sync pass's CPU time and tens of MB of heap.
//
// Same records and same error messages as parse_node_list, with one difference: a field
// we read (Name, Status, ...) whose value is an object or an array is read as "" (the tree
// parser prints it as JSON text). CycleCloud never sends one.
#pragma once

#include <string_view>
#include <vector>

#include "ports/cloud.h"
#include "util/result.h"

namespace cb {

// Errors: k_transient ("malformed response from CycleCloud: ..."), as parse_node_list.
Result<std::vector<CloudNode>> parse_node_list_streaming(std::string_view body);

}  // namespace cb
