// Cluster templates: the repository's slurm-headless.txt, -p overrides, expressions, and
// parse errors with their line numbers.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include "emulator/cluster_template.h"
#include "emulator/template_value.h"
#include "unit/emulator_fixtures.h"

namespace cb::emulator {
namespace {

const NodeArrayDefinition& array_named(const ClusterDefinition& def, const std::string& name) {
    const auto it = std::find_if(def.node_arrays.begin(), def.node_arrays.end(),
                                 [&](const auto& a) { return a.name == name; });
    EXPECT_NE(it, def.node_arrays.end()) << name;
    return *it;
}

TemplateValue lookup(const std::vector<KeyValue>& values, const std::string& key) {
    for (const auto& kv : values) {
        if (kv.key == key) {
            return kv.value;
        }
    }
    return std::string("<unset>");
}

TEST(EmulatorTemplate, TheRepositoryTemplateDefinesFourNodeArrays) {
    const ClusterDefinition def = testing::definition();
    EXPECT_EQ(def.name, "burst1");
    EXPECT_EQ(def.template_name, "slurm-headless");
    std::vector<std::string> names;
    for (const auto& a : def.node_arrays) {
        names.push_back(a.name);
    }
    EXPECT_EQ(names, (std::vector<std::string>{"hpc", "htc", "gpu", "dynamic"}));

    const auto& hpc = array_named(def, "hpc");
    EXPECT_EQ(hpc.machine_types, (std::vector<std::string>{"Standard_F2s_v2"}));
    EXPECT_EQ(hpc.max_core_count, 100);
    EXPECT_EQ(hpc.max_count, std::nullopt);
    EXPECT_EQ(hpc.max_scaleset_size, 100);
    EXPECT_FALSE(hpc.interruptible);
    EXPECT_EQ(hpc.region, "eastus");
    EXPECT_EQ(hpc.shutdown_policy, ShutdownPolicy::k_terminate);
    EXPECT_EQ(lookup(hpc.configuration, "slurm.partition"), TemplateValue("hpc"));
    EXPECT_EQ(lookup(hpc.configuration, "slurm.hpc"), TemplateValue(true));
    EXPECT_EQ(lookup(hpc.configuration, "slurm.default_partition"), TemplateValue(true));
    EXPECT_EQ(lookup(hpc.configuration, "slurm.autoscale"), TemplateValue(true));
    EXPECT_EQ(lookup(hpc.configuration, "slurm.node_prefix"), TemplateValue("burst1-"));
    EXPECT_EQ(lookup(hpc.configuration, "slurm.use_nodename_as_hostname"), TemplateValue(true));
    EXPECT_EQ(lookup(hpc.configuration, "cyclecloud.hosts.standalone_dns.enabled"),
              TemplateValue(false));
    EXPECT_EQ(lookup(hpc.configuration, "cyclecloud.mounts.nfs_shared.mountpoint"),
              TemplateValue("/shared"));
    EXPECT_EQ(lookup(hpc.configuration, "slurm.version"), TemplateValue("23.02.7-1"));
    // Attributes from [[node defaults]] and the array; an undefined parameter unsets one.
    EXPECT_EQ(lookup(hpc.attributes, "SubnetId"),
              TemplateValue("cloudburst-rg/cloudburst-vnet/compute"));
    EXPECT_EQ(lookup(hpc.attributes, "Azure.MaxScalesetSize"), TemplateValue(std::int64_t{100}));
    EXPECT_EQ(lookup(hpc.attributes, "Azure.Identities"), TemplateValue("<unset>"));
    EXPECT_EQ(lookup(hpc.attributes, "Extends"), TemplateValue("<unset>"));

    const auto& htc = array_named(def, "htc");
    EXPECT_EQ(htc.max_count, 50);
    EXPECT_EQ(lookup(htc.configuration, "slurm.use_pcpu"), TemplateValue(false));
    EXPECT_EQ(lookup(htc.configuration, "slurm.default_partition"), TemplateValue("<unset>"));

    const auto& gpu = array_named(def, "gpu");
    EXPECT_EQ(gpu.machine_types, (std::vector<std::string>{"Standard_NC24ads_A100_v4"}));
    EXPECT_EQ(lookup(gpu.configuration, "slurm.partition"), TemplateValue("gpu"));

    const auto& dynamic = array_named(def, "dynamic");
    EXPECT_EQ(dynamic.machine_types,
              (std::vector<std::string>{"Standard_F2s_v2", "Standard_F4s_v2"}));
    EXPECT_EQ(lookup(dynamic.configuration, "slurm.dynamic_config"),
              TemplateValue(R"(-Z --conf "Feature=dyn")"));
}

TEST(EmulatorTemplate, ParameterOverridesReplaceDefaults) {
    const ClusterDefinition def = testing::definition(
        {"HPCMachineType=Standard_HB120rs_v3", "MaxHPCExecuteCoreCount=960", "HTCUseLowPrio=true",
         "NodeNamePrefix=lab-", "ShutdownPolicy=Deallocate",
         "DynamicMachineType=Standard_D4s_v5,Standard_E8s_v5, Standard_D8s_v5"});
    const auto& hpc = array_named(def, "hpc");
    EXPECT_EQ(hpc.machine_types, (std::vector<std::string>{"Standard_HB120rs_v3"}));
    EXPECT_EQ(hpc.max_core_count, 960);
    EXPECT_EQ(hpc.shutdown_policy, ShutdownPolicy::k_deallocate);
    EXPECT_EQ(lookup(hpc.configuration, "slurm.node_prefix"), TemplateValue("lab-"));
    EXPECT_TRUE(array_named(def, "htc").interruptible);
    EXPECT_EQ(array_named(def, "dynamic").machine_types,
              (std::vector<std::string>{"Standard_D4s_v5", "Standard_E8s_v5", "Standard_D8s_v5"}));
    EXPECT_EQ(lookup(def.parameters, "HPCMachineType"), TemplateValue("Standard_HB120rs_v3"));
}

TEST(EmulatorTemplate, AnUnknownOverrideSuggestsTheNearestParameter) {
    auto tmpl = ClusterTemplate::load(testing::source_path("templates/slurm-headless.txt"));
    ASSERT_TRUE(tmpl);
    auto def = resolve_cluster(*tmpl, {{"HPCMachinetype", "x"}}, "");
    ASSERT_FALSE(def);
    EXPECT_EQ(def.error().kind, ErrorKind::k_usage);
    EXPECT_EQ(def.error().message,
              "-p HPCMachinetype: slurm-headless.txt has no parameter HPCMachinetype (did you "
              "mean HPCMachineType?)");
    auto bad = parse_parameter_override("HPCMachineType");
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().message,
              "-p HPCMachineType: expected NAME=VALUE (e.g. -p "
              "HPCMachineType=Standard_HB120rs_v3)");
}

TEST(EmulatorTemplate, AnOverrideOfTheWrongTypeNamesTheLineThatUsesIt) {
    const std::string text =
        "[cluster c]\n"
        "    [[nodearray x]]\n"
        "    MachineType = Standard_F2s_v2\n"
        "    MaxCoreCount = $Cores\n"
        "[parameters p]\n"
        "    [[[parameter Cores]]]\n"  // depth 3 under a depth-1 section is refused...
        ;
    auto refused = ClusterTemplate::parse(text, "t.txt");
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().message,
              "t.txt:6: [[[parameter Cores]]] is not inside a [[...]] section");

