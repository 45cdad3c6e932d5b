// What a program was built from: the release version and the git commit of the source tree.
// The commit is read at build time (cmake/build_info.cmake), so it changes with every commit
// without a reconfigure; a tree that is not a git checkout says "unknown" unless the build
// was given -DCLOUDBURST_GIT_COMMIT=... (a package built from a release tarball).
#pragma once

#include <string>
#include <string_view>

namespace cb {

std::string_view build_version();  // "0.1.0"
std::string_view build_commit();   // "1a2b3c4d5e6f", "1a2b3c4d5e6f-dirty" or "unknown"

// "<program> 0.1.0 (git 1a2b3c4d5e6f)": what `cloudburst version` and `--version` print.
std::string version_line(std::string_view program);

}  // namespace cb
