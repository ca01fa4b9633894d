// The management socket server: one epoll loop owns every connection, one executor
// thread runs the handler. Why it is built this way: ipc/README.md.
#include <errno.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <utility>

#include "ipc/internal.h"
#include "ipc/ipc.h"

namespace fw::ipc {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr uint64_t kListenKey = 0;  // epoll keys; connections count up from kFirstConn
constexpr uint64_t kWakeKey = 1;
constexpr uint64_t kFirstConn = 2;
constexpr size_t kReadChunk = 64 * 1024;
constexpr size_t kMinFrame = 1024;  // room for every error answer
constexpr int kMaxEvents = 64;
constexpr int kAcceptBurst = 32;
constexpr int kBacklog = 64;
constexpr milliseconds kAcceptPause{100};  // after EMFILE & co., instead of spinning
constexpr milliseconds kMaxLinger{1000};

std::string duration_text(milliseconds d) {
  if (d.count() % 1000 == 0) return std::to_string(d.count() / 1000) + " s";
  return std::to_string(d.count()) + " ms";
}

// Gives back the capacity a large frame left behind.
void release_slack(std::string* s) {
  if (s->capacity() > 2 * kReadChunk && s->size() < s->capacity() / 4) *s = std::string(*s);
}

// Runs the handler on its own thread, one job at a time, in the order they were queued;
// finished answers wait in done_ until the loop (woken through wake_fd) takes them. Jobs that
// ServerOptions::runs_apart picks (commands that take seconds: ping, tracert) go to a second
// queue served by kApartThreads threads of their own, so they do not hold up the others.
// Version 4: a handler's emitted pieces wait in its connection's Pipe (at most stream_buffer
// bytes: emit blocks beyond) until the loop moves them to the connection's send buffer; the
// answer itself is queued only once every piece has been taken, so it is sent last.
class Executor {
 public:
  struct Job {
    uint64_t conn;
    Request req;
    PeerCred cred;
  };
  struct Done {
    uint64_t conn;
    Response resp;
  };
  static constexpr size_t kApartThreads = 2;

