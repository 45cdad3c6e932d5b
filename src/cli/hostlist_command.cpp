// `cloudburst hostlist expand|compress|sort EXPR...`: Slurm's `scontrol show hostnames`,
// `show hostlist` and `show hostlistsorted`, without needing a slurm.conf. Several EXPR
// arguments form one list, as if joined by commas; "-" reads a list from standard input.
#include <CLI/CLI.hpp>

#include <array>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "util/hostlist.h"
#include "util/program.h"

namespace cb::cli {

namespace {

constexpr std::size_t k_max_stdin_bytes = std::size_t{64} << 20;

struct Request {
    std::vector<std::string> expressions;
    bool suffix = false;
};

struct HostlistAction {
    const char* name;
    const char* help;
    std::string (*render)(Hostlist& list);
};

std::string render_names(Hostlist& list) {
    std::string out;
    list.expand_into(out, '\n');
    return out;
}

std::string render_compressed(Hostlist& list) {
    return list.compress() + "\n";
}

std::string render_sorted(Hostlist& list) {
    list.sort();
    return list.compress() + "\n";
}

constexpr std::array k_actions{
    HostlistAction{"expand",
                   "print one host name per line, in list order (scontrol show hostnames)",
                   render_names},
    HostlistAction{"compress",
                   "print the list as one expression, in list order (scontrol show hostlist)",
                   render_compressed},
    HostlistAction{"sort", "print the list sorted and compressed (scontrol show hostlistsorted)",
                   render_sorted},
};

Result<std::string> read_stdin() {
    std::string text;
    std::array<char, 65536> buf{};
    for (;;) {
        const std::size_t n = std::fread(buf.data(), 1, buf.size(), stdin);
        text.append(buf.data(), n);
        if (text.size() > k_max_stdin_bytes) {
            return make_error(ErrorKind::k_invalid_input,
                              "standard input holds more than 64 MiB of hostlist text");
        }
        if (n < buf.size()) {
            if (std::ferror(stdin) != 0) {
                return make_error(ErrorKind::k_io, "reading standard input failed");
            }
            return text;
        }
    }
}

Result<Hostlist> read_lists(const Request& request) {
    HostlistOptions options;
    options.suffix = request.suffix ? HostlistSuffix::k_allow : HostlistSuffix::k_reject;
    Hostlist all;
    for (const std::string& expression : request.expressions) {
        std::string from_stdin;
        if (expression == "-") {
            auto text = read_stdin();
            if (!text) {
                return std::move(text).error();
            }
            from_stdin = std::move(*text);
        }
        auto list = Hostlist::parse(expression == "-" ? from_stdin : expression, options);
        if (!list) {
            return std::move(list).error();
        }
        all.append(*list);
        if (all.size() > options.max_hosts) {
            return make_error(ErrorKind::k_invalid_input, "the hostlists hold more than " +
                                                              std::to_string(options.max_hosts) +
                                                              " hosts together (the limit)");
        }
    }
    return all;
}

Result<int> run(const Request& request, const HostlistAction& action) {
    auto list = read_lists(request);
    if (!list) {
        return std::move(list).error();
    }
    const std::string out = action.render(*list);
    if (std::fwrite(out.data(), 1, out.size(), stdout) != out.size() || std::fflush(stdout) != 0) {
        return make_error(ErrorKind::k_io, "writing standard output failed");
    }
    return 0;
}

// The arguments of a hostlist subcommand that CLI11 did not take as its own options, each
// verbatim. Throws CLI11's own errors, so a stray option or no expression reads and exits like
// any other usage error.
std::vector<std::string> take_expressions(const CLI::App& sub) {
    std::vector<std::string> expressions = sub.remaining();
    for (const std::string& arg : expressions) {
        if (arg.size() > 1 && arg.front() == '-') {
            throw CLI::ExtrasError(sub.get_name(), {arg});
        }
    }
    if (expressions.empty()) {
        throw CLI::RequiredError("EXPR");
    }
    return expressions;
}

}  // namespace

std::vector<CommandSpec> hostlist_commands() {
    return {{"hostlist", "expand, compress or sort Slurm hostlist expressions", [](CLI::App& app) {
                 app.require_subcommand(1);
                 auto request = std::make_shared<Request>();
                 auto chosen = std::make_shared<const HostlistAction*>(nullptr);
                 for (const HostlistAction& action : k_actions) {
                     CLI::App* sub = app.add_subcommand(action.name, action.help);
                     // EXPR... is read from the subcommand's extras, not a positional option:
                     // CLI11 splits a container option's value that is wholly in brackets
                     // ("[1-3]" became "1-3"), and a hostlist must reach the parser verbatim.
                     sub->allow_extras();
                     sub->footer(
                         "EXPR...  hostlist expressions such as n[1-4],gpu07; several form one "
                         "list; '-' reads standard input\n");
                     sub->add_flag("--suffix", request->suffix,
                                   "accept a shared suffix after the brackets, n[1-3]-ib (Slurm "
                                   "23.11+ syntax)");
                     sub->callback([sub, request, chosen, &action]() {
                         request->expressions = take_expressions(*sub);
                         *chosen = &action;
                     });
                 }
                 return std::function<Result<int>()>([request, chosen]() -> Result<int> {
                     if (*chosen == nullptr) {
                         return make_error(ErrorKind::k_internal, "no hostlist subcommand ran");
                     }
                     return run(*request, **chosen);
                 });
             }}};
}

}  // namespace cb::cli
