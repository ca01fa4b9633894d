// fwcli <-> fwd: framing, message encoding, the Unix socket server and client.
#include "ipc/ipc.h"

#include <errno.h>
#include <grp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <fstream>
#include <list>
#include <mutex>
#include <sstream>
#include <thread>

namespace fw::ipc {

namespace {

// Message bodies: a type byte, then fields as 4-byte big-endian length + bytes.
// The decoder consumes exactly the whole buffer or rejects it.
constexpr char kRequestTag = 'Q';
constexpr char kResponseTag = 'R';

void put_u32(std::string* out, uint32_t v) {
  out->push_back(static_cast<char>(v >> 24));
  out->push_back(static_cast<char>(v >> 16));
  out->push_back(static_cast<char>(v >> 8));
  out->push_back(static_cast<char>(v));
}

uint32_t get_u32(const unsigned char* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

void put_field(std::string* out, const std::string& s) {
  put_u32(out, static_cast<uint32_t>(s.size()));
  out->append(s);
}

class Reader {
 public:
  explicit Reader(const std::string& b) : b_(b) {}
  bool byte(char* c) {
    if (pos_ >= b_.size()) return false;
    *c = b_[pos_++];
    return true;
  }
  bool field(std::string* s) {
    if (b_.size() - pos_ < 4) return false;
    uint32_t n = get_u32(reinterpret_cast<const unsigned char*>(b_.data()) + pos_);
    pos_ += 4;
    if (n > b_.size() - pos_) return false;
    s->assign(b_, pos_, n);
    pos_ += n;
    return true;
  }
  bool done() const { return pos_ == b_.size(); }

 private:
  const std::string& b_;
  size_t pos_ = 0;
};

bool write_all(int fd, const char* p, size_t n) {
  while (n > 0) {
    ssize_t w = ::send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

bool read_all(int fd, char* p, size_t n) {
  while (n > 0) {
    ssize_t r = ::recv(fd, p, n, 0);
    if (r < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    if (r == 0) return false;
    p += r;
    n -= static_cast<size_t>(r);
  }
  return true;
}

std::optional<unsigned> group_id(const std::string& name) {
  std::vector<char> buf(16384);
  group gr{};
  group* res = nullptr;
  if (getgrnam_r(name.c_str(), &gr, buf.data(), buf.size(), &res) != 0 || !res) return std::nullopt;
  return res->gr_gid;
}

bool fill_sockaddr(const std::string& path, sockaddr_un* sa, std::string* err) {
  std::memset(sa, 0, sizeof *sa);
  sa->sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof sa->sun_path) {
    if (err) *err = "socket path too long or empty: " + path;
    return false;
  }
  std::memcpy(sa->sun_path, path.c_str(), path.size() + 1);
  return true;
}

std::string errno_text(const std::string& what) { return what + ": " + std::strerror(errno); }

}  // namespace

std::string encode(const Request& r) {
  std::string out(1, kRequestTag);
  put_field(&out, r.view);
  put_field(&out, r.line);
  return out;
}

std::string encode(const Response& r) {
  std::string out(1, kResponseTag);
  out.push_back(r.ok ? 1 : 0);
  put_field(&out, r.output);
  put_field(&out, r.view);
  put_field(&out, r.prompt);
  return out;
}

std::optional<Request> decode_request(const std::string& bytes) {
  Reader rd(bytes);
  char tag = 0;
  Request r;
  if (!rd.byte(&tag) || tag != kRequestTag) return std::nullopt;
  if (!rd.field(&r.view) || !rd.field(&r.line) || !rd.done()) return std::nullopt;
  return r;
}

std::optional<Response> decode_response(const std::string& bytes) {
  Reader rd(bytes);
  char tag = 0, ok = 0;
  Response r;
  if (!rd.byte(&tag) || tag != kResponseTag || !rd.byte(&ok) || (ok != 0 && ok != 1))
    return std::nullopt;
  r.ok = ok == 1;
  if (!rd.field(&r.output) || !rd.field(&r.view) || !rd.field(&r.prompt) || !rd.done())
    return std::nullopt;
  return r;
}

bool write_frame(int fd, const std::string& payload) {
  if (payload.size() > kMaxFrame) return false;
  std::string buf;
  buf.reserve(payload.size() + 4);
  put_u32(&buf, static_cast<uint32_t>(payload.size()));
  buf += payload;
  return write_all(fd, buf.data(), buf.size());
}

bool read_frame(int fd, std::string* payload) {
  unsigned char hdr[4];
  if (!read_all(fd, reinterpret_cast<char*>(hdr), 4)) return false;
  uint32_t n = get_u32(hdr);
  if (n > kMaxFrame) return false;
  payload->assign(n, '\0');
  return n == 0 || read_all(fd, payload->data(), n);
}

std::vector<unsigned> groups_from_status(const std::string& status_text) {
  std::vector<unsigned> out;
  std::istringstream is(status_text);
  std::string line;
  while (std::getline(is, line)) {
    if (line.rfind("Groups:", 0) != 0) continue;
    std::istringstream ls(line.substr(7));
    std::string tok;
    while (ls >> tok) {
      char* end = nullptr;
      errno = 0;
      unsigned long v = std::strtoul(tok.c_str(), &end, 10);
      if (errno == 0 && end && *end == '\0' && !tok.empty() && tok[0] != '-' && v <= 0xffffffffUL)
        out.push_back(static_cast<unsigned>(v));
    }
    break;
  }
  return out;
}

bool peer_allowed(const PeerCred& cred, const std::string& group) {
  if (cred.uid == 0) return true;
  if (group.empty()) return false;
  auto gid = group_id(group);
  if (!gid) return false;
  if (cred.gid == *gid) return true;
  if (cred.pid <= 0) return false;
  std::ifstream f("/proc/" + std::to_string(cred.pid) + "/status");
  if (!f) return false;
  std::stringstream ss;
  ss << f.rdbuf();
  for (unsigned g : groups_from_status(ss.str()))
    if (g == *gid) return true;
  return false;
}

// ---- Server -------------------------------------------------------------------

struct Server::Impl {
  struct Conn {
    int fd = -1;
    std::thread th;
    std::atomic<bool> done{false};
  };

  std::string path;
  std::string group;
  Handler handler;
  int listen_fd = -1;
  std::atomic<bool> stopping{false};
  std::thread acceptor;
  std::mutex mu;
  std::list<Conn> conns;  // list: Conn addresses stay valid for their threads

  void serve(Conn* c, PeerCred cred) {
    if (!peer_allowed(cred, group)) {
      Response r;
      r.ok = false;
      r.output =
          "Error: Permission denied: uid " + std::to_string(cred.uid) +
          (group.empty() ? std::string(" is not root") : " is not root and not in group " + group) +
          "\n";
      write_frame(c->fd, encode(r));
      // Half-close and wait briefly for the peer's request, so it reads our answer
      // instead of failing its write on a socket we already tore down.
      ::shutdown(c->fd, SHUT_WR);
      timeval tv{1, 0};
      ::setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      std::string ignored;
      if (!stopping) read_frame(c->fd, &ignored);
      ::shutdown(c->fd, SHUT_RDWR);
      c->done = true;
      return;
    }
    std::string buf;
    while (!stopping && read_frame(c->fd, &buf)) {
      auto req = decode_request(buf);
      if (!req) break;  // a peer that speaks garbage is not worth an answer
      Response resp;
      try {
        resp = handler(*req, cred);
      } catch (const std::exception& e) {
        resp = Response{};
        resp.ok = false;
        resp.output = std::string("Error: internal error: ") + e.what() + "\n";
        resp.view = req->view;
      }
      if (!write_frame(c->fd, encode(resp))) break;
    }
    ::shutdown(c->fd, SHUT_RDWR);
    c->done = true;
  }

  // Joins finished connection threads so a long-running daemon does not pile them up.
  void reap() {
    std::lock_guard<std::mutex> lk(mu);
    for (auto it = conns.begin(); it != conns.end();) {
      if (it->done) {
        if (it->th.joinable()) it->th.join();
        ::close(it->fd);
        it = conns.erase(it);
      } else {
        ++it;
      }
    }
  }

  void accept_loop() {
    while (!stopping) {
      int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EINTR || errno == ECONNABORTED) continue;
        if (stopping) break;
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
          std::this_thread::sleep_for(std::chrono::milliseconds(50));
          reap();
          continue;
        }
        break;
      }
      reap();
      ucred uc{};
      socklen_t len = sizeof uc;
      PeerCred cred;
      if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) == 0) {
        cred.pid = uc.pid;
        cred.uid = uc.uid;
        cred.gid = uc.gid;
      } else {
        // Unknown peer: treat as unprivileged nobody so the check refuses it.
        cred.uid = cred.gid = 65534;
      }
      std::lock_guard<std::mutex> lk(mu);
      if (stopping) {
        ::close(fd);
        break;
      }
      conns.emplace_back();
      Conn* c = &conns.back();
      c->fd = fd;
      c->th = std::thread([this, c, cred] { serve(c, cred); });
    }
  }
};