  Executor(Server::StreamingHandler handler, std::function<bool(const Request&)> runs_apart,
           int wake_fd, size_t stream_buffer)
      : handler_(std::move(handler)),
        runs_apart_(std::move(runs_apart)),
        wake_fd_(wake_fd),
        stream_buffer_(stream_buffer) {
    threads_.emplace_back([this] { run(jobs_); });
    if (runs_apart_) {
      for (size_t i = 0; i < kApartThreads; ++i) threads_.emplace_back([this] { run(apart_); });
    }
  }
  // Waits for running handlers (a handler waiting in emit is told to stop); queued jobs are
  // dropped.
  ~Executor() {
    {
      std::lock_guard<std::mutex> lk(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    pipe_cv_.notify_all();
    for (auto& t : threads_) t.join();
  }
  void push(Job j) {
    bool apart = runs_apart_ && runs_apart_(j.req);
    {
      std::lock_guard<std::mutex> lk(mu_);
      (apart ? apart_ : jobs_).push_back(std::move(j));
    }
    cv_.notify_all();
  }
  std::deque<Done> take() {
    std::lock_guard<std::mutex> lk(mu_);
    return std::exchange(done_, {});
  }
  // Loop side: the queued pieces of each connection `can_take` accepts go to `give` (framed),
  // and the handlers waiting for room are woken.
  template <class Can, class Give>
  void take_pieces(Can can_take, Give give) {
    std::vector<std::pair<uint64_t, std::string>> out;
    {
      std::lock_guard<std::mutex> lk(mu_);
      for (auto& [conn, p] : pipes_) {
        if (p.frames.empty() || !can_take(conn)) continue;
        std::string bytes;
        bytes.reserve(p.bytes);
        for (auto& f : p.frames) bytes += f;
        p.frames.clear();
        p.bytes = 0;
        out.emplace_back(conn, std::move(bytes));
      }
    }
    if (out.empty()) return;
    pipe_cv_.notify_all();
    for (auto& [conn, bytes] : out) give(conn, std::move(bytes));
  }
  // Loop side: the connection of a running handler is gone; its emit returns false from now.
  void cancel(uint64_t conn) {
    {
      std::lock_guard<std::mutex> lk(mu_);
      Pipe& p = pipes_[conn];
      p.cancelled = true;
      p.frames.clear();
      p.bytes = 0;
    }
    pipe_cv_.notify_all();
  }
  // Loop side: the answer of `conn` was taken; a cancellation recorded after its handler ended
  // is dropped.
  void forget(uint64_t conn) {
    std::lock_guard<std::mutex> lk(mu_);
    pipes_.erase(conn);
  }

 private:
  struct Pipe {
    std::deque<std::string> frames;
    size_t bytes = 0;
    bool cancelled = false;
  };

  void run(std::deque<Job>& queue) {
    std::unique_lock<std::mutex> lk(mu_);
    for (;;) {
      cv_.wait(lk, [&] { return stop_ || !queue.empty(); });
      if (stop_) return;
      Job j = std::move(queue.front());
      queue.pop_front();
      lk.unlock();
      Done d{j.conn, call(j)};
      lk.lock();
      // The answer follows the last piece: wait until the loop has taken them all.
      pipe_cv_.wait(lk, [&] {
        auto it = pipes_.find(j.conn);
        return stop_ || it == pipes_.end() || it->second.cancelled || it->second.frames.empty();
      });
      pipes_.erase(j.conn);
      done_.push_back(std::move(d));
      uint64_t one = 1;
      (void)!::write(wake_fd_, &one, sizeof one);
    }
  }
  // Handler side: queues `text` as piece frames, waiting for room; false once the connection
  // is gone or the server stops.
  bool emit(uint64_t conn, const std::string& text) {
    if (text.empty()) {  // nothing to send: only whether the reader is still there (live trace)
      std::lock_guard<std::mutex> lk(mu_);
      auto it = pipes_.find(conn);
      return !stop_ && (it == pipes_.end() || !it->second.cancelled);
    }
    for (size_t pos = 0; pos < text.size(); pos += kMaxPiece) {
      Response piece;
      piece.piece = true;
      piece.output = text.substr(pos, kMaxPiece);
      std::string frame = internal::framed(encode(piece));
      std::unique_lock<std::mutex> lk(mu_);
      Pipe& p = pipes_[conn];
      pipe_cv_.wait(lk, [&] { return stop_ || p.cancelled || p.bytes < stream_buffer_; });
      if (stop_ || p.cancelled) return false;
      p.bytes += frame.size();
      p.frames.push_back(std::move(frame));
      lk.unlock();
      uint64_t one = 1;
      (void)!::write(wake_fd_, &one, sizeof one);
    }
    return true;
  }
  Response call(const Job& j) {
    Response resp;
    Server::Emit emit = [this, conn = j.conn](const std::string& t) { return this->emit(conn, t); };
    try {
      return handler_(j.req, j.cred, emit);
    } catch (const std::exception& e) {
      resp.output = std::string("Error: internal error: ") + e.what() + "\n";
    } catch (...) {
      resp.output = "Error: internal error\n";
    }
    resp.ok = false;
    resp.view = j.req.view;
    return resp;
  }

  Server::StreamingHandler handler_;
  std::function<bool(const Request&)> runs_apart_;
  int wake_fd_;
  size_t stream_buffer_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::condition_variable pipe_cv_;
  bool stop_ = false;
  std::deque<Job> jobs_;
  std::deque<Job> apart_;
  std::deque<Done> done_;
  std::unordered_map<uint64_t, Pipe> pipes_;  // connections whose handler emitted (or is gone)
  std::vector<std::thread> threads_;          // last: started once the members above exist
};

enum class State {
  kReading,    // collecting a request in `in`
  kBusy,       // its request is with the executor (not read from meanwhile); pieces of a
               // streamed answer may be in `out`
  kWriting,    // its reply is in `out`
  kClosing,    // a final message (refusal, notice) is in `out`
  kLingering,  // final message sent and SHUT_WR done: input discarded until EOF or deadline
};

struct Conn {
  uint64_t id = 0;
  int fd = -1;
  PeerCred cred;
  State state = State::kReading;
  bool counted = false;  // holds one of the max_clients places
  bool dead = false;     // closed; erased at the end of the loop iteration
  uint32_t mask = 0;     // events registered with epoll
  std::string in;        // received bytes not yet consumed: grows only with what arrives
  std::string out;       // framed message being written
  size_t out_pos = 0;
  Clock::time_point last_active;  // accepted, bytes received, or reply written
  Clock::time_point frame_start;  // first byte of the partial request in `in`
  Clock::time_point write_since;  // last progress writing `out`
  Clock::time_point linger_until;
};

}  // namespace

struct Server::Impl {
  std::string path;
  std::string group;
  ServerOptions opt;
  int listen_fd = -1;
  int ep = -1;
  int wake_fd = -1;
  std::atomic<bool> stopping{false};
  std::unique_ptr<Executor> exec;
  std::thread loop;

