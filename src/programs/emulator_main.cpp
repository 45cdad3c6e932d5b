#include "emulator/emulator_app.h"

int main(int argc, char** argv) {
    return cb::emulator::emulator_main(argc, argv);
}
