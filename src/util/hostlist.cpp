#include "util/hostlist.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <numeric>
#include <optional>
#include <tuple>
#include <utility>

namespace cb {

namespace {

constexpr std::array<std::uint64_t, 19> k_powers_of_ten = [] {
    std::array<std::uint64_t, 19> p{};
    std::uint64_t v = 1;
    for (auto& e : p) {
        e = v;
        v *= 10;
    }
    return p;
}();

int digit_count(std::uint64_t v) {
    int n = 1;
    while (n < static_cast<int>(k_powers_of_ten.size()) && v >= k_powers_of_ten[n]) {
        ++n;
    }
    return n;
}

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

enum class CharClass : std::uint8_t { k_invalid, k_name, k_separator, k_open, k_close };

// Name characters are printable ASCII other than separators and brackets. Slurm 22.05
// separates with ',', space and tab, 23.02 also with newline; accepting newline is a
// superset that breaks nothing. (Slurm takes a stray ']' as a letter, "n]1", but then
// splits "a]b[1,2]" at the comma; we refuse it rather than guess.)
constexpr std::array<CharClass, 256> k_char_classes = [] {
    std::array<CharClass, 256> t{};
    for (int c = '!'; c <= '~'; ++c) {
        t[static_cast<std::size_t>(c)] = CharClass::k_name;
    }
    for (const char c : {',', ' ', '\t', '\n'}) {
        t[static_cast<unsigned char>(c)] = CharClass::k_separator;
    }
    t['['] = CharClass::k_open;
    t[']'] = CharClass::k_close;
    return t;
}();

CharClass char_class(char c) {
    return k_char_classes[static_cast<unsigned char>(c)];
}

bool is_separator(char c) {
    return char_class(c) == CharClass::k_separator;
}

std::string hex_escape(char c) {
    static constexpr std::string_view k_hex = "0123456789abcdef";
    const auto byte = static_cast<unsigned char>(c);
    return std::string("\\x") + k_hex[byte >> 4] + k_hex[byte & 0xf];
}

std::string describe_char(char c) {
    static constexpr std::array<std::pair<char, std::string_view>, 3> k_names{{
        {' ', "space"},
        {'\t', "tab"},
        {'\n', "newline"},
    }};
    for (const auto& [ch, name] : k_names) {
        if (ch == c) {
            return std::string(name);
        }
    }
    const auto byte = static_cast<unsigned char>(c);
    if (byte > ' ' && byte < 0x7f) {
        return std::string("'") + c + "'";
    }
    return "'" + hex_escape(c) + "'";
}

std::string name_char_problem(char c) {
    return c == ']' ? "unmatched ']'" : "invalid character " + describe_char(c);
}

// Hostlist::k_max_number is the largest number of this many digits.
constexpr std::size_t k_max_significant_digits = 18;
static_assert(Hostlist::k_max_number == 999'999'999'999'999'999);

// The value of a run of digits, or nothing when it exceeds Hostlist::k_max_number.
std::optional<std::uint64_t> digits_value(std::string_view digits) {
    std::size_t first = 0;
    while (first < digits.size() && digits[first] == '0') {
        ++first;
    }
    if (digits.size() - first > k_max_significant_digits) {
        return std::nullopt;
    }
    std::uint64_t v = 0;
    for (std::size_t i = first; i < digits.size(); ++i) {
        v = v * 10 + static_cast<std::uint64_t>(digits[i] - '0');
    }
    return v;
}

void append_number(std::string& out, std::uint64_t v, int width) {
    std::array<char, 20> buf{};
    const auto end = std::to_chars(buf.data(), buf.data() + buf.size(), v).ptr;
    const auto len = static_cast<int>(end - buf.data());
    if (width > len) {
        out.append(static_cast<std::size_t>(width - len), '0');
    }
    out.append(buf.data(), end);
}

// Slurm's _width_equiv without its side effect: two widths are compatible unless printing
// both numbers with the other's width would change the zero padding of both. (Slurm also
// unifies the widths when compatible; that only ever changes a width that prints the same.)
int zero_padding(std::uint64_t v, int width) {
    const int digits = digit_count(v);
    return width > digits ? width - digits : 0;
}

bool widths_compatible(std::uint64_t a, int a_width, std::uint64_t b, int b_width) {
    if (a_width == b_width) {
        return true;
    }
    return zero_padding(a, a_width) == zero_padding(a, b_width) ||
           zero_padding(b, b_width) == zero_padding(b, a_width);
}

// The text as it goes into an error message: escaped, and cut to a window around `pos`
// when long (a 100,000-name list must not become a 1 MB message).
std::string quote(std::string_view text, std::size_t pos) {
    constexpr std::size_t k_full = 64;
    constexpr std::size_t k_side = 30;
    std::size_t begin = 0;
    std::size_t end = text.size();
    if (text.size() > k_full) {
        begin = std::min(pos > k_side ? pos - k_side : 0, text.size() - 2 * k_side);
        end = begin + 2 * k_side;
    }
    std::string out = "\"";
    if (begin > 0) {
        out += "...";
    }
    for (std::size_t i = begin; i < end; ++i) {
        const auto byte = static_cast<unsigned char>(text[i]);
        if (byte < ' ' || byte >= 0x7f) {
            out += hex_escape(text[i]);
        } else if (text[i] == '"' || text[i] == '\\') {
            out += '\\';
            out += text[i];
        } else {
            out += text[i];
        }
    }
    if (end < text.size()) {
        out += "...";
    }
    out += "\"";
    return out;
}

std::string at(std::size_t pos) {
    return " at position " + std::to_string(pos + 1);
}

// strnatcmp's two ways of comparing runs of digits.
int compare_digits_left(std::string_view a, std::size_t ai, std::string_view b, std::size_t bi) {
    for (;; ++ai, ++bi) {
        const bool da = ai < a.size() && is_digit(a[ai]);
        const bool db = bi < b.size() && is_digit(b[bi]);
        if (!da && !db) {
            return 0;
        }
        if (!da) {
            return -1;
        }
        if (!db) {
            return 1;
        }
        if (a[ai] != b[bi]) {
            return a[ai] < b[bi] ? -1 : 1;
        }
    }
}

int compare_digits_right(std::string_view a, std::size_t ai, std::string_view b, std::size_t bi) {
    int bias = 0;
    for (;; ++ai, ++bi) {
        const bool da = ai < a.size() && is_digit(a[ai]);
        const bool db = bi < b.size() && is_digit(b[bi]);
        if (!da && !db) {
            return bias;
        }
        if (!da) {
            return -1;
        }
        if (!db) {
            return 1;
        }
        if (bias == 0 && a[ai] != b[bi]) {
            bias = a[ai] < b[bi] ? -1 : 1;
        }
    }
}

bool is_space(char c) {
    return c == ' ' || (c >= '\t' && c <= '\r');
}

}  // namespace

int natural_compare(std::string_view a, std::string_view b) {
    std::size_t ai = 0;
    std::size_t bi = 0;
    for (;;) {
        while (ai < a.size() && is_space(a[ai])) {
            ++ai;
        }
        while (bi < b.size() && is_space(b[bi])) {
            ++bi;
        }
        // strnatcmp works on C strings: the end reads as NUL.
        const char ca = ai < a.size() ? a[ai] : '\0';
        const char cb = bi < b.size() ? b[bi] : '\0';
        if (is_digit(ca) && is_digit(cb)) {
            const int r = (ca == '0' || cb == '0') ? compare_digits_left(a, ai, b, bi)
                                                   : compare_digits_right(a, ai, b, bi);
            if (r != 0) {
                return r;
            }
            // Equal runs are identical. strnatcmp steps through them a digit at a time,
            // comparing the rest of the run again at each step (quadratic in its length);
            // skipping the run gives the same answer.
            while (ai < a.size() && is_digit(a[ai])) {
                ++ai;
                ++bi;
            }
            continue;
        }
        if (ca == '\0' && cb == '\0') {
            return 0;
        }
        // Slurm compares plain (signed) chars.
        if (static_cast<signed char>(ca) != static_cast<signed char>(cb)) {
            return static_cast<signed char>(ca) < static_cast<signed char>(cb) ? -1 : 1;
        }
        ++ai;
        ++bi;
    }
}

// ---- building ----

std::uint32_t Hostlist::intern_prefix(std::string_view prefix) {
    // Most names share their neighbour's prefix: try that before hashing.
    if (!m_ranges.empty() && m_prefixes[m_ranges.back().prefix] == prefix) {
        return m_ranges.back().prefix;
    }
    if (const auto it = m_prefix_ids.find(prefix); it != m_prefix_ids.end()) {
        return it->second;
    }
    const auto id = static_cast<std::uint32_t>(m_prefixes.size());
    m_prefixes.emplace_back(prefix);
    m_prefix_ids.emplace(m_prefixes.back(), id);
    return id;
}

// Slurm's hostlist_push_range: a range that continues the last one (same prefix, next
// number, compatible width) extends it; anything else is a new range.
void Hostlist::push_range(std::uint32_t prefix, std::uint64_t lo, std::uint64_t hi, int width) {
    m_size += static_cast<std::size_t>(hi - lo + 1);
    if (!m_ranges.empty()) {
        Range& tail = m_ranges.back();
        if (!tail.single && tail.prefix == prefix && tail.hi + 1 == lo &&
            widths_compatible(tail.lo, tail.width, lo, width)) {
            tail.hi = hi;
            return;
        }
    }
    m_ranges.push_back(Range{lo, hi, prefix, static_cast<std::uint16_t>(width), false});
}

void Hostlist::push_single(std::string_view name) {
    const std::uint32_t prefix = intern_prefix(name);
    m_ranges.push_back(Range{0, 0, prefix, 0, true});
    ++m_size;
}

void Hostlist::append(const Hostlist& other) {
    for (const Range& r : other.m_ranges) {
        const std::string& prefix = other.m_prefixes[r.prefix];
        if (r.single) {
            push_single(prefix);
        } else {
            push_range(intern_prefix(prefix), r.lo, r.hi, r.width);
        }
    }
}

// ---- parsing ----

// Parses one text into a Hostlist, token by token; stops at the first problem.
class HostlistParser {
  public:
    HostlistParser(std::string_view what, std::string_view text, const HostlistOptions& options,
                   Hostlist& out)
        : m_what(what), m_text(text), m_options(options), m_out(out) {}

