// `fwd --replay` ("replay" area, issue 15 item 3). The captures in tests/replay/ were recorded by
// tests/replay/record.sh from live runs of the lab (see tests/replay/README.md); replayed offline
// they must give the session table and the server-map the live fwd showed (compared line by
// line; only the server-map's Left-Time values are masked, the live display being taken a moment
// after the last packet), and --write must reproduce the control lines the live fwd rewrote
// (compared with what left the live firewall, left.pcapng). A crafted capture with hostile PORT
// commands opens nothing. Broken input: a clear error and exit code 1, never a crash.
#include "fwd/replay.h"

#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "capture/reader.h"
#include "packet/parse.h"

namespace fw::fwd {
namespace {

const std::filesystem::path kDir = std::filesystem::path(FW_SOURCE_DIR) / "tests/replay";

std::string slurp(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::vector<std::string> lines_of(const std::filesystem::path& p) {
  std::vector<std::string> v;
  std::ifstream f(p);
  for (std::string l; std::getline(f, l);) v.push_back(l);
  return v;
}

struct Outcome {
  int rc = -1;
  std::string out, err;
};

Outcome replay_with(const ReplayInput& in) {
  std::ostringstream o, e;
  Outcome r;
  r.rc = replay(in, o, e);
  r.out = o.str();
  r.err = e.str();
  return r;
}

// A recorded scenario: its capture, configuration and routes (the args file).
ReplayInput scenario(const std::string& name) {
  ReplayInput in;
  in.capture = (kDir / name / "arrived.pcapng").string();
  in.config_file = (kDir / name / "fwd.cfg").string();
  for (const auto& a : lines_of(kDir / name / "args")) {
    if (a.rfind("--route=", 0) == 0) in.routes.push_back(a.substr(8));
    if (a.rfind("--local=", 0) == 0) in.locals.push_back(a.substr(8));
  }
  return in;
}

// The output of one display in the replay's text: the lines after "<FW> COMMAND" up to the
// next prompt line (a blank line before it dropped).
std::string section(const std::string& out, const std::string& command) {
  const std::string head = "<FW> " + command + "\n";
  size_t a = out.find(head);
  if (a == std::string::npos) return "<no " + command + ">";
  a += head.size();
  size_t b = out.find("\n<FW> ", a);
  std::string s = out.substr(a, b == std::string::npos ? std::string::npos : b + 1 - a);
  return s;
}

// fwcli ends a display with a blank line; the replay's sections do not.
std::string trimmed(std::string s) {
  while (s.size() >= 2 && s.substr(s.size() - 2) == "\n\n") s.pop_back();
  return s;
}

std::string mask_left_time(const std::string& s) {
  return std::regex_replace(s, std::regex("Left-Time:\\d\\d:\\d\\d:\\d\\d"), "Left-Time:HH:MM:SS");
}

// FTP control lines that carry an address (PORT, EPRT, 227, 229) in a capture, each with the
// interface it was captured on (a written capture: the interface it left by).
std::vector<std::string> control_lines(const std::string& file) {
  std::string err;
  auto r = capture::Reader::open(file, &err);
  EXPECT_TRUE(r) << err;
  std::vector<std::string> v;
  if (!r) return v;
  while (auto p = r->next()) {
    auto res = packet::parse(p->ip);
    const auto* q = std::get_if<packet::Parsed>(&res);
    if (!q || q->proto != packet::kProtoTcp || !q->payload_len) continue;
    std::string pl(reinterpret_cast<const char*>(p->ip.data()) + q->payload_offset, q->payload_len);
    for (const char* k : {"PORT ", "EPRT ", "227 ", "229 "}) {
      if (pl.rfind(k, 0) == 0) v.push_back(p->ifname + " " + pl.substr(0, pl.find('\r')));
    }
  }
  EXPECT_EQ(r->error(), "");
  std::sort(v.begin(), v.end());
  return v;
}

void expect_live_tables(const std::string& name) {
  SCOPED_TRACE(name);
  const Outcome r = replay_with(scenario(name));
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(trimmed(section(r.out, "display firewall session table")),
            trimmed(slurp(kDir / name / "live-sessions.txt")));
  EXPECT_EQ(mask_left_time(trimmed(section(r.out, "display firewall server-map"))),
            mask_left_time(trimmed(slurp(kDir / name / "live-server-map.txt"))));
  EXPECT_NE(r.out.find(" dropped, 0 skipped"), std::string::npos) << r.out;
}

TEST(Replay, FtpEasyIpGivesTheLiveTables) { expect_live_tables("ftp"); }
TEST(Replay, FtpNatServerGivesTheLiveTables) { expect_live_tables("natserver"); }
TEST(Replay, PptpTwoClientsGiveTheLiveTables) { expect_live_tables("pptp"); }

void expect_rewrites_as_live(const std::string& name, size_t lines) {
  SCOPED_TRACE(name);
  const auto out = std::filesystem::temp_directory_path() / ("fw-replay-" + name + ".pcapng");
  ReplayInput in = scenario(name);
  in.write = out.string();
  const Outcome r = replay_with(in);
  ASSERT_EQ(r.rc, 0) << r.err;
  const auto written = control_lines(out.string());
  EXPECT_EQ(written, control_lines((kDir / name / "left.pcapng").string()));
  EXPECT_EQ(written.size(), lines);
  for (const auto& l : written) EXPECT_EQ(l.find("198.18.1."), std::string::npos) << l;
  std::filesystem::remove(out);
}

// PORT and EPRT leave on out0 with the translated 203.0.113.1; 227/229 reach the client.
TEST(Replay, WriteReproducesTheRewrittenFtpLines) { expect_rewrites_as_live("ftp", 4); }
// The dmz server's 227 (PASV) leaves on out0 naming the global 203,0,113,110.
TEST(Replay, WriteReproducesTheNatServer227) {
  expect_rewrites_as_live("natserver", 2);
  const auto out = std::filesystem::temp_directory_path() / "fw-replay-ns227.pcapng";
  ReplayInput in = scenario("natserver");
  in.write = out.string();
  ASSERT_EQ(replay_with(in).rc, 0);
  bool seen = false;
  for (const auto& l : control_lines(out.string())) {
    if (l.rfind("out0 227 ", 0) == 0) seen = l.find("(203,0,113,110,") != std::string::npos;
  }
  EXPECT_TRUE(seen);
  std::filesystem::remove(out);
}

TEST(Replay, HostilePortOpensNothing) {
  ReplayInput in;
  in.capture = (kDir / "hostile/hostile.pcap").string();
  in.config_file = (kDir / "ftp/fwd.cfg").string();
  in.ingress = {"198.18.1.0/24=in0", "0.0.0.0/0=out0"};
  in.locals = {"203.0.113.1=out0", "198.18.1.1=in0"};
  in.routes = {"198.18.1.0/24=in0", "203.0.113.0/24=out0"};
  const Outcome r = replay_with(in);
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("aspf.ftp.refused.bounce"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("aspf.ftp.refused.low-port"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("servermap.added"), std::string::npos) << r.out;
  EXPECT_EQ(trimmed(section(r.out, "display firewall server-map")),
            " Current Total Server-map : 0\n");
  EXPECT_NE(r.out.find("tcp 203.0.113.2:20 -> 203.0.113.1:50000  drop  reason policy-deny"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("tcp 203.0.113.2:20 -> 203.0.113.1:80  drop  reason policy-deny"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("Replayed 14 packets: 12 permitted, 2 dropped, 0 skipped"),
            std::string::npos);
}

// ---- captures made here: link types and broken files ----------------------------------

// A classic pcap file (microseconds) of link type `dlt` with these frames.
std::string pcap_file(uint32_t dlt, const std::vector<std::string>& frames) {
  std::string f;
  auto u32 = [&](uint32_t v) { f.append(reinterpret_cast<const char*>(&v), 4); };
  auto u16 = [&](uint16_t v) { f.append(reinterpret_cast<const char*>(&v), 2); };
  u32(0xa1b2c3d4);
  u16(2);
  u16(4);
  u32(0);
  u32(0);
  u32(65535);
  u32(dlt);
  uint32_t sec = 1700000000;
  for (const auto& fr : frames) {
    u32(sec++);
    u32(0);
    u32(static_cast<uint32_t>(fr.size()));
    u32(static_cast<uint32_t>(fr.size()));
    f += fr;
  }
  return f;
}

// A TCP SYN 198.18.1.2:40000 -> DST:80 (checksums are not checked on input).
std::string syn(std::array<uint8_t, 4> dst = {203, 0, 113, 2}) {
  uint8_t ip[] = {0x45, 0,    0, 40, 0, 1, 0, 0, 64, 6, 0, 0, 198,  18,   1,    2,    0, 0, 0, 0,
                  0x9c, 0x40, 0, 80, 0, 0, 0, 1, 0,  0, 0, 0, 0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0};
  std::copy(dst.begin(), dst.end(), ip + 16);
  return std::string(reinterpret_cast<const char*>(ip), sizeof ip);
}

std::filesystem::path write_temp(const std::string& name, const std::string& bytes) {
  const auto p = std::filesystem::temp_directory_path() / ("fw-replay-test-" + name);
  std::ofstream(p, std::ios::binary) << bytes;
  return p;
}

Outcome replay_file(const std::filesystem::path& cap) {
  ReplayInput in;
  in.capture = cap.string();
  in.config_file = (kDir / "ftp/fwd.cfg").string();
  in.ingress = {"198.18.1.0/24=in0", "0.0.0.0/0=out0"};
  in.locals = {"203.0.113.1=out0"};
  in.routes = {"203.0.113.0/24=out0"};
  Outcome r = replay_with(in);
  std::filesystem::remove(cap);
  return r;
}

TEST(Replay, LinkTypes) {
  const std::string eth = std::string("\x02\0\0\0\0\x02\x02\0\0\0\0\x01\x08\x00", 14);
  const std::string vlan =
      std::string("\x02\0\0\0\0\x02\x02\0\0\0\0\x01\x81\x00\x00\x07\x08\x00", 18);
  std::string sll(16, '\0');
  sll[14] = 0x08;
  std::string sll2(20, '\0');
  sll2[0] = 0x08;
  const std::pair<uint32_t, std::string> cases[] = {{1, eth + syn()},   {1, vlan + syn()},
                                                    {101, syn()},       {228, syn()},
                                                    {113, sll + syn()}, {276, sll2 + syn()}};
  for (const auto& [dlt, frame] : cases) {
    SCOPED_TRACE(dlt);
    const Outcome r = replay_file(write_temp("lt.pcap", pcap_file(dlt, {frame})));
    ASSERT_EQ(r.rc, 0) << r.err;
    EXPECT_NE(r.out.find("in0    tcp 198.18.1.2:40000 -> 203.0.113.2:80  permit  session"),
              std::string::npos)
        << r.out;
    EXPECT_NE(r.out.find("198.18.1.2:40000[203.0.113.1:40000] --> 203.0.113.2:80"),
              std::string::npos)
        << r.out;
  }
}

TEST(Replay, NotIpIsSkippedNotFed) {
  const std::string arp =
      std::string("\xff\xff\xff\xff\xff\xff\x02\0\0\0\0\x01\x08\x06", 14) + std::string(28, '\0');
  const Outcome r = replay_file(write_temp("arp.pcap", pcap_file(1, {arp})));
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("not IP (protocol 0x0806)  skip"), std::string::npos) << r.out;
  // An Ethernet header saying IPv4 with nothing after it (found by fuzz_capture_reader).
  const Outcome e =
      replay_file(write_temp("eth-only.pcap", pcap_file(1, {arp.substr(0, 12) + "\x08\x00"})));
  ASSERT_EQ(e.rc, 0) << e.err;
  EXPECT_NE(e.out.find("frame cut short before the IP header  skip"), std::string::npos) << e.out;
}

TEST(Replay, BrokenInputIsAClearError) {
  struct Case {
    const char* name;
    std::string bytes;
    const char* message;
  };
  const std::string good = pcap_file(1, {std::string(14, '\0') + syn(), syn()});
  const Case cases[] = {
      {"unknown link type", pcap_file(147, {syn()}), "link type 147 ("},
      {"unknown link type, supported listed", pcap_file(147, {syn()}),
       "is not supported; supported: Ethernet"},
      {"truncated packet", good.substr(0, good.size() - 10), "truncated"},
      {"truncated header", good.substr(0, 30), ""},
      {"not a capture", "hello world, this is not a capture file at all", "format"},
      {"empty", "", ""},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const Outcome r = replay_file(write_temp("bad", c.bytes));
    EXPECT_EQ(r.rc, 1) << r.out;
    EXPECT_EQ(r.err.rfind("fwd: ", 0), 0u) << r.err;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << r.err;
  }
  ReplayInput in = scenario("ftp");
  in.capture = "/nonexistent/capture.pcap";
  const Outcome r = replay_with(in);
  EXPECT_EQ(r.rc, 1);
  EXPECT_EQ(r.err, "fwd: cannot open /nonexistent/capture.pcap: No such file or directory\n");
}

// A recorded capture cut in the middle of a block: the packets before are replayed, then the
// error, exit 1.
TEST(Replay, TruncatedPcapngReportsThePacketsBeforeTheBreak) {
  const std::string all = slurp(kDir / "ftp/arrived.pcapng");
  ReplayInput in = scenario("ftp");
  const auto p = write_temp("cut.pcapng", all.substr(0, all.size() / 2 + 7));
  in.capture = p.string();
  const Outcome r = replay_with(in);
  std::filesystem::remove(p);
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("packet"), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("     1    0.000000  in0 "), std::string::npos) << r.out;
}

TEST(Replay, JsonHasThePacketsAndTheTables) {
  ReplayInput in = scenario("natserver");
  in.json = true;
  const Outcome r = replay_with(in);
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out.rfind("{\n  \"capture\": ", 0), 0u);
  EXPECT_NE(r.out.find("\"verdict\": \"permit\", \"session\": "), std::string::npos);
  EXPECT_NE(r.out.find("\"session_table\": [\" Current Total Sessions : 4\""), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("\"server_map\": [\" Current Total Server-map : 2\""), std::string::npos);
  EXPECT_EQ(r.out.substr(r.out.size() - 2), "}\n");
}

TEST(Replay, PcapngInterfaceNamesGiveTheIngress) {
  const Outcome r = replay_with(scenario("ftp"));
  ASSERT_EQ(r.rc, 0);
  EXPECT_NE(r.out.find("  out0   tcp 203.0.113.2:20 -> 203.0.113.1:"), std::string::npos);
  EXPECT_EQ(r.out.find("  skip"), std::string::npos);
}

}  // namespace
}  // namespace fw::fwd

namespace fw::fwd {
namespace {

// Without --route/--local: the configured interfaces' subnets and addresses and the static
// routes are the routes; easy-ip takes the egress interface's address; --write names it.
TEST(Replay, RoutesFromTheConfiguration) {
  const auto cfg = write_temp("routes.cfg",
                              "sysname FW\ninterface in0\n ip address 198.18.1.1 255.255.255.0\n"
                              "interface out0\n ip address 203.0.113.1 255.255.255.0\n"
                              "firewall zone trust\n add interface in0\n"
                              "firewall zone untrust\n add interface out0\n"
                              "ip route-static 198.18.200.0 24 203.0.113.2\n"
                              "security-policy\n rule name r\n  source-zone trust\n"
                              "  destination-zone untrust\n  action permit\n"
                              "nat-policy\n rule name ez\n  source-zone trust\n"
                              "  destination-zone untrust\n  action source-nat easy-ip\n");
  const auto cap =
      write_temp("routes.pcap", pcap_file(101, {syn({198, 18, 200, 5}), syn({198, 18, 3, 5})}));
  const auto out = std::filesystem::temp_directory_path() / "fw-replay-routes-out.pcapng";
  ReplayInput in;
  in.capture = cap.string();
  in.config_file = cfg.string();
  in.ingress = {"198.18.1.0/24=in0"};
  in.write = out.string();
  const Outcome r = replay_with(in);
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("tcp 198.18.1.2:40000 -> 198.18.200.5:80  permit  session "),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("nat 198.18.1.2:40000[203.0.113.1:40000] -> 198.18.200.5:80"),
            std::string::npos);
  EXPECT_NE(r.out.find("tcp 198.18.1.2:40000 -> 198.18.3.5:80  drop  reason no-route"),
            std::string::npos)
      << r.out;
  std::string err;
  auto w = capture::Reader::open(out.string(), &err);
  ASSERT_TRUE(w) << err;
  auto p = w->next();
  ASSERT_TRUE(p);
  EXPECT_EQ(p->ifname, "out0");
  EXPECT_FALSE(w->next());
  EXPECT_EQ(w->error(), "");
  for (const auto& f : {cfg, cap, out}) std::filesystem::remove(f);
}

TEST(Replay, BadOptionsAreClearErrors) {
  ReplayInput in = scenario("ftp");
  in.ingress = {"198.18.1.0/xx=in0"};
  Outcome r = replay_with(in);
  EXPECT_EQ(r.rc, 1);
  EXPECT_EQ(r.err, "fwd: --ingress is PREFIX=INTERFACE: 198.18.1.0/xx=in0\n");
  in = scenario("ftp");
  in.routes = {"nonsense"};
  r = replay_with(in);
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("--route: a route is PREFIX=INTERFACE[,NEXTHOP]: nonsense"),
            std::string::npos)
      << r.err;
  in = scenario("ftp");
  in.config_file = "/nonexistent.cfg";
  r = replay_with(in);
  EXPECT_EQ(r.err, "fwd: cannot read --config /nonexistent.cfg\n");
}

}  // namespace
}  // namespace fw::fwd

