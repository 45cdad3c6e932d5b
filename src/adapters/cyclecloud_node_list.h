// Reads CycleCloud's node list (`GET /clusters/{c}/nodes`: {"nodes": [record, ...]}) without
// building it as a JSON tree: each record's top-level fields become a CloudNode, nested values
// (Configuration, about a kilobyte per node) are validated and dropped. At 10,000 nodes the
// document is about 12 MB and is read on every sync pass; parse_node_list (cyclecloud_rest.h)
// builds the whole tree first, which costs most of a pass's CPU time and tens of MB of heap.
//
// Two readers, one result. The common shape (one "nodes" member, a list of objects, string,
// boolean or null values in the fields we read) takes the fast path: a scan that tracks only
// strings and nesting cuts the list into records, and simdjson parses and validates each
// record and the rest of the document, one at a time, so its index never covers more than
// one record. Anything else, from a number where a name belongs to any syntax error, goes to
// a SAX reader (nlohmann) that handles every document and gives the error messages.
//
// Same records and same error messages as parse_node_list, with one difference: a field we
// read (Name, Status, ...) whose value is an object or an array is read as "" (the tree parser
// prints it as JSON text; so a Name [] is "a node record has no Name" here). CycleCloud never
// sends one.
#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include "ports/cloud.h"
#include "util/result.h"

namespace cb {

// Errors: k_transient ("malformed response from CycleCloud: ..."), as parse_node_list.
Result<std::vector<CloudNode>> parse_node_list_streaming(std::string_view body);

// The two readers alone, for tests and benchmarks. The fast path answers std::nullopt for a
// document it leaves to the general reader.
std::optional<Result<std::vector<CloudNode>>> parse_node_list_fast(std::string_view body);
Result<std::vector<CloudNode>> parse_node_list_general(std::string_view body);

}  // namespace cb
