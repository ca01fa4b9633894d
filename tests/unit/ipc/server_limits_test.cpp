// The server's limits over real sockets: connection table, root eviction, frame size,
// frame and idle timeouts, malformed frames, one executor, and the client's bounded waits.
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "ipc/ipc.h"
#include "tests/unit/ipc/test_util.h"

namespace fw::ipc {
namespace {

using namespace fw::ipc::testing;

// A server in a temp dir with uids handed out by a UidQueue.
class LimitsTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(dir_.ok()); }
  std::unique_ptr<Server> start(ServerOptions opt, Server::Handler h = echo_handler) {
    opt.peer_cred = [this](const PeerCred& real) { return uids_.next(real); };
    std::string err;
    auto s = Server::start(path_, "root", std::move(h), opt, &err);
    EXPECT_TRUE(s) << err;
    return s;
  }
  bool call_raw(int fd, const std::string& line, Response* out) {
    if (!write_frame(fd, encode(Request{"user", line}))) return false;
    auto r = read_response(fd);
    if (r) *out = *r;
    return r.has_value();
  }

  TempDir dir_;
  std::string path_ = dir_.file("fwd.sock");
  UidQueue uids_;
};

TEST_F(LimitsTest, FullTableRefusesNonRootAndRootEvictsTheLongestIdle) {
  ServerOptions opt;
  opt.max_clients = 3;
  opt.evict_idle = milliseconds(50);
  auto srv = start(opt);
  ASSERT_TRUE(srv);
  int c[3];
  for (int i = 0; i < 3; ++i) {
    uids_.push(1000);
    c[i] = raw_connect(path_);
    ASSERT_GE(c[i], 0);
    ASSERT_TRUE(
        wait_until([&] { return srv->stats().accepted == uint64_t(i + 1); }, milliseconds(2000)));
    std::this_thread::sleep_for(milliseconds(5));  // distinct idle ages
  }
  std::this_thread::sleep_for(milliseconds(100));  // c[1], c[2] idle past evict_idle
  Response r;
  ASSERT_TRUE(call_raw(c[0], "one", &r));  // c[0] is now the most recently active
  EXPECT_EQ(r.output, "got [one] uid 1000\n");

  // A fourth, non-root: refused with a reason, then closed.
  uids_.push(1000);
  std::string err;
  auto extra = Client::connect(path_, &err);
  ASSERT_TRUE(extra) << err;
  auto refused = extra->call(Request{"user", "display version"}, &err);
  ASSERT_TRUE(refused) << err;
  EXPECT_FALSE(refused->ok);
  EXPECT_EQ(refused->output.rfind("Error: Too many CLI connections (3 open, limit 3)", 0), 0u)
      << refused->output;
  EXPECT_EQ(refused->closing, Closing::kRetryLater);
  EXPECT_TRUE(extra->stale());  // closed by the client on the notice
  // The counters are published by the loop after it handled the connection.
  EXPECT_TRUE(wait_until([&] { return srv->stats().refused_full == 1u; }, milliseconds(3000)));

  // Root is served: c[1], idle the longest, gets a notice and is closed.
  uids_.push(0);
  auto root = Client::connect(path_, &err);
  ASSERT_TRUE(root) << err;
  auto served = root->call(Request{"user", "root here"}, &err);
  ASSERT_TRUE(served) << err;
  EXPECT_TRUE(served->ok);
  EXPECT_EQ(served->output, "got [root here] uid 0\n");
  auto notice = read_response(c[1]);
  ASSERT_TRUE(notice);
  EXPECT_FALSE(notice->ok);
  EXPECT_NE(notice->output.find("make room for a root session"), std::string::npos)
      << notice->output;
  EXPECT_EQ(notice->closing, Closing::kReconnect);
  EXPECT_TRUE(closed_within(c[1], milliseconds(3000)));
  // The others keep their places.
  ASSERT_TRUE(call_raw(c[0], "still", &r));
  ASSERT_TRUE(call_raw(c[2], "still", &r));
  EXPECT_EQ(r.output, "got [still] uid 1000\n");
  auto st = srv->stats();
  EXPECT_EQ(st.evicted, 1u);
  EXPECT_EQ(st.clients, 3u);
  for (int fd : c) ::close(fd);
}

