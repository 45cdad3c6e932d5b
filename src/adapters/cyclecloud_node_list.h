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

#include <memory>
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

// The fast path fed as the document arrives (CycleCloudRest reads the node list from
// libcurl's chunks): each record is read once it is complete and its text dropped, so the
// stream holds the records read, the record in progress and the text around the list, never
// the whole document (12 MB at 10,000 nodes). It gives up where the fast path would (a shape
// it leaves to the general reader), and also on text before the list or one record longer
// than k_max_pending bytes; the caller then reads the document whole.
class NodeListStream {
  public:
    static constexpr std::size_t k_max_pending = 4 << 20;

    NodeListStream();
    ~NodeListStream();
    NodeListStream(const NodeListStream&) = delete;
    NodeListStream& operator=(const NodeListStream&) = delete;

    // The next part of the document, in order, in parts of any size. After the stream has
    // given up, parts are ignored.
    void feed(std::string_view part);
    // The document's size, when known (Content-Length): room for its records is made at the
    // first one, not by growing the list as they come.
    void expect_bytes(std::size_t bytes);
    // After the last part: what parse_node_list_fast answers on the whole document, nullopt
    // when it gave up (read the whole document with parse_node_list_streaming).
    std::optional<Result<std::vector<CloudNode>>> finish();
    // Forgets what was fed, for a new document (a retried request).
    void restart();

  private:
    struct State;
    std::unique_ptr<State> m_state;
};

}  // namespace cb
