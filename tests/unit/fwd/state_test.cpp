// Planned restart: a data plane with sessions of every NAT kind (easy-ip,
// address-group PAT, no-PAT, NAT server and its reverse, an FTP control session
// with length-changing PORT rewrites, its ftp-data child and a pending entry, a
// PPTP call's GRE child) is built by pushing packets through the pipeline,
// saved, and restored into a fresh data plane with the same configuration.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <functional>
#include <iterator>
#include <sstream>
#include <variant>

#include "common/counters.h"
#include "fwd/controller.h"
#include "fwd/dataplane.h"
#include "fwd/pipeline.h"
#include "packet/checksum.h"
#include "session/snapshot.h"
#include "tests/unit/fwd/pipeline_fixture.h"
#include "tests/unit/packet/builders.h"

namespace fw::fwd {
namespace {

using namespace fw::packet::testing;
using packet::kTcpAck;
using packet::kTcpPsh;
using packet::kTcpSyn;

// The lab's routes and a third interface, dmz0 = 4 (10.0.0.0/24, the firewall is 10.0.0.1).
struct StateRoutes {
  StateRoutes() {
    std::string err;
    EXPECT_TRUE(routes->add_route("10.0.0.0/24=dmz0", &err)) << err;
    EXPECT_TRUE(routes->add_local("10.0.0.1=dmz0", &err)) << err;
  }
  std::unique_ptr<TableRoutes> routes = testing::lab_routes_with_locals();
};

// The configuration; without `srv` its zone (with its rules) is gone.
std::string config(bool with_srv) {
  std::string c = R"(
firewall zone trust
 add interface in0
firewall zone untrust
 add interface out0
)";
  if (with_srv) c += "firewall zone name srv\n set priority 60\n add interface dmz0\n";
  c += R"(firewall detect ftp
firewall detect pptp
nat address-group pool
 section 0 203.0.113.50 203.0.113.51
nat address-group np
 mode no-pat global
 section 0 203.0.113.100 203.0.113.101
nat server web protocol tcp global 203.0.113.9 80 inside 10.0.0.5 80
security-policy
 rule name t2u
  source-zone trust
  destination-zone untrust
  action permit
)";
  if (with_srv) {
    c += " rule name u2s\n  source-zone untrust\n  destination-zone srv\n  action permit\n";
    c += " rule name s2u\n  source-zone srv\n  destination-zone untrust\n  action permit\n";
  }
  c += R"(nat-policy
 rule name pat
  source-zone trust
  destination-zone untrust
  source-address 198.18.1.10 32
  action source-nat address-group pool
 rule name nopat
  source-zone trust
  destination-zone untrust
  source-address 198.18.1.20 30
  action source-nat address-group np
 rule name easy
  source-zone trust
  destination-zone untrust
  action source-nat easy-ip
)";
  return c;
}

using testing::Out;
using testing::payload;

// One data plane with its configuration loaded.
struct Plane : StateRoutes, testing::Plane {
  explicit Plane(common::ManualClock& clock, bool with_srv = true)
      : testing::Plane(clock, *routes) {
    std::string err;
    ok = load(config(with_srv), &err);
    EXPECT_TRUE(ok) << err;
  }
  std::string display(const std::string& line) {
    return ctl->execute(cli::user_view(), line).output;
  }
  // The verbose session table without the id lines (ids are new after a restore).
  std::string sessions_shown() {
    std::string out, line;
    std::istringstream in(display("display firewall session table verbose"));
    while (std::getline(in, line)) {
      if (line.find(" ID: ") == std::string::npos) out += line + "\n";
    }
    return out;
  }
  // Server-map entries as shown, in a fixed order (restored entries get new ids).
  std::vector<std::string> servermap_shown() {
    std::string all = display("display firewall server-map");
    std::vector<std::string> blocks;
    for (size_t at = all.find(" Type:"); at != std::string::npos;) {
      size_t next = all.find(" Type:", at + 1);
      blocks.push_back(all.substr(at, next == std::string::npos ? next : next - at));
      at = next;
    }
    std::sort(blocks.begin(), blocks.end());
    return blocks;
  }

