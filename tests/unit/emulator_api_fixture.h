// An emulator API served over real loopback HTTP, with a hand-moved clock (no ticker
// thread: tests move time and call step()).
#pragma once

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <memory>
#include <string>

#include "emulator/api_service.h"
#include "emulator/clock.h"
#include "emulator/http_server.h"
#include "emulator/model_runner.h"
#include "unit/emulator_fixtures.h"

namespace cb::emulator::testing {

using Json = nlohmann::json;

struct Reply {
    int status = 0;
    Json body;
    std::string text;
    httplib::Headers headers;
};

class ApiFixture {
  public:
    explicit ApiFixture(const std::vector<std::string>& overrides = {}, ModelOptions model = {},
                        ApiOptions api = {},
                        Credentials credentials = Credentials::single("user", "secret")) {
        m_runner = std::make_unique<ModelRunner>(testing::model(overrides, std::move(model)),
                                                 backend, clock);
        m_api = std::make_unique<ApiService>(*m_runner, std::move(credentials), std::move(api));
        ServerOptions options;
        options.transport = Transport::k_http;
        ApiService* service = m_api.get();
        auto server = HttpServer::start(
            options, [service](const HttpRequest& r) { return service->handle(r); });
        EXPECT_TRUE(server) << server.error().describe();
        m_server = std::move(*server);
        m_api->set_base_url(m_server->url());
        client = std::make_unique<httplib::Client>(m_server->url());
        client->set_basic_auth("user", "secret");
        client->set_read_timeout(std::chrono::seconds(10));
    }
    ~ApiFixture() {
        m_api->release_waiters();
        m_server->stop();
    }

    static Reply reply_of(const httplib::Result& r) {
        Reply out;
        EXPECT_TRUE(r) << "no answer: " << httplib::to_string(r.error());
        if (!r) {
            return out;
        }
        out.status = r->status;
        out.text = r->body;
        out.headers = r->headers;
        out.body = Json::parse(r->body, nullptr, false);
        return out;
    }
    Reply get(const std::string& path) { return reply_of(client->Get(path.c_str())); }
    Reply post(const std::string& path, const Json& body) {
        return reply_of(client->Post(path.c_str(), body.dump(), "application/json"));
    }
    Reply post_text(const std::string& path, const std::string& body,
                    const char* type = "text/plain") {
        return reply_of(client->Post(path.c_str(), body, type));
    }

    // Moves the clock and lets the lifecycle catch up.
    void advance(std::chrono::milliseconds by) {
        clock.advance(by);
        m_runner->step();
    }
    void boot() {
        advance(std::chrono::seconds(1));
        advance(std::chrono::seconds(2));
    }
    ModelRunner& runner() { return *m_runner; }
    ApiService& api() { return *m_api; }
    std::string url() const { return m_server->url(); }

    ManualClock clock;
    RecordingBackend backend;
    std::unique_ptr<httplib::Client> client;

  private:
    std::unique_ptr<ModelRunner> m_runner;
    std::unique_ptr<ApiService> m_api;
    std::unique_ptr<HttpServer> m_server;
};

}  // namespace cb::emulator::testing
