// The SKU catalog shipped in the repository (data/azure-skus.json), compiled in.
#pragma once

#include <string_view>

namespace cb {

// The JSON text of data/azure-skus.json at build time; parse with SkuCatalog::parse.
std::string_view builtin_sku_catalog_json();

}  // namespace cb
