// Issue 11, finding 8: users sync discloses root-only files. `cloudburst users sync` runs as
// root in homes its users own. It read ~/.ssh/id_ed25519.pub following symbolic links and
// appended what it found to the user's authorized_keys: a user who linked it to
// /etc/munge/munge.key got the key. These tests plant each link, hard link and FIFO of the
// review in a real home owned by an unprivileged account (nobody) and run the sync step as
// root, as the command does.
#include <gtest/gtest.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sstream>

#include "cli/system_changes.h"
#include "cli/user_ssh.h"
#include "fakes/temp_dir.h"
#include "util/files.h"

namespace cb::cli {
namespace {

using testing_fakes::TempDir;

const std::string k_public_key =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIM/SLE7ElWmKd3MIKmNVq2akp5/JWvBukgqnck49MY4m "
    "nobody@cloudburst\n";
// Stands in for /etc/munge/munge.key: a root-only file.
const std::string k_secret = "SECRET-MUNGE-KEY-0123456789abcdef\n";

struct FileState {
    std::string content;
    mode_t mode = 0;
    uid_t owner = 0;
    nlink_t links = 0;
    bool operator==(const FileState&) const = default;
};

FileState state_of(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
        return {};
    }
    auto text = read_file(path);
    return {text ? *text : "(unreadable)", st.st_mode, st.st_uid, st.st_nlink};
}

bool exists(const std::string& path) {
    struct stat st {};
    return ::lstat(path.c_str(), &st) == 0;
}

class SecurityUsersSync : public ::testing::Test {
  protected:
    void SetUp() override {
        if (::geteuid() != 0) {
            GTEST_SKIP() << "needs root: users sync runs as root in homes of other users";
        }
        const passwd* pw = ::getpwnam("nobody");
        if (pw == nullptr) {
            GTEST_SKIP() << "needs the nobody account to own the home";
        }
        m_user = ExistingUser{"nobody", pw->pw_uid, pw->pw_gid, m_dir.path() + "/home"};
        m_ssh = m_user.home + "/.ssh";
        m_secret = m_dir.path() + "/munge.key";
        ASSERT_TRUE(write_file_atomic(m_secret, k_secret, 0400));
        m_secret_before = state_of(m_secret);
        make_home(m_user.home);
    }

    // A home with ~/.ssh and a private key, as a user who ran ssh-keygen once has.
    void make_home(const std::string& home) {
        ASSERT_EQ(::mkdir(home.c_str(), 0755), 0);
        ASSERT_EQ(::chown(home.c_str(), m_user.uid, m_user.gid), 0);
        ASSERT_EQ(::mkdir((home + "/.ssh").c_str(), 0700), 0);
        ASSERT_EQ(::chown((home + "/.ssh").c_str(), m_user.uid, m_user.gid), 0);
        write_as_user(home + "/.ssh/id_ed25519", "(a private key)\n");
    }

    void write_as_user(const std::string& path, const std::string& content) {
        ASSERT_TRUE(write_file_atomic(path, content, 0600));
        ASSERT_EQ(::chown(path.c_str(), m_user.uid, m_user.gid), 0);
    }

    Status sync() { return sync(m_user); }
    Status sync(const ExistingUser& user) {
        auto changes = make_system_changes(ChangeMode::k_apply, m_out);
        return ensure_user_ssh(*changes, user);
    }

    std::string public_key_remedy() const {
        const std::string key = m_ssh + "/id_ed25519";
        return ": make it a regular file owned by nobody that holds the public key of " + key +
               " (as nobody: ssh-keygen -y -f " + key + " > " + key + ".pub), then rerun";
    }
    std::string authorized_keys_remedy() const {
        return ": make it a regular file owned by nobody (mode 0600) with no other link, or "
               "remove it so that users sync creates it, then rerun";
    }

    // Nothing of the secret went anywhere, and the secret itself is as it was.
    void expect_nothing_disclosed() {
        EXPECT_EQ(state_of(m_secret), m_secret_before);
        auto authorized = read_file(m_ssh + "/authorized_keys");
        if (authorized) {
            EXPECT_EQ(authorized->find("SECRET"), std::string::npos) << *authorized;
        }
        EXPECT_EQ(m_out.str().find("SECRET"), std::string::npos) << m_out.str();
    }

    TempDir m_dir{"cb-users-sync"};
    ExistingUser m_user;
    std::string m_ssh;
    std::string m_secret;
    FileState m_secret_before;
    std::ostringstream m_out;
};

// Issue 11, finding 8: users sync discloses root-only files
TEST_F(SecurityUsersSync, APublicKeyLinkedToARootOnlyFileIsNotFollowed) {
    ASSERT_EQ(::symlink(m_secret.c_str(), (m_ssh + "/id_ed25519.pub").c_str()), 0);
    auto s = sync();
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error().message, m_ssh +
                                     "/id_ed25519.pub is a symbolic link, which is not followed "
                                     "in a user's home" +
                                     public_key_remedy());
    EXPECT_FALSE(exists(m_ssh + "/authorized_keys"));
    expect_nothing_disclosed();
}