    Status parse_list() {
        while (m_pos < m_text.size()) {
            if (is_separator(m_text[m_pos])) {
                ++m_pos;
                continue;
            }
            if (auto s = parse_token(); !s) {
                return s;
            }
        }
        return ok_status();
    }

    // A whole text that must be exactly one host name, no groups.
    Status parse_single_name() {
        if (m_text.empty()) {
            return make_error(ErrorKind::k_invalid_input,
                              "invalid " + std::string(m_what) + " \"\": the name is empty");
        }
        for (std::size_t i = 0; i < m_text.size(); ++i) {
            if (char_class(m_text[i]) != CharClass::k_name) {
                return fail(i, name_char_problem(m_text[i]));
            }
        }
        return push_name(0, m_text);
    }

  private:
    struct Item {
        std::uint64_t lo;
        std::uint64_t hi;
        int width;
    };
    struct Group {
        std::size_t open;   // position of '['
        std::size_t first;  // index of its first item in m_items
        std::size_t last;   // one past its last item
        std::uint64_t count = 0;
        int max_digits = 0;  // of the widest number it prints
    };

    Error fail(std::size_t pos, const std::string& detail) const {
        return make_error(
            ErrorKind::k_invalid_input,
            "invalid " + std::string(m_what) + " " + quote(m_text, pos) + ": " + detail + at(pos));
    }

