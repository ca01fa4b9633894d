#include "fwd/runtime.h"

namespace fw::fwd {

Runtime::Runtime(const config::Config& c)
    : cfg(c),
      zones(c),
      policy(c, zones),
      nat(c, zones),
      detect(c),
      timeouts(timeouts_from(c.aging)) {
  for (auto& z : if_zone_) z.store(kUnresolved, std::memory_order_relaxed);
}

policy::ZoneId Runtime::zone_of_ifindex(uint32_t ifindex, RouteSource& names) const {
  if (ifindex == 0) return policy::kNoZone;
  if (ifindex < kMaxIfindex) {
    uint8_t z = if_zone_[ifindex].load(std::memory_order_relaxed);
    if (z != kUnresolved) return z;
  }
  std::string name = names.ifname(ifindex);
  policy::ZoneId z = name.empty() ? policy::kNoZone : zones.by_interface(name);
  // Cache only known interfaces: an index with no name yet may appear later.
  if (ifindex < kMaxIfindex && !name.empty()) if_zone_[ifindex].store(z, std::memory_order_relaxed);
  return z;
}

session::Timeouts timeouts_from(const config::AgingTimes& a) {
  session::Timeouts t;
  auto v = [&](const char* n) { return config::aging_value(a, n); };
  t.tcp = v("tcp");
  t.udp = v("udp");
  t.icmp = v("icmp");
  t.syn = v("syn");
  t.fin_rst = v("fin-rst");
  t.gre = v("gre");
  t.esp = v("esp");
  t.ah = v("ah");
  t.dns = v("dns");
  t.other = v("other");
  t.ftp = v("ftp");
  t.ftp_data = v("ftp-data");
  return t;
}

}  // namespace fw::fwd
