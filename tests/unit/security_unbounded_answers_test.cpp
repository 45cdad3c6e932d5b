// The readers of CycleCloud's answers against answers built to hurt: nested 200,000 levels
// deep, larger than any cluster's, or asking us to wait for ever.
#include <gtest/gtest.h>
#include <httplib.h>
#include <malloc.h>
#include <unistd.h>

#include <sys/stat.h>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "adapters/cyclecloud_node_list.h"
#include "adapters/cyclecloud_options.h"
#include "adapters/cyclecloud_rest.h"
#include "core/config_loader.h"
#include "fakes/temp_dir.h"
#include "util/process.h"

namespace cb {
namespace {

using namespace std::chrono_literals;

// A loopback HTTP server whose handlers each test sets.
class AnswerServer {
  public:
    AnswerServer() {
        m_port = m_server.bind_to_any_port("127.0.0.1");
        m_thread = std::thread([this] { m_server.listen_after_bind(); });
    }
    ~AnswerServer() {
        m_server.stop();
        m_thread.join();
    }
    AnswerServer(const AnswerServer&) = delete;
    AnswerServer& operator=(const AnswerServer&) = delete;
    httplib::Server& server() { return m_server; }
    std::string url() const { return "http://127.0.0.1:" + std::to_string(m_port); }

  private:
    httplib::Server m_server;
    int m_port = 0;
    std::thread m_thread;
};

// Set by the test once the client has its answer; a handler that holds a response open waits
// for it (or for its deadline), so the server can stop.
class Done {
  public:
    void set() {
        {
            std::lock_guard lock(m_mutex);
            m_done = true;
        }
        m_cv.notify_all();
    }
    // Waits until set() or `timeout`; calls `poll` about every millisecond meanwhile.
    template <typename Poll>
    void wait(std::chrono::milliseconds timeout, Poll poll) {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        std::unique_lock lock(m_mutex);
        while (!m_done && std::chrono::steady_clock::now() < deadline) {
            poll();
            m_cv.wait_for(lock, 1ms);
        }
    }

