#include "daemon/prolog.h"

int main(int argc, char** argv) {
    return cb::run_prolog(argc, argv);
}