    const std::string fixed =
        "[cluster c]\n"
        "    [[nodearray x]]\n"
        "    MachineType = Standard_F2s_v2\n"
        "    MaxCoreCount = $Cores\n"
        "[parameters p]\n"
        "    [[parameter Cores]]\n"
        "    DefaultValue = 8\n";
    auto tmpl = ClusterTemplate::parse(fixed, "t.txt");
    ASSERT_TRUE(tmpl) << tmpl.error().describe();
    auto ok = resolve_cluster(*tmpl, {}, "");
    ASSERT_TRUE(ok) << ok.error().describe();
    EXPECT_EQ(ok->node_arrays.at(0).max_core_count, 8);
    auto def = resolve_cluster(*tmpl, {{"Cores", "lots"}}, "");
    ASSERT_FALSE(def);
    EXPECT_EQ(def.error().message,
              "t.txt:4: MaxCoreCount of nodearray x must be a whole number, not 'lots'");
}

struct ErrorCase {
    std::string text;
    std::string message;
};

TEST(EmulatorTemplate, SyntaxErrorsNameTheLine) {
    const std::vector<ErrorCase> cases{
        {"[cluster a]\n[[nodearray x]\n",
         "t.txt:2: '[[nodearray x]' opens with 2 '[' but closes "
         "with 1 ']'"},
        {"# only\n[parameters P]\n", "t.txt: no [cluster NAME] section"},
        {"[cluster a]\n\n  [[[configuration]]]\n",
         "t.txt:3: [[[configuration]]] is not inside a [[...]] section"},
        {"[cluster a]\n[[nodearray x]]\n[[[volume]]]\n", "t.txt:3: [[[volume]]] needs a name"},
        {"[clsuter a]\n",
         "t.txt:1: unknown section [clsuter a] (expected [cluster NAME] or "
         "[parameters LABEL])"},
        {"[cluster a]\n[[parameter x]]\n",
         "t.txt:2: [[parameter x]] cannot be inside a [cluster] section"},
        {"Foo = bar\n[cluster a]\n", "t.txt:1: 'Foo = ...' is outside any section"},
        {"[cluster a]\nno equals here\n",
         "t.txt:2: expected 'Key = value', a [section] header "
         "or a # comment, not 'no equals here'"},
        {"[cluster a]\nX = 1\n# comment\nX = 2\n",
         "t.txt:4: X is already set on line 2 in this section"},
        {"[cluster a]\n[[nodearray x]]\n[[node x]]\n",
         "t.txt:3: node x is already defined on line 2"},
        {"[cluster a]\nD = '''abc\nmore\n", "t.txt:2: ''' string is never closed"},
        {"[cluster a]\nD = '''abc\nmore''' tail\n", "t.txt:3: text after the closing '''"},
        {"[cluster a]\n[cluster b]\n",
         "t.txt:2: a second [cluster] section (the first is on line 1)"},
        {"[[[[x]]]]\n", "t.txt:1: '[[[[x]]]]': sections nest at most 3 deep"},
        {"[cluster a]\nbad key = 1\n", "t.txt:2: 'bad key' is not a valid attribute name"},
        {"[cluster a]\n[[nodearray]]\n", "t.txt:2: [[nodearray]] needs a name"},
    };
    for (const auto& c : cases) {
        auto r = ClusterTemplate::parse(c.text, "t.txt");
        ASSERT_FALSE(r) << c.text;
        EXPECT_EQ(r.error().kind, ErrorKind::k_config);
        EXPECT_EQ(r.error().message, c.message);
    }
}