  // Owned by the loop thread.
  std::unordered_map<uint64_t, Conn> conns;
  uint64_t next_id = kFirstConn;
  size_t n_counted = 0;
  size_t n_lingering = 0;
  bool listen_paused = false;
  Clock::time_point listen_resume;
  std::vector<char> scratch = std::vector<char>(kReadChunk);
  ServerStats st;

  mutable std::mutex stats_mu;
  ServerStats published;

  void wake() {
    uint64_t one = 1;
    (void)!::write(wake_fd, &one, sizeof one);
  }

  void run() {
    epoll_event evs[kMaxEvents];
    while (!stopping.load()) {
      int n = ::epoll_wait(ep, evs, kMaxEvents, timeout_ms(Clock::now()));
      if (n < 0 && errno != EINTR) return;  // only on a broken epoll fd
      auto now = Clock::now();
      for (int i = 0; i < n; ++i) {
        uint64_t key = evs[i].data.u64;
        if (key == kListenKey) {
          accept_ready(now);
        } else if (key == kWakeKey) {
          uint64_t v;
          (void)!::read(wake_fd, &v, sizeof v);
        } else {
          on_event(key, evs[i].events, now);
        }
      }
      deliver(now);
      pump(now);
      expire(now);
      sweep();
      publish();
    }
  }

  Clock::time_point deadline(const Conn& c) const {
    switch (c.state) {
      case State::kReading:
        return c.in.empty() ? c.last_active + opt.idle_timeout : c.frame_start + opt.frame_timeout;
      case State::kBusy:  // a piece the peer does not read times out like a reply
        return c.out_pos < c.out.size() ? c.write_since + opt.frame_timeout
                                        : Clock::time_point::max();
      case State::kWriting:
      case State::kClosing:
        return c.write_since + opt.frame_timeout;
      case State::kLingering:
        return c.linger_until;
    }
    return Clock::time_point::max();
  }

  int timeout_ms(Clock::time_point now) const {
    auto next = listen_paused ? listen_resume : Clock::time_point::max();
    for (const auto& [id, c] : conns)
      if (!c.dead) next = std::min(next, deadline(c));
    if (next == Clock::time_point::max()) return -1;
    if (next <= now) return 0;
    auto ms = std::chrono::duration_cast<milliseconds>(next - now).count() + 1;
    return static_cast<int>(std::min<int64_t>(ms, 60'000));
  }

  void set_mask(Conn& c, uint32_t mask) {
    if (c.mask == mask) return;
    epoll_event ev{};
    ev.events = mask;
    ev.data.u64 = c.id;
    if (::epoll_ctl(ep, EPOLL_CTL_MOD, c.fd, &ev) == 0) c.mask = mask;
  }

  // Closes at once; the entry goes in sweep() so references held by callers stay valid.
  void kill(Conn& c) {
    if (c.dead) return;
    if (c.state == State::kBusy) exec->cancel(c.id);  // its handler stops rendering
    c.dead = true;
    if (c.counted) --n_counted;
    if (c.state == State::kLingering) --n_lingering;
    c.counted = false;
    ::epoll_ctl(ep, EPOLL_CTL_DEL, c.fd, nullptr);
    ::close(c.fd);
    std::string().swap(c.in);
    std::string().swap(c.out);
  }

  void sweep() {
    std::erase_if(conns, [](const auto& kv) { return kv.second.dead; });
  }

  void publish() {
    st.clients = n_counted;
    st.buffered_bytes = 0;
    st.in_flight = 0;
    for (const auto& [id, c] : conns) {
      st.buffered_bytes += c.in.capacity() + c.out.capacity();
      if (c.state == State::kBusy || c.state == State::kWriting) ++st.in_flight;
      if (c.state == State::kBusy && !c.out.empty()) ++st.streaming;
    }
    std::lock_guard<std::mutex> lk(stats_mu);
    published = st;
  }

  // ---- accepting ----

  void accept_ready(Clock::time_point now) {
    for (int i = 0; i < kAcceptBurst; ++i) {
      int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
      if (fd >= 0) {
        admit(fd, now);
        continue;
      }
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        // Out of descriptors: stop listening for a moment rather than spin on accept.
        epoll_event ev{};
        ev.data.u64 = kListenKey;
        ::epoll_ctl(ep, EPOLL_CTL_MOD, listen_fd, &ev);
        listen_paused = true;
        listen_resume = now + kAcceptPause;
      }
      return;
    }
  }

  PeerCred peer_of(int fd) const {
    ucred uc{};
    socklen_t len = sizeof uc;
    PeerCred cred;
    if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) == 0) {
      cred.pid = uc.pid;
      cred.uid = uc.uid;
      cred.gid = uc.gid;
    } else {
      cred.uid = cred.gid = 65534;  // unknown peer: unprivileged nobody, so the check refuses it
    }
    return opt.peer_cred ? opt.peer_cred(cred) : cred;
  }

