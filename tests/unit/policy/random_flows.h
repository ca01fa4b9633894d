#pragma once
// Random prefixes, ports and flows for the differential tests of the classifier, the security
// policy and the NAT policy. Values cluster around a few prefixes and ports so that random rules
// overlap and random flows land on interval edges (lo - 1, lo, hi, hi + 1).
#include <algorithm>
#include <cstdint>
#include <random>
#include <vector>

#include "common/ip_addr.h"
#include "policy/classifier.h"

namespace fw::policy::testing {

using common::IpAddr;
using common::Prefix;
using U128 = unsigned __int128;

inline U128 v6_value(const IpAddr& a) {
  U128 k = 0;
  for (uint8_t byte : a.b) k = (k << 8) | byte;
  return k;
}

inline IpAddr v6_from(U128 k) {
  uint8_t b[16];
  for (int i = 15; i >= 0; --i, k >>= 8) b[i] = static_cast<uint8_t>(k);
  return IpAddr::v6_bytes(b);
}

class Gen {
 public:
  explicit Gen(uint32_t seed) : rng_(seed) {}

  int uniform(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  uint32_t bits32() { return static_cast<uint32_t>(rng_()); }
  bool chance(double p) { return std::bernoulli_distribution(p)(rng_); }
  template <typename T>
  const T& pick(const std::vector<T>& v) {
    return v[uniform(0, static_cast<int>(v.size()) - 1)];
  }

  // A canonical prefix (as config holds them) from a small overlapping pool, IPv4 or IPv6.
  Prefix prefix() {
    if (chance(0.7)) {
      static constexpr uint32_t kBases[] = {0x0a000000, 0x0a010000, 0x0a010200,
                                            0x0a010280, 0xc0a80100, 0xac100000};
      static constexpr int kLens[] = {0, 1, 8, 16, 23, 24, 25, 30, 31, 32, 32};
      const uint32_t a = kBases[uniform(0, 5)] + static_cast<uint32_t>(uniform(0, 3));
      return *Prefix::from_len(IpAddr::v4(a), kLens[uniform(0, 10)]);
    }
    static constexpr int kLens[] = {0, 32, 48, 64, 96, 127, 128, 128};
    const U128 base = (U128{0x20010db8} << 96) | (U128(uniform(0, 2)) << 64) | uniform(0, 3);
    return *Prefix::from_len(v6_from(base), kLens[uniform(0, 7)]);
  }

  std::vector<Prefix> prefixes(int max) {
    std::vector<Prefix> v(uniform(0, max));
    for (auto& p : v) p = prefix();
    return v;
  }

  // An address range near the pool's prefixes, IPv4 or IPv6; now and then one that matches
  // nothing: reversed, of two families, or unset.
  AddrRange range() {
    const int r = uniform(0, 19);
    if (r == 0) return {};
    const Prefix p = prefix();
    IpAddr lo = near(p), hi = near(r == 1 ? prefix() : p);
    if (r != 2 && hi < lo) std::swap(lo, hi);
    return {lo, hi};
  }

  std::vector<AddrRange> ranges(int max) {
    std::vector<AddrRange> v(uniform(0, max));
    for (auto& r : v) r = range();
    return v;
  }

  // The ends of ranges as host prefixes, so that flows land on and next to them.
  static void add_edges(const std::vector<AddrRange>& rs, std::vector<Prefix>& known) {
    for (const auto& r : rs) {
      for (const IpAddr& a : {r.lo, r.hi}) {
        if (!a.empty()) known.push_back(*Prefix::from_len(a, a.is_v4() ? 32 : 128));
      }
    }
  }

  // An address on or next to an edge of one of the prefixes, or anywhere.
  IpAddr addr(const std::vector<Prefix>& known) {
    const int r = uniform(0, 99);
    if (r < 70 && !known.empty()) return near(pick(known));
    if (r < 80) return IpAddr::v4(bits32());
    if (r < 90) return v6_from((U128(bits32()) << 96) | bits32());
    if (r < 99) return *IpAddr::parse(chance(0.5) ? "10.1.2.3" : "2001:db8::1");
    return IpAddr{};  // no address family at all
  }

  uint16_t port() {
    static constexpr uint16_t kPorts[] = {0, 1, 21, 22, 53, 79, 80, 81, 443, 1023, 1024, 65535};
    return chance(0.8) ? kPorts[uniform(0, 11)] : static_cast<uint16_t>(uniform(0, 65535));
  }

  // A port range [lo, hi]: single ports, ranges, everything, and now and then an empty one.
  std::pair<uint16_t, uint16_t> port_range() {
    const int r = uniform(0, 9);
    if (r < 3) return {0, 65535};
    uint16_t a = port(), b = port();
    if (r < 6) return {a, a};
    if (r == 9) return {std::max(a, b), std::min(a, b)};
    return {std::min(a, b), std::max(a, b)};
  }

  uint8_t proto() {
    static constexpr uint8_t kProtos[] = {6, 6, 17, 17, 1, 58, 47, 0, 255, 50};
    return kProtos[uniform(0, 9)];
  }

  int icmp_type() {
    static constexpr int kTypes[] = {-1, 0, 3, 8, 11, 128, 255, 300};
    return kTypes[uniform(0, 7)];
  }

  // A flow with zones from `zones` (kNoZone included now and then) near the known prefixes.
  FlowInfo flow(const std::vector<ZoneId>& zones, const std::vector<Prefix>& known) {
    FlowInfo f;
    f.src_zone = chance(0.05) ? kNoZone : pick(zones);
    f.dst_zone = chance(0.05) ? kNoZone : pick(zones);
    f.src = addr(known);
    f.dst = addr(known);
    f.proto = proto();
    f.sport = port();
    f.dport = port();
    f.icmp_type = (f.proto == 1 || f.proto == 58 || chance(0.1)) ? icmp_type() : -1;
    return f;
  }

 private:
  // Edges of the prefix as if its length were at most the address's (odd test prefixes are not).
  IpAddr near(const Prefix& p) {
    const int edge = uniform(0, 4);  // lo - 1, lo, inside, hi, hi + 1
    if (p.addr.is_v4()) {
      const int len = std::min<int>(p.len, 32);
      const uint32_t mask = len == 0 ? 0 : ~uint32_t{0} << (32 - len);
      const uint32_t lo = p.addr.v4_host() & mask, hi = lo | ~mask;
      const uint32_t in = lo + (bits32() & ~mask);
      const uint32_t v[] = {lo - 1, lo, in, hi, hi + 1};
      return IpAddr::v4(v[edge]);
    }
    const int len = std::min<int>(p.len, 128);
    const U128 mask = len == 0 ? 0 : ~U128{0} << (128 - len);
    const U128 lo = v6_value(p.addr) & mask, hi = lo | ~mask;
    const U128 in = lo + ((U128(bits32()) << 64 | bits32()) & ~mask);
    const U128 v[] = {lo - 1, lo, in, hi, hi + 1};
    return v6_from(v[edge]);
  }

  std::mt19937 rng_;
};

}  // namespace fw::policy::testing
