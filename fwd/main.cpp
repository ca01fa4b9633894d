#include "fwd/daemon.h"

int main(int argc, char** argv) { return fw::fwd::run_daemon(argc, argv); }
