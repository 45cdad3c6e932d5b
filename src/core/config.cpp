#include "core/config.h"

#include "core/config_schema.h"

namespace cb {

NodeArrayConfig Config::node_array(std::string_view name) const {
    for (const auto& array : node_arrays) {
        if (array.name == name) {
            return array;
        }
    }
    return default_node_array(*this, name);
}

}  // namespace cb
