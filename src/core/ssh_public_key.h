// One OpenSSH public key line ("ssh-ed25519 AAAAC3Nz... alice@host"), as `cloudburst users
// sync` reads it from a user's ~/.ssh/id_ed25519.pub before it goes into that user's
// authorized_keys. The file is the user's own, so it is untrusted: only a line of a known key
// type, a base64 body that encodes a key of that type and an optional printable comment is
// accepted, so nothing else (options, a second line, another file's bytes) can reach
// authorized_keys. Pure.
#pragma once

#include <string>
#include <string_view>

#include "util/result.h"

namespace cb {

struct SshPublicKey {
    std::string type;     // "ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256", ...
    std::string body;     // base64 of the key blob
    std::string comment;  // may be empty

    // "TYPE BODY[ COMMENT]\n", the line authorized_keys gets.
    std::string line() const;
};

// The key types accepted, for messages: "ssh-ed25519, ssh-rsa, ...".
std::string known_ssh_key_types();

// Parses the content of a public key file: exactly one line "TYPE BODY [COMMENT]" (fields
// separated by one space, the final newline optional). Errors (k_invalid_input), each a phrase
// the caller puts after the file's name: "is empty", "holds more than one line",
// "holds a control character", "does not start with a known key type (ssh-ed25519, ...)",
// "has no key after the key type", "has a key that is not base64",
// "has a key that is not a TYPE key".
Result<SshPublicKey> parse_ssh_public_key(std::string_view text);

// Whether one line of `authorized_keys` (in any of its forms: with options before the key
// type, with another comment) authorizes `key`.
bool authorizes(std::string_view authorized_keys, const SshPublicKey& key);

}  // namespace cb