    Error number_too_large(std::size_t pos) const {
        return fail(pos, "number larger than " + std::to_string(Hostlist::k_max_number));
    }

    // A number of digits at m_pos; the caller has checked there is at least one.
    Result<std::uint64_t> parse_number(int& width) {
        const std::size_t begin = m_pos;
        while (m_pos < m_text.size() && is_digit(m_text[m_pos])) {
            ++m_pos;
        }
        width = static_cast<int>(m_pos - begin);
        const auto v = digits_value(m_text.substr(begin, m_pos - begin));
        if (!v) {
            return number_too_large(begin);
        }
        return *v;
    }

    // Something other than a digit, ',', '-' or ']' inside brackets. When no ']' follows
    // before the next '[', the real mistake is the missing ']'.
    Error bad_in_brackets(std::size_t open) const {
        const char c = m_text[m_pos];
        if (c == '[') {
            return fail(m_pos, "'[' inside brackets");
        }
        const std::size_t close = m_text.find_first_of("[]", m_pos);
        if (close == std::string_view::npos || m_text[close] == '[') {
            return fail(open, "unclosed '['");
        }
        return fail(m_pos, "unexpected " + describe_char(c) + " inside brackets");
    }

    Status parse_item(std::size_t open) {
        if (m_pos >= m_text.size()) {
            return fail(open, "unclosed '['");
        }
        const char c = m_text[m_pos];
        if (c == ',' || c == ']') {
            return fail(m_pos, "empty range");
        }
        if (c == '-') {
            return fail(m_pos, "missing number before '-'");
        }
        if (!is_digit(c)) {
            return bad_in_brackets(open);
        }
        const std::size_t item_pos = m_pos;
        Item item{};
        auto lo = parse_number(item.width);
        if (!lo) {
            return std::move(lo).error();
        }
        item.lo = item.hi = *lo;
        if (m_pos < m_text.size() && m_text[m_pos] == '-') {
            const std::size_t dash = m_pos++;
            if (m_pos >= m_text.size()) {
                return fail(open, "unclosed '['");
            }
            if (m_text[m_pos] == ',' || m_text[m_pos] == ']') {
                return fail(dash, "missing number after '-'");
            }
            if (!is_digit(m_text[m_pos])) {
                return bad_in_brackets(open);
            }
            int hi_width = 0;
            auto hi = parse_number(hi_width);
            if (!hi) {
                return std::move(hi).error();
            }
            item.hi = *hi;
            const std::string range = std::string(m_text.substr(item_pos, m_pos - item_pos));
            if (item.hi < item.lo) {
                return fail(item_pos, "decreasing range " + range);
            }
            if (item.hi - item.lo + 1 > Hostlist::k_max_range_hosts) {
                return fail(item_pos, "range " + range + " has more than " +
                                          std::to_string(Hostlist::k_max_range_hosts) + " hosts");
            }
        }
        m_items.push_back(item);
        return ok_status();
    }