  void admit(int fd, Clock::time_point now) {
    uint64_t id = next_id++;
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = id;
    if (::epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
      ::close(fd);
      return;
    }
    Conn& c = conns[id];
    c.id = id;
    c.fd = fd;
    c.mask = EPOLLIN;
    c.cred = peer_of(fd);
    c.last_active = now;
    if (!peer_allowed(c.cred, group)) {
      ++st.denied;
      refuse(c,
             "Error: Permission denied: uid " + std::to_string(c.cred.uid) +
                 (group.empty() ? std::string(" is not root")
                                : " is not root and not in group " + group) +
                 "\n",
             now, Closing::kFinal);
      return;
    }
    if (n_counted >= opt.max_clients && !make_room(c.cred, now)) {
      ++st.refused_full;
      refuse(c,
             "Error: Too many CLI connections (" + std::to_string(n_counted) + " open, limit " +
                 std::to_string(opt.max_clients) + "); try again later.\n",
             now, Closing::kRetryLater);
      return;
    }
    c.counted = true;
    ++n_counted;
    ++st.accepted;
  }

  // Root is never locked out for long: it takes the place of the longest-idle connection
  // (idle for at least evict_idle, no request in flight), or, when there is none, gets a place
  // beyond the limit, up to twice the limit; past that it is told to retry later.
  bool make_room(const PeerCred& cred, Clock::time_point now) {
    if (cred.uid != 0) return false;
    Conn* victim = nullptr;
    for (auto& [id, c] : conns)
      if (c.counted && !c.dead && c.state == State::kReading && c.in.empty() &&
          now - c.last_active >= opt.evict_idle && (!victim || c.last_active < victim->last_active))
        victim = &c;
    if (!victim) return n_counted < 2 * opt.max_clients;
    ++st.evicted;
    refuse(*victim,
           "Error: This idle connection was closed to make room for a root session (limit " +
               std::to_string(opt.max_clients) + " connections).\n",
           now, Closing::kReconnect);
    return true;
  }

  // ---- reading, executing, writing ----

  void on_event(uint64_t id, uint32_t events, Clock::time_point now) {
    auto it = conns.find(id);
    if (it == conns.end() || it->second.dead) return;
    Conn& c = it->second;
    if (events & (EPOLLERR | EPOLLHUP)) {  // the peer is gone: nobody to answer
      kill(c);
      return;
    }
    if ((events & EPOLLOUT) && c.out_pos < c.out.size()) flush(c, now);
    if ((events & EPOLLIN) && !c.dead) read_some(c, now);
  }

  void read_some(Conn& c, Clock::time_point now) {
    if (c.state != State::kReading && c.state != State::kLingering) return;
    ssize_t r = ::recv(c.fd, scratch.data(), scratch.size(), MSG_DONTWAIT);
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
    if (r <= 0) {  // EOF (a partial request is dropped with it) or error
      kill(c);
      return;
    }
    if (c.state == State::kLingering) return;
    if (c.in.empty()) c.frame_start = now;
    reserve_for(c, static_cast<size_t>(r));
    c.in.append(scratch.data(), static_cast<size_t>(r));
    c.last_active = now;
    parse(c, now);
  }

