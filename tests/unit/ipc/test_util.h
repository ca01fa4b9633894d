#pragma once
// Helpers for the ipc tests: a temp dir for sockets, raw peers, bounded waits.
#include <dirent.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "ipc/ipc.h"

namespace fw::ipc::testing {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// A fresh directory under /tmp, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/fwipc-XXXXXX";
    if (char* p = ::mkdtemp(tmpl)) path_ = p;
  }
  ~TempDir() {
    if (!path_.empty()) std::filesystem::remove_all(path_);
  }
  bool ok() const { return !path_.empty(); }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// A blocking Unix stream socket connected to path whose reads give up after 5 s,
// so a test fails instead of hanging. -1 on error.
inline int raw_connect(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  std::snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path.c_str());
  if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    ::close(fd);
    return -1;
  }
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  return fd;
}

inline bool send_bytes(int fd, const std::string& bytes) {
  return ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size());
}

inline std::string header(uint32_t n) {
  std::string h(4, '\0');
  h[0] = static_cast<char>(n >> 24);
  h[1] = static_cast<char>(n >> 16);
  h[2] = static_cast<char>(n >> 8);
  h[3] = static_cast<char>(n);
  return h;
}

// One framed Response read from fd (nullopt on EOF, error, 5 s timeout or garbage).
inline std::optional<Response> read_response(int fd) {
  std::string buf;
  if (!read_frame(fd, &buf)) return std::nullopt;
  return decode_response(buf);
}

// True once the peer has closed fd (EOF or reset) within `limit`; unread data is skipped.
inline bool closed_within(int fd, milliseconds limit) {
  auto end = Clock::now() + limit;
  char buf[4096];
  while (Clock::now() < end) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 20) <= 0) continue;
    ssize_t r = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) return true;
  }
  return false;
}

inline bool wait_until(const std::function<bool()>& pred, milliseconds limit) {
  auto end = Clock::now() + limit;
  while (Clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(milliseconds(5));
  }
  return pred();
}

// Resident set size of this process, bytes.
inline size_t rss_bytes() {
  std::ifstream f("/proc/self/statm");
  size_t size = 0, resident = 0;
  f >> size >> resident;
  return resident * static_cast<size_t>(::sysconf(_SC_PAGESIZE));
}

// Peak resident set size since the last reset_peak_rss(), bytes (VmHWM).
inline size_t peak_rss_bytes() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::stoul(line.substr(6)) * 1024;
  return 0;
}

// Lowers VmHWM to the current RSS (Linux: "5" > /proc/self/clear_refs).
inline bool reset_peak_rss() {
  std::ofstream f("/proc/self/clear_refs");
  f << "5";
  f.flush();
  return static_cast<bool>(f);
}

inline size_t thread_count() {
  size_t n = 0;
  for (const auto& e : std::filesystem::directory_iterator("/proc/self/task")) {
    (void)e;
    ++n;
  }
  return n;
}

// ServerOptions::peer_cred: hands uids to connections in accept order (which is connect
// order); the gid is 0, so with group "root" a non-root uid passes the credential rule by
// its primary group whatever user runs the test. Nothing queued: the real credentials.
class UidQueue {
 public:
  void push(unsigned uid) {
    std::lock_guard<std::mutex> lk(mu_);
    uids_.push_back(uid);
  }
  PeerCred next(const PeerCred& real) {
    std::lock_guard<std::mutex> lk(mu_);
    if (uids_.empty()) return real;
    PeerCred c{real.pid, uids_.front(), 0};
    uids_.pop_front();
    return c;
  }

 private:
  std::mutex mu_;
  std::deque<unsigned> uids_;
};

inline Response echo_handler(const Request& r, const PeerCred& c) {
  Response out;
  out.ok = r.line != "fail";
  out.output = "got [" + r.line + "] uid " + std::to_string(c.uid) + "\n";
  out.view = r.view;
  out.prompt = "<FW>";
  return out;
}

// A scripted server for one connection: reads a request and writes the next reply, for
// each reply in turn ("" = never answer: wait for the client to go, or 10 s). After the
// last reply: reads one more request and closes (hold_at_end=false), or waits like "".
class FakeServer {
 public:
  FakeServer(const std::string& path, std::vector<std::string> replies, bool hold_at_end = true)
      : replies_(std::move(replies)), hold_(hold_at_end) {
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path.c_str());
    ok_ = ::bind(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0 && ::listen(fd_, 4) == 0;
    if (ok_) th_ = std::thread([this] { serve(); });
  }
  ~FakeServer() {
    ::shutdown(fd_, SHUT_RDWR);
    if (th_.joinable()) th_.join();
    ::close(fd_);
  }
  bool ok() const { return ok_; }

 private:
  void serve() {
    int c = ::accept(fd_, nullptr, nullptr);
    if (c < 0) return;
    std::string req;
    bool hold = hold_;
    for (const auto& reply : replies_) {
      if (!read_frame(c, &req)) break;
      if (reply.empty()) {
        hold = true;
        break;
      }
      send_bytes(c, reply);
    }
    if (hold)
      closed_within(c, milliseconds(10000));
    else
      read_frame(c, &req);
    ::close(c);
  }
  std::vector<std::string> replies_;
  bool hold_;
  int fd_ = -1;
  bool ok_ = false;
  std::thread th_;
};

inline std::string framed_response(const Response& r) {
  std::string p = encode(r);
  return header(static_cast<uint32_t>(p.size())) + p;
}

}  // namespace fw::ipc::testing