    Result<Group> parse_group() {
        Group g{m_pos, m_items.size(), 0};
        ++m_pos;  // '['
        for (;;) {
            if (auto s = parse_item(g.open); !s) {
                return std::move(s).error();
            }
            if (m_pos >= m_text.size()) {
                return fail(g.open, "unclosed '['");
            }
            if (m_text[m_pos] == ']') {
                ++m_pos;
                break;
            }
            if (m_text[m_pos] != ',') {
                return bad_in_brackets(g.open);
            }
            ++m_pos;
        }
        g.last = m_items.size();
        for (std::size_t i = g.first; i < g.last; ++i) {
            const Item& item = m_items[i];
            g.count += item.hi - item.lo + 1;
            g.max_digits = std::max({g.max_digits, item.width, digit_count(item.hi)});
        }
        return g;
    }

    Error name_too_long(std::size_t pos) const {
        return fail(pos, "host name longer than " + std::to_string(Hostlist::k_max_name_length) +
                             " characters");
    }

    // Slurm's hostlist_push_host: a plain name (found at `pos`) is a range of one when it
    // ends in digits (the whole run is its number and width), else a single host.
    Status push_name(std::size_t pos, std::string_view name) {
        if (name.size() > Hostlist::k_max_name_length) {
            return name_too_long(pos);
        }
        std::size_t digits_begin = name.size();
        while (digits_begin > 0 && is_digit(name[digits_begin - 1])) {
            --digits_begin;
        }
        if (digits_begin == name.size()) {
            m_out.push_single(name);
            return ok_status();
        }
        const auto v = digits_value(name.substr(digits_begin));
        if (!v) {
            return number_too_large(pos + digits_begin);
        }
        m_out.push_range(m_out.intern_prefix(name.substr(0, digits_begin)), *v, *v,
                         static_cast<int>(name.size() - digits_begin));
        return ok_status();
    }

