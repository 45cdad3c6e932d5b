// Node records the size of real ones (`--record-bytes N`, the `record-bytes=N` setting).
//
// A real CycleCloud node record carries every attribute of its node: what the template set on
// its node array (Credentials, SubnetId, KeyPairLocation, ShutdownPolicy, Azure.*, ...), the
// documented attributes at their defaults, and tags (the REST how-to's status sample "contains
// a complete set of node attributes but many are omitted here"). The emulator's own records
// carry only what clients read, about 1.2 KB. RecordPadding appends the rest, in that order,
// until the record is about N bytes; the last part is a `Tags` object of short entries, sized
// so that the record ends within k_record_bytes_slack bytes below N. A record already at or
// above N is left alone. None of these attributes means anything to the emulator or to a
// client: they are there to be parsed and skipped.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "emulator/cluster_template.h"

namespace cb::emulator {

// A template attribute's value as JSON, typed as CycleCloud reports it (null, bool, integer,
// number, string): for node records, their Configuration, and their padding.
nlohmann::json template_value_json(const TemplateValue& value);

// The largest --record-bytes (a record of 1 MiB; real ones are a few KB).
inline constexpr std::size_t k_max_record_bytes = std::size_t{1} << 20;
// A padded record is at most this many bytes shorter than asked (one Tags entry's overhead).
inline constexpr std::size_t k_record_bytes_slack = 16;

class RecordPadding {
  public:
    RecordPadding() = default;
    // `array_attributes`: what the node array's template set (flat keys such as
    // "Azure.MaxScalesetSize"); `modelled`: the keys the emulator writes itself, left out.
    RecordPadding(const std::vector<KeyValue>& array_attributes,
                  const std::function<bool(std::string_view)>& modelled);

    // `out` holds an open record from `record_begin` ("{...", without its closing brace).
    // Appends ",\"Key\":value" members until the record, once closed, is within
    // [target - k_record_bytes_slack, target] bytes; keys for which `present` is true are
    // skipped (a record that has its own Tags may end shorter). Nothing if target is 0 or
    // the record is already that long.
    void append(std::string& out, std::size_t record_begin, std::size_t target,
                const std::function<bool(std::string_view)>& present) const;

  private:
    struct Member {
        std::string key;
        std::string text;  // ",\"Key\":value"
    };
    std::vector<Member> m_members;
};

}  // namespace cb::emulator
