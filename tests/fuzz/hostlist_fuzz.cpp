// libFuzzer target for util/hostlist. Run: scripts/fuzz.sh hostlist SECONDS
//
// Input: one flag byte (odd: allow the 23.11 suffix), then the hostlist text. Besides
// "never crash, never hang", it checks what must hold for every input we accept:
// * expand() has size() names, all valid host names, and expand_into() agrees;
// * compress() reads back to the same names (unless a merged range passed 65536 hosts,
//   which Slurm cannot read back either), and so does from_names(expand());
// * sort() keeps the same multiset of names, and for plain name lists (no brackets, no
//   zero padding) yields them in Slurm's order: natural prefix order, names without a
//   number first, then by number of digits and value.
// A rejected input must be k_invalid_input with a message naming a position in the text.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "util/hostlist.h"

namespace {

void check(bool ok, const char* what, std::string_view text) {
    if (!ok) {
        std::fprintf(stderr, "invariant failed: %s\ninput: \"%.*s\"\n", what,
                     static_cast<int>(text.size()), text.data());
        std::abort();
    }
}

bool valid_name(const std::string& name) {
    if (name.empty() || name.size() > cb::Hostlist::k_max_name_length) {
        return false;
    }
    return std::all_of(name.begin(), name.end(), [](char c) {
        return c > ' ' && c < 0x7f && c != ',' && c != '[' && c != ']';
    });
}

std::vector<std::string> sorted_copy(std::vector<std::string> v) {
    std::sort(v.begin(), v.end());
    return v;
}

// Reads `text` back; returns false only for the one legitimate failure (a merged range of
// more than 65536 hosts).
bool reads_back_as(const std::string& text, const std::vector<std::string>& names,
                   const cb::HostlistOptions& options, std::string_view input) {
    cb::HostlistOptions roomy = options;
    roomy.max_hosts = names.size() + 1;
    auto again = cb::Hostlist::parse(text, roomy);
    if (!again) {
        check(again.error().message.find("hosts at position") != std::string::npos,
              "compressed output does not parse", input);
        return false;
    }
    check(again->expand() == names, "compressed output reads back differently", input);
    return true;
}

struct NameKey {
    std::string prefix;
    bool has_number = false;
    std::size_t digits = 0;
    std::uint64_t value = 0;
};

NameKey key_of(const std::string& name) {
    NameKey k;
    std::size_t i = name.size();
    while (i > 0 && name[i - 1] >= '0' && name[i - 1] <= '9') {
        --i;
    }
    k.prefix = name.substr(0, i);
    k.has_number = i < name.size();
    k.digits = name.size() - i;
    for (std::size_t j = i; j < name.size(); ++j) {
        k.value = k.value * 10 + static_cast<std::uint64_t>(name[j] - '0');
    }
    return k;
}

bool in_order(const NameKey& a, const NameKey& b) {
    if (const int c = cb::natural_compare(a.prefix, b.prefix); c != 0) {
        return c < 0;
    }
    if (a.has_number != b.has_number) {
        return !a.has_number;
    }
    if (a.digits != b.digits) {
        return a.digits < b.digits;
    }
    return a.value <= b.value;
}

bool zero_padded(std::string_view text) {
    for (std::size_t i = 0; i + 1 < text.size(); ++i) {
        const bool run_start = i == 0 || text[i - 1] < '0' || text[i - 1] > '9';
        if (run_start && text[i] == '0' && text[i + 1] >= '0' && text[i + 1] <= '9') {
            return true;
        }
    }
    return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) {
        return 0;
    }
    cb::HostlistOptions options;
    options.suffix =
        (data[0] & 1) != 0 ? cb::HostlistSuffix::k_allow : cb::HostlistSuffix::k_reject;
    options.max_hosts = 4096;  // keeps each run fast; the limit itself is under test too
    const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);

    auto list = cb::Hostlist::parse(text, options);
    if (!list) {
        const cb::Error& e = list.error();
        check(e.kind == cb::ErrorKind::k_invalid_input, "error kind", text);
        check(e.message.rfind("invalid hostlist \"", 0) == 0, "error message start", text);
        const std::size_t at = e.message.rfind(" at position ");
        check(at != std::string::npos, "error names no position", text);
        const unsigned long pos = std::strtoul(e.message.c_str() + at + 13, nullptr, 10);
        check(pos >= 1 && pos <= text.size(), "error position outside the text", text);
        return 0;
    }

    const std::vector<std::string> names = list->expand();
    check(names.size() == list->size(), "size() differs from expand()", text);
    check(names.size() <= options.max_hosts, "more hosts than max_hosts", text);
    check(std::all_of(names.begin(), names.end(), valid_name), "invalid name", text);
    std::string joined;
    for (const auto& n : names) {
        joined += n;
        joined += '\n';
    }
    std::string into;
    list->expand_into(into, '\n');
    check(into == joined, "expand_into differs from expand", text);

    reads_back_as(list->compress(), names, options, text);

    auto pushed = cb::Hostlist::from_names(names, options);
    check(pushed.ok(), "from_names refuses expanded names", text);
    check(pushed->expand() == names, "from_names changes the names", text);
    reads_back_as(pushed->compress(), names, options, text);

    cb::Hostlist sorted = *list;
    sorted.sort();
    const std::vector<std::string> sorted_names = sorted.expand();
    check(sorted.size() == list->size(), "sort changes size()", text);
    check(sorted_copy(sorted_names) == sorted_copy(names), "sort changes the hosts", text);
    reads_back_as(sorted.compress(), sorted_names, options, text);
    check(list->compress_sorted() == sorted.compress(), "compress_sorted differs", text);

    if (text.find('[') == std::string_view::npos && !zero_padded(text)) {
        for (std::size_t i = 1; i < sorted_names.size(); ++i) {
            check(in_order(key_of(sorted_names[i - 1]), key_of(sorted_names[i])),
                  "sorted names out of order", text);
        }
    }
    return 0;
}