    Status check_capacity(std::size_t pos, std::uint64_t hosts) const {
        const std::size_t room =
            m_options.max_hosts > m_out.size() ? m_options.max_hosts - m_out.size() : 0;
        if (hosts > room) {
            return fail(pos, "expands to more than " + std::to_string(m_options.max_hosts) +
                                 " hosts (the limit)");
        }
        return ok_status();
    }

    Status parse_token() {
        const std::size_t start = m_pos;
        m_texts.clear();
        m_groups.clear();
        m_items.clear();
        std::size_t text_begin = m_pos;
        while (m_pos < m_text.size()) {
            const CharClass cls = char_class(m_text[m_pos]);
            if (cls == CharClass::k_name) {
                ++m_pos;
                continue;
            }
            if (cls == CharClass::k_separator) {
                break;
            }
            if (cls != CharClass::k_open) {
                return fail(m_pos, name_char_problem(m_text[m_pos]));
            }
            m_texts.push_back(m_text.substr(text_begin, m_pos - text_begin));
            auto g = parse_group();
            if (!g) {
                return std::move(g).error();
            }
            m_groups.push_back(*g);
            text_begin = m_pos;
        }
        m_texts.push_back(m_text.substr(text_begin, m_pos - text_begin));

        if (m_groups.empty()) {
            if (auto s = check_capacity(start, 1); !s) {
                return s;
            }
            return push_name(start, m_texts.front());
        }
        return push_groups(start);
    }

    // The token is texts[0] group[0] texts[1] ... group[k-1] texts[k]. The last group holds
    // the numbers; earlier ones multiply the prefix; texts[k] is the suffix.
    Status push_groups(std::size_t start) {
        const std::string_view suffix = m_texts.back();
        const Group& numbers = m_groups.back();
        if (!suffix.empty() && m_options.suffix == HostlistSuffix::k_reject) {
            const std::size_t suffix_pos = m_pos - suffix.size();
            return fail(suffix_pos,
                        "text after ']' (a shared suffix is Slurm 23.11+ syntax, not enabled)");
        }
        std::size_t longest = suffix.size() + static_cast<std::size_t>(numbers.max_digits);
        std::uint64_t hosts = numbers.count;
        for (std::size_t g = 0; g + 1 < m_groups.size(); ++g) {
            const Group& group = m_groups[g];
            if (group.count > Hostlist::k_max_prefix_names) {
                return fail(group.open, "brackets expand to more than " +
                                            std::to_string(Hostlist::k_max_prefix_names) +
                                            " prefixes");
            }
            hosts = group.count > m_options.max_hosts / std::max<std::uint64_t>(hosts, 1)
                        ? std::uint64_t{m_options.max_hosts} + 1
                        : hosts * group.count;
            longest += static_cast<std::size_t>(group.max_digits);
        }
        for (std::size_t t = 0; t + 1 < m_texts.size(); ++t) {
            longest += m_texts[t].size();
        }
        if (longest > Hostlist::k_max_name_length) {
            return name_too_long(start);
        }
        if (auto s = check_capacity(start, hosts); !s) {
            return s;
        }

        // Slurm expands prefix groups recursively from the right, so the left-most prefix
        // group varies fastest (after the number group): a[1-2]b[3-4]c[5] gives a1b3c5
        // a2b3c5 a1b4c5 a2b4c5.
        const std::size_t prefix_groups = m_groups.size() - 1;
        std::vector<std::size_t> item(prefix_groups);
        std::vector<std::uint64_t> value(prefix_groups);
        for (std::size_t g = 0; g < prefix_groups; ++g) {
            item[g] = m_groups[g].first;
            value[g] = m_items[item[g]].lo;
        }
        std::string prefix;
        std::string name;
        for (;;) {
            prefix.assign(m_texts[0]);
            for (std::size_t g = 0; g < prefix_groups; ++g) {
                append_number(prefix, value[g], m_items[item[g]].width);
                prefix += m_texts[g + 1];
            }
            if (auto s = push_numbers(start, prefix, suffix, name); !s) {
                return s;
            }
            std::size_t g = 0;
            for (; g < prefix_groups; ++g) {
                if (value[g] < m_items[item[g]].hi) {
                    ++value[g];
                    break;
                }
                if (++item[g] < m_groups[g].last) {
                    value[g] = m_items[item[g]].lo;
                    break;
                }
                item[g] = m_groups[g].first;
                value[g] = m_items[item[g]].lo;
            }
            if (g == prefix_groups) {
                return ok_status();
            }
        }
    }

