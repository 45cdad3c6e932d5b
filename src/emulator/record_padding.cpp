#include "emulator/record_padding.h"

#include <algorithm>
#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "emulator/cluster_template.h"

namespace cb::emulator {

namespace {

using Json = nlohmann::json;

// Attributes of the CycleCloud 8 node reference (cluster-references/node-nodearray-reference)
// at their documented defaults, for what a template leaves unset.
const std::vector<std::pair<std::string_view, Json>>& documented_defaults() {
    static const std::vector<std::pair<std::string_view, Json>> table{
        {"ShutdownPolicy", "Terminate"},
        {"InstallJetpack", true},
        {"AwaitInstallation", true},
        {"DownloadJetpack", true},
        {"EphemeralOSDisk", false},
        {"HybridBenefit", false},
        {"EncryptionAtHost", false},
        {"EnableSecureBoot", false},
        {"EnableVTPM", false},
        {"EnableTerminateNotification", false},
        {"ThrottleCapacity", false},
        {"ThrottleCapacityTime", "5m"},
        {"MaxPrice", -1},
        {"IsReturnProxy", false},
        {"Azure.SingleScaleset", false},
        {"Azure.SinglePlacementGroup", false},
        {"ScaleSetUpgradePolicyMode", "Manual"},
    };
    return table;
}

std::string member_text(std::string_view key, const Json& value) {
    return fmt::format(",{}:{}", Json(std::string(key)).dump(),
                       value.dump(-1, ' ', false, Json::error_handler_t::replace));
}

// A Tags entry's value: short, as tag values are, so that the record is many small fields
// (what parsing a real record costs) rather than one long string.
constexpr std::size_t k_tag_value_length = 24;

}  // namespace

Json template_value_json(const TemplateValue& value) {
    struct Visitor {
        Json operator()(std::monostate) const { return nullptr; }
        Json operator()(bool b) const { return b; }
        Json operator()(std::int64_t i) const { return i; }
        Json operator()(double d) const { return d; }
        Json operator()(const std::string& s) const { return s; }
    };
    return std::visit(Visitor{}, value);
}

RecordPadding::RecordPadding(const std::vector<KeyValue>& array_attributes,
                             const std::function<bool(std::string_view)>& modelled) {
    auto add = [&](std::string_view key, const Json& value) {
        if (modelled(key) || key == "Tags" ||
            std::any_of(m_members.begin(), m_members.end(),
                        [&](const Member& m) { return m.key == key; })) {
            return;
        }
        m_members.push_back({std::string(key), member_text(key, value)});
    };
    for (const auto& kv : array_attributes) {
        add(kv.key, template_value_json(kv.value));
    }
    for (const auto& [key, value] : documented_defaults()) {
        add(key, value);
    }
}

void RecordPadding::append(std::string& out, std::size_t record_begin, std::size_t target,
                           const std::function<bool(std::string_view)>& present) const {
    // The record's size once its closing brace is written.
    auto size = [&] { return out.size() - record_begin + 1; };
    if (target == 0 || size() >= target) {
        return;
    }
    for (const auto& m : m_members) {
        if (size() + m.text.size() <= target && !present(m.key)) {
            out += m.text;
        }
    }
    // Tags: ,"Tags":{"pad-1":"xx...","pad-2":...}; each entry as long as what is left allows.
    constexpr std::string_view k_open = ",\"Tags\":{";
    if (present("Tags") || size() + k_open.size() + 1 > target) {
        return;
    }
    out += k_open;
    const std::size_t tags_begin = out.size();
    for (int i = 1;; ++i) {
        const std::string name =
            fmt::format("{}\"pad-{}\":\"", out.size() == tags_begin ? "" : ",", i);
        // The entry without its value, and the Tags object's closing brace.
        const std::size_t overhead = name.size() + 1 + 1;
        if (size() + overhead > target) {
            break;
        }
        const std::size_t length = std::min(k_tag_value_length, target - size() - overhead);
        out += name;
        out.append(length, 'x');
        out += '"';
    }
    out += '}';
}

}  // namespace cb::emulator
