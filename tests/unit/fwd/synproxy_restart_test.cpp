// "synproxy" area (issue 16 item 2, restart): a session the SYN proxy opened keeps its sequence
// translation across a planned restart (save_state -> a new data plane -> restore_state): the
// server's seqs and the client's acks are still translated by the same offset, windows still
// rescaled; a session still waiting for the server's SYN-ACK resumes too. A version 1 state file
// (before the proxy's fields) is still read.
#include <gtest/gtest.h>

#include "common/counters.h"
#include "fwd/controller.h"
#include "fwd/dataplane.h"
#include "fwd/pipeline.h"
#include "packet/checksum.h"
#include "packet/parse.h"
#include "session/snapshot.h"
#include "session/syn_proxy.h"
#include "tests/unit/fwd/pipeline_fixture.h"
#include "tests/unit/packet/builders.h"
#include "tests/unit/session/snapshot_v1.h"

namespace fw::fwd {
namespace {

using namespace fw::packet::testing;

// kLabZones ends in the untrust zone's view.
const std::string kConfig =
    std::string(testing::kLabZones) + " anti-ddos syn-flood tcp-proxy\n" + testing::kPermitAll;

// MSS 1460, SACK-permitted, window scale 7.
const Bytes kSynOpts{2, 4, 0x05, 0xb4, 4, 2, 1, 3, 3, 7};
constexpr uint32_t kS = 0xfffff000;  // the server's ISN (the seq space wraps)

using testing::Out;
using testing::Plane;

class SynProxyRestart : public ::testing::Test {
 protected:
  // A data plane configured with kConfig (a second one is the process after the restart).
  std::unique_ptr<Plane> plane() {
    auto p = std::make_unique<Plane>(clock, routes);
    std::string err;
    EXPECT_TRUE(p->load(kConfig, &err)) << err;
    return p;
  }
  Out send(Plane& pl, Bytes pkt, uint32_t indev) { return pl.run(std::move(pkt), indev); }
  Out client(Plane& pl, uint32_t seq, uint32_t ack, uint8_t flags, Bytes opts = {},
             Bytes data = {}) {
    return send(
        pl, ipv4(6, "203.0.113.7", "198.18.1.5", tcp(40000, 80, seq, ack, flags, opts, data)), 3);
  }
  Out server(Plane& pl, uint32_t seq, uint32_t ack, uint8_t flags, Bytes opts = {},
             Bytes data = {}) {
    return send(
        pl, ipv4(6, "198.18.1.5", "203.0.113.7", tcp(80, 40000, seq, ack, flags, opts, data)), 2);
  }
  // SYN -> cookie, ACK -> session and SYN to the server; returns the cookie.
  uint32_t open(Plane& pl) {
    const uint32_t k = client(pl, 1000, 0, 0x02, kSynOpts).p.seq;
    EXPECT_EQ(client(pl, 1001, k + 1, 0x10).p.tcp_flags, 0x02) << "the SYN to the server";
    return k;
  }
  std::unique_ptr<Plane> restart(Plane& pl) {
    const std::string path = ::testing::TempDir() + "/synproxy-state.bin";
    std::string err;
    EXPECT_TRUE(pl.dp.save_state(path, &err)) << err;
    auto b = plane();
    auto rep = b->dp.restore_state(path, &err);
    EXPECT_TRUE(rep) << err;
    if (rep) {
      EXPECT_EQ(rep->sessions, 1u) << rep->summary();
    }
    return b;
  }
  void check_translated(Plane& pl, uint32_t k) {
    Out up = client(pl, 1001, k + 101, 0x18, {}, text("more"));
    ASSERT_EQ(up.d.verdict, Verdict::kAccept);
    EXPECT_EQ(up.p.ack, kS + 101) << "the client's ack in the server's numbering";
    Out down = server(pl, kS + 101, 1005, 0x18, {}, text("reply"));
    ASSERT_EQ(down.d.verdict, Verdict::kAccept);
    EXPECT_EQ(down.p.seq, k + 101) << "the server's seq in the client's numbering";
  }

  common::ManualClock clock{5'000'000};
  TableRoutes routes = testing::lab_routes();  // in0 = 2, out0 = 3
};

TEST_F(SynProxyRestart, AnEstablishedProxiedSessionKeepsItsTranslation) {
  auto a = plane();
  const uint32_t k = open(*a);
  ASSERT_EQ(server(*a, kS, 1001, 0x12, {2, 4, 0x05, 0xb4, 1, 3, 3, 7}).p.tcp_flags, 0x10);
  check_translated(*a, k);
  auto b = restart(*a);
  a.reset();  // the old process is gone
  bool proxied = false;
  b->dp.sessions().snapshot([&](const session::Session& s) {
    proxied =
        s.proxy == session::kProxyOn && s.proxy_seq == kS - k && s.proxy_wscale == (7 << 4 | 7);
    return false;
  });
  EXPECT_TRUE(proxied) << "proxy flags, offset and window scales restored";
  check_translated(*b, k);
}

TEST_F(SynProxyRestart, ASessionWaitingForTheServerResumes) {
  auto a = plane();
  const uint32_t k = open(*a);
  auto b = restart(*a);
  a.reset();
  // The server's SYN-ACK reaches the new process: it completes the server's handshake.
  Out ack = server(*b, kS, 1001, 0x12, {2, 4, 0x05, 0xb4, 1, 3, 3, 7});
  ASSERT_EQ(ack.d.verdict, Verdict::kAccept);
  EXPECT_EQ(ack.p.tcp_flags, 0x10);
  EXPECT_EQ(ack.p.ack, kS + 1);
  check_translated(*b, k);
}

TEST_F(SynProxyRestart, AVersionOneFileIsStillRead) {
  namespace snap = session::snapshot;
  snap::Snapshot sn;
  sn.boot_id = "b";
  snap::SavedSession ss;
  ss.s.id = 7;
  ss.s.orig.proto = ss.s.reply.proto = 6;
  ss.s.orig.src = ss.s.reply.dst = *common::IpAddr::parse("203.0.113.7");
  ss.s.orig.dst = ss.s.reply.src = *common::IpAddr::parse("198.18.1.5");
  ss.s.proxy = session::kProxyOn;
  ss.s.proxy_seq = 1234;
  sn.sessions.push_back(ss);
  auto v2 = snap::encode(sn);
  auto r2 = snap::decode(v2);
  ASSERT_TRUE(std::holds_alternative<snap::Snapshot>(r2));
  EXPECT_EQ(std::get<snap::Snapshot>(r2).sessions.at(0).s.proxy_seq, 1234u);
  // The same file as version 1 wrote it: no proxy fields (6 bytes) before the ALG flag.
  const auto v1 = session::testing::as_version_one(sn);
  auto r1 = snap::decode(v1);
  ASSERT_TRUE(std::holds_alternative<snap::Snapshot>(r1)) << std::get<snap::DecodeError>(r1).detail;
  const auto& s1 = std::get<snap::Snapshot>(r1).sessions.at(0).s;
  EXPECT_EQ(s1.id, 7u);
  EXPECT_EQ(s1.proxy, 0u);
  EXPECT_EQ(s1.proxy_seq, 0u);
}

}  // namespace
}  // namespace fw::fwd
