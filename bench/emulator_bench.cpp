// The emulator at scale, over real loopback HTTP: 10,000 Ready nodes across the four node
// arrays of templates/slurm-headless.txt on the `none` backend, then
//   GET status?nodes=true, GET nodes, GET status, GET nodes?operation= (1,000 nodes), and a
//   1,000-node create (removed again outside the timed part).
// The target (issue #3): each call well under a second, the process under 200 MB. RSS is
// reported as counters (rss_mb, peak_rss_mb); it includes the client's copies of the answers.
#include <benchmark/benchmark.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <memory>
#include <string>

#include "core/sku_catalog.h"
#include "emulator/api_service.h"
#include "emulator/clock.h"
#include "emulator/cluster_template.h"
#include "emulator/emulator_app.h"
#include "emulator/http_server.h"
#include "emulator/model_runner.h"

namespace cb::emulator {
namespace {

using Json = nlohmann::json;

constexpr int k_nodes_per_array = 2500;
const char* const k_arrays[] = {"hpc", "htc", "gpu", "dynamic"};

double rss_mb(const char* field) {
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line)) {
        if (line.rfind(field, 0) == 0) {
            return std::stod(line.substr(std::string(field).size())) / 1024.0;
        }
    }
    return 0;
}

// One emulator for every benchmark, built on first use.
class Scale {
  public:
    static Scale& get() {
        static Scale s;
        return s;
    }

    httplib::Client& client() { return *m_client; }
    ModelRunner& runner() { return *m_runner; }
    std::string operation;  // a create of 1,000 nodes, for GET nodes?operation=
    double setup_seconds = 0;

  private:
    Scale() {
        limit_malloc_arenas();  // as cyclecloud-emulator does
        const std::string root = CB_SOURCE_DIR;
        auto tmpl = ClusterTemplate::load(root + "/templates/slurm-headless.txt");
        auto catalog = SkuCatalog::load(root + "/data/azure-skus.json");
        if (!tmpl || !catalog) {
            std::abort();
        }
        const std::vector<ParameterOverride> overrides{{"MaxHPCExecuteCoreCount", "100000"},
                                                       {"MaxHTCExecuteCoreCount", "100000"},
                                                       {"MaxHTCExecuteNodeCount", "100000"},
                                                       {"MaxGPUExecuteCoreCount", "1000000"},
                                                       {"MaxDynamicExecuteCoreCount", "100000"}};
        auto definition = resolve_cluster(*tmpl, overrides, "burst1");
        auto model = ClusterModel::create(std::move(*definition), *catalog, {});
        if (!model) {
            std::abort();
        }
        m_runner = std::make_unique<ModelRunner>(std::move(*model), *m_backend, m_clock);
        m_api = std::make_unique<ApiService>(*m_runner, Credentials::single("bench", "bench"),
                                             ApiOptions{});
        ServerOptions options;
        options.transport = Transport::k_http;
        ApiService* api = m_api.get();
        auto server =
            HttpServer::start(options, [api](const HttpRequest& r) { return api->handle(r); });
        if (!server) {
            std::abort();
        }
        m_server = std::move(*server);
        m_api->set_base_url(m_server->url());
        m_client = std::make_unique<httplib::Client>(m_server->url());
        m_client->set_basic_auth("bench", "bench");
        m_client->set_read_timeout(60, 0);

        const auto start = std::chrono::steady_clock::now();
        for (const char* array : k_arrays) {
            const Json body{{"sets", {{{"nodearray", array}, {"count", k_nodes_per_array}}}}};
            auto r =
                m_client->Post("/clusters/burst1/nodes/create", body.dump(), "application/json");
            if (!r || r->status != 202 ||
                Json::parse(r->body)["sets"][0]["added"] != k_nodes_per_array) {
                std::abort();
            }
            if (std::string(array) == "hpc") {
                operation = Json::parse(r->body)["operationId"];
            }
        }
        // Acquire, then prepare: every node Ready with an address.
        m_clock.advance(std::chrono::seconds(1));
        m_runner->step();
        m_clock.advance(std::chrono::seconds(2));
        m_runner->step();
        setup_seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    }

    ManualClock m_clock;
    std::unique_ptr<VmBackend> m_backend = make_none_backend();
    std::unique_ptr<ModelRunner> m_runner;
    std::unique_ptr<ApiService> m_api;
    std::unique_ptr<HttpServer> m_server;
    std::unique_ptr<httplib::Client> m_client;
};

void report(benchmark::State& state, std::size_t bytes) {
    state.counters["response_kb"] = static_cast<double>(bytes) / 1024.0;
    state.counters["rss_mb"] = rss_mb("VmRSS:");
    state.counters["peak_rss_mb"] = rss_mb("VmHWM:");
    state.counters["nodes"] = 4.0 * k_nodes_per_array;
}

void get(benchmark::State& state, const std::string& path) {
    Scale& s = Scale::get();
    std::size_t bytes = 0;
    for (auto _ : state) {
        auto r = s.client().Get(path.c_str());
        if (!r || r->status != 200) {
            state.SkipWithError("GET failed");
            return;
        }
        bytes = r->body.size();
        benchmark::DoNotOptimize(r->body.data());
    }
    report(state, bytes);
}

void BM_StatusWithNodes(benchmark::State& state) {
    get(state, "/clusters/burst1/status?nodes=true");
}
void BM_Nodes(benchmark::State& state) {
    get(state, "/clusters/burst1/nodes");
}
void BM_StatusWithoutNodes(benchmark::State& state) {
    get(state, "/clusters/burst1/status");
}
void BM_NodesOfAnOperation(benchmark::State& state) {
    get(state, "/clusters/burst1/nodes?operation=" + Scale::get().operation);
}

void BM_Create1000(benchmark::State& state) {
    Scale& s = Scale::get();
    const std::string body =
        Json{{"sets", {{{"nodearray", "htc"}, {"count", 1000}, {"nameFormat", "bench-%d"}}}}}
            .dump();
    std::size_t bytes = 0;
    for (auto _ : state) {
        auto r = s.client().Post("/clusters/burst1/nodes/create", body, "application/json");
        if (!r || r->status != 202) {
            state.SkipWithError("create failed");
            return;
        }
        bytes = r->body.size();
        state.PauseTiming();
        // Acquiring nodes have no VM yet: remove drops them at once.
        s.runner().with_model([](ClusterModel& m, Time now) {
            NodeSelector selector;
            selector.filter = R"(Status === "Acquiring")";
            (void)m.manage(NodeAction::k_remove, selector, "", now);
        });
        state.ResumeTiming();
    }
    state.counters["setup_10k_nodes_s"] = Scale::get().setup_seconds;
    report(state, bytes);
}

BENCHMARK(BM_StatusWithNodes)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_Nodes)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_StatusWithoutNodes)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_NodesOfAnOperation)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_Create1000)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace cb::emulator

BENCHMARK_MAIN();
