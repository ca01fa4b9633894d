#pragma once
// The daemon: wires configuration, queues, workers, the CLI socket and the
// iptables rules together, and runs until SIGTERM/SIGINT.
namespace fw::fwd {
int run_daemon(int argc, char** argv);
}
