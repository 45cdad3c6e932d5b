#include "util/program.h"

// The daemon is not built yet (issue: the burst path). It says so instead of pretending.
int main() {
    return cb::run_main("cloudburstd", []() -> cb::Result<int> {
        return cb::not_implemented("cloudburstd (the burst daemon)");
    });
}
