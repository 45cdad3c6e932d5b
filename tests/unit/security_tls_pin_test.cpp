// CycleCloud's certificate as a fresh CycleCloud serves it (issue 12, item 8): the emulator's
// --tls self-signed, --tls-cn and --tls-expired over loopback HTTPS. The client refuses each
// with the exact message saying what to do, accepts a self-signed certificate for another
// name when its key is pinned (cyclecloud.tls_pin), refuses another key, and `cloudburst init`
// shows the certificate and pins it only when told to.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <vector>

#include "adapters/cyclecloud_rest.h"
#include "adapters/tls_probe.h"
#include "emulator/emulator_app.h"
#include "unit/emulator_fixtures.h"
#include "util/files.h"
#include "util/process.h"

namespace cb {
namespace {

using emulator::Emulator;
using emulator::EmulatorOptions;
using emulator::TlsCertOptions;
using emulator::TlsMode;
using emulator::testing::TempDir;

const std::string k_how_to =
    "https://learn.microsoft.com/azure/cyclecloud/how-to/ssl-configuration";
// A well-formed pin of no key the emulator has.
const std::string k_wrong_pin = "sha256//0123456789abcdefghijklmnopqrstuvwxyzABCDEFG=";

class TlsPin : public ::testing::Test {
  protected:
    void start(const TlsCertOptions& tls) {
        EmulatorOptions o;
        o.template_path = emulator::testing::source_path("templates/slurm-headless.txt");
        o.skus_path = emulator::testing::source_path("data/azure-skus.json");
        o.state_dir = m_dir.path();
        o.cluster = "burst1";
        o.tls = tls;
        auto started = Emulator::start(o);
        ASSERT_TRUE(started) << started.error().describe();
        m_emulator = std::move(*started);
    }

    CycleCloudOptions options() {
        CycleCloudOptions o;
        o.url = m_emulator->url();
        o.cluster = m_emulator->cluster();
        o.username = m_emulator->user();
        o.password = m_emulator->password();
        o.max_attempts = 2;
        o.sleep = [this](std::chrono::milliseconds d) { m_sleeps.push_back(d.count()); };
        return o;
    }

    // The refusal a client with `o` gets: permanent, not retried, without the password.
    std::string refusal(const CycleCloudOptions& o) {
        CycleCloudRest client(o);
        auto st = client.check_connection();
        EXPECT_FALSE(st);
        if (st) {
            return "";
        }
        EXPECT_EQ(st.error().kind, ErrorKind::k_permanent);
        EXPECT_EQ(st.error().message.find(o.password), std::string::npos);
        EXPECT_TRUE(m_sleeps.empty()) << "a TLS failure is not retried";
        return st.error().message;
    }

    std::string untrusted_message() const {
        return "CycleCloud's TLS certificate at " + m_emulator->url() +
               " is self-signed or signed by a CA this machine does not trust (a fresh "
               "CycleCloud serves a self-signed one): trust this server's key with `cloudburst "
               "init --tls-pin` (init shows its fingerprint and key), give its CA certificate in "
               "cyclecloud.ca_bundle, or install a CA-signed certificate in CycleCloud (" +
               k_how_to + ")";
    }

