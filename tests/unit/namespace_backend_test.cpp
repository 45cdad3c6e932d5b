// The namespaces backend's option checks (no root needed: invalid options never touch the
// system). The backend itself is tested against real Slurm in tests/system/.
#include "emulator/namespace_backend.h"

#include <gtest/gtest.h>
#include <unistd.h>

namespace cb::emulator {
namespace {

NamespaceBackendOptions valid_options() {
    NamespaceBackendOptions o;
    o.instance = "t1";
    o.subnet = "198.18.7.0/24";
    o.pool = "198.18.7.64/26";
    o.slurm_conf = "/etc/slurm/slurm.conf";
    o.state_dir = "/tmp/cb-ns-unit";
    return o;
}

std::string error_of(const NamespaceBackendOptions& o) {
    auto backend = make_namespace_backend(o);
    if (backend) {
        return "";
    }
    EXPECT_EQ(backend.error().kind, ErrorKind::k_config);
    return backend.error().message;
}

TEST(NamespaceBackendNames, ArePrefixedByInstance) {
    EXPECT_EQ(namespace_prefix("t1"), "cb-t1-");
    EXPECT_EQ(veth_prefix("t1"), "cbt1-");
    EXPECT_EQ(default_bridge("t1"), "cbt1br");
}

TEST(NamespaceBackendOptions, RejectsBadInstanceNames) {
    for (const char* bad : {"", "toolong7", "T1", "a-b", "a_b"}) {
        auto o = valid_options();
        o.instance = bad;
        EXPECT_EQ(error_of(o), "namespaces backend: invalid instance name '" + std::string(bad) +
                                   "': use 1-6 lower-case letters or digits");
    }
}

TEST(NamespaceBackendOptions, KeepsAddressesInsideTheEmulatorRange) {
    auto o = valid_options();
    o.subnet = "10.0.0.0/24";
    EXPECT_EQ(error_of(o),
              "namespaces backend: subnet 10.0.0.0/24 is outside 198.18.0.0/15, the only range "
              "emulated VMs may use");
    o.subnet = "198.18.0.0/15";
    EXPECT_EQ(error_of(o),
              "namespaces backend: subnet 198.18.0.0/15: the prefix length must be from 16 to 30");
    o = valid_options();
    o.pool = "198.18.8.0/26";
    EXPECT_EQ(error_of(o),
              "namespaces backend: pool 198.18.8.0/26 is not inside subnet 198.18.7.0/24");
    o.pool = "198.18.7.1/26";
    EXPECT_EQ(error_of(o),
              "namespaces backend: pool: invalid subnet '198.18.7.1/26': host bits are set; the "
              "network address is 198.18.7.0");
}

TEST(NamespaceBackendOptions, KeepsTheFabricSubnetApartFromTheVmsAndInsideTheRange) {
    auto o = valid_options();
    o.fabric_subnet = "198.19.0.0/16";
    EXPECT_EQ(error_of(o), ::geteuid() == 0 ? "" : error_of(valid_options()));
    o.fabric_subnet = "10.19.0.0/16";
    EXPECT_EQ(error_of(o),
              "namespaces backend: fabric subnet 10.19.0.0/16 is outside 198.18.0.0/15, the only "
              "range emulated VMs may use");
    o.fabric_subnet = "198.18.0.0/16";
    EXPECT_EQ(error_of(o),
              "namespaces backend: fabric subnet 198.18.0.0/16 overlaps subnet 198.18.7.0/24: the "
              "InfiniBand fabrics need addresses of their own");
    o.fabric_subnet = "198.18.7.128/25";
    EXPECT_EQ(error_of(o),
              "namespaces backend: fabric subnet 198.18.7.128/25 overlaps subnet 198.18.7.0/24: "
              "the InfiniBand fabrics need addresses of their own");
    o.fabric_subnet = "198.19.0.0/25";
    EXPECT_EQ(error_of(o),
              "namespaces backend: fabric subnet 198.19.0.0/25 is smaller than subnet "
              "198.18.7.0/24: a VM's fabric address has the host part of its address, so the "
              "fabric's prefix can be at most /24");
    o.fabric_subnet = "198.19.0.0";
    EXPECT_EQ(error_of(o),
              "namespaces backend: fabric subnet: invalid subnet '198.19.0.0': expected "
              "a.b.c.d/len");
}

TEST(NamespaceBackendOptions, RejectsRelativePathsAndLongBridgeNames) {
    auto o = valid_options();
    o.slurmd = "slurmd";
    EXPECT_EQ(error_of(o), "namespaces backend: the slurmd path must be absolute, got 'slurmd'");
    o = valid_options();
    o.slurm_conf = "slurm.conf";
    EXPECT_EQ(error_of(o),
              "namespaces backend: slurm_conf must be an absolute path, got 'slurm.conf'");
    o = valid_options();
    o.config_source = SlurmdConfigSource::k_server;
    o.conf_server = "";
    EXPECT_EQ(error_of(o), "namespaces backend: conf_server is empty (expected host[:port])");
    o = valid_options();
    o.state_dir = "";
    EXPECT_EQ(error_of(o), "namespaces backend: state_dir must be an absolute path, got ''");
    o = valid_options();
    o.bridge = "a-very-long-bridge";
    EXPECT_EQ(error_of(o),
              "namespaces backend: bridge name 'a-very-long-bridge' is longer than 15 characters");
}

TEST(NamespaceBackendOptions, ValidOptionsMakeABackendWithoutTouchingTheSystem) {
    if (::geteuid() != 0) {
        EXPECT_EQ(error_of(valid_options()),
                  "namespaces backend: needs root (it creates network namespaces and bridges)");
        return;
    }
    auto backend = make_namespace_backend(valid_options());
    ASSERT_TRUE(backend) << backend.error().describe();
    auto missing = (*backend)->start_software("n1", {});
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().kind, ErrorKind::k_not_found);
    EXPECT_EQ(missing.error().message, "namespaces backend: no VM named n1");
    auto bad_name = (*backend)->create_vm("-n1", {});
    ASSERT_FALSE(bad_name);
    EXPECT_EQ(bad_name.error().kind, ErrorKind::k_usage);
}

}  // namespace
}  // namespace cb::emulator
