// The fwcli side of the socket: every wait (connect, send, reply) ends by a deadline.
#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <functional>
#include <thread>

#include "ipc/internal.h"
#include "ipc/ipc.h"

namespace fw::ipc {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr size_t kChunk = 64 * 1024;
constexpr milliseconds kConnectRetry{10};

enum class Io { kOk, kTimeout, kClosed, kError, kInterrupted };

// Waits until fd is ready for `events` (or has an error/hangup to report); kTimeout when
// the deadline passes first, kInterrupted when a signal came and `interrupted` says so.
Io wait_ready(int fd, short events, Clock::time_point deadline,
              const std::function<bool()>& interrupted) {
  for (;;) {
    auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count();
    pollfd p{fd, events, 0};
    int r = ::poll(&p, 1, left <= 0 ? 0 : static_cast<int>(std::min<int64_t>(left + 1, 60'000)));
    if (r > 0) return Io::kOk;
    if (r == 0 && Clock::now() >= deadline) return Io::kTimeout;
    if (r < 0 && errno == EINTR && interrupted && interrupted()) return Io::kInterrupted;
    if (r < 0 && errno != EINTR) return Io::kOk;  // let the I/O call report it
  }
}

Io send_all(int fd, const std::string& buf, Clock::time_point deadline,
            const std::function<bool()>& interrupted) {
  size_t pos = 0;
  while (pos < buf.size()) {
    ssize_t w = ::send(fd, buf.data() + pos, buf.size() - pos, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w > 0) {
      pos += static_cast<size_t>(w);
    } else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (Io w = wait_ready(fd, POLLOUT, deadline, interrupted); w != Io::kOk) return w;
    } else if (w < 0 && errno != EINTR) {
      return Io::kError;
    }
  }
  return Io::kOk;
}

// Appends exactly n bytes to *out, growing it only with what arrives.
Io recv_exact(int fd, std::string* out, size_t n, Clock::time_point deadline,
              const std::function<bool()>& interrupted) {
  char chunk[kChunk];
  while (n > 0) {
    ssize_t r = ::recv(fd, chunk, std::min(n, sizeof chunk), MSG_DONTWAIT);
    if (r > 0) {
      out->append(chunk, static_cast<size_t>(r));
      n -= static_cast<size_t>(r);
    } else if (r == 0) {
      return Io::kClosed;
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      if (Io w = wait_ready(fd, POLLIN, deadline, interrupted); w != Io::kOk) return w;
    } else if (errno != EINTR) {
      return Io::kError;
    }
  }
  return Io::kOk;
}

std::string seconds_text(milliseconds d) {
  if (d.count() % 1000 == 0) return std::to_string(d.count() / 1000) + " s";
  return std::to_string(d.count()) + " ms";
}

// A Unix connect blocks while the server's backlog is full: retry a non-blocking one.
int connect_until(const sockaddr_un& sa, Clock::time_point deadline, std::string* err) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) {
    if (err) *err = std::strerror(errno);
    return -1;
  }
  for (;;) {
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) == 0) return fd;
    if (errno == EINTR) continue;
    if (errno != EAGAIN || Clock::now() >= deadline) break;
    std::this_thread::sleep_for(kConnectRetry);
  }
  if (err) *err = errno == EAGAIN ? "the server does not accept connections" : std::strerror(errno);
  ::close(fd);
  return -1;
}

}  // namespace

Client::Client() = default;

Client::~Client() { disconnect(); }

void Client::disconnect() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

std::unique_ptr<Client> Client::connect(const std::string& path, std::string* err) {
  return connect(path, ClientOptions{}, err);
}

std::unique_ptr<Client> Client::connect(const std::string& path, const ClientOptions& options,
                                        std::string* err) {
  sockaddr_un sa{};
  if (!internal::fill_sockaddr(path, &sa, err)) return nullptr;
  int fd = connect_until(sa, Clock::now() + options.timeout, err);
  if (fd < 0) return nullptr;
  std::unique_ptr<Client> c(new Client());
  c->fd_ = fd;
  c->options_ = options;
  return c;
}

size_t Client::wire_size(const Request& r) {
  // encode(Request): tag byte, then each field as a 4-byte length and its bytes.
  return 1 + internal::kHeaderSize + r.view.size() + internal::kHeaderSize + r.line.size();
}

bool Client::stale() const {
  if (fd_ < 0) return true;
  pollfd p{fd_, POLLIN, 0};
  int r;
  do {
    r = ::poll(&p, 1, 0);
  } while (r < 0 && errno == EINTR);
  return r != 0;  // bytes nobody asked for, EOF, hangup or error
}

std::optional<Response> Client::call(const Request& r, std::string* err) {
  return call(r, err, [](const std::string&) { return true; });
}

std::optional<Response> Client::call(const Request& r, std::string* err,
                                     const std::function<bool(const std::string&)>& on_piece) {
  auto fail = [&](const std::string& why) -> std::optional<Response> {
    if (err) *err = why;
    disconnect();
    return std::nullopt;
  };
  if (fd_ < 0) return fail("not connected");
  if (size_t n = wire_size(r); n > options_.max_frame) {
    if (err)  // nothing was sent: the connection stays usable
      *err = "request too large (" + std::to_string(n) + " bytes, limit " +
             std::to_string(options_.max_frame) + " bytes); not sent";
    return std::nullopt;
  }
  const auto& intr = options_.interrupted;
  auto deadline = Clock::now() + options_.timeout;
  Io w = send_all(fd_, internal::framed(encode(r)), deadline, intr);
  int write_errno = errno;
  if (w == Io::kInterrupted) return fail("interrupted");
  if (w == Io::kTimeout)
    return fail("the server took no request for " + seconds_text(options_.timeout));
  for (;;) {
    // Even when the write failed, the server may have left an answer (a refusal) queued.
    std::string hdr;
    Io h = recv_exact(fd_, &hdr, internal::kHeaderSize, deadline, intr);
    if (h == Io::kInterrupted) return fail("interrupted");
    if (h == Io::kTimeout) return fail("no reply within " + seconds_text(options_.timeout));
    if (h != Io::kOk) {
      if (w != Io::kOk) return fail(std::strerror(write_errno));
      return fail(h == Io::kClosed ? "connection closed by server" : std::strerror(errno));
    }
    uint32_t n = internal::get_u32(reinterpret_cast<const unsigned char*>(hdr.data()));
    if (n > options_.max_frame)
      return fail("reply too large (" + std::to_string(n) + " bytes, limit " +
                  std::to_string(options_.max_frame) + " bytes)");
    std::string body;
    Io b = recv_exact(fd_, &body, n, deadline, intr);
    if (b == Io::kInterrupted) return fail("interrupted");
    if (b == Io::kTimeout)
      return fail("reply not completed within " + seconds_text(options_.timeout));
    if (b != Io::kOk)
      return fail(b == Io::kClosed ? "connection closed in the middle of a reply"
                                   : std::strerror(errno));
    auto resp = decode_response(body);
    if (!resp) return fail("malformed response");
    if (resp->piece) {  // version 4: more follows; the timeout counts from each frame
      if (!on_piece(resp->output)) return fail("interrupted");
      deadline = Clock::now() + options_.timeout;
      continue;
    }
    if (resp->closing != Closing::kNone) disconnect();  // the server's last word on it
    return resp;
  }
}

}  // namespace fw::ipc
