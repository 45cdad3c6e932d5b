#include "util/program.h"

int main() {
    return cb::run_main("cyclecloud-emulator", []() -> cb::Result<int> {
        return cb::not_implemented("cyclecloud-emulator");
    });
}