TEST(EmulatorTemplate, ResolutionErrorsNameTheLine) {
    const std::string params =
        "[parameters p]\n"
        "    [[parameter HPCMachineType]]\n"
        "    DefaultValue = Standard_F2s_v2\n";
    const std::vector<ErrorCase> cases{
        {"[cluster a]\n[[nodearray x]]\nMachineType = $HPCMachinType\n" + params,
         "t.txt:3: unknown parameter $HPCMachinType (did you mean $HPCMachineType?)"},
        {"[cluster a]\n[[nodearray x]]\nMachineType = ${Foo(1)}\n",
         "t.txt:3: in ${Foo(1)}: unknown function 'Foo' (the emulator knows ifThenElse and "
         "StrJoin)"},
        {"[cluster a]\n[[nodearray x]]\nMachineType = ${(1 == 1}\n",
         "t.txt:3: in ${(1 == 1}: expected ')' at column 8"},
        {"[cluster a]\n[[nodearray x]]\n[[[volume boot]]]\nSize = $Missing\n",
         "t.txt:4: unknown parameter $Missing"},
        {"[cluster a]\n[[nodearray x]]\nImageName = almalinux8\n",
         "t.txt:2: nodearray x has no MachineType"},
        {"[cluster a]\n[[nodearray x]]\nMachineType = m\nMaxCoreCount = -4\n",
         "t.txt:4: MaxCoreCount of nodearray x must be a whole number, not '-4'"},
        {"[cluster a]\n[[nodearray x]]\nMachineType = m\nAzure.MaxScalesetSize = 0\n",
         "t.txt:4: Azure.MaxScalesetSize of nodearray x must be a whole number above 0, not '0'"},
        {"[cluster a]\n[[nodearray x]]\nMachineType = m\nExtends = base\n",
         "t.txt:4: nodearray x extends base, which is not a [[node]] in this cluster"},
        {"[cluster a]\n[[node b]]\nExtends = c\n[[node c]]\nExtends = b\n[[nodearray x]]\n"
         "MachineType = m\nExtends = b\n",
         "t.txt:2: node b extends itself (through x -> b -> c)"},
        {"[cluster a]\n[[node b]]\nExtends = x\n[[nodearray x]]\nMachineType = m\nExtends = b\n",
         "t.txt:3: node b extends x, which is not a [[node]] in this cluster"},
        {"[cluster a]\n[[nodearray x]]\nMachineType = m\nShutdownPolicy = Pause\n",
         "t.txt:4: ShutdownPolicy of nodearray x must be Terminate or Deallocate, not 'Pause'"},
        {"[cluster a]\n[[nodearray x]]\nMachineType = m\nInterruptible = maybe\n",
         "t.txt:4: Interruptible of nodearray x must be true or false, not 'maybe'"},
        {"[cluster a]\nMaxCount = many\n",
         "t.txt:2: MaxCount of cluster a must be a whole number, not 'many'"},
    };
    for (const auto& c : cases) {
        auto tmpl = ClusterTemplate::parse(c.text, "t.txt");
        ASSERT_TRUE(tmpl) << tmpl.error().describe();
        auto r = resolve_cluster(*tmpl, {}, "");
        ASSERT_FALSE(r) << c.text;
        EXPECT_EQ(r.error().kind, ErrorKind::k_config);
        EXPECT_EQ(r.error().message, c.message);
    }
}

