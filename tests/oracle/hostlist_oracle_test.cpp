// Property test: our hostlists against libslurm 22.05's on thousands of generated inputs.
// The seed is printed; rerun a failure with CB_ORACLE_SEED=<seed>.
//
// libslurm's hostlist functions need no slurm.conf. Sorting (hostlist_sort) is exported by
// libslurm.so as slurm_hostlist_sort but not declared in slurm.h, so it is declared here.
#include <fcntl.h>
#include <slurm/slurm.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "util/hostlist.h"
#include "util/process.h"

extern "C" void slurm_hostlist_sort(hostlist_t hl);

namespace cb {
namespace {

// libslurm logs parse errors to stderr; thousands of them would drown the test output.
class QuietStderr {
  public:
    QuietStderr() : m_saved(dup(STDERR_FILENO)) {
        const int null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
        if (null_fd >= 0) {
            dup2(null_fd, STDERR_FILENO);
            close(null_fd);
        }
    }
    ~QuietStderr() {
        std::fflush(stderr);
        if (m_saved >= 0) {
            dup2(m_saved, STDERR_FILENO);
            close(m_saved);
        }
    }
    QuietStderr(const QuietStderr&) = delete;
    QuietStderr& operator=(const QuietStderr&) = delete;

  private:
    int m_saved;
};

std::string take(char* s) {
    std::string out = s != nullptr ? s : "";
    free(s);  // NOLINT: libslurm hands out malloc'd strings
    return out;
}

// What libslurm makes of a text: expansion, unsorted and sorted compression.
struct SlurmView {
    std::vector<std::string> names;
    std::string compressed;
    // Unset for big lists: Slurm's sort is quadratic in the overlap it splits.
    std::optional<std::string> sorted;
    int count = 0;
    int sorted_count = 0;  // hosts in `sorted`, read back by libslurm
};

constexpr int k_max_sorted_hosts = 3000;

int slurm_count(const std::string& text) {
    const QuietStderr quiet;
    hostlist_t hl = slurm_hostlist_create(text.c_str());
    const int n = hl != nullptr ? slurm_hostlist_count(hl) : -1;
    slurm_hostlist_destroy(hl);
    return n;
}

int g_sorts_losing_hosts = 0;

std::optional<SlurmView> slurm_view(const std::string& text) {
    hostlist_t hl = nullptr;
    {
        const QuietStderr quiet;
        hl = slurm_hostlist_create(text.c_str());
    }
    if (hl == nullptr) {
        return std::nullopt;
    }
    SlurmView view;
    view.compressed = take(slurm_hostlist_ranged_string_malloc(hl));
    const int count = slurm_hostlist_count(hl);
    if (count <= k_max_sorted_hosts) {
        slurm_hostlist_sort(hl);
        view.sorted = take(slurm_hostlist_ranged_string_malloc(hl));
        view.count = count;
        view.sorted_count = slurm_count(*view.sorted);
    }
    slurm_hostlist_destroy(hl);
    {
        const QuietStderr quiet;
        hl = slurm_hostlist_create(text.c_str());
    }
    for (char* name = slurm_hostlist_shift(hl); name != nullptr; name = slurm_hostlist_shift(hl)) {
        view.names.push_back(take(name));
    }
    slurm_hostlist_destroy(hl);
    return view;
}

std::uint64_t seed() {
    if (const char* env = std::getenv("CB_ORACLE_SEED"); env != nullptr && *env != '\0') {
        return std::strtoull(env, nullptr, 10);
    }
    return 20250522;
}

class Generator {
  public:
    explicit Generator(std::uint64_t seed) : m_rng(seed) {}

    int uniform(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(m_rng); }
    bool chance(int percent) { return uniform(1, 100) <= percent; }
    template <typename T>
    const T& pick(const std::vector<T>& v) {
        return v[static_cast<std::size_t>(uniform(0, static_cast<int>(v.size()) - 1))];
    }