Server::Server() : impl_(std::make_unique<Impl>()) {}

std::unique_ptr<Server> Server::start(const std::string& path, const std::string& group,
                                      Handler handler, std::string* err) {
  sockaddr_un sa{};
  if (!fill_sockaddr(path, &sa, err)) return nullptr;
  std::optional<unsigned> gid;
  if (!group.empty()) {
    gid = group_id(group);
    if (!gid) {
      if (err) *err = "unknown group: " + group;
      return nullptr;
    }
  }
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      if (err) *err = path + " exists and is not a socket";
      return nullptr;
    }
    // A socket someone still answers on belongs to a running daemon: do not steal it.
    int probe = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (probe >= 0) {
      bool live = ::connect(probe, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0;
      ::close(probe);
      if (live) {
        if (err) *err = path + " is in use by a running server";
        return nullptr;
      }
    }
    ::unlink(path.c_str());
  }
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    if (err) *err = errno_text("socket");
    return nullptr;
  }
  // Create the socket file with no access, then open it up to exactly 0660.
  mode_t old = ::umask(0777);
  int rc = ::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
  int bind_errno = errno;
  ::umask(old);
  if (rc != 0) {
    errno = bind_errno;
    if (err) *err = errno_text("bind " + path);
    ::close(fd);
    return nullptr;
  }
  auto fail = [&](const std::string& what) {
    if (err) *err = errno_text(what);
    ::close(fd);
    ::unlink(path.c_str());
    return nullptr;
  };
  if (gid && ::chown(path.c_str(), 0, *gid) != 0) return fail("chown " + path);
  if (::chmod(path.c_str(), 0660) != 0) return fail("chmod " + path);
  if (::listen(fd, 64) != 0) return fail("listen " + path);

  std::unique_ptr<Server> s(new Server());
  s->impl_->path = path;
  s->impl_->group = group;
  s->impl_->handler = std::move(handler);
  s->impl_->listen_fd = fd;
  Impl* impl = s->impl_.get();
  s->impl_->acceptor = std::thread([impl] { impl->accept_loop(); });
  return s;
}

