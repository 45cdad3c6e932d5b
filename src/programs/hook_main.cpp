#include "daemon/hook.h"

int main(int argc, char** argv) {
    return cb::run_hook(argc, argv);
}
