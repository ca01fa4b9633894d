// packet-trace golden tests (issue 15 item 1): each case loads trace_golden/trace.cfg into a
// controller with a data plane (routes from a written table), sends the packets its setup asks
// through the real pipeline, runs `packet-trace ... json` through the controller and compares
// the output with trace_golden/NAME.json. Every trace must leave the data plane as it found
// it: sessions, server-map, NAT ports and every counter. To regenerate the expected files after
// an intended change: FW_TRACE_GOLDEN_UPDATE=1 build/tests/unit_fwd --gtest_filter='TraceGolden*'
// and read the diff before committing it.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "common/clock.h"
#include "fwd/controller.h"
#include "fwd/dataplane.h"
#include "fwd/nfqueue.h"
#include "fwd/table_routes.h"
#include "fwd/trace.h"
#include "packet/build.h"
#include "tests/unit/fwd/pipeline_fixture.h"

namespace fw::fwd {
namespace {

const std::filesystem::path kDir =
    std::filesystem::path(FW_SOURCE_DIR) / "tests/unit/fwd/trace_golden";

std::string read(const std::filesystem::path& p) {
  std::ifstream f(p);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// A packet sent through the pipeline before the trace.
struct Sent {
  const char* input;
  const char* src;
  uint16_t sport;
  const char* dst;
  uint16_t dport;
  uint8_t flags = 0x02;
  uint32_t seq = 0, ack = 0;
  std::string_view payload = {};
};

// An active FTP control connection through easy-ip: handshake, then PORT 198.18.1.2:40016. The
// FTP ALG opens an ASPF entry for 203.0.113.2 -> 203.0.113.1:40016 (the client's port kept).
const std::vector<Sent> kFtpPort = {
    {"in0", "198.18.1.2", 40000, "203.0.113.2", 21, 0x02, 1000, 0},
    {"out0", "203.0.113.2", 21, "203.0.113.1", 40000, 0x12, 5000, 1001},
    {"in0", "198.18.1.2", 40000, "203.0.113.2", 21, 0x10, 1001, 5001},
    {"in0", "198.18.1.2", 40000, "203.0.113.2", 21, 0x18, 1001, 5001, "PORT 198,18,1,2,156,80\r\n"},
};

struct Case {
  const char* name;
  const char* command;
  std::vector<Sent> setup = {};
  size_t max_sessions = 1000;
};

// The lab of LAB.md: in0 trust, out0 untrust, dmz0 dmz (urpf strict), lab0 in zone lab, eth9
// in no zone; the firewall is 198.18.1.1 on in0 and 203.0.113.1 on out0, dmz0 has no address.
TableRoutes lab_table() {
  TableRoutes routes;
  std::string err;
  for (const char* r : {"198.18.1.0/24=in0", "198.18.2.0/24=dmz0", "203.0.113.0/24=out0",
                        "0.0.0.0/0=out0,203.0.113.254", "198.18.9.0/24=eth9", "198.18.5.0/24=lab0",
                        "198.18.200.0/24=out0,203.0.113.2"}) {
    EXPECT_TRUE(routes.add_route(r, &err)) << err;
  }
  for (const char* l : {"198.18.1.1=in0", "203.0.113.1=out0"}) {
    EXPECT_TRUE(routes.add_local(l, &err)) << err;
  }
  return routes;
}

DataPlaneOptions max_sessions(size_t n) {
  DataPlaneOptions opt;
  opt.max_sessions = n;
  return opt;
}

struct Lab {
  common::ManualClock clock{1'000'000};
  TableRoutes routes = lab_table();
  testing::Plane plane;
  DataPlane* dp = &plane.dp;
  std::unique_ptr<Controller>& ctl = plane.ctl;

  explicit Lab(size_t sessions) : plane(clock, routes, max_sessions(sessions)) {
    std::string err;
    EXPECT_TRUE(plane.load(read(kDir / "trace.cfg"), &err, "trace.cfg")) << err;
  }

  void send(const Sent& s) {
    packet::BuildSpec b;
    b.src = *common::IpAddr::parse(s.src);
    b.dst = *common::IpAddr::parse(s.dst);
    b.sport = s.sport;
    b.dport = s.dport;
    b.tcp_flags = s.flags;
    b.seq = s.seq;
    b.ack = s.ack;
    b.payload = std::span(reinterpret_cast<const uint8_t*>(s.payload.data()), s.payload.size());
    auto pkt = packet::build(b);
    ASSERT_FALSE(pkt.empty());
    EXPECT_EQ(plane.run(std::move(pkt), routes.ifindex(s.input)).d.verdict, Verdict::kAccept)
        << s.src << " " << s.sport;
  }

  // What a trace must not change.
  std::string state() {
    std::ostringstream os;
    os << "sessions " << dp->sessions().size() << " server-map " << dp->servermap().size()
       << " ports " << dp->nat_state().ports.used_total() << "\n";
    for (const auto& [n, v] : dp->counters().snapshot()) {
      if (v) os << n << " " << v << "\n";
    }
    for (const auto& s : dp->servermap().snapshot()) os << s.id << " hits " << s.hits << "\n";
    for (const auto& s : dp->sessions().snapshot()) {
      os << s.id << " " << s.packets[0] << " " << s.timeout_s << "\n";
    }
    return os.str();
  }
};

const Case kCases[] = {
    // permit
    {"permit-easy-ip-aspf-ftp",
     "packet-trace input GigabitEthernet1/0/1 protocol tcp source 198.18.1.2 40000 destination "
     "203.0.113.2 21"},
    {"permit-pool-pat",
     "packet-trace input in0 protocol tcp source 198.18.1.3 40000 destination 203.0.113.2 80"},
    {"permit-nat-server",
     "packet-trace input out0 protocol tcp source 203.0.113.2 40000 destination 203.0.113.10 80"},
    {"permit-no-nat",
     "packet-trace input out0 protocol tcp source 203.0.113.2 40000 destination 198.18.2.2 443"},
    {"permit-udp-easy-ip",
     "packet-trace input in0 protocol udp source 198.18.1.2 5353 destination 203.0.113.2 53"},
    {"permit-icmp-echo",
     "packet-trace input in0 protocol icmp source 198.18.1.2 destination 203.0.113.2 identifier "
     "7"},
    {"permit-static-route",
     "packet-trace input in0 protocol tcp source 198.18.1.2 40000 destination 198.18.200.5 443"},
    {"permit-default-route",
     "packet-trace input in0 protocol tcp source 198.18.1.2 40000 destination 198.19.0.1 443"},
    {"permit-gre", "packet-trace input in0 protocol gre source 198.18.1.2 destination 203.0.113.2"},
    {"permit-session-hit",
     "packet-trace input in0 protocol tcp source 198.18.1.2 40000 destination 203.0.113.2 80 "
     "tcp-flags ack",
     {{"in0", "198.18.1.2", 40000, "203.0.113.2", 80}}},
    {"permit-aspf-data-channel",
     "packet-trace input out0 protocol tcp source 203.0.113.2 20 destination 203.0.113.1 40016",
     kFtpPort},
    {"permit-ftp-control-session-hit",
     "packet-trace input out0 protocol tcp source 203.0.113.2 21 destination 203.0.113.1 40000 "
     "tcp-flags ack",
     kFtpPort},
    {"drop-aspf-entry-other-port",
     "packet-trace input out0 protocol tcp source 203.0.113.2 20 destination 203.0.113.1 40017",
     kFtpPort},
    {"permit-easy-ip-port-taken",
     "packet-trace input in0 protocol tcp source 198.18.1.4 40000 destination 203.0.113.2 80",
     {{"in0", "198.18.1.2", 40000, "203.0.113.2", 80}}},
    // drops, one per reason a synthesised first packet reaches
    {"drop-policy-deny",
     "packet-trace input in0 protocol tcp source 198.18.1.2 40000 destination 203.0.113.66 80"},
    {"drop-policy-default",
     "packet-trace input out0 protocol tcp source 203.0.113.2 40000 destination 198.18.1.2 22"},
    {"drop-local-default",
     "packet-trace local protocol udp source 203.0.113.1 40000 "
     "destination 203.0.113.2 53"},
    {"drop-tcp-not-syn",
     "packet-trace input in0 protocol tcp source 198.18.1.2 40000 destination 203.0.113.2 80 "
     "tcp-flags ack"},
    {"drop-no-zone",
     "packet-trace input eth9 protocol tcp source 198.18.9.2 40000 destination 203.0.113.2 80"},
    {"drop-no-route",
     "packet-trace input in0 protocol tcp source 2001:db8:1::2 40000 destination 2001:db8:9::1 "
     "80"},
    {"drop-table-full",
     "packet-trace input in0 protocol tcp source 198.18.1.3 40000 destination 203.0.113.2 80",
     {{"in0", "198.18.1.2", 40000, "203.0.113.2", 80}},
     1},
    {"drop-icmp-error-no-session",
     "packet-trace input out0 protocol icmp source 203.0.113.2 destination 198.18.1.2 type 3 "
     "code 1"},
    {"drop-nat-pool-exhausted",
     "packet-trace input lab0 protocol tcp source 198.18.5.2 40000 destination 198.18.2.2 80"},
    {"drop-ttl-expired-nat",
     "packet-trace input out0 protocol tcp source 203.0.113.2 40000 destination 203.0.113.10 80 "
     "ttl 1"},
    {"drop-service-manage-deny",
     "packet-trace input in0 protocol icmp source 198.18.1.2 destination 198.18.1.1"},
    {"drop-tcp-invalid-flags",
     "packet-trace input in0 protocol tcp source 198.18.1.2 40000 destination 203.0.113.2 80 "
     "tcp-flags syn fin"},
    {"drop-land",
     "packet-trace input in0 protocol tcp source 198.18.1.2 40000 destination 198.18.1.2 80"},
    {"drop-port-zero",
     "packet-trace input in0 protocol udp source 198.18.1.2 0 destination 203.0.113.2 53"},
    {"drop-urpf",
     "packet-trace input dmz0 protocol tcp source 198.18.1.9 40000 destination 203.0.113.2 80"},
    {"drop-source-session-limit",
     "packet-trace input lab0 protocol tcp source 198.18.5.2 40001 destination 203.0.113.2 80",
     {{"lab0", "198.18.5.2", 40000, "203.0.113.2", 80}}},
};

class TraceGolden : public ::testing::TestWithParam<Case> {};

TEST_P(TraceGolden, MatchesExpectedJsonAndChangesNothing) {
  const Case& c = GetParam();
  Lab lab(c.max_sessions);
  for (const auto& s : c.setup) lab.send(s);
  const std::string before = lab.state();
  auto r = lab.ctl->execute(cli::user_view(), std::string(c.command) + " json");
  ASSERT_TRUE(r.ok) << r.output;
  EXPECT_EQ(lab.state(), before) << "the trace changed the data plane";
  const auto path = kDir / (std::string(c.name) + ".json");
  if (std::getenv("FW_TRACE_GOLDEN_UPDATE")) {
    std::ofstream f(path);
    f << r.output;
    ASSERT_TRUE(f.good()) << "cannot write " << path;
    return;
  }
  ASSERT_TRUE(std::filesystem::exists(path)) << path << " is missing (FW_TRACE_GOLDEN_UPDATE=1)";
  EXPECT_EQ(r.output, read(path)) << "differs from " << path;
}

INSTANTIATE_TEST_SUITE_P(Cases, TraceGolden, ::testing::ValuesIn(kCases), [](const auto& info) {
  std::string n = info.param.name;
  for (char& ch : n) {
    if (ch == '-') ch = '_';
  }
  return n;
});

// A trace and the packet it describes agree: the session the trace announces is the session
// the pipeline then creates (the peeked NAT port is the one allocated).
TEST(TraceAgrees, AnnouncedSessionIsCreated) {
  Lab lab(1000);
  auto r = lab.ctl->execute(cli::user_view(),
                            "packet-trace input in0 protocol tcp source 198.18.1.3 40000 "
                            "destination 203.0.113.2 80");
  EXPECT_NE(r.output.find(" Session: 198.18.1.3:40000[203.0.113.101:40000] --> 203.0.113.2:80\n"),
            std::string::npos)
      << r.output;
  lab.send({"in0", "198.18.1.3", 40000, "203.0.113.2", 80});
  auto s = lab.dp->sessions().snapshot();
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].nat.snat_addr.str(), "203.0.113.101");
  EXPECT_EQ(s[0].nat.snat_port, 40000);
  // The same client port again: the trace now announces the next free port.
  r = lab.ctl->execute(cli::user_view(),
                       "packet-trace input in0 protocol tcp source 198.18.1.3 40000 "
                       "destination 203.0.113.3 80");
  EXPECT_NE(r.output.find("[203.0.113.101:2048]"), std::string::npos) << r.output;
  lab.send({"in0", "198.18.1.3", 40000, "203.0.113.3", 80});
  s = lab.dp->sessions().snapshot();
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[1].nat.snat_port, 2048);
}

