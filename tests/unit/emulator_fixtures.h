// Shared by the emulator tests: the repository's template and SKU catalog, a model built from
// them, and a VM backend that records what it was asked to do.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/sku_catalog.h"
#include "emulator/cluster_model.h"
#include "emulator/cluster_template.h"
#include "emulator/vm_backend.h"

namespace cb::emulator::testing {

// A directory for one test, removed with its contents afterwards.
class TempDir {
  public:
    TempDir() {
        std::string pattern = (std::filesystem::temp_directory_path() / "emu-test.XXXXXX").string();
        EXPECT_NE(::mkdtemp(pattern.data()), nullptr);
        m_path = pattern;
    }
    ~TempDir() { std::filesystem::remove_all(m_path); }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::string& path() const { return m_path; }

  private:
    std::string m_path;
};

inline std::string source_path(const std::string& relative) {
    return std::string(CB_SOURCE_DIR) + "/" + relative;
}

inline const SkuCatalog& catalog() {
    static const SkuCatalog c = [] {
        auto loaded = SkuCatalog::load(source_path("data/azure-skus.json"));
        EXPECT_TRUE(loaded) << loaded.error().describe();
        return loaded ? *loaded : SkuCatalog{};
    }();
    return c;
}

inline ClusterDefinition definition(const std::vector<std::string>& overrides = {},
                                    const std::string& cluster = "burst1") {
    auto tmpl = ClusterTemplate::load(source_path("templates/slurm-headless.txt"));
    EXPECT_TRUE(tmpl) << tmpl.error().describe();
    std::vector<ParameterOverride> parsed;
    for (const auto& o : overrides) {
        auto p = parse_parameter_override(o);
        EXPECT_TRUE(p) << p.error().describe();
        parsed.push_back(*p);
    }
    auto def = resolve_cluster(*tmpl, parsed, cluster);
    EXPECT_TRUE(def) << def.error().describe();
    return *def;
}

inline ClusterModel model(const std::vector<std::string>& overrides = {},
                          ModelOptions options = {}) {
    auto m = ClusterModel::create(definition(overrides), catalog(), std::move(options));
    EXPECT_TRUE(m) << m.error().describe();
    return std::move(*m);
}

// Delegates to the none backend and records each call ("create_vm hpc-1"); a call can be made
// to fail by name.
class RecordingBackend final : public VmBackend {
  public:
    Status recover() override { return record("recover", ""); }
    Result<VmIdentity> create_vm(const std::string& name, const VmPlacement& placement) override {
        if (Status st = record("create_vm", name); !st) {
            return std::move(st).error();
        }
        auto r = m_inner->create_vm(name, placement);
        std::lock_guard lock(m_mutex);
        m_live.insert(name);
        m_placements[name] = placement;
        return r;
    }
    Status start_software(const std::string& name, const VmSoftware& software) override {
        if (Status st = record("start_software", name); !st) {
            return st;
        }
        return m_inner->start_software(name, software);
    }
    Status destroy_vm(const std::string& name) override {
        if (Status st = record("destroy_vm", name); !st) {
            return st;
        }
        std::lock_guard lock(m_mutex);
        m_live.erase(name);
        return m_inner->destroy_vm(name);
    }
    void shutdown() override {
        (void)record("shutdown", "");
        m_inner->shutdown();
    }

    // The next calls of `what` for `name` fail with k_io until fail_next(..., 0).
    void fail_next(const std::string& what, const std::string& name, int times = 1) {
        std::lock_guard lock(m_mutex);
        m_failures[what + " " + name] = times;
    }
    std::vector<std::string> calls() const {
        std::lock_guard lock(m_mutex);
        return m_calls;
    }
    // Names that have a VM now.
    std::set<std::string> live() const {
        std::lock_guard lock(m_mutex);
        return m_live;
    }
    // The placement the last create_vm of `name` gave; none before one.
    std::optional<VmPlacement> placement_of(const std::string& name) const {
        std::lock_guard lock(m_mutex);
        const auto it = m_placements.find(name);
        return it == m_placements.end() ? std::nullopt : std::optional(it->second);
    }

  private:
    Status record(const std::string& what, const std::string& name) {
        std::lock_guard lock(m_mutex);
        const std::string call = name.empty() ? what : what + " " + name;
        m_calls.push_back(call);
        if (auto it = m_failures.find(call); it != m_failures.end() && it->second > 0) {
            --it->second;
            return make_error(ErrorKind::k_io, "injected backend failure");
        }
        return ok_status();
    }

    mutable std::mutex m_mutex;
    std::unique_ptr<VmBackend> m_inner = make_none_backend();
    std::vector<std::string> m_calls;
    std::set<std::string> m_live;
    std::map<std::string, VmPlacement> m_placements;
    std::map<std::string, int> m_failures;
};

}  // namespace cb::emulator::testing
