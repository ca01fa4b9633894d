#pragma once
// How the classifier turns a rule's service items into entries (policy/classifier.cpp's helper).
#include <cstdint>
#include <utility>
#include <vector>

#include "policy/classifier.h"

namespace fw::policy {

// The service condition of one classifier entry. Every dimension is exact on its own: the port
// ranges apply to the TCP/UDP protocols listed, the ICMP types to the ICMP ones, and the other
// protocols listed match on the protocol alone.
struct EntryService {
  std::vector<uint8_t> protos;  // empty = any protocol (nothing below applies then)
  uint16_t sport_lo = 0, sport_hi = 65535;
  std::vector<std::pair<uint16_t, uint16_t>> dports;
  bool icmp_any = true;
  std::vector<int> icmp_types;  // when !icmp_any
};

// A rule's service items as the fewest entries that stay exact: items of one protocol and source
// port range share an entry (several destination ranges), TCP and UDP (or ICMP and ICMPv6) share
// one when their conditions are equal, and groups on different protocols share one since a flow
// only ever consults its own protocol's dimensions. No items = one entry for any service; items
// that all match nothing = no entry.
std::vector<EntryService> service_entries(const std::vector<ServiceCond>& items);

}  // namespace fw::policy