namespace fw::fwd {
namespace {

// LINKTYPE_IPV6 (229): an IPv6 SYN 2001:db8:1::2:40000 -> 2001:db8:3::2:80, no NAT for IPv6.
TEST(Replay, Ipv6) {
  std::string ip6(60, '\0');
  ip6[0] = 0x60;
  ip6[5] = 20;  // payload length
  ip6[6] = 6;   // TCP
  ip6[7] = 64;
  const uint8_t src[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
  const uint8_t dst[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
  std::memcpy(&ip6[8], src, 16);
  std::memcpy(&ip6[24], dst, 16);
  const uint8_t tcp[20] = {0x9c, 0x40, 0, 80, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff};
  std::memcpy(&ip6[40], tcp, 20);
  ReplayInput in;
  const auto cap = write_temp("v6.pcap", pcap_file(229, {ip6}));
  in.capture = cap.string();
  in.config_file = (kDir / "ftp/fwd.cfg").string();
  in.ingress = {"2001:db8:1::/64=in0"};
  in.routes = {"2001:db8:3::/64=out0"};
  const Outcome r = replay_with(in);
  std::filesystem::remove(cap);
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("in0    tcp [2001:db8:1::2]:40000 -> [2001:db8:3::2]:80  permit  session"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find(" http  VPN: public --> public  2001:db8:1::2.40000 --> 2001:db8:3::2.80"),
            std::string::npos)
      << r.out;
}

}  // namespace
}  // namespace fw::fwd