    // Every name we make must read back as the same name, so its trailing digits (which may
    // run on from the prefix, "n1[0-9]" or "n[1-2]5") must form a number we accept.
    Status check_trailing_number(std::size_t start, std::string_view name, int extra_digits) {
        std::size_t run = name.size();
        while (run > 0 && is_digit(name[run - 1])) {
            --run;
        }
        while (run < name.size() && name[run] == '0') {
            ++run;
        }
        const std::size_t significant = name.size() - run;
        if (significant > 0 &&
            significant + static_cast<std::size_t>(extra_digits) > k_max_significant_digits) {
            return fail(start, "host names would end in a number larger than " +
                                   std::to_string(Hostlist::k_max_number));
        }
        return ok_status();
    }

    Status push_numbers(std::size_t start, const std::string& prefix, std::string_view suffix,
                        std::string& name) {
        const Group& numbers = m_groups.back();
        if (suffix.empty()) {
            if (auto s = check_trailing_number(start, prefix, numbers.max_digits); !s) {
                return s;
            }
            const std::uint32_t id = m_out.intern_prefix(prefix);
            for (std::size_t i = numbers.first; i < numbers.last; ++i) {
                m_out.push_range(id, m_items[i].lo, m_items[i].hi, m_items[i].width);
            }
            return ok_status();
        }
        for (std::size_t i = numbers.first; i < numbers.last; ++i) {
            for (std::uint64_t v = m_items[i].lo;; ++v) {
                name.assign(prefix);
                append_number(name, v, m_items[i].width);
                name += suffix;
                if (auto s = check_trailing_number(start, name, 0); !s) {
                    return s;
                }
                m_out.push_single(name);
                if (v == m_items[i].hi) {
                    break;
                }
            }
        }
        return ok_status();
    }

