#pragma once
// `fwd --replay FILE --config CFG` ("replay" area, issue 15 item 3): a capture's packets through
// the same pipeline as the daemon's, offline - no root, no kernel, no NFQUEUE. The configuration
// is loaded as fwd loads it (a Controller with a DataPlane); the clock is the capture's time
// (aging and server-map lifetimes run in capture time); routes come from a written table
// (fwd/table_routes.h): the configured interfaces' subnets and addresses, the static routes,
// then --route / --local. A packet's ingress interface is its pcapng interface name when that
// names a configured interface, else the longest --ingress prefix holding its source; a packet
// from one of the firewall's own addresses goes in as the firewall's own (LOCAL_OUT).
#include <iosfwd>
#include <string>
#include <vector>

namespace fw::fwd {

struct ReplayInput {
  std::string capture;               // pcap or pcapng file
  std::string config_file;           // VRP command file, loaded like `fwd --config`
  std::vector<std::string> ingress;  // PREFIX=IF
  std::vector<std::string> routes;   // PREFIX=IF[,NEXTHOP]
  std::vector<std::string> locals;   // ADDRESS=IF
  std::string write;                 // pcapng of what left ("" = none)
  bool json = false;
};

// Prints a line per packet (number, time since the first, ingress interface, tuple, verdict,
// session id, NAT applied, the drop reason or what the ALG and NAT counted) and then the
// session table and the server-map as `display firewall session table` and `display firewall
// server-map` show them (the controller's own display commands), or all of it as JSON.
// Returns 0, or 1 with a message on `err` (unreadable, malformed or truncated capture, unknown
// link type, bad configuration or option); the packets before a broken one are reported.
int replay(const ReplayInput& in, std::ostream& out, std::ostream& err);

struct Options;  // fwd/options.h
// `fwd --replay`: the options' replay settings to replay(), on stdout and stderr.
int run_replay(const Options& o);

}  // namespace fw::fwd