  // Growth by doubling, but never past the frame being received (plus what arrived beyond
  // it): the buffer follows the bytes, not the announced length, and stops at the frame.
  void reserve_for(Conn& c, size_t more) {
    size_t need = c.in.size() + more;
    if (need <= c.in.capacity() || c.in.size() < internal::kHeaderSize) return;
    size_t frame = internal::kHeaderSize +
                   internal::get_u32(reinterpret_cast<const unsigned char*>(c.in.data()));
    c.in.reserve(std::max(need, std::min(frame, 2 * c.in.capacity())));
  }

  // The length is checked as soon as its 4 bytes are in, before the body is read.
  void parse(Conn& c, Clock::time_point now) {
    if (c.state != State::kReading || c.in.size() < internal::kHeaderSize) return;
    uint32_t n = internal::get_u32(reinterpret_cast<const unsigned char*>(c.in.data()));
    if (n > opt.max_frame) {
      ++st.oversize;
      refuse(c,
             "Error: Request too large (" + std::to_string(n) + " bytes, limit " +
                 std::to_string(opt.max_frame) + " bytes); connection closed.\n",
             now, Closing::kFinal);
      return;
    }
    if (c.in.size() - internal::kHeaderSize < n) return;
    std::string payload(c.in, internal::kHeaderSize, n);
    c.in.erase(0, internal::kHeaderSize + n);
    release_slack(&c.in);
    auto req = decode_request(payload);
    if (!req) {  // a peer that speaks garbage is not worth an answer
      ++st.malformed;
      kill(c);
      return;
    }
    c.state = State::kBusy;
    set_mask(c, 0);  // at most one request in flight; later bytes wait in the kernel
    exec->push(Executor::Job{c.id, std::move(*req), c.cred});
  }

  void deliver(Clock::time_point now) {
    for (auto& d : exec->take()) {
      ++st.requests;
      exec->forget(d.conn);
      auto it = conns.find(d.conn);
      if (it == conns.end() || it->second.dead || it->second.state != State::kBusy) continue;
      Conn& c = it->second;
      std::string payload = encode(d.resp);
      if (payload.size() > opt.max_frame) {
        ++st.reply_too_large;
        payload = too_large(d.resp);
      }
      start_write(c, internal::framed(payload), State::kWriting, now);
    }
  }

  // Version 4: moves the pieces a handler emitted to their connection once its previous
  // piece is written, so at most one batch per connection waits here.
  void pump(Clock::time_point now) {
    exec->take_pieces(
        [&](uint64_t id) {
          auto it = conns.find(id);
          return it != conns.end() && !it->second.dead && it->second.state == State::kBusy &&
                 it->second.out_pos >= it->second.out.size();
        },
        [&](uint64_t id, std::string bytes) {
          Conn& c = conns[id];
          ++st.pieces;
          c.out = std::move(bytes);
          c.out_pos = 0;
          c.write_since = now;
          flush(c, now);
        });
  }

  std::string too_large(const Response& resp) const {
    Response r;
    r.ok = false;
    r.output = "Error: The output is too large to send (" + std::to_string(resp.output.size()) +
               " bytes, limit " + std::to_string(opt.max_frame) + " bytes per reply).\n";
    r.view = resp.view;
    r.prompt = resp.prompt;
    std::string payload = encode(r);
    if (payload.size() <= opt.max_frame) return payload;
    r.view.clear();  // the client keeps its current view
    r.prompt.clear();
    return encode(r);
  }

  // A final message: the connection gives up its place at once and closes once it is sent.
  void refuse(Conn& c, const std::string& text, Clock::time_point now, Closing why) {
    if (c.counted) --n_counted;
    c.counted = false;
    std::string().swap(c.in);
    start_write(c, internal::framed(internal::encoded_closing(text, why)), State::kClosing, now);
  }

  void start_write(Conn& c, std::string framed, State state, Clock::time_point now) {
    if (c.out_pos < c.out.size()) {  // the last piece of a streamed answer is still going out
      c.out.erase(0, c.out_pos);
      c.out += framed;
    } else {
      c.out = std::move(framed);
    }
    c.out_pos = 0;
    c.write_since = now;
    c.state = state;
    flush(c, now);
  }

