// Slurm hostlist expressions ("hpc-[1-4,7],gpu[01-02]"): parse, expand, compress and sort,
// byte-compatible with what Slurm 22.05 prints (`scontrol show hostnames`, `show hostlist`,
// `show hostlistsorted`). The grammar, width and merge rules are in the shared reference,
// slurm-power-saving.md §4; this is our own code, and libslurm is only a test oracle.
//
// Accepted grammar (the clean subset of Slurm's; everything else is an error):
//
//   list   := sep* [ token { sep+ token } ] sep*          sep := ',' | ' ' | '\t' | '\n'
//   token  := text { group text }                         (at least one char or one group)
//   group  := '[' item { ',' item } ']'
//   item   := number [ '-' number ]                       number := digit+
//   text   := printable ASCII except separators, '[' and ']'
//
// * A token without groups is one host name. Its maximal run of trailing digits is its number
//   (width = length of the run, leading zeros included); a name without one is a "single
//   host" that never merges with anything.
// * In a token with groups, the last group gives the numbers and everything before it is the
//   prefix; earlier groups expand the prefix (cartesian product). The number group varies
//   fastest and, as in Slurm, the left-most prefix group next: "a[1-2]b[3-4]c[5-6]" gives
//   a1b3c5 a1b3c6 a2b3c5 a2b3c6 a1b4c5 ... A number is zero-padded to the length of its
//   item's first number: "[001-3]" gives 001 002 003, "[9-011]" gives 9 10 11.
// * Text after the last group is a shared suffix ("n[1-3]-ib"): Slurm 23.11+ syntax, an
//   error unless HostlistSuffix::k_allow. Suffixed names are single hosts, so they print
//   back uncompressed ("n1-ib,n2-ib,n3-ib"), as in Slurm 23.11+.
// * Names are kept in input order with duplicates; nothing is sorted or removed.
//
// Rejected where Slurm 22.05 guesses: unclosed '[' ("n[1-2" is "n]" to Slurm), a stray ']'
// (Slurm reads "n]1" as a name but splits "a]b[1,2]" at the comma), whitespace, '+' or an
// empty end inside brackets ("n[1 - 2]", "n[+1]", "n[1-]"), and a suffix. Also
// rejected, to keep time and memory bounded: a range item of more than 65536 hosts and a
// prefix group of more than 65536 names (Slurm's own limits), numbers above
// k_max_number (Slurm would silently saturate them), host names longer than
// k_max_name_length, and lists of more than HostlistOptions::max_hosts hosts.
//
// Sorting follows Slurm's hostlist_sort: natural order of prefixes, then numbers, with
// overlapping ranges split so duplicates stay ("n[1-3],n[2-4]" sorts to "n[1-2,2-3,3-4]").
// Two deliberate differences, both where Slurm 22.05 drops hosts from its answer:
// * it compares numbers through a 32-bit int, so numbers under one prefix that differ by
//   2^31 or more go wrong ("n1,n3000000000" sorts to "n[3000000000]"); we compare numbers;
// * splitting overlaps that mix zero-padded and plain numbers ("n[11-134,73,95-320,017]")
//   makes it free a range it still uses; we keep every host and keep ranges in sort order.
// And where Slurm's overlap splitting would take quadratic time (a crafted list of many
// ranges overlapping many others), we sort host by host: same hosts, prefixes in the same
// order, ranges of mixed zero padding possibly ordered differently.
//
// Errors are Error{ErrorKind::k_invalid_input} with a message that quotes the input and
// names the 1-based byte position of the problem, e.g.
//   invalid hostlist "n[1-": unclosed '[' at position 2
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "util/result.h"

namespace cb {

enum class HostlistSuffix {
    k_reject,  // Slurm 22.05/23.02: text after the last ']' is an error (the default)
    k_allow,   // Slurm 23.11+: text after the last ']' is appended to every name
};

struct HostlistOptions {
    static constexpr std::size_t k_default_max_hosts = std::size_t{1} << 20;

