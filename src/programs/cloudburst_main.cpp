#include "cli/commands.h"

int main(int argc, char** argv) {
    return cb::cli::cloudburst_main(argc, argv);
}
