#include "core/sku_catalog.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <set>

#include "util/files.h"
#include "util/spelling.h"
#include "util/text.h"

namespace cb {

namespace {

using Json = nlohmann::json;

// Reads one SKU record; `where` is "SOURCE: sku N (NAME)" for messages.
Result<Sku> parse_sku(const Json& j, const std::string& where) {
    auto bad = [&](const std::string& what) -> Error {
        return make_error(ErrorKind::k_config, where + ": " + what);
    };
    if (!j.is_object()) {
        return bad("must be an object");
    }
    auto text = [&](const char* key, bool required, std::string& out) -> Status {
        const auto it = j.find(key);
        if (it == j.end()) {
            return required ? Status(bad(std::string(key) + " is missing")) : ok_status();
        }
        if (!it->is_string() || (required && it->get_ref<const std::string&>().empty())) {
            return bad(std::string(key) + " must be a non-empty string");
        }
        out = it->get<std::string>();
        return ok_status();
    };
    auto whole = [&](const char* key, int minimum, int& out) -> Status {
        const auto it = j.find(key);
        if (it == j.end()) {
            return bad(std::string(key) + " is missing");
        }
        if (!it->is_number_integer() || it->get<long long>() < minimum ||
            it->get<long long>() > 1'000'000) {
            return bad(std::string(key) + (minimum > 0 ? " must be a positive whole number"
                                                       : " must be a whole number, 0 or more"));
        }
        out = it->get<int>();
        return ok_status();
    };
    auto number = [&](const char* key, bool required, double& out) -> Status {
        const auto it = j.find(key);
        if (it == j.end()) {
            return required ? Status(bad(std::string(key) + " is missing")) : ok_status();
        }
        if (!it->is_number() || it->get<double>() < 0 || (required && it->get<double>() <= 0)) {
            return bad(std::string(key) + " must be a positive number");
        }
        out = it->get<double>();
        return ok_status();
    };

    Sku sku;
    bool rdma_seen = false;
    for (const Status& st :
         {text("name", true, sku.name), text("family", true, sku.family),
          whole("vcpus", 1, sku.vcpus), whole("physicalCores", 1, sku.physical_cores),
          number("memoryGB", true, sku.memory_gb), whole("gpus", 0, sku.gpus),
          text("gpuModel", false, sku.gpu_model),
          number("pricePerHour", false, sku.price_per_hour)}) {
        if (!st) {
            return st.error();
        }
    }
    if (const auto it = j.find("rdma"); it != j.end()) {
        if (!it->is_boolean()) {
            return bad("rdma must be true or false");
        }
        sku.rdma = it->get<bool>();
        rdma_seen = true;
    }
    if (!rdma_seen) {
        return bad("rdma is missing");
    }
    if (sku.physical_cores > sku.vcpus) {
        return bad("physicalCores (" + std::to_string(sku.physical_cores) +
                   ") cannot exceed vcpus (" + std::to_string(sku.vcpus) + ")");
    }
    return sku;
}

}  // namespace

Result<SkuCatalog> SkuCatalog::parse(std::string_view json_text, std::string_view source) {
    const std::string src(source);
    Json doc = Json::parse(json_text, nullptr, /*allow_exceptions=*/false);
    if (doc.is_discarded()) {
        return make_error(ErrorKind::k_config, src + ": not valid JSON");
    }
    if (!doc.is_object() || !doc.contains("skus") || !doc["skus"].is_array()) {
        return make_error(ErrorKind::k_config, src + ": expected an object with a \"skus\" array");
    }
    if (const auto v = doc.find("version"); v != doc.end() && *v != 1) {
        return make_error(ErrorKind::k_config,
                          src + ": unsupported version " + v->dump() + " (this build reads 1)");
    }
    std::vector<Sku> skus;
    std::set<std::string> seen;
    std::size_t index = 0;
    for (const auto& entry : doc["skus"]) {
        ++index;
        std::string where = src + ": sku " + std::to_string(index);
        if (entry.is_object() && entry.contains("name") && entry["name"].is_string()) {
            where += " (" + entry["name"].get<std::string>() + ")";
        }
        auto sku = parse_sku(entry, where);
        if (!sku) {
            return std::move(sku).error();
        }
        if (!seen.insert(to_lower(sku->name)).second) {
            return make_error(ErrorKind::k_config, where + ": listed twice");
        }
        skus.push_back(std::move(*sku));
    }
    return SkuCatalog(std::move(skus));
}

Result<SkuCatalog> SkuCatalog::load(const std::string& path) {
    auto text = read_file(path);
    if (!text) {
        return std::move(text).error().with_context("reading the SKU catalog");
    }
    return parse(*text, path);
}

const Sku* SkuCatalog::find(std::string_view name) const {
    const std::string key = to_lower(name);
    const auto it = std::find_if(m_skus.begin(), m_skus.end(),
                                 [&](const Sku& s) { return to_lower(s.name) == key; });
    return it == m_skus.end() ? nullptr : &*it;
}

std::string SkuCatalog::closest(std::string_view name) const {
    std::vector<std::string> names;
    names.reserve(m_skus.size());
    for (const auto& s : m_skus) {
        names.push_back(s.name);
    }
    return closest_match(name, names);
}

}  // namespace cb
