// fwd under systemd: the watchdog pings only while every worker makes progress; the notifier
// sends sd_notify messages to NOTIFY_SOCKET (here a datagram socket of the test).
#include "fwd/service.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "common/clock.h"

namespace fw::fwd {
namespace {

struct Pings {
  int n = 0;
  std::function<void()> fn() {
    return [this] { ++n; };
  }
};

TEST(Watchdog, PingsEveryHalfIntervalWhileEveryWorkerBeats) {
  common::ManualClock clock;
  Pings p;
  Watchdog wd(clock, 1000, p.fn());
  Heartbeat a, b;
  a.beat(clock.now_ms());
  b.beat(clock.now_ms());
  wd.watch("worker a", a);
  wd.watch("worker b", b);
  EXPECT_TRUE(wd.tick());
  EXPECT_EQ(p.n, 1);              // at once
  for (int i = 0; i < 20; ++i) {  // 2 s in 100 ms steps, both beating (idle wake-ups)
    clock.advance_ms(100);
    a.beat(clock.now_ms());
    b.beat(clock.now_ms());
    EXPECT_TRUE(wd.tick());
  }
  EXPECT_EQ(p.n, 5);  // 0, 500, 1000, 1500, 2000
}

TEST(Watchdog, AStuckWorkerStopsThePingsUntilItBeatsAgain) {
  common::ManualClock clock;
  Pings p;
  Watchdog wd(clock, 1000, p.fn());
  Heartbeat ok, stuck;
  ok.beat(clock.now_ms());
  stuck.beat(clock.now_ms());
  wd.watch("ok", ok);
  wd.watch("stuck", stuck);
  wd.tick();
  // `stuck` stops beating: within the interval it still counts as alive (an idle receive wakes
  // every 200 ms; a batch of packets takes a while).
  for (int i = 0; i < 10; ++i) {
    clock.advance_ms(100);
    ok.beat(clock.now_ms());
    EXPECT_TRUE(wd.tick()) << i;
  }
  const int before = p.n;
  EXPECT_EQ(before, 3);
  for (int i = 0; i < 30; ++i) {
    clock.advance_ms(100);
    ok.beat(clock.now_ms());
    EXPECT_FALSE(wd.tick()) << i;
  }
  EXPECT_EQ(p.n, before);  // 3 s without a ping
  stuck.beat(clock.now_ms());
  EXPECT_TRUE(wd.tick());
  EXPECT_EQ(p.n, before + 1);  // at once when it is back
}

TEST(Watchdog, NoWorkersMeansTheMaintenanceLoopAloneKeepsItFed) {
  common::ManualClock clock;
  Pings p;
  Watchdog wd(clock, 400, p.fn());
  for (int i = 0; i < 4; ++i) {
    EXPECT_TRUE(wd.tick());
    clock.advance_ms(200);
  }
  EXPECT_EQ(p.n, 4);
}

// A datagram socket standing in for systemd's notification socket.
class NotifySocket : public ::testing::Test {
 protected:
  void SetUp() override {
    fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(fd_, 0);
    path_ = "/tmp/fwd-notify-test-" + std::to_string(getpid());
    unlink(path_.c_str());
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    path_.copy(a.sun_path, sizeof a.sun_path - 1);
    ASSERT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    setenv("NOTIFY_SOCKET", path_.c_str(), 1);
  }
  void TearDown() override {
    unsetenv("NOTIFY_SOCKET");
    unsetenv("WATCHDOG_USEC");
    unsetenv("WATCHDOG_PID");
    close(fd_);
    unlink(path_.c_str());
  }
  std::string next() {
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, 1000) != 1) return "<nothing>";
    char buf[4096];
    ssize_t n = recv(fd_, buf, sizeof buf, 0);
    return n < 0 ? "<error>" : std::string(buf, static_cast<size_t>(n));
  }
  int fd_ = -1;
  std::string path_;
};

TEST_F(NotifySocket, MessagesAsSystemdReadsThem) {
  ServiceNotifier n;
  n.ready("3 sessions\nand more");
  EXPECT_EQ(next(), "READY=1\nSTATUS=3 sessions and more");  // STATUS= stays one line
  n.reloading("reloading x");
  EXPECT_EQ(next(), "RELOADING=1\nSTATUS=reloading x");
  n.status("s");
  EXPECT_EQ(next(), "STATUS=s");
  n.watchdog();
  EXPECT_EQ(next(), "WATCHDOG=1");
  n.stopping("bye");
  EXPECT_EQ(next(), "STOPPING=1\nSTATUS=bye");
}

TEST_F(NotifySocket, WithoutNotifySocketNothingIsSent) {
  unsetenv("NOTIFY_SOCKET");
  ServiceNotifier().ready("x");
  EXPECT_EQ(next(), "<nothing>");
}

TEST_F(NotifySocket, WatchdogIntervalIsOursOnly) {
  EXPECT_EQ(ServiceNotifier::watchdog_interval_ms(), 0u);
  setenv("WATCHDOG_USEC", "3000000", 1);
  EXPECT_EQ(ServiceNotifier::watchdog_interval_ms(), 3000u);
  setenv("WATCHDOG_PID", std::to_string(getpid()).c_str(), 1);
  EXPECT_EQ(ServiceNotifier::watchdog_interval_ms(), 3000u);
  setenv("WATCHDOG_PID", std::to_string(getpid() + 1).c_str(), 1);  // meant for another process
  EXPECT_EQ(ServiceNotifier::watchdog_interval_ms(), 0u);
}

}  // namespace
}  // namespace fw::fwd