  private:
    std::mutex m_mutex;
    std::condition_variable m_cv;
    bool m_done = false;
};

CycleCloudOptions options_for(const std::string& url, std::vector<long>* sleeps) {
    CycleCloudOptions o;
    o.url = url;
    o.cluster = "c";
    o.username = "admin";
    o.password = "s3cr3t-Pa55";
    o.max_attempts = 3;
    o.request_timeout = 5s;
    o.sleep = [sleeps](std::chrono::milliseconds d) { sleeps->push_back(d.count()); };
    return o;
}

constexpr int k_levels = 200000;

// A list nested `levels` deep: "[[[...]]]", 400 KB at 200,000 levels.
std::string nested(int levels) {
    return std::string(static_cast<std::size_t>(levels), '[') +
           std::string(static_cast<std::size_t>(levels), ']');
}

// The review's answer: over 2 MB, 200,000 levels of objects and lists.
std::string deep_object(int levels) {
    std::string text;
    text.reserve(static_cast<std::size_t>(levels) * 12);
    for (int i = 0; i < levels; ++i) {
        text += (i % 2 == 0) ? R"({"Configuration": )" : "[";
    }
    text += "1";
    for (int i = levels - 1; i >= 0; --i) {
        text += (i % 2 == 0) ? "}" : "]";
    }
    return text;
}

const std::string k_deep = deep_object(k_levels);

const std::string k_deep_status = R"({"nodearrays": [{"name": )" + k_deep +
                                  R"(, "nodearray": {"Configuration": )" + k_deep + "}}]}";
const std::string k_deep_nodes = R"({"nodes": [{"Name": )" + k_deep + "}]}";
const std::string k_deep_result =
    R"({"operationId": )" + k_deep + R"(, "sets": [], "nodes": [])" + "}";

std::string too_deep(const std::string& what) {
    return "malformed response from CycleCloud: " + what + " is nested deeper than 128 levels";
}

template <typename T>
void expect_too_deep(const Result<T>& r, const std::string& what) {
    ASSERT_FALSE(r) << what << " was accepted";
    EXPECT_EQ(r.error().kind, ErrorKind::k_transient);
    EXPECT_EQ(r.error().message, too_deep(what));
}

// Issue 11, finding 5: unbounded and over-deep answers
TEST(SecurityUnboundedAnswers, EveryReaderRefusesAnAnswerNested200000Levels) {
    ASSERT_GT(k_deep.size(), 2'000'000u);
    expect_too_deep(parse_cluster_status(k_deep_status), "cluster status");
    expect_too_deep(parse_node_list(k_deep_nodes), "node list");
    expect_too_deep(parse_node_list_general(k_deep_nodes), "node list");
    expect_too_deep(parse_node_list_streaming(k_deep_nodes), "node list");
    expect_too_deep(parse_create_result(k_deep_result, 1), "create result");
    expect_too_deep(parse_management_result(k_deep_result, "shutdown"), "shutdown result");
    // Deep where no reader looks, and deep from the first byte.
    const std::string hidden = R"({"nodes": [], "other": )" + nested(k_levels) + "}";
    expect_too_deep(parse_node_list_streaming(hidden), "node list");
    expect_too_deep(parse_node_list(hidden), "node list");
    expect_too_deep(parse_cluster_status(nested(k_levels)), "cluster status");
    expect_too_deep(parse_create_result(nested(k_levels), 1), "create result");
}

TEST(SecurityUnboundedAnswers, NestingUpToTheLimitIsRead) {
    // 128 levels in all: the top object, "nodes", the record, and 125 lists.
    const std::string at_limit = R"({"nodes": [{"Name": "hpc-1", "Other": )" + nested(125) + "}]}";
    auto nodes = parse_node_list_streaming(at_limit);
    ASSERT_TRUE(nodes) << nodes.error().message;
    EXPECT_EQ((*nodes)[0].name, "hpc-1");
    ASSERT_TRUE(parse_node_list(at_limit));
    const std::string over = R"({"nodes": [{"Name": "hpc-1", "Other": )" + nested(126) + "}]}";
    expect_too_deep(parse_node_list_streaming(over), "node list");
    expect_too_deep(parse_node_list(over), "node list");
}

TEST(SecurityUnboundedAnswers, EveryCallRefusesAnAnswerNested200000Levels) {
    AnswerServer fake;
    fake.server().Get("/clusters/c/status", [](const httplib::Request&, httplib::Response& res) {
        res.set_content(k_deep_status, "application/json");
    });
    fake.server().Get("/clusters/c/nodes", [](const httplib::Request&, httplib::Response& res) {
        res.set_content(k_deep_nodes, "application/json");
    });
    fake.server().Post(R"(/clusters/c/nodes/(\w+))",
                       [](const httplib::Request&, httplib::Response& res) {
                           res.set_content(k_deep_result, "application/json");
                       });
    std::vector<long> sleeps;
    CycleCloudRest cloud(options_for(fake.url(), &sleeps));
    expect_too_deep(cloud.node_arrays(), "cluster status");
    expect_too_deep(cloud.nodes(), "node list");
    expect_too_deep(cloud.operation_nodes("op-1"), "node list");
    expect_too_deep(cloud.create_nodes({{"hpc", "Standard_F2s_v2", "hpc-1", ""}}, "r-1"),
                    "create result");
    expect_too_deep(cloud.start_nodes({"hpc-1"}), "start result");
    expect_too_deep(cloud.shutdown_nodes({"hpc-1"}, ShutdownMode::k_deallocate),
                    "deallocate result");
    const auto connection = cloud.check_connection();
    ASSERT_FALSE(connection);
    EXPECT_EQ(connection.error().message, too_deep("cluster status"));
}

TEST(SecurityUnboundedAnswers, ScaleAgainstAnAnswerNested200000LevelsSaysSoAndDoesNotCrash) {
    if (::geteuid() != 0) {
        GTEST_SKIP() << "needs root: cloudburst takes only a root-owned config when run as root, "
                        "and its password inline only from a 0600 file";
    }
    AnswerServer fake;
    fake.server().Get("/clusters/c/status", [](const httplib::Request&, httplib::Response& res) {
        res.set_content(k_deep_status, "application/json");
    });
    testing_fakes::TempDir dir("cb-unbounded");
    const std::string config = dir.path() + "/cloudburst.toml";
    std::ofstream(config) << "[cyclecloud]\nurl = \"" << fake.url()
                          << "\"\ncluster = \"c\"\nusername = \"admin\"\n"
                             "password = \"s3cr3t-Pa55\"\nrequest_timeout = \"5s\"\n";
    ASSERT_EQ(::chmod(config.c_str(), 0600), 0);
    const std::string out = dir.path() + "/cloudburst.conf";
    auto run = run_command({{std::string(CB_BINARY_DIR) + "/cloudburst", "--config", config,
                             "scale", "--dry-run", "-o", out},
                            {},
                            {}});
    ASSERT_TRUE(run) << run.error().describe();
    EXPECT_EQ(run->exit_code, 4) << "killed by a signal, or another error: " << run->err;
    EXPECT_EQ(run->err, "cloudburst: error: reading node arrays of cluster 'c': " +
                            too_deep("cluster status") + "\n");
}

// How many bytes malloc has mapped on their own (every block of 32 MiB or more).
std::size_t mapped_bytes() {
    return ::mallinfo2().hblkhd;
}

TEST(SecurityUnboundedAnswers, AContentLengthOverTheCapIsRefusedBeforeTheBody) {
    AnswerServer fake;
    Done done;
    constexpr std::size_t k_announced = std::size_t{1} << 40;
    fake.server().Get("/clusters/c/nodes", [&](const httplib::Request&, httplib::Response& res) {
        res.set_content_provider(k_announced, "application/json",
                                 [&](std::size_t, std::size_t, httplib::DataSink& sink) {
                                     sink.write("{\"nodes\": [", 11);
                                     done.wait(10s, [] {});
                                     return false;
                                 });
    });
    std::vector<long> sleeps;
    CycleCloudRest cloud(options_for(fake.url(), &sleeps));
    auto nodes = cloud.nodes();
    done.set();
    ASSERT_FALSE(nodes);
    EXPECT_EQ(nodes.error().kind, ErrorKind::k_transient);
    EXPECT_EQ(nodes.error().message,
              "the answer to GET /clusters/c/nodes is 1099511627776 bytes, more than the "
              "134217728 that cyclecloud.max_response_mb allows: raise it if CycleCloud's "
              "answers are really this large");
    EXPECT_EQ(cloud.stats().requests, 1) << "a retry would get as large an answer";
    EXPECT_TRUE(sleeps.empty());
}

// The most malloc has mapped at any time between its start and stop(), sampled every
// millisecond on a thread of its own.
class MappedPeak {
  public:
    MappedPeak() : m_before(mapped_bytes()), m_most(m_before) {
        m_thread = std::thread([this] {
            m_stop.wait(60s, [this] { m_most = std::max(m_most.load(), mapped_bytes()); });
        });
    }
    ~MappedPeak() { stop(); }
    MappedPeak(const MappedPeak&) = delete;
    MappedPeak& operator=(const MappedPeak&) = delete;
    // How much more was mapped at the peak than at the start.
    std::size_t stop() {
        m_stop.set();
        if (m_thread.joinable()) {
            m_thread.join();
        }
        return m_most - m_before;
    }

