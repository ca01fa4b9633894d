#include "nat/rewrite.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "packet/checksum.h"
#include "packet/parse.h"
#include "tests/unit/packet/builders.h"

namespace fw::nat {
namespace {

using namespace fw::packet::testing;
using common::IpAddr;
using packet::Parsed;

Parsed parsed(const Bytes& b) {
  packet::ParseResult r = packet::parse(b);
  EXPECT_TRUE(std::holds_alternative<Parsed>(r))
      << "malformed: " << packet::malformed_name(std::get<packet::Malformed>(r));
  return std::holds_alternative<Parsed>(r) ? std::get<Parsed>(r) : Parsed{};
}

size_t l4_csum_at(const Parsed& p) {
  return p.l4_offset + (p.proto == packet::kProtoTcp   ? 16u
                        : p.proto == packet::kProtoUdp ? 6u
                                                       : 2u);
}

bool csum_equiv(uint16_t a, uint16_t b) {
  auto norm = [](uint16_t v) { return v == 0xffff ? uint16_t{0} : v; };
  return norm(a) == norm(b);
}

// Stores the folded pseudo-header sum in the transport checksum field, as the
// kernel hands over a CHECKSUM_PARTIAL packet.
// fix_checksums() keeps a zero IPv4 UDP checksum as "none", and the builders
// leave it zero: seed it so the checksum gets computed.
void seed_udp(Bytes& b) {
  packet::ParseResult r = packet::parse(b);
  const Parsed* p = std::get_if<Parsed>(&r);
  if (p && p->proto == packet::kProtoUdp && p->has_l4) set16(b, p->l4_offset + 6, 1);
}
void make_partial(Bytes& b) {
  seed_udp(b);
  ASSERT_TRUE(packet::fix_checksums(b, true));
}
void make_full(Bytes& b) {
  seed_udp(b);
  ASSERT_TRUE(packet::fix_checksums(b, false));
}

Bytes random_bytes(std::mt19937& rng, size_t n) {
  Bytes b(n);
  for (auto& x : b) x = static_cast<uint8_t>(rng());
  return b;
}

IpAddr random_addr(std::mt19937& rng, uint8_t version) {
  IpAddr a;
  a.family = version;
  for (size_t i = 0; i < a.size(); ++i) a.b[i] = static_cast<uint8_t>(rng());
  return a;
}

enum class Kind { kTcp, kUdp, kEcho };

// A whole IPv4/IPv6 packet with random ports, sometimes with IPv4 options or
// an IPv6 hop-by-hop header, checksums not filled.
Bytes build(std::mt19937& rng, uint8_t version, Kind kind, size_t payload_len, bool echo_request,
            uint8_t* proto_out) {
  Bytes payload = random_bytes(rng, payload_len);
  uint16_t sp = static_cast<uint16_t>(rng()), dp = static_cast<uint16_t>(rng());
  Bytes l4;
  uint8_t proto = 0;
  switch (kind) {
    case Kind::kTcp:
      proto = packet::kProtoTcp;
      l4 = tcp(sp, dp, static_cast<uint32_t>(rng()), static_cast<uint32_t>(rng()),
               packet::kTcpAck | packet::kTcpPsh, rng() % 2 ? Bytes{2, 4, 0x05, 0xb4} : Bytes{},
               payload);
      break;
    case Kind::kUdp:
      proto = packet::kProtoUdp;
      l4 = udp(sp, dp, payload);
      break;
    case Kind::kEcho:
      proto = version == 4 ? packet::kProtoIcmp : packet::kProtoIcmpv6;
      l4 = echo(version == 4 ? (echo_request ? 8 : 0) : (echo_request ? 128 : 129), sp,
                static_cast<uint16_t>(rng()), payload);
      break;
  }
  *proto_out = proto;
  IpAddr s = random_addr(rng, version), d = random_addr(rng, version);
  Bytes b;
  if (version == 4) {
    V4Opts o;
    if (rng() % 4 == 0) o.options = {1, 1, 1, 0};
    b = ipv4(proto, "1.1.1.1", "2.2.2.2", l4, o);
  } else {
    b = rng() % 4 == 0 ? ipv6(0, "::1", "::2", cat({ext(proto), l4}))
                       : ipv6(proto, "::1", "::2", l4);
  }
  std::copy(s.b.begin(), s.b.begin() + s.size(), b.begin() + (version == 4 ? 12 : 8));
  std::copy(d.b.begin(), d.b.begin() + d.size(), b.begin() + (version == 4 ? 16 : 24));
  return b;
}

struct Expect {
  IpAddr src, dst;
  uint16_t sport, dport;
};

Expect expected(const Parsed& before, const Endpoint* ns, const Endpoint* nd, Kind kind,
                bool request) {
  Expect e{ns ? ns->addr : before.src, nd ? nd->addr : before.dst, before.sport, before.dport};
  if (kind == Kind::kEcho) {
    const Endpoint* q = request ? ns : nd;
    if (q) e.sport = e.dport = q->port;
  } else {
    if (ns) e.sport = ns->port;
    if (nd) e.dport = nd->port;
  }
  return e;
}

// The property the pipeline relies on: after rewrite() the packet verifies
// and parses to the new endpoints, with or without csum_not_ready.
TEST(Rewrite, RandomPacketsVerifyAfterRewrite) {
  std::mt19937 rng(12345);
  int checked = 0;
  for (int iter = 0; iter < 6000; ++iter) {
    uint8_t version = rng() % 2 ? 4 : 6;
    Kind kind = static_cast<Kind>(rng() % 3);
    bool request = rng() % 2;
    size_t payload_len = rng() % 4 == 0 ? rng() % 1400 : rng() % 64;
    uint8_t proto = 0;
    Bytes b = build(rng, version, kind, payload_len, request, &proto);
    bool not_ready = rng() % 3 == 0;
    bool udp_zero = kind == Kind::kUdp && version == 4 && !not_ready && rng() % 4 == 0;
    if (not_ready) {
      make_partial(b);
    } else if (!udp_zero) {
      make_full(b);
    } else {
      make_full(b);
      set16(b, parsed(b).l4_offset + 6, 0);
    }
    Parsed before = parsed(b);
    ASSERT_EQ(before.proto, proto);
    if (!not_ready) {
      ASSERT_TRUE(packet::verify_checksums(b));
    }

    Endpoint ns{random_addr(rng, version), static_cast<uint16_t>(rng())};
    Endpoint nd{random_addr(rng, version), static_cast<uint16_t>(rng())};
    int mode = static_cast<int>(rng() % 3);  // 0 src, 1 dst, 2 both
    const Endpoint* ps = mode != 1 ? &ns : nullptr;
    const Endpoint* pd = mode != 0 ? &nd : nullptr;

    ASSERT_TRUE(rewrite(b, before, ps, pd, not_ready));
    Parsed after = parsed(b);
    Expect e = expected(before, ps, pd, kind, request);
    EXPECT_EQ(after.src, e.src);
    EXPECT_EQ(after.dst, e.dst);
    EXPECT_EQ(after.sport, e.sport);
    EXPECT_EQ(after.dport, e.dport);
    EXPECT_EQ(after.payload_len, before.payload_len);
    EXPECT_TRUE(packet::verify_checksums(b)) << "iter " << iter;
    if (udp_zero) {
      EXPECT_EQ(get16(b, after.l4_offset + 6), 0);
    } else {
      // Same checksum (up to the two zeros) as a full recomputation.
      Bytes full = b;
      ASSERT_TRUE(packet::fix_checksums(full, false));
      uint16_t got = get16(b, l4_csum_at(after)), want = get16(full, l4_csum_at(after));
      if (proto == packet::kProtoUdp) {
        EXPECT_EQ(got, want);  // UDP must send 0xffff, never 0
      } else {
        EXPECT_TRUE(csum_equiv(got, want)) << got << " vs " << want;
      }
      if (version == 4) {
        EXPECT_EQ(get16(b, 10), get16(full, 10));
      }
    }
    ++checked;
  }
  EXPECT_EQ(checked, 6000);
}

TEST(Rewrite, NotReadyRecomputesEvenWhenOnlyAddressesChange) {
  // ICMPv4 echo: the address is not under the checksum, but a partial value
  // in the field must still become a full checksum.
  Bytes b = ipv4(packet::kProtoIcmp, "10.0.0.2", "203.0.113.2", echo(8, 7, 1));
  make_full(b);
  set16(b, 22, 0x1234);  // garbage "partial" value
  Endpoint ns{addr("198.51.100.1"), 7};
  ASSERT_TRUE(rewrite(b, parsed(b), &ns, nullptr, true));
  EXPECT_TRUE(packet::verify_checksums(b));

  Bytes t = ipv4(packet::kProtoTcp, "10.0.0.2", "203.0.113.2",
                 tcp(1000, 80, 1, 2, packet::kTcpSyn, {}, text("hello")));
  make_partial(t);
  ASSERT_TRUE(rewrite(t, parsed(t), nullptr, nullptr, true));
  EXPECT_TRUE(packet::verify_checksums(t));
}

TEST(Rewrite, EchoIdFollowsTheQuerierOnly) {
  Endpoint pub{addr("198.51.100.1"), 2048};
  Endpoint server{addr("10.1.1.1"), 0};  // DNAT: the responder has no "port"
  Bytes req = ipv4(packet::kProtoIcmp, "10.0.0.2", "203.0.113.2", echo(8, 777, 1));
  make_full(req);
  ASSERT_TRUE(rewrite(req, parsed(req), nullptr, &server, false));
  EXPECT_EQ(parsed(req).sport, 777);
  ASSERT_TRUE(rewrite(req, parsed(req), &pub, &server, false));
  EXPECT_EQ(parsed(req).sport, 2048);
  EXPECT_TRUE(packet::verify_checksums(req));

  Endpoint inside{addr("10.0.0.2"), 777};
  Bytes rep = ipv4(packet::kProtoIcmp, "203.0.113.2", "198.51.100.1", echo(0, 2048, 1));
  make_full(rep);
  ASSERT_TRUE(rewrite(rep, parsed(rep), &server, nullptr, false));
  EXPECT_EQ(parsed(rep).sport, 2048);
  ASSERT_TRUE(rewrite(rep, parsed(rep), &server, &inside, false));
  EXPECT_EQ(parsed(rep).sport, 777);
  EXPECT_TRUE(packet::verify_checksums(rep));
}

TEST(Rewrite, UdpZeroChecksumStaysZero) {
  for (bool not_ready : {false, true}) {
    Bytes b = ipv4(packet::kProtoUdp, "10.0.0.2", "203.0.113.2", udp(5000, 53, text("q")));
    make_full(b);
    set16(b, 26, 0);
    Endpoint ns{addr("198.51.100.1"), 2048};
    ASSERT_TRUE(rewrite(b, parsed(b), &ns, nullptr, not_ready));
    EXPECT_EQ(get16(b, 26), 0);
    EXPECT_EQ(parsed(b).sport, 2048);
    EXPECT_TRUE(packet::verify_checksums(b));
  }
}

TEST(Rewrite, UdpComputedZeroIsSentAsAllOnes) {
  // Search a source port for which the new checksum computes to zero.
  Bytes base = ipv4(packet::kProtoUdp, "10.0.0.2", "203.0.113.2", udp(5000, 53, text("abcd")));
  make_full(base);
  bool found = false;
  for (uint32_t port = 0; port < 65536 && !found; ++port) {
    Bytes b = base;
    set16(b, 20, static_cast<uint16_t>(port));
    make_full(b);
    if (get16(b, 26) != 0xffff) continue;
    found = true;
    // Rewrite from the base packet to that port: incremental and full.
    for (bool not_ready : {false, true}) {
      Bytes r = base;
      if (not_ready) make_partial(r);
      Endpoint ns{addr("10.0.0.2"), static_cast<uint16_t>(port)};
      ASSERT_TRUE(rewrite(r, parsed(r), &ns, nullptr, not_ready));
      EXPECT_EQ(get16(r, 26), 0xffff);
      EXPECT_TRUE(packet::verify_checksums(r));
    }
  }
  EXPECT_TRUE(found);
}

TEST(Rewrite, GreV1CallIdFollowsDestination) {
  Bytes b = ipv4(packet::kProtoGre, "203.0.113.2", "198.51.100.1",
                 gre_v1(0x4001, text("ppp-frame"), true, true, 5, 4));
  make_full(b);
  Parsed p = parsed(b);
  ASSERT_EQ(p.dport, 0x4001);
  Endpoint nd{addr("10.0.0.2"), 0x0123};
  ASSERT_TRUE(rewrite(b, p, nullptr, &nd, false));
  Parsed a = parsed(b);
  EXPECT_EQ(a.dst, addr("10.0.0.2"));
  EXPECT_EQ(a.dport, 0x0123);
  EXPECT_EQ(a.gre_key >> 16, p.gre_key >> 16);  // payload length untouched
  EXPECT_TRUE(packet::verify_checksums(b));

  // A source change leaves the call id alone (it is the peer's).
  Endpoint ns{addr("198.51.100.9"), 0x7777};
  ASSERT_TRUE(rewrite(b, a, &ns, nullptr, false));
  EXPECT_EQ(parsed(b).dport, 0x0123);
  EXPECT_EQ(parsed(b).src, addr("198.51.100.9"));
  EXPECT_TRUE(packet::verify_checksums(b));
}

TEST(Rewrite, OtherProtocolsAddressesOnly) {
  Bytes esp = {0, 0, 0x10, 0x01, 0, 0, 0, 1};
  append(esp, text("ciphertext"));
  Bytes b = ipv4(packet::kProtoEsp, "10.0.0.2", "203.0.113.2", esp);
  make_full(b);
  Bytes before = b;
  Endpoint ns{addr("198.51.100.1"), 999};
  ASSERT_TRUE(rewrite(b, parsed(b), &ns, nullptr, true));
  EXPECT_TRUE(packet::verify_checksums(b));
  EXPECT_EQ(parsed(b).spi, 0x1001u);
  EXPECT_TRUE(std::equal(b.begin() + 20, b.end(), before.begin() + 20));

  Bytes b6 = ipv6(packet::kProtoEsp, "2001:db8::2", "2001:db8:1::2", esp);
  Endpoint nd6{addr("2001:db8:2::5"), 1};
  ASSERT_TRUE(rewrite(b6, parsed(b6), nullptr, &nd6, false));
  EXPECT_EQ(parsed(b6).dst, addr("2001:db8:2::5"));
}

// Split a whole IPv4 datagram (checksums filled) into fragments of `first`
// payload bytes and the rest.
std::pair<Bytes, Bytes> split_v4(const Bytes& whole, size_t first) {
  Bytes l4(whole.begin() + 20, whole.end());
  Bytes a(l4.begin(), l4.begin() + static_cast<long>(first));
  Bytes b(l4.begin() + static_cast<long>(first), l4.end());
  V4Opts o1, o2;
  o1.frag = 0x2000;
  o2.frag = static_cast<uint16_t>(first / 8);
  Bytes f1 = ipv4(whole[9], "0.0.0.0", "0.0.0.0", a, o1);
  Bytes f2 = ipv4(whole[9], "0.0.0.0", "0.0.0.0", b, o2);
  for (Bytes* f : {&f1, &f2}) {
    std::copy(whole.begin() + 12, whole.begin() + 20, f->begin() + 12);
    packet::fix_checksums(*f, false);  // IPv4 header only for fragments
  }
  return {f1, f2};
}

Bytes join_v4(const Bytes& f1, const Bytes& f2) {
  Bytes l4(f1.begin() + 20, f1.end());
  l4.insert(l4.end(), f2.begin() + 20, f2.end());
  Bytes w = ipv4(f1[9], "0.0.0.0", "0.0.0.0", l4);
  std::copy(f1.begin() + 12, f1.begin() + 20, w.begin() + 12);
  // IPv4 header checksum only: the transport checksum is what the test checks.
  set16(w, 10, 0);
  set16(w, 10, packet::csum(std::span<const uint8_t>(w.data(), 20)));
  return w;
}

TEST(Rewrite, Ipv4FragmentsReassembleToValidDatagram) {
  for (uint8_t proto : {packet::kProtoUdp, packet::kProtoTcp}) {
    for (bool not_ready : {false, true}) {
      std::mt19937 rng(proto * 2 + not_ready);
      Bytes payload = random_bytes(rng, 1000);
      Bytes whole = proto == packet::kProtoUdp
                        ? ipv4(proto, "10.0.0.2", "203.0.113.2", udp(40000, 53, payload))
                        : ipv4(proto, "10.0.0.2", "203.0.113.2",
                               tcp(40000, 80, 1, 2, packet::kTcpAck, {}, payload));
      make_full(whole);
      auto [f1, f2] = split_v4(whole, 512);
      Parsed p1 = parsed(f1), p2 = parsed(f2);
      ASSERT_TRUE(p1.is_fragment && p1.first_fragment && p1.has_l4);
      ASSERT_TRUE(p2.is_fragment && !p2.first_fragment && !p2.has_l4);
      Endpoint ns{addr("198.51.100.1"), 2048};
      Endpoint nd{addr("203.0.113.9"), 8080};
      ASSERT_TRUE(rewrite(f1, p1, &ns, &nd, not_ready));
      ASSERT_TRUE(rewrite(f2, p2, &ns, &nd, not_ready));
      EXPECT_TRUE(packet::verify_checksums(f1));  // IPv4 header
      EXPECT_TRUE(packet::verify_checksums(f2));
      EXPECT_EQ(parsed(f2).src, ns.addr);
      EXPECT_EQ(parsed(f1).sport, 2048);
      EXPECT_EQ(parsed(f1).dport, 8080);
      // The non-first fragment's data is untouched.
      Bytes w = join_v4(f1, f2);
      Parsed pw = parsed(w);
      EXPECT_EQ(pw.src, ns.addr);
      EXPECT_EQ(pw.dst, nd.addr);
      EXPECT_TRUE(packet::verify_checksums(w)) << int(proto) << " " << not_ready;
    }
  }
}

TEST(Rewrite, Ipv6FragmentsReassembleToValidDatagram) {
  std::mt19937 rng(7);
  Bytes payload = random_bytes(rng, 600);
  Bytes l4 = udp(40000, 53, payload);
  Bytes whole = ipv6(packet::kProtoUdp, "2001:db8::2", "2001:db8:1::2", l4);
  make_full(whole);
  Bytes l4_full(whole.begin() + 40, whole.end());
  Bytes a(l4_full.begin(), l4_full.begin() + 304), rest(l4_full.begin() + 304, l4_full.end());
  Bytes f1 =
      ipv6(44, "2001:db8::2", "2001:db8:1::2", cat({frag6(packet::kProtoUdp, 0, true, 99), a}));
  Bytes f2 = ipv6(44, "2001:db8::2", "2001:db8:1::2",
                  cat({frag6(packet::kProtoUdp, 304, false, 99), rest}));
  Parsed p1 = parsed(f1), p2 = parsed(f2);
  ASSERT_TRUE(p1.first_fragment && p1.has_l4);
  ASSERT_TRUE(p2.is_fragment && !p2.has_l4);
  Endpoint ns{addr("2001:db8:ff::1"), 2048};
  ASSERT_TRUE(rewrite(f1, p1, &ns, nullptr, true));
  ASSERT_TRUE(rewrite(f2, p2, &ns, nullptr, true));
  EXPECT_EQ(parsed(f2).src, ns.addr);
  EXPECT_TRUE(std::equal(f2.begin() + 48, f2.end(), rest.begin()));
  Bytes joined(f1.begin() + 48, f1.end());
  append(joined, Bytes(f2.begin() + 48, f2.end()));
  Bytes w = ipv6(packet::kProtoUdp, "2001:db8:ff::1", "2001:db8:1::2", joined);
  Parsed pw = parsed(w);
  EXPECT_EQ(pw.sport, 2048);
  EXPECT_TRUE(packet::verify_checksums(w));
}

TEST(Rewrite, RoutingHeaderPendingKeepsDestinationOutOfPseudoHeader) {
  Bytes b = ipv6(
      43, "2001:db8::2", "2001:db8:1::2",
      cat({routing(packet::kProtoTcp, 1), tcp(1000, 80, 1, 2, packet::kTcpAck, {}, text("x"))}));
  Parsed p = parsed(b);
  size_t at = l4_csum_at(p);
  set16(b, at, 0x4242);
  Endpoint nd{addr("2001:db8:9::9"), 80};
  ASSERT_TRUE(rewrite(b, p, nullptr, &nd, false));
  EXPECT_EQ(get16(b, at), 0x4242);  // only the (unchanged) port could have moved it
  EXPECT_EQ(parsed(b).dst, nd.addr);
}

TEST(Rewrite, InconsistentParsedIsRefusedAndLeavesPacketAlone) {
  Bytes b = ipv4(packet::kProtoTcp, "10.0.0.2", "203.0.113.2",
                 tcp(1000, 80, 1, 2, packet::kTcpAck, {}, text("payload")));
  make_full(b);
  const Bytes orig = b;
  Parsed p = parsed(b);
  Endpoint ns{addr("198.51.100.1"), 2048};
  Endpoint ns6{addr("2001:db8::1"), 2048};

  // Truncated buffer.
  EXPECT_FALSE(rewrite(std::span<uint8_t>(b.data(), b.size() - 1), p, &ns, nullptr, false));
  EXPECT_FALSE(rewrite(std::span<uint8_t>(b.data(), 0), p, &ns, nullptr, false));
  // Wrong family endpoint.
  EXPECT_FALSE(rewrite(b, p, &ns6, nullptr, false));
  // Parsed of another packet.
  Bytes other = ipv4(packet::kProtoUdp, "10.0.0.2", "203.0.113.2", udp(1, 2, text("zz")));
  EXPECT_FALSE(rewrite(b, parsed(other), &ns, nullptr, false));
  Bytes v6 = ipv6(packet::kProtoTcp, "::1", "::2", tcp(1, 2, 3, 4, 0));
  EXPECT_FALSE(rewrite(b, parsed(v6), &ns, nullptr, false));
  // Tampered fields.
  Parsed q = p;
  q.l4_len = 200;
  EXPECT_FALSE(rewrite(b, q, &ns, nullptr, false));
  q = p;
  q.payload_len = 60000;
  EXPECT_FALSE(rewrite(b, q, &ns, nullptr, false));
  q = p;
  q.l4_len = 8;
  q.payload_offset = static_cast<uint16_t>(q.l4_offset + 8);
  EXPECT_FALSE(rewrite(b, q, &ns, nullptr, false));  // TCP header shorter than 20
  q = p;
  q.is_fragment = true;
  EXPECT_FALSE(rewrite(b, q, &ns, nullptr, false));
  q = p;
  q.l3_len = 24;
  q.l4_offset = 24;
  EXPECT_FALSE(rewrite(b, q, &ns, nullptr, false));
  EXPECT_EQ(b, orig);
  EXPECT_TRUE(rewrite(b, p, &ns, nullptr, false));
}

TEST(Rewrite, TwiceWithTheSameParsedStaysCorrect) {
  Bytes b = ipv4(packet::kProtoUdp, "10.0.0.2", "203.0.113.2", udp(1000, 53, text("q")));
  make_full(b);
  Parsed p = parsed(b);
  Endpoint d1{addr("10.9.9.9"), 5353};
  Endpoint s1{addr("198.51.100.1"), 2048};
  ASSERT_TRUE(rewrite(b, p, nullptr, &d1, false));
  ASSERT_TRUE(rewrite(b, p, &s1, nullptr, false));  // p is stale now
  EXPECT_TRUE(packet::verify_checksums(b));
  Parsed a = parsed(b);
  EXPECT_EQ(a.src, s1.addr);
  EXPECT_EQ(a.dst, d1.addr);
  EXPECT_EQ(a.sport, 2048);
  EXPECT_EQ(a.dport, 5353);
}

// Fuzzer find: ICMP (protocol 1) inside IPv6 has its checksum where
// packet::verify_checksums() looks (no pseudo header); the echo id change must
// update it there too.
TEST(Rewrite, IcmpV4OverIpv6KeepsChecksumConsistent) {
  Bytes b = ipv6(packet::kProtoIcmp, "2001:db8::2", "2001:db8:1::2", echo(8, 100, 1));
  make_full(b);
  ASSERT_TRUE(packet::verify_checksums(b));
  Endpoint ns{addr("2001:db8:ff::1"), 2048};
  ASSERT_TRUE(rewrite(b, parsed(b), &ns, nullptr, false));
  EXPECT_EQ(parsed(b).sport, 2048);
  EXPECT_TRUE(packet::verify_checksums(b));
}

// Fuzzer find: an ICMP message that is all zeros but the checksum (echo
// reply, id 0 after the rewrite, seq 0, no data) must carry 0xffff; RFC 1624
// eqn. 3 alone yields 0x0000, which does not verify.
TEST(Rewrite, AllZeroIcmpGetsNegativeZeroChecksum) {
  for (bool v6 : {false, true}) {
    Bytes b = v6 ? ipv6(packet::kProtoIcmp, "2001:db8::2", "2001:db8:1::2", echo(0, 0x45, 0, {}))
                 : ipv4(packet::kProtoIcmp, "10.0.0.2", "203.0.113.2", echo(0, 0x45, 0, {}));
    make_full(b);
    Endpoint nd{v6 ? addr("2001:db8:2::2") : addr("10.0.0.3"), 0};
    ASSERT_TRUE(rewrite(b, parsed(b), nullptr, &nd, false));
    EXPECT_EQ(parsed(b).dport, 0);
    EXPECT_EQ(get16(b, parsed(b).l4_offset + 2), 0xffff);
    EXPECT_TRUE(packet::verify_checksums(b));
  }
}

// ---------------------------------------------------------------------------
// ICMP errors

struct ErrorCase {
  uint8_t version;
  Kind kind;
  size_t quote;  // bytes of the translated packet the router quotes (0 = all)
};

class IcmpErrorTest : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(IcmpErrorTest, TranslatedBackToInsideHost) {
  const ErrorCase c = GetParam();
  const bool v4 = c.version == 4;
  const char* inside = v4 ? "10.0.0.2" : "fd00::2";
  const char* server = v4 ? "203.0.113.2" : "2001:db8:3::2";
  const char* pub = v4 ? "198.51.100.1" : "2001:db8:ff::1";
  const char* router = v4 ? "203.0.113.254" : "2001:db8:3::fe";
  std::mt19937 rng(c.quote + c.version);
  Bytes payload = random_bytes(rng, 300);