// A connection that was active a moment ago (a script between two commands) is not evicted:
// root gets a place beyond the limit instead, and past twice the limit is told to retry.
TEST_F(LimitsTest, RootDoesNotEvictARecentlyActiveConnection) {
  ServerOptions opt;
  opt.max_clients = 2;
  opt.evict_idle = milliseconds(60'000);
  auto srv = start(opt);
  ASSERT_TRUE(srv);
  std::vector<int> c;
  for (int i = 0; i < 4; ++i) {
    uids_.push(0);
    c.push_back(raw_connect(path_));
    ASSERT_GE(c.back(), 0);
    ASSERT_TRUE(
        wait_until([&] { return srv->stats().accepted == uint64_t(i + 1); }, milliseconds(2000)));
  }
  Response r;
  for (int fd : c) {  // every one still served: none was evicted
    ASSERT_TRUE(call_raw(fd, "here", &r));
    EXPECT_EQ(r.output, "got [here] uid 0\n");
    EXPECT_EQ(r.closing, Closing::kNone);
  }
  uids_.push(0);
  std::string err;
  auto fifth = Client::connect(path_, &err);
  ASSERT_TRUE(fifth) << err;
  auto refused = fifth->call(Request{"user", "display version"}, &err);
  ASSERT_TRUE(refused) << err;
  EXPECT_FALSE(refused->ok);
  EXPECT_EQ(refused->closing, Closing::kRetryLater);
  EXPECT_TRUE(fifth->stale());  // the client closed it on the notice
  EXPECT_TRUE(wait_until([&] { return srv->stats().refused_full == 1u; }, milliseconds(3000)));
  EXPECT_EQ(srv->stats().evicted, 0u);
  for (int fd : c) ::close(fd);
}

// A handler that blocks on the line "block" until open(), and records what it ran.
class GatedHandler {
 public:
  Response operator()(const Request& rq, const PeerCred& pc) {
    int now = ++running_;
    max_running_ = std::max(max_running_.load(), now);
    {
      std::unique_lock<std::mutex> lk(mu_);
      order_.push_back(rq.line);
      if (rq.line == "block") {
        blocked_ = true;
        cv_.wait(lk, [&] { return open_; });
      }
    }
    --running_;
    return echo_handler(rq, pc);
  }
  void open() {
    {
      std::lock_guard<std::mutex> lk(mu_);
      open_ = true;
    }
    cv_.notify_all();
  }
  bool blocked() const { return blocked_; }
  int max_running() const { return max_running_; }
  std::vector<std::string> order() {
    std::lock_guard<std::mutex> lk(mu_);
    return order_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
  std::atomic<bool> blocked_{false};
  std::atomic<int> running_{0}, max_running_{0};
  std::vector<std::string> order_;
};

// While the handler is stuck in a slow command, the loop still refuses, answers
// oversize requests and admits root beyond the limit when no one can be evicted.
TEST_F(LimitsTest, SlowCommandDoesNotStopTheLoop) {
  GatedHandler gate;
  ServerOptions opt;
  opt.max_clients = 2;
  opt.max_frame = 4096;
  auto srv = start(opt, [&](const Request& rq, const PeerCred& pc) { return gate(rq, pc); });
  ASSERT_TRUE(srv);
  uids_.push(1000);
  uids_.push(1000);
  int slow = raw_connect(path_), queued = raw_connect(path_);
  ASSERT_TRUE(write_frame(slow, encode(Request{"user", "block"})));
  ASSERT_TRUE(wait_until([&] { return gate.blocked(); }, milliseconds(2000)));
  ASSERT_TRUE(write_frame(queued, encode(Request{"user", "second"})));
  ASSERT_TRUE(wait_until([&] { return srv->stats().in_flight == 2; }, milliseconds(2000)));

  auto t0 = Clock::now();
  uids_.push(1000);  // non-root: refused at once
  int refused = raw_connect(path_);
  auto r = read_response(refused);
  ASSERT_TRUE(r);
  EXPECT_NE(r->output.find("Too many CLI connections"), std::string::npos) << r->output;
  uids_.push(0);  // root, nobody evictable: admitted beyond the limit; its oversize request is
  int big = raw_connect(path_);  // answered at once
  ASSERT_TRUE(send_bytes(big, header(5000) + std::string(100, 'x')));
  r = read_response(big);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->output,
            "Error: Request too large (5000 bytes, limit 4096 bytes); connection closed.\n");
  EXPECT_TRUE(closed_within(big, milliseconds(3000)));
  uids_.push(0);
  int root = raw_connect(path_);
  ASSERT_TRUE(write_frame(root, encode(Request{"user", "third"})));
  EXPECT_LT(Clock::now() - t0, milliseconds(2000));
  EXPECT_TRUE(wait_until([&] { return srv->stats().clients == 3; }, milliseconds(2000)));
  EXPECT_EQ(srv->stats().evicted, 0u);

  gate.open();
  for (auto [fd, line] : {std::pair{slow, "block"}, {queued, "second"}, {root, "third"}}) {
    r = read_response(fd);
    ASSERT_TRUE(r) << line;
    EXPECT_EQ(r->output.find(std::string("got [") + line + "]"), 0u) << r->output;
  }
  EXPECT_EQ(gate.max_running(), 1);
  EXPECT_EQ(gate.order(), (std::vector<std::string>{"block", "second", "third"}));
  for (int fd : {slow, queued, refused, big, root}) ::close(fd);
}

TEST_F(LimitsTest, HalfSentFrameTimesOutWithoutAllocatingTheAnnouncedSize) {
  ServerOptions opt;
  opt.max_clients = 64;
  opt.frame_timeout = milliseconds(400);
  auto srv = start(opt);
  ASSERT_TRUE(srv);
  constexpr int kConns = 20;
  // The peak over the whole scenario, so memory that comes and goes is seen too.
  bool have_peak = reset_peak_rss();
  size_t rss_before = rss_bytes();
  std::vector<int> fds;
  auto t0 = Clock::now();
  for (int i = 0; i < kConns; ++i) {
    fds.push_back(raw_connect(path_));
    ASSERT_GE(fds.back(), 0);
    ASSERT_TRUE(send_bytes(fds.back(), header(16u << 20)));  // 16 MiB announced, none sent
  }
  ASSERT_TRUE(wait_until([&] { return srv->stats().clients == kConns; }, milliseconds(2000)));
  std::this_thread::sleep_for(milliseconds(100));
  EXPECT_LT(srv->stats().buffered_bytes, size_t{64} << 10);

  for (int fd : fds) {
    auto r = read_response(fd);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->output,
              "Error: The request was not completed within 400 ms; connection closed.\n");
    EXPECT_TRUE(closed_within(fd, milliseconds(3000)));
    ::close(fd);
  }
  EXPECT_GE(Clock::now() - t0, milliseconds(380));
  // The old server allocated (and zeroed) 20 x 16 MiB here.
  size_t after = have_peak ? peak_rss_bytes() : rss_bytes();
  size_t grown = after - std::min(after, rss_before);
  RecordProperty("rss_growth_bytes", std::to_string(grown));
  EXPECT_LT(grown, size_t{16} << 20) << "RSS grew by " << grown << (have_peak ? " (peak)" : "");
  EXPECT_TRUE(wait_until([&] { return srv->stats().clients == 0; }, milliseconds(2000)));
  EXPECT_EQ(srv->stats().frame_timeouts, uint64_t{kConns});
}