    TempDir m_dir;
    std::unique_ptr<Emulator> m_emulator;
    std::vector<long> m_sleeps;
};

TEST_F(TlsPin, ASelfSignedCertificateIsRefusedAsUntrusted) {
    start({TlsMode::k_self_signed, "other-host", false});
    EXPECT_EQ(m_emulator->ca_file(), "");
    EXPECT_EQ(refusal(options()), untrusted_message());
}

TEST_F(TlsPin, AnExpiredCertificateIsRefusedWithWhatToDo) {
    start({TlsMode::k_ca_signed, "", true});
    auto o = options();
    o.ca_bundle = m_emulator->ca_file();
    EXPECT_EQ(refusal(o), "CycleCloud's TLS certificate at " + m_emulator->url() +
                              " has expired (or is not valid yet): install a CA-signed "
                              "certificate in CycleCloud (" +
                              k_how_to +
                              "), or trust this server's key with `cloudburst init --tls-pin` "
                              "(init shows its fingerprint and key)");
}

TEST_F(TlsPin, ACertificateForAnotherNameIsRefusedWithWhatToDo) {
    start({TlsMode::k_ca_signed, "other-host", false});
    auto o = options();
    o.ca_bundle = m_emulator->ca_file();
    EXPECT_EQ(refusal(o), "CycleCloud's TLS certificate at " + m_emulator->url() +
                              " does not name '127.0.0.1': set cyclecloud.url to a name the "
                              "certificate holds, install a CA-signed certificate in CycleCloud "
                              "(" +
                              k_how_to +
                              ") for '127.0.0.1', or trust this server's key with `cloudburst "
                              "init --tls-pin` (init shows its fingerprint and key)");
}

TEST_F(TlsPin, ThePinnedKeyOfASelfSignedExpiredCertificateForAnotherNameIsTrusted) {
    start({TlsMode::k_self_signed, "other-host", true});
    auto o = options();
    o.tls_pin = m_emulator->tls_pin();
    CycleCloudRest client(o);
    auto st = client.check_connection();
    ASSERT_TRUE(st) << st.error().describe();
    auto arrays = client.node_arrays();
    ASSERT_TRUE(arrays) << arrays.error().describe();
    EXPECT_FALSE(arrays->empty());
    // One of several pins (a key being replaced) is enough.
    o.tls_pin = k_wrong_pin + ";" + m_emulator->tls_pin();
    EXPECT_TRUE(CycleCloudRest(o).check_connection());
}

TEST_F(TlsPin, AnotherKeyIsRefusedEvenWhenTheCertificateVerifies) {
    start({TlsMode::k_ca_signed, "", false});
    auto o = options();
    o.tls_pin = k_wrong_pin;
    EXPECT_EQ(refusal(o),
              "CycleCloud's TLS key at " + m_emulator->url() +
                  " is not the one in cyclecloud.tls_pin, so nothing was sent: its certificate "
                  "was replaced, or something between here and CycleCloud poses as it. If the "
                  "certificate was replaced, compare the new fingerprint `cloudburst init` shows "
                  "with the certificate on the CycleCloud host, then pin it with `cloudburst init "
                  "--tls-pin sha256//...`");
}

TEST_F(TlsPin, TheProbeReadsTheCertificateWithoutTrustingIt) {
    start({TlsMode::k_self_signed, "other-host", true});
    auto cert = probe_server_certificate(m_emulator->url(), std::chrono::seconds(5));
    ASSERT_TRUE(cert) << cert.error().describe();
    // The emulator computes its pin from its private key; the probe from the certificate.
    EXPECT_EQ(cert->key_pin, m_emulator->tls_pin());
    EXPECT_EQ(cert->subject, "O = cloudburst cyclecloud-emulator, CN = other-host");
    EXPECT_TRUE(cert->self_signed);
    EXPECT_TRUE(cert->expired);
    EXPECT_EQ(cert->sha256_fingerprint.size(), 32u * 3 - 1);
    const std::string shown = describe_certificate(*cert);
    EXPECT_NE(shown.find("  issuer   itself (self-signed)\n"), std::string::npos) << shown;
    EXPECT_NE(shown.find(" (EXPIRED)\n  SHA-256  " + cert->sha256_fingerprint + "\n  key pin  " +
                         cert->key_pin + "\n"),
              std::string::npos)
        << shown;

    auto http = probe_server_certificate("http://127.0.0.1:1", std::chrono::seconds(1));
    ASSERT_FALSE(http);
    EXPECT_EQ(http.error().message,
              "http://127.0.0.1:1 is not an https:// URL: it has no "
              "certificate");
}

TEST(TlsProblem, OpenSslVerifyResultsMapToTheOperatorsProblem) {
    EXPECT_EQ(tls_problem_of_verify_result(0), TlsProblem::k_name_mismatch);
    EXPECT_EQ(tls_problem_of_verify_result(10), TlsProblem::k_expired);    // CERT_HAS_EXPIRED
    EXPECT_EQ(tls_problem_of_verify_result(18), TlsProblem::k_untrusted);  // DEPTH_ZERO_SELF_SIGNED
    EXPECT_EQ(tls_problem_of_verify_result(20), TlsProblem::k_untrusted);  // ISSUER_LOCALLY
    EXPECT_EQ(tls_problem_of_verify_result(7), TlsProblem::k_other);       // CERT_SIGNATURE_FAILURE
}

// `cloudburst init` against a fresh CycleCloud's certificate, non-interactively and with
// --dry-run (nothing written): without a pin it shows the certificate and stops; a wrong
// --tls-pin is refused; the right one connects.
class InitTlsPin : public TlsPin {
  protected:
    CommandOutput init(const std::vector<std::string>& extra) {
        const std::string password_file = m_dir.path() + "/password";
        EXPECT_TRUE(write_file_atomic(password_file, m_emulator->password() + "\n", 0600));
        std::vector<std::string> argv{std::string(CB_BINARY_DIR) + "/cloudburst",
                                      "--config",
                                      m_dir.path() + "/cloudburst.toml",
                                      "init",
                                      "--non-interactive",
                                      "--dry-run",
                                      "--no-start",
                                      "--url",
                                      m_emulator->url(),
                                      "--cluster",
                                      "burst1",
                                      "--username",
                                      m_emulator->user(),
                                      "--password-file",
                                      password_file,
                                      "--slurm-conf",
                                      m_dir.path() + "/slurm.conf"};
        argv.insert(argv.end(), extra.begin(), extra.end());
        auto r = run_command({argv, minimal_environment(), {}, std::chrono::seconds(60)});
        EXPECT_TRUE(r) << r.error().describe();
        return r ? *r : CommandOutput{};
    }