    std::string_view m_what;
    std::string_view m_text;
    const HostlistOptions& m_options;
    Hostlist& m_out;
    std::size_t m_pos = 0;
    // Scratch space for the current token, reused across tokens.
    std::vector<std::string_view> m_texts;
    std::vector<Group> m_groups;
    std::vector<Item> m_items;
};

Result<Hostlist> Hostlist::parse(std::string_view text, const HostlistOptions& options) {
    Hostlist out;
    HostlistParser parser("hostlist", text, options, out);
    if (auto s = parser.parse_list(); !s) {
        return std::move(s).error();
    }
    return out;
}

Result<Hostlist> Hostlist::from_names(const std::vector<std::string>& names,
                                      const HostlistOptions& options) {
    if (names.size() > options.max_hosts) {
        return make_error(
            ErrorKind::k_invalid_input,
            "more than " + std::to_string(options.max_hosts) + " host names (the limit)");
    }
    Hostlist out;
    for (const auto& name : names) {
        HostlistParser parser("host name", name, options, out);
        if (auto s = parser.parse_single_name(); !s) {
            return std::move(s).error();
        }
    }
    return out;
}

// ---- output ----

void Hostlist::expand_into(std::string& out, char terminator) const {
    for (const Range& r : m_ranges) {
        const std::string& prefix = m_prefixes[r.prefix];
        if (r.single) {
            out += prefix;
            out += terminator;
            continue;
        }
        for (std::uint64_t v = r.lo;; ++v) {
            out += prefix;
            append_number(out, v, r.width);
            out += terminator;
            if (v == r.hi) {
                break;
            }
        }
    }
}

std::vector<std::string> Hostlist::expand() const {
    std::vector<std::string> names;
    names.reserve(m_size);
    std::string name;
    for (const Range& r : m_ranges) {
        const std::string& prefix = m_prefixes[r.prefix];
        if (r.single) {
            names.push_back(prefix);
            continue;
        }
        for (std::uint64_t v = r.lo;; ++v) {
            name.assign(prefix);
            append_number(name, v, r.width);
            names.push_back(name);
            if (v == r.hi) {
                break;
            }
        }
    }
    return names;
}

// Slurm's hostlist_ranged_string: neighbouring ranges with one prefix share a bracket; a
// bracket is left out only for a lone range of one host.
std::string Hostlist::compress() const {
    std::string out;
    const auto in_one_bracket = [this](std::size_t a, std::size_t b) {
        return !m_ranges[a].single && !m_ranges[b].single &&
               m_ranges[a].prefix == m_ranges[b].prefix;
    };
    std::size_t i = 0;
    while (i < m_ranges.size()) {
        if (i > 0) {
            out += ',';
        }
        const Range& first = m_ranges[i];
        out += m_prefixes[first.prefix];
        if (first.single) {
            ++i;
            continue;
        }
        const bool bracket =
            first.hi > first.lo || (i + 1 < m_ranges.size() && in_one_bracket(i, i + 1));
        if (bracket) {
            out += '[';
        }
        const std::size_t group_begin = i;
        do {
            const Range& r = m_ranges[i];
            if (i > group_begin) {
                out += ',';
            }
            append_number(out, r.lo, r.width);
            if (r.hi > r.lo) {
                out += '-';
                append_number(out, r.hi, r.width);
            }
            ++i;
        } while (i < m_ranges.size() && in_one_bracket(i - 1, i));
        if (bracket) {
            out += ']';
        }
    }
    return out;
}

// ---- sorting ----

namespace {

// hostrange_intersect's condition, for two neighbours after sorting, plus left.lo <=
// right.lo. Without it Slurm 22.05 corrupts the list: when a range cut by an earlier split
// now starts above its neighbour (its new low number gained a digit and became compatible
// with a zero-padded neighbour, as in "n[11-134,73,95-320,017]"), Slurm empties the left
// range, frees the right one and drops its hosts. We leave such a pair unsplit instead.
template <typename Range>
bool overlaps(const Range& left, const Range& right) {
    return !left.single && !right.single && left.prefix == right.prefix && left.hi > right.lo &&
           left.lo <= right.lo && widths_compatible(left.lo, left.width, right.lo, right.width);
}

}  // namespace

std::tuple<std::uint32_t, bool, int, std::uint64_t> Hostlist::sort_key(const Range& r) {
    return {r.prefix, !r.single, std::max(static_cast<int>(r.width), digit_count(r.lo)), r.lo};
}

void Hostlist::sort() {
    if (m_ranges.size() <= 1) {
        return;  // Slurm returns early too, without merging anything.
    }

    // Renumber the (distinct) prefixes in natural order, so that comparing indexes compares
    // prefixes.
    std::vector<std::uint32_t> order(m_prefixes.size());
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [this](std::uint32_t a, std::uint32_t b) {
        const int r = natural_compare(m_prefixes[a], m_prefixes[b]);
        return r != 0 ? r < 0 : m_prefixes[a] < m_prefixes[b];
    });
    std::vector<std::uint32_t> rank(m_prefixes.size());
    std::vector<std::string> ranked;
    ranked.reserve(m_prefixes.size());
    m_prefix_ids.clear();
    for (const std::uint32_t id : order) {
        rank[id] = static_cast<std::uint32_t>(ranked.size());
        ranked.push_back(std::move(m_prefixes[id]));
        m_prefix_ids.emplace(ranked.back(), rank[id]);
    }
    m_prefixes = std::move(ranked);
    for (Range& r : m_ranges) {
        r.prefix = rank[r.prefix];
    }

