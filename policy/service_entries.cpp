#include "policy/service_entries.h"

#include <algorithm>

namespace fw::policy {

namespace {

using Range = std::pair<uint16_t, uint16_t>;

struct PortGroup {
  std::vector<uint8_t> protos;
  uint16_t sport_lo, sport_hi;
  std::vector<Range> dports;
};

struct IcmpGroup {
  std::vector<uint8_t> protos;
  bool any = false;
  std::vector<int> types;
};

bool is_ports_proto(uint8_t p) { return p == 6 || p == 17; }
bool is_icmp_proto(uint8_t p) { return p == 1 || p == 58; }

void add_port_item(std::vector<PortGroup>& groups, const ServiceCond& s) {
  if (s.sport_lo > s.sport_hi || s.dport_lo > s.dport_hi) return;  // matches nothing
  const Range d{s.dport_lo, s.dport_hi};
  for (auto& g : groups) {  // one protocol per group until merge_protocols
    if (g.protos[0] == s.proto && g.sport_lo == s.sport_lo && g.sport_hi == s.sport_hi) {
      g.dports.push_back(d);
      return;
    }
  }
  groups.push_back({{s.proto}, s.sport_lo, s.sport_hi, {d}});
}

void add_icmp_item(std::vector<IcmpGroup>& groups, const ServiceCond& s) {
  auto it = std::find_if(groups.begin(), groups.end(),
                         [&](const IcmpGroup& g) { return g.protos[0] == s.proto; });
  if (it == groups.end()) it = groups.insert(groups.end(), IcmpGroup{{s.proto}, false, {}});
  it->any |= s.icmp_type < 0;
  it->types.push_back(s.icmp_type);
}

template <typename T>
void sort_unique(std::vector<T>& v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
}

// Groups whose conditions are equal (TCP and UDP, ICMP and ICMPv6) become one.
template <typename Group, typename Same>
void merge_protocols(std::vector<Group>& groups, Same same) {
  for (size_t i = 0; i < groups.size(); ++i) {
    for (size_t j = i + 1; j < groups.size();) {
      if (same(groups[i], groups[j])) {
        groups[i].protos.push_back(groups[j].protos[0]);
        groups.erase(groups.begin() + j);
      } else {
        ++j;
      }
    }
  }
}

bool same_ports(const PortGroup& a, const PortGroup& b) {
  return a.sport_lo == b.sport_lo && a.sport_hi == b.sport_hi && a.dports == b.dports;
}
bool same_icmp(const IcmpGroup& a, const IcmpGroup& b) {
  return a.any == b.any && (a.any || a.types == b.types);
}

}  // namespace

std::vector<EntryService> service_entries(const std::vector<ServiceCond>& items) {
  const bool any = items.empty() || std::any_of(items.begin(), items.end(),
                                                [](const ServiceCond& s) { return s.proto == 0; });
  if (any) return {EntryService{}};
  std::vector<PortGroup> ports;
  std::vector<IcmpGroup> icmps;
  std::vector<uint8_t> others;
  for (const ServiceCond& s : items) {
    if (is_ports_proto(s.proto)) {
      add_port_item(ports, s);
    } else if (is_icmp_proto(s.proto)) {
      add_icmp_item(icmps, s);
    } else {
      others.push_back(s.proto);
    }
  }
  for (auto& g : ports) sort_unique(g.dports);
  for (auto& g : icmps) sort_unique(g.types);
  merge_protocols(ports, same_ports);
  merge_protocols(icmps, same_icmp);

  const size_t n = std::max({ports.size(), icmps.size(), others.empty() ? size_t{0} : size_t{1}});
  std::vector<EntryService> out(n);
  for (size_t i = 0; i < n; ++i) {
    EntryService& e = out[i];
    if (i < ports.size()) {
      e.protos = ports[i].protos;
      e.sport_lo = ports[i].sport_lo;
      e.sport_hi = ports[i].sport_hi;
      e.dports = ports[i].dports;
    }
    if (i < icmps.size()) {
      e.protos.insert(e.protos.end(), icmps[i].protos.begin(), icmps[i].protos.end());
      e.icmp_any = icmps[i].any;
      if (!e.icmp_any) e.icmp_types = icmps[i].types;
    }
    if (i == 0) e.protos.insert(e.protos.end(), others.begin(), others.end());
  }
  return out;
}

}  // namespace fw::policy
