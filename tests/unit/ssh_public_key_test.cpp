#include "core/ssh_public_key.h"

#include <gtest/gtest.h>

namespace cb {
namespace {

const std::string k_ed25519_body =
    "AAAAC3NzaC1lZDI1NTE5AAAAIM/SLE7ElWmKd3MIKmNVq2akp5/JWvBukgqnck49MY4m";
const std::string k_rsa_body =
    "AAAAB3NzaC1yc2EAAAADAQABAAAAgQDO/MxWnWbMoGCcVPuJ9QKPCBX4NyOJJDeT13h1aIufvjlTmCgGrwHzvBZQp93p"
    "IleFXFaxrx1+WmAFw2QttcC4uOjj6V8tdOtT6MHUtZiXVaqPXu1irnOUQZ1+zhDJ89I+mf5V7ejxZWxdV9eCjGAhLJXG"
    "sfh+Mb+Y7JpEymAeQw==";

std::string error_of(std::string_view text) {
    auto key = parse_ssh_public_key(text);
    EXPECT_FALSE(key) << text;
    return key ? "" : key.error().message;
}

TEST(SshPublicKey, AcceptsWhatSshKeygenWrites) {
    auto key = parse_ssh_public_key("ssh-ed25519 " + k_ed25519_body + " alice@host\n");
    ASSERT_TRUE(key) << key.error().message;
    EXPECT_EQ(key->type, "ssh-ed25519");
    EXPECT_EQ(key->body, k_ed25519_body);
    EXPECT_EQ(key->comment, "alice@host");
    EXPECT_EQ(key->line(), "ssh-ed25519 " + k_ed25519_body + " alice@host\n");

    auto rsa = parse_ssh_public_key("ssh-rsa " + k_rsa_body + " \n");
    ASSERT_TRUE(rsa) << rsa.error().message;
    EXPECT_EQ(rsa->comment, "");
    EXPECT_EQ(rsa->line(), "ssh-rsa " + k_rsa_body + "\n");

    auto spaced = parse_ssh_public_key("ssh-ed25519 " + k_ed25519_body + " Alice Example");
    ASSERT_TRUE(spaced);
    EXPECT_EQ(spaced->comment, "Alice Example");
}

TEST(SshPublicKey, RefusesAnythingButOneKeyLine) {
    const std::string key = "ssh-ed25519 " + k_ed25519_body;
    EXPECT_EQ(error_of(""), "is empty");
    EXPECT_EQ(error_of("\n"), "is empty");
    EXPECT_EQ(error_of(key + "\n" + key + "\n"), "holds more than one line");
    EXPECT_EQ(error_of(key + " a\rb"), "holds a control character");
    EXPECT_EQ(error_of(key + "\t"), "holds a control character");
    const std::string types =
        "does not start with a known key type (ssh-ed25519, ssh-rsa, ecdsa-sha2-nistp256, "
        "ecdsa-sha2-nistp384, ecdsa-sha2-nistp521, sk-ssh-ed25519@openssh.com, "
        "sk-ecdsa-sha2-nistp256@openssh.com)";
    // Options would give the key holder a forced command, agent forwarding, ...
    EXPECT_EQ(error_of("command=\"/bin/sh\" " + key), types);
    EXPECT_EQ(error_of("-----BEGIN OPENSSH PRIVATE KEY-----\n"), types);
    EXPECT_EQ(error_of("SECRET-MUNGE-KEY"), types);
    EXPECT_EQ(error_of("ssh-ed25519"), "has no key after the key type");
    EXPECT_EQ(error_of("ssh-ed25519 "), "has no key after the key type");
    EXPECT_EQ(error_of("ssh-ed25519 not*base64"), "has a key that is not base64");
    EXPECT_EQ(error_of("ssh-ed25519 AAAAC3N"), "has a key that is not base64");
    EXPECT_EQ(error_of("ssh-ed25519 " + k_rsa_body), "has a key that is not a ssh-ed25519 key");
    EXPECT_EQ(error_of("ssh-rsa " + k_ed25519_body), "has a key that is not a ssh-rsa key");
    EXPECT_EQ(error_of("ssh-ed25519 " + std::string(20000, 'A')),
              "holds a line longer than 16384 bytes");
}

TEST(SshPublicKey, FindsTheKeyInAnyFormOfAnAuthorizedKeysLine) {
    auto key = parse_ssh_public_key("ssh-ed25519 " + k_ed25519_body + " alice@host");
    ASSERT_TRUE(key);
    EXPECT_TRUE(authorizes("ssh-ed25519 " + k_ed25519_body + " alice@host\n", *key));
    EXPECT_TRUE(
        authorizes("# mine\nssh-rsa " + k_rsa_body + "\nssh-ed25519 " + k_ed25519_body, *key));
    EXPECT_TRUE(authorizes("from=\"10.0.0.0/8\" ssh-ed25519 " + k_ed25519_body + " other\n", *key));
    EXPECT_FALSE(authorizes("", *key));
    EXPECT_FALSE(authorizes("ssh-rsa " + k_ed25519_body + "\n", *key));
    EXPECT_FALSE(authorizes("# ssh-ed25519" + k_ed25519_body + "\n", *key));
}

}  // namespace
}  // namespace cb