// Issue 11, finding 8: users sync discloses root-only files
TEST_F(SecurityUsersSync, APublicKeyHardLinkedToARootOnlyFileIsNotRead) {
    // fs.protected_hardlinks keeps a user from making this link; a file system without it
    // (or a link made before) must not be read either.
    ASSERT_EQ(::link(m_secret.c_str(), (m_ssh + "/id_ed25519.pub").c_str()), 0);
    m_secret_before = state_of(m_secret);
    auto s = sync();
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error().message,
              m_ssh + "/id_ed25519.pub has 2 hard links, so it is also a file elsewhere" +
                  public_key_remedy());
    EXPECT_FALSE(exists(m_ssh + "/authorized_keys"));
    expect_nothing_disclosed();
}

// Issue 11, finding 8: users sync discloses root-only files
TEST_F(SecurityUsersSync, APublicKeyOwnedBySomeoneElseIsNotRead) {
    write_as_user(m_ssh + "/id_ed25519.pub", k_public_key);
    ASSERT_EQ(::chown((m_ssh + "/id_ed25519.pub").c_str(), 0, 0), 0);
    auto s = sync();
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error().message,
              m_ssh + "/id_ed25519.pub is owned by root, not by nobody" + public_key_remedy());
    EXPECT_FALSE(exists(m_ssh + "/authorized_keys"));
}

// Issue 11, finding 8: users sync discloses root-only files
TEST_F(SecurityUsersSync, AFifoAsThePublicKeyDoesNotBlockTheSync) {
    ASSERT_EQ(::mkfifo((m_ssh + "/id_ed25519.pub").c_str(), 0600), 0);
    ASSERT_EQ(::chown((m_ssh + "/id_ed25519.pub").c_str(), m_user.uid, m_user.gid), 0);
    auto s = sync();
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error().message,
              m_ssh + "/id_ed25519.pub is a FIFO, not a regular file" + public_key_remedy());
    EXPECT_FALSE(exists(m_ssh + "/authorized_keys"));
}

// Issue 11, finding 8: users sync discloses root-only files
TEST_F(SecurityUsersSync, APublicKeyThatIsNotOneKeyLineIsNotAuthorized) {
    // Options before the key would reach authorized_keys as they are.
    write_as_user(m_ssh + "/id_ed25519.pub", "command=\"/bin/sh\" " + k_public_key);
    auto s = sync();
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error().message,
              m_ssh +
                  "/id_ed25519.pub does not start with a known key type (ssh-ed25519, ssh-rsa, "
                  "ecdsa-sha2-nistp256, ecdsa-sha2-nistp384, ecdsa-sha2-nistp521, "
                  "sk-ssh-ed25519@openssh.com, sk-ecdsa-sha2-nistp256@openssh.com)" +
                  public_key_remedy());
    EXPECT_FALSE(exists(m_ssh + "/authorized_keys"));
}

// Issue 11, finding 8: users sync discloses root-only files
TEST_F(SecurityUsersSync, AnAuthorizedKeysLinkedToARootFileIsNotWrittenThrough) {
    write_as_user(m_ssh + "/id_ed25519.pub", k_public_key);
    const std::string target = m_dir.path() + "/root_authorized_keys";
    ASSERT_TRUE(write_file_atomic(target, "# root's own\n", 0600));
    const FileState before = state_of(target);
    ASSERT_EQ(::symlink(target.c_str(), (m_ssh + "/authorized_keys").c_str()), 0);
    auto s = sync();
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error().message, m_ssh +
                                     "/authorized_keys is a symbolic link, which is not followed "
                                     "in a user's home" +
                                     authorized_keys_remedy());
    EXPECT_EQ(state_of(target), before);
}

// Issue 11, finding 8: users sync discloses root-only files
TEST_F(SecurityUsersSync, AnAuthorizedKeysHardLinkedToARootFileIsNotWritten) {
    write_as_user(m_ssh + "/id_ed25519.pub", k_public_key);
    const std::string target = m_dir.path() + "/root_authorized_keys";
    ASSERT_TRUE(write_file_atomic(target, "# root's own\n", 0600));
    ASSERT_EQ(::link(target.c_str(), (m_ssh + "/authorized_keys").c_str()), 0);
    const FileState before = state_of(target);
    auto s = sync();
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error().message,
              m_ssh + "/authorized_keys has 2 hard links, so it is also a file elsewhere" +
                  authorized_keys_remedy());
    EXPECT_EQ(state_of(target), before);
}