    // Prefixes like Slurm node names: letters, dashes, dots, digits inside.
    std::string prefix() {
        static const std::vector<std::string> k_fixed = {
            "n", "node", "hpc1-hpc-", "gpu-a100-", "10.0.0.", "cn.", "c-", "rack1-n",
            "x", "",     "N",         "n-",        "a.b-c",   "z9z", "q0", "ip-10-1-"};
        if (chance(60)) {
            return pick(k_fixed);
        }
        static const std::string k_chars = "abcxyzN-._0123456789";
        std::string p;
        const int len = uniform(1, 8);
        for (int i = 0; i < len; ++i) {
            p +=
                k_chars[static_cast<std::size_t>(uniform(0, static_cast<int>(k_chars.size()) - 1))];
        }
        return p;
    }

    std::string number(std::uint64_t v, int width) {
        std::string digits = std::to_string(v);
        if (static_cast<int>(digits.size()) < width) {
            digits.insert(0, static_cast<std::size_t>(width) - digits.size(), '0');
        }
        return digits;
    }

    // A set of plain host names: several prefixes, padded and unpadded numbers, some names
    // without numbers, duplicates, in sorted, shuffled or partly shuffled order.
    std::vector<std::string> names() {
        std::vector<std::string> prefixes;
        for (int i = uniform(1, 4); i > 0; --i) {
            prefixes.push_back(prefix());
        }
        const int count = uniform(0, 120);
        const int max_number = pick(std::vector<int>{9, 20, 150, 1200, 100000, 999999999});
        const int fixed_width = uniform(1, 6);
        const int width_mode = uniform(0, 2);  // 0 none, 1 fixed, 2 mixed
        std::vector<std::string> out;
        for (int i = 0; i < count; ++i) {
            const std::string& p = pick(prefixes);
            if (chance(4)) {
                out.push_back(p.empty() || (p.back() >= '0' && p.back() <= '9') ? p + "x" : p);
                continue;
            }
            const auto v = static_cast<std::uint64_t>(uniform(0, max_number));
            const int width = width_mode == 0 ? 0 : width_mode == 1 ? fixed_width : uniform(0, 5);
            std::string name = p + number(v, width);
            // Keep numbers below 2^31: Slurm 22.05 sorts larger ones wrongly (see hostlist.h).
            const auto digits = name.size() - name.find_last_not_of("0123456789") - 1;
            out.push_back(digits > 9 ? p + "x" : name);
        }
        const int order = uniform(0, 2);
        if (order == 0) {
            std::sort(out.begin(), out.end(), [](const std::string& a, const std::string& b) {
                return natural_compare(a, b) < 0;
            });
        } else if (order == 1) {
            std::shuffle(out.begin(), out.end(), m_rng);
        }
        for (int d = uniform(0, 3); d > 0 && !out.empty(); --d) {
            out.insert(out.begin() + uniform(0, static_cast<int>(out.size())), pick(out));
        }
        return out;
    }

    std::string join(const std::vector<std::string>& parts) {
        std::string out = chance(10) ? "," : "";
        for (std::size_t i = 0; i < parts.size(); ++i) {
            if (i > 0) {
                out += chance(85) ? "," : pick(std::vector<std::string>{" ", "\t", ",,", ", "});
            }
            out += parts[i];
        }
        return out;
    }

    std::string item(int width_hint, int max_span) {
        const int lo = pick(std::vector<int>{uniform(0, 12), uniform(0, 120), uniform(0, 2000)});
        const int width = chance(30) ? uniform(1, 5) : width_hint;
        std::string s = number(static_cast<std::uint64_t>(lo), width);
        if (chance(60)) {
            const int hi = lo + pick(std::vector<int>{uniform(0, 3), uniform(0, max_span / 8),
                                                      uniform(0, max_span)});
            s += "-" + number(static_cast<std::uint64_t>(hi), chance(20) ? uniform(1, 5) : 0);
        }
        return s;
    }

    std::string group(int max_items, int max_span) {
        const int width_hint = uniform(0, 4);
        std::string g = "[";
        for (int i = uniform(1, max_items); i > 0; --i) {
            g += item(width_hint, max_span);
            if (i > 1) {
                g += ",";
            }
        }
        return g + "]";
    }

    // Bracket expressions: overlapping, unsorted and repeated items, zero padding, and
    // sometimes prefix groups ("rack[1-2]-n[01-04]").
    std::string expression() {
        std::vector<std::string> tokens;
        for (int t = uniform(1, 5); t > 0; --t) {
            if (chance(20)) {
                tokens.push_back(pick(names_cache()));
                continue;
            }
            std::string token = prefix();
            if (chance(15)) {
                token += group(2, 3) + pick(std::vector<std::string>{"", "-", "x", ".n"});
            }
            token += group(6, 300);
            if (chance(3)) {
                token += "-ib";  // a 23.11 suffix: both 22.05 and we (by default) refuse it
            }
            tokens.push_back(token);
        }
        return join(tokens);
    }

