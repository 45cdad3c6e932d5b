// TLS between cloudburst's CycleCloud client (CycleCloudRest, libcurl) and the emulator over
// HTTPS with its self-signed CA (ca.pem in the state directory): without the CA the client
// refuses with an error that says it is TLS and what to do; with it, the client works.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <vector>

#include "adapters/cyclecloud_rest.h"
#include "emulator/emulator_app.h"
#include "unit/emulator_fixtures.h"

namespace cb {
namespace {

using emulator::Emulator;
using emulator::EmulatorOptions;
using emulator::testing::TempDir;

class TlsClient : public ::testing::Test {
  protected:
    void SetUp() override {
        EmulatorOptions o;
        o.template_path = emulator::testing::source_path("templates/slurm-headless.txt");
        o.skus_path = emulator::testing::source_path("data/azure-skus.json");
        o.state_dir = m_dir.path();
        o.cluster = "burst1";
        auto started = Emulator::start(o);
        ASSERT_TRUE(started) << started.error().describe();
        m_emulator = std::move(*started);
        ASSERT_EQ(m_emulator->url().rfind("https://", 0), 0u);
        ASSERT_EQ(m_emulator->ca_file(), m_dir.path() + "/ca.pem");
    }

    CycleCloudOptions options(const std::string& ca_bundle) {
        CycleCloudOptions o;
        o.url = m_emulator->url();
        o.cluster = m_emulator->cluster();
        o.username = m_emulator->user();
        o.password = m_emulator->password();
        o.ca_bundle = ca_bundle;
        o.max_attempts = 2;
        o.sleep = [this](std::chrono::milliseconds d) { m_sleeps.push_back(d.count()); };
        return o;
    }

    // The error a client with these options gets from the emulator, checked to be a TLS one.
    void expect_tls_refusal(const CycleCloudOptions& o) {
        CycleCloudRest client(o);
        auto st = client.check_connection();
        ASSERT_FALSE(st);
        EXPECT_EQ(st.error().kind, ErrorKind::k_permanent);
        const std::string& message = st.error().message;
        EXPECT_EQ(message, "CycleCloud's TLS certificate at " + o.url +
                               " is self-signed or signed by a CA this machine does not trust (a "
                               "fresh CycleCloud serves a self-signed one): trust this server's "
                               "key with `cloudburst init --tls-pin` (init shows its fingerprint "
                               "and key), give its CA certificate in cyclecloud.ca_bundle, or "
                               "install a CA-signed certificate in CycleCloud "
                               "(https://learn.microsoft.com/azure/cyclecloud/how-to/"
                               "ssl-configuration)");
        EXPECT_EQ(message.find(o.password), std::string::npos);
        EXPECT_TRUE(m_sleeps.empty()) << "a TLS failure is not retried";
        auto nodes = client.nodes();
        ASSERT_FALSE(nodes);
        EXPECT_EQ(nodes.error().kind, ErrorKind::k_permanent);
    }

    TempDir m_dir;
    std::unique_ptr<Emulator> m_emulator;
    std::vector<long> m_sleeps;
};

TEST_F(TlsClient, WithoutTheEmulatorsCaTheClientRefusesWithATlsError) {
    expect_tls_refusal(options(""));  // the system's CA store does not know it
}

TEST_F(TlsClient, AnotherEmulatorsCaDoesNotVouchForThisOne) {
    TempDir other_dir;
    EmulatorOptions o;
    o.template_path = emulator::testing::source_path("templates/slurm-headless.txt");
    o.skus_path = emulator::testing::source_path("data/azure-skus.json");
    o.state_dir = other_dir.path();
    auto other = Emulator::start(o);
    ASSERT_TRUE(other) << other.error().describe();
    expect_tls_refusal(options((*other)->ca_file()));
}

TEST_F(TlsClient, WithTheEmulatorsCaTheClientWorks) {
    CycleCloudRest client(options(m_emulator->ca_file()));
    auto st = client.check_connection();
    ASSERT_TRUE(st) << st.error().describe();
    auto arrays = client.node_arrays();
    ASSERT_TRUE(arrays) << arrays.error().describe();
    EXPECT_FALSE(arrays->empty());
    CreateRequest request;
    request.nodearray = "htc";
    request.name = "htc-1";
    auto created = client.create_nodes({request}, "tls-test-1");
    ASSERT_TRUE(created) << created.error().describe();
    auto nodes = client.nodes();
    ASSERT_TRUE(nodes) << nodes.error().describe();
    ASSERT_EQ(nodes->size(), 1u);
    EXPECT_EQ(nodes->front().name, "htc-1");
    EXPECT_TRUE(m_sleeps.empty());
}

}  // namespace
}  // namespace cb
