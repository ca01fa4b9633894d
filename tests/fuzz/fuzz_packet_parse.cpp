// libFuzzer target for packet/: parse(), parse_quoted() and the checksum
// fixer. Besides ASan/UBSan it checks the parser's own promises and traps
// when one is broken.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "packet/checksum.h"
#include "packet/parse.h"

namespace {

using fw::packet::Parsed;

void check(bool ok) {
  if (!ok) __builtin_trap();
}

void check_parsed(const Parsed& p, size_t size) {
  check(p.ip_version == 4 || p.ip_version == 6);
  check(p.src.family == p.ip_version && p.dst.family == p.ip_version);
  check(p.l3_len >= (p.ip_version == 4 ? 20 : 40));
  check(p.l3_len <= p.ip_total_len);
  check(p.ip_total_len <= size);
  check(p.l4_offset == p.l3_len);
  check(static_cast<size_t>(p.payload_offset) + p.payload_len <= p.ip_total_len);
  if (p.has_l4) {
    check(p.l4_offset + p.l4_len == p.payload_offset);
    check(p.payload_offset + p.payload_len == p.ip_total_len ||
          p.proto == fw::packet::kProtoUdp);  // UDP payload ends at the UDP length
  }
  if (p.is_fragment && !p.first_fragment) check(!p.has_l4 && p.sport == 0 && p.dport == 0);
  if (!p.is_fragment) check(!p.first_fragment);
  if (p.icmp_error) {
    check(p.proto == fw::packet::kProtoIcmp || p.proto == fw::packet::kProtoIcmpv6);
    check(p.inner_offset == p.l4_offset + 8u);
    check(p.inner_offset <= p.ip_total_len);
    check(!p.icmp_echo);
  }
  if (p.icmp_echo) check(p.sport == p.dport);
}

void check_quoted(const Parsed& q, size_t size) {
  check(q.ip_version == 4 || q.ip_version == 6);
  check(q.l3_len <= size);
  check(q.l4_offset == q.l3_len);
  check(static_cast<size_t>(q.l4_offset) + q.l4_len <= size);
  check(static_cast<size_t>(q.payload_offset) + q.payload_len <= size);
  if (q.icmp_error) check(q.inner_offset <= size);
}

bool same_view(const Parsed& a, const Parsed& b) {
  return a.ip_version == b.ip_version && a.src == b.src && a.dst == b.dst && a.proto == b.proto &&
         a.l3_len == b.l3_len && a.ip_total_len == b.ip_total_len && a.has_l4 == b.has_l4 &&
         a.is_fragment == b.is_fragment && a.l4_offset == b.l4_offset && a.l4_len == b.l4_len &&
         a.payload_offset == b.payload_offset && a.payload_len == b.payload_len &&
         a.sport == b.sport && a.dport == b.dport && a.seq == b.seq && a.ack == b.ack &&
         a.icmp_type == b.icmp_type && a.icmp_error == b.icmp_error && a.gre_key == b.gre_key &&
         a.spi == b.spi;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> in(data, size);

  // The whole input is also a plausible quoted packet.
  if (std::optional<Parsed> q = fw::packet::parse_quoted(in)) check_quoted(*q, size);

  fw::packet::ParseResult r = fw::packet::parse(in);
  const Parsed* p = std::get_if<Parsed>(&r);
  if (!p) {
    check(!fw::packet::malformed_name(std::get<fw::packet::Malformed>(r)).empty());
    std::vector<uint8_t> copy(data, data + size);
    check(!fw::packet::fix_checksums(copy, false));
    check(!fw::packet::verify_checksums(in));
    return 0;
  }
  check_parsed(*p, size);

  if (p->icmp_error) {
    std::span<const uint8_t> inner = in.subspan(p->inner_offset, p->ip_total_len - p->inner_offset);
    if (std::optional<Parsed> q = fw::packet::parse_quoted(inner)) check_quoted(*q, inner.size());
  }

  // Fixing checksums never changes what the packet parses to, and a fixed
  // packet verifies.
  std::vector<uint8_t> full(data, data + size);
  check(fw::packet::fix_checksums(full, false));
  fw::packet::ParseResult r2 = fw::packet::parse(full);
  check(std::holds_alternative<Parsed>(r2) && same_view(*p, std::get<Parsed>(r2)));
  check(fw::packet::verify_checksums(full));

  std::vector<uint8_t> partial(data, data + size);
  check(fw::packet::fix_checksums(partial, true));
  fw::packet::ParseResult r3 = fw::packet::parse(partial);
  check(std::holds_alternative<Parsed>(r3) && same_view(*p, std::get<Parsed>(r3)));
  return 0;
}
