#include "packet/checksum.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "packet/parse.h"
#include "tests/unit/packet/builders.h"

namespace fw::packet {
namespace {

using namespace fw::packet::testing;

constexpr const char* kIn = "198.18.1.2";
constexpr const char* kOut = "203.0.113.2";
constexpr const char* kIn6 = "2001:db8:1::2";
constexpr const char* kOut6 = "2001:db8:3::2";

// 0x0000 and 0xffff are the two zeros of one's-complement arithmetic.
bool csum_equiv(uint16_t a, uint16_t b) {
  auto norm = [](uint16_t v) { return v == 0xffff ? uint16_t{0} : v; };
  return norm(a) == norm(b);
}

Parsed parsed(const Bytes& b) {
  ParseResult r = parse(b);
  EXPECT_TRUE(std::holds_alternative<Parsed>(r));
  return std::holds_alternative<Parsed>(r) ? std::get<Parsed>(r) : Parsed{};
}

size_t l4_csum_at(const Parsed& p) {
  return p.l4_offset + (p.proto == kProtoTcp ? 16u : p.proto == kProtoUdp ? 6u : 2u);
}

TEST(Checksum, KnownVectors) {
  // RFC 1071 section 3 example: the folded sum is 0xddf2.
  Bytes rfc1071 = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
  EXPECT_EQ(csum_fold(csum_add(0, rfc1071)), 0xddf2);
  EXPECT_EQ(csum(rfc1071), static_cast<uint16_t>(~0xddf2));
  // A textbook IPv4 header whose checksum is 0xb861.
  Bytes hdr = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
               0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};
  EXPECT_EQ(csum(hdr), 0xb861);
  // Odd length pads with a zero byte.
  Bytes odd = {0x12, 0x34, 0x56};
  EXPECT_EQ(csum_fold(csum_add(0, odd)), 0x1234 + 0x5600);
  // Chunks of even length chain.
  Bytes a(hdr.begin(), hdr.begin() + 10), b(hdr.begin() + 10, hdr.end());
  EXPECT_EQ(csum_fold(csum_add(csum_add(0, a), b)), csum_fold(csum_add(0, hdr)));
  EXPECT_EQ(csum_fold(0x1ffff), 0x0001);
  EXPECT_EQ(csum_fold(0xffffffff), 0xffff);
  EXPECT_EQ(csum({}), 0xffff);
}

TEST(Checksum, PseudoHeader) {
  Bytes ph4;
  common::IpAddr s = addr(kIn), d = addr(kOut);
  ph4.insert(ph4.end(), s.b.begin(), s.b.begin() + 4);
  ph4.insert(ph4.end(), d.b.begin(), d.b.begin() + 4);
  ph4.insert(ph4.end(), {0, kProtoTcp, 0x05, 0xdc});
  EXPECT_EQ(csum_fold(pseudo_header_sum(s, d, kProtoTcp, 1500)), csum_fold(csum_add(0, ph4)));

  Bytes ph6;
  common::IpAddr s6 = addr(kIn6), d6 = addr(kOut6);
  ph6.insert(ph6.end(), s6.b.begin(), s6.b.end());
  ph6.insert(ph6.end(), d6.b.begin(), d6.b.end());
  ph6.insert(ph6.end(), {0, 1, 0x11, 0x70, 0, 0, 0, kProtoUdp});
  EXPECT_EQ(csum_fold(pseudo_header_sum(s6, d6, kProtoUdp, 70000)), csum_fold(csum_add(0, ph6)));
}

// Packets of every checksummed kind, checksums filled.
std::vector<std::pair<std::string, Bytes>> sample_packets() {
  std::vector<std::pair<std::string, Bytes>> v = {
      {"v4_tcp", ipv4(kProtoTcp, kIn, kOut, tcp(40000, 21, 1, 2, kTcpAck, {}, text("USER x\r\n")))},
      {"v4_udp", ipv4(kProtoUdp, kIn, kOut,
                      udp(5000, 69,
                          text("\x00\x01"
                               "file\x00octet")))},
      {"v4_udp_odd", ipv4(kProtoUdp, kIn, kOut, udp(5000, 69, text("odd")))},
      {"v4_icmp", ipv4(kProtoIcmp, kIn, kOut, echo(8, 1, 1, text("abcdefg")))},
      {"v6_tcp", ipv6(kProtoTcp, kIn6, kOut6, tcp(1, 2, 3, 4, kTcpSyn, {2, 4, 5, 0xa0}))},
      {"v6_udp", ipv6(kProtoUdp, kIn6, kOut6, udp(1000, 2000, text("hello")))},
      {"v6_icmpv6", ipv6(kProtoIcmpv6, kIn6, kOut6, echo(128, 7, 7, text("x")))},
      {"v6_ext_tcp",
       ipv6(60, kIn6, kOut6, cat({ext(kProtoTcp), tcp(1, 2, 3, 4, kTcpAck, {}, text("y"))}))},
  };
  for (auto& [name, b] : v) {
    // UDP over IPv4 starts with a non-zero checksum so it is computed.
    Parsed p = parsed(b);
    if (p.proto == kProtoUdp) set16(b, l4_csum_at(p), 1);
    EXPECT_TRUE(fix_checksums(b, false)) << name;
  }
  return v;
}

TEST(Checksum, FixVerifyRoundTrip) {
  for (auto [name, b] : sample_packets()) {
    SCOPED_TRACE(name);
    EXPECT_TRUE(verify_checksums(b));
    Parsed p = parsed(b);
    Bytes bad = b;
    bad[l4_csum_at(p)] ^= 0x40;
    EXPECT_FALSE(verify_checksums(bad));
    ASSERT_TRUE(fix_checksums(bad, false));
    EXPECT_EQ(bad, b);
    if (p.ip_version == 4) {
      Bytes bad_ip = b;
      bad_ip[10] ^= 1;
      EXPECT_FALSE(verify_checksums(bad_ip));
    }
    // A payload change is caught.
    Bytes bad_data = b;
    bad_data.back() ^= 0x10;
    EXPECT_FALSE(verify_checksums(bad_data));
  }
}

TEST(Checksum, PartialModeStoresFoldedPseudoHeaderSum) {
  for (auto [name, b] : sample_packets()) {
    SCOPED_TRACE(name);
    Parsed p = parsed(b);
    Bytes part = b;
    ASSERT_TRUE(fix_checksums(part, true));
    uint32_t l4_bytes = static_cast<uint32_t>(p.l4_len + p.payload_len);
    uint16_t want =
        p.proto == kProtoIcmp ? 0 : csum_fold(pseudo_header_sum(p.src, p.dst, p.proto, l4_bytes));
    EXPECT_EQ(get16(part, l4_csum_at(p)), want);
    if (p.ip_version == 4) {
      EXPECT_EQ(get16(part, 10), get16(b, 10));  // IP header full
    }
    // Complete it as a NIC does (sum from the transport header with the
    // field as is, store the inverted fold): the result must verify.
    uint16_t done = csum(std::span<const uint8_t>(part.data() + p.l4_offset, l4_bytes));
    if (p.proto == kProtoUdp && done == 0) done = 0xffff;
    set16(part, l4_csum_at(p), done);
    EXPECT_TRUE(verify_checksums(part));
  }
}

TEST(Checksum, UdpZeroRules) {
  // IPv4: zero means "no checksum" and stays zero; it still verifies.
  Bytes v4 = ipv4(kProtoUdp, kIn, kOut, udp(1, 2, text("abc")));
  ASSERT_TRUE(fix_checksums(v4, false));
  EXPECT_EQ(get16(v4, 26), 0);
  EXPECT_TRUE(verify_checksums(v4));
  ASSERT_TRUE(fix_checksums(v4, true));
  EXPECT_EQ(get16(v4, 26), 0);
  // IPv6: zero is not allowed and is computed; an unfixed zero fails.
  Bytes v6 = ipv6(kProtoUdp, kIn6, kOut6, udp(1, 2, text("abc")));
  EXPECT_FALSE(verify_checksums(v6));
  ASSERT_TRUE(fix_checksums(v6, false));
  EXPECT_NE(get16(v6, 46), 0);
  EXPECT_TRUE(verify_checksums(v6));
}

TEST(Checksum, UdpComputedZeroIsSentAsAllOnes) {
  for (bool v6 : {false, true}) {
    SCOPED_TRACE(v6 ? "v6" : "v4");
    auto build = [&](uint16_t word) {
      Bytes payload = {0, 0, 'a', 'b'};
      set16(payload, 0, word);
      Bytes u = udp(1234, 5678, payload);
      set16(u, 6, 1);
      return v6 ? ipv6(kProtoUdp, kIn6, kOut6, u) : ipv4(kProtoUdp, kIn, kOut, u);
    };
    Bytes b = build(0);
    ASSERT_TRUE(fix_checksums(b, false));
    size_t at = v6 ? 46 : 26;
    // Putting the checksum itself into the payload makes the sum 0xffff, so
    // the computed checksum is zero.
    Bytes z = build(get16(b, at));
    ASSERT_TRUE(fix_checksums(z, false));
    EXPECT_EQ(get16(z, at), 0xffff);
    EXPECT_TRUE(verify_checksums(z));
  }
}

TEST(Checksum, FragmentsOnlyGetTheIpHeaderChecksum) {
  Bytes u = udp(4000, 69, Bytes(100, 7));
  set16(u, 6, 0xabcd);
  V4Opts o;
  o.frag = 0x2000;
  Bytes first = ipv4(kProtoUdp, kIn, kOut, Bytes(u.begin(), u.begin() + 48), o);
  ASSERT_TRUE(fix_checksums(first, false));
  EXPECT_EQ(get16(first, 26), 0xabcd);
  EXPECT_TRUE(verify_checksums(first));  // only the IP header is checkable
  o.frag = 6;
  Bytes last = ipv4(kProtoUdp, kIn, kOut, Bytes(u.begin() + 48, u.end()), o);
  Bytes before = last;
  ASSERT_TRUE(fix_checksums(last, true));
  EXPECT_TRUE(std::equal(before.begin() + 20, before.end(), last.begin() + 20));
  EXPECT_TRUE(verify_checksums(last));

  Bytes v6 =
      ipv6(44, kIn6, kOut6, cat({frag6(kProtoUdp, 0, true, 9), Bytes(u.begin(), u.begin() + 32)}));
  Bytes v6_before = v6;
  ASSERT_TRUE(fix_checksums(v6, false));
  EXPECT_EQ(v6, v6_before);
}

TEST(Checksum, RoutingHeaderWithSegmentsLeftLeavesTransportAlone) {
  Bytes b = ipv6(43, kIn6, kOut6, cat({routing(kProtoUdp, 1), udp(1, 2, text("z"))}));
  Bytes before = b;
  ASSERT_TRUE(fix_checksums(b, false));
  EXPECT_EQ(b, before);
  Bytes done = ipv6(43, kIn6, kOut6, cat({routing(kProtoUdp, 0), udp(1, 2, text("z"))}));
  ASSERT_TRUE(fix_checksums(done, false));
  EXPECT_TRUE(verify_checksums(done));
}

TEST(Checksum, MalformedIsLeftAlone) {
  Bytes b = ipv4(kProtoTcp, kIn, kOut, Bytes(10, 0x77));
  Bytes before = b;
  EXPECT_FALSE(fix_checksums(b, false));
  EXPECT_EQ(b, before);
  EXPECT_FALSE(verify_checksums(b));
}

TEST(Checksum, IncrementalMatchesFullOnRandomData) {
  std::mt19937 rng(12345);
  for (int iter = 0; iter < 20000; ++iter) {
    size_t n = 2 * (4 + rng() % 60);
    Bytes data(n);
    for (auto& x : data) x = static_cast<uint8_t>(rng());
    if (iter % 7 == 0) std::fill(data.begin(), data.end(), iter % 14 ? 0xff : 0x00);
    uint16_t c = csum(data);
    switch (iter % 3) {
      case 0: {
        size_t at = 2 * (rng() % (n / 2));
        uint16_t old_v = get16(data, at);
        uint16_t new_v = static_cast<uint16_t>(iter % 11 ? rng() : (iter % 2 ? 0 : 0xffff));
        set16(data, at, new_v);
        ASSERT_TRUE(csum_equiv(csum_update16(c, old_v, new_v), csum(data))) << iter;
        break;
      }
      case 1: {
        size_t at = 2 * (rng() % (n / 2 - 1));
        uint32_t old_v = (static_cast<uint32_t>(get16(data, at)) << 16) | get16(data, at + 2);
        uint32_t new_v = static_cast<uint32_t>(rng());
        set16(data, at, static_cast<uint16_t>(new_v >> 16));
        set16(data, at + 2, static_cast<uint16_t>(new_v));
        ASSERT_TRUE(csum_equiv(csum_update32(c, old_v, new_v), csum(data))) << iter;
        break;
      }
      default: {
        bool v6 = rng() % 2;
        size_t len = v6 ? 16 : 4;
        if (n < len + 2) break;
        size_t at = 2 * (rng() % ((n - len) / 2 + 1));
        common::IpAddr old_a = v6 ? common::IpAddr::v6_bytes(data.data() + at)
                                  : common::IpAddr::v4_bytes(data.data() + at);
        common::IpAddr new_a = old_a;
        for (size_t i = 0; i < len; ++i) new_a.b[i] = static_cast<uint8_t>(rng());
        std::copy(new_a.b.begin(), new_a.b.begin() + static_cast<long>(len),
                  data.begin() + static_cast<long>(at));
        ASSERT_TRUE(csum_equiv(csum_update_addr(c, old_a, new_a), csum(data))) << iter;
        break;
      }
    }
  }
}

// NAT-like rewrites of whole packets: incremental updates of the transport
// and IPv4 header checksums must match a full recomputation.
TEST(Checksum, IncrementalMatchesFullOnRandomPackets) {
  std::mt19937 rng(777);
  auto rnd_bytes = [&](size_t n) {
    Bytes b(n);
    for (auto& x : b) x = static_cast<uint8_t>(rng());
    return b;
  };
  auto rnd_addr = [&](bool v6) {
    Bytes a = rnd_bytes(v6 ? 16 : 4);
    return v6 ? common::IpAddr::v6_bytes(a.data()) : common::IpAddr::v4_bytes(a.data());
  };
  for (int iter = 0; iter < 20000; ++iter) {
    bool v6 = rng() % 2;
    int kind = static_cast<int>(rng() % 3);  // tcp, udp, icmp(v6)
    common::IpAddr src = rnd_addr(v6), dst = rnd_addr(v6);
    Bytes payload = rnd_bytes(rng() % 64);
    Bytes l4;
    uint8_t proto;
    if (kind == 0) {
      proto = kProtoTcp;
      l4 = tcp(static_cast<uint16_t>(rng()), static_cast<uint16_t>(rng()),
               static_cast<uint32_t>(rng()), static_cast<uint32_t>(rng()), kTcpAck, {}, payload);
    } else if (kind == 1) {
      proto = kProtoUdp;
      l4 = udp(static_cast<uint16_t>(rng()), static_cast<uint16_t>(rng()), payload);
      set16(l4, 6, 1);
    } else {
      proto = v6 ? kProtoIcmpv6 : kProtoIcmp;
      l4 = echo(v6 ? 128 : 8, static_cast<uint16_t>(rng()), 1, payload);
    }
    Bytes b = v6 ? ipv6(proto, "::1", "::1", l4) : ipv4(proto, "1.1.1.1", "1.1.1.1", l4);
    size_t src_at = v6 ? 8 : 12, dst_at = v6 ? 24 : 16;
    std::copy(src.b.begin(), src.b.begin() + static_cast<long>(src.size()),
              b.begin() + static_cast<long>(src_at));
    std::copy(dst.b.begin(), dst.b.begin() + static_cast<long>(dst.size()),
              b.begin() + static_cast<long>(dst_at));
    ASSERT_TRUE(fix_checksums(b, false));
    Parsed p = parsed(b);
    size_t ck = l4_csum_at(p);
    uint16_t c = get16(b, ck);
    uint16_t ipc = v6 ? 0 : get16(b, 10);

    int change = static_cast<int>(rng() % 3);
    if (change == 0) {
      // Address rewrite: pseudo header (not for ICMPv4) and IPv4 header.
      bool which = rng() % 2;
      size_t at = which ? dst_at : src_at;
      common::IpAddr old_a = which ? dst : src;
      common::IpAddr new_a = rnd_addr(v6);
      std::copy(new_a.b.begin(), new_a.b.begin() + static_cast<long>(new_a.size()),
                b.begin() + static_cast<long>(at));
      if (proto != kProtoIcmp) c = csum_update_addr(c, old_a, new_a);
      if (!v6) ipc = csum_update_addr(ipc, old_a, new_a);
    } else if (change == 1) {
      // Port / echo id rewrite.
      size_t at = p.l4_offset + (proto == kProtoTcp || proto == kProtoUdp ? (rng() % 2) * 2 : 4);
      uint16_t old_v = get16(b, at);
      uint16_t new_v = static_cast<uint16_t>(rng());
      set16(b, at, new_v);
      c = csum_update16(c, old_v, new_v);
    } else {
      // 32-bit rewrite: TCP seq, the ICMP rest-of-header word, both UDP ports.
      size_t at = p.l4_offset + (proto == kProtoUdp ? 0 : 4);
      uint32_t old_v = (static_cast<uint32_t>(get16(b, at)) << 16) | get16(b, at + 2);
      uint32_t new_v = static_cast<uint32_t>(rng());
      set16(b, at, static_cast<uint16_t>(new_v >> 16));
      set16(b, at + 2, static_cast<uint16_t>(new_v));
      c = csum_update32(c, old_v, new_v);
    }
    if (proto == kProtoUdp && c == 0) c = 0xffff;
    set16(b, ck, c);
    if (!v6) set16(b, 10, ipc);
    ASSERT_TRUE(verify_checksums(b))
        << iter << " v6=" << v6 << " proto=" << int(proto) << " change=" << change;
    Bytes full = b;
    ASSERT_TRUE(fix_checksums(full, false));
    ASSERT_TRUE(csum_equiv(get16(full, ck), c)) << iter;
    if (!v6) {
      ASSERT_TRUE(csum_equiv(get16(full, 10), ipc)) << iter;
    }
  }
}

}  // namespace
}  // namespace fw::packet