TEST_F(LimitsTest, ReceiveBufferFollowsTheBytesAndIsReturned) {
  ServerOptions opt;
  opt.frame_timeout = milliseconds(500);
  auto srv = start(opt);
  ASSERT_TRUE(srv);
  int fd = raw_connect(path_);
  ASSERT_TRUE(send_bytes(fd, header(4u << 20) + std::string(1u << 20, 'v')));
  ASSERT_TRUE(
      wait_until([&] { return srv->stats().buffered_bytes >= (1u << 20); }, milliseconds(2000)));
  size_t held = srv->stats().buffered_bytes;
  EXPECT_LT(held, size_t{3} << 20) << "4 MiB announced, 1 MiB sent";
  auto r = read_response(fd);  // the frame timeout
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->ok);
  EXPECT_TRUE(closed_within(fd, milliseconds(3000)));
  ::close(fd);
  EXPECT_TRUE(wait_until([&] { return srv->stats().buffered_bytes == 0; }, milliseconds(2000)))
      << srv->stats().buffered_bytes;
}

TEST_F(LimitsTest, ManyClientsAllAnsweredByOneLoopAndOneExecutor) {
  constexpr int kClients = 200, kCommands = 10;
  std::atomic<int> running{0}, max_running{0};
  auto handler = [&](const Request& rq, const PeerCred& pc) {
    int now = ++running;
    max_running = std::max(max_running.load(), now);
    auto resp = echo_handler(rq, pc);
    --running;
    return resp;
  };
  ServerOptions opt;
  opt.max_clients = kClients;
  size_t threads_before = thread_count();
  auto srv = start(opt, handler);
  ASSERT_TRUE(srv);
  EXPECT_EQ(thread_count(), threads_before + 2);  // the loop and the executor
  std::atomic<int> good{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < kClients; ++t) {
    ts.emplace_back([&, t] {
      std::string e;
      auto cl = Client::connect(path_, &e);
      if (!cl) return;
      for (int i = 0; i < kCommands; ++i) {
        std::string line = std::to_string(t) + "/" + std::to_string(i);
        auto rr = cl->call(Request{"user", line}, &e);
        if (rr && rr->ok &&
            rr->output == "got [" + line + "] uid " + std::to_string(getuid()) + "\n")
          ++good;
      }
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(good.load(), kClients * kCommands);
  EXPECT_EQ(max_running.load(), 1);
  EXPECT_TRUE(wait_until([&] { return srv->stats().requests == uint64_t{kClients * kCommands}; },
                         milliseconds(2000)))
      << srv->stats().requests;
}

TEST_F(LimitsTest, IdleConnectionsDoNotCostThreads) {
  ServerOptions opt;
  opt.max_clients = 64;
  auto srv = start(opt);
  ASSERT_TRUE(srv);
  size_t before = thread_count();
  std::vector<int> fds;
  for (int i = 0; i < 50; ++i) fds.push_back(raw_connect(path_));
  ASSERT_TRUE(wait_until([&] { return srv->stats().clients == 50; }, milliseconds(2000)));
  EXPECT_EQ(thread_count(), before);
  for (int fd : fds) ::close(fd);
  EXPECT_TRUE(wait_until([&] { return srv->stats().clients == 0; }, milliseconds(2000)));
}

TEST_F(LimitsTest, OversizeReplyBecomesAnError) {
  ServerOptions opt;
  opt.max_frame = 4096;
  auto srv = start(opt, [](const Request& rq, const PeerCred&) {
    Response r;
    r.output = rq.line == "big" ? std::string(10000, 'x') + "\n" : "small\n";
    r.view = "user|system";
    r.prompt = "[FW]";
    return r;
  });
  ASSERT_TRUE(srv);
  std::string err;
  auto c = Client::connect(path_, &err);
  ASSERT_TRUE(c) << err;
  auto r = c->call(Request{"user", "big"}, &err);
  ASSERT_TRUE(r) << err;
  EXPECT_FALSE(r->ok);
  EXPECT_EQ(r->output,
            "Error: The output is too large to send (10001 bytes, limit 4096 bytes per reply).\n");
  EXPECT_EQ(r->view, "user|system");
  EXPECT_EQ(r->prompt, "[FW]");
  r = c->call(Request{"user", "again"}, &err);  // the connection is still good
  ASSERT_TRUE(r) << err;
  EXPECT_EQ(r->output, "small\n");
  EXPECT_EQ(srv->stats().reply_too_large, 1u);
}

TEST_F(LimitsTest, OversizeRequestIsAnsweredThenClosed) {
  ServerOptions opt;
  opt.max_frame = 4096;
  auto srv = start(opt);
  ASSERT_TRUE(srv);
  std::string err;
  ClientOptions big_client;
  big_client.max_frame = 1 << 20;
  auto c = Client::connect(path_, big_client, &err);
  ASSERT_TRUE(c) << err;
  auto r = c->call(Request{"user", std::string(8000, 'y')}, &err);
  ASSERT_TRUE(r) << err;
  EXPECT_FALSE(r->ok);
  EXPECT_EQ(r->output.rfind("Error: Request too large (8013 bytes, limit 4096 bytes)", 0), 0u)
      << r->output;
  EXPECT_TRUE(c->stale());  // closed by the client on the notice
  EXPECT_TRUE(wait_until([&] { return srv->stats().oversize == 1u; }, milliseconds(3000)));

  // A client with the server's limit refuses locally and keeps its connection.
  ClientOptions small_client;
  small_client.max_frame = 4096;
  c = Client::connect(path_, small_client, &err);
  ASSERT_TRUE(c) << err;
  EXPECT_FALSE(c->call(Request{"user", std::string(8000, 'y')}, &err));
  EXPECT_NE(err.find("not sent"), std::string::npos) << err;
  EXPECT_FALSE(c->stale());
  r = c->call(Request{"user", "ok"}, &err);
  ASSERT_TRUE(r) << err;
  EXPECT_TRUE(r->ok);
  EXPECT_EQ(srv->stats().oversize, 1u);
}

TEST_F(LimitsTest, IdleTimeoutClosesButNotWhileARequestRuns) {
  ServerOptions opt;
  opt.idle_timeout = milliseconds(300);
  auto srv = start(opt, [](const Request& rq, const PeerCred& pc) {
    if (rq.line == "slow") std::this_thread::sleep_for(milliseconds(600));
    return echo_handler(rq, pc);
  });
  ASSERT_TRUE(srv);
  std::string err;
  auto c = Client::connect(path_, &err);
  ASSERT_TRUE(c) << err;
  auto r = c->call(Request{"user", "slow"}, &err);  // longer than idle_timeout: not idle
  ASSERT_TRUE(r) << err;
  EXPECT_EQ(r->output.rfind("got [slow]", 0), 0u);
  EXPECT_FALSE(c->stale());
  EXPECT_TRUE(wait_until([&] { return c->stale(); }, milliseconds(3000)));

  int fd = raw_connect(path_);
  auto t0 = Clock::now();
  auto notice = read_response(fd);
  ASSERT_TRUE(notice);
  EXPECT_EQ(notice->output, "Error: Idle for 300 ms; connection closed.\n");
  EXPECT_EQ(notice->closing, Closing::kReconnect);
  EXPECT_GE(Clock::now() - t0, milliseconds(250));
  EXPECT_TRUE(closed_within(fd, milliseconds(3000)));
  ::close(fd);
  EXPECT_TRUE(wait_until([&] { return srv->stats().idle_timeouts == 2; }, milliseconds(2000)));
}

TEST_F(LimitsTest, MalformedFramesCloseTheConnection) {
  auto srv = start(ServerOptions{});
  ASSERT_TRUE(srv);
  const std::string req = encode(Request{"user", "x"});
  const struct {
    const char* name;
    std::string bytes;
  } cases[] = {
      {"garbage", header(7) + "garbage"},
      {"empty frame", header(0)},
      {"a response", header(14) + encode(Response{true, "", "", ""})},
      {"trailing byte", header(static_cast<uint32_t>(req.size() + 1)) + req + "z"},
      {"field longer than frame", header(9) + std::string("Q\0\0\0\x50", 5) + "abcd"},
  };
  uint64_t n = 0;
  for (const auto& tc : cases) {
    int fd = raw_connect(path_);
    ASSERT_GE(fd, 0);
    ASSERT_TRUE(send_bytes(fd, tc.bytes)) << tc.name;
    EXPECT_TRUE(closed_within(fd, milliseconds(3000))) << tc.name;
    ::close(fd);
    ++n;
    EXPECT_TRUE(wait_until([&] { return srv->stats().malformed == n; }, milliseconds(2000)))
        << tc.name;
  }
  // A header cut short by EOF: closed, nothing counted as a request.
  int fd = raw_connect(path_);
  ASSERT_TRUE(send_bytes(fd, std::string("\0\0", 2)));
  ::shutdown(fd, SHUT_WR);
  EXPECT_TRUE(closed_within(fd, milliseconds(3000)));
  ::close(fd);
  std::string err;
  auto c = Client::connect(path_, &err);
  ASSERT_TRUE(c) << err;
  EXPECT_TRUE(c->call(Request{"user", "still serving"}, &err)) << err;
  EXPECT_TRUE(wait_until([&] { return srv->stats().requests == 1; }, milliseconds(2000)));
  EXPECT_EQ(srv->stats().malformed, 5u);
}

TEST_F(LimitsTest, PipelinedRequestsAreAnsweredInOrder) {
  auto srv = start(ServerOptions{});
  ASSERT_TRUE(srv);
  int fd = raw_connect(path_);
  std::string bytes;
  for (const char* line : {"a", "b", "c"}) {
    std::string p = encode(Request{"user", line});
    bytes += header(static_cast<uint32_t>(p.size())) + p;
  }
  ASSERT_TRUE(send_bytes(fd, bytes));
  for (const char* line : {"a", "b", "c"}) {
    auto r = read_response(fd);
    ASSERT_TRUE(r) << line;
    EXPECT_EQ(r->output.rfind(std::string("got [") + line + "]", 0), 0u);
  }
  ::close(fd);
}

TEST_F(LimitsTest, BadOptionsAreRefused) {
  std::string err;
  ServerOptions o;
  o.max_frame = 10;
  EXPECT_FALSE(Server::start(path_, "", echo_handler, o, &err));
  EXPECT_NE(err.find("max_frame"), std::string::npos) << err;
  o = ServerOptions{};
  o.max_clients = 0;
  EXPECT_FALSE(Server::start(path_, "", echo_handler, o, &err));
  o = ServerOptions{};
  o.idle_timeout = milliseconds(0);
  EXPECT_FALSE(Server::start(path_, "", echo_handler, o, &err));
  EXPECT_NE(::access(path_.c_str(), F_OK), 0);  // nothing left behind
}

// ---- the client's bounded waits, against a scripted fake server ----

TEST(ClientLimits, EveryFailureIsAnErrorWithinTheTimeout) {
  const std::string good = encode(Response{true, "x\n", "user", "<FW>"});
  const struct {
    const char* name;
    std::string reply;  // "" = never answer
    const char* error;
  } cases[] = {
      {"silent server", "", "no reply within 300 ms"},
      {"garbled reply", header(5) + "hello", "malformed response"},
      {"oversize reply", header(0xffffffffu), "reply too large (4294967295 bytes"},
      {"reply cut short", header(100) + "0123456789", "reply not completed within 300 ms"},
      {"good reply", header(static_cast<uint32_t>(good.size())) + good, ""},
  };
  for (const auto& tc : cases) {
    TempDir dir;
    std::string path = dir.file("fake.sock");
    FakeServer fake(path, {tc.reply});
    ASSERT_TRUE(fake.ok());
    ClientOptions opt;
    opt.timeout = milliseconds(300);
    std::string err;
    auto c = Client::connect(path, opt, &err);
    ASSERT_TRUE(c) << err;
    auto t0 = Clock::now();
    auto r = c->call(Request{"user", "display version"}, &err);
    EXPECT_LT(Clock::now() - t0, milliseconds(2000)) << tc.name;
    if (*tc.error == '\0') {
      ASSERT_TRUE(r) << tc.name << ": " << err;
      EXPECT_EQ(r->output, "x\n");
      continue;
    }
    EXPECT_FALSE(r) << tc.name;
    EXPECT_NE(err.find(tc.error), std::string::npos) << tc.name << ": " << err;
    EXPECT_TRUE(c->stale()) << tc.name;  // a failed call leaves no half-read connection
    EXPECT_FALSE(c->call(Request{"user", "again"}, &err));
    EXPECT_EQ(err, "not connected");
  }
}

TEST(ClientLimits, WireSizeMatchesTheEncoding) {
  for (const Request& r : {Request{}, Request{"user|system", "display version"},
                           Request{std::string(300, 'v'), std::string(70000, 'l')}})
    EXPECT_EQ(Client::wire_size(r), encode(r).size());
}

}  // namespace
}  // namespace fw::ipc