Server::~Server() {
  if (!impl_) return;
  impl_->stopping = true;
  // shutdown() wakes a thread blocked in accept()/recv() on Linux; close() alone would not.
  if (impl_->listen_fd >= 0) ::shutdown(impl_->listen_fd, SHUT_RDWR);
  if (impl_->acceptor.joinable()) impl_->acceptor.join();
  {
    std::lock_guard<std::mutex> lk(impl_->mu);
    for (auto& c : impl_->conns) ::shutdown(c.fd, SHUT_RDWR);
  }
  for (auto& c : impl_->conns) {
    if (c.th.joinable()) c.th.join();
    ::close(c.fd);
  }
  impl_->conns.clear();
  if (impl_->listen_fd >= 0) ::close(impl_->listen_fd);
  ::unlink(impl_->path.c_str());
}

// ---- Client -------------------------------------------------------------------

Client::Client() = default;

Client::~Client() {
  if (fd_ >= 0) ::close(fd_);
}

std::unique_ptr<Client> Client::connect(const std::string& path, std::string* err) {
  sockaddr_un sa{};
  if (!fill_sockaddr(path, &sa, err)) return nullptr;
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    if (err) *err = std::strerror(errno);
    return nullptr;
  }
  if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    if (err) *err = std::strerror(errno);
    ::close(fd);
    return nullptr;
  }
  std::unique_ptr<Client> c(new Client());
  c->fd_ = fd;
  return c;
}

std::optional<Response> Client::call(const Request& r, std::string* err) {
  if (fd_ < 0) {
    if (err) *err = "not connected";
    return std::nullopt;
  }
  errno = 0;
  bool wrote = write_frame(fd_, encode(r));
  int write_errno = errno;
  std::string buf;
  errno = 0;
  // Even when the write failed, the server may have left an answer (a refusal) queued.
  if (!read_frame(fd_, &buf)) {
    if (!wrote) errno = write_errno;
    if (err) *err = errno ? std::string(std::strerror(errno)) : "connection closed by server";
    return std::nullopt;
  }
  auto resp = decode_response(buf);
  if (!resp && err) *err = "malformed response";
  return resp;
}

}  // namespace fw::ipc
