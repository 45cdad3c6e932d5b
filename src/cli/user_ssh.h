// The SSH set-up `cloudburst users sync` gives each user: ~/.ssh (0700), an ed25519 key pair
// without passphrase and its public key in ~/.ssh/authorized_keys (0600), for passwordless
// SSH between the nodes that share the home.
//
// The command runs as root in directories the user owns, so everything there is the user's
// to plant: a symbolic link, a hard link, a FIFO. Directories and files are reached by
// descriptors, from the home down (openat, O_NOFOLLOW), and used only if they are what they
// must be: the home and ~/.ssh real directories owned by the user; id_ed25519.pub and
// authorized_keys regular files owned by the user with no other link. The public key must be
// one valid key line (core/ssh_public_key.h). authorized_keys is created with O_EXCL, owned
// by the user, 0600. What runs as the user anyway (mkdir, ssh-keygen) runs as the user
// (setpriv).
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include "cli/system_changes.h"
#include "core/users_file.h"
#include "util/result.h"

namespace cb::cli {

// Brings `user`'s SSH set-up in line (nothing to do when it is). An error (k_io) names the
// file, what is wrong with it and what to do, e.g. "/home/alice/.ssh/id_ed25519.pub is a
// symbolic link, which is not followed in a user's home: make it a regular file owned by
// alice holding the public key (as alice: ssh-keygen -y -f ... > ...), then rerun"; nothing
// is read through or written to the wrong file.
Status ensure_user_ssh(SystemChanges& changes, const ExistingUser& user);

// ensure_user_ssh for each user. A user whose set-up fails is reported on `problems`
// ("cloudburst: user NAME: MESSAGE\n") and the others go on. Returns the names of the users
// that failed.
std::vector<std::string> ensure_users_ssh(SystemChanges& changes,
                                          const std::vector<ExistingUser>& users,
                                          std::ostream& problems);

}  // namespace cb::cli