TEST(EmulatorTemplate, InheritanceLiteralsAndPrefixedConfiguration) {
    const std::string text =
        "[cluster a]\n"
        "MaxCoreCount = 64\n"
        "  [[node defaults]]\n"
        "  Region = westeurope\n"
        "  Keep = $Undefined\n"
        "    [[[configuration]]]\n"
        "    x.level = defaults\n"
        "  [[node base]]\n"
        "  Abstract = true\n"
        "  Region = northeurope\n"
        "    [[[configuration]]]\n"
        "    x.level = base\n"
        "    x.base_only = 1.5\n"
        "  [[nodearray one]]\n"
        "  Extends = base\n"
        "  MachineType = \"m1, m2\"\n"
        "  Raw := $NotSubstituted\n"
        "  Text = '''line one\n"
        "line two'''\n"
        "    [[[configuration my.prefix]]]\n"
        "    key = 'quoted value'\n"
        "[parameters p]\n"
        "  [[parameters nested]]\n"
        "    [[[parameter Undefined]]]\n"
        "    Label = no default\n";
    auto tmpl = ClusterTemplate::parse(text, "t.txt");
    ASSERT_TRUE(tmpl) << tmpl.error().describe();
    auto def = resolve_cluster(*tmpl, {}, "");
    ASSERT_TRUE(def) << def.error().describe();
    EXPECT_EQ(def->max_core_count, 64);
    ASSERT_EQ(def->node_arrays.size(), 1u);  // abstract base is not an array
    const auto& one = def->node_arrays[0];
    EXPECT_EQ(one.region, "northeurope");
    EXPECT_EQ(one.machine_types, (std::vector<std::string>{"m1", "m2"}));
    EXPECT_EQ(lookup(one.attributes, "Raw"), TemplateValue("$NotSubstituted"));
    EXPECT_EQ(lookup(one.attributes, "Text"), TemplateValue("line one\nline two"));
    EXPECT_EQ(lookup(one.attributes, "Keep"), TemplateValue("<unset>"));
    EXPECT_EQ(lookup(one.configuration, "x.level"), TemplateValue("base"));
    EXPECT_EQ(lookup(one.configuration, "x.base_only"), TemplateValue(1.5));
    EXPECT_EQ(lookup(one.configuration, "my.prefix.key"), TemplateValue("quoted value"));
}