TEST(TraceErrors, RefusedRequests) {
  Lab lab(1000);
  auto r = lab.ctl->execute(cli::user_view(),
                            "packet-trace input in0 protocol tcp source 198.18.1.2 1 destination "
                            "2001:db8::1 80");
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.output.find("must be of one family"), std::string::npos) << r.output;
  r = lab.ctl->execute(cli::user_view(),
                       "packet-trace input in0 protocol udp source 198.18.1.2 1 destination "
                       "203.0.113.2 80 tcp-flags syn");
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.output.find("TCP flags go with protocol tcp"), std::string::npos) << r.output;
  r = lab.ctl->execute(cli::user_view(),
                       "packet-trace input nosuch0 protocol udp source 198.18.1.2 1 destination "
                       "203.0.113.2 80");
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.output.find("does not exist"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace fw::fwd

namespace fw::fwd {
namespace {

// The trace runs in the controller's thread while workers process packets: both read the same
// snapshot, table, server-map and allocator (run it under -fsanitize=thread to see races).
TEST(TraceConcurrency, TracesWhileAWorkerCreatesSessions) {
  Lab lab(100000);
  std::atomic<bool> stop{false};
  std::thread worker([&] {
    for (uint16_t port = 10000; port < 12000 && !stop; ++port) {
      lab.send({"in0", "198.18.1.2", port, "203.0.113.2", 80});
    }
  });
  size_t permits = 0;
  for (int i = 0; i < 200; ++i) {
    auto r = lab.ctl->execute(cli::user_view(),
                              "packet-trace input in0 protocol tcp source 198.18.1.3 " +
                                  std::to_string(20000 + i) + " destination 203.0.113.2 80");
    permits += r.output.find(" Action: permit\n") != std::string::npos;
  }
  stop = true;
  worker.join();
  EXPECT_EQ(permits, 200u);
  EXPECT_GT(lab.dp->sessions().size(), 0u);
  for (const auto& s : lab.dp->sessions().snapshot()) {
    EXPECT_EQ(s.orig.src.str(), "198.18.1.2") << "a traced flow became a session";
  }
}

}  // namespace
}  // namespace fw::fwd

namespace fw::fwd {
namespace {

// The trace and the packet path agree: for a grid of packets (protocols, inputs, addresses,
// ports, flags, TTLs) each is traced and then really processed on the same data plane; the
// trace's action and drop reason must be what the pipeline then did (its drop counter), and a
// new session must carry the translation the trace announced.
TEST(TraceAgrees, TraceMatchesTheProcessedPacketOverAGrid) {
  Lab lab(1000);
  const config::Config cfg = lab.ctl->running();
  const char* inputs[] = {"in0", "out0", "dmz0", "lab0", "eth9"};
  const char* addrs[] = {"198.18.1.2",   "198.18.1.3", "198.18.1.1", "203.0.113.2",  "203.0.113.10",
                         "203.0.113.66", "198.18.2.2", "198.18.5.2", "198.18.200.5", "198.19.0.1"};
  const uint8_t protos[] = {6, 17, 1, 47};
  const uint8_t flags[] = {0x02, 0x10, 0x03};
  const uint16_t dports[] = {21, 80, 0};
  size_t checked = 0, permits = 0;
  uint16_t sport = 30000;
  for (const char* in : inputs) {
    for (const char* src : addrs) {
      for (const char* dst : addrs) {
        for (uint8_t proto : protos) {
          for (uint8_t fl : flags) {
            if (proto != 6 && fl != 0x02) continue;
            for (uint16_t dport : dports) {
              TraceRequest req;
              req.spec.src = *common::IpAddr::parse(src);
              req.spec.dst = *common::IpAddr::parse(dst);
              req.spec.proto = proto;
              req.spec.sport = ++sport;
              req.spec.dport = dport;
              req.spec.tcp_flags = fl;
              req.spec.ttl = sport % 7 == 0 ? 1 : 64;
              req.in_linux = req.in_shown = in;
              req.ifindex = lab.routes.ifindex(in);
              std::string err;
              auto rep = packet_trace(*lab.dp, cfg, req, &err);
              ASSERT_TRUE(rep) << err;
              auto& c = lab.dp->counters();
              const uint64_t dropped = c.value("packet.dropped");
              const uint64_t reason = rep->permit ? 0 : c.value("packet.drop." + rep->reason);
              const size_t sessions = lab.dp->sessions().size();
              const auto counters_before = c.snapshot();
              auto pkt = packet::build(req.spec);
              ASSERT_FALSE(pkt.empty());
              pkt.resize(pkt.size() + 64);
              QueuedPacket qp;
              qp.data = pkt.data();
              qp.len = static_cast<uint32_t>(pkt.size() - 64);
              qp.capacity = static_cast<uint32_t>(pkt.size());
              qp.indev = req.ifindex;
              lab.dp->pipeline().process(qp);
              std::string what = rep->packet + " -> " + (rep->permit ? "permit" : rep->reason);
              for (const auto& [n, v] : c.snapshot()) {
                for (const auto& [n0, v0] : counters_before) {
                  if (n0 == n && v0 != v && n.rfind("packet.drop.", 0) == 0) what += "; " + n;
                }
              }
              if (rep->permit) {
                ++permits;
                EXPECT_EQ(c.value("packet.dropped"), dropped) << what;
              } else {
                EXPECT_EQ(c.value("packet.drop." + rep->reason), reason + 1) << what;
              }
              if (lab.dp->sessions().size() == sessions + 1) {
                // The newest session (highest id) is this packet's.
                auto all = lab.dp->sessions().snapshot();
                const auto& s = all.back();
                std::string a = rep->after;
                if (s.nat.snat) {
                  EXPECT_NE(a.find("[" + s.nat.snat_addr.str() + ":" +
                                   std::to_string(s.nat.snat_port) + "]"),
                            std::string::npos)
                      << what << " " << a;
                }
              }
              ++checked;
            }
          }
        }
      }
    }
  }
  EXPECT_GT(permits, 50u);
  EXPECT_GT(checked, 5000u);
}

}  // namespace
}  // namespace fw::fwd