  Bytes l4;
  uint8_t proto;
  switch (c.kind) {
    case Kind::kTcp:
      proto = packet::kProtoTcp;
      l4 = tcp(40000, 80, 1111, 2222, packet::kTcpAck | packet::kTcpPsh, {}, payload);
      break;
    case Kind::kUdp:
      proto = packet::kProtoUdp;
      l4 = udp(40000, 53, payload);
      break;
    default:
      proto = v4 ? packet::kProtoIcmp : packet::kProtoIcmpv6;
      l4 = echo(v4 ? 8 : 128, 40000, 1, payload);
      break;
  }
  Bytes orig = v4 ? ipv4(proto, inside, server, l4) : ipv6(proto, inside, server, l4);
  make_full(orig);

  // SNAT on the way out.
  Bytes out = orig;
  Endpoint snat{addr(pub), 2048};
  ASSERT_TRUE(rewrite(out, parsed(out), &snat, nullptr, false));
  ASSERT_TRUE(packet::verify_checksums(out));

  // The router beyond answers with an error quoting what it got.
  size_t qlen = c.quote == 0 ? out.size() : std::min(c.quote, out.size());
  Bytes quoted(out.begin(), out.begin() + static_cast<long>(qlen));
  Bytes err = v4 ? ipv4(packet::kProtoIcmp, router, pub, icmp(3, 4, 1400, quoted))
                 : ipv6(packet::kProtoIcmpv6, router, pub, icmp(2, 0, 1280, quoted));
  make_full(err);
  Parsed pe = parsed(err);
  ASSERT_TRUE(pe.icmp_error);