    // Slurm's hostrange_cmp orders by prefix, single hosts first, then by the low number
    // when the widths are compatible and by width otherwise: the same order as sort_key's
    // (printed length of lo, lo). glibc's qsort is a stable merge sort.
    const auto before = [](const Range& a, const Range& b) { return sort_key(a) < sort_key(b); };
    std::stable_sort(m_ranges.begin(), m_ranges.end(), before);
    if (!split_overlaps()) {
        // Slurm would take hours here; sort host by host instead. Same hosts, same order of
        // prefixes; overlaps come out as Slurm prints them when it finishes
        // ("n[1-2,2-3,3-4]"), but ranges of mixed padding may be ordered differently.
        sort_each_host();
    }
    // Only where Slurm 22.05 drops hosts (see overlaps()) can the split leave a range before
    // a smaller one; put them back in order, still keeping every host.
    if (std::adjacent_find(m_ranges.begin(), m_ranges.end(),
                           [&before](const Range& a, const Range& b) { return before(b, a); }) !=
        m_ranges.end()) {
        std::stable_sort(m_ranges.begin(), m_ranges.end(), before);
    }
    merge_neighbours();
}

// Slurm's hostlist_coalesce. Scanning from the right, each overlapping pair (x, y) becomes
// x cut at y.lo, the shared numbers as ranges of one (twice where both had them, so
// duplicates stay), and y starting at the end of the overlap; y may then overlap its own
// right neighbour, which Slurm handles next (its scan restarts from the right end, and
// everything right of y is already settled). We build the result right to left.
bool Hostlist::split_overlaps() {
    // Slurm's restart-from-the-right walks a range that overlaps many later ones past each
    // of them, once per range it meets: quadratic in crafted lists ("n[1-10]" 50,000
    // times, then "n5" 500,000 times). Give up past a budget proportional to the list.
    std::size_t budget = 8 * (m_size + m_ranges.size());
    struct Split {
        Range left;        // x after the cut
        std::uint64_t lo;  // the shared numbers, lo..hi
        std::uint64_t hi;
    };
    std::vector<Range> settled;  // reversed: back() is the left-most settled range
    settled.reserve(m_ranges.size());
    std::vector<Split> pending;
    for (std::size_t i = m_ranges.size(); i-- > 0;) {
        Range cur = m_ranges[i];
        while (!settled.empty() && overlaps(cur, settled.back())) {
            if (budget-- == 0) {
                return false;
            }
            Range next = settled.back();
            settled.pop_back();
            const std::uint64_t lo = next.lo;
            const std::uint64_t hi = std::min(next.hi, cur.hi);
            if (hi < cur.hi) {
                next.hi = cur.hi;
            }
            cur.hi = lo;
            next.lo = hi;
            pending.push_back(Split{cur, lo, hi});
            cur = next;
        }
        settled.push_back(cur);
        while (!pending.empty()) {
            const Split s = pending.back();
            pending.pop_back();
            // Slurm inserts v once if it lies above the cut x and once if below next.lo.
            for (std::uint64_t v = s.hi;; --v) {
                const int copies = (v > s.lo ? 1 : 0) + (v < s.hi ? 1 : 0);
                for (int c = 0; c < copies; ++c) {
                    settled.push_back(Range{v, v, s.left.prefix, s.left.width, false});
                }
                if (v == s.lo) {
                    break;
                }
            }
            settled.push_back(s.left);
        }
    }
    m_ranges.assign(settled.rbegin(), settled.rend());
    return true;
}

void Hostlist::sort_each_host() {
    std::vector<Range> hosts;
    hosts.reserve(m_size);
    for (const Range& r : m_ranges) {
        if (r.single) {
            hosts.push_back(r);
            continue;
        }
        for (std::uint64_t v = r.lo;; ++v) {
            hosts.push_back(Range{v, v, r.prefix, r.width, false});
            if (v == r.hi) {
                break;
            }
        }
    }
    std::stable_sort(hosts.begin(), hosts.end(),
                     [](const Range& a, const Range& b) { return sort_key(a) < sort_key(b); });
    m_ranges = std::move(hosts);
}

// Slurm's hostlist_collapse: from the right, a range followed by its continuation (same
// prefix, next number, compatible width) absorbs it.
void Hostlist::merge_neighbours() {
    std::vector<Range> merged;  // reversed
    merged.reserve(m_ranges.size());
    Range cur = m_ranges.back();
    for (std::size_t i = m_ranges.size() - 1; i-- > 0;) {
        Range prev = m_ranges[i];
        if (!prev.single && !cur.single && prev.prefix == cur.prefix && prev.hi + 1 == cur.lo &&
            widths_compatible(prev.lo, prev.width, cur.lo, cur.width)) {
            prev.hi = cur.hi;
        } else {
            merged.push_back(cur);
        }
        cur = prev;
    }
    merged.push_back(cur);
    m_ranges.assign(merged.rbegin(), merged.rend());
}

std::string Hostlist::compress_sorted() const {
    Hostlist copy = *this;
    copy.sort();
    return copy.compress();
}

}  // namespace cb
