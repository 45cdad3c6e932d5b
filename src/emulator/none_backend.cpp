// The `none` VM backend: VMs exist only as addresses handed out from 198.18.0.0/15.
#include <cstdint>
#include <map>
#include <mutex>
#include <set>

#include <fmt/format.h>

#include "emulator/vm_backend.h"

namespace cb::emulator {

namespace {

constexpr std::uint32_t k_base = (198U << 24) | (18U << 16);  // 198.18.0.0
// .0.0 is the network and .0.1 the gateway a real bridge would have; the last address of
// the /15 is its broadcast.
constexpr std::uint32_t k_first_offset = 2;
constexpr std::uint32_t k_end_offset = (1U << 17) - 1;

std::string dotted(std::uint32_t address) {
    return fmt::format("{}.{}.{}.{}", address >> 24, (address >> 16) & 0xff, (address >> 8) & 0xff,
                       address & 0xff);
}

class NoneBackend final : public VmBackend {
  public:
    Status recover() override { return ok_status(); }

    Result<VmIdentity> create_vm(const std::string& node_name,
                                 const VmPlacement& /*placement*/) override {
        std::lock_guard lock(m_mutex);
        if (const auto it = m_vms.find(node_name); it != m_vms.end()) {
            return it->second.identity;
        }
        std::uint32_t offset = 0;
        if (!m_free.empty()) {
            offset = *m_free.begin();
            m_free.erase(m_free.begin());
        } else if (m_next < k_end_offset) {
            offset = m_next++;
        } else {
            return make_error(ErrorKind::k_capacity,
                              "the none backend has handed out every address in 198.18.0.0/15");
        }
        Vm vm;
        vm.offset = offset;
        vm.identity.private_ip = dotted(k_base + offset);
        vm.identity.hostname = node_name;
        vm.identity.instance_id = fmt::format("none-{:08x}", ++m_instances);
        return m_vms.emplace(node_name, vm).first->second.identity;
    }

    Status start_software(const std::string& node_name, const VmSoftware& /*software*/) override {
        std::lock_guard lock(m_mutex);
        if (m_vms.count(node_name) == 0) {
            return make_error(ErrorKind::k_not_found, "no VM named " + node_name);
        }
        return ok_status();
    }

    Status destroy_vm(const std::string& node_name) override {
        std::lock_guard lock(m_mutex);
        if (const auto it = m_vms.find(node_name); it != m_vms.end()) {
            m_free.insert(it->second.offset);
            m_vms.erase(it);
        }
        return ok_status();
    }

    void shutdown() override {
        std::lock_guard lock(m_mutex);
        m_vms.clear();
        m_free.clear();
        m_next = k_first_offset;
    }

  private:
    struct Vm {
        std::uint32_t offset = 0;
        VmIdentity identity;
    };
    std::mutex m_mutex;
    std::map<std::string, Vm> m_vms;
    std::set<std::uint32_t> m_free;  // released offsets, reused lowest first
    std::uint32_t m_next = k_first_offset;
    std::uint64_t m_instances = 0;
};

}  // namespace

std::unique_ptr<VmBackend> make_none_backend() {
    return std::make_unique<NoneBackend>();
}

}  // namespace cb::emulator