  private:
    std::size_t m_before;
    std::atomic<std::size_t> m_most;
    Done m_stop;
    std::thread m_thread;
};

TEST(SecurityUnboundedAnswers, AContentLengthOverTheCapReservesNothing) {
#if defined(__SANITIZE_ADDRESS__)
    GTEST_SKIP() << "AddressSanitizer's allocator does not report to mallinfo2";
#endif
    // 200 MiB announced, 1 MiB allowed: the client must not make room for 200 MiB, not even
    // while it would wait for a body that never comes.
    AnswerServer fake;
    Done done;
    constexpr std::size_t k_announced = std::size_t{200} << 20;
    fake.server().Get("/clusters/c/nodes", [&](const httplib::Request&, httplib::Response& res) {
        res.set_content_provider(k_announced, "application/json",
                                 [&](std::size_t, std::size_t, httplib::DataSink& sink) {
                                     sink.write("{\"nodes\": [", 11);
                                     done.wait(2s, [] {});
                                     return false;
                                 });
    });
    std::vector<long> sleeps;
    auto o = options_for(fake.url(), &sleeps);
    o.max_response_bytes = std::size_t{1} << 20;
    o.request_timeout = 1s;
    o.max_attempts = 1;
    CycleCloudRest cloud(o);
    MappedPeak peak;
    auto nodes = cloud.nodes();
    const std::size_t grown = peak.stop();
    done.set();
    ASSERT_FALSE(nodes);
    EXPECT_EQ(nodes.error().message,
              "the answer to GET /clusters/c/nodes is 209715200 bytes, more than the 1048576 "
              "that cyclecloud.max_response_mb allows: raise it if CycleCloud's answers are "
              "really this large");
    EXPECT_LT(grown, std::size_t{64} << 20) << "the client made room for the announced body";
}

TEST(SecurityUnboundedAnswers, ABodyWithoutContentLengthIsCutOffAtTheCap) {
    AnswerServer fake;
    std::size_t sent = 0;
    fake.server().Get("/clusters/c/nodes", [&](const httplib::Request&, httplib::Response& res) {
        res.set_chunked_content_provider(
            "application/json", [&](std::size_t offset, httplib::DataSink& sink) {
                if (offset == 0) {
                    sink.write("{\"nodes\": [", 11);
                }
                const std::string spaces(64 << 10, ' ');
                // Endless, but for a client that never stops
                // the test must end: 64 MiB at most.
                if (sent > (std::size_t{64} << 20) || !sink.write(spaces.data(), spaces.size())) {
                    sink.done();
                    return true;
                }
                sent += spaces.size();
                return true;
            });
    });
    std::vector<long> sleeps;
    auto o = options_for(fake.url(), &sleeps);
    o.max_response_bytes = std::size_t{1} << 20;
    CycleCloudRest cloud(o);
    auto nodes = cloud.nodes();
    ASSERT_FALSE(nodes);
    EXPECT_EQ(nodes.error().kind, ErrorKind::k_transient);
    EXPECT_EQ(nodes.error().message,
              "the answer to GET /clusters/c/nodes is more than the 1048576 bytes that "
              "cyclecloud.max_response_mb allows: raise it if CycleCloud's answers are really "
              "this large");
    EXPECT_EQ(cloud.stats().requests, 1);
}

TEST(SecurityUnboundedAnswers, TheCapIsCyclecloudMaxResponseMb) {
    const std::string base =
        "[cyclecloud]\nurl = \"https://cc.example.com\"\ncluster = \"c\"\n"
        "username = \"u\"\npassword = \"p\"\n";
    auto defaults = parse_config(base, "cloudburst.toml");
    ASSERT_TRUE(defaults) << defaults.error().describe();
    EXPECT_EQ(cyclecloud_options(*defaults).max_response_bytes, std::size_t{128} << 20);
    auto set = parse_config(base + "max_response_mb = 300\n", "cloudburst.toml");
    ASSERT_TRUE(set) << set.error().describe();
    EXPECT_EQ(cyclecloud_options(*set).max_response_bytes, std::size_t{300} << 20);
    auto zero = parse_config(base + "max_response_mb = 0\n", "cloudburst.toml");
    EXPECT_FALSE(zero);
}

TEST(SecurityUnboundedAnswers, ARetryAfterOfLongMaxIsClamped) {
    AnswerServer fake;
    fake.server().Get("/clusters/c/nodes", [](const httplib::Request&, httplib::Response& res) {
        res.status = 429;
        res.set_header("Retry-After", "9223372036854775807");
    });
    std::vector<long> sleeps;
    CycleCloudRest cloud(options_for(fake.url(), &sleeps));
    auto nodes = cloud.nodes();
    ASSERT_FALSE(nodes);
    EXPECT_EQ(nodes.error().kind, ErrorKind::k_throttled);
    EXPECT_EQ(nodes.error().message,
              "CycleCloud throttled GET /clusters/c/nodes (HTTP 429, Retry-After 3600 s)");
    // Then at most cyclecloud's retry_after_max (60 s) per wait.
    EXPECT_EQ(sleeps, (std::vector<long>{60000, 60000}));
}

TEST(SecurityUnboundedAnswers, RetryAfterIsParsedWithoutOverflow) {
    // Sun, 06 Nov 1994 08:49:37 GMT
    const auto date = std::chrono::system_clock::time_point(784111777s);
    const auto parse = [&](std::string_view text) { return parse_retry_after(text, date); };
    EXPECT_EQ(parse("0"), 0s);
    EXPECT_EQ(parse("120"), 120s);
    EXPECT_EQ(parse("3600"), 3600s);
    EXPECT_EQ(parse("3601"), 3600s);
    EXPECT_EQ(parse("9223372036854775807"), 3600s);
    EXPECT_EQ(parse("9223372036854775808"), 3600s);
    EXPECT_EQ(parse("99999999999999999999999999999999"), 3600s);
    EXPECT_EQ(parse("-5"), std::nullopt);
    EXPECT_EQ(parse("-9223372036854775808"), std::nullopt);
    EXPECT_EQ(parse(""), std::nullopt);
    EXPECT_EQ(parse("12abc"), std::nullopt);
    EXPECT_EQ(parse("1.5"), std::nullopt);
    EXPECT_EQ(parse("soon"), std::nullopt);
    EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:51:07 GMT", date), 90s);
    EXPECT_EQ(parse_retry_after("Sunday, 06-Nov-94 08:49:37 GMT", date), 0s);
    EXPECT_EQ(parse_retry_after("Sun Nov  6 08:49:37 1994", date), 0s);
    EXPECT_EQ(parse_retry_after("Sat, 05 Nov 1994 08:49:37 GMT", date), 0s) << "in the past";
    EXPECT_EQ(parse_retry_after("Fri, 31 Dec 9999 23:59:59 GMT", date), 3600s);
}

}  // namespace
}  // namespace cb
