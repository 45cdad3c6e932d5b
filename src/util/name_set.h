// A read-only set of names held in one buffer: sorted, '\0'-separated, with their offsets.
// For sets kept for a long time beside short-lived data (the daemon keeps the names of the
// VMs it last saw between passes): a node-based container would scatter 10,000 small
// allocations over the heap, and each one keeps a page of freed memory from going back.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace cb {

class NameSet {
  public:
    NameSet() = default;
    explicit NameSet(std::vector<std::string_view> names) {
        std::sort(names.begin(), names.end());
        names.erase(std::unique(names.begin(), names.end()), names.end());
        std::size_t bytes = 0;
        for (const auto name : names) {
            bytes += name.size() + 1;
        }
        m_text.reserve(bytes);
        m_offsets.reserve(names.size() + 1);
        for (const auto name : names) {
            m_offsets.push_back(static_cast<std::uint32_t>(m_text.size()));
            m_text.append(name);
            m_text.push_back('\0');
        }
        m_offsets.push_back(static_cast<std::uint32_t>(m_text.size()));
    }

    bool contains(std::string_view name) const {
        std::size_t lo = 0;
        std::size_t hi = size();
        while (lo < hi) {
            const std::size_t mid = lo + (hi - lo) / 2;
            const std::string_view at = this->at(mid);
            if (at == name) {
                return true;
            }
            if (at < name) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        return false;
    }
    std::size_t size() const { return m_offsets.empty() ? 0 : m_offsets.size() - 1; }

  private:
    std::string_view at(std::size_t i) const {
        return {m_text.data() + m_offsets[i], m_offsets[i + 1] - m_offsets[i] - 1};
    }

    std::string m_text;
    std::vector<std::uint32_t> m_offsets;
};

}  // namespace cb
