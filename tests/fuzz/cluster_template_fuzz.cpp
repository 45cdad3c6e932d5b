// Feeds arbitrary bytes to the emulator's cluster template parser and resolver. Nothing may
// crash or throw; every refusal must name the file and line (or the file) it is about.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "emulator/cluster_template.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    auto tmpl = cb::emulator::ClusterTemplate::parse(text, "fuzz.txt");
    if (!tmpl) {
        if (tmpl.error().message.rfind("fuzz.txt", 0) != 0) {
            __builtin_trap();
        }
        return 0;
    }
    auto cluster = cb::emulator::resolve_cluster(*tmpl, {{"Cores", "12"}}, "");
    if (!cluster && cluster.error().message.empty()) {
        __builtin_trap();
    }
    if (cluster) {
        for (const auto& array : cluster->node_arrays) {
            if (array.machine_types.empty() || array.max_scaleset_size < 1) {
                __builtin_trap();
            }
        }
    }
    return 0;
}
