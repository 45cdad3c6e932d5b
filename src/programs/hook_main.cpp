#include <cstring>
#include <string>

#include "util/program.h"

// cloudburst-resume / -suspend / -resume-fail. Not built yet (issue: the burst path).
int main(int, char** argv) {
    const char* slash = std::strrchr(argv[0], '/');
    const std::string name = slash != nullptr ? slash + 1 : argv[0];
    return cb::run_main(name, [&]() -> cb::Result<int> { return cb::not_implemented(name); });
}