  Endpoint back{addr(inside), 40000};
  Endpoint outer_dst{addr(inside), 0};
  ASSERT_TRUE(rewrite_icmp_error(err, pe, nullptr, &outer_dst, &back, nullptr));
  EXPECT_TRUE(packet::verify_checksums(err));
  Parsed pa = parsed(err);
  EXPECT_EQ(pa.dst, addr(inside));
  EXPECT_EQ(pa.src, addr(router));

  std::span<const uint8_t> inner(err.data() + pa.inner_offset, err.size() - pa.inner_offset);
  std::optional<Parsed> q = packet::parse_quoted(inner);
  ASSERT_TRUE(q);
  EXPECT_EQ(q->src, addr(inside));
  EXPECT_EQ(q->dst, addr(server));
  if (q->has_l4) {
    EXPECT_EQ(q->sport, 40000);
    if (c.kind != Kind::kEcho) {
      EXPECT_EQ(q->dport, c.kind == Kind::kTcp ? 80 : 53);
    }
  }
  if (v4) {
    EXPECT_EQ(packet::csum_fold(packet::csum_add(0, inner.subspan(0, q->l3_len))), 0xffff);
  }
  // Byte for byte what the inside host sent (the checksum up to its two zeros).
  Parsed po = parsed(orig);
  size_t at = l4_csum_at(po);
  for (size_t i = 0; i < qlen; ++i) {
    if (i == at || i == at + 1) continue;
    ASSERT_EQ(inner[i], orig[i]) << "byte " << i;
  }
  if (at + 2 <= qlen) {
    EXPECT_TRUE(
        csum_equiv(static_cast<uint16_t>((inner[at] << 8) | inner[at + 1]), get16(orig, at)));
  }
}

INSTANTIATE_TEST_SUITE_P(
    All, IcmpErrorTest,
    ::testing::Values(ErrorCase{4, Kind::kTcp, 28}, ErrorCase{4, Kind::kTcp, 40},
                      ErrorCase{4, Kind::kTcp, 0}, ErrorCase{4, Kind::kUdp, 28},
                      ErrorCase{4, Kind::kUdp, 0}, ErrorCase{4, Kind::kEcho, 28},
                      ErrorCase{4, Kind::kEcho, 0}, ErrorCase{4, Kind::kTcp, 24},
                      ErrorCase{6, Kind::kTcp, 48}, ErrorCase{6, Kind::kTcp, 0},
                      ErrorCase{6, Kind::kUdp, 0}, ErrorCase{6, Kind::kUdp, 48},
                      ErrorCase{6, Kind::kEcho, 0}, ErrorCase{6, Kind::kEcho, 200}));

TEST(IcmpError, RefusesWhatIsNotATranslatableError) {
  Endpoint e{addr("10.0.0.2"), 1};
  Bytes ping = ipv4(packet::kProtoIcmp, "1.1.1.1", "2.2.2.2", echo(8, 1, 1));
  make_full(ping);
  EXPECT_FALSE(rewrite_icmp_error(ping, parsed(ping), nullptr, &e, &e, nullptr));

  // Quoted part too short for an IP header.
  Bytes err = ipv4(packet::kProtoIcmp, "1.1.1.1", "2.2.2.2", icmp(3, 1, 0, Bytes(10, 0x45)));
  make_full(err);
  const Bytes before = err;
  EXPECT_FALSE(rewrite_icmp_error(err, parsed(err), nullptr, &e, &e, nullptr));
  EXPECT_EQ(err, before);

  // Error about an error.
  Bytes inner_err = ipv4(packet::kProtoIcmp, "2.2.2.2", "3.3.3.3", icmp(11, 0, 0, Bytes(28, 0)));
  Bytes ee = ipv4(packet::kProtoIcmp, "1.1.1.1", "2.2.2.2", icmp(3, 1, 0, inner_err));
  make_full(ee);
  EXPECT_FALSE(rewrite_icmp_error(ee, parsed(ee), nullptr, &e, &e, nullptr));

  // Wrong family endpoints.
  Bytes ok_inner = ipv4(packet::kProtoUdp, "2.2.2.2", "3.3.3.3", udp(1, 2));
  Bytes ok = ipv4(packet::kProtoIcmp, "1.1.1.1", "2.2.2.2", icmp(3, 1, 0, ok_inner));
  make_full(ok);
  Endpoint e6{addr("::1"), 1};
  EXPECT_FALSE(rewrite_icmp_error(ok, parsed(ok), nullptr, &e6, nullptr, nullptr));
  EXPECT_TRUE(rewrite_icmp_error(ok, parsed(ok), nullptr, &e, &e, nullptr));
  EXPECT_TRUE(packet::verify_checksums(ok));
}

}  // namespace
}  // namespace fw::nat
