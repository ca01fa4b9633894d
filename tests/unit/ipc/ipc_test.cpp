// IPC: message encoding, framing, credential rule, and a real server/client over a socket.
#include "ipc/ipc.h"

#include <grp.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <random>
#include <thread>

namespace fw::ipc {
namespace {

TEST(Encoding, RoundTrip) {
  for (const Request& r : {Request{}, Request{"user|system", "display version"},
                           Request{std::string("a\0b", 3), std::string(100000, 'x')}}) {
    auto d = decode_request(encode(r));
    ASSERT_TRUE(d);
    EXPECT_EQ(d->view, r.view);
    EXPECT_EQ(d->line, r.line);
  }
  Response a{false, "Error: x\n", "user|system", "[FW]"};
  Response b{true, "", "", ""};
  for (const Response& r : {a, b}) {
    auto d = decode_response(encode(r));
    ASSERT_TRUE(d);
    EXPECT_EQ(d->ok, r.ok);
    EXPECT_EQ(d->output, r.output);
    EXPECT_EQ(d->view, r.view);
    EXPECT_EQ(d->prompt, r.prompt);
  }
}

TEST(Encoding, GarbageAndTruncationRejected) {
  std::string req = encode(Request{"user|system", "display version"});
  std::string resp = encode(Response{true, "out\n", "user", "<FW>"});
  for (size_t n = 0; n < req.size(); ++n) EXPECT_FALSE(decode_request(req.substr(0, n))) << n;
  for (size_t n = 0; n < resp.size(); ++n) EXPECT_FALSE(decode_response(resp.substr(0, n))) << n;
  EXPECT_FALSE(decode_request(req + "x"));
  EXPECT_FALSE(decode_response(resp + "x"));
  EXPECT_FALSE(decode_response(req));
  EXPECT_FALSE(decode_request(resp));
  std::string bad_ok = resp;
  bad_ok[1] = 2;
  EXPECT_FALSE(decode_response(bad_ok));
  std::string huge_len = req;
  huge_len[1] = '\xff';  // first field claims ~4 GiB
  EXPECT_FALSE(decode_request(huge_len));
  // Random bytes never crash the decoders.
  std::mt19937 rng(42);
  for (int i = 0; i < 20000; ++i) {
    std::string s(rng() % 40, '\0');
    for (auto& c : s) c = static_cast<char>(rng());
    if (!s.empty() && (i & 1)) s[0] = "QRSR"[(i >> 1) & 3];
    (void)decode_request(s);
    (void)decode_response(s);
  }
}

// Keyword sets (the daemon's grammar values) travel with the prompt answer, in version 2.
TEST(Encoding, KeywordSetsRoundTrip) {
  Response with{true, "", "user", "<FW>"};
  with.keyword_sets = KeywordSets{{"alg", {{"ftp", "FTP help"}, {"pptp", ""}}},
                                  {"empty", {}},
                                  {std::string("a\0b", 3), {{std::string(70000, 'w'), "h"}}}};
  Response none_yet{true, "", "user", "<FW>"};
  none_yet.keyword_sets = KeywordSets{};  // sent, but no set: not the same as not sent
  for (const Response& r : {with, none_yet}) {
    auto d = decode_response(encode(r));
    ASSERT_TRUE(d);
    EXPECT_EQ(d->output, r.output);
    EXPECT_EQ(d->view, r.view);
    EXPECT_EQ(d->prompt, r.prompt);
    ASSERT_TRUE(d->keyword_sets);
    EXPECT_EQ(*d->keyword_sets, *r.keyword_sets);
  }
  auto d = decode_response(encode(Response{false, "x\n", "user", "<FW>"}));
  ASSERT_TRUE(d);
  EXPECT_EQ(d->keyword_sets, std::nullopt);
}

TEST(Encoding, VersionOneBytesUnlessKeywordSetsAreSent) {
  Response r{true, "o", "v", "p"};
  // Version 1, byte for byte what a shell built before keyword sets decodes.
  const std::string v1("R\x01\0\0\0\x01o\0\0\0\x01v\0\0\0\x01p", 17);
  EXPECT_EQ(encode(r), v1);
  r.keyword_sets = KeywordSets{{"s", {{"w", "h"}}}};
  // Version 2: another tag (an old shell refuses it as malformed), version 1's fields, then
  // the sets: count, and per set its name, count, and (word, help) per value.
  const std::string sets("\0\0\0\x01\0\0\0\x01s\0\0\0\x01\0\0\0\x01w\0\0\0\x01h", 23);
  EXPECT_EQ(encode(r), "S" + v1.substr(1) + sets);
}

TEST(Encoding, KeywordSetsGarbageAndTruncationRejected) {
  Response r{true, "out\n", "user", "<FW>"};
  r.keyword_sets = KeywordSets{{"alg", {{"ftp", "FTP"}, {"tftp", "TFTP"}}}, {"b", {}}};
  const std::string v2 = encode(r);
  for (size_t n = 0; n < v2.size(); ++n) EXPECT_FALSE(decode_response(v2.substr(0, n))) << n;
  EXPECT_FALSE(decode_response(v2 + "x"));
  std::string as_v1 = v2;
  as_v1[0] = 'R';  // version 1 with trailing bytes
  EXPECT_FALSE(decode_response(as_v1));
  const std::string head = encode(Response{true, "", "", ""}).substr(1);
  auto with_sets = [&](const std::string& section) { return "S" + head + section; };
  EXPECT_TRUE(decode_response(with_sets(std::string(4, '\0'))));  // no set
  // Counts far beyond the bytes there: refused, nothing allocated from them.
  EXPECT_FALSE(decode_response(with_sets("\xff\xff\xff\xff")));
  EXPECT_FALSE(
      decode_response(with_sets(std::string("\0\0\0\x01\0\0\0\x01s", 9) + "\xff\xff\xff\xff")));
  // Set names in increasing order, each once (as a map is encoded).
  const std::string set_s("\0\0\0\x01s\0\0\0\0", 9), set_t("\0\0\0\x01t\0\0\0\0", 9);
  const std::string two("\0\0\0\x02", 4);
  EXPECT_TRUE(decode_response(with_sets(std::string("\0\0\0\x01", 4) + set_s)));
  EXPECT_TRUE(decode_response(with_sets(two + set_s + set_t)));
  EXPECT_FALSE(decode_response(with_sets(two + set_t + set_s)));
  EXPECT_FALSE(decode_response(with_sets(two + set_s + set_s)));
  std::mt19937 rng(7);
  for (int i = 0; i < 20000; ++i) {
    std::string s = v2;
    for (int k = 0; k < 3; ++k) s[rng() % s.size()] = static_cast<char>(rng());
    if (auto d = decode_response(s)) {
      EXPECT_EQ(encode(*d), s);  // accepted = canonical
    }
  }
}

TEST(Encoding, ClosingNoticeRoundTripAndGarbage) {
  for (Closing k : {Closing::kRetryLater, Closing::kReconnect, Closing::kFinal}) {
    Response r;
    r.ok = false;
    r.output = "Error: x\n";
    r.closing = k;
    auto bytes = encode(r);
    EXPECT_EQ(bytes[0], 'C');
    auto back = decode_response(bytes);
    ASSERT_TRUE(back);
    EXPECT_EQ(back->closing, k);
    EXPECT_EQ(back->output, r.output);
    EXPECT_FALSE(back->ok);
    for (size_t n = 0; n < bytes.size(); ++n) EXPECT_FALSE(decode_response(bytes.substr(0, n)));
    for (char bad : {char(0), char(4), char(-1)}) {
      std::string b = bytes;
      b[1] = bad;
      EXPECT_FALSE(decode_response(b)) << int(bad);
    }
  }
  Response plain;  // an answer keeps the version 1 bytes
  EXPECT_EQ(encode(plain)[0], 'R');
  EXPECT_EQ(decode_response(encode(plain))->closing, Closing::kNone);
}

TEST(Framing, SocketPair) {
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  std::string big(1 << 20, 'z');
  std::thread w([&] {
    EXPECT_TRUE(write_frame(sv[0], "hello"));
    EXPECT_TRUE(write_frame(sv[0], ""));
    EXPECT_TRUE(write_frame(sv[0], big));
  });
  std::string got;
  ASSERT_TRUE(read_frame(sv[1], &got));
  EXPECT_EQ(got, "hello");
  ASSERT_TRUE(read_frame(sv[1], &got));
  EXPECT_EQ(got, "");
  ASSERT_TRUE(read_frame(sv[1], &got));
  EXPECT_EQ(got, big);
  w.join();
  // A length over 16 MiB is refused before anything is allocated.
  const unsigned char hdr[4] = {0x01, 0x00, 0x00, 0x01};
  ASSERT_EQ(write(sv[0], hdr, 4), 4);
  EXPECT_FALSE(read_frame(sv[1], &got));
  // EOF in the middle of a frame.
  const unsigned char part[6] = {0, 0, 0, 10, 'a', 'b'};
  ASSERT_EQ(write(sv[0], part, 6), 6);
  close(sv[0]);
  EXPECT_FALSE(read_frame(sv[1], &got));
  close(sv[1]);
  EXPECT_FALSE(write_frame(-1, std::string(kMaxFrame + 1, 'x')));
}

TEST(Credentials, GroupsFromStatus) {
  EXPECT_EQ(groups_from_status("Name:\tx\nGid:\t5\t5\t5\t5\nGroups:\t4 24 27 \nNgid:\t0\n"),
            (std::vector<unsigned>{4, 24, 27}));
  EXPECT_TRUE(groups_from_status("Name:\tx\nGroups:\t\n").empty());
  EXPECT_TRUE(groups_from_status("").empty());
  EXPECT_EQ(groups_from_status("Groups: 1 x -3 99999999999 7\n"), (std::vector<unsigned>{1, 7}));
}

TEST(Credentials, PeerAllowed) {
  EXPECT_TRUE(peer_allowed(PeerCred{1, 0, 0}, ""));
  EXPECT_TRUE(peer_allowed(PeerCred{1, 0, 1234}, "no-such-group-xyz"));
  EXPECT_FALSE(peer_allowed(PeerCred{0, 1000, 1000}, ""));
  EXPECT_FALSE(peer_allowed(PeerCred{0, 1000, 1000}, "no-such-group-xyz"));
  EXPECT_TRUE(peer_allowed(PeerCred{0, 1000, 0}, "root"));      // primary group
  EXPECT_FALSE(peer_allowed(PeerCred{0, 1000, 1000}, "root"));  // no pid: no supplementary check
  EXPECT_FALSE(peer_allowed(PeerCred{999999999, 1000, 1000}, "root"));  // no such process
}

TEST(Credentials, SupplementaryGroupFromProc) {
  if (getuid() != 0) GTEST_SKIP() << "needs root for setgroups";
  group* gr = getgrnam("daemon");
  if (!gr) GTEST_SKIP() << "no group 'daemon'";
  gid_t gid = gr->gr_gid;
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(p[1]);
    if (setgroups(1, &gid) != 0) _exit(1);
    char c;
    (void)!read(p[0], &c, 1);  // wait for the parent to finish looking
    _exit(0);
  }
  close(p[0]);
  // Wait until the child has dropped to the single supplementary group.
  bool allowed = false;
  for (int i = 0; i < 200 && !allowed; ++i) {
    allowed = peer_allowed(PeerCred{child, 1000, 1000}, "daemon");
    if (!allowed) usleep(10000);
  }
  EXPECT_TRUE(allowed);
  EXPECT_FALSE(peer_allowed(PeerCred{child, 1000, 1000}, "root"));
  close(p[1]);
  int st = 0;
  waitpid(child, &st, 0);
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

std::string sock_path(const char* tag) {
  return "/tmp/fwipc-test-" + std::to_string(getpid()) + "-" + tag + ".sock";
}

Response echo(const Request& r, const PeerCred& c) {
  Response out;
  out.ok = r.line != "fail";
  out.output = "got [" + r.line + "] uid " + std::to_string(c.uid) + "\n";
  out.view = r.view + "|x";
  out.prompt = "<FW>";
  return out;
}

// Area route: requests that ServerOptions::runs_apart picks (ping, tracert) run beside the
// executor, so another connection's command is answered while one of them waits.
TEST(Server, SlowRequestsRunApart) {
  std::string path = sock_path("apart");
  std::string err;
  ServerOptions o;
  o.runs_apart = [](const Request& r) { return r.line == "slow"; };
  auto handler = [](const Request& r, const PeerCred& c) {
    if (r.line == "slow") std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    return echo(r, c);
  };
  auto srv = Server::start(path, "", handler, o, &err);
  ASSERT_TRUE(srv) << err;
  std::atomic<bool> slow_done{false};
  std::thread slow([&] {
    std::string e;
    auto cl = Client::connect(path, &e);
    auto r = cl ? cl->call(Request{"user", "slow"}, &e) : std::nullopt;
    EXPECT_TRUE(r && r->output.find("[slow]") != std::string::npos) << e;
    slow_done = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  auto c = Client::connect(path, &err);
  ASSERT_TRUE(c) << err;
  auto t0 = std::chrono::steady_clock::now();
  auto r = c->call(Request{"user", "fast"}, &err);
  auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
  ASSERT_TRUE(r) << err;
  EXPECT_EQ(r->output.find("[fast]") != std::string::npos, true);
  EXPECT_LT(ms.count(), 800);
  EXPECT_FALSE(slow_done.load());  // answered while the slow one still ran
  slow.join();
  EXPECT_TRUE(slow_done.load());
}

TEST(Server, ServesRequests) {
  std::string path = sock_path("serve");
  std::string err;
  auto srv = Server::start(path, "", echo, &err);
  ASSERT_TRUE(srv) << err;
  struct stat st {};
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0660u);

  auto c = Client::connect(path, &err);
  ASSERT_TRUE(c) << err;
  for (int i = 0; i < 3; ++i) {
    auto r = c->call(Request{"user", "line" + std::to_string(i)}, &err);
    ASSERT_TRUE(r) << err;
    EXPECT_TRUE(r->ok);
    EXPECT_EQ(r->output,
              "got [line" + std::to_string(i) + "] uid " + std::to_string(getuid()) + "\n");
    EXPECT_EQ(r->view, "user|x");
    EXPECT_EQ(r->prompt, "<FW>");
  }
  auto r = c->call(Request{"user", "fail"}, &err);
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->ok);

  // Several clients at once, all served by the one loop and executor.
  std::atomic<int> good{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < 8; ++t) {
    ts.emplace_back([&, t] {
      std::string e;
      auto cl = Client::connect(path, &e);
      if (!cl) return;
      for (int i = 0; i < 20; ++i) {
        auto rr = cl->call(Request{"v", std::to_string(t * 100 + i)}, &e);
        if (rr && rr->output.find("[" + std::to_string(t * 100 + i) + "]") != std::string::npos)
          ++good;
      }
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(good.load(), 160);

  // A client that speaks garbage is disconnected; the server keeps working.
  {
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path.c_str());
    ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
    ASSERT_TRUE(write_frame(fd, "garbage"));
    std::string buf;
    EXPECT_FALSE(read_frame(fd, &buf));
    close(fd);
  }
  r = c->call(Request{"user", "still"}, &err);
  ASSERT_TRUE(r) << err;

  srv.reset();  // stops with a client still connected
  EXPECT_NE(access(path.c_str(), F_OK), 0);
  EXPECT_FALSE(c->call(Request{"user", "after"}, &err));
  EXPECT_FALSE(err.empty());
}

TEST(Server, HandlerExceptionBecomesError) {
  std::string path = sock_path("throw");
  std::string err;
  auto srv = Server::start(
      path, "",
      [](const Request&, const PeerCred&) -> Response { throw std::runtime_error("boom"); }, &err);
  ASSERT_TRUE(srv) << err;
  auto c = Client::connect(path, &err);
  ASSERT_TRUE(c);
  auto r = c->call(Request{"user", "x"}, &err);
  ASSERT_TRUE(r) << err;
  EXPECT_FALSE(r->ok);
  EXPECT_NE(r->output.find("boom"), std::string::npos);
}

TEST(Server, SocketPathHandling) {
  std::string path = sock_path("path");
  std::string err;
  // A stale socket file (nobody listening) is replaced.
  {
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path.c_str());
    ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
    close(fd);
  }
  auto srv = Server::start(path, getuid() == 0 ? "root" : "", echo, &err);
  ASSERT_TRUE(srv) << err;
  // A live one is not stolen.
  EXPECT_FALSE(Server::start(path, "", echo, &err));
  EXPECT_NE(err.find("in use"), std::string::npos) << err;
  srv.reset();
  // A regular file is not deleted.
  FILE* f = std::fopen(path.c_str(), "w");
  ASSERT_TRUE(f);
  std::fclose(f);
  EXPECT_FALSE(Server::start(path, "", echo, &err));
  EXPECT_EQ(access(path.c_str(), F_OK), 0);
  unlink(path.c_str());
  EXPECT_FALSE(Server::start(path, "no-such-group-xyz", echo, &err));
  EXPECT_NE(err.find("group"), std::string::npos) << err;
  EXPECT_FALSE(Server::start("/tmp/" + std::string(200, 'x'), "", echo, &err));
  EXPECT_FALSE(Client::connect(path, &err));
  EXPECT_FALSE(err.empty());
}

TEST(Server, RefusesUnprivilegedPeer) {
  if (getuid() != 0) GTEST_SKIP() << "needs root to become another user";
  std::string path = sock_path("refuse");
  std::string err;
  std::atomic<int> handled{0};
  auto srv = Server::start(
      path, "",
      [&](const Request& r, const PeerCred& c) {
        ++handled;
        return echo(r, c);
      },
      &err);
  ASSERT_TRUE(srv) << err;
  ASSERT_EQ(chmod(path.c_str(), 0666), 0);  // let the file through; SO_PEERCRED must still refuse
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    if (setgid(65534) != 0 || setuid(65534) != 0) _exit(10);
    std::string e;
    auto c = Client::connect(path, &e);
    if (!c) _exit(11);
    auto r = c->call(Request{"user", "display version"}, &e);
    if (!r) _exit(12);
    if (r->ok || r->output.rfind("Error: Permission denied", 0) != 0) _exit(13);
    if (r->output.back() != '\n') _exit(14);
    _exit(0);
  }
  int st = 0;
  waitpid(child, &st, 0);
  ASSERT_TRUE(WIFEXITED(st));
  EXPECT_EQ(WEXITSTATUS(st), 0);
  EXPECT_EQ(handled.load(), 0);
}

}  // namespace
}  // namespace fw::ipc
