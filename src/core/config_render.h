// Text made from the configuration and its key table: the effective configuration as TOML
// (`cloudburst config show`) and the reference documentation (docs/configuration.md, made by
// `cloudburst config docs`).
#pragma once

#include <string>
#include <string_view>

#include "core/config.h"

namespace cb {

// Every key of every fixed section and of every node array the file names, with its
// effective value (defaults included), as TOML that parse_config reads back. Secret values
// are "****"; keys without a value are comments.
std::string render_effective_config(const Config& config, std::string_view source);

// docs/configuration.md: the rules and every key with its type, default and description.
std::string render_config_reference();

}  // namespace cb
