// The event log: the bounded queue (never blocks, counts what it refuses), the writer thread, the
// log buffer (last N), the syslog datagrams (RFC 3164 / 5424 to a Unix socket) and the formats.
#include "evlog/event_log.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

namespace fw::evlog {
namespace {

// 2026-11-29 11:55:32.250 UTC
constexpr uint64_t kWall = 1'795'953'332'250ull;

Options fixed(size_t slots = 8, size_t buffer = 4) {
  Options o;
  o.queue_slots = slots;
  o.buffer_size = buffer;
  o.syslog_path = "";
  o.wall_ms = [] { return kWall; };
  return o;
}

TEST(EventLog, FullQueueCountsLostAndNeverBlocks) {
  EventLog log(fixed(8, 100));
  int ok = 0;
  for (int i = 0; i < 20; ++i)
    ok += log.post(Severity::kInformational, "SECLOG", "X", "n=" + std::to_string(i));
  EXPECT_EQ(ok, 8);
  Stats s = log.stats();
  EXPECT_EQ(s.posted, 8u);
  EXPECT_EQ(s.lost, 12u);
  EXPECT_EQ(log.drain(), 8u);
  // Room again after the drain, and the order is kept.
  EXPECT_TRUE(log.post(Severity::kWarning, "SECLOG", "Y", "after"));
  EXPECT_EQ(log.drain(), 1u);
  auto b = log.buffer();
  ASSERT_EQ(b.size(), 9u);
  EXPECT_EQ(b.front().text, "n=0");
  EXPECT_EQ(b[7].text, "n=7");
  EXPECT_EQ(b.back().text, "after");
  EXPECT_EQ(b.back().seq, 9u);
}

TEST(EventLog, TextLongerThanASlotIsLostNotCut) {
  EventLog log(fixed());
  EXPECT_FALSE(log.post(Severity::kInformational, "M", "N", std::string(kMaxText + 1, 'x')));
  EXPECT_TRUE(log.post(Severity::kInformational, "M", "N", std::string(kMaxText, 'x')));
  EXPECT_EQ(log.stats().lost, 1u);
  log.drain();
  EXPECT_EQ(log.buffer().at(0).text.size(), kMaxText);
}

TEST(EventLog, BufferKeepsTheLastNAndCountsOverwritten) {
  EventLog log(fixed(16, 3));
  for (int i = 1; i <= 5; ++i) log.post(Severity::kInformational, "M", "N", std::to_string(i));
  log.drain();
  auto b = log.buffer();
  ASSERT_EQ(b.size(), 3u);
  EXPECT_EQ(b[0].text, "3");
  EXPECT_EQ(log.stats().overwritten, 2u);
  EXPECT_EQ(log.buffer(4).size(), 1u);  // since seq 4
  log.set_buffer_size(1);
  EXPECT_EQ(log.buffer().size(), 1u);
  EXPECT_EQ(log.stats().overwritten, 4u);
  log.clear_buffer();
  EXPECT_TRUE(log.buffer().empty());
  EXPECT_EQ(log.stats().last_seq, 5u);
}

TEST(EventLog, Formats) {
  Event e;
  e.wall_ms = kWall;
  e.severity = Severity::kInformational;
  e.module = "SECLOG";
  e.name = "SESSION_TEARDOWN";
  e.text = "IPVer=4,Protocol=tcp";
  EXPECT_EQ(buffer_line(e, "FW"),
            "Nov 29 2026 11:55:32 FW %%01SECLOG/6/SESSION_TEARDOWN(l):IPVer=4,Protocol=tcp");
  // local7 (23) * 8 + 6 = 190
  EXPECT_EQ(syslog_datagram(e, SyslogFormat::kRfc3164, "FW", 42),
            "<190>Nov 29 11:55:32 fwd[42]: %%01SECLOG/6/SESSION_TEARDOWN(l):IPVer=4,Protocol=tcp");
  EXPECT_EQ(syslog_datagram(e, SyslogFormat::kRfc5424, "FW", 42),
            "<190>1 2026-11-29T11:55:32.250Z FW fwd 42 SESSION_TEARDOWN - "
            "%%01SECLOG/6/SESSION_TEARDOWN(l):IPVer=4,Protocol=tcp");
  EXPECT_EQ(severity_name(Severity::kWarning), "warnings");
}

TEST(EventLog, KvTextJoinsAndFlagsOverflow) {
  KvText kv;
  kv.add("A", "x").add("B", uint64_t{42});
  EXPECT_EQ(kv.view(), "A=x,B=42");
  EXPECT_FALSE(kv.overflow());
  KvText big;
  for (int i = 0; i < 100; ++i) big.add("Key", "0123456789");
  EXPECT_TRUE(big.overflow());
  EXPECT_EQ(big.view().size(), kMaxText);
}

// A datagram socket listening in a temporary directory.
struct Listener {
  std::string dir, path;
  int fd = -1;
  Listener() {
    char tmpl[] = "/tmp/evlog-test-XXXXXX";
    dir = mkdtemp(tmpl);
    path = dir + "/log";
    fd = ::socket(AF_UNIX, SOCK_DGRAM, 0);
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::strncpy(sa.sun_path, path.c_str(), sizeof sa.sun_path - 1);
    EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
    timeval tv{2, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~Listener() {
    ::close(fd);
    std::filesystem::remove_all(dir);
  }
  std::string recv_one() {
    char b[2048];
    const ssize_t n = ::recv(fd, b, sizeof b, 0);
    return n > 0 ? std::string(b, static_cast<size_t>(n)) : "";
  }
};

TEST(EventLog, WriterThreadSendsSyslogDatagrams) {
  Listener l;
  Options o = fixed(64, 10);
  EventLog log(o);
  log.set_syslog(l.path, SyslogFormat::kRfc3164);
  log.start();
  log.post(Severity::kWarning, "ANTIDDOS", "ATTACK_START", "AttackType=syn-flood");
  const std::string d = l.recv_one();
  EXPECT_EQ(d, "<188>Nov 29 11:55:32 fwd[" + std::to_string(getpid()) +
                   "]: %%01ANTIDDOS/4/ATTACK_START(l):AttackType=syn-flood");
  log.stop();
  Stats s = log.stats();
  EXPECT_EQ(s.syslog_sent, 1u);
  EXPECT_EQ(s.written, 1u);
}

TEST(EventLog, MissingSyslogSocketIsCountedNotFatal) {
  EventLog log(fixed());
  log.set_syslog("/nonexistent/evlog.sock", SyslogFormat::kRfc3164);
  log.post(Severity::kInformational, "M", "N", "t");
  log.drain();
  EXPECT_EQ(log.stats().syslog_failed, 1u);
  EXPECT_EQ(log.buffer().size(), 1u);
}

// A receiver that reads nothing: its queue fills, the writer waits briefly once, then counts what
// it cannot send instead of stalling the log buffer behind it.
TEST(EventLog, FullSyslogReceiverIsCountedNotWaitedFor) {
  Listener l;  // never reads
  EventLog log(fixed(4096, 4096));
  log.set_syslog(l.path, SyslogFormat::kRfc3164);
  for (int i = 0; i < 3000; ++i) ASSERT_TRUE(log.post(Severity::kInformational, "M", "N", "t"));
  EXPECT_EQ(log.drain(), 3000u);
  Stats s = log.stats();
  EXPECT_EQ(s.syslog_sent + s.syslog_failed, 3000u);
  EXPECT_GT(s.syslog_failed, 0u);
  EXPECT_GT(s.syslog_sent, 0u);
  EXPECT_EQ(log.buffer().size(), 3000u) << "the log buffer got every event";
  EXPECT_FALSE(l.recv_one().empty());
}

// Four producers against the writer: every event is either written or counted lost.
TEST(EventLog, ConcurrentProducersLoseNothingUncounted) {
  EventLog log(fixed(256, 100000));
  log.start();
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t) {
    ts.emplace_back([&log, t] {
      for (int i = 0; i < 20000; ++i)
        log.post(Severity::kInformational, "M", "N", std::to_string(t) + ":" + std::to_string(i));
    });
  }
  for (auto& t : ts) t.join();
  for (int i = 0; i < 200 && log.stats().written < log.stats().posted; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  log.stop();
  Stats s = log.stats();
  EXPECT_EQ(s.posted + s.lost, 80000u);
  EXPECT_EQ(s.written, s.posted);
  EXPECT_EQ(log.buffer().size(), s.written);
  // Per producer, the events that got through are in order.
  std::vector<int> last(4, -1);
  for (const auto& e : log.buffer()) {
    const int t = e.text[0] - '0';
    const int i = std::stoi(e.text.substr(2));
    EXPECT_GT(i, last[t]);
    last[t] = i;
  }
}

}  // namespace
}  // namespace fw::evlog