    HostlistSuffix suffix = HostlistSuffix::k_reject;
    // A list that would hold more hosts than this is refused before anything is expanded.
    std::size_t max_hosts = k_default_max_hosts;
};

class Hostlist {
  public:
    static constexpr std::uint64_t k_max_range_hosts = 65536;   // per "[a-b]" item (Slurm)
    static constexpr std::uint64_t k_max_prefix_names = 65536;  // per prefix group (Slurm)
    static constexpr std::uint64_t k_max_number = 999'999'999'999'999'999;
    static constexpr std::size_t k_max_name_length = 255;

    Hostlist() = default;

    // Parses a hostlist expression. An empty or all-separator text is an empty list.
    static Result<Hostlist> parse(std::string_view text, const HostlistOptions& options = {});

    // A list of literal host names, in order (Slurm's hostlist_push_host): names are split
    // into prefix and number but never bracket-expanded. Errors (k_invalid_input): an empty
    // name, one with a separator, '[' or a non-printable byte, or the limits above.
    static Result<Hostlist> from_names(const std::vector<std::string>& names,
                                       const HostlistOptions& options = {});

    // Appends `other` as if the two texts had been joined with a comma: a range that
    // continues our last one merges with it. Limits are the caller's business here.
    void append(const Hostlist& other);

    std::size_t size() const { return m_size; }  // number of hosts, duplicates counted
    bool empty() const { return m_size == 0; }

    // Every host name in list order, duplicates kept (`scontrol show hostnames`).
    std::vector<std::string> expand() const;
    // The same names appended to `out`, each followed by `terminator`.
    void expand_into(std::string& out, char terminator) const;

    // The ranged string in list order, without sorting (`scontrol show hostlist`):
    // "n[3,1-2]" for "n3,n1,n2". Empty for an empty list. As in Slurm, a merged range may
    // hold more than 65536 hosts ("n[1-70000]"), which neither Slurm nor parse() accepts
    // back; pass such lists on as names or in smaller pieces.
    std::string compress() const;

    // Reorders the list as Slurm's hostlist_sort does; compress() then prints what
    // `scontrol show hostlistsorted` prints ("n[1-3]" for "n3,n1,n2").
    void sort();
    // Shorthand for a sorted copy's compress().
    std::string compress_sorted() const;

  private:
    // One run of hosts "prefix<lo..hi>" printed with `width` digits, or a single host
    // (a name with no number) whose whole name is the prefix.
    struct Range {
        std::uint64_t lo = 0;
        std::uint64_t hi = 0;
        std::uint32_t prefix = 0;  // index into m_prefixes
        std::uint16_t width = 0;
        bool single = false;
    };
    friend class HostlistParser;

    struct PrefixHash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const {
            return std::hash<std::string_view>{}(s);
        }
    };

    // The index of `prefix` in m_prefixes, added if new: equal text, equal index.
    std::uint32_t intern_prefix(std::string_view prefix);
    void push_range(std::uint32_t prefix, std::uint64_t lo, std::uint64_t hi, int width);
    void push_single(std::string_view name);
    // Sort order once prefixes are ranked: prefix, single hosts first, printed length of
    // lo, lo.
    static std::tuple<std::uint32_t, bool, int, std::uint64_t> sort_key(const Range& r);
    bool split_overlaps();    // sort(), step 2; false if it gave up (the list is untouched)
    void sort_each_host();    // sort(), step 2 when split_overlaps() gives up
    void merge_neighbours();  // sort(), step 3

    std::vector<std::string> m_prefixes;  // distinct
    std::unordered_map<std::string, std::uint32_t, PrefixHash, std::equal_to<>> m_prefix_ids;
    std::vector<Range> m_ranges;
    std::size_t m_size = 0;
};

// Slurm's natural string order (strnatcmp): runs of digits compare as numbers, except that
// a run starting with '0' compares digit by digit; other bytes compare by value. Returns
// <0, 0 or >0. Used for prefixes when sorting, and useful to list nodes the way Slurm does.
int natural_compare(std::string_view a, std::string_view b);

}  // namespace cb
