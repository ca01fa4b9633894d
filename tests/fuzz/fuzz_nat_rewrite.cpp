// libFuzzer target for nat/: rewrite() and rewrite_icmp_error() on whatever
// packet::parse() accepts. The new endpoints and the mode come from the bytes
// past the IP total length (padding the parser ignores, so the fuzzer can
// change them without breaking the packet), or from a hash of the input.
// Besides ASan/UBSan it traps when a promise is broken: a parsed packet is
// always accepted, still parses afterwards to the new endpoints, and keeps
// (or, from a partial checksum, gains) valid checksums.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "nat/rewrite.h"
#include "packet/checksum.h"
#include "packet/parse.h"

namespace {

using fw::common::IpAddr;
using fw::nat::Endpoint;
using fw::packet::Parsed;

void check(bool ok) {
  if (!ok) __builtin_trap();
}

// Control bytes: the trailing padding first, then a splitmix64 stream seeded
// by a hash of the whole input.
class Control {
 public:
  Control(std::span<const uint8_t> all, size_t ip_len) : tail_(all.subspan(ip_len)) {
    uint64_t h = 1469598103934665603ull;
    for (uint8_t b : all) h = (h ^ b) * 1099511628211ull;
    state_ = h;
  }
  uint8_t byte() {
    if (pos_ < tail_.size()) return tail_[pos_++];
    state_ += 0x9e3779b97f4a7c15ull;
    uint64_t z = state_;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return static_cast<uint8_t>(z ^ (z >> 31));
  }
  uint16_t u16() { return static_cast<uint16_t>((byte() << 8) | byte()); }
  Endpoint endpoint(uint8_t version) {
    Endpoint e;
    e.addr.family = version;
    for (size_t i = 0; i < e.addr.size(); ++i) e.addr.b[i] = byte();
    e.port = u16();
    return e;
  }

 private:
  std::span<const uint8_t> tail_;
  size_t pos_ = 0;
  uint64_t state_ = 0;
};

const Parsed* parsed(const fw::packet::ParseResult& r) { return std::get_if<Parsed>(&r); }

// After rewrite(): same structure, the new addresses, TCP/UDP ports.
void check_result(const Parsed& before, std::span<const uint8_t> pkt, const Endpoint* s,
                  const Endpoint* d) {
  fw::packet::ParseResult r = fw::packet::parse(pkt);
  const Parsed* a = parsed(r);
  check(a != nullptr);
  check(a->proto == before.proto && a->l3_len == before.l3_len &&
        a->ip_total_len == before.ip_total_len && a->l4_len == before.l4_len &&
        a->payload_len == before.payload_len && a->is_fragment == before.is_fragment);
  check(a->src == (s ? s->addr : before.src));
  check(a->dst == (d ? d->addr : before.dst));
  if (a->has_l4 && (a->proto == fw::packet::kProtoTcp || a->proto == fw::packet::kProtoUdp)) {
    check(a->sport == (s ? s->port : before.sport));
    check(a->dport == (d ? d->port : before.dport));
  }
  if (a->icmp_echo) check(a->sport == a->dport);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> in(data, size);
  fw::packet::ParseResult r = fw::packet::parse(in);
  const Parsed* p = parsed(r);
  if (!p) return 0;

  Control ctl(in, p->ip_total_len);
  const uint8_t mode = ctl.byte();
  Endpoint es = ctl.endpoint(p->ip_version), ed = ctl.endpoint(p->ip_version);
  const Endpoint* s = (mode & 1) ? &es : nullptr;
  const Endpoint* d = (mode & 2) ? &ed : nullptr;

  // 1. The input as it is: whatever verified still verifies.
  {
    std::vector<uint8_t> pkt(data, data + size);
    const bool verified = fw::packet::verify_checksums(in);
    check(fw::nat::rewrite(pkt, *p, s, d, false));
    check_result(*p, pkt, s, d);
    if (verified) check(fw::packet::verify_checksums(pkt));
    // Bytes outside the IP packet are never touched.
    for (size_t i = p->ip_total_len; i < size; ++i) check(pkt[i] == data[i]);
  }
  // 2. Fully checksummed first: valid afterwards.
  {
    std::vector<uint8_t> pkt(data, data + size);
    check(fw::packet::fix_checksums(pkt, false));
    const Parsed q = std::get<Parsed>(fw::packet::parse(pkt));
    check(fw::nat::rewrite(pkt, q, s, d, false));
    check_result(q, pkt, s, d);
    check(fw::packet::verify_checksums(pkt));
  }
  // 3. CHECKSUM_PARTIAL layout (csum_not_ready): fully checksummed afterwards.
  {
    std::vector<uint8_t> pkt(data, data + size);
    check(fw::packet::fix_checksums(pkt, true));
    const Parsed q = std::get<Parsed>(fw::packet::parse(pkt));
    check(fw::nat::rewrite(pkt, q, s, d, true));
    check_result(q, pkt, s, d);
    check(fw::packet::verify_checksums(pkt));
  }
  // 4. A parsed Parsed against a shorter buffer is refused, never read past.
  if (p->ip_total_len > 0) {
    std::vector<uint8_t> shorter(data, data + p->ip_total_len - 1);
    check(!fw::nat::rewrite(shorter, *p, s, d, mode & 8));
  }
  // 5. ICMP errors: outer and quoted endpoints translated, checksums valid.
  if (p->icmp_error) {
    std::vector<uint8_t> pkt(data, data + size);
    check(fw::packet::fix_checksums(pkt, false));
    const Parsed q = std::get<Parsed>(fw::packet::parse(pkt));
    Endpoint is = ctl.endpoint(p->ip_version), id = ctl.endpoint(p->ip_version);
    const Endpoint* os = (mode & 16) ? &es : nullptr;
    const Endpoint* od = (mode & 32) ? &ed : nullptr;
    const Endpoint* inner_s = (mode & 64) ? &is : nullptr;
    const Endpoint* inner_d = (mode & 128) ? &id : nullptr;
    const std::vector<uint8_t> before = pkt;
    if (fw::nat::rewrite_icmp_error(pkt, q, os, od, inner_s, inner_d)) {
      fw::packet::ParseResult r2 = fw::packet::parse(pkt);
      const Parsed* a = parsed(r2);
      check(a != nullptr && a->icmp_error);
      check(a->src == (os ? os->addr : q.src) && a->dst == (od ? od->addr : q.dst));
      check(fw::packet::verify_checksums(pkt));
      std::span<const uint8_t> inner(pkt.data() + a->inner_offset,
                                     a->ip_total_len - a->inner_offset);
      std::optional<Parsed> qi = fw::packet::parse_quoted(inner);
      check(qi.has_value());
      if (inner_s) check(qi->src == inner_s->addr);
      if (inner_d) check(qi->dst == inner_d->addr);
      if (qi->has_l4 &&
          (qi->proto == fw::packet::kProtoTcp || qi->proto == fw::packet::kProtoUdp)) {
        if (inner_s) check(qi->sport == inner_s->port);
        if (inner_d) check(qi->dport == inner_d->port);
      }
      if (qi->ip_version == 4) {
        check(fw::packet::csum_fold(fw::packet::csum_add(0, inner.subspan(0, qi->l3_len))) ==
              0xffff);
      }
    } else {
      check(pkt == before);  // refused = untouched
    }
  }
  return 0;
}