TEST(EmulatorTemplateValue, LiteralsAreTyped) {
    EXPECT_EQ(parse_literal("true"), TemplateValue(true));
    EXPECT_EQ(parse_literal(" False "), TemplateValue(false));
    EXPECT_EQ(parse_literal("42"), TemplateValue(std::int64_t{42}));
    EXPECT_EQ(parse_literal("-1"), TemplateValue(std::int64_t{-1}));
    EXPECT_EQ(parse_literal("0.5"), TemplateValue(0.5));
    EXPECT_EQ(parse_literal("\"42\""), TemplateValue("42"));
    EXPECT_EQ(parse_literal(R"("a \"b\"")"), TemplateValue(R"(a "b")"));
    EXPECT_EQ(parse_literal("10m"), TemplateValue("10m"));
    EXPECT_EQ(parse_literal("99999999999999999999"), TemplateValue("99999999999999999999"));
    EXPECT_EQ(to_text(TemplateValue(2.5)), "2.5");
    EXPECT_EQ(to_text(TemplateValue()), "");
}

TEST(EmulatorTemplateValue, ExpressionsEvaluate) {
    const std::map<std::string, TemplateValue, std::less<>> values{
        {"Size", std::int64_t{30}}, {"Prefix", std::string("Cluster Prefix")}, {"Unset", {}}};
    const NameLookup names = [&](std::string_view n) -> std::optional<TemplateValue> {
        const auto it = values.find(n);
        return it == values.end() ? std::nullopt : std::optional<TemplateValue>(it->second);
    };
    auto eval = [&](const std::string& e) {
        auto r = evaluate_expression(e, names);
        EXPECT_TRUE(r) << e << ": " << r.error().message;
        return r ? to_text(*r) : "<error>";
    };
    EXPECT_EQ(eval("Size > 0"), "true");
    EXPECT_EQ(eval("Size <= 29"), "false");
    EXPECT_EQ(eval("Size == 30.0"), "true");
    EXPECT_EQ(eval("!(Size != 30) && true"), "true");
    EXPECT_EQ(eval("false || Unset"), "false");
    EXPECT_EQ(eval("ifThenElse(Prefix == \"Cluster Prefix\", StrJoin(\"-\", \"c1\", \"\"), "
                   "Prefix)"),
              "c1-");
    EXPECT_EQ(eval("ifThenElse(Size > 100, Size, undefined)"), "");
    EXPECT_EQ(eval("StrJoin(\", \", 'a', 'b', 3)"), "a, b, 3");
    const std::vector<std::pair<std::string, std::string>> errors{
        {"Nope", "unknown parameter 'Nope'"},
        {"Size >", "expression ends too early"},
        {"Size > 'x'", "'>' compares numbers, not '30' and 'x'"},
        {"ifThenElse(1, 2)", "ifThenElse takes 3 arguments, not 2"},
        {"\"open", "string at column 1 is not closed"},
        {"1 2", "unexpected '2' at column 3"},
        {"StrJoin(1", "expected ')' after the arguments of StrJoin"},
    };
    for (const auto& [expression, message] : errors) {
        auto r = evaluate_expression(expression, names);
        ASSERT_FALSE(r) << expression;
        EXPECT_EQ(r.error().message, message);
    }
}

}  // namespace
}  // namespace cb::emulator