// Issue 11, finding 8: users sync discloses root-only files
TEST_F(SecurityUsersSync, AnSshDirectoryLinkedToRootsIsNotEntered) {
    // ~/.ssh -> a root-only directory with root's key pair and authorized_keys.
    const std::string root_ssh = m_dir.path() + "/root_ssh";
    ASSERT_EQ(::mkdir(root_ssh.c_str(), 0700), 0);
    ASSERT_TRUE(write_file_atomic(root_ssh + "/id_ed25519", k_secret, 0600));
    ASSERT_TRUE(write_file_atomic(root_ssh + "/id_ed25519.pub", k_public_key, 0644));
    ASSERT_TRUE(write_file_atomic(root_ssh + "/authorized_keys", "# root's own\n", 0600));
    const FileState before = state_of(root_ssh + "/authorized_keys");
    std::filesystem::remove_all(m_ssh);
    ASSERT_EQ(::symlink(root_ssh.c_str(), m_ssh.c_str()), 0);
    auto s = sync();
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error().message,
              m_ssh +
                  " is a symbolic link, which is not followed in a user's home: make it a "
                  "directory owned by nobody (mode 0700), or remove it so that users sync "
                  "creates it, then rerun");
    EXPECT_EQ(state_of(root_ssh + "/authorized_keys"), before);
    EXPECT_EQ(m_out.str(), "");  // not even ssh-keygen ran
}

// Issue 11, finding 8: users sync discloses root-only files
TEST_F(SecurityUsersSync, OneUserWithAPlantedLinkDoesNotStopTheOthers) {
    ASSERT_EQ(::symlink(m_secret.c_str(), (m_ssh + "/id_ed25519.pub").c_str()), 0);
    ExistingUser good = m_user;
    good.home = m_dir.path() + "/good";
    make_home(good.home);
    write_as_user(good.home + "/.ssh/id_ed25519.pub", k_public_key);

    std::ostringstream problems;
    auto changes = make_system_changes(ChangeMode::k_apply, m_out);
    const auto failed = ensure_users_ssh(*changes, {m_user, good}, problems);
    EXPECT_EQ(failed, std::vector<std::string>{"nobody"});
    EXPECT_EQ(problems.str(), "cloudburst: user nobody: " + m_ssh +
                                  "/id_ed25519.pub is a symbolic link, which is not followed in "
                                  "a user's home" +
                                  public_key_remedy() + "\n");
    expect_nothing_disclosed();
    // The other user's authorized_keys is created: the key alone, the user's, 0600.
    const FileState authorized = state_of(good.home + "/.ssh/authorized_keys");
    EXPECT_EQ(authorized.content, k_public_key);
    EXPECT_EQ(authorized.mode, S_IFREG | 0600);
    EXPECT_EQ(authorized.owner, m_user.uid);
    EXPECT_EQ(authorized.links, 1u);
    EXPECT_EQ(m_out.str(),
              "changed: authorize nobody's key in " + good.home + "/.ssh/authorized_keys\n");
}

// Issue 11, finding 8: users sync discloses root-only files. The ordinary path still works:
// ~/.ssh and the key pair made as the user, the key authorized once.
TEST_F(SecurityUsersSync, AFreshHomeGetsItsKeyAuthorizedOnce) {
    if (::access("/usr/bin/setpriv", X_OK) != 0 || ::access("/usr/bin/ssh-keygen", X_OK) != 0) {
        GTEST_SKIP() << "needs /usr/bin/setpriv and /usr/bin/ssh-keygen";
    }
    ASSERT_EQ(::chmod(m_dir.path().c_str(), 0755), 0);  // the user walks to its home
    std::filesystem::remove_all(m_ssh);
    ASSERT_TRUE(sync()) << m_out.str();
    struct stat st {};
    ASSERT_EQ(::lstat(m_ssh.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode, S_IFDIR | 0700);
    EXPECT_EQ(st.st_uid, m_user.uid);
    auto pub = read_file(m_ssh + "/id_ed25519.pub");
    ASSERT_TRUE(pub);
    const FileState authorized = state_of(m_ssh + "/authorized_keys");
    EXPECT_EQ(authorized.content, *pub);
    EXPECT_EQ(authorized.mode, S_IFREG | 0600);
    EXPECT_EQ(authorized.owner, m_user.uid);

    m_out.str("");
    auto changes = make_system_changes(ChangeMode::k_apply, m_out);
    ASSERT_TRUE(ensure_user_ssh(*changes, m_user));
    EXPECT_EQ(changes->count(), 0) << m_out.str();
}

}  // namespace
}  // namespace cb::cli
