#include "packet/parse.h"

#include <gtest/gtest.h>

#include <functional>
#include <set>
#include <string>
#include <vector>

#include "packet/checksum.h"
#include "tests/unit/packet/builders.h"

namespace fw::packet {
namespace {

using namespace fw::packet::testing;

constexpr const char* kIn = "198.18.1.2";
constexpr const char* kOut = "203.0.113.2";
constexpr const char* kIn6 = "2001:db8:1::2";
constexpr const char* kOut6 = "2001:db8:3::2";
constexpr uint8_t kNhFragmentForTest = 44;

const Bytes kTcpOpts = {2, 4,  0x05, 0xb4,                    // MSS 1460
                        1,                                    // NOP
                        3, 3,  7,                             // window scale 7
                        4, 2,                                 // SACK permitted
                        8, 10, 0,    0,    0, 1, 0, 0, 0, 0,  // timestamps
                        0};                                   // EOL

Parsed must_parse(const Bytes& b) {
  ParseResult r = parse(b);
  if (auto* m = std::get_if<Malformed>(&r)) {
    ADD_FAILURE() << "malformed: " << malformed_name(*m);
    return {};
  }
  return std::get<Parsed>(r);
}

// Every successful parse keeps its offsets inside the datagram.
void expect_consistent(const Parsed& p, size_t size) {
  EXPECT_LE(p.l3_len, p.ip_total_len);
  EXPECT_LE(p.ip_total_len, size);
  EXPECT_EQ(p.l4_offset, p.l3_len);
  EXPECT_LE(static_cast<size_t>(p.payload_offset) + p.payload_len, p.ip_total_len);
  if (p.has_l4) {
    EXPECT_EQ(p.l4_offset + p.l4_len, p.payload_offset);
  }
}

struct ValidCase {
  std::string name;
  Bytes pkt;
  std::function<void(const Parsed&)> check;
};

std::vector<ValidCase> valid_cases() {
  std::vector<ValidCase> v;
  v.push_back({"v4_tcp_syn_options",
               ipv4(kProtoTcp, kIn, kOut, tcp(40312, 21, 1000, 0, kTcpSyn, kTcpOpts, text("hi"))),
               [](const Parsed& p) {
                 EXPECT_EQ(p.ip_version, 4);
                 EXPECT_EQ(p.src, addr(kIn));
                 EXPECT_EQ(p.dst, addr(kOut));
                 EXPECT_EQ(p.proto, kProtoTcp);
                 EXPECT_EQ(p.ttl, 64);
                 EXPECT_EQ(p.l3_len, 20);
                 EXPECT_TRUE(p.has_l4);
                 EXPECT_FALSE(p.is_fragment);
                 EXPECT_EQ(p.sport, 40312);
                 EXPECT_EQ(p.dport, 21);
                 EXPECT_EQ(p.seq, 1000u);
                 EXPECT_EQ(p.ack, 0u);
                 EXPECT_EQ(p.tcp_flags, kTcpSyn);
                 EXPECT_EQ(p.window, 64240);
                 EXPECT_EQ(p.l4_len, 44);  // 21 option bytes padded to 24
                 EXPECT_EQ(p.payload_offset, 64);
                 EXPECT_EQ(p.payload_len, 2);
               }});
  {
    // Ethernet minimum-frame padding after the datagram is not payload.
    Bytes b = ipv4(kProtoTcp, kIn, kOut, tcp(1, 2, 3, 4, kTcpAck | kTcpPsh, {}, text("abc")));
    b.insert(b.end(), 9, 0xee);
    v.push_back({"v4_trailing_bytes_ignored", b, [](const Parsed& p) {
                   EXPECT_EQ(p.ip_total_len, 43u);
                   EXPECT_EQ(p.payload_len, 3);
                   EXPECT_EQ(p.tcp_flags, kTcpAck | kTcpPsh);
                   EXPECT_EQ(p.ack, 4u);
                 }});
  }
  {
    V4Opts o;
    o.options = {1, 0x94, 4, 0, 0, 7, 3, 4, 0};  // NOP, router alert, record route, EOL
    v.push_back({"v4_options", ipv4(kProtoUdp, kIn, kOut, udp(5000, 53, text("q")), o),
                 [](const Parsed& p) {
                   EXPECT_EQ(p.l3_len, 32);
                   EXPECT_EQ(p.sport, 5000);
                   EXPECT_EQ(p.dport, 53);
                   EXPECT_EQ(p.payload_offset, 40);
                   EXPECT_EQ(p.payload_len, 1);
                 }});
  }
  {
    // UDP datagram shorter than the IP payload: the UDP length wins.
    Bytes u = udp(68, 67, text("dhcp"));
    u.insert(u.end(), 6, 0);
    v.push_back({"v4_udp_length_inside_ip", ipv4(kProtoUdp, kIn, kOut, u), [](const Parsed& p) {
                   EXPECT_EQ(p.payload_len, 4);
                   EXPECT_EQ(p.ip_total_len, 38u);
                 }});
  }
  v.push_back({"v4_icmp_echo_request", ipv4(kProtoIcmp, kIn, kOut, echo(8, 0x4242, 1)),
               [](const Parsed& p) {
                 EXPECT_TRUE(p.icmp_echo);
                 EXPECT_TRUE(p.icmp_echo_request);
                 EXPECT_FALSE(p.icmp_error);
                 EXPECT_EQ(p.icmp_type, 8);
                 EXPECT_EQ(p.sport, 0x4242);
                 EXPECT_EQ(p.dport, 0x4242);
                 EXPECT_EQ(p.payload_len, 4);
               }});
  v.push_back(
      {"v4_icmp_echo_reply", ipv4(kProtoIcmp, kOut, kIn, echo(0, 7, 9)), [](const Parsed& p) {
         EXPECT_TRUE(p.icmp_echo);
         EXPECT_FALSE(p.icmp_echo_request);
         EXPECT_EQ(p.sport, 7);
       }});
  v.push_back({"v4_icmp_other_type", ipv4(kProtoIcmp, kIn, kOut, icmp(13, 0, 0, Bytes(12, 0))),
               [](const Parsed& p) {
                 EXPECT_FALSE(p.icmp_echo);
                 EXPECT_FALSE(p.icmp_error);
                 EXPECT_EQ(p.sport, 0);
               }});
  for (uint8_t type : {3, 11, 12}) {
    Bytes inner = ipv4(kProtoUdp, kIn, kOut, udp(5060, 5060, text("INVITE")));
    v.push_back({"v4_icmp_error_" + std::to_string(type),
                 ipv4(kProtoIcmp, "203.0.113.1", kIn, icmp(type, 1, 0, inner)),
                 [type](const Parsed& p) {
                   EXPECT_TRUE(p.icmp_error);
                   EXPECT_EQ(p.icmp_type, type);
                   EXPECT_EQ(p.icmp_code, 1);
                   EXPECT_EQ(p.inner_offset, 28);
                 }});
  }
  v.push_back({"v4_gre_v0_plain", ipv4(kProtoGre, kIn, kOut, gre_v0({}, text("inner"))),
               [](const Parsed& p) {
                 EXPECT_EQ(p.gre_version, 0);
                 EXPECT_FALSE(p.gre_has_key);
                 EXPECT_EQ(p.l4_len, 4);
                 EXPECT_EQ(p.payload_len, 5);
               }});
  {
    GreV0 g;
    g.c = g.k = g.s = true;
    g.key = 0xdeadbeef;
    v.push_back(
        {"v4_gre_v0_cks", ipv4(kProtoGre, kIn, kOut, gre_v0(g, text("x"))), [](const Parsed& p) {
           EXPECT_TRUE(p.gre_has_key);
           EXPECT_EQ(p.gre_key, 0xdeadbeefu);
           EXPECT_EQ(p.l4_len, 16);
           EXPECT_EQ(p.dport, 0);
         }});
  }
  v.push_back({"v4_gre_v1_pptp",
               ipv4(kProtoGre, kIn, kOut, gre_v1(0x1abc, text("ppp"), true, true)),
               [](const Parsed& p) {
                 EXPECT_EQ(p.gre_version, 1);
                 EXPECT_TRUE(p.gre_has_key);
                 EXPECT_EQ(p.gre_key, (3u << 16) | 0x1abc);
                 EXPECT_EQ(p.dport, 0x1abc);
                 EXPECT_EQ(p.l4_len, 16);
                 EXPECT_EQ(p.payload_len, 3);
               }});
  v.push_back({"v4_gre_v1_ack_only", ipv4(kProtoGre, kIn, kOut, gre_v1(77, {}, false, true)),
               [](const Parsed& p) {
                 EXPECT_EQ(p.dport, 77);
                 EXPECT_EQ(p.l4_len, 12);
                 EXPECT_EQ(p.payload_len, 0);
               }});
  {
    Bytes esp;
    put32(esp, 0x01020304);
    put32(esp, 1);
    append(esp, Bytes(16, 0xaa));
    v.push_back({"v4_esp", ipv4(kProtoEsp, kIn, kOut, esp), [](const Parsed& p) {
                   EXPECT_EQ(p.spi, 0x01020304u);
                   EXPECT_EQ(p.l4_len, 8);
                   EXPECT_EQ(p.payload_len, 16);
                   EXPECT_EQ(p.sport, 0);
                 }});
  }
  {
    Bytes ah = {kProtoTcp, 4, 0, 0};  // 24 bytes: 12 fixed + 12 ICV
    put32(ah, 0xcafef00d);
    put32(ah, 5);
    append(ah, Bytes(12, 0x55));
    append(ah, tcp(1, 2, 3, 4, kTcpAck));
    v.push_back({"v4_ah", ipv4(kProtoAh, kIn, kOut, ah), [](const Parsed& p) {
                   EXPECT_EQ(p.proto, kProtoAh);
                   EXPECT_EQ(p.spi, 0xcafef00du);
                   EXPECT_EQ(p.l4_len, 24);
                   EXPECT_EQ(p.payload_len, 20);
                 }});
  }
  v.push_back({"v4_other_proto", ipv4(89, kIn, kOut, Bytes(30, 1)), [](const Parsed& p) {
                 EXPECT_EQ(p.proto, 89);
                 EXPECT_TRUE(p.has_l4);
                 EXPECT_EQ(p.l4_offset, 20);
                 EXPECT_EQ(p.l4_len, 0);
                 EXPECT_EQ(p.payload_offset, 20);
                 EXPECT_EQ(p.payload_len, 30);
               }});
  {
    // First fragment of a UDP datagram: UDP length covers the whole datagram.
    Bytes u = udp(4000, 69, Bytes(100, 7));
    Bytes first(u.begin(), u.begin() + 48);
    V4Opts o;
    o.frag = 0x2000;
    o.id = 0x7777;
    v.push_back({"v4_first_fragment", ipv4(kProtoUdp, kIn, kOut, first, o), [](const Parsed& p) {
                   EXPECT_TRUE(p.is_fragment);
                   EXPECT_TRUE(p.first_fragment);
                   EXPECT_EQ(p.frag_id, 0x7777u);
                   EXPECT_TRUE(p.has_l4);
                   EXPECT_EQ(p.sport, 4000);
                   EXPECT_EQ(p.payload_len, 40);
                 }});
    Bytes rest(u.begin() + 48, u.end());
    o.frag = 48 / 8;  // last fragment, offset 48
    v.push_back({"v4_last_fragment", ipv4(kProtoUdp, kIn, kOut, rest, o), [](const Parsed& p) {
                   EXPECT_TRUE(p.is_fragment);
                   EXPECT_FALSE(p.first_fragment);
                   EXPECT_FALSE(p.has_l4);
                   EXPECT_EQ(p.proto, kProtoUdp);
                   EXPECT_EQ(p.sport, 0);
                   EXPECT_EQ(p.payload_offset, 20);
                   EXPECT_EQ(p.payload_len, 60);
                 }});
    o.frag = 0x4000;  // DF only: not a fragment
    v.push_back({"v4_df_not_fragment", ipv4(kProtoUdp, kIn, kOut, u, o), [](const Parsed& p) {
                   EXPECT_FALSE(p.is_fragment);
                   EXPECT_EQ(p.payload_len, 100);
                 }});
  }

  // IPv6.
  v.push_back({"v6_tcp",
               ipv6(kProtoTcp, kIn6, kOut6, tcp(33000, 80, 5, 6, kTcpSyn | kTcpAck, kTcpOpts)),
               [](const Parsed& p) {
                 EXPECT_EQ(p.ip_version, 6);
                 EXPECT_EQ(p.src, addr(kIn6));
                 EXPECT_EQ(p.dst, addr(kOut6));
                 EXPECT_EQ(p.l3_len, 40);
                 EXPECT_EQ(p.sport, 33000);
                 EXPECT_EQ(p.tcp_flags, kTcpSyn | kTcpAck);
                 EXPECT_EQ(p.payload_len, 0);
               }});
  v.push_back(
      {"v6_udp", ipv6(kProtoUdp, kIn6, kOut6, udp(1000, 2000, text("hello"))), [](const Parsed& p) {
         EXPECT_EQ(p.proto, kProtoUdp);
         EXPECT_EQ(p.payload_offset, 48);
         EXPECT_EQ(p.payload_len, 5);
       }});
  v.push_back(
      {"v6_icmp_echo", ipv6(kProtoIcmpv6, kIn6, kOut6, echo(128, 99, 1)), [](const Parsed& p) {
         EXPECT_TRUE(p.icmp_echo);
         EXPECT_TRUE(p.icmp_echo_request);
         EXPECT_EQ(p.sport, 99);
       }});
  v.push_back({"v6_icmp_echo_reply", ipv6(kProtoIcmpv6, kOut6, kIn6, echo(129, 99, 1)),
               [](const Parsed& p) {
                 EXPECT_TRUE(p.icmp_echo);
                 EXPECT_FALSE(p.icmp_echo_request);
               }});
  v.push_back({"v6_icmp_nd_not_error",
               ipv6(kProtoIcmpv6, kIn6, kOut6, icmp(135, 0, 0, Bytes(16, 0))), [](const Parsed& p) {
                 EXPECT_FALSE(p.icmp_echo);
                 EXPECT_FALSE(p.icmp_error);
               }});
  for (uint8_t type : {1, 2, 3, 4}) {
    Bytes inner = ipv6(kProtoUdp, kIn6, kOut6, udp(1000, 2000, text("x")));
    v.push_back({"v6_icmp_error_" + std::to_string(type),
                 ipv6(kProtoIcmpv6, "2001:db8:3::1", kIn6, icmp(type, 0, 1280, inner)),
                 [](const Parsed& p) {
                   EXPECT_TRUE(p.icmp_error);
                   EXPECT_EQ(p.inner_offset, 48);
                 }});
  }
  v.push_back({"v6_ext_chain",
               ipv6(0, kIn6, kOut6,
                    cat({ext(43, {5, 2, 0, 0}),                         // hop-by-hop: router alert
                         routing(60, 0), ext(kProtoTcp, {1, 2, 0, 0}),  // PadN in dest opts
                         tcp(1, 2, 3, 4, kTcpAck)})),
               [](const Parsed& p) {
                 EXPECT_EQ(p.proto, kProtoTcp);
                 EXPECT_EQ(p.l3_len, 40 + 8 + 24 + 8);
                 EXPECT_EQ(p.sport, 1);
                 EXPECT_EQ(p.dport, 2);
               }});
  {
    Bytes ah = {kProtoUdp, 4, 0, 0};
    put32(ah, 0x11223344);
    put32(ah, 1);
    append(ah, Bytes(12, 0));
    append(ah, udp(1, 2));
    v.push_back({"v6_ah_is_transport", ipv6(kProtoAh, kIn6, kOut6, ah), [](const Parsed& p) {
                   EXPECT_EQ(p.proto, kProtoAh);
                   EXPECT_EQ(p.spi, 0x11223344u);
                 }});
    Bytes esp;
    put32(esp, 0x99);
    put32(esp, 1);
    v.push_back({"v6_esp_after_dstopts", ipv6(60, kIn6, kOut6, cat({ext(kProtoEsp), esp})),
                 [](const Parsed& p) {
                   EXPECT_EQ(p.proto, kProtoEsp);
                   EXPECT_EQ(p.spi, 0x99u);
                   EXPECT_EQ(p.l3_len, 48);
                 }});
  }
  {
    Bytes eight;
    for (int i = 0; i < 8; ++i) append(eight, ext(i == 7 ? kProtoUdp : 60));
    append(eight, udp(9, 10));
    v.push_back({"v6_eight_ext_headers_allowed", ipv6(60, kIn6, kOut6, eight), [](const Parsed& p) {
                   EXPECT_EQ(p.l3_len, 40 + 64);
                   EXPECT_EQ(p.dport, 10);
                 }});
  }
  v.push_back({"v6_no_next_header", ipv6(59, kIn6, kOut6, {}), [](const Parsed& p) {
                 EXPECT_EQ(p.proto, 59);
                 EXPECT_TRUE(p.has_l4);
                 EXPECT_EQ(p.payload_len, 0);
               }});
  {
    Bytes u = udp(7000, 7001, Bytes(64, 3));
    Bytes first(u.begin(), u.begin() + 32);
    Bytes rest(u.begin() + 32, u.end());
    v.push_back(
        {"v6_first_fragment",
         ipv6(kNhFragmentForTest, kIn6, kOut6, cat({frag6(kProtoUdp, 0, true, 0xabcdef01), first})),
         [](const Parsed& p) {
           EXPECT_TRUE(p.is_fragment);
           EXPECT_TRUE(p.first_fragment);
           EXPECT_EQ(p.frag_id, 0xabcdef01u);
           EXPECT_TRUE(p.has_l4);
           EXPECT_EQ(p.sport, 7000);
           EXPECT_EQ(p.l3_len, 48);
         }});
    v.push_back({"v6_last_fragment",
                 ipv6(kNhFragmentForTest, kIn6, kOut6,
                      cat({frag6(kProtoUdp, 32, false, 0xabcdef01), rest})),
                 [](const Parsed& p) {
                   EXPECT_TRUE(p.is_fragment);
                   EXPECT_FALSE(p.first_fragment);
                   EXPECT_FALSE(p.has_l4);
                   EXPECT_EQ(p.proto, kProtoUdp);
                   EXPECT_EQ(p.frag_id, 0xabcdef01u);
                   EXPECT_EQ(p.payload_len, 40);
                 }});
    v.push_back({"v6_atomic_fragment",
                 ipv6(kNhFragmentForTest, kIn6, kOut6, cat({frag6(kProtoUdp, 0, false, 5), u})),
                 [](const Parsed& p) {
                   EXPECT_FALSE(p.is_fragment);
                   EXPECT_TRUE(p.has_l4);
                   EXPECT_EQ(p.frag_id, 5u);
                   EXPECT_EQ(p.payload_len, 64);
                 }});
  }
  return v;
}

TEST(Parse, ValidPackets) {
  for (const ValidCase& c : valid_cases()) {
    SCOPED_TRACE(c.name);
    ParseResult r = parse(c.pkt);
    ASSERT_TRUE(std::holds_alternative<Parsed>(r)) << malformed_name(std::get<Malformed>(r));
    const Parsed& p = std::get<Parsed>(r);
    expect_consistent(p, c.pkt.size());
    c.check(p);
  }
}

struct BadCase {
  std::string name;
  Bytes pkt;
  Malformed want;
};

std::vector<BadCase> bad_cases() {
  std::vector<BadCase> v;
  Bytes good4 = ipv4(kProtoTcp, kIn, kOut, tcp(1, 2, 3, 4, kTcpAck));
  Bytes good6 = ipv6(kProtoUdp, kIn6, kOut6, udp(1, 2, text("x")));

  v.push_back({"empty", {}, Malformed::kTruncated});
  v.push_back({"v4_short_header", Bytes(good4.begin(), good4.begin() + 19), Malformed::kTruncated});
  v.push_back({"v6_short_header", Bytes(good6.begin(), good6.begin() + 39), Malformed::kTruncated});
  v.push_back({"v4_tcp_short", ipv4(kProtoTcp, kIn, kOut, Bytes(19, 0)), Malformed::kTruncated});
  v.push_back({"v4_udp_short", ipv4(kProtoUdp, kIn, kOut, Bytes(7, 0)), Malformed::kTruncated});
  v.push_back({"v4_gre_short", ipv4(kProtoGre, kIn, kOut, Bytes(3, 0)), Malformed::kTruncated});
  v.push_back({"v4_esp_short", ipv4(kProtoEsp, kIn, kOut, Bytes(7, 0)), Malformed::kTruncated});
  {
    Bytes ah = {kProtoTcp, 9, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1};  // claims 44 bytes
    v.push_back({"v4_ah_short", ipv4(kProtoAh, kIn, kOut, ah), Malformed::kTruncated});
  }
  {
    // First fragment with only 16 bytes of a 20-byte TCP header.
    Bytes t = tcp(1, 2, 3, 4, kTcpSyn);
    V4Opts o;
    o.frag = 0x2000;
    v.push_back({"v4_first_fragment_cuts_tcp",
                 ipv4(kProtoTcp, kIn, kOut, Bytes(t.begin(), t.begin() + 16), o),
                 Malformed::kTruncated});
    // TCP header with options (32 bytes) cut at 24 by the fragment boundary.
    Bytes t2 = tcp(1, 2, 3, 4, kTcpSyn, kTcpOpts);
    v.push_back({"v4_first_fragment_cuts_tcp_options",
                 ipv4(kProtoTcp, kIn, kOut, Bytes(t2.begin(), t2.begin() + 24), o),
                 Malformed::kTruncated});
    GreV0 g;
    g.c = g.k = g.s = true;
    Bytes gre = gre_v0(g);
    v.push_back({"v4_first_fragment_cuts_gre",
                 ipv4(kProtoGre, kIn, kOut, Bytes(gre.begin(), gre.begin() + 8), o),
                 Malformed::kTruncated});
  }
  v.push_back(
      {"v6_first_fragment_cuts_tcp",
       ipv6(kNhFragmentForTest, kIn6, kOut6, cat({frag6(kProtoTcp, 0, true, 1), Bytes(16, 0)})),
       Malformed::kTruncated});

  {
    Bytes b = good4;
    b[0] = 0x55;
    v.push_back({"version_5", b, Malformed::kBadVersion});
    b[0] = 0x05;
    v.push_back({"version_0", b, Malformed::kBadVersion});
  }
  {
    V4Opts o;
    o.ihl = 4;
    v.push_back({"ihl_4", ipv4(kProtoTcp, kIn, kOut, tcp(1, 2, 3, 4, 0), o), Malformed::kBadIhl});
    o.ihl = 15;  // 60 bytes, but only 40 in the buffer
    v.push_back(
        {"ihl_past_buffer", ipv4(kProtoTcp, kIn, kOut, Bytes(20, 0), o), Malformed::kBadIhl});
  }
  {
    V4Opts o;
    o.total_len = 19;
    v.push_back({"v4_total_below_ihl", ipv4(kProtoUdp, kIn, kOut, udp(1, 2), o),
                 Malformed::kBadTotalLength});
    o.total_len = 29;
    v.push_back({"v4_total_past_buffer", ipv4(kProtoUdp, kIn, kOut, udp(1, 2), o),
                 Malformed::kBadTotalLength});
    v.push_back({"v6_payload_past_buffer", ipv6(kProtoUdp, kIn6, kOut6, udp(1, 2), 9),
                 Malformed::kBadTotalLength});
  }
  {
    V4Opts o;
    o.options = {7, 0, 0, 0};  // length 0
    v.push_back({"v4_option_len_0", ipv4(kProtoTcp, kIn, kOut, tcp(1, 2, 3, 4, 0), o),
                 Malformed::kBadIpv4Options});
    o.options = {1, 1, 1, 7, 1, 0, 0, 0};  // length 1
    v.push_back({"v4_option_len_1", ipv4(kProtoTcp, kIn, kOut, tcp(1, 2, 3, 4, 0), o),
                 Malformed::kBadIpv4Options});
    o.options = {1, 7, 8, 4};  // runs 4 bytes past the header
    v.push_back({"v4_option_past_header", ipv4(kProtoTcp, kIn, kOut, tcp(1, 2, 3, 4, 0), o),
                 Malformed::kBadIpv4Options});
    o.options = {1, 1, 1, 68};  // timestamp type byte with no room for its length
    v.push_back({"v4_option_no_length", ipv4(kProtoTcp, kIn, kOut, tcp(1, 2, 3, 4, 0), o),
                 Malformed::kBadIpv4Options});
  }
  {
    Bytes chain;
    for (int i = 0; i < 9; ++i) append(chain, ext(i == 8 ? kProtoUdp : 60));
    append(chain, udp(1, 2));
    v.push_back({"v6_chain_too_long", ipv6(60, kIn6, kOut6, chain), Malformed::kBadIpv6ExtHeader});
    v.push_back({"v6_hbh_not_first",
                 ipv6(60, kIn6, kOut6, cat({ext(0), ext(kProtoUdp), udp(1, 2)})),
                 Malformed::kBadIpv6ExtHeader});
    Bytes big = ext(kProtoUdp, Bytes(14, 0));
    big[1] = 5;  // claims 48 bytes
    v.push_back({"v6_ext_past_packet", ipv6(60, kIn6, kOut6, big), Malformed::kBadIpv6ExtHeader});
    v.push_back({"v6_ext_cut", ipv6(60, kIn6, kOut6, Bytes{kProtoUdp, 0, 1, 0}),
                 Malformed::kBadIpv6ExtHeader});
    v.push_back({"v6_bad_tlv", ipv6(0, kIn6, kOut6, cat({ext(kProtoUdp, {1, 9, 0, 0}), udp(1, 2)})),
                 Malformed::kBadIpv6ExtHeader});
    v.push_back({"v6_frag_cut", ipv6(kNhFragmentForTest, kIn6, kOut6, Bytes{kProtoUdp, 0, 0, 1}),
                 Malformed::kBadIpv6ExtHeader});
  }
  {
    Bytes t = tcp(1, 2, 3, 4, kTcpAck);
    t[12] = 0x40;
    v.push_back({"tcp_offset_4", ipv4(kProtoTcp, kIn, kOut, t), Malformed::kBadTcpOffset});
    t[12] = 0xf0;
    v.push_back(
        {"tcp_offset_past_segment", ipv4(kProtoTcp, kIn, kOut, t), Malformed::kBadTcpOffset});
    v.push_back(
        {"v6_tcp_offset_past_segment", ipv6(kProtoTcp, kIn6, kOut6, t), Malformed::kBadTcpOffset});
  }
  v.push_back({"tcp_option_len_1",
               ipv4(kProtoTcp, kIn, kOut, tcp(1, 2, 3, 4, kTcpSyn, {1, 2, 1, 1})),
               Malformed::kBadTcpOptions});
  v.push_back({"tcp_option_len_0",
               ipv4(kProtoTcp, kIn, kOut, tcp(1, 2, 3, 4, kTcpSyn, {8, 0, 1, 1})),
               Malformed::kBadTcpOptions});
  v.push_back({"tcp_option_past_header",
               ipv4(kProtoTcp, kIn, kOut, tcp(1, 2, 3, 4, kTcpSyn, {1, 1, 8, 10, 0, 0, 0, 0})),
               Malformed::kBadTcpOptions});
  v.push_back({"tcp_option_kind_last_byte",
               ipv4(kProtoTcp, kIn, kOut, tcp(1, 2, 3, 4, kTcpSyn, {1, 1, 1, 2})),
               Malformed::kBadTcpOptions});
  {
    Bytes u = udp(1, 2, text("abc"));
    set16(u, 4, 7);
    v.push_back({"udp_len_7", ipv4(kProtoUdp, kIn, kOut, u), Malformed::kBadUdpLength});
    set16(u, 4, 12);
    v.push_back({"udp_len_past_ip", ipv4(kProtoUdp, kIn, kOut, u), Malformed::kBadUdpLength});
    v.push_back({"v6_udp_len_past_ip", ipv6(kProtoUdp, kIn6, kOut6, u), Malformed::kBadUdpLength});
  }
  v.push_back(
      {"icmp_4_bytes", ipv4(kProtoIcmp, kIn, kOut, Bytes{8, 0, 0, 0}), Malformed::kBadIcmp});
  v.push_back(
      {"icmpv6_6_bytes", ipv6(kProtoIcmpv6, kIn6, kOut6, Bytes(6, 0)), Malformed::kBadIcmp});
  {
    Bytes g = gre_v1(5, {}, false, false);
    g[1] = 0x02;  // version 2
    v.push_back({"gre_version_2", ipv4(kProtoGre, kIn, kOut, g), Malformed::kBadGre});
    g = gre_v1(5, {}, false, false);
    g[0] = 0x00;  // K cleared
    v.push_back({"gre_v1_without_key", ipv4(kProtoGre, kIn, kOut, g), Malformed::kBadGre});
    g = gre_v1(5, {}, true, false);
    v.push_back({"gre_v1_seq_missing", ipv4(kProtoGre, kIn, kOut, Bytes(g.begin(), g.begin() + 10)),
                 Malformed::kBadGre});
    GreV0 k;
    k.k = true;
    Bytes g0 = gre_v0(k);
    v.push_back({"gre_v0_key_missing",
                 ipv4(kProtoGre, kIn, kOut, Bytes(g0.begin(), g0.begin() + 6)),
                 Malformed::kBadGre});
    g0 = gre_v0({}, Bytes(8, 0));
    g0[0] = 0x40;  // routing present (RFC 1701 only)
    v.push_back({"gre_v0_routing", ipv4(kProtoGre, kIn, kOut, g0), Malformed::kBadGre});
  }
  {
    V4Opts o;
    o.frag = 0x2000;  // MF with 12 bytes: not a multiple of 8
    v.push_back({"v4_mf_not_multiple_of_8", ipv4(kProtoUdp, kIn, kOut, udp(1, 2, Bytes(4, 0)), o),
                 Malformed::kBadFragment});
    o.frag = 0x1fff;  // offset 65528 + 16 bytes > 65535
    v.push_back({"v4_fragment_past_64k", ipv4(kProtoUdp, kIn, kOut, Bytes(16, 0), o),
                 Malformed::kBadFragment});
    o.frag = 0x2000;
    v.push_back({"v4_mf_empty", ipv4(kProtoUdp, kIn, kOut, {}, o), Malformed::kBadFragment});
    v.push_back({"v6_mf_not_multiple_of_8",
                 ipv6(kNhFragmentForTest, kIn6, kOut6,
                      cat({frag6(kProtoUdp, 0, true, 1), udp(1, 2, Bytes(4, 0))})),
                 Malformed::kBadFragment});
    v.push_back({"v6_two_fragment_headers",
                 ipv6(kNhFragmentForTest, kIn6, kOut6,
                      cat({frag6(kNhFragmentForTest, 0, true, 1), frag6(kProtoUdp, 0, true, 1),
                           udp(1, 2)})),
                 Malformed::kBadFragment});
    v.push_back({"v6_fragment_past_64k",
                 ipv6(kNhFragmentForTest, kIn6, kOut6,
                      cat({frag6(kProtoUdp, 65528, false, 1), Bytes(16, 0)})),
                 Malformed::kBadFragment});
  }
  return v;
}

TEST(Parse, MalformedPackets) {
  std::set<Malformed> seen;
  for (const BadCase& c : bad_cases()) {
    SCOPED_TRACE(c.name);
    ParseResult r = parse(c.pkt);
    ASSERT_TRUE(std::holds_alternative<Malformed>(r)) << "parsed fine";
    EXPECT_EQ(malformed_name(std::get<Malformed>(r)), malformed_name(c.want));
    seen.insert(std::get<Malformed>(r));
  }
  EXPECT_EQ(seen.size(), 12u) << "every Malformed code has a case";
}

TEST(Parse, MalformedNamesAreDistinctKebabCase) {
  std::set<std::string_view> names;
  for (int i = 0; i <= static_cast<int>(Malformed::kBadFragment); ++i) {
    std::string_view n = malformed_name(static_cast<Malformed>(i));
    EXPECT_FALSE(n.empty());
    for (char ch : n)
      EXPECT_TRUE((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-');
    names.insert(n);
  }
  EXPECT_EQ(names.size(), 12u);
  EXPECT_EQ(malformed_name(Malformed::kTruncated), "truncated");
  EXPECT_EQ(malformed_name(Malformed::kBadIpv6ExtHeader), "bad-ipv6-ext-header");
  EXPECT_EQ(malformed_name(Malformed::kBadFragment), "bad-fragment");
}

TEST(Parse, TruncatingAValidPacketNeverReadsPastTheEnd) {
  // Every prefix of every valid case must fail cleanly or parse consistently
  // (ASan checks the reads).
  for (const ValidCase& c : valid_cases()) {
    for (size_t n = 0; n <= c.pkt.size(); ++n) {
      std::vector<uint8_t> prefix(c.pkt.begin(), c.pkt.begin() + static_cast<long>(n));
      ParseResult r = parse(prefix);
      if (auto* p = std::get_if<Parsed>(&r)) expect_consistent(*p, n);
      (void)parse_quoted(prefix);
    }
  }
}

// ICMP errors and their quoted packets.
struct QuotedCase {
  std::string name;
  Bytes error;  // the whole ICMP error packet
  std::function<void(const Parsed&)> check;
};

Bytes quote_v4(const Bytes& pkt, size_t l4_bytes) {
  size_t ihl = static_cast<size_t>(pkt[0] & 0xf) * 4;
  return Bytes(pkt.begin(), pkt.begin() + static_cast<long>(ihl + l4_bytes));
}

std::vector<QuotedCase> quoted_cases() {
  std::vector<QuotedCase> v;
  const char* router = "203.0.113.1";
  {
    // Classic RFC 792 quote: header + 8 bytes of a 200-byte TCP segment.
    Bytes orig =
        ipv4(kProtoTcp, kIn, kOut, tcp(40000, 80, 0x11223344, 0, kTcpSyn, {}, Bytes(180, 0)));
    v.push_back({"v4_tcp_header_plus_8",
                 ipv4(kProtoIcmp, router, kIn, icmp(3, 4, 1400, quote_v4(orig, 8))),
                 [](const Parsed& q) {
                   EXPECT_EQ(q.ip_version, 4);
                   EXPECT_EQ(q.src, addr(kIn));
                   EXPECT_EQ(q.dst, addr(kOut));
                   EXPECT_EQ(q.proto, kProtoTcp);
                   EXPECT_EQ(q.ip_total_len, 220u);  // what the quoted header claims
                   EXPECT_TRUE(q.has_l4);
                   EXPECT_EQ(q.sport, 40000);
                   EXPECT_EQ(q.dport, 80);
                   EXPECT_EQ(q.seq, 0x11223344u);
                 }});
  }
  {
    Bytes orig = ipv4(kProtoUdp, kIn, kOut, udp(5353, 53, Bytes(40, 1)));
    v.push_back({"v4_udp_time_exceeded",
                 ipv4(kProtoIcmp, router, kIn, icmp(11, 0, 0, quote_v4(orig, 8))),
                 [](const Parsed& q) {
                   EXPECT_EQ(q.proto, kProtoUdp);
                   EXPECT_EQ(q.sport, 5353);
                   EXPECT_EQ(q.dport, 53);
                 }});
  }
  {
    Bytes orig = ipv4(kProtoIcmp, kIn, kOut, echo(8, 0x5151, 3, Bytes(56, 0)));
    v.push_back({"v4_echo_quoted", ipv4(kProtoIcmp, router, kIn, icmp(3, 1, 0, quote_v4(orig, 8))),
                 [](const Parsed& q) {
                   EXPECT_TRUE(q.icmp_echo);
                   EXPECT_TRUE(q.icmp_echo_request);
                   EXPECT_EQ(q.sport, 0x5151);
                   EXPECT_EQ(q.dport, 0x5151);
                 }});
  }
  {
    Bytes orig = ipv4(kProtoGre, kIn, kOut, gre_v1(0x0042, Bytes(100, 0), true, false));
    v.push_back({"v4_gre_call_id_quoted",
                 ipv4(kProtoIcmp, router, kIn, icmp(3, 3, 0, quote_v4(orig, 8))),
                 [](const Parsed& q) {
                   EXPECT_EQ(q.gre_version, 1);
                   EXPECT_TRUE(q.gre_has_key);
                   EXPECT_EQ(q.dport, 0x0042);
                 }});
  }
  {
    Bytes orig = ipv4(kProtoTcp, kIn, kOut, tcp(1, 2, 3, 4, kTcpAck));
    v.push_back({"v4_only_4_transport_bytes",
                 ipv4(kProtoIcmp, router, kIn, icmp(3, 0, 0, quote_v4(orig, 4))),
                 [](const Parsed& q) {
                   EXPECT_EQ(q.proto, kProtoTcp);
                   EXPECT_EQ(q.src, addr(kIn));
                   EXPECT_FALSE(q.has_l4);
                 }});
  }
  {
    // ICMPv6 quotes as much as fits in the minimum MTU; here cut mid-payload.
    Bytes orig = ipv6(kProtoUdp, kIn6, kOut6, udp(1000, 2000, Bytes(100, 9)));
    Bytes quoted(orig.begin(), orig.begin() + 60);
    v.push_back({"v6_udp_packet_too_big",
                 ipv6(kProtoIcmpv6, "2001:db8:3::1", kIn6, icmp(2, 0, 1280, quoted)),
                 [](const Parsed& q) {
                   EXPECT_EQ(q.ip_version, 6);
                   EXPECT_EQ(q.src, addr(kIn6));
                   EXPECT_EQ(q.proto, kProtoUdp);
                   EXPECT_EQ(q.sport, 1000);
                   EXPECT_EQ(q.dport, 2000);
                   EXPECT_EQ(q.ip_total_len, 148u);
                 }});
  }
  {
    Bytes orig = ipv6(60, kIn6, kOut6,
                      cat({ext(kProtoTcp), tcp(443, 50000, 9, 9, kTcpAck, {}, Bytes(30, 0))}));
    Bytes quoted(orig.begin(), orig.begin() + 40 + 8 + 8);
    v.push_back({"v6_tcp_after_ext_unreachable",
                 ipv6(kProtoIcmpv6, "2001:db8:3::1", kIn6, icmp(1, 4, 0, quoted)),
                 [](const Parsed& q) {
                   EXPECT_EQ(q.proto, kProtoTcp);
                   EXPECT_EQ(q.l3_len, 48);
                   EXPECT_EQ(q.sport, 443);
                   EXPECT_EQ(q.dport, 50000);
                 }});
  }
  {
    Bytes orig = ipv6(kProtoIcmpv6, kIn6, kOut6, echo(128, 0x7070, 1, Bytes(40, 0)));
    Bytes quoted(orig.begin(), orig.begin() + 48);
    v.push_back({"v6_echo_time_exceeded",
                 ipv6(kProtoIcmpv6, "2001:db8:3::1", kIn6, icmp(3, 0, 0, quoted)),
                 [](const Parsed& q) {
                   EXPECT_TRUE(q.icmp_echo);
                   EXPECT_EQ(q.sport, 0x7070);
                 }});
  }
  return v;
}

TEST(Parse, IcmpErrorsAndQuotedPackets) {
  for (const QuotedCase& c : quoted_cases()) {
    SCOPED_TRACE(c.name);
    Parsed p = must_parse(c.error);
    ASSERT_TRUE(p.icmp_error);
    ASSERT_LE(p.inner_offset, c.error.size());
    std::span<const uint8_t> inner(c.error.data() + p.inner_offset,
                                   p.ip_total_len - p.inner_offset);
    std::optional<Parsed> q = parse_quoted(inner);
    ASSERT_TRUE(q.has_value());
    EXPECT_LE(static_cast<size_t>(q->payload_offset) + q->payload_len, inner.size());
    c.check(*q);
  }
}

TEST(Parse, QuotedRejectsGarbage) {
  EXPECT_FALSE(parse_quoted({}).has_value());
  Bytes junk(30, 0x00);
  EXPECT_FALSE(parse_quoted(junk).has_value());  // version 0
  Bytes v4 = ipv4(kProtoUdp, kIn, kOut, udp(1, 2));
  EXPECT_FALSE(parse_quoted(Bytes(v4.begin(), v4.begin() + 12)).has_value());
  v4[0] = 0x46;  // IHL 6 but the options word is missing from the buffer
  EXPECT_FALSE(parse_quoted(Bytes(v4.begin(), v4.begin() + 22)).has_value());
  // IPv6 whose extension chain leaves the quoted bytes: protocol unknown.
  Bytes v6 = ipv6(60, kIn6, kOut6, cat({ext(kProtoUdp, Bytes(30, 0)), udp(1, 2)}));
  EXPECT_FALSE(parse_quoted(Bytes(v6.begin(), v6.begin() + 50)).has_value());
}

TEST(Parse, QuotedNonFirstFragmentHasNoPorts) {
  V4Opts o;
  o.frag = 100;
  Bytes b = ipv4(kProtoUdp, kIn, kOut, Bytes(16, 0xff), o);
  std::optional<Parsed> q = parse_quoted(b);
  ASSERT_TRUE(q.has_value());
  EXPECT_TRUE(q->is_fragment);
  EXPECT_FALSE(q->has_l4);
  EXPECT_EQ(q->sport, 0);
}

}  // namespace
}  // namespace fw::packet
