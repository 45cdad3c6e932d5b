// `cloudburst completion bash`: a bash completion script written from the command tree itself,
// so it names every subcommand and option the program has, and no list can fall behind.
#include <CLI/CLI.hpp>

#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "util/text.h"

namespace cb::cli {

namespace {

// Subcommand paths ("", "/hostlist", "/hostlist/expand") and the words each one offers.
void collect(const CLI::App& app, const std::string& path,
             std::map<std::string, std::vector<std::string>>& words) {
    auto& here = words[path];
    for (const CLI::App* sub : app.get_subcommands({})) {
        if (sub->get_group().empty()) {
            continue;  // hidden: internal, not for people to type
        }
        here.push_back(sub->get_name());
        collect(*sub, path + "/" + sub->get_name(), words);
    }
    for (const CLI::Option* opt : app.get_options()) {
        for (const auto& name : opt->get_lnames()) {
            here.push_back("--" + name);
        }
        for (const auto& name : opt->get_snames()) {
            here.push_back("-" + name);
        }
    }
}

}  // namespace

std::string bash_completion(const CLI::App& root) {
    std::map<std::string, std::vector<std::string>> words;
    collect(root, "", words);
    std::vector<std::string> paths;
    for (const auto& [path, unused] : words) {
        if (!path.empty()) {
            paths.push_back(path);
        }
    }
    // Command and option names are [a-z0-9-]: safe as case patterns and compgen words.
    std::string out =
        "# bash completion for cloudburst. Written by `cloudburst completion bash`; do not "
        "edit.\n"
        "_cloudburst() {\n"
        "    local cur=${COMP_WORDS[COMP_CWORD]} path='' w i words=''\n"
        "    for ((i = 1; i < COMP_CWORD; i++)); do\n"
        "        w=${COMP_WORDS[i]}\n"
        "        case \"$path/$w\" in\n"
        "            " +
        join(paths, "|") +
        ") path=\"$path/$w\" ;;\n"
        "        esac\n"
        "    done\n"
        "    case \"$path\" in\n";
    for (const auto& [path, list] : words) {
        out += "        '" + path + "') words='" + join(list, " ") + "' ;;\n";
    }
    out +=
        "    esac\n"
        "    mapfile -t COMPREPLY < <(compgen -W \"$words\" -- \"$cur\")\n"
        "}\n"
        "complete -o default -F _cloudburst cloudburst\n";
    return out;
}

std::vector<CommandSpec> completion_commands() {
    return {{"completion", "print a shell completion script (bash)", [](CLI::App& app) {
                 auto shell = std::make_shared<std::string>();
                 app.add_option("shell", *shell, "the shell")
                     ->required()
                     ->check(CLI::IsMember({"bash"}));
                 const CLI::App* root = app.get_parent();
                 return std::function<Result<int>()>([root, shell]() -> Result<int> {
                     if (*shell != "bash") {  // CLI11 allows only bash today
                         return make_error(ErrorKind::k_usage, "no completion for " + *shell);
                     }
                     std::cout << bash_completion(*root);
                     return 0;
                 });
             }}};
}

}  // namespace cb::cli
