// The Azure VM sizes we know figures for: vCPUs, physical cores, memory, GPUs, quota family,
// RDMA. CycleCloud's REST answers carry vCPUs and memory but not physical cores or the family,
// so both the emulator (buckets, quota) and `cloudburst scale` (Slurm CPUs/ThreadsPerCore/Gres)
// read them from this catalog, kept as data (data/azure-skus.json).
//
// File format (JSON):
//   {"version": 1, "skus": [{"name": "Standard_F2s_v2", "family": "standardFSv2Family",
//     "vcpus": 2, "physicalCores": 1, "memoryGB": 4, "gpus": 0, "rdma": false,
//     "gpuModel": "...", "pricePerHour": 0.0846}, ...]}
// `gpuModel` and `pricePerHour` are optional; unknown keys are ignored.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace cb {

struct Sku {
    std::string name;    // as Azure spells it, e.g. "Standard_HB120rs_v3"
    std::string family;  // quota family, e.g. "standardHBv3Family"
    int vcpus = 0;
    int physical_cores = 0;
    double memory_gb = 0;
    int gpus = 0;
    bool rdma = false;          // InfiniBand (RDMA) network
    std::string gpu_model;      // empty when unknown or no GPU
    double price_per_hour = 0;  // approximate list price (USD); 0 when unknown

    int threads_per_core() const { return physical_cores > 0 ? vcpus / physical_cores : 1; }
};

class SkuCatalog {
  public:
    SkuCatalog() = default;
    explicit SkuCatalog(std::vector<Sku> skus) : m_skus(std::move(skus)) {}

    // Parses the JSON text. `source` names the input in error messages (a path). Errors are
    // k_config: "SOURCE: sku 3 (Standard_X): physicalCores must be a positive whole number".
    static Result<SkuCatalog> parse(std::string_view json_text, std::string_view source);
    // Reads and parses a file (errors: k_io when unreadable, k_config when invalid).
    static Result<SkuCatalog> load(const std::string& path);

    // Azure size names are case-insensitive; so is this lookup. nullptr when unknown.
    const Sku* find(std::string_view name) const;
    // The closest known name to `name` (for "did you mean ..."), or "" if none is close.
    std::string closest(std::string_view name) const;
    const std::vector<Sku>& skus() const { return m_skus; }

  private:
    std::vector<Sku> m_skus;
};

}  // namespace cb