    // Small random edits of a valid text, to probe the error paths.
    std::string mutate(std::string s) {
        static const std::string k_alphabet = "[]-,0123456789n+x. \t";
        for (int edits = uniform(1, 3); edits > 0; --edits) {
            const int pos = uniform(0, static_cast<int>(s.size()));
            const char c = k_alphabet[static_cast<std::size_t>(
                uniform(0, static_cast<int>(k_alphabet.size()) - 1))];
            switch (uniform(0, 2)) {
                case 0:
                    s.insert(static_cast<std::size_t>(pos), 1, c);
                    break;
                case 1:
                    if (pos < static_cast<int>(s.size())) {
                        s.erase(static_cast<std::size_t>(pos), 1);
                    }
                    break;
                default:
                    if (pos < static_cast<int>(s.size())) {
                        s[static_cast<std::size_t>(pos)] = c;
                    }
                    break;
            }
        }
        return s;
    }

  private:
    const std::vector<std::string>& names_cache() {
        if (m_names.empty()) {
            m_names = {"login", "n7", "node001", "a1b", "x"};
        }
        return m_names;
    }

    std::mt19937_64 m_rng;
    std::vector<std::string> m_names;
};

// True if a run of digits in `text` is 2^31 or more, where Slurm 22.05's sort goes wrong
// (see hostlist.h); such texts are compared without sorting.
bool has_huge_number(const std::string& text) {
    std::uint64_t v = 0;
    for (const char c : text) {
        if (c >= '0' && c <= '9') {
            v = std::min<std::uint64_t>(v * 10 + static_cast<std::uint64_t>(c - '0'), 1ULL << 40);
            if (v >= (1ULL << 31)) {
                return true;
            }
        } else {
            v = 0;
        }
    }
    return false;
}

// Compares everything we can for one text that both sides accept.
void expect_same(const std::string& text, const Hostlist& ours, const SlurmView& slurm) {
    EXPECT_EQ(ours.expand(), slurm.names) << "expand of \"" << text << "\"";
    EXPECT_EQ(ours.compress(), slurm.compressed) << "compress of \"" << text << "\"";
    const std::string sorted = ours.compress_sorted();
    const auto again = Hostlist::parse(sorted);
    if (again.ok()) {  // not when a merged range passed 65536 hosts
        auto before = ours.expand();
        auto after = again->expand();
        std::sort(before.begin(), before.end());
        std::sort(after.begin(), after.end());
        EXPECT_EQ(after, before) << "sort of \"" << text << "\" changed the hosts";
    }
    if (!slurm.sorted || has_huge_number(text)) {
        return;
    }
    if (slurm.sorted_count != slurm.count) {
        // Slurm's sort corrupted the list (see overlaps() in hostlist.cpp); ours must not.
        if (++g_sorts_losing_hosts <= 3) {
            std::cout << "libslurm's sort turns " << slurm.count << " hosts into "
                      << slurm.sorted_count << ": \"" << text << "\" -> \"" << *slurm.sorted
                      << "\"; ours: \"" << sorted << "\"\n";
        }
        return;
    }
    EXPECT_EQ(sorted, *slurm.sorted) << "sort of \"" << text << "\"";
}

TEST(HostlistOracle, NameListsMatchLibslurm) {
    const std::uint64_t s = seed();
    std::cout << "seed " << s << " (set CB_ORACLE_SEED to repeat)\n";
    Generator gen(s);
    for (int i = 0; i < 4000 && !HasFailure(); ++i) {
        const std::vector<std::string> names = gen.names();
        const std::string text = gen.join(names);
        const auto slurm = slurm_view(text);
        ASSERT_TRUE(slurm.has_value()) << text;
        const auto ours = Hostlist::parse(text);
        ASSERT_TRUE(ours.ok()) << ours.error().message;
        expect_same(text, *ours, *slurm);
        // The same names given one by one (Slurm's hostlist_push_host) compress the same.
        const auto pushed = Hostlist::from_names(names);
        ASSERT_TRUE(pushed.ok()) << pushed.error().message;
        EXPECT_EQ(pushed->compress(), slurm->compressed) << text;
        // And Slurm's own compressed form reads back to the same names.
        const auto again = Hostlist::parse(slurm->compressed);
        ASSERT_TRUE(again.ok()) << again.error().message;
        EXPECT_EQ(again->expand(), slurm->names) << slurm->compressed;
    }
}

TEST(HostlistOracle, BracketExpressionsMatchLibslurm) {
    const std::uint64_t s = seed() + 1;
    std::cout << "seed " << s - 1 << " (set CB_ORACLE_SEED to repeat)\n";
    Generator gen(s);
    int with_suffix = 0;
    for (int i = 0; i < 4000 && !HasFailure(); ++i) {
        const std::string text = gen.expression();
        const auto slurm = slurm_view(text);
        const auto ours = Hostlist::parse(text);
        if (text.find("]-ib") != std::string::npos) {
            ASSERT_FALSE(slurm.has_value()) << text;
            ASSERT_FALSE(ours.ok()) << text;
            ++with_suffix;
            continue;
        }
        ASSERT_TRUE(slurm.has_value()) << text;
        ASSERT_TRUE(ours.ok()) << text << ": " << ours.error().message;
        expect_same(text, *ours, *slurm);
    }
    std::cout << with_suffix << " expressions with a suffix, refused by both; Slurm's sort lost "
              << "hosts in " << g_sorts_losing_hosts << " lists so far\n";
}

TEST(HostlistOracle, MutatedTextsNeverDisagreeWhenWeAccept) {
    const std::uint64_t s = seed() + 2;
    std::cout << "seed " << s - 2 << " (set CB_ORACLE_SEED to repeat)\n";
    Generator gen(s);
    int both = 0;
    int slurm_only = 0;
    int neither = 0;
    for (int i = 0; i < 8000 && !HasFailure(); ++i) {
        const std::string text = gen.mutate(i % 2 == 0 ? gen.expression() : gen.join(gen.names()));
        const auto slurm = slurm_view(text);
        const auto ours = Hostlist::parse(text);
        if (ours.ok()) {
            ASSERT_TRUE(slurm.has_value()) << "we accept what Slurm refuses: \"" << text << "\"";
            expect_same(text, *ours, *slurm);
            ++both;
        } else {
            EXPECT_EQ(ours.error().kind, ErrorKind::k_invalid_input);
            ++(slurm ? slurm_only : neither);
        }
    }
    // Slurm accepts more (unclosed '[', "[1-]", spaces and '+' inside brackets); we refuse
    // those on purpose. The counts show the test exercised both sides.
    std::cout << both << " accepted by both, " << slurm_only << " only by Slurm, " << neither
              << " by neither; Slurm's sort lost hosts in " << g_sorts_losing_hosts
              << " lists so far\n";
    EXPECT_GT(both, 1000);
    EXPECT_GT(neither, 1000);
}

// `cloudburst hostlist expand` takes each argument verbatim: an argument that is wholly in
// brackets ("[1-3]") once reached the parser as "1-3", because the argument parser read it as
// a list of values. The program's output is compared with libslurm's expansion of the same text.
TEST(HostlistOracle, TheExpandCommandTakesBracketedArgumentsVerbatim) {
    const std::vector<std::string> texts = {"[1-3]", "[1,3,5]", "[01-03]", "[2]",
                                            "[7]",   "a[1-2]",  "[1-2],b", "[9-11],[3]"};
    for (const std::string& text : texts) {
        const auto slurm = slurm_view(text);
        ASSERT_TRUE(slurm.has_value()) << "libslurm refuses \"" << text << "\"";
        Command command;
        command.argv = {std::string(CB_BINARY_DIR) + "/cloudburst", "hostlist", "expand", text};
        auto out = run_command(command);
        ASSERT_TRUE(out.ok()) << out.error().message;
        std::string expected;
        for (const std::string& name : slurm->names) {
            expected += name + "\n";
        }
        EXPECT_EQ(out->exit_code, 0) << text << ": " << out->err;
        EXPECT_EQ(out->out, expected) << "cloudburst hostlist expand '" << text << "'";
    }
}

}  // namespace
}  // namespace cb