  bool ok = false;
};

Bytes pptp_msg(uint16_t type, uint16_t len,
               std::initializer_list<std::pair<size_t, uint16_t>> fields) {
  Bytes b(len, 0);
  set16(b, 0, len);
  set16(b, 2, 1);
  b[4] = 0x1a;
  b[5] = 0x2b;
  b[6] = 0x3c;
  b[7] = 0x4d;
  set16(b, 8, type);
  for (auto [at, v] : fields) set16(b, at, v);
  return b;
}

std::vector<uint8_t> read_all(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

void write_all(const std::string& path, const std::vector<uint8_t>& b) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

const std::string kPort1 = "PORT 198,18,1,2,156,80\r\n";  // data port 40016
const std::string kPort2 = "PORT 198,18,1,2,156,81\r\n";  // 40017
const std::string kPort3 = "PORT 198,18,1,2,156,82\r\n";  // 40018
const std::string kOk = "200 ok\r\n";
constexpr uint32_t kGrow = 1;  // "203,0,113,1" is one byte longer than "198,18,1,2"

class State : public ::testing::Test {
 protected:
  void SetUp() override {
    path = ::testing::TempDir() + "fwd_state_test_" + std::to_string(::getpid()) + ".state";
    ASSERT_TRUE(a.ok);
    build();
  }
  void TearDown() override { std::remove(path.c_str()); }

  // Client (inside) <-> server 203.0.113.2:dport, through source NAT.
  void handshake(const char* client, uint16_t sport, uint16_t dport) {
    auto syn = a.run(ipv4(6, client, "203.0.113.2", tcp(sport, dport, 1000, 0, kTcpSyn)), 2);
    ASSERT_EQ(syn.d.verdict, Verdict::kAccept);
    auto sa = a.run(ipv4(6, "203.0.113.2", syn.p.src.str().c_str(),
                         tcp(dport, syn.p.sport, 5000, 1001, kTcpSyn | kTcpAck)),
                    3);
    ASSERT_EQ(sa.d.verdict, Verdict::kAccept);
    auto ack = a.run(ipv4(6, client, "203.0.113.2", tcp(sport, dport, 1001, 5001, kTcpAck)), 2);
    ASSERT_EQ(ack.d.verdict, Verdict::kAccept);
  }

  void build() {
    // Easy-ip: the client's port is free on the interface address, so it is kept.
    handshake("198.18.1.2", 40000, 80);
    // Address-group PAT.
    auto pat = a.run(ipv4(17, "198.18.1.10", "203.0.113.2", udp(5300, 53, text("q"))), 2);
    ASSERT_EQ(pat.d.verdict, Verdict::kAccept);
    pat_src = pat.p.src;
    pat_port = pat.p.sport;
    ASSERT_TRUE(pat_src.str() == "203.0.113.50" || pat_src.str() == "203.0.113.51");
    // No-PAT: .21 takes .100, .20 gets .101; .21's session ends, so .20 keeps the
    // address a fresh allocation would not hand out first.
    ASSERT_EQ(a.run(ipv4(17, "198.18.1.21", "203.0.113.2", udp(6000, 123, text("n"))), 2).p.src,
              addr("203.0.113.100"));
    ASSERT_EQ(a.run(ipv4(17, "198.18.1.20", "203.0.113.2", udp(6000, 123, text("n"))), 2).p.src,
              addr("203.0.113.101"));
    ASSERT_EQ(a.dp.sessions().erase_if(
                  [](const session::Session& s) { return s.orig.src == addr("198.18.1.21"); }),
              1u);
    // NAT server, inbound; and the server's own flow out (Nat Server Reverse).
    auto ns = a.run(ipv4(6, "203.0.113.5", "203.0.113.9", tcp(7000, 80, 1000, 0, kTcpSyn)), 3);
    ASSERT_EQ(ns.p.dst, addr("10.0.0.5"));
    auto rev = a.run(ipv4(6, "10.0.0.5", "203.0.113.2", tcp(5555, 443, 1000, 0, kTcpSyn)), 4);
    ASSERT_EQ(rev.p.src, addr("203.0.113.9"));
    ASSERT_EQ(a.run(ipv4(6, "203.0.113.2", "203.0.113.9",
                         tcp(443, rev.p.sport, 5000, 1001, kTcpSyn | kTcpAck)),
                    3)
                  .p.dst,
              addr("10.0.0.5"));
    a.run(ipv4(6, "10.0.0.5", "203.0.113.2", tcp(5555, 443, 1001, 5001, kTcpAck)), 4);
    build_ftp();
    build_pptp();
  }

  void build_ftp() {
    handshake("198.18.1.2", 41000, 21);
    auto port1 = a.run(ipv4(6, "198.18.1.2", "203.0.113.2",
                            tcp(41000, 21, 1001, 5001, kTcpAck | kTcpPsh, {}, text(kPort1))),
                       2);
    ASSERT_EQ(payload(port1), "PORT 203,0,113,1,156,80\r\n");
    const uint32_t after1 = 1001 + static_cast<uint32_t>(kPort1.size());
    auto ok1 = a.run(ipv4(6, "203.0.113.2", "203.0.113.1",
                          tcp(21, 41000, 5001, after1 + kGrow, kTcpAck, {}, text(kOk))),
                     3);
    ASSERT_EQ(ok1.p.ack, after1);
    // The server's data connection for PORT 1 becomes the ftp-data child.
    auto data1 = a.run(ipv4(6, "203.0.113.2", "203.0.113.1", tcp(20, 40016, 9000, 0, kTcpSyn)), 3);
    ASSERT_EQ(data1.d.verdict, Verdict::kAccept);
    ASSERT_EQ(data1.p.dst, addr("198.18.1.2"));
    // PORT 2 stays pending: its entry holds port 40017 on the public address.
    auto port2 = a.run(ipv4(6, "198.18.1.2", "203.0.113.2",
                            tcp(41000, 21, after1, 5009, kTcpAck | kTcpPsh, {}, text(kPort2))),
                       2);
    ASSERT_EQ(port2.p.seq, after1 + kGrow);
    ASSERT_EQ(a.aspf_entries(), 1u);
    ftp_next = after1 + static_cast<uint32_t>(kPort2.size());
    auto ok2 = a.run(ipv4(6, "203.0.113.2", "203.0.113.1",
                          tcp(21, 41000, 5009, ftp_next + 2 * kGrow, kTcpAck, {}, text(kOk))),
                     3);
    ASSERT_EQ(ok2.p.ack, ftp_next);
  }

  void build_pptp() {
    handshake("198.18.1.3", 41723, 1723);
    auto ocrq =
        a.run(ipv4(6, "198.18.1.3", "203.0.113.2",
                   tcp(41723, 1723, 1001, 5001, kTcpAck, {}, pptp_msg(7, 168, {{12, 0}, {14, 1}}))),
              2);
    call_xlat = get16(ocrq.pkt, ocrq.p.payload_offset + 12);
    ASSERT_NE(call_xlat, 0);
    auto ocrp = a.run(ipv4(6, "203.0.113.2", "203.0.113.1",
                           tcp(1723, 41723, 5001, 1169, kTcpAck, {},
                               pptp_msg(8, 32, {{12, 100}, {14, call_xlat}, {16, 0x0100}}))),
                      3);
    ASSERT_EQ(ocrp.d.verdict, Verdict::kAccept);
    auto gre = a.run(
        ipv4(47, "203.0.113.2", "203.0.113.1", gre_v1(call_xlat, text("ppp"), true, false)), 3);
    ASSERT_EQ(gre.d.verdict, Verdict::kAccept);
    ASSERT_EQ(gre.p.dst, addr("198.18.1.3"));
  }

  // Packets of every restored flow; each gives the same result in the data
  // plane that went on and in the restored one, and what `check` expects.
  struct Probe {
    const char* what;
    Bytes pkt;
    uint32_t indev;
    std::function<void(const Out&)> check;
  };
  std::vector<Probe> probes() {
    const uint32_t n = ftp_next;
    const uint32_t w = n + 2 * kGrow;  // where the client's stream is on the wire
    const uint32_t port2_at = n - static_cast<uint32_t>(kPort2.size());
    auto dst_is = [](const char* a) { return [a](const Out& o) { EXPECT_EQ(o.p.dst, addr(a)); }; };
    return {
        {"easy-ip out",
         ipv4(6, "198.18.1.2", "203.0.113.2",
              tcp(40000, 80, 1001, 5001, kTcpAck, {}, text("GET /\r\n"))),
         2, [](const Out& o) { EXPECT_EQ(o.p.sport, 40000) << "the same port"; }},
        {"easy-ip back", ipv4(6, "203.0.113.2", "203.0.113.1", tcp(80, 40000, 5001, 1008, kTcpAck)),
         3, dst_is("198.18.1.2")},
        {"pat out", ipv4(17, "198.18.1.10", "203.0.113.2", udp(5300, 53, text("q2"))), 2,
         [this](const Out& o) { EXPECT_EQ(o.p.sport, pat_port); }},
        {"pat back", ipv4(17, "203.0.113.2", pat_src.str().c_str(), udp(53, pat_port, text("a"))),
         3, dst_is("198.18.1.10")},
        {"no-pat out", ipv4(17, "198.18.1.20", "203.0.113.2", udp(6000, 123, text("n2"))), 2,
         [](const Out& o) { EXPECT_EQ(o.p.src, addr("203.0.113.101")); }},
        {"no-pat back", ipv4(17, "203.0.113.2", "203.0.113.101", udp(123, 6000, text("r"))), 3,
         dst_is("198.18.1.20")},
        {"nat server in", ipv4(6, "203.0.113.5", "203.0.113.9", tcp(7000, 80, 1001, 0, kTcpAck)), 3,
         dst_is("10.0.0.5")},
        {"nat server back", ipv4(6, "10.0.0.5", "203.0.113.5", tcp(80, 7000, 1, 1001, kTcpAck)), 4,
         [](const Out& o) { EXPECT_EQ(o.p.src, addr("203.0.113.9")); }},
        {"server reverse",
         ipv4(6, "10.0.0.5", "203.0.113.2", tcp(5555, 443, 1001, 5001, kTcpAck, {}, text("x"))), 4,
         [](const Out& o) { EXPECT_EQ(o.p.src, addr("203.0.113.9")); }},
        {"ftp resent across PORT 1's end",
         ipv4(6, "198.18.1.2", "203.0.113.2",
              tcp(41000, 21, port2_at - 2, 5017, kTcpAck, {}, text("\r\n" + kPort2))),
         2,
         [](const Out& o) {
           // Inspected before the restart: not parsed again (no second rewrite
           // spliced in, no second entry), just rewritten as recorded.
           EXPECT_EQ(payload(o), "\r\nPORT 203,0,113,1,156,81\r\n");
         }},
        {"ftp PORT 2 again",
         ipv4(6, "198.18.1.2", "203.0.113.2",
              tcp(41000, 21, port2_at, 5017, kTcpAck, {}, text(kPort2))),
         2,
         [port2_at](const Out& o) {
           EXPECT_EQ(payload(o), "PORT 203,0,113,1,156,81\r\n") << "rewritten the same";
           EXPECT_EQ(o.p.seq, port2_at + kGrow);
         }},
        {"ftp next",
         ipv4(6, "198.18.1.2", "203.0.113.2",
              tcp(41000, 21, n, 5017, kTcpAck, {}, text("RETR x\r\n"))),
         2, [w](const Out& o) { EXPECT_EQ(o.p.seq, w) << "moved by both rewrites"; }},
        {"ftp ack",
         ipv4(6, "203.0.113.2", "203.0.113.1",
              tcp(21, 41000, 5017, w + 8, kTcpAck, {}, text("150 go\r\n"))),
         3, [n](const Out& o) { EXPECT_EQ(o.p.ack, n + 8) << "in the client's numbering"; }},
        {"ftp data 1",
         ipv4(6, "203.0.113.2", "203.0.113.1", tcp(20, 40016, 9001, 1, kTcpAck, {}, text("file"))),
         3, dst_is("198.18.1.2")},
        {"ftp data 2", ipv4(6, "203.0.113.2", "203.0.113.1", tcp(20, 40017, 7000, 0, kTcpSyn)), 3,
         [](const Out& o) {
           EXPECT_EQ(o.p.dst, addr("198.18.1.2"));
           EXPECT_EQ(o.p.dport, 40017) << "the pending entry admits it";
         }},
        {"ftp PORT 3",
         ipv4(6, "198.18.1.2", "203.0.113.2",
              tcp(41000, 21, n + 8, 5025, kTcpAck, {}, text(kPort3))),
         2,
         [w](const Out& o) {
           // Inspection resumed at the line boundary after the restart.
           EXPECT_EQ(payload(o), "PORT 203,0,113,1,156,82\r\n");
           EXPECT_EQ(o.p.seq, w + 8);
         }},
        {"gre in",
         ipv4(47, "203.0.113.2", "203.0.113.1", gre_v1(call_xlat, text("p2"), true, false)), 3,
         [](const Out& o) {
           EXPECT_EQ(o.p.dst, addr("198.18.1.3"));
           EXPECT_EQ(o.p.dport, 0) << "the client's own call id";
         }},
        {"gre out", ipv4(47, "198.18.1.3", "203.0.113.2", gre_v1(100, text("p3"), true, false)), 2,
         [](const Out& o) { EXPECT_EQ(o.p.src, addr("203.0.113.1")); }},
    };
  }

  common::ManualClock clock;
  Plane a{clock};
  std::string path;
  common::IpAddr pat_src;
  uint16_t pat_port = 0;
  uint32_t ftp_next = 0;  // the client's next original seq on the FTP control connection
  uint16_t call_xlat = 0;
};

TEST_F(State, RestoredPlaneShowsHoldsAndTranslatesAsTheOriginal) {
  const std::string shown = a.sessions_shown();
  const auto map_shown = a.servermap_shown();
  const size_t n = a.dp.sessions().size();
  ASSERT_EQ(n, 9u) << shown;
  const size_t ports = a.dp.nat_state().ports.used_total();
  std::string err;
  ASSERT_TRUE(a.dp.save_state(path, &err)) << err;

  Plane b(clock);
  auto rep = b.dp.restore_state(path, &err);
  ASSERT_TRUE(rep) << err;
  EXPECT_EQ(rep->sessions, n) << rep->summary();
  EXPECT_EQ(rep->entries, a.aspf_entries()) << rep->summary();
  for (size_t i = 0; i < RestoreReport::kSkipCount; ++i) {
    EXPECT_EQ(rep->sessions_skipped[i], 0u) << RestoreReport::skip_name(i);
    EXPECT_EQ(rep->entries_skipped[i], 0u) << RestoreReport::skip_name(i);
  }
  // Same sessions as displayed: tuples, NAT, applications, zones, policy names, "+->".
  EXPECT_EQ(b.sessions_shown(), shown);
  EXPECT_EQ(b.servermap_shown(), map_shown);
  // The same ports and bindings are held.
  EXPECT_EQ(b.dp.nat_state().ports.used_total(), ports);
  for (const auto& s : b.dp.sessions().snapshot()) {
    if (s.nat.port_held) {
      EXPECT_TRUE(b.dp.nat_state().ports.in_use(s.nat.snat_addr, s.orig.proto, s.nat.snat_port));
    }
  }
  EXPECT_TRUE(b.dp.nat_state().ports.in_use(addr("203.0.113.1"), 6, 40017)) << "pending entry";
  auto bound = b.dp.nat_state().all_bindings();
  ASSERT_EQ(bound["np"].size(), 1u);
  EXPECT_EQ(bound["np"][0].inside, addr("198.18.1.20"));
  EXPECT_EQ(bound["np"][0].global, addr("203.0.113.101"));
  // Children point at their restored control sessions.
  for (const auto& s : b.dp.sessions().snapshot()) {
    if (s.parent_id) {
      EXPECT_TRUE(b.dp.sessions().with_session_id(s.parent_id, [](session::Session&) {}));
    }
  }

  // Every restored flow goes on exactly as in the plane that was not restarted.
  for (auto& pr : probes()) {
    Out x = a.run(pr.pkt, pr.indev);
    Out y = b.run(pr.pkt, pr.indev);
    EXPECT_EQ(y.d.verdict, x.d.verdict) << pr.what;
    EXPECT_EQ(y.pkt, x.pkt) << pr.what;
    EXPECT_TRUE(packet::verify_checksums(y.pkt)) << pr.what;
    EXPECT_EQ(y.d.verdict, Verdict::kAccept) << pr.what;
    SCOPED_TRACE(pr.what);
    pr.check(y);
  }
  size_t ftp_entries = 0;
  for (const auto& e : b.dp.servermap().snapshot()) {
    ftp_entries += e.type == session::MapType::kAspf && e.proto == 6;
  }
  EXPECT_EQ(ftp_entries, 1u) << "PORT 2's was used; PORT 3 opened one after the restart";

  // New flows cannot take what the restored sessions hold.
  auto fresh = b.run(ipv4(6, "198.18.1.9", "203.0.113.2", tcp(40000, 80, 1, 0, kTcpSyn)), 2);
  ASSERT_EQ(fresh.d.verdict, Verdict::kAccept);
  EXPECT_NE(fresh.p.sport, 40000);
  auto np = b.run(ipv4(17, "198.18.1.22", "203.0.113.2", udp(6000, 123, text("n"))), 2);
  EXPECT_EQ(np.p.src, addr("203.0.113.100"));
}

TEST_F(State, APortTakenMeanwhileSkipsOnlyThatSession) {
  std::string err;
  ASSERT_TRUE(a.dp.save_state(path, &err)) << err;
  Plane b(clock);
  ASSERT_TRUE(b.dp.nat_state().ports.reserve(addr("203.0.113.1"), 6, 40000));
  auto rep = b.dp.restore_state(path, &err);
  ASSERT_TRUE(rep) << err;
  EXPECT_EQ(rep->sessions_skipped[RestoreReport::kNatPort], 1u) << rep->summary();
  EXPECT_EQ(rep->sessions, a.dp.sessions().size() - 1);
  EXPECT_NE(rep->summary().find("nat-port 1"), std::string::npos) << rep->summary();
  for (const auto& s : b.dp.sessions().snapshot()) EXPECT_NE(s.orig.sport, 40000);
}

TEST_F(State, SessionsAgedMeanwhileAndAGoneZoneAreSkipped) {
  std::string err;
  ASSERT_TRUE(a.dp.save_state(path, &err)) << err;
  Plane b(clock, false);
  // Past the dns (30 s) and syn (5 s) aging times: the PAT dns flow, the NAT
  // server's half-open flow and the ftp-data child (SYN only) are gone.
  clock.advance_s(31);
  auto rep = b.dp.restore_state(path, &err);
  ASSERT_TRUE(rep) << err;
  EXPECT_EQ(rep->sessions_skipped[RestoreReport::kExpired], 3u) << rep->summary();
  // The NAT server's own outbound flow is in a zone that no longer exists.
  EXPECT_EQ(rep->sessions_skipped[RestoreReport::kZone], 1u) << rep->summary();
  EXPECT_EQ(rep->sessions, a.dp.sessions().size() - 4);
  EXPECT_EQ(rep->entries, 3u) << "the pending FTP entry (60 s) and the call's two GRE entries";
  for (const auto& s : b.dp.sessions().snapshot()) {
    EXPECT_NE(b.dp.apps().name(s.app), "ftp-data");
    EXPECT_NE(b.dp.apps().name(s.app), "dns");
  }
}

TEST_F(State, RefusedFilesRestoreNothing) {
  std::string err;
  ASSERT_TRUE(a.dp.save_state(path, &err)) << err;
  const auto good = read_all(path);
  ASSERT_GT(good.size(), 100u);
  struct Case {
    const char* name;
    std::vector<uint8_t> bytes;
    const char* why;
  };
  auto other_boot = [&] {
    auto sn = std::get<session::snapshot::Snapshot>(session::snapshot::decode(good));
    sn.boot_id = "00000000-0000-0000-0000-000000000000";
    return session::snapshot::encode(sn);
  };
  auto flipped = good;
  flipped[flipped.size() / 2] ^= 0x01;
  auto version = good;
  version[8] = 9;
  const Case cases[] = {
      {"other boot", other_boot(), "another boot"},
      {"truncated", std::vector<uint8_t>(good.begin(), good.begin() + good.size() / 2),
       "truncated"},
      {"flipped byte", flipped, "checksum"},
      {"other version", version, "version 9"},
      {"not a state file", {'h', 'e', 'l', 'l', 'o'}, "truncated"},
  };
  for (const auto& c : cases) {
    write_all(path, c.bytes);
    Plane b(clock);
    const size_t statics = b.dp.servermap().size();
    std::string why;
    EXPECT_FALSE(b.dp.restore_state(path, &why)) << c.name;
    EXPECT_NE(why.find(c.why), std::string::npos) << c.name << ": " << why;
    EXPECT_NE(why.find("nothing restored"), std::string::npos) << c.name << ": " << why;
    EXPECT_EQ(b.dp.sessions().size(), 0u) << c.name;
    EXPECT_EQ(b.dp.servermap().size(), statics) << c.name;
    EXPECT_EQ(b.dp.nat_state().ports.used_total(), 0u) << c.name;
  }
  // No file at all is not an error: there is simply nothing to restore.
  std::remove(path.c_str());
  Plane b(clock);
  auto rep = b.dp.restore_state(path, &err);
  ASSERT_TRUE(rep);
  EXPECT_FALSE(rep->found);
  EXPECT_EQ(b.dp.sessions().size(), 0u);
}

TEST_F(State, SaveReplacesTheFileWhole) {
  std::string err;
  write_all(path, {'o', 'l', 'd'});
  ASSERT_TRUE(a.dp.save_state(path, &err)) << err;
  auto dec = session::snapshot::decode(read_all(path));
  ASSERT_TRUE(std::holds_alternative<session::snapshot::Snapshot>(dec));
  EXPECT_EQ(std::get<session::snapshot::Snapshot>(dec).sessions.size(), a.dp.sessions().size());
  std::ifstream tmp(path + ".tmp");
  EXPECT_FALSE(tmp.good()) << "no temporary file left behind";
  EXPECT_FALSE(a.dp.save_state("/nonexistent-dir/x.state", &err));
  EXPECT_NE(err.find("/nonexistent-dir/x.state.tmp"), std::string::npos) << err;
}

}  // namespace
}  // namespace fw::fwd