  void flush(Conn& c, Clock::time_point now) {
    while (c.out_pos < c.out.size()) {
      ssize_t w = ::send(c.fd, c.out.data() + c.out_pos, c.out.size() - c.out_pos,
                         MSG_NOSIGNAL | MSG_DONTWAIT);
      if (w > 0) {
        c.out_pos += static_cast<size_t>(w);
        c.write_since = now;
      } else if (w < 0 && errno == EINTR) {
        continue;
      } else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        set_mask(c, EPOLLOUT);
        return;
      } else {
        kill(c);
        return;
      }
    }
    std::string().swap(c.out);
    c.out_pos = 0;
    if (c.state == State::kBusy) {  // a piece is out; the handler goes on
      set_mask(c, 0);
      return;
    }
    if (c.state == State::kClosing) {
      linger(c, now);
      return;
    }
    c.state = State::kReading;
    c.last_active = c.frame_start = now;
    set_mask(c, EPOLLIN);
    parse(c, now);  // a pipelined request may already be here
  }

  // Half-close and drain the peer's request for a moment, so it reads our message instead
  // of failing its write on a socket already gone. Bounded in time and in number.
  void linger(Conn& c, Clock::time_point now) {
    if (n_lingering >= opt.max_clients) {
      kill(c);
      return;
    }
    ::shutdown(c.fd, SHUT_WR);
    c.state = State::kLingering;
    ++n_lingering;
    c.linger_until = now + std::min<milliseconds>(kMaxLinger, opt.frame_timeout);
    set_mask(c, EPOLLIN);
  }

  // ---- timers ----

  void expire(Clock::time_point now) {
    if (listen_paused && now >= listen_resume) {
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.u64 = kListenKey;
      ::epoll_ctl(ep, EPOLL_CTL_MOD, listen_fd, &ev);
      listen_paused = false;
    }
    for (auto& [id, c] : conns) {
      if (c.dead || deadline(c) > now) continue;
      if (c.state == State::kLingering) {
        kill(c);
      } else if (c.state == State::kWriting || c.state == State::kClosing ||
                 c.state == State::kBusy) {
        ++st.write_timeouts;  // the peer does not read: no way to answer it
        kill(c);
      } else if (!c.in.empty()) {
        ++st.frame_timeouts;
        refuse(c,
               "Error: The request was not completed within " + duration_text(opt.frame_timeout) +
                   "; connection closed.\n",
               now, Closing::kFinal);
      } else {
        ++st.idle_timeouts;
        refuse(c, "Error: Idle for " + duration_text(opt.idle_timeout) + "; connection closed.\n",
               now, Closing::kReconnect);
      }
    }
  }
};

// ---- Server -------------------------------------------------------------------

namespace {

std::string check_options(const ServerOptions& o) {
  if (o.max_clients < 1) return "max_clients must be at least 1";
  if (o.stream_buffer < 1 || o.stream_buffer > kMaxFrame)
    return "stream_buffer must be between 1 and " + std::to_string(kMaxFrame);
  if (o.max_frame < kMinFrame || o.max_frame > kMaxFrame)
    return "max_frame must be between " + std::to_string(kMinFrame) + " and " +
           std::to_string(kMaxFrame);
  constexpr milliseconds kYear = std::chrono::hours(24 * 365);  // keeps deadlines in range
  if (o.frame_timeout.count() <= 0 || o.idle_timeout.count() <= 0 || o.frame_timeout > kYear ||
      o.idle_timeout > kYear)
    return "timeouts must be positive and at most a year";
  return "";
}

// Refuses to replace a non-socket file or a socket someone answers on; removes a stale one.
bool clear_path(const std::string& path, const sockaddr_un& sa, std::string* err) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return true;
  if (!S_ISSOCK(st.st_mode)) {
    if (err) *err = path + " exists and is not a socket";
    return false;
  }
  int probe = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (probe >= 0) {
    bool live = ::connect(probe, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) == 0;
    ::close(probe);
    if (live) {
      if (err) *err = path + " is in use by a running server";
      return false;
    }
  }
  ::unlink(path.c_str());
  return true;
}