    // The certificate as init prints it, from the probe (checked above).
    std::string shown_certificate() {
        auto cert = probe_server_certificate(m_emulator->url(), std::chrono::seconds(5));
        EXPECT_TRUE(cert);
        return "CycleCloud's TLS certificate at " + m_emulator->url() + ":\n" +
               (cert ? describe_certificate(*cert) : "");
    }
};

TEST_F(InitTlsPin, WithoutAPinInitShowsTheCertificateAndStops) {
    start({TlsMode::k_self_signed, "other-host", false});
    auto r = init({});
    EXPECT_EQ(r.exit_code, 4);
    EXPECT_EQ(r.out, shown_certificate());
    EXPECT_EQ(r.err, "cloudburst: error: " + untrusted_message() + " (this server's: --tls-pin " +
                         m_emulator->tls_pin() + ")\n");
}

TEST_F(InitTlsPin, AWrongPinIsRefused) {
    start({TlsMode::k_self_signed, "other-host", false});
    auto r = init({"--tls-pin", k_wrong_pin});
    EXPECT_EQ(r.exit_code, 4);
    EXPECT_EQ(r.out, shown_certificate());
    EXPECT_EQ(r.err, "cloudburst: error: the server at " + m_emulator->url() + " holds the key " +
                         m_emulator->tls_pin() + ", not the --tls-pin " + k_wrong_pin +
                         ": compare the certificate above with the one on the CycleCloud host; "
                         "pin its key only if they match\n");
    r = init({"--tls-pin", "AB:CD"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_EQ(r.err,
              "cloudburst: error: --tls-pin AB:CD: expected sha256// and 44 characters of base64, "
              "as init shows them for a certificate it cannot verify\n");
}

TEST_F(InitTlsPin, TheRightPinConnects) {
    start({TlsMode::k_self_signed, "other-host", false});
    auto r = init({"--tls-pin", m_emulator->tls_pin()});
    EXPECT_EQ(r.out.rfind("ok       CycleCloud: connected to cluster 'burst1' at " +
                              m_emulator->url() + " as '" + m_emulator->user() + "'\n",
                          0),
              0u)
        << r.out << r.err;
}

}  // namespace
}  // namespace cb
