// Refusals logged once per scope (Context::log_scope, issue 13 item 6): through the real engine
// and SIP inspector, on one routed (pinhole-only) SIP flow - a trunk - two dialogs refused for
// the same reason log two lines, the same dialog refused again logs none, a parse error is
// still logged once per control session, and every refusal is counted.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "aspf/engine.h"
#include "aspf/registry.h"
#include "common/clock.h"
#include "common/counters.h"
#include "common/interner.h"
#include "common/log.h"
#include "nat/nat_policy.h"
#include "nat/translator.h"
#include "session/server_map.h"
#include "tests/unit/packet/builders.h"

namespace fw::aspf {
namespace {

using namespace fw::packet::testing;

// An INVITE of dialog `call_id` whose SDP offers media on `port`.
std::string invite(const std::string& call_id, int port) {
  const std::string body =
      "v=0\r\no=- 1 1 IN IP4 198.18.1.2\r\ns=-\r\nc=IN IP4 198.18.1.2\r\n"
      "t=0 0\r\nm=audio " +
      std::to_string(port) + " RTP/AVP 0\r\n";
  return "INVITE sip:bob@203.0.113.2 SIP/2.0\r\n"
         "Via: SIP/2.0/UDP 198.18.1.2:5060;branch=z9hG4bK-" +
         call_id +
         "\r\nFrom: <sip:alice@198.18.1.2>;tag=a\r\nTo: <sip:bob@203.0.113.2>\r\n"
         "Call-ID: " +
         call_id +
         "\r\nCSeq: 1 INVITE\r\nContact: <sip:alice@198.18.1.2:5060>\r\n"
         "Content-Type: application/sdp\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

class SipRefusalLog : public ::testing::Test {
 protected:
  SipRefusalLog() {
    add_builtin_algs(algs);
    sip = algs.id_of("sip");
    s.id = 0x51;
    s.alg = sip;
    s.orig = {*common::IpAddr::parse("198.18.1.2"), *common::IpAddr::parse("203.0.113.2"), 5060,
              5060, 17};
    s.reply = s.orig.reversed();
  }
  ~SipRefusalLog() override { engine.session_ended(s); }

  // Sends `payload` from the caller; returns what the engine logged meanwhile.
  std::string send(const std::string& payload) {
    Bytes pkt = ipv4(17, "198.18.1.2", "203.0.113.2", udp(5060, 5060, text(payload)));
    const uint32_t capacity = static_cast<uint32_t>(pkt.size() + 256);
    auto len = static_cast<uint32_t>(pkt.size());
    pkt.resize(capacity);
    auto parsed = packet::parse(std::span<const uint8_t>(pkt.data(), len));
    EXPECT_TRUE(std::holds_alternative<packet::Parsed>(parsed));
    auto& p = std::get<packet::Parsed>(parsed);
    common::set_log_level(common::LogLevel::kWarn);
    ::testing::internal::CaptureStderr();
    engine.process(pkt.data(), &len, capacity, p, s, session::Dir::kOriginal);
    return ::testing::internal::GetCapturedStderr();
  }
  uint64_t refused(std::string_view reason) {
    return table.value("aspf.sip.refused." + std::string(reason));
  }

  common::CounterTable table;
  Registry algs{table};
  common::ManualClock clock;
  session::ServerMap servermap{clock, table};
  nat::NatState nat_state;
  common::Interner names;
  nat::Translator translator{nat_state, servermap, names, table};
  Engine engine{algs, clock, servermap, translator};
  uint8_t sip = 0;
  session::Session s;
};

size_t lines(const std::string& log, const std::string& what) {
  size_t n = 0;
  for (size_t at = log.find(what); at != std::string::npos; at = log.find(what, at + 1)) ++n;
  return n;
}

TEST_F(SipRefusalLog, OncePerDialogOnOneControlSession) {
  ASSERT_NE(sip, 0);
  const std::string first = send(invite("call-one", 80));
  EXPECT_EQ(lines(first, "refused (low-port)"), 1u) << first;
  EXPECT_EQ(lines(first, "dialog call-one: refused (low-port): media port 80 below 1024"), 1u)
      << first;
  // The same dialog again (a retransmission): counted, not logged.
  EXPECT_EQ(send(invite("call-one", 80)), "");
  // A second dialog on the same signalling session, the same reason: logged.
  const std::string second = send(invite("call-two", 90));
  EXPECT_EQ(lines(second, "dialog call-two: refused (low-port): media port 90 below 1024"), 1u)
      << second;
  EXPECT_EQ(send(invite("call-two", 90)), "");
  EXPECT_EQ(send(invite("call-one", 80)), "");
  EXPECT_EQ(refused("low-port"), 5u) << "every refusal is counted";
}

TEST_F(SipRefusalLog, AScopelessRefusalStaysOncePerControlSession) {
  ASSERT_NE(sip, 0);
  // Not SIP: refused by the parser before any Call-ID is known.
  const std::string first = send("garbage that is not SIP\r\n\r\n");
  EXPECT_EQ(lines(first, "session 51 198.18.1.2 -> 203.0.113.2: refused ("), 1u) << first;
  EXPECT_EQ(send("garbage that is not SIP\r\n\r\n"), "");
  // A dialog's refusal in between does not reset the control session's.
  EXPECT_EQ(lines(send(invite("call-three", 100)), "refused (low-port)"), 1u);
  EXPECT_EQ(send("garbage that is not SIP\r\n\r\n"), "");
}

TEST_F(SipRefusalLog, ALabelIsPrintableAndShort) {
  ASSERT_NE(sip, 0);
  const std::string id(200, 'x');
  const std::string log = send(invite(id, 80));
  EXPECT_EQ(lines(log, "dialog " + std::string(57, 'x') + ": refused (low-port)"), 1u) << log;
}

TEST_F(SipRefusalLog, TheMemoryOfLoggedDialogsIsBounded) {
  ASSERT_NE(sip, 0);
  // 300 dialogs refused: each logged once; the oldest are forgotten (256 remembered), so the
  // first dialog refused again is logged again, a recent one is not.
  std::string log;
  for (int i = 0; i < 300; ++i) log += send(invite("trunk-" + std::to_string(i), 80));
  EXPECT_EQ(lines(log, "refused (low-port)"), 300u);
  EXPECT_EQ(lines(send(invite("trunk-0", 80)), "dialog trunk-0: refused (low-port)"), 1u);
  EXPECT_EQ(send(invite("trunk-299", 80)), "");
  EXPECT_EQ(refused("low-port"), 302u);
}

TEST_F(SipRefusalLog, RefusingNewDialogsLogsOncePerControlSession) {
  ASSERT_NE(sip, 0);
  // The rate of new dialogs (400 at once, then 200 a second; the clock stands still): the
  // refused INVITEs each bring a new Call-ID, but a flood logs one line, not one per Call-ID.
  std::string log;
  for (int i = 0; i < 410; ++i) log += send(invite("flood-" + std::to_string(i), 6000));
  EXPECT_EQ(lines(log, "refused (rate)"), 1u) << log;
  EXPECT_EQ(lines(log, "dialog flood-"), 0u) << log;
  EXPECT_EQ(refused("rate"), 10u);
}

}  // namespace
}  // namespace fw::aspf