// The listening socket, created 0660 root:gid; -1 on error.
int listen_on(const std::string& path, const sockaddr_un& sa, std::optional<unsigned> gid,
              std::string* err) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) {
    if (err) *err = internal::errno_text("socket");
    return -1;
  }
  // Create the socket file with no access, then open it up to exactly 0660.
  mode_t old = ::umask(0777);
  int rc = ::bind(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa);
  int bind_errno = errno;
  ::umask(old);
  if (rc != 0) {
    errno = bind_errno;
    if (err) *err = internal::errno_text("bind " + path);
    ::close(fd);
    return -1;
  }
  auto fail = [&](const std::string& what) {
    if (err) *err = internal::errno_text(what);
    ::close(fd);
    ::unlink(path.c_str());
    return -1;
  };
  if (gid && ::chown(path.c_str(), 0, *gid) != 0) return fail("chown " + path);
  if (::chmod(path.c_str(), 0660) != 0) return fail("chmod " + path);
  if (::listen(fd, kBacklog) != 0) return fail("listen " + path);
  return fd;
}

bool add_to_epoll(int ep, int fd, uint64_t key) {
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = key;
  return ::epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == 0;
}

}  // namespace

Server::Server() : impl_(std::make_unique<Impl>()) {}

std::unique_ptr<Server> Server::start(const std::string& path, const std::string& group,
                                      Handler handler, std::string* err) {
  return start(path, group, std::move(handler), ServerOptions{}, err);
}

std::unique_ptr<Server> Server::start(const std::string& path, const std::string& group,
                                      Handler handler, const ServerOptions& options,
                                      std::string* err) {
  return start(path, group,
               StreamingHandler([h = std::move(handler)](const Request& r, const PeerCred& c,
                                                         const Emit&) { return h(r, c); }),
               options, err);
}

std::unique_ptr<Server> Server::start(const std::string& path, const std::string& group,
                                      StreamingHandler handler, const ServerOptions& options,
                                      std::string* err) {
  if (std::string bad = check_options(options); !bad.empty()) {
    if (err) *err = "bad server options: " + bad;
    return nullptr;
  }
  sockaddr_un sa{};
  if (!internal::fill_sockaddr(path, &sa, err)) return nullptr;
  std::optional<unsigned> gid;
  if (!group.empty()) {
    gid = internal::group_id(group);
    if (!gid) {
      if (err) *err = "unknown group: " + group;
      return nullptr;
    }
  }
  if (!clear_path(path, sa, err)) return nullptr;
  std::unique_ptr<Server> s(new Server());
  Impl* impl = s->impl_.get();
  impl->path = path;  // from here on ~Server() cleans up whatever was made
  impl->ep = ::epoll_create1(EPOLL_CLOEXEC);
  impl->wake_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (impl->ep < 0 || impl->wake_fd < 0 || !add_to_epoll(impl->ep, impl->wake_fd, kWakeKey)) {
    if (err) *err = internal::errno_text("epoll");
    return nullptr;
  }
  impl->listen_fd = listen_on(path, sa, gid, err);
  if (impl->listen_fd < 0) return nullptr;
  if (!add_to_epoll(impl->ep, impl->listen_fd, kListenKey)) {
    if (err) *err = internal::errno_text("epoll");
    return nullptr;
  }
  impl->group = group;
  impl->opt = options;
  impl->exec = std::make_unique<Executor>(std::move(handler), options.runs_apart, impl->wake_fd,
                                          options.stream_buffer);
  impl->loop = std::thread([impl] { impl->run(); });
  return s;
}

Server::~Server() {
  if (!impl_) return;
  impl_->stopping = true;
  if (impl_->wake_fd >= 0) impl_->wake();
  if (impl_->loop.joinable()) impl_->loop.join();
  impl_->exec.reset();  // after the loop: waits for a running handler
  for (auto& [id, c] : impl_->conns)
    if (!c.dead) ::close(c.fd);
  impl_->conns.clear();
  for (int fd : {impl_->listen_fd, impl_->ep, impl_->wake_fd})
    if (fd >= 0) ::close(fd);
  // Only a socket this server bound: a failed start must not remove someone else's file.
  if (impl_->listen_fd >= 0) ::unlink(impl_->path.c_str());
}

ServerStats Server::stats() const {
  std::lock_guard<std::mutex> lk(impl_->stats_mu);
  return impl_->published;
}

}  // namespace fw::ipc
