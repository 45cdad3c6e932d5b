// Feeds arbitrary bytes to parse_config. Nothing may crash or escape as an exception, and a
// configuration that parses must be printed by `config show` as TOML that parses back to the
// same output (so what operators see is what the daemon uses).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/config_loader.h"
#include "core/config_render.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    auto config = cb::parse_config(text, "fuzz.toml");
    if (!config) {
        if (config.error().message.empty()) {
            __builtin_trap();
        }
        return 0;
    }
    const std::string shown = cb::render_effective_config(*config, "fuzz.toml");
    auto again = cb::parse_config(shown, "shown.toml");
    if (!again || cb::render_effective_config(*again, "fuzz.toml") != shown) {
        __builtin_trap();
    }
    return 0;
}
