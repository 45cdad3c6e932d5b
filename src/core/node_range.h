// A node array's VM sizes as Slurm node ranges (docs/design/node-lifecycle.md, "Several VM
// sizes"). CycleCloud lists one bucket per VM size of an array (a multi-select MachineType);
// each size becomes its own range of Slurm nodes, so that Slurm can prefer one size and use
// the next when the first is out of stock, and cloudburst can back off one size alone.
//
// The first size keeps the array's own names (`<array>-N`, as when arrays had one size); each
// further size is named after its VM size (`<array>-<slug>-N`, slug from vm_size_slug). The
// range's name (the part before "-N") is the key of its health, backoff and breakers. Pure.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ports/cloud.h"

namespace cb {

struct NodeRange {
    std::string name;          // "<array>" for the first size, "<array>-<slug>" for the others
    std::string array;         // the CycleCloud node array
    std::string machine_type;  // the VM size of its nodes, as CycleCloud spells it
    int rank = 0;              // 0 for the first (preferred) size, then in CycleCloud's order
    bool valid = true;         // its bucket's `valid`; false: CycleCloud will not create it
    std::string invalid_reason;
};

// The VM size as a node name part: without a leading "Standard_" or "Basic_", in lower case,
// '_' and '.' as '-', other characters that are not letters or digits dropped
// ("Standard_HB176rs_v4" -> "hb176rs-v4"). "" when nothing is left.
std::string vm_size_slug(std::string_view machine_type);

// The ranges of `array`, one per distinct VM size of its buckets: first the array's own size
// (`array.machine_type`, the first its MachineType lists; else the first bucket), valid or
// not, then the others in CycleCloud's order, invalid ones included (marked). Validity never
// moves a size to another range: the names `scale` wrote keep their size. Sizes whose slug
// is empty or repeats an earlier one's are left out. With no bucket at all the one range is
// `array.machine_type`, valid.
std::vector<NodeRange> node_ranges(const NodeArray& array);

// The name of the range of `array` whose size is `machine_type`; "" when none is.
std::string node_range_name(const NodeArray& array, std::string_view machine_type);

// The range named `name` ("htc" or "htc-f4s-v2") among `arrays`; nullopt when none has it.
// An array's own name wins over another array's further size of the same name (`cloudburst
// scale` writes neither of two such ranges' second).
std::optional<NodeRange> find_node_range(const std::map<std::string, NodeArray>& arrays,
                                         std::string_view name);

}  // namespace cb
