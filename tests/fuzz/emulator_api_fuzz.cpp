// Feeds arbitrary requests to the emulator's API (no sockets): the first byte picks an
// endpoint, the rest is the body. Nothing may crash or throw, every answer must be JSON with
// a known status (503/429 when a fuzzed fault says so), and the model must stay consistent (status
// counts = nodes).
#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/sku_catalog.h"
#include "emulator/api_service.h"
#include "emulator/clock.h"
#include "emulator/cluster_template.h"
#include "emulator/model_runner.h"

namespace {

using namespace cb::emulator;

constexpr std::string_view k_template = R"(
[cluster f]
MaxCoreCount = 64
    [[nodearray a]]
    MachineType = S2, S4
    MaxCoreCount = 32
    Azure.MaxScalesetSize = 3
    [[nodearray b]]
    MachineType = S2
    MaxCount = 5
    Interruptible = true
    ShutdownPolicy = Deallocate
)";

struct Endpoint {
    const char* method;
    const char* path;
};
constexpr Endpoint k_endpoints[] = {
    {"POST", "/clusters/f/nodes/create"},
    {"POST", "/clusters/f/nodes/start"},
    {"POST", "/clusters/f/nodes/shutdown"},
    {"POST", "/clusters/f/nodes/terminate"},
    {"POST", "/clusters/f/nodes/deallocate"},
    {"POST", "/clusters/f/nodes/remove"},
    {"POST", "/_emulator/faults"},
    {"POST", "/clusters/f/scale/a"},
    {"POST", "/cloud/actions/retry/f"},
    {"GET", "/clusters/f/status"},
};

struct World {
    ManualClock clock;
    std::unique_ptr<cb::emulator::VmBackend> backend = make_none_backend();
    std::unique_ptr<ModelRunner> runner;
    std::unique_ptr<ApiService> api;
    int requests = 0;

    World() { reset(); }
    void reset() {
        api.reset();
        runner.reset();
        auto tmpl = ClusterTemplate::parse(k_template, "f.txt");
        auto def = resolve_cluster(*tmpl, {}, "");
        cb::SkuCatalog catalog({cb::Sku{"S2", "fam", 2, 1, 4, 0, false, "", 0.1},
                                cb::Sku{"S4", "fam", 4, 2, 8, 1, true, "", 0.2}});
        auto model = ClusterModel::create(std::move(*def), catalog, {});
        runner = std::make_unique<ModelRunner>(std::move(*model), *backend, clock);
        api = std::make_unique<ApiService>(*runner, Credentials::single("u", "p"), ApiOptions{});
        api->release_waiters();  // injected latency and hangs return at once
    }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static World world;
    if (size == 0) {
        return 0;
    }
    if (++world.requests % 500 == 0) {
        world.reset();  // keep the model small
    }
    const Endpoint& e = k_endpoints[data[0] % std::size(k_endpoints)];
    HttpRequest request;
    request.method = e.method;
    request.path = e.path;
    request.body.assign(reinterpret_cast<const char*>(data) + 1, size - 1);
    request.authorization = "Basic dTpw";  // u:p
    if (request.path.find("scale") != std::string::npos) {
        request.query = {{"totalNodeCount", request.body.substr(0, 4)}};
    }
    const HttpResponse r = world.api->handle(request);
    const bool known = r.status == 200 || r.status == 202 || r.status == 400 || r.status == 404 ||
                       r.status == 409 || r.status == 429 || r.status == 503;
    if (!known || nlohmann::json::parse(r.body, nullptr, false).is_discarded()) {
        __builtin_trap();
    }
    world.clock.advance(std::chrono::milliseconds(700));
    world.runner->step();
    world.runner->with_model([](ClusterModel& m, Time now) {
        std::int64_t active = 0;
        for (const auto& array : m.status(now).node_arrays) {
            for (const auto& bucket : array.buckets) {
                active += bucket.active_count;
            }
        }
        std::int64_t expected = 0;
        for (const auto& [name, node] : m.nodes()) {
            expected += node.active() ? 1 : 0;
        }
        if (active != expected) {
            __builtin_trap();
        }
    });
    return 0;
}
